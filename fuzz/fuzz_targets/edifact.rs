//! EDIFACT parse + map to FHIR + serialize on arbitrary bytes: no panic,
//! and what converts is a Bundle.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zorgpoort_edifact::{Options, to_fhir};

fuzz_target!(|data: &[u8]| {
    if let Ok(messages) = to_fhir(data, &Options::default()) {
        for conversion in messages.into_iter().flatten() {
            let json = conversion.bundle.to_json();
            assert!(json.starts_with("{\"resourceType\":\"Bundle\""));
        }
    }
});
