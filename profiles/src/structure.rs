//! Structural validation with the R4 JSON schema, and the walk to nested
//! resources.

use std::fmt::Write as _;

use jsonschema::error::ValidationErrorKind;
use jsonschema::paths::LocationSegment;
use serde_json::Value;

use crate::issue::{Issue, IssueType};
use crate::schema::{ElementType, each_element, schema};

/// Checks `resource` against the schema of its type; `false` when the type
/// is unknown (nothing else can be checked then).
pub fn check(resource: &Value, resource_type: &str, path: &str, issues: &mut Vec<Issue>) -> bool {
    let Some(validator) = schema().validator(resource_type) else {
        let message = format!("`{resource_type}` is not a FHIR R4 resource type");
        issues.push(Issue::error(
            IssueType::Structure,
            format!("{path}.resourceType"),
            message,
        ));
        return false;
    };
    // Most resources are valid; collecting errors costs several times more.
    if validator.is_valid(resource) {
        return true;
    }
    for error in validator.iter_errors(resource) {
        let at = fhir_path(path, error.instance_path().iter());
        match error.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                for name in unexpected {
                    let message = format!("unknown element `{name}`");
                    issues.push(Issue::error(IssueType::Structure, format!("{at}.{name}"), message));
                }
            }
            ValidationErrorKind::Required { property } => {
                let name = property.as_str().unwrap_or_default();
                let message = format!("`{name}` is required");
                issues.push(Issue::error(IssueType::Required, format!("{at}.{name}"), message));
            }
            ValidationErrorKind::Pattern { pattern } => {
                let shown = error.instance().as_str().unwrap_or_default();
                if shown.is_empty() {
                    continue; // reported as an empty value, with the FHIR rule
                }
                let primitives = schema().primitives_with_pattern(pattern);
                let message = if primitives.is_empty() {
                    format!("`{shown}` does not match {pattern}")
                } else {
                    format!("`{shown}` is not a valid {}", primitives.join(" or "))
                };
                issues.push(Issue::error(IssueType::Value, at, message));
            }
            ValidationErrorKind::Enum { .. } => {
                issues.push(Issue::error(IssueType::CodeInvalid, at, error.to_string()));
            }
            _ => issues.push(Issue::error(IssueType::Structure, at, error.to_string())),
        }
    }
    true
}

/// A JSON pointer below `root` as a FHIRPath-style path: `Patient.name[0].given`.
fn fhir_path<'a>(root: &str, segments: impl Iterator<Item = LocationSegment<'a>>) -> String {
    let mut path = root.to_owned();
    for segment in segments {
        match segment {
            LocationSegment::Property(name) => {
                path.push('.');
                path.push_str(&name);
            }
            LocationSegment::Index(index) => {
                let _ = write!(path, "[{index}]");
            }
        }
    }
    path
}

/// The resources nested in `resource` (contained, Bundle entries,
/// Parameters), with their paths; not the resources nested in those. Found
/// where the schema says an element holds a resource: an object with a
/// `resourceType` elsewhere is data (`ExampleScenario.instance`).
pub fn nested_resources<'v>(resource: &'v Value, path: &str) -> Vec<(&'v Value, &'v str, String)> {
    let mut found = Vec::new();
    if let Some(resource_type) = resource.get("resourceType").and_then(Value::as_str) {
        let mut path = path.to_owned();
        collect(resource, resource_type, &mut path, &mut found, 0);
    }
    found
}

/// Bounds the walk; deeper input has already failed the schema's checks.
const MAX_DEPTH: usize = 64;

/// Walks `value` of schema type `type_name`; `path` is extended and
/// restored while walking, copied only for a find.
fn collect<'v>(
    value: &'v Value,
    type_name: &str,
    path: &mut String,
    found: &mut Vec<(&'v Value, &'v str, String)>,
    depth: usize,
) {
    if depth > MAX_DEPTH {
        return;
    }
    each_element(value, type_name, path, |item, holds, path| {
        visit(item, holds, path, found, depth);
    });
}

/// One value of an element that holds `holds`.
fn visit<'v>(
    item: &'v Value,
    holds: ElementType<'_>,
    path: &mut String,
    found: &mut Vec<(&'v Value, &'v str, String)>,
    depth: usize,
) {
    match holds {
        ElementType::Resource => {
            if let Some(nested_type) = item.get("resourceType").and_then(Value::as_str) {
                found.push((item, nested_type, path.clone()));
            }
        }
        ElementType::Complex(complex) => collect(item, complex, path, found, depth + 1),
        ElementType::Primitive(_) | ElementType::Xhtml => {}
    }
}
