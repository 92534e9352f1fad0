//! The order and its report: STU3 `ProcedureRequest` <-> R4 `ServiceRequest`
//! (the same resource under a new name) and `DiagnosticReport`.

use serde_json::json;

use super::{context_encounter, definition_canonical, renamed_code, requester};
use crate::Error;
use crate::engine::{Ctx, Dir, Res, items, want_obj, want_str};

/// Request status codes renamed in R4: (STU3, R4, lossy).
const REQUEST_STATUS: &[(&str, &str, bool)] = &[("suspended", "on-hold", false), ("cancelled", "revoked", false)];

/// STU3 `ProcedureRequest` <-> R4 `ServiceRequest`.
pub(super) fn service_request(ctx: &mut Ctx, r: &mut Res<'_>) -> Result<(), Error> {
    r.same(&[
        "identifier",
        "basedOn",
        "replaces",
        "requisition",
        "priority",
        "doNotPerform",
        "category",
        "code",
        "subject",
        "occurrenceDateTime",
        "occurrencePeriod",
        "occurrenceTiming",
        "asNeededBoolean",
        "asNeededCodeableConcept",
        "authoredOn",
        "performerType",
        "reasonCode",
        "reasonReference",
        "supportingInfo",
        "specimen",
        "bodySite",
        "note",
        "relevantHistory",
    ]);
    definition_canonical(ctx, r, "definition", true)?;
    context_encounter(ctx, r)?;
    requester(ctx, r)?;
    renamed_code(ctx, r, "status", REQUEST_STATUS)?;
    match ctx.dir {
        Dir::ToR4 => {
            r.put("resourceType", json!("ServiceRequest"));
            r.same(&["intent"]);
            r.wrap("performer", "performer");
        }
        Dir::ToStu3 => {
            r.put("resourceType", json!("ProcedureRequest"));
            directive_intent(ctx, r)?;
            r.first(ctx, "performer", "performer");
        }
    }
    Ok(())
}

/// R4 added the intent `directive` (an instruction by the patient or a
/// related person); STU3's nearest is `order`, written with a warning.
fn directive_intent(ctx: &mut Ctx, r: &mut Res<'_>) -> Result<(), Error> {
    if let Some(intent) = r.get("intent")
        && want_str(intent, &r.loc("intent"))? == "directive"
    {
        r.take("intent");
        r.same(&["_intent"]);
        ctx.warn(
            r.loc("intent"),
            "code directive has no FHIR STU3 counterpart; written as order",
        );
        r.put("intent", json!("order"));
        return Ok(());
    }
    r.same(&["intent"]);
    Ok(())
}

/// `DiagnosticReport`: STU3 performer (role and actor) <-> R4 `performer`
/// and `resultsInterpreter`; `image` <-> `media`; `codedDiagnosis` <->
/// `conclusionCode`.
pub(super) fn diagnostic_report(ctx: &mut Ctx, r: &mut Res<'_>) -> Result<(), Error> {
    r.same(&[
        "identifier",
        "basedOn",
        "status",
        "code",
        "subject",
        "effectiveDateTime",
        "effectivePeriod",
        "issued",
        "specimen",
        "result",
        "imagingStudy",
        "conclusion",
        "presentedForm",
    ]);
    context_encounter(ctx, r)?;
    match ctx.dir {
        Dir::ToR4 => {
            r.wrap("category", "category");
            r.rename("codedDiagnosis", "conclusionCode");
            r.backbone(ctx, "image", "media", |_, m| {
                m.same(&["comment", "link"]);
                Ok(())
            })?;
            performers_to_r4(ctx, r)?;
        }
        Dir::ToStu3 => {
            r.first(ctx, "category", "category");
            r.rename("conclusionCode", "codedDiagnosis");
            r.backbone(ctx, "media", "image", |_, m| {
                m.same(&["comment", "link"]);
                Ok(())
            })?;
            performers_to_stu3(ctx, r);
        }
    }
    Ok(())
}

/// STU3 `performer { role, actor }` -> R4 `performer` (the actors); R4
/// has no role on a report's performer, so a role is reported.
fn performers_to_r4(ctx: &mut Ctx, r: &mut Res<'_>) -> Result<(), Error> {
    let Some(value) = r.take("performer") else {
        return Ok(());
    };
    let mut actors = Vec::new();
    for (at, item) in items(value, &r.loc("performer")) {
        let mut performer = Res::new(want_obj(item, &at)?, at);
        if let Some(actor) = performer.take("actor") {
            actors.push(actor.clone());
        }
        performer.finish(ctx);
    }
    r.put_array("performer", actors);
    Ok(())
}

/// R4 `performer` and `resultsInterpreter` -> STU3 `performer { actor }`;
/// an interpreter keeps what it was as the role's text.
fn performers_to_stu3(ctx: &mut Ctx, r: &mut Res<'_>) {
    let mut out = Vec::new();
    if let Some(value) = r.take("performer") {
        out.extend(items(value, "").into_iter().map(|(_, actor)| json!({ "actor": actor })));
    }
    if let Some(value) = r.take("resultsInterpreter") {
        ctx.warn(
            r.loc("resultsInterpreter"),
            "STU3 has no resultsInterpreter; written as a performer with the role text \"results interpreter\"",
        );
        out.extend(
            items(value, "")
                .into_iter()
                .map(|(_, actor)| json!({ "role": { "text": "results interpreter" }, "actor": actor })),
        );
    }
    r.put_array("performer", out);
}
