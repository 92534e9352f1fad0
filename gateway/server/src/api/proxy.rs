//! `GET /fhir/proxy/{holder}/{path}`: reads and searches forwarded to a
//! registered holder's FHIR endpoint (its base from the registry), over the
//! gateway's pooled upstream client (mutual TLS where configured);
//! `POST /fhir/proxy/{holder}` takes a `batch` of them, such as the BgZ
//! searches, each decided on its own. The requester's own credentials never
//! travel on; the gateway authenticates itself.
//!
//! The answer is decided like every disclosure: it must concern one patient
//! (named by BSN in what comes back; a search over several patients is
//! refused), the patient's choices filter it per data category, and the read
//! is audited. A STU3 holder's answer is read as R4 first and given back in
//! the requester's version. An upstream that fails or refuses comes back as
//! an OperationOutcome carrying the upstream's status and detail.
//!
//! The answer is read in pieces up to the body limit, then decided as a
//! whole: a consent filter needs all of it before anything may go.

use std::collections::BTreeSet;
use std::time::Duration;

use axum::extract::{Path, RawQuery, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::header;
use serde_json::{Value, json};
use zorgpoort_handover::delivery::STU3_JSON;
use zorgpoort_handover::{Protocol, Registry};
use zorgpoort_model::systems;
use zorgpoort_store::Store;

use crate::api::AppState;
use crate::api::bgz::{batch_response, batch_searches};
use crate::api::bundles::{Asker, Disclosure, release, treats};
use crate::extract::read_resource;
use crate::outcome::{ApiError, Problem};
use crate::version::FhirVersion;

/// Longest path and query forwarded.
const MAX_TARGET_BYTES: usize = 2048;
/// Time a holder has to answer.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(20);

/// The FHIR base of a holder, and whether it speaks STU3.
fn holder_base<'r>(registry: &'r Registry, holder: &str) -> Result<(&'r str, bool), ApiError> {
    let org = registry
        .get(holder)
        .ok_or_else(|| ApiError::new(Problem::NotFound, format!("no holder {holder:?} in the registry")))?;
    [Protocol::FhirR4, Protocol::FhirStu3]
        .into_iter()
        .find_map(|p| org.endpoints.iter().find(|e| e.protocol == p))
        .map(|e| (e.address.trim_end_matches('/'), e.protocol == Protocol::FhirStu3))
        .ok_or_else(|| {
            ApiError::new(
                Problem::NotFound,
                format!("{holder:?} has no FHIR endpoint in the registry"),
            )
        })
}

/// Only plain FHIR paths go upstream: no `..`, no empty segments, no
/// characters outside those FHIR types, ids and operations use.
fn checked_path(path: &str) -> Result<&str, ApiError> {
    let fine = |segment: &str| {
        !segment.is_empty()
            && segment != "."
            && segment != ".."
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'$'))
    };
    if path.split('/').all(fine) {
        Ok(path)
    } else {
        Err(ApiError::invalid("path", "not a FHIR read or search path"))
    }
}

/// Every BSN named anywhere in a resource (identifiers of the Patient, and
/// of references to it).
fn patients_named(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if map.get("system").and_then(Value::as_str) == Some(systems::BSN)
                && let Some(bsn) = map.get("value").and_then(Value::as_str)
            {
                found.insert(bsn.to_owned());
            }
            map.values().for_each(|v| patients_named(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| patients_named(v, found)),
        _ => {}
    }
}

/// An upstream failure as our OperationOutcome, with the upstream's detail.
fn upstream_error(holder: &str, status: StatusCode, body: &[u8]) -> ApiError {
    let detail = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|outcome| {
            outcome
                .pointer("/issue/0/diagnostics")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(500)]).trim().to_owned());
    let problem = match status {
        StatusCode::NOT_FOUND | StatusCode::GONE => Problem::NotFound,
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => Problem::Invalid,
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Problem::Forbidden,
        _ => Problem::Upstream,
    };
    ApiError::new(problem, format!("holder {holder} answered {status}: {detail}"))
}

/// `GET /fhir/proxy/{holder}/{*path}`.
pub async fn read<S: Store>(
    State(state): State<AppState<S>>,
    Path((holder, path)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    asker: Asker,
) -> Result<Response, ApiError> {
    let target = match &query {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    let answer = forward(&state, &asker, &holder, &target).await?;
    asker.version.respond(StatusCode::OK, answer)
}

/// `POST /fhir/proxy/{holder}`: a `batch` of GET searches (the BgZ, say),
/// each forwarded and decided as a read of its own.
pub async fn batch<S: Store>(
    State(state): State<AppState<S>>,
    Path(holder): Path<String>,
    asker: Asker,
    request: Request,
) -> Result<Response, ApiError> {
    let bundle = serde_json::Value::Object(read_resource(request, "Bundle", state.max_body_bytes).await?);
    let mut answers = Vec::new();
    for target in batch_searches(&bundle)? {
        answers.push(match target {
            Ok(target) => forward(&state, &asker, &holder, target.trim_start_matches('/')).await,
            Err(error) => Err(error),
        });
    }
    asker
        .version
        .respond(StatusCode::OK, batch_response(answers)?.to_string())
}

/// One read or search (`path?query`) at `holder`, as far as the patient's
/// choices let the asker have it, in R4.
async fn forward<S: Store>(state: &AppState<S>, asker: &Asker, holder: &str, target: &str) -> Result<String, ApiError> {
    let (base, holder_stu3) = holder_base(&state.registry, holder)?;
    let path = checked_path(target.split_once('?').map_or(target, |(path, _)| path))?;
    if target.len() > MAX_TARGET_BYTES {
        return Err(ApiError::invalid(
            "path",
            format!("longer than {MAX_TARGET_BYTES} bytes"),
        ));
    }
    let accept = if holder_stu3 {
        STU3_JSON
    } else {
        "application/fhir+json"
    };
    let upstream_request = hyper::Request::get(format!("{base}/{target}"))
        .header(header::ACCEPT, accept)
        .body(Full::new(Bytes::new()))
        .map_err(|_| ApiError::invalid("path", "not a valid URL once joined to the holder's base"))?;
    let unreachable =
        |why: String| ApiError::new(Problem::Upstream, format!("holder {holder} cannot be reached: {why}"));
    let response = tokio::time::timeout(UPSTREAM_TIMEOUT, state.upstream.request(upstream_request))
        .await
        .map_err(|_| unreachable("no answer in time".into()))?
        .map_err(|e| unreachable(e.to_string()))?;
    let status = response.status();
    let body = tokio::time::timeout(
        UPSTREAM_TIMEOUT,
        Limited::new(response.into_body(), state.max_body_bytes).collect(),
    )
    .await
    .map_err(|_| unreachable("the answer took too long".into()))?
    .map_err(|e| unreachable(format!("reading the answer: {e}")))?
    .to_bytes();
    if !status.is_success() {
        return Err(upstream_error(holder, status, &body));
    }
    let answer: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(Problem::Upstream, format!("holder {holder} answered no JSON: {e}")))?;
    let answer = if holder_stu3 {
        FhirVersion::Stu3.into_r4(answer)?
    } else {
        answer
    };

    let mut patients = BTreeSet::new();
    patients_named(&answer, &mut patients);
    if patients.len() > 1 {
        return Err(ApiError::new(
            Problem::Forbidden,
            "the answer concerns several patients; ask for one (patient.identifier)",
        ));
    }
    let patient = patients.pop_first();
    let treating = match &patient {
        Some(bsn) => treats(state, &asker.requester, bsn).await?,
        None => false,
    };
    // The consent filter works on Bundles: a single resource is decided as one.
    let single = answer.get("resourceType").and_then(Value::as_str) != Some("Bundle");
    let bundle = if single {
        json!({ "resourceType": "Bundle", "type": "collection", "entry": [{ "resource": answer }] })
    } else {
        answer
    };
    let data = Disclosure {
        id: format!("proxy:{holder}/{path}"),
        format: "fhir-r4".to_owned(),
        stored: &body,
        bundle: bundle.to_string(),
        patient,
    };
    let released = release(state, data, asker, treating).await?;
    if !single {
        return Ok(released);
    }
    let bundle: Value = serde_json::from_str(&released)
        .map_err(|_| ApiError::new(Problem::Upstream, "the answer could not be decided"))?;
    bundle
        .pointer("/entry/0/resource")
        .map(Value::to_string)
        .ok_or_else(|| ApiError::new(Problem::Forbidden, "the patient's choices withhold this resource"))
}
