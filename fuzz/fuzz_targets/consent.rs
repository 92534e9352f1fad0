//! The Consent body of POST/PUT /fhir/Consent on arbitrary JSON (any shape,
//! not only objects): no panic, and what reads is a valid BSN with a usable
//! choice (an id, known data categories, a period that is a pair of instants).
#![no_main]

use libfuzzer_sys::fuzz_target;
use zorgpoort_consent::fhir::{DATA_CATEGORIES, read_consent};

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    match read_consent(&body) {
        Ok((bsn, choice)) => {
            assert!(zorgpoort_model::systems::is_valid_bsn(&bsn), "BSN {bsn:?} read");
            if let Some(choice) = choice {
                assert!(!choice.id.is_empty());
                assert!(
                    choice
                        .data_categories
                        .iter()
                        .all(|c| DATA_CATEGORIES.contains(&c.as_str()))
                );
            }
        }
        Err(invalid) => {
            assert!(invalid.expression.starts_with("Consent"));
            assert!(!invalid.reason.is_empty());
        }
    }
});
