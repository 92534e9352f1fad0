//! Nursing-home record exports (ECD, elektronisch cliëntdossier) to FHIR R4.
//!
//! Vendors export client data as CSV or JSON in layouts of their own. A TOML
//! [`Mapping`] says which column or JSON field holds which part of the client
//! record (identity, contact persons, GP, diagnoses, medication, allergies,
//! functional status, wounds, measurements, care goals, advance and treatment
//! directives) and how vendor code lists translate to codes, so an IT
//! department maps its export without code. [`to_fhir`] makes one
//! transaction Bundle of zib2020 nl-core resources per client; a bad client
//! does not stop the others, and whatever the mapping does not read is
//! reported as a warning, once per column and client.
//!
//! This crate does no I/O: it gets bytes and returns Bundles. The CSV reader
//! (RFC 4180, `;` or `,`, CRLF or LF, UTF-8 with or without BOM) and the date
//! format reader are its own, with limits on every size ([`Limits`]).

mod csv;
mod date;
mod error;
mod fhir;
mod mapping;
mod source;

pub use csv::write_record;
pub use error::{Error, ErrorKind, MappingError};
pub use mapping::Mapping;
use zorgpoort_model::datatypes::LocalZone;

/// Size limits, so no export can make the conversion run out of memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest export, in bytes (64 MiB).
    pub max_bytes: usize,
    /// The most data rows (CSV) or records (JSON) (1,000,000).
    pub max_rows: usize,
    /// The longest field, in bytes (64 KiB).
    pub max_field_bytes: usize,
    /// The most columns in a row (512).
    pub max_columns: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 64 << 20,
            max_rows: 1_000_000,
            max_field_bytes: 64 << 10,
            max_columns: 512,
        }
    }
}

/// How to convert.
#[derive(Debug, Clone)]
pub struct Options {
    /// The exporting organisation, the sender of every Bundle (default `ecd`).
    pub sender: String,
    /// Where times without a zone are (default Europe/Amsterdam).
    pub zone: LocalZone,
    /// Size limits.
    pub limits: Limits,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            sender: "ecd".to_owned(),
            zone: LocalZone::default(),
            limits: Limits::default(),
        }
    }
}

/// The export as text: UTF-8, a byte order mark dropped.
fn text_of<'a>(input: &'a [u8], limits: &Limits) -> Result<&'a str, Error> {
    if input.len() > limits.max_bytes {
        return Err(Error::whole(ErrorKind::TooLarge {
            size: input.len(),
            limit: limits.max_bytes,
        }));
    }
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    std::str::from_utf8(input).map_err(|e| {
        Error::whole(ErrorKind::NotUtf8 {
            offset: e.valid_up_to(),
        })
    })
}

/// One transaction Bundle per client in the export; a bad client does not stop the others.
///
/// ```
/// use zorgpoort_ecd::{Mapping, Options, to_fhir};
///
/// let export = "clientnummer;soort;bsn;achternaam;geboortedatum;omschrijving;datum\n\
///               C1;client;999910851;van Dijk;1940-05-01;;\n\
///               C1;diagnose;;;;dementie;2020-01-01\n\
///               C2;client;123456789;Fout;;;\n";
/// let mapping = Mapping::builtin("zorgpoort").unwrap();
/// let results = to_fhir(export.as_bytes(), &mapping, &Options::default()).unwrap();
/// let first = results[0].as_ref().unwrap();
/// assert!(first.bundle.to_json().contains("nl-core-Problem"));
/// assert_eq!(first.origin.event, "ECD");
/// // The columns this small export leaves out are named once, on the first client.
/// assert!(first.warnings[0].to_string().starts_with("row 1: column \"voornamen\""));
/// assert_eq!(
///     results[1].as_ref().unwrap_err().to_string(),
///     "row 4, column \"bsn\": BSN fails the 11-check"
/// );
/// ```
///
/// Warnings about the export as a whole (a mapped column missing from the
/// header) are on the first converted client only.
///
/// The outer error is about the whole export (not UTF-8, too large, no
/// header, the key or kind column missing, unbalanced quotes); an inner
/// error is about one client (invalid BSN or date, too many columns in its row).
pub fn to_fhir(
    input: &[u8],
    mapping: &Mapping,
    options: &Options,
) -> Result<Vec<Result<zorgpoort_model::Conversion<'static>, Error>>, Error> {
    let mut converted = Vec::new();
    convert_each(input, mapping, options, |client| converted.push(client))?;
    Ok(converted)
}

/// [`to_fhir`] one client at a time: `each` gets every client's result in
/// order as soon as it is made, so a caller that writes it out holds one
/// client's Bundle at a time, however large the export.
pub fn convert_each(
    input: &[u8],
    mapping: &Mapping,
    options: &Options,
    mut each: impl FnMut(Result<zorgpoort_model::Conversion<'static>, Error>),
) -> Result<(), Error> {
    let text = text_of(input, &options.limits)?;
    let export = source::clients(text, mapping, &options.limits)?;
    // Warnings about the export as a whole go to the first client converted.
    let mut export_warnings = Some(export.warnings);
    for client in export.clients {
        let mut result = client.and_then(|c| fhir::convert(c, mapping, options, &export.locator));
        if let Ok(conversion) = &mut result
            && let Some(warnings) = export_warnings.take()
        {
            conversion.warnings.splice(0..0, warnings);
        }
        each(result);
    }
    Ok(())
}

/// The name of the built-in mapping whose shape this input has (CSV header columns / JSON keys), if any. Used by `convert --from auto`.
///
/// A CSV header fits when it has the mapping's key (and kind) column and at
/// least half of its other columns, the best fit winning; JSON fits when the
/// clients array is where the mapping says and its first client has the key
/// and a mapped field.
pub fn detect(input: &[u8]) -> Option<&'static str> {
    let limits = Limits::default();
    let text = text_of(input, &limits).ok()?;
    let trimmed = text.trim_start();
    let json = trimmed.starts_with('{') || trimmed.starts_with('[');
    let parsed: Option<serde_json::Value> = if json { serde_json::from_str(trimmed).ok() } else { None };
    let mut best: Option<(&'static str, f64)> = None;
    for mapping in Mapping::shipped() {
        let Some(&name) = Mapping::BUILTIN.iter().find(|n| **n == mapping.name) else {
            continue;
        };
        let fit = match (&parsed, mapping.format) {
            (Some(root), mapping::Format::Json) => source::json_shape_fits(root, mapping).then_some(1.0),
            (None, mapping::Format::Csv { delimiter }) if !json => source::csv_shape_fit(text, mapping, delimiter),
            _ => None,
        };
        if let Some(fit) = fit {
            if best.is_none_or(|(_, b)| fit > b) {
                best = Some((name, fit));
            }
        }
    }
    best.map(|(name, _)| name)
}
