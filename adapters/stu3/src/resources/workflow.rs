//! Composition, Task, Encounter, `DocumentReference`, Coverage, Consent.

use serde_json::{Map, Value, json};

use super::{context_encounter, renamed_code, requester, required};
use crate::Error;
use crate::engine::{Ctx, Dir, Res, items, want_arr, want_obj, want_str};
use crate::meta;

pub(super) fn composition(ctx: &mut Ctx, r: &mut Res<'_>) -> Result<(), Error> {
    r.same(&[
        "identifier",
        "status",
        "type",
        "subject",
        "encounter",
        "date",
        "author",
        "title",
        "confidentiality",
        "custodian",
        "relatesTo",
        "event",
    ]);
    match ctx.dir {
        Dir::ToR4 => {
            r.wrap("class", "category");
            r.backbone(ctx, "attester", "attester", |ctx, a| {
                a.same(&["time", "party"]);
                // STU3 mode is 1..*, R4 1..1.
                a.first(ctx, "mode", "mode");
                Ok(())
            })?;
        }
        Dir::ToStu3 => {
            r.first(ctx, "category", "class");
            required(ctx, r, &["subject"], "subject");
            r.backbone(ctx, "attester", "attester", |_, a| {
                a.same(&["time", "party"]);
                a.wrap("mode", "mode");
                Ok(())
            })?;
        }
    }
    r.backbone(ctx, "section", "section", section)
}

fn section(ctx: &mut Ctx, s: &mut Res<'_>) -> Result<(), Error> {
    s.same(&["title", "code", "text", "mode", "orderedBy", "entry", "emptyReason"]);
    ctx.enter(&s.path)?;
    let nested = s.backbone(ctx, "section", "section", section);
    ctx.leave();
    nested
}

pub(super) fn task(ctx: &mut Ctx, r: &mut Res<'_>) -> Result<(), Error> {
    r.same(&[
        "identifier",
        "basedOn",
        "groupIdentifier",
        "partOf",
        "status",
        "statusReason",
        "businessStatus",
        "priority",
        "code",
        "description",
        "focus",
        "for",
        "executionPeriod",
        "authoredOn",
        "lastModified",
        "performerType",
        "owner",
        "note",
        "relevantHistory",
        "restriction",
    ]);
    context_encounter(ctx, r)?;
    requester(ctx, r)?;
    match ctx.dir {
        Dir::ToR4 => {
            r.same(&["intent"]);
            r.rename("definitionUri", "instantiatesUri");
            super::definition_canonical(ctx, r, "definitionReference", false)?;
            r.rename("reason", "reasonCode");
        }
        Dir::ToStu3 => {
            renamed_code(ctx, r, "intent", &[("proposal", "unknown", true)])?;
            r.rename("instantiatesUri", "definitionUri");
            super::definition_canonical(ctx, r, "definitionReference", false)?;
            r.rename("reasonCode", "reason");
        }
    }
    for key in ["input", "output"] {
        r.backbone(ctx, key, key, task_parameter)?;
    }
    Ok(())
}

/// Task.input/output value[x] types R4 added; three are URIs in STU3.
const R4_ONLY_VALUE_TYPES: &[&str] = &[
    "valueContactDetail",
    "valueContributor",
    "valueDataRequirement",
    "valueExpression",
    "valueParameterDefinition",
    "valueRelatedArtifact",
    "valueTriggerDefinition",
    "valueUsageContext",
    "valueDosage",
];

#[expect(clippy::unnecessary_wraps, reason = "the shape backbone() takes")]
fn task_parameter(ctx: &mut Ctx, p: &mut Res<'_>) -> Result<(), Error> {
    p.same(&["type"]);
    for key in p.keys() {
        let base = key.trim_start_matches('_');
        if !base.starts_with("value") {
            continue;
        }
        match ctx.dir {
            Dir::ToStu3 if matches!(base, "valueCanonical" | "valueUrl" | "valueUuid") => {
                if let Some(v) = p.take(key) {
                    let to = if key.starts_with('_') { "_valueUri" } else { "valueUri" };
                    p.put(to, v.clone());
                }
            }
            Dir::ToStu3 if R4_ONLY_VALUE_TYPES.contains(&base) => {}
            _ => {
                if let Some(v) = p.take(key) {
                    p.put(key, v.clone());
                }
            }
        }
    }
    Ok(())
}

pub(super) fn encounter(ctx: &mut Ctx, r: &mut Res<'_>) -> Result<(), Error> {
    r.same(&[
        "identifier",
        "status",
        "statusHistory",
        "class",
        "classHistory",
        "type",
        "priority",
        "subject",
        "episodeOfCare",
        "participant",
        "period",
        "length",
        "account",
        "hospitalization",
        "serviceProvider",
        "partOf",
    ]);
    r.backbone(ctx, "location", "location", |_, l| {
        l.same(&["location", "status", "period"]);
        Ok(())
    })?;
    match ctx.dir {
        Dir::ToR4 => {
            r.rename("incomingReferral", "basedOn");
            r.rename("reason", "reasonCode");
            r.wrap("appointment", "appointment");
            r.backbone(ctx, "diagnosis", "diagnosis", |_, d| {
                d.same(&["condition", "rank"]);
                d.rename("role", "use");
                Ok(())
            })?;
            required(ctx, r, &["class"], "class");
        }
        Dir::ToStu3 => {
            r.rename("basedOn", "incomingReferral");
            r.rename("reasonCode", "reason");
            r.first(ctx, "appointment", "appointment");
            r.backbone(ctx, "diagnosis", "diagnosis", |_, d| {
                d.same(&["condition", "rank"]);
                d.rename("use", "role");
                Ok(())
            })?;
        }
    }
    Ok(())
}

pub(super) fn document_reference(ctx: &mut Ctx, r: &mut Res<'_>) -> Result<(), Error> {
    r.same(&[
        "masterIdentifier",
        "identifier",
        "status",
        "docStatus",
        "type",
        "subject",
        "author",
        "authenticator",
        "custodian",
        "relatesTo",
        "description",
        "securityLabel",
        "content",
    ]);
    match ctx.dir {
        Dir::ToR4 => {
            r.wrap("class", "category");
            r.rename("indexed", "date");
        }
        Dir::ToStu3 => {
            r.first(ctx, "category", "class");
            r.rename("date", "indexed");
            required(ctx, r, &["indexed"], "indexed");
        }
    }
    r.backbone(ctx, "context", "context", |ctx, c| {
        c.same(&[
            "event",
            "period",
            "facilityType",
            "practiceSetting",
            "sourcePatientInfo",
        ]);
        match ctx.dir {
            Dir::ToR4 => c.wrap("encounter", "encounter"),
            Dir::ToStu3 => c.first(ctx, "encounter", "encounter"),
        }
        if let Some(v) = c.take("related") {
            let mut out = Vec::new();
            for (at, item) in items(v, &c.loc("related")) {
                let item = want_obj(item, &at)?;
                out.push(Value::Object(match ctx.dir {
                    Dir::ToR4 => related_to_r4(ctx, item, &at)?,
                    Dir::ToStu3 => related_to_stu3(item),
                }));
            }
            c.put_array("related", out);
        }
        Ok(())
    })
}

/// STU3 `{ identifier, ref }` -> R4 Reference (with its identifier).
fn related_to_r4(ctx: &mut Ctx, item: &Map<String, Value>, at: &str) -> Result<Map<String, Value>, Error> {
    let mut sub = Res::new(item, at.to_owned());
    let mut out = match sub.take("ref") {
        Some(reference) => want_obj(reference, &format!("{at}.ref"))?.clone(),
        None => Map::new(),
    };
    if let Some(identifier) = sub.take("identifier") {
        if out.contains_key("identifier") {
            ctx.warn(
                format!("{at}.identifier"),
                "the reference has an identifier already; left out",
            );
        } else {
            out.insert("identifier".to_owned(), identifier.clone());
        }
    }
    sub.finish(ctx);
    Ok(out)
}

fn related_to_stu3(item: &Map<String, Value>) -> Map<String, Value> {
    let mut reference = item.clone();
    let mut out = Map::new();
    if let Some(identifier) = reference.remove("identifier") {
        out.insert("identifier".to_owned(), identifier);
    }
    if !reference.is_empty() {
        out.insert("ref".to_owned(), Value::Object(reference));
    }
    out
}

const COVERAGE_CLASS: &str = "http://terminology.hl7.org/CodeSystem/coverage-class";
/// STU3 grouping (value, display) pairs and the R4 class type of each.
const GROUPING: &[(&str, &str, &str)] = &[
    ("group", "groupDisplay", "group"),
    ("subGroup", "subGroupDisplay", "subgroup"),
    ("plan", "planDisplay", "plan"),
    ("subPlan", "subPlanDisplay", "subplan"),
    ("class", "classDisplay", "class"),
    ("subClass", "subClassDisplay", "subclass"),
];

pub(super) fn coverage(ctx: &mut Ctx, r: &mut Res<'_>) -> Result<(), Error> {
    r.same(&[
        "identifier",
        "status",
        "type",
        "policyHolder",
        "subscriber",
        "subscriberId",
        "beneficiary",
        "dependent",
        "relationship",
        "period",
        "payor",
        "order",
        "network",
        "contract",
    ]);
    match ctx.dir {
        Dir::ToR4 => {
            if let Some(v) = r.take("grouping") {
                let loc = r.loc("grouping");
                let mut g = Res::new(want_obj(v, &loc)?, loc);
                let mut classes = Vec::new();
                for &(value_key, display_key, code) in GROUPING {
                    let value = g.take(value_key);
                    let display = g.take(display_key);
                    match value {
                        Some(value) => {
                            let mut class = json!({
                                "type": { "coding": [{ "system": COVERAGE_CLASS, "code": code }] },
                                "value": value,
                            });
                            if let (Some(d), Some(obj)) = (display, class.as_object_mut()) {
                                obj.insert("name".to_owned(), d.clone());
                            }
                            classes.push(class);
                        }
                        None if display.is_some() => {
                            ctx.warn(
                                g.loc(display_key),
                                format!("R4 class needs a value; {display_key} left out"),
                            );
                        }
                        None => {}
                    }
                }
                g.finish(ctx);
                r.put_array("class", classes);
            }
            required(ctx, r, &["payor"], "payor");
            required(ctx, r, &["beneficiary"], "beneficiary");
        }
        Dir::ToStu3 => {
            if let Some(v) = r.take("class") {
                let mut grouping = Map::new();
                for (at, item) in items(v, &r.loc("class")) {
                    let mut c = Res::new(want_obj(item, &at)?, at.clone());
                    let code = c
                        .take("type")
                        .and_then(|t| t.get("coding"))
                        .and_then(Value::as_array)
                        .and_then(|codings| {
                            codings.iter().find_map(|coding| {
                                (coding.get("system").and_then(Value::as_str) == Some(COVERAGE_CLASS))
                                    .then(|| coding.get("code").and_then(Value::as_str))
                                    .flatten()
                            })
                        });
                    let slot = code.and_then(|code| GROUPING.iter().find(|g| g.2 == code));
                    match slot {
                        Some(&(value_key, display_key, _)) if !grouping.contains_key(value_key) => {
                            if let Some(value) = c.take("value") {
                                grouping.insert(value_key.to_owned(), value.clone());
                            }
                            if let Some(name) = c.take("name") {
                                grouping.insert(display_key.to_owned(), name.clone());
                            }
                            c.finish(ctx);
                        }
                        _ => {
                            c.take("value");
                            c.take("name");
                            c.finish(ctx);
                            ctx.warn(
                                at,
                                format!(
                                    "class of type {} has no free place in STU3 grouping; left out",
                                    code.unwrap_or("(none)")
                                ),
                            );
                        }
                    }
                }
                r.put_object("grouping", grouping);
            }
        }
    }
    Ok(())
}

const CONSENT_SCOPE: &str = "http://terminology.hl7.org/CodeSystem/consentscope";
const POLICY_RULE_URI: &str = "urn:ietf:rfc:3986";
/// Consent provision elements that sit at the top of an STU3 Consent.
const TOP_PROVISION: &[&str] = &[
    "period",
    "actor",
    "action",
    "securityLabel",
    "purpose",
    "dataPeriod",
    "data",
];

/// The R4 scope an STU3 Consent implies: the zib directives have their own.
fn scope(r: &Res<'_>, dir: Dir) -> &'static str {
    let (advance, treatment) = match dir {
        Dir::ToR4 => (
            "http://nictiz.nl/fhir/StructureDefinition/zib-AdvanceDirective",
            "http://nictiz.nl/fhir/StructureDefinition/zib-TreatmentDirective",
        ),
        Dir::ToStu3 => (
            "http://nictiz.nl/fhir/StructureDefinition/nl-core-AdvanceDirective",
            "http://nictiz.nl/fhir/StructureDefinition/nl-core-TreatmentDirective2",
        ),
    };
    if meta::claims(r, advance) {
        "adr"
    } else if meta::claims(r, treatment) {
        "treatment"
    } else {
        "patient-privacy"
    }
}

pub(super) fn consent(ctx: &mut Ctx, r: &mut Res<'_>) -> Result<(), Error> {
    r.same(&[
        "status",
        "category",
        "patient",
        "dateTime",
        "organization",
        "sourceAttachment",
        "sourceReference",
        "policy",
    ]);
    match ctx.dir {
        Dir::ToR4 => consent_to_r4(ctx, r),
        Dir::ToStu3 => consent_to_stu3(ctx, r),
    }
}

fn consent_to_r4(ctx: &mut Ctx, r: &mut Res<'_>) -> Result<(), Error> {
    r.wrap("identifier", "identifier");
    r.rename("consentingParty", "performer");
    let code = scope(r, Dir::ToR4);
    r.put(
        "scope",
        json!({ "coding": [{ "system": CONSENT_SCOPE, "code": code }] }),
    );
    required(ctx, r, &["category"], "category");
    if let Some(v) = r.take("policyRule") {
        let uri = want_str(v, &r.loc("policyRule"))?;
        r.put(
            "policyRule",
            json!({ "coding": [{ "system": POLICY_RULE_URI, "code": uri }] }),
        );
    }
    let mut out = Map::new();
    for key in TOP_PROVISION {
        for k in [(*key).to_owned(), format!("_{key}")] {
            if let Some(v) = r.take(&k) {
                out.insert(k, v.clone());
            }
        }
    }
    if let Some(v) = r.take("except") {
        let loc = r.loc("except");
        if let Some(nested) = crate::engine::backbone(ctx, v, &loc, except)? {
            out.insert("provision".to_owned(), nested);
        }
    }
    r.put_object("provision", out);
    Ok(())
}

#[expect(clippy::unnecessary_wraps, reason = "the shape backbone() takes")]
fn except(_ctx: &mut Ctx, e: &mut Res<'_>) -> Result<(), Error> {
    e.same(&[
        "type",
        "period",
        "actor",
        "action",
        "securityLabel",
        "purpose",
        "class",
        "code",
        "dataPeriod",
        "data",
    ]);
    Ok(())
}

fn consent_to_stu3(ctx: &mut Ctx, r: &mut Res<'_>) -> Result<(), Error> {
    r.first(ctx, "identifier", "identifier");
    r.rename("performer", "consentingParty");
    required(ctx, r, &["patient"], "patient");
    if let Some(v) = r.take("scope") {
        let expected = scope(r, Dir::ToStu3);
        let implied = *v == json!({ "coding": [{ "system": CONSENT_SCOPE, "code": expected }] });
        if !implied {
            ctx.lost(r.loc("scope"));
        }
    }
    if let Some(v) = r.take("policyRule") {
        let loc = r.loc("policyRule");
        let concept = want_obj(v, &loc)?;
        let uri = match concept.get("coding") {
            Some(c) => want_arr(c, &format!("{loc}.coding"))?.iter().find_map(|coding| {
                (coding.get("system").and_then(Value::as_str) == Some(POLICY_RULE_URI))
                    .then(|| coding.get("code").and_then(Value::as_str))
                    .flatten()
            }),
            None => None,
        };
        match uri {
            Some(uri) => r.put("policyRule", json!(uri)),
            None => ctx.warn(loc, "STU3 policyRule is a URI; a code without one left out"),
        }
    }
    if let Some(v) = r.take("provision") {
        let loc = r.loc("provision");
        let mut p = Res::new(want_obj(v, &loc)?, loc);
        p.same(TOP_PROVISION);
        ctx.enter(&p.path)?;
        p.backbone(ctx, "provision", "except", except)?;
        ctx.leave();
        // The rest (type, class, code, extensions of the provision) has no
        // place at the top of an STU3 Consent and is reported by finish.
        let out = p.finish(ctx);
        for (k, v) in out {
            r.put(&k, v);
        }
    }
    Ok(())
}
