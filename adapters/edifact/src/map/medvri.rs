//! MEDVRI (request to a colleague or laboratory: verzoek) -> transaction
//! Bundle with one `ServiceRequest` per requested test.
//!
//! Segments: GGA sender (1 short name, 2 department, 3 organisation name,
//! 4 address, 5 phone), DET date of the request, PID/PAD patient, ART
//! requesting physician, TXT lines (clinical information, kept as the
//! request's note), GGO addressee (1 name, 4 address, 5 phone), and BEP
//! requested tests laid out as in MEDLAB without a value (1 kind, 2 name,
//! 9 code : code list). Without BEP the message is one request in words.

use std::borrow::Cow;

use super::medlab::TestCode;
use super::{Finish, Mapper, joined, numbered, peek, phone};
use crate::error::Error;
use crate::syntax::Segment;

pub(super) fn map(m: &mut Mapper, body: &[Segment<'_>], header: Segment<'_>) -> Result<Finish, Error> {
    let mut sender = None;
    let mut requester = None;
    let mut performer = None;
    let mut authored = None;
    let mut lines: Vec<String> = Vec::new();
    let mut tests: Vec<(TestCode<'_>, Option<Cow<'_, str>>, Segment<'_>)> = Vec::new();
    let mut heading: Option<Cow<'_, str>> = None;
    for (i, &segment) in body.iter().enumerate() {
        match segment.tag() {
            "GGA" => sender = m.map_gga(segment)?,
            "GGO" => {
                let name = peek(segment.element(1))?;
                let telecom = phone(segment.element(5), Some("work"))?;
                let practitioner = m.named_practitioner(name.as_deref(), telecom.as_ref(), segment.location());
                if !segment.element(4).is_empty() {
                    m.warn(
                        segment.location().with_element(4),
                        "addressee's address not mapped (the request names only who performs it)",
                    );
                }
                performer = Some(practitioner);
                m.unused(segment, &[1, 4, 5]);
            }
            "DET" => {
                authored = m.det(segment)?;
                m.unused(segment, &[1, 2]);
            }
            "PID" => m.map_pid(segment, &body[i + 1..])?,
            "PAD" => m.map_pad(segment),
            "ART" => requester = Some(m.map_art(segment)?),
            "TXT" => {
                let line = m.text_line(segment)?;
                lines.push(line);
            }
            "BEP" => {
                let name = peek(segment.element(2))?;
                if peek(segment.element(1))?.as_deref() == Some("1") {
                    heading = name;
                    m.unused(segment, &[1, 2]);
                    continue;
                }
                match TestCode::read(m, segment.element(9), name)? {
                    Some(code) => tests.push((code, heading.clone(), segment)),
                    None => m.warn(segment.location(), "requested test without a name or code; not mapped"),
                }
                m.unused(segment, &[1, 2, 9]);
            }
            _ => m.unknown(segment),
        }
    }
    let subject = m.subject(header.location())?;
    let note = joined(&lines);
    let requester = requester.or(sender);
    let mut request = |key: &str, code: Option<&TestCode<'_>>, category: Option<&str>| {
        let mut resource = m.bundle.writer("ServiceRequest", key);
        resource
            .fields()
            .field("status", "active")
            .field("intent", "order")
            .list("category", |c| {
                c.field("text", category);
            })
            .object("code", |c| {
                if let Some(code) = code {
                    code.write(c);
                }
            })
            .field("subject", &subject)
            .field("authoredOn", authored.as_deref())
            .field("requester", requester.as_ref())
            .list_item("performer", performer.as_ref())
            .list("note", |n| {
                n.field("text", note.as_deref());
            });
        resource.finish();
    };
    if tests.is_empty() {
        request("request", None, None);
    }
    for (code, category, segment) in &tests {
        let key = numbered(&["BEP/"], segment.location().segment);
        request(&key, Some(code), category.as_deref());
    }
    Ok(Finish::Transaction)
}
