//! Validation findings and their OperationOutcome form.

use serde_json::{Value, json};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The resource is not valid.
    Error,
    /// Valid, but probably not what was meant.
    Warning,
    /// For information only.
    Information,
}

impl Severity {
    /// The FHIR `issue-severity` code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Information => "information",
        }
    }
}

/// The FHIR `issue-type` of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IssueType {
    /// Not valid JSON/XML, or an element the type does not have.
    Structure,
    /// A required element is missing.
    Required,
    /// A value breaks its datatype, fixed value or pattern.
    Value,
    /// A code is not in a required value set.
    CodeInvalid,
    /// An invariant is broken.
    Invariant,
    /// A profile or type the validator does not know.
    NotSupported,
    /// A reference that does not resolve where it must.
    NotFound,
    /// A check that could not be carried out (an invariant the engine could
    /// not evaluate).
    Exception,
}

impl IssueType {
    /// The FHIR `issue-type` code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Structure => "structure",
            Self::Required => "required",
            Self::Value => "value",
            Self::CodeInvalid => "code-invalid",
            Self::Invariant => "invariant",
            Self::NotSupported => "not-supported",
            Self::NotFound => "not-found",
            Self::Exception => "exception",
        }
    }
}

/// One finding, located by a FHIRPath-style `expression`
/// (`Patient.identifier[0].value`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Issue {
    /// How bad it is.
    pub severity: Severity,
    /// What kind of problem it is.
    pub code: IssueType,
    /// Where it is.
    pub expression: String,
    /// What is wrong, for a person.
    pub message: String,
}

impl Issue {
    /// An error finding.
    pub fn error(code: IssueType, expression: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            code,
            expression: expression.into(),
            message: message.into(),
        }
    }

    /// A warning finding.
    pub fn warning(code: IssueType, expression: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            code,
            expression: expression.into(),
            message: message.into(),
        }
    }
}

/// Whether any finding is an error.
pub fn has_errors(issues: &[Issue]) -> bool {
    issues.iter().any(|issue| issue.severity == Severity::Error)
}

/// The findings as an OperationOutcome; without findings it says so with a
/// single `information` issue, as `$validate` requires at least one.
pub fn operation_outcome(issues: &[Issue]) -> Value {
    let issue: Vec<Value> = if issues.is_empty() {
        vec![json!({ "severity": "information", "code": "informational", "diagnostics": "no issues found" })]
    } else {
        issues
            .iter()
            .map(|issue| {
                json!({
                    "severity": issue.severity.as_str(),
                    "code": issue.code.as_str(),
                    "diagnostics": issue.message,
                    "expression": [issue.expression],
                })
            })
            .collect()
    };
    json!({ "resourceType": "OperationOutcome", "issue": issue })
}
