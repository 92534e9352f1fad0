//! Data categories of FHIR resources, and filtering a Bundle down to the
//! categories a decision permits.

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::CategoryRule;

/// Fields whose codes decide a data category.
const CODED_FIELDS: [&str; 4] = ["code", "category", "reasonCode", "valueCodeableConcept"];

impl CategoryRule {
    fn matches(&self, resource: &Value) -> bool {
        if self.resource.as_deref().is_some_and(|r| resource["resourceType"] != r) {
            return false;
        }
        if self.system.is_none() && self.code_prefix.is_none() {
            return true;
        }
        CODED_FIELDS.iter().any(|field| {
            codings(resource, field).any(|(system, code)| {
                self.system.as_deref().is_none_or(|s| s == system)
                    && self.code_prefix.as_deref().is_none_or(|p| code.starts_with(p))
            })
        })
    }
}

/// Codes of a resource's codings, as (system, code) pairs, in `field`.
fn codings<'a>(resource: &'a Value, field: &str) -> impl Iterator<Item = (&'a str, &'a str)> {
    let concepts: Vec<&Value> = match &resource[field] {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    concepts
        .into_iter()
        .flat_map(|c| c["coding"].as_array().into_iter().flatten())
        .filter_map(|coding| Some((coding["system"].as_str().unwrap_or_default(), coding["code"].as_str()?)))
}

/// Mental-health diagnoses: ICD-10 chapter F, and SNOMED CT "mental disorder".
fn is_mental_health(resource: &Value) -> bool {
    CODED_FIELDS.iter().any(|field| {
        codings(resource, field).any(|(system, code)| {
            (system == "http://hl7.org/fhir/sid/icd-10" && code.starts_with('F'))
                || (system == "http://snomed.info/sct" && code == "74732009")
        })
    })
}

/// The data category of a resource: the first of the region's `rules` that
/// matches, else `mental-health`, `lab`, `imaging`, `medication`,
/// `documents` or `general`.
pub fn categorize<'r>(resource: &Value, rules: &'r [CategoryRule]) -> &'r str {
    if let Some(rule) = rules.iter().find(|rule| rule.matches(resource)) {
        return &rule.category;
    }
    builtin_category(resource)
}

fn builtin_category(resource: &Value) -> &'static str {
    if is_mental_health(resource) {
        return "mental-health";
    }
    let category_codes: Vec<&str> = codings(resource, "category").map(|(_, code)| code).collect();
    match resource["resourceType"].as_str().unwrap_or_default() {
        "Observation" if category_codes.contains(&"laboratory") => "lab",
        "Observation" if category_codes.contains(&"imaging") => "imaging",
        "DiagnosticReport" if category_codes.iter().any(|c| matches!(*c, "RAD" | "imaging")) => "imaging",
        "DiagnosticReport" | "Specimen" => "lab",
        "ImagingStudy" => "imaging",
        "Medication"
        | "MedicationRequest"
        | "MedicationStatement"
        | "MedicationDispense"
        | "MedicationAdministration" => "medication",
        "DocumentReference" | "Composition" => "documents",
        _ => "general",
    }
}

/// The data categories present in a Bundle, in order of first appearance.
pub fn categories_of(bundle: &Value, rules: &[CategoryRule]) -> Vec<String> {
    let mut seen = Vec::new();
    for entry in bundle["entry"].as_array().into_iter().flatten() {
        let category = categorize(&entry["resource"], rules).to_owned();
        if !seen.contains(&category) {
            seen.push(category);
        }
    }
    seen
}

/// Removes the resources of `withheld` categories, every reference to them,
/// and what became empty; tags the Bundle with the withheld categories
/// (never their content). Returns how many resources were removed.
pub fn filter(bundle: &mut Value, withheld: &[String], rules: &[CategoryRule]) -> usize {
    let Some(entries) = bundle.get_mut("entry").and_then(Value::as_array_mut) else {
        return 0;
    };
    let mut removed = HashSet::new();
    entries.retain(|entry| {
        let keep = !withheld.iter().any(|w| w == categorize(&entry["resource"], rules));
        if !keep {
            if let Some(url) = entry["fullUrl"].as_str() {
                removed.insert(url.to_owned());
            }
        }
        keep
    });
    for entry in entries.iter_mut() {
        drop_references(entry, &removed);
    }
    if let Some(object) = bundle.as_object_mut() {
        let tags: Vec<Value> = withheld
            .iter()
            .map(|category| {
                serde_json::json!({
                    "system": "https://zorgpoort.nl/fhir/CodeSystem/withheld-data-category",
                    "code": category,
                    "display": "withheld: the patient's consent does not cover this category",
                })
            })
            .collect();
        let meta = object.entry("meta").or_insert_with(|| Value::Object(Map::new()));
        if let Some(meta) = meta.as_object_mut() {
            meta.insert("tag".into(), Value::Array(tags));
        }
    }
    removed.len()
}

/// Removes references into `removed`, and objects and arrays left empty.
fn drop_references(value: &mut Value, removed: &HashSet<String>) {
    match value {
        Value::Object(map) => {
            map.retain(|_, child| !points_into(child, removed));
            for child in map.values_mut() {
                drop_references(child, removed);
            }
            map.retain(|_, child| !is_empty(child));
        }
        Value::Array(items) => {
            items.retain(|child| !points_into(child, removed));
            for child in items.iter_mut() {
                drop_references(child, removed);
            }
            items.retain(|child| !is_empty(child));
        }
        _ => {}
    }
}

fn points_into(value: &Value, removed: &HashSet<String>) -> bool {
    value
        .get("reference")
        .and_then(Value::as_str)
        .is_some_and(|r| removed.contains(r))
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle() -> Value {
        serde_json::json!({
            "resourceType": "Bundle", "type": "transaction",
            "entry": [
                {"fullUrl": "urn:uuid:p", "resource": {"resourceType": "Patient"}},
                {"fullUrl": "urn:uuid:c", "resource": {"resourceType": "Condition",
                    "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "F32.1"}]},
                    "subject": {"reference": "urn:uuid:p"}}},
                {"fullUrl": "urn:uuid:o", "resource": {"resourceType": "Observation",
                    "category": [{"coding": [{"code": "laboratory"}]}], "subject": {"reference": "urn:uuid:p"}}},
                {"fullUrl": "urn:uuid:v", "resource": {"resourceType": "Provenance",
                    "target": [{"reference": "urn:uuid:p"}, {"reference": "urn:uuid:c"}, {"reference": "urn:uuid:o"}]}}
            ]
        })
    }

    #[test]
    fn categories_of_resources() {
        let b = bundle();
        assert_eq!(categories_of(&b, &[]), ["general", "mental-health", "lab"]);
        // A region rule for a resource type, and one for a code.
        let rule = CategoryRule {
            category: "custom".into(),
            resource: Some("Observation".into()),
            system: None,
            code_prefix: None,
        };
        assert_eq!(categories_of(&b, &[rule]), ["general", "mental-health", "custom"]);
        let by_code = CategoryRule {
            category: "cardio".into(),
            resource: None,
            system: Some("http://hl7.org/fhir/sid/icd-10".into()),
            code_prefix: Some("F3".into()),
        };
        assert_eq!(categorize(&b["entry"][1]["resource"], &[by_code]), "cardio");
    }

    #[test]
    fn filtering_removes_resources_and_references_and_tags_the_bundle() {
        let mut b = bundle();
        assert_eq!(filter(&mut b, &["mental-health".into()], &[]), 1);
        let text = b.to_string();
        assert!(!text.contains("F32.1") && !text.contains("urn:uuid:c"), "{text}");
        assert_eq!(b["entry"][2]["resource"]["target"].as_array().unwrap().len(), 2);
        assert_eq!(b["meta"]["tag"][0]["code"], "mental-health");
    }
}
