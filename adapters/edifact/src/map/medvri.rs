//! MEDVRI (request to a colleague or laboratory: verzoek) -> transaction
//! Bundle with one `ServiceRequest` per requested test.
//!
//! Segments: GGA sender (1 short name, 2 department, 3 organisation name,
//! 4 address, 5 phone), DET date of the request, PID/PAD patient, ART
//! requesting physician, TXT lines (clinical information, kept as the
//! request's note), GGO addressee (1 name, 4 address, 5 phone), and BEP
//! requested tests laid out as in MEDLAB without a value (1 kind, 2 name,
//! 9 code : code list). Without BEP the message is one request in words.

use zorgpoort_model::Object;

use super::medlab::test_code;
use super::{Finish, Mapper, list, phone, text};
use crate::error::Error;
use crate::syntax::Segment;

pub(super) fn map(m: &mut Mapper, body: &[Segment<'_>], header: Segment<'_>) -> Result<Finish, Error> {
    let mut sender = None;
    let mut requester = None;
    let mut performer = None;
    let mut authored = None;
    let mut lines: Vec<String> = Vec::new();
    let mut tests: Vec<(Object<'static>, Option<String>, Segment<'_>)> = Vec::new();
    let mut heading: Option<String> = None;
    for &segment in body {
        match segment.tag() {
            "GGA" => sender = Some(m.map_gga(segment)?),
            "GGO" => {
                let name = text(segment.element(1))?;
                let telecom = phone(segment.element(5), Some("work"))?;
                let practitioner = m.named_practitioner(name, telecom, segment.location());
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
            "PID" => m.map_pid(segment)?,
            "PAD" => m.map_pad(segment)?,
            "ART" => requester = Some(m.map_art(segment)?),
            "TXT" => {
                let line = m.text_line(segment)?;
                lines.push(line);
            }
            "BEP" => {
                let name = text(segment.element(2))?;
                if text(segment.element(1))?.as_deref() == Some("1") {
                    heading = name;
                    m.unused(segment, &[1, 2]);
                    continue;
                }
                let concept = test_code(m, segment.element(9), name)?.unwrap_or_default();
                if concept.is_empty() {
                    m.warn(segment.location(), "requested test without a name or code; not mapped");
                } else {
                    tests.push((concept, heading.clone(), segment));
                }
                m.unused(segment, &[1, 2, 9]);
            }
            _ => m.unknown(segment),
        }
    }
    let subject = m.subject(header.location())?;
    let note = lines.join("\n");
    let note = (!note.trim().is_empty()).then(|| list(Object::new().with("text", note)));
    let request = |code: Option<Object<'static>>, category: Option<String>| {
        Object::new()
            .with("status", "active")
            .with("intent", "order")
            .with("category", category.map(|c| list(Object::new().with("text", c))))
            .with("code", code)
            .with("subject", subject.clone())
            .with("authoredOn", authored.clone())
            .with("requester", requester.clone().or_else(|| sender.clone()))
            .with("performer", performer.clone().map(list))
            .with("note", note.clone())
    };
    if tests.is_empty() {
        m.bundle.add("ServiceRequest", "request", request(None, None));
    }
    for (code, category, segment) in tests {
        let key = format!("BEP/{}", segment.location().segment);
        m.bundle.add("ServiceRequest", &key, request(Some(code), category));
    }
    Ok(Finish::Transaction)
}
