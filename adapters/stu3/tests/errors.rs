//! Bad input: precise errors with the path of the offending element.

use serde_json::json;
use zorgpoort_stu3::{Error, Limits, to_r4, to_r4_with, to_stu3};

#[test]
fn not_an_object() {
    let err = to_r4(&json!([1, 2])).err();
    assert_eq!(
        err,
        Some(Error::NotAResource {
            path: "$".to_owned(),
            reason: "expected a JSON object, found an array".to_owned()
        })
    );
    assert_eq!(
        err.map(|e| e.to_string()).as_deref(),
        Some("$: not a FHIR resource: expected a JSON object, found an array")
    );
}

#[test]
fn no_resource_type() {
    let err = to_stu3(&json!({ "id": "x" })).err();
    assert_eq!(
        err,
        Some(Error::NotAResource {
            path: "$".to_owned(),
            reason: "`resourceType` is missing".to_owned()
        })
    );
    let err = to_r4(&json!({ "resourceType": 7 })).err();
    assert_eq!(
        err,
        Some(Error::NotAResource {
            path: "$".to_owned(),
            reason: "`resourceType` must be a non-empty string, found a number".to_owned()
        })
    );
}

#[test]
fn unsupported_type() {
    let err = to_r4(&json!({ "resourceType": "Specimen" })).err();
    assert_eq!(
        err,
        Some(Error::Unsupported {
            resource_type: "Specimen".to_owned()
        })
    );
    assert_eq!(
        err.map(|e| e.to_string()).as_deref(),
        Some("resource type Specimen is not supported by the STU3/R4 converter")
    );
}

#[test]
fn clinical_status_a_number() {
    let err = to_r4(&json!({ "resourceType": "Condition", "clinicalStatus": 3 })).err();
    assert_eq!(
        err,
        Some(Error::Invalid {
            path: "Condition.clinicalStatus".to_owned(),
            reason: "expected a string, found a number".to_owned()
        })
    );
    let err = to_stu3(&json!({ "resourceType": "Condition", "clinicalStatus": "active" })).err();
    assert_eq!(
        err.map(|e| e.to_string()).as_deref(),
        Some("Condition.clinicalStatus: expected an object, found a string")
    );
}

#[test]
fn errors_inside_a_bundle_name_the_entry() {
    let input = json!({
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            { "resource": { "resourceType": "Patient" } },
            { "resource": { "resourceType": "Immunization", "notGiven": "nee" } }
        ]
    });
    let err = to_r4(&input).err();
    assert_eq!(
        err.map(|e| e.to_string()).as_deref(),
        Some("Bundle.entry[1].resource.notGiven: expected a boolean, found a string")
    );
    let input = json!({ "resourceType": "Bundle", "entry": [{ "resource": "Patient" }] });
    assert_eq!(
        to_r4(&input).err().map(|e| e.to_string()).as_deref(),
        Some("Bundle.entry[0].resource: not a FHIR resource: expected a JSON object, found a string")
    );
}

#[test]
fn backbone_of_the_wrong_type() {
    let input = json!({ "resourceType": "Procedure", "performer": ["Practitioner/1"] });
    assert_eq!(
        to_r4(&input).err().map(|e| e.to_string()).as_deref(),
        Some("Procedure.performer[0]: expected an object, found a string")
    );
    let input = json!({ "resourceType": "Patient", "meta": { "profile": [3] } });
    assert_eq!(
        to_r4(&input).err().map(|e| e.to_string()).as_deref(),
        Some("Patient.meta.profile[0]: expected a string, found a number")
    );
}

#[test]
fn nesting_is_bounded() {
    let mut resource = json!({ "resourceType": "Patient" });
    for _ in 0..40 {
        resource = json!({ "resourceType": "Bundle", "type": "collection", "entry": [{ "resource": resource }] });
    }
    let err = to_r4(&resource).err();
    assert!(matches!(err, Some(Error::TooDeep { max_depth: 16, .. })), "{err:?}");

    let limits = Limits {
        max_depth: 16,
        max_entries: 1,
    };
    let bundle = json!({ "resourceType": "Bundle", "type": "collection", "entry": [{}, {}] });
    assert_eq!(
        to_r4_with(&bundle, &limits).err(),
        Some(Error::TooManyEntries {
            path: "Bundle.entry".to_owned(),
            max_entries: 1
        })
    );
}

#[test]
fn deep_composition_sections_are_bounded() {
    let mut section = json!({ "title": "x" });
    for _ in 0..40 {
        section = json!({ "title": "x", "section": [section] });
    }
    let input = json!({ "resourceType": "Composition", "section": [section] });
    assert!(matches!(to_r4(&input).err(), Some(Error::TooDeep { .. })));
}
