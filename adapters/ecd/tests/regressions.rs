//! Inputs that once gave Bundles the nl-core validator rejected, found by
//! mutating the fixtures or by the fuzzers (`fixtures/fuzz/`, reduced to the
//! rows that still showed the defect); each now converts to a valid Bundle
//! with a warning.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{fixtures, problems};
use serde_json::{Value, json};
use zorgpoort_ecd::{Mapping, Options, detect, to_fhir};

fn convert_one(export: &str) -> (String, Vec<String>) {
    let mapping = Mapping::builtin("carebook-json").unwrap();
    let mut results = to_fhir(export.as_bytes(), &mapping, &Options::default()).unwrap();
    let conversion = results.remove(0).unwrap();
    let json = conversion.bundle.to_json();
    assert_eq!(problems(&json), Vec::<String>::new(), "{json}");
    (json, conversion.warnings.iter().map(ToString::to_string).collect())
}

#[test]
fn blood_pressure_with_one_value_claims_no_profile() {
    let (json, warnings) =
        convert_one(r#"{"clients":[{"clientId":"A","vitals":[{"systolic":140,"measuredAt":"2024-01-01T10:00:00"}]}]}"#);
    assert!(!json.contains("nl-core-BloodPressure"), "{json}");
    assert!(json.contains(r#""code":"8480-6""#), "{json}");
    assert_eq!(
        warnings,
        [
            "$.clients[0].vitals[0]: blood pressure without both systolic and diastolic value; nl-core profile not claimed"
        ]
    );
}

#[test]
fn a_voorvoegsel_without_surname_is_a_warning() {
    let (json, warnings) = convert_one(r#"{"clients":[{"clientId":"A","name":{"given":"Jan","prefix":"van"}}]}"#);
    assert!(!json.contains("humanname-own-prefix"), "{json}");
    assert_eq!(
        warnings,
        ["$.clients[0].name.prefix: voorvoegsel without a surname; not imported"]
    );
}

/// Every client of every fuzz-derived export, converted with the mapping
/// `convert --from auto` picks (as the fuzz target does), is a valid Bundle.
#[test]
fn every_fuzz_input_converts_to_valid_bundles() {
    let paths = fixtures("fuzz");
    assert!(!paths.is_empty());
    let mut failures = Vec::new();
    for path in paths {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        let mapping = Mapping::builtin(detect(&bytes).unwrap()).unwrap();
        for client in to_fhir(&bytes, &mapping, &Options::default()).unwrap() {
            let conversion = client.unwrap_or_else(|e| panic!("{name}: {e}"));
            for problem in problems(&conversion.bundle.to_json()) {
                failures.push(format!("{name}: {problem}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// per-1: a medication used from 4044-02-01 to 2022-03-01. The start is
/// kept and the end left out; that the export gave an end still makes the
/// statement completed.
#[test]
fn a_medication_ending_before_it_starts_keeps_its_start() {
    let bytes = std::fs::read(common::root().join("fixtures/fuzz/medication-end-before-start.csv")).unwrap();
    let mapping = Mapping::builtin(detect(&bytes).unwrap()).unwrap();
    let conversion = to_fhir(&bytes, &mapping, &Options::default())
        .unwrap()
        .remove(0)
        .unwrap();
    let json = conversion.bundle.to_json();
    assert_eq!(problems(&json), Vec::<String>::new(), "{json}");
    let warnings: Vec<String> = conversion.warnings.iter().map(ToString::to_string).collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.ends_with(": end before the start; not imported") && w.contains("einddatum")),
        "{warnings:?}"
    );
    let bundle: Value = serde_json::from_str(&json).unwrap();
    let statement = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .find(|r| r["resourceType"] == "MedicationStatement")
        .unwrap();
    assert_eq!(statement["effectivePeriod"], json!({"start": "4044-02-01"}));
    assert_eq!(statement["status"], "completed");
    assert_eq!(statement["medicationCodeableConcept"]["text"], "Paracetamol 500mg");
    assert!(
        statement["dosage"][0]["text"]
            .as_str()
            .unwrap()
            .ends_with("2 tabletten"),
        "{statement}"
    );
}
