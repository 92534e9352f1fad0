//! `GET /fhir/Bundle/{id}`: a received message as FHIR R4, for an
//! organisation that asks for it. The patient's choices decide first, as for
//! a delivery: the asker gets all of it, part of it (withheld categories
//! removed) or a 403 naming the deciding rule. Every read, allowed or not, is
//! audited with who asked, why and which rule decided; without the audit
//! record there is no answer.
//!
//! Who asks is the identified organisation ([`Requester`]). Why is
//! `X-Purpose-Of-Use` (`treatment`, the default, `handover`, `referral` or
//! `emergency`); an emergency read is break-the-glass: it needs an
//! organisation whose registry entry allows it (`break_the_glass = true`)
//! and a stated reason in `X-Break-The-Glass-Reason`.

use crate::extract::FhirId;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use zorgpoort_audit::{Action, AuditEvent, DataObject, Outcome};
use zorgpoort_consent::{Decision, Purpose};
use zorgpoort_handover::delivery::now_ms;
use zorgpoort_handover::{Ask, ConsentError, Evaluation};
use zorgpoort_store::{MessageRecord, Store};

use crate::api::AppState;
use crate::auth::Requester;
use crate::outcome::{ApiError, Problem};
use crate::version::FhirVersion;

/// Why the data is asked for.
pub const PURPOSE_HEADER: &str = "x-purpose-of-use";
/// The stated reason of a break-the-glass read.
pub const REASON_HEADER: &str = "x-break-the-glass-reason";
/// Longest break-the-glass reason kept.
const MAX_REASON_CHARS: usize = 500;

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, ApiError> {
    headers
        .get(name)
        .map(|v| v.to_str().map_err(|_| ApiError::invalid(name, "not visible ASCII")))
        .transpose()
}

/// Who asks (the identified organisation), why, and in which FHIR version
/// it is answered; refused with an OperationOutcome when no organisation is
/// identified. Whether it may break the glass is the consent decision's
/// (audited like every decision).
impl<S: Store> FromRequestParts<AppState<S>> for Asker {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState<S>) -> Result<Self, Response> {
        let requester = Requester::from_request_parts(parts, state).await?;
        Self::of(requester, &parts.headers, state).map_err(IntoResponse::into_response)
    }
}

impl Asker {
    fn of<S>(requester: Requester, headers: &HeaderMap, state: &AppState<S>) -> Result<Self, ApiError> {
        let purpose = match header(headers, PURPOSE_HEADER)? {
            None | Some("treatment") => Purpose::Treatment,
            Some("handover") => Purpose::Handover,
            Some("referral") => Purpose::Referral,
            Some("emergency") => Purpose::Emergency,
            Some(other) => {
                return Err(ApiError::invalid(
                    PURPOSE_HEADER,
                    format!("use treatment, handover, referral or emergency, not {other:?}"),
                ));
            }
        };
        let reason = header(headers, REASON_HEADER)?
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|r| r.chars().take(MAX_REASON_CHARS).collect());
        let version = FhirVersion::of_answer(&state.registry, &requester.organization, headers);
        Ok(Asker {
            requester: requester.organization,
            purpose,
            reason,
            version,
        })
    }
}

/// `GET /fhir/Bundle/{id}`.
pub async fn read<S: Store>(
    State(state): State<AppState<S>>,
    FhirId(id): FhirId,
    asker: Asker,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::new(Problem::NotFound, format!("no Bundle/{id}"));
    let record = state.store.message(&id).await?.ok_or_else(not_found)?;
    let treating_relationship = received(&record, &asker.requester);
    let bundle = disclose(&state, record, &asker, treating_relationship).await?;
    asker.version.respond(StatusCode::OK, bundle)
}

/// Who asks for a patient's data, why and, for break-the-glass, the stated reason.
pub struct Asker {
    /// The asking organisation (registry id).
    pub requester: String,
    /// Why it asks.
    pub purpose: Purpose,
    /// The break-the-glass reason.
    pub reason: Option<String>,
    /// The FHIR version it is answered in.
    pub version: FhirVersion,
}

/// A stored message as FHIR R4, as far as the patient's choices let `asker`
/// have it; see [`release`].
pub async fn disclose<S: Store>(
    state: &AppState<S>,
    record: MessageRecord,
    asker: &Asker,
    treating_relationship: bool,
) -> Result<String, ApiError> {
    let id = record.id;
    let not_found = || ApiError::new(Problem::NotFound, format!("no Bundle/{id}"));
    let body = state.store.message_body(&id).await?.ok_or_else(not_found)?;
    let bundle = state.intake.render(&record.format, &body).map_err(|e| {
        tracing::error!(message_id = %id, error = %e, "a stored message cannot be rendered");
        ApiError::new(Problem::NotSupported, "this message has no FHIR form")
    })?;
    let data = Disclosure {
        id,
        format: record.format,
        stored: &body,
        bundle,
        patient: record.patient,
    };
    release(state, data, asker, treating_relationship).await
}

/// Patient data about to leave the gateway.
pub struct Disclosure<'a> {
    /// What it is, for the audit log (a message id, a search).
    pub id: String,
    /// The format it is stored in.
    pub format: String,
    /// The bytes the audit log identifies it by (hash and size).
    pub stored: &'a [u8],
    /// The FHIR Bundle that would go.
    pub bundle: String,
    /// The patient's BSN, when known.
    pub patient: Option<String>,
}

/// A Bundle as far as the patient's choices let `asker` have it (the whole,
/// or with withheld categories removed), or a 403 naming the deciding rule.
/// Audited either way; without the audit record there is no answer.
pub async fn release<S: Store>(
    state: &AppState<S>,
    data: Disclosure<'_>,
    asker: &Asker,
    treating_relationship: bool,
) -> Result<String, ApiError> {
    let ask = Ask {
        requester: &asker.requester,
        purpose: asker.purpose,
        treating_relationship,
        reason: asker.reason.as_deref(),
    };
    let Evaluation {
        decision,
        bundle,
        categories,
    } = state
        .consent
        .evaluate(&state.store, data.bundle, data.patient.as_deref(), &ask)
        .await
        .map_err(|e| consent_unavailable(&data.id, e))?;

    let denied = matches!(decision, Decision::Deny { .. });
    let outcome = if denied { Outcome::Failure } else { Outcome::Success };
    let mut audit = AuditEvent::new("read", Action::Read, now_ms(), outcome);
    audit.organization = Some(asker.requester.clone());
    audit.patient = data.patient;
    audit.purpose = Some(asker.purpose.code());
    audit.consent_rule = Some(decision.rule().to_owned());
    audit.outcome_text = match (&decision, &asker.reason) {
        (Decision::Permit { flagged: true, .. }, Some(reason)) => Some(format!("break-the-glass: {reason}")),
        _ => denied.then(|| "refused by consent".to_owned()),
    };
    audit.data = Some(DataObject::of(data.id, data.format, data.stored, categories));
    state.store.audit(audit).await?;
    if denied {
        return Err(refused(&decision));
    }
    Ok(bundle)
}

/// Most of a patient's messages (newest first) and of an organisation's
/// Tasks looked at.
pub const RECENT: usize = 500;

/// Whether an organisation treats a patient as far as the gateway knows: it
/// was handed the patient over, or received a message about the patient.
pub async fn treats<S: Store>(state: &AppState<S>, requester: &str, bsn: &str) -> Result<bool, ApiError> {
    if handed_over(state, requester, bsn).await? {
        return Ok(true);
    }
    for id in state.store.messages_of(bsn, RECENT).await? {
        if state.store.message(&id).await?.is_some_and(|m| received(&m, requester)) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether a handover of the patient was addressed to the organisation.
pub async fn handed_over<S: Store>(state: &AppState<S>, requester: &str, bsn: &str) -> Result<bool, ApiError> {
    let tasks = state.store.tasks(requester, RECENT).await?;
    Ok(tasks
        .iter()
        .any(|t| t.owner == requester && t.patient.as_deref() == Some(bsn)))
}

/// Whether a message was routed to the organisation.
pub fn received(message: &MessageRecord, requester: &str) -> bool {
    message.deliveries.iter().any(|d| d.receiver == requester)
}

/// The answer when the patient's choices do not allow it.
pub fn refused(decision: &Decision) -> ApiError {
    ApiError::new(
        Problem::Forbidden,
        format!("the patient's choices do not allow this (rule {})", decision.rule()),
    )
}

/// The answer when a consent decision could not be made.
pub fn consent_unavailable(id: &str, error: ConsentError) -> ApiError {
    match error {
        ConsentError::Store(e) => {
            tracing::error!(error = %e, "consents unavailable");
            ApiError::new(
                Problem::Unavailable,
                "the patient's choices cannot be read now; ask again later",
            )
        }
        ConsentError::Bundle(e) => {
            tracing::error!(message_id = %id, error = %e, "rendered Bundle is not JSON");
            ApiError::new(Problem::NotSupported, "this message has no FHIR form")
        }
    }
}
