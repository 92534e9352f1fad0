//! FHIR R4 JSON -> HL7 v2 on arbitrary JSON: no panic, and every message
//! written parses again as ER7, is one of the supported events and names
//! the patient (PID).
#![no_main]

use libfuzzer_sys::fuzz_target;
use zorgpoort_hl7v2::{FromFhirOptions, Limits, Message, from_fhir};

fuzz_target!(|data: &[u8]| {
    let Ok(resource) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let options = FromFhirOptions {
        now: Some("2026-01-01T12:00:00+01:00".to_owned()),
        ..FromFhirOptions::default()
    };
    let Ok(converted) = from_fhir(&resource, &options) else {
        return;
    };
    let text = converted.message;
    let limits = Limits {
        max_message_bytes: usize::MAX,
        max_segments: usize::MAX,
        max_repetitions: usize::MAX,
    };
    let message =
        Message::parse(text.as_bytes(), &limits).unwrap_or_else(|e| panic!("written ER7 must parse: {e}: {text:?}"));
    let event = message.msh().field(9);
    let event = (event.text_of(1), event.text_of(2));
    assert!(
        matches!(
            (event.0.as_deref(), event.1.as_deref()),
            (Some("ADT"), Some("A01" | "A03" | "A04" | "A08")) | (Some("ORU"), Some("R01"))
        ),
        "unsupported event written: {text:?}"
    );
    assert!(message.segment("PID").is_some(), "no PID: {text:?}");
});
