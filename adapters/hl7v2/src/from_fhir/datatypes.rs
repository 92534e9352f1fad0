//! FHIR data types as HL7 v2 data types: Identifier -> CX, `HumanName` ->
//! XPN (voorvoegsels in FN's subcomponents), Address -> XAD, `ContactPoint`
//! -> XTN, `CodeableConcept` -> CWE, dates -> DTM, and the Practitioner and
//! Organization behind a reference -> XCN and XON. Each is the inverse of
//! what `map::datatypes` reads.

use std::fmt::Write as _;

use serde_json::Value;
use zorgpoort_model::datatypes::{civil_from_days, days_from_civil, is_date, is_datetime};
use zorgpoort_model::names::split_prefix;
use zorgpoort_model::systems::{self, ext, hl7, naming_system_of_oid};

use super::{Ctx, FromFhirError, FromFhirErrorKind};
use crate::write::{Component, Repetition};

/// A component of one text.
pub(super) fn c(text: impl Into<String>) -> Component {
    vec![text.into()]
}

/// A string element of a JSON object.
pub(super) fn s<'j>(value: &'j Value, key: &str) -> Option<&'j str> {
    value.get(key).and_then(Value::as_str).filter(|t| !t.is_empty())
}

/// The items of an array element (none when absent or not an array).
pub(super) fn items<'j>(value: &'j Value, key: &str) -> &'j [Value] {
    value.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// A repetition from optional component texts, 1-based by position.
pub(super) fn rep(components: &[Option<&str>]) -> Repetition {
    components.iter().map(|t| c(t.unwrap_or_default())).collect()
}

/// Sets component `n` (1-based) of a repetition, growing it.
pub(super) fn put(rep: &mut Repetition, n: usize, component: Component) {
    if rep.len() < n {
        rep.resize(n, Vec::new());
    }
    rep[n - 1] = component;
}

/// A FHIR date, dateTime or instant as an HL7 DTM. Offsets are kept as
/// given; a UTC (`Z`) time is written in the options' zone, with its offset.
pub(super) fn dtm(ctx: &Ctx<'_>, text: &str, path: &str) -> Result<String, FromFhirError> {
    if !is_datetime(text) {
        return Err(FromFhirError::at(
            path,
            FromFhirErrorKind::InvalidDate { expected: "dateTime" },
        ));
    }
    let Some((date, time)) = text.split_once('T') else {
        return Ok(text.replace('-', ""));
    };
    let zone_at = time.find(['Z', '+', '-']).unwrap_or(time.len());
    let (clock, zone) = time.split_at(zone_at);
    let (hms, fraction) = clock.split_once('.').map_or((clock, ""), |(h, f)| (h, f));
    let number = |t: &str| t.parse::<u32>().unwrap_or(0);
    let (year, month, day) = (
        date[..4].parse::<i32>().unwrap_or(1970),
        number(&date[5..7]),
        number(&date[8..10]),
    );
    // v2 has no leap second; 23:59:60 is written as the second before it.
    let (hour, minute, second) = (number(&hms[..2]), number(&hms[3..5]), number(&hms[6..8]).min(59));
    let (local, offset) = if zone == "Z" {
        let utc = days_from_civil(year, month, day) * 1440 + i64::from(hour * 60 + minute);
        // The zone's offset depends on the local time it yields: guess, then settle.
        let local_at = |offset: i32| {
            let minutes = utc + i64::from(offset);
            let (y, m, d) = civil_from_days(minutes.div_euclid(1440));
            let in_day = u32::try_from(minutes.rem_euclid(1440)).unwrap_or(0);
            (y, m, d, in_day / 60, in_day % 60)
        };
        let guess = ctx.zone.offset_minutes(year, month, day, hour);
        let (y, m, d, h, _) = local_at(guess);
        // A DTM has four year digits: at the very end of year 9999 stay in UTC.
        let offset = if y > 9999 {
            0
        } else {
            ctx.zone.offset_minutes(y, m, d, h)
        };
        let (y, m, d, h, mi) = local_at(offset);
        let (y, m, d, h, mi, offset) = if y > 9999 {
            (year, month, day, hour, minute, 0)
        } else {
            (y, m, d, h, mi, offset)
        };
        (format!("{y:04}{m:02}{d:02}{h:02}{mi:02}{second:02}"), offset)
    } else {
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let offset = sign * i32::try_from(number(&zone[1..3]) * 60 + number(&zone[4..6])).unwrap_or(0);
        (
            format!("{year:04}{month:02}{day:02}{hour:02}{minute:02}{second:02}"),
            offset,
        )
    };
    let mut out = local;
    if !fraction.is_empty() {
        out.push('.');
        // DTM allows four fraction digits.
        out.push_str(&fraction[..fraction.len().min(4)]);
    }
    let sign = if offset < 0 { '-' } else { '+' };
    let abs = offset.unsigned_abs();
    let _ = write!(out, "{sign}{:02}{:02}", abs / 60, abs % 60);
    Ok(out)
}

/// A FHIR date as an HL7 DT.
pub(super) fn dt(text: &str, path: &str) -> Result<String, FromFhirError> {
    if is_date(text) {
        Ok(text.replace('-', ""))
    } else {
        Err(FromFhirError::at(
            path,
            FromFhirErrorKind::InvalidDate { expected: "date" },
        ))
    }
}

/// An optional dateTime element as DTM.
pub(super) fn dtm_of(ctx: &Ctx<'_>, value: &Value, key: &str, path: &str) -> Result<Option<String>, FromFhirError> {
    match value.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => dtm(ctx, text, &format!("{path}.{key}")).map(Some),
        Some(_) => Err(FromFhirError::at(
            format!("{path}.{key}"),
            FromFhirErrorKind::InvalidDate { expected: "dateTime" },
        )),
    }
}

/// An optional date element as DT.
pub(super) fn dt_of(value: &Value, key: &str, path: &str) -> Result<Option<String>, FromFhirError> {
    match value.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => dt(text, &format!("{path}.{key}")).map(Some),
        Some(_) => Err(FromFhirError::at(
            format!("{path}.{key}"),
            FromFhirErrorKind::InvalidDate { expected: "date" },
        )),
    }
}

/// The Dutch naming systems with their OID and the assigning-authority
/// namespace Dutch v2 traffic uses for them.
const DUTCH: &[(&str, &str, &str)] = &[
    (systems::AGB, "2.16.840.1.113883.2.4.6.1", "VEKTIS"),
    (systems::URA, "2.16.528.1.1007.3.3", "URA"),
    (systems::UZI_PERSON, "2.16.528.1.1007.3.1", "UZI"),
    (systems::UZI_SYSTEM, "2.16.528.1.1007.3.2", "UZI"),
    (systems::BIG, "2.16.528.1.1007.5.1", "BIG"),
    (systems::UZOVI, "2.16.840.1.113883.2.4.6.4", "UZOVI"),
];

/// The HD of an identifier system (namespace, universal id, its type) and
/// the identifier type code it implies: the BSN as `NLMINBIZA` / `NNNLD`,
/// the other Dutch systems by namespace and OID, others by OID or URI.
pub(super) fn authority(system: Option<&str>, assigner: Option<&str>) -> (Component, Option<&'static str>) {
    let system = system.map(|s| s.strip_prefix("urn:oid:").and_then(naming_system_of_oid).unwrap_or(s));
    match system {
        Some(systems::BSN) => (c("NLMINBIZA"), Some("NNNLD")),
        Some(system) => {
            if let Some((_, oid, name)) = DUTCH.iter().find(|(s, _, _)| *s == system) {
                return (vec![(*name).to_owned(), (*oid).to_owned(), "ISO".to_owned()], None);
            }
            let namespace = assigner.unwrap_or_default().to_owned();
            match system.strip_prefix("urn:oid:") {
                Some(oid) => (vec![namespace, oid.to_owned(), "ISO".to_owned()], None),
                None => (vec![namespace, system.to_owned(), "URI".to_owned()], None),
            }
        }
        None => (c(assigner.unwrap_or_default()), None),
    }
}

/// The v2 table 0203 code of an Identifier's type, when it has one.
fn identifier_type(identifier: &Value) -> Option<&str> {
    let codings = identifier.get("type").map_or(&[][..], |t| items(t, "coding"));
    codings
        .iter()
        .find(|coding| s(coding, "system") == Some(hl7::V2_0203))
        .or_else(|| codings.first())
        .and_then(|coding| s(coding, "code"))
}

/// An Identifier as CX (id, authority, type); `None` without a value.
pub(super) fn cx(ctx: &mut Ctx<'_>, identifier: &Value, path: &str) -> Option<Repetition> {
    let Some(value) = s(identifier, "value") else {
        ctx.warn(path, "identifier without a value not carried into HL7 v2");
        return None;
    };
    let assigner = identifier.get("assigner").and_then(|a| s(a, "display"));
    let (hd, implied) = authority(s(identifier, "system"), assigner);
    let mut out = vec![c(value)];
    put(&mut out, 4, hd);
    put(
        &mut out,
        5,
        c(implied.or_else(|| identifier_type(identifier)).unwrap_or_default()),
    );
    ctx.leftover(identifier, path, &["value", "system", "type", "assigner", "use"]);
    Some(out)
}

/// The `valueString` of a name extension by URL.
fn extension<'j>(element: Option<&'j Value>, url: &str) -> Option<&'j str> {
    element?
        .get("extension")?
        .as_array()?
        .iter()
        .find(|e| s(e, "url") == Some(url))
        .and_then(|e| s(e, "valueString"))
}

/// What `map::datatypes::human_name` derives from a surname alone, to
/// write FN.2..5 only when the extensions say something else.
fn derived_parts(family: &str) -> (Option<&str>, Option<&str>) {
    match split_prefix(family) {
        Some((prefix, name)) => (Some(prefix), Some(name)),
        None if !family.contains('-') => (None, Some(family)),
        None => (None, None),
    }
}

/// The seven XPN components of a `HumanName`; also for XCN.
pub(super) fn xpn(ctx: &mut Ctx<'_>, name: &Value, path: &str) -> Repetition {
    let family = s(name, "family");
    let family_ext = name.get("_family");
    let own_prefix = extension(family_ext, ext::OWN_PREFIX);
    let own_name = extension(family_ext, ext::OWN_NAME);
    let partner_prefix = extension(family_ext, ext::PARTNER_PREFIX);
    let partner_name = extension(family_ext, ext::PARTNER_NAME);
    let derivable = partner_prefix.is_none()
        && partner_name.is_none()
        && family.is_some_and(|f| derived_parts(f) == (own_prefix, own_name));
    let surname = if derivable || (own_prefix, own_name, partner_prefix, partner_name) == (None, None, None, None) {
        c(family.or_else(|| s(name, "text")).unwrap_or_default())
    } else {
        [family, own_prefix, own_name, partner_prefix, partner_name]
            .iter()
            .map(|p| p.unwrap_or_default().to_owned())
            .collect()
    };
    let given: Vec<&str> = items(name, "given").iter().filter_map(Value::as_str).collect();
    let middle = (given.len() > 1).then(|| given[1..].join(" "));
    let prefixes: Vec<&str> = items(name, "prefix").iter().filter_map(Value::as_str).collect();
    let suffixes: Vec<&str> = items(name, "suffix").iter().filter_map(Value::as_str).collect();
    if prefixes.len() > 1 || suffixes.len() > 2 {
        ctx.warn(
            path,
            "more than one prefix or two suffixes: the rest not carried into HL7 v2",
        );
    }
    let type_code = match s(name, "use") {
        Some("official") => Some("L"),
        Some("usual") => Some("D"),
        Some("maiden") => Some("M"),
        Some("nickname") => Some("N"),
        Some("anonymous") => Some("S"),
        Some(other) => {
            ctx.warn(
                format!("{path}.use"),
                format!("name use {other} has no HL7 v2.5.1 name type; not carried"),
            );
            None
        }
        None => None,
    };
    if family.is_none() && s(name, "text").is_some() {
        ctx.warn(
            format!("{path}.text"),
            "name given only as text; written as the family name",
        );
    }
    ctx.leftover(name, path, &["family", "given", "prefix", "suffix", "use", "text"]);
    let mut out = vec![surname];
    out.extend([
        c(given.first().copied().unwrap_or_default()),
        c(middle.unwrap_or_default()),
        c(suffixes.first().copied().unwrap_or_default()),
        c(prefixes.first().copied().unwrap_or_default()),
        c(suffixes.get(1).copied().unwrap_or_default()),
        c(type_code.unwrap_or_default()),
    ]);
    out
}

/// An Address as XAD, street name and house number in XAD.1's subcomponents.
pub(super) fn xad(ctx: &mut Ctx<'_>, address: &Value, path: &str) -> Repetition {
    let lines: Vec<&str> = items(address, "line").iter().filter_map(Value::as_str).collect();
    if lines.len() > 2 {
        ctx.warn(
            format!("{path}.line"),
            "address lines after the second not carried into HL7 v2",
        );
    }
    let line_ext = address.get("_line").and_then(Value::as_array).and_then(|l| l.first());
    let street_name = extension(
        line_ext,
        "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-streetName",
    );
    let house_number = extension(
        line_ext,
        "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-houseNumber",
    );
    let street: Component = [lines.first().copied(), street_name, house_number]
        .iter()
        .map(|p| p.unwrap_or_default().to_owned())
        .collect();
    let type_code = match (s(address, "use"), s(address, "type")) {
        (_, Some("postal")) => Some("M"),
        (Some("home"), _) => Some("H"),
        (Some("work"), _) => Some("B"),
        (Some("temp"), _) => Some("C"),
        (Some("old"), _) => Some("BA"),
        _ => None,
    };
    ctx.leftover(
        address,
        path,
        &[
            "line",
            "city",
            "district",
            "state",
            "postalCode",
            "country",
            "use",
            "type",
        ],
    );
    let mut out = vec![street];
    out.extend(rep(&[
        lines.get(1).copied(),
        s(address, "city"),
        s(address, "state"),
        s(address, "postalCode"),
        s(address, "country"),
        type_code,
        None,
        s(address, "district"),
    ]));
    out
}

/// A `ContactPoint` as XTN, and whether it belongs in the business field.
pub(super) fn xtn(ctx: &mut Ctx<'_>, telecom: &Value, path: &str) -> Option<(bool, Repetition)> {
    let Some(value) = s(telecom, "value") else {
        ctx.warn(path, "contact point without a value not carried into HL7 v2");
        return None;
    };
    let telecom_type = telecom
        .get("_system")
        .and_then(|e| e.get("extension"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|e| s(e, "url") == Some(ext::CODE_SPECIFICATION))
        .and_then(|e| e.pointer("/valueCodeableConcept/coding/0/code"))
        .and_then(Value::as_str);
    let use_ = s(telecom, "use");
    let work = use_ == Some("work");
    let use_code = match use_ {
        Some("home") => Some("PRN"),
        Some("work") => Some("WPN"),
        _ => None,
    };
    let out = match s(telecom, "system") {
        Some("email") => rep(&[None, Some("NET"), Some("Internet"), Some(value)]),
        system => {
            let equipment = match (system, telecom_type, use_) {
                (_, Some("MC"), _) | (_, _, Some("mobile")) => Some("CP"),
                (Some("pager"), _, _) | (_, Some("PG"), _) => Some("BP"),
                (Some("fax"), _, _) | (_, Some("FAX"), _) => Some("FX"),
                (_, Some("LL"), _) => Some("PH"),
                (Some("phone") | None, _, _) => None,
                (Some(other), _, _) => {
                    ctx.warn(
                        format!("{path}.system"),
                        format!("contact system {other} has no HL7 v2 equipment type; written as a number"),
                    );
                    None
                }
            };
            rep(&[Some(value), use_code, equipment])
        }
    };
    ctx.leftover(telecom, path, &["value", "system", "use"]);
    Some((work, out))
}

/// HL7 v3 code systems by their OID: CWE.3 holds at most 20 characters in
/// v2.5.1, too few for the URI, and the OID is what v2 uses for them.
const V3_OIDS: &[(&str, &str)] = &[
    (hl7::V3_ROLE_CODE, "2.16.840.1.113883.5.111"),
    (hl7::V3_ACT_CODE, "2.16.840.1.113883.5.4"),
    (hl7::V3_OBSERVATION_INTERPRETATION, "2.16.840.1.113883.5.83"),
    (hl7::V3_MARITAL_STATUS, "2.16.840.1.113883.5.2"),
    (hl7::V3_ADDRESS_USE, "2.16.840.1.113883.5.1119"),
    (
        "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
        "2.16.840.1.113883.5.90",
    ),
];

/// The v2 name of a coding system URI (the inverse of `map::datatypes::coding_system`).
pub(super) fn coding_system_name(uri: &str) -> String {
    let known = match uri {
        systems::LOINC => "LN",
        systems::SNOMED => "SCT",
        systems::ICD10 => "I10",
        systems::ICD9CM => "I9C",
        systems::UCUM => "UCUM",
        systems::CVX => "CVX",
        _ => {
            if let Some((_, oid)) = V3_OIDS.iter().find(|(u, _)| *u == uri) {
                return (*oid).to_owned();
            }
            if let Some(table) = uri.strip_prefix("http://terminology.hl7.org/CodeSystem/v2-") {
                return format!("HL7{table}");
            }
            return uri.strip_prefix("urn:oid:").unwrap_or(uri).to_owned();
        }
    };
    known.to_owned()
}

/// A `CodeableConcept` as the nine CWE components: two codings and the
/// original text; `None` when it holds neither code nor text.
pub(super) fn cwe(ctx: &mut Ctx<'_>, concept: &Value, path: &str) -> Option<Repetition> {
    let codings = items(concept, "coding");
    if codings.len() > 2 {
        ctx.warn(
            format!("{path}.coding"),
            "codings after the second not carried into HL7 v2",
        );
    }
    let mut out: Repetition = Vec::new();
    for (n, coding) in codings.iter().take(2).enumerate() {
        let system = s(coding, "system").map(coding_system_name);
        put(&mut out, 3 * n + 1, c(s(coding, "code").unwrap_or_default()));
        put(&mut out, 3 * n + 2, c(s(coding, "display").unwrap_or_default()));
        put(&mut out, 3 * n + 3, c(system.unwrap_or_default()));
    }
    let first_display = codings.first().and_then(|coding| s(coding, "display"));
    match s(concept, "text") {
        Some(text) if codings.is_empty() => put(&mut out, 2, c(text)),
        Some(text) if Some(text) != first_display => put(&mut out, 9, c(text)),
        _ => {}
    }
    ctx.leftover(concept, path, &["coding", "text"]);
    out.iter()
        .any(|component| component.iter().any(|t| !t.is_empty()))
        .then_some(out)
}

/// The code of the first coding of a concept (for single-code fields).
pub(super) fn code_of(concept: Option<&Value>) -> Option<&str> {
    concept
        .and_then(|c| items(c, "coding").first())
        .and_then(|coding| s(coding, "code"))
}

/// XCN for a reference to a Practitioner or `PractitionerRole` (its
/// practitioner), marking the resource as carried; just the display when
/// it does not resolve.
pub(super) fn xcn(ctx: &mut Ctx<'_>, reference: &Value, path: &str) -> Option<Repetition> {
    let mut target = ctx.resolve(reference);
    if let Some(role) = target.filter(|&i| ctx.resources[i].kind == "PractitionerRole") {
        ctx.used[role] = true;
        target = ctx.resources[role]
            .json
            .get("practitioner")
            .and_then(|p| ctx.resolve(p));
    }
    let Some(practitioner) = target.filter(|&i| ctx.resources[i].kind == "Practitioner") else {
        let Some(display) = s(reference, "display") else {
            if reference.get("reference").is_some() {
                ctx.warn(
                    path,
                    "reference outside the Bundle without a display; not carried into HL7 v2",
                );
            }
            return None;
        };
        return Some(vec![Vec::new(), c(display)]);
    };
    ctx.used[practitioner] = true;
    let json = ctx.resources[practitioner].json;
    let rpath = ctx.resources[practitioner].path.clone();
    let mut out: Repetition = vec![Vec::new()];
    if let Some(identifier) = items(json, "identifier").first() {
        let (hd, implied) = authority(
            s(identifier, "system"),
            identifier.get("assigner").and_then(|a| s(a, "display")),
        );
        out[0] = c(s(identifier, "value").unwrap_or_default());
        put(&mut out, 9, hd);
        put(
            &mut out,
            13,
            c(implied.or_else(|| identifier_type(identifier)).unwrap_or_default()),
        );
    }
    if items(json, "identifier").len() > 1 {
        ctx.warn(
            format!("{rpath}.identifier"),
            "identifiers after the first not carried into HL7 v2",
        );
    }
    if let Some(name) = items(json, "name").first() {
        let parts = xpn(ctx, name, &format!("{rpath}.name[0]"));
        for (n, part) in parts.into_iter().enumerate() {
            // XPN.1-6 are XCN.2-7, XPN.7 (name type) is XCN.10.
            put(&mut out, if n == 6 { 10 } else { n + 2 }, part);
        }
    } else if let Some(display) = s(reference, "display") {
        put(&mut out, 2, c(display));
    }
    ctx.leftover(json, &rpath, &["identifier", "name"]);
    Some(out)
}

/// XON for a reference to an Organization, marking it as carried; just the
/// display when it does not resolve.
pub(super) fn xon(ctx: &mut Ctx<'_>, reference: &Value) -> Option<Repetition> {
    let Some(org) = ctx
        .resolve(reference)
        .filter(|&i| ctx.resources[i].kind == "Organization")
    else {
        return s(reference, "display").map(|d| vec![c(d)]);
    };
    ctx.used[org] = true;
    let json = ctx.resources[org].json;
    let path = ctx.resources[org].path.clone();
    let mut out = vec![c(s(json, "name")
        .or_else(|| s(reference, "display"))
        .unwrap_or_default())];
    if let Some(identifier) = items(json, "identifier").first() {
        let (hd, implied) = authority(s(identifier, "system"), None);
        put(&mut out, 6, hd);
        put(
            &mut out,
            7,
            c(implied.or_else(|| identifier_type(identifier)).unwrap_or_default()),
        );
        put(&mut out, 10, c(s(identifier, "value").unwrap_or_default()));
    }
    ctx.leftover(json, &path, &["identifier", "name"]);
    Some(out)
}

/// A number as NM text, with the precision the JSON gave it (`31.00` stays
/// `31.00`): JSON's grammar is NM's, except exponents, which are written out.
pub(super) fn nm(value: &Value) -> Option<String> {
    let text = value.as_number()?.to_string();
    if !text.contains(['e', 'E']) {
        return Some(text);
    }
    // f64's Display never uses an exponent.
    text.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(|f| f.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;
    use zorgpoort_model::datatypes::LocalZone;

    fn ctx() -> Ctx<'static> {
        Ctx {
            resources: Vec::new(),
            index: HashMap::new(),
            by_type_id: HashMap::new(),
            used: Vec::new(),
            warnings: Vec::new(),
            zone: LocalZone::EuropeAmsterdam,
        }
    }

    #[test]
    fn datetimes_keep_offsets_and_put_utc_in_local_time() {
        let ctx = ctx();
        assert_eq!(
            dtm(&ctx, "2026-11-24T09:30:15+01:00", "x").unwrap(),
            "20261124093015+0100"
        );
        assert_eq!(dtm(&ctx, "2026-07-15T08:30:00Z", "x").unwrap(), "20260715103000+0200");
        assert_eq!(
            dtm(&ctx, "2026-12-31T23:30:00.12345Z", "x").unwrap(),
            "20270101003000.1234+0100"
        );
        assert_eq!(dtm(&ctx, "2026-11", "x").unwrap(), "202611");
        assert_eq!(dtm(&ctx, "9999-12-31T23:30:00Z", "x").unwrap(), "99991231233000+0000");
        assert_eq!(dtm(&ctx, "2016-12-31T23:59:60Z", "x").unwrap(), "20170101005959+0100");
        assert_eq!(
            dtm(&ctx, "2026-11-24T09:30", "Patient.x").unwrap_err().to_string(),
            "Patient.x: not a valid FHIR dateTime"
        );
        assert_eq!(dt("1980-02-29", "x").unwrap(), "19800229");
        assert!(dt("1981-02-29", "x").is_err());
    }

    #[test]
    fn dutch_names_are_written_whole_or_in_parts() {
        let mut ctx = ctx();
        let name = json!({"use": "official", "family": "van der Berg", "given": ["Johanna", "M."],
            "_family": {"extension": [
                {"url": ext::OWN_PREFIX, "valueString": "van der"},
                {"url": ext::OWN_NAME, "valueString": "Berg"}]}});
        let parts = xpn(&mut ctx, &name, "n");
        assert_eq!(parts[0], vec!["van der Berg"]);
        assert_eq!(parts[2], vec!["M."]);
        assert_eq!(parts[6], vec!["L"]);
        let partner = json!({"family": "de Vries-van Dijk", "_family": {"extension": [
            {"url": ext::OWN_PREFIX, "valueString": "de"}, {"url": ext::OWN_NAME, "valueString": "Vries"},
            {"url": ext::PARTNER_PREFIX, "valueString": "van"}, {"url": ext::PARTNER_NAME, "valueString": "Dijk"}]}});
        assert_eq!(
            xpn(&mut ctx, &partner, "n")[0],
            vec!["de Vries-van Dijk", "de", "Vries", "van", "Dijk"]
        );
        assert!(ctx.warnings.is_empty(), "{:?}", ctx.warnings);
    }

    #[test]
    fn identifiers_name_their_authority() {
        assert_eq!(authority(Some(systems::BSN), None), (c("NLMINBIZA"), Some("NNNLD")));
        assert_eq!(
            authority(Some("urn:oid:2.16.840.1.113883.2.4.6.3"), None),
            (c("NLMINBIZA"), Some("NNNLD"))
        );
        assert_eq!(
            authority(Some(systems::AGB), None).0,
            vec!["VEKTIS", "2.16.840.1.113883.2.4.6.1", "ISO"]
        );
        assert_eq!(
            authority(Some("urn:oid:1.2.3"), Some("Acme")).0,
            vec!["Acme", "1.2.3", "ISO"]
        );
        assert_eq!(authority(None, Some("RIJNSTATE")).0, vec!["RIJNSTATE"]);
    }

    #[test]
    fn numbers_have_no_exponent() {
        assert_eq!(nm(&json!(6.3)).as_deref(), Some("6.3"));
        assert_eq!(nm(&json!(12)).as_deref(), Some("12"));
        assert_eq!(nm(&json!(1e20)).as_deref(), Some("100000000000000000000"));
        let kept: Value = serde_json::from_str("[31.00, 0.50, 2.5E1]").unwrap();
        assert_eq!(nm(&kept[0]).as_deref(), Some("31.00"));
        assert_eq!(nm(&kept[1]).as_deref(), Some("0.50"));
        assert_eq!(nm(&kept[2]).as_deref(), Some("25"));
        assert_eq!(nm(&json!("6")), None);
    }
}
