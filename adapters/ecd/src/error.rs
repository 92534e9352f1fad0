//! Errors with the place in the export (or in the mapping file) where they happened.

use std::fmt;

/// Why an export, or one client in it, could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The export is larger than [`crate::Limits::max_bytes`].
    #[error("export of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Size of the input.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// More rows (CSV) or records (JSON) than [`crate::Limits::max_rows`].
    #[error("more than {limit} rows")]
    TooManyRows {
        /// The configured limit.
        limit: usize,
    },
    /// A field longer than [`crate::Limits::max_field_bytes`].
    #[error("field longer than {limit} bytes")]
    FieldTooLong {
        /// The configured limit.
        limit: usize,
    },
    /// A row with more columns than [`crate::Limits::max_columns`] or than the header.
    #[error("{found} columns, more than the {allowed} allowed{why}")]
    TooManyColumns {
        /// Columns in the row.
        found: usize,
        /// Columns allowed.
        allowed: usize,
        /// Extra explanation (" by the header").
        why: &'static str,
    },
    /// A quoted CSV field that is never closed.
    #[error("quoted field is not closed before the end of the export")]
    UnbalancedQuote,
    /// A character after the closing quote of a CSV field.
    #[error("unexpected character after the closing quote")]
    TextAfterQuote,
    /// The export is not UTF-8.
    #[error("not UTF-8 (byte offset {offset}); export as UTF-8")]
    NotUtf8 {
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// The export has no header row.
    #[error("no header row")]
    NoHeader,
    /// The client key or record kind column is not in the header.
    #[error("column {column:?} (mapped as {field}) is not in the header")]
    MissingColumn {
        /// The column name.
        column: String,
        /// The mapping key that names it.
        field: String,
    },
    /// The export is not valid JSON, or not shaped as the mapping says.
    #[error("{0}")]
    Json(String),
    /// A client without a client key.
    #[error("client key is missing or empty")]
    MissingKey,
    /// A BSN that fails the 11-check (the value is not repeated: it is patient data).
    #[error("BSN fails the 11-check")]
    InvalidBsn,
    /// A date that none of the mapping's date formats reads.
    #[error("invalid date {value:?} (formats: {formats})")]
    InvalidDate {
        /// The text found.
        value: String,
        /// The formats tried.
        formats: String,
    },
    /// A number that is not a decimal, or outside its range.
    #[error("invalid number {value:?}{why}")]
    InvalidNumber {
        /// The text found.
        value: String,
        /// Extra explanation (" (expected 0-10)").
        why: &'static str,
    },
}

/// An error with its location: `row 12, column "geboortedatum"` (CSV rows are
/// counted from 1, the header being row 1) or a JSON path `$.clienten[3].bsn`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// Where in the export, when known.
    pub location: Option<String>,
    /// What went wrong.
    pub kind: ErrorKind,
}

impl Error {
    pub(crate) fn at(location: impl Into<String>, kind: ErrorKind) -> Self {
        Self {
            location: Some(location.into()),
            kind,
        }
    }

    pub(crate) fn whole(kind: ErrorKind) -> Self {
        Self { location: None, kind }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(location) => write!(f, "{location}: {}", self.kind),
            None => write!(f, "{}", self.kind),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.kind)
    }
}

/// A mapping file that cannot be used: the TOML key (`records.diagnosis.code`)
/// or line, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("mapping {key}: {message}")]
pub struct MappingError {
    /// The TOML key path, or `line N` for syntax errors.
    pub key: String,
    /// Why it cannot be used.
    pub message: String,
}

impl MappingError {
    pub(crate) fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}
