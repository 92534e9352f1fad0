//! Helpers shared by the integration tests.
#![allow(dead_code)]

use serde_json::Value;
use zorgpoort_model::Warning;
use zorgpoort_stu3::{Converted, to_r4, to_stu3};

/// STU3 -> R4, with the R4 output checked against the R4 schema and the
/// profiles it claims.
pub fn r4(stu3: &Value) -> Converted {
    let converted = to_r4(stu3).unwrap_or_else(|e| panic!("to_r4 failed: {e}"));
    assert_valid_r4(&converted.resource);
    converted
}

/// R4 -> STU3.
pub fn stu3(r4: &Value) -> Converted {
    assert_valid_r4(r4);
    to_stu3(r4).unwrap_or_else(|e| panic!("to_stu3 failed: {e}"))
}

/// No issue of severity error from the repo's R4 validator.
pub fn assert_valid_r4(resource: &Value) {
    let issues = zorgpoort_profiles::validate(resource, zorgpoort_profiles::ProfileChoice::Claimed);
    let errors: Vec<_> = issues
        .iter()
        .filter(|i| i.severity == zorgpoort_profiles::Severity::Error)
        .collect();
    assert!(
        errors.is_empty(),
        "R4 validation errors:\n{errors:#?}\nresource:\n{}",
        serde_json::to_string_pretty(resource).unwrap_or_default()
    );
}

/// The warnings as `location: message` lines.
pub fn lines(warnings: &[Warning]) -> Vec<String> {
    warnings.iter().map(ToString::to_string).collect()
}

/// Exactly these warning locations, in order.
pub fn assert_warned_at(converted: &Converted, locations: &[&str]) {
    let got: Vec<&str> = converted.warnings.iter().map(|w| w.location.as_str()).collect();
    assert_eq!(got, locations, "warnings:\n{:#?}", lines(&converted.warnings));
}

/// A warning at `location` whose message contains `text`.
pub fn assert_warning(converted: &Converted, location: &str, text: &str) {
    assert!(
        converted
            .warnings
            .iter()
            .any(|w| w.location == location && w.message.contains(text)),
        "no warning at {location} containing {text:?}; got:\n{:#?}",
        lines(&converted.warnings)
    );
}

/// STU3 -> R4 -> STU3 gives the input back, without warnings.
pub fn assert_stu3_round_trip(input: &Value) {
    let there = r4(input);
    assert!(there.warnings.is_empty(), "to R4: {:#?}", lines(&there.warnings));
    let back = to_stu3(&there.resource).unwrap_or_else(|e| panic!("to_stu3 failed: {e}"));
    assert!(back.warnings.is_empty(), "back to STU3: {:#?}", lines(&back.warnings));
    assert_eq!(&back.resource, input, "STU3 round trip differs");
}

/// R4 -> STU3 -> R4 gives the input back, without warnings.
pub fn assert_r4_round_trip(input: &Value) {
    let there = stu3(input);
    assert!(there.warnings.is_empty(), "to STU3: {:#?}", lines(&there.warnings));
    let back = r4(&there.resource);
    assert!(back.warnings.is_empty(), "back to R4: {:#?}", lines(&back.warnings));
    assert_eq!(&back.resource, input, "R4 round trip differs");
}
