//! The Dutch rules on fixtures of our own: BSN with the 11-check,
//! voorvoegsels, AGB, UCUM and LOINC, time zones, escapes, Z-segments,
//! repeated identifiers, explicit nulls, Latin-1, several messages per file
//! and MLLP framing.
#![allow(clippy::unwrap_used)]

mod common;

use common::{convert_bytes, convert_one, fixtures, resources};
use serde_json::{Value, json};
use zorgpoort_model::systems::{AGB, BSN, LOINC, UCUM, ext};

fn fixture(name: &str) -> (Value, Vec<zorgpoort_model::Warning>) {
    convert_one(&fixtures().join("dutch").join(name))
}

fn patient(bundle: &Value) -> &Value {
    resources(bundle, "Patient")[0]
}

fn family_extension<'a>(name: &'a Value, url: &str) -> Option<&'a str> {
    name["_family"]["extension"]
        .as_array()?
        .iter()
        .find(|e| e["url"] == url)?["valueString"]
        .as_str()
}

#[test]
fn valid_bsn_is_the_patient_identity() {
    let (bundle, _) = fixture("bsn-valid.hl7");
    let p = patient(&bundle);
    assert!(
        p["identifier"]
            .as_array()
            .unwrap()
            .contains(&json!({"system": BSN, "value": "999911120"}))
    );
    let entry = &bundle["entry"][0];
    assert_eq!(entry["request"]["method"], "PUT");
    assert_eq!(entry["request"]["url"], format!("Patient?identifier={BSN}|999911120"));
    assert_eq!(
        p["meta"]["profile"][0],
        "http://nictiz.nl/fhir/StructureDefinition/nl-core-Patient"
    );
}

#[test]
fn invalid_bsn_is_not_emitted_and_is_reported() {
    let (bundle, warnings) = fixture("bsn-invalid.hl7");
    let text = bundle.to_string();
    assert!(!text.contains(BSN), "a BSN failing the 11-check must not appear as BSN");
    assert!(!text.contains("123456789"));
    let warning = warnings.iter().find(|w| w.message.contains("11-check")).unwrap();
    assert_eq!(warning.location, "PID-3[2]");
    assert!(!warning.message.contains("123456789"), "warnings carry no patient data");
    // The hospital number still identifies the patient.
    assert_eq!(patient(&bundle)["identifier"][0]["value"], "2345678");
}

#[test]
fn voorvoegsels_keep_family_whole_with_parts_in_extensions() {
    let (bundle, _) = fixture("voorvoegsels.hl7");
    let names = patient(&bundle)["name"].as_array().unwrap();
    let explicit = &names[0];
    assert_eq!(explicit["family"], "de Vries-van Dijk");
    assert_eq!(family_extension(explicit, ext::OWN_PREFIX), Some("de"));
    assert_eq!(family_extension(explicit, ext::OWN_NAME), Some("Vries"));
    assert_eq!(family_extension(explicit, ext::PARTNER_PREFIX), Some("van"));
    assert_eq!(family_extension(explicit, ext::PARTNER_NAME), Some("Dijk"));
    assert_eq!(explicit["use"], "official");
    // Only FN.1 given: the prefix is recognised.
    let inferred = &names[1];
    assert_eq!(inferred["family"], "van den Heuvel");
    assert_eq!(family_extension(inferred, ext::OWN_PREFIX), Some("van den"));
    assert_eq!(family_extension(inferred, ext::OWN_NAME), Some("Heuvel"));
    assert_eq!(inferred["given"], json!(["Kees"]));
}

#[test]
fn general_practitioner_and_practice_carry_agb() {
    let (bundle, _) = fixture("gp-agb.hl7");
    let gp = resources(&bundle, "Practitioner")[0];
    assert_eq!(gp["identifier"][0], json!({"system": AGB, "value": "01123456"}));
    let practice = resources(&bundle, "Organization")[0];
    assert_eq!(practice["identifier"][0], json!({"system": AGB, "value": "01234567"}));
    assert_eq!(practice["name"], "Huisartsenpraktijk De Linde");
    // nl-core: the GP at the practice is a PractitionerRole.
    let refs = patient(&bundle)["generalPractitioner"].as_array().unwrap();
    assert_eq!(refs.len(), 1);
    let role = resources(&bundle, "PractitionerRole")[0];
    let full_url = |resource_type: &str| {
        let entry = bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["resource"]["resourceType"] == resource_type);
        entry.unwrap()["fullUrl"].clone()
    };
    assert_eq!(refs[0]["reference"], full_url("PractitionerRole"));
    assert_eq!(role["practitioner"]["reference"], full_url("Practitioner"));
    assert_eq!(role["organization"]["reference"], full_url("Organization"));
    let gp_entry = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["resource"]["resourceType"] == "Practitioner")
        .unwrap();
    assert_eq!(
        gp_entry["request"]["url"],
        format!("Practitioner?identifier={AGB}|01123456")
    );
}

#[test]
fn lab_values_use_ucum_and_loinc() {
    let (bundle, _) = fixture("oru-ucum.hl7");
    let observations = resources(&bundle, "Observation");
    assert_eq!(observations.len(), 8);
    let cholesterol = observations[0];
    assert_eq!(
        cholesterol["code"]["coding"][0],
        json!({"system": LOINC, "code": "14647-2", "display": "Cholesterol totaal"})
    );
    assert_eq!(
        cholesterol["valueQuantity"],
        json!({"value": 5.4, "unit": "mmol/L", "system": UCUM, "code": "mmol/L"})
    );
    assert_eq!(cholesterol["interpretation"][0]["coding"][0]["code"], "H");
    assert_eq!(cholesterol["referenceRange"][0]["low"]["value"], json!(3.5));
    assert_eq!(cholesterol["referenceRange"][0]["high"]["value"], json!(5.0));
    assert_eq!(cholesterol["effectiveDateTime"], "2026-11-24T08:15:00+01:00");
    assert_eq!(observations[2]["valueQuantity"]["code"], "10*9/L");
    let crp = observations[5];
    assert_eq!(crp["valueQuantity"]["comparator"], "<");
    assert_eq!(crp["valueQuantity"]["value"], json!(0.5));
    assert_eq!(crp["referenceRange"][0]["high"]["value"], json!(5));
    let report = resources(&bundle, "DiagnosticReport")[0];
    assert_eq!(report["result"].as_array().unwrap().len(), 8);
    assert_eq!(report["status"], "final");
}

#[test]
fn timestamps_keep_offsets_and_get_the_dutch_zone_when_missing() {
    let (bundle, _) = fixture("timezones.hl7");
    let encounter = resources(&bundle, "Encounter")[0];
    // No offset in PV1-44, in July: CEST.
    assert_eq!(encounter["period"]["start"], "2026-07-15T10:30:00+02:00");
    let provenance = resources(&bundle, "Provenance")[0];
    assert_eq!(provenance["recorded"], "2026-07-15T09:32:15+01:00");
    assert_eq!(provenance["occurredDateTime"], "2026-07-15T10:32:00+02:00");
    assert_eq!(patient(&bundle)["birthDate"], "1985-04-12");
}

#[test]
fn escapes_are_decoded() {
    let (bundle, _) = fixture("escapes.hl7");
    let observations = resources(&bundle, "Observation");
    let remark = observations[0]["valueString"].as_str().unwrap();
    assert_eq!(
        remark,
        "Bloeddruk 120^80 & pols 72|regelmatig; map C:\\lab\\uit; keuze A~B; code A1"
    );
    let report = observations[1]["valueString"].as_str().unwrap();
    assert_eq!(
        report,
        "Thoraxfoto:\nGeen infiltraten & geen pleuravocht.\nConclusie: normaal beeld."
    );
    assert_eq!(
        observations[1]["note"][0]["text"],
        "Let op: uitslag ook verstuurd naar huisarts."
    );
}

#[test]
fn z_segments_are_reported_not_dropped_silently() {
    let (_, warnings) = fixture("z-segments.hl7");
    for segment in ["ZPI", "ZVI"] {
        let w = warnings
            .iter()
            .find(|w| w.location == segment)
            .unwrap_or_else(|| panic!("{segment}: {warnings:?}"));
        assert!(w.message.contains("Z-segment"), "{w}");
    }
}

#[test]
fn every_identifier_repetition_is_kept_with_its_own_system() {
    let (bundle, _) = fixture("repeated-identifiers.hl7");
    let ids = patient(&bundle)["identifier"].as_array().unwrap();
    assert_eq!(ids.len(), 4);
    let values: Vec<&str> = ids.iter().map(|i| i["value"].as_str().unwrap()).collect();
    assert_eq!(values, ["1234567", "999993653", "7654321", "NX1234567"]);
    assert_eq!(ids[1]["system"], BSN);
    assert_eq!(ids[0]["assigner"]["display"], "RIJNSTATE");
    assert_eq!(ids[2]["assigner"]["display"], "LINDENHOEVE");
    assert_eq!(ids[3]["type"]["coding"][0]["code"], "PPN");
}

#[test]
fn explicit_nulls_emit_nothing() {
    let (bundle, _) = fixture("explicit-nulls.hl7");
    let text = bundle.to_string();
    assert!(!text.contains("\"\""), "no empty strings");
    assert!(!text.contains("\\\"\\\""), "the null marker is not copied as text");
    let p = patient(&bundle);
    assert!(p.get("gender").is_none() && p.get("address").is_none() && p.get("telecom").is_none());
    assert!(resources(&bundle, "Encounter")[0].get("location").is_none());
}

#[test]
fn latin1_is_decoded_when_declared() {
    let (bundle, _) = fixture("latin1.hl7");
    let name = &patient(&bundle)["name"][0];
    assert_eq!(name["family"], "Schröder");
    assert_eq!(name["given"][0], "Hélène");
}

#[test]
fn several_messages_per_file_and_mllp_framing() {
    let bytes = std::fs::read(fixtures().join("dutch/multi-message.hl7")).unwrap();
    let results = convert_bytes(&bytes);
    assert_eq!(results.len(), 3);
    let bundles: Vec<Value> = results
        .into_iter()
        .map(|r| serde_json::from_str(&r.unwrap().json).unwrap())
        .collect();
    assert_eq!(resources(&bundles[1], "Encounter")[0]["status"], "finished");
    assert_eq!(resources(&bundles[2], "Observation").len(), 2);
    let (framed, _) = fixture("mllp-framed.hl7");
    assert_eq!(patient(&framed)["name"][0]["family"], "van 't Hof");
}

#[test]
fn conversion_is_deterministic() {
    let bytes = std::fs::read(fixtures().join("dutch/oru-ucum.hl7")).unwrap();
    let first = convert_bytes(&bytes).remove(0).unwrap().json;
    let second = convert_bytes(&bytes).remove(0).unwrap().json;
    assert_eq!(first, second);
}
