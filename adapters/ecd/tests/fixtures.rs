//! Every fixture export: golden output, and every Bundle passes the generic
//! Bundle checks and nl-core validation without an error.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{fixtures, golden, outcome, problems, root};
use zorgpoort_ecd::{Mapping, Options, to_fhir};

fn layout(name: &str, mapping: &str) -> usize {
    let mapping = Mapping::builtin(mapping).unwrap();
    let paths = fixtures(name);
    assert!(paths.len() >= 3, "{name}: {} fixtures", paths.len());
    let mut bundles = 0;
    let mut failures = Vec::new();
    for path in &paths {
        let input = std::fs::read(path).unwrap();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let expected = root().join("tests/expected").join(name).join(format!("{file}.json"));
        golden(&expected, &outcome(&input, &mapping));
        for (n, result) in to_fhir(&input, &mapping, &Options::default())
            .unwrap()
            .into_iter()
            .enumerate()
        {
            let Ok(conversion) = result else { continue };
            bundles += 1;
            for problem in problems(&conversion.bundle.to_json()) {
                failures.push(format!("{file} client {}: {problem}", n + 1));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    bundles
}

#[test]
fn zorgpoort_fixtures_convert_to_valid_nl_core() {
    assert!(layout("zorgpoort", "zorgpoort") >= 6);
}

#[test]
fn zorgdossier_wide_fixtures_convert_to_valid_nl_core() {
    assert!(layout("zorgdossier-wide", "zorgdossier-wide") >= 6);
}

#[test]
fn carebook_json_fixtures_convert_to_valid_nl_core() {
    assert!(layout("carebook-json", "carebook-json") >= 6);
}
