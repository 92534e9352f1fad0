//! Bad input gets a located error or a warning: never a panic, a hang or
//! unbounded memory, and the other messages of the input still convert.
#![allow(clippy::unwrap_used)]

mod common;

use common::convert_bytes;
use zorgpoort_hl7v2::{Limits, Message, Splitter};

const GOOD: &str = "MSH|^~\\&|HIS|RIJN|||20261124093015+0100||ADT^A01^ADT_A01|M1|P|2.5\rPID|1||1234^^^RIJN^PI||Jansen^Piet||19800101|M\r";

fn errors(input: &[u8]) -> Vec<String> {
    convert_bytes(input)
        .into_iter()
        .filter_map(Result::err)
        .map(|e| e.to_string())
        .collect()
}

fn only_error(input: &[u8]) -> String {
    let results = convert_bytes(input);
    assert_eq!(results.len(), 1, "one message expected");
    results.into_iter().next().unwrap().unwrap_err().to_string()
}

#[test]
fn empty_input_has_no_messages() {
    assert!(convert_bytes(b"").is_empty());
    assert!(convert_bytes(b"\r\n\x0b\x1c\r").is_empty());
    assert_eq!(
        Message::parse(b"  \r\n", &Limits::default()).unwrap_err().to_string(),
        "empty message"
    );
}

#[test]
fn random_bytes_and_missing_msh() {
    assert_eq!(
        only_error(b"\x93\x00garbage\xff"),
        "msg 1: does not start with an MSH segment"
    );
    assert_eq!(
        only_error(b"PID|1||123\rPV1|1|I\r"),
        "msg 1: does not start with an MSH segment"
    );
}

#[test]
fn truncated_msh() {
    assert_eq!(
        only_error(b"MSH"),
        "msg 1: truncated MSH segment: no encoding characters"
    );
    assert_eq!(
        only_error(b"MSH|"),
        "msg 1: truncated MSH segment: no encoding characters"
    );
    assert_eq!(only_error(b"MSH|^~\\&|A"), "msg 1: MSH-9: required field is empty");
    assert_eq!(
        only_error(b"MSH|^~\\&|A||||||ADT^A01"),
        "msg 1: MSH-10: required field is empty"
    );
    assert_eq!(
        only_error(b"MSH|^~\\&|A|||||||ADT^A01|1|P|2.5"),
        "msg 1: MSH-9: required field is empty"
    );
    assert_eq!(
        only_error(b"MSH|^~\\&|A||||20260101||SIU^S12|1|P|2.5"),
        "msg 1: message holds no segments with data to convert"
    );
    // A message about a patient needs one before anything else.
    assert_eq!(
        only_error(b"MSH|^~\\&|A||||20260101||ADT^A01|1|P|2.5"),
        "msg 1: PID: ADT^A01 needs an identified patient: the message has no PID segment"
    );
}

#[test]
fn a_bad_message_does_not_stop_the_others() {
    // The second message's patient has no identifier.
    let input = format!("{GOOD}\nMSH|^~\\&|HIS|RIJN|||2026||ADT^A01|M2|P|2.5\rPID|1||||X^Y||19800101\n{GOOD}");
    let results = convert_bytes(input.as_bytes());
    assert_eq!(results.len(), 3);
    assert!(results[0].is_ok() && results[2].is_ok());
    assert_eq!(
        results[1].as_ref().unwrap_err().to_string(),
        "msg 2: PID-3: ADT^A01 needs an identified patient: no usable patient identifier in PID-3 (or PID-2, PID-4)"
    );
}

/// The one warning of a message that converts, as `location: message`.
fn only_warning(input: &[u8]) -> String {
    let results = convert_bytes(input);
    assert_eq!(results.len(), 1, "one message expected");
    let converted = results.into_iter().next().unwrap().unwrap();
    assert_eq!(converted.warnings.len(), 1, "{:?}", converted.warnings);
    converted.warnings[0].to_string()
}

#[test]
fn invalid_dates_are_left_out_with_a_located_warning() {
    for bad in ["19800230", "1980-01-01", "19801301"] {
        let input = format!("MSH|^~\\&|A||||20260101120000||ADT^A01|1|P|2.5\rPID|1||1^^^X^PI||N^G||{bad}\r");
        assert_eq!(
            only_warning(input.as_bytes()),
            "PID-7: not a valid HL7 v2 date or time; left out"
        );
    }
    let pv1 = format!(
        "MSH|^~\\&|A||||20260101120000||ADT^A01|1|P|2.5\rPID|1||1^^^X^PI\rPV1|1|I{}2026011325\r",
        "|".repeat(42)
    );
    assert_eq!(
        only_warning(pv1.as_bytes()),
        "PV1-44: not a valid HL7 v2 date or time; left out"
    );
}

#[test]
fn unreadable_codes_numbers_and_times_are_left_out_with_a_warning() {
    let pid = |field: usize, value: &str| format!("PID|1||1^^^X^PI{}{value}", "|".repeat(field - 3));
    for (field, input) in [
        ("PID-16", pid(16, "Z")),
        ("PID-25", pid(25, "two")),
        ("OBX-5", format!("{}\rOBX|1|TM|8867-4^Time^LN||2561", pid(4, ""))),
    ] {
        let message = format!("MSH|^~\\&|A||||20260101120000||ADT^A08|1|P|2.5\r{input}\r");
        assert!(
            only_warning(message.as_bytes()).starts_with(&format!("{field}: ")),
            "{field}"
        );
    }
}

#[test]
fn a_required_time_that_is_unreadable_is_marked_absent() {
    // Provenance.recorded (MSH-7) and Immunization.occurrence (RXA-3) are required.
    let input = "MSH|^~\\&|A||||20261301||VXU^V04|1|P|2.5\rPID|1||1^^^X^PI\rRXA|0|1|2026023012||08^Hep B^CVX\r";
    let converted = convert_bytes(input.as_bytes()).remove(0).unwrap();
    let locations: Vec<&str> = converted.warnings.iter().map(|w| w.location.as_str()).collect();
    assert_eq!(locations, ["RXA-3", "RXA-3", "MSH-7", "MSH-7"]);
    let absent =
        r#"{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/data-absent-reason","valueCode":"error"}]}"#;
    for element in ["_recorded", "_occurrenceDateTime"] {
        assert!(
            converted.json.contains(&format!(r#""{element}":{absent}"#)),
            "{element}: {}",
            converted.json
        );
    }
}

#[test]
fn a_required_code_that_is_missing_is_marked_absent() {
    // DiagnosticReport.code (OBR-4) and Immunization.vaccineCode (RXA-5) are required.
    let absent =
        r#"{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/data-absent-reason","valueCode":"unknown"}]}"#;
    for (input, location, element) in [
        (
            "MSH|^~\\&|A||||20260101||ORU^R01|1|P|2.5\rPID|1||1^^^X^PI\rOBR|1||F1\rOBX|1|NM|2345-7^Glucose^LN||5.4\r",
            "OBR-4",
            "code",
        ),
        (
            "MSH|^~\\&|A||||20260101||VXU^V04|1|P|2.5\rPID|1||1^^^X^PI\rRXA|0|1|20260101\r",
            "RXA-5",
            "vaccineCode",
        ),
    ] {
        let converted = convert_bytes(input.as_bytes()).remove(0).unwrap();
        assert!(converted.warnings.iter().any(|w| w.location == location), "{location}");
        assert!(
            converted.json.contains(&format!(r#""{element}":{absent}"#)),
            "{element}: {}",
            converted.json
        );
    }
}

#[test]
fn a_segment_shaped_line_with_a_bad_id_is_refused_with_its_line() {
    let input = format!("{GOOD}pid|2||5^^^X^PI\r");
    let offset = GOOD.len();
    assert_eq!(
        only_error(input.as_bytes()),
        format!(
            "msg 1: line 3 (byte {offset}): \"pid\" is not a segment id (three upper-case letters or digits); the segment structure is damaged"
        )
    );
    // Indented, a real segment id is damage too: it cannot be a field's text.
    let indented = format!("{GOOD} PV1|1|I\r");
    assert!(only_error(indented.as_bytes()).contains(r#""PV1" is not a segment id"#));
}

#[test]
fn nul_and_control_bytes_are_located() {
    let input = GOOD.replace("Piet", "Pi\0et");
    assert_eq!(
        only_error(input.as_bytes()),
        "msg 1: PID-5: control character 0x00 in the data"
    );
}

#[test]
fn non_utf8_without_msh18_is_located() {
    let mut input = GOOD.as_bytes().to_vec();
    let at = input.windows(4).position(|w| w == b"Piet").unwrap();
    input[at + 1] = 0xE9;
    assert_eq!(
        only_error(&input),
        "msg 1: PID-5: invalid UTF-8 byte sequence (declare the character set in MSH-18)"
    );
}

#[test]
fn unknown_message_type_converts_with_a_warning() {
    let input = GOOD.replace("ADT^A01^ADT_A01", "ZZZ^Z99");
    let converted = convert_bytes(input.as_bytes()).remove(0).unwrap();
    let warning = converted.warnings.iter().find(|w| w.location == "MSH-9").unwrap();
    assert_eq!(
        warning.message,
        "no dedicated mapping for ZZZ^Z99; segments mapped one by one"
    );
}

#[test]
fn hundred_thousand_repetitions_hit_the_limit() {
    let ids = vec!["1^^^X^PI"; 100_000].join("~");
    let input = format!("MSH|^~\\&|A||||20260101||ADT^A01|1|P|2.5\rPID|1||{ids}\r");
    assert_eq!(
        only_error(input.as_bytes()),
        "msg 1: PID-3: more than 10000 repetitions"
    );
    // Within a raised limit they convert, in linear time.
    let limits = Limits {
        max_repetitions: 200_000,
        ..Limits::default()
    };
    let message = Message::parse(input.as_bytes(), &limits).unwrap();
    let conversion = zorgpoort_hl7v2::to_fhir(&message, &zorgpoort_hl7v2::Options::default()).unwrap();
    assert!(conversion.bundle.to_json().len() > 100_000 * 10);
}

#[test]
fn fifty_megabyte_message_is_refused_in_bounded_memory() {
    let limit = Limits::default().max_message_bytes;
    let mut splitter = Splitter::new(limit);
    splitter.push(b"MSH|^~\\&|A||||20260101||ADT^A01|1|P|2.5\rOBX|1|TX|x||");
    let chunk = vec![b'a'; 1 << 20];
    let mut frames = Vec::new();
    for _ in 0..50 {
        splitter.push(&chunk);
        while let Some(frame) = splitter.next_frame() {
            frames.push(frame);
        }
    }
    splitter.push(format!("\r{GOOD}").as_bytes());
    while let Some(frame) = splitter.next_frame() {
        frames.push(frame);
    }
    frames.extend(splitter.finish());
    assert_eq!(frames.len(), 2);
    assert_eq!(
        frames[0].as_ref().unwrap_err().to_string(),
        format!(
            "msg 1: message of {} bytes exceeds the limit of {limit} bytes",
            limit + 1
        )
    );
    assert_eq!(frames[1].as_ref().unwrap().number, 2);
    // The parser refuses it too when handed the bytes directly.
    let big = vec![b'M'; limit + 1];
    assert!(
        Message::parse(&big, &Limits::default())
            .unwrap_err()
            .to_string()
            .contains("exceeds the limit")
    );
}

#[test]
fn many_segments_stay_linear_and_hit_the_limit() {
    let body = "OBX|1|NM|x^y^LN||1|\r".repeat(60_000);
    let input = format!("MSH|^~\\&|A||||20260101||ORU^R01|1|P|2.5\rPID|1||1^^^X^PI\r{body}");
    assert_eq!(errors(input.as_bytes()), ["msg 1: more than 50000 segments"]);
}

#[test]
fn unsupported_charset_is_located() {
    let input = GOOD.replace("|2.5\r", "|2.5||||||EBCDIC\r");
    assert_eq!(
        only_error(input.as_bytes()),
        "msg 1: MSH-18: unsupported character set \"EBCDIC\""
    );
}
