//! Broken interchanges get precise errors: message, segment, element and why.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::fixtures;
use zorgpoort_edifact::{ErrorKind, Interchange, Limits, Options, to_fhir};

/// What a bad fixture gives: the outer error, or per message the error
/// text (`ok` for a message that converts).
fn outcome(name: &str) -> Result<Vec<String>, String> {
    let bytes = std::fs::read(fixtures().join("bad").join(name)).unwrap();
    outcome_of(&bytes, &Options::default())
}

fn outcome_of(bytes: &[u8], options: &Options) -> Result<Vec<String>, String> {
    to_fhir(bytes, options)
        .map(|messages| {
            messages
                .into_iter()
                .map(|m| m.map_or_else(|e| e.to_string(), |_| "ok".to_owned()))
                .collect()
        })
        .map_err(|e| e.to_string())
}

fn interchange_error(name: &str, expected: &str) {
    assert_eq!(outcome(name), Err(expected.to_owned()), "{name}");
}

fn message_errors(name: &str, expected: &[&str]) {
    let expected: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(outcome(name), Ok(expected), "{name}");
}

#[test]
fn envelope_errors_fail_the_interchange() {
    interchange_error(
        "missing-unb.edi",
        "segment 1 UNH: interchange does not start with UNB (found UNH)",
    );
    interchange_error(
        "unz-count.edi",
        "segment 10 UNZ, element 1: UNZ says 2 messages, the interchange has 1",
    );
    interchange_error(
        "unz-reference.edi",
        "segment 10 UNZ, element 2: UNZ reference \"9002\" does not match UNB reference \"9001\"",
    );
    interchange_error("no-unz.edi", "truncated interchange: no UNZ trailer");
    interchange_error(
        "truncated.edi",
        "segment 8 BEP: truncated interchange: the last segment has no terminator",
    );
    interchange_error(
        "lone-release.edi",
        "segment 10 UNZ: release character at the end of the input",
    );
}

#[test]
fn message_errors_leave_the_other_messages_alone() {
    message_errors(
        "unt-count.edi",
        &["msg 1 (UNH+1): segment 8 UNT, element 1: UNT says 7 segments, the message has 8"],
    );
    message_errors(
        "unt-reference.edi",
        &["msg 1 (UNH+1): segment 8 UNT, element 2: UNT reference \"2\" does not match UNH reference \"1\""],
    );
    message_errors(
        "missing-unt.edi",
        &["msg 1 (UNH+1): segment 1 UNH: message has no UNT trailer", "ok"],
    );
    message_errors(
        "invalid-date.edi",
        &["msg 1 (UNH+1): segment 3 PID, element 1: invalid date \"19800230\""],
    );
    message_errors(
        "invalid-bsn.edi",
        &["msg 1 (UNH+1): segment 3 PID, element 5: invalid BSN: not 9 digits passing the 11-check"],
    );
    message_errors(
        "unoa-latin1.edi",
        &["msg 1 (UNH+1): segment 3 PID, element 3.1: byte 0xE4 is not valid in character set UNOA"],
    );
    message_errors(
        "unsupported-type.edi",
        &[
            "msg 1 (UNH+1): segment 1 UNH, element 2: message type \"MEDRPT\" is not supported (MEDLAB, MEDVRI, MEDEUR are)",
        ],
    );
    message_errors(
        "no-pid.edi",
        &["msg 1 (UNH+1): segment 4 BEP: required segment PID is missing"],
    );
}

#[test]
fn every_bad_fixture_is_asserted() {
    let count = std::fs::read_dir(fixtures().join("bad")).unwrap().count();
    assert_eq!(count, 14, "add the new bad fixture to a test above");
}

#[test]
fn errors_carry_a_structured_location() {
    let bytes = std::fs::read(fixtures().join("bad/invalid-date.edi")).unwrap();
    let error = to_fhir(&bytes, &Options::default()).unwrap().remove(0).unwrap_err();
    let location = error.location.unwrap();
    assert_eq!((location.message, location.segment, location.element), (1, 3, 1));
    assert_eq!(location.tag.as_str(), "PID");
    assert_eq!(location.message_ref.as_str(), "1");
    assert_eq!(error.kind, ErrorKind::InvalidDate("19800230".into()));
}

const SMALL: &str = "UNB+UNOA:1+S+R+260101:1200+1'UNH+1+MEDLAB:1'PID+1980:01:01+M+X++BSN999910851'UNT+3+1'UNZ+1+1'";

#[test]
fn limits_bound_every_dimension() {
    let with = |limits: Limits| Options {
        limits,
        ..Options::default()
    };
    let small = Limits::default();
    assert_eq!(
        outcome_of(SMALL.as_bytes(), &with(Limits { max_bytes: 10, ..small })),
        Err(format!(
            "interchange of {} bytes exceeds the limit of 10 bytes",
            SMALL.len()
        ))
    );
    assert_eq!(
        outcome_of(
            SMALL.as_bytes(),
            &with(Limits {
                max_segments: 3,
                ..small
            })
        ),
        Err("more than 3 segments".to_owned())
    );
    assert_eq!(
        outcome_of(
            SMALL.as_bytes(),
            &with(Limits {
                max_messages: 0,
                ..small
            })
        ),
        Err("segment 2 UNH: more than 0 messages".to_owned())
    );
    assert_eq!(
        outcome_of(
            SMALL.as_bytes(),
            &with(Limits {
                max_elements: 4,
                ..small
            })
        ),
        Err("segment 1 UNB: more than 4 data elements in one segment".to_owned())
    );
}

#[test]
fn service_string_advice_and_empty_input() {
    let options = Options::default();
    assert_eq!(outcome_of(b"  \r\n", &options), Err("empty interchange".to_owned()));
    assert_eq!(
        outcome_of(b"UNA::.? 'UNB+UNOA:1+S+R+1'", &options),
        Err("invalid UNA service string advice: the same character for two purposes".to_owned())
    );
    assert_eq!(
        outcome_of(b"UNA:+", &options),
        Err("invalid UNA service string advice: fewer than 6 service characters".to_owned())
    );
    assert_eq!(
        outcome_of(b"UNB+UNOZ:1+S+R+260101+1'UNZ+0+1'", &options),
        Err("segment 1 UNB, element 1.1: unsupported character set \"UNOZ\"".to_owned())
    );
    assert_eq!(
        outcome_of(b"UNB+UNOA:1+S+R+260101+1'PID+x'UNZ+0+1'", &options),
        Err("segment 2 PID: segment PID outside a message".to_owned())
    );
    assert_eq!(
        outcome_of(b"UNB+UNOA:1+S+R+260101+1'UNZ+0+1'UNH+1'", &options),
        Err("segment 3 UNH: data after UNZ".to_owned())
    );
}

#[test]
fn unob_without_una_uses_the_information_separators() {
    let text = SMALL
        .replace('+', "\u{1d}")
        .replace(':', "\u{1f}")
        .replace('\'', "\u{1c}")
        .replace("UNOA", "UNOB");
    let interchange = Interchange::parse(text.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(interchange.delimiters().element, 0x1D);
    assert_eq!(interchange.charset().name(), "UNOB");
    let message = interchange.messages().next().unwrap().unwrap();
    let pid = message.segments().nth(1).unwrap();
    assert_eq!(pid.element(5).text().unwrap().unwrap(), "BSN999910851");
}

/// Regression: a non-ASCII date of 6 or 8 bytes, or time of 4, was cut
/// inside a character.
#[test]
fn non_ascii_dates_are_errors_not_panics() {
    let with = |pid_date: &str, det_time: &str| {
        format!(
            "UNB+UNOY:4+S+R+260101:1200+1'UNH+1+MEDLAB:1'PID+{pid_date}+M+X++BSN999910851'DET:1+26:03:17+{det_time}'UNT+4+1'UNZ+1+1'"
        )
    };
    let options = Options::default();
    assert_eq!(
        outcome_of(with("1é345", "09:20").as_bytes(), &options),
        Ok(vec![
            "msg 1 (UNH+1): segment 2 PID, element 1: invalid date \"1é345\"".to_owned()
        ])
    );
    assert_eq!(
        outcome_of(with("19800101", "aé1").as_bytes(), &options),
        Ok(vec![
            "msg 1 (UNH+1): segment 3 DET, element 2: invalid date \"aé1\"".to_owned()
        ])
    );
}

#[test]
fn groups_are_checked_like_the_interchange() {
    let options = Options::default();
    let group = |une: &str| {
        format!(
            "UNB+UNOA:1+S+R+260101+1'UNG+MEDLAB+S+R+260101:1200+G1+UN+1'UNH+1+MEDLAB:1'PID+1980:01:01+M+X++BSN999910851'UNT+3+1'{une}'UNZ+1+1'"
        )
    };
    assert_eq!(
        outcome_of(group("UNE+1+G1").as_bytes(), &options),
        Ok(vec!["ok".to_owned()])
    );
    assert_eq!(
        outcome_of(group("UNE+2+G1").as_bytes(), &options),
        Err("segment 6 UNE, element 1: UNE says 2 messages, the group has 1".to_owned())
    );
    assert_eq!(
        outcome_of(group("UNE+1+G2").as_bytes(), &options),
        Err("segment 6 UNE, element 2: UNE reference \"G2\" does not match UNG reference \"G1\"".to_owned())
    );
}
