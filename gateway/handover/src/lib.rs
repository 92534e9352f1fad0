//! The region's side of the gateway: who is who ([`registry`], the
//! zorgadresboek), who receives what ([`routing`]), and getting it there
//! ([`delivery`]: retries with backoff, dead letters, order kept per receiver),
//! the eOverdracht handover as a notified pull ([`overdracht`]) and the BgZ
//! searches over what the gateway holds for a patient ([`bgz`]).
//!
//! Nothing here parses care formats: routing works on facts the adapters
//! extract, delivery on stored Bundles.

pub mod bgz;
pub mod delivery;
pub mod overdracht;
pub mod registry;
pub mod routing;
pub mod upstream;

pub use delivery::{Ask, ConsentCheck, ConsentError, Deliverer, DeliveryConfig, Evaluation, Render};
pub use overdracht::{Follower, Handover, HandoverConfig, HandoverRequest, Party, TaskError, TaskStatus};
pub use registry::{Endpoint, Organization, Protocol, Registry, RegistryError};
pub use routing::{Facts, Route, Routes};
pub use upstream::{Upstream, UpstreamConfig, UpstreamError};
