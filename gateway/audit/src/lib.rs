//! Audit for zorgpoort: what happened to whose data, recorded so that any
//! later change is evident.
//!
//! [`AuditEvent`] describes one event in the NEN 7513 terms (who, on behalf
//! of which organisation, when, which patient, what data, which action, from
//! where, outcome, consent reference) and renders it as a FHIR AuditEvent in
//! the IHE BALP shape. It never holds message bodies: only their SHA-256 and
//! size. [`chain`] links records by hash, each to the one before, and
//! [`chain::verify`] names the first record that was changed, removed,
//! inserted or moved.
//!
//! Pure functions, no I/O: the store appends, this crate describes and checks.

pub mod chain;
mod event;

pub use event::{Action, AuditEvent, DataObject, Outcome};

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

/// SHA-256 as lowercase hex: how data is identified in audit events (and
/// certificates in the registry) without holding it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
}
