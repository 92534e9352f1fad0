//! CDA -> FHIR document Bundle on arbitrary bytes: no panic, no hang, and
//! what converts serializes to a Bundle.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(conversion) = zorgpoort_cda::to_fhir(data, &zorgpoort_cda::Options::default()) {
        let json = conversion.bundle.to_json();
        assert!(json.starts_with("{\"resourceType\":\"Bundle\""));
    }
});
