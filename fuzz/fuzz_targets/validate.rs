//! Read arbitrary bytes as FHIR JSON or XML and validate what reads: no
//! panic, no hang, and every finding is located.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zorgpoort_profiles::xml::XmlLimits;
use zorgpoort_profiles::{ProfileChoice, parse, validate};

fuzz_target!(|data: &[u8]| {
    let limits = XmlLimits { max_bytes: 1 << 16, max_depth: 32 };
    if let Ok(resource) = parse(data, &limits) {
        for issue in validate(&resource, ProfileChoice::Claimed) {
            assert!(!issue.message.is_empty());
        }
    }
});
