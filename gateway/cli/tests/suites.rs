//! The gateway passes its own conformance suites (issue 18, item 7): the
//! embedded demo region, started as README's run command starts it, is the
//! target of `zorgpoort conformance run --suite NAME` for every suite of the
//! gateway's interfaces. A failing conformance test fails this test, and
//! the `JUnit` and HTML reports are kept under `target/conformance-artifacts/`.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{Gateway, temp_dir};

fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/conformance-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `suite` against the gateway; its exit status, console summary and `JUnit` report.
fn run(gateway: &Gateway, suite: &str) -> (Option<i32>, String, String) {
    let junit = artifacts().join(format!("{suite}.junit.xml"));
    let html = artifacts().join(format!("{suite}.html"));
    let output = Command::new(env!("CARGO_BIN_EXE_zorgpoort"))
        .args(["conformance", "run", "--suite", suite])
        .args(["--target", &format!("http://{}/fhir", gateway.http)])
        .args(["--mllp-target", &gateway.mllp.to_string()])
        .args(["--report", "junit", "--out", junit.to_str().unwrap()])
        .args(["--report", "html", "--out", html.to_str().unwrap()])
        .output()
        .unwrap();
    let summary = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (
        output.status.code(),
        summary,
        std::fs::read_to_string(&junit).unwrap_or_default(),
    )
}

/// The number in `name="..."` on the `JUnit` root element.
fn total(junit: &str, name: &str) -> usize {
    let document = roxmltree::Document::parse(junit).unwrap();
    document.root_element().attribute(name).unwrap_or("0").parse().unwrap()
}

#[test]
fn the_gateway_passes_its_own_suites() {
    let data = temp_dir("suites");
    let gateway = Gateway::start_demo(&data);
    for suite in [
        "gateway",
        "bgz-holder",
        "mllp-sender",
        "eoverdracht-sender",
        "eoverdracht-receiver",
    ] {
        let (status, summary, junit) = run(&gateway, suite);
        assert_eq!(status, Some(0), "suite {suite} failed:\n{summary}");
        assert!(total(&junit, "tests") >= 5, "suite {suite} ran too little:\n{summary}");
        assert_eq!(
            total(&junit, "failures") + total(&junit, "errors"),
            0,
            "{suite}:\n{summary}"
        );
    }
    gateway.kill();
}

/// A server that answers every request `200 OK` with an empty JSON object:
/// what a FHIR API that ignores what it is asked looks like.
fn start_wrong_server() -> std::net::SocketAddr {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().map_while(Result::ok) {
            let mut request = vec![0; 65536];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
            );
        }
    });
    address
}

#[test]
fn a_wrong_server_fails_the_gateway_suite_with_what_was_expected() {
    let address = start_wrong_server();
    let output = Command::new(env!("CARGO_BIN_EXE_zorgpoort"))
        .args(["conformance", "run", "--suite", "gateway", "--timeout", "5"])
        .args(["--target", &format!("http://{address}/fhir")])
        .output()
        .unwrap();
    let summary = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{summary}");
    for expected in [
        "FAIL   XML asked for",
        "expected response code 406, got 200",
        "FAIL   No identity",
        "expected response code 401, got 200",
        "FAIL   Unknown resource type",
    ] {
        assert!(summary.contains(expected), "{expected:?} not in:\n{summary}");
    }
}
