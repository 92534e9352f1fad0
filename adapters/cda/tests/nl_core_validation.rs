//! Every Bundle made from the public C-CDA samples of the corpora and from the Dutch
//! fixtures is a valid FHIR document (the generic Bundle checks) and
//! validates against the nl-core profiles its resources claim without a
//! single error. Warnings are counted and printed (`-- --nocapture`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::{ccda_fixtures, convert, corpus_samples, dutch_fixtures};
use zorgpoort_profiles::{IssueType, ProfileChoice, Severity, validate};

fn validate_all(paths: &[PathBuf], what: &str) -> usize {
    let mut failures = Vec::new();
    let mut warnings: BTreeMap<String, usize> = BTreeMap::new();
    let mut profiled = 0;
    for path in paths {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let converted = convert(path);
        for problem in zorgpoort_model::check::check_bundle(&converted.json, "document") {
            failures.push(format!("{file}: check_bundle: {problem}"));
        }
        profiled += converted.bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e.pointer("/resource/meta/profile/0").is_some())
            .count();
        for issue in validate(&converted.bundle, ProfileChoice::Claimed) {
            if issue.severity == Severity::Error || issue.code == IssueType::NotSupported {
                failures.push(format!(
                    "{file}: {} {}: {}",
                    issue.code.as_str(),
                    issue.expression,
                    issue.message
                ));
            } else {
                *warnings.entry(issue.message).or_default() += 1;
            }
        }
    }
    println!(
        "{what}: {} documents, {profiled} resources checked against their nl-core profile",
        paths.len()
    );
    for (message, count) in &warnings {
        println!("  {count:5} warnings: {message}");
    }
    assert!(
        failures.is_empty(),
        "{what}: {} errors:\n{}",
        failures.len(),
        failures.join("\n")
    );
    profiled
}

#[test]
fn every_corpus_sample_is_a_valid_nl_core_document() {
    let profiled = validate_all(&corpus_samples(), "public C-CDA samples");
    assert!(profiled > 200, "{profiled}");
}

#[test]
fn every_dutch_fixture_is_a_valid_nl_core_document() {
    let paths = dutch_fixtures();
    assert!(paths.len() >= 3, "{}", paths.len());
    let profiled = validate_all(&paths, "Dutch fixtures");
    assert!(profiled >= 4 * paths.len(), "{profiled}");
}

#[test]
fn every_ccda_probe_is_a_valid_nl_core_document() {
    let paths = ccda_fixtures();
    assert!(!paths.is_empty());
    let profiled = validate_all(&paths, "C-CDA probes");
    assert!(profiled >= paths.len(), "{profiled}");
}
