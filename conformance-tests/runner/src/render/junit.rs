//! `JUnit` XML as CI systems read it (Jenkins, GitLab, Azure DevOps, the
//! GitHub test-report actions): `testsuites` for the run, a `testsuite` per
//! script, a `testcase` per case; a fail is a `failure`, an error an `error`,
//! a skip `skipped`, warnings go to `system-out`. Times are seconds and
//! timestamps UTC without a zone, as the `JUnit` schema has them.

use std::fmt::Write;

use super::cases::{Case, ScriptCases, Totals, header_value, run_cases, status_line, summary};
use super::escape::escape;
use super::time::{seconds, utc};
use crate::report::{ActionKind, ActionReport, Exchange, Outcome, RunReport};

/// The run as one `JUnit` XML document.
pub fn junit(run: &RunReport) -> String {
    let (scripts, totals) = run_cases(run);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites");
    attr(&mut out, "name", &run.suite);
    counts(&mut out, totals);
    attr(&mut out, "time", &seconds(run.duration));
    attr(&mut out, "timestamp", &utc(run.started));
    out.push_str(">\n");
    for (id, script) in scripts.iter().enumerate() {
        testsuite(&mut out, run, id, script);
    }
    out.push_str("</testsuites>\n");
    out
}

fn testsuite(out: &mut String, run: &RunReport, id: usize, script: &ScriptCases<'_>) {
    out.push_str("  <testsuite");
    attr(out, "name", &script.script.name);
    attr(out, "id", &id.to_string());
    counts(out, script.totals);
    attr(out, "time", &seconds(script.duration));
    // The model has one start per run; scripts may not run one after another.
    attr(out, "timestamp", &utc(run.started));
    out.push_str(">\n    <properties>\n");
    let url = script.script.url.as_deref();
    let properties = [
        ("target", Some(run.target.as_str())),
        ("source", Some(script.script.source.as_str())),
        ("url", url),
    ];
    for (name, value) in properties {
        if let Some(value) = value {
            out.push_str("      <property");
            attr(out, "name", name);
            attr(out, "value", value);
            out.push_str("/>\n");
        }
    }
    out.push_str("    </properties>\n");
    for case in &script.cases {
        testcase(out, &script.script.name, case);
    }
    out.push_str("  </testsuite>\n");
}

fn testcase(out: &mut String, classname: &str, case: &Case<'_>) {
    out.push_str("    <testcase");
    attr(out, "name", case.name);
    attr(out, "classname", classname);
    attr(out, "time", &seconds(case.duration));
    let reason = case.reason.as_deref().unwrap_or_default();
    match case.outcome {
        Outcome::Pass => out.push_str("/>\n"),
        Outcome::Skip => {
            out.push_str(">\n      <skipped");
            attr(out, "message", reason);
            out.push_str("/>\n    </testcase>\n");
        }
        Outcome::Warning => {
            let _ = write!(
                out,
                ">\n      <system-out>{}</system-out>\n    </testcase>\n",
                escape(&details(case))
            );
        }
        Outcome::Fail | Outcome::Error => {
            let element = if case.outcome == Outcome::Fail {
                "failure"
            } else {
                "error"
            };
            let _ = write!(out, ">\n      <{element}");
            attr(out, "message", reason);
            attr(out, "type", kind(case));
            let _ = write!(out, ">{}</{element}>\n    </testcase>\n", escape(&details(case)));
        }
    }
}

fn counts(out: &mut String, totals: Totals) {
    attr(out, "tests", &totals.tests().to_string());
    attr(out, "failures", &totals.failed.to_string());
    attr(out, "errors", &totals.errors.to_string());
    attr(out, "skipped", &totals.skipped.to_string());
}

fn attr(out: &mut String, name: &str, value: &str) {
    let _ = write!(out, " {name}=\"{}\"", escape(value));
}

/// What CI shows as the failure's type: what kind of action decided it.
fn kind(case: &Case<'_>) -> &'static str {
    match case.evidence.first().map(|action| action.kind) {
        Some(ActionKind::Assert) => "assert",
        Some(ActionKind::Operation) => "operation",
        None => "script",
    }
}

/// The body of a failure: every action of the case with its outcome, then
/// the exchanges of the actions that decided.
fn details(case: &Case<'_>) -> String {
    let mut text = String::new();
    if let Some(reason) = &case.reason {
        let _ = writeln!(text, "{reason}");
    }
    if !case.actions.is_empty() {
        text.push('\n');
    }
    for action in case.actions {
        let _ = writeln!(
            text,
            "{:<7} {} ({} s)",
            outcome(action),
            summary(action),
            seconds(action.duration)
        );
    }
    for action in &case.evidence {
        if let Some(exchange) = &action.exchange {
            let _ = write!(text, "\n--- {} ---\n{}", action.label, exchange_text(exchange));
        }
    }
    text
}

fn outcome(action: &ActionReport) -> &'static str {
    match action.outcome {
        Outcome::Pass => "pass",
        Outcome::Skip => "skip",
        Outcome::Warning => "warning",
        Outcome::Fail => "FAIL",
        Outcome::Error => "ERROR",
    }
}

/// A request and its response as on the wire, near enough for a reader.
fn exchange_text(exchange: &Exchange) -> String {
    let request = &exchange.request;
    let mut text = format!("{} {}\n", request.method, request.url);
    message(&mut text, &request.headers, request.body.as_deref());
    let _ = writeln!(text, "\n{}", status_line(exchange));
    if let Some(response) = &exchange.response {
        message(&mut text, &response.headers, response.body.as_deref());
    }
    text
}

fn message(text: &mut String, headers: &[(String, String)], body: Option<&str>) {
    for (name, value) in headers {
        let _ = writeln!(text, "{name}: {}", header_value(name, value));
    }
    if let Some(body) = body {
        let _ = writeln!(text, "\n{body}");
    }
}

#[cfg(test)]
mod tests {
    use roxmltree::Document;

    use super::*;
    use crate::render::cases::tests::{action, run, script, test};
    use crate::report::{Request, Response};

    const HOSTILE: &str = "</failure>]]><script>alert(\"x\" & 'y')</script>\u{0}";

    fn failing_run() -> RunReport {
        let mut failing = action(
            Outcome::Fail,
            "responseCode = 200",
            Some("expected 200, got 404 <Not Found>"),
        );
        failing.exchange = Some(Exchange {
            request: Request {
                method: "GET".to_owned(),
                url: "http://127.0.0.1:8080/fhir/Patient/p1?x=1&y=2".to_owned(),
                headers: vec![
                    ("Accept".to_owned(), "application/fhir+json".to_owned()),
                    ("Authorization".to_owned(), "Bearer secret-token".to_owned()),
                ],
                body: None,
            },
            response: Some(Response {
                status: 404,
                headers: Vec::new(),
                body: Some(HOSTILE.to_owned()),
            }),
        });
        let mut broken = script("broken & bad", Vec::new());
        broken.error = Some("fixture \"p1\" missing".to_owned());
        run(vec![
            script(
                "read <Patient>",
                vec![
                    test("read", vec![action(Outcome::Pass, "GET Patient/p1", None)]),
                    test(
                        "missing",
                        vec![failing, action(Outcome::Skip, "resource = Patient", None)],
                    ),
                    test("later", vec![action(Outcome::Skip, "GET", Some("not run"))]),
                    test("soft", vec![action(Outcome::Warning, "headerField", Some("no ETag"))]),
                ],
            ),
            broken,
        ])
    }

    #[test]
    fn counts_are_per_suite_and_in_total() {
        let xml = junit(&failing_run());
        let doc = Document::parse(&xml).expect("well-formed XML");
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "testsuites");
        let attribute = |node: roxmltree::Node<'_, '_>, name| node.attribute(name).unwrap_or_default().to_owned();
        assert_eq!(
            ["tests", "failures", "errors", "skipped"].map(|name| attribute(root, name)),
            ["5", "1", "1", "1"]
        );
        assert_eq!(attribute(root, "time"), "1.234");
        assert_eq!(attribute(root, "timestamp"), "2026-12-07T10:00:00");
        let suites: Vec<_> = root.children().filter(roxmltree::Node::is_element).collect();
        assert_eq!(suites.len(), 2);
        assert_eq!(attribute(suites[0], "name"), "read <Patient>");
        assert_eq!(attribute(suites[0], "tests"), "4");
        assert_eq!(attribute(suites[1], "errors"), "1");
        let cases = suites[0]
            .children()
            .filter(|node| node.has_tag_name("testcase"))
            .count();
        assert_eq!(cases, 4);
    }

    #[test]
    fn a_failure_carries_its_message_and_the_exchange_escaped() {
        let xml = junit(&failing_run());
        let doc = Document::parse(&xml).expect("well-formed XML");
        let failure = doc
            .descendants()
            .find(|node| node.has_tag_name("failure"))
            .expect("a failure");
        assert_eq!(
            failure.parent().and_then(|case| case.attribute("name")),
            Some("missing")
        );
        assert_eq!(
            failure.attribute("message"),
            Some("responseCode = 200: expected 200, got 404 <Not Found>")
        );
        assert_eq!(failure.attribute("type"), Some("assert"));
        let body = failure.text().unwrap_or_default();
        assert!(
            body.contains("GET http://127.0.0.1:8080/fhir/Patient/p1?x=1&y=2\n"),
            "{body}"
        );
        assert!(body.contains("HTTP 404"), "{body}");
        assert!(
            body.contains("</failure>]]><script>alert(\"x\" & 'y')</script>\u{fffd}"),
            "{body}"
        );
        assert!(body.contains("skip    resource = Patient"), "{body}");
        assert!(
            body.contains("Authorization: (redacted)") && !body.contains("secret-token"),
            "{body}"
        );
    }

    #[test]
    fn errors_skips_and_warnings_have_their_elements() {
        let xml = junit(&failing_run());
        let doc = Document::parse(&xml).expect("well-formed XML");
        let error = doc
            .descendants()
            .find(|node| node.has_tag_name("error"))
            .expect("an error");
        assert_eq!(
            error.attribute("message"),
            Some("the script could not be run: fixture \"p1\" missing")
        );
        assert_eq!(
            error.parent().and_then(|case| case.attribute("classname")),
            Some("broken & bad")
        );
        let skipped = doc
            .descendants()
            .find(|node| node.has_tag_name("skipped"))
            .expect("a skip");
        assert_eq!(skipped.attribute("message"), Some("GET: not run"));
        let out = doc
            .descendants()
            .find(|node| node.has_tag_name("system-out"))
            .expect("a warning");
        assert!(out.text().unwrap_or_default().contains("headerField: no ETag"));
        let property = doc.descendants().find(|node| node.attribute("name") == Some("target"));
        assert_eq!(
            property.and_then(|node| node.attribute("value")),
            Some("http://127.0.0.1:8080/fhir")
        );
    }
}
