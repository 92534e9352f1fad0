//! FHIRPath for asserts and variables, and the `XPath`-style `path` of older
//! `TestScripts` read as FHIRPath (`fhir:Patient/fhir:name/fhir:family/@value`
//! is `Patient.name.family`).

use serde_json::Value;

/// An expression that could not be evaluated.
#[derive(Debug, thiserror::Error)]
#[error("FHIRPath `{expression}`: {reason}")]
pub struct ExpressionError {
    /// The expression.
    pub expression: String,
    /// Why.
    pub reason: String,
}

/// Evaluates `expression` on `resource`; the result as JSON values.
pub fn evaluate(expression: &str, resource: &Value) -> Result<Vec<Value>, ExpressionError> {
    let error = |reason: String| ExpressionError {
        expression: expression.to_owned(),
        reason,
    };
    let mut current = vec![resource.clone()];
    for (index, step) in expression.trim().split('.').enumerate() {
        let step = step.trim();
        if index == 0 && resource.get("resourceType").and_then(Value::as_str) == Some(step) {
            continue;
        }
        current = match step {
            "first()" => current.into_iter().take(1).collect(),
            "count()" => vec![Value::from(current.len())],
            _ if step.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !step.is_empty() => current
                .iter()
                .filter_map(|item| item.get(step))
                .flat_map(|child| match child {
                    Value::Array(items) => items.clone(),
                    other => vec![other.clone()],
                })
                .collect(),
            _ => return Err(error(format!("`{step}` is not supported yet"))),
        };
    }
    Ok(current)
}

/// The boolean a collection stands for: a single boolean, else `None`.
pub fn as_boolean(values: &[Value]) -> Option<bool> {
    match values {
        [Value::Bool(b)] => Some(*b),
        _ => None,
    }
}

/// An `XPath`-style path as FHIRPath; a FHIRPath is returned unchanged.
pub fn from_path(path: &str) -> String {
    if !path.contains('/') {
        return path.to_owned();
    }
    path.split('/')
        .filter(|step| !step.is_empty() && *step != "@value")
        .map(|step| step.strip_prefix("fhir:").unwrap_or(step))
        .collect::<Vec<_>>()
        .join(".")
}

/// A value as the text asserts compare: a string or number as written,
/// anything else as compact JSON.
pub fn to_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xpath_paths_become_fhirpath() {
        assert_eq!(
            from_path("fhir:Patient/fhir:name/fhir:family/@value"),
            "Patient.name.family"
        );
        assert_eq!(from_path("Patient/id"), "Patient.id");
        assert_eq!(from_path("Bundle.total"), "Bundle.total");
    }
}
