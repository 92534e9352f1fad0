//! Conversion of single FHIR resources between STU3 (3.0.2) and R4 (4.0.1).
//!
//! The Dutch national handover standards (eOverdracht, `BgZ`) are specified on
//! FHIR STU3 with the zib2017 profiles, while newer systems speak R4 with the
//! nl-core/zib2020 profiles. [`to_r4`] and [`to_stu3`] translate one resource
//! (a Bundle with its entries, contained resources included) and report every
//! element that has no counterpart in the other version as a [`Warning`] with
//! a FHIRPath-like location (`Condition.abatementBoolean`,
//! `Bundle.entry[2].resource`): nothing is dropped silently.
//!
//! `ProcedureRequest` (STU3) and `ServiceRequest` (R4) are one resource
//! under two names; references, `fullUrl`s and Bundle request URLs that name
//! it are renamed with it. An entry or contained resource that cannot be
//! converted is left out together with every reference to it, so no
//! reference in the output dangles.
//!
//! Code systems that moved from `http://hl7.org/fhir/` (v2 tables, v3 code
//! systems, FHIR-defined ones) to `http://terminology.hl7.org/CodeSystem/`
//! are renamed in every Coding.
//!
//! Known profiles in `meta.profile` are mapped to their counterpart; unknown
//! ones are left out with a warning, since a claim that no longer fits would
//! make the receiver reject the resource. Extensions are kept as they are;
//! modifier extensions too, with a warning, because the converter cannot know
//! whether a mapping changed their meaning.
//!
//! This crate does no I/O: JSON in, JSON out.

mod engine;
mod meta;
mod references;
mod resources;
mod systems;

use serde_json::Value;
use zorgpoort_model::Warning;

pub use engine::Limits;

/// A converted resource and what did not survive the conversion.
#[derive(Debug, Clone, PartialEq)]
pub struct Converted {
    /// The resource in the target FHIR version.
    pub resource: Value,
    /// Elements left out or changed in meaning, each with its location in
    /// the input.
    pub warnings: Vec<Warning>,
}

/// Why a resource could not be converted.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The input is not a JSON object with a string `resourceType`.
    #[error("{path}: not a FHIR resource: {reason}")]
    NotAResource {
        /// Where the resource was expected (`$` for the input itself).
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The top-level resource type is not one this crate converts.
    #[error("resource type {resource_type} is not supported by the STU3/R4 converter")]
    Unsupported {
        /// The `resourceType` of the input.
        resource_type: String,
    },
    /// An element the conversion has to look into has the wrong shape.
    #[error("{path}: {reason}")]
    Invalid {
        /// FHIRPath-like location of the element.
        path: String,
        /// What was expected.
        reason: String,
    },
    /// Resources nested (contained, Bundle entries, consent provisions)
    /// deeper than [`Limits::max_depth`].
    #[error("{path}: nested deeper than {max_depth} levels")]
    TooDeep {
        /// Where the limit was hit.
        path: String,
        /// The limit.
        max_depth: usize,
    },
    /// A Bundle with more entries than [`Limits::max_entries`].
    #[error("{path}: more than {max_entries} entries")]
    TooManyEntries {
        /// The Bundle.
        path: String,
        /// The limit.
        max_entries: usize,
    },
}

/// Converts an STU3 resource to R4 with the default [`Limits`].
pub fn to_r4(stu3: &Value) -> Result<Converted, Error> {
    to_r4_with(stu3, &Limits::default())
}

/// Converts an R4 resource to STU3 with the default [`Limits`].
pub fn to_stu3(r4: &Value) -> Result<Converted, Error> {
    to_stu3_with(r4, &Limits::default())
}

/// Converts an STU3 resource to R4 within `limits`.
pub fn to_r4_with(stu3: &Value, limits: &Limits) -> Result<Converted, Error> {
    engine::convert(stu3, engine::Dir::ToR4, limits)
}

/// Converts an R4 resource to STU3 within `limits`.
pub fn to_stu3_with(r4: &Value, limits: &Limits) -> Result<Converted, Error> {
    engine::convert(r4, engine::Dir::ToStu3, limits)
}

/// The resource types converted in both directions (those whose shape
/// differs, plus those passed through as they are).
pub const SUPPORTED_TYPES: &[&str] = resources::SUPPORTED;
