//! The HTTP application, assembled in one place. A request passes, outermost
//! first:
//!
//! 1. the demo notice, in the demo region only (every response says it);
//! 2. health: `/healthz`, `/readyz` and `/metrics` answer here, outside every
//!    limit, so a gateway shedding load still answers its probes;
//! 3. gzip for clients that accept it (Bundles compress about tenfold);
//! 4. overload and timeout errors turned into OperationOutcomes (counted);
//! 5. load shedding: when all slots are busy, 503 with Retry-After at once;
//! 6. a concurrency limit shared by all routes;
//! 7. a time limit per request;
//! 8. a declared body larger than allowed: 413 before a byte is read;
//! 9. routing, with `observe` around each route (request id, one JSON log
//!    line, metrics per matched route) and every error an OperationOutcome;
//! 10. content negotiation ([`crate::api::negotiation`]): JSON or 406;
//! 11. identification ([`crate::auth::identify`]) around every API route:
//!     only `/fhir/metadata` and `/oauth/token` are open to anyone.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{BoxError, Router};
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;
use zorgpoort_store::Store;

use crate::api::AppState;
use crate::api::{
    audit_events, bgz, bundles, capabilities, consents, inbox, messages, negotiation, proxy, registry, tasks, validate,
};
use crate::auth::{Identification, identify, mark_demo, token_endpoint};
use crate::outcome::{ApiError, FHIR_JSON, Problem, outcome};
use zorgpoort_metrics::{Metrics, catalogue};

/// The HTTP application as one cloneable service.
pub type App = BoxCloneSyncService<Request, Response, Infallible>;

/// Limits of the layer stack.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// Requests served at once.
    pub max_concurrent_requests: usize,
    /// Time allowed per request.
    pub request_timeout: Duration,
    /// Largest request body.
    pub max_body_bytes: usize,
}

/// The whole HTTP application.
pub fn app<S: Store>(state: AppState<S>, limits: HttpLimits, identification: Arc<Identification>) -> App {
    let demo = identification.is_demo();
    let tokens = identification.tokens().map(Arc::clone);
    let routed = Router::new()
        .route("/fhir/metadata", get(capabilities::capability_statement))
        .merge(api(state.clone()).route_layer(middleware::from_fn_with_state(identification, identify)))
        .route_layer(middleware::from_fn(negotiation::json_only));
    let routed = match tokens {
        Some(tokens) => routed.merge(
            Router::new()
                .route("/oauth/token", post(token_endpoint))
                .with_state(tokens),
        ),
        None => routed,
    };
    let metrics = Arc::clone(&state.metrics);
    let routed = routed
        .fallback(unknown_route)
        .method_not_allowed_fallback(|| async { ApiError::new(Problem::MethodNotAllowed, "method not allowed here") })
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn(every_error_an_outcome))
        // Inside the router, so the matched route is known.
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            observe(Arc::clone(&metrics), request, next)
        }));
    let overload_metrics = Arc::clone(&state.metrics);
    let max_body_bytes = limits.max_body_bytes;
    // Around the whole router, so the limits are global, not per route.
    let limited = ServiceBuilder::new()
        .map_response(IntoResponse::into_response)
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(HandleErrorLayer::new(move |error: BoxError| {
            let metrics = Arc::clone(&overload_metrics);
            async move { overloaded(&metrics, &error) }
        }))
        .load_shed()
        .concurrency_limit(limits.max_concurrent_requests)
        .timeout(limits.request_timeout)
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            refuse_declared_oversize(max_body_bytes, request, next)
        }))
        .service(routed);
    let app = health(state).fallback_service(limited);
    let app = if demo {
        app.layer(middleware::from_fn(mark_demo))
    } else {
        app
    };
    BoxCloneSyncService::new(app)
}

/// The probes and metrics; also all the plaintext ops listener serves.
pub fn health<S: Store>(state: AppState<S>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready::<S>))
        .route("/metrics", get(render_metrics::<S>))
        .with_state(state)
}

/// Every route that touches patient data, consent, audit or the registry.
fn api<S: Store>(state: AppState<S>) -> Router {
    let mut api = Router::new()
        .route("/hl7v2", post(messages::convert_hl7v2::<S>))
        .route("/convert/{format}", post(messages::convert::<S>))
        // POST names a format, GET a message id.
        .route(
            "/messages/{key}",
            post(messages::accept_message::<S>).get(messages::message_status::<S>),
        )
        .route("/fhir/Organization", get(registry::organizations::<S>))
        .route("/fhir/Organization/{id}", get(registry::organization::<S>))
        .route("/fhir/Endpoint", get(registry::endpoints::<S>))
        .route("/fhir/Endpoint/{id}", get(registry::endpoint::<S>))
        .route("/fhir/Bundle/{id}", get(bundles::read::<S>))
        .route("/fhir/AuditEvent", get(audit_events::search::<S>))
        .route("/fhir/Consent", post(consents::create::<S>).get(consents::search::<S>))
        .route(
            "/fhir/Consent/{id}",
            get(consents::read::<S>).put(consents::update::<S>),
        )
        .route("/fhir/Task", post(tasks::create::<S>).get(tasks::search::<S>))
        .route("/fhir/Task/{id}", get(tasks::read::<S>).put(tasks::update::<S>))
        .route("/fhir/Composition/{id}", get(tasks::composition::<S>))
        .route("/fhir/Composition/{id}/$document", get(tasks::document::<S>))
        // The BgZ: searches for one patient, alone or in a batch.
        .route("/fhir", post(bgz::batch::<S>))
        .route("/fhir/{type}", get(bgz::search::<S>))
        .route("/fhir/Observation/$lastn", get(bgz::lastn::<S>))
        // Reads and searches forwarded to a registered holder.
        .route("/fhir/proxy/{holder}", post(proxy::batch::<S>))
        .route("/fhir/proxy/{holder}/{*path}", get(proxy::read::<S>))
        .route("/fhir/$validate", post(validate::operation::<S>))
        .route("/fhir/{type}/$validate", post(validate::operation::<S>));
    // Types with a read route of their own need their `$validate` spelled
    // out: a literal segment wins over `{type}`, and `{id}` would take it.
    for resource_type in ["Organization", "Endpoint", "Bundle", "Consent", "Task", "Composition"] {
        api = api.route(
            &format!("/fhir/{resource_type}/$validate"),
            post(validate::operation::<S>),
        );
    }
    if state.inbox.is_some() {
        // Deliveries go to the endpoint itself, handover notifications to its `/Task`.
        api = api
            .route(
                "/demo/inbox/{org}",
                post(inbox::inbox_receive::<S>).get(inbox::inbox_list::<S>),
            )
            .route("/demo/inbox/{org}/Task", post(inbox::inbox_receive::<S>));
    }
    api.with_state(state)
}

fn overloaded(metrics: &Metrics, error: &BoxError) -> ApiError {
    if error.is::<tower::timeout::error::Elapsed>() {
        metrics.increment(&catalogue::HTTP_REJECTED, &["timeout"]);
        ApiError::new(Problem::Timeout, "the request took too long")
    } else {
        metrics.increment(&catalogue::HTTP_REJECTED, &["overload"]);
        ApiError::new(Problem::Overloaded, "the gateway is at its limit; send again shortly")
    }
}

/// 413 at once for a body declared larger than allowed, before any of it
/// is read (the body readers still count what actually arrives).
async fn refuse_declared_oversize(limit: usize, request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > u64::try_from(limit).unwrap_or(u64::MAX)) {
        return ApiError::new(
            Problem::TooLarge,
            format!("the body exceeds the limit of {limit} bytes"),
        )
        .into_response();
    }
    next.run(request).await
}

/// Longest text of a framework rejection kept in its OperationOutcome.
const MAX_REJECTION_CHARS: usize = 200;

/// Turns an error answer that is not FHIR (a rejection of axum's own
/// extractors, say) into an OperationOutcome with the same status. The
/// token endpoint's OAuth errors are JSON by their own standard and stay.
async fn every_error_an_outcome(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(FHIR_JSON) || v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text: String = String::from_utf8_lossy(&text)
        .trim()
        .chars()
        .take(MAX_REJECTION_CHARS)
        .collect();
    let diagnostics = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text
    };
    let code = match status {
        StatusCode::NOT_FOUND => "not-found",
        StatusCode::PAYLOAD_TOO_LARGE => "too-costly",
        StatusCode::UNAUTHORIZED => "login",
        StatusCode::FORBIDDEN => "forbidden",
        s if s.is_server_error() => "exception",
        _ => "invalid",
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    Response::from_parts(parts, outcome("error", code, &diagnostics, None).into())
}

/// Request id, one log line per request (no bodies, no patient data) and
/// per-route metrics.
async fn observe(metrics: Arc<Metrics>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().clone();
    let mut response = next.run(request).await;
    let status = response.status();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    metrics.increment(&catalogue::HTTP_REQUESTS, &[&route, status.as_str()]);
    metrics.observe(&catalogue::HTTP_SECONDS, &[&route], started.elapsed());
    tracing::info!(
        request_id,
        %method,
        route,
        status = status.as_u16(),
        elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "http request"
    );
    response
}

async fn unknown_route() -> ApiError {
    ApiError::new(
        Problem::NotFound,
        "no such endpoint; see GET /fhir/metadata and the README",
    )
}

async fn ready<S: Store>(State(state): State<AppState<S>>) -> Result<&'static str, ApiError> {
    state.store.ready().await.map(|()| "ready\n").map_err(ApiError::from)
}

/// The counters and histograms, with the queue's depth read from the store
/// (left out, and logged, when the store cannot answer: the rest still
/// tells what is going on).
async fn render_metrics<S: Store>(State(state): State<AppState<S>>) -> impl IntoResponse {
    let undelivered = match state.store.undelivered().await {
        Ok(undelivered) => undelivered
            .into_iter()
            .map(|u| (vec![u.receiver, u.state.as_str().to_owned()], u.count))
            .collect(),
        Err(error) => {
            tracing::warn!(%error, "cannot read the queue's depth for /metrics");
            Vec::new()
        }
    };
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(&[(&catalogue::DELIVERIES, undelivered)]),
    )
}
