//! Which FHIR version an organisation is answered in: STU3 when it asks for
//! it (`fhirVersion=3.0` on `Accept`) or when the registry knows it only by a
//! FHIR STU3 endpoint; R4 otherwise. Answers are converted on the way out;
//! a body marked STU3 (`fhirVersion=3.0` on `Content-Type`) on the way in.
//! What one version cannot hold is logged by its place, never its content.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;
use zorgpoort_handover::delivery::{STU3_JSON, in_stu3};
use zorgpoort_handover::{Protocol, Registry};

use crate::outcome::{ApiError, Problem, fhir_json};

/// A FHIR version the gateway speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FhirVersion {
    /// FHIR R4 (4.0.1), the gateway's own.
    R4,
    /// FHIR STU3 (3.0.2), the version of the Dutch national standards.
    Stu3,
}

fn names_stu3(headers: &HeaderMap, name: header::HeaderName) -> Option<bool> {
    let value = headers.get(name)?.to_str().ok()?;
    let version = value.split(';').find_map(|p| p.trim().strip_prefix("fhirVersion="))?;
    Some(version.starts_with("3.0"))
}

impl FhirVersion {
    /// The version `requester` is answered in.
    pub fn of_answer(registry: &Registry, requester: &str, headers: &HeaderMap) -> Self {
        if let Some(stu3) = names_stu3(headers, header::ACCEPT) {
            return if stu3 { Self::Stu3 } else { Self::R4 };
        }
        let only_stu3 = registry.get(requester).is_some_and(|org| {
            let has = |p: Protocol| org.endpoints.iter().any(|e| e.protocol == p);
            has(Protocol::FhirStu3) && !has(Protocol::FhirR4)
        });
        if only_stu3 { Self::Stu3 } else { Self::R4 }
    }

    /// The version of a request's body.
    fn of_body(headers: &HeaderMap) -> Self {
        if names_stu3(headers, header::CONTENT_TYPE) == Some(true) {
            Self::Stu3
        } else {
            Self::R4
        }
    }

    /// A body in this version as R4.
    pub fn into_r4(self, body: Value) -> Result<Value, ApiError> {
        match self {
            Self::R4 => Ok(body),
            Self::Stu3 => {
                let converted = zorgpoort_stu3::to_r4(&body)
                    .map_err(|e| ApiError::new(Problem::Invalid, format!("STU3 to R4: {e}")))?;
                if !converted.warnings.is_empty() {
                    let places: Vec<&str> = converted.warnings.iter().map(|w| w.location.as_str()).collect();
                    tracing::info!(lost = ?places, "parts have no FHIR R4 form");
                }
                Ok(converted.resource)
            }
        }
    }

    /// An answer made in R4, in this version.
    pub fn respond(self, status: StatusCode, r4: String) -> Result<Response, ApiError> {
        match self {
            Self::R4 => Ok(fhir_json(status, r4)),
            Self::Stu3 => {
                let stu3 = in_stu3(&r4)
                    .map_err(|why| ApiError::new(Problem::NotSupported, format!("no FHIR STU3 form: {why}")))?;
                let mut response = fhir_json(status, stu3);
                response
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static(STU3_JSON));
                Ok(response)
            }
        }
    }
}

/// A FHIR JSON resource of `resource_type` in the body as R4, whichever
/// version its `Content-Type` names.
pub async fn read_as_r4(request: axum::extract::Request, resource_type: &str, limit: usize) -> Result<Value, ApiError> {
    let version = FhirVersion::of_body(request.headers());
    let resource = crate::extract::read_resource(request, resource_type, limit).await?;
    version.into_r4(Value::Object(resource))
}
