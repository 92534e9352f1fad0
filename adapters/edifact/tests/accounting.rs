//! Issue 17, the accounting test: for every message of every EDIFACT
//! fixture, each clinical source item is either found in the output Bundle
//! or named by a warning, and no clinical resource of the output lacks a
//! source item.
//!
//! The source items are listed from the syntax layer (segments and their
//! elements), not by the mapping: a BEP result (kind 0) must be an
//! Observation with its name as the code text and its value; a BEP
//! heading (kind 1) is context, not an item; a NUB (not done) is an
//! Observation with that name and a `dataAbsentReason`; a BEP in MEDVRI is a
//! `ServiceRequest` with that name; OPB and TXT text lines must appear in the
//! output (a note, a conclusion or the letter's text). A warning names an
//! item by its segment number and tag ("segment 12 BEP").

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::{fixture_files, fixtures};
use serde_json::Value;
use zorgpoort_edifact::{Interchange, Limits, Options, Segment, to_fhir};

/// One clinical fact of the input.
#[derive(Debug)]
struct SourceItem {
    /// "segment 12 BEP", as warnings name it.
    place: String,
    kind: ItemKind,
}

#[derive(Debug)]
enum ItemKind {
    /// A MEDLAB determination with its name and value (if any).
    Result { name: String, value: Option<String> },
    /// A determination that was not done.
    NotDone { name: String },
    /// A requested test (MEDVRI).
    Request { name: String },
    /// A line of free text (OPB, TXT).
    Text { line: String },
}

fn text(segment: &Segment<'_>, element: usize) -> Option<String> {
    segment
        .element(element)
        .full_text()
        .unwrap()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

/// The clinical items of one message, read from its segments.
fn source_items(message_type: &str, segments: &[Segment<'_>]) -> Vec<SourceItem> {
    let mut items = Vec::new();
    for segment in segments {
        let place = format!("segment {} {}", segment.location().segment, segment.tag());
        let kind = match segment.tag() {
            "BEP" if text(segment, 1).as_deref() == Some("1") => continue,
            "BEP" => {
                let Some(name) = text(segment, 2) else {
                    continue;
                };
                if message_type == "MEDVRI" {
                    ItemKind::Request { name }
                } else {
                    ItemKind::Result {
                        name,
                        value: text(segment, 3),
                    }
                }
            }
            "NUB" => match text(segment, 1) {
                Some(name) => ItemKind::NotDone { name },
                None => continue,
            },
            "OPB" | "TXT" => match text(segment, 1) {
                Some(line) => ItemKind::Text { line },
                None => continue,
            },
            _ => continue,
        };
        items.push(SourceItem { place, kind });
    }
    items
}

/// The resources of a Bundle of the given type.
fn resources<'b>(bundle: &'b Value, kind: &str) -> Vec<&'b Value> {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .filter(|r| r["resourceType"] == kind)
        .collect()
}

/// The value of an Observation as the texts it can be compared by.
fn value_texts(observation: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(s) = observation["valueString"].as_str() {
        out.push(s.to_owned());
    }
    if let Some(s) = observation["valueCodeableConcept"]["text"].as_str() {
        out.push(s.to_owned());
    }
    let quantity = &observation["valueQuantity"];
    if let Some(number) = quantity.get("value") {
        let comparator = quantity["comparator"].as_str().unwrap_or_default();
        out.push(format!("{comparator}{number}"));
    }
    out
}

/// Numbers compare by value ("5,20" = "5.2"); other text as written.
fn same_value(source: &str, output: &str) -> bool {
    let normal = |s: &str| s.replace(',', ".").replace(' ', "");
    let (a, b) = (normal(source), normal(output));
    if a == b {
        return true;
    }
    let split = |s: &str| {
        let digits = s
            .find(|c: char| c.is_ascii_digit() || c == '-' || c == '.')
            .unwrap_or(s.len());
        (s[..digits].to_owned(), s[digits..].parse::<f64>().ok())
    };
    let ((ca, na), (cb, nb)) = (split(&a), split(&b));
    ca == cb && na.is_some() && na == nb
}

fn code_text(resource: &Value) -> Option<&str> {
    resource["code"]["text"].as_str()
}

/// Whether `item` is in `bundle`; the text of the whole Bundle is the
/// place free-text lines can be in.
fn found(item: &SourceItem, bundle: &Value, whole: &str) -> bool {
    match &item.kind {
        ItemKind::Result { name, value } => resources(bundle, "Observation").iter().any(|o| {
            code_text(o) == Some(name.as_str())
                && value
                    .as_ref()
                    .is_none_or(|v| value_texts(o).iter().any(|out| same_value(v, out)))
        }),
        ItemKind::NotDone { name } => resources(bundle, "Observation")
            .iter()
            .any(|o| code_text(o) == Some(name.as_str()) && o.get("dataAbsentReason").is_some()),
        ItemKind::Request { name } => resources(bundle, "ServiceRequest")
            .iter()
            .any(|r| code_text(r) == Some(name.as_str())),
        ItemKind::Text { line } => whole.contains(line.as_str()) || whole.contains(&xhtml_escaped(line)),
    }
}

/// A line as it stands in narrative XHTML.
fn xhtml_escaped(line: &str) -> String {
    line.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Every text of a JSON value, joined: notes, conclusions and narrative
/// (with markup, so a line in a `div` is found too).
fn all_text(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::Array(items) => items.iter().for_each(|v| all_text(v, out)),
        Value::Object(map) => map.values().for_each(|v| all_text(v, out)),
        _ => {}
    }
}

/// Checks one file; returns how many items it holds and the problems found.
fn account(path: &Path) -> (usize, Vec<String>) {
    let bytes = std::fs::read(path).unwrap();
    let interchange = Interchange::parse(&bytes, &Limits::default()).unwrap();
    let converted = to_fhir(&bytes, &Options::default()).unwrap();
    let mut problems = Vec::new();
    let mut counted = 0;
    for (message, conversion) in interchange.messages().zip(converted) {
        let message = message.unwrap();
        let conversion = conversion.unwrap();
        let bundle: Value = serde_json::from_str(&conversion.bundle.to_json()).unwrap();
        let warnings: Vec<String> = conversion.warnings.iter().map(ToString::to_string).collect();
        let mut whole = String::new();
        all_text(&bundle, &mut whole);
        let segments: Vec<Segment<'_>> = message.segments().collect();
        let message_type = message.message_type().into_owned();
        let items = source_items(&message_type, &segments);
        counted += items.len();
        let at = format!("{} msg {}", path.display(), message.number());
        for item in &items {
            let named = warnings
                .iter()
                .any(|w| w.contains(&format!("{}:", item.place)) || w.contains(&format!("{},", item.place)));
            if !found(item, &bundle, &whole) && !named {
                problems.push(format!(
                    "{at}: {} ({:?}) neither in the output nor warned",
                    item.place, item.kind
                ));
            }
        }
        for observation in resources(&bundle, "Observation") {
            let name = code_text(observation).unwrap_or_default();
            let sourced = items.iter().any(
                |i| matches!(&i.kind, ItemKind::Result { name: n, .. } | ItemKind::NotDone { name: n } if n == name),
            );
            if !sourced {
                problems.push(format!("{at}: Observation {name:?} has no BEP or NUB it comes from"));
            }
        }
        for request in resources(&bundle, "ServiceRequest") {
            let Some(name) = code_text(request) else {
                continue; // the request a MEDLAB is based on, or a request in words
            };
            let sourced = items
                .iter()
                .any(|i| matches!(&i.kind, ItemKind::Request { name: n } if n == name));
            if !sourced {
                problems.push(format!("{at}: ServiceRequest {name:?} has no BEP it comes from"));
            }
        }
    }
    (counted, problems)
}

#[test]
fn every_clinical_item_of_every_fixture_is_in_the_output_or_warned() {
    let mut files = Vec::new();
    for kind in ["medlab", "medvri", "medeur"] {
        files.extend(fixture_files(kind));
    }
    assert!(files.len() >= 15, "{files:?}");
    let mut counted = 0;
    let mut problems = Vec::new();
    for file in &files {
        let (items, found) = account(file);
        counted += items;
        problems.extend(found);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(counted >= 50, "only {counted} clinical items in the fixtures");
}

/// The check itself can fail: a result the mapping would drop silently is
/// caught (here simulated by a Bundle without the Observation).
#[test]
fn a_dropped_result_is_caught() {
    let path = fixtures().join("medlab/coded-ranges.edi");
    let bytes = std::fs::read(&path).unwrap();
    let interchange = Interchange::parse(&bytes, &Limits::default()).unwrap();
    let message = interchange.messages().next().unwrap().unwrap();
    let segments: Vec<Segment<'_>> = message.segments().collect();
    let items = source_items("MEDLAB", &segments);
    assert_eq!(
        items
            .iter()
            .filter(|i| matches!(i.kind, ItemKind::Result { .. }))
            .count(),
        5,
        "{items:#?}"
    );
    let empty = serde_json::json!({ "resourceType": "Bundle", "entry": [] });
    assert!(items.iter().all(|i| !found(i, &empty, "")));
    let wrong_value = serde_json::json!({ "resourceType": "Bundle", "entry": [{ "resource": {
        "resourceType": "Observation", "code": { "text": "Glucose (LOINC)" }, "valueQuantity": { "value": 5.3 } } }] });
    let glucose = items.iter().find(|i| i.place == "segment 12 BEP").unwrap();
    assert!(!found(glucose, &wrong_value, ""), "{glucose:?}");
}
