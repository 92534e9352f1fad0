//! The BgZ over FHIR (see [`zorgpoort_handover::bgz`]):
//!
//! - `GET /fhir/{type}?...&patient.identifier=http://fhir.nl/fhir/NamingSystem/bsn|{bsn}`
//!   and `GET /fhir/Observation/$lastn?...` answer one BgZ search from what the
//!   gateway holds for the patient (`Patient?identifier=...` for the Patient);
//! - `POST /fhir` with a `batch` Bundle of such GETs answers them all, each
//!   entry with its own status, as the BgZ is usually fetched.
//!
//! Each answer is decided by the patient's choices per data category (a
//! withheld category is left out and named in `meta.tag`) and audited as a
//! read, like every other disclosure.

use axum::extract::{FromRequestParts, Path, RawQuery, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use zorgpoort_handover::bgz::{Pool, SearchError, parse};
use zorgpoort_store::Store;

use crate::api::AppState;
use crate::api::bundles::{Asker, Disclosure, RECENT, handed_over, received, release};
use crate::extract::read_resource;
use crate::outcome::{ApiError, Problem};

/// Most searches in one batch.
const MAX_BATCH_ENTRIES: usize = 64;

/// `GET /fhir/{type}`: one BgZ search.
pub async fn search<S: Store>(
    State(state): State<AppState<S>>,
    Path(resource_type): Path<String>,
    RawQuery(query): RawQuery,
    asker: Asker,
) -> Result<Response, ApiError> {
    let version = asker.version;
    let line = format!("{resource_type}?{}", query.unwrap_or_default());
    version.respond(StatusCode::OK, answer(&state, &asker, &line).await?)
}

/// The BgZ search of `resource_type` on a route that answers other requests
/// too (the registry's `Organization`, the patient's own `Consent`s): the
/// asker is read from the request only when it is a BgZ search.
pub async fn search_on_shared_route<S: Store>(
    state: &AppState<S>,
    resource_type: &str,
    query: &str,
    request: Request,
) -> Result<Response, ApiError> {
    let (mut parts, _) = request.into_parts();
    let asker = match Asker::from_request_parts(&mut parts, state).await {
        Ok(asker) => asker,
        Err(refused) => return Ok(refused),
    };
    let line = format!("{resource_type}?{query}");
    asker
        .version
        .respond(StatusCode::OK, answer(state, &asker, &line).await?)
}

/// `GET /fhir/Observation/$lastn`.
pub async fn lastn<S: Store>(
    State(state): State<AppState<S>>,
    RawQuery(query): RawQuery,
    asker: Asker,
) -> Result<Response, ApiError> {
    let version = asker.version;
    let line = format!("Observation/$lastn?{}", query.unwrap_or_default());
    version.respond(StatusCode::OK, answer(&state, &asker, &line).await?)
}

/// `POST /fhir`: a `batch` Bundle of BgZ searches.
pub async fn batch<S: Store>(
    State(state): State<AppState<S>>,
    asker: Asker,
    request: Request,
) -> Result<Response, ApiError> {
    let bundle = Value::Object(read_resource(request, "Bundle", state.max_body_bytes).await?);
    let mut answers = Vec::new();
    for url in batch_searches(&bundle)? {
        answers.push(match url {
            Ok(url) => answer(&state, &asker, url).await,
            Err(error) => Err(error),
        });
    }
    asker
        .version
        .respond(StatusCode::OK, batch_response(answers)?.to_string())
}

/// The searches of a `batch` Bundle: each entry's URL (relative to the FHIR
/// base) when it is a GET, else why not.
pub fn batch_searches(bundle: &Value) -> Result<Vec<Result<&str, ApiError>>, ApiError> {
    if bundle.get("resourceType").and_then(Value::as_str) != Some("Bundle")
        || bundle.get("type").and_then(Value::as_str) != Some("batch")
    {
        return Err(ApiError::invalid(
            "Bundle.type",
            "a batch Bundle of searches is expected",
        ));
    }
    let entries = bundle
        .get("entry")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if entries.len() > MAX_BATCH_ENTRIES {
        return Err(ApiError::invalid(
            "Bundle.entry",
            format!("at most {MAX_BATCH_ENTRIES} searches in one batch"),
        ));
    }
    Ok(entries
        .iter()
        .enumerate()
        .map(|(i, entry)| entry_search(i, entry))
        .collect())
}

fn entry_search(i: usize, entry: &Value) -> Result<&str, ApiError> {
    let method = entry.pointer("/request/method").and_then(Value::as_str);
    match (method, entry.pointer("/request/url").and_then(Value::as_str)) {
        (Some("GET"), Some(url)) => Ok(url),
        _ => Err(ApiError::invalid(
            &format!("Bundle.entry[{i}].request"),
            "each entry is a GET of a search",
        )),
    }
}

/// The `batch-response` to a batch's answers, each with its own status;
/// only an unavailable store fails the whole batch (try again later).
pub fn batch_response(answers: Vec<Result<String, ApiError>>) -> Result<Value, ApiError> {
    let mut entries = Vec::with_capacity(answers.len());
    for answered in answers {
        entries.push(match answered {
            Ok(found) => json!({
                "resource": serde_json::from_str::<Value>(&found).unwrap_or(Value::Null),
                "response": { "status": "200 OK" }
            }),
            Err(error) if error.problem == Problem::Unavailable => return Err(error),
            Err(error) => json!({
                "response": {
                    "status": error.status().as_u16().to_string(),
                    "outcome": serde_json::from_str::<Value>(&error.outcome_json()).unwrap_or(Value::Null)
                }
            }),
        });
    }
    let mut response = json!({ "resourceType": "Bundle", "type": "batch-response" });
    if !entries.is_empty() {
        response["entry"] = Value::Array(entries);
    }
    Ok(response)
}

/// A search the gateway cannot answer: an unknown type is not found (as
/// FHIR servers answer it), anything else is invalid.
fn refused(error: SearchError) -> ApiError {
    if error.parameter == "type" {
        ApiError::new(Problem::NotFound, error.reason)
    } else {
        ApiError::invalid(&error.parameter, error.reason)
    }
}

/// One search (`Type?query`, relative to the FHIR base) as a searchset
/// Bundle, as far as the patient's choices allow.
async fn answer<S: Store>(state: &AppState<S>, asker: &Asker, line: &str) -> Result<String, ApiError> {
    let search = parse(line).map_err(refused)?;
    let bsn = search.patient.clone().ok_or_else(|| {
        ApiError::invalid(
            "patient.identifier",
            "name the patient: patient.identifier=http://fhir.nl/fhir/NamingSystem/bsn|{bsn} \
             (identifier=... on Patient)",
        )
    })?;
    // The patient's messages are read once: for the pool, and for whether
    // the asker received any of them.
    let mut treating = handed_over(state, &asker.requester, &bsn).await?;
    let mut bundles = Vec::new();
    for id in state.store.messages_of(&bsn, RECENT).await? {
        let (Some(record), Some(body)) = (state.store.message(&id).await?, state.store.message_body(&id).await?) else {
            continue;
        };
        treating |= received(&record, &asker.requester);
        match state.intake.render(&record.format, &body) {
            Ok(rendered) => match serde_json::from_str(&rendered) {
                Ok(bundle) => bundles.push(bundle),
                Err(error) => tracing::error!(message_id = %id, %error, "a rendered message is not JSON"),
            },
            Err(error) => tracing::error!(message_id = %id, %error, "a stored message cannot be rendered"),
        }
    }
    let pool = Pool::new(&bundles, &bsn, &state.handover.public_base_url);
    let found = pool.searchset(&pool.search(&search)).to_string();
    let data = Disclosure {
        id: format!("bgz:{}", search.resource_type),
        format: "fhir-r4".to_owned(),
        stored: found.as_bytes(),
        bundle: found.clone(),
        patient: Some(bsn),
    };
    release(state, data, asker, treating).await
}
