//! Parse + map to FHIR + serialize on arbitrary bytes: no panic, and what
//! converts is valid JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zorgpoort_hl7v2::{Limits, Message, Options, to_fhir};

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_message_bytes: 1 << 16, max_segments: 512, max_repetitions: 256 };
    if let Ok(message) = Message::parse(data, &limits) {
        if let Ok(conversion) = to_fhir(&message, &Options::default()) {
            let json = conversion.bundle.to_json();
            assert!(json.starts_with("{\"resourceType\":\"Bundle\""));
        }
    }
});
