//! `MedicationStatement`, `MedicationRequest`, Immunization, Medication.

use serde_json::{Value, json};

use super::{context_encounter, definition_canonical, dosage, renamed_code, requester, required};
use crate::Error;
use crate::engine::{Ctx, Dir, Res, items, want_bool, want_obj, want_str};

pub(super) fn medication_statement(ctx: &mut Ctx, r: &mut Res<'_>) -> Result<(), Error> {
    r.same(&[
        "identifier",
        "basedOn",
        "partOf",
        "context",
        "category",
        "medicationCodeableConcept",
        "medicationReference",
        "effectiveDateTime",
        "effectivePeriod",
        "dateAsserted",
        "informationSource",
        "subject",
        "derivedFrom",
        "reasonCode",
        "reasonReference",
        "note",
    ]);
    dosage(ctx, r, "dosage")?;
    let status = match r.take("status") {
        Some(v) => Some(want_str(v, &r.loc("status"))?.to_owned()),
        None => None,
    };
    r.same(&["_status"]);
    match ctx.dir {
        Dir::ToR4 => {
            r.rename("reasonNotTaken", "statusReason");
            let taken = match r.take("taken") {
                Some(v) => Some(want_str(v, &r.loc("taken"))?),
                None => None,
            };
            // R4 folded `taken` into the status; (status, taken) pairs that
            // R4 -> STU3 writes come back without a warning.
            let replaced = match (status.as_deref(), taken) {
                (Some(s), Some("n")) => Some((s, "not-taken", s != "completed")),
                (Some(s), Some("unk")) if !matches!(s, "intended" | "entered-in-error") => {
                    Some((s, "unknown", s != "active"))
                }
                _ => None,
            };
            if let Some((old, new, lossy)) = replaced {
                if lossy {
                    ctx.warn(
                        r.loc("status"),
                        format!("status {old} replaced by {new} (taken is {})", taken.unwrap_or("")),
                    );
                }
                r.put("status", Value::String(new.to_owned()));
            } else {
                if let Some(s) = status.clone() {
                    r.put("status", Value::String(s));
                }
                if taken == Some("na") {
                    ctx.warn(r.loc("taken"), "taken na has no R4 counterpart; left out");
                }
            }
        }
        Dir::ToStu3 => {
            r.rename("statusReason", "reasonNotTaken");
            let (s, taken) = match status.as_deref() {
                Some("not-taken") => ("completed", "n"),
                Some("unknown") => ("active", "unk"),
                Some(s @ ("intended" | "entered-in-error")) => (s, "unk"),
                Some(s) => (s, "y"),
                None => {
                    required(ctx, r, &["status"], "status");
                    return Ok(());
                }
            };
            r.put("status", Value::String(s.to_owned()));
            r.put("taken", Value::String(taken.to_owned()));
        }
    }
    Ok(())
}

/// (STU3, R4, lossy) request intents: R4 added some.
const INTENT: &[(&str, &str, bool)] = &[
    ("order", "original-order", true),
    ("order", "reflex-order", true),
    ("order", "filler-order", true),
    ("proposal", "option", true),
];

pub(super) fn medication_request(ctx: &mut Ctx, r: &mut Res<'_>) -> Result<(), Error> {
    r.same(&[
        "identifier",
        "basedOn",
        "groupIdentifier",
        "status",
        "priority",
        "medicationCodeableConcept",
        "medicationReference",
        "subject",
        "supportingInformation",
        "authoredOn",
        "recorder",
        "reasonCode",
        "reasonReference",
        "note",
        "priorPrescription",
        "detectedIssue",
        "eventHistory",
    ]);
    if ctx.dir == Dir::ToR4 {
        r.same(&["intent"]);
    } else {
        renamed_code(ctx, r, "intent", INTENT)?;
    }
    context_encounter(ctx, r)?;
    requester(ctx, r)?;
    definition_canonical(ctx, r, "definition", true)?;
    dosage(ctx, r, "dosageInstruction")?;
    r.backbone(ctx, "dispenseRequest", "dispenseRequest", |_, d| {
        d.same(&[
            "validityPeriod",
            "numberOfRepeatsAllowed",
            "quantity",
            "expectedSupplyDuration",
            "performer",
        ]);
        Ok(())
    })?;
    match ctx.dir {
        Dir::ToR4 => {
            r.wrap("category", "category");
            r.backbone(ctx, "substitution", "substitution", |_, s| {
                s.rename("allowed", "allowedBoolean");
                s.same(&["reason"]);
                Ok(())
            })?;
        }
        Dir::ToStu3 => {
            r.first(ctx, "category", "category");
            r.backbone(ctx, "substitution", "substitution", |_, s| {
                s.rename("allowedBoolean", "allowed");
                s.same(&["reason"]);
                Ok(())
            })?;
        }
    }
    Ok(())
}

pub(super) fn immunization(ctx: &mut Ctx, r: &mut Res<'_>) -> Result<(), Error> {
    r.same(&[
        "identifier",
        "vaccineCode",
        "patient",
        "encounter",
        "primarySource",
        "reportOrigin",
        "location",
        "manufacturer",
        "lotNumber",
        "expirationDate",
        "site",
        "route",
        "doseQuantity",
        "note",
        "reaction",
    ]);
    match ctx.dir {
        Dir::ToR4 => immunization_to_r4(ctx, r),
        Dir::ToStu3 => immunization_to_stu3(ctx, r),
    }
}

fn immunization_to_r4(ctx: &mut Ctx, r: &mut Res<'_>) -> Result<(), Error> {
    let status = match r.take("status") {
        Some(v) => Some(want_str(v, &r.loc("status"))?.to_owned()),
        None => None,
    };
    let not_given = match r.take("notGiven") {
        Some(v) => want_bool(v, &r.loc("notGiven"))?,
        None => false,
    };
    match (status, not_given) {
        (Some(s), true) if s != "completed" => {
            ctx.warn(
                r.loc("notGiven"),
                format!("notGiven true with status {s}: R4 keeps the status only"),
            );
            r.put("status", Value::String(s));
        }
        (_, true) => r.put("status", Value::String("not-done".to_owned())),
        (Some(s), false) => r.put("status", Value::String(s)),
        (None, false) => {}
    }
    r.same(&["_status"]);
    r.rename("date", "occurrenceDateTime");
    required(ctx, r, &["occurrenceDateTime"], "occurrence[x]");
    r.backbone(ctx, "practitioner", "performer", |_, p| {
        p.rename("role", "function");
        p.same(&["actor"]);
        Ok(())
    })?;
    if let Some(v) = r.take("explanation") {
        let loc = r.loc("explanation");
        let mut sub = Res::new(want_obj(v, &loc)?, loc);
        if let Some(reason) = sub.take("reason") {
            r.put("reasonCode", reason.clone());
        }
        if let Some(not_given) = sub.take("reasonNotGiven") {
            let list = items(not_given, &sub.loc("reasonNotGiven"));
            for (at, _) in list.iter().skip(1) {
                ctx.warn(at, "R4 has one statusReason; left out");
            }
            if let Some((_, first)) = list.first() {
                r.put("statusReason", (*first).clone());
            }
        }
        sub.finish(ctx);
    }
    r.backbone(ctx, "vaccinationProtocol", "protocolApplied", |ctx, p| {
        p.same(&["authority", "series", "targetDisease"]);
        p.rename("doseSequence", "doseNumberPositiveInt");
        p.rename("seriesDoses", "seriesDosesPositiveInt");
        required(ctx, p, &["doseNumberPositiveInt"], "doseNumber[x]");
        Ok(())
    })
}

fn immunization_to_stu3(ctx: &mut Ctx, r: &mut Res<'_>) -> Result<(), Error> {
    let status = match r.take("status") {
        Some(v) => Some(want_str(v, &r.loc("status"))?),
        None => None,
    };
    match status {
        Some("not-done") => {
            r.put("status", json!("completed"));
            r.put("notGiven", json!(true));
        }
        Some(s) => {
            r.put("status", json!(s));
            r.put("notGiven", json!(false));
        }
        None => r.put("notGiven", json!(false)),
    }
    r.same(&["_status"]);
    r.rename("occurrenceDateTime", "date");
    required(ctx, r, &["primarySource"], "primarySource");
    r.backbone(ctx, "performer", "practitioner", |_, p| {
        p.rename("function", "role");
        p.same(&["actor"]);
        Ok(())
    })?;
    let mut explanation = serde_json::Map::new();
    if let Some(reason) = r.take("reasonCode") {
        explanation.insert("reason".to_owned(), reason.clone());
    }
    if let Some(reason) = r.take("statusReason") {
        explanation.insert("reasonNotGiven".to_owned(), json!([reason]));
    }
    r.put_object("explanation", explanation);
    r.backbone(ctx, "protocolApplied", "vaccinationProtocol", |ctx, p| {
        p.same(&["authority", "series", "targetDisease"]);
        p.rename("doseNumberPositiveInt", "doseSequence");
        p.rename("seriesDosesPositiveInt", "seriesDoses");
        required(ctx, p, &["targetDisease"], "targetDisease");
        required(ctx, p, &["doseStatus"], "doseStatus");
        Ok(())
    })
}

pub(super) fn medication(ctx: &mut Ctx, r: &mut Res<'_>) -> Result<(), Error> {
    r.same(&["code", "status", "manufacturer", "form"]);
    match ctx.dir {
        Dir::ToR4 => {
            r.backbone(ctx, "ingredient", "ingredient", |_, i| {
                i.same(&["itemCodeableConcept", "itemReference", "isActive"]);
                i.rename("amount", "strength");
                Ok(())
            })?;
            if let Some(v) = r.take("package") {
                let loc = r.loc("package");
                let mut package = Res::new(want_obj(v, &loc)?, loc);
                package.first(ctx, "batch", "batch");
                if let Some(batch) = package.out.remove("batch") {
                    r.put("batch", batch);
                }
                // container and content have no R4 counterpart.
                package.finish(ctx);
            }
        }
        Dir::ToStu3 => {
            r.backbone(ctx, "ingredient", "ingredient", |_, i| {
                i.same(&["itemCodeableConcept", "itemReference", "isActive"]);
                i.rename("strength", "amount");
                Ok(())
            })?;
            if let Some(batch) = r.take("batch") {
                r.put("package", json!({ "batch": [batch] }));
            }
        }
    }
    Ok(())
}
