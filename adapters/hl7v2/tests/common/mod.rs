//! Shared helpers of the HL7 v2 integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use zorgpoort_hl7v2::{Error, Limits, Message, Options, Splitter, to_fhir};
use zorgpoort_model::Warning;

/// The repository's public corpora, `conformance-tests/corpora` (sources and
/// licences in its `SOURCES.md`).
pub fn corpora() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conformance-tests/corpora")
}

/// Every public HL7 v2 sample of the corpora: the `.hl7` files and the
/// v2-to-fhir guide's sample messages.
pub fn corpus_messages() -> Vec<PathBuf> {
    let mut paths = files(&corpora().join("hl7v2"), &[".hl7"]);
    paths.extend(files(&corpora().join("v2-to-fhir/samples/messages"), &[".txt"]));
    assert!(paths.len() >= 140, "HL7 v2 corpus not found at {}", corpora().display());
    paths
}

#[allow(dead_code)] // not every test file uses every helper
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Files under `dir` (recursively) whose name ends in one of `extensions`.
pub fn files(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if extensions.iter().any(|ext| path.to_string_lossy().ends_with(ext)) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// One converted message: its Bundle as JSON text and its warnings.
#[derive(Debug)]
pub struct Converted {
    pub json: String,
    pub warnings: Vec<Warning>,
}

/// Splits and converts every message in `bytes`, as `zorgpoort convert` does.
pub fn convert_bytes(bytes: &[u8]) -> Vec<Result<Converted, Error>> {
    let limits = Limits::default();
    let mut splitter = Splitter::new(limits.max_message_bytes);
    splitter.push(bytes);
    let mut frames = Vec::new();
    while let Some(frame) = splitter.next_frame() {
        frames.push(frame);
    }
    frames.extend(splitter.finish());
    frames
        .into_iter()
        .map(|frame| {
            let frame = frame?;
            let message = Message::parse(&frame.bytes, &limits).map_err(|e| e.in_message(frame.number))?;
            let conversion = to_fhir(&message, &Options::default()).map_err(|e| e.in_message(frame.number))?;
            Ok(Converted {
                json: conversion.bundle.to_json(),
                warnings: conversion.warnings,
            })
        })
        .collect()
}

/// Converts a file that must hold exactly one good message.
pub fn convert_one(path: &Path) -> (serde_json::Value, Vec<Warning>) {
    let bytes = std::fs::read(path).unwrap();
    let mut results = convert_bytes(&bytes);
    assert_eq!(results.len(), 1, "{}", path.display());
    let converted = results.remove(0).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (serde_json::from_str(&converted.json).unwrap(), converted.warnings)
}

#[allow(unused_imports)] // Not every test file uses it.
pub use zorgpoort_model::check::resources;

/// Compares `actual` with the committed file `tests/<relative>`; with
/// `UPDATE_EXPECT=1` set, writes `actual` there instead (review the diff).
pub fn expect_file(relative: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join(relative);
    zorgpoort_model::check::expect_file(&path, actual);
}
