//! Shared helpers of the CDA integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use zorgpoort_cda::{Options, to_fhir};
use zorgpoort_model::Warning;

/// The repository's public corpora, `conformance-tests/corpora` (sources and
/// licences in its `SOURCES.md`).
pub fn corpora() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conformance-tests/corpora")
}

/// Microsoft's C-CDA samples, from the corpora.
pub fn corpus_samples() -> Vec<PathBuf> {
    let paths = files(&corpora().join("cda/ms-fhir-converter/documents"), &[".ccda"]);
    assert_eq!(paths.len(), 22, "C-CDA samples not found under {}", corpora().display());
    paths
}

/// Microsoft's expected R4 Bundle for a sample.
pub fn expected_r4(sample: &Path) -> serde_json::Value {
    let stem = sample.file_stem().unwrap().to_string_lossy();
    let path = corpora().join(format!("cda/ms-fhir-converter/expected-r4/{stem}-expected.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// This crate's own fixtures.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The Dutch fixtures (every `.xml` under `tests/fixtures`).
pub fn dutch_fixtures() -> Vec<PathBuf> {
    files(&fixtures(), &[".xml"])
}

/// The C-CDA probes (every `.xml` under `tests/fixtures/ccda`): small
/// documents written from the C-CDA templates, each probing one mapping.
pub fn ccda_fixtures() -> Vec<PathBuf> {
    files(&fixtures().join("ccda"), &[".xml"])
}

/// Converts the C-CDA probe `name` (under `tests/fixtures/ccda`).
pub fn convert_probe(name: &str) -> Converted {
    convert(&fixtures().join("ccda").join(name))
}

/// Files in `dir` whose name ends in one of `extensions`, sorted.
pub fn files(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| extensions.iter().any(|ext| p.to_string_lossy().ends_with(ext)))
        .collect();
    out.sort();
    out
}

/// A converted document: JSON text, parsed JSON and warnings.
pub struct Converted {
    pub json: String,
    pub bundle: serde_json::Value,
    pub warnings: Vec<Warning>,
    pub origin: zorgpoort_model::Origin,
}

/// Converts a file that must convert.
pub fn convert(path: &Path) -> Converted {
    let bytes = std::fs::read(path).unwrap();
    let conversion = to_fhir(&bytes, &Options::default()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let json = conversion.bundle.to_json();
    Converted {
        bundle: serde_json::from_str(&json).unwrap(),
        json,
        warnings: conversion.warnings,
        origin: conversion.origin,
    }
}

#[allow(unused_imports)] // Not every test file uses it.
pub use zorgpoort_model::check::resources;

/// Compares `actual` with the committed file `tests/expected/<name>`, or
/// rewrites it when `UPDATE_EXPECT=1`.
pub fn assert_golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/expected").join(name);
    zorgpoort_model::check::expect_file(&path, actual);
}

/// Pretty JSON with the warnings, as golden files hold them.
pub fn golden_text(converted: &Converted) -> String {
    let mut out = serde_json::to_string_pretty(&converted.bundle).unwrap();
    let origin = &converted.origin;
    let _ = write!(
        out,
        "\n\n// origin: {} | {} | {}",
        origin.sender, origin.message_id, origin.event
    );
    out.push_str("\n// warnings:\n");
    for warning in &converted.warnings {
        out.push_str("// ");
        out.push_str(&warning.to_string());
        out.push('\n');
    }
    out
}
