//! Properties of validation over arbitrary input: no panics, findings are
//! located, and a valid resource stays valid when re-read.

use proptest::prelude::*;
use serde_json::{Value, json};
use zorgpoort_profiles::{ProfileChoice, Severity, validate};

/// JSON values shaped a little like FHIR: objects with FHIR-ish keys.
fn fhir_like() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(vec![
        "id",
        "meta",
        "profile",
        "identifier",
        "system",
        "value",
        "name",
        "family",
        "given",
        "_given",
        "extension",
        "url",
        "valueString",
        "valueQuantity",
        "code",
        "coding",
        "birthDate",
        "status",
        "component",
        "entry",
        "resource",
        "resourceType",
        "contained",
        "reference",
        "unit",
        "gender",
        "text",
        "div",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        "[a-zA-Z0-9 :/.|-]{0,12}".prop_map(Value::from),
        prop::sample::select(vec![
            "Patient",
            "Observation",
            "Bundle",
            "2024-02-30",
            "http://fhir.nl/fhir/NamingSystem/bsn"
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_resources_never_panic_and_every_finding_is_located(
        body in fhir_like(),
        resource_type in prop::sample::select(vec!["Patient", "Observation", "Bundle", "Consent"]),
        profile in prop::sample::select(vec![
            "http://nictiz.nl/fhir/StructureDefinition/nl-core-Patient",
            "http://nictiz.nl/fhir/StructureDefinition/nl-core-BloodPressure",
            "http://nictiz.nl/fhir/StructureDefinition/nl-core-TreatmentDirective2",
        ]),
    ) {
        let mut resource = body;
        if let Value::Object(map) = &mut resource {
            map.insert("resourceType".into(), json!(resource_type));
            map.insert("meta".into(), json!({ "profile": [profile] }));
        }
        for issue in validate(&resource, ProfileChoice::Claimed) {
            prop_assert!(!issue.message.is_empty());
            if issue.severity == Severity::Error && resource.is_object() {
                prop_assert!(issue.expression.starts_with(resource_type), "{issue:?}");
            }
        }
    }
}
