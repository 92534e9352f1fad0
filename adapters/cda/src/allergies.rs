//! Allergies and intolerances: the C-CDA Allergy Concern Act
//! (2.16.840.1.113883.10.20.22.4.30) and its Allergy - Intolerance
//! Observations (…4.7) as `AllergyIntolerance`, with the observations that
//! only describe an allergy (reaction, severity, status, criticality) folded
//! into it rather than made into allergies of their own.

use roxmltree::Node;
use zorgpoort_model::datatypes::{coding, concept, meta};
use zorgpoort_model::systems::{self, hl7, profile};
use zorgpoort_model::{EntryRef, Object, Value};

use crate::context::Ctx;
use crate::entries::{attr_code, entry_author, warn_other_than};
use crate::error::Error;
use crate::xml::{self, at, attr, child, children, has_template};

/// What an observation under an allergy concern or allergy observation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// An Allergy - Intolerance Observation: becomes an `AllergyIntolerance`.
    Allergy,
    /// Reaction Observation (…4.9): a `reaction.manifestation`.
    Reaction,
    /// Severity Observation (…4.8): a `reaction.severity`.
    Severity,
    /// Allergy Status Observation (…4.28): the clinical status.
    Status,
    /// Criticality Observation (…4.145): the criticality.
    Criticality,
}

/// Tells the parts apart by template, or where a sender left the template
/// out, by the codes and relationship C-CDA prescribes for them.
fn part_of(relationship: Node<'_, '_>, obs: Node<'_, '_>) -> Part {
    let code = child(obs, "code");
    let act_code = code
        .filter(|c| attr(*c, "codeSystem") == Some("2.16.840.1.113883.5.4"))
        .and_then(|c| attr(c, "code"));
    let loinc = code
        .filter(|c| attr(*c, "codeSystem") == Some("2.16.840.1.113883.6.1"))
        .and_then(|c| attr(c, "code"));
    if has_template(obs, "2.16.840.1.113883.10.20.22.4.8") || act_code == Some("SEV") {
        Part::Severity
    } else if has_template(obs, "2.16.840.1.113883.10.20.22.4.9") || relationship.attribute("typeCode") == Some("MFST")
    {
        Part::Reaction
    } else if has_template(obs, "2.16.840.1.113883.10.20.22.4.28") || loinc == Some("33999-4") {
        Part::Status
    } else if has_template(obs, "2.16.840.1.113883.10.20.22.4.145") || act_code == Some("CRIT") {
        Part::Criticality
    } else {
        Part::Allergy
    }
}

/// The observations under `node` (`entryRelationship/observation`) with
/// what each is.
fn parts<'a, 'i>(node: Node<'a, 'i>) -> impl Iterator<Item = (Part, Node<'a, 'i>)> {
    children(node, "entryRelationship").filter_map(|r| child(r, "observation").map(|o| (part_of(r, o), o)))
}

/// An Allergy Concern Act: one `AllergyIntolerance` per allergy observation.
/// A reaction or severity placed beside the allergy observation (as some
/// senders do) belongs to it when it is the only one; with several, which
/// allergy it describes is unknown, and it is reported instead of guessed.
pub fn concern(ctx: &mut Ctx<'_, '_>, act: Node<'_, '_>, key: &str) -> Result<Vec<EntryRef>, Error> {
    let status = attr_code(child(act, "statusCode"));
    let (allergies, details): (Vec<_>, Vec<_>) = parts(act).partition(|(part, _)| *part == Part::Allergy);
    let details = if allergies.len() == 1 {
        details
    } else {
        for (_, detail) in details {
            let message = format!(
                "observation beside {} allergy observations in one allergy concern: which allergy it describes is unknown; not mapped",
                allergies.len()
            );
            ctx.warn(detail, message);
        }
        Vec::new()
    };
    let mut made = Vec::new();
    for (n, (_, obs)) in allergies.iter().enumerate() {
        made.push(allergy(ctx, *obs, status, &details, &format!("{key}.{}", n + 1))?);
    }
    if made.is_empty() {
        ctx.warn(act, "allergy concern without an allergy observation not mapped");
    }
    warn_other_than(ctx, act, "entryRelationship", "observation");
    Ok(made)
}

/// Allergy and intolerance types and categories by the allergy observation's value (SNOMED).
fn allergy_kind(code: Option<&str>) -> (Option<&'static str>, Option<&'static str>) {
    match code {
        Some("416098002") => (Some("allergy"), Some("medication")),
        Some("59037007") => (Some("intolerance"), Some("medication")),
        Some("414285001") => (Some("allergy"), Some("food")),
        Some("235719002") => (Some("intolerance"), Some("food")),
        Some("419199007") => (Some("allergy"), None),
        Some("426232007") => (Some("allergy"), Some("environment")),
        _ => (None, None),
    }
}

/// An Allergy - Intolerance Observation given as an entry of its own,
/// without a concern act around it.
pub fn observation(ctx: &mut Ctx<'_, '_>, obs: Node<'_, '_>, key: &str) -> Result<EntryRef, Error> {
    allergy(ctx, obs, None, &[], key)
}

/// An Allergy - Intolerance Observation as an `AllergyIntolerance`;
/// `inherited` are the parts its concern act held beside it.
fn allergy(
    ctx: &mut Ctx<'_, '_>,
    obs: Node<'_, '_>,
    concern: Option<&str>,
    inherited: &[(Part, Node<'_, '_>)],
    key: &str,
) -> Result<EntryRef, Error> {
    let (identifiers, _) = ctx.identifiers(obs)?;
    let period = ctx.effective_time(obs)?;
    let negated = obs.attribute("negationInd") == Some("true");
    let (code, refuted) = substance(ctx, obs, negated);
    let value_code = child(obs, "value").and_then(|v| attr(v, "code"));
    let (kind, category) = allergy_kind(value_code);
    let mut own: Vec<(Part, Node<'_, '_>)> = parts(obs).collect();
    own.extend_from_slice(inherited);
    let status = part_value_code(&own, Part::Status);
    let clinical = match (status, concern, period.has_end()) {
        (Some("73425007"), _, _) => "inactive",
        (Some("413322009"), _, _) | (None, _, true) => "resolved",
        (Some(_), _, _) | (None, Some("active" | "new") | None, false) => "active",
        (None, Some(_), false) => "inactive",
    };
    let criticality = part_value_code(&own, Part::Criticality).and_then(|c| match c {
        "CRITH" => Some("high"),
        "CRITL" => Some("low"),
        "CRITU" => Some("unable-to-assess"),
        _ => None,
    });
    for (_, stray) in own.iter().filter(|(part, _)| *part == Part::Allergy) {
        ctx.warn(*stray, "observation under an allergy observation not mapped");
    }
    let reactions = reactions(ctx, &own)?;
    let mut allergy = Object::new()
        .with("meta", meta(profile::ALLERGY))
        .with("identifier", identifiers)
        .with("clinicalStatus", concept(hl7::ALLERGY_CLINICAL, clinical))
        .with(
            "verificationStatus",
            concept(
                "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
                if refuted { "refuted" } else { "confirmed" },
            ),
        )
        .with("type", kind)
        .with("category", category.map(|c| vec![Value::from(c)]))
        .with("criticality", criticality)
        .with("code", code.unwrap_or_else(|| crate::datatypes::absent(None)))
        .with("patient", ctx.subject())
        .with("onsetDateTime", period.when())
        .with("reaction", reactions);
    let (recorder, recorded_at) = entry_author(ctx, obs)?;
    allergy.set("recordedDate", recorded_at);
    allergy.set("recorder", recorder);
    ctx.warn_unmapped(
        obs,
        &[
            "author",
            "id",
            "code",
            "statusCode",
            "effectiveTime",
            "value",
            "participant",
            "entryRelationship",
            "text",
        ],
    );
    Ok(ctx.bundle.add("AllergyIntolerance", key, allergy))
}

/// The substance (`participant/participantRole/playingEntity`) as the
/// allergy's code, and whether the allergy is refuted. A negated allergy to
/// nothing in particular is C-CDA's "no known allergies".
fn substance(ctx: &Ctx<'_, '_>, obs: Node<'_, '_>, negated: bool) -> (Option<Object<'static>>, bool) {
    let entity = children(obs, "participant").find_map(|p| at(p, &["participantRole", "playingEntity"]));
    let code = entity.and_then(|e| ctx.concept(child(e, "code"))).or_else(|| {
        entity
            .and_then(|e| child(e, "name"))
            .and_then(xml::text)
            .map(|t| Object::new().with("text", t))
    });
    if code.is_none() && negated {
        let none_known = Object::new().with(
            "coding",
            vec![coding(systems::SNOMED, "716186003").with("display", "No known allergy (situation)")],
        );
        return (Some(none_known), false);
    }
    (code, negated)
}

/// The value code of the first part of kind `part`.
fn part_value_code<'a>(parts: &[(Part, Node<'a, '_>)], part: Part) -> Option<&'a str> {
    parts
        .iter()
        .find(|(p, _)| *p == part)
        .and_then(|(_, o)| child(*o, "value"))
        .and_then(|v| attr(v, "code"))
}

/// `reaction` from the Reaction Observations, each with its own severity
/// or else the one given for the allergy as a whole. A severity with no
/// reaction to carry it becomes a reaction whose manifestation is unknown,
/// so the severity is kept.
fn reactions(ctx: &mut Ctx<'_, '_>, parts: &[(Part, Node<'_, '_>)]) -> Result<Vec<Object<'static>>, Error> {
    let mut severities = parts.iter().filter(|(p, _)| *p == Part::Severity).map(|(_, o)| *o);
    let overall = match severities.next() {
        Some(first) => severity(ctx, first),
        None => None,
    };
    for extra in severities {
        ctx.warn(
            extra,
            "more than one severity for one allergy: only the first is mapped",
        );
    }
    let mut out = Vec::new();
    for reaction in parts.iter().filter(|(p, _)| *p == Part::Reaction).map(|(_, o)| *o) {
        let Some(manifestation) = ctx.concept(child(reaction, "value")) else {
            ctx.warn(reaction, "reaction without a manifestation code not mapped");
            continue;
        };
        let own = parts_of_reaction(ctx, reaction);
        out.push(
            Object::new()
                .with("manifestation", vec![manifestation])
                .with("severity", own.or(overall))
                .with("onset", ctx.effective_time(reaction)?.when()),
        );
    }
    if out.is_empty() {
        if let Some(level) = overall {
            let at_node = parts.iter().find(|(p, _)| *p == Part::Severity).map(|(_, o)| *o);
            if let Some(node) = at_node {
                ctx.warn(
                    node,
                    "severity without a reaction: given as a reaction whose manifestation is unknown",
                );
            }
            out.push(
                Object::new()
                    .with("manifestation", vec![crate::datatypes::absent(None)])
                    .with("severity", level),
            );
        }
    }
    Ok(out)
}

/// The severity of one reaction, from a Severity Observation under it;
/// anything else under it is reported.
fn parts_of_reaction(ctx: &mut Ctx<'_, '_>, reaction: Node<'_, '_>) -> Option<&'static str> {
    let mut found = None;
    for (part, obs) in parts(reaction) {
        match part {
            Part::Severity if found.is_none() => found = severity(ctx, obs),
            Part::Severity => ctx.warn(obs, "more than one severity for one reaction: only the first is mapped"),
            _ => ctx.warn(obs, "observation under a reaction not mapped"),
        }
    }
    found
}

/// `mild`, `moderate` or `severe` from a Severity Observation's value: the
/// SNOMED codes of C-CDA's value set, or else the words in its text. Any
/// other severity is reported, not rounded to one of the three.
fn severity(ctx: &mut Ctx<'_, '_>, obs: Node<'_, '_>) -> Option<&'static str> {
    let value = child(obs, "value");
    let by_code = match value.and_then(|v| attr(v, "code")) {
        Some("255604002") => Some("mild"),
        Some("6736007") => Some("moderate"),
        Some("24484000") => Some("severe"),
        _ => None,
    };
    let text = || {
        value
            .and_then(|v| {
                ctx.original_text(v)
                    .or_else(|| attr(v, "displayName").map(str::to_owned))
            })
            .or_else(|| ctx.entry_text(obs))
    };
    let found = by_code.or_else(|| text().and_then(|t| severity_word(&t)));
    if found.is_none() {
        ctx.warn(obs, "severity is not one of mild, moderate or severe; not mapped");
    }
    found
}

/// A severity named in words (English or Dutch), when the whole text is that word.
fn severity_word(text: &str) -> Option<&'static str> {
    match text.trim().to_lowercase().as_str() {
        "mild" | "licht" | "gering" => Some("mild"),
        "moderate" | "matig" => Some("moderate"),
        "severe" | "ernstig" | "ernstige" => Some("severe"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_in_words_map_only_when_unambiguous() {
        assert_eq!(severity_word(" Moderate "), Some("moderate"));
        assert_eq!(severity_word("ernstig"), Some("severe"));
        assert_eq!(severity_word("mild to moderate"), None);
    }
}
