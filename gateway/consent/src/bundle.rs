//! Data categories of FHIR resources, and filtering a Bundle down to the
//! categories a decision permits.

use std::collections::HashSet;

use serde::Deserialize;
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
    let resources = bundle["entry"].as_array().into_iter().flatten().map(|e| &e["resource"]);
    distinct(resources.map(|resource| categorize(resource, rules)))
}

/// [`categories_of`] a Bundle given as JSON text, reading of each resource
/// only what decides its category (its type and coded fields) rather than
/// building the whole Bundle in memory: a delivery's consent decision needs
/// no more unless it filters.
pub fn categories_in(bundle: &str, rules: &[CategoryRule]) -> Result<Vec<String>, serde_json::Error> {
    match serde_json::from_str::<Outline>(bundle) {
        Ok(outline) => {
            let resources = outline
                .entry
                .into_iter()
                .map(|entry| entry.resource.map_or(Value::Null, Coded::into_value));
            Ok(distinct(resources.map(|resource| categorize(&resource, rules))))
        }
        // What the outline does not take (a repeated key, `entry` that is
        // no list) is read whole, as categories_of reads it.
        Err(_) => serde_json::from_str::<Value>(bundle).map(|whole| categories_of(&whole, rules)),
    }
}

fn distinct<C: AsRef<str>>(categories: impl Iterator<Item = C>) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for category in categories {
        if !seen.iter().any(|c| c == category.as_ref()) {
            seen.push(category.as_ref().to_owned());
        }
    }
    seen
}

/// A Bundle's entries, each resource reduced to what [`categorize`] reads.
#[derive(Deserialize)]
struct Outline {
    #[serde(default)]
    entry: Vec<OutlineEntry>,
}

#[derive(Deserialize)]
struct OutlineEntry {
    #[serde(default)]
    resource: Option<Coded>,
}

/// The fields of a resource that decide its category ([`CODED_FIELDS`]
/// and the type); anything else is skipped unread.
#[derive(Deserialize)]
struct Coded {
    #[serde(rename = "resourceType", default)]
    resource_type: Value,
    #[serde(default)]
    code: Value,
    #[serde(default)]
    category: Value,
    #[serde(rename = "reasonCode", default)]
    reason_code: Value,
    #[serde(rename = "valueCodeableConcept", default)]
    value_codeable_concept: Value,
}

impl Coded {
    fn into_value(self) -> Value {
        let fields = [
            ("resourceType", self.resource_type),
            ("code", self.code),
            ("category", self.category),
            ("reasonCode", self.reason_code),
            ("valueCodeableConcept", self.value_codeable_concept),
        ];
        let present = fields.into_iter().filter(|(_, value)| !value.is_null());
        Value::Object(present.map(|(name, value)| (name.to_owned(), value)).collect())
    }
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

    /// The outline reads the same categories as the whole Bundle, also
    /// where it falls back to reading it whole.
    #[test]
    fn categories_in_text_are_those_of_the_whole_bundle() {
        let rules = [CategoryRule {
            category: "cardio".into(),
            resource: None,
            system: Some("http://hl7.org/fhir/sid/icd-10".into()),
            code_prefix: Some("I2".into()),
        }];
        let mut cases = vec![
            bundle().to_string(),
            r#"{"resourceType": "Bundle"}"#.to_owned(),
            r#"{"entry": {"resource": {}}}"#.to_owned(),
            r#"{"entry": [{"resource": null}, {"fullUrl": "x"}, {"resource": {"resourceType": 7}}]}"#.to_owned(),
            r#"{"entry": [{"resource": {"resourceType": "Condition", "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "I21"}]}}}]}"#.to_owned(),
            r#"{"entry": [{"resource": {"resourceType": "Observation", "code": {}, "code": {"coding": [{"system": "http://snomed.info/sct", "code": "74732009"}]}}}]}"#.to_owned(),
        ];
        cases.push(bundle().to_string().replace("laboratory", "imaging"));
        for text in cases {
            let whole: Value = serde_json::from_str(&text).unwrap();
            for rules in [&rules[..], &[]] {
                assert_eq!(
                    categories_in(&text, rules).unwrap(),
                    categories_of(&whole, rules),
                    "{text}"
                );
            }
        }
        assert!(categories_in("[1, 2", &[]).is_err());
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
