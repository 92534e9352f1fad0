//! Condition, `AllergyIntolerance`, Observation, Procedure, Flag.

mod common;

use common::{assert_r4_round_trip, assert_stu3_round_trip, assert_warned_at, assert_warning, r4, stu3};
use serde_json::{Value, json};

fn stu3_condition() -> Value {
    json!({
        "resourceType": "Condition",
        "id": "probleem-1",
        "meta": { "profile": ["http://nictiz.nl/fhir/StructureDefinition/zib-Problem"] },
        "clinicalStatus": "active",
        "verificationStatus": "confirmed",
        "category": [{ "coding": [{ "system": "http://snomed.info/sct", "code": "439401001", "display": "Diagnose" }] }],
        "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "44054006", "display": "diabetes mellitus type 2" }] },
        "subject": { "reference": "Patient/pat-1" },
        "context": { "reference": "Encounter/enc-1" },
        "onsetDateTime": "2012-05-01",
        "assertedDate": "2012-05-03",
        "note": [{ "text": "Dieet-behandeld" }]
    })
}

#[test]
fn condition_to_r4() {
    let out = r4(&stu3_condition());
    let c = &out.resource;
    assert_eq!(
        c["clinicalStatus"],
        json!({ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active" }] })
    );
    assert_eq!(
        c["verificationStatus"],
        json!({ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed" }] })
    );
    assert_eq!(c["encounter"], json!({ "reference": "Encounter/enc-1" }));
    assert!(c.get("context").is_none());
    assert_eq!(
        c["extension"],
        json!([{ "url": "http://hl7.org/fhir/StructureDefinition/condition-assertedDate", "valueDateTime": "2012-05-03" }])
    );
    assert_eq!(
        c["meta"]["profile"][0],
        "http://nictiz.nl/fhir/StructureDefinition/nl-core-Problem"
    );
    assert!(out.warnings.is_empty());
}

#[test]
fn condition_lossy_spots_are_reported() {
    let mut input = stu3_condition();
    input["abatementBoolean"] = json!(true);
    input["verificationStatus"] = json!("unknown");
    input["context"] = json!({ "reference": "EpisodeOfCare/eoc-1" });
    let out = r4(&input);
    assert!(out.resource.get("abatementBoolean").is_none());
    assert!(out.resource.get("verificationStatus").is_none());
    assert!(out.resource.get("encounter").is_none());
    assert_warned_at(
        &out,
        &[
            "Condition.verificationStatus",
            "Condition.context",
            "Condition.abatementBoolean",
        ],
    );
    assert_warning(
        &out,
        "Condition.verificationStatus",
        "code unknown has no FHIR R4 counterpart",
    );
    assert_warning(&out, "Condition.context", "EpisodeOfCare");
}

#[test]
fn condition_to_stu3() {
    let input = json!({
        "resourceType": "Condition",
        "clinicalStatus": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "relapse" }] },
        "verificationStatus": { "coding": [
            { "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "unconfirmed" }
        ]},
        "code": { "text": "astma" },
        "subject": { "reference": "Patient/pat-1" },
        "encounter": { "reference": "Encounter/enc-1" },
        "recordedDate": "2020-01-01",
        "stage": [{ "summary": { "text": "I" } }, { "summary": { "text": "II" } }]
    });
    let out = stu3(&input);
    let c = &out.resource;
    assert_eq!(c["clinicalStatus"], "recurrence");
    assert_eq!(c["verificationStatus"], "provisional");
    assert_eq!(c["context"], json!({ "reference": "Encounter/enc-1" }));
    assert_eq!(c["stage"], json!({ "summary": { "text": "I" } }));
    assert_warned_at(
        &out,
        &[
            "Condition.clinicalStatus",
            "Condition.verificationStatus",
            "Condition.stage[1]",
            "Condition.recordedDate",
        ],
    );
    assert_warning(&out, "Condition.clinicalStatus", "written as recurrence");
}

#[test]
fn condition_round_trips() {
    let mut input = stu3_condition();
    input["stage"] = json!({ "summary": { "text": "T2N0M0" } });
    assert_stu3_round_trip(&input);
    assert_r4_round_trip(&common::r4(&input).resource);
}

fn stu3_allergy() -> Value {
    json!({
        "resourceType": "AllergyIntolerance",
        "id": "allergie-1",
        "meta": { "profile": ["http://nictiz.nl/fhir/StructureDefinition/zib-AllergyIntolerance"] },
        "clinicalStatus": "active",
        "verificationStatus": "confirmed",
        "category": ["medication"],
        "criticality": "high",
        "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "91936005", "display": "allergie voor penicilline" }] },
        "patient": { "reference": "Patient/pat-1" },
        "assertedDate": "2019-02-11",
        "reaction": [{ "manifestation": [{ "text": "huiduitslag" }], "severity": "moderate" }]
    })
}

#[test]
fn allergy_to_r4_and_back() {
    let out = r4(&stu3_allergy());
    let a = &out.resource;
    assert_eq!(
        a["clinicalStatus"]["coding"][0],
        json!({ "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active" })
    );
    assert_eq!(
        a["verificationStatus"]["coding"][0]["system"],
        "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
    );
    assert_eq!(a["recordedDate"], "2019-02-11");
    assert!(a.get("assertedDate").is_none());
    assert_eq!(
        a["meta"]["profile"][0],
        "http://nictiz.nl/fhir/StructureDefinition/nl-core-AllergyIntolerance"
    );
    assert!(out.warnings.is_empty());
    assert_stu3_round_trip(&stu3_allergy());
    assert_r4_round_trip(&out.resource);
}

#[test]
fn allergy_to_stu3_reports_r4_only_elements() {
    let input = json!({
        "resourceType": "AllergyIntolerance",
        "clinicalStatus": {
            "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "inactive", "display": "Inactive" }],
            "text": "niet meer actief"
        },
        "patient": { "reference": "Patient/pat-1" },
        "encounter": { "reference": "Encounter/enc-1" }
    });
    let out = stu3(&input);
    assert_eq!(out.resource["clinicalStatus"], "inactive");
    assert_warned_at(
        &out,
        &[
            "AllergyIntolerance.clinicalStatus.text",
            "AllergyIntolerance.verificationStatus",
            "AllergyIntolerance.encounter",
        ],
    );
    assert_warning(&out, "AllergyIntolerance.verificationStatus", "required in FHIR STU3");
}

#[test]
fn allergy_status_of_the_wrong_system_is_reported() {
    let input = json!({
        "resourceType": "AllergyIntolerance",
        "clinicalStatus": { "coding": [{ "system": "http://example.org/status", "code": "x" }] },
        "verificationStatus": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "code": "confirmed" }] },
        "patient": { "reference": "Patient/pat-1" }
    });
    let out = stu3(&input);
    assert!(out.resource.get("clinicalStatus").is_none());
    assert_warned_at(
        &out,
        &[
            "AllergyIntolerance.clinicalStatus.coding[0]",
            "AllergyIntolerance.clinicalStatus",
        ],
    );
}

fn stu3_observation() -> Value {
    json!({
        "resourceType": "Observation",
        "id": "lab-1",
        "status": "final",
        "category": [{ "coding": [{ "system": "http://hl7.org/fhir/observation-category", "code": "laboratory" }] }],
        "code": { "coding": [{ "system": "http://loinc.org", "code": "2345-7", "display": "Glucose" }] },
        "subject": { "reference": "Patient/pat-1" },
        "context": { "reference": "Encounter/enc-1" },
        "effectiveDateTime": "2024-03-01T08:30:00+01:00",
        "valueQuantity": { "value": 6.3, "unit": "mmol/l", "system": "http://unitsofmeasure.org", "code": "mmol/L" },
        "interpretation": { "coding": [{ "system": "http://hl7.org/fhir/v2/0078", "code": "H" }] },
        "referenceRange": [{ "low": { "value": 4.0, "unit": "mmol/l", "system": "http://unitsofmeasure.org", "code": "mmol/L" } }],
        "related": [{ "type": "has-member", "target": { "reference": "Observation/lab-2" } }]
    })
}

#[test]
fn observation_to_r4() {
    let mut input = stu3_observation();
    input["comment"] = json!("nuchter afgenomen");
    let out = r4(&input);
    let o = &out.resource;
    assert_eq!(o["encounter"], json!({ "reference": "Encounter/enc-1" }));
    assert_eq!(o["note"], json!([{ "text": "nuchter afgenomen" }]));
    assert_eq!(
        o["interpretation"],
        json!([{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v2-0078", "code": "H" }] }])
    );
    assert_eq!(
        o["category"][0]["coding"][0]["system"],
        "http://terminology.hl7.org/CodeSystem/observation-category"
    );
    assert_eq!(o["hasMember"], json!([{ "reference": "Observation/lab-2" }]));
    assert!(o.get("related").is_none());
    assert!(out.warnings.is_empty());
}

#[test]
fn observation_lossy_spots() {
    let mut input = stu3_observation();
    input["related"] = json!([{ "type": "sequel-to", "target": { "reference": "Observation/lab-0" } }]);
    input.as_object_mut().map(|o| o.remove("valueQuantity"));
    input["valueAttachment"] = json!({ "contentType": "application/pdf", "url": "http://example.org/uitslag.pdf" });
    let out = r4(&input);
    assert!(out.resource.get("valueAttachment").is_none());
    assert_warned_at(&out, &["Observation.related[0]", "Observation.valueAttachment"]);
    assert_warning(&out, "Observation.related[0]", "sequel-to");
}

#[test]
fn observation_to_stu3() {
    let input = json!({
        "resourceType": "Observation",
        "status": "final",
        "code": { "text": "Bloeddruk" },
        "subject": { "reference": "Patient/pat-1" },
        "encounter": { "reference": "Encounter/enc-1" },
        "effectiveInstant": "2024-03-01T08:30:00+01:00",
        "valueInteger": 3,
        "interpretation": [{ "text": "hoog" }, { "text": "kritiek" }],
        "note": [{ "text": "eerste" }, { "text": "tweede", "authorString": "verpleegkundige" }],
        "hasMember": [{ "reference": "Observation/a" }],
        "derivedFrom": [{ "reference": "Observation/b" }],
        "focus": [{ "reference": "Patient/pat-2" }]
    });
    let out = stu3(&input);
    let o = &out.resource;
    assert_eq!(o["context"], json!({ "reference": "Encounter/enc-1" }));
    assert_eq!(o["effectiveDateTime"], "2024-03-01T08:30:00+01:00");
    assert_eq!(o["interpretation"], json!({ "text": "hoog" }));
    assert_eq!(o["comment"], "eerste\n\ntweede");
    assert_eq!(
        o["related"],
        json!([
            { "type": "has-member", "target": { "reference": "Observation/a" } },
            { "type": "derived-from", "target": { "reference": "Observation/b" } }
        ])
    );
    assert_warned_at(
        &out,
        &[
            "Observation.note[1].authorString",
            "Observation.note",
            "Observation.interpretation[1]",
            "Observation.focus",
            "Observation.valueInteger",
        ],
    );
}

#[test]
fn observation_round_trips() {
    let mut input = stu3_observation();
    input["component"] = json!([{
        "code": { "text": "systolisch" },
        "valueQuantity": { "value": 120, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]" },
        "interpretation": { "text": "normaal" }
    }]);
    assert_stu3_round_trip(&input);
    assert_r4_round_trip(&r4(&input).resource);
}

fn stu3_procedure() -> Value {
    json!({
        "resourceType": "Procedure",
        "id": "verrichting-1",
        "meta": { "profile": ["http://nictiz.nl/fhir/StructureDefinition/zib-Procedure"] },
        "definition": [{ "reference": "http://example.org/fhir/PlanDefinition/heup" }],
        "status": "completed",
        "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "52734007", "display": "totale heupprothese" }] },
        "subject": { "reference": "Patient/pat-1" },
        "context": { "reference": "Encounter/enc-1" },
        "performedPeriod": { "start": "2023-06-01T09:00:00+02:00", "end": "2023-06-01T11:00:00+02:00" },
        "performer": [{
            "role": { "coding": [{ "system": "http://snomed.info/sct", "code": "304292004", "display": "chirurg" }] },
            "actor": { "reference": "Practitioner/prac-1" }
        }],
        "bodySite": [{ "text": "linker heup" }]
    })
}

#[test]
fn procedure_to_r4() {
    let out = r4(&stu3_procedure());
    let p = &out.resource;
    assert_eq!(
        p["instantiatesCanonical"],
        json!(["http://example.org/fhir/PlanDefinition/heup"])
    );
    assert_eq!(p["encounter"], json!({ "reference": "Encounter/enc-1" }));
    assert_eq!(p["performer"][0]["function"]["coding"][0]["code"], "304292004");
    assert!(p["performer"][0].get("role").is_none());
    assert_eq!(
        p["meta"]["profile"][0],
        "http://nictiz.nl/fhir/StructureDefinition/nl-core-Procedure-event"
    );
    assert!(out.warnings.is_empty());
}

#[test]
fn procedure_not_done() {
    let mut input = stu3_procedure();
    input["notDone"] = json!(true);
    input["notDoneReason"] = json!({ "text": "patiënt weigerde" });
    input["status"] = json!("suspended");
    let out = r4(&input);
    assert_eq!(out.resource["status"], "not-done");
    assert_eq!(out.resource["statusReason"], json!({ "text": "patiënt weigerde" }));
    assert_warned_at(&out, &["Procedure.status"]);
    assert_warning(&out, "Procedure.status", "status on-hold replaced by not-done");
    let back = stu3(&out.resource);
    assert_eq!(back.resource["status"], "unknown");
    assert_eq!(back.resource["notDone"], true);
    assert_eq!(back.resource["notDoneReason"], json!({ "text": "patiënt weigerde" }));
}

#[test]
fn procedure_to_stu3() {
    let input = json!({
        "resourceType": "Procedure",
        "status": "stopped",
        "subject": { "reference": "Patient/pat-1" },
        "performer": [{ "function": { "text": "assistent" }, "actor": { "reference": "Practitioner/prac-2" } }],
        "performedString": "vorig jaar",
        "recorder": { "reference": "Practitioner/prac-1" },
        "instantiatesUri": ["http://example.org/protocol"]
    });
    let out = stu3(&input);
    assert_eq!(out.resource["status"], "aborted");
    assert_eq!(out.resource["performer"][0]["role"], json!({ "text": "assistent" }));
    assert_warned_at(
        &out,
        &[
            "Procedure.instantiatesUri",
            "Procedure.performedString",
            "Procedure.recorder",
        ],
    );
}

#[test]
fn procedure_round_trips() {
    assert_stu3_round_trip(&stu3_procedure());
    assert_r4_round_trip(&r4(&stu3_procedure()).resource);
}

#[test]
fn flag_both_directions() {
    let input = json!({
        "resourceType": "Flag",
        "meta": { "profile": ["http://nictiz.nl/fhir/StructureDefinition/zib-Alert"] },
        "status": "active",
        "category": { "coding": [{ "system": "http://snomed.info/sct", "code": "170071006", "display": "MRSA-drager" }] },
        "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "115329001", "display": "MRSA" }] },
        "subject": { "reference": "Patient/pat-1" },
        "period": { "start": "2022-11-01" }
    });
    let out = r4(&input);
    assert_eq!(out.resource["category"], json!([input["category"]]));
    assert_eq!(
        out.resource["meta"]["profile"][0],
        "http://nictiz.nl/fhir/StructureDefinition/nl-core-Alert"
    );
    assert!(out.warnings.is_empty());
    assert_stu3_round_trip(&input);
    let mut two = out.resource.clone();
    two["category"] = json!([{ "text": "a" }, { "text": "b" }]);
    let back = stu3(&two);
    assert_eq!(back.resource["category"], json!({ "text": "a" }));
    assert_warned_at(&back, &["Flag.category[1]"]);
}
