//! What every adapter returns besides its Bundle: warnings that say where in
//! the input something was not (fully) mapped, so nothing is dropped silently.

use std::fmt;

use crate::json::Object;
use crate::origin::Origin;

/// Something in the input the mapping did not carry over as-is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Where in the input, in the format's own notation (`PID-3[2]`, `UNH+2`).
    pub location: String,
    /// What happened, without patient data.
    pub message: String,
}

impl Warning {
    /// A warning at `location`.
    pub fn new(location: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            location: location.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// One converted message or document.
#[derive(Debug)]
pub struct Conversion<'a> {
    /// The FHIR R4 Bundle.
    pub bundle: Object<'a>,
    /// What was not mapped, with its location.
    pub warnings: Vec<Warning>,
    /// Who sent it and which message it was.
    pub origin: Origin,
}
