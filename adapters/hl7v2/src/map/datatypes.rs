//! The HL7 v2 data types as FHIR data types: identifiers (with the Dutch
//! systems), names (with voorvoegsels), addresses, telecoms, codes, dates,
//! and the Practitioner and Organization resources behind XCN and XON.

use std::borrow::Cow;

use zorgpoort_model::address::{Address, AddressLines, StreetLine};
use zorgpoort_model::datatypes::{PartialDateTime, concept, profile_meta};
use zorgpoort_model::names::{FamilyName, FamilyOrder, is_initials};
use zorgpoort_model::systems::{self, ext, hl7, profile};
use zorgpoort_model::{Json, Object, ObjectWriter, Value, WrittenRef};

use super::Mapper;
use crate::error::Location;
use crate::message::Item;
use crate::types::{Cwe, Cx, Hd, Xad, Xcn, Xon, Xpn, Xtn, read_dtm};

/// OIDs of the Dutch identifier systems (nl-core `NamingSystems`).
const DUTCH_OIDS: &[(&str, &str)] = &[
    ("2.16.840.1.113883.2.4.6.3", systems::BSN),
    ("2.16.840.1.113883.2.4.6.1", systems::AGB),
    ("2.16.528.1.1007.3.1", systems::UZI_PERSON),
    ("2.16.528.1.1007.3.3", systems::URA),
    ("2.16.528.1.1007.5.1", systems::BIG),
    ("2.16.840.1.113883.2.4.6.4", systems::UZOVI),
];

/// Assigning-authority namespaces and identifier type codes used for them in Dutch v2 traffic.
const DUTCH_NAMES: &[(&str, &str)] = &[
    ("NLMINBIZA", systems::BSN),
    ("NNNLD", systems::BSN),
    ("BSN", systems::BSN),
    ("VEKTIS", systems::AGB),
    ("AGB", systems::AGB),
    ("AGB-Z", systems::AGB),
    ("URA", systems::URA),
    ("UZI", systems::UZI_PERSON),
    ("BIG", systems::BIG),
    ("UZOVI", systems::UZOVI),
];

/// The identifier system for an assigning authority and type code: a Dutch
/// `NamingSystem`, `urn:oid:` for another OID, a URI as given, or none.
pub(super) fn identifier_system(authority: &Hd<'_>, type_code: Option<&str>) -> Option<Cow<'static, str>> {
    let oid = authority.universal_id.as_deref();
    if let Some(&(_, system)) = DUTCH_OIDS.iter().find(|(o, _)| Some(*o) == oid) {
        return Some(Cow::Borrowed(system));
    }
    let named = [authority.namespace.as_deref(), type_code]
        .into_iter()
        .flatten()
        .find_map(|name| {
            DUTCH_NAMES
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|&(_, system)| system)
        });
    if let Some(system) = named {
        return Some(Cow::Borrowed(system));
    }
    let oid = oid?;
    if is_oid(oid) {
        Some(Cow::Owned(format!("urn:oid:{oid}")))
    } else if oid.contains(':') {
        Some(Cow::Owned(oid.to_owned()))
    } else {
        None
    }
}

/// Whether `text` can be written as a FHIR `uri` (or `url`, `canonical`):
/// not empty, and no whitespace anywhere.
pub(super) fn is_uri(text: &str) -> bool {
    !text.is_empty() && !text.chars().any(|c| c.is_whitespace() || c == '\u{feff}')
}

/// Whether `text` can be written as a FHIR `code`: not empty, and no
/// whitespace at either end or twice in a row.
pub(super) fn is_code(text: &str) -> bool {
    let space = |c: char| c.is_whitespace() || c == '\u{feff}';
    let mut previous_space = true;
    for c in text.chars() {
        let is_space = space(c);
        if is_space && previous_space {
            return false;
        }
        previous_space = is_space;
    }
    !previous_space
}

/// An identifier whose system is the BSN's but whose value fails the
/// 11-check: it is left out, as a BSN that is not one would name nobody
/// (or somebody else).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct InvalidBsn;

fn is_oid(text: &str) -> bool {
    !text.is_empty()
        && text
            .split('.')
            .all(|arc| !arc.is_empty() && arc.bytes().all(|b| b.is_ascii_digit()))
}

impl<'a> Mapper<'a> {
    /// The name an XPN (or an XCN's name) at `location` gives, Dutch style
    /// (`family` whole, its parts in extensions); a voorvoegsel without its
    /// surname part is left out of the parts, with a warning.
    pub(super) fn name(&mut self, xpn: Xpn<'a>, location: Location) -> HumanName<'a> {
        let name = HumanName::read(xpn);
        if name.loose_prefix {
            self.warn(
                location,
                "surname prefix (voorvoegsel) without its surname part; the prefix part is left out, the family name kept as sent",
            );
        }
        name
    }

    /// An Identifier from the CX at `location`, with the `system` that
    /// [`Mapper::identifier_system`] found for it.
    pub(super) fn identifier(
        &mut self,
        cx: Cx<'a>,
        system: Option<Cow<'static, str>>,
        location: Location,
    ) -> Object<'a> {
        let is_dutch = system.as_deref().is_some_and(|s| s.starts_with("http://fhir.nl/"));
        let kind = if is_dutch {
            None
        } else {
            self.code(cx.type_code, location)
                .map(|code| concept(hl7::V2_0203, code))
        };
        let assigner = if system.is_none() {
            cx.authority.namespace.map(|n| Object::new().with("display", n))
        } else {
            None
        };
        Object::new()
            .with("type", kind)
            .with("system", system.map(Cow::into_owned))
            .with("value", cx.id)
            .with("assigner", assigner)
    }

    /// A code from the message for a `code` element: left out, with a
    /// warning at `location`, when FHIR does not allow it as a code
    /// (whitespace at an end or twice in a row).
    pub(super) fn code<'c>(&mut self, code: Option<Cow<'c, str>>, location: Location) -> Option<Cow<'c, str>> {
        match code {
            Some(code) if !is_code(&code) => {
                self.warn(location, "code with whitespace FHIR does not allow in a code; left out");
                None
            }
            code => code,
        }
    }
}

/// A `HumanName` as read from an XPN, to make into a tree or to write.
pub(super) struct HumanName<'a> {
    name_use: Option<&'static str>,
    /// The name as displayed: given names, then the family name.
    text: Option<String>,
    family: Option<Cow<'a, str>>,
    /// The family name's parts, for the `_family` extensions.
    parts: FamilyName<'a>,
    given: Vec<Cow<'a, str>>,
    prefix: Option<Cow<'a, str>>,
    /// Suffix and degree.
    suffix: Vec<Cow<'a, str>>,
    /// Whether a voorvoegsel without its surname part was left out of `parts`.
    loose_prefix: bool,
}

impl<'a> HumanName<'a> {
    /// The name an XPN gives.
    pub(super) fn read(xpn: Xpn<'a>) -> Self {
        let f = xpn.family;
        let mut parts = FamilyName {
            own_prefix: f.own_prefix,
            own_name: f.own_surname,
            partner_prefix: f.partner_prefix,
            partner_name: f.partner_surname,
        };
        let family = match f.surname {
            Some(surname) => {
                if parts.own_prefix.is_none() && parts.own_name.is_none() && parts.partner_name.is_none() {
                    let whole = FamilyName::from_surname(surname.clone());
                    // "Jansen-Smit" without a voorvoegsel is own and partner's
                    // name in an order we cannot know: no own-name part then.
                    if whole.own_prefix.is_some() || !surname.contains('-') {
                        (parts.own_prefix, parts.own_name) = (whole.own_prefix, whole.own_name);
                    }
                }
                Some(surname)
            }
            None => parts.text(FamilyOrder::OwnFirst),
        };
        // zib NameInformation: a voorvoegsel goes with its surname part, so
        // one without it is left out of the parts; `family` keeps the name
        // as sent.
        let loose_prefix = (parts.own_prefix.is_some() && parts.own_name.is_none())
            || (parts.partner_prefix.is_some() && parts.partner_name.is_none());
        if parts.own_name.is_none() {
            parts.own_prefix = None;
        }
        if parts.partner_name.is_none() {
            parts.partner_prefix = None;
        }
        let given: Vec<Cow<'a, str>> = [xpn.given, xpn.middle].into_iter().flatten().collect();
        // nl-core wants the name as displayed too: given names, then the
        // family name with its voorvoegsels.
        let text: Vec<&str> = given.iter().map(AsRef::as_ref).chain(family.as_deref()).collect();
        let text = (!text.is_empty()).then(|| text.join(" "));
        let name_use = xpn.type_code.as_deref().and_then(|code| match code {
            "L" | "B" | "D" => Some(if code == "D" { "usual" } else { "official" }),
            "M" => Some("maiden"),
            "N" => Some("nickname"),
            "A" | "S" => Some("anonymous"),
            "C" | "BAD" => Some("old"),
            _ => None,
        });
        Self {
            name_use,
            text,
            family,
            parts,
            given,
            prefix: xpn.prefix,
            suffix: [xpn.suffix, xpn.degree].into_iter().flatten().collect(),
            loose_prefix,
        }
    }

    /// zib `NameInformation`: every given name of the official name says
    /// whether it is a full name (BR) or an initial (IN).
    fn given_kinds(&self) -> Option<impl Iterator<Item = &'static str>> {
        (self.name_use == Some("official")).then(|| {
            self.given
                .iter()
                .map(|name| if is_initials(name) { "IN" } else { "BR" })
        })
    }

    /// The `HumanName` element.
    pub(super) fn into_object(self) -> Object<'a> {
        let given_kinds = self.given_kinds().map(|kinds| {
            kinds
                .map(|kind| {
                    let qualifier = Object::new().with("url", ext::NAME_QUALIFIER).with("valueCode", kind);
                    Value::Obj(Object::new().with("extension", vec![qualifier]))
                })
                .collect::<Vec<_>>()
        });
        Object::new()
            .with("use", self.name_use)
            .with("text", self.text)
            .with("family", self.family)
            .with("_family", self.parts.into_extension())
            .with("given", self.given.into_iter().map(Value::from).collect::<Vec<_>>())
            .with("_given", given_kinds)
            .with("prefix", self.prefix.map(|p| vec![Value::from(p)]))
            .with("suffix", self.suffix.into_iter().map(Value::from).collect::<Vec<_>>())
    }

    /// Writes the fields [`Self::into_object`] makes.
    pub(super) fn write(&self, w: &mut ObjectWriter<'_>) {
        w.field("use", self.name_use)
            .field("text", self.text.as_deref())
            .field("family", self.family.as_deref())
            .object("_family", |family| self.parts.write_extension(family))
            .array("given", |given| {
                for name in &self.given {
                    given.item(name.as_ref());
                }
            })
            .array("_given", |given| {
                for kind in self.given_kinds().into_iter().flatten() {
                    given.object(|name| {
                        name.list("extension", |qualifier| {
                            qualifier.field("url", ext::NAME_QUALIFIER).field("valueCode", kind);
                        });
                    });
                }
            })
            .list_item("prefix", self.prefix.as_deref())
            .array("suffix", |suffix| {
                for part in &self.suffix {
                    suffix.item(part.as_ref());
                }
            });
    }
}

/// Writes a `CodeableConcept` with one coding of `system|code` (as
/// [`concept`] makes it) into the object it is given: for the fixed codes
/// of written resources.
pub(super) fn coded<'c>(system: &'c str, code: &'c str) -> impl FnOnce(&mut ObjectWriter<'_>) + 'c {
    move |w| {
        w.list("coding", |coding| {
            coding.field("system", system).field("code", code);
        });
    }
}

/// The data-absent-reason extension.
const DATA_ABSENT_REASON: &str = "http://hl7.org/fhir/StructureDefinition/data-absent-reason";

/// Why an element the profile requires has no value: `unknown` when the
/// message left it empty, `error` when it held something unreadable. On a
/// primitive it goes in `_element`.
pub(super) fn absent(reason: &'static str) -> Object<'static> {
    let extension = Object::new().with("url", DATA_ABSENT_REASON).with("valueCode", reason);
    Object::new().with("extension", vec![extension])
}

/// An Address, with street name and house number as nl-core wants them.
pub(super) fn address(xad: Xad<'_>) -> Object<'_> {
    let mut lines = AddressLines::new();
    let street = StreetLine {
        street_name: xad.street_name,
        house_number: xad.house_number,
        building_number_suffix: None,
    };
    lines.push_street(xad.street, street);
    if let Some(other) = xad.other {
        lines.push(other);
    }
    let (address_use, address_type) = match xad.type_code.as_deref() {
        Some("H" | "L") => (Some("home"), None),
        Some("B" | "O") => (Some("work"), None),
        Some("C") => (Some("temp"), None),
        Some("BA") => (Some("old"), None),
        Some("M") => (None, Some("postal")),
        _ => (None, None),
    };
    Address {
        address_use,
        address_type,
        lines,
        city: xad.city,
        district: xad.county,
        state: xad.state,
        postal_code: xad.postal_code,
        country: xad.country,
    }
    .into_object()
}

/// A `ContactPoint`.
pub(super) fn contact_point<'a>(xtn: Xtn<'a>, default_use: Option<&'static str>) -> Object<'a> {
    let equipment = xtn.equipment.as_deref();
    let is_email = xtn.email.is_some()
        || matches!(equipment, Some("Internet" | "X.400"))
        || xtn.use_code.as_deref() == Some("NET");
    let (system, value) = if is_email {
        ("email", xtn.email.or(xtn.number))
    } else {
        let composed = xtn.local_number.as_deref().map(|local| {
            let country = xtn
                .country_code
                .as_deref()
                .map(|c| format!("+{} ", c.trim_start_matches('+')))
                .unwrap_or_default();
            let area = xtn.area_code.as_deref().map(|a| format!("{a} ")).unwrap_or_default();
            let ext = xtn.extension.as_deref().map(|e| format!(" x{e}")).unwrap_or_default();
            Cow::Owned(format!("{country}{area}{local}{ext}"))
        });
        let system = match equipment {
            Some("FX") => "fax",
            Some("BP") => "pager",
            _ => "phone",
        };
        (system, xtn.unformatted.or(composed).or(xtn.number))
    };
    // nl-core binds `use` to home, work and (phones only) temp: a mobile
    // number says so with its telecom type (MC), not with use `mobile`.
    let contact_use = match (equipment, xtn.use_code.as_deref()) {
        (_, Some("PRN" | "ORN" | "VHN")) => Some("home"),
        (_, Some("WPN")) => Some("work"),
        (_, Some("EMR")) => None,
        (Some("CP"), _) if !is_email => None,
        _ => default_use,
    };
    let telecom_type = match equipment {
        _ if is_email || value.is_none() => None,
        Some("CP") => Some((hl7::V3_ADDRESS_USE, "MC", "Mobile Phone")),
        Some("BP") => Some((hl7::V3_ADDRESS_USE, "PG", "Pager")),
        Some("FX") => Some((systems::ZIB_TELECOM_TYPE, "FAX", "Fax")),
        Some("PH") => Some((systems::ZIB_TELECOM_TYPE, "LL", "Landline")),
        _ => None,
    };
    let system_ext = telecom_type.map(|(code_system, code, display)| {
        let coding = Object::new()
            .with("system", code_system)
            .with("code", code)
            .with("display", display);
        let specification = Object::new()
            .with("url", ext::CODE_SPECIFICATION)
            .with("valueCodeableConcept", Object::new().with("coding", vec![coding]));
        Object::new().with("extension", vec![specification])
    });
    Object::new()
        .with("system", value.is_some().then_some(system))
        .with("_system", system_ext)
        .with("value", value)
        .with("use", contact_use)
}

/// ICD-10-CM, the US clinical modification of ICD-10.
const ICD10CM: &str = "http://hl7.org/fhir/sid/icd-10-cm";
/// CPT (CPT-4 and CPT-5).
const CPT: &str = "http://www.ama-assn.org/go/cpt";
/// `RxNorm`.
const RXNORM: &str = "http://www.nlm.nih.gov/research/umls/rxnorm";
/// The WHO's Anatomical Therapeutic Chemical classification.
const ATC: &str = "http://www.whocc.no/atc";
/// US National Drug Codes.
const NDC: &str = "http://hl7.org/fhir/sid/ndc";

/// Coding-system names of HL7 table 0396 (and a few spellings senders use
/// for them) with the FHIR URI of the code system. Not every 0396 name has
/// a FHIR URI; those stay unknown. `ATC` in 0396 is the American Type
/// Culture Collection, not the WHO's ATC (that is `WC`).
const TABLE_0396: &[(&str, &str)] = &[
    ("LN", systems::LOINC),
    ("LOINC", systems::LOINC),
    ("SCT", systems::SNOMED),
    ("SNM", systems::SNOMED),
    ("SNOMED", systems::SNOMED),
    ("SNOMEDCT", systems::SNOMED),
    ("SNOMED-CT", systems::SNOMED),
    ("SNOMED CT", systems::SNOMED),
    ("I10", systems::ICD10),
    ("ICD10", systems::ICD10),
    ("ICD-10", systems::ICD10),
    ("I10C", ICD10CM),
    ("I10P", "http://www.cms.gov/Medicare/Coding/ICD10"),
    ("I9", systems::ICD9CM),
    ("I9C", systems::ICD9CM),
    ("I9CDX", systems::ICD9CM),
    ("I9CP", systems::ICD9CM),
    ("ICD9", systems::ICD9CM),
    ("UCUM", systems::UCUM),
    ("CVX", systems::CVX),
    ("MVX", "http://hl7.org/fhir/sid/mvx"),
    ("NDC", NDC),
    ("RXNORM", RXNORM),
    ("C4", CPT),
    ("C5", CPT),
    ("HPC", "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"),
    ("DCM", "http://dicom.nema.org/resources/ontology/DCM"),
    ("WC", ATC),
    ("ISO3166_1", "urn:iso:std:iso:3166"),
];

/// OIDs of code systems that FHIR names with a URI of their own.
const CODE_SYSTEM_OIDS: &[(&str, &str)] = &[
    ("2.16.840.1.113883.6.1", systems::LOINC),
    ("2.16.840.1.113883.6.96", systems::SNOMED),
    ("2.16.840.1.113883.6.8", systems::UCUM),
    ("2.16.840.1.113883.6.3", systems::ICD10),
    ("2.16.840.1.113883.6.90", ICD10CM),
    ("2.16.840.1.113883.6.103", systems::ICD9CM),
    ("2.16.840.1.113883.6.104", systems::ICD9CM),
    ("2.16.840.1.113883.12.292", systems::CVX),
    ("2.16.840.1.113883.6.12", CPT),
    ("2.16.840.1.113883.6.88", RXNORM),
    ("2.16.840.1.113883.6.73", ATC),
    ("2.16.840.1.113883.6.69", NDC),
];

/// The FHIR system of a v2 coding-system name (CWE.3) that means the same
/// for every sender: a table 0396 name, an `HL7nnnn` table, an OID (the
/// URI FHIR gives it, else `urn:oid:`), or a URI written as the name.
/// Local names (`L`, `99zzz`) are per sender: see [`Mapper::code_system`].
pub(super) fn coding_system(name: &str) -> Option<Cow<'static, str>> {
    let upper = name.to_ascii_uppercase();
    if let Some(&(_, uri)) = TABLE_0396.iter().find(|(n, _)| *n == upper) {
        return Some(Cow::Borrowed(uri));
    }
    if let Some(table) = upper.strip_prefix("HL7").map(|t| t.trim_start_matches('-')) {
        if table.len() == 4 && table.bytes().all(|b| b.is_ascii_digit()) {
            return Some(Cow::Owned(format!("http://terminology.hl7.org/CodeSystem/v2-{table}")));
        }
    }
    let oid = name.strip_prefix("urn:oid:").unwrap_or(name);
    if is_oid(oid) {
        if let Some(&(_, uri)) = CODE_SYSTEM_OIDS.iter().find(|(o, _)| *o == oid) {
            return Some(Cow::Borrowed(uri));
        }
        if let Some(table) = oid.strip_prefix("2.16.840.1.113883.12.") {
            if table.bytes().all(|b| b.is_ascii_digit()) && table.len() <= 4 {
                return Some(Cow::Owned(format!(
                    "http://terminology.hl7.org/CodeSystem/v2-{table:0>4}"
                )));
            }
        }
        return Some(Cow::Owned(format!("urn:oid:{oid}")));
    }
    let is_uri = ["http://", "https://", "urn:"]
        .iter()
        .any(|scheme| name.starts_with(scheme));
    is_uri.then(|| Cow::Owned(name.to_owned()))
}

/// Whether a CWE has what [`Mapper::concept`] makes a `CodeableConcept` of:
/// a code, an alternate code or a text.
pub(super) fn names_a_concept(item: Item<'_, '_>) -> bool {
    // As `Cwe::read` reads them, but only as far as needed.
    let [code, text, _, alt_code, _, _, _, _, original_text] = item.components::<9>();
    [code, text, alt_code, original_text].iter().any(|c| c.text().is_some())
}

impl<'a> Mapper<'a> {
    /// The system of an identifier with the id `value`, as
    /// [`identifier_system`] finds it from its assigning `authority` and
    /// `type_code`, checked for every resource alike: the BSN's system
    /// only with a value that passes the 11-check (else the identifier is
    /// left out, `Err`), and only a valid URI (else the identifier is kept
    /// without a system). Both are reported at `location`.
    pub(super) fn identifier_system(
        &mut self,
        authority: &Hd<'_>,
        type_code: Option<&str>,
        value: Option<&str>,
        location: Location,
    ) -> Result<Option<Cow<'static, str>>, InvalidBsn> {
        let system = identifier_system(authority, type_code);
        match (system.as_deref(), value) {
            (Some(systems::BSN), Some(bsn)) if !systems::is_valid_bsn(bsn) => {
                self.warn(location, "BSN fails the 11-check; not emitted");
                Err(InvalidBsn)
            }
            (Some(uri), _) if !is_uri(uri) => {
                self.warn(
                    location,
                    "assigning authority is not a valid URI; identifier kept without a system",
                );
                Ok(None)
            }
            _ => Ok(system),
        }
    }

    /// A `CodeableConcept` from a CWE; an unknown coding system keeps the
    /// code without a system and is reported.
    pub(super) fn concept(&mut self, item: Item<'_, 'a>) -> Option<Object<'a>> {
        self.concept_of(Cwe::read(item), item.location())
    }

    pub(super) fn concept_of(&mut self, cwe: Cwe<'a>, location: Location) -> Option<Object<'a>> {
        let mut codings = Vec::new();
        for (code, display, system) in [
            (cwe.code, cwe.text.clone(), cwe.system),
            (cwe.alt_code, cwe.alt_text, cwe.alt_system),
        ] {
            let Some(code) = self.code(code, location) else {
                continue;
            };
            let uri = system.as_deref().and_then(|name| self.code_system(name, location));
            codings.push(
                Object::new()
                    .with("system", uri)
                    .with("code", code)
                    .with("display", display),
            );
        }
        let concept = Object::new()
            .with("coding", codings)
            .with("text", cwe.original_text.or(cwe.text));
        (!concept.is_empty()).then_some(concept)
    }

    /// The FHIR system of the coding-system name in CWE-3 or CWE-6: a name
    /// that means the same for every sender, else the sender's local table
    /// from [`super::LocalCodeSystems`]. Without either the code keeps no
    /// system, and the name is reported once per message.
    pub(super) fn code_system(&mut self, name: &str, location: Location) -> Option<String> {
        let known = coding_system(name).or_else(|| self.local_codes.uri(name).map(|uri| Cow::Owned(uri.to_owned())));
        if let Some(uri) = known {
            if is_uri(&uri) {
                return Some(uri.into_owned());
            }
            self.warn(
                location,
                "coding system is not a valid URI; its codes are kept without a system",
            );
            return None;
        }
        if !self.unknown_systems.iter().any(|n| n == name) {
            self.unknown_systems.push(name.to_owned());
            self.warn(
                location,
                format!(
                    "coding system {name:?} has no known URI (a local table needs one in the sender's registry entry); its codes are kept without a system"
                ),
            );
        }
        None
    }

    /// A DTM/TS the message can do without: one that is not a valid date
    /// or does not exist is left out with a located warning. The warning
    /// does not quote the value, which may be patient data.
    pub(super) fn timestamp(&mut self, item: Item<'_, 'a>) -> Option<PartialDateTime> {
        read_dtm(item).unwrap_or_else(|_| {
            self.warn(item.location(), "not a valid HL7 v2 date or time; left out");
            None
        })
    }

    /// A FHIR dateTime from a DTM/TS.
    pub(super) fn datetime(&mut self, item: Item<'_, 'a>) -> Option<String> {
        self.timestamp(item).map(|d| d.to_fhir_datetime(self.zone))
    }

    /// A FHIR date from a DT/DTM/TS (time dropped).
    pub(super) fn date(&mut self, item: Item<'_, 'a>) -> Option<String> {
        self.timestamp(item).map(|d| d.to_fhir_date())
    }

    /// A FHIR instant: a dateTime with at least seconds; `None` when less precise.
    pub(super) fn instant(&mut self, item: Item<'_, 'a>) -> Option<String> {
        self.timestamp(item)
            .filter(|d| d.time.is_some())
            .map(|d| d.to_fhir_datetime(self.zone))
    }

    /// The reference written before for the same text of an XCN or XON
    /// (`resource_type` telling which), if any.
    fn known_reference(&self, resource_type: &str, item: Item<'_, 'a>) -> Option<Json> {
        let raw = item.raw();
        self.known_references
            .iter()
            .find(|(kind, text, _)| *kind == resource_type && *text == raw)
            .map(|(_, _, reference)| reference.clone())
    }

    /// A reference to the Practitioner behind an XCN, adding it once per message.
    pub(super) fn practitioner(&mut self, item: Item<'_, 'a>) -> Option<Json> {
        if let Some(reference) = self.known_reference("Practitioner", item) {
            return Some(reference);
        }
        let mut xcn = Xcn::read(item);
        if xcn.id.is_none() && xcn.name == Xpn::default() {
            return None;
        }
        let system = self
            .identifier_system(
                &xcn.authority,
                xcn.type_code.as_deref(),
                xcn.id.as_deref(),
                item.location(),
            )
            .unwrap_or_else(|InvalidBsn| {
                xcn.id = None;
                None
            });
        if xcn.id.is_none() && xcn.name == Xpn::default() {
            return None;
        }
        let display = display_name(&xcn.name);
        let id = xcn.id.map(Cow::into_owned);
        // A practitioner written before keeps the name written then: this
        // one is not written, so nothing of it is reported left out.
        let key = person_key("Practitioner", system.as_deref(), id.as_deref(), item.location());
        let name = if self.people.iter().any(|(k, _)| *k == key) {
            HumanName::read(xcn.name)
        } else {
            self.name(xcn.name, item.location())
        };
        let assigner = if system.is_none() {
            xcn.authority.namespace
        } else {
            None
        };
        let entry = self.add_once(
            "Practitioner",
            profile::PRACTITIONER,
            (system.as_deref(), id.as_deref(), assigner),
            item.location(),
            |w| {
                w.list("name", |w| name.write(w));
            },
        );
        let reference = self.bundle.shared_reference(entry, display.as_deref());
        if id.is_some() {
            // The same text names the same practitioner, with the same display.
            self.known_references
                .push(("Practitioner", item.raw(), reference.clone()));
        }
        Some(reference)
    }

    /// A reference to the Organization behind an XON, adding it once per message.
    pub(super) fn organization(&mut self, item: Item<'_, 'a>) -> Option<Json> {
        if let Some(reference) = self.known_reference("Organization", item) {
            return Some(reference);
        }
        let xon = Xon::read(item);
        let mut id = xon.identifier().map(str::to_owned);
        if id.is_none() && xon.name.is_none() {
            return None;
        }
        let system = self
            .identifier_system(&xon.authority, xon.type_code.as_deref(), id.as_deref(), item.location())
            .unwrap_or_else(|InvalidBsn| {
                id = None;
                None
            });
        if id.is_none() && xon.name.is_none() {
            return None;
        }
        let reference = self.organization_resource(
            xon.name,
            profile::ORGANIZATION,
            system.as_deref(),
            id.as_deref(),
            item.location(),
        );
        if id.is_some() {
            self.known_references
                .push(("Organization", item.raw(), reference.clone()));
        }
        Some(reference)
    }

    /// A reference to an Organization with a name, the nl-core profile it
    /// claims and an identifier, added once per message.
    pub(super) fn organization_resource(
        &mut self,
        name: Option<Cow<'a, str>>,
        claims: &'static str,
        system: Option<&str>,
        id: Option<&str>,
        location: Location,
    ) -> Json {
        let display = name.clone();
        let entry = self.add_once("Organization", claims, (system, id, None), location, |w| {
            w.field("name", name);
        });
        self.bundle.shared_reference(entry, display.as_deref())
    }

    /// The entry of a practitioner or organisation: one per identifier (or
    /// per place in the message when it has none), conditionally updated on
    /// its identifier when that has a system. It is written with the profile
    /// it `claims`, its Identifier (`system`, `id` and the `assigner`'s
    /// name), then what `write` writes.
    fn add_once(
        &mut self,
        resource_type: &'static str,
        claims: &'static str,
        (system, id, assigner): (Option<&str>, Option<&str>, Option<Cow<'a, str>>),
        location: Location,
        write: impl FnOnce(&mut ObjectWriter<'_>),
    ) -> WrittenRef {
        let key = person_key(resource_type, system, id, location);
        if let Some(&(_, entry)) = self.people.iter().find(|(k, _)| *k == key) {
            return entry;
        }
        let mut resource = match (system, id) {
            (Some(system), Some(id)) => self.bundle.conditional_writer(resource_type, &key, system, id),
            _ => self.bundle.writer(resource_type, &key),
        };
        let mut w = resource.fields();
        w.field("meta", profile_meta(claims));
        if let Some(id) = id {
            w.list("identifier", |identifier| {
                identifier
                    .field("system", system)
                    .field("value", id)
                    .object("assigner", |a| {
                        a.field("display", assigner);
                    });
            });
        }
        write(&mut w);
        let entry = resource.finish();
        self.people.push((key, entry));
        entry
    }
}

/// The key [`Mapper::add_once`] keeps a practitioner or organisation by:
/// its identifier, or without one the place in the message.
fn person_key(resource_type: &str, system: Option<&str>, id: Option<&str>, location: Location) -> String {
    match id {
        Some(id) => format!("{resource_type}|{}|{id}", system.unwrap_or_default()),
        None => format!("{resource_type}|{location}"),
    }
}

/// "Jan van der Berg" for a reference's display.
pub(super) fn display_name(xpn: &Xpn<'_>) -> Option<String> {
    let parts: Vec<&str> = [
        xpn.prefix.as_deref(),
        xpn.given.as_deref(),
        xpn.family.surname.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dutch_systems_from_oid_namespace_or_type() {
        let hd = |ns: Option<&'static str>, oid: Option<&'static str>| Hd {
            namespace: ns.map(Cow::Borrowed),
            universal_id: oid.map(Cow::Borrowed),
            universal_id_type: None,
        };
        assert_eq!(
            identifier_system(&hd(Some("NLMINBIZA"), None), None).as_deref(),
            Some(systems::BSN)
        );
        assert_eq!(
            identifier_system(&hd(None, Some("2.16.528.1.1007.3.3")), None).as_deref(),
            Some(systems::URA)
        );
        assert_eq!(
            identifier_system(&hd(None, None), Some("NNNLD")).as_deref(),
            Some(systems::BSN)
        );
        assert_eq!(
            identifier_system(&hd(Some("X"), Some("1.2.3")), None).as_deref(),
            Some("urn:oid:1.2.3")
        );
        assert_eq!(identifier_system(&hd(Some("RIJNSTATE"), None), Some("PI")), None);
    }

    #[test]
    fn official_given_names_say_name_or_initial() {
        let name = |type_code: &'static str| Xpn {
            given: Some(Cow::Borrowed("Jan")),
            middle: Some(Cow::Borrowed("P.")),
            type_code: Some(Cow::Borrowed(type_code)),
            ..Xpn::default()
        };
        let official = HumanName::read(name("L")).into_object().to_json();
        let qualifier = |code: &str| {
            format!(
                r#"{{"extension":[{{"url":"{}","valueCode":"{code}"}}]}}"#,
                ext::NAME_QUALIFIER
            )
        };
        assert!(
            official.contains(&format!(r#""_given":[{},{}]"#, qualifier("BR"), qualifier("IN"))),
            "{official}"
        );
        assert!(!HumanName::read(name("D")).into_object().to_json().contains("_given"));
    }

    #[test]
    fn mobiles_are_phones_with_a_telecom_type_and_emails_have_no_mobile_use() {
        let xtn = |use_code: Option<&'static str>, equipment: &'static str, email: Option<&'static str>| Xtn {
            number: Some(Cow::Borrowed("0612345678")),
            use_code: use_code.map(Cow::Borrowed),
            equipment: Some(Cow::Borrowed(equipment)),
            email: email.map(Cow::Borrowed),
            ..Xtn::default()
        };
        let mobile = contact_point(xtn(None, "CP", None), Some("home")).to_json();
        assert!(!mobile.contains(r#""use""#), "{mobile}");
        assert!(mobile.contains(r#""system":"phone""#), "{mobile}");
        assert!(
            mobile.contains(r#""code":"MC""#) && mobile.contains(ext::CODE_SPECIFICATION),
            "{mobile}"
        );
        let work_mobile = contact_point(xtn(Some("WPN"), "CP", None), Some("home")).to_json();
        assert!(work_mobile.contains(r#""use":"work""#), "{work_mobile}");
        let email = contact_point(xtn(None, "CP", Some("jan@example.nl")), Some("home")).to_json();
        assert!(
            email.contains(r#""system":"email""#) && email.contains(r#""use":"home""#),
            "{email}"
        );
        assert!(!email.contains("_system"), "{email}");
    }

    #[test]
    fn uris_have_no_whitespace() {
        assert!(is_uri("urn:oid:2.16.840.1.113883.2.4.6.1"));
        assert!(is_uri("http://loinc.org"));
        for bad in ["", "urn:oid:e L/inde", "http://x\n.nl", "urn:\u{feff}x"] {
            assert!(!is_uri(bad), "{bad:?}");
        }
    }

    #[test]
    fn codes_have_single_inner_spaces_only() {
        for good in ["LAB", "C AR", "a\tb"] {
            assert!(is_code(good), "{good:?}");
        }
        for bad in ["", " LAB", "LAB ", "BR  verstu", "NLD\n\nx", "a\u{feff}"] {
            assert!(!is_code(bad), "{bad:?}");
        }
    }

    #[test]
    fn coding_systems() {
        assert_eq!(coding_system("LN").as_deref(), Some(systems::LOINC));
        assert_eq!(
            coding_system("HL70078").as_deref(),
            Some("http://terminology.hl7.org/CodeSystem/v2-0078")
        );
        assert_eq!(coding_system("99LOCAL"), None);
    }
}
