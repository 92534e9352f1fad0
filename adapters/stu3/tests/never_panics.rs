//! Arbitrary JSON never makes the converter panic or loop.

use proptest::prelude::*;
use serde_json::{Map, Value};

const KEYS: &[&str] = &[
    "resourceType",
    "id",
    "meta",
    "profile",
    "extension",
    "modifierExtension",
    "contained",
    "entry",
    "resource",
    "request",
    "response",
    "outcome",
    "clinicalStatus",
    "verificationStatus",
    "coding",
    "system",
    "code",
    "text",
    "context",
    "encounter",
    "requester",
    "agent",
    "definition",
    "instantiatesCanonical",
    "status",
    "taken",
    "notDone",
    "notGiven",
    "stage",
    "related",
    "type",
    "target",
    "hasMember",
    "comment",
    "note",
    "interpretation",
    "component",
    "performer",
    "role",
    "function",
    "practitioner",
    "explanation",
    "reason",
    "reasonNotGiven",
    "vaccinationProtocol",
    "protocolApplied",
    "doseSequence",
    "attester",
    "mode",
    "section",
    "class",
    "category",
    "input",
    "output",
    "valueUrl",
    "grouping",
    "plan",
    "except",
    "provision",
    "policyRule",
    "scope",
    "dosage",
    "doseAndRate",
    "doseQuantity",
    "assertedDate",
    "recordedDate",
    "reference",
    "date",
    "indexed",
    "appointment",
    "diagnosis",
    "substitution",
    "allowed",
    "_status",
    "signature",
    "timestamp",
    "identifier",
    "period",
    "actor",
];

const TYPES: &[&str] = &[
    "Patient",
    "Condition",
    "AllergyIntolerance",
    "MedicationStatement",
    "MedicationRequest",
    "Observation",
    "Composition",
    "Task",
    "Encounter",
    "Flag",
    "Consent",
    "DocumentReference",
    "Procedure",
    "Immunization",
    "Coverage",
    "Bundle",
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "OperationOutcome",
    "Endpoint",
    "Basic",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        prop::sample::select(TYPES).prop_map(Value::from),
        prop::sample::select(
            &[
                "active",
                "n",
                "unk",
                "not-done",
                "document",
                "EpisodeOfCare/1",
                "has-member"
            ][..]
        )
        .prop_map(Value::from),
        "[a-z]{0,6}".prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|pairs| {
                let mut m = Map::new();
                for (k, v) in pairs {
                    m.insert(k.to_owned(), v);
                }
                Value::Object(m)
            }),
        ]
    })
}

fn resource() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(TYPES),
        prop::collection::vec((prop::sample::select(KEYS), json_value()), 0..8),
    )
        .prop_map(|(t, pairs)| {
            let mut m = Map::new();
            for (k, v) in pairs {
                m.insert(k.to_owned(), v);
            }
            m.insert("resourceType".to_owned(), Value::from(t));
            Value::Object(m)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn to_r4_never_panics(v in resource()) {
        let _ = zorgpoort_stu3::to_r4(&v);
    }

    #[test]
    fn to_stu3_never_panics(v in resource()) {
        let _ = zorgpoort_stu3::to_stu3(&v);
    }

    #[test]
    fn any_json_never_panics(v in json_value()) {
        let _ = zorgpoort_stu3::to_r4(&v);
        let _ = zorgpoort_stu3::to_stu3(&v);
    }
}
