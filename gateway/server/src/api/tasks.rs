//! eOverdracht over FHIR (see [`zorgpoort_handover::overdracht`]):
//!
//! - `POST /fhir/Task`: a sender asks for a handover of a document the
//!   gateway holds (`Bundle/{id}` in `focus` or `input`). The patient's
//!   choices are checked for the receiver first; a refusal is a 403 naming the
//!   rule, and is audited like the handover itself.
//! - `GET /fhir/Task/{id}` and `GET /fhir/Task?status=...`: the Tasks the
//!   asking organisation sent or receives; no other organisation sees them.
//! - `PUT /fhir/Task/{id}`: the receiver moves it on (accepted, rejected, in
//!   progress, completed), the sender may withdraw it (cancelled). Only the
//!   status and its reason change; `If-Match` guards against lost updates.
//! - `GET /fhir/Composition/{id}/$document` (and `GET /fhir/Composition/{id}`
//!   for the Composition alone): the handed-over document for the Task's two
//!   organisations, consent-checked and audited per read.
//!
//! Who asks is the authenticated organisation (or, without mutual TLS, the
//! `X-Zorgpoort-Requester` header), as for every read of patient data.

use std::collections::BTreeMap;

use crate::extract::FhirId;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;
use zorgpoort_audit::{Action, AuditEvent, Outcome};
use zorgpoort_consent::Purpose;
use zorgpoort_handover::delivery::now_ms;
use zorgpoort_handover::overdracht::{
    self, Handover, Opened, Opening, Party, TaskStatus, composition_of, may_change, read_change, read_request,
};
use zorgpoort_handover::{HandoverRequest, Registry, TaskError};
use zorgpoort_store::{MessageRecord, Store, TaskRecord};

use crate::api::AppState;
use crate::api::bundles::{Asker, consent_unavailable, disclose, refused};
use crate::outcome::{ApiError, Problem, bundle_of};
use crate::version::{FhirVersion, read_as_r4};

/// Most Tasks in one search answer.
const MAX_SEARCH_RESULTS: usize = 200;

fn invalid(error: TaskError) -> ApiError {
    ApiError::invalid(&error.expression, error.reason)
}

fn task_response(
    version: FhirVersion,
    status: StatusCode,
    handover: &Handover,
    registry: &Registry,
) -> Result<Response, ApiError> {
    let mut response = version.respond(status, handover.task(registry).to_string())?;
    let headers = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&format!("W/\"{}\"", handover.version)) {
        headers.insert(header::ETAG, etag);
    }
    Ok(response)
}

/// The answer to a create: 201 with `Location: [base]/Task/{id}/_history/{vid}`.
fn task_created(
    version: FhirVersion,
    handover: &Handover,
    registry: &Registry,
    base: &str,
) -> Result<Response, ApiError> {
    let mut response = task_response(version, StatusCode::CREATED, handover, registry)?;
    let location = format!("{base}/Task/{}/_history/{}", handover.id, handover.version);
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// The document a handover hands over, as the gateway holds it.
struct HeldDocument {
    record: MessageRecord,
    body: Vec<u8>,
    /// Its FHIR form.
    bundle: String,
    /// Its Composition's id.
    composition: String,
}

/// The document a request names: one the requester sent, with a FHIR form
/// that is a document Bundle.
async fn held_document<S: Store>(state: &AppState<S>, wanted: &HandoverRequest) -> Result<HeldDocument, ApiError> {
    let no_document = || {
        ApiError::invalid(
            "Task.focus",
            format!("the gateway holds no Bundle/{} of the requester", wanted.document),
        )
    };
    let record = state.store.message(&wanted.document).await?.ok_or_else(no_document)?;
    if state
        .registry
        .by_sender(&record.sender)
        .is_none_or(|o| o.id != wanted.requester)
    {
        return Err(no_document());
    }
    let body = state.store.message_body(&record.id).await?.ok_or_else(no_document)?;
    let no_fhir_form = || ApiError::invalid("Task.focus", "the document has no FHIR form");
    let bundle = state.intake.render(&record.format, &body).map_err(|_| no_fhir_form())?;
    let parsed: Value = serde_json::from_str(&bundle).map_err(|_| no_fhir_form())?;
    let composition = composition_of(&parsed)
        .ok_or_else(|| ApiError::invalid("Task.focus", "not a document Bundle with a Composition first"))?
        .to_owned();
    Ok(HeldDocument {
        record,
        body,
        bundle,
        composition,
    })
}

/// `POST /fhir/Task`.
pub async fn create<S: Store>(
    State(state): State<AppState<S>>,
    asker: Asker,
    request: Request,
) -> Result<Response, ApiError> {
    let version = asker.version;
    let task = read_as_r4(request, "Task", state.max_body_bytes).await?;
    let wanted = read_request(&task, &state.registry).map_err(invalid)?;
    if wanted.requester != asker.requester {
        return Err(ApiError::new(
            Problem::Forbidden,
            "Task.requester must be the organisation that asks",
        ));
    }
    let HeldDocument {
        record,
        body,
        bundle,
        composition,
    } = held_document(&state, &wanted).await?;
    if wanted.patient.is_some() && wanted.patient != record.patient {
        return Err(ApiError::invalid(
            "Task.for.identifier.value",
            "not the patient of the document",
        ));
    }

    let request = HandoverRequest {
        // The document names the patient; Task.for, when given, agreed.
        patient: record.patient.clone(),
        ..wanted
    };
    let opening = Opening {
        request: &request,
        composition: &composition,
        bundle: &bundle,
        stored: (&record.format, &body),
        pickup_ms: state.handover.pickup_ms(),
    };
    let opened = overdracht::open(&state.store, &state.consent, &state.registry, opening, now_ms())
        .await
        .map_err(|e| consent_unavailable(&record.id, e))?;
    match opened {
        Opened::New(handover) => task_created(version, &handover, &state.registry, &state.handover.public_base_url),
        Opened::Existing(handover) => task_response(version, StatusCode::OK, &handover, &state.registry),
        Opened::Refused(decision) => Err(refused(&decision)),
    }
}

/// A stored Task, read back.
async fn stored<S: Store>(state: &AppState<S>, id: &str) -> Result<Handover, ApiError> {
    let record = state
        .store
        .task(id)
        .await?
        .ok_or_else(|| ApiError::new(Problem::NotFound, format!("no Task/{id}")))?;
    from_record(&record)
}

fn from_record(record: &TaskRecord) -> Result<Handover, ApiError> {
    Handover::from_record(record).map_err(ApiError::from)
}

/// The part the asking organisation plays in a handover; other
/// organisations are told there is no such Task.
fn party(handover: &Handover, asker: &Asker, what: &str) -> Result<Party, ApiError> {
    if asker.requester == handover.request.requester {
        Ok(Party::Sender)
    } else if asker.requester == handover.request.owner {
        Ok(Party::Receiver)
    } else {
        Err(ApiError::new(Problem::NotFound, format!("no {what}")))
    }
}

/// Audits an organisation's look at, or change of, a handover's Task.
async fn audit_task<S: Store>(
    state: &AppState<S>,
    handover: &Handover,
    asker: &Asker,
    action: Action,
    text: String,
) -> Result<(), ApiError> {
    let mut audit = AuditEvent::new("handover", action, now_ms(), Outcome::Success);
    audit.organization = Some(asker.requester.clone());
    audit.patient.clone_from(&handover.request.patient);
    audit.purpose = Some(Purpose::Handover.code());
    audit.outcome_text = Some(text);
    Ok(state.store.audit(audit).await?)
}

/// `GET /fhir/Task/{id}`.
pub async fn read<S: Store>(
    State(state): State<AppState<S>>,
    FhirId(id): FhirId,
    asker: Asker,
) -> Result<Response, ApiError> {
    let version = asker.version;
    let handover = stored(&state, &id).await?;
    party(&handover, &asker, &format!("Task/{id}"))?;
    audit_task(&state, &handover, &asker, Action::Read, format!("Task/{id} read")).await?;
    task_response(version, StatusCode::OK, &handover, &state.registry)
}

/// `GET /fhir/Task`: the asking organisation's handovers, last changed
/// first, narrowed by `status` (comma-separated codes), `owner` and
/// `requester` (`Organization/{id}` or `{id}`) and `_count`.
pub async fn search<S: Store>(
    State(state): State<AppState<S>>,
    Query(params): Query<BTreeMap<String, String>>,
    asker: Asker,
) -> Result<Response, ApiError> {
    for name in params.keys() {
        if !matches!(name.as_str(), "status" | "owner" | "requester" | "_count") {
            return Err(ApiError::invalid(
                name,
                "unknown search parameter; use status, owner, requester or _count",
            ));
        }
    }
    let count = match params.get("_count") {
        None => MAX_SEARCH_RESULTS,
        Some(text) => text
            .parse::<usize>()
            .map_err(|_| ApiError::invalid("_count", "not a number"))?
            .min(MAX_SEARCH_RESULTS),
    };
    let statuses: Option<Vec<&str>> = params.get("status").map(|s| s.split(',').collect());
    let organization = |name: &str| params.get(name).map(|v| v.trim_start_matches("Organization/"));
    let (owner, requester) = (organization("owner"), organization("requester"));
    let mut found = Vec::new();
    for record in state.store.tasks(&asker.requester, MAX_SEARCH_RESULTS).await? {
        let keep = statuses.as_ref().is_none_or(|s| s.contains(&record.status.as_str()))
            && owner.is_none_or(|o| o == record.owner)
            && requester.is_none_or(|r| r == record.requester);
        if keep && found.len() < count {
            found.push(from_record(&record)?);
        }
    }
    for handover in &found {
        audit_task(
            &state,
            handover,
            &asker,
            Action::Read,
            format!("Task/{} found", handover.id),
        )
        .await?;
    }
    let version = asker.version;
    version.respond(
        StatusCode::OK,
        bundle_of("searchset", found.iter().map(|h| h.task(&state.registry).to_string())),
    )
}

/// `PUT /fhir/Task/{id}`.
pub async fn update<S: Store>(
    State(state): State<AppState<S>>,
    FhirId(id): FhirId,
    asker: Asker,
    request: Request,
) -> Result<Response, ApiError> {
    let expected_version = request
        .headers()
        .get(header::IF_MATCH)
        .map(|v| {
            v.to_str()
                .ok()
                .map(|t| t.trim_start_matches("W/").trim_matches('"'))
                .and_then(|t| t.parse::<i64>().ok())
                .ok_or_else(|| ApiError::invalid("If-Match", "use W/\"{versionId}\""))
        })
        .transpose()?;
    let version = asker.version;
    let body = read_as_r4(request, "Task", state.max_body_bytes).await?;
    if body
        .get("id")
        .and_then(Value::as_str)
        .is_some_and(|body_id| body_id != id)
    {
        return Err(ApiError::invalid(
            "Task.id",
            "the id in the body differs from the id in the URL",
        ));
    }
    let change = read_change(&body).map_err(invalid)?;
    let handover = stored(&state, &id).await?;
    let party = party(&handover, &asker, &format!("Task/{id}"))?;
    if expected_version.is_some_and(|v| v != handover.version) {
        return Err(ApiError::new(
            Problem::PreconditionFailed,
            format!("Task/{id} is at version {} now; read it again", handover.version),
        ));
    }
    let from = handover.status;
    if change.status == from && change.reason == handover.reason {
        return task_response(version, StatusCode::OK, &handover, &state.registry);
    }
    if change.status != from && !may_change(party, from, change.status) {
        let who = match party {
            Party::Sender => "the sender",
            Party::Receiver => "the receiver",
        };
        return Err(ApiError::invalid(
            "Task.status",
            format!(
                "{who} cannot move a {} handover to {}",
                from.as_str(),
                change.status.as_str()
            ),
        ));
    }
    let next = handover.changed(now_ms(), |h| {
        h.status = change.status;
        h.reason = change.reason;
    });
    let mut audit = AuditEvent::new("handover", Action::Execute, next.updated_ms, Outcome::Success);
    audit.organization = Some(asker.requester);
    audit.patient.clone_from(&next.request.patient);
    audit.purpose = Some(Purpose::Handover.code());
    audit.outcome_text = Some(format!("Task/{id} {} -> {}", from.as_str(), next.status.as_str()));
    if !state
        .store
        .put_task(next.to_record(&state.registry), vec![audit])
        .await?
    {
        return Err(ApiError::new(
            Problem::Conflict,
            format!("Task/{id} changed meanwhile; read it again"),
        ));
    }
    task_response(version, StatusCode::OK, &next, &state.registry)
}

/// `GET /fhir/Composition/{id}/$document`: the handed-over document as a
/// document Bundle.
pub async fn document<S: Store>(
    State(state): State<AppState<S>>,
    FhirId(id): FhirId,
    asker: Asker,
) -> Result<Response, ApiError> {
    let version = asker.version;
    let bundle = handed_over(&state, &id, asker).await?;
    version.respond(StatusCode::OK, bundle)
}

/// `GET /fhir/Composition/{id}`: the handed-over document's Composition.
pub async fn composition<S: Store>(
    State(state): State<AppState<S>>,
    FhirId(id): FhirId,
    asker: Asker,
) -> Result<Response, ApiError> {
    let version = asker.version;
    let bundle: Value = serde_json::from_str(&handed_over(&state, &id, asker).await?)
        .map_err(|_| ApiError::new(Problem::NotSupported, "this document has no FHIR form"))?;
    let composition = bundle
        .pointer("/entry/0/resource")
        .filter(|r| r.get("resourceType").and_then(Value::as_str) == Some("Composition"))
        .ok_or_else(|| ApiError::new(Problem::NotFound, format!("no Composition/{id}")))?;
    version.respond(StatusCode::OK, composition.to_string())
}

/// The document Bundle a handover hands over, for one of its two
/// organisations, as far as the patient's choices allow (audited).
async fn handed_over<S: Store>(state: &AppState<S>, id: &str, asker: Asker) -> Result<String, ApiError> {
    let not_found = || ApiError::new(Problem::NotFound, format!("no Composition/{id}"));
    let record = state.store.task_of_composition(id).await?.ok_or_else(not_found)?;
    let handover = from_record(&record)?;
    let party = party(&handover, &asker, &format!("Composition/{id}"))?;
    if party == Party::Receiver && matches!(handover.status, TaskStatus::Cancelled | TaskStatus::Rejected) {
        return Err(ApiError::new(
            Problem::Forbidden,
            format!(
                "the handover is {}; its document is no longer shared",
                handover.status.as_str()
            ),
        ));
    }
    let message = state
        .store
        .message(&handover.request.document)
        .await?
        .ok_or_else(not_found)?;
    let asker = Asker {
        purpose: Purpose::Handover,
        ..asker
    };
    disclose(state, message, &asker, true).await
}
