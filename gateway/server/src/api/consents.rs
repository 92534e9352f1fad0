//! `/fhir/Consent`: patients' choices, created, read, searched by patient
//! and updated; each write and read is audited. A Consent is checked (BSN,
//! provision, categories, period) before it is stored. Only organisations
//! registered as consent recorders write, each only the choices patients
//! made with it; any organisation of the region may read.

use axum::extract::{Query, RawQuery, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use zorgpoort_audit::{Action, AuditEvent, Outcome};
use zorgpoort_consent::fhir::read_consent;
use zorgpoort_handover::Organization;
use zorgpoort_handover::delivery::now_ms;
use zorgpoort_model::systems::BSN;
use zorgpoort_store::{ConsentRecord, Store};

use crate::api::AppState;
use crate::auth::{ConsentRecorder, Requester};
use crate::extract::{FhirId, read_resource};
use crate::outcome::{ApiError, Problem, fhir_json, searchset};
use crate::validation::Source;

/// The BSN of a `patient` search parameter, `[system|]BSN`.
pub(crate) fn bsn_of(patient: &str) -> &str {
    patient
        .strip_prefix(BSN)
        .and_then(|p| p.strip_prefix('|'))
        .unwrap_or(patient)
}

/// An organisation records only the choices patients made with it: the
/// Consent names it in `organization` (filled in when absent).
fn record_with(consent: &mut serde_json::Value, recorder: &Organization) -> Result<(), ApiError> {
    let own = format!("Organization/{}", recorder.id);
    let names_recorder = |o: &serde_json::Value| {
        o["reference"].as_str() == Some(own.as_str())
            || o["identifier"]["value"]
                .as_str()
                .is_some_and(|v| [recorder.ura.as_deref(), recorder.agb.as_deref()].contains(&Some(v)))
    };
    match consent["organization"].as_array() {
        None => {
            consent["organization"] = serde_json::json!([{ "reference": own, "display": recorder.name }]);
            Ok(())
        }
        Some(named) if !named.is_empty() && named.iter().all(names_recorder) => Ok(()),
        Some(_) => Err(ApiError {
            problem: Problem::Forbidden,
            diagnostics: format!("an organisation records only the choices patients made with it ({own})"),
            expression: Some("Consent.organization".into()),
            findings: Vec::new(),
        }),
    }
}

/// Checks and stores a Consent with the given id for the organisation that
/// records it, auditing the write.
async fn store_consent<S: Store>(
    state: &AppState<S>,
    consent: serde_json::Map<String, serde_json::Value>,
    id: String,
    ConsentRecorder(recorder): ConsentRecorder,
) -> Result<Response, ApiError> {
    let mut consent = serde_json::Value::Object(consent);
    let org = recorder.organization;
    let entry = state.registry.get(&org).ok_or_else(|| {
        ApiError::new(
            Problem::Forbidden,
            "the calling organisation is not in the region's registry",
        )
    })?;
    record_with(&mut consent, entry)?;
    let existing = state.store.consent(&id).await?;
    if existing.is_some_and(|e| e.recorded_by.as_ref() != Some(&org)) {
        return Err(ApiError::new(
            Problem::Forbidden,
            format!("Consent/{id} was recorded by another organisation"),
        ));
    }
    consent["id"] = serde_json::Value::String(id.clone());
    state
        .validation
        .check(Source::Supplied, "Consent", &consent)
        .map_err(ApiError::nonconformant)?;
    let (patient, _) =
        read_consent(&consent).map_err(|invalid| ApiError::invalid(invalid.expression, invalid.reason))?;
    let now = now_ms();
    let mut audit = AuditEvent::new("consent-recorded", Action::Create, now, Outcome::Success);
    audit.organization = Some(org.clone());
    audit.patient = Some(patient.clone());
    audit.consent_rule = Some(id.clone());
    let resource = consent.to_string();
    let record = ConsentRecord {
        id: id.clone(),
        patient,
        recorded_by: Some(org),
        resource: resource.clone(),
        updated_ms: now,
    };
    let created = state.store.put_consent(record, audit).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    let mut response = fhir_json(status, resource);
    if let Ok(location) = HeaderValue::from_str(&format!("{}/Consent/{id}", state.handover.public_base_url)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `POST /fhir/Consent`.
pub async fn create<S: Store>(
    State(state): State<AppState<S>>,
    recorder: ConsentRecorder,
    request: Request,
) -> Result<Response, ApiError> {
    let consent = read_resource(request, "Consent", state.max_body_bytes).await?;
    let id = consent
        .get("id")
        .and_then(serde_json::Value::as_str)
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    if state.store.consent(&id).await?.is_some() {
        return Err(ApiError::invalid(
            "Consent.id",
            format!("Consent/{id} exists; use PUT to change it"),
        ));
    }
    store_consent(&state, consent, id, recorder).await
}

/// `PUT /fhir/Consent/{id}`.
pub async fn update<S: Store>(
    State(state): State<AppState<S>>,
    FhirId(id): FhirId,
    recorder: ConsentRecorder,
    request: Request,
) -> Result<Response, ApiError> {
    let consent = read_resource(request, "Consent", state.max_body_bytes).await?;
    if consent
        .get("id")
        .and_then(serde_json::Value::as_str)
        .is_some_and(|body_id| body_id != id)
    {
        return Err(ApiError::invalid(
            "Consent.id",
            "the id in the body differs from the id in the URL",
        ));
    }
    store_consent(&state, consent, id, recorder).await
}

/// Audits a read of a patient's Consents.
async fn audit_read<S: Store>(state: &AppState<S>, patient: &str, requester: Requester) -> Result<(), ApiError> {
    let mut audit = AuditEvent::new("read", Action::Read, now_ms(), Outcome::Success);
    audit.organization = Some(requester.organization);
    audit.patient = Some(patient.to_owned());
    Ok(state.store.audit(audit).await?)
}

/// `GET /fhir/Consent/{id}`.
pub async fn read<S: Store>(
    State(state): State<AppState<S>>,
    FhirId(id): FhirId,
    requester: Requester,
) -> Result<Response, ApiError> {
    let record = state
        .store
        .consent(&id)
        .await?
        .ok_or_else(|| ApiError::new(Problem::NotFound, format!("no Consent/{id}")))?;
    audit_read(&state, &record.patient, requester).await?;
    Ok(fhir_json(StatusCode::OK, record.resource))
}

/// `GET /fhir/Consent?patient=[system|]BSN`: the patient's choices about
/// sharing. Any other search of Consent is the BgZ's (treatment and advance
/// directives, by `patient.identifier` and `category`).
pub async fn search<S: Store>(
    State(state): State<AppState<S>>,
    requester: Requester,
    RawQuery(query): RawQuery,
    request: Request,
) -> Result<Response, ApiError> {
    let query = query.unwrap_or_default();
    let Query(parameters) = Query::<Vec<(String, String)>>::try_from_uri(request.uri())
        .map_err(|e| ApiError::invalid("query", format!("not a valid query string: {e}")))?;
    let Some(patient) = parameters
        .iter()
        .find(|(name, _)| name == "patient")
        .map(|(_, value)| value.clone())
    else {
        return super::bgz::search_on_shared_route(&state, "Consent", &query, request).await;
    };
    if let Some((other, _)) = parameters.iter().find(|(name, _)| name != "patient") {
        return Err(ApiError::invalid(
            other,
            "the patient's choices are searched by patient alone",
        ));
    }
    let bsn = bsn_of(&patient).to_owned();
    let records = state.store.consents(&bsn).await?;
    audit_read(&state, &bsn, requester).await?;
    Ok(searchset(records.iter().map(|r| r.resource.as_str())))
}
