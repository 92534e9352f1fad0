//! MEDLAB (laboratory results) -> transaction Bundle.
//!
//! Segments: ZKH laboratory (1 name, 2 address, 3 phone), PID/PAD patient,
//! ART requester, AFD department (1 name, 2 phone), ARA responsible
//! physician (1 name, 2 phone), DET sample date and time, IDE (1 complete
//! J/N, 2 laboratory number), BEP determination (1 kind: 0 result,
//! 1 heading; 2 name, 3 value, 4 correction mark, 5 unit, 6 flag, 7 lower
//! and 8 upper limit, 9 code : coding system), OPB comment line on the
//! determination before it, NUB determination not done (1 name), TXT
//! comment on the whole report.

use std::borrow::Cow;

use zorgpoort_model::datatypes::{concept, profiled};
use zorgpoort_model::systems::{self, hl7, profile};
use zorgpoort_model::{EntryRef, Json, Object, Value};

use super::{Finish, Mapper, address, list, numbered_into, peek, phone, text};
use crate::error::Error;
#[cfg(test)]
use crate::error::ErrorKind;
use crate::syntax::{Element, Segment};

/// NHG Tabel 45 (diagnostische bepalingen), the GP laboratory code list.
const NHG_TABLE_45: &str = "urn:oid:2.16.840.1.113883.2.4.4.30.45";

/// The running state of one MEDLAB.
#[derive(Default)]
struct Report {
    lab: Option<Json>,
    department: Option<Json>,
    requester: Option<Json>,
    interpreter: Option<Json>,
    effective: Option<Json>,
    complete: Option<bool>,
    lab_number: Option<String>,
    heading: Option<String>,
    results: Vec<EntryRef>,
    last: Option<EntryRef>,
    comments: Vec<String>,
}

pub(super) fn map(m: &mut Mapper, body: &[Segment<'_>], header: Segment<'_>) -> Result<Finish, Error> {
    let mut report = Report::default();
    for &segment in body {
        map_segment(m, &mut report, segment)?;
    }
    let subject = m.subject(header.location())?;
    // MEDLAB names the requester but not the request: a ServiceRequest
    // carries the requester, and the report and its results are based on it.
    let based_on = match report.requester.clone() {
        Some(requester) => {
            let request = Object::new()
                .with("status", "completed")
                .with("intent", "order")
                .with("subject", subject.clone())
                .with("requester", requester);
            let entry = m.bundle.add("ServiceRequest", "request", request);
            let reference = m.bundle.shared_reference(entry, None);
            for &result in &report.results {
                m.bundle.resource_mut(result).set("basedOn", list(reference.clone()));
            }
            Some(list(reference))
        }
        None => None,
    };
    let status = match report.complete {
        Some(false) => "partial",
        _ => "final",
    };
    let performer: Vec<Value<'static>> = [report.lab.clone(), report.department.clone()]
        .into_iter()
        .flatten()
        .map(Value::from)
        .collect();
    let identifier = report.lab_number.clone().map(|n| {
        vec![
            Object::new()
                .with("type", concept(hl7::V2_0203, "FILL"))
                .with("value", n)
                .with("assigner", report.lab.clone()),
        ]
    });
    let results: Vec<Object<'static>> = report.results.iter().map(|&r| m.bundle.reference(r)).collect();
    let conclusion = report.comments.join("\n");
    let diagnostic = Object::new()
        .with("identifier", identifier)
        .with("basedOn", based_on)
        .with("status", status)
        .with(
            "category",
            vec![concept("http://terminology.hl7.org/CodeSystem/v2-0074", "LAB")],
        )
        .with(
            "code",
            concept(systems::LOINC, "11502-2").with("text", "Laboratoriumuitslagen"),
        )
        .with("subject", subject)
        .with("effectiveDateTime", report.effective.clone())
        .with("issued", m.issued())
        .with("performer", performer)
        .with("resultsInterpreter", report.interpreter.clone().map(list))
        .with("result", results)
        .with("conclusion", (!conclusion.trim().is_empty()).then_some(conclusion));
    m.bundle.add("DiagnosticReport", "report", diagnostic);
    Ok(Finish::Transaction)
}

/// One segment of the message body.
fn map_segment(m: &mut Mapper, report: &mut Report, segment: Segment<'_>) -> Result<(), Error> {
    match segment.tag_bytes() {
        b"ZKH" => {
            let [name, address_element, phone_element] = segment.fields::<3>();
            let name = text(name)?;
            let address = address(address_element, Some("work"))?;
            let telecom = phone(phone_element, Some("work"))?;
            report.lab = Some(m.organization(name, address, telecom, None, segment.location()));
            m.unused(segment, &[1, 2, 3]);
        }
        b"PID" => m.map_pid(segment)?,
        b"PAD" => m.map_pad(segment)?,
        b"ART" => report.requester = Some(m.map_art(segment)?),
        b"AFD" => {
            let [name, phone_element] = segment.fields::<2>();
            let name = text(name)?;
            let telecom = phone(phone_element, Some("work"))?;
            let part_of = report.lab.clone();
            report.department = Some(m.organization(name, None, telecom, part_of, segment.location()));
            m.unused(segment, &[1, 2]);
        }
        b"ARA" => {
            let [name, phone_element] = segment.fields::<2>();
            let name = text(name)?;
            let telecom = phone(phone_element, Some("work"))?;
            report.interpreter = Some(m.named_practitioner(name, telecom, segment.location()));
            m.unused(segment, &[1, 2]);
        }
        b"DET" => {
            report.effective = m.det(segment)?.and_then(Json::of);
            m.unused(segment, &[1, 2]);
        }
        b"IDE" => {
            let [complete, lab_number] = segment.fields::<2>();
            report.complete = peek(complete)?.map(|c| c != "N");
            report.lab_number = text(lab_number)?;
            m.unused(segment, &[1, 2]);
        }
        b"BEP" => map_bep(m, report, segment)?,
        b"OPB" => {
            let line = m.text_line(segment)?;
            match report.last {
                Some(observation) => add_note(m.bundle.resource_mut(observation), line),
                None => report.comments.push(line),
            }
        }
        b"NUB" => map_nub(m, report, segment)?,
        b"TXT" => {
            let line = m.text_line(segment)?;
            report.comments.push(line);
        }
        _ => m.unknown(segment),
    }
    Ok(())
}

/// The zib allows one note: further comment lines continue its text.
pub(super) fn add_note(resource: &mut Object<'static>, line: String) {
    if let Some(Value::Arr(notes)) = resource.get_mut("note") {
        if let Some(Value::Obj(note)) = notes.first_mut() {
            if let Some(Value::Str(existing)) = note.get_mut("text") {
                let joined = existing.to_mut();
                joined.push('\n');
                joined.push_str(&line);
                return;
            }
        }
    }
    if !line.trim().is_empty() {
        resource.push_to("note", Object::new().with("text", line));
    }
}

/// The test code: element 9, component 2 naming the code list.
pub(super) fn test_code(
    m: &mut Mapper,
    code_element: Element<'_>,
    name: Option<String>,
) -> Result<Option<Object<'static>>, Error> {
    let code = text(code_element.component(1))?;
    let code_list = peek(code_element.component(2))?;
    let is = |names: &[&str]| {
        code_list
            .as_deref()
            .is_some_and(|l| names.iter().any(|n| l.eq_ignore_ascii_case(n)))
    };
    let system = if is(&["NHG", "NHG45"]) {
        Some(NHG_TABLE_45)
    } else if is(&["LN", "LOINC"]) {
        Some(systems::LOINC)
    } else {
        None
    };
    let coding = code.map(|code| {
        if system.is_none() {
            m.warn(
                code_element.location(),
                format!(
                    "test code of {} code list; kept without a coding system",
                    code_list
                        .as_deref()
                        .map_or("the sender's own".to_owned(), |l| format!("unknown {l:?}"))
                ),
            );
        }
        Object::new()
            .with("system", system)
            .with("code", code)
            .with("display", name.clone())
    });
    let concept = Object::new().with("coding", coding.map(list)).with("text", name);
    Ok((!concept.is_empty()).then_some(concept))
}

/// Units as the Dutch labs write them, with their UCUM code.
const UCUM_UNITS: &[(&str, &str)] = &[
    ("mmol/l", "mmol/L"),
    ("umol/l", "umol/L"),
    ("µmol/l", "umol/L"),
    ("nmol/l", "nmol/L"),
    ("pmol/l", "pmol/L"),
    ("mol/l", "mol/L"),
    ("mg/l", "mg/L"),
    ("ug/l", "ug/L"),
    ("µg/l", "ug/L"),
    ("g/l", "g/L"),
    ("g/dl", "g/dL"),
    ("mg/dl", "mg/dL"),
    ("u/l", "U/L"),
    ("e/l", "U/L"),
    ("mu/l", "mU/L"),
    ("me/l", "mU/L"),
    ("%", "%"),
    ("fl", "fL"),
    ("pg", "pg"),
    ("l/l", "L/L"),
    ("10^9/l", "10*9/L"),
    ("10e9/l", "10*9/L"),
    ("10^12/l", "10*12/L"),
    ("10e12/l", "10*12/L"),
    ("mm/h", "mm/h"),
    ("mm/uur", "mm/h"),
    ("ml/min", "mL/min"),
    ("ml/min/1.73m2", "mL/min/{1.73_m2}"),
    ("s", "s"),
    ("sec", "s"),
    ("uur", "h"),
    ("mmol/mol", "mmol/mol"),
    ("mg/mmol", "mg/mmol"),
];

/// A Quantity with the unit, coded in UCUM where the unit is known.
fn quantity(value: Value<'static>, unit: Option<&str>) -> Object<'static> {
    let known = unit.and_then(|u| {
        // The table is ASCII apart from 'µ', which has no upper case: an
        // ASCII unit compares without lower-casing a copy.
        if u.is_ascii() {
            UCUM_UNITS.iter().find(|(k, _)| k.eq_ignore_ascii_case(u))
        } else {
            let lower = u.to_lowercase();
            UCUM_UNITS.iter().find(|(k, _)| *k == lower)
        }
    });
    let ucum = known.map(|(_, code)| *code);
    // A unit written as in the table is the table's text: no copy.
    let unit_text: Option<Value<'static>> = unit.map(|u| match known {
        Some((k, _)) if *k == u => Value::from(*k),
        _ => Value::from(u.to_owned()),
    });
    Object::new()
        .with("value", value)
        .with("unit", unit_text)
        .with("system", ucum.map(|_| systems::UCUM))
        .with("code", ucum)
}

/// A number in either decimal notation (`7.4`, `7,4`).
fn decimal(text: &str) -> Option<Value<'static>> {
    let text = text.trim();
    if text.contains(',') {
        Value::number(&text.replace(',', "."))
    } else {
        Value::number(text)
    }
}

/// The value of a determination as `value[x]`.
fn value(text: &str, unit: Option<&str>) -> (&'static str, Value<'static>) {
    if let Some(number) = decimal(text) {
        return ("valueQuantity", Value::Obj(quantity(number, unit)));
    }
    for comparator in ["<=", ">=", "<", ">"] {
        if let Some(number) = text.strip_prefix(comparator).and_then(decimal) {
            return (
                "valueQuantity",
                Value::Obj(quantity(number, unit).with("comparator", comparator)),
            );
        }
    }
    let coded = match text.to_lowercase().as_str() {
        "pos" | "positief" | "positive" => Some(("10828004", "Positive")),
        "neg" | "negatief" | "negative" => Some(("260385009", "Negative")),
        _ => None,
    };
    if let Some((code, display)) = coded {
        let coding = Object::new()
            .with("system", systems::SNOMED)
            .with("code", code)
            .with("display", display);
        return (
            "valueCodeableConcept",
            Value::Obj(Object::new().with("coding", list(coding)).with("text", text.to_owned())),
        );
    }
    ("valueString", Value::from(text.to_owned()))
}

/// The abnormal flag as a v3 `ObservationInterpretation` code.
fn interpretation(flag: &str) -> Option<(&'static str, &'static str)> {
    match flag {
        "H" | "+" | ">" | "*H" => Some(("H", "High")),
        "L" | "-" | "<" | "*L" => Some(("L", "Low")),
        "HH" | "++" => Some(("HH", "Critical high")),
        "LL" | "--" => Some(("LL", "Critical low")),
        "A" | "*" | "!" => Some(("A", "Abnormal")),
        "N" => Some(("N", "Normal")),
        _ => None,
    }
}

fn map_bep(m: &mut Mapper, report: &mut Report, bep: Segment<'_>) -> Result<(), Error> {
    let fields = bep.fields::<9>();
    let kind = peek(fields[0])?;
    let name = text(fields[1])?;
    if kind.as_deref() == Some("1") {
        report.heading = name;
        report.last = None;
        m.unused(bep, &[1, 2]);
        return Ok(());
    }
    if kind.as_deref().is_some_and(|k| k != "0") {
        m.warn(
            bep.location().with_element(1),
            "unknown determination kind; read as a result",
        );
    }
    let Some(code) = test_code(m, fields[8], name)? else {
        m.warn(bep.location(), "determination without a name or code; not mapped");
        m.unused(bep, &[1, 2, 9]);
        return Ok(());
    };
    let unit = peek(fields[4])?;
    let value_text = peek(fields[2])?;
    let corrected = !fields[3].is_empty();
    let flag = peek(fields[5])?;
    let interpretation = flag.as_deref().map(|flag| {
        if let Some((code, display)) = interpretation(flag) {
            list(
                Object::new().with(
                    "coding",
                    list(
                        Object::new()
                            .with("system", hl7::V3_OBSERVATION_INTERPRETATION)
                            .with("code", code)
                            .with("display", display),
                    ),
                ),
            )
        } else {
            m.warn(bep.location().with_element(6), "unknown result flag; kept as text");
            list(Object::new().with("text", flag.to_owned()))
        }
    });
    let low = peek(fields[6])?;
    let high = peek(fields[7])?;
    let bound = |t: &Option<Cow<'_, str>>| t.as_deref().and_then(decimal).map(|v| quantity(v, unit.as_deref()));
    let range = match (bound(&low), bound(&high)) {
        (None, None) if low.is_none() && high.is_none() => None,
        (None, None) => Some(
            Object::new().with(
                "text",
                [low.as_deref(), high.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" - "),
            ),
        ),
        (low_q, high_q) => Some(Object::new().with("low", low_q).with("high", high_q)),
    };
    let lab_category = Value::Obj(concept(hl7::OBSERVATION_CATEGORY, "laboratory"));
    let heading = report
        .heading
        .clone()
        .map(|h| Value::Obj(Object::new().with("text", h)));
    let mut observation = profiled(profile::LAB_RESULT)
        .with("status", if corrected { "corrected" } else { "final" })
        .with(
            "category",
            [Some(lab_category), heading].into_iter().flatten().collect::<Vec<_>>(),
        )
        .with("code", code)
        .with("subject", m.subject(bep.location())?)
        .with("effectiveDateTime", report.effective.clone())
        .with("issued", m.issued())
        .with("performer", report.lab.clone().map(list));
    match value_text {
        Some(v) => {
            let (key, value) = value(&v, unit.as_deref());
            observation.set(key, value);
        }
        None => observation.set(
            "dataAbsentReason",
            concept("http://terminology.hl7.org/CodeSystem/data-absent-reason", "unknown"),
        ),
    }
    observation.set("interpretation", interpretation);
    observation.set("referenceRange", range.map(list));
    let key = numbered_into(&mut m.key, &["BEP/"], bep.location().segment);
    let entry = m.bundle.add("Observation", key, observation);
    report.results.push(entry);
    report.last = Some(entry);
    m.unused(bep, &[1, 2, 3, 4, 5, 6, 7, 8, 9]);
    Ok(())
}

/// NUB: a determination that was requested but not done.
fn map_nub(m: &mut Mapper, report: &mut Report, nub: Segment<'_>) -> Result<(), Error> {
    let Some(name) = text(nub.element(1))? else {
        m.warn(nub.location(), "determination not done, without a name; not mapped");
        return Ok(());
    };
    let observation = profiled(profile::LAB_RESULT)
        .with("status", "cancelled")
        .with("category", list(concept(hl7::OBSERVATION_CATEGORY, "laboratory")))
        .with("code", Object::new().with("text", name))
        .with("subject", m.subject(nub.location())?)
        .with("effectiveDateTime", report.effective.clone())
        .with(
            "dataAbsentReason",
            concept(
                "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                "not-performed",
            ),
        );
    let entry = m.bundle.add(
        "Observation",
        numbered_into(&mut m.key, &["NUB/"], nub.location().segment),
        observation,
    );
    report.results.push(entry);
    report.last = None;
    m.unused(nub, &[1]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_become_quantities_codes_or_text() {
        assert_eq!(value("7,4", Some("mmol/l")).0, "valueQuantity");
        let (_, v) = value("<5", Some("mg/l"));
        let mut json = String::new();
        v.write(&mut json);
        assert_eq!(
            json,
            r#"{"value":5,"unit":"mg/l","system":"http://unitsofmeasure.org","code":"mg/L","comparator":"<"}"#
        );
        assert_eq!(value("NEG", None).0, "valueCodeableConcept");
        assert_eq!(value("Zie onder", None).0, "valueString");
    }

    #[test]
    fn missing_pid_is_an_error_kind() {
        assert_eq!(
            ErrorKind::MissingSegment("PID").to_string(),
            "required segment PID is missing"
        );
    }
}
