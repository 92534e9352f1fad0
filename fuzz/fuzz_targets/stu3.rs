//! FHIR STU3 <-> R4 on arbitrary JSON: no panic in either direction, and
//! what converts keeps its resourceType.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let kind = value.get("resourceType").cloned();
    if let Ok(converted) = zorgpoort_stu3::to_r4(&value) {
        assert_eq!(converted.resource.get("resourceType").cloned(), kind);
    }
    if let Ok(converted) = zorgpoort_stu3::to_stu3(&value) {
        assert_eq!(converted.resource.get("resourceType").cloned(), kind);
    }
});
