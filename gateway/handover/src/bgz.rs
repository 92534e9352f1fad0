//! The BgZ (Basisgegevensset Zorg), the Dutch basic patient summary: a fixed
//! set of FHIR searches ([`QUERIES`]) a requester runs for one patient. This
//! module answers them from the resources the gateway holds for that patient
//! ([`Pool`]): the searches' filters (`category`, `code`, `class`, `status`),
//! `$lastn`, `_include` and `_revinclude=Provenance:target`. Consent and
//! audit are the caller's: this module only searches.
//!
//! The national BgZ is specified on STU3; the searches here are their R4
//! counterparts, accepting both the STU3 and the R4 codes where the two differ
//! (lab results: SNOMED CT 275711006 or the R4 `laboratory` category).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Value, json};
use zorgpoort_model::systems;

/// The BgZ searches, per section, in the order of the standard.
pub const QUERIES: &[(&str, &str)] = &[
    ("patient", "Patient?_include=Patient:general-practitioner"),
    (
        "payer",
        "Coverage?_include=Coverage:payor:Patient&_include=Coverage:payor:Organization",
    ),
    (
        "treatment directives",
        "Consent?category=http://snomed.info/sct|11291000146105",
    ),
    (
        "advance directives",
        "Consent?category=http://snomed.info/sct|11341000146107",
    ),
    (
        "functional status",
        "Observation/$lastn?category=http://snomed.info/sct|118228005,http://snomed.info/sct|384821006",
    ),
    ("problems", "Condition"),
    (
        "living situation",
        "Observation/$lastn?code=http://snomed.info/sct|365508006",
    ),
    ("drug use", "Observation?code=http://snomed.info/sct|228366006"),
    ("alcohol use", "Observation?code=http://snomed.info/sct|228273003"),
    ("tobacco use", "Observation?code=http://snomed.info/sct|365980008"),
    ("nutrition", "NutritionOrder"),
    ("alerts", "Flag"),
    ("allergies", "AllergyIntolerance"),
    (
        "medication use",
        "MedicationStatement?_include=MedicationStatement:medication",
    ),
    (
        "medication agreements",
        "MedicationRequest?category=http://snomed.info/sct|16076005&_include=MedicationRequest:medication",
    ),
    ("medical aids", "DeviceUseStatement?_include=DeviceUseStatement:device"),
    ("vaccinations", "Immunization?status=completed"),
    ("blood pressure", "Observation/$lastn?code=http://loinc.org|85354-9"),
    ("body weight", "Observation/$lastn?code=http://loinc.org|29463-7"),
    (
        "body height",
        "Observation/$lastn?code=http://loinc.org|8302-2,http://loinc.org|8306-3,http://loinc.org|8308-9",
    ),
    (
        "lab results",
        "Observation/$lastn?category=http://snomed.info/sct|275711006,\
         http://terminology.hl7.org/CodeSystem/observation-category|laboratory\
         &_include=Observation:related-target&_include=Observation:specimen",
    ),
    ("procedures", "Procedure"),
    (
        "encounters",
        "Encounter?class=http://terminology.hl7.org/CodeSystem/v3-ActCode|IMP,\
         http://terminology.hl7.org/CodeSystem/v3-ActCode|ACUTE,\
         http://terminology.hl7.org/CodeSystem/v3-ActCode|NONAC",
    ),
    ("planned care", "ServiceRequest?status=active"),
    ("planned care", "ImmunizationRecommendation"),
    ("planned care", "DeviceRequest?status=active"),
    ("planned care", "Appointment?status=booked,pending,proposed"),
    ("contacts", "RelatedPerson"),
    (
        "health professional",
        "PractitionerRole?_include=PractitionerRole:practitioner&_include=PractitionerRole:organization",
    ),
    ("provider", "Organization"),
];

/// The resource types the searches answer: those of [`QUERIES`], and the
/// two more that their `_include`s know (`MedicationDispense`,
/// `DiagnosticReport`). A search of any other type is refused.
pub const RESOURCE_TYPES: &[&str] = &[
    "AllergyIntolerance",
    "Appointment",
    "Condition",
    "Consent",
    "Coverage",
    "DeviceRequest",
    "DeviceUseStatement",
    "DiagnosticReport",
    "Encounter",
    "Flag",
    "Immunization",
    "ImmunizationRecommendation",
    "MedicationDispense",
    "MedicationRequest",
    "MedicationStatement",
    "NutritionOrder",
    "Observation",
    "Organization",
    "Patient",
    "PractitionerRole",
    "Procedure",
    "RelatedPerson",
    "ServiceRequest",
];

/// The search parameters of `resource_type` besides `_include` and
/// `_revinclude`, as [`parse`] reads them: the patient (by BSN) and the
/// filters on the elements the type has.
pub fn search_parameters(resource_type: &str) -> &'static [&'static str] {
    match resource_type {
        "Patient" => &["identifier"],
        "Encounter" => &["patient.identifier", "subject.identifier", "class", "status"],
        "Observation"
        | "Condition"
        | "AllergyIntolerance"
        | "MedicationStatement"
        | "MedicationRequest"
        | "Consent"
        | "Flag"
        | "ServiceRequest"
        | "DiagnosticReport"
        | "Procedure" => &["patient.identifier", "subject.identifier", "category", "code", "status"],
        "Immunization" | "DeviceRequest" | "NutritionOrder" | "MedicationDispense" | "Coverage" | "Appointment"
        | "DeviceUseStatement" => &["patient.identifier", "subject.identifier", "status"],
        _ => &["patient.identifier", "subject.identifier"],
    }
}

/// The `_include` values a search of `resource_type` answers.
pub fn includes(resource_type: &str) -> Vec<String> {
    INCLUDES
        .iter()
        .filter(|(types, _, _)| types.contains(&resource_type))
        .map(|(_, parameter, _)| format!("{resource_type}:{parameter}"))
        .collect()
}

/// The whole BgZ of one patient as a FHIR `batch` Bundle of GETs: every
/// search of [`QUERIES`] with the patient named by BSN.
pub fn batch(bsn: &str) -> Value {
    let entries: Vec<Value> = QUERIES
        .iter()
        .map(|(_, query)| {
            let separator = if query.contains('?') { '&' } else { '?' };
            let name = if query.starts_with("Patient") {
                "identifier"
            } else {
                "patient.identifier"
            };
            let url = format!("{query}{separator}{name}={}|{bsn}", systems::BSN);
            json!({ "request": { "method": "GET", "url": url } })
        })
        .collect();
    json!({ "resourceType": "Bundle", "type": "batch", "entry": entries })
}

/// A search that cannot be answered, with the parameter and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{parameter}: {reason}")]
pub struct SearchError {
    /// The search parameter (or `type` for the resource type).
    pub parameter: String,
    /// Why.
    pub reason: String,
}

fn error(parameter: &str, reason: impl Into<String>) -> SearchError {
    SearchError {
        parameter: parameter.to_owned(),
        reason: reason.into(),
    }
}

/// One filter of a search: the element and the values any of which match.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Filter {
    /// A coded element against `system|code`, `code` or `system|`.
    Token { element: &'static str, values: Vec<String> },
    /// `status` against its codes.
    Status(Vec<String>),
}

/// A BgZ search, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    /// The resource type searched.
    pub resource_type: String,
    /// The patient's BSN (`patient.identifier`, `subject.identifier`, or
    /// `identifier` on Patient), when the search names it.
    pub patient: Option<String>,
    filters: Vec<Filter>,
    /// `$lastn`: per code, the `max` latest.
    lastn: Option<usize>,
    /// `_include`: elements whose targets join the result, with an
    /// optional target type.
    includes: Vec<(&'static [&'static str], Option<String>)>,
    /// `_revinclude=Provenance:target`.
    provenance: bool,
}

/// What an `_include` follows: the types it applies to, its parameter and
/// the elements whose targets join the result.
const INCLUDES: &[(&[&str], &str, &[&str])] = &[
    (&["Patient"], "general-practitioner", &["generalPractitioner"]),
    (&["Coverage"], "payor", &["payor"]),
    (&["Coverage"], "beneficiary", &["beneficiary"]),
    (
        &["MedicationStatement", "MedicationRequest", "MedicationDispense"],
        "medication",
        &["medicationReference"],
    ),
    (&["DeviceUseStatement"], "device", &["device"]),
    (&["Observation"], "related-target", &["hasMember", "derivedFrom"]),
    (&["Observation"], "has-member", &["hasMember"]),
    (&["Observation", "DiagnosticReport"], "specimen", &["specimen"]),
    (&["DiagnosticReport"], "result", &["result"]),
    (&["PractitionerRole"], "practitioner", &["practitioner"]),
    (&["PractitionerRole"], "organization", &["organization"]),
];

/// The elements an `_include` follows.
fn include_elements(resource_type: &str, parameter: &str) -> Option<&'static [&'static str]> {
    INCLUDES
        .iter()
        .find(|(types, name, _)| *name == parameter && types.contains(&resource_type))
        .map(|(_, _, elements)| *elements)
}

/// Decodes `%XX` and `+` in a query component.
fn decode(text: &str) -> Result<String, SearchError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = text
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| error("query", "a % is not followed by two hex digits"))?;
                out.push(hex);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| error("query", "not UTF-8 once decoded"))
}

/// Reads a search as `Type?query` or `Type/$lastn?query` (relative to the
/// FHIR base; a leading `/` is allowed).
pub fn parse(request: &str) -> Result<Search, SearchError> {
    let request = request.trim_start_matches('/');
    let (path, query) = request.split_once('?').unwrap_or((request, ""));
    let (resource_type, lastn) = match path.split_once('/') {
        Some((kind, "$lastn")) if kind == "Observation" => (kind, true),
        Some(_) => return Err(error("type", format!("{path:?} is not a search this gateway answers"))),
        None => (path, false),
    };
    if !RESOURCE_TYPES.contains(&resource_type) {
        return Err(error(
            "type",
            format!("{resource_type:?} is not a type the BgZ searches answer"),
        ));
    }
    let parameters = search_parameters(resource_type);
    let mut search = Search {
        resource_type: resource_type.to_owned(),
        patient: None,
        filters: Vec::new(),
        lastn: lastn.then_some(1),
        includes: Vec::new(),
        provenance: false,
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (name, value) = (decode(name)?, decode(value)?);
        let values = || value.split(',').map(str::to_owned).collect::<Vec<_>>();
        let known = parameters.contains(&name.as_str())
            || matches!(name.as_str(), "_include" | "_revinclude")
            || (lastn && name == "max");
        if !known {
            return Err(error(
                &name,
                format!(
                    "not a search parameter of {resource_type} here (use {}, _include, \
                     _revinclude=Provenance:target{})",
                    parameters.join(", "),
                    if lastn { ", max" } else { "" }
                ),
            ));
        }
        match name.as_str() {
            "patient.identifier" | "subject.identifier" | "identifier" => search.patient = Some(bsn(&name, &value)?),
            "category" => search.filters.push(Filter::Token {
                element: "category",
                values: values(),
            }),
            "code" => search.filters.push(Filter::Token {
                element: "code",
                values: values(),
            }),
            "class" => search.filters.push(Filter::Token {
                element: "class",
                values: values(),
            }),
            "status" => search.filters.push(Filter::Status(values())),
            "max" if lastn => {
                let max = value
                    .parse::<usize>()
                    .ok()
                    .filter(|m| (1..=100).contains(m))
                    .ok_or_else(|| error("max", "a number from 1 to 100"))?;
                search.lastn = Some(max);
            }
            "_include" => {
                let mut parts = value.splitn(3, ':');
                let (source, parameter, target) = (parts.next(), parts.next(), parts.next());
                let elements = (source == Some(resource_type))
                    .then(|| parameter.and_then(|p| include_elements(resource_type, p)))
                    .flatten()
                    .ok_or_else(|| error("_include", format!("{value:?} is not an include this gateway answers")))?;
                search.includes.push((elements, target.map(str::to_owned)));
            }
            "_revinclude" if value == "Provenance:target" => search.provenance = true,
            _ => {
                return Err(error(
                    &name,
                    format!("{value:?} is not a {name} this gateway answers (use Provenance:target)"),
                ));
            }
        }
    }
    Ok(search)
}

/// The BSN of `system|value`, which must name the BSN system.
fn bsn(parameter: &str, value: &str) -> Result<String, SearchError> {
    match value.split_once('|') {
        Some((systems::BSN, bsn)) if systems::is_valid_bsn(bsn) => Ok(bsn.to_owned()),
        Some((systems::BSN, _)) => Err(error(parameter, "not a valid BSN")),
        _ => Err(error(parameter, format!("use {}|{{bsn}}", systems::BSN))),
    }
}

/// The `(system, code)` pairs of a Coding, a CodeableConcept or a list of either.
fn codings(value: &Value) -> Vec<(&str, &str)> {
    match value {
        Value::Array(items) => items.iter().flat_map(codings).collect(),
        Value::Object(map) => {
            if let Some(list) = map.get("coding") {
                return codings(list);
            }
            map.get("code")
                .and_then(Value::as_str)
                .map(|code| vec![(map.get("system").and_then(Value::as_str).unwrap_or_default(), code)])
                .unwrap_or_default()
        }
        _ => Vec::new(),
    }
}

fn token_matches(wanted: &str, (system, code): (&str, &str)) -> bool {
    match wanted.split_once('|') {
        Some((want_system, "")) => want_system == system,
        Some((want_system, want_code)) => want_system == system && want_code == code,
        None => wanted == code,
    }
}

impl Filter {
    fn matches(&self, resource: &Value) -> bool {
        match self {
            Self::Token { element, values } => resource
                .get(*element)
                .map(codings)
                .unwrap_or_default()
                .into_iter()
                .any(|coding| values.iter().any(|v| token_matches(v, coding))),
            Self::Status(codes) => resource
                .get("status")
                .and_then(Value::as_str)
                .is_some_and(|s| codes.iter().any(|c| c == s)),
        }
    }
}

/// When an Observation holds, for `$lastn`: its effective time or, failing
/// that, when it was issued. ISO texts of one zone order as text.
fn observed_at(resource: &Value) -> &str {
    [
        "/effectiveDateTime",
        "/effectivePeriod/start",
        "/effectiveInstant",
        "/issued",
    ]
    .iter()
    .find_map(|p| resource.pointer(p).and_then(Value::as_str))
    .unwrap_or_default()
}

/// Why a resource is in a search result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// It matched the search.
    Match,
    /// An `_include` or `_revinclude` brought it.
    Include,
}

/// The resources the gateway holds for one patient, each with a stable
/// `Type/id`, references between them rewritten to those (absolute, under
/// the gateway's base), and one Patient however many messages named it.
#[derive(Debug, Default)]
pub struct Pool {
    resources: Vec<Value>,
    by_url: HashMap<String, usize>,
    base: String,
}

impl Pool {
    /// Pools the resources of `bundles` (newest first) for the patient with
    /// this BSN. `base` is the gateway's FHIR base URL.
    pub fn new(bundles: &[Value], bsn: &str, base: &str) -> Self {
        let base = base.trim_end_matches('/');
        let mut renamed: HashMap<String, String> = HashMap::new();
        let mut resources: Vec<Value> = Vec::new();
        let mut patient_url: Option<String> = None;
        for bundle in bundles {
            for entry in bundle.get("entry").and_then(Value::as_array).into_iter().flatten() {
                let Some(resource) = entry.get("resource").filter(|r| r.is_object()) else {
                    continue;
                };
                let kind = resource.get("resourceType").and_then(Value::as_str).unwrap_or_default();
                let full_url = entry.get("fullUrl").and_then(Value::as_str).unwrap_or_default();
                let id = resource
                    .get("id")
                    .and_then(Value::as_str)
                    .or_else(|| full_url.strip_prefix("urn:uuid:"))
                    .unwrap_or_default();
                if kind.is_empty() || id.is_empty() {
                    continue;
                }
                let url = format!("{base}/{kind}/{id}");
                let is_the_patient = kind == "Patient" && names_bsn(resource, bsn);
                if is_the_patient && let Some(first) = &patient_url {
                    // The newest message's Patient stands for all.
                    renamed.insert(full_url.to_owned(), first.clone());
                    renamed.insert(format!("{kind}/{id}"), first.clone());
                    continue;
                }
                if is_the_patient {
                    patient_url = Some(url.clone());
                }
                if renamed.contains_key(&format!("{kind}/{id}")) {
                    continue;
                }
                renamed.insert(full_url.to_owned(), url.clone());
                renamed.insert(format!("{kind}/{id}"), url);
                let mut resource = resource.clone();
                resource["id"] = json!(id);
                resources.push(resource);
            }
        }
        for resource in &mut resources {
            rewrite_references(resource, &renamed);
        }
        let by_url = resources
            .iter()
            .enumerate()
            .map(|(i, r)| (format!("{base}/{}", type_and_id(r)), i))
            .collect();
        Self {
            resources,
            by_url,
            base: base.to_owned(),
        }
    }

    /// How many resources it holds.
    pub fn len(&self) -> usize {
        self.resources.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    /// The result of a search: its matches, then what `_include` and
    /// `_revinclude` bring, each once.
    pub fn search(&self, search: &Search) -> Vec<(&Value, Mode)> {
        let mut matches: Vec<&Value> = self
            .resources
            .iter()
            .filter(|r| r.get("resourceType").and_then(Value::as_str) == Some(search.resource_type.as_str()))
            .filter(|r| search.filters.iter().all(|f| f.matches(r)))
            .collect();
        if let Some(max) = search.lastn {
            let mut per_code: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
            for observation in matches {
                let code = observation
                    .get("code")
                    .map(codings)
                    .and_then(|c| c.first().map(|(s, c)| format!("{s}|{c}")))
                    .unwrap_or_default();
                per_code.entry(code).or_default().push(observation);
            }
            matches = per_code
                .into_values()
                .flat_map(|mut group| {
                    group.sort_by(|a, b| observed_at(b).cmp(observed_at(a)));
                    group.truncate(max);
                    group
                })
                .collect();
        }
        let mut seen: HashSet<String> = matches.iter().map(|r| type_and_id(r)).collect();
        let mut result: Vec<(&Value, Mode)> = matches.iter().map(|r| (*r, Mode::Match)).collect();
        let mut included: Vec<&Value> = Vec::new();
        for (elements, target) in &search.includes {
            for matched in &matches {
                for element in *elements {
                    for reference in references_in(matched.get(*element)) {
                        let Some(&i) = self.by_url.get(reference) else { continue };
                        let resource = &self.resources[i];
                        let kind = resource.get("resourceType").and_then(Value::as_str);
                        if target.as_deref().is_none_or(|t| Some(t) == kind) {
                            included.push(resource);
                        }
                    }
                }
            }
        }
        if search.provenance {
            let targets: HashSet<String> = matches
                .iter()
                .map(|r| format!("{}/{}", self.base, type_and_id(r)))
                .collect();
            for provenance in self
                .resources
                .iter()
                .filter(|r| r.get("resourceType").and_then(Value::as_str) == Some("Provenance"))
            {
                if references_in(provenance.get("target")).any(|t| targets.contains(t)) {
                    included.push(provenance);
                }
            }
        }
        for resource in included {
            if seen.insert(type_and_id(resource)) {
                result.push((resource, Mode::Include));
            }
        }
        result
    }

    /// A search result as a FHIR `searchset` Bundle.
    pub fn searchset(&self, result: &[(&Value, Mode)]) -> Value {
        let entries: Vec<Value> = result
            .iter()
            .map(|(resource, mode)| {
                json!({
                    "fullUrl": format!("{}/{}", self.base, type_and_id(resource)),
                    "resource": resource,
                    "search": { "mode": if *mode == Mode::Match { "match" } else { "include" } }
                })
            })
            .collect();
        let total = result.iter().filter(|(_, m)| *m == Mode::Match).count();
        let mut bundle = json!({ "resourceType": "Bundle", "type": "searchset", "total": total });
        if !entries.is_empty() {
            bundle["entry"] = Value::Array(entries);
        }
        bundle
    }
}

fn type_and_id(resource: &Value) -> String {
    format!(
        "{}/{}",
        resource.get("resourceType").and_then(Value::as_str).unwrap_or_default(),
        resource.get("id").and_then(Value::as_str).unwrap_or_default()
    )
}

fn names_bsn(patient: &Value, bsn: &str) -> bool {
    patient
        .get("identifier")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|i| {
            i.get("system").and_then(Value::as_str) == Some(systems::BSN)
                && i.get("value").and_then(Value::as_str) == Some(bsn)
        })
}

/// The `reference` strings in a Reference or a list of them.
fn references_in(value: Option<&Value>) -> impl Iterator<Item = &str> {
    let list: Vec<&Value> = match value {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(other) => vec![other],
        None => Vec::new(),
    };
    list.into_iter()
        .filter_map(|r| r.get("reference").and_then(Value::as_str))
}

fn rewrite_references(value: &mut Value, renamed: &HashMap<String, String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get_mut("reference")
                && let Some(url) = renamed.get(reference.as_str())
            {
                url.clone_into(reference);
            }
            for child in map.values_mut() {
                rewrite_references(child, renamed);
            }
        }
        Value::Array(items) => {
            for item in items {
                rewrite_references(item, renamed);
            }
        }
        _ => {}
    }
}
