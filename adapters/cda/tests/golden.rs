//! The Bundles of the Dutch fixtures and three public samples, compared
//! with the committed files under `tests/expected/` (`UPDATE_EXPECT=1`
//! rewrites them; review the diff like code). Also: converting twice gives
//! the same bytes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{assert_golden, convert, corpora, dutch_fixtures, golden_text};

const SHARED: &[&str] = &[
    "CCD.ccda",
    "sample.ccda",
    "Consult-Document-Closing-Referral-C-CDAR2.1.ccda",
];

#[test]
fn dutch_fixtures_match_their_golden_files() {
    let paths = dutch_fixtures();
    assert_eq!(paths.len(), 3);
    for path in paths {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        assert_golden(&format!("{name}.json"), &golden_text(&convert(&path)));
    }
}

#[test]
fn corpus_samples_match_their_golden_files() {
    for file in SHARED {
        let path = corpora().join("cda/ms-fhir-converter/documents").join(file);
        let name = file.trim_end_matches(".ccda");
        assert_golden(&format!("{name}.json"), &golden_text(&convert(&path)));
    }
}

#[test]
fn the_same_document_gives_the_same_bundle() {
    let mut paths = dutch_fixtures();
    paths.extend(common::corpus_samples());
    for path in paths {
        let first = convert(&path);
        let second = convert(&path);
        assert_eq!(first.json, second.json, "{}", path.display());
        assert_eq!(first.warnings, second.warnings, "{}", path.display());
    }
}
