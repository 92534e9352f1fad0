//! Provenance: STU3 says `reason` and `activity` with Codings, the agent's
//! `who[x]` and the entity's `what[x]` as choices; R4 uses
//! `CodeableConcept`s and plain References, and added the agent's `type`
//! and `occurredDateTime`.

use serde_json::{Map, Value, json};

use crate::Error;
use crate::engine::{Ctx, Dir, Res, items, want_arr, want_obj};

pub(super) fn provenance(ctx: &mut Ctx, r: &mut Res<'_>) -> Result<(), Error> {
    r.same(&["target", "recorded", "policy", "location", "signature"]);
    match ctx.dir {
        Dir::ToR4 => {
            r.rename("period", "occurredPeriod");
            codings_to_concepts(r, "reason");
            if let Some(activity) = r.take("activity") {
                r.put("activity", json!({ "coding": [activity] }));
            }
        }
        Dir::ToStu3 => {
            r.rename("occurredPeriod", "period");
            if let Some(time) = r.take("occurredDateTime") {
                ctx.warn(
                    r.loc("occurredDateTime"),
                    "STU3 has only a period; written as a period that starts and ends at this time",
                );
                r.put("period", json!({ "start": time, "end": time }));
            }
            concepts_to_codings(ctx, r, "reason")?;
            if let Some(activity) = r.take("activity") {
                let loc = r.loc("activity");
                let mut codings = concept_codings(ctx, activity, &loc)?;
                if !codings.is_empty() {
                    for i in 1..codings.len() {
                        ctx.warn(
                            format!("{loc}.coding[{i}]"),
                            "STU3 activity is one Coding; only the first is kept",
                        );
                    }
                    r.put("activity", codings.swap_remove(0));
                }
            }
        }
    }
    r.backbone(ctx, "agent", "agent", agent)?;
    r.backbone(ctx, "entity", "entity", |ctx, e| {
        e.same(&["role"]);
        e.backbone(ctx, "agent", "agent", agent)?;
        match ctx.dir {
            Dir::ToR4 => {
                e.rename("whatReference", "what");
                if let Some(identifier) = e.take("whatIdentifier") {
                    e.put("what", json!({ "identifier": identifier }));
                }
            }
            Dir::ToStu3 => e.rename("what", "whatReference"),
        }
        Ok(())
    })?;
    Ok(())
}

/// One agent: STU3 `whoReference`/`onBehalfOfReference` <-> R4 `who` and
/// `onBehalfOf`; R4's `type` becomes the first STU3 `role` (STU3 said the
/// participation type with the role).
fn agent(ctx: &mut Ctx, a: &mut Res<'_>) -> Result<(), Error> {
    match ctx.dir {
        Dir::ToR4 => {
            a.same(&["role"]);
            a.rename("whoReference", "who");
            a.rename("onBehalfOfReference", "onBehalfOf");
        }
        Dir::ToStu3 => {
            let mut roles = Vec::new();
            if let Some(kind) = a.take("type") {
                ctx.warn(a.loc("type"), "STU3 has no agent type; written as the first role");
                roles.push(kind.clone());
            }
            if let Some(role) = a.take("role") {
                roles.extend(want_arr(role, &a.loc("role"))?.iter().cloned());
            }
            a.put_array("role", roles);
            a.rename("who", "whoReference");
            a.rename("onBehalfOf", "onBehalfOfReference");
        }
    }
    Ok(())
}

/// STU3 Codings -> R4 `CodeableConcept`s, one each.
fn codings_to_concepts(r: &mut Res<'_>, key: &str) {
    if let Some(value) = r.take(key) {
        let concepts = items(value, "")
            .into_iter()
            .map(|(_, coding)| json!({ "coding": [coding] }))
            .collect();
        r.put_array(key, concepts);
    }
}

/// R4 `CodeableConcept`s -> STU3 Codings: all their codings, the texts
/// reported.
fn concepts_to_codings(ctx: &mut Ctx, r: &mut Res<'_>, key: &str) -> Result<(), Error> {
    let Some(value) = r.take(key) else {
        return Ok(());
    };
    let mut out = Vec::new();
    for (at, concept) in items(value, &r.loc(key)) {
        out.extend(concept_codings(ctx, concept, &at)?);
    }
    r.put_array(key, out);
    Ok(())
}

/// The codings of one `CodeableConcept`; its text, which a Coding cannot
/// hold, is reported.
fn concept_codings(ctx: &mut Ctx, concept: &Value, at: &str) -> Result<Vec<Value>, Error> {
    let concept: &Map<String, Value> = want_obj(concept, at)?;
    if concept.contains_key("text") {
        ctx.warn(format!("{at}.text"), "an STU3 Coding has no text; left out");
    }
    match concept.get("coding") {
        Some(codings) => Ok(want_arr(codings, &format!("{at}.coding"))?.clone()),
        None => Ok(Vec::new()),
    }
}
