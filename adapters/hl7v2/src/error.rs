//! Errors with the place in the message where they happened.

use std::fmt;

/// A segment id such as `PID`, stored inline so locations cost no allocation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SegmentId([u8; 3]);

impl SegmentId {
    /// The id from its (up to three) bytes.
    pub fn new(id: &[u8]) -> Self {
        let mut bytes = [0; 3];
        for (slot, &b) in bytes.iter_mut().zip(id) {
            *slot = b;
        }
        Self(bytes)
    }

    /// The id as text; `???` when it is not ASCII.
    pub fn as_str(&self) -> &str {
        let len = self.0.iter().position(|&b| b == 0).unwrap_or(3);
        std::str::from_utf8(&self.0[..len])
            .ok()
            .filter(|s| s.is_ascii())
            .unwrap_or("???")
    }

    /// True for the default (no segment).
    pub fn is_empty(&self) -> bool {
        self.0[0] == 0
    }
}

/// A place in an HL7 v2 message: segment, field, repetition, component,
/// subcomponent, written as `PID-3[2].4.1` (`OBX#3-5` for the third OBX).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Location {
    /// Segment id (`PID`), empty when the error is about the whole message.
    pub segment: SegmentId,
    /// Which occurrence of this segment id, 1-based.
    pub occurrence: usize,
    /// Field number, 0 for the segment itself.
    pub field: usize,
    /// Repetition, 1-based, 0 when not relevant.
    pub repetition: usize,
    /// Component, 1-based, 0 when not relevant.
    pub component: usize,
    /// Subcomponent, 1-based, 0 when not relevant.
    pub subcomponent: usize,
}

impl Location {
    /// A whole segment.
    pub fn segment(id: &str, occurrence: usize) -> Self {
        Self {
            segment: SegmentId::new(id.as_bytes()),
            occurrence,
            ..Self::default()
        }
    }

    /// A field of a segment.
    #[must_use]
    pub fn with_field(mut self, field: usize) -> Self {
        self.field = field;
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.segment.is_empty() {
            return f.write_str("message");
        }
        f.write_str(self.segment.as_str())?;
        if self.occurrence > 1 {
            write!(f, "#{}", self.occurrence)?;
        }
        if self.field > 0 {
            write!(f, "-{}", self.field)?;
        }
        if self.repetition > 1 {
            write!(f, "[{}]", self.repetition)?;
        }
        if self.component > 0 {
            write!(f, ".{}", self.component)?;
        }
        if self.subcomponent > 0 {
            write!(f, ".{}", self.subcomponent)?;
        }
        Ok(())
    }
}

/// Why a message could not be parsed or converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Nothing but whitespace or framing bytes.
    #[error("empty message")]
    Empty,
    /// The first segment is not MSH.
    #[error("does not start with an MSH segment")]
    NoMsh,
    /// MSH is too short to hold its delimiters.
    #[error("truncated MSH segment: no encoding characters")]
    TruncatedMsh,
    /// MSH-1/MSH-2 are not usable as delimiters.
    #[error("invalid encoding characters: {0}")]
    EncodingCharacters(&'static str),
    /// Larger than the configured limit.
    #[error("message of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The size seen so far.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// More segments than the configured limit.
    #[error("more than {limit} segments")]
    TooManySegments {
        /// The limit.
        limit: usize,
    },
    /// More repetitions in one field than the configured limit.
    #[error("more than {limit} repetitions")]
    TooManyRepetitions {
        /// The limit.
        limit: usize,
    },
    /// A control character that has no place in ER7.
    #[error("control character 0x{0:02X} in the data")]
    ControlCharacter(u8),
    /// Bytes that are not valid in the message's character set.
    #[error("invalid {charset} byte sequence (declare the character set in MSH-18)")]
    InvalidEncoding {
        /// The character set in force.
        charset: &'static str,
    },
    /// MSH-18 names a character set we do not decode.
    #[error("unsupported character set {0:?}")]
    UnsupportedCharset(String),
    /// A field the message cannot do without.
    #[error("required field is empty")]
    MissingField,
    /// The receiver is at its limit (for AR acknowledgements).
    #[error("the receiver is overloaded; send again later")]
    Overloaded,
    /// The receiver cannot store messages now (for AR acknowledgements).
    #[error("the receiver cannot store messages now; send again later")]
    Unavailable,
    /// Only a header: nothing to convert.
    #[error("message holds no segments with data to convert")]
    NothingToConvert,
    /// A date or time that is not a valid HL7 v2 DTM or does not exist.
    #[error("invalid date {0:?}")]
    InvalidDate(String),
    /// A line that has the shape of a segment (three characters and a
    /// field separator) but whose id is not three upper-case letters or
    /// digits: the segment structure is damaged, and guessing what the
    /// line belongs to could credit its data to the wrong segment.
    #[error(
        "line {line} (byte {offset}): {id:?} is not a segment id (three upper-case letters or digits); the segment structure is damaged"
    )]
    DamagedSegment {
        /// 1-based number of the line among the message's non-empty lines.
        line: usize,
        /// Byte offset of the line in the message.
        offset: usize,
        /// The first three characters of the line.
        id: String,
    },
    /// Data about a patient without a patient to attach it to: no PID (or
    /// none before the data), or a PID without a usable identifier. Refused
    /// up front for the message types about a patient, and for any message
    /// whose mapping would make a resource about the patient.
    #[error("{event} needs an identified patient: {reason}")]
    MissingPatient {
        /// MSH-9.1 and MSH-9.2, such as `ORU^R01`.
        event: String,
        /// What is missing.
        reason: &'static str,
    },
    /// A second PID: the message is about more than one patient, and the
    /// receiver handles one patient per message (consent, routing and audit
    /// are per patient).
    #[error("{event} is about more than one patient (a second PID); send one message per patient")]
    SecondPatient {
        /// MSH-9.1 and MSH-9.2, such as `ADT^A40`.
        event: String,
    },
    /// The converted Bundle breaks the profiles the receiver expects, and
    /// the gateway is set to reject such messages.
    #[error("the converted message does not conform to nl-core: {0}")]
    Nonconformant(String),
    /// A second MSH inside one message: another message starts there, and
    /// reading both as one would mix two patients' data.
    #[error("segment {segment} is a second MSH: another message starts there; send one message per frame or request")]
    AnotherMessage {
        /// The 1-based number of the second MSH among the message's segments.
        segment: usize,
    },
    /// Bytes ended by an MLLP end block without a start block (0x0B) before them.
    #[error("data outside an MLLP frame: no start block (0x0B) before it; not processed")]
    Unframed,
    /// The sender in MSH-3/MSH-4 is not one of the authenticated organisation's senders.
    #[error("sender {sender:?} (MSH-3/MSH-4) does not belong to the authenticated organisation {organization:?}")]
    ForeignSender {
        /// MSH-3/MSH-4 as `APP/FACILITY`.
        sender: String,
        /// The organisation of the connection's certificate or token.
        organization: String,
    },
    /// The sender used this control id before for a message with other content.
    #[error("control id reused with other content: {control_id:?} was received before with different content")]
    ControlIdReused {
        /// MSH-10.
        control_id: String,
    },
}

/// An [`ErrorKind`] with its message number and location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// 1-based number of the message in its input, when known.
    pub message: Option<usize>,
    /// Where, when the error is about one spot.
    pub location: Option<Location>,
    /// What went wrong.
    pub kind: ErrorKind,
}

impl Error {
    /// An error about the whole message.
    pub fn new(kind: ErrorKind) -> Self {
        Self {
            message: None,
            location: None,
            kind,
        }
    }

    /// An error at `location`.
    pub fn at(location: Location, kind: ErrorKind) -> Self {
        Self {
            message: None,
            location: Some(location),
            kind,
        }
    }

    /// The same error, numbered as message `number` of its input.
    #[must_use]
    pub fn in_message(mut self, number: usize) -> Self {
        self.message = Some(number);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(n) = self.message {
            write!(f, "msg {n}: ")?;
        }
        if let Some(loc) = &self.location {
            write!(f, "{loc}: ")?;
        }
        write!(f, "{}", self.kind)
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_message_segment_and_field() {
        let err = Error::at(
            Location::segment("PID", 1).with_field(7),
            ErrorKind::InvalidDate("19800230".into()),
        )
        .in_message(3);
        assert_eq!(err.to_string(), "msg 3: PID-7: invalid date \"19800230\"");
        let loc = Location {
            segment: SegmentId::new(b"OBX"),
            occurrence: 3,
            field: 5,
            repetition: 2,
            component: 1,
            subcomponent: 2,
        };
        assert_eq!(loc.to_string(), "OBX#3-5[2].1.2");
    }
}
