//! The official FHIR R4 examples (a selection from the npm package
//! `hl7.fhir.r4.examples` 4.0.1, CC0; see
//! `conformance-tests/corpora/SOURCES.md`) are valid R4: the validator
//! finds no error in any of them. Warnings are allowed, and shown with the
//! errors when the test fails.

use std::path::{Path, PathBuf};

use zorgpoort_profiles::{ProfileChoice, Severity, parse, validate, xml::XmlLimits};

const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../conformance-tests/corpora/fhir-r4-examples"
);

fn examples() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(CORPUS)
        .unwrap_or_else(|e| panic!("{CORPUS}: {e}"))
        .map(|entry| entry.unwrap_or_else(|e| panic!("{CORPUS}: {e}")).path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "json"))
        .collect();
    files.sort();
    files
}

fn name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[test]
fn the_corpus_holds_the_chosen_examples() {
    let files = examples();
    assert_eq!(files.len(), 149);
    let types: std::collections::BTreeSet<String> = files
        .iter()
        .filter_map(|path| name(path).split('-').next().map(str::to_owned))
        .collect();
    for kind in [
        "Patient",
        "Observation",
        "Bundle",
        "Composition",
        "Consent",
        "CapabilityStatement",
    ] {
        assert!(types.contains(kind), "no {kind} example");
    }
}

#[test]
fn every_official_r4_example_is_valid() {
    let mut errors = 0;
    let mut report = Vec::new();
    for path in examples() {
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let resource = parse(&bytes, &XmlLimits::default()).unwrap_or_else(|e| panic!("{}: {e}", name(&path)));
        for issue in validate(&resource, ProfileChoice::Claimed) {
            if issue.severity == Severity::Error {
                errors += 1;
            }
            report.push(format!(
                "{}: {} {} {}: {}",
                name(&path),
                issue.severity.as_str(),
                issue.code.as_str(),
                issue.expression,
                issue.message
            ));
        }
    }
    assert_eq!(errors, 0, "findings:\n{}", report.join("\n"));
}
