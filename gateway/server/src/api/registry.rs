//! The region's registry as FHIR: the capability statement, and the
//! organisations and endpoints of the zorgadresboek (IHE mCSD shapes).

use axum::extract::{RawQuery, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use zorgpoort_handover::Registry;
use zorgpoort_store::Store;

use super::AppState;
use crate::extract::FhirId;
use crate::outcome::{ApiError, Problem, fhir_json, searchset};

/// `GET /fhir/Organization`: the region's organisations; with search
/// parameters, the BgZ search of a patient's providers.
pub(crate) async fn organizations<S: Store>(
    State(state): State<AppState<S>>,
    RawQuery(query): RawQuery,
    request: Request,
) -> Result<Response, ApiError> {
    if let Some(query) = query.filter(|q| !q.is_empty()) {
        return super::bgz::search_on_shared_route(&state, "Organization", &query, request).await;
    }
    Ok(searchset(
        state
            .registry
            .iter()
            .map(|org| Registry::organization_resource(org).to_json()),
    ))
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

/// `GET /fhir/Endpoint`: every endpoint of the region; it has no search
/// parameters.
pub(crate) async fn endpoints<S: Store>(
    State(state): State<AppState<S>>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    if let Some(parameter) = query.as_deref().and_then(|q| q.split('&').find(|p| !p.is_empty())) {
        let name = parameter.split('=').next().unwrap_or(parameter);
        return Err(ApiError::invalid(
            name,
            "Endpoint has no search parameters: every endpoint is listed",
        ));
    }
    Ok(searchset(
        state
            .registry
            .iter()
            .flat_map(Registry::endpoint_resources)
            .map(|(_, r)| r.to_json()),
    ))
}

pub(crate) async fn endpoint<S: Store>(
    State(state): State<AppState<S>>,
    FhirId(id): FhirId,
) -> Result<Response, ApiError> {
    state
        .registry
        .iter()
        .flat_map(Registry::endpoint_resources)
        .find(|(endpoint_id, _)| *endpoint_id == id)
        .map(|(_, r)| fhir_json(StatusCode::OK, r.to_json()))
        .ok_or_else(|| ApiError::new(Problem::NotFound, format!("no Endpoint/{id}")))
}
