//! `POST /fhir/$validate` and `POST /fhir/{type}/$validate`: the FHIR
//! `$validate` operation. The body is a resource (FHIR JSON or XML) or a
//! Parameters resource with `resource` and optionally `profile`; `?profile=`
//! picks the profile too. The answer is always an OperationOutcome, 200 when
//! the request could be read, whatever the verdict.
//!
//! Validation keeps nothing, but it handles a patient's data: when the
//! resource names a BSN the call is audited (who, which patient, the data's
//! hash and size), as conversions are.

use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;
use zorgpoort_audit::{Action, AuditEvent, DataObject, Outcome};
use zorgpoort_handover::delivery::now_ms;
use zorgpoort_model::systems::BSN;
use zorgpoort_profiles::xml::XmlLimits;
use zorgpoort_profiles::{ProfileChoice, operation_outcome, validate};
use zorgpoort_store::Store;

use crate::api::AppState;
use crate::auth::Requester;
use crate::extract::read_body;
use crate::outcome::{ApiError, fhir_json};

/// The query of `$validate`.
#[derive(Debug, Default, Deserialize)]
pub struct ValidateQuery {
    /// Validate against this profile instead of the claimed ones.
    profile: Option<String>,
}

const MEDIA_TYPES: [&str; 4] = [
    "application/fhir+json",
    "application/json",
    "application/fhir+xml",
    "application/xml",
];

/// `POST /fhir/$validate` and `POST /fhir/{type}/$validate` (the type is
/// taken from the path, which keeps `/fhir/Consent/$validate` apart from
/// `/fhir/Consent/{id}`).
pub async fn operation<S: Store>(
    State(state): State<AppState<S>>,
    Query(query): Query<ValidateQuery>,
    request: Request,
) -> Result<Response, ApiError> {
    let requester = Requester::organization_of(&request);
    let expected_type = request
        .uri()
        .path()
        .strip_suffix("/$validate")
        .and_then(|path| path.strip_prefix("/fhir/"))
        .map(str::to_owned);
    let limit = state.max_body_bytes;
    let bytes = read_body(request, &MEDIA_TYPES, limit).await?;
    let limits = XmlLimits {
        max_bytes: limit,
        ..XmlLimits::default()
    };
    let body = zorgpoort_profiles::parse(&bytes, &limits).map_err(|e| ApiError::invalid("", e.to_string()))?;
    let (resource, parameter_profile) = unwrap_parameters(body)?;
    let resource_type = resource.get("resourceType").and_then(Value::as_str).unwrap_or_default();
    if let Some(expected) = expected_type.filter(|expected| expected != resource_type) {
        return Err(ApiError::invalid(
            "resourceType",
            format!("this is /fhir/{expected}/$validate but the resource is a {resource_type}"),
        ));
    }
    let profile = query.profile.or(parameter_profile);
    let choice = profile
        .as_deref()
        .map_or(ProfileChoice::Claimed, ProfileChoice::Explicit);
    let issues = validate(&resource, choice);
    if let Some(patient) = first_bsn(&resource, 0) {
        let mut audit = AuditEvent::new("validate", Action::Execute, now_ms(), Outcome::Success);
        audit.organization = requester;
        audit.patient = Some(patient.to_owned());
        audit.data = Some(DataObject::of(String::new(), "fhir".into(), &bytes, Vec::new()));
        state.store.audit(audit).await?;
    }
    Ok(fhir_json(StatusCode::OK, operation_outcome(&issues).to_string()))
}

/// The first BSN the resource names (the patient's, or a subject's).
fn first_bsn(value: &Value, depth: usize) -> Option<&str> {
    match value {
        _ if depth > 32 => None,
        Value::Object(object) => {
            if object.get("system").and_then(Value::as_str) == Some(BSN) {
                if let Some(bsn) = object.get("value").and_then(Value::as_str) {
                    return Some(bsn);
                }
            }
            object.values().find_map(|child| first_bsn(child, depth + 1))
        }
        Value::Array(items) => items.iter().find_map(|item| first_bsn(item, depth + 1)),
        _ => None,
    }
}

/// A Parameters body gives `resource` and perhaps `profile`; anything else
/// is the resource itself.
fn unwrap_parameters(body: Value) -> Result<(Value, Option<String>), ApiError> {
    if body.get("resourceType").and_then(Value::as_str) != Some("Parameters") {
        return Ok((body, None));
    }
    let Some(Value::Array(parameters)) = body.get("parameter") else {
        return Err(ApiError::invalid(
            "Parameters.parameter",
            "a `resource` parameter is required",
        ));
    };
    let named = |name: &str| {
        parameters
            .iter()
            .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
    };
    let profile = named("profile")
        .and_then(|p| p.get("valueUri").or_else(|| p.get("valueCanonical")))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let resource = named("resource")
        .and_then(|p| p.get("resource"))
        .cloned()
        .ok_or_else(|| ApiError::invalid("Parameters.parameter", "a `resource` parameter is required"))?;
    Ok((resource, profile))
}
