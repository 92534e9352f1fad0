//! Condition, `AllergyIntolerance`, Observation, Procedure, Flag.

use serde_json::{Value, json};

use super::{code_concept, comment_note, context_encounter, definition_canonical, renamed_code};
use crate::Error;
use crate::engine::{Ctx, Dir, Res, items, want_bool, want_obj, want_str};

const CONDITION_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";
const CONDITION_VERIFICATION: &str = "http://terminology.hl7.org/CodeSystem/condition-ver-status";
const ALLERGY_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical";
const ALLERGY_VERIFICATION: &str = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification";
/// R4 has no `Condition.assertedDate`; the core extension carries it.
const ASSERTED_DATE: &str = "http://hl7.org/fhir/StructureDefinition/condition-assertedDate";

pub(super) fn condition(ctx: &mut Ctx, r: &mut Res<'_>) -> Result<(), Error> {
    r.same(&[
        "identifier",
        "category",
        "severity",
        "code",
        "bodySite",
        "subject",
        "onsetDateTime",
        "onsetAge",
        "onsetPeriod",
        "onsetRange",
        "onsetString",
        "abatementDateTime",
        "abatementAge",
        "abatementPeriod",
        "abatementRange",
        "abatementString",
        "asserter",
        "evidence",
        "note",
    ]);
    code_concept(
        ctx,
        r,
        "clinicalStatus",
        CONDITION_CLINICAL,
        &[],
        &[("relapse", Some("recurrence"))],
    )?;
    code_concept(
        ctx,
        r,
        "verificationStatus",
        CONDITION_VERIFICATION,
        &[("unknown", None)],
        &[("unconfirmed", Some("provisional"))],
    )?;
    context_encounter(ctx, r)?;
    match ctx.dir {
        Dir::ToR4 => {
            if let Some(v) = r.take("assertedDate") {
                let date = want_str(v, &r.loc("assertedDate"))?;
                let ext = json!({ "url": ASSERTED_DATE, "valueDateTime": date });
                match r.out.get_mut("extension") {
                    Some(Value::Array(list)) => list.push(ext),
                    _ => r.put("extension", Value::Array(vec![ext])),
                }
            }
            // STU3 stage is 0..1, R4 0..*.
            r.backbone(ctx, "stage", "stage", stage)?;
            if let Some(stage) = r.out.remove("stage") {
                r.put(
                    "stage",
                    if stage.is_array() {
                        stage
                    } else {
                        Value::Array(vec![stage])
                    },
                );
            }
        }
        Dir::ToStu3 => {
            asserted_date_from_extension(r);
            if let Some(v) = r.take("stage") {
                let loc = r.loc("stage");
                let list = items(v, &loc);
                for (at, _) in list.iter().skip(1) {
                    ctx.warn(at, "STU3 allows one stage; left out");
                }
                if let Some((at, first)) = list.first()
                    && let Some(out) = crate::engine::backbone(ctx, first, at, stage)?
                {
                    r.put("stage", out);
                }
            }
        }
    }
    Ok(())
}

#[expect(clippy::unnecessary_wraps, reason = "the shape backbone() takes")]
fn stage(_ctx: &mut Ctx, s: &mut Res<'_>) -> Result<(), Error> {
    s.same(&["summary", "assessment"]);
    Ok(())
}

fn asserted_date_from_extension(r: &mut Res<'_>) {
    let Some(Value::Array(list)) = r.out.get_mut("extension") else {
        return;
    };
    let Some(i) = list.iter().position(|e| {
        e.get("url").and_then(Value::as_str) == Some(ASSERTED_DATE)
            && e.get("valueDateTime").is_some_and(Value::is_string)
    }) else {
        return;
    };
    let ext = list.remove(i);
    if list.is_empty() {
        r.out.remove("extension");
    }
    if let Some(date) = ext.get("valueDateTime") {
        r.put("assertedDate", date.clone());
    }
}

pub(super) fn allergy_intolerance(ctx: &mut Ctx, r: &mut Res<'_>) -> Result<(), Error> {
    r.same(&[
        "identifier",
        "type",
        "category",
        "criticality",
        "code",
        "patient",
        "onsetDateTime",
        "onsetAge",
        "onsetPeriod",
        "onsetRange",
        "onsetString",
        "recorder",
        "asserter",
        "lastOccurrence",
        "note",
        "reaction",
    ]);
    code_concept(ctx, r, "clinicalStatus", ALLERGY_CLINICAL, &[], &[])?;
    code_concept(ctx, r, "verificationStatus", ALLERGY_VERIFICATION, &[], &[])?;
    match ctx.dir {
        Dir::ToR4 => r.rename("assertedDate", "recordedDate"),
        Dir::ToStu3 => {
            r.rename("recordedDate", "assertedDate");
            super::required(ctx, r, &["verificationStatus"], "verificationStatus");
        }
    }
    Ok(())
}

const OBSERVATION_VALUES: &[&str] = &[
    "valueQuantity",
    "valueCodeableConcept",
    "valueString",
    "valueBoolean",
    "valueRange",
    "valueRatio",
    "valueSampledData",
    "valueTime",
    "valueDateTime",
    "valuePeriod",
];

pub(super) fn observation(ctx: &mut Ctx, r: &mut Res<'_>) -> Result<(), Error> {
    r.same(&[
        "identifier",
        "basedOn",
        "status",
        "category",
        "code",
        "subject",
        "effectiveDateTime",
        "effectivePeriod",
        "issued",
        "performer",
        "dataAbsentReason",
        "bodySite",
        "method",
        "specimen",
        "device",
    ]);
    r.same(OBSERVATION_VALUES);
    context_encounter(ctx, r)?;
    comment_note(ctx, r)?;
    interpretation(ctx, r);
    r.backbone(ctx, "referenceRange", "referenceRange", reference_range)?;
    r.backbone(ctx, "component", "component", |ctx, c| {
        c.same(&["code", "dataAbsentReason"]);
        c.same(OBSERVATION_VALUES);
        interpretation(ctx, c);
        c.backbone(ctx, "referenceRange", "referenceRange", reference_range)
    })?;
    match ctx.dir {
        Dir::ToR4 => {
            if let Some(v) = r.take("related") {
                let (mut members, mut derived) = (Vec::new(), Vec::new());
                for (at, item) in items(v, &r.loc("related")) {
                    let mut sub = Res::new(want_obj(item, &at)?, at.clone());
                    let kind = sub
                        .take("type")
                        .map(|t| want_str(t, &format!("{at}.type")))
                        .transpose()?;
                    let target = sub.take("target");
                    match (kind, target) {
                        (Some("has-member"), Some(t)) => members.push(t.clone()),
                        (Some("derived-from"), Some(t)) => derived.push(t.clone()),
                        (kind, _) => ctx.warn(
                            &at,
                            format!(
                                "related of type {} has no R4 counterpart (only has-member and derived-from); left out",
                                kind.unwrap_or("(none)")
                            ),
                        ),
                    }
                    sub.finish(ctx);
                }
                r.put_array("hasMember", members);
                r.put_array("derivedFrom", derived);
            }
        }
        Dir::ToStu3 => {
            // An instant is a dateTime too.
            r.rename("effectiveInstant", "effectiveDateTime");
            let mut related = Vec::new();
            for (key, kind) in [("hasMember", "has-member"), ("derivedFrom", "derived-from")] {
                if let Some(v) = r.take(key) {
                    for (_, target) in items(v, &r.loc(key)) {
                        related.push(json!({ "type": kind, "target": target }));
                    }
                }
            }
            r.put_array("related", related);
        }
    }
    Ok(())
}

/// STU3 `interpretation` is 0..1, R4 0..*.
fn interpretation(ctx: &mut Ctx, r: &mut Res<'_>) {
    match ctx.dir {
        Dir::ToR4 => r.wrap("interpretation", "interpretation"),
        Dir::ToStu3 => r.first(ctx, "interpretation", "interpretation"),
    }
}

#[expect(clippy::unnecessary_wraps, reason = "the shape backbone() takes")]
fn reference_range(_ctx: &mut Ctx, rr: &mut Res<'_>) -> Result<(), Error> {
    rr.same(&["low", "high", "type", "appliesTo", "age", "text"]);
    Ok(())
}

/// (STU3, R4, lossy) status codes of Procedure.
const PROCEDURE_STATUS: &[(&str, &str, bool)] = &[("suspended", "on-hold", false), ("aborted", "stopped", false)];

pub(super) fn procedure(ctx: &mut Ctx, r: &mut Res<'_>) -> Result<(), Error> {
    r.same(&[
        "identifier",
        "basedOn",
        "partOf",
        "category",
        "code",
        "subject",
        "performedDateTime",
        "performedPeriod",
        "location",
        "reasonCode",
        "reasonReference",
        "bodySite",
        "outcome",
        "report",
        "complication",
        "complicationDetail",
        "followUp",
        "note",
        "focalDevice",
        "usedReference",
        "usedCode",
    ]);
    definition_canonical(ctx, r, "definition", true)?;
    context_encounter(ctx, r)?;
    let status = renamed_code(ctx, r, "status", PROCEDURE_STATUS)?;
    match ctx.dir {
        Dir::ToR4 => {
            r.backbone(ctx, "performer", "performer", |_, p| {
                p.rename("role", "function");
                p.same(&["actor", "onBehalfOf"]);
                Ok(())
            })?;
            let not_done = match r.take("notDone") {
                Some(v) => want_bool(v, &r.loc("notDone"))?,
                None => false,
            };
            if not_done {
                // STU3 said "not done" beside the status; R4 says it with the status.
                if let Some(old) = status.as_deref().filter(|s| *s != "unknown") {
                    ctx.warn(
                        r.loc("status"),
                        format!("status {old} replaced by not-done (notDone is true)"),
                    );
                }
                r.put("status", Value::String("not-done".to_owned()));
                r.out.remove("_status");
                r.rename("notDoneReason", "statusReason");
            } else if r.get("notDoneReason").is_some() {
                r.take("notDoneReason");
                ctx.warn(r.loc("notDoneReason"), "a reason not done without notDone; left out");
            }
        }
        Dir::ToStu3 => {
            r.backbone(ctx, "performer", "performer", |_, p| {
                p.rename("function", "role");
                p.same(&["actor", "onBehalfOf"]);
                Ok(())
            })?;
            if status.as_deref() == Some("not-done") {
                r.put("status", Value::String("unknown".to_owned()));
                r.put("notDone", Value::Bool(true));
                r.rename("statusReason", "notDoneReason");
            }
        }
    }
    Ok(())
}

pub(super) fn flag(ctx: &mut Ctx, r: &mut Res<'_>) {
    r.same(&[
        "identifier",
        "status",
        "code",
        "subject",
        "period",
        "encounter",
        "author",
    ]);
    match ctx.dir {
        Dir::ToR4 => r.wrap("category", "category"),
        Dir::ToStu3 => r.first(ctx, "category", "category"),
    }
}
