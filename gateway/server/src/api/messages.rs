//! The message API: synchronous conversion (`POST /hl7v2`, `POST
//! /convert/{format}`), intake (`POST /messages/{format}`) and a message's
//! state (`GET /messages/{id}`). Bodies are read by [`Er7Body`] or
//! [`crate::extract::read_body`] with their own size limit, so an oversized body is an
//! OperationOutcome too.

use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use zorgpoort_formats::Format;
use zorgpoort_metrics::catalogue;
use zorgpoort_model::datatypes::PartialDateTime;
use zorgpoort_model::{Object, Value};
use zorgpoort_store::Store;

use super::AppState;
use crate::auth::Requester;
use crate::extract::read_body;
use crate::outcome::{ApiError, Problem, fhir_json};

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
        let duplicate = if message.duplicate { "true" } else { "false" };
        state
            .metrics
            .increment(&catalogue::MESSAGES_ACCEPTED, &[format.name(), duplicate]);
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

/// `GET /messages/{id}`: for the organisation that sent it, one that
/// receives it, or an audit reader; to anyone else it does not exist. Only
/// an anonymous caller of the demo region sees every message.
pub(crate) async fn message_status<S: Store>(
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
    requester: Option<Requester>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::new(Problem::NotFound, format!("no message {id:?}"));
    let record = state.store.message(&id).await?.ok_or_else(not_found)?;
    if let Some(requester) = requester {
        let org = requester.organization.as_str();
        let sent = record.sender == org || state.registry.by_sender(&record.sender).is_some_and(|o| o.id == org);
        let receives = record.deliveries.iter().any(|d| d.receiver == org);
        if !(sent || receives || requester.audit_reader) {
            return Err(not_found());
        }
    }
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
