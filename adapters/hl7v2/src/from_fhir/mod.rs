//! FHIR R4 -> HL7 v2.5.1: one ER7 message (ADT^A01, ADT^A03, ADT^A04,
//! ADT^A08 or ORU^R01) from a Bundle or a single resource.
//!
//! Reads both the nl-core shapes the v2 -> FHIR mapping of this crate
//! produces (voorvoegsel extensions, Dutch naming systems, telecom types) and
//! plain R4 as other systems send it. Every element that has no place in the
//! message is reported as a [`Warning`] located by its FHIR path, so nothing
//! is dropped silently. No I/O, no clock and no randomness: the message
//! control id derives from the Bundle's identity and the time comes from the
//! Bundle or the caller, so the same input always gives the same message.

mod adt;
mod datatypes;
mod oru;

use std::collections::HashMap;
use std::fmt;

use serde_json::Value;
use zorgpoort_model::Warning;
use zorgpoort_model::datatypes::LocalZone;

use crate::AckCode;
use crate::error::{Error, ErrorKind, Location};
use crate::message::{Limits, Message};
use crate::write::{Er7Message, Er7Segment, components_field, text_field};

/// Settings of the FHIR -> v2 mapping.
#[derive(Debug, Clone)]
pub struct FromFhirOptions {
    /// MSH-3.
    pub sending_application: String,
    /// MSH-4.
    pub sending_facility: String,
    /// MSH-5.
    pub receiving_application: Option<String>,
    /// MSH-6.
    pub receiving_facility: Option<String>,
    /// Forces the event (`ADT^A08`); `None` decides it from the Bundle.
    pub event: Option<String>,
    /// Zone in which UTC (`Z`) times are written, as Dutch receivers expect local time.
    pub zone: LocalZone,
    /// MSH-7 (a FHIR dateTime or an HL7 DTM) when the Bundle carries no
    /// timestamp of its own; the caller's clock, as the library reads none.
    pub now: Option<String>,
}

impl Default for FromFhirOptions {
    fn default() -> Self {
        Self {
            sending_application: "ZORGPOORT".to_owned(),
            sending_facility: "ZORGPOORT".to_owned(),
            receiving_application: None,
            receiving_facility: None,
            event: None,
            zone: LocalZone::default(),
            now: None,
        }
    }
}

/// One converted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FromFhir {
    /// The ER7 text, segments ended by `\r`.
    pub message: String,
    /// Resources and elements not carried into the message, by FHIR path.
    pub warnings: Vec<Warning>,
}

/// Why a resource could not be turned into a v2 message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FromFhirErrorKind {
    /// The input is not a FHIR resource (no `resourceType`, not an object).
    #[error("not a FHIR resource: {0}")]
    NotFhir(&'static str),
    /// No Patient to write PID from.
    #[error("no Patient resource: every supported message needs one for PID")]
    NoPatient,
    /// A date or time that is not a valid FHIR value of its type.
    #[error("not a valid FHIR {expected}")]
    InvalidDate {
        /// `date` or `dateTime`.
        expected: &'static str,
    },
    /// An event other than ADT^A01, ADT^A03, ADT^A04, ADT^A08 and ORU^R01.
    #[error("unsupported event {0:?}: ADT^A01, ADT^A03, ADT^A04, ADT^A08 and ORU^R01 are supported")]
    UnsupportedEvent(String),
    /// Neither the Bundle nor the options give a time for MSH-7.
    #[error("no message time for MSH-7: the Bundle has no timestamp and no `now` was given")]
    NoTimestamp,
}

/// A [`FromFhirErrorKind`] at a FHIR path such as `Bundle.entry[0].resource.birthDate`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {kind}")]
pub struct FromFhirError {
    /// FHIRPath-like location of the problem.
    pub path: String,
    /// What is wrong there.
    pub kind: FromFhirErrorKind,
}

impl FromFhirError {
    fn at(path: impl Into<String>, kind: FromFhirErrorKind) -> Self {
        Self {
            path: path.into(),
            kind,
        }
    }
}

/// The supported events with their message structure (MSH-9.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    A01,
    A03,
    A04,
    A08,
    R01,
}

impl Event {
    fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split('^');
        let code = parts.next().unwrap_or_default();
        let trigger = parts.next();
        match (code, trigger) {
            ("ADT", Some("A01")) | ("A01", None) => Some(Self::A01),
            ("ADT", Some("A03")) | ("A03", None) => Some(Self::A03),
            ("ADT", Some("A04")) | ("A04", None) => Some(Self::A04),
            ("ADT", Some("A08")) | ("A08", None) => Some(Self::A08),
            ("ORU", Some("R01")) | ("R01", None) => Some(Self::R01),
            _ => None,
        }
    }

    fn parts(self) -> [&'static str; 3] {
        match self {
            Self::A01 => ["ADT", "A01", "ADT_A01"],
            Self::A03 => ["ADT", "A03", "ADT_A03"],
            Self::A04 => ["ADT", "A04", "ADT_A01"],
            Self::A08 => ["ADT", "A08", "ADT_A01"],
            Self::R01 => ["ORU", "R01", "ORU_R01"],
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [code, trigger, _] = self.parts();
        write!(f, "{code}^{trigger}")
    }
}

/// One resource of the input with its path.
struct Resource<'j> {
    json: &'j Value,
    kind: &'j str,
    path: String,
}

/// The running state of one conversion: the resources, which of them are
/// carried into the message, and the warnings so far.
struct Ctx<'j> {
    resources: Vec<Resource<'j>>,
    /// `fullUrl` and `Type/id` to the resource's index.
    index: HashMap<&'j str, usize>,
    by_type_id: HashMap<(&'j str, &'j str), usize>,
    used: Vec<bool>,
    warnings: Vec<Warning>,
    zone: LocalZone,
}

/// Elements every resource may carry that have no v2 counterpart and hold no
/// clinical content: identity, profile claims, generated narrative.
const IGNORED_ELEMENTS: &[&str] = &["resourceType", "id", "meta", "text", "implicitRules", "language"];

impl Ctx<'_> {
    fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Warning::new(path, message));
    }

    /// Indexes of the resources of one type, in input order.
    fn of_type(&self, kind: &str) -> Vec<usize> {
        (0..self.resources.len())
            .filter(|&i| self.resources[i].kind == kind)
            .collect()
    }

    /// The resource a `Reference` points at, when it is in the input.
    fn resolve(&self, reference: &Value) -> Option<usize> {
        let text = reference.get("reference")?.as_str()?;
        if let Some(&i) = self.index.get(text) {
            return Some(i);
        }
        // Relative `Type/id` or an absolute URL ending in it (maybe with `_history`).
        let path = text.split("/_history/").next().unwrap_or(text);
        let mut parts = path.rsplit('/');
        let id = parts.next()?;
        let kind = parts.next()?;
        self.by_type_id.get(&(kind, id)).copied()
    }

    /// Warns about every element of `object` not in `used`.
    fn leftover(&mut self, object: &Value, path: &str, used: &[&str]) {
        let Some(map) = object.as_object() else { return };
        for key in map.keys() {
            let base = key.strip_prefix('_').unwrap_or(key);
            if used.contains(&base) || IGNORED_ELEMENTS.contains(&base) {
                continue;
            }
            self.warnings
                .push(Warning::new(format!("{path}.{key}"), "not carried into HL7 v2"));
        }
    }
}

/// Reads the input into resources with their paths.
fn collect(input: &Value) -> Result<Vec<Resource<'_>>, FromFhirError> {
    let Some(kind) = input.get("resourceType").and_then(Value::as_str) else {
        let why = if input.is_object() {
            "no resourceType"
        } else {
            "not a JSON object"
        };
        return Err(FromFhirError::at("$", FromFhirErrorKind::NotFhir(why)));
    };
    if kind != "Bundle" {
        return Ok(vec![Resource {
            json: input,
            kind,
            path: kind.to_owned(),
        }]);
    }
    let mut out = Vec::new();
    let Some(entries) = input.get("entry") else {
        return Ok(out);
    };
    let Some(entries) = entries.as_array() else {
        return Err(FromFhirError::at(
            "Bundle.entry",
            FromFhirErrorKind::NotFhir("Bundle.entry is not an array"),
        ));
    };
    for (i, entry) in entries.iter().enumerate() {
        let Some(resource) = entry.get("resource") else {
            continue;
        };
        let Some(kind) = resource.get("resourceType").and_then(Value::as_str) else {
            continue;
        };
        out.push(Resource {
            json: resource,
            kind,
            path: format!("Bundle.entry[{i}].resource"),
        });
    }
    Ok(out)
}

/// One ER7 message (segments separated by `\r`) from a FHIR R4 Bundle
/// (transaction, collection, message or document) or a single resource.
///
/// # Errors
/// When the input is not FHIR, has no Patient, names an unsupported event,
/// holds an invalid date that the message needs, or gives no message time.
pub fn from_fhir(resource: &Value, options: &FromFhirOptions) -> Result<FromFhir, FromFhirError> {
    let resources = collect(resource)?;
    let entries = resource.get("entry").and_then(Value::as_array);
    let mut index = HashMap::new();
    let mut by_type_id = HashMap::new();
    for (i, r) in resources.iter().enumerate() {
        if let Some(id) = r.json.get("id").and_then(Value::as_str) {
            by_type_id.entry((r.kind, id)).or_insert(i);
        }
    }
    if let Some(entries) = entries {
        // Entries without a resource were skipped, so count along the resources.
        let mut n = 0;
        for entry in entries {
            let has_resource = entry
                .get("resource")
                .and_then(|r| r.get("resourceType"))
                .and_then(Value::as_str)
                .is_some();
            if !has_resource {
                continue;
            }
            if let Some(url) = entry.get("fullUrl").and_then(Value::as_str) {
                index.entry(url).or_insert(n);
            }
            n += 1;
        }
    }
    let mut ctx = Ctx {
        used: vec![false; resources.len()],
        resources,
        index,
        by_type_id,
        warnings: Vec::new(),
        zone: options.zone,
    };
    if let Some(entries) = entries {
        for (i, entry) in entries.iter().enumerate() {
            if entry.get("resource").and_then(|r| r.get("resourceType")).is_none() {
                ctx.warn(
                    format!("Bundle.entry[{i}]"),
                    "entry without a resource; not carried into HL7 v2",
                );
            }
        }
    }
    let patients = ctx.of_type("Patient");
    let Some(&patient) = patients.first() else {
        let path = if resource["resourceType"] == "Bundle" {
            "Bundle".to_owned()
        } else {
            ctx.resources[0].path.clone()
        };
        return Err(FromFhirError::at(path, FromFhirErrorKind::NoPatient));
    };
    let event = choose_event(&mut ctx, options)?;
    let control_id = control_id(resource);
    let timestamp = message_time(&mut ctx, resource, options)?;
    let mut segments = vec![msh(options, &timestamp, event, &control_id)];
    if event != Event::R01 {
        let [_, trigger, _] = event.parts();
        segments.push(Er7Segment::simple("EVN", &[trigger, &timestamp]));
    }
    ctx.used[patient] = true;
    segments.extend(adt::patient_segments(&mut ctx, patient)?);
    let encounter = adt::pick_encounter(&mut ctx, patient);
    if event == Event::R01 {
        if let Some(encounter) = encounter {
            segments.extend(adt::visit_segments(&mut ctx, encounter)?);
        }
        segments.extend(oru::order_segments(&mut ctx)?);
    } else {
        match encounter {
            Some(encounter) => segments.extend(adt::visit_segments(&mut ctx, encounter)?),
            // PV1 is required in ADT; without a visit it says "not applicable".
            None => segments.push(Er7Segment::simple("PV1", &["1", "N"])),
        }
        segments.extend(oru::adt_observations(&mut ctx)?);
        segments.extend(adt::insurance_segments(&mut ctx, patient)?);
    }
    for patient in patients.into_iter().skip(1) {
        let path = ctx.resources[patient].path.clone();
        ctx.warn(path, "second Patient not carried into HL7 v2: a message has one PID");
        ctx.used[patient] = true;
    }
    for i in 0..ctx.resources.len() {
        if !ctx.used[i] {
            let (path, kind) = (ctx.resources[i].path.clone(), ctx.resources[i].kind);
            ctx.warn(path, format!("{kind} not carried into HL7 v2 {event}"));
        }
    }
    let message = Er7Message {
        delimiters: crate::message::Delimiters::default(),
        segments,
    }
    .to_er7();
    Ok(FromFhir {
        message,
        warnings: ctx.warnings,
    })
}

fn msh(options: &FromFhirOptions, timestamp: &str, event: Event, control_id: &str) -> Er7Segment {
    let mut msh = Er7Segment::simple("MSH", &[]);
    msh.set(3, text_field(&options.sending_application));
    msh.set(4, text_field(&options.sending_facility));
    msh.set(
        5,
        text_field(options.receiving_application.as_deref().unwrap_or_default()),
    );
    msh.set(6, text_field(options.receiving_facility.as_deref().unwrap_or_default()));
    msh.set(7, text_field(timestamp));
    msh.set(9, components_field(&event.parts()));
    msh.set(10, text_field(control_id));
    msh.set(11, text_field("P"));
    msh.set(12, text_field("2.5.1"));
    // The text is Rust's, so UTF-8 whatever names it holds.
    msh.set(18, text_field("UNICODE UTF-8"));
    msh
}

/// The event: MessageHeader.eventCoding, else the option, else what the
/// resources say: an order or a report is a result (ORU^R01); otherwise a
/// visit decides, and the observations it carries go as OBX of the ADT
/// message (an admission with its vital signs stays an admission): a finished
/// visit is a discharge (A03), a current inpatient one an admission (A01), a
/// current outpatient or emergency one a registration (A04). Observations
/// without a visit are results; anything else is a patient update (A08).
fn choose_event(ctx: &mut Ctx<'_>, options: &FromFhirOptions) -> Result<Event, FromFhirError> {
    if let Some(&header) = ctx.of_type("MessageHeader").first() {
        ctx.used[header] = true;
        let json = ctx.resources[header].json;
        let path = ctx.resources[header].path.clone();
        ctx.leftover(json, &path, &["eventCoding"]);
        if let Some(coding) = json.get("eventCoding") {
            let code = coding.get("code").and_then(Value::as_str).unwrap_or_default();
            return Event::parse(code).ok_or_else(|| {
                FromFhirError::at(
                    format!("{path}.eventCoding"),
                    FromFhirErrorKind::UnsupportedEvent(code.to_owned()),
                )
            });
        }
    }
    if let Some(forced) = &options.event {
        return Event::parse(forced)
            .ok_or_else(|| FromFhirError::at("options.event", FromFhirErrorKind::UnsupportedEvent(forced.clone())));
    }
    if !ctx.of_type("DiagnosticReport").is_empty() || !ctx.of_type("ServiceRequest").is_empty() {
        return Ok(Event::R01);
    }
    let mut event = None;
    for encounter in ctx.of_type("Encounter") {
        let json = ctx.resources[encounter].json;
        let ended = json.pointer("/period/end").is_some();
        match json.get("status").and_then(Value::as_str) {
            Some("finished") => return Ok(Event::A03),
            _ if ended => return Ok(Event::A03),
            Some("in-progress" | "arrived") => event = Some(current_visit_event(json)),
            _ => {}
        }
    }
    Ok(event.unwrap_or(if ctx.of_type("Observation").is_empty() {
        Event::A08
    } else {
        Event::R01
    }))
}

/// A01 for a current inpatient visit, A04 for an outpatient or emergency
/// one (HL7 v2.5.1 3.3.4: "register a patient").
fn current_visit_event(encounter: &Value) -> Event {
    match encounter.pointer("/class/code").and_then(Value::as_str) {
        Some("AMB" | "EMER" | "VR" | "HH") => Event::A04,
        _ => Event::A01,
    }
}

/// MSH-10 from the Bundle's identifier or id; v2.5.1 allows 20 characters,
/// so a longer one (a UUID) is shortened to a digest of itself.
fn control_id(input: &Value) -> String {
    let own = input
        .pointer("/identifier/value")
        .and_then(Value::as_str)
        .or_else(|| input.get("id").and_then(Value::as_str))
        .filter(|id| !id.is_empty());
    match own {
        Some(id) if id.len() <= 20 && id.is_ascii() => id.to_owned(),
        Some(id) => format!("ZP{:016X}", fnv1a(id.as_bytes())),
        // serde_json's output is stable for the same document.
        None => format!("ZP{:016X}", fnv1a(input.to_string().as_bytes())),
    }
}

/// FNV-1a, 64 bits: a stable digest with no dependency.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// MSH-7: Bundle.timestamp, else the recorded time of a Provenance (which
/// the v2 -> FHIR mapping makes from MSH-7), else the Bundle's
/// `meta.lastUpdated`, else `options.now`.
fn message_time(ctx: &mut Ctx<'_>, input: &Value, options: &FromFhirOptions) -> Result<String, FromFhirError> {
    let root = input.get("resourceType").and_then(Value::as_str).unwrap_or("Bundle");
    if root == "Bundle" {
        if let Some(ts) = input.get("timestamp").and_then(Value::as_str) {
            return datatypes::dtm(ctx, ts, "Bundle.timestamp");
        }
    }
    for provenance in ctx.of_type("Provenance") {
        let json = ctx.resources[provenance].json;
        if let Some(recorded) = json.get("recorded").and_then(Value::as_str) {
            let path = format!("{}.recorded", ctx.resources[provenance].path);
            let time = datatypes::dtm(ctx, recorded, &path)?;
            ctx.used[provenance] = true;
            let path = ctx.resources[provenance].path.clone();
            ctx.warn(
                path,
                "Provenance used for MSH-7 only; its agents and targets are not carried into HL7 v2",
            );
            return Ok(time);
        }
    }
    let updated_path = format!("{root}.meta.lastUpdated");
    if let Some(updated) = input.pointer("/meta/lastUpdated").and_then(Value::as_str) {
        return datatypes::dtm(ctx, updated, &updated_path);
    }
    match options.now.as_deref() {
        Some(now) if crate::types::parse_dtm(now).is_some() => Ok(now.to_owned()),
        Some(now) => datatypes::dtm(ctx, now, "options.now"),
        None => {
            let path = if root == "Bundle" {
                "Bundle.timestamp".to_owned()
            } else {
                updated_path
            };
            Err(FromFhirError::at(path, FromFhirErrorKind::NoTimestamp))
        }
    }
}

/// MSA-1 and MSA-3 of an acknowledgement a v2 receiver sent back.
///
/// # Errors
/// When the bytes are not an HL7 v2 message, or it has no MSA with a known
/// acknowledgement code (AA/AE/AR, or CA/CE/CR in enhanced mode).
pub fn read_ack(bytes: &[u8]) -> Result<(AckCode, Option<String>), Error> {
    let message = Message::parse(bytes, &Limits::default())?;
    let Some(msa) = message.segment("MSA") else {
        return Err(Error::at(Location::segment("MSA", 1), ErrorKind::MissingField));
    };
    let code = match msa.field(1).text_of(1).as_deref() {
        Some("AA" | "CA") => AckCode::Accept,
        Some("AE" | "CE") => AckCode::Error,
        Some("AR" | "CR") => AckCode::Reject,
        _ => {
            return Err(Error::at(msa.location().with_field(1), ErrorKind::MissingField));
        }
    };
    // MSA-3 was withdrawn in v2.5 in favour of ERR-8; read either.
    let text = msa
        .field(3)
        .text()
        .or_else(|| message.segment("ERR").and_then(|err| err.field(8).text()))
        .map(std::borrow::Cow::into_owned);
    Ok((code, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_parse_with_or_without_the_message_code() {
        assert_eq!(Event::parse("ADT^A08"), Some(Event::A08));
        assert_eq!(Event::parse("ADT^A08^ADT_A01"), Some(Event::A08));
        assert_eq!(Event::parse("R01"), Some(Event::R01));
        assert_eq!(Event::parse("ADT^A04"), Some(Event::A04));
        assert_eq!(Event::parse("ADT^A05"), None);
        assert_eq!(Event::A03.to_string(), "ADT^A03");
    }

    #[test]
    fn control_ids_fit_msh10() {
        assert_eq!(control_id(&serde_json::json!({"id": "MSG1"})), "MSG1");
        let long = control_id(&serde_json::json!({"id": "0c7a1f2e-9d4b-5e07-8a61-2f0c4b7de913"}));
        assert_eq!(long.len(), 18);
        assert_eq!(
            long,
            control_id(&serde_json::json!({"id": "0c7a1f2e-9d4b-5e07-8a61-2f0c4b7de913"}))
        );
    }

    #[test]
    fn acks_are_read() {
        let ack = b"MSH|^~\\&|EPD|GP|ZP|ZP|20261124093016||ACK^A01^ACK|A1|P|2.5.1\rMSA|AE|MSG1\rERR||PID^1^7|102|E||||bad date\r";
        assert_eq!(read_ack(ack).unwrap(), (AckCode::Error, Some("bad date".to_owned())));
        let ok = b"MSH|^~\\&|EPD|GP|ZP|ZP|20261124093016||ACK|A1|P|2.3\rMSA|CA|MSG1|fine\r";
        assert_eq!(read_ack(ok).unwrap(), (AckCode::Accept, Some("fine".to_owned())));
        let none = b"MSH|^~\\&|EPD|GP|ZP|ZP|20261124093016||ACK|A1|P|2.3\r";
        assert_eq!(read_ack(none).unwrap_err().to_string(), "MSA: required field is empty");
    }
}
