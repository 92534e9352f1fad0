//! The console summary of a run: per script, per test PASS, FAIL or ERROR
//! with the messages of what failed (and of warnings), then the totals.

use std::fmt::Write as _;

use crate::report::{ActionReport, Outcome, RunReport, ScriptReport};

/// Counts of a run, by test.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Scripts run.
    pub scripts: usize,
    /// Tests run (a script that could not be read counts as one).
    pub tests: usize,
    /// Tests that passed (warnings allowed).
    pub passed: usize,
    /// Tests that failed.
    pub failed: usize,
    /// Tests that could not be executed.
    pub errors: usize,
    /// Warning-only asserts that did not hold.
    pub warnings: usize,
    /// Setups and teardowns that failed or erred.
    pub broken_phases: usize,
}

impl Totals {
    /// The counts of `report`.
    pub fn of(report: &RunReport) -> Self {
        let mut totals = Self {
            scripts: report.scripts.len(),
            ..Self::default()
        };
        for script in &report.scripts {
            if script.error.is_some() {
                totals.tests += 1;
                totals.errors += 1;
                continue;
            }
            for phase in [&script.setup, &script.teardown] {
                totals.broken_phases += usize::from(worst(phase) >= Outcome::Fail);
                totals.warnings += count(phase, Outcome::Warning);
            }
            for test in &script.tests {
                totals.tests += 1;
                totals.warnings += count(&test.actions, Outcome::Warning);
                match test.outcome() {
                    Outcome::Fail => totals.failed += 1,
                    Outcome::Error => totals.errors += 1,
                    Outcome::Pass | Outcome::Skip | Outcome::Warning => totals.passed += 1,
                }
            }
        }
        totals
    }

    /// Whether everything passed.
    pub fn all_passed(&self) -> bool {
        self.failed == 0 && self.errors == 0 && self.broken_phases == 0
    }
}

fn worst(actions: &[ActionReport]) -> Outcome {
    actions
        .iter()
        .map(|a| a.outcome)
        .filter(|o| *o != Outcome::Skip)
        .max()
        .unwrap_or(Outcome::Pass)
}

fn count(actions: &[ActionReport], outcome: Outcome) -> usize {
    actions.iter().filter(|a| a.outcome == outcome).count()
}

fn verdict(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Fail => "FAIL ",
        Outcome::Error => "ERROR",
        Outcome::Pass | Outcome::Skip | Outcome::Warning => "PASS ",
    }
}

/// The summary as text.
pub fn render(report: &RunReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "suite {} against {}", report.suite, report.target);
    for script in &report.scripts {
        script_lines(&mut out, script);
    }
    let totals = Totals::of(report);
    let _ = writeln!(
        out,
        "\n{} scripts, {} tests: {} passed, {} failed, {} errors; {} warnings; {} setup/teardown failures ({:.1}s)",
        totals.scripts,
        totals.tests,
        totals.passed,
        totals.failed,
        totals.errors,
        totals.warnings,
        totals.broken_phases,
        report.duration.as_secs_f64()
    );
    out
}

fn script_lines(out: &mut String, script: &ScriptReport) {
    let _ = writeln!(out, "\n{} ({})", script.name, script.source);
    if let Some(error) = &script.error {
        let _ = writeln!(out, "  ERROR  the script could not be run: {error}");
        return;
    }
    phase_lines(out, "setup", &script.setup);
    for test in &script.tests {
        let _ = writeln!(out, "  {}  {}", verdict(test.outcome()), test.name);
        action_lines(out, &test.actions);
    }
    phase_lines(out, "teardown", &script.teardown);
}

fn phase_lines(out: &mut String, name: &str, actions: &[ActionReport]) {
    let outcome = worst(actions);
    if outcome >= Outcome::Fail {
        let _ = writeln!(out, "  {}  ({name})", verdict(outcome));
    }
    action_lines(out, actions);
}

fn action_lines(out: &mut String, actions: &[ActionReport]) {
    for action in actions {
        let tag = match action.outcome {
            Outcome::Fail => "fail",
            Outcome::Error => "error",
            Outcome::Warning => "warning",
            Outcome::Pass | Outcome::Skip => continue,
        };
        let message = action.message.as_deref().unwrap_or("");
        let _ = writeln!(out, "         {tag}: {}: {message}", action.label);
    }
}
