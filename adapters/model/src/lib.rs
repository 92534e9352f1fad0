//! FHIR R4 building blocks shared by the zorgpoort adapters.
//!
//! Every adapter turns bytes into a [`Conversion`]: a Bundle whose entries
//! come from [`TransactionBuilder`], with deterministic ids and `urn:uuid:`
//! references. A resource is either built as an [`Object`] tree, which
//! refuses empty values by construction and can still be added to after it
//! is in the Bundle, or written directly as JSON with a [`ResourceWriter`]
//! ([`ObjectWriter`] keeps the same rule), for mappings whose resources are
//! complete when they are made. A part many resources repeat is written once
//! as [`Json`] and shared. The Dutch identifier systems and profiles are in
//! [`systems`], and [`Warning`]s carry whatever the mapping did not carry over.
//!
//! This crate does no I/O and knows no source format.

pub mod address;
pub mod base64;
pub mod bundle;
#[cfg(feature = "check")]
pub mod check;
pub mod datatypes;
pub mod json;
pub mod names;
pub mod origin;
pub mod span;
pub mod systems;
pub mod ucum;
pub mod warning;
pub mod writer;

pub use bundle::{Entry, EntryRef, FullUrl, IdGenerator, ResourceWriter, TransactionBuilder, WrittenRef};
pub use json::{Json, Object, Value};
pub use origin::Origin;
pub use warning::{Conversion, Warning};
pub use writer::{ArrayWriter, ObjectWriter};
