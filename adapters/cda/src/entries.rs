//! The document body: sections with their narrative, and the structured
//! entries of the sections we recognise (by LOINC section code or C-CDA
//! template) as FHIR resources the sections point at.

use roxmltree::Node;
use zorgpoort_model::datatypes::{concept, meta};
use zorgpoort_model::systems::{hl7, profile};
use zorgpoort_model::{EntryRef, Object, Value};

use crate::allergies;
use crate::context::{Ctx, MAX_RECURSION};
use crate::datatypes::absent_reason;
use crate::directives;
use crate::equipment;
use crate::error::Error;
use crate::family;
use crate::header::{organization, practitioner_role};
use crate::narrative;
use crate::payers;
use crate::social;
use crate::status;
use crate::values::{quantity, value_x};
use crate::xml::{self, at, attr, child, children, has_template};

/// The kinds of section whose entries become resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Problems,
    Allergies,
    Medications,
    Results,
    VitalSigns,
    Procedures,
    Encounters,
    Immunizations,
    PlanOfCare,
    /// Diagnoses of the encounter the document is about, in the role the
    /// section gives them (`Encounter.diagnosis.use`: AD, DD, pre-op, post-op).
    Diagnoses(&'static str),
    SocialHistory,
    /// Functional (false) or mental (true) status.
    Status(bool),
    AdvanceDirectives,
    MedicalEquipment,
    Payers,
    FamilyHistory,
    Other,
}

/// LOINC section codes and C-CDA section template roots (with and without
/// "entries required") per kind.
const KINDS: &[(Kind, &[&str], &[&str])] = &[
    (
        Kind::Problems,
        &["11450-4"],
        &["2.16.840.1.113883.10.20.22.2.5", "2.16.840.1.113883.10.20.22.2.5.1"],
    ),
    (
        Kind::Allergies,
        &["48765-2"],
        &["2.16.840.1.113883.10.20.22.2.6", "2.16.840.1.113883.10.20.22.2.6.1"],
    ),
    (
        Kind::Medications,
        &["10160-0", "29549-3", "10183-2", "75311-1", "42346-7"],
        &[
            "2.16.840.1.113883.10.20.22.2.1",
            "2.16.840.1.113883.10.20.22.2.1.1",
            // Hospital Discharge Medications Section.
            "2.16.840.1.113883.10.20.22.2.11",
            "2.16.840.1.113883.10.20.22.2.11.1",
            // Admission Medications Section.
            "2.16.840.1.113883.10.20.22.2.44",
        ],
    ),
    (
        Kind::Results,
        &["30954-2"],
        &["2.16.840.1.113883.10.20.22.2.3", "2.16.840.1.113883.10.20.22.2.3.1"],
    ),
    (
        Kind::VitalSigns,
        &["8716-3"],
        &["2.16.840.1.113883.10.20.22.2.4", "2.16.840.1.113883.10.20.22.2.4.1"],
    ),
    (
        Kind::Procedures,
        &["47519-4"],
        &["2.16.840.1.113883.10.20.22.2.7", "2.16.840.1.113883.10.20.22.2.7.1"],
    ),
    (
        Kind::Encounters,
        &["46240-8"],
        &["2.16.840.1.113883.10.20.22.2.22", "2.16.840.1.113883.10.20.22.2.22.1"],
    ),
    (
        Kind::Immunizations,
        &["11369-6"],
        &["2.16.840.1.113883.10.20.22.2.2", "2.16.840.1.113883.10.20.22.2.2.1"],
    ),
    (Kind::PlanOfCare, &["18776-5"], &["2.16.840.1.113883.10.20.22.2.10"]),
    (Kind::SocialHistory, &["29762-2"], &["2.16.840.1.113883.10.20.22.2.17"]),
    (Kind::Status(false), &["47420-5"], &["2.16.840.1.113883.10.20.22.2.14"]),
    (Kind::Status(true), &["10190-7"], &["2.16.840.1.113883.10.20.22.2.56"]),
    (Kind::Payers, &["48768-6"], &["2.16.840.1.113883.10.20.22.2.18"]),
    (Kind::FamilyHistory, &["10157-6"], &["2.16.840.1.113883.10.20.22.2.15"]),
    (
        Kind::MedicalEquipment,
        &["46264-8"],
        &["2.16.840.1.113883.10.20.22.2.23"],
    ),
    (
        Kind::AdvanceDirectives,
        &["42348-3"],
        &["2.16.840.1.113883.10.20.22.2.21", "2.16.840.1.113883.10.20.22.2.21.1"],
    ),
    (
        Kind::Diagnoses("AD"),
        &["46241-6", "42347-5"],
        &["2.16.840.1.113883.10.20.22.2.43"],
    ),
    (
        Kind::Diagnoses("DD"),
        &["11535-2"],
        &["2.16.840.1.113883.10.20.22.2.24"],
    ),
    (
        Kind::Diagnoses("pre-op"),
        &["10219-4"],
        &["2.16.840.1.113883.10.20.22.2.34"],
    ),
    (
        Kind::Diagnoses("post-op"),
        &["10218-6", "59769-0"],
        &["2.16.840.1.113883.10.20.22.2.35", "2.16.840.1.113883.10.20.22.2.36"],
    ),
];

fn kind_of(section: Node<'_, '_>) -> Kind {
    let code = child(section, "code").and_then(|c| attr(c, "code"));
    for &(kind, codes, templates) in KINDS {
        if code.is_some_and(|c| codes.contains(&c)) || templates.iter().any(|t| has_template(section, t)) {
            return kind;
        }
    }
    Kind::Other
}

/// The Composition's sections from `component/structuredBody`, or one
/// section pointing at a `DocumentReference` for a `nonXMLBody`.
pub fn sections(ctx: &mut Ctx<'_, '_>, root: Node<'_, '_>) -> Result<Vec<Object<'static>>, Error> {
    let Some(component) = child(root, "component") else {
        return Ok(Vec::new());
    };
    if let Some(body) = child(component, "structuredBody") {
        let mut out = Vec::new();
        for (i, section) in children(body, "component")
            .filter_map(|c| child(c, "section"))
            .enumerate()
        {
            out.push(section_of(ctx, section, &format!("s{}", i + 1), 1)?);
        }
        ctx.warn_unmapped(body, &["component"]);
        return Ok(out);
    }
    if let Some(body) = child(component, "nonXMLBody") {
        return Ok(non_xml_body(ctx, body).into_iter().collect());
    }
    ctx.warn(
        component,
        "document body is neither structuredBody nor nonXMLBody; not mapped",
    );
    Ok(Vec::new())
}

/// An unstructured document: the attachment as a `DocumentReference`.
fn non_xml_body(ctx: &mut Ctx<'_, '_>, body: Node<'_, '_>) -> Option<Object<'static>> {
    let Some(text) = child(body, "text") else {
        ctx.warn(body, "nonXMLBody without text not mapped");
        return None;
    };
    let media_type = attr(text, "mediaType").unwrap_or("text/plain");
    let url = child(text, "reference")
        .and_then(|r| attr(r, "value"))
        .map(str::to_owned);
    let data = if url.is_some() {
        None
    } else if text.attribute("representation") == Some("B64") {
        let raw = text.text().unwrap_or_default();
        let data: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
        if zorgpoort_model::base64::is_base64(&data) {
            Some(data)
        } else {
            ctx.warn(text, "nonXMLBody content is not valid base64; not mapped");
            None
        }
    } else {
        xml::text(text).map(|t| zorgpoort_model::base64::encode(t.as_bytes()))
    };
    if url.is_none() && data.is_none() {
        return None;
    }
    let attachment = Object::new()
        .with("contentType", media_type.to_owned())
        .with("data", data)
        .with("url", url);
    let reference = Object::new()
        .with("status", "current")
        .with("subject", ctx.subject())
        .with("content", vec![Object::new().with("attachment", attachment)]);
    let entry = ctx.bundle.add("DocumentReference", "nonXMLBody", reference);
    let summary = format!("The document content is attached ({media_type}).");
    Some(
        Object::new()
            .with("title", "Document")
            .with(
                "text",
                Object::new()
                    .with("status", "generated")
                    .with("div", narrative::plain(&summary)),
            )
            .with("entry", vec![ctx.bundle.reference(entry)]),
    )
}

const SECTION_HANDLED: &[&str] = &[
    "id",
    "code",
    "title",
    "text",
    "entry",
    "component",
    "languageCode",
    "confidentialityCode",
];

fn section_of(ctx: &mut Ctx<'_, '_>, node: Node<'_, '_>, key: &str, depth: usize) -> Result<Object<'static>, Error> {
    let kind = kind_of(node);
    let title = child(node, "title").and_then(xml::text);
    let code = ctx.concept(child(node, "code"));
    let div = match child(node, "text") {
        Some(text) => narrative::to_xhtml(ctx, text),
        None => None,
    };
    let mut references = Vec::new();
    // Named once: a section may hold thousands of entries.
    let unmapped = (kind == Kind::Other).then(|| section_name(node));
    for (j, entry) in children(node, "entry").enumerate() {
        if let Some(section) = &unmapped {
            let statement = entry.children().find(|c| c.is_element() && !xml::is(*c, "templateId"));
            let message = format!("entry of a section this adapter does not map{section}; its narrative is kept");
            ctx.warn(statement.unwrap_or(entry), message);
            continue;
        }
        let entry_key = format!("{key}.e{}", j + 1);
        for made in map_entry(ctx, kind, entry, &entry_key)? {
            references.push(ctx.bundle.reference(made));
        }
    }
    let mut nested = Vec::new();
    for (j, sub) in children(node, "component")
        .filter_map(|c| child(c, "section"))
        .enumerate()
    {
        if depth >= MAX_RECURSION {
            ctx.warn(sub, "section nested too deep; not mapped");
            continue;
        }
        nested.push(section_of(ctx, sub, &format!("{key}.s{}", j + 1), depth + 1)?);
    }
    let empty = div.is_none() && references.is_empty() && nested.is_empty();
    let (empty_reason, text) = if empty {
        // cmp-1: a section has text, entries or sections; an empty one says
        // so in its narrative (status `empty`) besides its emptyReason.
        let (code, says) = if node.attribute("nullFlavor").is_some() {
            ("unavailable", "Information unavailable")
        } else {
            ("nilknown", "Nothing to report")
        };
        let div = format!("<div xmlns=\"http://www.w3.org/1999/xhtml\">{says}</div>");
        (
            Some(concept("http://terminology.hl7.org/CodeSystem/list-empty-reason", code)),
            Some(Object::new().with("status", "empty").with("div", div)),
        )
    } else {
        (
            None,
            div.map(|d| Object::new().with("status", "generated").with("div", d)),
        )
    };
    ctx.warn_unmapped(node, SECTION_HANDLED);
    Ok(Object::new()
        .with("title", title)
        .with("code", code)
        .with("text", text)
        .with("entry", references)
        .with("emptyReason", empty_reason)
        .with("section", nested))
}

/// Templates of observations that may stand beside the problem
/// observations of a concern and describe rather than state a problem:
/// Problem Status, Severity, Comment Activity, Priority Preference.
const CONCERN_DETAILS: &[&str] = &[
    "2.16.840.1.113883.10.20.22.4.6",
    "2.16.840.1.113883.10.20.22.4.8",
    "2.16.840.1.113883.10.20.22.4.64",
    "2.16.840.1.113883.10.20.22.4.143",
];

/// A problem concern act: each of its observations mapped by `map` with the
/// concern's status; a concern without one gets `empty` as its warning.
fn concern(
    ctx: &mut Ctx<'_, '_>,
    act: Node<'_, '_>,
    key: &str,
    empty: &'static str,
    map: impl Fn(&mut Ctx<'_, '_>, Node<'_, '_>, Option<&str>, &str) -> Result<EntryRef, Error>,
) -> Result<Vec<EntryRef>, Error> {
    let status = attr_code(child(act, "statusCode"));
    let mut made = Vec::new();
    for obs in related(act, "observation") {
        if CONCERN_DETAILS.iter().any(|t| has_template(obs, t)) {
            // Says something about the concern, not a problem of its own.
            ctx.warn(obs, "observation about the concern, not a problem; not mapped");
            continue;
        }
        made.push(map(ctx, obs, status, &format!("{key}.{}", made.len() + 1))?);
    }
    if made.is_empty() {
        ctx.warn(act, empty);
    }
    warn_other_than(ctx, act, "entryRelationship", "observation");
    Ok(made)
}

/// The clinical statement of an `entry`, mapped by section kind.
fn map_entry(ctx: &mut Ctx<'_, '_>, kind: Kind, entry: Node<'_, '_>, key: &str) -> Result<Vec<EntryRef>, Error> {
    let Some(statement) = entry
        .children()
        .find(|c| c.is_element() && c.tag_name().name() != "templateId")
    else {
        return Ok(Vec::new());
    };
    let name = statement.tag_name().name();
    let mut made = Vec::new();
    match (kind, name) {
        (Kind::Problems, "act") => {
            made = concern(
                ctx,
                statement,
                key,
                "problem concern without a problem observation not mapped",
                problem,
            )?;
        }
        (Kind::Problems, "observation") => made.push(problem(ctx, statement, None, key)?),
        (Kind::Diagnoses(role), "act") => {
            made = concern(
                ctx,
                statement,
                key,
                "diagnosis act without a problem observation not mapped",
                |ctx, obs, _, key| diagnosis(ctx, obs, role, key),
            )?;
        }
        (Kind::Diagnoses(role), "observation") => made.push(diagnosis(ctx, statement, role, key)?),
        (Kind::Allergies, "act") => {
            made = allergies::concern(ctx, statement, key)?;
        }
        (Kind::Allergies, "observation") => made.push(allergies::observation(ctx, statement, key)?),
        (Kind::Medications, "substanceAdministration") => made.push(medication(ctx, statement, key)?),
        (Kind::Status(mental), "organizer") => made = status::organizer(ctx, statement, mental, key)?,
        (Kind::Status(mental), "observation") => made.push(status::observation(ctx, statement, mental, key)?),
        (Kind::FamilyHistory, "organizer") => made.push(family::organizer(ctx, statement, key)?),
        (Kind::Payers, "act") => made = payers::entry(ctx, statement, key)?,
        (Kind::MedicalEquipment, _) => made = equipment::entry(ctx, statement, key)?,
        (Kind::AdvanceDirectives, "organizer") => made = directives::organizer(ctx, statement, key)?,
        (Kind::AdvanceDirectives, "observation") => made.push(directives::observation(ctx, statement, key)?),
        (Kind::SocialHistory, "observation") => made.push(social::observation(ctx, statement, key)?),
        (Kind::Medications, "act") => made = medication_act(ctx, statement, key)?,
        (Kind::Results | Kind::VitalSigns, "organizer") => {
            let vital = kind == Kind::VitalSigns;
            warn_other_than(ctx, statement, "component", "observation");
            let mut results = Vec::new();
            for (n, obs) in children(statement, "component")
                .filter_map(|c| child(c, "observation"))
                .enumerate()
            {
                results.push(observation(ctx, obs, vital, &format!("{key}.{}", n + 1))?);
            }
            if vital {
                made.extend(results);
            } else {
                made.push(report(ctx, statement, &results, key)?);
                made.extend(results);
            }
        }
        (Kind::Results, "observation") => made.push(observation(ctx, statement, false, key)?),
        (Kind::VitalSigns, "observation") => made.push(observation(ctx, statement, true, key)?),
        (Kind::Procedures, "procedure" | "act" | "observation") => made.push(procedure(ctx, statement, key)?),
        (Kind::Encounters, "encounter") => made.push(encounter(ctx, statement, key)?),
        (Kind::Immunizations, "substanceAdministration") => made.push(immunization(ctx, statement, key)?),
        (Kind::PlanOfCare, "act" | "observation" | "procedure" | "encounter")
            if statement.attribute("moodCode") != Some("GOL") =>
        {
            made.push(service_request(ctx, statement, key)?);
        }
        _ => ctx.warn(statement, format!("{name} entry not mapped in this kind of section")),
    }
    Ok(made)
}

/// ` (code 8648-8, "Hospital course")`: the section's code and title, so a
/// warning names the section and not only its position.
fn section_name(section: Node<'_, '_>) -> String {
    let code = child(section, "code");
    let title = child(section, "title")
        .and_then(xml::text)
        .or_else(|| code.and_then(|c| attr(c, "displayName")).map(str::to_owned));
    let code = code.and_then(|c| attr(c, "code"));
    match (code, title) {
        (Some(code), Some(title)) => format!(" (code {code}, {title:?})"),
        (Some(code), None) => format!(" (code {code})"),
        (None, Some(title)) => format!(" ({title:?})"),
        (None, None) => String::new(),
    }
}

/// Reports the `wrapper` children of `node` (`entryRelationship`,
/// `component`) that hold something other than a `wanted` statement, which
/// the mapping of `node` does not open.
pub fn warn_other_than(ctx: &mut Ctx<'_, '_>, node: Node<'_, '_>, wrapper: &'static str, wanted: &str) {
    for other in children(node, wrapper).filter(|w| child(*w, wanted).is_none()) {
        let what = other
            .children()
            .find(|c| c.is_element() && c.tag_name().name() != "templateId" && c.tag_name().name() != "sequenceNumber")
            .map_or("empty", |c| c.tag_name().name());
        let message = format!("{what} in a {} not mapped", node.tag_name().name());
        ctx.warn(other, message);
    }
}

/// `entryRelationship/<name>` children.
pub fn related<'a, 'i>(node: Node<'a, 'i>, name: &'static str) -> impl Iterator<Item = Node<'a, 'i>> {
    children(node, "entryRelationship").filter_map(move |r| child(r, name))
}

pub fn attr_code<'a>(node: Option<Node<'a, '_>>) -> Option<&'a str> {
    node.and_then(|n| attr(n, "code"))
}

/// The value code of the nested observation with template `root`.
fn nested_value_code<'a>(node: Node<'a, '_>, root: &str) -> Option<&'a str> {
    related(node, "observation")
        .find(|o| has_template(*o, root))
        .and_then(|o| child(o, "value"))
        .and_then(|v| attr(v, "code"))
}

/// `effective[x]` (or `performed[x]`, `onset[x]`...) as dateTime or Period.
pub fn set_time(
    ctx: &Ctx<'_, '_>,
    resource: &mut Object<'static>,
    node: Node<'_, '_>,
    base: &'static str,
) -> Result<(), Error> {
    let period = ctx.effective_time(node)?;
    let (date_key, period_key) = match base {
        "effective" => ("effectiveDateTime", "effectivePeriod"),
        "performed" => ("performedDateTime", "performedPeriod"),
        "timing" => ("timingDateTime", "timingPeriod"),
        _ => ("occurrenceDateTime", "occurrencePeriod"),
    };
    if period.start.is_some() || period.end.is_some() {
        if period.point.is_some() && period.start.is_none() && period.end.is_none() {
            resource.set(date_key, period.point);
        } else {
            resource.set(period_key, period.to_object());
        }
    } else {
        resource.set(date_key, period.point);
    }
    Ok(())
}

/// A Problem Observation on the problem list.
fn problem(ctx: &mut Ctx<'_, '_>, obs: Node<'_, '_>, concern: Option<&str>, key: &str) -> Result<EntryRef, Error> {
    condition(ctx, obs, concern, "problem-list-item", key)
}

/// A Problem Observation that is a diagnosis of the document's encounter
/// in `role`; the header links it from `Encounter.diagnosis`.
fn diagnosis(ctx: &mut Ctx<'_, '_>, obs: Node<'_, '_>, role: &'static str, key: &str) -> Result<EntryRef, Error> {
    let made = condition(ctx, obs, None, "encounter-diagnosis", key)?;
    ctx.diagnoses.push((made, role));
    Ok(made)
}

/// A Condition from a Problem Observation, with the FHIR `category`
/// (problem-list-item or encounter-diagnosis) of the section it is in.
fn condition(
    ctx: &mut Ctx<'_, '_>,
    obs: Node<'_, '_>,
    concern: Option<&str>,
    category: &'static str,
    key: &str,
) -> Result<EntryRef, Error> {
    let (identifiers, _) = ctx.identifiers(obs)?;
    let period = ctx.effective_time(obs)?;
    let onset = period.when();
    let abatement = period.end.clone();
    let value = child(obs, "value");
    let code = ctx
        .concept(value)
        .or_else(|| ctx.entry_text(obs).map(|t| Object::new().with("text", t)))
        .unwrap_or_else(|| crate::datatypes::absent(value.and_then(|v| v.attribute("nullFlavor"))));
    let refuted = obs.attribute("negationInd") == Some("true");
    let status = nested_value_code(obs, "2.16.840.1.113883.10.20.22.4.6");
    let clinical = if period.has_end() {
        "resolved"
    } else {
        match (status, concern) {
            (Some("73425007"), _) => "inactive",
            (Some("413322009"), _) => "resolved",
            (Some(_), _) | (None, Some("active" | "new") | None) => "active",
            (None, Some(_)) => "inactive",
        }
    };
    let mut category = vec![concept(
        "http://terminology.hl7.org/CodeSystem/condition-category",
        category,
    )];
    if let Some(kind) = child(obs, "code").filter(|c| attr(*c, "codeSystem") == Some("2.16.840.1.113883.6.96")) {
        category.extend(ctx.concept(Some(kind)));
    }
    let condition = Object::new()
        .with("meta", meta(profile::PROBLEM))
        .with("identifier", identifiers)
        .with("clinicalStatus", concept(hl7::CONDITION_CLINICAL, clinical))
        .with(
            "verificationStatus",
            concept(
                "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                if refuted { "refuted" } else { "confirmed" },
            ),
        )
        .with("category", category)
        .with("code", code)
        .with("subject", ctx.subject())
        .with("onsetDateTime", onset)
        .with("abatementDateTime", abatement);
    let (recorder, recorded_at) = entry_author(ctx, obs)?;
    let mut condition = condition;
    condition.set("recordedDate", recorded_at);
    condition.set("recorder", recorder);
    ctx.warn_unmapped(
        obs,
        &["id", "code", "statusCode", "effectiveTime", "value", "text", "author"],
    );
    Ok(ctx.bundle.add("Condition", key, condition))
}

/// The product of a `consumable`.
fn material<'a, 'i>(node: Node<'a, 'i>) -> Option<Node<'a, 'i>> {
    at(node, &["consumable", "manufacturedProduct", "manufacturedMaterial"])
}

fn product_concept(ctx: &Ctx<'_, '_>, node: Node<'_, '_>) -> Object<'static> {
    let material = material(node);
    material
        .and_then(|m| ctx.concept(child(m, "code")))
        .or_else(|| {
            material
                .and_then(|m| child(m, "name"))
                .and_then(xml::text)
                .map(|t| Object::new().with("text", t))
        })
        .unwrap_or_else(|| ctx.required_concept(material.and_then(|m| child(m, "code"))))
}

/// Timing from a `PIVL_TS` `period`.
fn timing(node: Node<'_, '_>) -> Option<Object<'static>> {
    let pivl = children(node, "effectiveTime").find(|e| xml::xsi_type(*e) == Some("PIVL_TS"))?;
    let period = child(pivl, "period")?;
    let value = attr(period, "value").and_then(Value::number)?;
    let unit = match attr(period, "unit")? {
        "s" => "s",
        "min" => "min",
        "h" => "h",
        "d" => "d",
        "wk" => "wk",
        "mo" => "mo",
        "a" => "a",
        _ => return None,
    };
    Some(Object::new().with("repeat", Object::new().with("period", value).with("periodUnit", unit)))
}

fn medication(ctx: &mut Ctx<'_, '_>, node: Node<'_, '_>, key: &str) -> Result<EntryRef, Error> {
    let (identifiers, _) = ctx.identifiers(node)?;
    let status = if node.attribute("negationInd") == Some("true") {
        "not-taken"
    } else {
        match attr_code(child(node, "statusCode")) {
            Some("active" | "new") => "active",
            Some("completed") => "completed",
            Some("aborted" | "cancelled") => "stopped",
            Some("suspended" | "held") => "on-hold",
            Some("nullified") => "entered-in-error",
            _ => "unknown",
        }
    };
    let dose = child(node, "doseQuantity").and_then(quantity);
    let dosage = Object::new()
        .with("text", ctx.entry_text(node))
        .with("timing", timing(node))
        .with("route", ctx.concept(child(node, "routeCode")))
        .with("doseAndRate", dose.map(|d| vec![Object::new().with("doseQuantity", d)]));
    let mut statement = Object::new()
        .with("identifier", identifiers)
        .with("status", status)
        .with("medicationCodeableConcept", product_concept(ctx, node))
        .with("subject", ctx.subject());
    set_time(ctx, &mut statement, node, "effective")?;
    statement.set("dosage", (!dosage.is_empty()).then(|| vec![dosage]));
    ctx.warn_unmapped(
        node,
        &[
            "id",
            "text",
            "statusCode",
            "effectiveTime",
            "routeCode",
            "doseQuantity",
            "consumable",
            "author",
        ],
    );
    let (source, _) = entry_author(ctx, node)?;
    statement.insert_after("effectivePeriod", "informationSource", source);
    Ok(ctx.bundle.add("MedicationStatement", key, statement))
}

/// An act that wraps medication activities (C-CDA Discharge Medication
/// 2.16.840.1.113883.10.20.22.4.35, Admission Medication …4.36): each
/// `substanceAdministration` in it.
fn medication_act(ctx: &mut Ctx<'_, '_>, act: Node<'_, '_>, key: &str) -> Result<Vec<EntryRef>, Error> {
    let mut made = Vec::new();
    for relationship in children(act, "entryRelationship") {
        match child(relationship, "substanceAdministration") {
            Some(activity) => made.push(medication(ctx, activity, &format!("{key}.{}", made.len() + 1))?),
            None => ctx.warn(relationship, "not a medication activity; not mapped"),
        }
    }
    if made.is_empty() {
        ctx.warn(act, "medication act without a medication activity not mapped");
    }
    ctx.warn_unmapped(
        act,
        &["id", "code", "statusCode", "effectiveTime", "entryRelationship", "text"],
    );
    Ok(made)
}

pub fn observation_status(code: Option<&str>) -> &'static str {
    match code {
        Some("active" | "new" | "held") => "preliminary",
        Some("aborted" | "cancelled") => "cancelled",
        Some("nullified") => "entered-in-error",
        _ => "final",
    }
}

/// The nl-core vital-sign profiles by LOINC code, with the UCUM units their
/// value sets allow.
const VITAL_SIGNS: &[(&str, &str, &[&str])] = &[
    (
        "29463-7",
        "http://nictiz.nl/fhir/StructureDefinition/nl-core-BodyWeight",
        &["kg", "g"],
    ),
    (
        "8302-2",
        "http://nictiz.nl/fhir/StructureDefinition/nl-core-BodyHeight",
        &["cm", "m"],
    ),
    (
        "8867-4",
        "http://nictiz.nl/fhir/StructureDefinition/nl-core-HeartRate",
        &["/min"],
    ),
    (
        "8310-5",
        "http://nictiz.nl/fhir/StructureDefinition/nl-core-BodyTemperature",
        &["Cel"],
    ),
    (
        "59408-5",
        "http://nictiz.nl/fhir/StructureDefinition/nl-core-O2Saturation",
        &["%"],
    ),
];

/// The nl-core profile a vital sign can claim: only when its LOINC code,
/// UCUM unit and single point in time are what the profile asks for.
fn vital_sign_profile(obs: Node<'_, '_>, resource: &Object<'static>) -> Option<&'static str> {
    let code = child(obs, "code").filter(|c| attr(*c, "codeSystem") == Some("2.16.840.1.113883.6.1"))?;
    let code = attr(code, "code")?;
    let &(_, url, units) = VITAL_SIGNS.iter().find(|(loinc, _, _)| *loinc == code)?;
    let Some(Value::Obj(quantity)) = resource.get("valueQuantity") else {
        return None;
    };
    let unit_ok = matches!(quantity.get("code"), Some(Value::Str(u)) if units.contains(&u.as_ref()));
    (unit_ok && resource.get("effectiveDateTime").is_some()).then_some(url)
}

fn observation(ctx: &mut Ctx<'_, '_>, obs: Node<'_, '_>, vital: bool, key: &str) -> Result<EntryRef, Error> {
    let (identifiers, _) = ctx.identifiers(obs)?;
    let (lab_meta, category) = if vital {
        (None, "vital-signs")
    } else {
        (Some(meta(profile::LAB_RESULT)), "laboratory")
    };
    let mut resource = Object::new()
        .with("meta", lab_meta)
        .with("identifier", identifiers)
        .with("status", observation_status(attr_code(child(obs, "statusCode"))))
        .with("category", vec![concept(hl7::OBSERVATION_CATEGORY, category)])
        .with("code", ctx.required_concept(child(obs, "code")))
        .with("subject", ctx.subject());
    set_time(ctx, &mut resource, obs, "effective")?;
    set_value(ctx, &mut resource, obs)?;
    let interpretation: Vec<Object<'static>> = children(obs, "interpretationCode")
        .filter_map(|i| ctx.concept(Some(i)))
        .collect();
    resource.set("interpretation", interpretation);
    resource.set("method", ctx.concept(child(obs, "methodCode")));
    let mut ranges = Vec::new();
    for range in children(obs, "referenceRange").filter_map(|r| child(r, "observationRange")) {
        let value = child(range, "value");
        let range_object = Object::new()
            .with("low", value.and_then(|v| child(v, "low")).and_then(|l| ctx.pq(l)))
            .with("high", value.and_then(|v| child(v, "high")).and_then(|h| ctx.pq(h)))
            .with("text", ctx.entry_text(range));
        if !range_object.is_empty() {
            ranges.push(range_object);
        }
    }
    resource.set("referenceRange", ranges);
    if vital {
        if let Some(url) = vital_sign_profile(obs, &resource) {
            resource.insert_after("", "meta", meta(url));
        }
    }
    ctx.warn_unmapped(
        obs,
        &[
            "id",
            "code",
            "statusCode",
            "effectiveTime",
            "value",
            "interpretationCode",
            "methodCode",
            "referenceRange",
            "text",
            "author",
        ],
    );
    let (performer, _) = entry_author(ctx, obs)?;
    resource.set("performer", performer.map(|p| vec![p]));
    Ok(ctx.bundle.add("Observation", key, resource))
}

/// `value[x]` from the first `value`, or else `dataAbsentReason`: a
/// `nullFlavor` alone says why without a warning; a value that could not be
/// read, or none at all, is reported, so no result comes out empty unsaid.
pub fn set_value(ctx: &mut Ctx<'_, '_>, resource: &mut Object<'static>, obs: Node<'_, '_>) -> Result<(), Error> {
    let mut values = children(obs, "value");
    let first = values.next();
    if values.next().is_some() {
        ctx.warn(obs, "more than one value: only the first is mapped");
    }
    let null_flavor = if let Some(value) = first {
        if let Some((name, v)) = value_x(ctx, value)? {
            resource.set(name, v);
            return Ok(());
        }
        let null_flavor = value.attribute("nullFlavor");
        if null_flavor.is_none() || value.children().any(|c| c.is_element()) {
            ctx.warn(value, "value could not be read: given as dataAbsentReason");
        }
        null_flavor
    } else {
        ctx.warn(obs, "observation without a value: given as dataAbsentReason");
        None
    };
    let reason = concept(
        "http://terminology.hl7.org/CodeSystem/data-absent-reason",
        absent_reason(null_flavor),
    );
    resource.set("dataAbsentReason", reason);
    Ok(())
}

fn report(ctx: &mut Ctx<'_, '_>, organizer: Node<'_, '_>, results: &[EntryRef], key: &str) -> Result<EntryRef, Error> {
    let (identifiers, _) = ctx.identifiers(organizer)?;
    let status = match attr_code(child(organizer, "statusCode")) {
        Some("active" | "new" | "held") => "partial",
        Some("aborted" | "cancelled") => "cancelled",
        Some("nullified") => "entered-in-error",
        _ => "final",
    };
    let mut resource = Object::new()
        .with("identifier", identifiers)
        .with("status", status)
        .with(
            "category",
            vec![concept("http://terminology.hl7.org/CodeSystem/v2-0074", "LAB")],
        )
        .with("code", ctx.required_concept(child(organizer, "code")))
        .with("subject", ctx.subject());
    set_time(ctx, &mut resource, organizer, "effective")?;
    resource.set(
        "result",
        results.iter().map(|r| ctx.bundle.reference(*r)).collect::<Vec<_>>(),
    );
    ctx.warn_unmapped(organizer, &["id", "code", "statusCode", "effectiveTime", "component"]);
    Ok(ctx.bundle.add("DiagnosticReport", key, resource))
}

/// The first `author` of an entry that is a person, as a reference to
/// their `PractitionerRole`, with the time they recorded it.
pub fn entry_author(
    ctx: &mut Ctx<'_, '_>,
    node: Node<'_, '_>,
) -> Result<(Option<Object<'static>>, Option<String>), Error> {
    for author in children(node, "author") {
        let Some(assigned) = child(author, "assignedAuthor").filter(|a| child(*a, "assignedPerson").is_some()) else {
            continue;
        };
        let time = ctx.datetime(child(author, "time"))?;
        return Ok((practitioner_role(ctx, assigned)?, time));
    }
    Ok((None, None))
}

fn performers(ctx: &mut Ctx<'_, '_>, node: Node<'_, '_>) -> Result<Vec<Object<'static>>, Error> {
    let mut out = Vec::new();
    for entity in children(node, "performer").filter_map(|p| child(p, "assignedEntity")) {
        if let Some(actor) = practitioner_role(ctx, entity)? {
            out.push(Object::new().with("actor", actor));
        }
    }
    Ok(out)
}

pub fn procedure(ctx: &mut Ctx<'_, '_>, node: Node<'_, '_>, key: &str) -> Result<EntryRef, Error> {
    let (identifiers, _) = ctx.identifiers(node)?;
    let status = if node.attribute("negationInd") == Some("true") {
        "not-done"
    } else {
        match attr_code(child(node, "statusCode")) {
            Some("completed") => "completed",
            Some("active") => "in-progress",
            Some("aborted") => "stopped",
            Some("cancelled") => "not-done",
            Some("new") => "preparation",
            Some("held" | "suspended") => "on-hold",
            Some("nullified") => "entered-in-error",
            _ => "unknown",
        }
    };
    let mut resource = Object::new()
        .with("meta", meta(profile::PROCEDURE))
        .with("identifier", identifiers)
        .with("status", status)
        .with("code", ctx.required_concept(child(node, "code")))
        .with("subject", ctx.subject());
    set_time(ctx, &mut resource, node, "performed")?;
    let body_sites: Vec<Object<'static>> = children(node, "targetSiteCode")
        .filter_map(|site| ctx.concept(Some(site)))
        .collect();
    resource.set("bodySite", body_sites);
    let (recorder, _) = entry_author(ctx, node)?;
    resource.set("recorder", recorder);
    let performers = performers(ctx, node)?;
    resource.set("performer", performers);
    ctx.warn_unmapped(
        node,
        &[
            "id",
            "code",
            "statusCode",
            "effectiveTime",
            "performer",
            "text",
            "targetSiteCode",
            "author",
        ],
    );
    Ok(ctx.bundle.add("Procedure", key, resource))
}

/// An Encounter from an `encounter` entry or the header's `encompassingEncounter`.
pub fn encounter(ctx: &mut Ctx<'_, '_>, node: Node<'_, '_>, key: &str) -> Result<EntryRef, Error> {
    let (identifiers, _) = ctx.identifiers(node)?;
    let period = ctx.effective_time(node)?;
    let code = child(node, "code");
    let class = code
        .into_iter()
        .flat_map(|c| std::iter::once(c).chain(children(c, "translation")))
        .find(|c| attr(*c, "codeSystem") == Some("2.16.840.1.113883.5.4") && attr(*c, "code").is_some())
        .and_then(|c| {
            Some(
                Object::new()
                    .with("system", hl7::V3_ACT_CODE)
                    .with("code", attr(c, "code")?.to_owned())
                    .with("display", attr(c, "displayName").map(str::to_owned)),
            )
        })
        .unwrap_or_else(|| {
            Object::new()
                .with("system", "http://terminology.hl7.org/CodeSystem/v3-NullFlavor")
                .with("code", "UNK")
                .with("display", "unknown")
        });
    let finished = period.has_end() || attr_code(child(node, "statusCode")) == Some("completed");
    let status = if finished {
        "finished"
    } else if node.tag_name().name() == "encompassingEncounter" || period.when().is_some() {
        "in-progress"
    } else {
        "unknown"
    };
    let mut participants = Vec::new();
    for entity in children(node, "performer")
        .chain(children(node, "encounterParticipant"))
        .chain(children(node, "responsibleParty"))
        .filter_map(|p| child(p, "assignedEntity"))
    {
        if let Some(who) = practitioner_role(ctx, entity)? {
            participants.push(Object::new().with("individual", who));
        }
    }
    let (locations, provider) = locations(ctx, node)?;
    let reasons: Vec<Object<'static>> = children(node, "entryRelationship")
        .filter(|r| r.attribute("typeCode") == Some("RSON"))
        .filter_map(|r| child(r, "observation"))
        .filter_map(|o| ctx.concept(child(o, "value")))
        .collect();
    let discharge = ctx.concept(child(node, "dischargeDispositionCode"));
    let encounter = Object::new()
        .with("meta", meta(profile::ENCOUNTER))
        .with("identifier", identifiers)
        .with("status", status)
        .with("class", class)
        .with("type", ctx.concept(code).map(|c| vec![c]))
        .with("subject", ctx.subject())
        .with("participant", participants)
        .with("period", period.to_object())
        .with("reasonCode", reasons)
        .with("hospitalization", Object::new().with("dischargeDisposition", discharge))
        .with("location", locations)
        .with("serviceProvider", provider);
    ctx.warn_unmapped(
        node,
        &[
            "id",
            "code",
            "statusCode",
            "effectiveTime",
            "performer",
            "encounterParticipant",
            "responsibleParty",
            "participant",
            "location",
            "entryRelationship",
            "dischargeDispositionCode",
            "text",
        ],
    );
    Ok(ctx.bundle.add("Encounter", key, encounter))
}

/// Encounter.location (by display) and the service provider, from `LOC`
/// participants and the `healthCareFacility`.
fn locations(
    ctx: &mut Ctx<'_, '_>,
    node: Node<'_, '_>,
) -> Result<(Vec<Object<'static>>, Option<Object<'static>>), Error> {
    let mut locations = Vec::new();
    for role in children(node, "participant")
        .filter(|p| p.attribute("typeCode") == Some("LOC"))
        .filter_map(|p| child(p, "participantRole"))
    {
        let name = at(role, &["playingEntity", "name"]).and_then(xml::text).or_else(|| {
            child(role, "code")
                .and_then(|c| attr(c, "displayName"))
                .map(str::to_owned)
        });
        if let Some(name) = name {
            locations.push(Object::new().with("location", Object::new().with("display", name)));
        }
    }
    let mut provider = None;
    if let Some(facility) = at(node, &["location", "healthCareFacility"]) {
        let name = at(facility, &["location", "name"]).and_then(xml::text);
        if let Some(name) = name {
            locations.push(Object::new().with("location", Object::new().with("display", name)));
        }
        if let Some(org) = child(facility, "serviceProviderOrganization") {
            provider = organization(ctx, org)?;
        }
    }
    Ok((locations, provider))
}

fn immunization(ctx: &mut Ctx<'_, '_>, node: Node<'_, '_>, key: &str) -> Result<EntryRef, Error> {
    let (identifiers, _) = ctx.identifiers(node)?;
    let status = if node.attribute("negationInd") == Some("true") {
        "not-done"
    } else {
        match attr_code(child(node, "statusCode")) {
            Some("nullified") => "entered-in-error",
            Some("aborted" | "cancelled") => "not-done",
            _ => "completed",
        }
    };
    let product = material(node);
    let lot = product.and_then(|m| child(m, "lotNumberText")).and_then(xml::text);
    let manufacturer = at(
        node,
        &["consumable", "manufacturedProduct", "manufacturerOrganization", "name"],
    )
    .and_then(xml::text)
    .map(|n| Object::new().with("display", n));
    let period = ctx.effective_time(node)?;
    let mut resource = Object::new()
        .with("meta", meta(profile::VACCINATION))
        .with("identifier", identifiers)
        .with("status", status)
        .with("vaccineCode", product_concept(ctx, node))
        .with("patient", ctx.subject());
    match period.when() {
        Some(when) => resource.set("occurrenceDateTime", when),
        None => resource.set("occurrenceString", "unknown"),
    }
    resource.set("manufacturer", manufacturer);
    resource.set("lotNumber", lot);
    resource.set("route", ctx.concept(child(node, "routeCode")));
    resource.set("doseQuantity", child(node, "doseQuantity").and_then(quantity));
    let performers = performers(ctx, node)?;
    resource.set("performer", performers);
    ctx.warn_unmapped(
        node,
        &[
            "id",
            "text",
            "statusCode",
            "effectiveTime",
            "routeCode",
            "doseQuantity",
            "consumable",
            "performer",
        ],
    );
    Ok(ctx.bundle.add("Immunization", key, resource))
}

fn service_request(ctx: &mut Ctx<'_, '_>, node: Node<'_, '_>, key: &str) -> Result<EntryRef, Error> {
    let (identifiers, _) = ctx.identifiers(node)?;
    let status = match attr_code(child(node, "statusCode")) {
        Some("active" | "new") => "active",
        Some("completed") => "completed",
        Some("aborted" | "cancelled") => "revoked",
        Some("held" | "suspended") => "on-hold",
        Some("nullified") => "entered-in-error",
        _ => "unknown",
    };
    let intent = match node.attribute("moodCode") {
        Some("RQO" | "ARQ") => "order",
        Some("PRP") => "proposal",
        Some("PRMS") => "directive",
        _ => "plan",
    };
    let mut resource = Object::new()
        .with("identifier", identifiers)
        .with("status", status)
        .with("intent", intent)
        .with("code", ctx.concept(child(node, "code")))
        .with("subject", ctx.subject());
    set_time(ctx, &mut resource, node, "occurrence")?;
    resource.set("patientInstruction", ctx.entry_text(node));
    ctx.warn_unmapped(node, &["id", "code", "statusCode", "effectiveTime", "text"]);
    Ok(ctx.bundle.add("ServiceRequest", key, resource))
}
