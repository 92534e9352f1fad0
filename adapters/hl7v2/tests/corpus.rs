//! Every HL7 v2 sample we have converts, and every Bundle passes the generic
//! checks (valid JSON, transaction, fullUrl + request, references resolve,
//! no empty values, FHIR date regexes).

#![allow(clippy::unwrap_used)]

mod common;

use common::{convert_bytes, corpus_messages, files, fixtures};
use zorgpoort_model::check::check_bundle;

fn check_all(paths: &[std::path::PathBuf]) -> usize {
    let mut failures = Vec::new();
    let mut bundles = 0;
    for path in paths {
        let bytes = std::fs::read(path).unwrap();
        for result in convert_bytes(&bytes) {
            match result {
                Ok(converted) => {
                    bundles += 1;
                    for problem in check_bundle(&converted.json, "transaction") {
                        failures.push(format!("{}: {problem}", path.display()));
                    }
                }
                Err(error) => failures.push(format!("{}: {error}", path.display())),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
    bundles
}

#[test]
fn every_corpus_hl7v2_sample_converts_to_a_sound_bundle() {
    let paths = corpus_messages();
    assert_eq!(check_all(&paths), paths.len());
}

#[test]
fn every_dutch_fixture_converts_to_a_sound_bundle() {
    let paths = files(&fixtures().join("dutch"), &[".hl7"]);
    assert!(paths.len() >= 13);
    // multi-message.hl7 holds three messages.
    assert_eq!(check_all(&paths), paths.len() + 2);
}

#[test]
fn synthetic_messages_convert_to_sound_bundles() {
    let mut generator = zorgpoort_hl7v2::synthetic::Generator::new(7);
    let text: String = (0..300).map(|_| generator.next_message() + "\n").collect();
    let results = convert_bytes(text.as_bytes());
    assert_eq!(results.len(), 300);
    for result in results {
        let converted = result.unwrap();
        let problems = check_bundle(&converted.json, "transaction");
        assert!(problems.is_empty(), "{problems:?}");
    }
}
