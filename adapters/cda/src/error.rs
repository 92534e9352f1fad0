//! Errors that say where in the document (line, column and element path)
//! and why, without patient data.

use std::fmt;

/// Why a document could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Larger than [`crate::Limits::max_bytes`].
    #[error("document of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The size of the input.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Not well-formed XML, or not in an encoding we read (UTF-8, ISO-8859-1).
    #[error("not well-formed XML: {0}")]
    NotXml(String),
    /// A document type declaration: refused, as it is the door to entity
    /// expansion attacks and CDA never needs one.
    #[error("DTDs and entity declarations are not accepted")]
    Dtd,
    /// Elements nested deeper than [`crate::Limits::max_depth`].
    #[error("elements nested deeper than {limit} levels")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// More XML nodes than [`crate::Limits::max_nodes`].
    #[error("more than {limit} XML nodes")]
    TooManyNodes {
        /// The limit.
        limit: usize,
    },
    /// The root element is not `ClinicalDocument` in the `urn:hl7-org:v3` namespace.
    #[error("not a CDA document: root element is {0}, expected ClinicalDocument in namespace urn:hl7-org:v3")]
    NotCda(String),
    /// An element the conversion cannot do without.
    #[error("required element {0} is missing")]
    Missing(&'static str),
    /// An element whose content cannot be read.
    #[error("invalid {element}: {reason}")]
    Invalid {
        /// The element (or `element/@attribute`).
        element: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A BSN (OID 2.16.840.1.113883.2.4.6.3) that fails the 11-check.
    #[error("BSN fails the 11-check")]
    InvalidBsn,
    /// A second `recordTarget`: the document is about more than one
    /// patient, and its entries cannot be told apart by patient.
    #[error("a second recordTarget: the document is about more than one patient; send one document per patient")]
    SecondRecordTarget,
}

/// An [`ErrorKind`] with the place in the document where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// `line L, column C (/ClinicalDocument/recordTarget/patientRole/id[2])`,
    /// or just `line L, column C` for XML syntax errors; `None` when the
    /// error is about the whole input.
    pub location: Option<String>,
    /// What went wrong.
    pub kind: ErrorKind,
}

impl Error {
    /// An error about the whole input.
    pub fn new(kind: ErrorKind) -> Self {
        Self { location: None, kind }
    }

    /// An error at `location`.
    pub fn at(location: impl Into<String>, kind: ErrorKind) -> Self {
        Self {
            location: Some(location.into()),
            kind,
        }
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

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_puts_the_location_first() {
        let error = Error::at(
            "line 3, column 5 (/ClinicalDocument/id)",
            ErrorKind::Missing("id/@root"),
        );
        assert_eq!(
            error.to_string(),
            "line 3, column 5 (/ClinicalDocument/id): required element id/@root is missing"
        );
        assert_eq!(
            Error::new(ErrorKind::Dtd).to_string(),
            "DTDs and entity declarations are not accepted"
        );
    }
}
