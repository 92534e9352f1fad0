//! `MedicationStatement`, `MedicationRequest`, Immunization.

mod common;

use common::{assert_r4_round_trip, assert_stu3_round_trip, assert_warned_at, assert_warning, r4, stu3};
use serde_json::{Value, json};

fn stu3_statement() -> Value {
    json!({
        "resourceType": "MedicationStatement",
        "id": "mgebruik-1",
        "status": "active",
        "category": { "coding": [{ "system": "urn:oid:2.16.840.1.113883.2.4.3.11.60.20.77.5.3", "code": "6" }] },
        "medicationCodeableConcept": { "coding": [{ "system": "urn:oid:2.16.840.1.113883.2.4.4.7", "code": "2017", "display": "metformine 500mg tablet" }] },
        "effectivePeriod": { "start": "2023-01-01" },
        "subject": { "reference": "Patient/pat-1" },
        "context": { "reference": "Encounter/enc-1" },
        "taken": "y",
        "dosage": [{
            "text": "2 maal daags 1 tablet",
            "timing": { "repeat": { "frequency": 2, "period": 1, "periodUnit": "d" } },
            "route": { "text": "oraal" },
            "doseQuantity": { "value": 1, "unit": "stuk", "system": "urn:oid:2.16.840.1.113883.2.4.4.1.900.2", "code": "245" }
        }]
    })
}

#[test]
fn statement_to_r4() {
    let out = r4(&stu3_statement());
    let m = &out.resource;
    assert_eq!(m["status"], "active");
    assert!(m.get("taken").is_none());
    assert_eq!(m["context"], json!({ "reference": "Encounter/enc-1" }));
    assert_eq!(
        m["dosage"][0]["doseAndRate"],
        json!([{ "doseQuantity": { "value": 1, "unit": "stuk", "system": "urn:oid:2.16.840.1.113883.2.4.4.1.900.2", "code": "245" } }])
    );
    assert!(m["dosage"][0].get("doseQuantity").is_none());
    assert!(out.warnings.is_empty());
}

#[test]
fn statement_not_taken() {
    let mut input = stu3_statement();
    input["taken"] = json!("n");
    input["reasonNotTaken"] = json!([{ "text": "bijwerkingen" }]);
    let out = r4(&input);
    assert_eq!(out.resource["status"], "not-taken");
    assert_eq!(out.resource["statusReason"], json!([{ "text": "bijwerkingen" }]));
    assert_warned_at(&out, &["MedicationStatement.status"]);
    assert_warning(
        &out,
        "MedicationStatement.status",
        "status active replaced by not-taken",
    );
    let back = stu3(&out.resource);
    assert_eq!(back.resource["status"], "completed");
    assert_eq!(back.resource["taken"], "n");
    assert_eq!(back.resource["reasonNotTaken"], json!([{ "text": "bijwerkingen" }]));
}

#[test]
fn statement_taken_na_is_reported() {
    let mut input = stu3_statement();
    input["taken"] = json!("na");
    let out = r4(&input);
    assert_eq!(out.resource["status"], "active");
    assert_warned_at(&out, &["MedicationStatement.taken"]);
}

#[test]
fn statement_to_stu3() {
    let input = json!({
        "resourceType": "MedicationStatement",
        "status": "unknown",
        "medicationReference": { "reference": "Medication/med-1" },
        "subject": { "reference": "Patient/pat-1" },
        "dosage": [{ "doseAndRate": [
            { "type": { "text": "voorgeschreven" }, "doseQuantity": { "value": 2 } },
            { "doseQuantity": { "value": 3 } }
        ]}]
    });
    let out = stu3(&input);
    let m = &out.resource;
    assert_eq!(m["status"], "active");
    assert_eq!(m["taken"], "unk");
    assert_eq!(m["dosage"][0]["doseQuantity"], json!({ "value": 2 }));
    assert_warned_at(
        &out,
        &[
            "MedicationStatement.dosage[0].doseAndRate[1]",
            "MedicationStatement.dosage[0].doseAndRate[0].type",
        ],
    );
}

#[test]
fn statement_round_trips() {
    assert_stu3_round_trip(&stu3_statement());
    assert_r4_round_trip(&r4(&stu3_statement()).resource);
    let mut not_taken = stu3_statement();
    not_taken["status"] = json!("completed");
    not_taken["taken"] = json!("n");
    assert_stu3_round_trip(&not_taken);
}

fn stu3_request() -> Value {
    json!({
        "resourceType": "MedicationRequest",
        "id": "mo-1",
        "definition": [{ "reference": "http://example.org/fhir/ActivityDefinition/dm2" }],
        "status": "active",
        "intent": "order",
        "category": { "text": "poliklinisch" },
        "medicationCodeableConcept": { "text": "metformine 500mg" },
        "subject": { "reference": "Patient/pat-1" },
        "context": { "reference": "Encounter/enc-1" },
        "authoredOn": "2024-02-01",
        "requester": { "agent": { "reference": "Practitioner/prac-1" } },
        "dosageInstruction": [{ "text": "1 dd 1", "doseQuantity": { "value": 1 }, "rateQuantity": { "value": 1 } }],
        "dispenseRequest": { "numberOfRepeatsAllowed": 2, "quantity": { "value": 60 } },
        "substitution": { "allowed": false }
    })
}

#[test]
fn request_to_r4() {
    let out = r4(&stu3_request());
    let m = &out.resource;
    assert_eq!(m["requester"], json!({ "reference": "Practitioner/prac-1" }));
    assert_eq!(m["encounter"], json!({ "reference": "Encounter/enc-1" }));
    assert_eq!(
        m["instantiatesCanonical"],
        json!(["http://example.org/fhir/ActivityDefinition/dm2"])
    );
    assert_eq!(m["category"], json!([{ "text": "poliklinisch" }]));
    assert_eq!(m["substitution"], json!({ "allowedBoolean": false }));
    assert_eq!(
        m["dosageInstruction"][0]["doseAndRate"],
        json!([{ "doseQuantity": { "value": 1 }, "rateQuantity": { "value": 1 } }])
    );
    assert!(out.warnings.is_empty());
}

#[test]
fn request_on_behalf_of_is_reported() {
    let mut input = stu3_request();
    input["requester"]["onBehalfOf"] = json!({ "reference": "Organization/org-1" });
    let out = r4(&input);
    assert_eq!(out.resource["requester"], json!({ "reference": "Practitioner/prac-1" }));
    assert_warned_at(&out, &["MedicationRequest.requester.onBehalfOf"]);
}

#[test]
fn request_to_stu3() {
    let input = json!({
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "original-order",
        "medicationCodeableConcept": { "text": "paracetamol" },
        "subject": { "reference": "Patient/pat-1" },
        "requester": { "reference": "Practitioner/prac-1" },
        "doNotPerform": false,
        "substitution": { "allowedCodeableConcept": { "text": "ja" } }
    });
    let out = stu3(&input);
    assert_eq!(out.resource["intent"], "order");
    assert_eq!(
        out.resource["requester"],
        json!({ "agent": { "reference": "Practitioner/prac-1" } })
    );
    assert!(out.resource.get("substitution").is_none());
    assert_warned_at(
        &out,
        &[
            "MedicationRequest.intent",
            "MedicationRequest.substitution.allowedCodeableConcept",
            "MedicationRequest.doNotPerform",
        ],
    );
}

#[test]
fn request_round_trips() {
    assert_stu3_round_trip(&stu3_request());
    assert_r4_round_trip(&r4(&stu3_request()).resource);
}

fn stu3_immunization() -> Value {
    json!({
        "resourceType": "Immunization",
        "id": "vacc-1",
        "meta": { "profile": ["http://nictiz.nl/fhir/StructureDefinition/zib-Vaccination"] },
        "status": "completed",
        "notGiven": false,
        "vaccineCode": { "coding": [{ "system": "urn:oid:2.16.840.1.113883.2.4.4.10", "code": "BMR", "display": "BMR" }] },
        "patient": { "reference": "Patient/pat-1" },
        "date": "2021-04-12",
        "primarySource": true,
        "lotNumber": "AB1234",
        "practitioner": [{ "role": { "text": "toediener" }, "actor": { "reference": "Practitioner/prac-1" } }],
        "explanation": { "reason": [{ "text": "rijksvaccinatieprogramma" }] },
        "note": [{ "text": "linker bovenarm" }]
    })
}

#[test]
fn immunization_to_r4() {
    let out = r4(&stu3_immunization());
    let i = &out.resource;
    assert_eq!(i["status"], "completed");
    assert!(i.get("notGiven").is_none());
    assert_eq!(i["occurrenceDateTime"], "2021-04-12");
    assert_eq!(
        i["performer"],
        json!([{ "function": { "text": "toediener" }, "actor": { "reference": "Practitioner/prac-1" } }])
    );
    assert_eq!(i["reasonCode"], json!([{ "text": "rijksvaccinatieprogramma" }]));
    assert_eq!(
        i["meta"]["profile"][0],
        "http://nictiz.nl/fhir/StructureDefinition/nl-core-Vaccination-event"
    );
    assert!(out.warnings.is_empty());
}

#[test]
fn immunization_not_given_and_protocol() {
    let mut input = stu3_immunization();
    input["notGiven"] = json!(true);
    input["explanation"] = json!({ "reasonNotGiven": [{ "text": "koorts" }, { "text": "angst" }] });
    input["vaccinationProtocol"] = json!([{
        "doseSequence": 2,
        "description": "tweede dosis",
        "series": "RVP",
        "seriesDoses": 2,
        "targetDisease": [{ "text": "mazelen" }],
        "doseStatus": { "text": "telt mee" }
    }]);
    let out = r4(&input);
    let i = &out.resource;
    assert_eq!(i["status"], "not-done");
    assert_eq!(i["statusReason"], json!({ "text": "koorts" }));
    assert_eq!(
        i["protocolApplied"],
        json!([{ "doseNumberPositiveInt": 2, "series": "RVP", "seriesDosesPositiveInt": 2, "targetDisease": [{ "text": "mazelen" }] }])
    );
    assert_warned_at(
        &out,
        &[
            "Immunization.explanation.reasonNotGiven[1]",
            "Immunization.vaccinationProtocol[0].description",
            "Immunization.vaccinationProtocol[0].doseStatus",
        ],
    );
    let back = stu3(&out.resource);
    assert_eq!(back.resource["notGiven"], true);
    assert_eq!(back.resource["status"], "completed");
    assert_eq!(
        back.resource["explanation"],
        json!({ "reasonNotGiven": [{ "text": "koorts" }] })
    );
    assert_warned_at(&back, &["Immunization.protocolApplied[0].doseStatus"]);
}

#[test]
fn immunization_to_stu3_reports_r4_only() {
    let input = json!({
        "resourceType": "Immunization",
        "status": "completed",
        "vaccineCode": { "text": "griep" },
        "patient": { "reference": "Patient/pat-1" },
        "occurrenceString": "najaar 2020",
        "isSubpotent": false,
        "programEligibility": [{ "text": "60+" }]
    });
    let out = stu3(&input);
    assert_eq!(out.resource["notGiven"], false);
    assert_warned_at(
        &out,
        &[
            "Immunization.primarySource",
            "Immunization.isSubpotent",
            "Immunization.occurrenceString",
            "Immunization.programEligibility",
        ],
    );
}

#[test]
fn immunization_round_trips() {
    assert_stu3_round_trip(&stu3_immunization());
    assert_r4_round_trip(&r4(&stu3_immunization()).resource);
}

#[test]
fn medication_both_directions() {
    let input = json!({
        "resourceType": "Medication",
        "id": "med-1",
        "code": { "coding": [{ "system": "urn:oid:2.16.840.1.113883.2.4.4.10", "code": "12345678", "display": "metformine 500mg" }] },
        "form": { "text": "tablet" },
        "ingredient": [{
            "itemCodeableConcept": { "text": "metformine" },
            "isActive": true,
            "amount": { "numerator": { "value": 500, "unit": "mg" }, "denominator": { "value": 1, "unit": "stuk" } }
        }],
        "package": { "batch": [{ "lotNumber": "L123" }], "container": { "text": "doosje" } },
        "isBrand": false
    });
    let out = r4(&input);
    assert_eq!(
        out.resource["ingredient"][0]["strength"],
        input["ingredient"][0]["amount"]
    );
    assert_eq!(out.resource["batch"], json!({ "lotNumber": "L123" }));
    assert_warned_at(&out, &["Medication.package.container", "Medication.isBrand"]);
    let back = stu3(&out.resource);
    assert_eq!(back.resource["package"], json!({ "batch": [{ "lotNumber": "L123" }] }));
    assert_eq!(back.resource["ingredient"], input["ingredient"]);
    assert!(back.warnings.is_empty());
}
