//! ECD exports (CSV or JSON) -> FHIR on arbitrary bytes, with the mapping
//! `convert --from auto` would pick (else one chosen by the first byte): no
//! panic, and every converted client is one transaction Bundle of valid
//! JSON whose entries all have a request.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zorgpoort_ecd::{Limits, Mapping, Options, detect, to_fhir};

fuzz_target!(|data: &[u8]| {
    let name = detect(data).unwrap_or_else(|| {
        let builtin = Mapping::BUILTIN;
        builtin[usize::from(data.first().copied().unwrap_or(0)) % builtin.len()]
    });
    let Some(mapping) = Mapping::builtin(name) else {
        panic!("shipped mapping {name} must read");
    };
    let options = Options {
        limits: Limits {
            max_bytes: 1 << 16,
            max_rows: 256,
            max_field_bytes: 4096,
            max_columns: 128,
        },
        ..Options::default()
    };
    let Ok(clients) = to_fhir(data, &mapping, &options) else {
        return;
    };
    for conversion in clients.into_iter().flatten() {
        let json = conversion.bundle.to_json();
        let bundle: serde_json::Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
        assert_eq!(bundle["resourceType"], "Bundle");
        assert_eq!(bundle["type"], "transaction");
        for entry in bundle["entry"].as_array().into_iter().flatten() {
            assert!(entry["request"]["method"].is_string(), "entry without request: {entry}");
        }
    }
});
