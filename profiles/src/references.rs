//! The references a resource makes, found with the schema's type knowledge:
//! an element named `reference` is not always a Reference
//! (`DetectedIssue.reference` is a uri).

use std::fmt::Write as _;

use serde_json::Value;

use crate::schema::{ElementType, schema};

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
    let (Some(object), Some(elements)) = (value.as_object(), schema().type_elements(type_name)) else {
        return;
    };
    if depth > MAX_DEPTH {
        return;
    }
    if type_name == "Reference"
        && let Some(reference) = object.get("reference").and_then(Value::as_str)
    {
        found.push(Found {
            path: format!("{path}.reference"),
            reference,
        });
    }
    let length = path.len();
    for (key, child) in object {
        let Some(ElementType::Complex(complex)) = elements.element(key).map(|element| element.holds) else {
            continue;
        };
        path.push('.');
        path.push_str(key);
        match child {
            Value::Array(items) => {
                let key_length = path.len();
                for (index, item) in items.iter().enumerate() {
                    let _ = write!(path, "[{index}]");
                    walk(item, complex, path, found, depth + 1);
                    path.truncate(key_length);
                }
            }
            _ => walk(child, complex, path, found, depth + 1),
        }
        path.truncate(length);
    }
}
