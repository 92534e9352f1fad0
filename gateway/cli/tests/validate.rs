//! `zorgpoort validate`: an OperationOutcome per resource and an exit code.
#![allow(clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn zorgpoort(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zorgpoort"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start zorgpoort");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    child.wait_with_output().expect("run zorgpoort")
}

fn outcomes(output: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON"))
        .collect()
}

const EXAMPLES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../conformance-tests/corpora/nl-core/examples"
);

#[test]
fn valid_examples_exit_zero_with_one_outcome_each() {
    let files = [
        format!("{EXAMPLES}/nl-core-Patient-01.xml"),
        format!("{EXAMPLES}/nl-core-BodyWeight-01.xml"),
    ];
    let output = zorgpoort(&["validate", &files[0], &files[1]], b"");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let found = outcomes(&output);
    assert_eq!(found.len(), 2);
    assert!(found.iter().all(|o| o["issue"][0]["severity"] == "information"));
    assert!(String::from_utf8_lossy(&output.stderr).contains("Patient/nl-core-Patient-01: valid"));
}

#[test]
fn invalid_ndjson_exits_one_naming_each_spot() {
    let input = b"{\"resourceType\":\"Patient\",\"birthDate\":\"2023-02-29\"}\n{\"resourceType\":\"Patient\"}\n";
    let output = zorgpoort(&["validate", "-"], input);
    assert_eq!(output.status.code(), Some(1));
    let found = outcomes(&output);
    assert_eq!(found.len(), 2);
    let errors = |outcome: &serde_json::Value| -> Vec<String> {
        let issues = outcome["issue"].as_array().cloned().unwrap_or_default();
        issues
            .iter()
            .filter(|issue| issue["severity"] == "error")
            .map(|issue| issue["expression"][0].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(errors(&found[0]), ["Patient.birthDate"]);
    assert!(errors(&found[1]).is_empty(), "{}", found[1]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("-#1 Patient: invalid (1 errors, 1 warnings)") && stderr.contains("dom-6"),
        "{stderr}"
    );
}

#[test]
fn an_explicit_profile_is_applied_and_unreadable_input_fails() {
    let patient = format!("{EXAMPLES}/nl-core-Patient-01.xml");
    let output = zorgpoort(
        &[
            "validate",
            "--profile",
            "http://nictiz.nl/fhir/StructureDefinition/nl-core-BodyWeight",
            &patient,
        ],
        b"",
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        outcomes(&output)[0]["issue"][0]["diagnostics"]
            .as_str()
            .unwrap_or_default()
            .contains("constrains Observation")
    );

    let output = zorgpoort(
        &["validate", "-"],
        b"<Patient xmlns=\"http://hl7.org/fhir\"><birthDate value=\"1934\"/><x/></Patient>",
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("Patient has no element `x`"));
    let output = zorgpoort(&["validate", "does-not-exist.json"], b"");
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("does-not-exist.json: opening"));
}

/// Issue 17: a byte order mark, as Windows tools write it, is not content:
/// JSON and NDJSON that start with one validate like the same text without.
#[test]
fn a_byte_order_mark_before_json_is_not_an_error() {
    for input in [
        &b"\xef\xbb\xbf{\"resourceType\":\"Patient\",\"gender\":\"female\"}"[..],
        &b"\xef\xbb\xbf{\"resourceType\":\"Patient\"}\n{\"resourceType\":\"Patient\"}\n"[..],
    ] {
        let output = zorgpoort(&["validate", "-"], input);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        assert!(stderr.contains("Patient: valid"), "{stderr}");
    }
}
