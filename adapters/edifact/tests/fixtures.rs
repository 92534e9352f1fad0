//! Every fixture converts; each Bundle passes the generic checks and the
//! nl-core profiles it claims without errors, and matches its golden file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fmt::Write as _;

use common::{convert_file, expect_file, good_fixtures};
use zorgpoort_profiles::{IssueType, ProfileChoice, Severity, validate};

#[test]
fn every_fixture_passes_the_bundle_checks_and_nl_core() {
    let mut failures = Vec::new();
    let mut messages = 0;
    for (path, kind) in good_fixtures() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for (n, converted) in convert_file(&path).into_iter().enumerate() {
            messages += 1;
            for problem in zorgpoort_model::check::check_bundle(&converted.json, kind) {
                failures.push(format!("{name} message {}: {problem}", n + 1));
            }
            let bundle: serde_json::Value = serde_json::from_str(&converted.json).unwrap();
            for issue in validate(&bundle, ProfileChoice::Claimed) {
                if issue.severity == Severity::Error || issue.code == IssueType::NotSupported {
                    failures.push(format!(
                        "{name} message {}: {} {}: {}",
                        n + 1,
                        issue.code.as_str(),
                        issue.expression,
                        issue.message
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(messages >= 20, "{messages}");
}

#[test]
fn every_fixture_matches_its_golden_output() {
    for (path, _) in good_fixtures() {
        let folder = path
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let mut out = String::new();
        for (n, converted) in convert_file(&path).into_iter().enumerate() {
            let origin = &converted.origin;
            writeln!(
                out,
                "# message {}: sender {} message_id {} event {}",
                n + 1,
                origin.sender,
                origin.message_id,
                origin.event
            )
            .unwrap();
            for warning in &converted.warnings {
                writeln!(out, "# warning: {warning}").unwrap();
            }
            out.push_str(&common::pretty(&converted.json));
            out.push('\n');
        }
        expect_file(&format!("{folder}/{stem}.json"), &out);
    }
}

#[test]
fn conversion_is_deterministic() {
    for (path, _) in good_fixtures() {
        let first: Vec<String> = convert_file(&path).into_iter().map(|c| c.json).collect();
        let second: Vec<String> = convert_file(&path).into_iter().map(|c| c.json).collect();
        assert_eq!(first, second, "{}", path.display());
    }
}
