//! Properties: no input makes the adapter panic, CSV quoting round-trips, and
//! the same export always gives the same Bundles.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{fixtures, outcome};
use proptest::prelude::*;
use zorgpoort_ecd::{Mapping, Options, detect, to_fhir, write_record};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn csv_ish_bytes_never_panic(body in proptest::collection::vec(
        prop_oneof![Just(b';'), Just(b','), Just(b'"'), Just(b'\n'), Just(b'\r'), any::<u8>(), 0x30u8..0x7a],
        0..400,
    )) {
        // The real header, so rows reach the mapping and not only the reader.
        let basis = std::fs::read(common::root().join("fixtures/zorgpoort/basis.csv")).unwrap();
        let header = &basis[..=basis.iter().position(|&b| b == b'\n').unwrap()];
        let input: Vec<u8> = header.iter().chain(b"C1;client;999910851;;;;;1940-01-01\n").chain(&body).copied().collect();
        for name in Mapping::BUILTIN {
            let mapping = Mapping::builtin(name).unwrap();
            if let Ok(results) = to_fhir(&input, &mapping, &Options::default()) {
                for conversion in results.into_iter().flatten() {
                    let json = conversion.bundle.to_json();
                    prop_assert!(json.starts_with(r#"{"resourceType":"Bundle""#), "{}", json);
                }
            }
            let _ = to_fhir(&body, &mapping, &Options::default());
        }
        let _ = detect(&input);
    }

    #[test]
    fn csv_quoting_round_trips(rows in proptest::collection::vec(
        proptest::collection::vec("[a-zA-Z0-9 ;,\"\\r\\n\u{e9}]{0,12}", 4),
        1..6,
    )) {
        let mapping = Mapping::from_toml(
            "name = \"t\"\nformat = \"csv\"\ndelimiter = \";\"\nkey = \"k\"\n[records.client]\ngiven = \"a\"\nfamily = \"b\"\ncity = \"c\"\n",
        ).unwrap();
        let mut text = String::new();
        write_record(&["k", "a", "b", "c"], b';', &mut text);
        for (i, row) in rows.iter().enumerate() {
            let key = format!("K{i}");
            let fields: Vec<&str> = std::iter::once(key.as_str()).chain(row.iter().skip(1).map(String::as_str)).collect();
            write_record(&fields, b';', &mut text);
        }
        let results = to_fhir(text.as_bytes(), &mapping, &Options::default()).unwrap();
        prop_assert_eq!(results.len(), rows.len());
        for (row, result) in rows.iter().zip(results) {
            let conversion = result.unwrap();
            let bundle: serde_json::Value = serde_json::from_str(&conversion.bundle.to_json()).unwrap();
            let patient = &bundle["entry"][0]["resource"];
            let city = row[3].trim();
            if city.is_empty() {
                prop_assert!(patient["address"].is_null());
            } else {
                prop_assert_eq!(patient["address"][0]["city"].as_str().unwrap(), city);
            }
        }
    }
}

#[test]
fn the_same_export_gives_the_same_bundles() {
    for (layout, mapping) in [
        ("zorgpoort", "zorgpoort"),
        ("zorgdossier-wide", "zorgdossier-wide"),
        ("carebook-json", "carebook-json"),
    ] {
        let mapping = Mapping::builtin(mapping).unwrap();
        for path in fixtures(layout) {
            let input = std::fs::read(&path).unwrap();
            assert_eq!(
                outcome(&input, &mapping),
                outcome(&input, &mapping),
                "{}",
                path.display()
            );
        }
    }
}

#[test]
fn a_changed_client_gets_a_new_message_id_and_the_others_keep_theirs() {
    let mapping = Mapping::builtin("zorgpoort").unwrap();
    let input = std::fs::read_to_string(common::root().join("fixtures/zorgpoort/basis.csv")).unwrap();
    let ids = |text: &str| -> Vec<String> {
        to_fhir(text.as_bytes(), &mapping, &Options::default())
            .unwrap()
            .into_iter()
            .map(|r| r.unwrap().origin.message_id)
            .collect()
    };
    let before = ids(&input);
    let after = ids(&input.replace("Hartfalen, niet gespecificeerd", "Hartfalen"));
    assert_ne!(before[0], after[0]);
    assert_eq!(before[1..], after[1..]);
    assert!(
        before.iter().all(|id| id.len() == id.find('/').unwrap() + 17),
        "{before:?}"
    );
    let other_sender = to_fhir(
        input.as_bytes(),
        &mapping,
        &Options {
            sender: "vvt-de-linde".to_owned(),
            ..Options::default()
        },
    )
    .unwrap();
    let first = other_sender.into_iter().next().unwrap().unwrap();
    assert_eq!(first.origin.sender, "vvt-de-linde");
    assert_eq!(first.origin.message_id, before[0]);
}
