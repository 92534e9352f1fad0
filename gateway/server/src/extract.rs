//! Request parts every route reads the same way, whose rejections already
//! are OperationOutcomes: a resource id in the path ([`FhirId`]), a body of
//! an accepted media type ([`read_body`]) and a FHIR JSON resource in it
//! ([`read_resource`]).

use axum::extract::{FromRequestParts, Path, Request};
use axum::http::header;
use axum::http::request::Parts;

use crate::outcome::{ApiError, FHIR_JSON, Problem};

/// Whether `id` follows FHIR's rule for ids: 1 to 64 of `A-Z a-z 0-9 - .`.
pub fn is_fhir_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// Refuses an id that breaks FHIR's rule, naming where it was found.
pub fn check_fhir_id(expression: &str, id: &str) -> Result<(), ApiError> {
    if is_fhir_id(id) {
        return Ok(());
    }
    Err(ApiError::invalid(
        expression,
        "an id is 1 to 64 letters, digits, '-' or '.'",
    ))
}

/// The last `{id}` of a route's path, checked against FHIR's id rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FhirId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for FhirId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(segments) = Path::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::invalid("id", "the path is not valid UTF-8 after percent-decoding"))?;
        let id = segments
            .into_iter()
            .rev()
            .find_map(|(name, value)| (name == "id").then_some(value))
            .ok_or_else(|| ApiError::new(Problem::NotFound, "this path names no resource id"))?;
        check_fhir_id("id", &id)?;
        Ok(Self(id))
    }
}

/// The body of a request whose Content-Type is one of `accepted` (415
/// otherwise), read up to `limit` bytes (413 beyond).
pub async fn read_body(request: Request, accepted: &[&str], limit: usize) -> Result<axum::body::Bytes, ApiError> {
    let media_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
    if !media_type.as_deref().is_some_and(|m| accepted.contains(&m)) {
        return Err(ApiError::new(
            Problem::UnsupportedMediaType,
            format!("Content-Type must be one of {}", accepted.join(", ")),
        ));
    }
    axum::body::to_bytes(request.into_body(), limit).await.map_err(|_| {
        ApiError::new(
            Problem::TooLarge,
            format!("the body exceeds the limit of {limit} bytes or was cut off"),
        )
    })
}

/// A FHIR JSON resource (a JSON object) of `resource_type` from a request
/// body of at most `limit` bytes; `resourceType` is checked, `id` when present.
pub async fn read_resource(
    request: Request,
    resource_type: &str,
    limit: usize,
) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    let bytes = read_body(request, &[FHIR_JSON, "application/json"], limit).await?;
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| ApiError::invalid(resource_type, format!("not JSON: {e}")))?;
    let serde_json::Value::Object(resource) = value else {
        return Err(ApiError::invalid(
            resource_type,
            format!("the body must be a {resource_type} resource (a JSON object)"),
        ));
    };
    if resource.get("resourceType").and_then(serde_json::Value::as_str) != Some(resource_type) {
        return Err(ApiError::invalid(
            &format!("{resource_type}.resourceType"),
            format!("must be {resource_type:?}"),
        ));
    }
    if let Some(id) = resource.get("id") {
        let expression = format!("{resource_type}.id");
        let id = id
            .as_str()
            .ok_or_else(|| ApiError::invalid(&expression, "must be a string"))?;
        check_fhir_id(&expression, id)?;
    }
    Ok(resource)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fhir_ids() {
        for good in ["a", "geen-vvt", "1.2.3", &"x".repeat(64)] {
            assert!(is_fhir_id(good), "{good}");
        }
        for bad in ["", "../../etc/passwd", "a/b", "a b", "é", &"x".repeat(65), "\u{fffd}"] {
            assert!(!is_fhir_id(bad), "{bad}");
        }
    }
}
