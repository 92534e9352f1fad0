//! The FHIR and message API: one module per resource or concern, each a set
//! of handlers over the [`AppState`] they share. Handlers take their caller
//! as an extractor ([`crate::auth`]) and answer every error as an
//! OperationOutcome; [`crate::router`] puts them behind the layer stack.

pub mod audit_events;
pub mod bgz;
pub mod bundles;
pub mod capabilities;
pub mod consents;
pub mod inbox;
pub mod messages;
pub mod negotiation;
pub mod proxy;
pub mod registry;
pub mod tasks;
pub mod validate;

use std::sync::Arc;

use zorgpoort_handover::{ConsentCheck, Registry};

use crate::intake::Intake;
use zorgpoort_metrics::Metrics;

/// What the handlers share.
pub struct AppState<S> {
    /// The message path.
    pub intake: Arc<Intake<S>>,
    /// The store, for status queries.
    pub store: S,
    /// The region registry.
    pub registry: Arc<Registry>,
    /// Decides what of a patient's data an organisation may have.
    pub consent: Arc<ConsentCheck>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Largest body accepted.
    pub max_body_bytes: usize,
    /// What happens to incoming FHIR that does not validate.
    pub validation: Arc<crate::validation::Validation>,
    /// The demo receivers' inbox, when enabled.
    pub inbox: Option<Arc<inbox::Inbox>>,
    /// Handovers: pickup time and the gateway's public FHIR base.
    pub handover: zorgpoort_handover::HandoverConfig,
    /// The client for holders' endpoints (proxied reads).
    pub upstream: zorgpoort_handover::Upstream,
}

impl<S: Clone> Clone for AppState<S> {
    fn clone(&self) -> Self {
        Self {
            intake: Arc::clone(&self.intake),
            store: self.store.clone(),
            registry: Arc::clone(&self.registry),
            consent: Arc::clone(&self.consent),
            metrics: Arc::clone(&self.metrics),
            max_body_bytes: self.max_body_bytes,
            validation: Arc::clone(&self.validation),
            inbox: self.inbox.clone(),
            handover: self.handover.clone(),
            upstream: self.upstream.clone(),
        }
    }
}
