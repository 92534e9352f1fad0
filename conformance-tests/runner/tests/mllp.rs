//! The `mllp-send` step against a tiny MLLP listener: the ACK's MSA and ERR
//! fields are asserted as headers, a raw `.bin` fixture goes out unframed,
//! and a listener that never answers makes the step an error.

#![allow(clippy::unwrap_used, reason = "test helpers outside #[test] functions")]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Listener, mllp_listener, scratch};
use zorgpoort_conformance::report::{Outcome, RunReport};
use zorgpoort_conformance::{Options, Runner, Suite, Targets};

const SCRIPT: &str = r#"{
  "resourceType": "TestScript", "name": "MllpSender", "status": "active",
  "fixture": [
    {"id": "adt", "resource": {"reference": "fixtures/adt-a01.hl7"}},
    {"id": "no-type", "resource": {"reference": "fixtures/no-type.hl7"}},
    {"id": "unframed", "resource": {"reference": "fixtures/unframed.bin"}}
  ],
  "test": [
    {"name": "AA for a good message", "action": [
      {"operation": {"type": {"system": "https://zorgpoort.example/fhir/CodeSystem/testscript-operation", "code": "mllp-send"}, "sourceId": "adt"}},
      {"assert": {"label": "accepted", "headerField": "MSA-1", "value": "AA"}},
      {"assert": {"label": "acknowledges the control id", "headerField": "MSA-2", "value": "msg-0001"}},
      {"assert": {"label": "no error", "headerField": "ERR-3", "operator": "empty"}}
    ]},
    {"name": "AE for a message without a type", "action": [
      {"operation": {"type": {"system": "https://zorgpoort.example/fhir/CodeSystem/testscript-operation", "code": "mllp-send"}, "sourceId": "no-type"}},
      {"assert": {"label": "error", "headerField": "MSA-1", "value": "AE"}},
      {"assert": {"label": "which error", "headerField": "ERR-3", "operator": "contains", "value": "101"}}
    ]},
    {"name": "AR for bytes without a start block", "action": [
      {"operation": {"type": {"system": "https://zorgpoort.example/fhir/CodeSystem/testscript-operation", "code": "mllp-send"}, "sourceId": "unframed"}},
      {"assert": {"label": "rejected", "headerField": "MSA-1", "value": "AR"}}
    ]},
    {"name": "a wrong expectation fails", "action": [
      {"operation": {"type": {"system": "https://zorgpoort.example/fhir/CodeSystem/testscript-operation", "code": "mllp-send"}, "sourceId": "adt"}},
      {"assert": {"label": "expects AE", "headerField": "MSA-1", "value": "AE"}}
    ]}
  ]
}"#;

fn write_suite(dir: &Path) {
    std::fs::create_dir_all(dir.join("fixtures")).unwrap();
    std::fs::write(dir.join("TestScript-mllp.json"), SCRIPT).unwrap();
    std::fs::write(
        dir.join("fixtures/adt-a01.hl7"),
        "MSH|^~\\&|HIS|OG|GW|ZP|20261207120000||ADT^A01|msg-0001|P|2.5\nPID|1||123^^^OG^PI\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("fixtures/no-type.hl7"),
        "MSH|^~\\&|HIS|OG|GW|ZP|20261207120000|||msg-0002|P|2.5\n",
    )
    .unwrap();
    // Ends the frame but never starts it.
    std::fs::write(
        dir.join("fixtures/unframed.bin"),
        b"MSH|^~\\&|HIS|OG|GW|ZP|20261207||ADT^A01|msg-3|P|2.5\r\x1c\x0d",
    )
    .unwrap();
}

async fn run(dir: &Path, target: String, timeout: Duration) -> RunReport {
    let options = Options {
        targets: Targets::default(),
        mllp_target: Some(target),
        client: zorgpoort_conformance::http::ClientOptions::default(),
        timeout,
        variables: std::collections::BTreeMap::new(),
    };
    let suite = Suite::from_path(dir).unwrap();
    Runner::new(options).unwrap().run(&suite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_become_responses_with_msa_and_err_headers() {
    let dir = scratch("mllp");
    write_suite(&dir);
    let (address, served) = mllp_listener(Listener::Acks).await;
    let report = run(&dir, address, Duration::from_secs(5)).await;
    let tests = &report.scripts[0].tests;
    let outcomes: Vec<Outcome> = tests
        .iter()
        .map(zorgpoort_conformance::report::TestCaseReport::outcome)
        .collect();
    assert_eq!(outcomes, [Outcome::Pass, Outcome::Pass, Outcome::Pass, Outcome::Fail]);
    assert_eq!(
        tests[3].actions[1].message.as_deref(),
        Some(r#"header MSA-1: expected "AE", got "AA""#)
    );
    assert_eq!(served.load(std::sync::atomic::Ordering::SeqCst), 4);
    // The exchange is in the report: the framed message out, the ACK back.
    let exchange = tests[0].actions[0].exchange.as_ref().unwrap();
    assert_eq!(exchange.request.method, "MLLP");
    assert!(exchange.request.body.as_deref().unwrap().starts_with("\u{b}MSH|"));
    let response = exchange.response.as_ref().unwrap();
    assert_eq!(response.status, 200);
    assert!(response.headers.contains(&("MSA-2".to_owned(), "msg-0001".to_owned())));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_ack_within_the_timeout_is_an_error() {
    let dir = scratch("mllp-silent");
    write_suite(&dir);
    let (address, _) = mllp_listener(Listener::Silent).await;
    let report = run(&dir, address.clone(), Duration::from_millis(300)).await;
    let first = &report.scripts[0].tests[0];
    assert_eq!(first.outcome(), Outcome::Error);
    assert_eq!(
        first.actions[0].message.as_deref(),
        Some(format!("MLLP {address}: no ACK within 300ms").as_str())
    );
    assert!(first.actions[1..].iter().all(|a| a.outcome == Outcome::Skip));
    std::fs::remove_dir_all(&dir).unwrap();
}
