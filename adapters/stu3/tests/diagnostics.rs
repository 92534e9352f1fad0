//! Issue 17: R4 -> STU3 keeps every resource STU3 has (`ServiceRequest` as
//! `ProcedureRequest`, `DiagnosticReport`, `RelatedPerson`, Provenance) and
//! never leaves a reference to an entry that was left out.

#![allow(clippy::unwrap_used)]

mod common;

use common::{assert_r4_round_trip, assert_stu3_round_trip, assert_warning, lines, stu3};
use serde_json::{Value, json};

fn service_request() -> Value {
    json!({
        "resourceType": "ServiceRequest",
        "id": "order-1",
        "identifier": [{ "system": "urn:oid:2.16.528.1.1007.3.3.1234567.1", "value": "ORD-5531" }],
        "status": "on-hold",
        "intent": "order",
        "code": { "coding": [{ "system": "http://loinc.org", "code": "24331-1", "display": "Lipid panel" }] },
        "subject": { "reference": "Patient/pat-1" },
        "encounter": { "reference": "Encounter/enc-1" },
        "authoredOn": "2026-11-24T08:10:00+01:00",
        "requester": { "reference": "Practitioner/prac-1" },
        "performer": [{ "reference": "Organization/lab-1" }],
        "note": [{ "text": "Nuchter afnemen" }]
    })
}

#[test]
fn a_service_request_is_an_stu3_procedure_request_and_back() {
    let out = stu3(&service_request());
    let p = &out.resource;
    assert_eq!(p["resourceType"], "ProcedureRequest");
    assert_eq!(p["status"], "suspended");
    assert_eq!(p["context"], json!({ "reference": "Encounter/enc-1" }));
    assert_eq!(
        p["requester"],
        json!({ "agent": { "reference": "Practitioner/prac-1" } })
    );
    assert_eq!(p["performer"], json!({ "reference": "Organization/lab-1" }));
    assert!(out.warnings.is_empty(), "{:#?}", lines(&out.warnings));
    assert_r4_round_trip(&service_request());
}

#[test]
fn what_stu3_cannot_hold_of_a_service_request_is_warned() {
    let mut input = service_request();
    input["intent"] = json!("directive");
    input["performer"] = json!([{ "reference": "Organization/lab-1" }, { "reference": "Organization/lab-2" }]);
    input["patientInstruction"] = json!("Nuchter komen");
    let out = stu3(&input);
    assert_eq!(out.resource["intent"], "order");
    assert_warning(&out, "ServiceRequest.intent", "written as order");
    assert_warning(&out, "ServiceRequest.performer[1]", "only the first is kept");
    assert_warning(&out, "ServiceRequest.patientInstruction", "no counterpart in FHIR STU3");
    assert!(
        zorgpoort_stu3::to_r4(&service_request()).is_err(),
        "ServiceRequest is no STU3 resource"
    );
}

fn diagnostic_report() -> Value {
    json!({
        "resourceType": "DiagnosticReport",
        "id": "report-1",
        "basedOn": [{ "reference": "ServiceRequest/order-1" }],
        "status": "final",
        "category": [{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "CH" }] }],
        "code": { "coding": [{ "system": "http://loinc.org", "code": "24331-1" }] },
        "subject": { "reference": "Patient/pat-1" },
        "encounter": { "reference": "Encounter/enc-1" },
        "effectiveDateTime": "2026-11-24T08:30:00+01:00",
        "issued": "2026-11-24T10:58:00+01:00",
        "performer": [{ "reference": "Organization/lab-1" }],
        "result": [{ "reference": "Observation/chol-1" }],
        "media": [{ "comment": "ECG", "link": { "reference": "Media/m-1" } }],
        "conclusion": "Verhoogd cholesterol",
        "conclusionCode": [{ "coding": [{ "system": "http://snomed.info/sct", "code": "13644009" }] }]
    })
}

#[test]
fn a_diagnostic_report_keeps_its_order_results_and_conclusion() {
    let out = stu3(&diagnostic_report());
    let d = &out.resource;
    assert_eq!(d["basedOn"], json!([{ "reference": "ProcedureRequest/order-1" }]));
    assert_eq!(d["category"]["coding"][0]["code"], "CH");
    assert_eq!(d["context"], json!({ "reference": "Encounter/enc-1" }));
    assert_eq!(
        d["performer"],
        json!([{ "actor": { "reference": "Organization/lab-1" } }])
    );
    assert_eq!(d["image"][0]["comment"], "ECG");
    assert_eq!(d["codedDiagnosis"][0]["coding"][0]["code"], "13644009");
    assert_eq!(d["result"], json!([{ "reference": "Observation/chol-1" }]));
    assert!(out.warnings.is_empty(), "{:#?}", lines(&out.warnings));
    assert_r4_round_trip(&diagnostic_report());
}

#[test]
fn a_results_interpreter_becomes_a_performer_with_that_role() {
    let mut input = diagnostic_report();
    input["resultsInterpreter"] = json!([{ "reference": "Practitioner/prac-2" }]);
    let out = stu3(&input);
    assert_eq!(
        out.resource["performer"][1],
        json!({ "role": { "text": "results interpreter" }, "actor": { "reference": "Practitioner/prac-2" } })
    );
    assert_warning(&out, "DiagnosticReport.resultsInterpreter", "results interpreter");
}

#[test]
fn a_related_person_and_a_provenance_come_through() {
    let person = json!({
        "resourceType": "RelatedPerson",
        "id": "rp-1",
        "patient": { "reference": "Patient/pat-1" },
        "relationship": [{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": "DAU" }] }],
        "name": [{ "family": "Jansen", "given": ["Anna"] }],
        "telecom": [{ "system": "phone", "value": "+31612345678" }]
    });
    let out = stu3(&person);
    assert_eq!(out.resource["relationship"]["coding"][0]["code"], "DAU");
    assert_r4_round_trip(&person);

    let provenance = json!({
        "resourceType": "Provenance",
        "id": "prov-1",
        "target": [{ "reference": "Observation/chol-1" }],
        "occurredPeriod": { "start": "2026-11-24T08:30:00+01:00" },
        "recorded": "2026-11-24T10:58:00+01:00",
        "activity": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-DataOperation", "code": "CREATE" }] },
        "agent": [{ "role": [{ "text": "lab" }], "who": { "reference": "Organization/lab-1" } }],
        "entity": [{ "role": "source", "what": { "identifier": { "value": "MSG-1" }, "display": "HL7 v2 ORU^R01" } }]
    });
    let out = stu3(&provenance);
    let p = &out.resource;
    assert_eq!(p["period"]["start"], "2026-11-24T08:30:00+01:00");
    assert_eq!(p["activity"]["code"], "CREATE");
    assert_eq!(
        p["agent"][0]["whoReference"],
        json!({ "reference": "Organization/lab-1" })
    );
    assert_eq!(p["entity"][0]["whatReference"]["identifier"]["value"], "MSG-1");
    assert!(out.warnings.is_empty(), "{:#?}", lines(&out.warnings));
    assert_r4_round_trip(&provenance);
    assert_stu3_round_trip(&out.resource);
}

#[test]
fn a_provenance_agent_type_and_point_in_time_are_kept_with_warnings() {
    let provenance = json!({
        "resourceType": "Provenance",
        "target": [{ "reference": "Observation/chol-1" }],
        "occurredDateTime": "2026-11-24T08:30:00+01:00",
        "recorded": "2026-11-24T10:58:00+01:00",
        "agent": [{
            "type": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type", "code": "author" }] },
            "who": { "reference": "Organization/lab-1" }
        }]
    });
    let out = stu3(&provenance);
    let p = &out.resource;
    assert_eq!(
        p["period"],
        json!({ "start": "2026-11-24T08:30:00+01:00", "end": "2026-11-24T08:30:00+01:00" })
    );
    assert_eq!(p["agent"][0]["role"][0]["coding"][0]["code"], "author");
    assert_warning(&out, "Provenance.occurredDateTime", "period");
    assert_warning(&out, "Provenance.agent[0].type", "first role");
}

/// A lab Bundle in R4: the order, the report, a result based on the order,
/// and a Specimen, which the converter does not map.
fn lab_bundle() -> Value {
    json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            { "fullUrl": "urn:uuid:0f5c8a52-7d8e-4a43-9d60-3a2c1b6b0001", "resource": service_request(),
              "request": { "method": "POST", "url": "ServiceRequest" } },
            { "fullUrl": "urn:uuid:0f5c8a52-7d8e-4a43-9d60-3a2c1b6b0002",
              "resource": { "resourceType": "Specimen", "id": "spec-1", "type": { "text": "bloed" } },
              "request": { "method": "POST", "url": "Specimen" } },
            { "fullUrl": "urn:uuid:0f5c8a52-7d8e-4a43-9d60-3a2c1b6b0003",
              "resource": {
                "resourceType": "Observation", "id": "chol-1", "status": "final",
                "basedOn": [{ "reference": "urn:uuid:0f5c8a52-7d8e-4a43-9d60-3a2c1b6b0001" }],
                "code": { "coding": [{ "system": "http://loinc.org", "code": "2093-3" }] },
                "subject": { "reference": "Patient/pat-1" },
                "specimen": { "reference": "urn:uuid:0f5c8a52-7d8e-4a43-9d60-3a2c1b6b0002" },
                "valueQuantity": { "value": 6.4, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L" }
              },
              "request": { "method": "PUT", "url": "Observation/chol-1" } },
            { "fullUrl": "urn:uuid:0f5c8a52-7d8e-4a43-9d60-3a2c1b6b0004",
              "resource": diagnostic_report(),
              "request": { "method": "POST", "url": "DiagnosticReport" } }
        ]
    })
}

#[test]
fn a_lab_bundle_keeps_order_and_report_and_no_reference_dangles() {
    let mut bundle = lab_bundle();
    // `json!` reads 6.40 as a float; JSON text keeps the trailing zero.
    bundle["entry"][2]["resource"]["valueQuantity"]["value"] = serde_json::from_str("6.40").unwrap();
    let out = stu3(&bundle);
    let entries = out.resource["entry"].as_array().unwrap();
    let types: Vec<&str> = entries
        .iter()
        .map(|e| e["resource"]["resourceType"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["ProcedureRequest", "Observation", "DiagnosticReport"]);
    assert_eq!(entries[0]["request"]["url"], "ProcedureRequest");
    let observation = &entries[1]["resource"];
    assert_eq!(
        observation["basedOn"][0]["reference"],
        "urn:uuid:0f5c8a52-7d8e-4a43-9d60-3a2c1b6b0001"
    );
    assert!(
        observation.get("specimen").is_none(),
        "the reference to the left-out Specimen goes with it"
    );
    assert_eq!(
        observation["valueQuantity"]["value"].to_string(),
        "6.40",
        "decimals keep their precision"
    );
    assert_warning(&out, "Bundle.entry[1].resource", "Specimen is not supported");
    assert_warning(&out, "Bundle.entry[2].resource.specimen", "left out");
    assert_no_dangling_reference(&out.resource);
}

#[test]
fn references_to_left_out_entries_by_type_and_id_and_in_arrays_go_too() {
    let mut bundle = lab_bundle();
    bundle["entry"][2]["resource"]["specimen"] = json!({ "reference": "Specimen/spec-1" });
    bundle["entry"][3]["resource"]["specimen"] = json!([
        { "reference": "https://lab.example.nl/fhir/Specimen/spec-1/_history/2" },
        { "reference": "Specimen/other" }
    ]);
    let out = stu3(&bundle);
    let entries = out.resource["entry"].as_array().unwrap();
    assert!(entries[1]["resource"].get("specimen").is_none());
    assert_eq!(
        entries[2]["resource"]["specimen"],
        json!([{ "reference": "Specimen/other" }])
    );
    assert_warning(&out, "Bundle.entry[3].resource.specimen[0]", "left out");
}

#[test]
fn a_reference_to_a_left_out_contained_resource_goes_too() {
    let observation = json!({
        "resourceType": "Observation",
        "contained": [{ "resourceType": "Specimen", "id": "s", "type": { "text": "bloed" } }],
        "status": "final",
        "code": { "text": "glucose" },
        "specimen": { "reference": "#s" }
    });
    let out = stu3(&observation);
    assert!(out.resource.get("contained").is_none());
    assert!(out.resource.get("specimen").is_none());
    assert_warning(&out, "Observation.specimen", "left out");
}

/// Every reference inside the Bundle that names a `urn:uuid` or a
/// `Type/id` resolves to an entry of the Bundle.
fn assert_no_dangling_reference(bundle: &Value) {
    let entries = bundle["entry"].as_array().unwrap();
    let mut known: Vec<String> = entries
        .iter()
        .filter_map(|e| e["fullUrl"].as_str().map(str::to_owned))
        .collect();
    known.extend(entries.iter().filter_map(|e| {
        let r = &e["resource"];
        Some(format!("{}/{}", r["resourceType"].as_str()?, r["id"].as_str()?))
    }));
    let mut stack = vec![bundle];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                if let Some(reference) = map.get("reference").and_then(Value::as_str) {
                    let internal = reference.starts_with("urn:uuid:") || known.iter().any(|k| k == reference);
                    let other_type = ["Patient/", "Encounter/", "Practitioner/", "Organization/", "Media/"]
                        .iter()
                        .any(|p| reference.starts_with(p));
                    assert!(internal || other_type, "unexpected reference {reference}");
                    if reference.starts_with("urn:uuid:") {
                        assert!(known.iter().any(|k| k == reference), "dangling {reference}");
                    }
                }
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
}

/// Found by the `stu3` fuzz target (round 6): a `ProcedureRequest` with
/// unknown elements becomes a `ServiceRequest`, as every `ProcedureRequest`
/// does (the target wrongly expected the type kept), and each element left
/// out is named in a warning.
#[test]
fn a_fuzzed_procedure_request_becomes_a_service_request() {
    let input: Value = serde_json::from_slice(include_bytes!(
        "regressions/procedure-request-with-unknown-elements.json"
    ))
    .unwrap();
    let converted = zorgpoort_stu3::to_r4(&input).unwrap();
    assert_eq!(converted.resource["resourceType"], "ServiceRequest");
    assert_eq!(
        lines(&converted.warnings),
        [
            "ProcedureRequest.asser: no counterpart in FHIR R4; left out",
            "ProcedureRequest.clinical?ta(us: no counterpart in FHIR R4; left out",
            "ProcedureRequest.v!tatus: no counterpart in FHIR R4; left out",
        ]
    );
    let back = zorgpoort_stu3::to_stu3(&converted.resource).unwrap();
    assert_eq!(back.resource["resourceType"], "ProcedureRequest");
}
