//! `detect` picks the built-in mapping of each fixture's layout, and none for
//! other formats.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::fixtures;
use zorgpoort_ecd::detect;

#[test]
fn each_fixture_is_detected_as_its_layout() {
    for layout in ["zorgpoort", "zorgdossier-wide", "carebook-json"] {
        for path in fixtures(layout) {
            let input = std::fs::read(&path).unwrap();
            assert_eq!(detect(&input), Some(layout), "{}", path.display());
        }
    }
}

#[test]
fn other_formats_are_not_detected() {
    let samples: [&[u8]; 7] = [
        b"MSH|^~\\&|HIS|ZH|LAB|ZH|20240101120000||ADT^A01|1|P|2.5\rPID|1||123^^^NLMINBIZA^NNNLD\r",
        b"<?xml version=\"1.0\"?><ClinicalDocument xmlns=\"urn:hl7-org:v3\"/>",
        b"UNA:+.? 'UNB+UNOA:1+SENDER+RECEIVER+240101:1200+1'UNH+1+MEDLAB:1'",
        b"{\"resourceType\":\"Bundle\",\"type\":\"transaction\"}",
        b"a;b;c\n1;2;3\n",
        b"",
        b"\xff\xfe\x00",
    ];
    for sample in samples {
        assert_eq!(detect(sample), None, "{}", String::from_utf8_lossy(sample));
    }
}

#[test]
fn a_header_with_most_mapped_columns_is_enough() {
    let full = std::fs::read_to_string(common::root().join("fixtures/zorgpoort/basis.csv")).unwrap();
    let header: Vec<&str> = full.lines().next().unwrap().split(';').collect();
    // Without the last few (optional) columns the layout is still recognised...
    let most = header[..30].join(";") + "\n";
    assert_eq!(detect(most.as_bytes()), Some("zorgpoort"));
    // ...but not without the key column, nor with only a handful of columns.
    let no_key = header[1..].join(";") + "\n";
    assert_eq!(detect(no_key.as_bytes()), None);
    assert_eq!(detect(b"clientnummer;soort;bsn\n"), None);
}
