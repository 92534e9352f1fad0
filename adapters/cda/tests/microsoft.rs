//! Cross-reference with Microsoft's FHIR converter: on its own C-CDA
//! samples our Bundles agree with its expected R4 output on the key facts
//! (who the patient is, how many problems, allergies, medications and
//! immunizations), though the shape of each resource differs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{convert, corpora, corpus_samples, expected_r4, resources};
use serde_json::Value;

fn patient_facts(bundle: &Value) -> (Value, Value, Value, Value) {
    let patient = resources(bundle, "Patient")[0];
    let name = &patient["name"][0];
    (
        name["family"].clone(),
        name["given"].clone(),
        patient["birthDate"].clone(),
        patient["gender"].clone(),
    )
}

#[test]
fn every_sample_names_the_same_patient() {
    for path in corpus_samples() {
        let ours = convert(&path).bundle;
        let theirs = expected_r4(&path);
        assert_eq!(patient_facts(&ours), patient_facts(&theirs), "{}", path.display());
    }
}

/// Statements this adapter maps from sections Microsoft's converter leaves out
/// (each of these two samples holds one).
fn more_than_microsoft(file: &str, kind: &str) -> usize {
    match (file, kind) {
        // One medication in the Admission Medications section (2.16.840.1.113883.10.20.22.2.44).
        (
            "CCD-Parent-Document-Replace-C-CDAR2.1.ccda" | "PROBLEMS_in_Empty_C-CDA_2.1-C-CDAR2.1.ccda",
            "MedicationStatement",
        ) => 1,
        _ => 0,
    }
}

#[test]
fn clinical_statements_are_counted_alike() {
    // Samples whose recognised sections hold all of these statements (the
    // others also carry them in sections this adapter reports as unmapped).
    let samples = [
        "170.314B2_Amb_CCD.ccda",
        "C-CDA_R2-1_CCD.xml.ccda",
        "CCD-Parent-Document-Replace-C-CDAR2.1.ccda",
        "PROBLEMS_in_Empty_C-CDA_2.1-C-CDAR2.1.ccda",
    ];
    for file in samples {
        let path = corpora().join("cda/ms-fhir-converter/documents").join(file);
        let ours = convert(&path).bundle;
        let theirs = expected_r4(&path);
        for kind in ["Condition", "AllergyIntolerance", "MedicationStatement"] {
            assert_eq!(
                resources(&ours, kind).len(),
                resources(&theirs, kind).len() + more_than_microsoft(file, kind),
                "{file}: {kind}"
            );
        }
    }
    let path = corpora().join("cda/ms-fhir-converter/documents/C-CDA_R2-1_CCD.xml.ccda");
    assert_eq!(resources(&convert(&path).bundle, "Immunization").len(), 5);
    assert_eq!(resources(&expected_r4(&path), "Immunization").len(), 5);
}

#[test]
fn problem_codes_agree() {
    let path = corpora().join("cda/ms-fhir-converter/documents/C-CDA_R2-1_CCD.xml.ccda");
    let codes = |bundle: &Value| {
        let mut codes: Vec<String> = resources(bundle, "Condition")
            .iter()
            .filter_map(|c| c["code"]["coding"][0]["code"].as_str().map(str::to_owned))
            .collect();
        codes.sort();
        codes
    };
    let ours = codes(&convert(&path).bundle);
    assert_eq!(ours.len(), 4);
    assert_eq!(ours, codes(&expected_r4(&path)));
}
