//! Inputs that once gave Bundles the nl-core validator rejected, found by
//! mutating the fixtures; each now converts to a valid Bundle with a warning.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::problems;
use zorgpoort_ecd::{Mapping, Options, to_fhir};

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
