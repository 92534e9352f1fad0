//! Every format zorgpoort reads, in one place: its name, how it is detected
//! from the first bytes, and its conversion to FHIR R4 Bundles; and the way
//! back from FHIR R4 to HL7 v2 for receivers that only take v2.
//!
//! The command line and the gateway both convert through here, so a format
//! added to [`Format`] is known to `zorgpoort convert --from auto`,
//! `POST /convert/{format}` and `POST /messages/{format}` at once. Like the
//! adapters below it, this crate does no I/O.

mod detect;
mod facts;
mod fhir;

use std::fmt;

use zorgpoort_model::datatypes::LocalZone;
use zorgpoort_model::{Origin, Warning};

pub use detect::detect;
pub use facts::PatientFacts;
pub use fhir::FhirError;

/// An input format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// HL7 v2 ER7 messages, optionally MLLP-framed.
    Hl7v2,
    /// HL7 v3 CDA R2 documents.
    Cda,
    /// EDIFACT interchanges with the Dutch GP messages MEDLAB, MEDVRI and MEDEUR.
    Edifact,
    /// Nursing-home (ECD) CSV or JSON exports, read through a mapping.
    Ecd,
    /// FHIR R4 resources or Bundles as JSON or NDJSON.
    FhirR4,
    /// FHIR STU3 (3.0.2) resources or Bundles as JSON or NDJSON, converted
    /// to R4 (the Dutch handover standards eOverdracht and `BgZ` are STU3).
    /// Never detected: STU3 and R4 JSON look alike, so `auto` reads R4.
    FhirStu3,
}

impl Format {
    /// Every format, in the order `--help` and the README list them.
    pub const ALL: [Format; 6] = [
        Self::Hl7v2,
        Self::Cda,
        Self::Edifact,
        Self::Ecd,
        Self::FhirR4,
        Self::FhirStu3,
    ];

    /// The name in URLs and on the command line (`hl7v2`, `cda`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Hl7v2 => "hl7v2",
            Self::Cda => "cda",
            Self::Edifact => "edifact",
            Self::Ecd => "ecd",
            Self::FhirR4 => "fhir-r4",
            Self::FhirStu3 => "fhir-stu3",
        }
    }

    /// The format with this name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The media types a request body in this format may be sent as.
    pub fn media_types(self) -> &'static [&'static str] {
        match self {
            Self::Hl7v2 => &["x-application/hl7-v2+er7", "application/hl7-v2", "text/plain"],
            Self::Cda => &[
                "application/cda+xml",
                "application/hl7-cda+xml",
                "application/xml",
                "text/xml",
            ],
            Self::Edifact => &["application/edifact", "application/edi-x12", "text/plain"],
            Self::Ecd => &["text/csv", "application/json", "text/plain"],
            Self::FhirR4 => &["application/fhir+json", "application/json", "application/x-ndjson"],
            // The gateway compares the type without parameters, so the
            // format name in the URL, not `fhirVersion`, tells STU3 apart.
            Self::FhirStu3 => &[
                "application/fhir+json; fhirVersion=3.0",
                "application/fhir+json",
                "application/json",
                "application/x-ndjson",
            ],
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How inputs are read: time zone and limits per format.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Zone for timestamps that carry no offset.
    pub zone: LocalZone,
    /// Largest input (a file or request body) in bytes.
    pub max_bytes: usize,
    /// Limits of the HL7 v2 parser.
    pub hl7v2: zorgpoort_hl7v2::Limits,
    /// Limits of the CDA reader.
    pub cda: zorgpoort_cda::Limits,
    /// Limits of the EDIFACT parser.
    pub edifact: zorgpoort_edifact::Limits,
    /// Limits of the export reader.
    pub ecd: zorgpoort_ecd::Limits,
    /// The mapping of nursing-home exports; `None` picks the built-in one
    /// whose layout the export has.
    pub ecd_mapping: Option<zorgpoort_ecd::Mapping>,
    /// The sender of nursing-home exports, which carry no envelope.
    pub ecd_sender: String,
}

impl Settings {
    /// The defaults with every format's input limited to `max_bytes`.
    pub fn with_max_bytes(max_bytes: usize) -> Self {
        Self {
            zone: LocalZone::default(),
            max_bytes,
            hl7v2: zorgpoort_hl7v2::Limits {
                max_message_bytes: max_bytes,
                ..zorgpoort_hl7v2::Limits::default()
            },
            cda: zorgpoort_cda::Limits {
                max_bytes,
                ..zorgpoort_cda::Limits::default()
            },
            edifact: zorgpoort_edifact::Limits {
                max_bytes,
                ..zorgpoort_edifact::Limits::default()
            },
            ecd: zorgpoort_ecd::Limits {
                max_bytes,
                ..zorgpoort_ecd::Limits::default()
            },
            ecd_mapping: None,
            ecd_sender: zorgpoort_ecd::Options::default().sender,
        }
    }
}

impl Default for Settings {
    /// Inputs of at most 16 MiB.
    fn default() -> Self {
        Self::with_max_bytes(16 * 1024 * 1024)
    }
}

/// One message or document of the input, converted to FHIR R4.
#[derive(Debug, Clone)]
pub struct Converted {
    /// The Bundle as JSON.
    pub bundle: String,
    /// What was not mapped, with its location.
    pub warnings: Vec<Warning>,
    /// Who sent it and which message it was.
    pub origin: Origin,
}

impl From<zorgpoort_model::Conversion<'_>> for Converted {
    fn from(conversion: zorgpoort_model::Conversion<'_>) -> Self {
        Self {
            bundle: conversion.bundle.to_json(),
            warnings: conversion.warnings,
            origin: conversion.origin,
        }
    }
}

/// Why an input, or one message in it, could not be converted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Not one of the formats this build reads.
    #[error("cannot detect the input format: not {}", detect::described())]
    NotDetected,
    /// Larger than [`Settings::max_bytes`].
    #[error("input of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The input's size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// An export whose layout none of the built-in mappings has, and no mapping given.
    #[error("no mapping for this export: its columns match none of the built-in mappings ({}); give one with a mapping file", zorgpoort_ecd::Mapping::BUILTIN.join(", "))]
    NoMapping,
    /// Bad HL7 v2.
    #[error(transparent)]
    Hl7v2(#[from] zorgpoort_hl7v2::Error),
    /// Bad CDA.
    #[error(transparent)]
    Cda(#[from] zorgpoort_cda::Error),
    /// Bad EDIFACT.
    #[error(transparent)]
    Edifact(#[from] zorgpoort_edifact::Error),
    /// A bad nursing-home export.
    #[error(transparent)]
    Ecd(#[from] zorgpoort_ecd::Error),
    /// Bad FHIR input.
    #[error(transparent)]
    Fhir(#[from] FhirError),
}

impl Error {
    /// The error of the `number`th message of an input (from 1), as the
    /// command line and the gateway report it: `msg 3: ...`, unless the
    /// error names its message itself (EDIFACT: `msg 3 (UNH+7): ...`).
    pub fn of_message(&self, number: usize) -> String {
        match self {
            Self::Edifact(e) if e.location.is_some_and(|l| l.message > 0) => self.to_string(),
            _ => format!("msg {number}: {self}"),
        }
    }
}

/// The input's messages, each converted on its own: one bad message does not
/// stop the others. The outer error is about the input as a whole.
pub fn convert(format: Format, input: &[u8], settings: &Settings) -> Result<Vec<Result<Converted, Error>>, Error> {
    let mut converted = Vec::new();
    convert_each(format, input, settings, |message| converted.push(message))?;
    Ok(converted)
}

/// [`convert`] one message at a time: `each` gets every message's Bundle (or
/// error) in input order as soon as it is made, so a caller that writes it
/// out holds one message's Bundle at a time, however large the input.
pub fn convert_each(
    format: Format,
    input: &[u8],
    settings: &Settings,
    mut each: impl FnMut(Result<Converted, Error>),
) -> Result<(), Error> {
    if input.len() > settings.max_bytes {
        return Err(Error::TooLarge {
            size: input.len(),
            limit: settings.max_bytes,
        });
    }
    match format {
        Format::Hl7v2 => hl7v2_messages(input, settings, &mut each),
        Format::Cda => {
            let options = zorgpoort_cda::Options {
                zone: settings.zone,
                limits: settings.cda,
            };
            each(Ok(zorgpoort_cda::to_fhir(input, &options)?.into()));
        }
        Format::Edifact => {
            let options = zorgpoort_edifact::Options {
                zone: settings.zone,
                limits: settings.edifact,
            };
            zorgpoort_edifact::convert_each(input, &options, |message| each(owned(message)))?;
        }
        Format::Ecd => {
            let builtin;
            let mapping = if let Some(mapping) = &settings.ecd_mapping {
                mapping
            } else {
                builtin = zorgpoort_ecd::detect(input)
                    .and_then(zorgpoort_ecd::Mapping::builtin)
                    .ok_or(Error::NoMapping)?;
                &builtin
            };
            let options = zorgpoort_ecd::Options {
                sender: settings.ecd_sender.clone(),
                zone: settings.zone,
                limits: settings.ecd,
            };
            zorgpoort_ecd::convert_each(input, mapping, &options, |client| each(owned(client)))?;
        }
        Format::FhirR4 => fhir::resources(input, fhir::Version::R4)?.into_iter().for_each(each),
        Format::FhirStu3 => fhir::resources(input, fhir::Version::Stu3)?.into_iter().for_each(each),
    }
    Ok(())
}

/// An adapter's result with its Bundle written out.
fn owned<E: Into<Error>>(result: Result<zorgpoort_model::Conversion<'_>, E>) -> Result<Converted, Error> {
    result.map(Converted::from).map_err(Into::into)
}

fn hl7v2_messages(input: &[u8], settings: &Settings, each: &mut impl FnMut(Result<Converted, Error>)) {
    let options = zorgpoort_hl7v2::Options {
        zone: settings.zone,
        ..zorgpoort_hl7v2::Options::default()
    };
    let mut splitter = zorgpoort_hl7v2::Splitter::new(settings.hl7v2.max_message_bytes);
    splitter.push(input);
    let mut frames = Vec::new();
    while let Some(frame) = splitter.next_frame() {
        frames.push(frame);
    }
    frames.extend(splitter.finish());
    if frames.is_empty() {
        return each(Err(
            zorgpoort_hl7v2::Error::new(zorgpoort_hl7v2::ErrorKind::Empty).into()
        ));
    }
    for frame in frames {
        let converted = frame.and_then(|frame| {
            let message = zorgpoort_hl7v2::Message::parse(&frame.bytes, &settings.hl7v2)?;
            zorgpoort_hl7v2::to_fhir(&message, &options).map(Converted::from)
        });
        each(converted.map_err(|mut e| {
            // The caller numbers the messages of every format alike.
            e.message = None;
            e.into()
        }));
    }
}
