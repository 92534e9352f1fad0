//! Every format converts through the one entry point, detected from its
//! bytes, with errors about the whole input kept apart from errors about
//! one message.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use zorgpoort_formats::{Error, Format, Settings, convert, detect};

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)).unwrap()
}

#[test]
fn each_format_is_detected_and_converted() {
    let inputs = [
        ("hl7v2/tests/fixtures/dutch/multi-message.hl7", Format::Hl7v2, 3, ""),
        ("cda/tests/fixtures/verwijsbrief-huisarts.xml", Format::Cda, 1, "CDA^"),
        (
            "edifact/fixtures/medlab/three-messages.edi",
            Format::Edifact,
            3,
            "MEDLAB",
        ),
        ("edifact/fixtures/medeur/verwijzing.edi", Format::Edifact, 1, "MEDEUR"),
        ("ecd/fixtures/carebook-json/ward-1.json", Format::Ecd, 0, "ECD"),
    ];
    for (path, format, count, event) in inputs {
        let bytes = fixture(path);
        assert_eq!(detect(&bytes), Some(format), "{path}");
        let converted = convert(format, &bytes, &Settings::default()).unwrap();
        if count > 0 {
            assert_eq!(converted.len(), count, "{path}");
        } else {
            assert!(converted.len() > 1, "{path}: one Bundle per client");
        }
        for message in converted {
            let message = message.unwrap_or_else(|e| panic!("{path}: {e}"));
            assert!(
                message.origin.event.starts_with(event),
                "{path}: {}",
                message.origin.event
            );
            assert!(message.bundle.starts_with("{\"resourceType\":\"Bundle\""), "{path}");
        }
    }
}

#[test]
fn whole_input_errors_are_apart_from_message_errors() {
    let settings = Settings {
        max_bytes: 10,
        ..Settings::default()
    };
    assert!(matches!(
        convert(Format::Edifact, b"UNB+UNOA:1+X", &settings),
        Err(Error::TooLarge { size: 12, limit: 10 })
    ));
    assert!(matches!(
        convert(Format::Ecd, b"a;b;c\n1;2;3\n", &Settings::default()),
        Err(Error::NoMapping)
    ));
    let results = convert(
        Format::Edifact,
        &fixture("edifact/fixtures/bad/invalid-date.edi"),
        &Settings::default(),
    )
    .unwrap();
    assert!(
        results[0].as_ref().unwrap_err().to_string().contains("invalid date"),
        "{:?}",
        results[0]
    );
    let empty = convert(Format::Hl7v2, b"\n", &Settings::default()).unwrap();
    assert_eq!(empty[0].as_ref().unwrap_err().to_string(), "empty message");
}

#[test]
fn message_errors_are_numbered_once() {
    let edifact = convert(
        Format::Edifact,
        &fixture("edifact/fixtures/bad/invalid-date.edi"),
        &Settings::default(),
    )
    .unwrap()
    .remove(0)
    .unwrap_err();
    assert!(
        edifact.of_message(1).starts_with("msg 1 (UNH+1): segment 3 PID"),
        "{}",
        edifact.of_message(1)
    );
    let ecd = convert(
        Format::Ecd,
        &fixture("ecd/fixtures/bad/invalid-bsn.csv"),
        &Settings::default(),
    )
    .unwrap()
    .into_iter()
    .find_map(Result::err)
    .unwrap();
    assert!(ecd.of_message(2).starts_with("msg 2: row "), "{}", ecd.of_message(2));
}
