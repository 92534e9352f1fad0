//! Orders and results: ORC and OBR -> `ServiceRequest` (and `DiagnosticReport` in
//! result messages), OBX -> Observation (or document content), NTE -> notes.

use std::borrow::Cow;
use std::cell::Cell;

use zorgpoort_model::datatypes::{concept, profile_meta};
use zorgpoort_model::systems::{self, hl7, profile};
use zorgpoort_model::{Json, Object, Value, base64};

use super::datatypes::{absent, coded, names_a_concept};
use super::{Mapper, NoteTarget};
use crate::error::Location;
use crate::message::{Item, Segment};
use crate::types::{Ei, Sn, read_nm};

/// An Identifier from an EI (placer or filler order number) read at
/// `location`, `kind` its v2 table 0203 type.
pub(super) fn order_identifier<'a>(
    m: &mut Mapper<'a>,
    ei: Ei<'a>,
    kind: &'static str,
    location: Location,
) -> Option<Object<'a>> {
    let id = ei.id.clone()?;
    let system = m.identifier_system(&ei.authority, None, Some(&id), location).ok()?;
    Some(
        Object::new()
            .with("type", concept(hl7::V2_0203, kind))
            .with("system", system.map(Cow::into_owned))
            .with("value", id)
            .with(
                "assigner",
                ei.authority.namespace.map(|n| Object::new().with("display", n)),
            ),
    )
}

fn request_status(control: Option<&str>, status: Option<&str>) -> &'static str {
    match (control, status) {
        (_, Some("CM")) => "completed",
        (_, Some("CA" | "DC")) | (Some("CA" | "DC" | "OC"), _) => "revoked",
        (_, Some("HD")) | (Some("HD"), _) => "on-hold",
        (_, Some("IP" | "SC" | "A")) | (Some("NW" | "SC" | "XO" | "RP"), _) => "active",
        _ => "unknown",
    }
}

pub(super) fn map_orc<'a>(m: &mut Mapper<'a>, orc: Segment<'_, 'a>) -> &'static [usize] {
    let identifiers: Vec<Object<'a>> = [
        order_identifier(m, Ei::read(orc.field(2)), "PLAC", orc.field(2).location()),
        order_identifier(m, Ei::read(orc.field(3)), "FILL", orc.field(3).location()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let requester = orc.field(12).repetitions().next().and_then(|r| m.practitioner(r));
    let status = request_status(orc.field(1).text_of(1).as_deref(), orc.field(5).text_of(1).as_deref());
    let request = Object::new()
        .with("identifier", identifiers)
        .with("status", status)
        .with("intent", "order")
        .with("subject", m.subject_of(orc.location()))
        .with("encounter", m.encounter_ref())
        .with("authoredOn", m.datetime(orc.field(9)))
        .with("requester", requester);
    let key = format!("ORC/{}", orc.occurrence());
    let entry = m.bundle.add("ServiceRequest", &key, request);
    m.order = Some(entry);
    m.order_has_obr = false;
    m.report = None;
    m.note_target = Some(NoteTarget::Tree(entry));
    &[1, 2, 3, 5, 9, 12]
}

fn report_status(code: Option<&str>) -> &'static str {
    match code {
        Some("F") => "final",
        Some("C") => "corrected",
        Some("P") => "preliminary",
        Some("X") => "cancelled",
        Some("R" | "S" | "A") => "partial",
        Some("I" | "O") => "registered",
        _ => "unknown",
    }
}

pub(super) fn map_obr<'a>(m: &mut Mapper<'a>, obr: Segment<'_, 'a>) -> &'static [usize] {
    // A specimen that followed the previous OBR was that order's; one read
    // before this OBR (OUL) is this order's.
    if m.specimen_after_order {
        m.specimen = None;
        m.specimen_after_order = false;
    }
    let specimen = m.specimen.map(|s| vec![m.bundle.reference(s)]);
    let code = m.concept(obr.field(4));
    let effective = m.datetime(obr.field(7));
    let identifiers: Vec<Object<'a>> = [
        order_identifier(m, Ei::read(obr.field(2)), "PLAC", obr.field(2).location()),
        order_identifier(m, Ei::read(obr.field(3)), "FILL", obr.field(3).location()),
    ]
    .into_iter()
    .flatten()
    .collect();
    // An OBR details the ORC before it; a second OBR is an order of its own.
    let order = if let Some(order) = m.order.filter(|_| !m.order_has_obr) {
        order
    } else {
        let request = Object::new()
            .with("status", "unknown")
            .with("intent", "order")
            .with("subject", m.subject_of(obr.location()))
            .with("encounter", m.encounter_ref());
        m.bundle
            .add("ServiceRequest", &format!("OBR/{}", obr.occurrence()), request)
    };
    let requester = obr.field(16).repetitions().next().and_then(|r| m.practitioner(r));
    {
        let request = m.bundle.resource_mut(order);
        if request.get("identifier").is_none() {
            request.set("identifier", identifiers.clone());
        }
        request.set("code", code.clone());
        request.set("occurrenceDateTime", effective.clone());
        if request.get("requester").is_none() {
            request.set("requester", requester);
        }
        request.set("specimen", specimen.clone());
    }
    m.order = Some(order);
    m.order_has_obr = true;
    m.note_target = Some(NoteTarget::Tree(order));
    if m.is("ORU") || m.is("OUL") {
        let status = report_status(obr.field(25).text_of(1).as_deref());
        // DiagnosticReport.code is required: without OBR-4 it says why it is absent.
        let code = code.unwrap_or_else(|| {
            m.warn(
                obr.location().with_field(4),
                "report without a code; code marked absent",
            );
            absent("unknown")
        });
        let section = match obr.field(24).text_of(1) {
            Some(section) => m.code(Some(section), obr.location().with_field(24)),
            None => Some(Cow::Borrowed("LAB")),
        };
        let category = section.map(|section| vec![concept("http://terminology.hl7.org/CodeSystem/v2-0074", section)]);
        let report = Object::new()
            .with("identifier", identifiers)
            .with("basedOn", vec![m.bundle.reference(order)])
            .with("status", status)
            .with("category", category)
            .with("code", code)
            .with("subject", m.subject_of(obr.location()))
            .with("encounter", m.encounter_ref())
            .with("effectiveDateTime", effective)
            .with("issued", m.instant(obr.field(22)))
            .with("specimen", specimen);
        m.report = Some(
            m.bundle
                .add("DiagnosticReport", &format!("OBR/{}", obr.occurrence()), report),
        );
    }
    &[1, 2, 3, 4, 7, 16, 22, 24, 25]
}

fn observation_status(code: Option<&str>) -> &'static str {
    match code {
        Some("F" | "U") => "final",
        Some("C") => "corrected",
        Some("P" | "R" | "S") => "preliminary",
        Some("I" | "O") => "registered",
        Some("X" | "N") => "cancelled",
        Some("D" | "W") => "entered-in-error",
        _ => "unknown",
    }
}

/// The unit of a quantity, from a CWE (OBX-6, RXA-7): its code, its text
/// and its coding system.
pub(super) struct Unit<'a> {
    /// The unit as shown: the text (CWE-2), else the code (CWE-1).
    text: Option<Cow<'a, str>>,
    /// The code, when the sender says it is UCUM (CWE-3) and it is.
    ucum: Option<Cow<'a, str>>,
    /// Whether the sender says UCUM but the code is not valid UCUM.
    not_ucum: bool,
    /// Whether a Quantity was made with this unit.
    used: Cell<bool>,
}

impl<'a> Unit<'a> {
    /// The unit in `item`. Only a code that is valid UCUM (see
    /// [`zorgpoort_model::ucum::check`]) is taken for one; a sender's unit
    /// that is not keeps its text only.
    pub(super) fn read(item: Item<'_, 'a>) -> Self {
        let code = item.text_of(1);
        let says_ucum = item.text_of(3).is_some_and(|s| s.eq_ignore_ascii_case("UCUM"));
        let ucum = code
            .clone()
            .filter(|code| says_ucum && zorgpoort_model::ucum::check(code).is_ok());
        Self {
            text: item.text_of(2).or(code.clone()),
            not_ucum: says_ucum && code.is_some() && ucum.is_none(),
            ucum,
            used: Cell::new(false),
        }
    }

    /// A Quantity of `value` in this unit: the UCUM system and code only for
    /// valid UCUM, the unit's text always.
    pub(super) fn quantity(&self, value: Value<'a>) -> Object<'a> {
        self.used.set(true);
        Object::new()
            .with("value", value)
            .with("unit", self.text.clone())
            .with("system", self.ucum.is_some().then_some(systems::UCUM))
            .with("code", self.ucum.clone())
    }

    /// Whether a Quantity was made with a unit said to be UCUM that is not:
    /// its code was left out, which the caller reports.
    pub(super) fn dropped_its_code(&self) -> bool {
        self.not_ucum && self.used.get()
    }

    /// Whether the unit is UCUM, which some profiles require.
    pub(super) fn is_ucum(&self) -> bool {
        self.ucum.is_some()
    }
}

/// OBX-7 as a range: `3.5-5.0`, `<5`, `>5`, or else text.
fn reference_range<'a>(text: Cow<'a, str>, unit: &Unit<'a>) -> Object<'a> {
    let bound = |t: &str| Value::number(t.trim()).map(|v| unit.quantity(v));
    let parsed = if let Some(high) = text.strip_prefix('<') {
        bound(high.trim_start_matches('=')).map(|h| Object::new().with("high", h))
    } else if let Some(low) = text.strip_prefix('>') {
        bound(low.trim_start_matches('=')).map(|l| Object::new().with("low", l))
    } else {
        text.trim_start_matches('-')
            .find('-')
            .map(|i| i + usize::from(text.starts_with('-')))
            .and_then(|i| {
                let (low, high) = (&text[..i], &text[i + 1..]);
                Some(Object::new().with("low", bound(low)?).with("high", bound(high)?))
            })
    };
    parsed.unwrap_or_else(|| Object::new().with("text", text))
}

/// A FHIR time from a TM (`HHMM[SS[.S...]][+/-ZZZZ]`; fraction and zone
/// dropped, as FHIR's time has neither a zone nor needs the fraction);
/// `None` when the time does not exist.
fn fhir_time(text: &str) -> Option<String> {
    let digits: &str = text.split(['.', '+', '-']).next()?;
    if !matches!(digits.len(), 4 | 6) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let part = |range: std::ops::Range<usize>| digits.get(range).map_or(Some(0), |p| p.parse::<u32>().ok());
    let (h, mi, s) = (part(0..2)?, part(2..4)?, part(4..6)?);
    (h < 24 && mi < 60 && s < 60).then(|| format!("{h:02}:{mi:02}:{s:02}"))
}

/// OBX-5 in FHIR terms.
enum ObservationValue<'a> {
    /// One `value[x]`, by its element name.
    Single(&'static str, Value<'a>),
    /// A non-text value that repeats: one `value[x]` per repetition, for
    /// `Observation.component` as the v2-to-FHIR map does
    /// (OBX[Observation-Component]), so no repetition is lost.
    Components(Vec<(&'static str, Value<'a>)>),
}

impl<'a> Mapper<'a> {
    /// The value of an OBX by its value type (OBX-2).
    fn observation_value(&mut self, obx: Segment<'_, 'a>, unit: &Unit<'a>) -> Option<ObservationValue<'a>> {
        let value = obx.field(5);
        let value_type = obx.field(2).text_of(1).unwrap_or(Cow::Borrowed("ST"));
        if matches!(value_type.as_ref(), "ST" | "TX" | "FT") {
            // Repetitions of text are its lines.
            let lines: Vec<Cow<'a, str>> = value.repetitions().filter_map(|r| r.text()).collect();
            let text = (!lines.is_empty()).then(|| Value::from(lines.join("\n")));
            return text.map(|t| ObservationValue::Single("valueString", t));
        }
        let repetitions: Vec<Item<'_, 'a>> = value.repetitions().collect();
        if let [single] = repetitions.as_slice() {
            let located = obx.location().with_field(5);
            let mapped = self.typed_value(*single, &value_type, unit, located);
            return mapped.map(|(key, value)| ObservationValue::Single(key, value));
        }
        let mut values = Vec::new();
        for repetition in repetitions {
            let located = repetition.location();
            values.extend(self.typed_value(repetition, &value_type, unit, located));
        }
        (!values.is_empty()).then_some(ObservationValue::Components(values))
    }

    /// One (repetition of a) non-text OBX-5 value as `value[x]`.
    fn typed_value(
        &mut self,
        item: Item<'_, 'a>,
        value_type: &str,
        unit: &Unit<'a>,
        located: Location,
    ) -> Option<(&'static str, Value<'a>)> {
        match value_type {
            "NM" => {
                if let Some(number) = read_nm(item).and_then(|n| Value::number(&n)) {
                    Some(("valueQuantity", Value::Obj(unit.quantity(number))))
                } else {
                    self.warn(located, "NM value is not a number; kept as text");
                    item.text().map(|t| ("valueString", Value::from(t)))
                }
            }
            "CE" | "CWE" | "CNE" | "CF" => self.concept(item).map(|c| ("valueCodeableConcept", Value::Obj(c))),
            "SN" => self.structured_numeric(Sn::read(item), unit, located),
            "DT" => self.date(item).map(|d| ("valueDateTime", Value::from(d))),
            "TS" | "DTM" => self.datetime(item).map(|d| ("valueDateTime", Value::from(d))),
            "TM" => {
                let time = item.text().and_then(|t| fhir_time(&t));
                if time.is_none() && !item.is_empty() {
                    self.warn(located, "not a valid HL7 v2 time; left out");
                }
                time.map(|t| ("valueTime", Value::from(t)))
            }
            other => {
                self.warn(located, format!("value type {other} kept as text"));
                item.text().map(|t| ("valueString", Value::from(t)))
            }
        }
    }

    fn structured_numeric(
        &mut self,
        sn: Sn<'a>,
        unit: &Unit<'a>,
        location: Location,
    ) -> Option<(&'static str, Value<'a>)> {
        let num = |t: &Option<Cow<'a, str>>| t.as_deref().and_then(Value::number);
        let mapped = match (
            sn.comparator.as_deref(),
            num(&sn.num1),
            sn.separator.as_deref(),
            num(&sn.num2),
        ) {
            (comparator @ (None | Some("<" | ">" | "<=" | ">=" | "=")), Some(n1), None, None) => {
                let comparator = comparator.filter(|c| *c != "=").map(str::to_owned);
                Some((
                    "valueQuantity",
                    Value::Obj(unit.quantity(n1).with("comparator", comparator)),
                ))
            }
            (None, Some(n1), Some("-"), Some(n2)) => Some((
                "valueRange",
                Value::Obj(
                    Object::new()
                        .with("low", unit.quantity(n1))
                        .with("high", unit.quantity(n2)),
                ),
            )),
            (None, Some(n1), Some(":" | "/"), Some(n2)) => Some((
                "valueRatio",
                Value::Obj(
                    Object::new()
                        .with("numerator", Object::new().with("value", n1))
                        .with("denominator", Object::new().with("value", n2)),
                ),
            )),
            _ => None,
        };
        mapped.or_else(|| {
            self.warn(location, "structured numeric kept as text");
            let text: String = [sn.comparator, sn.num1, sn.separator, sn.num2]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .concat();
            (!text.is_empty()).then(|| ("valueString", Value::from(text)))
        })
    }
}

/// An OBX without an OBX-3 code cannot be an Observation, whose code is
/// required. Text (ST, TX, FT) under a result's OBR is the report's own
/// text and becomes lines of its `conclusion`; anything else is reported.
fn uncoded_result<'a>(m: &mut Mapper<'a>, obx: Segment<'_, 'a>) -> &'static [usize] {
    let is_text = matches!(obx.field(2).text_of(1).as_deref(), None | Some("ST" | "TX" | "FT"));
    let lines: Vec<Cow<'a, str>> = obx.field(5).repetitions().filter_map(|r| r.text()).collect();
    let location = obx.location().with_field(3);
    match m.report {
        _ if lines.is_empty() => m.warn(location, "observation without a code or a value; nothing to map"),
        Some(report) if is_text => {
            append_line(m.bundle.resource_mut(report), "conclusion", &lines.join("\n"));
            m.note_target = Some(NoteTarget::Tree(report));
            return &[1, 2, 3, 4, 5, 11];
        }
        Some(_) => m.warn(location, "coded value without an observation code (OBX-3); not mapped"),
        None => m.warn(
            location,
            "observation without a code and without a report to hold its text; not mapped",
        ),
    }
    &[3]
}

/// Adds `text` to the string element `key` of a resource, on a new line,
/// so a second NTE or text OBX continues the first instead of replacing it.
fn append_line(resource: &mut Object<'_>, key: &'static str, text: &str) {
    match resource.get_mut(key) {
        Some(Value::Str(existing)) => {
            let joined = existing.to_mut();
            joined.push('\n');
            joined.push_str(text);
        }
        _ => resource.set(key, text.to_owned()),
    }
}

pub(super) fn map_obx<'a>(m: &mut Mapper<'a>, obx: Segment<'_, 'a>, after: &[Segment<'_, 'a>]) -> &'static [usize] {
    if matches!(obx.field(2).text_of(1).as_deref(), Some("ED" | "RP")) || m.document.is_some() {
        return super::scheduling::document_content(m, obx);
    }
    let Some(code) = m.concept(obx.field(3)) else {
        return uncoded_result(m, obx);
    };
    let unit = Unit::read(obx.field(6));
    let value = m.observation_value(obx, &unit);
    let interpretation: Vec<Cow<'a, str>> = obx
        .field(8)
        .repetitions()
        .filter_map(|r| m.code(r.text_of(1), r.location()))
        .collect();
    let range = obx.field(7).text().map(|t| reference_range(t, &unit));
    if unit.dropped_its_code() {
        m.warn(
            obx.location().with_field(6),
            "unit said to be UCUM is not valid UCUM; kept as text only",
        );
    }
    let effective = result_time(m, obx);
    let performers = result_performers(m, obx);
    let issued = m.instant(obx.field(19));
    let method = m.concept(obx.field(17));
    let is_lab = m.report.is_some();
    let based_on = m.order.map(|o| m.bundle.reference(o));
    let (subject, encounter) = (m.subject_of(obx.location()), m.encounter_ref());
    let specimen = m.specimen.map(|s| m.bundle.reference(s));
    // An SPM after the results of an OBR gives them its specimen.
    let later_specimen = if is_lab && specimen.is_none() {
        super::specimen::specimen_ahead(m, after)
    } else {
        None
    };
    let notes = notes_ahead(m, "Observation", after);
    let (single, components) = match value {
        Some(ObservationValue::Single(key, value)) => (Some((key, value)), Vec::new()),
        Some(ObservationValue::Components(values)) => (None, values),
        None => (None, Vec::new()),
    };
    // Written once, for the Observation and each of its components.
    let code = Json::of(code);
    let mut observation = m.bundle.writer("Observation", &format!("OBX/{}", obx.occurrence()));
    let mut w = observation.fields();
    w.field("meta", is_lab.then(|| profile_meta(profile::LAB_RESULT)).flatten())
        .list_item("basedOn", based_on)
        .field("status", observation_status(obx.field(11).text_of(1).as_deref()))
        .list("category", |category| {
            if is_lab {
                coded(hl7::OBSERVATION_CATEGORY, "laboratory")(category);
            }
        })
        .field("code", code.as_ref())
        .field("subject", subject)
        .field("encounter", encounter)
        .field("effectiveDateTime", effective)
        .field("issued", issued)
        .field("performer", performers)
        .field("specimen", specimen);
    if let Some((key, value)) = single {
        w.field(key, value);
    }
    w.array("interpretation", |items| {
        for code in &interpretation {
            items.object(coded(hl7::V3_OBSERVATION_INTERPRETATION, code));
        }
    })
    .field("method", method)
    .list_item("referenceRange", range)
    .array("component", |items| {
        for (key, value) in components {
            items.object(|component| {
                component.field("code", code.as_ref()).field(key, value);
            });
        }
    })
    .list("note", |note| {
        note.field("text", notes);
    })
    .field("specimen", later_specimen);
    let entry = observation.finish();
    if let Some(report) = m.report {
        let reference = m.bundle.reference(entry);
        m.bundle.resource_mut(report).push_to("result", reference);
    }
    m.note_target = Some(NoteTarget::Written(entry));
    &[1, 2, 3, 5, 6, 7, 8, 11, 14, 16, 17, 19, 23]
}

/// When a result was observed: OBX-14, else its order's time.
fn result_time<'a>(m: &mut Mapper<'a>, obx: Segment<'_, 'a>) -> Option<String> {
    match m.datetime(obx.field(14)) {
        Some(t) => Some(t),
        None => m
            .order
            .and_then(|o| match m.bundle.resource_mut(o).get("occurrenceDateTime") {
                Some(Value::Str(s)) => Some(s.clone().into_owned()),
                _ => None,
            }),
    }
}

/// Who observed a result: OBX-16's practitioners and OBX-23's organisation.
fn result_performers<'a>(m: &mut Mapper<'a>, obx: Segment<'_, 'a>) -> Vec<Value<'a>> {
    let mut performers: Vec<Value<'a>> = obx
        .field(16)
        .repetitions()
        .filter_map(|r| m.practitioner(r))
        .map(Value::from)
        .collect();
    performers.extend(
        obx.field(23)
            .repetitions()
            .next()
            .and_then(|r| m.organization(r))
            .map(Value::from),
    );
    performers
}

/// The resources an NTE adds a note to; after any other, it is reported.
fn takes_notes(resource_type: &str) -> bool {
    matches!(
        resource_type,
        "Observation"
            | "ServiceRequest"
            | "AllergyIntolerance"
            | "Condition"
            | "Procedure"
            | "Immunization"
            | "DocumentReference"
            | "DiagnosticReport"
            | "Specimen"
            | "Appointment"
    )
}

/// The lines of an NTE's text (NTE-3), `None` when it has none.
fn note_text(nte: Segment<'_, '_>) -> Option<String> {
    let lines: Vec<Cow<'_, str>> = nte.field(3).repetitions().filter_map(|r| r.text()).collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// NTE: a note on the resource the previous segment made, where FHIR has one.
pub(super) fn map_nte<'a>(m: &mut Mapper<'a>, nte: Segment<'_, 'a>) -> &'static [usize] {
    let Some(text) = note_text(nte) else {
        return &[1, 2, 3];
    };
    let Some(target) = m.note_target.filter(|t| takes_notes(t.resource_type(&m.bundle))) else {
        m.warn(nte.location(), "note without a resource that takes notes; not mapped");
        return &[1, 2, 3];
    };
    // A written resource has its notes already.
    let NoteTarget::Tree(target) = target else {
        return &[1, 2, 3];
    };
    match m.bundle.resource_type(target) {
        "Appointment" => append_line(m.bundle.resource_mut(target), "comment", &text),
        "DocumentReference" => append_line(m.bundle.resource_mut(target), "description", &text),
        // R4's DiagnosticReport has no note: a note on its text continues it.
        "DiagnosticReport" => append_line(m.bundle.resource_mut(target), "conclusion", &text),
        _ => add_note(m.bundle.resource_mut(target), text),
    }
    &[1, 2, 3]
}

/// The note that the NTEs among the segments `after` the one making a
/// resource of `resource_type` add to it, as [`map_nte`] and [`add_note`]
/// would: each NTE's text on lines of its own. NTEs go to the resource the
/// last segment that moves their target made, so the reading stops at the
/// first such segment and passes any other.
pub(super) fn notes_ahead(m: &Mapper<'_>, resource_type: &str, after: &[Segment<'_, '_>]) -> Option<String> {
    if !takes_notes(resource_type) {
        return None;
    }
    let mut notes: Option<String> = None;
    for &segment in after {
        if segment.id() == "NTE" {
            match (&mut notes, note_text(segment)) {
                (Some(notes), Some(text)) => {
                    notes.push('\n');
                    notes.push_str(&text);
                }
                (None, text) => notes = text,
                (Some(_), None) => {}
            }
        } else if moves_note_target(m, segment) {
            break;
        }
    }
    notes
}

/// Whether mapping `segment` gives the NTEs after it another resource to
/// add to (or none), told without mapping it: a segment that makes a
/// resource, or ends the patient or the visit. [`Mapper::segment`] checks
/// in debug builds that no other segment moves the target.
pub(super) fn moves_note_target(m: &Mapper<'_>, segment: Segment<'_, '_>) -> bool {
    match segment.id() {
        "PID" | "PV1" | "AL1" | "DG1" | "PR1" | "RXA" | "ORC" | "OBR" | "SPM" | "TXA" | "SCH" => true,
        "IN1" => super::clinical::names_an_insurer(segment),
        "OBX" => match segment.field(2).text_of(1).as_deref() {
            // A document's attachment.
            Some("ED") => super::scheduling::encapsulated_data(segment.field(5)).is_some(),
            Some("RP") => segment.field(5).text_of(1).is_some(),
            // An Observation, or else text for the report's conclusion.
            value_type => {
                names_a_concept(segment.field(3))
                    || (m.report.is_some()
                        && matches!(value_type, None | Some("ST" | "TX" | "FT"))
                        && segment.field(5).repetitions().any(|r| r.text().is_some()))
            }
        },
        _ => false,
    }
}

/// Adds `text` to the resource's note. The zibs allow one note (Observation,
/// Condition, `AllergyIntolerance`, Immunization), so further NTEs continue
/// its text on a new line.
fn add_note(resource: &mut Object<'_>, text: String) {
    let first_text = match resource.get_mut("note") {
        Some(Value::Arr(notes)) => match notes.first_mut() {
            Some(Value::Obj(note)) => note.get_mut("text"),
            _ => None,
        },
        _ => None,
    };
    match first_text {
        Some(Value::Str(existing)) => {
            let joined = existing.to_mut();
            joined.push('\n');
            joined.push_str(&text);
        }
        _ => resource.push_to("note", Object::new().with("text", text)),
    }
}

/// Plain text as a base64 attachment body.
pub(super) fn text_data(text: &str) -> String {
    base64::encode(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::fhir_time;

    #[test]
    fn times_that_exist_and_times_that_do_not() {
        assert_eq!(fhir_time("0930").as_deref(), Some("09:30:00"));
        assert_eq!(fhir_time("093015.25+0100").as_deref(), Some("09:30:15"));
        for bad in ["2561", "12", "0960", "12:30", "abcd", "1230599"] {
            assert_eq!(fhir_time(bad), None, "{bad}");
        }
    }
}
