//! The Advance Directives Section (C-CDA 2.16.840.1.113883.10.20.22.2.21):
//! each Advance Directive Observation (…4.48), alone or in an Advance
//! Directive Organizer (…4.108), as a `Consent`.
//!
//! Two zibs take these: a treatment directive (nl-core-TreatmentDirective2:
//! whether a named treatment such as resuscitation may be given) and an
//! advance directive (nl-core-AdvanceDirective: a living will, a
//! do-not-resuscitate statement). Each binds its code to a short required
//! list, so a profile is claimed only when the observation uses it (and, for
//! a treatment, says yes or no with a BL value); anything else is a
//! `Consent` without the profile, with a warning, its type kept as a
//! category and its value as the provision's code.

use roxmltree::Node;
use zorgpoort_model::datatypes::{concept, meta};
use zorgpoort_model::systems;
use zorgpoort_model::{EntryRef, Object};

use crate::context::Ctx;
use crate::datatypes::absent;
use crate::entries::{attr_code, warn_other_than};
use crate::error::Error;
use crate::xml::{at, attr, child, children, xsi_type};

const TREATMENT_DIRECTIVE: &str = "http://nictiz.nl/fhir/StructureDefinition/nl-core-TreatmentDirective2";
const ADVANCE_DIRECTIVE: &str = "http://nictiz.nl/fhir/StructureDefinition/nl-core-AdvanceDirective";

/// The treatments of the zib `TreatmentDirective2` (`BehandelingCodelijst`, SNOMED CT).
const TREATMENTS: &[&str] = &[
    "89666000",
    "40617009",
    "305351004",
    "116762002",
    "281789004",
    "32485007",
];
/// The OID of the zib `AdvanceDirective`'s type list (`WilsverklaringTypeCodelijst`).
const DIRECTIVE_TYPES_OID: &str = "2.16.840.1.113883.2.4.3.11.60.40.4.14.1";

/// An Advance Directive Organizer: each of its observations.
pub fn organizer(ctx: &mut Ctx<'_, '_>, organizer: Node<'_, '_>, key: &str) -> Result<Vec<EntryRef>, Error> {
    warn_other_than(ctx, organizer, "component", "observation");
    let mut made = Vec::new();
    for (n, obs) in children(organizer, "component")
        .filter_map(|c| child(c, "observation"))
        .enumerate()
    {
        made.push(observation(ctx, obs, &format!("{key}.{}", n + 1))?);
    }
    ctx.warn_unmapped(organizer, &["id", "code", "statusCode", "effectiveTime", "component"]);
    Ok(made)
}

/// What the zibs make of an observation.
enum Reading {
    /// A treatment, permitted (true) or not.
    Treatment(bool),
    /// A directive of the zib's type list.
    Directive,
    /// Neither: no profile.
    Other,
}

fn reading(obs: Node<'_, '_>) -> Reading {
    let code = child(obs, "code");
    let code_of = |system: &str| {
        code.filter(|c| attr(*c, "codeSystem") == Some(system))
            .and_then(|c| attr(c, "code"))
    };
    let permitted = child(obs, "value")
        .filter(|v| xsi_type(*v) == Some("BL"))
        .and_then(|v| match attr(v, "value") {
            Some("true") => Some(true),
            Some("false") => Some(false),
            _ => None,
        });
    match (code_of("2.16.840.1.113883.6.96"), permitted) {
        (Some(treatment), Some(permit)) if TREATMENTS.contains(&treatment) => Reading::Treatment(permit),
        _ if code_of(DIRECTIVE_TYPES_OID).is_some() => Reading::Directive,
        _ => Reading::Other,
    }
}

/// An Advance Directive Observation as a `Consent`.
pub fn observation(ctx: &mut Ctx<'_, '_>, obs: Node<'_, '_>, key: &str) -> Result<EntryRef, Error> {
    let (identifiers, _) = ctx.identifiers(obs)?;
    let status = match attr_code(child(obs, "statusCode")) {
        Some("nullified") => "entered-in-error",
        Some("aborted" | "cancelled" | "obsolete") => "inactive",
        _ => "active",
    };
    let source_type = ctx.concept(child(obs, "code"));
    let period = ctx.effective_time(obs)?;
    let reading = reading(obs);
    let (profile, scope, category) = match reading {
        Reading::Treatment(_) => (
            Some(TREATMENT_DIRECTIVE),
            "treatment",
            concept(systems::SNOMED, "129125009"),
        ),
        Reading::Directive => (
            Some(ADVANCE_DIRECTIVE),
            "adr",
            concept("http://terminology.hl7.org/CodeSystem/consentcategorycodes", "acd"),
        ),
        Reading::Other => (
            None,
            "adr",
            concept("http://terminology.hl7.org/CodeSystem/consentcategorycodes", "acd"),
        ),
    };
    let (provision_type, provision_code) = match reading {
        Reading::Treatment(permit) => (Some(if permit { "permit" } else { "deny" }), source_type.clone()),
        Reading::Directive => (None, source_type.clone()),
        Reading::Other => (None, ctx.concept(child(obs, "value"))),
    };
    let provision = Object::new()
        .with("type", provision_type)
        .with("period", period.to_object())
        .with("code", provision_code.map(|c| vec![c]));
    let mut categories = vec![category];
    if matches!(reading, Reading::Other) {
        categories.extend(source_type);
    }
    let document = at(obs, &["reference", "externalDocument", "text", "reference"])
        .and_then(|r| attr(r, "value"))
        .filter(|url| !url.starts_with('#'))
        .map(|url| Object::new().with("url", url.to_owned()));
    let consent = Object::new()
        .with("meta", profile.map(meta))
        .with("identifier", identifiers)
        .with("status", status)
        .with(
            "scope",
            concept("http://terminology.hl7.org/CodeSystem/consentscope", scope),
        )
        .with("category", categories)
        .with("patient", ctx.subject())
        .with(
            "sourceAttachment",
            document.filter(|_| !matches!(reading, Reading::Treatment(_))),
        )
        // ppc-1 asks for a policy; a CDA observation names none.
        .with("policyRule", absent(None))
        .with("provision", provision);
    if let (Reading::Directive, Some(value)) = (&reading, child(obs, "value")) {
        ctx.warn(value, "value of an advance directive type not mapped");
    }
    if matches!(reading, Reading::Other) {
        ctx.warn(
            obs,
            "advance directive not coded as the zibs ask (a treatment with a yes/no value, or a directive type): a Consent without nl-core profile",
        );
    }
    ctx.warn_unmapped(
        obs,
        &[
            "id",
            "code",
            "statusCode",
            "effectiveTime",
            "value",
            "text",
            "reference",
        ],
    );
    Ok(ctx.bundle.add("Consent", key, consent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_listed_treatment_with_a_yes_or_no_is_a_treatment_directive() {
        let doc = roxmltree::Document::parse(
            r#"<observation xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
                 <code code="89666000" codeSystem="2.16.840.1.113883.6.96"/><value xsi:type="BL" value="false"/>
               </observation>"#,
        )
        .unwrap();
        assert!(matches!(reading(doc.root_element()), Reading::Treatment(false)));
        let doc = roxmltree::Document::parse(
            r#"<observation xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
                 <code code="304251008" codeSystem="2.16.840.1.113883.6.96"/><value xsi:type="CD" code="304253006"/>
               </observation>"#,
        )
        .unwrap();
        assert!(matches!(reading(doc.root_element()), Reading::Other));
    }
}
