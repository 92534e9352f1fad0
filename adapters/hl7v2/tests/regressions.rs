//! Inputs that once broke the parser (found by fuzzing), each named for what
//! it probes: the parser must not panic, and what it parses must write back
//! to ER7 that parses again to the same content. Those in `conformance/`
//! once converted to Bundles that broke nl-core: they must now be refused,
//! or convert to a Bundle without errors, saying what was left out.
#![allow(clippy::unwrap_used)]

mod common;

use common::{convert_bytes, files};
use zorgpoort_hl7v2::{Er7Message, Limits, Message};
use zorgpoort_profiles::{ProfileChoice, Severity, validate};

#[test]
fn fuzz_findings_stay_fixed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let paths = files(&dir, &[".hl7"]);
    assert!(paths.len() >= 2);
    for path in paths {
        let bytes = std::fs::read(&path).unwrap();
        if let Ok(message) = Message::parse(&bytes, &Limits::default()) {
            let owned = Er7Message::from_parsed(&message);
            let text = owned.to_er7();
            let again = Message::parse(text.as_bytes(), &Limits::default())
                .unwrap_or_else(|e| panic!("{}: written ER7 does not parse: {e}", path.display()));
            let read_back = Er7Message::from_parsed(&again);
            for (a, b) in owned.segments.iter().zip(&read_back.segments) {
                assert_eq!(a, b, "{}: segment {} differs after writing", path.display(), a.id);
            }
            assert_eq!(read_back, owned, "{}", path.display());
        }
    }
}

/// Found by fuzzing `parse`: MSH-18 `\.b0^Pr\` was read whole as one dropped
/// formatting escape (so the message parsed as UTF-8), but written back per
/// component as two literal texts, which the copy then refused. Read by the
/// standard's rule (split first, then decode), the original is refused the
/// same way as the copy would be.
#[test]
fn escape_spanning_a_component_separator_reads_the_same_whole_and_in_parts() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/regressions/escape-spanning-a-component-separator.hl7");
    let bytes = std::fs::read(path).unwrap();
    let error = Message::parse(&bytes, &Limits::default()).unwrap_err();
    // The name is shown with its backslashes escaped.
    assert_eq!(error.to_string(), r#"MSH-18: unsupported character set "\\.b0^Pr\\""#);
}

/// What converting a fuzz input whose Bundle once broke nl-core must give.
enum Expected {
    /// Refused, with an error saying this.
    Refused(&'static str),
    /// Converted to a Bundle that validates without errors, with a warning
    /// saying this (in at least one of the file's messages).
    Warned(&'static str),
}

/// The inputs in `tests/regressions/conformance`, each with what it must give.
const CONFORMANCE: &[(&str, Expected)] = &[
    (
        "observation-without-pid-garbled-msh9.hl7",
        Expected::Refused("needs an identified patient"),
    ),
    (
        "immunization-without-pid-garbled-msh9.hl7",
        Expected::Refused("needs an identified patient"),
    ),
    (
        "coverage-without-pid-garbled-msh9.hl7",
        Expected::Refused("needs an identified patient"),
    ),
    (
        "practitioner-bsn-failing-the-11-check.hl7",
        Expected::Warned("BSN fails the 11-check; not emitted"),
    ),
    (
        "order-number-authority-not-a-uri.hl7",
        Expected::Warned("assigning authority is not a valid URI"),
    ),
    (
        "coding-system-not-a-uri.hl7",
        Expected::Warned("coding system is not a valid URI"),
    ),
    (
        "reference-pointer-not-a-url.hl7",
        Expected::Warned("reference pointer is not a valid URL"),
    ),
    (
        "ucum-unit-not-ucum-syntax.hl7",
        Expected::Warned("unit said to be UCUM is not valid UCUM"),
    ),
    (
        "ucum-unit-with-a-non-ascii-character.hl7",
        Expected::Warned("unit said to be UCUM is not valid UCUM"),
    ),
    (
        "marital-status-outside-the-zib-value-set.hl7",
        Expected::Warned("marital status code not in the zib MaritalStatus value set"),
    ),
    (
        "admit-source-code-with-whitespace.hl7",
        Expected::Warned("code with whitespace FHIR does not allow in a code; left out"),
    ),
    (
        "identifier-type-code-with-whitespace.hl7",
        Expected::Warned("code with whitespace FHIR does not allow in a code; left out"),
    ),
    (
        "document-type-code-with-whitespace.hl7",
        Expected::Warned("code with whitespace FHIR does not allow in a code; left out"),
    ),
    (
        "own-prefix-without-own-surname.hl7",
        Expected::Warned("surname prefix (voorvoegsel) without its surname part"),
    ),
    (
        "partner-prefix-without-partner-surname.hl7",
        Expected::Warned("surname prefix (voorvoegsel) without its surname part"),
    ),
    // Written for this test: the fuzz input also lacked a PID, so is refused now.
    (
        "immunization-dose-unit-not-ucum.hl7",
        Expected::Warned("dose unit is not UCUM, which nl-core requires; dose left out"),
    ),
];

/// Found by converting every input of the fuzzer's corpus and validating
/// each Bundle against the nl-core profiles it claims.
#[test]
fn fuzz_inputs_that_broke_nl_core_are_refused_or_conformant() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions/conformance");
    let paths = files(&dir, &[".hl7"]);
    assert_eq!(paths.len(), CONFORMANCE.len(), "each input needs its expectation");
    for (name, expected) in CONFORMANCE {
        let bytes = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut seen = false;
        for result in convert_bytes(&bytes) {
            match (result, expected) {
                (Err(error), Expected::Refused(text)) if error.to_string().contains(text) => seen = true,
                (Err(error), _) => panic!("{name}: refused unexpectedly: {error}"),
                (Ok(converted), _) => {
                    let bundle: serde_json::Value = serde_json::from_str(&converted.json).unwrap();
                    let errors: Vec<String> = validate(&bundle, ProfileChoice::Claimed)
                        .into_iter()
                        .filter(|issue| issue.severity == Severity::Error)
                        .map(|issue| format!("{}: {}", issue.expression, issue.message))
                        .collect();
                    assert!(errors.is_empty(), "{name}: {errors:#?}");
                    if let Expected::Warned(text) = expected {
                        seen |= converted.warnings.iter().any(|w| w.message.contains(text));
                    }
                }
            }
        }
        match expected {
            Expected::Refused(text) => assert!(seen, "{name}: not refused with {text:?}"),
            Expected::Warned(text) => assert!(seen, "{name}: no warning {text:?}"),
        }
    }
}
