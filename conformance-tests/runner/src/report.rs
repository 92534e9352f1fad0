//! What a run did: per `TestScript` its setup, tests and teardown, per test
//! the actions in order with their outcome, and for each operation the
//! request and response as exchanged. The runner fills it in; the report
//! formats (console, `JUnit`, JSON `TestReport`, HTML) only read it.

use std::time::{Duration, SystemTime};

/// One run of a suite against one target.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The suite's name (`gateway`) or the path it was read from.
    pub suite: String,
    /// The base URL (or `mllp://host:port`) of the system under test.
    pub target: String,
    /// When the run began.
    pub started: SystemTime,
    /// How long it took.
    pub duration: Duration,
    /// Per script, in the order run.
    pub scripts: Vec<ScriptReport>,
}

/// One `TestScript`.
#[derive(Debug, Clone)]
pub struct ScriptReport {
    /// `TestScript.name`, else its id, else the file name.
    pub name: String,
    /// `TestScript.url`, when it has one.
    pub url: Option<String>,
    /// The file the script was read from.
    pub source: String,
    /// Setup actions; a failing setup fails every test of the script.
    pub setup: Vec<ActionReport>,
    /// The tests, in order.
    pub tests: Vec<TestCaseReport>,
    /// Teardown actions (and autodelete), run whatever happened before.
    pub teardown: Vec<ActionReport>,
    /// The script could not be read or run at all (bad JSON, a fixture
    /// missing): every test is then an error with this reason.
    pub error: Option<String>,
}

/// One `TestScript.test`.
#[derive(Debug, Clone)]
pub struct TestCaseReport {
    /// `TestScript.test.name`, else its id, else `test N`.
    pub name: String,
    /// `TestScript.test.description`.
    pub description: Option<String>,
    /// The actions, in order.
    pub actions: Vec<ActionReport>,
    /// How long the test took.
    pub duration: Duration,
}

/// One operation or assert.
#[derive(Debug, Clone)]
pub struct ActionReport {
    /// Operation or assert.
    pub kind: ActionKind,
    /// The action's label or description, else a summary of what it did
    /// (`GET Patient/example`, `responseCode = 200`).
    pub label: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Why it failed or was skipped, or what a warning-only assert found.
    pub message: Option<String>,
    /// The HTTP (or MLLP) exchange of an operation; for an assert, the
    /// exchange it looked at.
    pub exchange: Option<Exchange>,
    /// How long the action took.
    pub duration: Duration,
}

/// Whether an action is an operation or an assert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    /// A request sent.
    Operation,
    /// A check of what came back.
    Assert,
}

/// How an action ended, as FHIR's `report-action-result-codes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// Did what the script expects.
    Pass,
    /// Not run: an earlier action of the same test failed.
    Skip,
    /// An assert with `warningOnly` that did not hold.
    Warning,
    /// The system under test did not do what the script expects.
    Fail,
    /// The script could not be executed as written (bad expression,
    /// unknown fixture, connection refused).
    Error,
}

impl Outcome {
    /// The code in `report-action-result-codes` (`pass`, `skip`, `warning`,
    /// `fail`, `error`).
    pub fn code(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Skip => "skip",
            Self::Warning => "warning",
            Self::Fail => "fail",
            Self::Error => "error",
        }
    }
}

/// A request and, when one came, its response.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// What was sent.
    pub request: Request,
    /// What came back, if anything did.
    pub response: Option<Response>,
}

/// A request as sent (`MLLP` as the method for an MLLP message).
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `POST`... or `MLLP`.
    pub method: String,
    /// The URL (`mllp://host:port` for MLLP).
    pub url: String,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body as text, cut at a limit for large ones.
    pub body: Option<String>,
}

/// A response as received (for MLLP: status 200, the ACK's MSA and ERR
/// fields as headers, the ACK as body).
#[derive(Debug, Clone)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body as text, cut at a limit for large ones.
    pub body: Option<String>,
}

impl ScriptReport {
    /// The worst outcome of any of the script's actions (Pass when it has
    /// none and no error).
    pub fn outcome(&self) -> Outcome {
        if self.error.is_some() {
            return Outcome::Error;
        }
        let actions = self
            .setup
            .iter()
            .chain(self.tests.iter().flat_map(|test| &test.actions))
            .chain(&self.teardown);
        actions
            .map(|action| action.outcome)
            .filter(|o| *o != Outcome::Skip)
            .max()
            .unwrap_or(Outcome::Pass)
    }
}

impl TestCaseReport {
    /// The worst outcome of the test's actions.
    pub fn outcome(&self) -> Outcome {
        self.actions
            .iter()
            .map(|action| action.outcome)
            .filter(|o| *o != Outcome::Skip)
            .max()
            .unwrap_or(Outcome::Pass)
    }
}
