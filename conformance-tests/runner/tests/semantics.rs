//! How a run treats failures: a failing setup leaves every test unrun (an
//! error each), a failed assert skips the rest of its test, a warning-only
//! assert that does not hold is a warning; and a wrong server (no Location,
//! a wrong content type, a wrong status) fails the asserts that look at it.

#![allow(clippy::unwrap_used, reason = "test helpers outside #[test] functions")]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Mode, fhir_server, scratch};
use zorgpoort_conformance::report::{Outcome, RunReport};
use zorgpoort_conformance::{Options, Runner, Suite, Targets};

const PATIENT: &str = r#"{"resourceType": "Patient", "id": "p1", "name": [{"family": "Rook", "given": ["Tessa"]}]}"#;

fn op(code: &str, extra: &str) -> String {
    format!(
        r#"{{"operation": {{"type": {{"system": "http://terminology.hl7.org/CodeSystem/testscript-operation-codes", "code": "{code}"}}, "resource": "Patient"{extra}}}}}"#
    )
}

async fn run_script(base: String, script: &str) -> RunReport {
    let dir = scratch("semantics");
    std::fs::create_dir_all(dir.join("fixtures")).unwrap();
    std::fs::write(dir.join("fixtures/Patient-p1.json"), PATIENT).unwrap();
    std::fs::write(dir.join("TestScript-t.json"), script).unwrap();
    let options = Options {
        targets: Targets::parse(&[base]).unwrap(),
        mllp_target: None,
        client: zorgpoort_conformance::http::ClientOptions::default(),
        timeout: Duration::from_secs(5),
        variables: std::collections::BTreeMap::new(),
    };
    let report = Runner::new(options)
        .unwrap()
        .run(&Suite::from_path(Path::new(&dir)).unwrap())
        .await;
    std::fs::remove_dir_all(&dir).unwrap();
    report
}

fn script(setup: &[String], tests: &[(&str, Vec<String>)]) -> String {
    let tests: Vec<String> = tests
        .iter()
        .map(|(name, actions)| format!(r#"{{"name": "{name}", "action": [{}]}}"#, actions.join(",")))
        .collect();
    format!(
        r#"{{"resourceType": "TestScript", "name": "T", "status": "active",
            "fixture": [{{"id": "p", "resource": {{"reference": "Patient/p1"}}}}],
            "setup": {{"action": [{}]}}, "test": [{}]}}"#,
        setup.join(","),
        tests.join(",")
    )
}

fn assert_json(body: &str) -> String {
    format!(r#"{{"assert": {body}}}"#)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_setup_leaves_every_test_unrun() {
    let base = fhir_server(Mode::Correct, &[]).await;
    let setup = [
        op("read", r#", "params": "/absent""#),
        assert_json(r#"{"response": "okay"}"#),
    ];
    let tests = [
        ("one", vec![op("capabilities", "")]),
        ("two", vec![op("capabilities", "")]),
    ];
    let report = run_script(base, &script(&setup, &tests)).await;
    let script = &report.scripts[0];
    assert_eq!(script.setup[1].outcome, Outcome::Fail);
    assert_eq!(
        script.setup[1].message.as_deref(),
        Some("expected response okay (200), got 404")
    );
    for test in &script.tests {
        assert_eq!(test.outcome(), Outcome::Error);
        assert!(
            test.actions[0]
                .message
                .as_deref()
                .unwrap()
                .starts_with("not run: the setup failed")
        );
        assert!(test.actions[0].exchange.is_none(), "nothing was sent");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_assert_skips_the_rest_and_a_warning_does_not() {
    let base = fhir_server(Mode::Correct, &[]).await;
    let tests = [
        (
            "warning",
            vec![
                op("update", r#", "sourceId": "p""#),
                assert_json(r#"{"response": "okay", "warningOnly": true}"#),
                assert_json(r#"{"expression": "Patient.name.family", "value": "Rook"}"#),
            ],
        ),
        (
            "failure",
            vec![
                op("read", r#", "targetId": "p""#),
                assert_json(r#"{"expression": "Patient.name.family", "value": "Rok"}"#),
                assert_json(r#"{"response": "okay"}"#),
            ],
        ),
    ];
    let report = run_script(base, &script(&[], &tests)).await;
    let [warning, failure] = report.scripts[0].tests.as_slice() else {
        panic!("two tests")
    };
    // The Patient is new, so 201 came where the script wanted 200.
    assert_eq!(warning.actions[1].outcome, Outcome::Warning);
    assert_eq!(
        warning.actions[1].message.as_deref(),
        Some("expected response okay (200), got 201")
    );
    assert_eq!(warning.actions[2].outcome, Outcome::Pass);
    assert_eq!(warning.outcome(), Outcome::Warning);
    assert_eq!(failure.actions[1].outcome, Outcome::Fail);
    assert_eq!(
        failure.actions[1].message.as_deref(),
        Some(r#"Patient.name.family: expected "Rok", got "Rook""#)
    );
    assert_eq!(failure.actions[2].outcome, Outcome::Skip);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_server_fails_location_content_type_and_status() {
    let base = fhir_server(Mode::Wrong, &[]).await;
    let tests = [
        (
            "status",
            vec![
                op("create", r#", "sourceId": "p""#),
                assert_json(r#"{"response": "created"}"#),
            ],
        ),
        (
            "location",
            vec![
                op("create", r#", "sourceId": "p""#),
                assert_json(r#"{"headerField": "Location", "operator": "notEmpty"}"#),
            ],
        ),
        (
            "content type",
            vec![
                op("read", r#", "params": "/created-1""#),
                assert_json(r#"{"contentType": "json"}"#),
            ],
        ),
        (
            "links",
            vec![
                op("search", r#", "params": "?family=x""#),
                assert_json(r#"{"navigationLinks": true}"#),
            ],
        ),
    ];
    let report = run_script(base, &script(&[], &tests)).await;
    let messages: Vec<&str> = report.scripts[0]
        .tests
        .iter()
        .map(|t| t.actions[1].message.as_deref().unwrap_or(""))
        .collect();
    assert_eq!(
        messages,
        [
            "expected response created (201), got 200",
            "header Location: expected a value, got nothing",
            "expected content type json, got text/plain",
            "expected Bundle links self, first and last, got none (missing self, first, last)",
        ]
    );
    // The failing exchange is in the report for the person reading it.
    let failed = &report.scripts[0].tests[0].actions[1];
    assert_eq!(failed.exchange.as_ref().unwrap().response.as_ref().unwrap().status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_has_its_variables_substituted_only_when_the_operation_asks() {
    let base = fhir_server(Mode::Correct, &[]).await;
    let substitute = r#", "extension": [{"url": "https://zorgpoort.example/fhir/StructureDefinition/testscript-substitute-body", "valueBoolean": true}]"#;
    let update = |id: &str, extra: &str| op("update", &format!(r#", "sourceId": "named", "params": "/{id}"{extra}"#));
    let family_of = |id: &str, family: &str| {
        vec![
            op("read", &format!(r#", "params": "/{id}""#)),
            assert_json(&format!(
                r#"{{"expression": "Patient.name.family", "value": "{family}"}}"#
            )),
        ]
    };
    let tests: Vec<String> = [
        (
            "substituted",
            [vec![update("s1", substitute)], family_of("s1", "Visser")].concat(),
        ),
        (
            "as written",
            vec![
                update("s2", ""),
                op("read", r#", "params": "/s2""#),
                // Assert values are substituted, so the check is on the text itself.
                assert_json(
                    r#"{"expression": "Patient.name.family.startsWith('$') and Patient.name.family.length() = 9"}"#,
                ),
            ],
        ),
    ]
    .iter()
    .map(|(name, actions)| format!(r#"{{"name": "{name}", "action": [{}]}}"#, actions.join(",")))
    .collect();
    let script = format!(
        r##"{{"resourceType": "TestScript", "name": "T", "status": "active",
            "contained": [{{"resourceType": "Patient", "id": "named", "name": [{{"family": "${{family}}"}}]}}],
            "fixture": [{{"id": "named", "resource": {{"reference": "#named"}}}}],
            "variable": [{{"name": "family", "defaultValue": "Visser"}}],
            "test": [{}]}}"##,
        tests.join(",")
    );
    let report = run_script(base, &script).await;
    for test in &report.scripts[0].tests {
        assert_eq!(test.outcome(), Outcome::Pass, "{test:?}");
    }
}
