//! CDA R2 / HL7 v3 clinical documents to FHIR R4 document Bundles with the
//! Dutch nl-core (zib2020) profiles.
//!
//! [`to_fhir`] reads one `ClinicalDocument` and returns a [`Conversion`]: a
//! Bundle of type `document` whose first entry is the Composition (header,
//! sections with their narrative as XHTML, references to the resources
//! made from the structured entries), with the Patient, authors,
//! custodian and the resources of the recognised sections (by LOINC
//! section code or C-CDA template): problems and encounter diagnoses
//! (`Condition`), allergies (`AllergyIntolerance`, their reactions and
//! severities folded in), medication and discharge medication
//! (`MedicationStatement`), results, vital signs, social history and
//! functional or mental status (`Observation`), procedures, encounters,
//! immunizations, plan of care (`ServiceRequest`), advance directives
//! (`Consent`), medical equipment (`DeviceUseStatement` and `Device`),
//! payers (`Coverage`) and family history (`FamilyMemberHistory`).
//! A resource claims its nl-core profile only when it meets it; one whose
//! source codes the profile's required bindings exclude keeps its data
//! without the profile, with a warning.
//!
//! Whatever is not mapped is reported as a [`Warning`] with its line,
//! column and element path: sections of other kinds keep their narrative
//! and their entries are reported, never dropped silently (the
//! `accounting` test holds this over every CDA document in the repository).
//!
//! Input whose root is not a CDA `ClinicalDocument` (a lone section, say)
//! is refused as such, naming the root element found. A header that
//! cannot be read (no document id, type, time or patient, an impossible
//! date, a BSN failing the 11-check) fails the document with an [`Error`]
//! naming the element. An unreadable timestamp inside a clinical
//! entry only costs that timestamp: it is left out with a warning, so one
//! bad date in a long history does not lose the whole document.
//!
//! The input is untrusted: its size is checked before parsing, DTDs (and so
//! entity expansion) are refused, node count and nesting depth are bounded
//! ([`Limits`]), and no recursion follows the input without a bound.
//!
//! This crate never does I/O: bytes in, a Bundle out. The section and value
//! map is in `docs/mapping-cda.md`.
//!
//! [`Warning`]: zorgpoort_model::Warning

mod allergies;
mod context;
mod datatypes;
mod directives;
mod entries;
mod equipment;
mod error;
mod family;
mod header;
mod narrative;
mod payers;
mod social;
mod status;
mod values;
mod xml;

use zorgpoort_model::datatypes::LocalZone;
use zorgpoort_model::{Conversion, IdGenerator, TransactionBuilder};

pub use error::{Error, ErrorKind};

/// Bounds on the input, checked before and while parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest document accepted, in bytes (default 16 MiB).
    pub max_bytes: usize,
    /// The deepest element nesting accepted (default 256).
    pub max_depth: usize,
    /// The most XML nodes (elements, text, comments) accepted
    /// (default 1 000 000).
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 16 * 1024 * 1024,
            max_depth: 256,
            max_nodes: 1_000_000,
        }
    }
}

/// How a document is converted.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Where timestamps without a UTC offset are taken to be.
    pub zone: LocalZone,
    /// Bounds on the input.
    pub limits: Limits,
}

/// Converts one CDA document into a FHIR R4 document Bundle.
///
/// The `origin` of the result names the custodian as sender, the document
/// id as message id (`root` or `root^extension`) and `CDA^` + the document
/// type code as event.
pub fn to_fhir(input: &[u8], options: &Options) -> Result<Conversion<'static>, Error> {
    let limits = &options.limits;
    if input.len() > limits.max_bytes {
        return Err(Error::new(ErrorKind::TooLarge {
            size: input.len(),
            limit: limits.max_bytes,
        }));
    }
    let text = xml::decode(input)?;
    let document = xml::parse(&text, limits)?;
    let narrative_ids = xml::index(&document, limits.max_depth)?;
    let root = document.root_element();
    if !xml::is(root, "ClinicalDocument") {
        let name = match root.tag_name().namespace() {
            Some(ns) => format!("{{{ns}}}{}", root.tag_name().name()),
            None => root.tag_name().name().to_owned(),
        };
        return Err(Error::at(xml::location(&document, root), ErrorKind::NotCda(name)));
    }
    let origin = header::origin(&document, root)?;
    let ids = IdGenerator::new(&origin.sender, &origin.message_id);
    let mut ctx = context::Ctx::new(&document, narrative_ids, options.zone, TransactionBuilder::new(ids));
    let (identifier, timestamp) = header::map(&mut ctx, root)?;
    let context::Ctx { bundle, warnings, .. } = ctx;
    let bundle = bundle.finish_document(&origin.message_id, identifier, timestamp);
    Ok(Conversion {
        bundle,
        warnings,
        origin,
    })
}
