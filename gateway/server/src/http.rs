//! The handlers of the message API (conversion, intake, message status),
//! the registry's FHIR resources, the capability statement and the demo
//! inbox, with the state all handlers share. [`crate::router`] assembles
//! them. Bodies are read by [`Er7Body`] with its own size limit, so an
//! oversized body is an OperationOutcome too.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use zorgpoort_formats::Format;
use zorgpoort_handover::{ConsentCheck, Registry};
use zorgpoort_model::datatypes::PartialDateTime;
use zorgpoort_model::{Object, Value};
use zorgpoort_store::Store;

use crate::auth::Requester;
use crate::extract::FhirId;
use crate::intake::Intake;
use crate::metrics::Metrics;
use crate::outcome::{ApiError, FHIR_JSON, Problem, fhir_json, outcome, searchset};

/// What the handlers share.
pub struct AppState<S> {
    /// The message path.
    pub intake: Arc<Intake<S>>,
    /// The store, for status queries.
    pub store: S,
    /// The region registry.
    pub registry: Arc<Registry>,
    /// Decides what of a patient's data an organisation may have.
    pub consent: Arc<ConsentCheck>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Largest body accepted.
    pub max_body_bytes: usize,
    /// What happens to incoming FHIR that does not validate.
    pub validation: crate::validation::ValidationMode,
    /// The demo receivers' inbox, when enabled.
    pub inbox: Option<Arc<Inbox>>,
    /// Handovers: pickup time and the gateway's public FHIR base.
    pub handover: zorgpoort_handover::HandoverConfig,
    /// The client for holders' endpoints (proxied reads).
    pub upstream: zorgpoort_handover::Upstream,
}

impl<S: Clone> Clone for AppState<S> {
    fn clone(&self) -> Self {
        Self {
            intake: Arc::clone(&self.intake),
            store: self.store.clone(),
            registry: Arc::clone(&self.registry),
            consent: Arc::clone(&self.consent),
            metrics: Arc::clone(&self.metrics),
            max_body_bytes: self.max_body_bytes,
            validation: self.validation,
            inbox: self.inbox.clone(),
            handover: self.handover.clone(),
            upstream: self.upstream.clone(),
        }
    }
}

/// An HL7 v2 body (`x-application/hl7-v2+er7`, `application/hl7-v2` or
/// `text/plain`), read up to the configured limit.
pub struct Er7Body(pub Vec<u8>);

const ER7_MEDIA_TYPES: &[&str] = &["x-application/hl7-v2+er7", "application/hl7-v2", "text/plain"];

impl<S: Store> FromRequest<AppState<S>> for Er7Body {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState<S>) -> Result<Self, ApiError> {
        let body = read_body(request, ER7_MEDIA_TYPES, state.max_body_bytes).await?;
        Ok(Self(body.to_vec()))
    }
}

/// The body of a request whose Content-Type is one of `accepted` (415
/// otherwise), read up to `limit` bytes (413 beyond).
pub(crate) async fn read_body(
    request: Request,
    accepted: &[&str],
    limit: usize,
) -> Result<axum::body::Bytes, ApiError> {
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

pub(crate) async fn convert_hl7v2<S: Store>(
    State(state): State<AppState<S>>,
    requester: Option<Requester>,
    Er7Body(body): Er7Body,
) -> Result<Response, ApiError> {
    respond_converted(&state, &body, requester.map(|r| r.organization)).await
}

async fn respond_converted<S: Store>(
    state: &AppState<S>,
    body: &[u8],
    requester: Option<String>,
) -> Result<Response, ApiError> {
    let (bundle, warnings) = state.intake.convert_hl7v2(body, requester).await?;
    Ok(converted_response(bundle, warnings.len()))
}

/// 200 with a converted Bundle and the number of mapping warnings, which
/// say where, never what: safe to return in a header.
fn converted_response(body: String, warnings: usize) -> Response {
    let mut response = fhir_json(StatusCode::OK, body);
    response
        .headers_mut()
        .insert("x-zorgpoort-warnings", HeaderValue::from(warnings));
    response
}

pub(crate) async fn convert<S: Store>(
    state: State<AppState<S>>,
    Path(format): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    let format = known_format(&format)?;
    let requester = Requester::organization_of(&request);
    if format == Format::Hl7v2 {
        let Er7Body(body) = Er7Body::from_request(request, &state.0).await?;
        return respond_converted(&state.0, &body, requester).await;
    }
    let body = read_body(request, format.media_types(), state.max_body_bytes).await?;
    let mut converted = state.intake.convert(format, &body, requester).await?;
    let warnings: usize = converted.iter().map(|(_, w)| w.len()).sum();
    // One message: its Bundle. Several (an interchange, an export): a
    // collection with one Bundle per message, in input order.
    let body = if converted.len() == 1 {
        converted.remove(0).0
    } else {
        crate::outcome::bundle_of("collection", converted.iter().map(|(bundle, _)| bundle))
    };
    Ok(converted_response(body, warnings))
}

/// The format named in a path, or a 404 listing the known ones.
fn known_format(name: &str) -> Result<Format, ApiError> {
    Format::from_name(name).ok_or_else(|| {
        let known: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
        ApiError::new(
            Problem::NotSupported,
            format!("format {name:?} is not supported; supported: {}", known.join(", ")),
        )
    })
}

pub(crate) async fn accept_message<S: Store>(
    State(state): State<AppState<S>>,
    Path(format): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    let format = known_format(&format)?;
    let now = zorgpoort_handover::delivery::now_ms();
    // The caller's organisation is part of each message's identity, and an
    // HL7 v2 sender must be one of its own.
    let requester = Requester::organization_of(&request);
    let received = if format == Format::Hl7v2 {
        let Er7Body(body) = Er7Body::from_request(request, &state).await?;
        // One stored message per message in the body, never one for all.
        state.intake.accept_hl7v2_all(&body, now, requester.as_deref()).await?
    } else {
        let body = read_body(request, format.media_types(), state.max_body_bytes).await?;
        state.intake.accept(format, &body, now, requester).await?
    };
    for message in &received {
        state.metrics.increment(
            "zorgpoort_messages_accepted_total",
            &[
                ("format", format.name()),
                ("duplicate", if message.duplicate { "true" } else { "false" }),
            ],
        );
    }
    // One issue per message, so each id stands on its own.
    let issues: Vec<serde_json::Value> = received
        .iter()
        .map(|message| {
            serde_json::json!({
                "severity": "information",
                "code": "informational",
                "diagnostics": message.summary(),
            })
        })
        .collect();
    let body = serde_json::json!({"resourceType": "OperationOutcome", "issue": issues});
    let mut response = fhir_json(StatusCode::ACCEPTED, body.to_string());
    // The first message's status; the others are named in the outcome.
    if let Some(location) = received
        .first()
        .and_then(|m| HeaderValue::from_str(&format!("/messages/{}", m.id)).ok())
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

fn timestamp(ms: i64) -> String {
    PartialDateTime::from_unix_ms(ms).to_fhir_datetime(zorgpoort_model::datatypes::LocalZone::Utc)
}

pub(crate) async fn message_status<S: Store>(
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let record = state
        .store
        .message(&id)
        .await?
        .ok_or_else(|| ApiError::new(Problem::NotFound, format!("no message {id:?}")))?;
    let deliveries: Vec<Object<'_>> = record
        .deliveries
        .iter()
        .map(|d| {
            Object::new()
                .with("id", Value::Num(d.id.to_string().into()))
                .with("receiver", d.receiver.as_str())
                .with("endpoint", d.endpoint.as_str())
                .with("state", d.state.as_str())
                .with("attempts", Value::Num(d.attempts.to_string().into()))
                .with(
                    "nextAttempt",
                    (d.state == zorgpoort_store::DeliveryState::Pending).then(|| timestamp(d.next_attempt_ms)),
                )
                .with("lastError", d.last_error.as_deref())
        })
        .collect();
    let state_name = if record.deliveries.is_empty() {
        "no-receiver"
    } else if record
        .deliveries
        .iter()
        .all(|d| d.state == zorgpoort_store::DeliveryState::Delivered)
    {
        "delivered"
    } else if record
        .deliveries
        .iter()
        .any(|d| d.state == zorgpoort_store::DeliveryState::Dead)
    {
        "dead-letter"
    } else {
        "pending"
    };
    let body = Object::new()
        .with("id", record.id.as_str())
        .with("sender", record.sender.as_str())
        .with("controlId", record.control_id.as_str())
        .with("format", record.format.as_str())
        .with("received", timestamp(record.received_ms))
        .with("state", state_name)
        .with("deliveries", deliveries)
        .to_json();
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

pub(crate) async fn capability_statement() -> Response {
    let resource = |kind: &'static str, interactions: &[&'static str]| {
        let interactions: Vec<Object<'static>> = interactions.iter().map(|i| Object::new().with("code", *i)).collect();
        // Object leaves an empty list out, as FHIR requires.
        Object::new().with("type", kind).with("interaction", interactions)
    };
    let statement = Object::new()
        .with("resourceType", "CapabilityStatement")
        .with("status", "active")
        .with("date", "2026-11-25")
        .with("kind", "instance")
        .with(
            "software",
            Object::new()
                .with("name", "zorgpoort")
                .with("version", env!("CARGO_PKG_VERSION")),
        )
        .with("fhirVersion", "4.0.1")
        .with("format", vec![Value::from(FHIR_JSON), Value::from("json")])
        .with(
            "rest",
            vec![Object::new().with("mode", "server").with(
                "resource",
                vec![
                    resource("Organization", &["read", "search-type"]),
                    resource("Endpoint", &["read", "search-type"]),
                    resource("Consent", &["read", "search-type", "create", "update"]),
                    resource("Bundle", &["read"]),
                    resource("Task", &["read", "search-type", "create", "update"]),
                    resource("Composition", &["read"]).with(
                        "operation",
                        vec![Object::new().with("name", "document").with(
                            "definition",
                            "http://hl7.org/fhir/OperationDefinition/Composition-document",
                        )],
                    ),
                    resource("AuditEvent", &["search-type"]),
                ],
            )],
        );
    fhir_json(StatusCode::OK, statement.to_json())
}

pub(crate) async fn organizations<S: Store>(State(state): State<AppState<S>>) -> Response {
    searchset(
        state
            .registry
            .iter()
            .map(|org| Registry::organization_resource(org).to_json()),
    )
}

pub(crate) async fn organization<S: Store>(
    State(state): State<AppState<S>>,
    FhirId(id): FhirId,
) -> Result<Response, ApiError> {
    let org = state
        .registry
        .get(&id)
        .ok_or_else(|| ApiError::new(Problem::NotFound, format!("no Organization/{id}")))?;
    Ok(fhir_json(
        StatusCode::OK,
        Registry::organization_resource(org).to_json(),
    ))
}

pub(crate) async fn endpoints<S: Store>(State(state): State<AppState<S>>) -> Response {
    searchset(
        state
            .registry
            .iter()
            .flat_map(Registry::endpoint_resources)
            .map(|(_, r)| r.to_json()),
    )
}

pub(crate) async fn endpoint<S: Store>(State(state): State<AppState<S>>, FhirId(id): FhirId) -> Result<Response, ApiError> {
    state
        .registry
        .iter()
        .flat_map(Registry::endpoint_resources)
        .find(|(endpoint_id, _)| *endpoint_id == id)
        .map(|(_, r)| fhir_json(StatusCode::OK, r.to_json()))
        .ok_or_else(|| ApiError::new(Problem::NotFound, format!("no Endpoint/{id}")))
}

/// What the demo receivers were sent, newest last, a bounded number each.
#[derive(Debug, Default)]
pub struct Inbox {
    received: Mutex<BTreeMap<String, Vec<Received>>>,
}

/// One body a demo receiver was sent: a delivered Bundle (at
/// `/demo/inbox/{org}`) or a handover notification (at `/demo/inbox/{org}/Task`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Its `resourceType` (`Bundle`, `Task`).
    pub resource_type: String,
    /// `STU3` when the Content-Type said `fhirVersion=3.0`, else `R4`.
    pub fhir_version: &'static str,
    /// A line about it: the Bundle's id and entry count, or the Task's address.
    pub summary: String,
}

impl Received {
    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "resourceType": self.resource_type,
            "fhirVersion": self.fhir_version,
            "summary": self.summary,
        })
    }
}

impl Inbox {
    /// What `org` was sent so far, oldest first.
    pub fn received(&self, org: &str) -> Vec<Received> {
        self.received
            .lock()
            .ok()
            .and_then(|r| r.get(org).cloned())
            .unwrap_or_default()
    }
}

/// Bodies kept per demo receiver.
const INBOX_SIZE: usize = 100;

/// The line the inbox keeps about a body: never patient data, which a
/// notification has none of and a Bundle is reduced to its id and size.
fn inbox_summary(body: &serde_json::Value) -> String {
    match body["resourceType"].as_str() {
        Some("Task") => format!(
            "Task notification for {}",
            body.pointer("/basedOn/0/reference")
                .or_else(|| body.pointer("/focus/reference"))
                .and_then(serde_json::Value::as_str)
                .unwrap_or("(no Task address)")
        ),
        _ => format!(
            "Bundle {} with {} entries",
            body["id"].as_str().unwrap_or("(no id)"),
            body["entry"].as_array().map_or(0, Vec::len)
        ),
    }
}

pub(crate) async fn inbox_receive<S: Store>(
    State(state): State<AppState<S>>,
    Path(org): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let Some(inbox) = state.inbox.as_ref() else {
        return Err(ApiError::new(Problem::NotFound, "no demo inbox"));
    };
    if state.registry.get(&org).is_none() {
        return Err(ApiError::new(
            Problem::NotFound,
            format!("no organization {org:?} in the registry"),
        ));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type.starts_with(FHIR_JSON) {
        return Err(ApiError::new(
            Problem::UnsupportedMediaType,
            format!("Content-Type must be {FHIR_JSON}"),
        ));
    }
    let stu3 = content_type.split(';').any(|p| {
        p.trim()
            .strip_prefix("fhirVersion=")
            .is_some_and(|v| v.starts_with("3.0"))
    });
    let bytes = axum::body::to_bytes(body, state.max_body_bytes)
        .await
        .map_err(|_| ApiError::new(Problem::TooLarge, "the body is too large"))?;
    let parsed: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| ApiError::new(Problem::Invalid, format!("not JSON: {e}")))?;
    let received = Received {
        resource_type: parsed["resourceType"].as_str().unwrap_or("(none)").to_owned(),
        fhir_version: if stu3 { "STU3" } else { "R4" },
        summary: inbox_summary(&parsed),
    };
    if let Ok(mut all) = inbox.received.lock() {
        let list = all.entry(org).or_default();
        list.push(received);
        if list.len() > INBOX_SIZE {
            list.remove(0);
        }
    }
    Ok(fhir_json(
        StatusCode::OK,
        outcome("information", "informational", "received by the demo inbox", None),
    ))
}

pub(crate) async fn inbox_list<S: Store>(State(state): State<AppState<S>>, Path(org): Path<String>) -> Response {
    let received: Vec<serde_json::Value> = state
        .inbox
        .as_ref()
        .map(|inbox| inbox.received(&org).iter().map(Received::to_json).collect())
        .unwrap_or_default();
    (
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::json!({ "organization": org, "received": received }).to_string(),
    )
        .into_response()
}
