//! Every Bundle we make from the public HL7 v2 corpus and from the Dutch
//! fixtures validates with `zorgpoort-profiles` against the nl-core profiles
//! its resources claim, without a single error. Warnings are allowed; they
//! are counted per kind and printed (`cargo test -- --nocapture`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::{convert_bytes, corpus_messages, files, fixtures};
use serde_json::Value;
use zorgpoort_profiles::{IssueType, ProfileChoice, Severity, validate};

/// What validating a set of samples found.
#[derive(Default)]
struct Outcome {
    /// Bundles converted and validated.
    messages: usize,
    /// Resources that claim a profile, and were checked against it.
    profiled: usize,
    /// Errors, conversion failures and claims of unknown profiles.
    failures: Vec<String>,
    /// Warnings by message.
    warnings: BTreeMap<String, usize>,
}

/// Each file's name and content.
fn read_all(paths: &[PathBuf]) -> Vec<(String, Vec<u8>)> {
    paths
        .iter()
        .map(|path| {
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            (file, std::fs::read(path).unwrap())
        })
        .collect()
}

fn validate_all(samples: &[(String, Vec<u8>)]) -> Outcome {
    let mut outcome = Outcome::default();
    for (file, bytes) in samples {
        for (n, result) in convert_bytes(bytes).into_iter().enumerate() {
            let converted = match result {
                Ok(converted) => converted,
                Err(error) => {
                    outcome.failures.push(format!("{file}: {error}"));
                    continue;
                }
            };
            outcome.messages += 1;
            let bundle: Value = serde_json::from_str(&converted.json).unwrap();
            assert_eq!(bundle["type"], "transaction", "{file}");
            outcome.profiled += bundle["entry"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|entry| entry.pointer("/resource/meta/profile/0").is_some())
                .count();
            for issue in validate(&bundle, ProfileChoice::Claimed) {
                // A claimed profile zorgpoort does not know is only a warning
                // to the validator, but from our own converter it is a typo.
                if issue.severity == Severity::Error || issue.code == IssueType::NotSupported {
                    outcome.failures.push(format!(
                        "{file} message {}: {} {}: {}",
                        n + 1,
                        issue.code.as_str(),
                        issue.expression,
                        issue.message
                    ));
                } else {
                    *outcome.warnings.entry(issue.message).or_default() += 1;
                }
            }
        }
    }
    outcome
}

fn assert_valid(outcome: &Outcome, what: &str) {
    println!(
        "{what}: {} messages, {} resources checked against their nl-core profile",
        outcome.messages, outcome.profiled
    );
    for (message, count) in &outcome.warnings {
        println!("  {count:5} warnings: {message}");
    }
    assert!(
        outcome.failures.is_empty(),
        "{what}: {} errors:\n{}",
        outcome.failures.len(),
        outcome.failures.join("\n")
    );
}

#[test]
fn every_corpus_hl7v2_sample_converts_to_valid_nl_core() {
    let paths = corpus_messages();
    let outcome = validate_all(&read_all(&paths));
    assert_valid(&outcome, "public corpus");
    assert_eq!(outcome.messages, paths.len());
    // Patients, practitioners, encounters, observations...: several per message.
    assert!(outcome.profiled > 5 * paths.len(), "{}", outcome.profiled);
}

#[test]
fn every_dutch_fixture_converts_to_valid_nl_core() {
    let paths = files(&fixtures().join("dutch"), &[".hl7"]);
    assert!(paths.len() >= 13);
    let outcome = validate_all(&read_all(&paths));
    assert_valid(&outcome, "Dutch fixtures");
    // multi-message.hl7 holds three messages.
    assert_eq!(outcome.messages, paths.len() + 2);
    assert!(outcome.profiled > 2 * paths.len(), "{}", outcome.profiled);
}

#[test]
fn fidelity_fixtures_that_convert_are_valid_nl_core() {
    // These two are refused on purpose (see fidelity.rs).
    let refused = ["oru-damaged-segment-id.hl7", "no-identified-patient.hl7"];
    let paths: Vec<PathBuf> = files(&fixtures().join("fidelity"), &[".hl7"])
        .into_iter()
        .filter(|p| !refused.iter().any(|name| p.ends_with(name)))
        .collect();
    assert!(paths.len() >= 7);
    let outcome = validate_all(&read_all(&paths));
    assert_valid(&outcome, "fidelity fixtures");
    // adt-birth-date-as-text.hl7 holds two messages.
    assert_eq!(outcome.messages, paths.len() + 1);
}

/// Conformance by construction (ADR 0009): the gateway checks only a sample
/// of its own conversions in production, so every message the generator
/// makes, a hundred thousand of them, is converted and validated here, on
/// every core.
#[test]
fn a_hundred_thousand_synthetic_messages_convert_to_valid_nl_core() {
    const MESSAGES: u64 = 100_000;
    let threads = std::thread::available_parallelism().map_or(2, usize::from) as u64;
    let outcomes: Vec<Outcome> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|worker| {
                scope.spawn(move || {
                    // Each worker its own seed, so no two make the same stream.
                    let mut generator = zorgpoort_hl7v2::synthetic::Generator::new(1_000 + worker);
                    let count = MESSAGES / threads + u64::from(worker < MESSAGES % threads);
                    let mut outcome = Outcome::default();
                    let batch = 500;
                    let mut left = count;
                    while left > 0 {
                        let n = left.min(batch);
                        let text: String = (0..n).map(|_| generator.next_message() + "\n").collect();
                        let part = validate_all(&[(format!("worker {worker}"), text.into_bytes())]);
                        outcome.messages += part.messages;
                        outcome.profiled += part.profiled;
                        outcome.failures.extend(part.failures);
                        left -= n;
                    }
                    outcome
                })
            })
            .collect();
        workers.into_iter().map(|worker| worker.join().unwrap()).collect()
    });
    let mut total = Outcome::default();
    for outcome in outcomes {
        total.messages += outcome.messages;
        total.profiled += outcome.profiled;
        total.failures.extend(outcome.failures);
    }
    assert_valid(&total, "generated messages");
    assert_eq!(total.messages as u64, MESSAGES);
}

#[test]
fn synthetic_messages_convert_to_valid_nl_core() {
    let mut generator = zorgpoort_hl7v2::synthetic::Generator::new(11);
    let text: String = (0..100).map(|_| generator.next_message() + "\n").collect();
    let outcome = validate_all(&[("synthetic".to_owned(), text.into_bytes())]);
    assert_valid(&outcome, "synthetic messages");
    assert_eq!(outcome.messages, 100);
}
