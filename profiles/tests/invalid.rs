//! Invalid resources fail with a precise expression: each test breaks one
//! thing in a valid nl-core example.

use serde_json::{Value, json};
use zorgpoort_profiles::{Issue, IssueType, ProfileChoice, Severity, parse, validate, xml::XmlLimits};

/// The nl-core examples in the repository's corpora.
const EXAMPLES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../conformance-tests/corpora/nl-core/examples"
);

fn example(name: &str) -> Value {
    let path = format!("{EXAMPLES}/{name}.xml");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    parse(&bytes, &XmlLimits::default()).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn errors(resource: &Value) -> Vec<Issue> {
    validate(resource, ProfileChoice::Claimed)
        .into_iter()
        .filter(|issue| issue.severity == Severity::Error)
        .collect()
}

/// Asserts exactly one error, with this code at this expression, whose
/// message contains `says`.
fn assert_one_error(resource: &Value, code: IssueType, expression: &str, says: &str) {
    let found = errors(resource);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        (found[0].code, found[0].expression.as_str()),
        (code, expression),
        "{found:#?}"
    );
    assert!(
        found[0].message.contains(says),
        "{:?} does not say {says:?}",
        found[0].message
    );
}

#[test]
fn the_examples_used_here_are_valid() {
    for name in [
        "nl-core-Patient-01",
        "nl-core-BloodPressure-01",
        "nl-core-BodyWeight-01",
    ] {
        assert_eq!(errors(&example(name)), vec![], "{name}");
    }
}

#[test]
fn a_code_outside_a_required_value_set() {
    let mut patient = example("nl-core-Patient-01");
    patient["maritalStatus"]["coding"][0]["code"] = json!("X");
    assert_one_error(
        &patient,
        IssueType::CodeInvalid,
        "Patient.maritalStatus",
        "required value set",
    );
}

#[test]
fn a_code_outside_a_base_enumeration() {
    let mut patient = example("nl-core-Patient-01");
    patient["gender"] = json!("f");
    assert_one_error(&patient, IssueType::CodeInvalid, "Patient.gender", "\"f\"");
}

#[test]
fn empty_arrays_strings_and_objects() {
    let mut patient = example("nl-core-Patient-01");
    patient["photo"] = json!([]);
    assert_one_error(&patient, IssueType::Structure, "Patient.photo", "must not be empty");
    let mut patient = example("nl-core-Patient-01");
    patient["name"][1]["given"][0] = json!("");
    assert_one_error(
        &patient,
        IssueType::Structure,
        "Patient.name[1].given[0]",
        "must not be empty",
    );
    let mut patient = example("nl-core-Patient-01");
    patient["maritalStatus"] = json!({});
    assert_one_error(&patient, IssueType::Structure, "Patient.maritalStatus", "empty");
}

#[test]
fn malformed_and_impossible_dates() {
    let mut patient = example("nl-core-Patient-01");
    patient["birthDate"] = json!("28-04-1934");
    assert_one_error(&patient, IssueType::Value, "Patient.birthDate", "not a valid date");
    patient["birthDate"] = json!("1934-02-30");
    assert_one_error(
        &patient,
        IssueType::Value,
        "Patient.birthDate",
        "not a date on the calendar",
    );
}

#[test]
fn missing_required_elements() {
    let mut observation = example("nl-core-BodyWeight-01");
    observation.as_object_mut().map(|o| o.remove("status"));
    assert_one_error(&observation, IssueType::Required, "Observation.status", "required");
    let mut observation = example("nl-core-BodyWeight-01");
    observation.as_object_mut().map(|o| o.remove("code"));
    assert_one_error(&observation, IssueType::Required, "Observation.code", "required");

    let mut pressure = example("nl-core-BloodPressure-01");
    let components = pressure["component"].as_array_mut().expect("components");
    components.retain(|c| c["code"]["coding"][0]["code"] != "8480-6");
    assert_one_error(
        &pressure,
        IssueType::Required,
        "Observation.component",
        "slice SystolicBP",
    );
}

/// A choice the base spec requires (`medication[x]`) is required in
/// whichever form; the JSON schema alone cannot say so.
#[test]
fn a_missing_required_choice() {
    let mut request = json!({
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"text": "paracetamol 500 mg"},
        "subject": {"reference": "Patient/example"}
    });
    assert_eq!(errors(&request), []);
    request.as_object_mut().map(|o| o.remove("medicationCodeableConcept"));
    assert_one_error(
        &request,
        IssueType::Required,
        "MedicationRequest.medication[x]",
        "required",
    );
    request["medicationReference"] = json!({"reference": "Medication/example"});
    assert_eq!(errors(&request), []);
}

#[test]
fn unknown_elements() {
    let mut patient = example("nl-core-Patient-01");
    patient["contact"][0]["nickname"] = json!("Jo");
    assert_one_error(
        &patient,
        IssueType::Structure,
        "Patient.contact[0].nickname",
        "unknown element `nickname`",
    );
}

#[test]
fn identifiers_of_the_wrong_system_or_value() {
    let mut patient = example("nl-core-Patient-01");
    patient["identifier"][0]["system"] = json!("urn:oid:2.16.840.1.113883.2.4.6.3");
    assert_one_error(
        &patient,
        IssueType::Value,
        "Patient.identifier[0].system",
        "http://fhir.nl/fhir/NamingSystem/bsn",
    );
    let mut patient = example("nl-core-Patient-01");
    patient["identifier"][0]["value"] = json!("111222334");
    assert_one_error(&patient, IssueType::Value, "Patient.identifier[0].value", "11-check");
}

#[test]
fn fixed_codes_and_reference_targets() {
    let mut weight = example("nl-core-BodyWeight-01");
    weight["code"]["coding"][0]["code"] = json!("8302-2");
    let found = errors(&weight);
    assert!(
        found
            .iter()
            .any(|i| i.code == IssueType::Value && i.expression == "Observation.code"),
        "{found:#?}"
    );

    let mut patient = example("nl-core-Patient-01");
    patient["generalPractitioner"] = json!([{ "reference": "Patient/other" }]);
    assert_one_error(
        &patient,
        IssueType::Structure,
        "Patient.generalPractitioner[0].reference",
        "not Patient",
    );
}

#[test]
fn a_profile_invariant_evaluated_with_fhirpath() {
    let mut patient = example("nl-core-Patient-01");
    let parts = patient["name"][0]["_family"]["extension"]
        .as_array_mut()
        .expect("family parts");
    parts.retain(|part| {
        !part["url"]
            .as_str()
            .is_some_and(|url| url.ends_with("humanname-own-name"))
    });
    assert_one_error(
        &patient,
        IssueType::Invariant,
        "Patient.name[0]",
        "zib-NameInformation-1",
    );
}

#[test]
fn an_explicit_profile_of_another_type() {
    let patient = example("nl-core-Patient-01");
    let found = validate(
        &patient,
        ProfileChoice::Explicit("http://nictiz.nl/fhir/StructureDefinition/nl-core-BodyWeight"),
    );
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].message.contains("constrains Observation, not Patient"));
    let unknown = validate(
        &patient,
        ProfileChoice::Explicit("http://example.org/StructureDefinition/x"),
    );
    assert_eq!(
        (unknown[0].severity, unknown[0].code),
        (Severity::Error, IssueType::NotSupported)
    );
}

#[test]
fn bundle_entries_are_validated_with_their_paths() {
    let mut patient = example("nl-core-Patient-01");
    patient["birthDate"] = json!("1934-02-30");
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{ "fullUrl": "urn:uuid:0b4b5a38-5ec4-4bd4-8a5b-0b3d16e0e0a1", "resource": patient }],
    });
    assert_one_error(
        &bundle,
        IssueType::Value,
        "Bundle.entry[0].resource.birthDate",
        "calendar",
    );
    let not_a_resource =
        json!({ "resourceType": "Bundle", "type": "collection", "entry": [{ "resource": { "id": "x" } }] });
    let found = errors(&not_a_resource);
    assert!(
        found
            .iter()
            .any(|i| i.expression == "Bundle.entry[0].resource.resourceType"),
        "{found:#?}"
    );
}

#[test]
fn treatment_directive_invariants() {
    let mut directive = example("nl-core-TreatmentDirective2-01");
    assert!(
        directive.pointer("/provision/type").is_some(),
        "the example states a provision type"
    );
    let other = "http://nictiz.nl/fhir/StructureDefinition/ext-TreatmentDirective2.SpecificitionOther";
    directive["extension"] = json!([{ "url": other, "valueString": "geen" }]);
    let found = errors(&directive);
    assert!(
        found
            .iter()
            .any(|i| i.message.starts_with("zib-TreatmentDirective2-2") && i.expression == "Consent"),
        "{found:#?}"
    );
}

#[test]
fn bundle_invariants() {
    let patient = example("nl-core-Patient-01");
    let entry = json!({ "fullUrl": "urn:uuid:0b4b5a38-5ec4-4bd4-8a5b-0b3d16e0e0a1", "resource": patient });
    let transaction = json!({ "resourceType": "Bundle", "type": "transaction", "entry": [entry.clone()] });
    assert_one_error(&transaction, IssueType::Invariant, "Bundle.entry[0].request", "bdl-3");
    let twice = json!({ "resourceType": "Bundle", "type": "collection", "total": 2, "entry": [entry.clone(), entry] });
    let found: Vec<(String, String)> = errors(&twice)
        .into_iter()
        .map(|i| (i.expression, i.message.split(':').next().unwrap_or_default().to_owned()))
        .collect();
    assert_eq!(
        found,
        [
            ("Bundle.total".to_owned(), "bdl-1".to_owned()),
            ("Bundle.entry[1].fullUrl".to_owned(), "bdl-7".to_owned())
        ]
    );
}

#[test]
fn mobile_is_not_a_use_of_a_dutch_phone_number() {
    // nl-core-ContactInformation-TelephoneNumbers binds `use` to home, temp
    // and work; a phone is told from an e-mail address by its `system`.
    let mut patient = example("nl-core-Patient-01");
    assert_eq!(patient["telecom"][0]["system"], "phone");
    patient["telecom"][0]["use"] = json!("mobile");
    assert_one_error(
        &patient,
        IssueType::CodeInvalid,
        "Patient.telecom[0].use",
        "required value set",
    );
}
