//! Who and where: PID, PD1, NK1 and MRG to Patient, `RelatedPerson` and the
//! general practitioner; PV1 and PV2 to Encounter.

use std::borrow::Cow;

use zorgpoort_model::datatypes::{concept, profile_meta};
use zorgpoort_model::systems::{self, hl7, is_valid_bsn, profile};
use zorgpoort_model::{Json, Object, Value};

use super::Mapper;
use super::datatypes::{HumanName, address, contact_point, display_name, identifier_system};
use crate::error::{Error, ErrorKind, Location};
use crate::message::{Item, Message, Segment};
use crate::types::{Cx, Hd, Xad, Xcn, Xon, Xpn, Xtn};

/// Identifiers from a CX field, BSNs 11-checked; also returns the first
/// identifier usable for a conditional update (a valid BSN wins).
fn identifiers<'a>(mapper: &mut Mapper<'a>, field: Item<'_, 'a>) -> (Vec<Object<'a>>, Option<(String, String)>) {
    let mut out = Vec::new();
    let mut key: Option<(String, String)> = None;
    for rep in field.repetitions() {
        let cx = Cx::read(rep);
        let Some(value) = cx.id.clone() else {
            mapper.warn(rep.location(), "identifier without id (CX.1) not mapped");
            continue;
        };
        let checked = mapper.identifier_system(&cx.authority, cx.type_code.as_deref(), Some(&value), rep.location());
        let Ok(system) = checked else {
            continue;
        };
        if let Some(system) = &system {
            let is_bsn = system == systems::BSN;
            if (key.is_none() || is_bsn) && key.as_ref().is_none_or(|(s, _)| s != systems::BSN) {
                key = Some((system.clone().into_owned(), value.clone().into_owned()));
            }
        }
        out.push(mapper.identifier(cx, system, rep.location()));
    }
    (out, key)
}

/// Whether a CX names someone: an id that is not a BSN failing the 11-check.
fn is_usable_identifier(cx: &Cx<'_>) -> bool {
    cx.id.as_deref().is_some_and(|id| {
        identifier_system(&cx.authority, cx.type_code.as_deref()).as_deref() != Some(systems::BSN) || is_valid_bsn(id)
    })
}

/// The patient's identity is essential in a message about a patient: without
/// a PID, or with a PID whose PID-2, PID-3 and PID-4 hold no usable
/// identifier, its data would belong to nobody (or to the wrong person at
/// the receiver), so the message is refused.
pub(super) fn require_identified(message: &Message<'_>, event: &str) -> Result<(), Error> {
    let missing = |location: Location, reason: &'static str| {
        let kind = ErrorKind::MissingPatient {
            event: event.to_owned(),
            reason,
        };
        Err(Error::at(location, kind))
    };
    let Some(pid) = message.segment("PID") else {
        return missing(Location::segment("PID", 1), "the message has no PID segment");
    };
    let identified = [3, 2, 4]
        .into_iter()
        .any(|n| pid.field(n).repetitions().any(|r| is_usable_identifier(&Cx::read(r))));
    if identified {
        Ok(())
    } else {
        missing(
            pid.location().with_field(3),
            "no usable patient identifier in PID-3 (or PID-2, PID-4)",
        )
    }
}

/// A message about a second patient (a second PID segment) is refused at
/// that PID, for [`super::Options::one_patient`].
pub(super) fn refuse_second(message: &Message<'_>, event: &str) -> Result<(), Error> {
    match message.segments().filter(|segment| segment.id() == "PID").nth(1) {
        Some(second) => Err(Error::at(
            second.location(),
            ErrorKind::SecondPatient {
                event: event.to_owned(),
            },
        )),
        None => Ok(()),
    }
}

fn gender(code: &str) -> Option<&'static str> {
    match code {
        "M" => Some("male"),
        "F" | "V" => Some("female"),
        "O" | "A" | "X" => Some("other"),
        "U" | "N" => Some("unknown"),
        _ => None,
    }
}

fn telecoms<'a>(field: Item<'_, 'a>, default_use: &'static str) -> Vec<Object<'a>> {
    field
        .repetitions()
        .map(|r| contact_point(Xtn::read(r), Some(default_use)))
        .collect()
}

/// PID-16 as `maritalStatus`. nl-core binds it (required) to the zib's
/// value set, the v3 `MaritalStatus` codes D, M, S, T, U and W: any other
/// code is left out with a warning.
fn marital_status<'a>(m: &mut Mapper<'a>, pid: Segment<'_, 'a>) -> Option<Object<'a>> {
    let marital_code = pid.field(16).text_of(1);
    let marital = marital_code
        .clone()
        .filter(|c| matches!(c.as_ref(), "D" | "M" | "S" | "T" | "U" | "W"));
    match marital_code.as_deref() {
        _ if marital.is_some() => {}
        Some("A" | "I" | "L" | "P") => m.warn(
            pid.location().with_field(16),
            "marital status code not in the zib MaritalStatus value set, which nl-core requires; left out",
        ),
        Some(_) => m.warn(
            pid.location().with_field(16),
            "marital status code not in the v3 MaritalStatus codes; left out",
        ),
        None => {}
    }
    marital.map(|code| concept(hl7::V3_MARITAL_STATUS, code))
}

pub(super) fn map_pid<'a>(m: &mut Mapper<'a>, pid: Segment<'_, 'a>) -> &'static [usize] {
    let mut ids = Vec::new();
    let mut key = None;
    // PID-2 and PID-4 are the pre-2.5 places of patient ids; PID-3 is the list.
    for n in [3, 2, 4] {
        let (found, k) = identifiers(m, pid.field(n));
        ids.extend(found);
        if key.as_ref().is_none_or(|(s, _): &(String, String)| s != systems::BSN) && k.is_some() {
            key = k.or(key);
        }
    }
    let birth = m.timestamp(pid.field(7));
    let birth_time = birth.filter(|b| b.time.is_some()).map(|b| b.to_fhir_datetime(m.zone));
    let gender_code = pid.field(8).text_of(1);
    let gender_value = gender_code.as_deref().and_then(gender);
    if let (Some(_), None) = (&gender_code, gender_value) {
        m.warn(
            pid.location().with_field(8),
            "unknown administrative sex code; gender left out",
        );
    }
    let mut telecom = telecoms(pid.field(13), "home");
    telecom.extend(telecoms(pid.field(14), "work"));
    let language = m
        .code(pid.field(15).text_of(1), pid.location().with_field(15))
        .map(|code| Object::new().with("language", concept("urn:ietf:bcp:47", code)));
    let deceased_at = m.datetime(pid.field(29));
    let deceased = match pid.field(30).text_of(1).as_deref() {
        Some("Y") => Some(true),
        Some("N") => Some(false),
        _ => None,
    };
    let multiple_birth = pid.field(25).text_of(1).and_then(|n| n.parse::<u32>().ok());
    if multiple_birth.is_none() && !pid.field(25).is_empty() {
        m.warn(pid.location().with_field(25), "birth order is not a number; left out");
    }
    let names: Vec<Object<'a>> = pid
        .field(5)
        .repetitions()
        .map(|r| m.name(Xpn::read(r), r.location()).into_object())
        .collect();
    let mut patient = Object::new()
        .with("meta", profile_meta(profile::PATIENT))
        .with("identifier", ids)
        .with("name", names)
        .with("telecom", telecom)
        .with("gender", gender_value)
        .with("birthDate", birth.map(|b| b.to_fhir_date()))
        .with("_birthDate", birth_time.map(zorgpoort_model::datatypes::birth_time));
    match (deceased_at, deceased) {
        (Some(at), _) => patient.set("deceasedDateTime", at),
        (None, Some(flag)) => patient.set("deceasedBoolean", flag),
        (None, None) => {}
    }
    patient.set(
        "address",
        pid.field(11)
            .repetitions()
            .map(|r| address(Xad::read(r)))
            .collect::<Vec<_>>(),
    );
    patient.set("maritalStatus", marital_status(m, pid));
    match (pid.field(24).text_of(1).as_deref(), multiple_birth) {
        (_, Some(order)) => patient.set("multipleBirthInteger", Value::Num(Cow::Owned(order.to_string()))),
        (Some("Y"), None) => patient.set("multipleBirthBoolean", true),
        (Some("N"), None) => patient.set("multipleBirthBoolean", false),
        _ => {}
    }
    patient.set("communication", language.map(|l| vec![l]));
    let position = format!("PID/{}", pid.occurrence());
    let entry = match key {
        Some((system, value)) => m.bundle.add_conditional("Patient", &position, patient, &system, &value),
        None => m.bundle.add("Patient", &position, patient),
    };
    m.patient = Some(entry);
    m.patient_identified = [3, 2, 4]
        .into_iter()
        .any(|n| pid.field(n).repetitions().any(|r| is_usable_identifier(&Cx::read(r))));
    m.subject = Some(m.bundle.shared_reference(entry, None));
    m.note_target = None;
    // Another patient's specimen is not this one's.
    m.specimen = None;
    m.specimen_after_order = false;
    &[1, 2, 3, 4, 5, 7, 8, 11, 13, 14, 15, 16, 24, 25, 29, 30]
}

/// PD1: the patient's GP practice (PD1-3) and GP (PD1-4). nl-core points
/// `generalPractitioner` at a `PractitionerRole` (the GP working at the
/// practice) or, without a named GP, at the practice itself.
pub(super) fn map_pd1<'a>(m: &mut Mapper<'a>, pd1: Segment<'_, 'a>) -> &'static [usize] {
    let gp_by_agb = pd1.field(4).repetitions().any(|r| {
        let xcn = Xcn::read(r);
        identifier_system(&xcn.authority, xcn.type_code.as_deref()).as_deref() == Some(systems::AGB)
    });
    let practice = pd1.field(3).repetitions().find_map(|r| practice(m, r, gp_by_agb));
    let gps: Vec<(Json, Option<String>)> = pd1
        .field(4)
        .repetitions()
        .filter_map(|r| Some((m.practitioner(r)?, display_name(&Xcn::read(r).name))))
        .collect();
    let mut references = Vec::new();
    for (n, (gp, display)) in gps.into_iter().enumerate() {
        let mut role = m
            .bundle
            .writer("PractitionerRole", &format!("PD1/{}/{}", pd1.occurrence(), n + 1));
        role.fields()
            .field("meta", profile_meta(profile::PRACTITIONER_ROLE))
            .field("practitioner", gp)
            .field("organization", practice.clone());
        let entry = role.finish();
        references.push(m.bundle.shared_reference(entry, display.as_deref()));
    }
    if references.is_empty() {
        references.extend(practice);
    }
    match m.patient {
        Some(patient) => {
            for reference in references {
                m.bundle.resource_mut(patient).push_to("generalPractitioner", reference);
            }
        }
        None if !references.is_empty() => {
            m.warn(
                pd1.location(),
                "general practitioner without a patient (no PID before PD1)",
            );
        }
        None => {}
    }
    &[3, 4]
}

/// PD1-3, the GP practice. Dutch senders often write the practice's AGB
/// code without an assigning authority. When PD1-4 names the GP by AGB
/// code, an eight-digit practice code without an authority or type of its
/// own is read as an AGB code as well, with a warning saying so.
fn practice<'a>(m: &mut Mapper<'a>, item: Item<'_, 'a>, gp_by_agb: bool) -> Option<Json> {
    let xon = Xon::read(item);
    let unqualified = xon.authority == Hd::default() && xon.type_code.is_none();
    let agb_shaped = xon
        .identifier()
        .is_some_and(|id| id.len() == 8 && id.bytes().all(|b| b.is_ascii_digit()));
    if !(gp_by_agb && unqualified && agb_shaped) {
        return m.organization(item);
    }
    m.warn(
        item.location(),
        "practice code without an assigning authority read as an AGB code, as its GP's in PD1-4",
    );
    let id = xon.identifier().map(str::to_owned);
    Some(m.organization_resource(
        xon.name,
        profile::ORGANIZATION,
        Some(systems::AGB),
        id.as_deref(),
        item.location(),
    ))
}

pub(super) fn map_nk1<'a>(m: &mut Mapper<'a>, nk1: Segment<'_, 'a>) -> &'static [usize] {
    let Some(patient) = m.subject() else {
        m.warn(nk1.location(), "contact person without a patient (no PID before NK1)");
        return &[];
    };
    let mut telecom = telecoms(nk1.field(5), "home");
    telecom.extend(telecoms(nk1.field(6), "work"));
    let mut relationship: Vec<Object<'a>> = Vec::new();
    relationship.extend(m.concept(nk1.field(3)));
    relationship.extend(m.concept(nk1.field(7)));
    let start = m.date(nk1.field(8));
    let end = m.date(nk1.field(9));
    let gender_value = nk1.field(15).text_of(1).as_deref().and_then(gender);
    let names: Vec<HumanName<'a>> = nk1
        .field(2)
        .repetitions()
        .map(|r| m.name(Xpn::read(r), r.location()))
        .collect();
    let addresses: Vec<Object<'a>> = nk1.field(4).repetitions().map(|r| address(Xad::read(r))).collect();
    let birth_date = m.date(nk1.field(16));
    let mut person = m.bundle.writer("RelatedPerson", &format!("NK1/{}", nk1.occurrence()));
    person
        .fields()
        .field("meta", profile_meta(profile::CONTACT_PERSON))
        .field("patient", patient)
        .field("relationship", relationship)
        .array("name", |items| {
            for name in &names {
                items.object(|w| name.write(w));
            }
        })
        .field("telecom", telecom)
        .field("address", addresses)
        .field("gender", gender_value)
        .field("birthDate", birth_date)
        .object("period", |period| {
            period.field("start", start).field("end", end);
        });
    person.finish();
    &[1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16]
}

/// MRG (A40 merge): the prior patient record becomes a second Patient,
/// linked both ways with `replaces` / `replaced-by`.
pub(super) fn map_mrg<'a>(m: &mut Mapper<'a>, mrg: Segment<'_, 'a>) -> &'static [usize] {
    let Some(survivor) = m.patient else {
        m.warn(mrg.location(), "merge without a surviving patient (no PID before MRG)");
        return &[];
    };
    let (ids, key) = identifiers(m, mrg.field(1));
    if ids.is_empty() {
        m.warn(mrg.location().with_field(1), "merge without prior identifiers");
        return &[1];
    }
    let survivor_reference = m.bundle.reference(survivor);
    let key_name = format!("MRG/{}", mrg.occurrence());
    let mut old = match &key {
        Some((system, value)) => m.bundle.conditional_writer("Patient", &key_name, system, value),
        None => m.bundle.writer("Patient", &key_name),
    };
    old.fields()
        .field("meta", profile_meta(profile::PATIENT))
        .field("identifier", ids)
        .field("active", false)
        .list("link", |link| {
            link.field("other", survivor_reference).field("type", "replaced-by");
        });
    let old = old.finish();
    let link = Object::new()
        .with("other", m.bundle.reference(old))
        .with("type", "replaces");
    m.bundle.resource_mut(survivor).push_to("link", link);
    &[1]
}

/// Encounter status by trigger event; a discharge date finishes any visit.
fn encounter_status(trigger: &str, discharged: bool) -> &'static str {
    match trigger {
        _ if discharged => "finished",
        "A03" => "finished",
        "A05" | "A14" => "planned",
        "A11" | "A12" | "A27" | "A38" => "cancelled",
        "A01" | "A02" | "A04" | "A06" | "A07" | "A08" | "A13" | "A15" | "A16" => "in-progress",
        _ => "unknown",
    }
}

/// Encounter.class (v3 `ActCode`) from PV1-2 patient class.
fn encounter_class(code: Option<&str>) -> Object<'static> {
    let (system, code, display) = match code {
        Some("I" | "B") => (hl7::V3_ACT_CODE, "IMP", "inpatient encounter"),
        Some("O" | "R" | "C") => (hl7::V3_ACT_CODE, "AMB", "ambulatory"),
        Some("E") => (hl7::V3_ACT_CODE, "EMER", "emergency"),
        Some("P") => (hl7::V3_ACT_CODE, "PRENC", "pre-admission"),
        _ => ("http://terminology.hl7.org/CodeSystem/v3-NullFlavor", "UNK", "unknown"),
    };
    Object::new()
        .with("system", system)
        .with("code", code)
        .with("display", display)
}

/// A PL (person location) as readable text: point of care, room, bed, facility.
fn location_text(item: Item<'_, '_>) -> Option<String> {
    let parts: Vec<String> = [1, 2, 3, 4]
        .into_iter()
        .filter_map(|n| item.component(n).subcomponent(1).text().map(Cow::into_owned))
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

pub(super) fn map_pv1<'a>(m: &mut Mapper<'a>, pv1: Segment<'_, 'a>) -> &'static [usize] {
    let start = m.datetime(pv1.field(44));
    let end = m.datetime(pv1.field(45));
    let status = encounter_status(&m.event.trigger, end.is_some());
    let class = pv1.field(2).text_of(1);
    let mut participants = Vec::new();
    for (field, code, display) in [
        (7, "ATND", "attender"),
        (8, "REF", "referrer"),
        (9, "CON", "consultant"),
        (17, "ADM", "admitter"),
    ] {
        for rep in pv1.field(field).repetitions() {
            if let Some(who) = m.practitioner(rep) {
                let kind = Object::new()
                    .with("system", "http://terminology.hl7.org/CodeSystem/v3-ParticipationType")
                    .with("code", code)
                    .with("display", display);
                participants.push(
                    Object::new()
                        .with("type", vec![Object::new().with("coding", vec![kind])])
                        .with("individual", who),
                );
            }
        }
    }
    let mut locations = Vec::new();
    if let Some(text) = location_text(pv1.field(3)) {
        let now = if status == "finished" { "completed" } else { "active" };
        locations.push(
            Object::new()
                .with("location", Object::new().with("display", text))
                .with("status", now),
        );
    }
    // zib Encounter has one location: the assigned one (PV1-3), or else
    // the prior one (PV1-6), which the patient has left.
    match location_text(pv1.field(6)) {
        Some(text) if locations.is_empty() => locations.push(
            Object::new()
                .with("location", Object::new().with("display", text))
                .with("status", "completed"),
        ),
        Some(_) => m.warn(
            pv1.location().with_field(6),
            "prior location not mapped: nl-core-Encounter has one location, PV1-3's",
        ),
        None => {}
    }
    let visit_number = pv1.field(19).repetitions().next().and_then(|r| {
        let cx = Cx::read(r);
        cx.id.as_ref()?;
        let system = m
            .identifier_system(&cx.authority, cx.type_code.as_deref(), cx.id.as_deref(), r.location())
            .ok()?;
        Some(m.identifier(cx, system, r.location()))
    });
    let service = m
        .code(pv1.field(10).text_of(1), pv1.location().with_field(10))
        .map(|c| concept("http://terminology.hl7.org/CodeSystem/v2-0069", c));
    let admit_source = m
        .code(pv1.field(14).text_of(1), pv1.location().with_field(14))
        .map(|c| concept("http://terminology.hl7.org/CodeSystem/v2-0023", c));
    let discharge = m
        .code(pv1.field(36).text_of(1), pv1.location().with_field(36))
        .map(|c| concept("http://terminology.hl7.org/CodeSystem/v2-0112", c));
    let readmission = pv1
        .field(13)
        .text_of(1)
        .filter(|r| r == "R")
        .map(|_| Object::new().with("text", "readmission"));
    let encounter = Object::new()
        .with("meta", profile_meta(profile::ENCOUNTER))
        .with("identifier", visit_number.map(|v| vec![v]))
        .with("status", status)
        .with("class", encounter_class(class.as_deref()))
        .with("serviceType", service)
        .with("subject", m.subject_of(pv1.location()))
        .with("participant", participants)
        .with("period", Object::new().with("start", start).with("end", end))
        .with(
            "hospitalization",
            Object::new()
                .with("admitSource", admit_source)
                .with("reAdmission", readmission)
                .with("dischargeDisposition", discharge),
        )
        .with("location", locations);
    let key = format!("PV1/{}", pv1.occurrence());
    let entry = m.bundle.add("Encounter", &key, encounter);
    m.encounter = Some(entry);
    m.encounter_reference = Some(m.bundle.shared_reference(entry, None));
    m.note_target = None;
    &[1, 2, 3, 6, 7, 8, 9, 10, 13, 14, 17, 19, 36, 44, 45]
}

pub(super) fn map_pv2<'a>(m: &mut Mapper<'a>, pv2: Segment<'_, 'a>) -> &'static [usize] {
    let reason = m.concept(pv2.field(3));
    match (m.encounter, reason) {
        (Some(encounter), Some(reason)) => m.bundle.resource_mut(encounter).push_to("reasonCode", reason),
        (None, Some(_)) => m.warn(pv2.location(), "visit details without a visit (no PV1 before PV2)"),
        _ => {}
    }
    &[3]
}
