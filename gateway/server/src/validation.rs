//! The validation step of the pipeline (`[validation] mode`): conversion
//! output and incoming FHIR are checked against the R4 schema and the nl-core
//! profiles, and then passed on (`off`), passed on with a logged warning
//! (`warn`, the default) or refused with the findings (`reject`).

use serde::Deserialize;
use serde_json::Value;
use zorgpoort_profiles::{Issue, ProfileChoice, Severity, has_errors, validate};

/// What the gateway does with data that does not validate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValidationMode {
    /// Do not validate.
    Off,
    /// Validate; log what does not conform (where, never values) and pass it on.
    #[default]
    Warn,
    /// Validate; refuse what has errors, answering with the findings.
    Reject,
}

/// `[validation]`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ValidationConfig {
    /// `off`, `warn` or `reject`.
    pub mode: ValidationMode,
}

/// Findings that made the gateway refuse data (in `reject` mode).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} errors, the first at {}: {}", self.errors(), self.first().0, self.first().1)]
pub struct Nonconformant(pub Vec<Issue>);

impl Nonconformant {
    fn errors(&self) -> usize {
        self.0.iter().filter(|issue| issue.severity == Severity::Error).count()
    }

    /// The first error's expression and message.
    pub fn first(&self) -> (&str, &str) {
        self.0
            .iter()
            .find(|issue| issue.severity == Severity::Error)
            .map_or(("", ""), |issue| (issue.expression.as_str(), issue.message.as_str()))
    }
}

impl ValidationMode {
    /// Applies the mode to `resource`; `what` names it in the log
    /// (`conversion output`, `Consent`).
    pub fn apply(self, what: &'static str, resource: &Value) -> Result<(), Nonconformant> {
        if self == Self::Off {
            return Ok(());
        }
        let issues = validate(resource, ProfileChoice::Claimed);
        if !has_errors(&issues) {
            return Ok(());
        }
        if self == Self::Reject {
            return Err(Nonconformant(issues));
        }
        let errors = issues.iter().filter(|issue| issue.severity == Severity::Error);
        let first = errors
            .clone()
            .next()
            .map(|issue| issue.expression.as_str())
            .unwrap_or_default();
        // Expressions and issue codes only: messages may quote values.
        tracing::warn!(
            what,
            errors = errors.count(),
            first,
            "does not validate against nl-core; passed on"
        );
        Ok(())
    }

    /// [`Self::apply`] to JSON text the gateway made itself.
    pub fn apply_to_text(self, what: &'static str, json: &str) -> Result<(), Nonconformant> {
        if self == Self::Off {
            return Ok(());
        }
        match serde_json::from_str::<Value>(json) {
            Ok(resource) => self.apply(what, &resource),
            Err(error) => Err(Nonconformant(vec![Issue::error(
                zorgpoort_profiles::IssueType::Structure,
                "",
                format!("not JSON: {error}"),
            )])),
        }
    }
}
