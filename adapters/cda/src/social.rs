//! The Social History Section (C-CDA 2.16.840.1.113883.10.20.22.2.17):
//! tobacco, alcohol and drug use as the nl-core `TobaccoUse`, `AlcoholUse`
//! and `DrugUse` Observations, any other social history observation as a
//! plain `social-history` Observation.
//!
//! A profile is claimed only when the Observation can meet it: the zib's
//! own code is added beside the source's, and the value must be one the
//! profile allows (alcohol use binds its status to a required value set).
//! Otherwise the Observation keeps its data without the profile, and a
//! warning says why.

use roxmltree::Node;
use zorgpoort_model::datatypes::{coding, concept, meta};
use zorgpoort_model::systems::{self, hl7};
use zorgpoort_model::{EntryRef, Object, Value};

use crate::context::Ctx;
use crate::datatypes::codes_of;
use crate::entries::{attr_code, entry_author, observation_status, set_time, set_value};
use crate::error::Error;
use crate::xml::{attr, child, has_template, xsi_type};

/// What a social history observation is about, with its nl-core profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Topic {
    /// The nl-core profile.
    profile: &'static str,
    /// The SNOMED code the zib fixes as `Observation.code`, and its display.
    code: (&'static str, &'static str),
    /// C-CDA templates of this topic.
    templates: &'static [&'static str],
    /// Observation codes (LOINC or SNOMED) senders use for it.
    source_codes: &'static [&'static str],
    /// The SNOMED code of the zib's `amount` component, when the amount is
    /// a UCUM quantity.
    amount: Option<&'static str>,
    /// The status values the profile allows, when its binding is required.
    required_values: Option<&'static [&'static str]>,
}

const TOPICS: &[Topic] = &[
    Topic {
        profile: "http://nictiz.nl/fhir/StructureDefinition/nl-core-TobaccoUse",
        code: ("365980008", "Tabakgebruik"),
        // Smoking Status - Meaningful Use, Tobacco Use.
        templates: &["2.16.840.1.113883.10.20.22.4.78", "2.16.840.1.113883.10.20.22.4.85"],
        source_codes: &["72166-2", "11367-0", "88031-0", "229819007", "365980008"],
        amount: Some("266918002"),
        required_values: None,
    },
    Topic {
        profile: "http://nictiz.nl/fhir/StructureDefinition/nl-core-AlcoholUse",
        code: ("228273003", "Alcoholgebruik"),
        templates: &[],
        source_codes: &["11331-6", "160573003", "228273003", "897148007"],
        amount: Some("897148007"),
        // Zib AlcoholUse status: current drinker, non-drinker, ex-drinker.
        required_values: Some(&["219006", "105542008", "82581004"]),
    },
    Topic {
        profile: "http://nictiz.nl/fhir/StructureDefinition/nl-core-DrugUse",
        code: ("228366006", "Drugsgebruik"),
        templates: &[],
        source_codes: &["11343-1", "228366006", "363908000"],
        amount: None,
        required_values: None,
    },
];

fn topic_of(obs: Node<'_, '_>) -> Option<&'static Topic> {
    let code = child(obs, "code").and_then(|c| attr(c, "code"));
    TOPICS.iter().find(|topic| {
        topic.templates.iter().any(|t| has_template(obs, t)) || code.is_some_and(|c| topic.source_codes.contains(&c))
    })
}

/// A social history `observation` entry.
pub fn observation(ctx: &mut Ctx<'_, '_>, obs: Node<'_, '_>, key: &str) -> Result<EntryRef, Error> {
    let (identifiers, _) = ctx.identifiers(obs)?;
    let topic = topic_of(obs);
    let mut code = ctx.required_concept(child(obs, "code"));
    if let Some(topic) = topic {
        let (zib_code, display) = topic.code;
        let zib = Value::Obj(coding(systems::SNOMED, zib_code).with("display", display));
        match code.get_mut("coding") {
            Some(Value::Arr(codings)) => codings.insert(0, zib),
            _ => code.insert_after("", "coding", vec![zib]),
        }
    }
    let mut resource = Object::new()
        .with("identifier", identifiers)
        .with("status", observation_status(attr_code(child(obs, "statusCode"))))
        .with("category", vec![concept(hl7::OBSERVATION_CATEGORY, "social-history")])
        .with("code", code)
        .with("subject", ctx.subject());
    set_time(ctx, &mut resource, obs, "effective")?;
    match topic.and_then(|t| amount(ctx, obs, t)) {
        Some(component) => resource.set("component", vec![component]),
        None => set_value(ctx, &mut resource, obs)?,
    }
    if let Some(topic) = topic {
        claim(ctx, obs, topic, &mut resource);
    }
    let (performer, _) = entry_author(ctx, obs)?;
    resource.set("performer", performer.map(|p| vec![p]));
    ctx.warn_unmapped(
        obs,
        &["id", "code", "statusCode", "effectiveTime", "value", "text", "author"],
    );
    Ok(ctx.bundle.add("Observation", key, resource))
}

/// Claims the topic's profile when the value fits it: a coded status (in
/// the required value set, if there is one), or an amount component.
fn claim(ctx: &mut Ctx<'_, '_>, obs: Node<'_, '_>, topic: &Topic, resource: &mut Object<'static>) {
    let fits = match resource.get("valueCodeableConcept") {
        Some(Value::Obj(value)) => topic.required_values.is_none_or(|allowed| {
            codes_of(value).any(|(system, code)| system == systems::SNOMED && allowed.contains(&code))
        }),
        _ => resource.get("component").is_some(),
    };
    if fits {
        resource.insert_after("", "meta", meta(topic.profile));
    } else {
        let message = format!(
            "value does not fit {}: mapped without the profile",
            topic.profile.rsplit('/').next().unwrap_or(topic.profile)
        );
        ctx.warn(child(obs, "value").unwrap_or(obs), message);
    }
}

/// The zib's `amount` component from a PQ value in UCUM (how much is
/// smoked or drunk), for a topic that has one.
fn amount(ctx: &Ctx<'_, '_>, obs: Node<'_, '_>, topic: &Topic) -> Option<Object<'static>> {
    let code = topic.amount?;
    let value = child(obs, "value").filter(|v| xsi_type(*v) == Some("PQ"))?;
    let quantity = ctx.pq(value)?;
    let ucum = matches!(quantity.get("system"), Some(Value::Str(s)) if s == systems::UCUM);
    ucum.then(|| {
        Object::new()
            .with("code", concept(systems::SNOMED, code))
            .with("valueQuantity", quantity)
    })
}
