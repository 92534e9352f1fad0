//! The per-resource mappings, both directions in one function each, and the
//! element patterns several resources share.

mod admin;
mod bundle;
mod clinical;
mod diagnostics;
mod medication;
mod provenance;
mod workflow;

use serde_json::{Map, Value, json};

use crate::Error;
use crate::engine::{Ctx, Dir, Res, items, want_arr, want_obj, want_str};

/// Resource types converted (both directions). `ProcedureRequest` is the
/// STU3 name of R4's `ServiceRequest`: each is read only in its own version.
pub(crate) const SUPPORTED: &[&str] = &[
    "AllergyIntolerance",
    "Bundle",
    "Composition",
    "Condition",
    "Consent",
    "Coverage",
    "DiagnosticReport",
    "DocumentReference",
    "Encounter",
    "Endpoint",
    "Flag",
    "Immunization",
    "Medication",
    "MedicationRequest",
    "MedicationStatement",
    "Observation",
    "OperationOutcome",
    "Organization",
    "Patient",
    "Practitioner",
    "PractitionerRole",
    "Procedure",
    "ProcedureRequest",
    "Provenance",
    "RelatedPerson",
    "ServiceRequest",
    "Task",
];

/// Whether `resource_type` is one the source version of `dir` has and this
/// crate converts.
pub(crate) fn is_supported(dir: Dir, resource_type: &str) -> bool {
    match resource_type {
        "ProcedureRequest" => dir == Dir::ToR4,
        "ServiceRequest" => dir == Dir::ToStu3,
        other => SUPPORTED.contains(&other),
    }
}

/// Maps the resource-specific elements (the common ones are done).
pub(crate) fn convert(ctx: &mut Ctx, resource_type: &str, r: &mut Res<'_>) -> Result<(), Error> {
    match resource_type {
        "Patient" => {
            admin::patient(r);
            Ok(())
        }
        "Practitioner" => {
            admin::practitioner(r);
            Ok(())
        }
        "PractitionerRole" => {
            admin::practitioner_role(r);
            Ok(())
        }
        "Organization" => {
            admin::organization(r);
            Ok(())
        }
        "RelatedPerson" => {
            admin::related_person(ctx, r);
            Ok(())
        }
        // Same shape in STU3 and R4.
        "OperationOutcome" | "Endpoint" => {
            r.same_rest();
            Ok(())
        }
        "Condition" => clinical::condition(ctx, r),
        "AllergyIntolerance" => clinical::allergy_intolerance(ctx, r),
        "Observation" => clinical::observation(ctx, r),
        "Procedure" => clinical::procedure(ctx, r),
        "Flag" => {
            clinical::flag(ctx, r);
            Ok(())
        }
        "MedicationStatement" => medication::medication_statement(ctx, r),
        "MedicationRequest" => medication::medication_request(ctx, r),
        "Immunization" => medication::immunization(ctx, r),
        "Medication" => medication::medication(ctx, r),
        "Composition" => workflow::composition(ctx, r),
        "Task" => workflow::task(ctx, r),
        "Encounter" => workflow::encounter(ctx, r),
        "DocumentReference" => workflow::document_reference(ctx, r),
        "Coverage" => workflow::coverage(ctx, r),
        "Consent" => workflow::consent(ctx, r),
        "Bundle" => bundle::bundle(ctx, r),
        "ServiceRequest" | "ProcedureRequest" => diagnostics::service_request(ctx, r),
        "DiagnosticReport" => diagnostics::diagnostic_report(ctx, r),
        "Provenance" => provenance::provenance(ctx, r),
        _ => Err(Error::Unsupported {
            resource_type: resource_type.to_owned(),
        }),
    }
}

/// A code in STU3, a `CodeableConcept` from `system` in R4. `to_r4` and
/// `to_stu3` list the codes that differ: `Some(other)` is written (with a
/// warning), `None` has no counterpart (left out with a warning).
pub(crate) fn code_concept(
    ctx: &mut Ctx,
    r: &mut Res<'_>,
    key: &str,
    system: &str,
    to_r4: &[(&str, Option<&str>)],
    to_stu3: &[(&str, Option<&str>)],
) -> Result<(), Error> {
    let Some(value) = r.take(key) else {
        return Ok(());
    };
    let loc = r.loc(key);
    let code = match ctx.dir {
        Dir::ToR4 => want_str(value, &loc)?,
        Dir::ToStu3 => {
            let concept = want_obj(value, &loc)?;
            let codings = match concept.get("coding") {
                Some(c) => want_arr(c, &format!("{loc}.coding"))?.as_slice(),
                None => &[],
            };
            let mut found = None;
            for (i, coding) in codings.iter().enumerate() {
                let at = format!("{loc}.coding[{i}]");
                let coding = want_obj(coding, &at)?;
                let same_system = coding.get("system").and_then(Value::as_str) == Some(system);
                match coding.get("code") {
                    Some(code) if same_system && found.is_none() => {
                        found = Some(want_str(code, &format!("{at}.code"))?);
                    }
                    _ => ctx.warn(at, format!("only the code from {system} fits the STU3 code; left out")),
                }
            }
            if concept.contains_key("text") {
                ctx.warn(format!("{loc}.text"), "the STU3 element is a code; text left out");
            }
            let Some(code) = found else {
                ctx.warn(loc, format!("no code from {system}; left out"));
                return Ok(());
            };
            code
        }
    };
    let table = match ctx.dir {
        Dir::ToR4 => to_r4,
        Dir::ToStu3 => to_stu3,
    };
    let mapped = match table.iter().find(|(from, _)| *from == code) {
        None => Some(code),
        Some((_, Some(other))) => {
            ctx.warn(
                &loc,
                format!(
                    "code {code} has no FHIR {} counterpart; written as {other}",
                    ctx.dir.target()
                ),
            );
            Some(*other)
        }
        Some((_, None)) => {
            ctx.warn(
                &loc,
                format!("code {code} has no FHIR {} counterpart; left out", ctx.dir.target()),
            );
            None
        }
    };
    if let Some(code) = mapped {
        let out = match ctx.dir {
            Dir::ToR4 => json!({ "coding": [{ "system": system, "code": code }] }),
            Dir::ToStu3 => Value::String(code.to_owned()),
        };
        r.put(key, out);
    }
    Ok(())
}

/// A code element whose codes were renamed: (STU3 code, R4 code, lossy).
pub(crate) fn renamed_code(
    ctx: &mut Ctx,
    r: &mut Res<'_>,
    key: &str,
    table: &[(&str, &str, bool)],
) -> Result<Option<String>, Error> {
    let Some(value) = r.take(key) else {
        return Ok(None);
    };
    let loc = r.loc(key);
    let code = want_str(value, &loc)?;
    let hit = table.iter().find(|(stu3, r4, _)| match ctx.dir {
        Dir::ToR4 => *stu3 == code,
        Dir::ToStu3 => *r4 == code,
    });
    let out = match hit {
        None => code,
        Some(&(stu3, r4, lossy)) => {
            let to = if ctx.dir == Dir::ToR4 { r4 } else { stu3 };
            if lossy {
                ctx.warn(
                    &loc,
                    format!(
                        "code {code} has no FHIR {} counterpart; written as {to}",
                        ctx.dir.target()
                    ),
                );
            }
            to
        }
    };
    r.put(key, Value::String(out.to_owned()));
    let ext = format!("_{key}");
    if let Some(v) = r.take(&ext) {
        r.put(&ext, v.clone());
    }
    Ok(Some(out.to_owned()))
}

/// STU3 `context` (Encounter or `EpisodeOfCare`) <-> R4 `encounter`.
pub(crate) fn context_encounter(ctx: &mut Ctx, r: &mut Res<'_>) -> Result<(), Error> {
    match ctx.dir {
        Dir::ToR4 => {
            if let Some(value) = r.get("context") {
                let loc = r.loc("context");
                let reference = want_obj(value, &loc)?.get("reference").and_then(Value::as_str);
                if reference.is_some_and(|s| s.starts_with("EpisodeOfCare/") || s.contains("/EpisodeOfCare/")) {
                    r.take("context");
                    ctx.warn(loc, "R4 `encounter` cannot refer to an EpisodeOfCare; left out");
                    return Ok(());
                }
            }
            r.rename("context", "encounter");
        }
        Dir::ToStu3 => r.rename("encounter", "context"),
    }
    Ok(())
}

/// STU3 `requester { agent, onBehalfOf }` <-> R4 `requester` (a Reference).
pub(crate) fn requester(ctx: &mut Ctx, r: &mut Res<'_>) -> Result<(), Error> {
    let Some(value) = r.take("requester") else {
        return Ok(());
    };
    let loc = r.loc("requester");
    match ctx.dir {
        Dir::ToR4 => {
            let mut sub = Res::new(want_obj(value, &loc)?, loc);
            if let Some(agent) = sub.take("agent") {
                r.put("requester", agent.clone());
            }
            // Everything else (onBehalfOf, extensions of the backbone) has
            // no place in a plain Reference.
            sub.finish(ctx);
        }
        Dir::ToStu3 => r.put("requester", json!({ "agent": value })),
    }
    Ok(())
}

/// STU3 `definition` (References) <-> R4 `instantiatesCanonical`.
pub(crate) fn definition_canonical(ctx: &mut Ctx, r: &mut Res<'_>, stu3_key: &str, many: bool) -> Result<(), Error> {
    match ctx.dir {
        Dir::ToR4 => {
            let Some(value) = r.take(stu3_key) else {
                return Ok(());
            };
            let mut out = Vec::new();
            for (at, item) in items(value, &r.loc(stu3_key)) {
                let mut sub = Res::new(want_obj(item, &at)?, at.clone());
                match sub.take("reference") {
                    Some(reference) => {
                        out.push(Value::String(
                            want_str(reference, &format!("{at}.reference"))?.to_owned(),
                        ));
                    }
                    None => ctx.warn(&at, "R4 `instantiatesCanonical` needs a reference; left out"),
                }
                sub.finish(ctx);
            }
            if many {
                r.put_array("instantiatesCanonical", out);
            } else if let Some(first) = out.into_iter().next() {
                r.put("instantiatesCanonical", first);
            }
        }
        Dir::ToStu3 => {
            let Some(value) = r.take("instantiatesCanonical") else {
                return Ok(());
            };
            let mut out = Vec::new();
            for (at, item) in items(value, &r.loc("instantiatesCanonical")) {
                out.push(json!({ "reference": want_str(item, &at)? }));
            }
            if many {
                r.put_array(stu3_key, out);
            } else if let Some(first) = out.into_iter().next() {
                r.put(stu3_key, first);
            }
        }
    }
    Ok(())
}

/// Warns when a required element of the target is absent from the output.
pub(crate) fn required(ctx: &mut Ctx, r: &Res<'_>, keys: &[&str], name: &str) {
    if !keys.iter().any(|k| r.out.contains_key(*k)) {
        ctx.warn(
            r.loc(name),
            format!("required in FHIR {} but absent in the input", ctx.dir.target()),
        );
    }
}

/// The dose[x] and rate[x] of an STU3 Dosage, in R4 inside `doseAndRate`.
const DOSE_RATE: [&str; 5] = ["doseRange", "doseQuantity", "rateRatio", "rateRange", "rateQuantity"];

/// The STU3 `Dosage` datatype (dose[x] and rate[x] at the top) <-> R4
/// (`doseAndRate`).
pub(crate) fn dosage(ctx: &mut Ctx, r: &mut Res<'_>, key: &str) -> Result<(), Error> {
    r.backbone(ctx, key, key, |ctx, d| {
        d.same(&[
            "sequence",
            "text",
            "additionalInstruction",
            "patientInstruction",
            "timing",
            "asNeededBoolean",
            "asNeededCodeableConcept",
            "site",
            "route",
            "method",
            "maxDosePerPeriod",
            "maxDosePerAdministration",
            "maxDosePerLifetime",
        ]);
        match ctx.dir {
            Dir::ToR4 => {
                let mut dr = Map::new();
                for k in DOSE_RATE {
                    if let Some(v) = d.take(k) {
                        dr.insert(k.to_owned(), v.clone());
                    }
                }
                if !dr.is_empty() {
                    d.put("doseAndRate", Value::Array(vec![Value::Object(dr)]));
                }
            }
            Dir::ToStu3 => {
                let at = match d.get("doseAndRate") {
                    Some(Value::Array(_)) => format!("{}[0]", d.loc("doseAndRate")),
                    _ => d.loc("doseAndRate"),
                };
                d.first(ctx, "doseAndRate", "doseAndRate");
                if let Some(Value::Object(dr)) = d.out.remove("doseAndRate") {
                    let mut sub = Res::new(&dr, at);
                    for k in DOSE_RATE {
                        if let Some(v) = sub.take(k) {
                            d.put(k, v.clone());
                        }
                    }
                    sub.finish(ctx);
                }
            }
        }
        Ok(())
    })
}

/// STU3 `Observation.comment` (a string) <-> R4 `note` (Annotations).
pub(crate) fn comment_note(ctx: &mut Ctx, r: &mut Res<'_>) -> Result<(), Error> {
    match ctx.dir {
        Dir::ToR4 => {
            if let Some(v) = r.take("comment") {
                let text = want_str(v, &r.loc("comment"))?;
                r.put("note", json!([{ "text": text }]));
            }
        }
        Dir::ToStu3 => {
            let Some(v) = r.take("note") else {
                return Ok(());
            };
            let mut texts = Vec::new();
            for (at, item) in items(v, &r.loc("note")) {
                let mut sub = Res::new(want_obj(item, &at)?, at.clone());
                if let Some(t) = sub.take("text") {
                    texts.push(want_str(t, &format!("{at}.text"))?.to_owned());
                }
                sub.finish(ctx);
            }
            if texts.len() > 1 {
                ctx.warn(r.loc("note"), "STU3 has one `comment`; the notes were joined");
            }
            if !texts.is_empty() {
                r.put("comment", Value::String(texts.join("\n\n")));
            }
        }
    }
    Ok(())
}
