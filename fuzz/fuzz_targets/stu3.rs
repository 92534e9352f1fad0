//! FHIR STU3 <-> R4 on arbitrary JSON: no panic in either direction, and
//! what converts keeps its resourceType, or takes its counterpart's name
//! (STU3 `ProcedureRequest` is R4 `ServiceRequest`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// The resourceType a conversion must give `value`: its own, or `to` when it is `from`.
fn expected(value: &Value, from: &str, to: &str) -> Option<Value> {
    match value.get("resourceType") {
        Some(kind) if kind == from => Some(Value::from(to)),
        kind => kind.cloned(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    if let Ok(converted) = zorgpoort_stu3::to_r4(&value) {
        let kind = converted.resource.get("resourceType").cloned();
        assert_eq!(kind, expected(&value, "ProcedureRequest", "ServiceRequest"));
    }
    if let Ok(converted) = zorgpoort_stu3::to_stu3(&value) {
        let kind = converted.resource.get("resourceType").cloned();
        assert_eq!(kind, expected(&value, "ServiceRequest", "ProcedureRequest"));
    }
});
