//! Code systems that HL7 moved between the versions: STU3 named the HL7 v2
//! tables, the v3 code systems and many FHIR-defined code systems under
//! `http://hl7.org/fhir/`, R4 under `http://terminology.hl7.org/CodeSystem/`.
//! The codes are the same, so only the `system` of every Coding changes.

use serde_json::Value;

use crate::engine::Dir;

const STU3_FHIR: &str = "http://hl7.org/fhir/";
const R4_THO: &str = "http://terminology.hl7.org/CodeSystem/";

/// FHIR-defined code systems (by id) that moved to terminology.hl7.org.
const MOVED: &[&str] = &[
    "observation-category",
    "condition-category",
    "consentcategorycodes",
    "consentaction",
    "consentscope",
    "medication-statement-category",
    "medication-request-category",
    "flag-category",
    "diagnosis-role",
    "immunization-origin",
    "dose-rate-type",
    "contactentity-type",
    "processpriority",
    "data-absent-reason",
    "referencerange-meaning",
];

/// The system URL in the target version, if it moved.
fn moved(dir: Dir, system: &str) -> Option<String> {
    match dir {
        Dir::ToR4 => {
            let rest = system.strip_prefix(STU3_FHIR)?;
            if let Some(table) = rest.strip_prefix("v2/") {
                return Some(format!("{R4_THO}v2-{table}"));
            }
            if let Some(name) = rest.strip_prefix("v3/") {
                return Some(format!("{R4_THO}v3-{name}"));
            }
            MOVED.contains(&rest).then(|| format!("{R4_THO}{rest}"))
        }
        Dir::ToStu3 => {
            let rest = system.strip_prefix(R4_THO)?;
            if let Some(table) = rest.strip_prefix("v2-") {
                return Some(format!("{STU3_FHIR}v2/{table}"));
            }
            if let Some(name) = rest.strip_prefix("v3-") {
                return Some(format!("{STU3_FHIR}v3/{name}"));
            }
            MOVED.contains(&rest).then(|| format!("{STU3_FHIR}{rest}"))
        }
    }
}

/// Rewrites every `system` in `value` (iteratively: nesting depth is the
/// input's, not bounded here).
pub(crate) fn rewrite(dir: Dir, value: &mut Value) {
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    if key == "system"
                        && let Value::String(s) = child
                    {
                        if let Some(new) = moved(dir, s) {
                            *s = new;
                        }
                    } else if child.is_object() || child.is_array() {
                        stack.push(child);
                    }
                }
            }
            Value::Array(items) => stack.extend(items.iter_mut().filter(|c| c.is_object() || c.is_array())),
            _ => {}
        }
    }
}

/// The elements of an R4 Reference.
const REFERENCE_KEYS: &[&str] = &[
    "id",
    "extension",
    "reference",
    "_reference",
    "type",
    "_type",
    "identifier",
    "display",
    "_display",
];

/// Whether an object is an R4 Reference carrying `type` (R4 added it): all
/// its keys are Reference elements, `type` is a string and it points
/// somewhere.
fn is_typed_reference(map: &serde_json::Map<String, Value>) -> bool {
    map.get("type").is_some_and(Value::is_string)
        && (map.contains_key("reference") || map.contains_key("identifier"))
        && map.keys().all(|k| REFERENCE_KEYS.contains(&k.as_str()))
}

/// Removes `Reference.type` everywhere (STU3 has no such element) and says
/// where, by the location in the output.
pub(crate) fn strip_reference_types(root: &str, value: &mut Value, warnings: &mut Vec<zorgpoort_model::Warning>) {
    let mut stack = vec![(root.to_owned(), value)];
    while let Some((path, v)) = stack.pop() {
        match v {
            Value::Object(map) => {
                if is_typed_reference(map) {
                    map.remove("type");
                    map.remove("_type");
                    warnings.push(zorgpoort_model::Warning::new(
                        format!("{path}.type"),
                        "Reference.type has no counterpart in FHIR STU3; left out",
                    ));
                }
                for (key, child) in map.iter_mut() {
                    if child.is_object() || child.is_array() {
                        stack.push((format!("{path}.{key}"), child));
                    }
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter_mut().enumerate() {
                    if child.is_object() || child.is_array() {
                        stack.push((format!("{path}[{i}]"), child));
                    }
                }
            }
            _ => {}
        }
    }
}
