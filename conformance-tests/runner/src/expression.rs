//! FHIRPath for asserts and variables, and the `XPath`-style `path` of older
//! `TestScripts` read as FHIRPath (`fhir:Patient/fhir:name/fhir:family/@value`
//! is `Patient.name.family`).

use serde_json::Value;
use zorgpoort_fhirpath::{Collection, Context, Expression, Item};

/// An expression that could not be evaluated.
#[derive(Debug, thiserror::Error)]
#[error("FHIRPath `{expression}`: {reason}")]
pub struct ExpressionError {
    /// The expression.
    pub expression: String,
    /// Why.
    pub reason: String,
}

/// Evaluates `expression` on `resource`.
pub fn evaluate(expression: &str, resource: &Value) -> Result<Collection, ExpressionError> {
    let error = |reason: String| ExpressionError {
        expression: expression.to_owned(),
        reason,
    };
    let parsed = Expression::parse(expression).map_err(|e| error(e.to_string()))?;
    parsed
        .evaluate(&Context::new(resource))
        .map_err(|e| error(e.to_string()))
}

/// The collection as a boolean, as FHIRPath evaluates a condition: empty is
/// `None`, one item its truth; several items are an error.
pub fn as_boolean(expression: &str, collection: &Collection) -> Result<Option<bool>, ExpressionError> {
    zorgpoort_fhirpath::as_boolean(collection).map_err(|e| ExpressionError {
        expression: expression.to_owned(),
        reason: e.to_string(),
    })
}

/// The items as the texts asserts compare.
pub fn texts(collection: &Collection) -> Vec<String> {
    collection.iter().map(Item::to_json).map(|v| to_text(&v)).collect()
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
