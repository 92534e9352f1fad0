//! The Family History Section (C-CDA 2.16.840.1.113883.10.20.22.2.15): each
//! Family History Organizer (…4.45), one relative with their conditions, as
//! a `FamilyMemberHistory` (nl-core has no profile for it). A Family History
//! Observation (…4.46) is one `condition`, with the age at onset (…4.31)
//! and whether it caused death (…4.47) folded in.

use roxmltree::Node;
use zorgpoort_model::datatypes::concept;
use zorgpoort_model::{EntryRef, Object, Value};

use crate::context::Ctx;
use crate::entries::{attr_code, related};
use crate::error::Error;
use crate::xml::{at, attr, child, children, has_template};

const AGE_OBSERVATION: &str = "2.16.840.1.113883.10.20.22.4.31";
const DEATH_OBSERVATION: &str = "2.16.840.1.113883.10.20.22.4.47";

/// A Family History Organizer as one `FamilyMemberHistory`.
pub fn organizer(ctx: &mut Ctx<'_, '_>, organizer: Node<'_, '_>, key: &str) -> Result<EntryRef, Error> {
    let (identifiers, _) = ctx.identifiers(organizer)?;
    let relative = at(organizer, &["subject", "relatedSubject"]);
    let relationship = ctx.required_concept(relative.and_then(|r| child(r, "code")));
    let person = relative.and_then(|r| child(r, "subject"));
    let sex = person
        .and_then(|p| child(p, "administrativeGenderCode"))
        .and_then(|g| attr(g, "code"))
        .and_then(|g| match g {
            "M" => Some("male"),
            "F" => Some("female"),
            "UN" => Some("other"),
            _ => None,
        });
    let born = match person.and_then(|p| child(p, "birthTime")) {
        Some(time) => ctx.ts_value(time)?.map(|t| t.to_fhir_date()),
        None => None,
    };
    crate::entries::warn_other_than(ctx, organizer, "component", "observation");
    let mut conditions = Vec::new();
    for obs in children(organizer, "component").filter_map(|c| child(c, "observation")) {
        conditions.push(condition(ctx, obs)?);
    }
    let status = match attr_code(child(organizer, "statusCode")) {
        Some("nullified") => "entered-in-error",
        _ => "completed",
    };
    let history = Object::new()
        .with("identifier", identifiers)
        .with("status", status)
        .with("patient", ctx.subject())
        .with("relationship", relationship)
        .with(
            "sex",
            sex.map(|s| concept("http://hl7.org/fhir/administrative-gender", s)),
        )
        .with("bornDate", born)
        .with("condition", conditions);
    if let Some(relative) = relative {
        ctx.warn_unmapped(relative, &["code", "subject"]);
    }
    if let Some(person) = person {
        ctx.warn_unmapped(person, &["administrativeGenderCode", "birthTime"]);
    }
    ctx.warn_unmapped(organizer, &["id", "statusCode", "subject", "component"]);
    Ok(ctx.bundle.add("FamilyMemberHistory", key, history))
}

/// A Family History Observation as a `condition`.
fn condition(ctx: &mut Ctx<'_, '_>, obs: Node<'_, '_>) -> Result<Object<'static>, Error> {
    let value = child(obs, "value");
    let code = ctx
        .concept(value)
        .or_else(|| ctx.entry_text(obs).map(|t| Object::new().with("text", t)))
        .unwrap_or_else(|| crate::datatypes::absent(value.and_then(|v| v.attribute("nullFlavor"))));
    let age_observation = related(obs, "observation").find(|o| has_template(*o, AGE_OBSERVATION));
    let onset_age = age_observation.and_then(|o| child(o, "value")).and_then(age);
    if let (Some(observation), None) = (age_observation, &onset_age) {
        ctx.warn(
            observation,
            "age at onset not in years, months, weeks or days; not mapped",
        );
    }
    let died = related(obs, "observation").any(|o| has_template(o, DEATH_OBSERVATION));
    for other in related(obs, "observation")
        .filter(|o| !has_template(*o, AGE_OBSERVATION) && !has_template(*o, DEATH_OBSERVATION))
    {
        ctx.warn(other, "observation under a family history observation not mapped");
    }
    // The age says when; a date only when there is no age.
    let onset_period = ctx.effective_time(obs)?.to_object();
    ctx.warn_unmapped(
        obs,
        &[
            "id",
            "code",
            "statusCode",
            "effectiveTime",
            "value",
            "entryRelationship",
            "text",
        ],
    );
    let mut condition = Object::new()
        .with("code", code)
        .with("contributedToDeath", died.then_some(Value::Bool(true)));
    match onset_age {
        Some(age) => condition.set("onsetAge", age),
        None => condition.set("onsetPeriod", onset_period),
    }
    Ok(condition)
}

/// An age (PQ in years, `a`) as FHIR Age.
fn age(value: Node<'_, '_>) -> Option<Object<'static>> {
    let number = attr(value, "value").and_then(Value::number)?;
    let unit = attr(value, "unit").unwrap_or("a");
    let (code, display) = match unit {
        "a" => ("a", "years"),
        "mo" => ("mo", "months"),
        "wk" => ("wk", "weeks"),
        "d" => ("d", "days"),
        _ => return None,
    };
    Some(
        Object::new()
            .with("value", number)
            .with("unit", display)
            .with("system", zorgpoort_model::systems::UCUM)
            .with("code", code),
    )
}
