//! `zorgpoort conformance run` on the command line: usage errors exit 2,
//! a target that refuses connections makes every test an error (exit 1)
//! with the reason on the console, and the reports asked for are written.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zorgpoort"))
        .args(["conformance", "run"])
        .args(args)
        .output()
        .unwrap()
}

/// A loopback URL nothing listens on: bound, then released.
fn closed_target() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}/fhir")
}

#[test]
fn help_explains_targets_suites_and_exit_status_with_examples() {
    let output = run(&["--help"]);
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8_lossy(&output.stdout);
    for wanted in [
        "--target N=URL",
        "--mllp-target",
        "smoke",
        "Exit status: 0",
        "Examples:",
    ] {
        assert!(text.contains(wanted), "{wanted} missing from:\n{text}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let report_without_out = run(&[
        "--suite",
        "smoke",
        "--target",
        "http://localhost:1/fhir",
        "--report",
        "json",
    ]);
    assert_eq!(report_without_out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&report_without_out.stderr).contains("1 --report but 0 --out"));

    let unknown = run(&["--suite", "no-such-suite", "--target", "http://localhost:1/fhir"]);
    assert_eq!(unknown.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        stderr.contains("no suite named \"no-such-suite\"") && stderr.contains("smoke"),
        "{stderr}"
    );

    let bad_target = run(&["--suite", "smoke", "--target", "localhost:8080"]);
    assert_eq!(bad_target.status.code(), Some(2));

    let key_without_cert = run(&["--suite", "smoke", "--target", "http://x/", "--client-key", "k.pem"]);
    assert_eq!(key_without_cert.status.code(), Some(2));
}

#[test]
fn a_refusing_target_errors_every_test_and_the_reports_are_written() {
    let dir = std::env::temp_dir().join(format!("zorgpoort-conformance-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (junit, json, html) = (dir.join("junit.xml"), dir.join("report.json"), dir.join("report.html"));
    let target = closed_target();
    let output = run(&[
        "--suite",
        "smoke",
        "--target",
        &target,
        "--timeout",
        "5",
        "--report",
        "junit",
        "--out",
        junit.to_str().unwrap(),
        "--report",
        "json",
        "--out",
        json.to_str().unwrap(),
        "--report",
        "html",
        "--out",
        html.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("ERROR  Capabilities"), "{stdout}");
    assert!(stdout.contains(&format!("GET {target}/metadata")), "{stdout}");
    assert!(stdout.contains("2 tests: 0 passed, 0 failed, 2 errors"), "{stdout}");
    assert!(std::fs::read_to_string(&junit).unwrap().contains("<testsuites"));
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["resourceType"], "Bundle");
    assert!(std::fs::read_to_string(&html).unwrap().contains("Capabilities"));
    std::fs::remove_dir_all(&dir).unwrap();
}
