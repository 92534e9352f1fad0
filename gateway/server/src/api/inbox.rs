//! The demo inbox (`server.demo_inbox`): the receiver behind the demo
//! region's endpoints, so a message sent in can be seen delivered at
//! `GET /demo/inbox/{organization}`. It keeps a line per body, never the body.

use std::collections::BTreeMap;
use std::sync::Mutex;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use zorgpoort_store::Store;

use super::AppState;
use crate::outcome::{ApiError, FHIR_JSON, Problem, fhir_json, outcome};

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
