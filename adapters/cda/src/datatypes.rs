//! The HL7 v3 data types as FHIR data types: TS, `IVL_TS`, CD, II, PN, AD,
//! TEL, PQ and the observation values.

use std::borrow::Cow;

use roxmltree::Node;
use zorgpoort_model::address::{Address, AddressLines, StreetLine};
use zorgpoort_model::datatypes::{PartialDateTime, days_in_month};
use zorgpoort_model::names::{FamilyName, FamilyOrder, is_initials};
use zorgpoort_model::systems::{self, ext, hl7, is_valid_bsn, naming_system_of_oid};
use zorgpoort_model::{Object, Value};

use crate::context::Ctx;
use crate::error::{Error, ErrorKind};
use crate::xml::{self, attr, child, children, is_null, xsi_type};

/// Code systems by OID, with their FHIR URI.
const CODE_SYSTEMS: &[(&str, &str)] = &[
    ("2.16.840.1.113883.6.1", systems::LOINC),
    ("2.16.840.1.113883.6.96", systems::SNOMED),
    ("2.16.840.1.113883.6.88", "http://www.nlm.nih.gov/research/umls/rxnorm"),
    ("2.16.840.1.113883.6.3", systems::ICD10),
    ("2.16.840.1.113883.6.90", "http://hl7.org/fhir/sid/icd-10-cm"),
    ("2.16.840.1.113883.6.103", systems::ICD9CM),
    ("2.16.840.1.113883.6.104", "http://hl7.org/fhir/sid/icd-9-cm"),
    ("2.16.840.1.113883.6.2", systems::ICD9CM),
    ("2.16.840.1.113883.12.292", systems::CVX),
    ("2.16.840.1.113883.6.59", systems::CVX),
    ("2.16.840.1.113883.6.8", systems::UCUM),
    ("2.16.840.1.113883.6.69", "http://hl7.org/fhir/sid/ndc"),
    ("2.16.840.1.113883.6.12", "http://www.ama-assn.org/go/cpt"),
    ("2.16.840.1.113883.6.101", "http://nucc.org/provider-taxonomy"),
    ("2.16.840.1.113883.6.285", "urn:oid:2.16.840.1.113883.6.285"),
    ("2.16.840.1.113883.5.4", hl7::V3_ACT_CODE),
    ("2.16.840.1.113883.5.83", hl7::V3_OBSERVATION_INTERPRETATION),
    (
        "2.16.840.1.113883.5.1",
        "http://terminology.hl7.org/CodeSystem/v3-AdministrativeGender",
    ),
    ("2.16.840.1.113883.5.2", hl7::V3_MARITAL_STATUS),
    (
        "2.16.840.1.113883.5.25",
        "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
    ),
    ("2.16.840.1.113883.5.111", hl7::V3_ROLE_CODE),
    (
        "2.16.840.1.113883.5.110",
        "http://terminology.hl7.org/CodeSystem/v3-RoleClass",
    ),
    (
        "2.16.840.1.113883.5.112",
        "http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration",
    ),
    (
        "2.16.840.1.113883.5.6",
        "http://terminology.hl7.org/CodeSystem/v3-ActClass",
    ),
    (
        "2.16.840.1.113883.5.14",
        "http://terminology.hl7.org/CodeSystem/v3-ActStatus",
    ),
    (
        "2.16.840.1.113883.5.1008",
        "http://terminology.hl7.org/CodeSystem/v3-NullFlavor",
    ),
    (
        "2.16.840.1.113883.5.1063",
        "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    ),
    (
        "2.16.840.1.113883.5.88",
        "http://terminology.hl7.org/CodeSystem/v3-ParticipationFunction",
    ),
    (
        "2.16.840.1.113883.5.90",
        "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
    ),
    ("2.16.840.1.113883.5.1119", hl7::V3_ADDRESS_USE),
    (
        "2.16.840.1.113883.5.139",
        "http://terminology.hl7.org/CodeSystem/v3-TimingEvent",
    ),
    (
        "2.16.840.1.113883.5.85",
        "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm",
    ),
];

/// The FHIR system of a v3 `codeSystem`: a known URI, or `urn:oid:`/`urn:uuid:`;
/// `None` for one that is neither an OID nor a UUID (see [`root_uri`]).
pub fn code_system(oid: &str) -> Option<String> {
    if let Some(&(_, uri)) = CODE_SYSTEMS.iter().find(|(o, _)| *o == oid) {
        return Some(uri.to_owned());
    }
    root_uri(oid)
}

/// `1.2.3`: digits and dots, no empty arcs.
pub fn is_oid(text: &str) -> bool {
    // One pass over the bytes: this runs for every identifier and code,
    // and splitting into arcs cost several times as much.
    let mut after_digit = false;
    for b in text.bytes() {
        match b {
            b'0'..=b'9' => after_digit = true,
            b'.' if after_digit => after_digit = false,
            _ => return false,
        }
    }
    after_digit
}

/// A UUID in its 8-4-4-4-12 hex form.
pub fn is_uuid(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// The `urn:` form of an identifier root or code system: `urn:uuid:` for a
/// UUID, `urn:oid:` for an OID, `None` for anything else (a root with
/// spaces or letters in it, a UUID with a digit that is not hex): such text
/// names no system, and written as one it would claim one that does not
/// exist.
pub fn root_uri(root: &str) -> Option<String> {
    // Concatenation, not `format!`: this runs for every identifier and code.
    if is_uuid(root) {
        let mut uri = String::with_capacity("urn:uuid:".len() + root.len());
        uri.push_str("urn:uuid:");
        uri.push_str(root);
        uri.make_ascii_lowercase();
        Some(uri)
    } else if is_oid(root) {
        Some(["urn:oid:", root].concat())
    } else {
        None
    }
}

/// Parses an HL7 TS, `YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]`, checking the calendar.
pub fn parse_ts(value: &str) -> Result<PartialDateTime, String> {
    let split = value
        .char_indices()
        .skip(1)
        .find(|&(_, c)| c == '+' || c == '-')
        .map_or(value.len(), |(i, _)| i);
    let (stamp, zone) = value.split_at(split);
    let (digits, fraction) = match stamp.split_once('.') {
        Some((d, f)) => (d, Some(f)),
        None => (stamp, None),
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) || !matches!(digits.len(), 4 | 6 | 8 | 10 | 12 | 14) {
        return Err(format!("{value:?} is not an HL7 timestamp (YYYYMMDDHHMMSS)"));
    }
    let number = |range: std::ops::Range<usize>| digits.get(range).and_then(|d| d.parse::<u32>().ok());
    let year = number(0..4).and_then(|y| i32::try_from(y).ok()).unwrap_or(0);
    if year == 0 {
        return Err(format!("{value:?} has year 0000"));
    }
    let month = number(4..6);
    let day = number(6..8);
    let hour = number(8..10);
    let minute = number(10..12);
    let second = number(12..14);
    if month.is_some_and(|m| !(1..=12).contains(&m)) {
        return Err(format!("{value:?} has no month {}", month.unwrap_or_default()));
    }
    if let (Some(m), Some(d)) = (month, day) {
        if d == 0 || d > days_in_month(year, m) {
            return Err(format!("{value:?} is not a day of the calendar"));
        }
    }
    if hour.is_some_and(|h| h > 23) || minute.is_some_and(|m| m > 59) || second.is_some_and(|s| s > 59) {
        return Err(format!("{value:?} is not a time of day"));
    }
    let fraction = match fraction {
        None => None,
        Some(f) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) && second.is_some() => {
            let kept = &f[..f.len().min(9)];
            let count = u8::try_from(kept.len()).unwrap_or(9);
            Some((kept.parse::<u32>().unwrap_or(0), count))
        }
        Some(_) => return Err(format!("{value:?} has an invalid fraction of a second")),
    };
    let offset_minutes = if zone.is_empty() {
        None
    } else {
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let z = &zone[1..];
        if z.len() != 4 || !z.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("{value:?} is not an HL7 timestamp (YYYYMMDDHHMMSS)"));
        }
        let (h, m) = match (z.len(), z.get(..2), z.get(2..)) {
            (4, Some(h), Some(m)) => (h.parse::<i32>().ok(), m.parse::<i32>().ok()),
            _ => (None, None),
        };
        match (h, m) {
            (Some(h), Some(m))
                if z.bytes().all(|b| b.is_ascii_digit()) && (h < 14 || (h == 14 && m == 0)) && m < 60 =>
            {
                Some(sign * (h * 60 + m))
            }
            _ => return Err(format!("{value:?} has an invalid time zone")),
        }
    };
    Ok(PartialDateTime {
        year,
        month,
        day: month.and(day),
        time: hour.map(|h| (h, minute.unwrap_or(0), second.unwrap_or(0))),
        fraction,
        offset_minutes,
    })
}

/// A FHIR period: `start`, `end`.
#[derive(Debug, Default)]
pub struct Period {
    /// Start (dateTime).
    pub start: Option<String>,
    /// End (dateTime); `None` too when the source's end lies before the
    /// start (see `ended`).
    pub end: Option<String>,
    /// A point in time (`@value`), when the source gave one.
    pub point: Option<String>,
    /// The source gave an end, left out (with a warning) because it lies
    /// before the start or the point: the two contradict each other, and
    /// only the start is kept. It still says that the period is over.
    pub ended: bool,
}

impl Period {
    /// The point, else the start.
    pub fn when(&self) -> Option<String> {
        self.point.clone().or_else(|| self.start.clone())
    }

    /// Whether the source gave an end, kept or not (for statuses that
    /// follow from a period being over).
    pub fn has_end(&self) -> bool {
        self.end.is_some() || self.ended
    }

    /// As a FHIR Period object (a point becomes its start).
    pub fn to_object(&self) -> Object<'static> {
        Object::new()
            .with("start", self.point.clone().or_else(|| self.start.clone()))
            .with("end", self.end.clone())
    }
}

impl Ctx<'_, '_> {
    /// A TS element's `@value` as `PartialDateTime`; `None` for a null or absent value.
    pub fn ts_value(&self, node: Node<'_, '_>) -> Result<Option<PartialDateTime>, Error> {
        let Some(value) = attr(node, "value") else {
            return Ok(None);
        };
        match parse_ts(value) {
            Ok(t) => Ok(Some(t)),
            Err(reason) if self.lenient_dates => {
                self.defer_warning(node, format!("unreadable timestamp left out: {reason}"));
                Ok(None)
            }
            Err(reason) => Err(self.error(
                node,
                ErrorKind::Invalid {
                    element: format!("{}/@value", node.tag_name().name()),
                    reason,
                },
            )),
        }
    }

    /// A TS as FHIR dateTime.
    pub fn datetime(&self, node: Option<Node<'_, '_>>) -> Result<Option<String>, Error> {
        let Some(node) = node else { return Ok(None) };
        Ok(self.ts_value(node)?.map(|t| t.to_fhir_datetime(self.zone)))
    }

    /// An `IVL_TS` (or TS) element: `@value`, or `low`/`high`/`center`.
    /// A `high` certainly before the `low` (or the point in time) is left
    /// out with a warning at the `high`: the source contradicts itself, and
    /// a FHIR Period cannot end before it starts (per-1).
    pub fn period(&self, node: Option<Node<'_, '_>>) -> Result<Period, Error> {
        let Some(node) = node else {
            return Ok(Period::default());
        };
        let value = |node: Option<Node<'_, '_>>| node.map_or(Ok(None), |n| self.ts_value(n));
        let point = value(Some(node))?.or(value(child(node, "center"))?);
        let start = value(child(node, "low"))?;
        let high = child(node, "high");
        let mut end = value(high)?;
        let mut ended = false;
        if let (Some(from), Some(to), Some(high)) = (point.or(start), end, high)
            && from.certainly_after(&to, self.zone)
        {
            self.defer_warning(high, "high is before low: the end is left out".to_owned());
            end = None;
            ended = true;
        }
        let text = |t: Option<PartialDateTime>| t.map(|t| t.to_fhir_datetime(self.zone));
        Ok(Period {
            point: text(point),
            start: text(start),
            end: text(end),
            ended,
        })
    }

    /// The first `effectiveTime` that is an interval or point (not a PIVL/EIVL frequency).
    pub fn effective_time(&self, node: Node<'_, '_>) -> Result<Period, Error> {
        let first =
            children(node, "effectiveTime").find(|e| !matches!(xsi_type(*e), Some("PIVL_TS" | "EIVL_TS" | "SXPR_TS")));
        self.period(first)
    }

    /// A `Coding` from a CD/CE element without its translations. A
    /// `codeSystem` that is not an OID or UUID is left out with a warning:
    /// the code and its display are kept, without a system to claim.
    fn coding(&self, node: Node<'_, '_>) -> Option<Object<'static>> {
        let code = attr(node, "code")?;
        if is_null(node) {
            return None;
        }
        let system = attr(node, "codeSystem").and_then(|cs| {
            let system = code_system(cs);
            if system.is_none() {
                self.defer_warning(
                    node,
                    "codeSystem is not an OID or UUID: the code is kept without a system".to_owned(),
                );
            }
            system
        });
        Some(
            Object::new()
                .with("system", system)
                .with("code", code.to_owned())
                .with("display", attr(node, "displayName").map(str::to_owned)),
        )
    }

    /// The text of an `originalText`, following its `reference` into the narrative.
    pub fn original_text(&self, node: Node<'_, '_>) -> Option<String> {
        let original = child(node, "originalText")?;
        if let Some(text) = xml::text(original) {
            return Some(text);
        }
        let reference = attr(child(original, "reference")?, "value")?;
        self.narrative_text(reference)
    }

    /// The text of an entry: `text` itself, or the narrative its `reference` points at.
    pub fn entry_text(&self, node: Node<'_, '_>) -> Option<String> {
        let text = child(node, "text")?;
        if let Some(reference) = child(text, "reference").and_then(|r| attr(r, "value")) {
            if let Some(found) = self.narrative_text(reference) {
                return Some(found);
            }
        }
        xml::text(text)
    }

    /// A `CodeableConcept` from a CD/CE/CV element: the code, its
    /// translations, and the original text (or display name) as text.
    pub fn concept(&self, node: Option<Node<'_, '_>>) -> Option<Object<'static>> {
        let node = node?;
        let mut codings: Vec<Object<'static>> = Vec::new();
        codings.extend(self.coding(node));
        codings.extend(children(node, "translation").filter_map(|t| self.coding(t)));
        let text = self.original_text(node).or_else(|| {
            codings
                .is_empty()
                .then(|| attr(node, "displayName").map(str::to_owned))
                .flatten()
        });
        let concept = Object::new().with("coding", codings).with("text", text);
        (!concept.is_empty()).then_some(concept)
    }

    /// A concept that FHIR requires: when the source has none, one that says
    /// why with the data-absent-reason extension.
    pub fn required_concept(&self, node: Option<Node<'_, '_>>) -> Object<'static> {
        self.concept(node)
            .unwrap_or_else(|| absent(node.and_then(|n| n.attribute("nullFlavor"))))
    }

    /// An Identifier from an II; `Ok(None)` for a null one. A BSN must pass
    /// the 11-check. Also returns `system|value` for de-duplication (`|value`
    /// without a system).
    ///
    /// A root that is not an OID or UUID names no system: the identifier is
    /// kept without one, with a warning (the extension as the value, or
    /// without an extension the root as written).
    pub fn identifier(&self, node: Node<'_, '_>) -> Result<Option<(Object<'static>, String)>, Error> {
        let Some(root) = attr(node, "root") else {
            return Ok(None);
        };
        let (system, value) = match attr(node, "extension") {
            Some(extension) => {
                let system = naming_system_of_oid(root).map(str::to_owned).or_else(|| root_uri(root));
                if system.as_deref() == Some(systems::BSN) && !is_valid_bsn(extension) {
                    return Err(self.error(node, ErrorKind::InvalidBsn));
                }
                (system, extension.to_owned())
            }
            None => match root_uri(root) {
                Some(uri) => (Some(systems::URI.to_owned()), uri),
                None => (None, root.to_owned()),
            },
        };
        if system.is_none() {
            self.defer_warning(
                node,
                "root is not an OID or UUID: the identifier is kept without a system".to_owned(),
            );
        }
        let key = [system.as_deref().unwrap_or_default(), "|", value.as_str()].concat();
        Ok(Some((Object::new().with("system", system).with("value", value), key)))
    }

    /// All identifiers of `node`'s `id` children.
    pub fn identifiers(&self, node: Node<'_, '_>) -> Result<(Vec<Object<'static>>, Option<String>), Error> {
        let mut out = Vec::new();
        let mut key = None;
        for id in children(node, "id") {
            if let Some((identifier, k)) = self.identifier(id)? {
                key.get_or_insert(k);
                out.push(identifier);
            }
        }
        Ok((out, key))
    }
}

/// The `data-absent-reason` code that says what a v3 `nullFlavor` says.
pub fn absent_reason(null_flavor: Option<&str>) -> &'static str {
    match null_flavor {
        Some("ASKU") => "asked-unknown",
        Some("NASK") => "not-asked",
        Some("NAV") => "temp-unknown",
        Some("MSK") => "masked",
        Some("NA") => "not-applicable",
        Some("OTH") => "unsupported",
        Some("PINF") => "positive-infinity",
        Some("NINF") => "negative-infinity",
        _ => "unknown",
    }
}

/// The (system, code) pairs of a CodeableConcept.
pub fn codes_of<'v>(concept: &'v Object<'_>) -> impl Iterator<Item = (&'v str, &'v str)> {
    let codings = match concept.get("coding") {
        Some(Value::Arr(codings)) => codings.as_slice(),
        _ => &[],
    };
    codings.iter().filter_map(|c| match c {
        Value::Obj(c) => match (c.get("system"), c.get("code")) {
            (Some(Value::Str(system)), Some(Value::Str(code))) => Some((system.as_ref(), code.as_ref())),
            _ => None,
        },
        _ => None,
    })
}

/// A CodeableConcept holding only a data-absent-reason.
pub fn absent(null_flavor: Option<&str>) -> Object<'static> {
    let reason = absent_reason(null_flavor);
    Object::new().with(
        "extension",
        vec![
            Object::new()
                .with("url", "http://hl7.org/fhir/StructureDefinition/data-absent-reason")
                .with("valueCode", reason),
        ],
    )
}

/// A `HumanName` from a PN, Dutch style: the voorvoegsel stays in `family`
/// and is also given apart in the `humanname-own-prefix` extension.
pub fn human_name(node: Node<'_, '_>) -> Option<Object<'static>> {
    if is_null(node) {
        return None;
    }
    let parts: Vec<Node<'_, '_>> = node.children().filter(Node::is_element).collect();
    if parts.is_empty() {
        return xml::text(node).map(|t| Object::new().with("text", t));
    }
    let (family, family_extension) = family(&parts);
    let name_use = match node.attribute("use").unwrap_or_default().split_whitespace().next() {
        Some("L" | "OR") => Some("official"),
        Some("P" | "A") => Some("nickname"),
        Some("ASGN") => Some("usual"),
        Some("C") => Some("old"),
        _ => None,
    };
    let given_nodes: Vec<Node<'_, '_>> = parts.iter().copied().filter(|p| xml::is(*p, "given")).collect();
    let given: Vec<String> = given_nodes.iter().filter_map(|g| xml::text(*g)).collect();
    // zib NameInformation: each given name of an official name says whether
    // it is a full name (BR) or initials (IN).
    let given_kinds = (name_use == Some("official")).then(|| {
        given_nodes
            .iter()
            .filter_map(|g| xml::text(*g).map(|t| (g.attribute("qualifier"), t)))
            .map(|(q, t)| {
                let kind = if q == Some("IN") || is_initials(&t) { "IN" } else { "BR" };
                let qualifier = Object::new().with("url", ext::NAME_QUALIFIER).with("valueCode", kind);
                Value::Obj(Object::new().with("extension", vec![qualifier]))
            })
            .collect::<Vec<_>>()
    });
    let texts = |name: &str| -> Vec<Value<'static>> {
        parts
            .iter()
            .filter(|p| xml::is(**p, name) && !p.attribute("qualifier").is_some_and(|q| q.contains("VV")))
            .filter_map(|p| xml::text(*p).map(Value::from))
            .collect()
    };
    let prefixes = texts("prefix");
    let suffixes = texts("suffix");
    let mut words: Vec<String> = Vec::new();
    let as_text = |v: &Value<'static>| match v {
        Value::Str(s) => Some(s.to_string()),
        _ => None,
    };
    words.extend(prefixes.iter().filter_map(as_text));
    words.extend(given.iter().cloned());
    words.extend(family.iter().cloned());
    words.extend(suffixes.iter().filter_map(as_text));
    let name = Object::new()
        .with("use", name_use)
        .with("text", (!words.is_empty()).then(|| words.join(" ")))
        .with("family", family)
        .with("_family", family_extension)
        .with("given", given.into_iter().map(Value::from).collect::<Vec<_>>())
        .with("_given", given_kinds)
        .with("prefix", prefixes)
        .with("suffix", suffixes);
    (!name.is_empty()).then_some(name)
}

/// The whole family name and its Dutch parts (own and partner's
/// voorvoegsel and name) as `humanname-*` extensions.
fn family(parts: &[Node<'_, '_>]) -> (Option<String>, Object<'static>) {
    let own_family = parts
        .iter()
        .find(|p| xml::is(**p, "family") && p.attribute("qualifier") != Some("SP") && xml::text(**p).is_some())
        .or_else(|| parts.iter().find(|p| xml::is(**p, "family")));
    let partner_family = parts
        .iter()
        .find(|p| xml::is(**p, "family") && p.attribute("qualifier") == Some("SP") && Some(*p) != own_family);
    // Dutch v3 names give the voorvoegsel as <prefix qualifier="VV">.
    let vv_prefixes: Vec<String> = parts
        .iter()
        .filter(|p| xml::is(**p, "prefix") && p.attribute("qualifier").is_some_and(|q| q.contains("VV")))
        .filter_map(|p| xml::text(*p))
        .collect();
    let own_name = own_family.and_then(|f| xml::text(*f));
    // A voorvoegsel only belongs to the name it stands with.
    let own_prefix = own_name.as_ref().and(vv_prefixes.first().cloned());
    let mut name = FamilyName {
        own_prefix: own_prefix.map(Cow::Owned),
        own_name: own_name.map(Cow::Owned),
        partner_prefix: None,
        partner_name: partner_family.and_then(|f| xml::text(*f)).map(Cow::Owned),
    };
    name.split_own_prefix();
    name.split_partner_prefix();
    let (family, extension) = name.into_family(FamilyOrder::OwnFirst);
    (family.map(Cow::into_owned), extension)
}

/// An Address from an AD, with Dutch street name and house number in the
/// ADXP extensions nl-core uses.
pub fn address(node: Node<'_, '_>) -> Option<Object<'static>> {
    if is_null(node) {
        return None;
    }
    let part = |name: &str| child(node, name).and_then(xml::text);
    let mut lines = AddressLines::new();
    for line in children(node, "streetAddressLine").filter_map(xml::text) {
        lines.push(line);
    }
    if lines.is_empty() {
        let street = StreetLine {
            street_name: part("streetName").map(Cow::Owned),
            house_number: part("houseNumber")
                .or_else(|| part("houseNumberNumeric"))
                .map(Cow::Owned),
            building_number_suffix: part("buildingNumberSuffix").map(Cow::Owned),
        };
        // A suffix alone makes no street line.
        if street.street_name.is_some() || street.house_number.is_some() {
            lines.push_street(None, street);
        }
    }
    let first_use = node.attribute("use").unwrap_or_default().split_whitespace().next();
    let (address_use, address_type) = match first_use {
        Some("H" | "HP" | "HV") => (Some("home"), None),
        Some("WP" | "DIR" | "PUB") => (Some("work"), None),
        Some("TMP") => (Some("temp"), None),
        Some("BAD") => (Some("old"), None),
        Some("PST") => (None, Some("postal")),
        Some("PHYS") => (None, Some("physical")),
        _ => (None, None),
    };
    if lines.is_empty() && node.children().all(|c| !c.is_element()) {
        if let Some(text) = xml::text(node) {
            return Some(Object::new().with("use", address_use).with("text", text));
        }
    }
    let address = Address {
        address_use,
        address_type,
        lines,
        city: part("city").map(Cow::Owned),
        district: part("county").map(Cow::Owned),
        state: part("state").map(Cow::Owned),
        postal_code: part("postalCode").map(Cow::Owned),
        country: part("country").map(Cow::Owned),
    }
    .into_object();
    (!address.is_empty()).then_some(address)
}

/// A `ContactPoint` from a TEL (`tel:`, `mailto:`, `fax:`, `http:`).
pub fn contact_point(node: Node<'_, '_>) -> Option<Object<'static>> {
    let value = attr(node, "value")?;
    let (system, rest) = if let Some(rest) = strip_scheme(value, "tel:") {
        ("phone", rest)
    } else if let Some(rest) = strip_scheme(value, "mailto:") {
        ("email", rest.trim_start_matches('/'))
    } else if let Some(rest) = strip_scheme(value, "fax:") {
        ("fax", rest)
    } else if value.starts_with("http:") || value.starts_with("https:") {
        ("url", value)
    } else if value.contains('@') {
        ("email", value)
    } else {
        ("other", value)
    };
    let rest = rest.trim();
    if rest.is_empty() {
        return None;
    }
    let uses: Vec<&str> = node.attribute("use").unwrap_or_default().split_whitespace().collect();
    let contact_use = uses.iter().find_map(|u| match *u {
        "H" | "HP" | "HV" => Some("home"),
        "WP" | "DIR" | "PUB" => Some("work"),
        "TMP" => Some("temp"),
        "BAD" => Some("old"),
        _ => None,
    });
    // nl-core: a mobile number says so with its telecom type, not with use.
    let mobile = uses.contains(&"MC") && system == "phone";
    let system_ext = mobile.then(|| {
        let coding = Object::new()
            .with("system", hl7::V3_ADDRESS_USE)
            .with("code", "MC")
            .with("display", "Mobile Phone");
        let specification = Object::new()
            .with("url", ext::CODE_SPECIFICATION)
            .with("valueCodeableConcept", Object::new().with("coding", vec![coding]));
        Object::new().with("extension", vec![specification])
    });
    Some(
        Object::new()
            .with("system", system)
            .with("_system", system_ext)
            .with("value", rest.to_owned())
            .with("use", contact_use),
    )
}

fn strip_scheme<'v>(value: &'v str, scheme: &str) -> Option<&'v str> {
    let head = value.get(..scheme.len())?;
    head.eq_ignore_ascii_case(scheme).then(|| &value[scheme.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use zorgpoort_model::datatypes::LocalZone;

    #[test]
    fn timestamps_of_every_precision() {
        let z = LocalZone::EuropeAmsterdam;
        assert_eq!(parse_ts("2026").unwrap().to_fhir_datetime(z), "2026");
        assert_eq!(parse_ts("202603").unwrap().to_fhir_datetime(z), "2026-03");
        assert_eq!(parse_ts("20260312").unwrap().to_fhir_datetime(z), "2026-03-12");
        assert_eq!(
            parse_ts("202607121430").unwrap().to_fhir_datetime(z),
            "2026-07-12T14:30:00+02:00"
        );
        assert_eq!(
            parse_ts("20260312143005.25-0500").unwrap().to_fhir_datetime(z),
            "2026-03-12T14:30:05.25-05:00"
        );
        assert_eq!(parse_ts("20260312+0100").unwrap().to_fhir_date(), "2026-03-12");
    }

    #[test]
    fn impossible_timestamps_say_why() {
        for (value, why) in [
            ("20230229", "is not a day of the calendar"),
            ("20261301", "has no month 13"),
            ("202603122460", "is not a time of day"),
            ("2026031", "is not an HL7 timestamp"),
            ("2026-03-12", "is not an HL7 timestamp"),
            ("20260312+1500", "has an invalid time zone"),
            ("00000101", "has year 0000"),
            ("20260312.5", "has an invalid fraction"),
            ("", "is not an HL7 timestamp"),
        ] {
            let error = parse_ts(value).unwrap_err();
            assert!(error.contains(why), "{value}: {error}");
        }
    }

    #[test]
    fn oids_are_digit_arcs_separated_by_single_dots() {
        for oid in ["1", "2.16.840.1.113883.6.1", "0.0"] {
            assert!(is_oid(oid), "{oid}");
        }
        for not in ["", ".", "1.", ".1", "1..2", "1.a", "1,2", "1.2 ", "١.٢"] {
            assert!(!is_oid(not), "{not}");
        }
        assert_eq!(root_uri("1.2.3").as_deref(), Some("urn:oid:1.2.3"));
        assert_eq!(
            root_uri("5C1F8E2A-3D6B-4F0E-9A7C-2B8D4E6F1A90").as_deref(),
            Some("urn:uuid:5c1f8e2a-3d6b-4f0e-9a7c-2b8d4e6f1a90")
        );
        for not in [
            "1..2",
            "2.16.840 .1.113883.6.1",
            "bolic panel",
            "37f76c51-6411-4e1d-8a37-957fd49d2ceg",
        ] {
            assert_eq!(root_uri(not), None, "{not}");
        }
    }

    #[test]
    fn code_systems_become_fhir_uris() {
        assert_eq!(
            code_system("2.16.840.1.113883.6.1").as_deref(),
            Some("http://loinc.org")
        );
        assert_eq!(
            code_system("2.16.840.1.113883.6.96").as_deref(),
            Some("http://snomed.info/sct")
        );
        assert_eq!(
            code_system("2.16.840.1.113883.2.4.4.31.1").as_deref(),
            Some("urn:oid:2.16.840.1.113883.2.4.4.31.1")
        );
        assert_eq!(
            code_system("5C1F8E2A-3D6B-4F0E-9A7C-2B8D4E6F1A90").as_deref(),
            Some("urn:uuid:5c1f8e2a-3d6b-4f0e-9a7c-2b8d4e6f1a90")
        );
        assert_eq!(code_system("2.16.840.1.11388 of care"), None);
    }

    #[test]
    fn dutch_family_names_keep_their_voorvoegsel() {
        let xml = r#"<name xmlns="urn:hl7-org:v3" use="L"><given>Jan</given><prefix qualifier="VV">van der</prefix><family>Berg</family></name>"#;
        let doc = roxmltree::Document::parse(xml).unwrap();
        let name = human_name(doc.root_element()).unwrap().to_json();
        assert!(name.contains(r#""family":"van der Berg""#), "{name}");
        assert!(name.contains(r#""text":"Jan van der Berg""#), "{name}");
        assert!(
            name.contains(r#"humanname-own-prefix","valueString":"van der""#),
            "{name}"
        );
        assert!(name.contains(r#"humanname-own-name","valueString":"Berg""#), "{name}");
    }
}
