//! Property test: the data categories read from a Bundle's text (the
//! outline a delivery reads) are those of the whole parsed Bundle, for any
//! shape the coded fields take. A difference would let a consent decision
//! see a mental-health diagnosis as general data.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use serde_json::{Value, json};
use zorgpoort_consent::{CategoryRule, categories_in, categories_of};

const SYSTEMS: [&str; 4] = [
    "http://hl7.org/fhir/sid/icd-10",
    "http://snomed.info/sct",
    "http://loinc.org",
    "",
];
const CODES: [&str; 8] = ["F32.1", "I21", "74732009", "laboratory", "imaging", "RAD", "8480-6", ""];
const TYPES: [&str; 8] = [
    "Patient",
    "Condition",
    "Observation",
    "DiagnosticReport",
    "MedicationStatement",
    "DocumentReference",
    "Specimen",
    "ImagingStudy",
];

fn coding() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(&SYSTEMS[..]),
        prop::sample::select(&CODES[..]),
        any::<bool>(),
    )
        .prop_map(|(system, code, with_system)| {
            if with_system {
                json!({"system": system, "code": code})
            } else {
                json!({"code": code})
            }
        })
}

/// A coded field as it may come: a concept, a list of them, or something
/// that is no concept at all.
fn coded() -> impl Strategy<Value = Value> {
    let concept = || prop::collection::vec(coding(), 0..3).prop_map(|codings| json!({"coding": codings}));
    prop_oneof![
        concept(),
        prop::collection::vec(concept(), 0..3).prop_map(Value::Array),
        Just(Value::Null),
        Just(json!("F32")),
        Just(json!(7)),
        Just(json!({"coding": "F32"})),
    ]
}

fn resource() -> impl Strategy<Value = Value> {
    let fields = prop::sample::subsequence(
        vec!["code", "category", "reasonCode", "valueCodeableConcept", "note"],
        0..=5,
    );
    (
        prop::sample::select(&TYPES[..]),
        fields,
        prop::collection::vec(coded(), 5),
    )
        .prop_map(|(kind, fields, values)| {
            let mut resource = json!({"resourceType": kind, "id": "x", "text": {"div": "<div>F32</div>"}});
            for (field, value) in fields.into_iter().zip(values) {
                resource[field] = value;
            }
            resource
        })
}

fn bundle() -> impl Strategy<Value = Value> {
    let entry = prop_oneof![
        4 => resource().prop_map(|r| json!({"fullUrl": "urn:uuid:1", "resource": r})),
        1 => Just(json!({"fullUrl": "urn:uuid:2"})),
        1 => Just(json!({"resource": null})),
    ];
    prop_oneof![
        8 => prop::collection::vec(entry, 0..6).prop_map(|entries| json!({"resourceType": "Bundle", "entry": entries})),
        1 => Just(json!({"resourceType": "Bundle"})),
        1 => Just(json!({"resourceType": "Bundle", "entry": {"resource": {}}})),
    ]
}

fn rules() -> impl Strategy<Value = Vec<CategoryRule>> {
    let rule = (
        prop::option::of(prop::sample::select(&TYPES[..])),
        prop::option::of(prop::sample::select(&SYSTEMS[..3])),
        prop::option::of(prop::sample::select(vec!["F", "I2", "7", "lab"])),
    )
        .prop_map(|(resource, system, prefix)| CategoryRule {
            category: "region".into(),
            resource: resource.map(str::to_owned),
            system: system.map(str::to_owned),
            code_prefix: prefix.map(str::to_owned),
        });
    prop::collection::vec(rule, 0..3)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn the_outline_reads_the_categories_of_the_whole_bundle(bundle in bundle(), rules in rules()) {
        let text = bundle.to_string();
        prop_assert_eq!(categories_in(&text, &rules).unwrap(), categories_of(&bundle, &rules));
    }
}
