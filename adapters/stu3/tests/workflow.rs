//! Composition, Task, Encounter, `DocumentReference`, Coverage, Consent.

mod common;

use common::{assert_r4_round_trip, assert_stu3_round_trip, assert_warned_at, assert_warning, r4, stu3};
use serde_json::{Value, json};

fn stu3_composition() -> Value {
    json!({
        "resourceType": "Composition",
        "id": "overdracht-1",
        "identifier": { "system": "urn:ietf:rfc:3986", "value": "urn:uuid:1b7c3f3a-7c0c-4a3e-9d8e-5f4e3d2c1b0a" },
        "status": "final",
        "type": { "coding": [{ "system": "http://loinc.org", "code": "34745-0", "display": "Nursing discharge summary" }] },
        "class": { "text": "eOverdracht" },
        "subject": { "reference": "Patient/pat-1" },
        "date": "2024-05-01T12:00:00+02:00",
        "author": [{ "reference": "Organization/org-1" }],
        "title": "Verpleegkundige overdracht",
        "confidentiality": "N",
        "attester": [{ "mode": ["legal"], "time": "2024-05-01T12:00:00+02:00", "party": { "reference": "Practitioner/prac-1" } }],
        "custodian": { "reference": "Organization/org-1" },
        "section": [{
            "title": "Medische gegevens",
            "code": { "text": "medisch" },
            "text": { "status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Diabetes</div>" },
            "entry": [{ "reference": "Condition/probleem-1" }],
            "section": [{ "title": "Allergieën", "entry": [{ "reference": "AllergyIntolerance/allergie-1" }] }]
        }]
    })
}

#[test]
fn composition_to_r4() {
    let out = r4(&stu3_composition());
    let c = &out.resource;
    assert_eq!(c["category"], json!([{ "text": "eOverdracht" }]));
    assert!(c.get("class").is_none());
    assert_eq!(c["attester"][0]["mode"], "legal");
    assert_eq!(c["section"][0]["section"][0]["title"], "Allergieën");
    assert!(out.warnings.is_empty());
}

#[test]
fn composition_extra_attester_modes_are_reported() {
    let mut input = stu3_composition();
    input["attester"][0]["mode"] = json!(["legal", "professional"]);
    let out = r4(&input);
    assert_eq!(out.resource["attester"][0]["mode"], "legal");
    assert_warned_at(&out, &["Composition.attester[0].mode[1]"]);
}

#[test]
fn composition_to_stu3() {
    let mut input = r4(&stu3_composition()).resource;
    input["section"][0]["author"] = json!([{ "reference": "Practitioner/prac-1" }]);
    let out = stu3(&input);
    assert_eq!(out.resource["class"], json!({ "text": "eOverdracht" }));
    assert_eq!(out.resource["attester"][0]["mode"], json!(["legal"]));
    assert_warned_at(&out, &["Composition.section[0].author"]);
}

#[test]
fn composition_without_subject_is_reported_for_stu3() {
    let mut input = r4(&stu3_composition()).resource;
    input.as_object_mut().map(|o| o.remove("subject"));
    let out = stu3(&input);
    assert_warned_at(&out, &["Composition.subject"]);
    assert_warning(&out, "Composition.subject", "required in FHIR STU3");
}

#[test]
fn composition_round_trips() {
    assert_stu3_round_trip(&stu3_composition());
    assert_r4_round_trip(&r4(&stu3_composition()).resource);
}

fn stu3_task() -> Value {
    json!({
        "resourceType": "Task",
        "id": "taak-1",
        "definitionUri": "http://nictiz.nl/fhir/eOverdracht/aanmelding",
        "groupIdentifier": { "system": "urn:ietf:rfc:3986", "value": "urn:uuid:9a1e8c1e-0f6b-4a36-a8de-4f3a7f1c2b3d" },
        "status": "requested",
        "intent": "proposal",
        "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "308292007", "display": "overdracht van zorg" }] },
        "for": { "reference": "Patient/pat-1" },
        "context": { "reference": "Encounter/enc-1" },
        "authoredOn": "2024-05-01T10:00:00+02:00",
        "requester": { "agent": { "reference": "Organization/org-1" } },
        "owner": { "reference": "Organization/org-2" },
        "reason": { "text": "ontslag naar VVT" },
        "input": [{ "type": { "text": "overdrachtsbericht" }, "valueReference": { "reference": "Composition/overdracht-1" } }]
    })
}

#[test]
fn task_to_r4() {
    let out = r4(&stu3_task());
    let t = &out.resource;
    assert_eq!(t["instantiatesUri"], "http://nictiz.nl/fhir/eOverdracht/aanmelding");
    assert_eq!(t["encounter"], json!({ "reference": "Encounter/enc-1" }));
    assert_eq!(t["requester"], json!({ "reference": "Organization/org-1" }));
    assert_eq!(t["reasonCode"], json!({ "text": "ontslag naar VVT" }));
    assert_eq!(t["input"], stu3_task()["input"]);
    assert!(out.warnings.is_empty());
}

#[test]
fn task_to_stu3() {
    let input = json!({
        "resourceType": "Task",
        "instantiatesCanonical": "http://example.org/fhir/ActivityDefinition/overdracht",
        "status": "ready",
        "intent": "unknown",
        "for": { "reference": "Patient/pat-1" },
        "location": { "reference": "Location/loc-1" },
        "output": [
            { "type": { "text": "link" }, "valueUrl": "https://example.org/bericht" },
            { "type": { "text": "uitdrukking" }, "valueExpression": { "language": "text/fhirpath", "expression": "true" } }
        ]
    });
    let out = stu3(&input);
    let t = &out.resource;
    assert_eq!(
        t["definitionReference"],
        json!({ "reference": "http://example.org/fhir/ActivityDefinition/overdracht" })
    );
    assert_eq!(t["intent"], "proposal");
    assert_eq!(t["output"][0]["valueUri"], "https://example.org/bericht");
    assert_eq!(t["output"][1], json!({ "type": { "text": "uitdrukking" } }));
    assert_warned_at(
        &out,
        &["Task.intent", "Task.output[1].valueExpression", "Task.location"],
    );
}

#[test]
fn task_round_trips() {
    assert_stu3_round_trip(&stu3_task());
    assert_r4_round_trip(&r4(&stu3_task()).resource);
}

fn stu3_encounter() -> Value {
    json!({
        "resourceType": "Encounter",
        "id": "enc-1",
        "meta": { "profile": ["http://nictiz.nl/fhir/StructureDefinition/zib-Encounter"] },
        "status": "finished",
        "class": { "system": "http://hl7.org/fhir/v3/ActCode", "code": "IMP", "display": "inpatient encounter" },
        "subject": { "reference": "Patient/pat-1" },
        "incomingReferral": [{ "reference": "ReferralRequest/verwijzing-1" }],
        "participant": [{ "individual": { "reference": "Practitioner/prac-1" } }],
        "appointment": { "reference": "Appointment/afspraak-1" },
        "period": { "start": "2024-04-20T09:00:00+02:00", "end": "2024-05-01T11:00:00+02:00" },
        "reason": [{ "text": "ontregelde diabetes" }],
        "diagnosis": [{ "condition": { "reference": "Condition/probleem-1" }, "role": { "text": "opnamediagnose" }, "rank": 1 }],
        "hospitalization": { "dischargeDisposition": { "text": "naar verpleeghuis" } },
        "location": [{ "location": { "reference": "Location/afdeling-3" }, "status": "completed" }],
        "serviceProvider": { "reference": "Organization/org-1" }
    })
}

#[test]
fn encounter_to_r4() {
    let out = r4(&stu3_encounter());
    let e = &out.resource;
    assert_eq!(e["basedOn"], json!([{ "reference": "ReferralRequest/verwijzing-1" }]));
    assert_eq!(e["reasonCode"], json!([{ "text": "ontregelde diabetes" }]));
    assert_eq!(e["appointment"], json!([{ "reference": "Appointment/afspraak-1" }]));
    assert_eq!(e["diagnosis"][0]["use"], json!({ "text": "opnamediagnose" }));
    assert_eq!(
        e["class"],
        json!({ "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP", "display": "inpatient encounter" })
    );
    assert_eq!(
        e["meta"]["profile"][0],
        "http://nictiz.nl/fhir/StructureDefinition/nl-core-Encounter"
    );
    assert!(out.warnings.is_empty());
}

#[test]
fn encounter_without_class_is_reported() {
    let mut input = stu3_encounter();
    input.as_object_mut().map(|o| o.remove("class"));
    input.as_object_mut().map(|o| o.remove("meta"));
    let out = zorgpoort_stu3::to_r4(&input).unwrap_or_else(|e| panic!("{e}"));
    assert_warned_at(&out, &["Encounter.class"]);
    assert_warning(&out, "Encounter.class", "required in FHIR R4");
}

#[test]
fn encounter_to_stu3() {
    let mut input = r4(&stu3_encounter()).resource;
    input["serviceType"] = json!({ "text": "interne geneeskunde" });
    input["location"][0]["physicalType"] = json!({ "text": "kamer" });
    input["appointment"] = json!([{ "reference": "Appointment/a" }, { "reference": "Appointment/b" }]);
    let out = stu3(&input);
    assert_eq!(
        out.resource["incomingReferral"],
        json!([{ "reference": "ReferralRequest/verwijzing-1" }])
    );
    assert_eq!(
        out.resource["diagnosis"][0]["role"],
        json!({ "text": "opnamediagnose" })
    );
    assert_eq!(out.resource["appointment"], json!({ "reference": "Appointment/a" }));
    assert_warned_at(
        &out,
        &[
            "Encounter.location[0].physicalType",
            "Encounter.appointment[1]",
            "Encounter.serviceType",
        ],
    );
}

#[test]
fn encounter_round_trips() {
    assert_stu3_round_trip(&stu3_encounter());
    assert_r4_round_trip(&r4(&stu3_encounter()).resource);
}

fn stu3_document_reference() -> Value {
    json!({
        "resourceType": "DocumentReference",
        "id": "doc-1",
        "masterIdentifier": { "system": "urn:ietf:rfc:3986", "value": "urn:oid:2.16.840.1.113883.2.4.3.11.999.1" },
        "status": "current",
        "type": { "coding": [{ "system": "http://loinc.org", "code": "18842-5", "display": "Discharge summary" }] },
        "class": { "text": "ontslagbrief" },
        "subject": { "reference": "Patient/pat-1" },
        "indexed": "2024-05-01T12:00:00+02:00",
        "author": [{ "reference": "Practitioner/prac-1" }],
        "content": [{ "attachment": { "contentType": "application/pdf", "url": "https://example.org/brief.pdf" } }],
        "context": {
            "encounter": { "reference": "Encounter/enc-1" },
            "period": { "start": "2024-04-20" },
            "related": [{ "identifier": { "system": "urn:ietf:rfc:3986", "value": "urn:uuid:0f0e0d0c-0b0a-4908-8706-050403020100" }, "ref": { "reference": "Composition/overdracht-1" } }]
        }
    })
}

#[test]
fn document_reference_to_r4() {
    let out = r4(&stu3_document_reference());
    let d = &out.resource;
    assert_eq!(d["date"], "2024-05-01T12:00:00+02:00");
    assert_eq!(d["category"], json!([{ "text": "ontslagbrief" }]));
    assert_eq!(d["context"]["encounter"], json!([{ "reference": "Encounter/enc-1" }]));
    assert_eq!(
        d["context"]["related"],
        json!([{ "reference": "Composition/overdracht-1", "identifier": { "system": "urn:ietf:rfc:3986", "value": "urn:uuid:0f0e0d0c-0b0a-4908-8706-050403020100" } }])
    );
    assert!(out.warnings.is_empty());
}

#[test]
fn document_reference_created_is_reported() {
    let mut input = stu3_document_reference();
    input["created"] = json!("2024-04-30");
    let out = r4(&input);
    assert_warned_at(&out, &["DocumentReference.created"]);
}

#[test]
fn document_reference_to_stu3_without_date() {
    let input = json!({
        "resourceType": "DocumentReference",
        "status": "current",
        "category": [{ "text": "a" }, { "text": "b" }],
        "content": [{ "attachment": { "url": "https://example.org/x.pdf" } }]
    });
    let out = stu3(&input);
    assert_eq!(out.resource["class"], json!({ "text": "a" }));
    assert_warned_at(&out, &["DocumentReference.category[1]", "DocumentReference.indexed"]);
    assert_warning(&out, "DocumentReference.indexed", "required in FHIR STU3");
}

#[test]
fn document_reference_round_trips() {
    assert_stu3_round_trip(&stu3_document_reference());
    assert_r4_round_trip(&r4(&stu3_document_reference()).resource);
}

fn stu3_coverage() -> Value {
    json!({
        "resourceType": "Coverage",
        "id": "verzekering-1",
        "status": "active",
        "type": { "coding": [{ "system": "urn:oid:2.16.840.1.113883.2.4.3.11.60.101.5.1", "code": "B", "display": "Basis" }] },
        "subscriberId": "123456789",
        "beneficiary": { "reference": "Patient/pat-1" },
        "period": { "start": "2024-01-01" },
        "payor": [{ "identifier": { "system": "http://fhir.nl/fhir/NamingSystem/uzovi", "value": "3311" }, "display": "Zilveren Kruis" }],
        "grouping": { "plan": "BASIS", "planDisplay": "Basisverzekering", "subPlan": "NAT", "subPlanDisplay": "Natura" }
    })
}

#[test]
fn coverage_to_r4() {
    let out = r4(&stu3_coverage());
    assert_eq!(
        out.resource["class"],
        json!([
            { "type": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/coverage-class", "code": "plan" }] }, "value": "BASIS", "name": "Basisverzekering" },
            { "type": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/coverage-class", "code": "subplan" }] }, "value": "NAT", "name": "Natura" }
        ])
    );
    assert!(out.resource.get("grouping").is_none());
    assert!(out.warnings.is_empty());
}

#[test]
fn coverage_lossy_spots() {
    let mut input = stu3_coverage();
    input["sequence"] = json!("1");
    input.as_object_mut().map(|o| o.remove("payor"));
    input["grouping"]["groupDisplay"] = json!("zonder waarde");
    let out = zorgpoort_stu3::to_r4(&input).unwrap_or_else(|e| panic!("{e}"));
    assert_warned_at(
        &out,
        &["Coverage.grouping.groupDisplay", "Coverage.payor", "Coverage.sequence"],
    );
}

#[test]
fn coverage_to_stu3() {
    let mut input = r4(&stu3_coverage()).resource;
    if let Some(classes) = input["class"].as_array_mut() {
        classes.push(json!({
            "type": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/coverage-class", "code": "rxbin" }] },
            "value": "X"
        }));
    }
    input["costToBeneficiary"] = json!([{ "valueMoney": { "value": 385, "currency": "EUR" } }]);
    let out = stu3(&input);
    assert_eq!(
        out.resource["grouping"],
        json!({ "plan": "BASIS", "planDisplay": "Basisverzekering", "subPlan": "NAT", "subPlanDisplay": "Natura" })
    );
    assert_warned_at(&out, &["Coverage.class[2]", "Coverage.costToBeneficiary"]);
    assert_warning(&out, "Coverage.class[2]", "rxbin");
}

#[test]
fn coverage_round_trips() {
    assert_stu3_round_trip(&stu3_coverage());
    assert_r4_round_trip(&r4(&stu3_coverage()).resource);
}

fn stu3_consent() -> Value {
    json!({
        "resourceType": "Consent",
        "id": "wilsverklaring-1",
        "meta": { "profile": ["http://nictiz.nl/fhir/StructureDefinition/zib-AdvanceDirective"] },
        "identifier": { "system": "urn:ietf:rfc:3986", "value": "urn:uuid:5d1c7a60-3f8e-4b5a-9c2d-1e0f9a8b7c6d" },
        "status": "active",
        "category": [{ "coding": [{ "system": "http://hl7.org/fhir/consentcategorycodes", "code": "acd" }] }],
        "patient": { "reference": "Patient/pat-1" },
        "dateTime": "2023-09-01",
        "consentingParty": [{ "reference": "Patient/pat-1" }],
        "period": { "start": "2023-09-01" },
        "sourceAttachment": { "contentType": "application/pdf", "url": "https://example.org/wilsverklaring.pdf" },
        "policyRule": "http://wetten.overheid.nl/BWBR0005290",
        "except": [{ "type": "deny", "action": [{ "text": "reanimatie" }] }]
    })
}

#[test]
fn consent_to_r4() {
    let out = r4(&stu3_consent());
    let c = &out.resource;
    assert_eq!(
        c["scope"],
        json!({ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "adr" }] })
    );
    assert_eq!(c["identifier"], json!([stu3_consent()["identifier"]]));
    assert_eq!(c["performer"], json!([{ "reference": "Patient/pat-1" }]));
    assert_eq!(
        c["policyRule"],
        json!({ "coding": [{ "system": "urn:ietf:rfc:3986", "code": "http://wetten.overheid.nl/BWBR0005290" }] })
    );
    assert_eq!(
        c["provision"],
        json!({ "period": { "start": "2023-09-01" }, "provision": [{ "type": "deny", "action": [{ "text": "reanimatie" }] }] })
    );
    assert_eq!(
        c["meta"]["profile"][0],
        "http://nictiz.nl/fhir/StructureDefinition/nl-core-AdvanceDirective"
    );
    assert_eq!(
        c["category"][0]["coding"][0]["system"],
        "http://terminology.hl7.org/CodeSystem/consentcategorycodes"
    );
    assert!(out.warnings.is_empty(), "{:?}", common::lines(&out.warnings));
}

#[test]
fn consent_without_profile_gets_patient_privacy_scope() {
    let mut input = stu3_consent();
    input.as_object_mut().map(|o| o.remove("meta"));
    input["sourceIdentifier"] = json!({ "value": "formulier-7" });
    input.as_object_mut().map(|o| o.remove("sourceAttachment"));
    let out = r4(&input);
    assert_eq!(out.resource["scope"]["coding"][0]["code"], "patient-privacy");
    assert_warned_at(&out, &["Consent.sourceIdentifier"]);
}

#[test]
fn consent_to_stu3() {
    let mut input = r4(&stu3_consent()).resource;
    input["provision"]["type"] = json!("permit");
    input["provision"]["provision"][0]["provision"] = json!([{ "type": "permit" }]);
    input["verification"] = json!([{ "verified": true }]);
    // Without the AdvanceDirective profile (which fixes the scope to adr).
    input.as_object_mut().map(|o| o.remove("meta"));
    input["scope"] =
        json!({ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "research" }] });
    let out = stu3(&input);
    let c = &out.resource;
    assert_eq!(c["policyRule"], "http://wetten.overheid.nl/BWBR0005290");
    assert_eq!(c["period"], json!({ "start": "2023-09-01" }));
    assert_eq!(
        c["except"],
        json!([{ "type": "deny", "action": [{ "text": "reanimatie" }] }])
    );
    assert_warned_at(
        &out,
        &[
            "Consent.scope",
            "Consent.provision.provision[0].provision",
            "Consent.provision.type",
            "Consent.verification",
        ],
    );
}

#[test]
fn consent_round_trips() {
    assert_stu3_round_trip(&stu3_consent());
    assert_r4_round_trip(&r4(&stu3_consent()).resource);
}
