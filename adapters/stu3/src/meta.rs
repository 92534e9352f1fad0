//! `meta`, and the profiles it claims: zib2017 (STU3) <-> nl-core/zib2020 (R4).

use serde_json::Value;
use zorgpoort_model::systems::profile;

use crate::Error;
use crate::engine::{Ctx, Dir, Res, backbone, items, want_str};

/// (STU3 profile, R4 profile). The first row for an R4 profile is the one
/// written when converting back to STU3.
const PROFILES: &[(&str, &str)] = &[
    (
        "http://fhir.nl/fhir/StructureDefinition/nl-core-patient",
        profile::PATIENT,
    ),
    (
        "http://fhir.nl/fhir/StructureDefinition/nl-core-practitioner",
        profile::PRACTITIONER,
    ),
    (
        "http://fhir.nl/fhir/StructureDefinition/nl-core-practitionerrole",
        profile::PRACTITIONER_ROLE,
    ),
    (
        "http://nictiz.nl/fhir/StructureDefinition/zib-HealthProfessional",
        profile::PRACTITIONER_ROLE,
    ),
    (
        "http://fhir.nl/fhir/StructureDefinition/nl-core-organization",
        profile::ORGANIZATION,
    ),
    (
        "http://nictiz.nl/fhir/StructureDefinition/zib-Problem",
        profile::PROBLEM,
    ),
    (
        "http://nictiz.nl/fhir/StructureDefinition/zib-AllergyIntolerance",
        profile::ALLERGY,
    ),
    (
        "http://nictiz.nl/fhir/StructureDefinition/zib-LaboratoryTestResult-Observation",
        profile::LAB_RESULT,
    ),
    (
        "http://nictiz.nl/fhir/StructureDefinition/zib-Encounter",
        profile::ENCOUNTER,
    ),
    (
        "http://nictiz.nl/fhir/StructureDefinition/zib-Procedure",
        profile::PROCEDURE,
    ),
    (
        "http://nictiz.nl/fhir/StructureDefinition/zib-Vaccination",
        profile::VACCINATION,
    ),
    (
        "http://nictiz.nl/fhir/StructureDefinition/zib-AdvanceDirective",
        "http://nictiz.nl/fhir/StructureDefinition/nl-core-AdvanceDirective",
    ),
    (
        "http://nictiz.nl/fhir/StructureDefinition/zib-TreatmentDirective",
        "http://nictiz.nl/fhir/StructureDefinition/nl-core-TreatmentDirective2",
    ),
    (
        "http://nictiz.nl/fhir/StructureDefinition/zib-Alert",
        "http://nictiz.nl/fhir/StructureDefinition/nl-core-Alert",
    ),
    (
        "http://nictiz.nl/fhir/StructureDefinition/zib-BodyWeight",
        "http://nictiz.nl/fhir/StructureDefinition/nl-core-BodyWeight",
    ),
    (
        "http://nictiz.nl/fhir/StructureDefinition/zib-BodyHeight",
        "http://nictiz.nl/fhir/StructureDefinition/nl-core-BodyHeight",
    ),
    (
        "http://nictiz.nl/fhir/StructureDefinition/zib-BloodPressure",
        "http://nictiz.nl/fhir/StructureDefinition/nl-core-BloodPressure",
    ),
    (
        "http://nictiz.nl/fhir/StructureDefinition/zib-HeartRate",
        "http://nictiz.nl/fhir/StructureDefinition/nl-core-HeartRate",
    ),
    (
        "http://nictiz.nl/fhir/StructureDefinition/zib-BodyTemperature",
        "http://nictiz.nl/fhir/StructureDefinition/nl-core-BodyTemperature",
    ),
];

/// The counterpart of a profile in the other version.
pub(crate) fn counterpart(dir: Dir, url: &str) -> Option<&'static str> {
    PROFILES.iter().find_map(|&(stu3, r4)| match dir {
        Dir::ToR4 => (stu3 == url).then_some(r4),
        Dir::ToStu3 => (r4 == url).then_some(stu3),
    })
}

/// Whether a profile claim is one of the zib profiles (for the Consent scope).
pub(crate) fn claims(r: &Res<'_>, url: &str) -> bool {
    r.get("meta")
        .and_then(|m| m.get("profile"))
        .and_then(Value::as_array)
        .is_some_and(|list| list.iter().any(|p| p.as_str() == Some(url)))
}

pub(crate) fn convert(ctx: &mut Ctx, r: &mut Res<'_>, resource_type: &str) -> Result<(), Error> {
    let Some(meta) = r.take("meta") else {
        return Ok(());
    };
    let loc = r.loc("meta");
    let converted = backbone(ctx, meta, &loc, |ctx, m| {
        m.same(&["versionId", "lastUpdated", "security", "tag"]);
        if ctx.dir == Dir::ToR4 {
            // R4 added `meta.source`; STU3 has nothing to fill it from.
        } else if m.get("source").is_some() {
            m.take("source");
            ctx.lost(m.loc("source"));
        }
        if let Some(list) = m.take("profile") {
            let mut out = Vec::new();
            for (at, url) in items(list, &m.loc("profile")) {
                let url = want_str(url, &at)?;
                match counterpart(ctx.dir, url) {
                    Some(mapped) => out.push(Value::String(mapped.to_owned())),
                    None => ctx.warn(
                        at,
                        format!(
                            "profile {url} has no known FHIR {} counterpart for {resource_type}; claim left out",
                            ctx.dir.target()
                        ),
                    ),
                }
            }
            m.put_array("profile", out);
        }
        Ok(())
    })?;
    if let Some(Value::Object(m)) = converted {
        r.put_object("meta", m);
    }
    Ok(())
}
