//! Issue 17, the accounting test: for every client of every export fixture,
//! each clinical source item (a diagnosis, wound, allergy, medication,
//! functioning score, measurement, care goal, advance directive or treatment
//! limit) is in the output Bundle or named by a warning that leaves the
//! whole item out, and the output holds no clinical resource without a
//! source item.
//!
//! The items are read from the export in this test, not through the
//! mapping: the CSV rows and columns and the JSON arrays as the three
//! layouts write them. Vendor codes are translated by the mapping, so an
//! item is matched to the output by its kind, and the count per kind must
//! agree: as many resources of a kind as items of that kind, less those
//! a warning left out.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::fixtures;
use serde_json::Value;
use zorgpoort_ecd::{Mapping, Options, to_fhir};

/// The kinds of clinical item, each a kind of output resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Diagnosis,
    Wound,
    Allergy,
    Medication,
    Functioning,
    Weight,
    BloodPressure,
    Pain,
    Goal,
    AdvanceDirective,
    TreatmentLimit,
}

/// One clinical item of one client, with the place a warning names it by.
#[derive(Debug)]
struct Item {
    kind: Kind,
    place: String,
}

/// The kind of an output resource, from its type and codes; `None` for
/// what is not a clinical item (Patient, contacts, the GP).
fn kind_of(resource: &Value) -> Option<Kind> {
    let text = resource.to_string();
    let has = |code: &str| text.contains(&format!("\"code\":\"{code}\""));
    match resource["resourceType"].as_str()? {
        "Condition" if has("416462003") => Some(Kind::Wound),
        "Condition" => Some(Kind::Diagnosis),
        "AllergyIntolerance" => Some(Kind::Allergy),
        "MedicationStatement" => Some(Kind::Medication),
        "Goal" => Some(Kind::Goal),
        "Consent" if has("acd") => Some(Kind::AdvanceDirective),
        "Consent" => Some(Kind::TreatmentLimit),
        "Observation" if has("29463-7") => Some(Kind::Weight),
        "Observation" if has("85354-9") => Some(Kind::BloodPressure),
        "Observation" if has("225908003") => Some(Kind::Pain),
        "Observation" => Some(Kind::Functioning),
        _ => None,
    }
}

/// A minimal RFC 4180 reader (quotes, doubled quotes, line breaks in
/// quotes, a BOM), separate from the adapter's own.
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let header = text.lines().next().unwrap_or_default();
    let separator = if header.matches(';').count() >= header.matches(',').count() {
        ';'
    } else {
        ','
    };
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            c if c == separator && !quoted => row.push(std::mem::take(&mut field)),
            '\r' if !quoted => {}
            '\n' if !quoted => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            c => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// Items grouped by client key, clients in the order of their first row.
fn by_client(rows: impl Iterator<Item = (String, Vec<Item>)>) -> Vec<Vec<Item>> {
    let mut clients: Vec<(String, Vec<Item>)> = Vec::new();
    for (key, items) in rows {
        match clients.iter_mut().find(|(k, _)| *k == key) {
            Some((_, known)) => known.extend(items),
            None => clients.push((key, items)),
        }
    }
    clients.into_iter().map(|(_, items)| items).collect()
}

/// The `zorgpoort` layout: one row per item, its kind in `soort`; a
/// measurement row holds up to three measurements. Rows are numbered as
/// the warnings count them (the header is row 1).
fn long_csv(text: &str) -> Vec<Vec<Item>> {
    let rows = csv_rows(text);
    let header = &rows[0];
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (client, kind) = (column("clientnummer"), column("soort"));
    by_client(rows.iter().enumerate().skip(1).map(|(i, row)| {
        let cell = |name: &str| row.get(column(name)).map(|v| v.trim()).filter(|v| !v.is_empty());
        let kinds = match row[kind].as_str() {
            "diagnose" => vec![Kind::Diagnosis],
            "wond" => vec![Kind::Wound],
            "allergie" => vec![Kind::Allergy],
            "medicatie" => vec![Kind::Medication],
            "functioneren" => vec![Kind::Functioning],
            "zorgdoel" => vec![Kind::Goal],
            "wilsverklaring" => vec![Kind::AdvanceDirective],
            "behandelbeperking" => vec![Kind::TreatmentLimit],
            "meting" => [
                ("gewicht", Kind::Weight),
                ("systolisch", Kind::BloodPressure),
                ("pijnscore", Kind::Pain),
            ]
            .into_iter()
            .filter(|(name, _)| cell(name).is_some())
            .map(|(_, kind)| kind)
            .collect(),
            _ => Vec::new(),
        };
        let place = format!("row {}", i + 1);
        let items = kinds
            .into_iter()
            .map(|kind| Item {
                kind,
                place: place.clone(),
            })
            .collect();
        (row[client].clone(), items)
    }))
}

/// The `zorgdossier-wide` layout: one row per client (a client may have
/// several), each item a group of columns named by its main column.
fn wide_csv(text: &str) -> Vec<Vec<Item>> {
    let rows = csv_rows(text);
    let header = &rows[0];
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let groups = [
        ("Diagnose 1", Kind::Diagnosis),
        ("Diagnose 2", Kind::Diagnosis),
        ("Diagnose 3", Kind::Diagnosis),
        ("Medicatie 1", Kind::Medication),
        ("Medicatie 2", Kind::Medication),
        ("Medicatie 3", Kind::Medication),
        ("Allergie", Kind::Allergy),
        ("Barthel score", Kind::Functioning),
        ("Wond", Kind::Wound),
        ("Gewicht (kg)", Kind::Weight),
        ("RR systolisch", Kind::BloodPressure),
        ("Pijnscore", Kind::Pain),
        ("Zorgdoel", Kind::Goal),
        ("Wilsverklaring", Kind::AdvanceDirective),
        ("Behandeling 1", Kind::TreatmentLimit),
        ("Behandeling 2", Kind::TreatmentLimit),
    ];
    let client = column("Cliëntnummer");
    by_client(
        rows.iter()
            .enumerate()
            .skip(1)
            .filter(|(_, row)| row.iter().any(|c| !c.trim().is_empty()))
            .map(|(i, row)| {
                let items = groups
                    .iter()
                    .filter(|(name, _)| row.get(column(name)).is_some_and(|v| !v.trim().is_empty()))
                    .map(|&(name, kind)| Item {
                        kind,
                        place: format!("row {}, column \"{name}\"", i + 1),
                    })
                    .collect();
                (row[client].clone(), items)
            }),
    )
}

/// The `carebook-json` layout: one object per client, each item an element
/// of an array; a vitals element holds up to three measurements.
fn json_export(text: &str) -> Vec<Vec<Item>> {
    let export: Value = serde_json::from_str(text).unwrap();
    let arrays = [
        ("diagnoses", Kind::Diagnosis),
        ("medications", Kind::Medication),
        ("allergies", Kind::Allergy),
        ("adl", Kind::Functioning),
        ("wounds", Kind::Wound),
        ("goals", Kind::Goal),
        ("advanceDirectives", Kind::AdvanceDirective),
        ("treatmentLimits", Kind::TreatmentLimit),
    ];
    let mut out = Vec::new();
    for (c, client) in export["clients"].as_array().unwrap().iter().enumerate() {
        let mut items = Vec::new();
        for (name, kind) in arrays {
            if let Some(list) = client[name].as_array() {
                items.extend((0..list.len()).map(|i| Item {
                    kind,
                    place: format!("$.clients[{c}].{name}[{i}]"),
                }));
            }
        }
        for (i, vitals) in client["vitals"].as_array().into_iter().flatten().enumerate() {
            for (field, kind) in [
                ("weightKg", Kind::Weight),
                ("systolic", Kind::BloodPressure),
                ("painScore", Kind::Pain),
            ] {
                if !vitals[field].is_null() {
                    items.push(Item {
                        kind,
                        place: format!("$.clients[{c}].vitals[{i}]"),
                    });
                }
            }
        }
        out.push(items);
    }
    out
}

/// Reads one layout's items, per client.
type Reader = fn(&str) -> Vec<Vec<Item>>;

/// Whether a warning leaves the whole item at `place` out.
fn left_out(warnings: &[String], place: &str) -> bool {
    warnings.iter().any(|w| {
        let Some(rest) = w.strip_prefix(place) else {
            return false;
        };
        // "row 7, column "soort": ...; row not imported", or a warning
        // about the item itself ("$.clients[1].adl: ...; not imported").
        w.contains("row not imported") || rest.starts_with(':') && w.ends_with("not imported")
    })
}

/// Checks one export; returns (items counted, problems).
fn account(path: &Path, mapping: &str, read: Reader) -> (usize, Vec<String>) {
    let bytes = std::fs::read(path).unwrap();
    let clients = read(&String::from_utf8(bytes.clone()).unwrap());
    let mapping = Mapping::builtin(mapping).unwrap();
    let results = to_fhir(&bytes, &mapping, &Options::default()).unwrap();
    assert_eq!(results.len(), clients.len(), "{}: clients", path.display());
    let mut problems = Vec::new();
    let mut counted = 0;
    for (n, (items, result)) in clients.iter().zip(results).enumerate() {
        let at = format!("{} client {}", path.display(), n + 1);
        let Ok(conversion) = result else {
            continue; // a refused client is an error the caller sees, not a silent drop
        };
        counted += items.len();
        let warnings: Vec<String> = conversion.warnings.iter().map(ToString::to_string).collect();
        let bundle: Value = serde_json::from_str(&conversion.bundle.to_json()).unwrap();
        let mut expected: BTreeMap<Kind, usize> = BTreeMap::new();
        for item in items.iter().filter(|item| !left_out(&warnings, &item.place)) {
            *expected.entry(item.kind).or_default() += 1;
        }
        let mut found: BTreeMap<Kind, usize> = BTreeMap::new();
        for entry in bundle["entry"].as_array().unwrap() {
            if let Some(kind) = kind_of(&entry["resource"]) {
                *found.entry(kind).or_default() += 1;
            }
        }
        if expected != found {
            problems.push(format!(
                "{at}: items in the export {expected:?}, resources in the output {found:?}"
            ));
        }
    }
    (counted, problems)
}

#[test]
fn every_clinical_item_of_every_export_is_in_the_output_or_warned() {
    let mut counted = 0;
    let mut problems = Vec::new();
    let layouts: [(&str, Reader); 3] = [
        ("zorgpoort", long_csv),
        ("zorgdossier-wide", wide_csv),
        ("carebook-json", json_export),
    ];
    for (layout, read) in layouts {
        for path in fixtures(layout) {
            let (items, found) = account(&path, layout, read);
            counted += items;
            problems.extend(found);
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(counted >= 80, "only {counted} clinical items in the fixtures");
}

/// The check can fail: a Bundle that lost a diagnosis, or that holds one
/// the export does not, differs in its count.
#[test]
fn a_lost_or_invented_item_changes_the_count() {
    let condition = serde_json::json!({ "resourceType": "Condition", "code": { "text": "dementie" } });
    assert_eq!(kind_of(&condition), Some(Kind::Diagnosis));
    let wound =
        serde_json::json!({ "resourceType": "Condition", "category": [{ "coding": [{ "code": "416462003" }] }] });
    assert_eq!(kind_of(&wound), Some(Kind::Wound));
    let items =
        long_csv("clientnummer;soort;gewicht;systolisch;pijnscore\nC1;client;;;\nC1;diagnose;;;\nC1;meting;70;;3\n");
    let kinds: Vec<Kind> = items[0].iter().map(|i| i.kind).collect();
    assert_eq!(kinds, [Kind::Diagnosis, Kind::Weight, Kind::Pain]);
    assert!(left_out(
        &["row 7, column \"soort\": record kind \"bezoek\" is not in the mapping; row not imported".to_owned()],
        "row 7"
    ));
    assert!(!left_out(
        &["row 3, column \"dosering\": not used for this record kind; not imported".to_owned()],
        "row 3"
    ));
    let field = "$.clients[0].diagnoses[0].severityScore: field not used by the mapping; not imported".to_owned();
    assert!(!left_out(&[field], "$.clients[0].diagnoses[0]"));
}
