//! Shared by the integration tests: fixtures, conversion to a comparable
//! JSON outcome, golden files and the validity checks every Bundle must pass.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use zorgpoort_ecd::{Mapping, Options, to_fhir};
use zorgpoort_profiles::{ProfileChoice, Severity, validate};

/// The adapter's directory.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The fixtures of one layout (a folder under `fixtures/`), sorted.
pub fn fixtures(layout: &str) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root().join("fixtures").join(layout))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv" || e == "json"))
        .collect();
    paths.sort();
    paths
}

/// Every client's outcome as JSON: origin, warnings and Bundle, or the error.
pub fn outcome(input: &[u8], mapping: &Mapping) -> Value {
    match to_fhir(input, mapping, &Options::default()) {
        Err(e) => json!({ "export_error": e.to_string() }),
        Ok(results) => Value::Array(
            results
                .into_iter()
                .map(|r| match r {
                    Ok(c) => json!({
                        "origin": {
                            "sender": c.origin.sender,
                            "message_id": c.origin.message_id,
                            "event": c.origin.event,
                        },
                        "warnings": c.warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
                        "bundle": serde_json::from_str::<Value>(&c.bundle.to_json()).unwrap(),
                    }),
                    Err(e) => json!({ "error": e.to_string() }),
                })
                .collect(),
        ),
    }
}

/// Compares `actual` with the committed file, or rewrites it when
/// `UPDATE_EXPECT=1`.
pub fn golden(expected: &Path, actual: &Value) {
    let text = serde_json::to_string_pretty(actual).unwrap() + "\n";
    zorgpoort_model::check::expect_file(expected, &text);
}

/// The generic Bundle checks and nl-core validation of one Bundle; problems as text.
pub fn problems(bundle_json: &str) -> Vec<String> {
    let mut out = zorgpoort_model::check::check_bundle(bundle_json, "transaction");
    let bundle: Value = serde_json::from_str(bundle_json).unwrap();
    for issue in validate(&bundle, ProfileChoice::Claimed) {
        if issue.severity == Severity::Error || issue.code == zorgpoort_profiles::IssueType::NotSupported {
            out.push(format!(
                "{} {}: {}",
                issue.code.as_str(),
                issue.expression,
                issue.message
            ));
        }
    }
    out
}
