//! Runs a suite: per script its fixtures (autocreate first), setup, tests
//! and teardown (autodelete last), each action recorded in the
//! [`crate::report`] model. A failing setup leaves the tests unrun (an
//! error each); in a test, the first failing action skips the rest of it;
//! teardown runs whatever happened before.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use crate::asserts::{self, Failure};
use crate::fixtures::{Fixture, Fixtures, type_and_id};
use crate::http::{ClientError, ClientOptions, HttpClient, HttpRequest};
use crate::load::{LoadedScript, Suite};
use crate::operation::{self, OperationError};
use crate::report::{self, ActionKind, ActionReport, Exchange, Outcome, RunReport, ScriptReport, TestCaseReport};
use crate::script::{Action, Coding, Operation, TestScript};
use crate::state::{Last, State};

/// Bodies in the report are cut after this many bytes.
pub const REPORT_BODY_LIMIT: usize = 64 << 10;

/// A `--target` that is neither `URL` nor `N=URL`.
#[derive(Debug, thiserror::Error)]
#[error("target {0:?}: expected URL or N=URL with N a destination number from 1")]
pub struct TargetError(String);

/// The systems under test by destination index (1 when a script names
/// none): `URL` takes the next free index, `N=URL` index N.
#[derive(Debug, Clone, Default)]
pub struct Targets(BTreeMap<u32, String>);

impl Targets {
    /// Reads `--target` values in order.
    pub fn parse<S: AsRef<str>>(specs: &[S]) -> Result<Self, TargetError> {
        let mut targets = BTreeMap::new();
        for spec in specs {
            let spec = spec.as_ref();
            let (index, url) = match spec.split_once('=') {
                Some((index, url)) if !index.contains(':') && !index.contains('/') => {
                    let index = index.trim().parse::<u32>().ok().filter(|i| *i > 0);
                    (index.ok_or_else(|| TargetError(spec.to_owned()))?, url)
                }
                _ => (next_free(&targets), spec),
            };
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(TargetError(spec.to_owned()));
            }
            targets.insert(index, url.trim_end_matches('/').to_owned());
        }
        Ok(Self(targets))
    }

    /// The base URL of destination `index`.
    pub fn get(&self, index: u32) -> Option<&str> {
        self.0.get(&index).map(String::as_str)
    }

    /// For the report: `URL`, or `1=URL 2=URL`.
    pub fn describe(&self) -> String {
        if self.0.len() == 1 {
            return self.0.values().next().cloned().unwrap_or_default();
        }
        self.0
            .iter()
            .map(|(i, url)| format!("{i}={url}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The lowest index from 1 not taken yet.
fn next_free(targets: &BTreeMap<u32, String>) -> u32 {
    let mut index = 1;
    while targets.contains_key(&index) {
        index += 1;
    }
    index
}

/// How a suite is run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The FHIR base URL(s) of the system(s) under test.
    pub targets: Targets,
    /// `host:port` of an MLLP listener, for `mllp-send` steps.
    pub mllp_target: Option<String>,
    /// TLS and authentication.
    pub client: ClientOptions,
    /// Per request (and per MLLP exchange).
    pub timeout: Duration,
    /// Values for the scripts' variables, winning over the scripts' own.
    pub variables: BTreeMap<String, String>,
}

/// Runs suites; holds the HTTP client.
#[derive(Debug)]
pub struct Runner {
    options: Options,
    client: HttpClient,
}

impl Runner {
    /// A runner after `options`.
    pub fn new(options: Options) -> Result<Self, ClientError> {
        let client = HttpClient::new(&options.client, options.timeout)?;
        Ok(Self { options, client })
    }

    /// Runs every script of `suite`.
    pub async fn run(&self, suite: &Suite) -> RunReport {
        let started = SystemTime::now();
        let clock = Instant::now();
        let mut scripts = Vec::with_capacity(suite.scripts.len());
        for loaded in &suite.scripts {
            scripts.push(self.run_script(suite, loaded).await);
        }
        let mut target = self.options.targets.describe();
        if let Some(mllp) = &self.options.mllp_target {
            if !target.is_empty() {
                target.push(' ');
            }
            target.push_str("mllp://");
            target.push_str(mllp);
        }
        RunReport {
            suite: suite.name.clone(),
            target,
            started,
            duration: clock.elapsed(),
            scripts,
        }
    }

    async fn run_script(&self, suite: &Suite, loaded: &LoadedScript) -> ScriptReport {
        let mut report = ScriptReport {
            name: loaded.path.clone(),
            url: None,
            source: loaded.path.clone(),
            setup: Vec::new(),
            tests: Vec::new(),
            teardown: Vec::new(),
            error: None,
        };
        let script = match &loaded.script {
            Ok(script) => script,
            Err(error) => {
                report.error = Some(error.to_string());
                return report;
            }
        };
        report.name = script.display_name().unwrap_or(&loaded.path).to_owned();
        report.url.clone_from(&script.url);
        let fixtures = match Fixtures::load(script, suite, &loaded.path) {
            Ok(fixtures) => fixtures,
            Err(error) => {
                report.error = Some(error.to_string());
                return report;
            }
        };
        let mut state = State {
            script,
            fixtures,
            last: None,
            overrides: &self.options.variables,
        };

        let mut setup_failure = None;
        for operation in autocreate(script, &state.fixtures) {
            let action = self.operation(&operation, &mut state).await;
            let failed = action_failure(&action);
            report.setup.push(action);
            if let Some(message) = failed {
                setup_failure = Some(message);
                break;
            }
        }
        if setup_failure.is_none()
            && let Some(setup) = &script.setup
        {
            let (actions, failure) = self.actions(&setup.action, &mut state).await;
            report.setup.extend(actions);
            setup_failure = failure;
        }

        for (index, test) in script.test.iter().enumerate() {
            let clock = Instant::now();
            let actions = match &setup_failure {
                Some(message) => not_run(&test.action, message),
                None => self.actions(&test.action, &mut state).await.0,
            };
            report.tests.push(TestCaseReport {
                name: test
                    .name
                    .clone()
                    .or_else(|| test.id.clone())
                    .unwrap_or_else(|| format!("test {}", index + 1)),
                description: test.description.clone(),
                actions,
                duration: clock.elapsed(),
            });
        }

        if let Some(teardown) = &script.teardown {
            for action in &teardown.action {
                if let Some(operation) = &action.operation {
                    let done = self.operation(operation, &mut state).await;
                    report.teardown.push(done);
                }
            }
        }
        for operation in autodelete(script, &state.fixtures) {
            let done = self.operation(&operation, &mut state).await;
            report.teardown.push(done);
        }
        report
    }

    /// Runs `actions` in order until one fails; the rest are skipped.
    /// Returns the reports and the first failure's message.
    async fn actions(&self, actions: &[Action], state: &mut State<'_>) -> (Vec<ActionReport>, Option<String>) {
        let mut reports = Vec::with_capacity(actions.len());
        let mut failure: Option<String> = None;
        for action in actions {
            if let Some(reason) = &failure {
                reports.push(skipped(action, reason));
                continue;
            }
            let done = match (&action.operation, &action.assert) {
                (Some(operation), _) => self.operation(operation, state).await,
                (None, Some(assert)) => {
                    let clock = Instant::now();
                    let result = asserts::check(assert, state);
                    let (outcome, message) = match result {
                        Ok(()) => (Outcome::Pass, None),
                        Err(Failure::Fail(message)) if assert.warning_only => (Outcome::Warning, Some(message)),
                        Err(Failure::Fail(message)) => (Outcome::Fail, Some(message)),
                        Err(Failure::Error(message)) => (Outcome::Error, Some(message)),
                    };
                    let exchange = (outcome != Outcome::Pass)
                        .then(|| state.last.as_ref().map(|last| last.exchange.clone()))
                        .flatten();
                    ActionReport {
                        kind: ActionKind::Assert,
                        label: assert_label(assert),
                        outcome,
                        message,
                        exchange,
                        duration: clock.elapsed(),
                    }
                }
                (None, None) => ActionReport {
                    kind: ActionKind::Operation,
                    label: "empty action".to_owned(),
                    outcome: Outcome::Error,
                    message: Some("the action has neither an operation nor an assert".to_owned()),
                    exchange: None,
                    duration: Duration::ZERO,
                },
            };
            failure = action_failure(&done);
            reports.push(done);
        }
        (reports, failure)
    }

    /// Sends one operation and records it in `state`.
    async fn operation(&self, operation: &Operation, state: &mut State<'_>) -> ActionReport {
        let clock = Instant::now();
        let label = operation.label.clone().or_else(|| operation.description.clone());
        let result = if operation.is_mllp_send() {
            self.mllp(operation, state).await
        } else {
            self.http(operation, state).await
        };
        let (outcome, message, summary) = match result {
            Ok((summary, note)) => (
                if note.is_some() {
                    Outcome::Warning
                } else {
                    Outcome::Pass
                },
                note,
                summary,
            ),
            Err((summary, message)) => (Outcome::Error, Some(message), summary),
        };
        ActionReport {
            kind: ActionKind::Operation,
            label: label.unwrap_or(summary),
            outcome,
            message,
            exchange: (outcome != Outcome::Error || state.last.is_some())
                .then(|| state.last.as_ref().map(|l| l.exchange.clone()))
                .flatten(),
            duration: clock.elapsed(),
        }
    }

    /// An HTTP operation: `Ok((summary, note))` when a response came.
    async fn http(
        &self,
        operation: &Operation,
        state: &mut State<'_>,
    ) -> Result<(String, Option<String>), (String, String)> {
        let index = operation.destination.unwrap_or(1);
        let base = self
            .options
            .targets
            .get(index)
            .ok_or_else(|| ("operation".to_owned(), OperationError::NoDestination(index).to_string()))?;
        let mut prepared = operation::prepare(operation, state, base, &self.client.default_headers())
            .map_err(|e| ("operation".to_owned(), e.to_string()))?;
        if operation.substitutes_body() {
            prepared.body = prepared
                .body
                .map(|body| substituted_body(&body, state))
                .transpose()
                .map_err(|e| ("operation".to_owned(), e))?;
        }
        let summary = format!("{} {}", prepared.method, prepared.url);
        let request = HttpRequest {
            method: prepared.method.clone(),
            url: prepared.url.clone(),
            headers: prepared.headers.clone(),
            body: prepared.body.clone(),
        };
        let sent = Fixture {
            resource: prepared.body.as_deref().and_then(parse_body),
            bytes: prepared.body.clone(),
            headers: prepared.headers.clone(),
            status: None,
            raw: false,
        };
        let report_request = report::Request {
            method: prepared.method.clone(),
            url: prepared.url.clone(),
            headers: prepared.headers.clone(),
            body: prepared.body.as_deref().map(truncated),
        };
        if let Some(id) = &operation.request_id {
            state.fixtures.insert(id, sent.clone());
        }
        let outcome = self.client.send(&request).await;
        let response = outcome.as_ref().ok().map(|response| Fixture {
            resource: parse_body(&response.body),
            bytes: Some(response.body.clone()),
            headers: response.headers.clone(),
            status: Some(response.status),
            raw: false,
        });
        state.last = Some(Last {
            request: sent,
            method: prepared.method.clone(),
            url: prepared.url.clone(),
            exchange: Exchange {
                request: report_request,
                response: outcome.as_ref().ok().map(|r| report::Response {
                    status: r.status,
                    headers: r.headers.clone(),
                    body: (!r.body.is_empty()).then(|| truncated(&r.body)),
                }),
            },
            response: response.clone(),
        });
        let response = match (outcome, response) {
            (Ok(_), Some(response)) => response,
            (Err(error), _) => {
                let hint = if prepared.url.starts_with("https://") && self.options.client.ca.is_none() {
                    " (no --ca was given: the runner trusts no certificate authority by default)"
                } else {
                    ""
                };
                return Err((summary, format!("{error}{hint}")));
            }
            (Ok(_), None) => return Err((summary, "no response".to_owned())),
        };
        if let Some(id) = &operation.response_id {
            state.fixtures.insert(id, response.clone());
        }
        // A created or updated fixture is known on the server by the id
        // the server gave it: later targetIds and autodelete use that.
        if let Some(source_id) = &operation.source_id
            && (200..300).contains(&response.status.unwrap_or(0))
            && matches!(prepared.method.as_str(), "POST" | "PUT")
            && let Some((resource_type, id)) = response
                .header("Location")
                .and_then(type_and_id)
                .or_else(|| response.header("Content-Location").and_then(type_and_id))
                .or_else(|| resource_identity(response.resource.as_ref()))
            && prepared.resource_type.as_deref().is_none_or(|t| t == resource_type)
        {
            state.fixtures.set_on_server(source_id, resource_type, id);
        }
        Ok((summary, prepared.note))
    }

    /// zorgpoort's `mllp-send` step: the ACK becomes a response with status
    /// 200, the ACK text as body and its MSA/ERR fields as headers.
    async fn mllp(
        &self,
        operation: &Operation,
        state: &mut State<'_>,
    ) -> Result<(String, Option<String>), (String, String)> {
        let target = self
            .options
            .mllp_target
            .clone()
            .ok_or_else(|| ("mllp-send".to_owned(), OperationError::NoMllpTarget.to_string()))?;
        let summary = format!("MLLP send to {target}");
        let wire = operation::mllp_wire(operation, state).map_err(|e| (summary.clone(), e.to_string()))?;
        let report_request = report::Request {
            method: "MLLP".to_owned(),
            url: format!("mllp://{target}"),
            headers: Vec::new(),
            body: Some(truncated(&wire)),
        };
        let sent = Fixture {
            bytes: Some(wire.clone()),
            ..Fixture::default()
        };
        if let Some(id) = &operation.request_id {
            state.fixtures.insert(id, sent.clone());
        }
        let result = crate::mllp::exchange(&target, &wire, self.options.timeout).await;
        let response = result.as_ref().ok().map(|ack| {
            let text = String::from_utf8_lossy(ack).into_owned();
            Fixture {
                resource: None,
                headers: crate::mllp::ack_fields(&text),
                bytes: Some(ack.clone()),
                status: Some(200),
                raw: false,
            }
        });
        state.last = Some(Last {
            request: sent,
            method: "MLLP".to_owned(),
            url: format!("mllp://{target}"),
            exchange: Exchange {
                request: report_request,
                response: response.as_ref().map(|r| report::Response {
                    status: 200,
                    headers: r.headers.clone(),
                    body: r.bytes.as_deref().map(truncated),
                }),
            },
            response: response.clone(),
        });
        match (result, response) {
            (Ok(_), Some(response)) => {
                if let Some(id) = &operation.response_id {
                    state.fixtures.insert(id, response);
                }
                Ok((summary, None))
            }
            (Err(error), _) => Err((summary, error.to_string())),
            (Ok(_), None) => Err((summary, "no ACK".to_owned())),
        }
    }
}

/// A body with its `${name}` variables replaced by their values.
fn substituted_body(body: &[u8], state: &State<'_>) -> Result<Vec<u8>, String> {
    let text = std::str::from_utf8(body).map_err(|_| "a body with variables must be UTF-8 text".to_owned())?;
    crate::variables::substitute(text, state)
        .map(String::into_bytes)
        .map_err(|e| format!("body: {e}"))
}

/// A body as a FHIR resource, when it is one (JSON or XML).
fn parse_body(body: &[u8]) -> Option<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    zorgpoort_profiles::parse(body, &zorgpoort_profiles::xml::XmlLimits::default())
        .ok()
        .filter(Value::is_object)
}

fn resource_identity(resource: Option<&Value>) -> Option<(String, String)> {
    let resource = resource?;
    let resource_type = resource.get("resourceType")?.as_str()?;
    let id = resource.get("id")?.as_str()?;
    Some((resource_type.to_owned(), id.to_owned()))
}

/// Text of a body for the report, cut at [`REPORT_BODY_LIMIT`].
fn truncated(body: &[u8]) -> String {
    if body.len() <= REPORT_BODY_LIMIT {
        return String::from_utf8_lossy(body).into_owned();
    }
    let text = String::from_utf8_lossy(&body[..REPORT_BODY_LIMIT]);
    format!("{text}\n... ({} more bytes not shown)", body.len() - REPORT_BODY_LIMIT)
}

fn action_failure(action: &ActionReport) -> Option<String> {
    matches!(action.outcome, Outcome::Fail | Outcome::Error).then(|| {
        let message = action.message.as_deref().unwrap_or("failed");
        format!("{}: {message}", action.label)
    })
}

fn assert_label(assert: &crate::script::Assert) -> String {
    if let Some(label) = assert.label.clone().or_else(|| assert.description.clone()) {
        return label;
    }
    let parts: Vec<String> = [
        assert.response.as_ref().map(|r| format!("response {r}")),
        assert.response_code.as_ref().map(|c| format!("responseCode {c}")),
        assert.content_type.as_ref().map(|c| format!("contentType {c}")),
        assert.resource.as_ref().map(|r| format!("resource {r}")),
        assert.header_field.as_ref().map(|h| format!("header {h}")),
        assert.expression.clone(),
        assert.path.clone(),
        assert.minimum_id.as_ref().map(|m| format!("minimumId {m}")),
        assert
            .validate_profile_id
            .as_ref()
            .map(|p| format!("validateProfileId {p}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if parts.is_empty() {
        "assert".to_owned()
    } else {
        parts.join(", ")
    }
}

fn action_label(action: &Action) -> (ActionKind, String) {
    match (&action.operation, &action.assert) {
        (Some(operation), _) => (
            ActionKind::Operation,
            operation
                .label
                .clone()
                .or_else(|| operation.description.clone())
                .or_else(|| operation.kind.as_ref().and_then(|k| k.code.clone()))
                .unwrap_or_else(|| "operation".to_owned()),
        ),
        (None, Some(assert)) => (ActionKind::Assert, assert_label(assert)),
        (None, None) => (ActionKind::Operation, "empty action".to_owned()),
    }
}

fn skipped(action: &Action, reason: &str) -> ActionReport {
    let (kind, label) = action_label(action);
    ActionReport {
        kind,
        label,
        outcome: Outcome::Skip,
        message: Some(format!("skipped after {reason}")),
        exchange: None,
        duration: Duration::ZERO,
    }
}

/// A test's actions when the setup failed: the first an error saying so,
/// the rest skipped.
fn not_run(actions: &[Action], setup_failure: &str) -> Vec<ActionReport> {
    let mut reports: Vec<ActionReport> = actions.iter().map(|a| skipped(a, setup_failure)).collect();
    let message = format!("not run: the setup failed ({setup_failure})");
    match reports.first_mut() {
        Some(first) => {
            first.outcome = Outcome::Error;
            first.message = Some(message);
        }
        None => reports.push(ActionReport {
            kind: ActionKind::Operation,
            label: "setup".to_owned(),
            outcome: Outcome::Error,
            message: Some(message),
            exchange: None,
            duration: Duration::ZERO,
        }),
    }
    reports
}

fn fixture_operation(code: &str, id: &str, description: String) -> Operation {
    let (source_id, target_id) = match code {
        "delete" => (None, Some(id.to_owned())),
        _ => (Some(id.to_owned()), None),
    };
    Operation {
        kind: Some(Coding {
            system: Some(crate::script::OPERATION_CODES.to_owned()),
            code: Some(code.to_owned()),
        }),
        description: Some(description),
        accept: Some("json".to_owned()),
        content_type: Some("json".to_owned()),
        source_id,
        target_id,
        ..Operation::default()
    }
}

/// Operations creating the `autocreate` fixtures: PUT when the fixture has
/// an id (the script may then refer to it by that id), POST otherwise.
fn autocreate(script: &TestScript, fixtures: &Fixtures) -> Vec<Operation> {
    script
        .fixture
        .iter()
        .filter(|f| f.autocreate)
        .filter_map(|f| f.id.as_deref())
        .map(|id| {
            let has_id = fixtures
                .get(id)
                .and_then(|f| f.resource.as_ref())
                .is_some_and(|r| r.get("id").is_some());
            let code = if has_id { "update" } else { "create" };
            fixture_operation(code, id, format!("autocreate fixture {id}"))
        })
        .collect()
}

/// Operations deleting the `autodelete` fixtures that the run put on the
/// server, by the id the server gave them; a fixture never created is not
/// deleted (its own id might name someone else's resource there).
fn autodelete(script: &TestScript, fixtures: &Fixtures) -> Vec<Operation> {
    script
        .fixture
        .iter()
        .filter(|f| f.autodelete)
        .filter_map(|f| f.id.as_deref())
        .filter(|id| fixtures.is_on_server(id))
        .map(|id| fixture_operation("delete", id, format!("autodelete fixture {id}")))
        .collect()
}
