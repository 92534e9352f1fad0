//! Audit for zorgpoort: what happened to whose data, recorded so that any
//! later change is evident.
//!
//! [`AuditEvent`] describes one event in the NEN 7513 terms (who, on behalf
//! of which organisation, when, which patient, what data, which action, from
//! where, outcome, consent reference) and renders it as a FHIR AuditEvent in
//! the IHE BALP shape. It never holds message bodies: only their SHA-256 and
//! size. [`chain`] links records by HMAC under a key kept outside the
//! database, each to the one before, and defines the anchors that pin the
//! chain's head outside the database; [`verify`] streams the records past
//! the anchors and names every record that was changed, removed, inserted
//! or moved, a cut tail, a rebuilt chain, a forged anchor or checkpoint.
//!
//! Pure functions, no I/O: the store appends and keeps the key and anchor
//! files, this crate describes and checks. It never logs, and the key's
//! `Debug` never shows the secret.

pub mod chain;
mod event;
pub mod verify;

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

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

/// Bytes from hex (either case); `None` when `text` is not an even number of hex digits.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            let digit = |c: u8| char::from(c).to_digit(16);
            u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).ok()
        })
        .collect()
}
