//! EDIFACT for zorgpoort: a zero-copy ISO 9735 parser (UNA, release
//! characters, UNB/UNZ, UNG/UNE and UNH/UNT envelopes with their counts and
//! references checked, character sets UNOA/UNOB/UNOC/UNOY decoded to UTF-8),
//! and the mapping of the Dutch GP messages to FHIR R4 nl-core:
//!
//! - `MEDLAB` (laboratory results) -> transaction Bundle with Patient,
//!   requester, laboratory, `DiagnosticReport` and one Observation
//!   (nl-core-LaboratoryTestResult) per determination;
//! - `MEDVRI` (request / verzoek) -> transaction Bundle with Patient,
//!   requester and `ServiceRequest`s;
//! - `MEDEUR` (letter: referral, discharge, specialist letter) -> document
//!   Bundle with a Composition, plus a `ServiceRequest` for a referral.
//!
//! # Sources of the segment layout
//!
//! The Dutch messages use their own segment tags (ZKH, PID, PAD, ART, AFD,
//! ARA, DET, IDE, BEP, OPB, NUB, GGA, GGO, TXT), numbered through the tag's
//! components (`BEP:1:1:2`). The official NHG/Nictiz implementation guides
//! were not reachable while this was written; the layout follows the
//! publicly documented use of these segments (see `map` for each segment's
//! elements). Where no description was found, this crate defines the
//! layout itself and says so: requested tests in MEDVRI are BEP segments as
//! in MEDLAB without a value, and the letter kind of MEDEUR is an `SRT`
//! segment (`SRT+VERW+title`). Everything the mapping does not use is
//! reported as a warning with its location. A message is about one
//! patient: a second PID refuses it (whose results would be whose is a
//! guess), and the other messages of the interchange convert.
//!
//! Errors and warnings name their place as `msg 2 (UNH+7431): segment 7
//! BEP, element 3.2` (see [`Location`]).
//!
//! Nothing here does I/O, and nothing reads a clock: bytes in, [`Interchange`]
//! or [`zorgpoort_model::Conversion`]s out; two-digit years are placed next
//! to the interchange's own date (UNB).

pub mod error;
mod map;
pub mod syntax;

pub use error::{Error, ErrorKind, Location, Trailer};
pub use syntax::{Charset, Delimiters, Element, Interchange, Message, Segment, escape};
use zorgpoort_model::Conversion;
use zorgpoort_model::datatypes::LocalZone;

/// Bounds on what one interchange may hold, so no input can exhaust memory.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes of one interchange (default 16 MiB).
    pub max_bytes: usize,
    /// Segments of one interchange (default 100,000).
    pub max_segments: usize,
    /// Messages of one interchange (default 10,000).
    pub max_messages: usize,
    /// Data elements of one segment (default 256).
    pub max_elements: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 16 << 20,
            max_segments: 100_000,
            max_messages: 10_000,
            max_elements: 256,
        }
    }
}

/// Settings of the conversion.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Zone for times that carry no offset (all EDIFACT times).
    pub zone: LocalZone,
    /// Bounds on the input.
    pub limits: Limits,
}

/// The interchange's messages, each converted on its own: one bad message
/// does not stop the others. The outer `Err` is for an interchange whose
/// envelope (UNB, UNZ, limits) is broken.
pub fn to_fhir(input: &[u8], options: &Options) -> Result<Vec<Result<Conversion<'static>, Error>>, Error> {
    let mut converted = Vec::new();
    convert_each(input, options, |message| converted.push(message))?;
    Ok(converted)
}

/// [`to_fhir`] one message at a time: `each` gets every message's result in
/// order as soon as it is made, so a caller that writes it out holds one
/// message's Bundle at a time, however large the interchange.
pub fn convert_each(
    input: &[u8],
    options: &Options,
    mut each: impl FnMut(Result<Conversion<'static>, Error>),
) -> Result<(), Error> {
    let interchange = Interchange::parse(input, &options.limits)?;
    for message in interchange.messages() {
        each(message.and_then(|m| map::convert(&m, options)));
    }
    Ok(())
}
