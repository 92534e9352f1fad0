//! FHIR R4 building blocks shared by the zorgpoort adapters.
//!
//! Every adapter turns bytes into a [`Conversion`]: a Bundle built from
//! [`Object`]s, which refuse empty values by construction (a part many
//! resources repeat is written once, as [`Json`], and shared), with deterministic
//! ids and `urn:uuid:` references from [`TransactionBuilder`], the Dutch
//! identifier systems and profiles from [`systems`], and [`Warning`]s for
//! whatever the mapping did not carry over.
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
pub mod systems;
pub mod warning;
pub mod writer;

pub use bundle::{Entry, EntryRef, FullUrl, IdGenerator, ResourceWriter, TransactionBuilder, WrittenRef};
pub use json::{Json, Object, Value};
pub use origin::Origin;
pub use warning::{Conversion, Warning};
pub use writer::{ArrayWriter, ObjectWriter};
