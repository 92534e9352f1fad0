//! Documents and appointments: TXA (+ OBX content) -> `DocumentReference`,
//! OBX of type ED/RP -> `DocumentReference`, SCH -> Appointment.

use std::borrow::Cow;

use zorgpoort_model::datatypes::concept;
use zorgpoort_model::{Object, Value, base64};

use super::datatypes::{absent, is_uri};
use super::orders::text_data;
use super::{Mapper, NoteTarget};
use crate::error::Location;
use crate::message::{Item, Segment};
use crate::types::Ei;

fn document_status(code: Option<&str>) -> Option<&'static str> {
    match code {
        Some("AU" | "LA" | "DO") => Some("final"),
        Some("IP" | "IN" | "DI" | "PA") => Some("preliminary"),
        _ => None,
    }
}

fn master_identifier<'a>(m: &mut Mapper<'a>, item: Item<'_, 'a>) -> Option<Object<'a>> {
    let ei = Ei::read(item);
    let id = ei.id?;
    let system = m
        .identifier_system(&ei.authority, None, Some(&id), item.location())
        .ok()?;
    Some(
        Object::new()
            .with("system", system.map(Cow::into_owned))
            .with("value", id),
    )
}

pub(super) fn map_txa<'a>(m: &mut Mapper<'a>, txa: Segment<'_, 'a>) -> &'static [usize] {
    let mut authors: Vec<Value<'a>> = Vec::new();
    for n in [5, 9] {
        authors.extend(
            txa.field(n)
                .repetitions()
                .filter_map(|r| m.practitioner(r))
                .map(Value::from)
                .collect::<Vec<_>>(),
        );
    }
    let authenticator = txa.field(10).repetitions().next().and_then(|r| m.practitioner(r));
    let kind = m
        .code(txa.field(2).text_of(1), txa.location().with_field(2))
        .map(|code| concept("http://terminology.hl7.org/CodeSystem/v2-0270", code));
    let date = match m.instant(txa.field(4)) {
        Some(date) => Some(date),
        None => m.instant(txa.field(6)),
    };
    let document = Object::new()
        .with("masterIdentifier", master_identifier(m, txa.field(12)))
        .with("status", "current")
        .with("docStatus", document_status(txa.field(17).text_of(1).as_deref()))
        .with("type", kind)
        .with("subject", m.subject_of(txa.location()))
        .with("date", date)
        .with("author", authors)
        .with("authenticator", authenticator)
        .with(
            "context",
            Object::new().with("encounter", m.encounter_ref().map(|e| vec![Value::from(e)])),
        );
    let entry = m
        .bundle
        .add("DocumentReference", &format!("TXA/{}", txa.occurrence()), document);
    m.document = Some(entry);
    m.note_target = Some(NoteTarget::Tree(entry));
    &[1, 2, 4, 5, 6, 9, 10, 12, 17]
}

/// The MIME type for an ED's type and subtype.
fn content_type(kind: Option<&str>, subtype: Option<&str>) -> &'static str {
    match subtype.map(str::to_ascii_uppercase).as_deref() {
        Some("PDF") => "application/pdf",
        Some("RTF") => "application/rtf",
        Some("HTML") => "text/html",
        Some("XML") => "application/xml",
        Some("JPEG" | "JPG") => "image/jpeg",
        Some("PNG") => "image/png",
        Some("TIFF") => "image/tiff",
        Some("GIF") => "image/gif",
        _ if kind.is_some_and(|k| k.eq_ignore_ascii_case("TEXT")) => "text/plain",
        _ => "application/octet-stream",
    }
}

fn hex_to_base64(text: &str) -> Option<String> {
    let compact: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if compact.len() % 2 != 0 || !compact.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let bytes: Option<Vec<u8>> = compact
        .chunks_exact(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
        .collect();
    bytes.map(|b| base64::encode(&b))
}

/// The data of an ED (ED-5, decoded as ED-4 says) as base64; `None` when
/// it is missing or not decodable.
pub(super) fn encapsulated_data(value: Item<'_, '_>) -> Option<String> {
    let data = value.text_of(5)?;
    match value.text_of(4).as_deref().map(str::to_ascii_uppercase).as_deref() {
        Some("BASE64") if base64::is_base64(&data) => Some(data.split_whitespace().collect::<String>()),
        Some("HEX") => hex_to_base64(&data),
        Some("A") | None => Some(text_data(&data)),
        _ => None,
    }
}

/// OBX content of a document: text lines join the document's text; ED and
/// RP values become attachments.
pub(super) fn document_content<'a>(m: &mut Mapper<'a>, obx: Segment<'_, 'a>) -> &'static [usize] {
    let value = obx.field(5);
    let location = obx.location().with_field(5);
    let value_type = obx.field(2).text_of(1);
    let attachment = match value_type.as_deref() {
        Some("ED") => {
            let data = encapsulated_data(value);
            if data.is_none() {
                m.warn(
                    location,
                    "encapsulated data missing or not decodable in its declared encoding; not mapped",
                );
                return &[1, 2, 3, 5];
            }
            Some(
                Object::new()
                    .with(
                        "contentType",
                        content_type(value.text_of(2).as_deref(), value.text_of(3).as_deref()),
                    )
                    .with("data", data),
            )
        }
        Some("RP") => match value.text_of(1) {
            Some(url) if is_uri(&url) => Some(Object::new().with("url", url)),
            Some(_) => {
                m.warn(location, "reference pointer is not a valid URL; not mapped");
                None
            }
            None => None,
        },
        _ => {
            let lines: Vec<Cow<'a, str>> = value.repetitions().filter_map(|r| r.text()).collect();
            if !lines.is_empty() {
                m.document_text.push(lines.join("\n"));
            }
            return &[1, 2, 3, 4, 5, 11];
        }
    };
    let Some(attachment) = attachment else {
        return &[1, 2, 5];
    };
    let document = if let Some(document) = m.document {
        document
    } else {
        let kind = m.concept(obx.field(3));
        let document = Object::new()
            .with("status", "current")
            .with("type", kind)
            .with("subject", m.subject_of(obx.location()))
            .with("date", m.instant(obx.field(14)))
            .with(
                "context",
                Object::new().with("encounter", m.encounter_ref().map(|e| vec![Value::from(e)])),
            );
        m.bundle
            .add("DocumentReference", &format!("OBX/{}", obx.occurrence()), document)
    };
    m.bundle
        .resource_mut(document)
        .push_to("content", Object::new().with("attachment", attachment));
    m.note_target = Some(NoteTarget::Tree(document));
    &[1, 2, 3, 4, 5, 11, 14]
}

fn appointment_status(filler: Option<&str>, trigger: &str) -> &'static str {
    match filler.map(str::to_ascii_lowercase).as_deref() {
        Some("booked" | "blocked" | "overbook") => "booked",
        Some("cancelled" | "canceled") => "cancelled",
        Some("complete") => "fulfilled",
        Some("noshow") => "noshow",
        Some("pending") => "pending",
        Some("waitlist") => "waitlist",
        Some("started") => "arrived",
        Some("deleted") => "entered-in-error",
        _ => match trigger {
            "S15" => "cancelled",
            "S26" => "noshow",
            _ => "booked",
        },
    }
}

pub(super) fn map_sch<'a>(m: &mut Mapper<'a>, sch: Segment<'_, 'a>) -> &'static [usize] {
    let identifiers: Vec<Object<'a>> = [master_identifier(m, sch.field(1)), master_identifier(m, sch.field(2))]
        .into_iter()
        .flatten()
        .collect();
    let timing = sch.field(11);
    let start = m.instant(timing.component(4));
    let end = m.instant(timing.component(5));
    let minutes = sch.field(9).text_of(1).filter(|d| {
        d.bytes().all(|b| b.is_ascii_digit())
            && d != "0"
            && sch
                .field(10)
                .text_of(1)
                .is_none_or(|u| u.eq_ignore_ascii_case("MIN") || u == "M")
    });
    let status = appointment_status(sch.field(25).text_of(1).as_deref(), &m.event.trigger);
    // app-3: only a proposed, cancelled or waitlisted appointment may go
    // without start and end; for any other the times are unknown, not left out.
    let times_required = !matches!(status, "proposed" | "cancelled" | "waitlist");
    let unknown = |time: &Option<_>| (times_required && time.is_none()).then(|| absent("unknown"));
    let (start_absent, end_absent) = (unknown(&start), unknown(&end));
    if start_absent.is_some() || end_absent.is_some() {
        m.warn(
            sch.location().with_field(11),
            "appointment without a start or end time; marked unknown",
        );
    }
    let appointment = Object::new()
        .with("identifier", identifiers)
        .with("status", status)
        .with("appointmentType", m.concept(sch.field(8)))
        .with("reasonCode", m.concept(sch.field(7)).map(|c| vec![c]))
        .with(
            "description",
            sch.field(6).text_of(2).or_else(|| sch.field(6).text_of(1)),
        )
        .with("start", start)
        .with("_start", start_absent)
        .with("end", end)
        .with("_end", end_absent)
        .with(
            "minutesDuration",
            minutes.map(|d| Value::Num(Cow::Owned(d.trim_start_matches('0').to_owned()))),
        );
    let entry = m
        .bundle
        .add("Appointment", &format!("SCH/{}", sch.occurrence()), appointment);
    m.appointments.push(entry);
    m.note_target = Some(NoteTarget::Tree(entry));
    &[1, 2, 6, 7, 8, 9, 10, 11, 25]
}

/// Completes the open document (TXA): its text lines as one attachment, or
/// a placeholder when the message brought no content for it.
pub(super) fn close_document(m: &mut Mapper<'_>) {
    let lines = std::mem::take(&mut m.document_text);
    let open = m.document.take();
    if !lines.is_empty() {
        let document = if let Some(document) = open {
            document
        } else {
            let subject = m.subject_of(Location::segment("TXA", 1));
            let document = Object::new().with("status", "current").with("subject", subject);
            m.bundle.add("DocumentReference", "text", document)
        };
        let attachment = Object::new()
            .with("contentType", "text/plain; charset=utf-8")
            .with("data", text_data(&lines.join("\n")));
        m.bundle
            .resource_mut(document)
            .push_to("content", Object::new().with("attachment", attachment));
    }
    if let Some(document) = open {
        if m.bundle.resource_mut(document).get("content").is_none() {
            m.warn(
                Location::segment("TXA", 1),
                "document without content (no OBX); content lists the type only",
            );
            let attachment = Object::new()
                .with("contentType", "text/plain; charset=utf-8")
                .with("title", "no content in message");
            m.bundle
                .resource_mut(document)
                .push_to("content", Object::new().with("attachment", attachment));
        }
    }
}

/// Completes what only the whole message tells: the last document and the
/// patient on appointments (SIU sends PID after SCH).
pub(super) fn finish(m: &mut Mapper<'_>) {
    close_document(m);
    for appointment in m.appointments.clone() {
        // Without a patient the message is refused.
        if let Some(actor) = m.subject_of(Location::segment("SCH", 1)) {
            let participant = Object::new().with("actor", actor).with("status", "accepted");
            m.bundle.resource_mut(appointment).push_to("participant", participant);
        }
    }
}
