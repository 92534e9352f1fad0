//! The Functional Status (C-CDA 2.16.840.1.113883.10.20.22.2.14) and
//! Mental Status (…2.56) sections: each status observation, alone or in a
//! status organizer, as an Observation for nl-core-FunctionalOrMentalStatus.
//!
//! The zib binds the status name and value to code systems (SNOMED CT,
//! ICF, Omaha, NOC): the profile is claimed only when the codes are SNOMED
//! CT, the one of those this adapter knows by OID; a LOINC-coded C-CDA
//! observation keeps its data without the profile, and a warning says so.

use roxmltree::Node;
use zorgpoort_model::datatypes::{concept, meta};
use zorgpoort_model::systems;
use zorgpoort_model::{EntryRef, Object, Value};

use crate::context::Ctx;
use crate::datatypes::codes_of;
use crate::entries::{attr_code, entry_author, observation_status, set_time, set_value, warn_other_than};
use crate::error::Error;
use crate::xml::{child, children};

const PROFILE: &str = "http://nictiz.nl/fhir/StructureDefinition/nl-core-FunctionalOrMentalStatus";

/// A status organizer (…4.66, …4.75): each of its observations.
pub fn organizer(
    ctx: &mut Ctx<'_, '_>,
    organizer: Node<'_, '_>,
    mental: bool,
    key: &str,
) -> Result<Vec<EntryRef>, Error> {
    warn_other_than(ctx, organizer, "component", "observation");
    let mut made = Vec::new();
    for (n, obs) in children(organizer, "component")
        .filter_map(|c| child(c, "observation"))
        .enumerate()
    {
        made.push(observation(ctx, obs, mental, &format!("{key}.{}", n + 1))?);
    }
    // The organizer's code (an ICF chapter, say) groups; it is no status.
    ctx.warn_unmapped(organizer, &["id", "statusCode", "effectiveTime", "component"]);
    Ok(made)
}

/// A functional or mental status observation.
pub fn observation(ctx: &mut Ctx<'_, '_>, obs: Node<'_, '_>, mental: bool, key: &str) -> Result<EntryRef, Error> {
    let (identifiers, _) = ctx.identifiers(obs)?;
    let category = if mental {
        concept(systems::SNOMED, "384821006").with("text", "Mental status finding")
    } else {
        concept(systems::SNOMED, "118228005").with("text", "Functional status finding")
    };
    let mut resource = Object::new()
        .with("identifier", identifiers)
        .with("status", observation_status(attr_code(child(obs, "statusCode"))))
        .with("category", vec![category])
        .with("code", ctx.required_concept(child(obs, "code")))
        .with("subject", ctx.subject());
    set_time(ctx, &mut resource, obs, "effective")?;
    set_value(ctx, &mut resource, obs)?;
    if fits(&resource) {
        resource.insert_after("", "meta", meta(PROFILE));
    } else {
        ctx.warn(
            obs,
            "status not coded in SNOMED CT: mapped without nl-core-FunctionalOrMentalStatus",
        );
    }
    let (performer, _) = entry_author(ctx, obs)?;
    resource.set("performer", performer.map(|p| vec![p]));
    ctx.warn_unmapped(
        obs,
        &["id", "code", "statusCode", "effectiveTime", "value", "text", "author"],
    );
    Ok(ctx.bundle.add("Observation", key, resource))
}

/// True when the status name, and a coded value, carry a SNOMED coding
/// and the time is a point, as the zib's slices ask.
fn fits(resource: &Object<'_>) -> bool {
    let snomed = |concept: Option<&Value<'_>>| match concept {
        Some(Value::Obj(c)) => codes_of(c).any(|(system, _)| system == systems::SNOMED),
        _ => false,
    };
    let value_ok = resource.get("valueCodeableConcept").is_none() || snomed(resource.get("valueCodeableConcept"));
    snomed(resource.get("code")) && value_ok && resource.get("effectivePeriod").is_none()
}
