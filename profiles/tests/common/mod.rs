//! What the invariant tests share.

use serde_json::Value;
use zorgpoort_profiles::{Issue, IssueType, ProfileChoice, Severity, validate};

/// `kept` has no finding for `key`; `broken` has exactly one finding more,
/// for `key`, with `severity`, at `at`.
pub fn assert_breaks(kept: &Value, broken: &Value, key: &str, severity: Severity, at: &str) {
    let before = validate(kept, ProfileChoice::Claimed);
    let prefix = format!("{key}:");
    assert!(
        !before.iter().any(|issue| issue.message.starts_with(&prefix)),
        "{key} on the kept resource: {before:#?}"
    );
    let added: Vec<Issue> = validate(broken, ProfileChoice::Claimed)
        .into_iter()
        .filter(|issue| !before.contains(issue))
        .collect();
    assert_eq!(added.len(), 1, "{key}: {added:#?}");
    let issue = &added[0];
    assert_eq!(
        (issue.severity, issue.code, issue.expression.as_str()),
        (severity, IssueType::Invariant, at),
        "{key}: {issue:#?}"
    );
    assert!(issue.message.starts_with(&prefix), "{key}: {issue:#?}");
}
