//! The spec's public `TestScripts` and the built-in smoke suite, run against
//! the in-memory FHIR server of `common`: every operation and assert is
//! executed, and what passes and fails is what the scripts and the server
//! make it.

#![allow(clippy::unwrap_used, reason = "test helpers outside #[test] functions")]

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use common::{Mode, fhir_server};
use zorgpoort_conformance::report::{Outcome, RunReport};
use zorgpoort_conformance::{Options, Runner, Suite, Targets};

fn spec_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../corpora/testscripts/fhir-r4-spec")
}

fn options(targets: &[String], variables: &[(&str, &str)]) -> Options {
    Options {
        targets: Targets::parse(targets).unwrap(),
        mllp_target: None,
        client: zorgpoort_conformance::http::ClientOptions::default(),
        timeout: Duration::from_secs(10),
        variables: variables
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

/// `script / test` -> outcome, plus `script / setup` and `script / teardown`.
fn outcomes(report: &RunReport) -> BTreeMap<String, Outcome> {
    let mut map = BTreeMap::new();
    for script in &report.scripts {
        assert_eq!(script.error, None, "{} could not run", script.name);
        let worst = |actions: &[zorgpoort_conformance::report::ActionReport]| {
            actions
                .iter()
                .map(|a| a.outcome)
                .filter(|o| *o != Outcome::Skip)
                .max()
                .unwrap_or(Outcome::Pass)
        };
        map.insert(format!("{} / setup", script.name), worst(&script.setup));
        map.insert(format!("{} / teardown", script.name), worst(&script.teardown));
        for test in &script.tests {
            map.insert(format!("{} / {}", script.name, test.name), test.outcome());
        }
    }
    map
}

fn messages(report: &RunReport) -> Vec<String> {
    report
        .scripts
        .iter()
        .flat_map(|s| {
            s.setup
                .iter()
                .chain(s.tests.iter().flat_map(|t| &t.actions))
                .chain(&s.teardown)
        })
        .filter(|a| matches!(a.outcome, Outcome::Fail | Outcome::Error | Outcome::Warning))
        .map(|a| format!("{:?} {}: {}", a.outcome, a.label, a.message.as_deref().unwrap_or("")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spec_testscripts_run_against_a_correct_server() {
    let example: serde_json::Value =
        serde_json::from_slice(&std::fs::read(spec_dir().join("fixtures/Patient-example.json")).unwrap()).unwrap();
    let base = fhir_server(Mode::Correct, &[example]).await;
    let suite = Suite::open(spec_dir().to_str().unwrap()).unwrap();
    assert_eq!(suite.scripts.len(), 6, "the six TestScripts, not the TestReport");
    let runner = Runner::new(options(
        &[base.clone(), format!("2={base}")],
        &[
            ("PatientSearchFamilyName", "Chalmers"),
            ("PatientSearchGivenName", "Peter"),
        ],
    ))
    .unwrap();
    let report = runner.run(&suite).await;
    let outcomes = outcomes(&report);
    let messages = messages(&report);
    println!("{outcomes:#?}\n{messages:#?}");
    let not_passing: BTreeMap<&String, &Outcome> = outcomes
        .iter()
        .filter(|(_, o)| !matches!(o, Outcome::Pass | Outcome::Warning))
        .collect();
    // R004 reads `ID-may-not-contain-CAPITALS` and expects 400, but FHIR ids
    // may contain capitals: a correct server answers 404.
    let r004 = "TestScript Example Read Test / Sprinkler Read Test R004".to_owned();
    assert_eq!(not_passing, BTreeMap::from([(&r004, &Outcome::Fail)]), "{messages:#?}");
    assert!(
        messages.contains(
            &"Fail Confirm that the returned HTTP status is 400(Bad Request).: expected response bad (400), got 404"
                .to_owned()
        ),
        "{messages:#?}"
    );
    // Every action ran: nothing was skipped.
    let skipped = report
        .scripts
        .iter()
        .flat_map(|s| {
            s.setup
                .iter()
                .chain(s.tests.iter().flat_map(|t| &t.actions))
                .chain(&s.teardown)
        })
        .filter(|a| a.outcome == Outcome::Skip)
        .count();
    assert_eq!(skipped, 0);
    // The XML the scripts ask for was asked for and read.
    let multisystem = report.scripts.iter().find(|s| s.name.contains("multisystem")).unwrap();
    let exchange = multisystem.tests[0].actions[0].exchange.as_ref().unwrap();
    assert!(
        exchange
            .request
            .headers
            .iter()
            .any(|(n, v)| n == "Accept" && v == "application/fhir+xml")
    );
    assert!(
        exchange
            .response
            .as_ref()
            .unwrap()
            .body
            .as_deref()
            .unwrap()
            .starts_with("<Patient")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_smoke_suite_passes_a_correct_server() {
    let base = fhir_server(Mode::Correct, &[]).await;
    let suite = Suite::open("smoke").unwrap();
    let report = Runner::new(options(&[base], &[])).unwrap().run(&suite).await;
    let messages = messages(&report);
    assert!(messages.is_empty(), "{messages:#?}");
    let outcomes = outcomes(&report);
    assert_eq!(outcomes.len(), 4, "{outcomes:#?}");
    assert!(outcomes.values().all(|o| *o == Outcome::Pass), "{outcomes:#?}");
    // autodelete removed the created Patient by the id the server gave it.
    let teardown = &report.scripts[0].teardown;
    assert_eq!(teardown.len(), 1);
    let request = &teardown[0].exchange.as_ref().unwrap().request;
    assert_eq!(request.method, "DELETE");
    assert!(request.url.ends_with("/Patient/created-1"), "{}", request.url);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_server_fails_the_smoke_suite_with_clear_messages() {
    let base = fhir_server(Mode::Wrong, &[]).await;
    let suite = Suite::open("smoke").unwrap();
    let report = Runner::new(options(&[base], &[])).unwrap().run(&suite).await;
    let messages = messages(&report);
    assert_eq!(
        messages,
        vec![
            r#"Fail FHIR R4: CapabilityStatement.fhirVersion: expected "4.0.1", got "3.0.2""#.to_owned(),
            "Fail 201 Created: expected response created (201), got 200".to_owned(),
        ]
    );
    let create_read = &report.scripts[0].tests[1];
    assert_eq!(create_read.outcome(), Outcome::Fail);
    assert!(create_read.actions[2..].iter().all(|a| a.outcome == Outcome::Skip));
}
