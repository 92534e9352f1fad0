//! What the Dutch fixtures must become: identifiers in the nl-core naming
//! systems, names with voorvoegsels, the document's identity.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{convert, fixtures, resources};

#[test]
fn the_referral_letter_carries_dutch_identifiers_and_names() {
    let converted = convert(&fixtures().join("verwijsbrief-huisarts.xml"));
    let bundle = &converted.bundle;
    assert_eq!(converted.origin.sender, "00001234");
    assert_eq!(
        converted.origin.message_id,
        "2.16.528.1.1007.3.3.1234567.1^VB-2026-000417"
    );
    assert_eq!(converted.origin.event, "CDA^57133-1");
    assert_eq!(bundle["identifier"]["system"], "urn:oid:2.16.528.1.1007.3.3.1234567.1");
    assert_eq!(bundle["identifier"]["value"], "VB-2026-000417");
    assert_eq!(bundle["timestamp"], "2026-03-12T14:30:00+01:00");

    let patient = resources(bundle, "Patient")[0];
    assert_eq!(
        patient["identifier"][0]["system"],
        "http://fhir.nl/fhir/NamingSystem/bsn"
    );
    assert_eq!(patient["identifier"][0]["value"], "999911120");
    let name = &patient["name"][0];
    assert_eq!(name["family"], "van der Berg");
    assert_eq!(name["_family"]["extension"][0]["valueString"], "van der");
    assert_eq!(name["_family"]["extension"][1]["valueString"], "Berg");
    assert_eq!(patient["birthDate"], "1958-07-04");
    assert_eq!(patient["address"][0]["line"][0], "Kerkstraat 12 a");

    let practitioner = resources(bundle, "Practitioner")[0];
    assert_eq!(
        practitioner["identifier"][0]["system"],
        "http://fhir.nl/fhir/NamingSystem/agb-z"
    );
    let organization = resources(bundle, "Organization")[0];
    assert_eq!(
        organization["identifier"][0]["system"],
        "http://fhir.nl/fhir/NamingSystem/ura"
    );
    // The practice is author's organisation and custodian: one resource.
    assert_eq!(resources(bundle, "Organization").len(), 1);

    let composition = &bundle["entry"][0]["resource"];
    assert_eq!(composition["resourceType"], "Composition");
    assert_eq!(composition["title"], "Verwijsbrief cardiologie");
    assert_eq!(composition["attester"][0]["mode"], "legal");
    let sections = composition["section"].as_array().unwrap();
    assert_eq!(sections.len(), 5);
    let div = sections[0]["text"]["div"].as_str().unwrap();
    assert!(div.contains("<span>toenemende dyspneu d'effort</span>"), "{div}");
    assert!(div.contains("Echo cor gewenst &amp; advies"), "{div}");
    assert_eq!(sections[1]["entry"].as_array().unwrap().len(), 2);

    let conditions = resources(bundle, "Condition");
    assert_eq!(
        conditions[0]["code"]["coding"][0]["system"],
        "urn:oid:2.16.840.1.113883.2.4.4.31.1"
    );
    assert_eq!(conditions[0]["code"]["text"], "Hypertensie");
    assert_eq!(conditions[0]["onsetDateTime"], "2015");
    let medication = resources(bundle, "MedicationStatement");
    assert_eq!(medication.len(), 2);
    assert_eq!(medication[0]["dosage"][0]["text"], "Metoprolol 50 mg tablet");
    assert_eq!(
        medication[1]["medicationCodeableConcept"]["text"],
        "Metformine 500 mg tablet"
    );
    let allergy = resources(bundle, "AllergyIntolerance")[0];
    assert_eq!(allergy["reaction"][0]["severity"], "moderate");
    assert_eq!(
        resources(bundle, "DiagnosticReport")[0]["result"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let hb = resources(bundle, "Observation")[0];
    assert_eq!(hb["valueQuantity"]["code"], "mmol/L");
    assert_eq!(hb["referenceRange"][0]["low"]["value"], 8.5);

    // The recipient has no place in a Composition: said, not dropped.
    assert!(
        converted
            .warnings
            .iter()
            .any(|w| w.location == "line 5, column 1 (/ClinicalDocument)"
                && w.message == "not mapped: informationRecipient"),
        "{:?}",
        converted.warnings
    );
}

#[test]
fn the_discharge_letter_has_its_encounter_and_nested_sections() {
    let converted = convert(&fixtures().join("ontslagbrief-ziekenhuis.xml"));
    let bundle = &converted.bundle;
    assert_eq!(bundle["identifier"]["system"], "urn:ietf:rfc:3986");
    assert_eq!(
        bundle["identifier"]["value"],
        "urn:uuid:5c1f8e2a-3d6b-4f0e-9a7c-2b8d4e6f1a90"
    );
    let composition = &bundle["entry"][0]["resource"];
    assert_eq!(composition["confidentiality"], "R");
    let encounter = resources(bundle, "Encounter")[0];
    assert_eq!(encounter["class"]["code"], "IMP");
    assert_eq!(encounter["status"], "finished");
    assert_eq!(
        composition["encounter"]["reference"],
        bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["resource"]["resourceType"] == "Encounter")
            .unwrap()["fullUrl"]
    );
    let course = &composition["section"][0];
    assert_eq!(course["section"][0]["title"], "Ontslagdiagnose");
    let div = course["text"]["div"].as_str().unwrap();
    assert!(div.contains("<caption>Temperatuurverloop</caption>"), "{div}");
    assert!(div.contains("<td colspan=\"1\">5</td>"), "{div}");
    assert!(
        div.contains("<a href=\"https://ziekenhuis.example.nl/patientfolder\">"),
        "{div}"
    );
    let patient = resources(bundle, "Patient")[0];
    assert_eq!(patient["name"][0]["family"], "van den Heuvel-Jansen");
    let conditions = resources(bundle, "Condition");
    assert_eq!(conditions[0]["clinicalStatus"]["coding"][0]["code"], "resolved");
    assert_eq!(conditions[0]["abatementDateTime"], "2026-10-29");
    assert_eq!(resources(bundle, "Device").len(), 1);
    assert_eq!(resources(bundle, "ServiceRequest")[0]["intent"], "plan");
    assert_eq!(
        resources(bundle, "MedicationStatement")[0]["dosage"][0]["timing"]["repeat"]["period"],
        8
    );
    assert!(
        converted
            .warnings
            .iter()
            .any(|w| w.location.ends_with("entry[2]/observation)"))
    );
}

#[test]
fn the_latin1_transfer_note_keeps_its_accents_and_reports_what_it_drops() {
    let converted = convert(&fixtures().join("overdracht-verpleegkundig.xml"));
    let bundle = &converted.bundle;
    let composition = &bundle["entry"][0]["resource"];
    let div = composition["section"][0]["text"]["div"].as_str().unwrap();
    assert!(div.contains("<p>Zelfzorg</p><ul><li>"), "{div}");
    assert!(div.contains("hulp van één persoon"), "{div}");
    assert!(div.contains("<span>[Rug en benen door zorg.]</span>"), "{div}");
    let messages: Vec<String> = converted.warnings.iter().map(ToString::to_string).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("/text/renderMultiMedia): narrative multimedia")),
        "{messages:?}"
    );
    // The functional status is an nl-core status Observation.
    let observations = resources(bundle, "Observation");
    assert_eq!(observations.len(), 3);
    let walking = observations[0];
    assert_eq!(
        walking["meta"]["profile"][0],
        "http://nictiz.nl/fhir/StructureDefinition/nl-core-FunctionalOrMentalStatus"
    );
    assert_eq!(walking["valueCodeableConcept"]["coding"][0]["code"], "371153006");
    let vitals = &observations[1..];
    assert_eq!(vitals[0]["category"][0]["coding"][0]["code"], "vital-signs");
    let vaccination = resources(bundle, "Immunization")[0];
    assert_eq!(
        vaccination["vaccineCode"]["coding"][0]["system"],
        "http://hl7.org/fhir/sid/cvx"
    );
    assert_eq!(vaccination["lotNumber"], "FLU-2026-113");
    let daughter = resources(bundle, "RelatedPerson")[0];
    assert_eq!(daughter["relationship"][0]["coding"][0]["code"], "DAU");
    assert_eq!(daughter["name"][0]["_family"]["extension"][0]["valueString"], "ter");
    assert_eq!(daughter["patient"]["reference"], bundle["entry"][1]["fullUrl"]);
    let patient = resources(bundle, "Patient")[0];
    assert_eq!(
        patient["_birthDate"]["extension"][0]["valueDateTime"],
        "1936-12-01T08:30:00+01:00"
    );
}

/// Every `HumanName` in `value` (at any depth).
fn names(value: &serde_json::Value, out: &mut Vec<serde_json::Value>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map {
                if key == "name" && inner.is_array() && map.contains_key("resourceType") {
                    out.extend(inner.as_array().unwrap().iter().cloned());
                }
                names(inner, out);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| names(i, out)),
        _ => {}
    }
}

#[test]
fn every_name_written_has_its_display_text() {
    // nl-core-NameInformation-01: a structured name also gives the whole
    // name as text, given names first, the family name with its voorvoegsel.
    let letter = convert(&fixtures().join("ontslagbrief-ziekenhuis.xml"));
    let patient = resources(&letter.bundle, "Patient")[0];
    assert_eq!(patient["name"][0]["family"], "van den Heuvel-Jansen");
    let text = patient["name"][0]["text"].as_str().unwrap();
    assert!(text.ends_with(" van den Heuvel-Jansen"), "{text}");

    let mut paths = common::dutch_fixtures();
    paths.extend(common::ccda_fixtures());
    paths.extend(common::corpus_samples());
    let mut count = 0;
    for path in paths {
        let mut found = Vec::new();
        names(&convert(&path).bundle, &mut found);
        for name in found {
            count += 1;
            assert!(name["text"].is_string(), "{}: {name}", path.display());
        }
    }
    assert!(count > 50, "{count}");
}
