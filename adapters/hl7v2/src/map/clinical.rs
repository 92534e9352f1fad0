//! Clinical facts and insurance: AL1 -> `AllergyIntolerance`, DG1 -> Condition,
//! PR1 -> Procedure, RXA -> Immunization, IN1 -> Coverage.

use zorgpoort_model::datatypes::profile_meta;
use zorgpoort_model::systems::{self, profile};
use zorgpoort_model::{Object, ObjectWriter, Value};

use super::datatypes::{absent, coded, coding_system};
use super::orders::{Unit, notes_ahead};
use super::{Mapper, NoteTarget};
use crate::message::Segment;
use crate::types::{Cwe, Cx, read_nm};

/// The codes of `VerzekeringssoortCodelijst` (Vektis), zib Payer's insurance types.
const VEKTIS_INSURANCE_TYPES: &[&str] = &["A", "AT", "B", "BZ", "H", "T"];

impl<'a> Mapper<'a> {
    /// Writes a resource about the patient (the caller has asked for the
    /// patient with [`Mapper::subject_of`]): the profile it claims, what
    /// `write` writes, and the notes of the NTEs in the segments `after`
    /// its own.
    fn add_clinical(
        &mut self,
        segment: Segment<'_, 'a>,
        after: &[Segment<'_, 'a>],
        resource_type: &'static str,
        claims: &'static str,
        write: impl FnOnce(&mut ObjectWriter<'_>),
    ) {
        let notes = notes_ahead(self, resource_type, after);
        let key = format!("{}/{}", segment.id(), segment.occurrence());
        let mut resource = self.bundle.writer(resource_type, &key);
        let mut w = resource.fields();
        w.field("meta", profile_meta(claims));
        write(&mut w);
        w.list("note", |note| {
            note.field("text", notes);
        });
        let entry = resource.finish();
        self.note_target = Some(NoteTarget::Written(entry));
    }
}

/// Whether an IN1 names the insurer (IN1-3 or IN1-4), without which it is
/// not mapped.
pub(super) fn names_an_insurer(in1: Segment<'_, '_>) -> bool {
    in1.field(3)
        .repetitions()
        .next()
        .is_some_and(|r| Cx::read(r).id.is_some())
        || in1.field(4).text_of(1).is_some()
}

pub(super) fn map_al1<'a>(m: &mut Mapper<'a>, al1: Segment<'_, 'a>, after: &[Segment<'_, 'a>]) -> &'static [usize] {
    let category = match al1.field(2).text_of(1).as_deref() {
        Some("DA" | "MA") => Some("medication"),
        Some("FA") => Some("food"),
        Some("EA" | "AA" | "PA" | "LA") => Some("environment"),
        _ => None,
    };
    let criticality = match al1.field(4).text_of(1).as_deref() {
        Some("SV") => Some("high"),
        Some("MO" | "MI") => Some("low"),
        Some("U") => Some("unable-to-assess"),
        _ => None,
    };
    let manifestations: Vec<Object<'a>> = al1
        .field(5)
        .repetitions()
        .filter_map(|r| r.text().map(|t| Object::new().with("text", t)))
        .collect();
    let severity = match al1.field(4).text_of(1).as_deref() {
        Some("SV") => Some("severe"),
        Some("MO") => Some("moderate"),
        Some("MI") => Some("mild"),
        _ => None,
    };
    let code = m.concept(al1.field(3));
    let (patient, encounter) = (m.subject_of(al1.location()), m.encounter_ref());
    let onset = m.date(al1.field(6));
    m.add_clinical(al1, after, "AllergyIntolerance", profile::ALLERGY, |w| {
        w.object("clinicalStatus", coded(systems::hl7::ALLERGY_CLINICAL, "active"))
            .list_item("category", category)
            .field("criticality", criticality)
            .field("code", code)
            .field("patient", patient)
            .field("encounter", encounter)
            .field("onsetDateTime", onset);
        if !manifestations.is_empty() {
            w.list("reaction", |reaction| {
                reaction
                    .field("manifestation", manifestations)
                    .field("severity", severity);
            });
        }
    });
    &[1, 2, 3, 4, 5, 6]
}

pub(super) fn map_dg1<'a>(m: &mut Mapper<'a>, dg1: Segment<'_, 'a>, after: &[Segment<'_, 'a>]) -> &'static [usize] {
    let mut code = m.concept(dg1.field(3));
    if let Some(description) = dg1.field(4).text() {
        code = Some(code.unwrap_or_default().with("text", description));
    }
    let verification = match dg1.field(6).text_of(1).as_deref() {
        Some("F") => Some("confirmed"),
        Some("A" | "W") => Some("provisional"),
        _ => None,
    };
    let asserter = dg1.field(16).repetitions().next().and_then(|r| m.practitioner(r));
    let (subject, encounter) = (m.subject_of(dg1.location()), m.encounter_ref());
    let recorded = m.datetime(dg1.field(5));
    m.add_clinical(dg1, after, "Condition", profile::PROBLEM, |w| {
        w.object("clinicalStatus", coded(systems::hl7::CONDITION_CLINICAL, "active"))
            .object("verificationStatus", |status| {
                if let Some(v) = verification {
                    coded("http://terminology.hl7.org/CodeSystem/condition-ver-status", v)(status);
                }
            })
            .list(
                "category",
                coded(
                    "http://terminology.hl7.org/CodeSystem/condition-category",
                    "encounter-diagnosis",
                ),
            )
            .field("code", code)
            .field("subject", subject)
            .field("encounter", encounter)
            .field("recordedDate", recorded)
            .field("asserter", asserter);
    });
    &[1, 2, 3, 4, 5, 6, 16]
}

pub(super) fn map_pr1<'a>(m: &mut Mapper<'a>, pr1: Segment<'_, 'a>, after: &[Segment<'_, 'a>]) -> &'static [usize] {
    let mut code = m.concept(pr1.field(3));
    if let Some(description) = pr1.field(4).text() {
        code = Some(code.unwrap_or_default().with("text", description));
    }
    let mut performers = Vec::new();
    for n in [8, 11, 12] {
        for rep in pr1.field(n).repetitions() {
            if let Some(actor) = m.practitioner(rep) {
                performers.push(Object::new().with("actor", actor));
            }
        }
    }
    let (subject, encounter) = (m.subject_of(pr1.location()), m.encounter_ref());
    let performed = m.datetime(pr1.field(5));
    m.add_clinical(pr1, after, "Procedure", profile::PROCEDURE, |w| {
        w.field("status", "completed")
            .field("code", code)
            .field("subject", subject)
            .field("encounter", encounter)
            .field("performedDateTime", performed)
            .field("performer", performers);
    });
    &[1, 2, 3, 4, 5, 8, 11, 12]
}

pub(super) fn map_rxa<'a>(m: &mut Mapper<'a>, rxa: Segment<'_, 'a>, after: &[Segment<'_, 'a>]) -> &'static [usize] {
    let status = match rxa.field(20).text_of(1).as_deref() {
        Some("RE" | "NA") => "not-done",
        Some("PA" | "CP") | None => "completed",
        Some(_) => "entered-in-error",
    };
    if !rxa.field(6).is_empty() && read_nm(rxa.field(6)).is_none() {
        m.warn(rxa.location().with_field(6), "dose amount is not a number; left out");
    }
    // 999 is v2's "amount unknown".
    let amount = read_nm(rxa.field(6))
        .filter(|amount| amount != "999")
        .and_then(|amount| Value::number(&amount));
    // nl-core wants the dose in UCUM: a dose in another unit (or none) is left out.
    let unit = Unit::read(rxa.field(7));
    let dose = match amount {
        Some(value) if unit.is_ucum() => Some(unit.quantity(value)),
        Some(_) => {
            m.warn(
                rxa.location().with_field(7),
                "dose unit is not UCUM, which nl-core requires; dose left out",
            );
            None
        }
        None => None,
    };
    let performers: Vec<Object<'a>> = rxa
        .field(10)
        .repetitions()
        .filter_map(|r| m.practitioner(r))
        .map(|p| Object::new().with("actor", p))
        .collect();
    // Immunization.occurrence[x] is required: without a readable RXA-3
    // it says why it is absent.
    let occurrence = m.datetime(rxa.field(3));
    let occurrence_absent = occurrence.is_none().then(|| {
        let reason = if rxa.field(3).is_empty() { "unknown" } else { "error" };
        m.warn(rxa.location().with_field(3), "vaccination without administration date");
        absent(reason)
    });
    // Immunization.vaccineCode is required too.
    let vaccine = m.concept(rxa.field(5)).unwrap_or_else(|| {
        m.warn(
            rxa.location().with_field(5),
            "vaccination without a vaccine code; code marked absent",
        );
        absent("unknown")
    });
    let status_reason = m.concept(rxa.field(18));
    let (patient, encounter) = (m.subject_of(rxa.location()), m.encounter_ref());
    let expiration = m.date(rxa.field(16));
    let manufacturer = rxa.field(17).text_of(2).or_else(|| rxa.field(17).text_of(1));
    m.add_clinical(rxa, after, "Immunization", profile::VACCINATION, |w| {
        w.field("status", status)
            .field("statusReason", status_reason)
            .field("vaccineCode", vaccine)
            .field("patient", patient)
            .field("encounter", encounter)
            .field("occurrenceDateTime", occurrence)
            .field("_occurrenceDateTime", occurrence_absent)
            .field("lotNumber", rxa.field(15).text_of(1))
            .field("expirationDate", expiration)
            .object("manufacturer", |maker| {
                maker.field("display", manufacturer);
            })
            .field("doseQuantity", dose)
            .field("performer", performers);
    });
    &[1, 2, 3, 5, 6, 7, 10, 15, 16, 17, 18, 20]
}

pub(super) fn map_in1<'a>(m: &mut Mapper<'a>, in1: Segment<'_, 'a>) -> &'static [usize] {
    let insurer_id = in1.field(3).repetitions().next().map(Cx::read);
    let insurer = in1.field(4).text_of(1);
    let location = in1.location().with_field(3);
    let insurer_id = insurer_id.filter(|cx| cx.id.is_some()).and_then(|cx| {
        let system = m
            .identifier_system(&cx.authority, cx.type_code.as_deref(), cx.id.as_deref(), location)
            .ok()?;
        Some((system, cx.id))
    });
    let payor = match insurer_id {
        Some((system, id)) => Some(Value::from(m.organization_resource(
            insurer,
            profile::PAYER_ORGANIZATION,
            system.as_deref(),
            id.as_deref(),
            location,
        ))),
        None => insurer.map(|name| Value::Obj(Object::new().with("display", name))),
    };
    let Some(payor) = payor else {
        m.warn(in1.location(), "insurance without insurer (IN1-3/IN1-4); not mapped");
        return &[1, 2, 3, 4];
    };
    let policy = in1.field(36).text_of(1);
    // zib Payer allows only the Vektis insurance types in Coverage.type.
    let plan_type = Cwe::read(in1.field(15));
    let is_vektis = [
        (&plan_type.code, &plan_type.system),
        (&plan_type.alt_code, &plan_type.alt_system),
    ]
    .into_iter()
    .any(|(code, system)| {
        let system = system.as_deref().and_then(coding_system);
        system.as_deref() == Some(systems::VEKTIS_INSURANCE_TYPE)
            && code
                .as_deref()
                .is_some_and(|code| VEKTIS_INSURANCE_TYPES.contains(&code))
    });
    let coverage_type = if is_vektis {
        m.concept(in1.field(15))
    } else {
        if plan_type != Cwe::default() {
            m.warn(
                in1.location().with_field(15),
                "plan type is not a Vektis insurance type, which nl-core requires; not mapped",
            );
        }
        None
    };
    let beneficiary = m.subject_of(in1.location());
    let (start, end) = (m.date(in1.field(12)), m.date(in1.field(13)));
    let plan = in1.field(2).text_of(1);
    m.add_clinical(in1, &[], "Coverage", profile::COVERAGE, |w| {
        w.list("identifier", |identifier| {
            identifier.field("value", policy.as_deref());
        })
        .field("status", "active")
        .field("type", coverage_type)
        .field("subscriberId", policy)
        .field("beneficiary", beneficiary)
        .object("period", |period| {
            period.field("start", start).field("end", end);
        })
        .list_item("payor", payor);
        if let Some(plan) = plan {
            w.list("class", |class| {
                class
                    .object(
                        "type",
                        coded("http://terminology.hl7.org/CodeSystem/coverage-class", "plan"),
                    )
                    .field("value", plan);
            });
        }
    });
    &[1, 2, 3, 4, 12, 13, 15, 36]
}
