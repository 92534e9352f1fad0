//! MEDLAB (laboratory results) -> transaction Bundle.
//!
//! Segments: ZKH laboratory (1 name, 2 address, 3 phone), PID/PAD patient,
//! ART requester, AFD department (1 name, 2 phone), ARA responsible
//! physician (1 name, 2 phone), DET sample date and time, IDE (1 complete
//! J/N, 2 laboratory number), BEP determination (1 kind: 0 result,
//! 1 heading; 2 name, 3 value, 4 correction mark, 5 unit, 6 flag, 7 lower
//! and 8 upper limit, 9 code : coding system), OPB comment line on the
//! result before it (after a heading, an unnamed determination or a NUB:
//! on the whole report), NUB determination not done (1 name), TXT comment
//! on the whole report.

use std::borrow::Cow;
use std::sync::LazyLock;

use zorgpoort_model::datatypes::{coding, profile_meta};
use zorgpoort_model::systems::{self, hl7, profile};
use zorgpoort_model::{FullUrl, Json, Object, ObjectWriter, Value, WrittenRef};

use super::{Finish, Mapper, address, concept, joined, line, numbered_into, peek, phone};
use crate::error::Error;
#[cfg(test)]
use crate::error::ErrorKind;
use crate::syntax::{Element, Segment};

/// NHG Tabel 45 (diagnostische bepalingen), the GP laboratory code list.
const NHG_TABLE_45: &str = "urn:oid:2.16.840.1.113883.2.4.4.30.45";
/// The code system of `dataAbsentReason`.
const DATA_ABSENT_REASON: &str = "http://terminology.hl7.org/CodeSystem/data-absent-reason";

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
    /// The `ServiceRequest` every result is based on, when ART names a requester.
    based_on: Option<Json>,
    results: Vec<WrittenRef>,
    /// OPB lines belong to the result before them (read with it), not to
    /// the report.
    after_result: bool,
    comments: Vec<String>,
}

/// A CodeableConcept of one coding, written once for the codes that every
/// message or result repeats.
fn fixed_concept(system: &str, code: &str, display: Option<&str>, text: Option<&str>) -> Option<Json> {
    Json::of(
        Object::new()
            .with("coding", vec![coding(system, code).with("display", display)])
            .with("text", text),
    )
}

/// Every result's category.
static LAB_CATEGORY: LazyLock<Option<Json>> =
    LazyLock::new(|| fixed_concept(hl7::OBSERVATION_CATEGORY, "laboratory", None, None));
/// The report's category.
static REPORT_CATEGORY: LazyLock<Option<Json>> =
    LazyLock::new(|| fixed_concept("http://terminology.hl7.org/CodeSystem/v2-0074", "LAB", None, None));
/// The report's code.
static REPORT_CODE: LazyLock<Option<Json>> =
    LazyLock::new(|| fixed_concept(systems::LOINC, "11502-2", None, Some("Laboratoriumuitslagen")));

/// The key of the `ServiceRequest` a MEDLAB with a requester gets.
const REQUEST_KEY: &str = "request";

pub(super) fn map(m: &mut Mapper, body: &[Segment<'_>], header: Segment<'_>) -> Result<Finish, Error> {
    // MEDLAB names the requester but not the request: a ServiceRequest
    // carries the requester, and the report and its results are based on
    // it. It is added last, so its reference is made before.
    let mut report = Report {
        based_on: body
            .iter()
            .any(|s| s.tag_bytes() == b"ART")
            .then(|| m.bundle.planned_reference("ServiceRequest", REQUEST_KEY)),
        ..Report::default()
    };
    for (i, &segment) in body.iter().enumerate() {
        map_segment(m, &mut report, segment, &body[i + 1..])?;
    }
    let subject = m.subject(header.location())?;
    if let Some(requester) = &report.requester {
        let mut request = m.bundle.writer("ServiceRequest", REQUEST_KEY);
        request
            .fields()
            .field("status", "completed")
            .field("intent", "order")
            .field("subject", &subject)
            .field("requester", requester);
        request.finish();
    }
    let status = match report.complete {
        Some(false) => "partial",
        _ => "final",
    };
    let conclusion = joined(&report.comments);
    let results: Vec<FullUrl> = report.results.iter().map(|&entry| m.bundle.full_url(entry)).collect();
    let mut diagnostic = m.bundle.writer("DiagnosticReport", "report");
    let mut w = diagnostic.fields();
    if let Some(lab_number) = &report.lab_number {
        w.list("identifier", |identifier| {
            identifier
                .object("type", |t| concept(t, hl7::V2_0203, "FILL", None))
                .field("value", lab_number.as_str())
                .field("assigner", report.lab.as_ref());
        });
    }
    w.list_item("basedOn", report.based_on.as_ref())
        .field("status", status)
        .list_item("category", REPORT_CATEGORY.as_ref())
        .field("code", REPORT_CODE.as_ref())
        .field("subject", subject)
        .field("effectiveDateTime", report.effective.as_ref())
        .field("issued", m.issued.as_ref())
        .array("performer", |performer| {
            performer.item(report.lab.as_ref()).item(report.department.as_ref());
        })
        .list_item("resultsInterpreter", report.interpreter.as_ref())
        .array("result", |result| {
            for full_url in &results {
                result.object(|r| {
                    r.field("reference", full_url.as_str());
                });
            }
        })
        .field("conclusion", conclusion);
    diagnostic.finish();
    Ok(Finish::Transaction)
}

impl Report {
    /// Whether the report already holds what a segment that occurs once
    /// per report (lab, department, requester, interpreter, time, lab
    /// number) would set.
    fn has(&self, tag: &[u8]) -> bool {
        match tag {
            b"ZKH" => self.lab.is_some(),
            b"AFD" => self.department.is_some(),
            b"ART" => self.requester.is_some(),
            b"ARA" => self.interpreter.is_some(),
            b"DET" => self.effective.is_some(),
            b"IDE" => self.complete.is_some() || self.lab_number.is_some(),
            _ => false,
        }
    }
}

/// One segment of the message body; `rest` are the segments after it.
fn map_segment(m: &mut Mapper, report: &mut Report, segment: Segment<'_>, rest: &[Segment<'_>]) -> Result<(), Error> {
    if report.has(segment.tag_bytes()) {
        // Neither replaces the first silently nor makes a resource that
        // nothing references.
        let text = format!("a second {}: the report has one; the first is kept", segment.tag());
        m.warn(segment.location(), text);
        return Ok(());
    }
    match segment.tag_bytes() {
        b"ZKH" => {
            let [name, address_element, phone_element] = segment.fields::<3>();
            let name = peek(name)?;
            let address = address(address_element, Some("work"))?;
            let telecom = phone(phone_element, Some("work"))?;
            report.lab = m.organization(
                name.as_deref(),
                address.as_ref(),
                telecom.as_ref(),
                None,
                segment.location(),
            );
            m.unused(segment, &[1, 2, 3]);
        }
        b"PID" => m.map_pid(segment, rest)?,
        b"PAD" => m.map_pad(segment),
        b"ART" => report.requester = Some(m.map_art(segment)?),
        b"AFD" => {
            let [name, phone_element] = segment.fields::<2>();
            let name = peek(name)?;
            let telecom = phone(phone_element, Some("work"))?;
            let part_of = report.lab.clone();
            report.department = m.organization(name.as_deref(), None, telecom.as_ref(), part_of, segment.location());
            m.unused(segment, &[1, 2]);
        }
        b"ARA" => {
            let [name, phone_element] = segment.fields::<2>();
            let name = peek(name)?;
            let telecom = phone(phone_element, Some("work"))?;
            report.interpreter = Some(m.named_practitioner(name.as_deref(), telecom.as_ref(), segment.location()));
            m.unused(segment, &[1, 2]);
        }
        b"DET" => {
            report.effective = m.det(segment)?.and_then(Json::of);
            m.unused(segment, &[1, 2]);
        }
        b"IDE" => {
            let [complete, lab_number] = segment.fields::<2>();
            report.complete = peek(complete)?.map(|c| c != "N");
            report.lab_number = peek(lab_number)?.map(Cow::into_owned);
            m.unused(segment, &[1, 2]);
        }
        b"BEP" => map_bep(m, report, segment, rest)?,
        b"OPB" => {
            if report.after_result {
                m.unused(segment, &[1]);
            } else {
                let line = m.text_line(segment)?;
                report.comments.push(line);
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

/// The note of a result: its OPB lines (in `rest`, up to the next
/// determination) as one text, as the zib allows one note. Leading empty
/// lines are left out.
fn note(rest: &[Segment<'_>]) -> Result<Option<String>, Error> {
    let mut note: Option<String> = None;
    for opb in rest
        .iter()
        .take_while(|s| !matches!(s.tag_bytes(), b"BEP" | b"NUB"))
        .filter(|s| s.tag_bytes() == b"OPB")
    {
        let line = line(*opb)?;
        match &mut note {
            Some(text) => {
                text.push('\n');
                text.push_str(&line);
            }
            None if !line.trim().is_empty() => note = Some(line),
            None => {}
        }
    }
    Ok(note)
}

/// What a BEP's name and element 9 (code : code list) say the test is.
pub(super) struct TestCode<'e> {
    code: Option<Cow<'e, str>>,
    system: Option<&'static str>,
    name: Option<Cow<'e, str>>,
}

impl<'e> TestCode<'e> {
    /// The test code of element 9, component 2 naming the code list; `None`
    /// without a name or a code.
    pub(super) fn read(
        m: &mut Mapper,
        code_element: Element<'e>,
        name: Option<Cow<'e, str>>,
    ) -> Result<Option<Self>, Error> {
        let code = peek(code_element.component(1))?;
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
        if code.is_some() && system.is_none() {
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
        Ok((code.is_some() || name.is_some()).then_some(Self { code, system, name }))
    }

    /// The CodeableConcept's fields.
    pub(super) fn write(&self, w: &mut ObjectWriter<'_>) {
        if let Some(code) = &self.code {
            w.list("coding", |coding| {
                coding
                    .field("system", self.system)
                    .field("code", code.as_ref())
                    .field("display", self.name.as_deref());
            });
        }
        w.field("text", self.name.as_deref());
    }
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

/// A Quantity's fields, with the unit coded in UCUM where it is known.
fn quantity(w: &mut ObjectWriter<'_>, value: Value<'_>, unit: Option<&str>) {
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
    w.field("value", value)
        .field("unit", unit)
        .field("system", ucum.map(|_| systems::UCUM))
        .field("code", ucum);
}

/// A number in either decimal notation (`7.4`, `7,4`).
fn decimal(text: &str) -> Option<Value<'_>> {
    let text = text.trim();
    if text.contains(',') {
        Value::number(&text.replace(',', "."))
    } else {
        Value::number_borrowed(text)
    }
}

/// The value of a determination as `value[x]`.
fn value(w: &mut ObjectWriter<'_>, text: &str, unit: Option<&str>) {
    if let Some(number) = decimal(text) {
        w.object("valueQuantity", |q| quantity(q, number, unit));
        return;
    }
    for comparator in ["<=", ">=", "<", ">"] {
        if let Some(number) = text.strip_prefix(comparator).and_then(decimal) {
            w.object("valueQuantity", |q| {
                quantity(q, number, unit);
                q.field("comparator", comparator);
            });
            return;
        }
    }
    let coded = match text.to_lowercase().as_str() {
        "pos" | "positief" | "positive" => Some(("10828004", "Positive")),
        "neg" | "negatief" | "negative" => Some(("260385009", "Negative")),
        _ => None,
    };
    match coded {
        Some((code, display)) => w.object("valueCodeableConcept", |c| {
            concept(c, systems::SNOMED, code, Some(display));
            c.field("text", text);
        }),
        None => w.field("valueString", text),
    };
}

/// The v3 `ObservationInterpretation` codes the abnormal flags map to.
const INTERPRETATION_CODES: [(&str, &str); 6] = [
    ("H", "High"),
    ("L", "Low"),
    ("HH", "Critical high"),
    ("LL", "Critical low"),
    ("A", "Abnormal"),
    ("N", "Normal"),
];

/// [`INTERPRETATION_CODES`] as `CodeableConcept`s, written once.
static INTERPRETATIONS: LazyLock<[Option<Json>; 6]> = LazyLock::new(|| {
    INTERPRETATION_CODES
        .map(|(code, display)| fixed_concept(hl7::V3_OBSERVATION_INTERPRETATION, code, Some(display), None))
});

/// The abnormal flag as a v3 `ObservationInterpretation` concept.
fn interpretation(flag: &str) -> Option<&'static Json> {
    let index = match flag {
        "H" | "+" | ">" | "*H" => 0,
        "L" | "-" | "<" | "*L" => 1,
        "HH" | "++" => 2,
        "LL" | "--" => 3,
        "A" | "*" | "!" => 4,
        "N" => 5,
        _ => return None,
    };
    INTERPRETATIONS[index].as_ref()
}

/// The reference range of BEP elements 7 and 8: quantities where both are
/// numbers, else the text.
fn reference_range(w: &mut ObjectWriter<'_>, low: Option<&str>, high: Option<&str>, unit: Option<&str>) {
    let (low_q, high_q) = (low.and_then(decimal), high.and_then(decimal));
    if low_q.is_none() && high_q.is_none() {
        let text = [low, high].into_iter().flatten().collect::<Vec<_>>().join(" - ");
        w.field("text", text);
        return;
    }
    if let Some(low) = low_q {
        w.object("low", |q| quantity(q, low, unit));
    }
    if let Some(high) = high_q {
        w.object("high", |q| quantity(q, high, unit));
    }
}

/// The fields every lab result starts with: profile, status, category.
fn lab_result_start(w: &mut ObjectWriter<'_>, status: &str, heading: Option<&str>) {
    w.field("meta", profile_meta(profile::LAB_RESULT))
        .field("status", status)
        .array("category", |category| {
            category.item(LAB_CATEGORY.as_ref()).object(|c| {
                c.field("text", heading);
            });
        });
}

fn map_bep(m: &mut Mapper, report: &mut Report, bep: Segment<'_>, rest: &[Segment<'_>]) -> Result<(), Error> {
    let fields = bep.fields::<9>();
    let kind = peek(fields[0])?;
    let name = peek(fields[1])?;
    report.after_result = false;
    if kind.as_deref() == Some("1") {
        report.heading = name.map(Cow::into_owned);
        m.unused(bep, &[1, 2]);
        return Ok(());
    }
    if kind.as_deref().is_some_and(|k| k != "0") {
        m.warn(
            bep.location().with_element(1),
            "unknown determination kind; read as a result",
        );
    }
    let Some(code) = TestCode::read(m, fields[8], name)? else {
        m.warn(bep.location(), "determination without a name or code; not mapped");
        m.unused(bep, &[1, 2, 9]);
        return Ok(());
    };
    let unit = peek(fields[4])?;
    let value_text = peek(fields[2])?;
    let corrected = !fields[3].is_empty();
    let flag = peek(fields[5])?;
    let interpretation = flag.as_deref().map(|flag| {
        let found = interpretation(flag);
        if found.is_none() {
            m.warn(bep.location().with_element(6), "unknown result flag; kept as text");
        }
        (flag, found)
    });
    let low = peek(fields[6])?;
    let high = peek(fields[7])?;
    let note = note(rest)?;
    let subject = m.subject(bep.location())?;
    let key = numbered_into(&mut m.key, &["BEP/"], bep.location().segment);
    let mut observation = m.bundle.writer("Observation", key);
    let mut w = observation.fields();
    lab_result_start(
        &mut w,
        if corrected { "corrected" } else { "final" },
        report.heading.as_deref(),
    );
    w.object("code", |c| code.write(c))
        .field("subject", subject)
        .field("effectiveDateTime", report.effective.as_ref())
        .field("issued", m.issued.as_ref())
        .list_item("performer", report.lab.as_ref());
    match &value_text {
        Some(v) => value(&mut w, v, unit.as_deref()),
        None => {
            w.object("dataAbsentReason", |c| concept(c, DATA_ABSENT_REASON, "unknown", None));
        }
    }
    match interpretation {
        Some((_, Some(coded))) => {
            w.list_item("interpretation", coded);
        }
        Some((flag, None)) => {
            w.list("interpretation", |i| {
                i.field("text", flag);
            });
        }
        None => {}
    }
    if low.is_some() || high.is_some() {
        w.list("referenceRange", |r| {
            reference_range(r, low.as_deref(), high.as_deref(), unit.as_deref());
        });
    }
    w.list("note", |n| {
        n.field("text", note);
    })
    .list_item("basedOn", report.based_on.as_ref());
    let entry = observation.finish();
    report.results.push(entry);
    report.after_result = true;
    m.unused(bep, &[1, 2, 3, 4, 5, 6, 7, 8, 9]);
    Ok(())
}

/// NUB: a determination that was requested but not done.
fn map_nub(m: &mut Mapper, report: &mut Report, nub: Segment<'_>) -> Result<(), Error> {
    report.after_result = false;
    let Some(name) = peek(nub.element(1))? else {
        m.warn(nub.location(), "determination not done, without a name; not mapped");
        return Ok(());
    };
    let subject = m.subject(nub.location())?;
    let key = numbered_into(&mut m.key, &["NUB/"], nub.location().segment);
    let mut observation = m.bundle.writer("Observation", key);
    let mut w = observation.fields();
    lab_result_start(&mut w, "cancelled", None);
    w.object("code", |c| {
        c.field("text", name.as_ref());
    })
    .field("subject", subject)
    .field("effectiveDateTime", report.effective.as_ref())
    .object("dataAbsentReason", |c| {
        concept(c, DATA_ABSENT_REASON, "not-performed", None);
    })
    .list_item("basedOn", report.based_on.as_ref());
    let entry = observation.finish();
    report.results.push(entry);
    m.unused(nub, &[1]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_become_quantities_codes_or_text() {
        let written = |text: &str, unit: Option<&str>| {
            let mut bundle = zorgpoort_model::TransactionBuilder::new(zorgpoort_model::IdGenerator::new("LAB", "1"));
            let mut resource = bundle.writer("Observation", "1");
            value(&mut resource.fields(), text, unit);
            let entry = resource.finish();
            let json: serde_json::Value = serde_json::from_str(&bundle.finish("1").to_json()).unwrap();
            let _ = entry;
            json["entry"][0]["resource"].clone()
        };
        assert!(written("7,4", Some("mmol/l"))["valueQuantity"].is_object());
        assert_eq!(
            written("<5", Some("mg/l"))["valueQuantity"],
            serde_json::json!({"value":5,"unit":"mg/l","system":"http://unitsofmeasure.org","code":"mg/L","comparator":"<"})
        );
        assert!(written("NEG", None)["valueCodeableConcept"].is_object());
        assert_eq!(written("Zie onder", None)["valueString"], "Zie onder");
    }

    #[test]
    fn missing_pid_is_an_error_kind() {
        assert_eq!(
            ErrorKind::MissingSegment("PID").to_string(),
            "required segment PID is missing"
        );
    }
}
