//! The Task bodies of the eOverdracht routes (POST /fhir/Task and the status
//! change of PUT/PATCH) on arbitrary JSON: no panic, and a request that reads
//! names two different registered organisations, one document, and a valid BSN.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use zorgpoort_handover::overdracht::{read_change, read_request};
use zorgpoort_handover::{Organization, Registry};

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let organizations: Vec<Organization> = serde_json::from_value(serde_json::json!([
            { "id": "ziekenhuis", "name": "Ziekenhuis", "kind": "ziekenhuis", "agb": "06010001" },
            { "id": "vvt", "name": "Verpleeghuis", "kind": "vvt", "ura": "00000002" }
        ]))
        .unwrap_or_else(|e| panic!("fixed registry: {e}"));
        Registry::new(organizations).unwrap_or_else(|e| panic!("fixed registry: {e}"))
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(task) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let registry = registry();
    if let Ok(request) = read_request(&task, registry) {
        assert_ne!(request.requester, request.owner);
        assert!(registry.get(&request.requester).is_some());
        assert!(registry.get(&request.owner).is_some());
        assert!(!request.document.is_empty() && !request.document.contains('/'));
        if let Some(bsn) = &request.patient {
            assert!(zorgpoort_model::systems::is_valid_bsn(bsn));
        }
    }
    if let Ok(change) = read_change(&task) {
        assert!(
            change
                .reason
                .as_ref()
                .is_none_or(|r| !r.is_empty() && r.chars().count() <= 500)
        );
    }
});
