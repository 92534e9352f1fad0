//! Round trips v2 -> FHIR -> v2 -> FHIR over every ADT^A01/A03/A04/A08 and
//! ORU^R01 message of the public corpus and the Dutch fixtures: the
//! patient's identifiers, names (with voorvoegsel extensions), birth date and
//! gender, the visit (class, visit number, admit and discharge time,
//! location) and every OBX value (value, unit, code) come back the same,
//! and the second Bundle passes the Bundle checks and the nl-core profiles.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use common::{corpora, files, fixtures, resources};
use serde_json::{Value, json};
use zorgpoort_hl7v2::{FromFhirOptions, Limits, Message, Options, Splitter, from_fhir, to_fhir};
use zorgpoort_profiles::{ProfileChoice, Severity, validate};

const EVENTS: &[&str] = &["ADT^A01", "ADT^A03", "ADT^A04", "ADT^A08", "ORU^R01"];

/// The messages of a file (some hold several).
fn messages(path: &PathBuf) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(path).unwrap();
    let mut splitter = Splitter::new(Limits::default().max_message_bytes);
    splitter.push(&bytes);
    let mut out = Vec::new();
    while let Some(frame) = splitter.next_frame() {
        out.push(frame.unwrap().bytes);
    }
    out.extend(splitter.finish().map(|f| f.unwrap().bytes));
    out
}

fn event_of(message: &Message<'_>) -> String {
    let msh = message.msh();
    format!(
        "{}^{}",
        msh.field(9).text_of(1).unwrap_or_default(),
        msh.field(9).text_of(2).unwrap_or_default()
    )
}

fn fhir(er7: &[u8]) -> Result<Value, String> {
    let message = Message::parse(er7, &Limits::default()).map_err(|e| e.to_string())?;
    let conversion = to_fhir(&message, &Options::default()).map_err(|e| e.to_string())?;
    Ok(serde_json::from_str(&conversion.bundle.to_json()).unwrap())
}

fn pick(resource: &Value, keys: &[&str]) -> Value {
    let mut out = serde_json::Map::new();
    for key in keys {
        if let Some(v) = resource.get(*key) {
            out.insert((*key).to_owned(), v.clone());
        }
    }
    Value::Object(out)
}

/// The parts that must survive the round trip.
fn facts(bundle: &Value) -> Value {
    let patient = resources(bundle, "Patient")
        .first()
        .map(|p| pick(p, &["identifier", "name", "birthDate", "_birthDate", "gender"]));
    let encounter = resources(bundle, "Encounter").first().map(|e| {
        let locations: Vec<Value> = e["location"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|l| l["location"]["display"].clone())
            .collect();
        json!({"class": e["class"], "identifier": e["identifier"], "period": e["period"], "location": locations})
    });
    let observations: Vec<Value> = resources(bundle, "Observation")
        .into_iter()
        .map(|o| {
            let mut values = pick(
                o,
                &[
                    "code",
                    "valueQuantity",
                    "valueString",
                    "valueCodeableConcept",
                    "valueRange",
                    "valueRatio",
                    "valueDateTime",
                    "valueTime",
                ],
            );
            if let Some(components) = o["component"].as_array() {
                values["component"] = Value::Array(components.clone());
            }
            values
        })
        .collect();
    json!({"patient": patient, "encounter": encounter, "observations": observations})
}

fn corpus() -> Vec<PathBuf> {
    let mut paths = files(&corpora().join("hl7v2/ms-fhir-converter/messages"), &[".hl7"]);
    paths.extend(files(&fixtures().join("dutch"), &[".hl7"]));
    paths
}

#[test]
fn v2_fhir_v2_fhir_keeps_patient_visit_and_results() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for path in corpus() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for (n, bytes) in messages(&path).into_iter().enumerate() {
            let Ok(message) = Message::parse(&bytes, &Limits::default()) else {
                continue;
            };
            let event = event_of(&message);
            if !EVENTS.contains(&event.as_str()) {
                continue;
            }
            let first = fhir(&bytes).unwrap_or_else(|e| panic!("{name} #{n}: {e}"));
            let options = FromFhirOptions {
                event: Some(event.clone()),
                ..FromFhirOptions::default()
            };
            let back = match from_fhir(&first, &options) {
                Ok(back) => back,
                Err(e) => {
                    failures.push(format!("{name} #{n}: from_fhir: {e}"));
                    continue;
                }
            };
            assert!(back.message.starts_with("MSH|^~\\&|ZORGPOORT|ZORGPOORT|"), "{name}");
            let second = match fhir(back.message.as_bytes()) {
                Ok(second) => second,
                Err(e) => {
                    failures.push(format!("{name} #{n}: the written message does not convert: {e}"));
                    continue;
                }
            };
            let problems = zorgpoort_model::check::check_bundle(&second.to_string(), "transaction");
            assert!(problems.is_empty(), "{name} #{n}: {problems:#?}");
            let errors: Vec<String> = validate(&second, ProfileChoice::Claimed)
                .into_iter()
                .filter(|issue| issue.severity == Severity::Error)
                .map(|issue| format!("{}: {}", issue.expression, issue.message))
                .collect();
            assert!(errors.is_empty(), "{name} #{n}:\n{}", errors.join("\n"));
            let reparsed = Message::parse(back.message.as_bytes(), &Limits::default()).unwrap();
            assert_eq!(event_of(&reparsed), event, "{name}");
            let (mut a, b) = (facts(&first), facts(&second));
            // An ADT without a visit gets PV1 "not applicable", which reads back as class UNK.
            if a["encounter"].is_null() && !b["encounter"].is_null() {
                assert_eq!(b["encounter"]["class"]["code"], "UNK", "{name}");
                a["encounter"] = b["encounter"].clone();
            }
            if a != b {
                failures.push(format!(
                    "{name} #{n} ({event}):\n  first:  {a}\n  second: {b}\n  er7: {}",
                    back.message.replace('\r', "\n         ")
                ));
            }
            checked += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked >= 15, "{checked}");
}

/// The Dutch fixtures of other ADT events (A04, A28, A31: partner names,
/// invalid BSNs, GP codes) sent on as an A08 keep the patient.
#[test]
fn every_dutch_patient_survives_as_an_a08() {
    let options = FromFhirOptions {
        event: Some("ADT^A08".into()),
        ..FromFhirOptions::default()
    };
    let mut checked = 0;
    for path in files(&fixtures().join("dutch"), &[".hl7"]) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for bytes in messages(&path) {
            let first = fhir(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            let back = from_fhir(&first, &options).unwrap_or_else(|e| panic!("{name}: {e}"));
            let second = fhir(back.message.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(facts(&first)["patient"], facts(&second)["patient"], "{name}");
            checked += 1;
        }
    }
    assert!(checked >= 15, "{checked}");
}
