//! Bundles: entries converted one by one, unsupported ones left out.

mod common;

use common::{assert_r4_round_trip, assert_stu3_round_trip, assert_warned_at, assert_warning, r4, stu3};
use serde_json::{Value, json};

fn stu3_document() -> Value {
    json!({
        "resourceType": "Bundle",
        "id": "overdracht-bundle-1",
        "identifier": { "system": "urn:ietf:rfc:3986", "value": "urn:uuid:2e6e0c1a-64b3-4a4f-8f0e-3c2b1a0f9e8d" },
        "type": "document",
        "entry": [
            {
                "fullUrl": "urn:uuid:6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d",
                "resource": {
                    "resourceType": "Composition",
                    "status": "final",
                    "type": { "text": "overdracht" },
                    "subject": { "reference": "urn:uuid:1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d" },
                    "date": "2024-05-01T12:00:00+02:00",
                    "author": [{ "display": "Ziekenhuis Oost" }],
                    "title": "Overdracht",
                    "section": [{ "title": "Problemen", "entry": [{ "reference": "urn:uuid:9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a" }] }]
                }
            },
            {
                "fullUrl": "urn:uuid:1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{ "system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": "999911120" }],
                    "name": [{ "family": "van den Heuvel", "given": ["Piet"] }]
                }
            },
            {
                "fullUrl": "urn:uuid:0b1c2d3e-4f5a-4b6c-8d7e-8f9a0b1c2d3e",
                "resource": { "resourceType": "Specimen", "type": { "text": "bloed" } }
            },
            {
                "fullUrl": "urn:uuid:9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
                "resource": {
                    "resourceType": "Condition",
                    "clinicalStatus": "active",
                    "code": { "text": "diabetes mellitus type 2" },
                    "subject": { "reference": "urn:uuid:1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d" }
                }
            }
        ],
        "signature": {
            "type": [{ "system": "urn:iso-astm:E1762-95:2013", "code": "1.2.840.10065.1.12.1.1" }],
            "when": "2024-05-01T12:00:00+02:00",
            "whoReference": { "reference": "Practitioner/prac-1" },
            "blob": "ZGl0IGlzIGdlZW4gaGFuZHRla2VuaW5n"
        }
    })
}

#[test]
fn document_bundle_to_r4() {
    let out = r4(&stu3_document());
    let b = &out.resource;
    let entries = b["entry"].as_array().map_or(0, Vec::len);
    assert_eq!(entries, 3, "the Specimen entry is left out");
    assert_eq!(b["entry"][2]["resource"]["resourceType"], "Condition");
    assert_eq!(
        b["entry"][2]["fullUrl"],
        "urn:uuid:9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
    );
    assert_eq!(
        b["entry"][2]["resource"]["clinicalStatus"]["coding"][0]["code"],
        "active"
    );
    assert_eq!(b["timestamp"], "2024-05-01T12:00:00+02:00");
    assert!(b.get("signature").is_none());
    assert_warned_at(
        &out,
        &["Bundle.signature", "Bundle.entry[2].resource", "Bundle.timestamp"],
    );
    assert_warning(
        &out,
        "Bundle.entry[2].resource",
        "Specimen is not supported by the STU3/R4 converter; entry left out",
    );
}

#[test]
fn bundle_to_stu3_reports_timestamp_and_nested_paths() {
    let mut input = r4(&stu3_document()).resource;
    input["entry"][1]["resource"]["extension"] = json!([]);
    input["entry"][1]["resource"]
        .as_object_mut()
        .map(|o| o.remove("extension"));
    input["entry"][2]["resource"]["recorder"] = json!({ "display": "Dr. P. de Vries" });
    let out = stu3(&input);
    assert_eq!(out.resource["entry"][2]["resource"]["clinicalStatus"], "active");
    assert_warned_at(&out, &["Bundle.entry[2].resource.recorder", "Bundle.timestamp"]);
}

fn r4_transaction() -> Value {
    json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{ "system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": "999911120" }],
                    "name": [{ "family": "van den Heuvel", "given": ["Piet"] }]
                },
                "request": { "method": "PUT", "url": "Patient?identifier=http://fhir.nl/fhir/NamingSystem/bsn|999911120" }
            },
            {
                "fullUrl": "urn:uuid:9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
                "resource": {
                    "resourceType": "Flag",
                    "status": "active",
                    "code": { "text": "valrisico" },
                    "subject": { "reference": "urn:uuid:1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d" }
                },
                "request": { "method": "POST", "url": "Flag" }
            }
        ]
    })
}

#[test]
fn transaction_round_trips() {
    assert_r4_round_trip(&r4_transaction());
    assert_stu3_round_trip(&stu3(&r4_transaction()).resource);
}

#[test]
fn patch_is_reported_for_stu3() {
    let mut input = r4_transaction();
    input["entry"][1]["request"]["method"] = json!("PATCH");
    let out = stu3(&input);
    assert_warned_at(&out, &["Bundle.entry[1].request.method"]);
}

#[test]
fn contained_resources_are_converted() {
    let input = json!({
        "resourceType": "MedicationStatement",
        "contained": [
            { "resourceType": "Substance", "id": "med" },
            { "resourceType": "Practitioner", "id": "p", "name": [{ "family": "Jansen" }] }
        ],
        "status": "active",
        "taken": "y",
        "medicationCodeableConcept": { "text": "ibuprofen" },
        "subject": { "reference": "Patient/pat-1" },
        "informationSource": { "reference": "#p" }
    });
    let out = r4(&input);
    assert_eq!(
        out.resource["contained"],
        json!([{ "resourceType": "Practitioner", "id": "p", "name": [{ "family": "Jansen" }] }])
    );
    assert_warned_at(&out, &["MedicationStatement.contained[0]"]);
    assert_warning(&out, "MedicationStatement.contained[0]", "Substance is not supported");
}
