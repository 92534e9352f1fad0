//! One self-contained HTML page for a person: the verdict and totals first,
//! then every failure with its message and the request and response that
//! show it, then every script and test with its status and timings.
//!
//! The page fetches nothing (styles and script are inline, and its Content
//! Security Policy forbids any load and any script but its own) and reads
//! the same without JavaScript, which only adds a "failures only" filter
//! (on from the start when the page is opened as `report.html#failures-only`).
//! Everything from the run is escaped: a response body is hostile input.

use std::fmt::Write;

use super::cases::{Case, SETUP, ScriptCases, TEARDOWN, Totals, header_value, run_cases, status_line, summary, total};
use super::csp::script_hash;
use super::escape::escape;
use super::time::{human, utc};
use crate::report::{ActionKind, ActionReport, Exchange, Outcome, RunReport};

const STYLE: &str = include_str!("html/report.css");
const SCRIPT: &str = include_str!("html/report.js");

/// The run as one HTML page.
pub fn html(run: &RunReport) -> String {
    let (scripts, totals) = run_cases(run);
    let verdict = if totals.all_passed() {
        Outcome::Pass
    } else {
        Outcome::Fail
    };
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; \
         script-src '{}'; base-uri 'none'; form-action 'none'\">\n\
         <title>{} · {} · conformance report</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n",
        script_hash(SCRIPT),
        verdict_word(verdict),
        escape(&run.suite),
    );
    header(&mut out, run, totals, verdict);
    out.push_str("<main>\n");
    failures(&mut out, &scripts);
    results(&mut out, &scripts);
    let _ = write!(out, "</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n");
    out
}

fn header(out: &mut String, run: &RunReport, totals: Totals, verdict: Outcome) {
    let not_passed = totals.failed + totals.errors;
    let sentence = if verdict == Outcome::Pass && totals.skipped == 0 {
        format!("All {} passed.", plural(totals.tests(), "test"))
    } else if verdict == Outcome::Pass {
        format!(
            "No test failed; {} of {} skipped.",
            totals.skipped,
            plural(totals.tests(), "test")
        )
    } else {
        format!("{not_passed} of {} did not pass.", plural(totals.tests(), "test"))
    };
    let _ = write!(
        out,
        "<header class=\"run {class}\">\n<p class=\"kicker\">zorgpoort conformance report</p>\n\
         <h1>{badge} Suite {suite}</h1>\n<p class=\"verdict\">{sentence}{link}</p>\n<dl class=\"facts\">\n\
         <dt>Target</dt><dd>{target}</dd>\n<dt>Started</dt><dd>{started} UTC</dd>\n\
         <dt>Duration</dt><dd>{duration}</dd>\n</dl>\n<ul class=\"totals\" id=\"summary\">\n",
        class = verdict.code(),
        badge = badge(verdict),
        suite = escape(&run.suite),
        link = if not_passed > 0 {
            " <a href=\"#failures\">Go to the failures</a>"
        } else {
            ""
        },
        target = escape(&run.target),
        started = utc(run.started).replace('T', " "),
        duration = human(run.duration),
    );
    let counts = [
        ("", "tests", totals.tests(), "tests"),
        ("pass", "passed", totals.passed, "passed"),
        ("warning", "warnings", totals.warnings, "passed with warnings"),
        ("fail", "failed", totals.failed, "failed"),
        ("error", "errors", totals.errors, "errors (could not run)"),
        ("skip", "skipped", totals.skipped, "skipped"),
    ];
    for (class, key, count, words) in counts {
        // A zero in red would alarm for nothing: only counts that happened get their colour.
        let class = if count == 0 { "" } else { class };
        let _ = writeln!(
            out,
            "<li class=\"{class}\"><strong data-count=\"{key}\">{count}</strong> {words}</li>"
        );
    }
    out.push_str("</ul>\n</header>\n");
}

/// Every case that failed or could not run, with what shows why.
fn failures(out: &mut String, scripts: &[ScriptCases<'_>]) {
    let failing: Vec<_> = failing(scripts).collect();
    let _ = writeln!(
        out,
        "<section id=\"failures\" aria-labelledby=\"failures-title\">\n\
         <h2 id=\"failures-title\">Failures and errors ({})</h2>",
        failing.len()
    );
    if failing.is_empty() {
        out.push_str("<p class=\"none\">None: no test failed.</p>\n");
    }
    for (index, script, case) in failing {
        let _ = write!(
            out,
            "<article class=\"failure {class}\" id=\"failure-{index}\">\n<h3>{badge} \
             <span class=\"script-name\">{script}</span> › <span class=\"test-name\">{name}</span> \
             <span class=\"time\">{time}</span></h3>\n<p class=\"reason\">{reason}</p>\n",
            class = case.outcome.code(),
            badge = badge(case.outcome),
            script = escape(&script.script.name),
            name = escape(case.name),
            time = human(case.duration),
            reason = escape(case.reason.as_deref().unwrap_or_default()),
        );
        for action in &case.evidence {
            evidence(out, action);
        }
        out.push_str("</article>\n");
    }
    out.push_str("</section>\n");
}

/// The failing cases in page order, numbered for the links to them.
fn failing<'s, 'a>(scripts: &'s [ScriptCases<'a>]) -> impl Iterator<Item = (usize, &'s ScriptCases<'a>, &'s Case<'a>)> {
    scripts
        .iter()
        .flat_map(|script| script.cases.iter().map(move |case| (script, case)))
        .filter(|(_, case)| case.outcome >= Outcome::Fail)
        .enumerate()
        .map(|(index, (script, case))| (index + 1, script, case))
}

fn evidence(out: &mut String, action: &ActionReport) {
    let _ = write!(
        out,
        "<div class=\"evidence\">\n<p>{badge} {kind} <strong>{label}</strong> <span class=\"time\">{time}</span></p>\n",
        badge = badge(action.outcome),
        kind = kind(action.kind),
        label = escape(&action.label),
        time = human(action.duration),
    );
    if let Some(message) = &action.message {
        let _ = writeln!(out, "<p class=\"message\">{}</p>", escape(message));
    }
    match &action.exchange {
        Some(exchange) => self::exchange(out, exchange),
        None => out.push_str("<p class=\"none\">No request was sent.</p>\n"),
    }
    out.push_str("</div>\n");
}

fn exchange(out: &mut String, exchange: &Exchange) {
    let request = &exchange.request;
    let _ = write!(
        out,
        "<details class=\"request\"><summary>Request: <code>{} {}</code></summary>\n<pre>",
        escape(&request.method),
        escape(&request.url)
    );
    message(out, &request.headers, request.body.as_deref());
    out.push_str("</pre></details>\n");
    match &exchange.response {
        Some(response) => {
            let _ = write!(
                out,
                "<details class=\"response\"><summary>Response: <code>{}</code></summary>\n<pre>",
                escape(&status_line(exchange))
            );
            message(out, &response.headers, response.body.as_deref());
            out.push_str("</pre></details>\n");
        }
        None => out.push_str("<p class=\"none\">No response came.</p>\n"),
    }
}

/// Headers, a blank line and the body; a JSON body indented for reading.
fn message(out: &mut String, headers: &[(String, String)], body: Option<&str>) {
    for (name, value) in headers {
        let _ = writeln!(out, "{}: {}", escape(name), escape(header_value(name, value)));
    }
    if let Some(body) = body {
        let pretty = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|json| serde_json::to_string_pretty(&json).ok());
        let _ = write!(out, "\n{}", escape(pretty.as_deref().unwrap_or(body)));
    }
}

/// Every script, its cases with their actions, and setup and teardown.
fn results(out: &mut String, scripts: &[ScriptCases<'_>]) {
    out.push_str(
        "<section id=\"results\" aria-labelledby=\"results-title\">\n<h2 id=\"results-title\">All scripts and tests</h2>\n\
         <p class=\"filter\" id=\"filter\" hidden><label><input type=\"checkbox\" id=\"failures-only\"> \
         Show only failures and errors</label></p>\n",
    );
    let mut failure = 0;
    for script in scripts {
        let verdict = if script.totals.all_passed() {
            Outcome::Pass
        } else {
            Outcome::Fail
        };
        let t = script.totals;
        let _ = write!(
            out,
            "<section class=\"script {class}\">\n<h3>{badge} {name} <span class=\"time\">{time}</span></h3>\n\
             <p class=\"meta\">{source}{url} · {tests}: {passed} passed, {warnings} with warnings, \
             {failed} failed, {errors} errors, {skipped} skipped</p>\n",
            class = verdict.code(),
            badge = badge(verdict),
            name = escape(&script.script.name),
            time = human(script.duration),
            source = escape(&script.script.source),
            url = script
                .script
                .url
                .as_deref()
                .map(|url| format!(" · {}", escape(url)))
                .unwrap_or_default(),
            tests = plural(t.tests(), "test"),
            passed = t.passed,
            warnings = t.warnings,
            failed = t.failed,
            errors = t.errors,
            skipped = t.skipped,
        );
        let has = |name| script.cases.iter().any(|case| case.name == name);
        if !script.script.setup.is_empty() && !has(SETUP) {
            part(out, "Setup", &script.script.setup);
        }
        for case in &script.cases {
            let link = (case.outcome >= Outcome::Fail).then(|| {
                failure += 1;
                failure
            });
            case_html(out, case, link);
        }
        if !script.script.teardown.is_empty() && !has(TEARDOWN) {
            part(out, "Teardown", &script.script.teardown);
        }
        out.push_str("</section>\n");
    }
    out.push_str("</section>\n");
}

fn case_html(out: &mut String, case: &Case<'_>, failure: Option<usize>) {
    let open = if failure.is_some() { " open" } else { "" };
    let _ = writeln!(
        out,
        "<details class=\"case {class}\"{open}><summary>{badge} <span class=\"test-name\">{name}</span> \
         <span class=\"time\">{time}</span></summary>",
        class = case.outcome.code(),
        badge = badge(case.outcome),
        name = escape(case.name),
        time = human(case.duration),
    );
    if let Some(description) = case.description {
        let _ = writeln!(out, "<p class=\"meta\">{}</p>", escape(description));
    }
    if let Some(reason) = case.reason.as_deref().filter(|_| case.outcome != Outcome::Pass) {
        let _ = write!(out, "<p class=\"reason\">{}", escape(reason));
        if let Some(index) = failure.filter(|_| !case.evidence.is_empty()) {
            let _ = write!(out, " <a href=\"#failure-{index}\">Request and response</a>");
        }
        out.push_str("</p>\n");
    }
    actions(out, case.actions);
    out.push_str("</details>\n");
}

fn part(out: &mut String, title: &str, list: &[ActionReport]) {
    let _ = writeln!(
        out,
        "<details class=\"part\"><summary>{title} <span class=\"time\">{}, {}</span></summary>",
        plural(list.len(), "action"),
        human(total(list))
    );
    actions(out, list);
    out.push_str("</details>\n");
}

fn actions(out: &mut String, list: &[ActionReport]) {
    if list.is_empty() {
        return;
    }
    out.push_str(
        "<table class=\"actions\">\n<thead><tr><th scope=\"col\">Status</th><th scope=\"col\">Kind</th>\
         <th scope=\"col\">Action</th><th scope=\"col\">Time</th></tr></thead>\n<tbody>\n",
    );
    for action in list {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"what\">{}</td><td class=\"time\">{}</td></tr>",
            badge(action.outcome),
            kind(action.kind),
            escape(&summary(action)),
            human(action.duration)
        );
    }
    out.push_str("</tbody>\n</table>\n");
}

/// A status as colour and words, never colour alone.
fn badge(outcome: Outcome) -> String {
    let text = match outcome {
        Outcome::Pass => "✓ PASS",
        Outcome::Skip => "– SKIPPED",
        Outcome::Warning => "⚠ WARNING",
        Outcome::Fail => "✗ FAIL",
        Outcome::Error => "! ERROR",
    };
    format!("<span class=\"badge {}\">{text}</span>", outcome.code())
}

/// `1 test`, `2 tests`.
fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

fn verdict_word(outcome: Outcome) -> &'static str {
    if outcome == Outcome::Pass { "PASS" } else { "FAIL" }
}

fn kind(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::Operation => "operation",
        ActionKind::Assert => "assert",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::cases::tests::{action, run, script, test};
    use crate::report::{Request, Response};

    const HOSTILE: &str = "</pre><script>alert(1)</script><img src=x onerror=\"alert(2)\"> & 'q'";

    fn sample() -> RunReport {
        let mut failing = action(Outcome::Fail, "resource = Patient", Some("got <OperationOutcome>"));
        failing.exchange = Some(Exchange {
            request: Request {
                method: "POST".to_owned(),
                url: "http://127.0.0.1/fhir/Patient?a=1&b=2".to_owned(),
                headers: vec![("Authorization".to_owned(), "Bearer secret-token".to_owned())],
                body: Some(HOSTILE.to_owned()),
            },
            response: Some(Response {
                status: 422,
                headers: vec![("Content-Type".to_owned(), "application/fhir+json".to_owned())],
                body: Some(
                    r#"{"resourceType":"OperationOutcome","issue":[{"diagnostics":"</pre><script>x</script>"}]}"#
                        .to_owned(),
                ),
            }),
        });
        let mut hostile = script("<b>bold</b>", vec![test(HOSTILE, vec![failing])]);
        hostile.setup = vec![action(Outcome::Pass, "POST Patient", None)];
        run(vec![
            hostile,
            script("fine", vec![test("ok", vec![action(Outcome::Pass, "GET", None)])]),
        ])
    }

    #[test]
    fn hostile_text_is_inert() {
        let page = html(&sample());
        assert_eq!(page.matches("<script>").count(), 1, "only the page's own script");
        assert!(!page.contains("<img"));
        assert!(!page.contains("<b>bold"));
        assert!(page.contains("&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("onerror=&quot;alert(2)&quot;"));
        assert!(page.contains("Authorization: (redacted)") && !page.contains("secret-token"));
    }

    #[test]
    fn the_failure_comes_first_with_its_exchange() {
        let page = html(&sample());
        let failures = page.find("id=\"failures\"").expect("failures section");
        let results = page.find("id=\"results\"").expect("results section");
        assert!(failures < results);
        let section = &page[failures..results];
        assert!(section.contains("Failures and errors (1)"));
        assert!(section.contains("resource = Patient: got &lt;OperationOutcome&gt;"));
        assert!(section.contains("<code>POST http://127.0.0.1/fhir/Patient?a=1&amp;b=2</code>"));
        assert!(section.contains("<code>HTTP 422</code>"));
        assert!(
            section.contains("\n  &quot;resourceType&quot;: &quot;OperationOutcome&quot;"),
            "JSON bodies are indented"
        );
        assert!(page[results..].contains("href=\"#failure-1\""));
    }

    #[test]
    fn the_header_gives_verdict_and_totals() {
        let page = html(&sample());
        assert!(page.contains("<title>FAIL · gateway · conformance report</title>"));
        assert!(page.contains("2026-12-07 10:00:00 UTC"));
        assert!(page.contains("<strong data-count=\"tests\">2</strong>"));
        assert!(page.contains("<strong data-count=\"failed\">1</strong>"));
        assert!(page.contains("<strong data-count=\"passed\">1</strong>"));
        assert!(page.contains("1 of 2 tests did not pass."));
        assert!(page.contains("Setup <span class=\"time\">1 action, 5 ms</span>"));
        let passing = html(&run(vec![script(
            "fine",
            vec![test("ok", vec![action(Outcome::Pass, "GET", None)])],
        )]));
        assert!(passing.contains("<title>PASS · gateway"));
        assert!(passing.contains("None: no test failed."));
        assert!(passing.contains("All 1 test passed."));
    }

    #[test]
    fn a_failure_without_an_exchange_links_to_none() {
        let mut broken = script("broken", Vec::new());
        broken.error = Some("invalid JSON".to_owned());
        let page = html(&run(vec![broken]));
        assert!(page.contains("the script could not be run: invalid JSON"));
        assert!(!page.contains("Request and response"));
        assert!(html(&sample()).contains("<a href=\"#failure-1\">Request and response</a>"));
    }

    #[test]
    fn the_page_loads_nothing_and_allows_only_its_own_script() {
        let page = html(&sample());
        for external in ["src=\"http", "href=\"http", "@import", "url("] {
            assert!(!page.contains(external), "{external}");
        }
        assert!(page.contains(&format!("script-src '{}'", script_hash(SCRIPT))));
    }
}
