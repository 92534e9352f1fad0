//! No input makes the converter panic or hang: arbitrary bytes, and the
//! public samples and fixtures with bytes flipped, cut or spliced.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::OnceLock;

use proptest::prelude::*;
use zorgpoort_cda::{Options, to_fhir};

fn corpus() -> &'static Vec<Vec<u8>> {
    static CORPUS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let mut paths = common::dutch_fixtures();
        paths.push(common::corpora().join("cda/ms-fhir-converter/documents/sample.ccda"));
        paths.push(common::corpora().join("cda/ms-fhir-converter/documents/CCD.ccda"));
        paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
    })
}

/// Converts and, when it succeeds, checks the Bundle is still a valid document.
fn convert_checked(bytes: &[u8]) {
    if let Ok(conversion) = to_fhir(bytes, &Options::default()) {
        let json = conversion.bundle.to_json();
        let problems = zorgpoort_model::check::check_bundle(&json, "document");
        assert!(problems.is_empty(), "{problems:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = to_fhir(&bytes, &Options::default());
    }

    #[test]
    fn mutated_documents_never_panic(
        which in 0usize..5,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..8),
    ) {
        let mut bytes = corpus()[which % corpus().len()].clone();
        for (at, byte, how) in edits {
            if bytes.is_empty() {
                break;
            }
            let i = at.index(bytes.len());
            match how {
                0 => bytes[i] = byte,
                1 => { bytes.remove(i); }
                2 => bytes.insert(i, byte),
                _ => bytes.truncate(i),
            }
        }
        convert_checked(&bytes);
    }

    #[test]
    fn arbitrary_timestamps_never_panic(value in "[0-9+.-]{0,24}") {
        let letter = std::fs::read_to_string(common::fixtures().join("verwijsbrief-huisarts.xml")).unwrap();
        assert!(letter.contains("19580704"));
        let text = letter.replace("19580704", &value);
        convert_checked(text.as_bytes());
    }
}
