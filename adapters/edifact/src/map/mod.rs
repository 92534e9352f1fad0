//! The Dutch GP messages -> FHIR R4 (nl-core). Each message type has its own
//! module; the segments they share (PID, PAD, ART, DET, TXT) are read here.
//!
//! Every segment handler returns the data elements it used; any other
//! element with data, and any segment no handler knows, becomes a warning
//! with its location, so nothing is dropped silently.
//!
//! Each resource is written as JSON once it is complete (see
//! `zorgpoort_model::ResourceWriter`), so segments that add to one are read
//! with it: a PAD with the PID before it, a result's OPB lines with its BEP,
//! and a MEDLAB's request is known from its ART before the results are
//! written. Only MEDEUR's Composition, which must come first and is
//! complete last, is built as a tree.

mod medeur;
mod medlab;
mod medvri;

use std::borrow::Cow;

use zorgpoort_model::address::{Address, AddressLines, StreetLine};
use zorgpoort_model::datatypes::{LocalZone, PartialDateTime, days_in_month, profile_meta};
use zorgpoort_model::names::{FamilyName, FamilyOrder, is_initials};
use zorgpoort_model::systems::{self, ext, profile};
use zorgpoort_model::{
    Conversion, IdGenerator, Json, Object, ObjectWriter, Origin, TransactionBuilder, Value, Warning, WrittenRef,
};

use crate::Options;
use crate::error::{Error, ErrorKind, Location};
use crate::syntax::{Element, Message, Segment};

/// Converts one message of an interchange.
pub(crate) fn convert(message: &Message<'_, '_>, options: &Options) -> Result<Conversion<'static>, Error> {
    let interchange = message.interchange();
    let sender = match interchange.sender_qualifier() {
        Some(qualifier) => [interchange.sender(), ":", qualifier].concat(),
        None => interchange.sender().to_owned(),
    };
    // UNH read once, as `Message::reference` and `Message::message_type` do.
    let header = message.header();
    let [reference, message_type] = header.fields::<2>();
    let reference = String::from_utf8_lossy(reference.component(1).raw());
    let message_id = [interchange.control_reference(), "/", &reference].concat();
    let event = String::from_utf8_lossy(message_type.component(1).raw()).into_owned();
    let prepared = interchange
        .prepared()
        .and_then(|(date, time)| prepared_time(date, time));
    let issued = prepared
        .filter(|p| p.time.is_some())
        .and_then(|p| Json::of(p.to_fhir_instant(options.zone)));
    let mut mapper = Mapper {
        zone: options.zone,
        issued,
        bundle: TransactionBuilder::new(IdGenerator::new(&sender, &message_id)),
        warnings: Vec::new(),
        patient_segment: None,
        patient_address: None,
        subject: None,
        prepared,
        pivot_year: prepared.map_or(2000, |p| p.year),
        people: Vec::new(),
        key: String::new(),
    };
    let body: Vec<Segment<'_>> = message
        .segments()
        .filter(|s| !matches!(s.tag_bytes(), b"UNH" | b"UNT"))
        .collect();
    mapper.unused(header, &[1, 2]);
    let finish = match event.as_str() {
        "MEDLAB" => medlab::map(&mut mapper, &body, header)?,
        "MEDVRI" => medvri::map(&mut mapper, &body, header)?,
        "MEDEUR" => medeur::map(&mut mapper, &body, header)?,
        _ => {
            return Err(Error::at(
                header.location().with_element(2),
                ErrorKind::UnsupportedMessage(event),
            ));
        }
    };
    let Mapper { bundle, warnings, .. } = mapper;
    let bundle = match finish {
        Finish::Transaction => bundle.finish(&event),
        Finish::Document { identifier, timestamp } => bundle.finish_document(&event, identifier, timestamp),
    };
    Ok(Conversion {
        bundle,
        warnings,
        origin: Origin {
            sender,
            message_id,
            event,
        },
    })
}

/// UNB's date and time of preparation: `YYMMDD` or `CCYYMMDD`, `HHMM`.
fn prepared_time(date: &str, time: Option<&str>) -> Option<PartialDateTime> {
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !digits(date) {
        return None;
    }
    let number = |s: &str| s.parse::<u32>().ok();
    let (year, rest) = match date.len() {
        6 => {
            let yy = i32::try_from(number(&date[..2])?).ok()?;
            (if yy >= 70 { 1900 + yy } else { 2000 + yy }, &date[2..])
        }
        8 => (i32::try_from(number(&date[..4])?).ok()?, &date[4..]),
        _ => return None,
    };
    let (month, day) = (number(&rest[..2])?, number(&rest[2..4])?);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let clock = time.filter(|t| t.len() == 4 && digits(t)).and_then(|t| {
        let (h, m) = (number(&t[..2])?, number(&t[2..])?);
        (h < 24 && m < 60).then_some((h, m, 0))
    });
    Some(PartialDateTime {
        year,
        month: Some(month),
        day: Some(day),
        time: clock,
        fraction: None,
        offset_minutes: None,
    })
}

/// How a message's Bundle is closed.
pub(crate) enum Finish {
    /// A transaction Bundle.
    Transaction,
    /// A document Bundle (the Composition added first).
    Document {
        /// `Bundle.identifier`.
        identifier: Object<'static>,
        /// `Bundle.timestamp`.
        timestamp: String,
    },
}

/// The running state of one message's mapping.
pub(crate) struct Mapper {
    zone: LocalZone,
    bundle: TransactionBuilder<'static>,
    warnings: Vec<Warning>,
    /// The segment number of the PID read, once there is one: a message
    /// has one patient.
    patient_segment: Option<u32>,
    /// The segment number of the PAD read with the PID before it.
    patient_address: Option<u32>,
    /// The reference to the patient (PID), made once: every resource
    /// repeats it; `None` before a PID.
    subject: Option<Json>,
    /// UNB's time of preparation: the report's `issued`, the document's timestamp.
    prepared: Option<PartialDateTime>,
    /// `prepared` as an instant, made once: every Observation repeats it.
    issued: Option<Json>,
    /// The year two-digit years are read next to (UNB's year).
    pivot_year: i32,
    /// Practitioners and organisations already added, by identity key.
    people: Vec<(String, WrittenRef)>,
    /// The buffer of [`numbered_into`].
    key: String,
}

/// `parts` followed by `n` in decimal: the keys of resources by segment
/// number, made for every segment without going through `format!`.
pub(crate) fn numbered(parts: &[&str], n: u32) -> String {
    let mut out = String::new();
    numbered_into(&mut out, parts, n);
    out
}

/// [`numbered`] into a buffer kept for the next key (the key of a resource
/// is needed only while its id is made).
pub(crate) fn numbered_into<'b>(out: &'b mut String, parts: &[&str], n: u32) -> &'b str {
    let mut digits = [0u8; 10];
    let mut start = digits.len();
    let mut rest = n;
    loop {
        start -= 1;
        digits[start] = b'0' + u8::try_from(rest % 10).unwrap_or(0);
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.clear();
    for part in parts {
        out.push_str(part);
    }
    out.extend(digits[start..].iter().map(|&d| char::from(d)));
    out
}

/// A one-element FHIR array, made as `Value`s directly (a `Vec<Object>`
/// would be copied into a new `Vec<Value>`); no element when the item is
/// empty, as `Value::from` drops empty items.
pub(crate) fn list<'a>(item: impl Into<Value<'a>>) -> Vec<Value<'a>> {
    let item = item.into();
    if item.is_empty() { Vec::new() } else { vec![item] }
}

/// `{"coding":[{"system":..,"code":..,"display":..}]}`'s fields.
fn concept(w: &mut ObjectWriter<'_>, system: &str, code: &str, display: Option<&str>) {
    w.list("coding", |coding| {
        coding
            .field("system", system)
            .field("code", code)
            .field("display", display);
    });
}

/// Text lines (TXT, OPB) as one text, `None` when they hold nothing but
/// white space: a note or a conclusion.
fn joined(lines: &[String]) -> Option<String> {
    let text = lines.join("\n");
    (!text.trim().is_empty()).then_some(text)
}

/// Text of an element or component, owned (the Bundle outlives the input).
fn text(element: Element<'_>) -> Result<Option<String>, Error> {
    Ok(peek(element)?.map(Cow::into_owned))
}

/// Text of an element or component, trimmed, borrowed from the input where
/// it can be: for text that is only looked at, not put into the Bundle.
fn peek(element: Element<'_>) -> Result<Option<Cow<'_, str>>, Error> {
    Ok(element.text()?.and_then(|t| {
        // ASCII other than space and controls is never white space: most
        // text needs no Unicode trim.
        let plain = |b: Option<&u8>| b.is_some_and(|&b| b > b' ' && b.is_ascii());
        let bytes = t.as_bytes();
        if plain(bytes.first()) && plain(bytes.last()) {
            return Some(t);
        }
        match t {
            Cow::Borrowed(b) => Some(b.trim()).filter(|t| !t.is_empty()).map(Cow::Borrowed),
            Cow::Owned(o) => Some(o.trim())
                .filter(|t| !t.is_empty())
                .map(|t| Cow::Owned(t.to_owned())),
        }
    }))
}

fn number(text: &str) -> Option<u32> {
    (!text.is_empty() && text.len() <= 4 && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

impl Mapper {
    fn warn(&mut self, location: Location, message: impl Into<String>) {
        self.warnings.push(Warning::new(location.to_string(), message));
    }

    /// Warns about every element with data that is not in `used`.
    fn unused(&mut self, segment: Segment<'_>, used: &[usize]) {
        // Nearly always every element the segment has is a used one: known
        // from the count the split made, without scanning the segment again.
        // `used` lists ascend, so its `count`th entry being `count` means
        // it holds 1 to `count`.
        debug_assert!(used.windows(2).all(|w| w[0] < w[1]) && used.first().is_none_or(|&n| n > 0));
        let count = segment.element_count();
        if count == 0 || used.get(count - 1) == Some(&count) {
            return;
        }
        for n in segment.filled_elements() {
            if !used.contains(&n) {
                self.warn(segment.location().with_element(n), "element not mapped");
            }
        }
    }

    /// A segment the message type does not use.
    fn unknown(&mut self, segment: Segment<'_>) {
        self.warn(
            segment.location(),
            format!("segment {} not mapped in this message type", segment.tag()),
        );
    }

    /// A year of two digits, placed in the century that makes it no later
    /// than the interchange was prepared.
    fn full_year(&self, yy: i32) -> i32 {
        let pivot = self.pivot_year.rem_euclid(100);
        let century = self.pivot_year - pivot;
        if yy <= pivot { century + yy } else { century - 100 + yy }
    }

    /// A date as `CCYY:MM:DD`, `YY:MM:DD`, `CCYYMMDD` or `YYMMDD`.
    fn date(&self, element: Element<'_>) -> Result<Option<PartialDateTime>, Error> {
        if element.is_empty() {
            return Ok(None);
        }
        // Borrowed from the input: a date is read on every PID and DET.
        let [c1, c2, c3] = element.components::<3>();
        let (c1, c2, c3) = (c1.text()?, c2.text()?, c3.text()?);
        let parts = [c1.as_deref(), c2.as_deref(), c3.as_deref()].map(|c| c.map_or("", str::trim));
        let joined = if parts[1].is_empty() {
            Cow::Owned(parts.concat())
        } else {
            Cow::Borrowed("")
        };
        let invalid = || Error::at(element.location(), ErrorKind::InvalidDate(parts.concat()));
        let (year, month, day) = if parts[1].is_empty() {
            // Only ASCII digits may be cut at byte positions.
            if !joined.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid());
            }
            match joined.len() {
                8 => (&joined[..4], &joined[4..6], &joined[6..]),
                6 => (&joined[..2], &joined[2..4], &joined[4..]),
                _ => return Err(invalid()),
            }
        } else {
            (parts[0], parts[1], parts[2])
        };
        let (Some(y), Some(m), Some(d)) = (number(year), number(month), number(day)) else {
            return Err(invalid());
        };
        let y = i32::try_from(y).map_err(|_| invalid())?;
        let year = match year.len() {
            2 => self.full_year(y),
            4 if y > 0 => y,
            _ => return Err(invalid()),
        };
        if !(1..=12).contains(&m) || d == 0 || d > days_in_month(year, m) || month.len() != 2 || day.len() != 2 {
            return Err(invalid());
        }
        Ok(Some(PartialDateTime {
            year,
            month: Some(m),
            day: Some(d),
            time: None,
            fraction: None,
            offset_minutes: None,
        }))
    }

    /// DET: element 1 the date, element 2 the time `HH:MM`, as a dateTime.
    fn det(&self, det: Segment<'_>) -> Result<Option<String>, Error> {
        Ok(self.det_parts(det)?.map(|d| d.to_fhir_datetime(self.zone)))
    }

    /// DET's date and time.
    fn det_parts(&self, det: Segment<'_>) -> Result<Option<PartialDateTime>, Error> {
        let [date, time] = det.fields::<2>();
        let Some(mut date) = self.date(date)? else {
            return Ok(None);
        };
        if !time.is_empty() {
            let [hours, minutes] = time.components::<2>();
            let hours = peek(hours)?.unwrap_or_default();
            let minutes = peek(minutes)?.unwrap_or_default();
            let (h, m) = if minutes.is_empty() && hours.len() == 4 && hours.bytes().all(|b| b.is_ascii_digit()) {
                (number(&hours[..2]), number(&hours[2..]))
            } else {
                (number(&hours), number(&minutes))
            };
            match (h, m) {
                (Some(h), Some(m)) if h < 24 && m < 60 => date.time = Some((h, m, 0)),
                _ => {
                    return Err(Error::at(
                        time.location(),
                        ErrorKind::InvalidDate(format!("{hours}{minutes}")),
                    ));
                }
            }
        }
        Ok(Some(date))
    }

    /// PID: 1 birth date, 2 sex, 3 name (surname : voorvoegsel : own surname :
    /// own voorvoegsel : - : initials), 5 `BSN` + number; with the first PAD
    /// of `rest` (the segments after it) before another PID.
    ///
    /// A second PID is an error: the Patient has one key per message (its
    /// id, and its conditional update on the BSN, are the message's), and
    /// the results and the report after it would name another patient than
    /// those before it.
    fn map_pid(&mut self, pid: Segment<'_>, rest: &[Segment<'_>]) -> Result<(), Error> {
        if let Some(first) = self.patient_segment {
            return Err(Error::at(pid.location(), ErrorKind::SecondPatient { first }));
        }
        self.patient_segment = Some(pid.location().segment);
        let [birth, sex, name, _, bsn_element] = pid.fields::<5>();
        let birth = self.date(birth)?;
        let sex = peek(sex)?;
        let gender = sex.as_deref().map(|code| match code {
            "M" => Some("male"),
            "V" | "F" => Some("female"),
            "X" => Some("other"),
            "O" | "U" => Some("unknown"),
            _ => None,
        });
        if let Some(None) = gender {
            self.warn(pid.location().with_element(2), "unknown sex code; gender left out");
        }
        let name = PatientName::read(self, name)?;
        let bsn = match peek(bsn_element)? {
            Some(value) => {
                let number = value.strip_prefix("BSN").unwrap_or(&value).trim().to_owned();
                if !systems::is_valid_bsn(&number) {
                    return Err(Error::at(bsn_element.location(), ErrorKind::InvalidBsn));
                }
                Some(number)
            }
            None => None,
        };
        let pad = rest
            .iter()
            .take_while(|s| s.tag_bytes() != b"PID")
            .find(|s| s.tag_bytes() == b"PAD");
        let (address, phone) = match pad {
            Some(pad) => {
                let [address_element, phone_element] = pad.fields::<2>();
                (
                    address(address_element, Some("home"))?,
                    phone(phone_element, Some("home"))?,
                )
            }
            None => (None, None),
        };
        let mut patient = if let Some(bsn) = &bsn {
            self.bundle.conditional_writer("Patient", "PID", systems::BSN, bsn)
        } else {
            self.warn(pid.location().with_element(5), "patient without a BSN");
            self.bundle.writer("Patient", "PID")
        };
        let mut w = patient.fields();
        w.field("meta", profile_meta(profile::PATIENT));
        if let Some(bsn) = &bsn {
            w.list("identifier", |identifier| {
                identifier.field("system", systems::BSN).field("value", bsn.as_str());
            });
        }
        if let Some(name) = &name {
            w.list("name", |n| name.write(n));
        }
        w.field("gender", gender.flatten())
            .field("birthDate", birth.map(|b| b.to_fhir_date()));
        write_telecom(&mut w, phone.as_ref());
        write_address(&mut w, address.as_ref());
        let entry = patient.finish();
        self.patient_address = pad.map(|pad| pad.location().segment);
        self.subject = Some(self.bundle.shared_reference(entry, None));
        self.unused(pid, &[1, 2, 3, 5]);
        Ok(())
    }

    /// PAD: 1 the patient's address, 2 phone; read with the PID before it.
    fn map_pad(&mut self, pad: Segment<'_>) {
        if self.patient_address != Some(pad.location().segment) {
            let why = if self.subject.is_some() {
                "second address of the patient (one PAD per PID); not mapped"
            } else {
                "address without a patient (no PID before PAD); not mapped"
            };
            self.warn(pad.location(), why);
        }
        self.unused(pad, &[1, 2]);
    }

    /// The patient reference; an error when the message has no PID.
    fn subject(&self, at: Location) -> Result<Json, Error> {
        self.subject
            .clone()
            .ok_or_else(|| Error::at(at, ErrorKind::MissingSegment("PID")))
    }

    /// ART: 1 kind (H huisarts, S specialist), 2 AGB code, 3 name,
    /// 4 address, 5 phone -> Practitioner.
    fn map_art(&mut self, art: Segment<'_>) -> Result<Json, Error> {
        let [kind, agb, name, address_element, phone_element] = art.fields::<5>();
        let kind = peek(kind)?;
        let agb = peek(agb)?;
        let name = peek(name)?;
        let address = address(address_element, Some("work"))?;
        let telecom = phone(phone_element, Some("work"))?;
        let qualification = kind.as_deref().map(|k| match k {
            "H" => "huisarts",
            "S" => "medisch specialist",
            other => other,
        });
        let entry = self.add_once("Practitioner", agb.as_deref(), art.location(), |w| {
            if let Some(agb) = &agb {
                w.list("identifier", |identifier| {
                    identifier.field("system", systems::AGB).field("value", agb.as_ref());
                });
            }
            w.list("name", |n| {
                n.field("text", name.as_deref());
            });
            write_telecom(w, telecom.as_ref());
            write_address(w, address.as_ref());
            w.list("qualification", |q| {
                q.object("code", |code| {
                    code.field("text", qualification);
                });
            });
        });
        self.unused(art, &[1, 2, 3, 4, 5]);
        Ok(self.bundle.shared_reference(entry, name.as_deref()))
    }

    /// An Organization (nl-core-HealthcareProvider-Organization), `None`
    /// with a warning when the segment at `at` gives no name: the
    /// organisation has no identifier here, and one with neither would say
    /// nothing about who it is (FHIR's org-1), so it is left out, its
    /// address and phone with it, and nothing refers to it.
    fn organization(
        &mut self,
        name: Option<&str>,
        address: Option<&Address<'_>>,
        telecom: Option<&Phone<'_>>,
        part_of: Option<Json>,
        at: Location,
    ) -> Option<Json> {
        if name.is_none() {
            self.warn(at, "organisation without a name; not mapped");
            return None;
        }
        let entry = self.add_once("Organization", None, at, |w| {
            w.field("name", name);
            write_telecom(w, telecom);
            write_address(w, address);
            w.field("partOf", part_of);
        });
        Some(self.bundle.shared_reference(entry, name))
    }

    /// GGA, the sending organisation: 1 short name, 2 department,
    /// 3 organisation name, 4 address, 5 phone; `None` without a name
    /// (see [`Self::organization`]).
    fn map_gga(&mut self, gga: Segment<'_>) -> Result<Option<Json>, Error> {
        let name = match peek(gga.element(3))? {
            Some(name) => Some(name),
            None => peek(gga.element(1))?,
        };
        let name = match peek(gga.element(2))? {
            Some(department) => Some(match name {
                Some(n) => Cow::Owned(format!("{n}, {department}")),
                None => department,
            }),
            None => name,
        };
        let address = address(gga.element(4), Some("work"))?;
        let telecom = phone(gga.element(5), Some("work"))?;
        self.unused(gga, &[1, 2, 3, 4, 5]);
        Ok(self.organization(
            name.as_deref(),
            address.as_ref(),
            telecom.as_ref(),
            None,
            gga.location(),
        ))
    }

    /// A Practitioner known only by name and phone (ARA, GGO).
    fn named_practitioner(&mut self, name: Option<&str>, telecom: Option<&Phone<'_>>, at: Location) -> Json {
        let entry = self.add_once("Practitioner", None, at, |w| {
            w.list("name", |n| {
                n.field("text", name);
            });
            write_telecom(w, telecom);
        });
        self.bundle.shared_reference(entry, name)
    }

    /// Adds a practitioner or organisation once per message: by AGB code
    /// (conditionally updated on it) or else by place in the message. The
    /// resource's fields after its profile are what `write` writes.
    fn add_once(
        &mut self,
        kind: &'static str,
        agb: Option<&str>,
        at: Location,
        write: impl FnOnce(&mut ObjectWriter<'_>),
    ) -> WrittenRef {
        let key = match agb {
            Some(agb) => [kind, "|agb|", agb].concat(),
            None => numbered(&[kind, "|"], at.segment),
        };
        if let Some(&(_, entry)) = self.people.iter().find(|(k, _)| *k == key) {
            return entry;
        }
        let mut resource = match agb {
            Some(agb) => self.bundle.conditional_writer(kind, &key, systems::AGB, agb),
            None => self.bundle.writer(kind, &key),
        };
        let profile = if kind == "Organization" {
            profile::ORGANIZATION
        } else {
            profile::PRACTITIONER
        };
        let mut w = resource.fields();
        w.field("meta", profile_meta(profile));
        write(&mut w);
        let entry = resource.finish();
        self.people.push((key, entry));
        entry
    }

    /// A voorvoegsel read from `at`, kept only beside its `surname`: without
    /// one it is left out with a warning.
    fn prefix_of<'p>(
        &mut self,
        prefix: Option<Cow<'p, str>>,
        surname: Option<&Cow<'_, str>>,
        at: Element<'_>,
    ) -> Option<Cow<'p, str>> {
        if prefix.is_some() && surname.is_none() {
            self.warn(at.location(), "voorvoegsel without a surname; not mapped");
            return None;
        }
        prefix
    }

    /// TXT (and OPB) lines: the whole element 1 (a `:` in free text is text),
    /// empty lines kept.
    fn text_line(&mut self, segment: Segment<'_>) -> Result<String, Error> {
        self.unused(segment, &[1]);
        line(segment)
    }
}

/// The text of a TXT or OPB line, see [`Mapper::text_line`].
fn line(segment: Segment<'_>) -> Result<String, Error> {
    Ok(segment.element(1).full_text()?.map(Cow::into_owned).unwrap_or_default())
}

/// PID element 3 as a Dutch `HumanName`: `family` whole, the parts in the
/// `humanname-own-*` / `humanname-partner-*` extensions, and the initials.
struct PatientName<'e> {
    family: FamilyName<'e>,
    initials: Option<Cow<'e, str>>,
}

impl<'e> PatientName<'e> {
    /// Reads the name; `None` without a surname or initials. With an own
    /// surname in component 3, components 1-2 are the partner's name in use.
    ///
    /// A voorvoegsel belongs to the surname beside it (component 2 to 1, 4
    /// to 3); one whose surname is empty is left out with a warning, as a
    /// prefix cannot stand for a name (zib-NameInformation-1 and -2).
    fn read(m: &mut Mapper, element: Element<'e>) -> Result<Option<Self>, Error> {
        let [surname, prefix_element, own_surname, own_prefix_element, _, initials] = element.components::<6>();
        let (surname, own_surname, initials) = (peek(surname)?, peek(own_surname)?, peek(initials)?);
        let prefix = m.prefix_of(peek(prefix_element)?, surname.as_ref(), prefix_element);
        let own_prefix = m.prefix_of(peek(own_prefix_element)?, own_surname.as_ref(), own_prefix_element);
        if surname.is_none() && own_surname.is_none() && initials.is_none() {
            return Ok(None);
        }
        let mut family = if own_surname.is_some() {
            FamilyName {
                own_prefix,
                own_name: own_surname,
                partner_prefix: prefix,
                partner_name: surname,
            }
        } else {
            FamilyName {
                own_prefix: prefix,
                own_name: surname,
                ..FamilyName::default()
            }
        };
        // A voorvoegsel written into the surname ("van der Berg") is split off.
        family.split_own_prefix();
        Ok(Some(Self { family, initials }))
    }

    /// The given names, each with whether it is an initial: initials one by
    /// one, each with its full stop; a component that holds a name rather
    /// than initials ("Emre") is that name as written.
    fn given(&self) -> Vec<(Cow<'_, str>, bool)> {
        let Some(given) = self.initials.as_deref().map(str::trim).filter(|g| !g.is_empty()) else {
            return Vec::new();
        };
        if !is_initials(given) {
            return vec![(Cow::Borrowed(given), false)];
        }
        given
            .split(['.', ' '])
            .filter(|s| !s.is_empty())
            .map(|initial| (Cow::Owned([initial, "."].concat()), true))
            .collect()
    }

    /// The whole name as it is shown, "J.P. van den Berg" (nl-core wants
    /// it beside the parts: nl-core-NameInformation-01).
    fn text(&self) -> Option<String> {
        // Initials are shown together ("J.P."); a name is one part anyway.
        let given: String = self.given().iter().map(|(g, _)| g.as_ref()).collect();
        let family = self.family.text(FamilyOrder::PartnerFirst);
        let parts: Vec<&str> = [Some(given.as_str()), family.as_deref()]
            .into_iter()
            .flatten()
            .filter(|part| !part.is_empty())
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    }

    /// The `HumanName`'s fields.
    fn write(&self, w: &mut ObjectWriter<'_>) {
        let given = self.given();
        w.field("use", "official")
            .field("text", self.text())
            .field("family", self.family.text(FamilyOrder::PartnerFirst))
            .object("_family", |f| self.family.write_extension(f))
            .array("given", |names| {
                for (name, _) in &given {
                    names.item(name.as_ref());
                }
            })
            .array("_given", |qualifiers| {
                // nl-core qualifies every given name: initials IN, a given name BR.
                for (_, initial) in &given {
                    let code = if *initial { "IN" } else { "BR" };
                    qualifiers.object(|q| {
                        q.list("extension", |e| {
                            e.field("url", ext::NAME_QUALIFIER).field("valueCode", code);
                        });
                    });
                }
            });
    }
}

/// An address: 1 street, 2 house number, 3 PO box, 4 city, 5 postcode;
/// `None` when it names no place.
fn address<'e>(element: Element<'e>, use_: Option<&'static str>) -> Result<Option<Address<'e>>, Error> {
    let [street, number, po_box, city, postcode] = element.components::<5>();
    let (street, number, po_box, city, postcode) = (
        peek(street)?,
        peek(number)?,
        peek(po_box)?,
        peek(city)?,
        peek(postcode)?,
    );
    let mut lines = AddressLines::new();
    lines.push_street(
        None,
        StreetLine {
            street_name: street,
            house_number: number,
            building_number_suffix: None,
        },
    );
    if let Some(po_box) = po_box {
        lines.push(format!("Postbus {po_box}"));
    }
    let address = Address {
        address_use: use_,
        lines,
        city,
        postal_code: postcode.map(|p| {
            if p.contains(' ') {
                Cow::Owned(p.replace(' ', ""))
            } else {
                p
            }
        }),
        ..Address::default()
    };
    Ok(address.has_place().then_some(address))
}

/// Writes `address` as a one-element list, when there is one.
fn write_address(w: &mut ObjectWriter<'_>, address: Option<&Address<'_>>) {
    if let Some(address) = address {
        w.list("address", |a| address.write(a));
    }
}

/// A phone number and its use.
struct Phone<'e> {
    number: Cow<'e, str>,
    use_: Option<&'static str>,
}

/// A phone number, when the element has one.
fn phone<'e>(element: Element<'e>, use_: Option<&'static str>) -> Result<Option<Phone<'e>>, Error> {
    Ok(peek(element)?.map(|number| Phone { number, use_ }))
}

/// Writes `phone` as a one-element `telecom` list, when there is one.
fn write_telecom(w: &mut ObjectWriter<'_>, phone: Option<&Phone<'_>>) {
    if let Some(phone) = phone {
        w.list("telecom", |t| {
            t.field("system", "phone")
                .field("value", phone.number.as_ref())
                .field("use", phone.use_);
        });
    }
}

/// Escapes text for XHTML.
fn xhtml_escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
}

/// Lines as an XHTML narrative: one paragraph per run of non-empty lines.
fn narrative(lines: &[String]) -> String {
    let mut div = String::from("<div xmlns=\"http://www.w3.org/1999/xhtml\">");
    let mut open = false;
    for line in lines {
        if line.trim().is_empty() {
            if open {
                div.push_str("</p>");
                open = false;
            }
            continue;
        }
        if open {
            div.push_str("<br/>");
        } else {
            div.push_str("<p>");
            open = true;
        }
        xhtml_escape(line.trim(), &mut div);
    }
    if open {
        div.push_str("</p>");
    }
    div.push_str("</div>");
    div
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrative_escapes_and_makes_paragraphs() {
        let lines = [
            "Beste <collega> & co".to_owned(),
            String::new(),
            "Groet".to_owned(),
            "Jan".to_owned(),
        ];
        assert_eq!(
            narrative(&lines),
            "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Beste &lt;collega&gt; &amp; co</p><p>Groet<br/>Jan</p></div>"
        );
    }

    #[test]
    fn numbered_keys_match_format() {
        for n in [0, 7, 10, 19, 100, 4321, u32::MAX] {
            assert_eq!(numbered(&["BEP", "/"], n), format!("BEP/{n}"));
        }
    }

    #[test]
    fn unb_dates_of_both_lengths() {
        let t = prepared_time("260405", Some("0912")).unwrap();
        assert_eq!(
            (t.year, t.month, t.day, t.time),
            (2026, Some(4), Some(5), Some((9, 12, 0)))
        );
        assert_eq!(prepared_time("20260405", None).unwrap().year, 2026);
        assert!(prepared_time("260230", None).is_none());
    }
}
