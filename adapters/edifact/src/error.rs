//! Errors with the place in the interchange where they happened.

use std::fmt;

/// A short ASCII text (segment tag, message reference) stored inline, so a
/// [`Location`] is `Copy` and costs no allocation.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Short<const N: usize> {
    bytes: [u8; N],
    len: u8,
}

impl<const N: usize> Default for Short<N> {
    fn default() -> Self {
        Self { bytes: [0; N], len: 0 }
    }
}

impl<const N: usize> Short<N> {
    /// The first `N` bytes of `text`; non-printable bytes become `?`.
    pub fn new(text: &[u8]) -> Self {
        let mut bytes = [0; N];
        let len = text.len().min(N);
        for (slot, &b) in bytes.iter_mut().zip(&text[..len]) {
            *slot = if b.is_ascii_graphic() || b == b' ' { b } else { b'?' };
        }
        Self {
            bytes,
            len: u8::try_from(len).unwrap_or(0),
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("?")
    }

    /// The bytes stored (printable ASCII).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<const N: usize> fmt::Debug for Short<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

/// A place in an interchange, written as
/// `msg 2 (UNH+7431): segment 7 BEP, element 3.2`.
///
/// Inside a message, `segment` counts from its UNH (UNH is 1), the way the
/// UNT segment count does; outside a message it counts from the start of the
/// interchange (UNB is 1, a UNA service string advice is not counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Location {
    /// 1-based number of the message in the interchange; 0 outside messages.
    pub message: u32,
    /// The message reference from UNH (first 14 characters).
    pub message_ref: Short<14>,
    /// 1-based segment position; 0 when the error is about the whole interchange.
    pub segment: u32,
    /// The segment tag.
    pub tag: Short<3>,
    /// 1-based data element (0: the segment itself; the tag is not counted).
    pub element: u32,
    /// 1-based component (0: the whole element).
    pub component: u32,
}

/// A position as a [`Location`] holds it (32 bits keep the location, which
/// every element carries, small; a larger count is capped, which the input
/// limits never allow).
pub(crate) fn position(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Location {
    /// The same place, narrowed to element `n`.
    #[must_use]
    pub fn with_element(mut self, element: usize) -> Self {
        self.element = position(element);
        self.component = 0;
        self
    }

    /// The same place, narrowed to component `n`.
    #[must_use]
    pub fn with_component(mut self, component: usize) -> Self {
        self.component = position(component);
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut any = false;
        if self.message > 0 {
            write!(f, "msg {}", self.message)?;
            if !self.message_ref.is_empty() {
                write!(f, " (UNH+{})", self.message_ref.as_str())?;
            }
            any = true;
        }
        if self.segment > 0 {
            if any {
                f.write_str(": ")?;
            }
            write!(f, "segment {} {}", self.segment, self.tag.as_str())?;
            if self.element > 0 {
                write!(f, ", element {}", self.element)?;
                if self.component > 0 {
                    write!(f, ".{}", self.component)?;
                }
            }
            any = true;
        }
        if !any {
            f.write_str("interchange")?;
        }
        Ok(())
    }
}

/// Why an interchange or message could not be parsed or converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Nothing but whitespace.
    #[error("empty interchange")]
    Empty,
    /// Larger than [`crate::Limits::max_bytes`].
    #[error("interchange of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The size of the input.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// More segments than [`crate::Limits::max_segments`].
    #[error("more than {limit} segments")]
    TooManySegments {
        /// The limit.
        limit: usize,
    },
    /// More messages than [`crate::Limits::max_messages`].
    #[error("more than {limit} messages")]
    TooManyMessages {
        /// The limit.
        limit: usize,
    },
    /// More data elements in one segment than [`crate::Limits::max_elements`].
    #[error("more than {limit} data elements in one segment")]
    TooManyElements {
        /// The limit.
        limit: usize,
    },
    /// The UNA service string advice is unusable.
    #[error("invalid UNA service string advice: {0}")]
    InvalidUna(&'static str),
    /// The first segment is not UNB.
    #[error("interchange does not start with UNB (found {0})")]
    MissingUnb(String),
    /// The input ends in the middle of something.
    #[error("truncated interchange: {0}")]
    Truncated(&'static str),
    /// A release character with nothing after it.
    #[error("release character at the end of the input")]
    LoneRelease,
    /// A segment without a (valid) tag.
    #[error("segment has no valid tag")]
    InvalidTag,
    /// UNB names a character set we do not decode.
    #[error("unsupported character set {0:?}")]
    UnsupportedCharset(String),
    /// A byte that is not valid in the interchange's character set.
    #[error("byte 0x{byte:02X} is not valid in character set {charset}")]
    InvalidEncoding {
        /// The character set from UNB.
        charset: &'static str,
        /// The offending byte (the first byte of an invalid UTF-8 sequence).
        byte: u8,
    },
    /// A segment outside UNH/UNT where only envelope segments may be.
    #[error("segment {0} outside a message")]
    OutsideMessage(String),
    /// A message without its UNT trailer.
    #[error("message has no UNT trailer")]
    MissingUnt,
    /// Data after the UNZ trailer.
    #[error("data after UNZ")]
    AfterUnz,
    /// UNT's segment count does not match.
    #[error("UNT says {declared} segments, the message has {actual}")]
    UntCount {
        /// The count in UNT.
        declared: Box<str>,
        /// The segments from UNH to UNT.
        actual: usize,
    },
    /// UNZ's message (or group) count does not match.
    #[error("UNZ says {declared} messages, the interchange has {actual}")]
    UnzCount {
        /// The count in UNZ.
        declared: Box<str>,
        /// The messages (or groups) counted.
        actual: usize,
    },
    /// UNE's message count does not match its group.
    #[error("UNE says {declared} messages, the group has {actual}")]
    UneCount {
        /// The count in UNE.
        declared: Box<str>,
        /// The messages between UNG and UNE.
        actual: usize,
    },
    /// A trailer's reference differs from its header's.
    #[error("{} reference {found:?} does not match {} reference {expected:?}", trailer.name(), trailer.header())]
    ReferenceMismatch {
        /// Which trailer.
        trailer: Trailer,
        /// The header's reference.
        expected: Box<str>,
        /// The trailer's reference.
        found: Box<str>,
    },
    /// An element the message cannot do without is empty.
    #[error("required element is empty: {0}")]
    MissingElement(&'static str),
    /// A segment the message cannot do without is missing.
    #[error("required segment {0} is missing")]
    MissingSegment(&'static str),
    /// A second patient (PID) in one message: a message is about one
    /// patient, and which of its results belong to which would be a guess.
    /// The error is at the second PID; `first` is the segment number of the
    /// one before it.
    #[error("second patient in one message (first PID is segment {first})")]
    SecondPatient {
        /// Segment number of the first PID.
        first: u32,
    },
    /// A date or time that is malformed or does not exist.
    #[error("invalid date {0:?}")]
    InvalidDate(String),
    /// A BSN that fails the 11-check (the number itself is not repeated).
    #[error("invalid BSN: not 9 digits passing the 11-check")]
    InvalidBsn,
    /// A message type without a mapping.
    #[error("message type {0:?} is not supported (MEDLAB, MEDVRI, MEDEUR are)")]
    UnsupportedMessage(String),
}

/// The trailer segment of an envelope, which repeats its header's reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trailer {
    /// UNT, closing UNH.
    Unt,
    /// UNE, closing UNG.
    Une,
    /// UNZ, closing UNB.
    Unz,
}

impl Trailer {
    /// The trailer's tag.
    pub fn name(self) -> &'static str {
        match self {
            Trailer::Unt => "UNT",
            Trailer::Une => "UNE",
            Trailer::Unz => "UNZ",
        }
    }

    /// The tag of the header it closes.
    pub fn header(self) -> &'static str {
        match self {
            Trailer::Unt => "UNH",
            Trailer::Une => "UNG",
            Trailer::Unz => "UNB",
        }
    }
}

/// An [`ErrorKind`] with its location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// Where, when the error is about one spot.
    pub location: Option<Location>,
    /// What went wrong.
    pub kind: ErrorKind,
}

impl Error {
    /// An error about the whole interchange.
    pub fn new(kind: ErrorKind) -> Self {
        Self { location: None, kind }
    }

    /// An error at `location`.
    pub fn at(location: Location, kind: ErrorKind) -> Self {
        Self {
            location: Some(location),
            kind,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(location) = &self.location {
            write!(f, "{location}: ")?;
        }
        write!(f, "{}", self.kind)
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_message_segment_element_and_component() {
        let location = Location {
            message: 2,
            message_ref: Short::new(b"2"),
            segment: 7,
            tag: Short::new(b"RSL"),
            element: 3,
            component: 2,
        };
        let error = Error::at(location, ErrorKind::InvalidDate("19800230".into()));
        assert_eq!(
            error.to_string(),
            "msg 2 (UNH+2): segment 7 RSL, element 3.2: invalid date \"19800230\""
        );
        let outside = Location {
            segment: 1,
            tag: Short::new(b"UNB"),
            ..Location::default()
        };
        assert_eq!(outside.with_element(5).to_string(), "segment 1 UNB, element 5");
        assert_eq!(Location::default().to_string(), "interchange");
    }
}
