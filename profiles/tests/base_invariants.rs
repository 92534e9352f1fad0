//! The base R4 invariants, evaluated with the FHIRPath engine from the
//! official definitions: for a representative few, a resource that keeps it
//! and one that breaks it, the broken one having exactly that finding more
//! (key, severity, path).

mod common;

use serde_json::{Value, json};
use zorgpoort_profiles::{IssueType, ProfileChoice, Severity, validate};

use common::assert_breaks;

fn text() -> Value {
    json!({ "status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">text</div>" })
}

fn patient() -> Value {
    json!({ "resourceType": "Patient", "text": text(), "name": [{ "family": "Jansen" }] })
}

fn observation() -> Value {
    json!({
        "resourceType": "Observation",
        "text": text(),
        "status": "final",
        "code": { "coding": [{ "system": "http://loinc.org", "code": "8867-4" }] },
        "valueQuantity": { "value": 72, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min" }
    })
}

/// A Patient whose managing organization is contained (`#o1`), and `o1`
/// part of a second contained one (`#o2`), the general practitioner.
fn patient_with_contained() -> Value {
    let mut patient = patient();
    patient["contained"] = json!([
        { "resourceType": "Organization", "id": "o1", "name": "A", "partOf": { "reference": "#o2" } },
        { "resourceType": "Organization", "id": "o2", "name": "B" }
    ]);
    patient["managingOrganization"] = json!({ "reference": "#o1" });
    patient["generalPractitioner"] = json!([{ "reference": "#o2" }]);
    patient
}

#[test]
fn the_resources_used_here_are_valid() {
    for resource in [patient(), observation(), patient_with_contained()] {
        assert_eq!(validate(&resource, ProfileChoice::Claimed), vec![], "{resource:#}");
    }
}

/// A nested contained resource cannot be referenced from anywhere (`#x` in
/// the contained Organization would point into the Patient), so dom-3 of
/// the Organization is broken with it.
#[test]
fn dom_2_no_nested_contained() {
    let kept = patient_with_contained();
    let before = validate(&kept, ProfileChoice::Claimed);
    let mut broken = kept.clone();
    broken["contained"][0]["contained"] = json!([{ "resourceType": "Organization", "id": "x", "name": "C" }]);
    let added: Vec<(Severity, IssueType, String, String)> = validate(&broken, ProfileChoice::Claimed)
        .into_iter()
        .filter(|issue| !before.contains(issue))
        .map(|issue| {
            let key = issue.message.split(':').next().unwrap_or_default().to_owned();
            (issue.severity, issue.code, issue.expression, key)
        })
        .collect();
    let invariant = |at: &str, key: &str| (Severity::Error, IssueType::Invariant, at.to_owned(), key.to_owned());
    assert_eq!(
        added,
        [
            invariant("Patient", "dom-2"),
            invariant("Patient.contained[0]", "dom-3")
        ]
    );
}

#[test]
fn dom_3_contained_is_referenced() {
    let kept = patient_with_contained();
    let mut broken = kept.clone();
    broken
        .as_object_mut()
        .map(|patient| patient.remove("generalPractitioner"));
    broken["contained"][0]
        .as_object_mut()
        .map(|organization| organization.remove("partOf"));
    assert_breaks(&kept, &broken, "dom-3", Severity::Error, "Patient");
}

#[test]
fn dom_6_narrative_is_a_best_practice_warning() {
    let kept = patient();
    let mut broken = kept.clone();
    broken.as_object_mut().map(|patient| patient.remove("text"));
    assert_breaks(&kept, &broken, "dom-6", Severity::Warning, "Patient");
}

/// `#id` in a contained resource points into its container, which is
/// `%rootResource` there.
#[test]
fn ref_1_local_references_resolve_in_the_container() {
    let kept = patient_with_contained();
    let mut broken = kept.clone();
    broken["contained"][0]["partOf"] = json!({ "reference": "#o3" });
    assert_breaks(&kept, &broken, "ref-1", Severity::Error, "Patient.contained[0].partOf");
}

#[test]
fn obs_6_no_data_absent_reason_with_a_value() {
    let kept = observation();
    let mut broken = kept.clone();
    broken["dataAbsentReason"] = json!({ "text": "unknown" });
    assert_breaks(&kept, &broken, "obs-6", Severity::Error, "Observation");
}

#[test]
fn obs_7_no_value_when_a_component_has_the_same_code() {
    let mut kept = observation();
    kept["component"] = json!([{
        "code": { "coding": [{ "system": "http://loinc.org", "code": "8480-6" }] },
        "valueQuantity": { "value": 120, "unit": "mm[Hg]", "system": "http://unitsofmeasure.org", "code": "mm[Hg]" }
    }]);
    let mut broken = kept.clone();
    broken["component"][0]["code"] = kept["code"].clone();
    assert_breaks(&kept, &broken, "obs-7", Severity::Error, "Observation");
}

#[test]
fn pat_1_a_contact_has_details() {
    let mut kept = patient();
    kept["contact"] = json!([{ "name": { "family": "Jansen" }, "gender": "female" }]);
    let mut broken = kept.clone();
    broken["contact"][0]
        .as_object_mut()
        .map(|contact| contact.remove("name"));
    assert_breaks(&kept, &broken, "pat-1", Severity::Error, "Patient.contact[0]");
}

#[test]
fn qty_3_a_code_has_a_system_also_on_an_age() {
    let kept = observation();
    let mut broken = kept.clone();
    broken["valueQuantity"]
        .as_object_mut()
        .map(|quantity| quantity.remove("system"));
    assert_breaks(&kept, &broken, "qty-3", Severity::Error, "Observation.valueQuantity");
    // Age derives from Quantity, so it carries qty-3 too (and age-1, which
    // also wants UCUM).
    let mut kept = patient();
    kept["resourceType"] = json!("FamilyMemberHistory");
    kept.as_object_mut().map(|history| history.remove("name"));
    kept["status"] = json!("completed");
    kept["patient"] = json!({ "reference": "Patient/1" });
    kept["relationship"] = json!({ "text": "mother" });
    kept["ageAge"] = json!({ "value": 60, "unit": "a", "system": "http://unitsofmeasure.org", "code": "a" });
    let mut broken = kept.clone();
    broken["ageAge"]["system"] = json!("http://example.org/units");
    assert_breaks(&kept, &broken, "age-1", Severity::Error, "FamilyMemberHistory.ageAge");
}

#[test]
fn cpt_2_a_value_has_a_system() {
    let mut kept = patient();
    kept["telecom"] = json!([{ "system": "phone", "value": "+31 20 123 4567" }]);
    let mut broken = kept.clone();
    broken["telecom"][0]
        .as_object_mut()
        .map(|telecom| telecom.remove("system"));
    assert_breaks(&kept, &broken, "cpt-2", Severity::Error, "Patient.telecom[0]");
}

#[test]
fn org_1_a_name_or_an_identifier() {
    let kept = json!({ "resourceType": "Organization", "text": text(), "name": "Huisartsenpraktijk" });
    let broken = json!({ "resourceType": "Organization", "text": text(), "active": true });
    assert_breaks(&kept, &broken, "org-1", Severity::Error, "Organization");
}

#[test]
fn con_3_clinical_status_on_a_problem_list_item_is_a_warning() {
    let kept = json!({
        "resourceType": "Condition",
        "text": text(),
        "clinicalStatus": { "coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"
        }] },
        "category": [{ "coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "problem-list-item"
        }] }],
        "subject": { "reference": "Patient/1" }
    });
    let mut broken = kept.clone();
    broken
        .as_object_mut()
        .map(|condition| condition.remove("clinicalStatus"));
    assert_breaks(&kept, &broken, "con-3", Severity::Warning, "Condition");
    // Asked of problem-list items only (the R4 expression asks it of any
    // category; ours is rewritten).
    let mut burn = broken.clone();
    burn["category"] = json!([{ "coding": [{ "system": "http://snomed.info/sct", "code": "125666000" }] }]);
    assert_eq!(validate(&burn, ProfileChoice::Claimed), vec![]);
}

/// que-1 is declared on `Questionnaire.item`; it holds on items at any depth.
#[test]
fn que_1_on_nested_items() {
    let kept = json!({
        "resourceType": "Questionnaire",
        "text": text(),
        "status": "active",
        "item": [{ "linkId": "1", "type": "group", "item": [
            { "linkId": "1.1", "type": "group", "item": [{ "linkId": "1.1.1", "type": "string" }] }
        ] }]
    });
    let mut broken = kept.clone();
    broken["item"][0]["item"][0]["item"][0]["type"] = json!("group");
    assert_breaks(
        &kept,
        &broken,
        "que-1",
        Severity::Error,
        "Questionnaire.item[0].item[0].item[0]",
    );
}

/// per-1 is checked by hand (partial dates of different precision), and
/// only once.
#[test]
fn per_1_once() {
    let mut kept = patient();
    kept["name"][0]["period"] = json!({ "start": "2021", "end": "2021-05-01" });
    let mut broken = kept.clone();
    broken["name"][0]["period"]["start"] = json!("2021-06");
    assert_breaks(&kept, &broken, "per-1", Severity::Error, "Patient.name[0].period");
}

#[test]
fn cpb_14_an_instance_statement_has_an_implementation() {
    let kept = json!({
        "resourceType": "CapabilityStatement",
        "text": text(),
        "status": "active",
        "date": "2026-12-07",
        "kind": "instance",
        "software": { "name": "zorgpoort" },
        "implementation": { "description": "zorgpoort" },
        "fhirVersion": "4.0.1",
        "format": ["json"]
    });
    let mut broken = kept.clone();
    broken
        .as_object_mut()
        .map(|statement| statement.remove("implementation"));
    assert_breaks(&kept, &broken, "cpb-14", Severity::Error, "CapabilityStatement");
}
