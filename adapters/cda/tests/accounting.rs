//! Accounting: for every CDA document in the repository (the public C-CDA
//! samples, the Dutch fixtures, the C-CDA probes and the fuzz corpus), each
//! clinical statement of the body is either found in the Bundle or named by
//! a warning, and no clinical resource in the Bundle is without a statement
//! it came from. A statement dropped without a word fails this test.
//!
//! The source side is read from the XML here, not by the mapper: each
//! `entry` of each section (nested sections too) is one item, except that
//! a container (an organizer, or a concern, diagnosis or discharge
//! medication act) stands for the statements it holds, each an item of its
//! own. What C-CDA nests inside a statement to describe it (reaction,
//! severity, status, criticality, comment) is part of that statement.
//!
//! An item is found when a resource referenced from the Composition
//! section made from the item's section carries one of the item's ids as
//! an identifier, or, for an item without ids, one of its codes or texts.
//! It is named by a warning located at the item itself or at what holds it
//! within its entry (a warning deeper inside, about one of its parts, does
//! not excuse a missing statement).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use roxmltree::Node;
use serde_json::Value;
use zorgpoort_cda::{Options, to_fhir};

const V3: &str = "urn:hl7-org:v3";

/// Templates of acts that only hold other statements.
const CONTAINER_ACTS: &[&str] = &[
    "2.16.840.1.113883.10.20.22.4.3",  // Problem Concern Act
    "2.16.840.1.113883.10.20.22.4.30", // Allergy Concern Act
    "2.16.840.1.113883.10.20.22.4.33", // Hospital Discharge Diagnosis
    "2.16.840.1.113883.10.20.22.4.34", // Hospital Admission Diagnosis
    "2.16.840.1.113883.10.20.22.4.35", // Discharge Medication
    "2.16.840.1.113883.10.20.22.4.36", // Admission Medication
    "2.16.840.1.113883.10.20.22.4.51", // Postprocedure Diagnosis
    "2.16.840.1.113883.10.20.22.4.65", // Preoperative Diagnosis
    "2.16.840.1.113883.10.20.22.4.60", // Coverage Activity
];

/// Templates of observations that describe the statement they are in.
const DESCRIPTIONS: &[&str] = &[
    "2.16.840.1.113883.10.20.22.4.6",   // Problem Status
    "2.16.840.1.113883.10.20.22.4.8",   // Severity
    "2.16.840.1.113883.10.20.22.4.9",   // Reaction
    "2.16.840.1.113883.10.20.22.4.28",  // Allergy Status
    "2.16.840.1.113883.10.20.22.4.64",  // Comment Activity
    "2.16.840.1.113883.10.20.22.4.145", // Criticality
];

/// Resource types that carry clinical statements (not the header's people,
/// organisations and devices).
const CLINICAL: &[&str] = &[
    "AllergyIntolerance",
    "Condition",
    "Consent",
    "Coverage",
    "DeviceUseStatement",
    "DiagnosticReport",
    "FamilyMemberHistory",
    "Immunization",
    "MedicationRequest",
    "MedicationStatement",
    "Observation",
    "Procedure",
    "ServiceRequest",
    "DocumentReference",
    "Encounter",
];

/// One clinical statement of the source.
#[derive(Debug)]
struct Item {
    /// The Composition section it belongs to, as positions from the top.
    section: Vec<usize>,
    /// Element path of the statement, as warnings give it.
    path: String,
    /// Element path of its `entry`.
    entry: String,
    /// `id`s as the identifier values they become.
    ids: Vec<String>,
    /// Every `@code` in it (but status codes), and the texts of its
    /// `originalText` and `name` elements: how a statement without ids is
    /// recognised.
    keys: BTreeSet<String>,
    /// A container found only if something was made from it (a results
    /// organizer's report); its statements are the items that must be.
    optional: bool,
}

/// One clinical resource of the Bundle.
#[derive(Debug)]
struct Made {
    resource_type: String,
    /// The Composition section that references it, if any.
    section: Option<Vec<usize>>,
    identifiers: Vec<String>,
    /// Every coding's `code` and every `text` in it.
    keys: BTreeSet<String>,
}

fn is(node: Node<'_, '_>, name: &str) -> bool {
    node.is_element() && node.tag_name().name() == name && node.tag_name().namespace() == Some(V3)
}

fn children<'a, 'i>(node: Node<'a, 'i>, name: &'static str) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(move |c| is(*c, name))
}

fn templates<'a>(node: Node<'a, '_>) -> Vec<&'a str> {
    children(node, "templateId")
        .filter_map(|t| t.attribute("root"))
        .collect()
}

/// The element path in the form warnings use: `/a/b[2]/c`.
fn path(node: Node<'_, '_>) -> String {
    let mut parts: Vec<String> = node
        .ancestors()
        .filter(Node::is_element)
        .map(|n| {
            let name = n.tag_name().name();
            let index = 1 + n
                .prev_siblings()
                .skip(1)
                .filter(|s| s.is_element() && s.tag_name().name() == name)
                .count();
            if index > 1 {
                format!("{name}[{index}]")
            } else {
                name.to_owned()
            }
        })
        .collect();
    parts.reverse();
    format!("/{}", parts.join("/"))
}

/// An `id` as the identifier value the adapter's datatypes make of it.
fn id_value(id: Node<'_, '_>) -> Option<String> {
    let root = id.attribute("root")?.trim();
    Some(
        match id.attribute("extension").map(str::trim).filter(|e| !e.is_empty()) {
            Some(extension) => extension.to_owned(),
            None if is_uuid(root) => format!("urn:uuid:{}", root.to_lowercase()),
            None if root
                .split('.')
                .all(|arc| !arc.is_empty() && arc.bytes().all(|b| b.is_ascii_digit())) =>
            {
                format!("urn:oid:{root}")
            }
            // Neither a UUID nor an OID: the root as it is.
            None => root.to_owned(),
        },
    )
}

fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

fn keys_in(node: Node<'_, '_>) -> BTreeSet<String> {
    let elements = node.descendants().filter(Node::is_element);
    let codes = elements
        .clone()
        .filter(|n| !is(*n, "templateId") && !is(*n, "statusCode"))
        .filter_map(|n| n.attribute("code"))
        .map(str::to_owned);
    let texts = elements
        .filter(|n| is(*n, "originalText") || is(*n, "name"))
        .filter_map(|n| n.text())
        .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|t| !t.is_empty());
    codes.chain(texts).collect()
}

/// A Family History Organizer is one relative: its observations are part of it.
const FAMILY_HISTORY_ORGANIZER: &str = "2.16.840.1.113883.10.20.22.4.45";

fn is_container(statement: Node<'_, '_>) -> bool {
    (is(statement, "organizer") && !templates(statement).contains(&FAMILY_HISTORY_ORGANIZER))
        || (is(statement, "act")
            && (templates(statement).iter().any(|t| CONTAINER_ACTS.contains(t))
                || children(statement, "code").any(|c| c.attribute("code") == Some("CONC"))))
}

/// The statements a container holds, without those that only describe.
fn held<'a, 'i>(container: Node<'a, 'i>) -> Vec<Node<'a, 'i>> {
    let wrappers = if is(container, "organizer") {
        "component"
    } else {
        "entryRelationship"
    };
    children(container, wrappers)
        .flat_map(|w| w.children().filter(|c| c.is_element() && !is(*c, "sequenceNumber")))
        .filter(|s| !templates(*s).iter().any(|t| DESCRIPTIONS.contains(t)))
        .collect()
}

fn item(statement: Node<'_, '_>, section: &[usize], entry: &str, optional: bool) -> Item {
    Item {
        section: section.to_vec(),
        path: path(statement),
        entry: entry.to_owned(),
        ids: children(statement, "id").filter_map(id_value).collect(),
        keys: keys_in(statement),
        optional,
    }
}

/// The clinical statements of a document, section by section.
fn source_items(document: &roxmltree::Document<'_>) -> Vec<Item> {
    fn walk(section: Node<'_, '_>, position: &[usize], out: &mut Vec<Item>) {
        for entry in children(section, "entry") {
            let entry_path = path(entry);
            let Some(statement) = entry.children().find(|c| c.is_element() && !is(*c, "templateId")) else {
                continue;
            };
            if is_container(statement) {
                out.push(item(statement, position, &entry_path, true));
                for inner in held(statement) {
                    out.push(item(inner, position, &entry_path, false));
                }
            } else {
                out.push(item(statement, position, &entry_path, false));
            }
        }
        let nested = children(section, "component").filter_map(|c| children(c, "section").next());
        for (i, sub) in nested.enumerate() {
            let mut inner = position.to_vec();
            inner.push(i);
            walk(sub, &inner, out);
        }
    }
    let mut out = Vec::new();
    let root = document.root_element();
    let body = children(root, "component").find_map(|c| children(c, "structuredBody").next());
    // An unstructured body is one statement: the attachment, found by the
    // media type its DocumentReference repeats.
    let unstructured = children(root, "component").find_map(|c| children(c, "nonXMLBody").next());
    if let Some(body) = unstructured {
        let mut item = item(body, &[0], &path(body), false);
        // ED's mediaType defaults to text/plain (CDA R2 data types).
        let media_type = children(body, "text").find_map(|t| t.attribute("mediaType"));
        item.keys.insert(media_type.unwrap_or("text/plain").to_owned());
        out.push(item);
    }
    if let Some(body) = body {
        let sections = children(body, "component").filter_map(|c| children(c, "section").next());
        for (i, section) in sections.enumerate() {
            walk(section, &[i], &mut out);
        }
    }
    out
}

/// Every `code` of a coding and every `text`, anywhere in `value`.
fn json_keys(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let (Some(Value::String(code)), true) = (map.get("code"), map.contains_key("system")) {
                out.insert(code.clone());
            }
            for key in ["text", "contentType"] {
                if let Some(Value::String(text)) = map.get(key) {
                    out.insert(text.clone());
                }
            }
            map.values().for_each(|v| json_keys(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| json_keys(v, out)),
        _ => {}
    }
}

/// The clinical resources of a Bundle, with the Composition section that
/// references each.
fn output_resources(bundle: &Value) -> Vec<Made> {
    fn sections_of(sections: &Value, position: &[usize], out: &mut Vec<(String, Vec<usize>)>) {
        for (i, section) in sections.as_array().into_iter().flatten().enumerate() {
            let mut here = position.to_vec();
            here.push(i);
            for reference in section["entry"].as_array().into_iter().flatten() {
                out.push((reference["reference"].as_str().unwrap().to_owned(), here.clone()));
            }
            sections_of(&section["section"], &here, out);
        }
    }
    let entries = bundle["entry"].as_array().unwrap();
    let mut referenced = Vec::new();
    sections_of(&entries[0]["resource"]["section"], &[], &mut referenced);
    let header_encounter = entries[0]["resource"]["encounter"]["reference"].as_str();
    entries
        .iter()
        .filter(|e| CLINICAL.contains(&e["resource"]["resourceType"].as_str().unwrap()))
        .filter(|e| Some(e["fullUrl"].as_str().unwrap()) != header_encounter)
        .map(|e| {
            let resource = &e["resource"];
            let full_url = e["fullUrl"].as_str().unwrap();
            let mut keys = BTreeSet::new();
            json_keys(resource, &mut keys);
            Made {
                resource_type: resource["resourceType"].as_str().unwrap().to_owned(),
                section: referenced.iter().find(|(r, _)| r == full_url).map(|(_, s)| s.clone()),
                identifiers: resource["identifier"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|i| i["value"].as_str().map(str::to_owned))
                    .collect(),
                keys,
            }
        })
        .collect()
}

/// The element path of a warning's location, `line L, column C (/path)`.
fn warning_path(location: &str) -> &str {
    location
        .split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .unwrap_or_default()
}

fn within(path: &str, ancestor: &str) -> bool {
    path == ancestor || path.strip_prefix(ancestor).is_some_and(|rest| rest.starts_with('/'))
}

/// Matches items and resources; returns what is wrong: items neither found
/// nor named by a warning, and resources no item accounts for.
fn unaccounted(items: &[Item], made: &[Made], warning_paths: &[&str]) -> Vec<String> {
    let mut claimed = vec![false; made.len()];
    let mut problems = Vec::new();
    // Identifiers first, so that a code shared by two statements cannot
    // take the resource an id names.
    let mut found = vec![false; items.len()];
    for (i, item) in items.iter().enumerate() {
        for (m, resource) in made.iter().enumerate() {
            let same_section = resource.section.as_deref() == Some(item.section.as_slice());
            if same_section && resource.identifiers.iter().any(|v| item.ids.contains(v)) {
                claimed[m] = true;
                found[i] = true;
            }
        }
    }
    for (i, item) in items.iter().enumerate() {
        // A container holds the codes of what it holds: only its ids name it.
        if found[i] || !item.ids.is_empty() || item.optional {
            continue;
        }
        let by_code = made.iter().enumerate().position(|(m, resource)| {
            !claimed[m]
                && resource.identifiers.is_empty()
                && resource.section.as_deref() == Some(item.section.as_slice())
                && !resource.keys.is_disjoint(&item.keys)
        });
        if let Some(m) = by_code {
            claimed[m] = true;
            found[i] = true;
        }
    }
    for (i, item) in items.iter().enumerate() {
        let warned = warning_paths
            .iter()
            .any(|w| within(w, &item.entry) && within(&item.path, w));
        if !found[i] && !warned && !item.optional {
            problems.push(format!("{}: neither in the Bundle nor named by a warning", item.path));
        }
    }
    for (m, resource) in made.iter().enumerate() {
        if !claimed[m] {
            problems.push(format!(
                "{} {:?} (section {:?}): no source statement accounts for it",
                resource.resource_type, resource.identifiers, resource.section
            ));
        }
    }
    problems
}

/// Every CDA document in the repository.
fn corpus() -> Vec<PathBuf> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/cda");
    let mut paths = common::corpus_samples();
    paths.extend(common::dutch_fixtures());
    paths.extend(common::ccda_fixtures());
    paths.extend(common::files(&fuzz, &[".xml"]));
    paths
}

/// What is wrong with one document's accounting: the number of items and
/// the problems. A refused document loses nothing silently (its error
/// says why), so it has no items to account for.
fn account(path: &Path) -> (usize, Vec<String>) {
    let bytes = std::fs::read(path).unwrap();
    let Ok(conversion) = to_fhir(&bytes, &Options::default()) else {
        return (0, Vec::new());
    };
    let bundle: Value = serde_json::from_str(&conversion.bundle.to_json()).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    let document = roxmltree::Document::parse(&text).unwrap();
    let items = source_items(&document);
    let made = output_resources(&bundle);
    let warning_paths: Vec<&str> = conversion.warnings.iter().map(|w| warning_path(&w.location)).collect();
    (items.len(), unaccounted(&items, &made, &warning_paths))
}

#[test]
fn every_clinical_statement_is_in_the_bundle_or_named_by_a_warning() {
    let mut failures = Vec::new();
    let mut total = 0;
    let paths = corpus();
    for path in &paths {
        let (items, problems) = account(path);
        total += items;
        let file = path.file_name().unwrap().to_string_lossy();
        failures.extend(problems.into_iter().map(|p| format!("{file}: {p}")));
    }
    println!("{} documents, {total} clinical statements accounted for", paths.len());
    assert!(paths.len() >= 30, "{}", paths.len());
    assert!(total > 400, "{total}");
    assert!(
        failures.is_empty(),
        "{} unaccounted:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn a_statement_dropped_without_a_warning_is_noticed() {
    let path = common::fixtures().join("ccda/discharge-summary-sections.xml");
    let text = std::fs::read_to_string(&path).unwrap();
    let document = roxmltree::Document::parse(&text).unwrap();
    let items = source_items(&document);
    let converted = common::convert(&path);
    let mut made = output_resources(&converted.bundle);
    assert!(unaccounted(&items, &made, &[]).is_empty());
    // Lose the discharge medication: its statement is now unaccounted.
    made.retain(|m| !m.identifiers.contains(&"DISCHARGE-MED-1".to_owned()));
    let problems = unaccounted(&items, &made, &[]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("/section/entry/act/entryRelationship/substanceAdministration"),
        "{problems:?}"
    );
    // A resource with no statement behind it is noticed as well.
    let mut made = output_resources(&converted.bundle);
    made[0].identifiers = vec!["invented".to_owned()];
    made[0].keys.clear();
    assert!(
        unaccounted(&items, &made, &[])
            .iter()
            .any(|p| p.contains("no source statement"))
    );
}

#[test]
fn as_many_allergies_come_out_as_allergy_observations_go_in() {
    // Issue 17: a severity beside the allergy observation made a third
    // allergy out of HL7's two. Counted by the Allergy - Intolerance
    // Observation template, in every document that uses it.
    const ALLERGY_OBSERVATION: &str = "2.16.840.1.113883.10.20.22.4.7";
    let mut checked = 0;
    for path in corpus() {
        let bytes = std::fs::read(&path).unwrap();
        let Ok(conversion) = to_fhir(&bytes, &Options::default()) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        let document = roxmltree::Document::parse(&text).unwrap();
        let allergies_in = document
            .descendants()
            .filter(|n| is(*n, "observation") && templates(*n).contains(&ALLERGY_OBSERVATION))
            .count();
        if allergies_in == 0 {
            continue;
        }
        let bundle: Value = serde_json::from_str(&conversion.bundle.to_json()).unwrap();
        let allergies_out = common::resources(&bundle, "AllergyIntolerance").len();
        assert_eq!(allergies_out, allergies_in, "{}", path.display());
        checked += 1;
    }
    assert!(checked >= 12, "{checked}");
}
