//! Errors as FHIR OperationOutcomes: one table maps each kind of failure to
//! its HTTP status, its issue code and, for MLLP, its ACK code.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use zorgpoort_hl7v2::AckCode;
use zorgpoort_model::Object;

/// What went wrong, in the terms a caller can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// The content is wrong (parse or mapping error).
    Invalid,
    /// The body is larger than allowed.
    TooLarge,
    /// The body's media type is not accepted here.
    UnsupportedMediaType,
    /// The caller accepts no media type the gateway answers in.
    NotAcceptable,
    /// Nothing at this path or with this id.
    NotFound,
    /// The gateway is overloaded; try again later.
    Overloaded,
    /// Storage is not available; try again later.
    Unavailable,
    /// The request took too long.
    Timeout,
    /// The format or operation is not supported.
    NotSupported,
    /// The path exists, the method does not.
    MethodNotAllowed,
    /// No authenticated caller.
    Unauthenticated,
    /// An authenticated caller without the right.
    Forbidden,
    /// The resource changed while the caller changed it.
    Conflict,
    /// The caller's `If-Match` names a version that is no longer current.
    PreconditionFailed,
    /// An upstream (a holder's endpoint) failed or could not be reached.
    Upstream,
}

impl Problem {
    /// HTTP status, OperationOutcome issue code, HL7 v2 ACK code.
    fn table(self) -> (StatusCode, &'static str, AckCode) {
        match self {
            Self::Invalid => (StatusCode::UNPROCESSABLE_ENTITY, "invalid", AckCode::Error),
            Self::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "too-costly", AckCode::Error),
            Self::UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "not-supported", AckCode::Error),
            Self::NotAcceptable => (StatusCode::NOT_ACCEPTABLE, "not-supported", AckCode::Error),
            Self::NotFound => (StatusCode::NOT_FOUND, "not-found", AckCode::Error),
            Self::Overloaded => (StatusCode::SERVICE_UNAVAILABLE, "throttled", AckCode::Reject),
            Self::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "transient", AckCode::Reject),
            Self::Timeout => (StatusCode::GATEWAY_TIMEOUT, "timeout", AckCode::Reject),
            Self::NotSupported => (StatusCode::NOT_FOUND, "not-supported", AckCode::Error),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "not-supported", AckCode::Error),
            Self::Unauthenticated => (StatusCode::UNAUTHORIZED, "login", AckCode::Reject),
            Self::Forbidden => (StatusCode::FORBIDDEN, "forbidden", AckCode::Reject),
            Self::Conflict => (StatusCode::CONFLICT, "conflict", AckCode::Error),
            Self::PreconditionFailed => (StatusCode::PRECONDITION_FAILED, "conflict", AckCode::Error),
            Self::Upstream => (StatusCode::BAD_GATEWAY, "exception", AckCode::Reject),
        }
    }

    /// The MSA-1 code for this problem.
    pub fn ack_code(self) -> AckCode {
        self.table().2
    }
}

/// An error response: an OperationOutcome with one issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The kind of failure.
    pub problem: Problem,
    /// What happened, for a person; never patient data beyond the bad value.
    pub diagnostics: String,
    /// Where (a FHIRPath expression, or an HL7 v2 location such as `PID-7`).
    pub expression: Option<String>,
    /// Validation findings; when present they are the OperationOutcome.
    pub findings: Vec<zorgpoort_profiles::Issue>,
}

impl ApiError {
    /// An error without a location.
    pub fn new(problem: Problem, diagnostics: impl Into<String>) -> Self {
        Self {
            problem,
            diagnostics: diagnostics.into(),
            expression: None,
            findings: Vec::new(),
        }
    }

    /// Invalid content or parameters at `expression`.
    pub fn invalid(expression: &str, diagnostics: impl Into<String>) -> Self {
        Self {
            problem: Problem::Invalid,
            diagnostics: diagnostics.into(),
            expression: Some(expression.to_owned()),
            findings: Vec::new(),
        }
    }

    /// Data refused because it does not validate; the answer lists every
    /// finding.
    pub fn nonconformant(findings: crate::validation::Nonconformant) -> Self {
        let (expression, _) = findings.first();
        Self {
            problem: Problem::Invalid,
            diagnostics: format!("does not conform to the FHIR R4 schema and nl-core profiles: {findings}"),
            expression: Some(expression.to_owned()),
            findings: findings.0,
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        self.problem.table().0
    }

    /// The OperationOutcome of this error, as JSON.
    pub fn outcome_json(&self) -> String {
        if !self.findings.is_empty() {
            return zorgpoort_profiles::operation_outcome(&self.findings).to_string();
        }
        outcome(
            "error",
            self.problem.table().1,
            &self.diagnostics,
            self.expression.as_deref(),
        )
    }
}

/// An OperationOutcome with one issue.
pub fn outcome(severity: &str, code: &str, diagnostics: &str, expression: Option<&str>) -> String {
    let issue = Object::new()
        .with("severity", severity)
        .with("code", code)
        .with("diagnostics", diagnostics)
        .with("expression", expression.map(|e| vec![zorgpoort_model::Value::from(e)]));
    Object::new()
        .with("resourceType", "OperationOutcome")
        .with("issue", vec![issue])
        .to_json()
}

/// The media type of FHIR JSON.
pub const FHIR_JSON: &str = "application/fhir+json";

/// A FHIR JSON response.
pub fn fhir_json(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON))],
        body,
    )
        .into_response()
}

/// A searchset Bundle of resources given as JSON text.
pub fn searchset<R: AsRef<str>>(resources: impl IntoIterator<Item = R>) -> Response {
    fhir_json(StatusCode::OK, bundle_of("searchset", resources))
}

/// A Bundle of `kind` (`searchset` with its `total`, `collection`) holding
/// resources given as JSON text, in order.
pub fn bundle_of<R: AsRef<str>>(kind: &str, resources: impl IntoIterator<Item = R>) -> String {
    let entries: Vec<String> = resources
        .into_iter()
        .map(|r| format!("{{\"resource\":{}}}", r.as_ref()))
        .collect();
    let total = if kind == "searchset" {
        format!(",\"total\":{}", entries.len())
    } else {
        String::new()
    };
    let entry = if entries.is_empty() {
        String::new()
    } else {
        format!(",\"entry\":[{}]", entries.join(","))
    };
    format!("{{\"resourceType\":\"Bundle\",\"type\":\"{kind}\"{total}{entry}}}")
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, _, _) = self.problem.table();
        let mut response = fhir_json(status, self.outcome_json());
        if matches!(self.problem, Problem::Overloaded | Problem::Unavailable) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

impl From<zorgpoort_hl7v2::Error> for ApiError {
    fn from(error: zorgpoort_hl7v2::Error) -> Self {
        Self {
            problem: Problem::Invalid,
            diagnostics: error.kind.to_string(),
            expression: error.location.map(|l| l.to_string()),
            findings: Vec::new(),
        }
    }
}
