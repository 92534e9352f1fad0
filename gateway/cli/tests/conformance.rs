//! `zorgpoort conformance check` on sample files from the repository: a
//! message the gateway would refuse fails with where and why, a BSN failing
//! the 11-check is an error, warnings alone pass, and the JSON report says
//! the same per message.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

fn check(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zorgpoort"))
        .args(["conformance", "check"])
        .args(args)
        .output()
        .unwrap()
}

fn fixture(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../adapters")
        .join(path)
        .display()
        .to_string()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn messages_that_would_be_refused_fail_with_where_and_why() {
    let good = fixture("hl7v2/tests/fixtures/dutch/multi-message.hl7");
    let refused = fixture("hl7v2/tests/fixtures/fidelity/no-identified-patient.hl7");
    let output = check(&[&good, &refused]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(text.contains(&format!("{good} msg 3 (FX0014): PASS")), "{text}");
    assert!(
        text.contains(&format!(
            "{refused} msg 2: error [read] PID-3: ORU^R01 needs an identified patient"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("{refused} msg 2: FAIL (1 errors, 0 warnings)")),
        "{text}"
    );
    let summary = String::from_utf8_lossy(&output.stderr);
    assert!(
        summary.contains("5 messages checked, 2 with errors, 0 files not readable"),
        "{summary}"
    );
}

#[test]
fn samples_with_warnings_only_pass() {
    let lab = fixture("edifact/fixtures/medlab/coded-ranges.edi");
    let letter = fixture("cda/tests/fixtures/ccda/allergies-severity-reaction.xml");
    let output = check(&[&lab, &letter]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(
        text.contains("warning [mapping] msg 1 (UNH+55): segment 16 KOP"),
        "{text}"
    );
    assert!(!text.contains("FAIL"), "{text}");
}

#[test]
fn a_bsn_failing_the_11_check_is_an_error_though_the_gateway_would_take_the_message() {
    let output = check(&[&fixture("hl7v2/tests/fixtures/dutch/bsn-invalid.hl7")]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(text.contains("error [bsn] PID-3[2]: BSN fails the 11-check"), "{text}");
}

#[test]
fn the_json_report_has_a_line_per_message_with_its_findings() {
    let refused = fixture("edifact/fixtures/bad/invalid-bsn.edi");
    let good = fixture("edifact/fixtures/medlab/coded-ranges.edi");
    let output = check(&["--json", &refused, &good]);
    assert_eq!(output.status.code(), Some(1));
    let reports: Vec<serde_json::Value> = stdout(&output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0]["passed"], false);
    assert_eq!(reports[0]["findings"][0]["check"], "read");
    assert!(
        reports[0]["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("segment 3 PID, element 5: invalid BSN")
    );
    assert_eq!(reports[1]["passed"], true);
    assert_eq!(reports[1]["message_id"], "5604/55");
    assert!(
        reports[1]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["severity"] == "warning")
    );
}

#[test]
fn a_file_that_cannot_be_read_or_recognised_fails() {
    let dir = std::env::temp_dir().join(format!("zorgpoort-conformance-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let unknown = dir.join("notes.txt");
    std::fs::write(&unknown, "not a message").unwrap();
    let missing = dir.join("missing.hl7");
    let output = check(&[unknown.to_str().unwrap(), missing.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(
        text.contains("notes.txt: error: cannot detect the input format"),
        "{text}"
    );
    assert!(text.contains("missing.hl7: error: cannot open"), "{text}");
}

#[test]
fn help_explains_the_checks_and_the_exit_status() {
    let output = check(&["--help"]);
    let text = stdout(&output);
    assert!(text.contains("11-check") && text.contains("nl-core"), "{text}");
    assert!(text.contains("Exit status: 0 when no message has an error"), "{text}");
}

#[test]
fn fhir_is_short_for_fhir_r4() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../conformance-tests/corpora/fhir-r4-examples/AllergyIntolerance-example.json")
        .display()
        .to_string();
    let output = check(&["--format", "fhir", &example]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.contains("msg 1"), "{text}");
}
