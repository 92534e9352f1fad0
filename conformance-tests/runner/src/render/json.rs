//! The run as FHIR R4: a `collection` Bundle with one `TestReport` per
//! script, its setup, tests and teardown action by action with the
//! `report-action-result-codes`.
//!
//! A `TestReport`'s `result` is `fail` when any case failed or could not be
//! run, `pending` when no action ran at all, else `pass`; its `score` is the
//! percentage of its cases that passed (warnings pass).

use serde_json::{Map, Value, json};

use super::cases::{SCRIPT, ScriptCases, could_not_run, run_cases, summary};
use super::time::instant;
use crate::report::{ActionKind, ActionReport, Outcome, RunReport};

/// `TestReport.tester`.
const TESTER: &str = "zorgpoort conformance";
/// `TestReport.participant.uri` of the test engine, which has no URL of its own.
const ENGINE: &str = concat!("urn:zorgpoort:conformance:", env!("CARGO_PKG_VERSION"));

/// The run as a FHIR R4 Bundle of `TestReport`s.
pub fn json(run: &RunReport) -> Value {
    let issued = instant(run.started + run.duration);
    let (scripts, _) = run_cases(run);
    let entries: Vec<Value> = scripts
        .iter()
        .map(|script| json!({ "resource": test_report(run, script, &issued) }))
        .collect();
    json!({
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": issued,
        "entry": entries,
    })
}

fn test_report(run: &RunReport, cases: &ScriptCases<'_>, issued: &str) -> Value {
    let script = cases.script;
    let totals = cases.totals;
    let ran = cases.cases.iter().any(|case| case.outcome != Outcome::Skip);
    let result = match (totals.all_passed(), ran) {
        (false, _) => "fail",
        (true, false) => "pending",
        (true, true) => "pass",
    };
    let mut report = Map::new();
    report.insert("resourceType".into(), json!("TestReport"));
    report.insert("name".into(), json!(script.name));
    report.insert("status".into(), json!("completed"));
    // A script read from a file may have no canonical URL: then the
    // reference is by name only.
    let reference = match (
        script.url.as_deref().filter(|url| !url.is_empty()),
        script.name.as_str(),
    ) {
        (Some(url), name) => json!({ "reference": url, "display": name }),
        (None, "") => json!({ "display": script.source }),
        (None, name) => json!({ "display": format!("{name} ({})", script.source) }),
    };
    report.insert("testScript".into(), reference);
    report.insert("result".into(), json!(result));
    report.insert("score".into(), score(totals.passed + totals.warnings, totals.tests()));
    report.insert("tester".into(), json!(TESTER));
    report.insert("issued".into(), json!(issued));
    report.insert(
        "participant".into(),
        json!([
            {
                "type": "test-engine",
                "uri": ENGINE,
                "display": concat!("zorgpoort conformance ", env!("CARGO_PKG_VERSION")),
            },
            { "type": "server", "uri": run.target, "display": run.suite },
        ]),
    );
    let error = script.error.as_deref().map(could_not_run);
    let mut setup: Vec<Value> = script.setup.iter().map(|action| action_json(action, false)).collect();
    // A script without tests that could not run has its error nowhere else.
    if let Some(error) = error
        .as_deref()
        .filter(|_| cases.cases.iter().any(|case| case.name == SCRIPT))
    {
        setup.push(json!({ "operation": { "result": "error", "message": error } }));
    }
    if !setup.is_empty() {
        report.insert("setup".into(), json!({ "action": setup }));
    }
    let tests: Vec<Value> = script
        .tests
        .iter()
        .map(|test| {
            let mut actions: Vec<Value> = test.actions.iter().map(|action| action_json(action, false)).collect();
            // TestReport.test.action is 1..*: a test that ran nothing says why.
            if actions.is_empty() {
                let (result, message) = match &error {
                    Some(error) => ("error", error.as_str()),
                    None => ("skip", "no action was run"),
                };
                actions.push(json!({ "operation": { "result": result, "message": message } }));
            }
            let mut entry = json!({ "name": test.name, "action": actions });
            if let Some(description) = &test.description {
                entry["description"] = json!(description);
            }
            entry
        })
        .collect();
    if !tests.is_empty() {
        report.insert("test".into(), json!(tests));
    }
    if !script.teardown.is_empty() {
        let actions: Vec<Value> = script.teardown.iter().map(|action| action_json(action, true)).collect();
        report.insert("teardown".into(), json!({ "action": actions }));
    }
    let mut report = Value::Object(report);
    without_empty_strings(&mut report);
    report
}

/// FHIR has no empty strings: an empty name, label or message from the run
/// is left out rather than make the resource invalid.
fn without_empty_strings(value: &mut Value) {
    match value {
        Value::Object(members) => {
            members.retain(|_, member| member.as_str() != Some(""));
            members.values_mut().for_each(without_empty_strings);
        }
        Value::Array(items) => items.iter_mut().for_each(without_empty_strings),
        _ => {}
    }
}

/// An action as `operation` or `assert`; teardown knows only operations.
fn action_json(action: &ActionReport, teardown: bool) -> Value {
    let mut result = json!({ "result": action.outcome.code(), "message": summary(action) });
    let kind = match action.kind {
        ActionKind::Assert if !teardown => {
            if let Some(exchange) = &action.exchange {
                let status = exchange
                    .response
                    .as_ref()
                    .map_or_else(|| "no response".to_owned(), |r| r.status.to_string());
                result["detail"] = json!(format!(
                    "{} {} -> {status}",
                    exchange.request.method, exchange.request.url
                ));
            }
            "assert"
        }
        _ => "operation",
    };
    json!({ kind: result })
}

/// A percentage with at most two decimals (100 when there is nothing to score).
fn score(passed: usize, of: usize) -> Value {
    let hundredths = (passed * 10_000 + of / 2).checked_div(of).unwrap_or(10_000);
    let text = format!("{}.{:02}", hundredths / 100, hundredths % 100);
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use zorgpoort_profiles::{ProfileChoice, Severity, has_errors, validate};

    use super::*;
    use crate::render::cases::tests::{action, run, script, test};

    fn sample() -> RunReport {
        let mut with_setup = script(
            "read",
            vec![
                test("ok", vec![action(Outcome::Pass, "GET Patient/p1", None)]),
                test(
                    "missing",
                    vec![action(Outcome::Fail, "responseCode = 200", Some("got 404"))],
                ),
                test(
                    "soft",
                    vec![action(Outcome::Warning, "headerField ETag", Some("absent"))],
                ),
            ],
        );
        with_setup.url = Some("http://example.org/TestScript/read".to_owned());
        with_setup.setup = vec![ActionReport {
            kind: ActionKind::Operation,
            ..action(Outcome::Pass, "POST Patient", None)
        }];
        with_setup.teardown = vec![action(Outcome::Error, "DELETE Patient/p1", Some("connection reset"))];
        let mut broken = script("broken", Vec::new());
        broken.error = Some("not a TestScript".to_owned());
        let mut unrun = script("unrun", vec![test("nothing", Vec::new())]);
        unrun.tests[0].description = Some("has no actions".to_owned());
        run(vec![with_setup, broken, unrun])
    }

    fn reports(bundle: &Value) -> Vec<&Value> {
        bundle["entry"]
            .as_array()
            .expect("entries")
            .iter()
            .map(|entry| &entry["resource"])
            .collect()
    }

    #[test]
    fn every_test_report_and_the_bundle_validate_without_errors() {
        let bundle = json(&sample());
        let mut checked = vec![&bundle];
        checked.extend(reports(&bundle));
        for resource in checked {
            let errors: Vec<_> = validate(resource, ProfileChoice::Claimed)
                .into_iter()
                .filter(|issue| issue.severity == Severity::Error)
                .collect();
            assert!(errors.is_empty(), "{errors:#?}\n{resource:#}");
        }
    }

    #[test]
    fn results_scores_and_action_codes_follow_the_run() {
        let bundle = json(&sample());
        let reports = reports(&bundle);
        assert_eq!(reports.len(), 3);
        let first = reports[0];
        assert_eq!(first["result"], "fail");
        assert_eq!(
            first["score"].to_string(),
            "50.00",
            "ok and soft of ok, missing, soft, teardown"
        );
        assert_eq!(first["tester"], TESTER);
        assert_eq!(first["issued"], "2026-12-07T10:00:01Z");
        assert_eq!(first["testScript"]["reference"], "http://example.org/TestScript/read");
        assert_eq!(first["participant"][0]["uri"], ENGINE);
        assert_eq!(first["participant"][1]["uri"], "http://127.0.0.1:8080/fhir");
        assert_eq!(first["setup"]["action"][0]["operation"]["result"], "pass");
        let codes: Vec<&str> = first["test"]
            .as_array()
            .expect("tests")
            .iter()
            .map(|test| test["action"][0]["assert"]["result"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(codes, ["pass", "fail", "warning"]);
        assert_eq!(
            first["test"][1]["action"][0]["assert"]["message"],
            "responseCode = 200: got 404"
        );
        let teardown = &first["teardown"]["action"][0]["operation"];
        assert_eq!(
            (&teardown["result"], &teardown["message"]),
            (&json!("error"), &json!("DELETE Patient/p1: connection reset"))
        );
    }

    #[test]
    fn a_script_that_could_not_run_or_ran_nothing_says_so() {
        let bundle = json(&sample());
        let reports = reports(&bundle);
        let broken = reports[1];
        assert_eq!(
            (&broken["result"], &broken["score"].to_string()),
            (&json!("fail"), &"0.00".to_owned())
        );
        assert_eq!(broken["setup"]["action"][0]["operation"]["result"], "error");
        assert_eq!(
            broken["setup"]["action"][0]["operation"]["message"],
            "the script could not be run: not a TestScript"
        );
        let unrun = reports[2];
        assert_eq!(unrun["result"], "pending");
        assert_eq!(unrun["test"][0]["action"][0]["operation"]["result"], "skip");
        assert_eq!(unrun["test"][0]["description"], "has no actions");
    }

    #[test]
    fn empty_names_and_messages_are_left_out() {
        let mut blank = script("", vec![test("", vec![action(Outcome::Pass, "", Some(""))])]);
        blank.url = Some(String::new());
        blank.tests[0].description = Some(String::new());
        let bundle = json(&run(vec![blank]));
        let report = &reports(&bundle)[0];
        assert!(!has_errors(&validate(report, ProfileChoice::Claimed)), "{report:#}");
        assert_eq!(
            report["test"][0],
            json!({ "action": [{ "assert": { "result": "pass" } }] })
        );
        assert_eq!(report["testScript"], json!({ "display": ".json" }));
    }

    #[test]
    fn scores_round_to_two_decimals() {
        assert_eq!(score(2, 3).to_string(), "66.67");
        assert_eq!(score(0, 0).to_string(), "100.00");
        assert_eq!(score(1, 1).to_string(), "100.00");
    }
}
