//! Patient, Practitioner, `PractitionerRole`, Organization.

mod common;

use common::{assert_r4_round_trip, assert_stu3_round_trip, assert_warned_at, assert_warning, r4, stu3};
use serde_json::json;

fn stu3_patient() -> serde_json::Value {
    json!({
        "resourceType": "Patient",
        "id": "pat-1",
        "meta": { "profile": ["http://fhir.nl/fhir/StructureDefinition/nl-core-patient"] },
        "identifier": [{ "system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": "999911120" }],
        "active": true,
        "name": [{
            "use": "official",
            "family": "van der Berg",
            "_family": { "extension": [
                { "url": "http://hl7.org/fhir/StructureDefinition/humanname-own-prefix", "valueString": "van der" },
                { "url": "http://hl7.org/fhir/StructureDefinition/humanname-own-name", "valueString": "Berg" }
            ]},
            "given": ["Johanna"],
            "_given": [{ "extension": [
                { "url": "http://hl7.org/fhir/StructureDefinition/iso21090-EN-qualifier", "valueCode": "BR" }
            ]}]
        }],
        "gender": "female",
        "birthDate": "1954-03-12",
        "address": [{ "line": ["Dorpsstraat 12"], "city": "Utrecht", "postalCode": "3511AB", "country": "NL" }],
        "generalPractitioner": [{ "reference": "Practitioner/prac-1" }]
    })
}

#[test]
fn patient_to_r4_maps_profile_and_keeps_the_rest() {
    let out = r4(&stu3_patient());
    assert_eq!(
        out.resource["meta"]["profile"],
        json!(["http://nictiz.nl/fhir/StructureDefinition/nl-core-Patient"])
    );
    assert_eq!(out.resource["identifier"][0]["value"], "999911120");
    assert_eq!(
        out.resource["name"][0]["_family"]["extension"][0]["valueString"],
        "van der"
    );
    assert!(out.warnings.is_empty());
}

#[test]
fn patient_animal_is_reported() {
    let mut input = stu3_patient();
    input["animal"] = json!({ "species": { "text": "hond" } });
    let out = r4(&input);
    assert!(out.resource.get("animal").is_none());
    assert_warned_at(&out, &["Patient.animal"]);
    assert_warning(&out, "Patient.animal", "no counterpart in FHIR R4");
}

#[test]
fn patient_round_trips() {
    assert_stu3_round_trip(&stu3_patient());
    let r4_patient = r4(&stu3_patient()).resource;
    assert_r4_round_trip(&r4_patient);
}

#[test]
fn patient_to_stu3_maps_profile_back() {
    let r4_patient = r4(&stu3_patient()).resource;
    let out = stu3(&r4_patient);
    assert_eq!(
        out.resource["meta"]["profile"],
        json!(["http://fhir.nl/fhir/StructureDefinition/nl-core-patient"])
    );
}

#[test]
fn practitioner_both_directions() {
    let input = json!({
        "resourceType": "Practitioner",
        "id": "prac-1",
        "meta": { "profile": ["http://fhir.nl/fhir/StructureDefinition/nl-core-practitioner"] },
        "identifier": [{ "system": "http://fhir.nl/fhir/NamingSystem/uzi-nr-pers", "value": "123456789" }],
        "name": [{ "family": "de Vries", "given": ["P."] }],
        "qualification": [{ "code": { "text": "huisarts" } }]
    });
    let out = r4(&input);
    assert_eq!(
        out.resource["meta"]["profile"][0],
        "http://nictiz.nl/fhir/StructureDefinition/nl-core-HealthProfessional-Practitioner"
    );
    assert_eq!(out.resource["qualification"], input["qualification"]);
    assert!(out.warnings.is_empty());
    let back = stu3(&out.resource);
    assert_eq!(back.resource, input);
    assert_stu3_round_trip(&input);
}

#[test]
fn practitioner_role_both_directions() {
    let input = json!({
        "resourceType": "PractitionerRole",
        "id": "role-1",
        "practitioner": { "reference": "Practitioner/prac-1" },
        "organization": { "reference": "Organization/org-1" },
        "specialty": [{ "coding": [{ "system": "urn:oid:2.16.840.1.113883.2.4.6.7", "code": "0100" }] }],
        "availableTime": [{ "daysOfWeek": ["mon", "tue"], "availableStartTime": "08:00:00" }]
    });
    let out = r4(&input);
    assert_eq!(out.resource, input);
    assert!(out.warnings.is_empty());
    assert_r4_round_trip(&input);
}

#[test]
fn organization_unknown_profile_is_dropped_with_a_warning() {
    let input = json!({
        "resourceType": "Organization",
        "id": "org-1",
        "meta": { "profile": [
            "http://fhir.nl/fhir/StructureDefinition/nl-core-organization",
            "http://example.org/fhir/StructureDefinition/eigen-organisatie"
        ]},
        "identifier": [{ "system": "http://fhir.nl/fhir/NamingSystem/ura", "value": "12345678" }],
        "name": "Huisartsenpraktijk Het Hof"
    });
    let out = r4(&input);
    assert_eq!(
        out.resource["meta"]["profile"],
        json!(["http://nictiz.nl/fhir/StructureDefinition/nl-core-HealthcareProvider-Organization"])
    );
    assert_warned_at(&out, &["Organization.meta.profile[1]"]);
    assert_warning(
        &out,
        "Organization.meta.profile[1]",
        "eigen-organisatie has no known FHIR R4 counterpart",
    );
    let back = stu3(&out.resource);
    assert_eq!(
        back.resource["meta"]["profile"],
        json!(["http://fhir.nl/fhir/StructureDefinition/nl-core-organization"])
    );
}

#[test]
fn r4_only_meta_source_is_reported() {
    let input = json!({
        "resourceType": "Organization",
        "meta": { "source": "urn:uuid:6f1c2a52-0b1e-4a57-9d7e-1f4c9a2b3c4d", "lastUpdated": "2024-01-02T10:00:00Z" },
        "name": "Ziekenhuis Oost"
    });
    let out = stu3(&input);
    assert_eq!(out.resource["meta"], json!({ "lastUpdated": "2024-01-02T10:00:00Z" }));
    assert_warned_at(&out, &["Organization.meta.source"]);
}

#[test]
fn modifier_extension_is_kept_with_a_warning() {
    let input = json!({
        "resourceType": "Patient",
        "modifierExtension": [{ "url": "http://example.org/fhir/StructureDefinition/onbekend", "valueBoolean": true }],
        "gender": "male"
    });
    let out = r4(&input);
    assert_eq!(out.resource["modifierExtension"], input["modifierExtension"]);
    assert_warning(&out, "Patient.modifierExtension", "modifier extension kept");
}

#[test]
fn pass_through_types_are_unchanged() {
    let outcome = json!({
        "resourceType": "OperationOutcome",
        "issue": [{ "severity": "error", "code": "invalid", "diagnostics": "onbekend veld" }]
    });
    assert_eq!(r4(&outcome).resource, outcome);
    assert_eq!(stu3(&outcome).resource, outcome);
    let endpoint = json!({
        "resourceType": "Endpoint",
        "status": "active",
        "connectionType": { "system": "http://terminology.hl7.org/CodeSystem/endpoint-connection-type", "code": "hl7-fhir-rest" },
        "payloadType": [{ "text": "eOverdracht" }],
        "address": "https://fhir.example.nl/stu3"
    });
    assert_stu3_round_trip(&endpoint);
}

#[test]
fn r4_reference_type_is_removed_for_stu3() {
    let input = json!({
        "resourceType": "Patient",
        "generalPractitioner": [{ "reference": "Practitioner/prac-1", "type": "Practitioner", "display": "dokter Bakker" }],
        "managingOrganization": { "identifier": { "system": "http://fhir.nl/fhir/NamingSystem/ura", "value": "12345678" }, "type": "Organization" }
    });
    let out = stu3(&input);
    assert_eq!(
        out.resource["generalPractitioner"],
        json!([{ "reference": "Practitioner/prac-1", "display": "dokter Bakker" }])
    );
    assert_eq!(
        out.resource["managingOrganization"],
        json!({ "identifier": { "system": "http://fhir.nl/fhir/NamingSystem/ura", "value": "12345678" } })
    );
    let mut at: Vec<&str> = out.warnings.iter().map(|w| w.location.as_str()).collect();
    at.sort_unstable();
    assert_eq!(
        at,
        [
            "Patient.generalPractitioner[0].type",
            "Patient.managingOrganization.type"
        ]
    );
}
