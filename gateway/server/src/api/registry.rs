//! The region's registry as FHIR: the capability statement, and the
//! organisations and endpoints of the zorgadresboek (IHE mCSD shapes).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use zorgpoort_handover::Registry;
use zorgpoort_model::{Object, Value};
use zorgpoort_store::Store;

use super::AppState;
use crate::extract::FhirId;
use crate::outcome::{ApiError, FHIR_JSON, Problem, fhir_json, searchset};

/// `GET /fhir/metadata`.
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
