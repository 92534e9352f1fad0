//! What every format reports alike: the cases of a script (its tests, plus
//! a case for a failure outside any test), each with one outcome and the
//! reason for it, and the totals of a run.

use std::time::Duration;

use crate::report::{ActionReport, Exchange, Outcome, RunReport, ScriptReport};

/// Names of the cases that stand for a part of a script rather than a
/// test; the parentheses keep them apart from a test's own name.
pub(crate) const SETUP: &str = "(setup)";
pub(crate) const TEARDOWN: &str = "(teardown)";
pub(crate) const SCRIPT: &str = "(script)";

/// One test of a script, or a failure of the script outside its tests.
#[derive(Debug)]
pub(crate) struct Case<'a> {
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub actions: &'a [ActionReport],
    pub duration: Duration,
    pub outcome: Outcome,
    /// Why the outcome is not a pass, in one line.
    pub reason: Option<String>,
    /// The actions that decided a fail, error or warning, whose exchanges a
    /// reader wants to see (for a test after a failed setup, that setup action).
    pub evidence: Vec<&'a ActionReport>,
}

/// A script with its cases in order.
#[derive(Debug)]
pub(crate) struct ScriptCases<'a> {
    pub script: &'a ScriptReport,
    pub cases: Vec<Case<'a>>,
    /// Setup, tests and teardown together.
    pub duration: Duration,
    pub totals: Totals,
}

/// How many cases ended how.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Totals {
    pub passed: usize,
    pub warnings: usize,
    pub failed: usize,
    pub errors: usize,
    pub skipped: usize,
}

impl Totals {
    fn count(&mut self, outcome: Outcome) {
        let slot = match outcome {
            Outcome::Pass => &mut self.passed,
            Outcome::Warning => &mut self.warnings,
            Outcome::Fail => &mut self.failed,
            Outcome::Error => &mut self.errors,
            Outcome::Skip => &mut self.skipped,
        };
        *slot += 1;
    }

    fn add(&mut self, other: Totals) {
        self.passed += other.passed;
        self.warnings += other.warnings;
        self.failed += other.failed;
        self.errors += other.errors;
        self.skipped += other.skipped;
    }

    pub fn tests(self) -> usize {
        self.passed + self.warnings + self.failed + self.errors + self.skipped
    }

    /// Whether nothing failed and nothing could not be run.
    pub fn all_passed(self) -> bool {
        self.failed == 0 && self.errors == 0
    }
}

/// Every script of the run with its cases, and the totals of all.
pub(crate) fn run_cases(run: &RunReport) -> (Vec<ScriptCases<'_>>, Totals) {
    let scripts: Vec<_> = run.scripts.iter().map(script_cases).collect();
    let mut totals = Totals::default();
    for script in &scripts {
        totals.add(script.totals);
    }
    (scripts, totals)
}

pub(crate) fn script_cases(script: &ScriptReport) -> ScriptCases<'_> {
    let setup_failure = deciding(&script.setup).filter(|action| action.outcome >= Outcome::Fail);
    let mut cases: Vec<Case<'_>> = script
        .tests
        .iter()
        .map(|test| {
            let mut case = part(&test.name, &test.actions, test.duration);
            case.description = test.description.as_deref();
            if let Some(error) = &script.error {
                case.fail(Outcome::Error, could_not_run(error), None);
            } else if let Some(action) = setup_failure {
                case.fail(
                    action.outcome,
                    format!("setup failed: {}", summary(action)),
                    Some(action),
                );
            }
            case
        })
        .collect();
    if let (Some(error), true) = (&script.error, cases.is_empty()) {
        let mut case = part(SCRIPT, &[], Duration::ZERO);
        case.fail(Outcome::Error, could_not_run(error), None);
        cases.push(case);
    }
    if setup_failure.is_some() && script.tests.is_empty() {
        cases.push(part(SETUP, &script.setup, total(&script.setup)));
    }
    if deciding(&script.teardown).is_some_and(|action| action.outcome >= Outcome::Fail) {
        cases.push(part(TEARDOWN, &script.teardown, total(&script.teardown)));
    }
    let mut totals = Totals::default();
    for case in &cases {
        totals.count(case.outcome);
    }
    let tests: Duration = script.tests.iter().map(|test| test.duration).sum();
    ScriptCases {
        script,
        cases,
        duration: total(&script.setup) + tests + total(&script.teardown),
        totals,
    }
}

impl<'a> Case<'a> {
    /// Overrides what the actions say: the test failed before they mattered.
    fn fail(&mut self, outcome: Outcome, reason: String, evidence: Option<&'a ActionReport>) {
        self.outcome = outcome;
        self.reason = Some(reason);
        self.evidence = evidence.into_iter().collect();
    }
}

/// A case judged by its own actions: the worst outcome among those that
/// ran; skipped when none ran.
fn part<'a>(name: &'a str, actions: &'a [ActionReport], duration: Duration) -> Case<'a> {
    let (outcome, reason, evidence) = match deciding(actions) {
        Some(first) if first.outcome == Outcome::Pass => (Outcome::Pass, None, Vec::new()),
        Some(first) => {
            let evidence = actions
                .iter()
                .filter(|action| action.outcome == first.outcome)
                .collect();
            (first.outcome, Some(summary(first)), evidence)
        }
        None => {
            let reason = actions.first().map_or_else(|| "no action was run".to_owned(), summary);
            (Outcome::Skip, Some(reason), Vec::new())
        }
    };
    Case {
        name,
        description: None,
        actions,
        duration,
        outcome,
        reason,
        evidence,
    }
}

/// The first action with the worst outcome among those that ran (skipped
/// ones did not); `None` when none ran.
fn deciding(actions: &[ActionReport]) -> Option<&ActionReport> {
    let worst = actions
        .iter()
        .map(|action| action.outcome)
        .filter(|o| *o != Outcome::Skip)
        .max()?;
    actions.iter().find(|action| action.outcome == worst)
}

/// Why every test of a script that could not be run is an error.
pub(crate) fn could_not_run(error: &str) -> String {
    format!("the script could not be run: {error}")
}

/// `label: message`, or whichever of the two there is.
pub(crate) fn summary(action: &ActionReport) -> String {
    match (
        action.label.as_str(),
        action.message.as_deref().filter(|message| !message.is_empty()),
    ) {
        (label, None) => label.to_owned(),
        ("", Some(message)) => message.to_owned(),
        (label, Some(message)) => format!("{label}: {message}"),
    }
}

/// A header's value as a report shows it: credentials are not for the
/// regional IT department's inbox or a CI log.
pub(crate) fn header_value<'a>(name: &str, value: &'a str) -> &'a str {
    const SECRET: [&str; 4] = ["authorization", "proxy-authorization", "cookie", "set-cookie"];
    if SECRET.iter().any(|secret| name.eq_ignore_ascii_case(secret)) {
        "(redacted)"
    } else {
        value
    }
}

/// The first line of a response: the HTTP status, or for MLLP (where the
/// runner reports an ACK as status 200) the ACK code.
pub(crate) fn status_line(exchange: &Exchange) -> String {
    let Some(response) = &exchange.response else {
        return "no response".to_owned();
    };
    if exchange.request.method != "MLLP" {
        return format!("HTTP {}", response.status);
    }
    let code = response.headers.iter().find(|(name, _)| name == "MSA-1");
    code.map_or_else(|| "ACK".to_owned(), |(_, code)| format!("ACK {code}"))
}

pub(crate) fn total(actions: &[ActionReport]) -> Duration {
    actions.iter().map(|action| action.duration).sum()
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::report::{ActionKind, Request, Response, TestCaseReport};

    pub fn action(outcome: Outcome, label: &str, message: Option<&str>) -> ActionReport {
        ActionReport {
            kind: ActionKind::Assert,
            label: label.to_owned(),
            outcome,
            message: message.map(str::to_owned),
            exchange: None,
            duration: Duration::from_millis(5),
        }
    }

    pub fn test(name: &str, actions: Vec<ActionReport>) -> TestCaseReport {
        TestCaseReport {
            name: name.to_owned(),
            description: None,
            actions,
            duration: Duration::from_millis(20),
        }
    }

    pub fn script(name: &str, tests: Vec<TestCaseReport>) -> ScriptReport {
        ScriptReport {
            name: name.to_owned(),
            url: None,
            source: format!("{name}.json"),
            setup: Vec::new(),
            tests,
            teardown: Vec::new(),
            error: None,
        }
    }

    pub fn run(scripts: Vec<ScriptReport>) -> RunReport {
        RunReport {
            suite: "gateway".to_owned(),
            target: "http://127.0.0.1:8080/fhir".to_owned(),
            started: SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_637_600),
            duration: Duration::from_millis(1234),
            scripts,
        }
    }

    fn outcomes(script: &ScriptReport) -> Vec<(&str, Outcome)> {
        script_cases(script)
            .cases
            .iter()
            .map(|case| (case.name, case.outcome))
            .collect()
    }

    #[test]
    fn a_test_takes_its_worst_action_and_skips_do_not_count() {
        let script = script(
            "s",
            vec![
                test(
                    "ok",
                    vec![action(Outcome::Pass, "a", None), action(Outcome::Warning, "w", None)],
                ),
                test(
                    "bad",
                    vec![
                        action(Outcome::Fail, "responseCode = 200", Some("got 404")),
                        action(Outcome::Skip, "b", None),
                    ],
                ),
                test("none", vec![action(Outcome::Skip, "c", Some("not run"))]),
            ],
        );
        assert_eq!(
            outcomes(&script),
            [
                ("ok", Outcome::Warning),
                ("bad", Outcome::Fail),
                ("none", Outcome::Skip)
            ]
        );
        let cases = script_cases(&script);
        assert_eq!(cases.cases[1].reason.as_deref(), Some("responseCode = 200: got 404"));
        assert_eq!(cases.cases[1].evidence.len(), 1);
        assert_eq!(
            cases.totals,
            Totals {
                passed: 0,
                warnings: 1,
                failed: 1,
                errors: 0,
                skipped: 1
            }
        );
    }

    #[test]
    fn a_failed_setup_fails_every_test_and_a_failed_teardown_is_a_case() {
        let mut script = script("s", vec![test("t", vec![action(Outcome::Pass, "a", None)])]);
        script.setup = vec![action(Outcome::Error, "POST Patient", Some("connection refused"))];
        script.teardown = vec![action(Outcome::Fail, "DELETE Patient/1", Some("got 500"))];
        assert_eq!(outcomes(&script), [("t", Outcome::Error), (TEARDOWN, Outcome::Fail)]);
        let cases = script_cases(&script);
        assert_eq!(
            cases.cases[0].reason.as_deref(),
            Some("setup failed: POST Patient: connection refused")
        );
        assert_eq!(cases.cases[0].evidence[0].label, "POST Patient");
    }

    #[test]
    fn a_script_that_could_not_run_is_an_error_even_without_tests() {
        let mut broken = script("s", Vec::new());
        broken.error = Some("fixture p1 missing".to_owned());
        assert_eq!(outcomes(&broken), [(SCRIPT, Outcome::Error)]);
        broken.tests = vec![test("t", Vec::new())];
        assert_eq!(outcomes(&broken), [("t", Outcome::Error)]);
        let mut setup_only = script("s", Vec::new());
        setup_only.setup = vec![action(Outcome::Fail, "a", None)];
        assert_eq!(outcomes(&setup_only), [(SETUP, Outcome::Fail)]);
    }

    #[test]
    fn credentials_are_redacted_whatever_their_case() {
        assert_eq!(header_value("Authorization", "Bearer abc"), "(redacted)");
        assert_eq!(header_value("set-COOKIE", "s=1"), "(redacted)");
        assert_eq!(header_value("Accept", "application/fhir+json"), "application/fhir+json");
    }

    #[test]
    fn a_status_line_is_http_or_the_ack_code() {
        let mut exchange = Exchange {
            request: Request {
                method: "MLLP".to_owned(),
                url: "mllp://h:2575".to_owned(),
                headers: Vec::new(),
                body: None,
            },
            response: None,
        };
        assert_eq!(status_line(&exchange), "no response");
        let ack = vec![("MSA-1".to_owned(), "AE".to_owned())];
        exchange.response = Some(Response {
            status: 200,
            headers: ack,
            body: None,
        });
        assert_eq!(status_line(&exchange), "ACK AE");
        exchange.request.method = "GET".to_owned();
        assert_eq!(status_line(&exchange), "HTTP 200");
    }

    #[test]
    fn totals_add_up_over_scripts() {
        let run = run(vec![
            script("a", vec![test("1", vec![action(Outcome::Pass, "x", None)])]),
            script("b", vec![test("2", vec![action(Outcome::Fail, "y", None)])]),
        ]);
        let (_, totals) = run_cases(&run);
        assert_eq!(totals.tests(), 2);
        assert_eq!((totals.passed, totals.failed), (1, 1));
        assert!(!totals.all_passed());
    }
}
