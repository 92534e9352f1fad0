//! One client record to one transaction Bundle of zib2020 nl-core resources.

use std::borrow::Cow;

use zorgpoort_model::address::{Address, AddressLines, StreetLine};
use zorgpoort_model::datatypes::{PartialDateTime, coding, concept, profiled};
use zorgpoort_model::names::FamilyName;
use zorgpoort_model::systems::{self, ext, hl7, is_valid_bsn, profile};
use zorgpoort_model::{EntryRef, IdGenerator, Object, TransactionBuilder, Value, Warning};

use crate::Options;
use crate::date;
use crate::error::{Error, ErrorKind};
use crate::mapping::{Coded, Kind, Mapping, RECORDS};
use crate::source::{Cell, Client, Item, Locator};

/// nl-core profiles the model crate does not name yet.
mod nl {
    pub const FUNCTIONAL: &str = "http://nictiz.nl/fhir/StructureDefinition/nl-core-FunctionalOrMentalStatus";
    pub const BARTHEL: &str = "http://nictiz.nl/fhir/StructureDefinition/nl-core-BarthelADLIndex";
    pub const WOUND: &str = "http://nictiz.nl/fhir/StructureDefinition/nl-core-Wound";
    pub const BODY_WEIGHT: &str = "http://nictiz.nl/fhir/StructureDefinition/nl-core-BodyWeight";
    pub const BLOOD_PRESSURE: &str = "http://nictiz.nl/fhir/StructureDefinition/nl-core-BloodPressure";
    pub const PAIN_SCORE: &str = "http://nictiz.nl/fhir/StructureDefinition/nl-core-PainScore";
    pub const TREATMENT_DIRECTIVE: &str = "http://nictiz.nl/fhir/StructureDefinition/nl-core-TreatmentDirective2";
    pub const ADVANCE_DIRECTIVE: &str = "http://nictiz.nl/fhir/StructureDefinition/nl-core-AdvanceDirective";
    pub const EXT_COMMENT: &str = "http://nictiz.nl/fhir/StructureDefinition/ext-Comment";
    pub const EXT_SPECIFICATION_OTHER: &str =
        "http://nictiz.nl/fhir/StructureDefinition/ext-TreatmentDirective2.SpecificationOther";
    pub const ICPC: &str = "http://hl7.org/fhir/sid/icpc-1-nl";
}

const BARTHEL_CODE: &str = "273302005";
const DUTCH_LAW: &str = "https://wetten.overheid.nl/";

/// A code system URI from the names vendors use.
fn known_system(name: &str) -> Option<Cow<'static, str>> {
    let lower = name.trim().to_lowercase();
    let system = match lower.as_str() {
        "snomed" | "sct" | "snomed ct" | "snomed-ct" => systems::SNOMED,
        "icd10" | "icd-10" => systems::ICD10,
        "icpc" | "icpc-1-nl" | "icpc1" => nl::ICPC,
        "loinc" => systems::LOINC,
        "hpk" => "urn:oid:2.16.840.1.113883.2.4.4.7",
        "prk" => "urn:oid:2.16.840.1.113883.2.4.4.10",
        "gpk" => "urn:oid:2.16.840.1.113883.2.4.4.1",
        "zi" | "zi-nummer" => "urn:oid:2.16.840.1.113883.2.4.4.8",
        _ if lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("urn:") => {
            return Some(Cow::Owned(name.trim().to_owned()));
        }
        _ => return None,
    };
    Some(Cow::Borrowed(system))
}

fn coded_coding(coded: &Coded) -> Object<'static> {
    Object::new()
        .with("system", (!coded.system.is_empty()).then(|| coded.system.clone()))
        .with("code", coded.code.clone())
        .with("display", (!coded.display.is_empty()).then(|| coded.display.clone()))
}

fn coded_concept(coded: &Coded) -> Object<'static> {
    Object::new().with("coding", vec![coded_coding(coded)])
}

struct Mapper<'m> {
    mapping: &'m Mapping,
    options: &'m Options,
    locator: &'m Locator,
    bundle: TransactionBuilder<'static>,
    warnings: Vec<Warning>,
    patient: Option<Object<'static>>,
}

/// A looked-up vendor value.
enum Looked<'m> {
    Coded(&'m Coded),
    /// Not coded (no list, or not in the list, which was warned about).
    Text(String),
}

impl<'m> Mapper<'m> {
    fn at(&self, cell: &Cell<'_>) -> String {
        self.locator.render(&cell.loc)
    }

    fn warn(&mut self, cell: &Cell<'_>, message: impl Into<String>) {
        let at = self.at(cell);
        self.warnings.push(Warning::new(at, message));
    }

    fn date(&self, cell: Option<&Cell<'_>>) -> Result<Option<String>, Error> {
        Ok(self.date_value(cell)?.map(|d| date::fhir_text(&d, self.options.zone)))
    }

    /// The date of a cell, read with the mapping's formats; an error for one
    /// that none of them reads or that does not exist.
    fn date_value(&self, cell: Option<&Cell<'_>>) -> Result<Option<PartialDateTime>, Error> {
        let Some(cell) = cell else { return Ok(None) };
        date::parse(&self.mapping.date_formats, &cell.text)
            .map(Some)
            .ok_or_else(|| {
                let formats: Vec<&str> = self.mapping.date_formats.iter().map(date::DateFormat::as_str).collect();
                Error::at(
                    self.at(cell),
                    ErrorKind::InvalidDate {
                        value: cell.text.clone().into_owned(),
                        formats: formats.join(", "),
                    },
                )
            })
    }

    /// A decimal; Dutch exports write a decimal comma.
    fn number(&self, cell: &Cell<'_>, range: Option<(f64, f64, &'static str)>) -> Result<Value<'static>, Error> {
        let text = cell.text.replace(',', ".");
        let invalid = |why| {
            Error::at(
                self.at(cell),
                ErrorKind::InvalidNumber {
                    value: cell.text.clone().into_owned(),
                    why,
                },
            )
        };
        let value = Value::number(&text).ok_or_else(|| invalid(""))?;
        if let Some((low, high, why)) = range {
            let n: f64 = text.parse().map_err(|_| invalid(why))?;
            if !(low..=high).contains(&n) {
                return Err(invalid(why));
            }
        }
        Ok(value)
    }

    fn lookup(&mut self, list: &str, cell: &Cell<'_>) -> Looked<'m> {
        match self.mapping.lookup(list, &cell.text) {
            Ok(Some(coded)) => Looked::Coded(coded),
            Ok(None) => Looked::Text(cell.text.clone().into_owned()),
            Err(()) => {
                self.warn(
                    cell,
                    format!("code {:?} not in code list {list:?}; kept as text", cell.text),
                );
                Looked::Text(cell.text.clone().into_owned())
            }
        }
    }

    /// A `CodeableConcept` from a vendor value and its code list.
    fn concept(&mut self, list: &str, cell: Option<&Cell<'_>>) -> Option<Object<'static>> {
        let cell = cell?;
        Some(match self.lookup(list, cell) {
            Looked::Coded(coded) => coded_concept(coded),
            Looked::Text(text) => Object::new().with("text", text),
        })
    }

    /// `code` + `system`, or `text` through the code list: diagnoses,
    /// medication, allergies.
    fn item_concept(&mut self, item: &Item<'_>, list: &str) -> Option<Object<'static>> {
        let text = item.get("text");
        if let Some(code) = item.get("code") {
            let system = match item.get("system") {
                Some(system) => {
                    if let Ok(Some(coded)) = self.mapping.lookup("code_system", &system.text) {
                        Some(Cow::Owned(coded.system.clone()))
                    } else {
                        let known = known_system(&system.text);
                        if known.is_none() {
                            self.warn(
                                system,
                                format!("code system {:?} not known; code kept as text", system.text),
                            );
                        }
                        known
                    }
                }
                None => None,
            };
            let Some(system) = system else {
                let shown = text.map_or_else(|| code.text.to_string(), |t| format!("{} ({})", t.text, code.text));
                if item.get("system").is_none() {
                    self.warn(
                        code,
                        "code without a code system (map a system column or constant); kept as text",
                    );
                }
                return Some(Object::new().with("text", shown));
            };
            let coding = Object::new()
                .with("system", system.into_owned())
                .with("code", code.text.clone().into_owned());
            return Some(
                Object::new()
                    .with("coding", vec![coding])
                    .with("text", text.map(|t| t.text.clone().into_owned())),
            );
        }
        let text = text?;
        Some(match self.lookup(list, text) {
            Looked::Coded(coded) => coded_concept(coded).with("text", text.text.clone().into_owned()),
            Looked::Text(t) => Object::new().with("text", t),
        })
    }

    fn subject(&self) -> Option<Object<'static>> {
        self.patient.clone()
    }

    fn add(&mut self, resource_type: &'static str, key: &str, resource: Object<'static>) -> EntryRef {
        self.bundle.add(resource_type, key, resource)
    }
}

fn text(cell: Option<&Cell<'_>>) -> Option<String> {
    cell.map(|c| c.text.clone().into_owned())
}

/// A zib `NameInformation` `HumanName`: `family` whole, own prefix and name in
/// extensions, given names (BR) or initials (IN) qualified.
fn human_name(item: &Item<'_>) -> Option<Object<'static>> {
    let family = item.get("family").map(|c| c.text.trim().to_owned());
    let prefix = item.get("prefix").map(|c| c.text.trim().to_owned());
    let (parts, whole) = match (prefix, family) {
        (Some(p), Some(f)) => {
            // Some exports repeat the voorvoegsel in the surname column.
            let own = match f.get(..p.len()) {
                Some(head) if head.eq_ignore_ascii_case(&p) && f[p.len()..].starts_with(' ') => {
                    f[p.len()..].trim_start().to_owned()
                }
                _ => f.clone(),
            };
            let parts = FamilyName {
                own_prefix: Some(Cow::Owned(p)),
                own_name: Some(Cow::Owned(own)),
                ..FamilyName::default()
            };
            let whole = parts.own().map(Cow::into_owned);
            (parts, whole)
        }
        // The surname as written stays whole, spacing and all.
        (None, Some(f)) => (FamilyName::from_surname(f.clone()), Some(f)),
        // zib-NameInformation-1: no prefix without the name it belongs to
        // (`name_of` warns).
        (_, None) => (FamilyName::default(), None),
    };
    let (given, kind): (Vec<String>, &str) = match (item.get("given"), item.get("initials")) {
        (Some(g), _) => (g.text.split_whitespace().map(str::to_owned).collect(), "BR"),
        (None, Some(i)) => (
            i.text
                .split(['.', ' '])
                .filter(|s| !s.is_empty())
                .map(|s| format!("{s}."))
                .collect(),
            "IN",
        ),
        (None, None) => (Vec::new(), "BR"),
    };
    let qualifiers: Vec<Value<'static>> = given
        .iter()
        .map(|_| {
            let q = Object::new().with("url", ext::NAME_QUALIFIER).with("valueCode", kind);
            Value::Obj(Object::new().with("extension", vec![q]))
        })
        .collect();
    let full_text = {
        let parts: Vec<&str> = given.iter().map(String::as_str).chain(whole.as_deref()).collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    };
    let name = Object::new()
        .with("use", "official")
        .with("text", full_text)
        .with("family", whole)
        .with("_family", parts.into_extension())
        .with("given", given.into_iter().map(Value::from).collect::<Vec<_>>())
        .with("_given", qualifiers);
    (name.get("family").is_some() || name.get("given").is_some()).then_some(name)
}

/// [`human_name`], warning about a voorvoegsel without a surname.
fn name_of(m: &mut Mapper<'_>, item: &Item<'_>) -> Option<Vec<Object<'static>>> {
    if let (Some(prefix), None) = (item.get("prefix"), item.get("family")) {
        m.warn(prefix, "voorvoegsel without a surname; not imported");
    }
    human_name(item).map(|n| vec![n])
}

fn telecom(item: &Item<'_>) -> Vec<Object<'static>> {
    let mut out = Vec::new();
    if let Some(phone) = item.get("phone") {
        out.push(
            Object::new()
                .with("system", "phone")
                .with("value", phone.text.clone().into_owned())
                .with("use", "home"),
        );
    }
    if let Some(email) = item.get("email") {
        out.push(
            Object::new()
                .with("system", "email")
                .with("value", email.text.clone().into_owned())
                .with("use", "home"),
        );
    }
    out
}

fn address(item: &Item<'_>) -> Option<Object<'static>> {
    let mut lines = AddressLines::new();
    lines.push_street(
        None,
        StreetLine {
            street_name: text(item.get("street")).map(Cow::Owned),
            house_number: text(item.get("house_number")).map(Cow::Owned),
            building_number_suffix: None,
        },
    );
    let address = Address {
        address_use: Some("home"),
        lines,
        city: text(item.get("city")).map(Cow::Owned),
        postal_code: text(item.get("postal_code")).map(Cow::Owned),
        country: text(item.get("country")).map(Cow::Owned),
        ..Address::default()
    }
    .into_object();
    let only_use = address.iter().all(|(k, _)| k == "use");
    (!only_use).then_some(address)
}

/// The AGB code, when it has the 8 digits AGB codes have; otherwise a warning.
fn agb(m: &mut Mapper<'_>, cell: Option<&Cell<'_>>) -> Option<Object<'static>> {
    let cell = cell?;
    if cell.text.len() == 8 && cell.text.bytes().all(|b| b.is_ascii_digit()) {
        Some(
            Object::new()
                .with("system", systems::AGB)
                .with("value", cell.text.clone().into_owned()),
        )
    } else {
        m.warn(cell, "AGB code is not 8 digits; not emitted");
        None
    }
}

fn patient(m: &mut Mapper<'_>, client: &Client<'_>) -> Result<(), Error> {
    let item = &client.items[0];
    let mut identifiers = Vec::new();
    let mut condition = None;
    if let Some(bsn) = item.get("bsn") {
        let digits: String = bsn.text.chars().filter(|c| !matches!(c, ' ' | '.' | '-')).collect();
        if !is_valid_bsn(&digits) {
            return Err(Error::at(m.at(bsn), ErrorKind::InvalidBsn));
        }
        identifiers.push(Object::new().with("system", systems::BSN).with("value", digits.clone()));
        condition = Some((systems::BSN.to_owned(), digits));
    }
    match &m.mapping.client_system {
        Some(system) => {
            identifiers.push(
                Object::new()
                    .with("system", system.clone())
                    .with("value", client.key.clone()),
            );
            condition.get_or_insert_with(|| (system.clone(), client.key.clone()));
        }
        None => identifiers.push(
            Object::new()
                .with("type", Object::new().with("text", "cliëntnummer"))
                .with("value", client.key.clone()),
        ),
    }
    let gender = match item.get("gender") {
        Some(cell) => match m.mapping.lookup("gender", &cell.text) {
            Ok(Some(coded)) if matches!(coded.code.as_str(), "male" | "female" | "other" | "unknown") => {
                Some(coded.code.clone())
            }
            Ok(None) => {
                let lower = cell.text.to_lowercase();
                if matches!(lower.as_str(), "male" | "female" | "other" | "unknown") {
                    Some(lower)
                } else {
                    m.warn(
                        cell,
                        format!("gender {:?} without a gender code list; left out", cell.text),
                    );
                    None
                }
            }
            _ => {
                m.warn(
                    cell,
                    format!("code {:?} not in code list \"gender\"; gender left out", cell.text),
                );
                None
            }
        },
        None => None,
    };
    let birth = m.date(item.get("birth_date"))?;
    let resource = profiled(profile::PATIENT)
        .with("identifier", identifiers)
        .with("name", name_of(m, item))
        .with("telecom", telecom(item))
        .with("gender", gender)
        .with("birthDate", birth.map(|b| b.chars().take(10).collect::<String>()))
        .with("address", address(item).map(|a| vec![a]));
    let entry = match &condition {
        Some((system, value)) => m.bundle.add_conditional("Patient", "client", resource, system, value),
        None => m.add("Patient", "client", resource),
    };
    m.patient = Some(m.bundle.reference(entry));
    general_practitioner(m, item, entry);
    Ok(())
}

fn general_practitioner(m: &mut Mapper<'_>, item: &Item<'_>, patient: EntryRef) {
    let practice_id = agb(m, item.get("practice_agb"));
    let practice_name = text(item.get("practice_name"));
    let organization = (practice_id.is_some() || practice_name.is_some()).then(|| {
        let org = profiled(profile::ORGANIZATION)
            .with("identifier", practice_id.map(|i| vec![i]))
            .with("name", practice_name);
        let entry = m.add("Organization", "gp-practice", org);
        m.bundle.reference(entry)
    });
    let gp_id = agb(m, item.get("gp_agb"));
    let gp_name = text(item.get("gp_name"));
    let role = if gp_id.is_some() || gp_name.is_some() {
        let practitioner = profiled(profile::PRACTITIONER)
            .with("identifier", gp_id.map(|i| vec![i]))
            .with("name", gp_name.map(|n| vec![Object::new().with("text", n)]));
        let entry = m.add("Practitioner", "gp", practitioner);
        let role = profiled(profile::PRACTITIONER_ROLE)
            .with("practitioner", m.bundle.reference(entry))
            .with("organization", organization.clone())
            .with(
                "code",
                vec![concept(systems::SNOMED, "62247001").with("text", "huisarts")],
            );
        let entry = m.add("PractitionerRole", "gp", role);
        Some(m.bundle.reference(entry))
    } else {
        None
    };
    if let Some(reference) = role.or(organization) {
        m.bundle.resource_mut(patient).push_to("generalPractitioner", reference);
    }
}

fn contact(m: &mut Mapper<'_>, item: &Item<'_>, n: usize) {
    let mut relationship = Vec::new();
    relationship.extend(m.concept("role", item.get("role")));
    relationship.extend(m.concept("relation", item.get("relation")));
    let person = profiled(profile::CONTACT_PERSON)
        .with("patient", m.subject())
        .with("relationship", relationship)
        .with("name", name_of(m, item))
        .with("telecom", telecom(item));
    m.add("RelatedPerson", &format!("contact/{n}"), person);
}

fn skip(m: &mut Mapper<'_>, item: &Item<'_>, what: &str) {
    let at = m.locator.render(&item.loc);
    m.warnings
        .push(Warning::new(at, format!("{what}; record not imported")));
}

fn diagnosis(m: &mut Mapper<'_>, item: &Item<'_>, n: usize) -> Result<(), Error> {
    let Some(code) = m.item_concept(item, "diagnosis") else {
        skip(m, item, "diagnosis without code or text");
        return Ok(());
    };
    let onset = m.date(item.get("onset"))?;
    let end = m.date(item.get("end"))?;
    let status = if end.is_some() { "resolved" } else { "active" };
    let condition = profiled(profile::PROBLEM)
        .with("clinicalStatus", concept(hl7::CONDITION_CLINICAL, status))
        .with(
            "category",
            vec![Object::new().with(
                "coding",
                vec![coding(systems::SNOMED, "282291009").with("display", "Diagnose")],
            )],
        )
        .with("code", code)
        .with("subject", m.subject())
        .with("onsetDateTime", onset)
        .with("abatementDateTime", end);
    m.add("Condition", &format!("diagnosis/{n}"), condition);
    Ok(())
}

fn medication(m: &mut Mapper<'_>, item: &Item<'_>, n: usize) -> Result<(), Error> {
    let Some(product) = m.item_concept(item, "medication") else {
        skip(m, item, "medication without product code or text");
        return Ok(());
    };
    let start = m.date_value(item.get("start"))?;
    let mut end = m.date_value(item.get("end"))?;
    // The status follows from the export giving an end, kept or not.
    let status = if end.is_some() { "completed" } else { "active" };
    // per-1: a period cannot end before it starts. The export contradicts
    // itself; the start is kept and the end left out with a warning.
    if let (Some(from), Some(to), Some(cell)) = (start, end, item.get("end"))
        && from.certainly_after(&to, m.options.zone)
    {
        m.warn(cell, "end before the start; not imported");
        end = None;
    }
    let [start, end] = [start, end].map(|d| d.map(|d| date::fhir_text(&d, m.options.zone)));
    // nl-core-MedicationUse2 lives in the medication-process package the
    // validator does not carry; the statement is plain R4 and claims nothing.
    let statement = Object::new()
        .with("status", status)
        .with("medicationCodeableConcept", product)
        .with("subject", m.subject())
        .with("effectivePeriod", Object::new().with("start", start).with("end", end))
        .with(
            "dosage",
            text(item.get("dose")).map(|d| vec![Object::new().with("text", d)]),
        );
    m.add("MedicationStatement", &format!("medication/{n}"), statement);
    Ok(())
}

fn allergy(m: &mut Mapper<'_>, item: &Item<'_>, n: usize) -> Result<(), Error> {
    let Some(code) = m.item_concept(item, "allergy") else {
        skip(m, item, "allergy without substance code or text");
        return Ok(());
    };
    let onset = m.date(item.get("date"))?;
    let (criticality, criticality_ext) = match item.get("criticality") {
        Some(cell) => match m.lookup("criticality", cell) {
            Looked::Coded(coded) => {
                // zib MateVanKritiekZijn: only "licht" (mild) is low.
                let fhir = if coded.code == "255604002" { "low" } else { "high" };
                let spec = Object::new()
                    .with("url", ext::CODE_SPECIFICATION)
                    .with("valueCodeableConcept", coded_concept(coded));
                (Some(fhir), Some(Object::new().with("extension", vec![spec])))
            }
            Looked::Text(_) => (None, None),
        },
        None => (None, None),
    };
    let reaction = m
        .concept("reaction", item.get("reaction"))
        .map(|c| vec![Object::new().with("manifestation", vec![c])]);
    let resource = profiled(profile::ALLERGY)
        .with("clinicalStatus", concept(hl7::ALLERGY_CLINICAL, "active"))
        .with("criticality", criticality)
        .with("_criticality", criticality_ext)
        .with("code", code)
        .with("patient", m.subject())
        .with("onsetDateTime", onset)
        .with("reaction", reaction);
    m.add("AllergyIntolerance", &format!("allergy/{n}"), resource);
    Ok(())
}

fn functional(m: &mut Mapper<'_>, item: &Item<'_>, n: usize) -> Result<(), Error> {
    let Some(activity) = item.get("activity") else {
        skip(m, item, "functional status without activity");
        return Ok(());
    };
    let date = m.date(item.get("date"))?;
    let key = format!("functional/{n}");
    let looked = m.lookup("functional", activity);
    if let Looked::Coded(coded) = looked {
        if coded.code == BARTHEL_CODE {
            let Some(score) = item.get("score") else {
                skip(m, item, "Barthel index without score");
                return Ok(());
            };
            let value = m.number(score, Some((0.0, 20.0, " (Barthel index: expected 0-20)")))?;
            if !matches!(&value, Value::Num(t) if !t.contains('.')) {
                return Err(Error::at(
                    m.at(score),
                    ErrorKind::InvalidNumber {
                        value: score.text.clone().into_owned(),
                        why: " (Barthel index: expected 0-20)",
                    },
                ));
            }
            let obs = profiled(nl::BARTHEL)
                .with("status", "final")
                .with("code", coded_concept(coded))
                .with("subject", m.subject())
                .with("effectiveDateTime", date)
                .with("valueInteger", value);
            m.add("Observation", &key, obs);
            return Ok(());
        }
    }
    let code = match looked {
        Looked::Coded(coded) => coded_concept(coded),
        Looked::Text(t) => Object::new().with("text", t),
    };
    let value = m.concept("functional_value", item.get("score"));
    let obs = profiled(nl::FUNCTIONAL)
        .with("status", "final")
        .with(
            "category",
            vec![concept(systems::SNOMED, "118228005").with("text", "functioneren")],
        )
        .with("code", code)
        .with("subject", m.subject())
        .with("effectiveDateTime", date)
        .with("valueCodeableConcept", value);
    m.add("Observation", &key, obs);
    Ok(())
}

fn wound(m: &mut Mapper<'_>, item: &Item<'_>, n: usize) -> Result<(), Error> {
    let code = m.concept("wound_kind", item.get("type"));
    let site = m.concept("body_site", item.get("location"));
    let onset = m.date(item.get("date"))?;
    if code.is_none() && site.is_none() {
        skip(m, item, "wound without kind or location");
        return Ok(());
    }
    let condition = profiled(nl::WOUND)
        .with("clinicalStatus", concept(hl7::CONDITION_CLINICAL, "active"))
        .with(
            "category",
            vec![Object::new().with(
                "coding",
                vec![coding(systems::SNOMED, "416462003").with("display", "verwonding")],
            )],
        )
        .with("code", code.unwrap_or_else(|| Object::new().with("text", "wond")))
        .with("bodySite", site.map(|s| vec![s]))
        .with("subject", m.subject())
        .with("onsetDateTime", onset)
        .with(
            "note",
            text(item.get("text")).map(|t| vec![Object::new().with("text", t)]),
        );
    m.add("Condition", &format!("wound/{n}"), condition);
    Ok(())
}

fn vital_category() -> Vec<Object<'static>> {
    vec![Object::new().with(
        "coding",
        vec![coding(hl7::OBSERVATION_CATEGORY, "vital-signs").with("display", "Vital Signs")],
    )]
}

fn quantity(value: Value<'static>, unit: &'static str, code: &'static str) -> Object<'static> {
    Object::new()
        .with("value", value)
        .with("unit", unit)
        .with("system", systems::UCUM)
        .with("code", code)
}

fn measurement(m: &mut Mapper<'_>, item: &Item<'_>, n: usize) -> Result<(), Error> {
    let date = m.date(item.get("date"))?;
    let claim = |m: &mut Mapper<'_>, profile: &'static str, what: &str| {
        if date.is_some() {
            profiled(profile)
        } else {
            // Vital signs need a time (vs-1): without one, plain R4 and no claim.
            let at = m.locator.render(&item.loc);
            m.warnings.push(Warning::new(
                at,
                format!("{what} without a date; nl-core profile not claimed"),
            ));
            Object::new()
        }
    };
    if let Some(weight) = item.get("weight") {
        let value = m.number(weight, Some((0.0, 1000.0, " (kg: expected 0-1000)")))?;
        let obs = claim(m, nl::BODY_WEIGHT, "weight")
            .with("status", "final")
            .with("category", vital_category())
            .with(
                "code",
                concept(systems::LOINC, "29463-7").with("text", "lichaamsgewicht"),
            )
            .with("subject", m.subject())
            .with("effectiveDateTime", date.clone())
            .with("valueQuantity", quantity(value, "kg", "kg"));
        m.add("Observation", &format!("measurement/{n}/weight"), obs);
    }
    let systolic = item
        .get("systolic")
        .map(|c| m.number(c, Some((0.0, 400.0, " (mmHg: expected 0-400)"))))
        .transpose()?;
    let diastolic = item
        .get("diastolic")
        .map(|c| m.number(c, Some((0.0, 400.0, " (mmHg: expected 0-400)"))))
        .transpose()?;
    if systolic.is_some() || diastolic.is_some() {
        let component = |code: &'static str, display: &'static str, value: Option<Value<'static>>| {
            value.map(|v| {
                Object::new()
                    .with(
                        "code",
                        Object::new().with("coding", vec![coding(systems::LOINC, code).with("display", display)]),
                    )
                    .with("valueQuantity", quantity(v, "mmHg", "mm[Hg]"))
            })
        };
        let both = systolic.is_some() && diastolic.is_some();
        let components: Vec<Object<'static>> = [
            component("8480-6", "Systolic blood pressure", systolic),
            component("8462-4", "Diastolic blood pressure", diastolic),
        ]
        .into_iter()
        .flatten()
        .collect();
        let obs = if both {
            claim(m, nl::BLOOD_PRESSURE, "blood pressure")
        } else {
            // nl-core-BloodPressure needs both values.
            let at = m.locator.render(&item.loc);
            m.warnings.push(Warning::new(
                at,
                "blood pressure without both systolic and diastolic value; nl-core profile not claimed",
            ));
            Object::new()
        };
        let obs = obs
            .with("status", "final")
            .with("category", vital_category())
            .with("code", concept(systems::LOINC, "85354-9").with("text", "bloeddruk"))
            .with("subject", m.subject())
            .with("effectiveDateTime", date.clone())
            .with("component", components);
        m.add("Observation", &format!("measurement/{n}/blood-pressure"), obs);
    }
    if let Some(pain) = item.get("pain") {
        let value = m.number(pain, Some((0.0, 10.0, " (pain score: expected 0-10)")))?;
        if !matches!(&value, Value::Num(t) if !t.contains('.')) {
            return Err(Error::at(
                m.at(pain),
                ErrorKind::InvalidNumber {
                    value: pain.text.clone().into_owned(),
                    why: " (pain score: expected 0-10)",
                },
            ));
        }
        let obs = profiled(nl::PAIN_SCORE)
            .with("status", "final")
            .with(
                "code",
                Object::new().with(
                    "coding",
                    vec![coding(systems::SNOMED, "225908003").with("display", "pijnscore")],
                ),
            )
            .with("subject", m.subject())
            .with("effectiveDateTime", date)
            .with("valueInteger", value);
        m.add("Observation", &format!("measurement/{n}/pain"), obs);
    }
    Ok(())
}

fn goal(m: &mut Mapper<'_>, item: &Item<'_>, n: usize) -> Result<(), Error> {
    let Some(description) = text(item.get("text")) else {
        skip(m, item, "care goal without text");
        return Ok(());
    };
    let status = match item.get("status") {
        Some(cell) => match m.lookup("goal_status", cell) {
            Looked::Coded(coded) => coded.code.clone(),
            Looked::Text(_) => "active".to_owned(),
        },
        None => "active".to_owned(),
    };
    let start = m.date(item.get("date"))?;
    let goal = Object::new()
        .with("lifecycleStatus", status)
        .with("description", Object::new().with("text", description))
        .with("subject", m.subject())
        .with("startDate", start.map(|s| s.chars().take(10).collect::<String>()));
    m.add("Goal", &format!("goal/{n}"), goal);
    Ok(())
}

fn consent_base(profile: &'static str, scope: Object<'static>, category: Object<'static>) -> Object<'static> {
    profiled(profile)
        .with("status", "active")
        .with("scope", scope)
        .with("category", vec![category])
}

fn advance_directive(m: &mut Mapper<'_>, item: &Item<'_>, n: usize) -> Result<(), Error> {
    let Some(kind) = m.concept("advance_directive", item.get("type")) else {
        skip(m, item, "advance directive without kind");
        return Ok(());
    };
    let date = m.date(item.get("date"))?;
    let comment =
        text(item.get("text")).map(|t| vec![Object::new().with("url", nl::EXT_COMMENT).with("valueString", t)]);
    let mut consent = consent_base(
        nl::ADVANCE_DIRECTIVE,
        Object::new().with(
            "coding",
            vec![
                coding("http://terminology.hl7.org/CodeSystem/consentscope", "adr")
                    .with("display", "Advanced Care Directive"),
            ],
        ),
        Object::new().with(
            "coding",
            vec![
                coding("http://terminology.hl7.org/CodeSystem/consentcategorycodes", "acd")
                    .with("display", "Advance Directive"),
            ],
        ),
    );
    consent.insert_after("meta", "extension", comment);
    consent.set("patient", m.subject());
    consent.set("dateTime", date);
    consent.set("policy", vec![Object::new().with("uri", DUTCH_LAW)]);
    consent.set("provision", Object::new().with("code", vec![kind]));
    m.add("Consent", &format!("advance-directive/{n}"), consent);
    Ok(())
}

fn treatment_directive(m: &mut Mapper<'_>, item: &Item<'_>, n: usize) -> Result<(), Error> {
    let Some(treatment) = m.concept("treatment", item.get("treatment")) else {
        skip(m, item, "treatment directive without treatment");
        return Ok(());
    };
    let date = m.date(item.get("date"))?;
    let Some(permitted) = item.get("permitted") else {
        skip(m, item, "treatment directive without decision (permitted)");
        return Ok(());
    };
    let (provision_type, other) = match m.lookup("permitted", permitted) {
        Looked::Coded(coded) if matches!(coded.code.as_str(), "permit" | "deny") => (Some(coded.code.clone()), None),
        Looked::Coded(coded) => {
            let shown = if coded.display.is_empty() {
                &coded.code
            } else {
                &coded.display
            };
            (None, Some(shown.clone()))
        }
        Looked::Text(t) => (None, Some(t)),
    };
    // zib TreatmentDirective2: a decision other than yes/no travels as text in
    // the SpecificationOther modifier extension, with no provision.type.
    let other = other.map(|t| {
        let detail = text(item.get("text")).map_or(t.clone(), |d| format!("{t}: {d}"));
        vec![
            Object::new()
                .with("url", nl::EXT_SPECIFICATION_OTHER)
                .with("valueString", detail),
        ]
    });
    let comment = if other.is_none() {
        text(item.get("text")).map(|t| vec![Object::new().with("url", nl::EXT_COMMENT).with("valueString", t)])
    } else {
        None
    };
    let mut consent = consent_base(
        nl::TREATMENT_DIRECTIVE,
        Object::new().with(
            "coding",
            vec![
                coding("http://terminology.hl7.org/CodeSystem/consentscope", "treatment").with("display", "Treatment"),
            ],
        ),
        Object::new().with(
            "coding",
            vec![coding(systems::SNOMED, "129125009").with("display", "verrichting met expliciete context")],
        ),
    );
    consent.insert_after("meta", "modifierExtension", other);
    consent.insert_after("meta", "extension", comment);
    consent.set("patient", m.subject());
    consent.set("dateTime", date);
    consent.set("policy", vec![Object::new().with("uri", DUTCH_LAW)]);
    consent.set(
        "provision",
        Object::new().with("type", provision_type).with("code", vec![treatment]),
    );
    m.add("Consent", &format!("treatment-directive/{n}"), consent);
    Ok(())
}

/// The Bundle of one client.
pub(crate) fn convert(
    mut client: Client<'_>,
    mapping: &Mapping,
    options: &Options,
    locator: &Locator,
) -> Result<zorgpoort_model::Conversion<'static>, Error> {
    let message_id = format!("{}/{:016x}", client.key, client.hash);
    let warnings = std::mem::take(&mut client.warnings);
    let mut m = Mapper {
        mapping,
        options,
        locator,
        bundle: TransactionBuilder::new(IdGenerator::new(&options.sender, &message_id)),
        warnings,
        patient: None,
    };
    patient(&mut m, &client)?;
    // Resource keys are `<kind>/<n>`: the n-th record of its kind for this client.
    let mut counts = [0usize; RECORDS.len()];
    for item in &client.items[1..] {
        counts[item.kind as usize] += 1;
        let n = counts[item.kind as usize];
        match item.kind {
            Kind::Client => {}
            Kind::Contact => contact(&mut m, item, n),
            Kind::Diagnosis => diagnosis(&mut m, item, n)?,
            Kind::Medication => medication(&mut m, item, n)?,
            Kind::Allergy => allergy(&mut m, item, n)?,
            Kind::FunctionalStatus => functional(&mut m, item, n)?,
            Kind::Wound => wound(&mut m, item, n)?,
            Kind::Measurement => measurement(&mut m, item, n)?,
            Kind::Goal => goal(&mut m, item, n)?,
            Kind::AdvanceDirective => advance_directive(&mut m, item, n)?,
            Kind::TreatmentDirective => treatment_directive(&mut m, item, n)?,
        }
    }
    let bundle = m.bundle.finish("client");
    Ok(zorgpoort_model::Conversion {
        bundle,
        warnings: m.warnings,
        origin: zorgpoort_model::Origin {
            sender: options.sender.clone(),
            message_id,
            event: "ECD".to_owned(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::RecordSpec;
    use crate::source::Loc;

    fn contact(fields: &[(&str, &str)]) -> Item<'static> {
        let spec = RecordSpec::of(Kind::Contact);
        let mut cells = vec![None; spec.fields.len()];
        for (name, text) in fields {
            let index = spec.fields.iter().position(|f| f == name).unwrap();
            cells[index] = Some(Cell {
                text: Cow::Owned((*text).to_owned()),
                loc: Loc::Mapping,
            });
        }
        Item {
            kind: Kind::Contact,
            cells,
            loc: Loc::Mapping,
        }
    }

    fn name(fields: &[(&str, &str)]) -> String {
        human_name(&contact(fields)).map(|n| n.to_json()).unwrap_or_default()
    }

    #[test]
    fn voorvoegsels_are_kept_whole_and_split_out() {
        let split = name(&[("given", "Jan Piet"), ("prefix", "van der"), ("family", "Berg")]);
        assert!(
            split.contains(r#""text":"Jan Piet van der Berg","family":"van der Berg""#),
            "{split}"
        );
        assert!(split.contains(r#""valueString":"van der"}"#), "{split}");
        assert!(split.contains(r#""valueString":"Berg"}"#), "{split}");
        // The prefix repeated in the surname column is not doubled.
        assert_eq!(
            split,
            name(&[("given", "Jan Piet"), ("prefix", "van der"), ("family", "van der Berg")])
        );
        // Without a prefix column the surname is split by the BRP list.
        assert_eq!(split, name(&[("given", "Jan Piet"), ("family", "van der Berg")]));
        let initials = name(&[("initials", "J.P."), ("family", "Smit")]);
        assert!(initials.contains(r#""given":["J.","P."]"#), "{initials}");
        assert!(initials.contains(r#""valueCode":"IN""#), "{initials}");
        assert_eq!(name(&[("phone", "06")]), "");
    }

    #[test]
    fn code_system_names_are_known() {
        assert_eq!(known_system("SNOMED CT").as_deref(), Some(systems::SNOMED));
        assert_eq!(known_system("ICD-10").as_deref(), Some(systems::ICD10));
        assert_eq!(known_system(" urn:oid:1.2.3 ").as_deref(), Some("urn:oid:1.2.3"));
        assert_eq!(known_system("eigen lijst"), None);
    }
}
