//! MEDEUR (letter: referral, discharge letter, specialist letter) ->
//! document Bundle: a Composition whose section holds the letter's text,
//! and for a referral a `ServiceRequest` the section points at.
//!
//! Segments: SRT letter kind (1 `VERW` referral, `ONTS` discharge,
//! `SPEC` specialist letter; 2 title) — our own segment, as no published
//! MEDEUR description named one —, GGA sending organisation (as in
//! MEDVRI), ART author, DET date of the letter, PID/PAD patient, TXT
//! letter lines, GGO addressee (1 name, 5 phone).

use zorgpoort_model::datatypes::PartialDateTime;
use zorgpoort_model::systems;
use zorgpoort_model::{Json, Object, WrittenRef};

use super::{Finish, Mapper, concept, joined, list, narrative, peek, phone, text};
use crate::error::{Error, ErrorKind, Location};
use crate::syntax::Segment;

/// The `ServiceRequest` of a referral: to the addressee, with the letter as note.
fn referral_request(
    m: &mut Mapper,
    subject: Json,
    date: &str,
    author: Json,
    addressee: Option<Json>,
    lines: &[String],
) -> WrittenRef {
    let note = joined(lines);
    let mut request = m.bundle.writer("ServiceRequest", "referral");
    request
        .fields()
        .field("status", "active")
        .field("intent", "order")
        .list("category", |c| {
            concept(c, systems::SNOMED, "3457005", None);
            c.field("text", "verwijzing");
        })
        .field("subject", subject)
        .field("authoredOn", date)
        .field("requester", author)
        .list_item("performer", addressee)
        .list("note", |n| {
            n.field("text", note);
        });
    request.finish()
}

/// LOINC document type and default title by letter kind.
fn kind(code: Option<&str>) -> Option<(&'static str, &'static str, &'static str)> {
    match code {
        Some("VERW") => Some(("57133-1", "Referral note", "Verwijsbrief")),
        Some("ONTS") => Some(("18842-5", "Discharge summary", "Ontslagbrief")),
        Some("SPEC") => Some(("11488-4", "Consult note", "Specialistenbrief")),
        None => Some(("34109-9", "Note", "Brief")),
        Some(_) => None,
    }
}

/// What the segments of one letter said.
struct Letter {
    kind: Option<(&'static str, &'static str, &'static str)>,
    referral: bool,
    title: Option<String>,
    custodian: Option<Json>,
    author: Option<Json>,
    addressee: Option<(Json, Location)>,
    date: Option<PartialDateTime>,
    lines: Vec<String>,
}

/// One segment of the letter; `rest` are the segments after it.
fn map_segment(m: &mut Mapper, letter: &mut Letter, segment: Segment<'_>, rest: &[Segment<'_>]) -> Result<(), Error> {
    match segment.tag() {
        "SRT" => {
            let code = text(segment.element(1))?;
            match kind(code.as_deref()) {
                Some(found) => letter.kind = Some(found),
                None => m.warn(
                    segment.location().with_element(1),
                    "unknown letter kind; typed as a general letter",
                ),
            }
            letter.referral = code.as_deref() == Some("VERW");
            letter.title = text(segment.element(2))?;
            m.unused(segment, &[1, 2]);
        }
        "GGA" => letter.custodian = m.map_gga(segment)?,
        "ART" => letter.author = Some(m.map_art(segment)?),
        "DET" => {
            letter.date = m.det_parts(segment)?;
            m.unused(segment, &[1, 2]);
        }
        "PID" => m.map_pid(segment, rest)?,
        "PAD" => m.map_pad(segment),
        "TXT" => {
            let line = m.text_line(segment)?;
            letter.lines.push(line);
        }
        "GGO" => {
            let name = peek(segment.element(1))?;
            let telecom = phone(segment.element(5), Some("work"))?;
            let practitioner = m.named_practitioner(name.as_deref(), telecom.as_ref(), segment.location());
            letter.addressee = Some((practitioner, segment.location()));
            m.unused(segment, &[1, 5]);
        }
        _ => m.unknown(segment),
    }
    Ok(())
}

pub(super) fn map(m: &mut Mapper, body: &[Segment<'_>], header: Segment<'_>) -> Result<Finish, Error> {
    // bdl-11: the Composition is the first entry; it is filled in at the end.
    let composition = m.bundle.add("Composition", "letter", Object::new());
    let mut letter = Letter {
        kind: kind(None),
        referral: false,
        title: None,
        custodian: None,
        author: None,
        addressee: None,
        date: None,
        lines: Vec::new(),
    };
    for (i, &segment) in body.iter().enumerate() {
        map_segment(m, &mut letter, segment, &body[i + 1..])?;
    }
    let Letter {
        kind: letter_kind,
        referral,
        title,
        custodian,
        author,
        addressee,
        date,
        lines,
    } = letter;
    let subject = m.subject(header.location())?;
    let when = date
        .or(m.prepared)
        .ok_or_else(|| Error::at(header.location(), ErrorKind::MissingSegment("DET")))?;
    let date_text = when.to_fhir_datetime(m.zone);
    let timestamp = m
        .prepared
        .filter(|p| p.time.is_some())
        .unwrap_or(when)
        .to_fhir_instant(m.zone);
    let Some(author) = author.or_else(|| custodian.clone()) else {
        return Err(Error::at(header.location(), ErrorKind::MissingSegment("ART")));
    };
    let (code, display, default_title) = letter_kind.unwrap_or(("34109-9", "Note", "Brief"));
    let title = title.unwrap_or_else(|| default_title.to_owned());
    let mut section_entries = Vec::new();
    if referral {
        let entry = referral_request(
            m,
            subject.clone(),
            &date_text,
            author.clone(),
            addressee.as_ref().map(|(p, _)| p.clone()),
            &lines,
        );
        section_entries.push(m.bundle.reference(entry));
    } else if let Some((_, location)) = addressee {
        m.warn(
            location,
            "addressee of a letter that is not a referral not mapped (Composition has no recipient)",
        );
    }
    let type_coding = Object::new()
        .with("system", systems::LOINC)
        .with("code", code)
        .with("display", display);
    let section = Object::new()
        .with("title", title.clone())
        .with("code", Object::new().with("coding", vec![type_coding.clone()]))
        .with(
            "text",
            Object::new().with("status", "generated").with("div", narrative(&lines)),
        )
        .with("entry", section_entries);
    let resource = m.bundle.resource_mut(composition);
    resource.set("status", "final");
    resource.set("type", Object::new().with("coding", vec![type_coding]));
    resource.set("subject", subject);
    resource.set("date", date_text);
    resource.set("author", list(author));
    resource.set("title", title);
    resource.set("custodian", custodian);
    resource.set("section", vec![section]);
    let identifier = Object::new()
        .with("system", systems::URI)
        .with("value", format!("urn:uuid:{}", m.bundle.ids().id("document")));
    Ok(Finish::Document { identifier, timestamp })
}
