//! Acknowledgements (ACK) for received messages: AA accepted, AE rejected
//! for a content error with an ERR segment naming the place, AR not
//! processed (overload, store unavailable).

use crate::error::{Error, ErrorKind};
use crate::message::Message;
use crate::write::{Er7Message, Er7Segment, components_field, text_field};

/// MSA-1 acknowledgement codes (original mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckCode {
    /// Application accept: the message was taken on.
    Accept,
    /// Application error: the content is wrong; resending the same will fail again.
    Error,
    /// Application reject: not processed now (overload, store down); may be resent.
    Reject,
}

impl AckCode {
    fn code(self) -> &'static str {
        match self {
            Self::Accept => "AA",
            Self::Error => "AE",
            Self::Reject => "AR",
        }
    }
}

/// HL7 table 0357 error code for an error.
fn error_code(kind: &ErrorKind) -> (&'static str, &'static str) {
    match kind {
        ErrorKind::MissingField => ("101", "Required field missing"),
        ErrorKind::InvalidDate(_) | ErrorKind::ControlCharacter(_) | ErrorKind::InvalidEncoding { .. } => {
            ("102", "Data type error")
        }
        ErrorKind::UnsupportedCharset(_) => ("203", "Unsupported version id"),
        ErrorKind::NoMsh
        | ErrorKind::TruncatedMsh
        | ErrorKind::EncodingCharacters(_)
        | ErrorKind::Empty
        | ErrorKind::AnotherMessage { .. }
        | ErrorKind::DamagedSegment { .. }
        | ErrorKind::MissingPatient { .. }
        | ErrorKind::SecondPatient { .. }
        | ErrorKind::Unframed => ("100", "Segment sequence error"),
        _ => ("207", "Application internal error"),
    }
}

/// What an ACK answers and how.
#[derive(Debug, Clone, Copy)]
pub struct AckRequest<'e> {
    /// MSA-1.
    pub code: AckCode,
    /// The error behind AE or AR, for the ERR segment.
    pub error: Option<&'e Error>,
    /// MSH-10 of the ACK itself.
    pub control_id: &'e str,
    /// MSH-7 of the ACK (HL7 DTM).
    pub timestamp: &'e str,
    /// MSA-3, a text for a person reading the ACK (what became of the
    /// message, such as how many receivers it is queued for).
    pub text: Option<&'e str>,
}

/// An ACK for `original`: sender and receiver swapped, MSH-9 `ACK^<event>^ACK`,
/// MSA-2 the original's MSH-10, and an ERR segment (v2.5 layout) for an error.
pub fn ack(original: &Message<'_>, request: AckRequest<'_>) -> String {
    let msh = original.msh();
    let text = |n: usize| {
        msh.field(n)
            .text()
            .map(std::borrow::Cow::into_owned)
            .unwrap_or_default()
    };
    let event = msh
        .field(9)
        .text_of(2)
        .map(std::borrow::Cow::into_owned)
        .unwrap_or_default();
    let version = msh
        .field(12)
        .text_of(1)
        .map_or_else(|| "2.5".to_owned(), std::borrow::Cow::into_owned);
    let mut header = Er7Segment::simple("MSH", &[]);
    header.set(3, text_field(&text(5)));
    header.set(4, text_field(&text(6)));
    header.set(5, text_field(&text(3)));
    header.set(6, text_field(&text(4)));
    header.set(7, text_field(request.timestamp));
    header.set(9, components_field(&["ACK", &event, "ACK"]));
    header.set(10, text_field(request.control_id));
    header.set(11, text_field(&text(11)));
    header.set(12, text_field(&version));
    let original_id = msh
        .field(10)
        .text_of(1)
        .map(std::borrow::Cow::into_owned)
        .unwrap_or_default();
    let msa = match request.text {
        Some(text) => Er7Segment::simple("MSA", &[request.code.code(), &original_id, text]),
        None => Er7Segment::simple("MSA", &[request.code.code(), &original_id]),
    };
    let mut segments = vec![header, msa];
    if let Some(error) = request.error {
        segments.push(err_segment(error));
    }
    Er7Message {
        delimiters: original.delimiters(),
        segments,
    }
    .to_er7()
}

/// An ACK for bytes that did not parse far enough to answer them properly.
pub fn ack_unparsed(error: &Error, control_id: &str, timestamp: &str) -> String {
    let mut header = Er7Segment::simple("MSH", &[]);
    header.set(7, text_field(timestamp));
    header.set(9, components_field(&["ACK", "", "ACK"]));
    header.set(10, text_field(control_id));
    header.set(11, text_field("P"));
    header.set(12, text_field("2.5"));
    let segments = vec![header, Er7Segment::simple("MSA", &["AE", ""]), err_segment(error)];
    Er7Message {
        delimiters: crate::message::Delimiters::default(),
        segments,
    }
    .to_er7()
}

fn err_segment(error: &Error) -> Er7Segment {
    let mut err = Er7Segment::simple("ERR", &[]);
    if let Some(location) = &error.location {
        let number = |n: usize| if n == 0 { String::new() } else { n.to_string() };
        let parts = [
            location.segment.as_str().to_owned(),
            number(location.occurrence),
            number(location.field),
            number(location.repetition),
            number(location.component),
            number(location.subcomponent),
        ];
        err.set(2, vec![parts.into_iter().map(|p| vec![p]).collect()]);
    }
    let (code, text) = error_code(&error.kind);
    err.set(3, components_field(&[code, text, "HL70357"]));
    err.set(4, text_field("E"));
    err.set(8, text_field(&error.kind.to_string()));
    err
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Location;
    use crate::message::Limits;

    const MSG: &[u8] = b"MSH|^~\\&|HIS|RIJN|EPD|GP|20261124093015+0100||ADT^A01^ADT_A01|MSG1|P|2.5\rPID|1\r";

    #[test]
    fn accept_swaps_sender_and_receiver() {
        let m = Message::parse(MSG, &Limits::default()).unwrap();
        let request = AckRequest {
            code: AckCode::Accept,
            error: None,
            control_id: "ACK1",
            timestamp: "20261124093016",
            text: None,
        };
        assert_eq!(
            ack(&m, request),
            "MSH|^~\\&|EPD|GP|HIS|RIJN|20261124093016||ACK^A01^ACK|ACK1|P|2.5\rMSA|AA|MSG1\r"
        );
    }

    #[test]
    fn error_names_the_field() {
        let m = Message::parse(MSG, &Limits::default()).unwrap();
        let error = Error::at(
            Location::segment("PID", 1).with_field(7),
            ErrorKind::InvalidDate("19800230".into()),
        );
        let request = AckRequest {
            code: AckCode::Error,
            error: Some(&error),
            control_id: "ACK2",
            timestamp: "20261124093016",
            text: None,
        };
        let text = ack(&m, request);
        assert!(text.contains("\rMSA|AE|MSG1\r"), "{text}");
        assert!(
            text.contains("\rERR||PID^1^7|102^Data type error^HL70357|E||||invalid date \"19800230\"\r"),
            "{text}"
        );
        let parsed = Message::parse(text.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(parsed.segment("ERR").unwrap().field(2).text_of(3).as_deref(), Some("7"));
    }

    #[test]
    fn unparsed_input_still_gets_an_answer() {
        let error = Error::new(ErrorKind::NoMsh);
        let text = ack_unparsed(&error, "ACK3", "20261124093016");
        let parsed = Message::parse(text.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(parsed.segment("MSA").unwrap().field(1).text().as_deref(), Some("AE"));
    }
}
