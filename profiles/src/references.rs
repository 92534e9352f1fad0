//! The references a resource makes, found with the schema's type knowledge:
//! an element named `reference` is not always a Reference
//! (`DetectedIssue.reference` is a uri).

use serde_json::Value;

use crate::schema::{ElementType, each_element};

/// Nested types are few levels deep; deeper input has failed the schema.
const MAX_DEPTH: usize = 64;

/// One `Reference.reference` and where it is
/// (`Bundle.entry[1].resource.subject.reference`).
pub struct Found<'v> {
    /// Where the reference is.
    pub path: String,
    /// What it says.
    pub reference: &'v str,
}

/// Every `Reference.reference` of `resource` (found at `path`), not those of
/// the resources it contains.
pub fn references<'v>(resource: &'v Value, path: &str) -> Vec<Found<'v>> {
    let mut found = Vec::new();
    if let Some(resource_type) = resource.get("resourceType").and_then(Value::as_str) {
        let mut path = path.to_owned();
        walk(resource, resource_type, &mut path, &mut found, 0);
    }
    found
}

/// `path` is extended and restored while walking.
fn walk<'v>(value: &'v Value, type_name: &str, path: &mut String, found: &mut Vec<Found<'v>>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    if type_name == "Reference"
        && let Some(reference) = value.get("reference").and_then(Value::as_str)
    {
        found.push(Found {
            path: format!("{path}.reference"),
            reference,
        });
    }
    each_element(value, type_name, path, |child, holds, path| {
        if let ElementType::Complex(complex) = holds {
            walk(child, complex, path, found, depth + 1);
        }
    });
}
