//! Who and where: Patient -> PID (and PD1 for the GP, NK1 for contacts),
//! `RelatedPerson` -> NK1, Encounter -> PV1/PV2, Coverage -> IN1.

use serde_json::Value;
use zorgpoort_model::systems::{self, is_valid_bsn};

use super::datatypes::{code_of, cwe, cx, dt, dt_of, dtm, dtm_of, items, nm, s, xad, xcn, xon, xpn, xtn};
use super::{Ctx, FromFhirError};
use crate::write::{Er7Segment, Field, Repetition, text_field};

/// Whether a reference element of `json` points at `patient` (or is absent
/// in a single-patient input, where it can only mean that patient).
fn refers_to(ctx: &Ctx<'_>, json: &Value, key: &str, patient: usize) -> bool {
    match json.get(key) {
        Some(reference) => ctx.resolve(reference).is_none_or(|i| i == patient),
        None => true,
    }
}

/// Telecoms split into the home (PID-13) and business (PID-14) fields.
fn telecoms(ctx: &mut Ctx<'_>, json: &Value, path: &str) -> (Field, Field) {
    let (mut home, mut work) = (Vec::new(), Vec::new());
    for (n, telecom) in items(json, "telecom").iter().enumerate() {
        if let Some((is_work, rep)) = xtn(ctx, telecom, &format!("{path}.telecom[{n}]")) {
            if is_work { work.push(rep) } else { home.push(rep) }
        }
    }
    (home, work)
}

fn names(ctx: &mut Ctx<'_>, json: &Value, path: &str) -> Field {
    items(json, "name")
        .iter()
        .enumerate()
        .map(|(n, name)| xpn(ctx, name, &format!("{path}.name[{n}]")))
        .collect()
}

fn addresses(ctx: &mut Ctx<'_>, json: &Value, path: &str) -> Field {
    items(json, "address")
        .iter()
        .enumerate()
        .map(|(n, address)| xad(ctx, address, &format!("{path}.address[{n}]")))
        .collect()
}

fn gender(code: Option<&str>) -> &'static str {
    match code {
        Some("male") => "M",
        Some("female") => "F",
        Some("other") => "O",
        Some("unknown") => "U",
        _ => "",
    }
}

/// PID, PD1 and the NK1s of the patient.
pub(super) fn patient_segments(ctx: &mut Ctx<'_>, patient: usize) -> Result<Vec<Er7Segment>, FromFhirError> {
    let json = ctx.resources[patient].json;
    let path = ctx.resources[patient].path.clone();
    let mut pid = Er7Segment::simple("PID", &["1"]);
    let mut ids = Vec::new();
    for (n, identifier) in items(json, "identifier").iter().enumerate() {
        let ipath = format!("{path}.identifier[{n}]");
        let is_bsn = s(identifier, "system")
            .is_some_and(|system| system == systems::BSN || system == "urn:oid:2.16.840.1.113883.2.4.6.3");
        if is_bsn && !s(identifier, "value").is_some_and(is_valid_bsn) {
            ctx.warn(ipath, "BSN fails the 11-check; not carried into HL7 v2");
            continue;
        }
        ids.extend(cx(ctx, identifier, &ipath));
    }
    pid.set(3, ids);
    pid.set(5, names(ctx, json, &path));
    let birth_time = json
        .get("_birthDate")
        .and_then(|b| b.get("extension"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|e| s(e, "url") == Some(zorgpoort_model::systems::ext::BIRTH_TIME))
        .and_then(|e| s(e, "valueDateTime"));
    let birth = match (birth_time, s(json, "birthDate")) {
        (Some(time), _) => Some(dtm(ctx, time, &format!("{path}._birthDate"))?),
        (None, Some(date)) => Some(dt(date, &format!("{path}.birthDate"))?),
        (None, None) => None,
    };
    pid.set(7, text_field(birth.as_deref().unwrap_or_default()));
    pid.set(8, text_field(gender(s(json, "gender"))));
    pid.set(11, addresses(ctx, json, &path));
    let (home, work) = telecoms(ctx, json, &path);
    pid.set(13, home);
    pid.set(14, work);
    let language = items(json, "communication")
        .first()
        .and_then(|c| code_of(c.get("language")));
    pid.set(15, text_field(language.unwrap_or_default()));
    pid.set(16, text_field(code_of(json.get("maritalStatus")).unwrap_or_default()));
    match (
        json.get("multipleBirthBoolean"),
        json.get("multipleBirthInteger").and_then(nm),
    ) {
        (_, Some(order)) => {
            pid.set(24, text_field("Y"));
            pid.set(25, text_field(&order));
        }
        (Some(Value::Bool(flag)), None) => pid.set(24, text_field(if *flag { "Y" } else { "N" })),
        _ => {}
    }
    if let Some(at) = dtm_of(ctx, json, "deceasedDateTime", &path)? {
        pid.set(29, text_field(&at));
        pid.set(30, text_field("Y"));
    } else if let Some(Value::Bool(flag)) = json.get("deceasedBoolean") {
        pid.set(30, text_field(if *flag { "Y" } else { "N" }));
    }
    if items(json, "communication").len() > 1 {
        ctx.warn(
            format!("{path}.communication"),
            "languages after the first not carried into HL7 v2",
        );
    }
    ctx.leftover(
        json,
        &path,
        &[
            "identifier",
            "name",
            "birthDate",
            "gender",
            "address",
            "telecom",
            "communication",
            "maritalStatus",
            "multipleBirthBoolean",
            "multipleBirthInteger",
            "deceasedDateTime",
            "deceasedBoolean",
            "generalPractitioner",
            "contact",
        ],
    );
    let mut segments = vec![pid];
    segments.extend(pd1(ctx, json, &path));
    segments.extend(next_of_kin(ctx, patient)?);
    Ok(segments)
}

/// PD1-3 (practice) and PD1-4 (GP) from `generalPractitioner`.
fn pd1(ctx: &mut Ctx<'_>, json: &Value, path: &str) -> Option<Er7Segment> {
    let (mut practice, mut gp): (Option<Repetition>, Option<Repetition>) = (None, None);
    for (n, reference) in items(json, "generalPractitioner").iter().enumerate() {
        let rpath = format!("{path}.generalPractitioner[{n}]");
        let target = ctx.resolve(reference);
        let kind = target.map(|i| ctx.resources[i].kind).or_else(|| {
            let text = s(reference, "reference")?;
            ["Organization", "PractitionerRole", "Practitioner"]
                .into_iter()
                .find(|k| text.contains(&format!("{k}/")))
        });
        match kind {
            Some("Organization") if practice.is_none() => practice = xon(ctx, reference),
            Some("PractitionerRole") if gp.is_none() => {
                if let Some(role) = target {
                    let organization = ctx.resources[role].json.get("organization");
                    if let Some(organization) = organization.filter(|_| practice.is_none()) {
                        practice = xon(ctx, organization);
                    }
                    let rolepath = ctx.resources[role].path.clone();
                    let role_json = ctx.resources[role].json;
                    ctx.leftover(role_json, &rolepath, &["practitioner", "organization"]);
                }
                gp = xcn(ctx, reference, &rpath);
            }
            Some("Practitioner") | None if gp.is_none() => gp = xcn(ctx, reference, &rpath),
            _ => ctx.warn(rpath, "a second general practitioner is not carried into HL7 v2"),
        }
    }
    if practice.is_none() && gp.is_none() {
        return None;
    }
    let mut segment = Er7Segment::simple("PD1", &[]);
    segment.set(3, practice.into_iter().collect());
    segment.set(4, gp.into_iter().collect());
    Some(segment)
}

/// Fields of one NK1 from a contact's parts.
fn nk1_segment(
    ctx: &mut Ctx<'_>,
    set_id: usize,
    json: &Value,
    path: &str,
    names: Field,
) -> Result<Er7Segment, FromFhirError> {
    let mut nk1 = Er7Segment::simple("NK1", &[&set_id.to_string()]);
    nk1.set(2, names);
    let relationships = items(json, "relationship");
    let mut concepts = relationships
        .iter()
        .enumerate()
        .filter_map(|(n, r)| cwe(ctx, r, &format!("{path}.relationship[{n}]")));
    nk1.set(3, concepts.next().into_iter().collect());
    nk1.set(7, concepts.next().into_iter().collect());
    if relationships.len() > 2 {
        ctx.warn(
            format!("{path}.relationship"),
            "relationships after the second not carried into HL7 v2",
        );
    }
    nk1.set(4, addresses(ctx, json, path));
    let (home, work) = telecoms(ctx, json, path);
    nk1.set(5, home);
    nk1.set(6, work);
    if let Some(period) = json.get("period") {
        let ppath = format!("{path}.period");
        for (key, field) in [("start", 8), ("end", 9)] {
            // NK1-8/9 are dates.
            let date = date_part(ctx, period, key, &ppath)?;
            nk1.set(field, text_field(date.as_deref().unwrap_or_default()));
        }
    }
    nk1.set(15, text_field(gender(s(json, "gender"))));
    nk1.set(
        16,
        text_field(dt_of(json, "birthDate", path)?.as_deref().unwrap_or_default()),
    );
    Ok(nk1)
}

/// NK1 per `Patient.contact` and per `RelatedPerson` of the patient.
fn next_of_kin(ctx: &mut Ctx<'_>, patient: usize) -> Result<Vec<Er7Segment>, FromFhirError> {
    let json = ctx.resources[patient].json;
    let path = ctx.resources[patient].path.clone();
    let mut out = Vec::new();
    for (n, contact) in items(json, "contact").iter().enumerate() {
        let cpath = format!("{path}.contact[{n}]");
        let name: Field = contact
            .get("name")
            .map(|name| xpn(ctx, name, &format!("{cpath}.name")))
            .into_iter()
            .collect();
        out.push(nk1_segment(ctx, out.len() + 1, contact, &cpath, name)?);
        ctx.leftover(
            contact,
            &cpath,
            &["name", "relationship", "telecom", "address", "gender", "period"],
        );
    }
    for person in ctx.of_type("RelatedPerson") {
        let pjson = ctx.resources[person].json;
        if !refers_to(ctx, pjson, "patient", patient) {
            continue;
        }
        ctx.used[person] = true;
        let ppath = ctx.resources[person].path.clone();
        let name = names(ctx, pjson, &ppath);
        out.push(nk1_segment(ctx, out.len() + 1, pjson, &ppath, name)?);
        ctx.leftover(
            pjson,
            &ppath,
            &[
                "patient",
                "name",
                "relationship",
                "telecom",
                "address",
                "gender",
                "period",
                "birthDate",
            ],
        );
    }
    Ok(out)
}

/// The patient's Encounter for PV1: the first that names the patient.
pub(super) fn pick_encounter(ctx: &mut Ctx<'_>, patient: usize) -> Option<usize> {
    ctx.of_type("Encounter")
        .into_iter()
        .find(|&e| refers_to(ctx, ctx.resources[e].json, "subject", patient))
}

/// PV1-2 from `Encounter.class` (v3 `ActCode`).
fn patient_class(ctx: &mut Ctx<'_>, json: &Value, path: &str) -> &'static str {
    // R4 has one Coding; some senders write R5's list of concepts.
    let class = match json.get("class") {
        Some(Value::Array(list)) => list.first().and_then(|c| c.pointer("/coding/0")),
        other => other,
    };
    match class.and_then(|c| s(c, "code")) {
        Some("IMP" | "ACUTE" | "NONAC") => "I",
        Some("AMB") => "O",
        Some("EMER") => "E",
        Some("PRENC") => "P",
        Some("UNK") | None => "U",
        Some(other) => {
            ctx.warn(
                format!("{path}.class"),
                format!("encounter class {other} has no HL7 v2 patient class; written as U"),
            );
            "U"
        }
    }
}

/// PV1-7 (attending), -8 (referring), -9 (consulting) and -17 (admitting)
/// doctors from the participants.
fn participants(ctx: &mut Ctx<'_>, json: &Value, path: &str) -> [(usize, Field); 4] {
    let mut by_field: [(usize, Field); 4] = [(7, Vec::new()), (8, Vec::new()), (9, Vec::new()), (17, Vec::new())];
    for (n, participant) in items(json, "participant").iter().enumerate() {
        let ppath = format!("{path}.participant[{n}]");
        let kind = participant
            .get("type")
            .and_then(Value::as_array)
            .and_then(|types| types.iter().find_map(|t| code_of(Some(t))));
        let field = match kind {
            Some("ATND" | "PPRF") | None => 7,
            Some("REF") => 8,
            Some("CON") => 9,
            Some("ADM") => 17,
            Some(other) => {
                ctx.warn(ppath, format!("participant type {other} has no PV1 field; not carried"));
                continue;
            }
        };
        let Some(individual) = participant.get("individual") else {
            continue;
        };
        if let Some(person) = xcn(ctx, individual, &format!("{ppath}.individual")) {
            if let Some((_, list)) = by_field.iter_mut().find(|(f, _)| *f == field) {
                list.push(person);
            }
        }
        ctx.leftover(participant, &ppath, &["type", "individual"]);
    }
    by_field
}

/// The Encounter elements PV1 and PV2 carry (`status` through the event).
const ENCOUNTER_ELEMENTS: &[&str] = &[
    "identifier",
    "status",
    "class",
    "serviceType",
    "subject",
    "participant",
    "period",
    "hospitalization",
    "location",
    "reasonCode",
];

/// PV1 (and PV2 for the reason) from the Encounter.
pub(super) fn visit_segments(ctx: &mut Ctx<'_>, encounter: usize) -> Result<Vec<Er7Segment>, FromFhirError> {
    ctx.used[encounter] = true;
    let json = ctx.resources[encounter].json;
    let path = ctx.resources[encounter].path.clone();
    let mut pv1 = Er7Segment::simple("PV1", &["1"]);
    pv1.set(2, text_field(patient_class(ctx, json, &path)));
    let locations = items(json, "location");
    if let Some(location) = locations.first() {
        let reference = location.get("location").cloned().unwrap_or(Value::Null);
        let name = match ctx.resolve(&reference) {
            Some(i) if ctx.resources[i].kind == "Location" => {
                ctx.used[i] = true;
                let (ljson, lpath) = (ctx.resources[i].json, ctx.resources[i].path.clone());
                ctx.leftover(ljson, &lpath, &["name"]);
                s(ljson, "name").or_else(|| s(&reference, "display"))
            }
            _ => s(&reference, "display"),
        };
        pv1.set(3, text_field(name.unwrap_or_default()));
        ctx.leftover(
            location,
            &format!("{path}.location[0]"),
            &["location", "status", "period"],
        );
    }
    if locations.len() > 1 {
        ctx.warn(
            format!("{path}.location"),
            "locations after the first not carried into HL7 v2",
        );
    }
    for (field, people) in participants(ctx, json, &path) {
        pv1.set(field, people);
    }
    pv1.set(
        10,
        text_field(
            // R4 has one concept; some senders write R5's list.
            items(json, "serviceType")
                .first()
                .and_then(|t| code_of(Some(t)))
                .or_else(|| code_of(json.get("serviceType")))
                .unwrap_or_default(),
        ),
    );
    if let Some(stay) = json.get("hospitalization") {
        let hpath = format!("{path}.hospitalization");
        if stay.get("reAdmission").is_some() {
            pv1.set(13, text_field("R"));
        }
        pv1.set(14, text_field(code_of(stay.get("admitSource")).unwrap_or_default()));
        pv1.set(
            36,
            text_field(code_of(stay.get("dischargeDisposition")).unwrap_or_default()),
        );
        ctx.leftover(stay, &hpath, &["reAdmission", "admitSource", "dischargeDisposition"]);
    }
    let identifiers = items(json, "identifier");
    if let Some(visit) = identifiers.first() {
        let number = cx(ctx, visit, &format!("{path}.identifier[0]"));
        pv1.set(19, number.into_iter().collect());
    }
    if identifiers.len() > 1 {
        ctx.warn(
            format!("{path}.identifier"),
            "visit identifiers after the first not carried into HL7 v2",
        );
    }
    if let Some(period) = json.get("period") {
        let ppath = format!("{path}.period");
        pv1.set(
            44,
            text_field(dtm_of(ctx, period, "start", &ppath)?.as_deref().unwrap_or_default()),
        );
        pv1.set(
            45,
            text_field(dtm_of(ctx, period, "end", &ppath)?.as_deref().unwrap_or_default()),
        );
    }
    let mut segments = vec![pv1];
    let reasons = items(json, "reasonCode");
    if let Some(reason) = reasons
        .first()
        .and_then(|r| cwe(ctx, r, &format!("{path}.reasonCode[0]")))
    {
        let mut pv2 = Er7Segment::simple("PV2", &[]);
        pv2.set(3, vec![reason]);
        segments.push(pv2);
    }
    if reasons.len() > 1 {
        ctx.warn(
            format!("{path}.reasonCode"),
            "reasons after the first not carried into HL7 v2",
        );
    }
    ctx.leftover(json, &path, ENCOUNTER_ELEMENTS);
    Ok(segments)
}

/// IN1 per Coverage of the patient with one payor.
pub(super) fn insurance_segments(ctx: &mut Ctx<'_>, patient: usize) -> Result<Vec<Er7Segment>, FromFhirError> {
    let mut out = Vec::new();
    for coverage in ctx.of_type("Coverage") {
        let json = ctx.resources[coverage].json;
        if !refers_to(ctx, json, "beneficiary", patient) {
            continue;
        }
        let path = ctx.resources[coverage].path.clone();
        let payors = items(json, "payor");
        let [payor] = payors else {
            ctx.warn(path, "Coverage without exactly one payor not carried into HL7 v2");
            continue;
        };
        ctx.used[coverage] = true;
        let mut in1 = Er7Segment::simple("IN1", &[&(out.len() + 1).to_string()]);
        let plan = items(json, "class")
            .iter()
            .find(|class| code_of(class.get("type")) == Some("plan"))
            .and_then(|class| s(class, "value"));
        in1.set(2, text_field(plan.unwrap_or_default()));
        match ctx.resolve(payor).filter(|&i| ctx.resources[i].kind == "Organization") {
            Some(org) => {
                ctx.used[org] = true;
                let (ojson, opath) = (ctx.resources[org].json, ctx.resources[org].path.clone());
                if let Some(identifier) = items(ojson, "identifier").first() {
                    let id = cx(ctx, identifier, &format!("{opath}.identifier[0]"));
                    in1.set(3, id.into_iter().collect());
                }
                in1.set(
                    4,
                    text_field(s(ojson, "name").or_else(|| s(payor, "display")).unwrap_or_default()),
                );
                ctx.leftover(ojson, &opath, &["identifier", "name"]);
            }
            None => in1.set(4, text_field(s(payor, "display").unwrap_or_default())),
        }
        if let Some(period) = json.get("period") {
            let ppath = format!("{path}.period");
            for (key, field) in [("start", 12), ("end", 13)] {
                in1.set(
                    field,
                    text_field(date_part(ctx, period, key, &ppath)?.as_deref().unwrap_or_default()),
                );
            }
        }
        let plan_type = json.get("type").and_then(|t| cwe(ctx, t, &format!("{path}.type")));
        in1.set(15, plan_type.into_iter().collect());
        let policy = s(json, "subscriberId").or_else(|| items(json, "identifier").first().and_then(|i| s(i, "value")));
        in1.set(36, text_field(policy.unwrap_or_default()));
        ctx.leftover(
            json,
            &path,
            &[
                "status",
                "type",
                "subscriberId",
                "identifier",
                "beneficiary",
                "period",
                "payor",
                "class",
            ],
        );
        out.push(in1);
    }
    Ok(out)
}

/// The date part of a dateTime element, for fields that hold dates.
fn date_part(ctx: &Ctx<'_>, value: &Value, key: &str, path: &str) -> Result<Option<String>, FromFhirError> {
    Ok(dtm_of(ctx, value, key, path)?.map(|d| d[..d.len().min(8)].to_owned()))
}
