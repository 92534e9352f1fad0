//! Documents of the fuzzers' corpus (`tests/fixtures/fuzz/`, reduced to
//! the lines that still showed the defect) whose Bundles the nl-core
//! validator once rejected: each now converts to a document without errors,
//! with a warning for what was left out.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Converted, convert, files, fixtures};
use serde_json::{Value, json};
use zorgpoort_cda::{ErrorKind, Options, to_fhir};
use zorgpoort_model::check::resources;
use zorgpoort_profiles::{ProfileChoice, Severity, validate};

/// The generic Bundle checks' and nl-core's errors of one document.
fn errors(converted: &Converted) -> Vec<String> {
    let mut found = zorgpoort_model::check::check_bundle(&converted.json, "document");
    found.extend(
        validate(&converted.bundle, ProfileChoice::Claimed)
            .into_iter()
            .filter(|issue| issue.severity == Severity::Error)
            .map(|issue| format!("{} {}: {}", issue.code.as_str(), issue.expression, issue.message)),
    );
    found
}

/// A regression input converted, checked to have no errors.
fn convert_fuzz(name: &str) -> Converted {
    let converted = convert(&fixtures().join("fuzz").join(name));
    assert_eq!(errors(&converted), Vec::<String>::new(), "{name}: {}", converted.json);
    converted
}

/// The warnings with `message`, by the path in their location.
fn warned_at(converted: &Converted, message: &str) -> Vec<String> {
    converted
        .warnings
        .iter()
        .map(ToString::to_string)
        .filter(|w| w.ends_with(message))
        .map(|w| w.split_once(" (").map(|(_, rest)| rest).unwrap_or_default().to_owned())
        .map(|w| w.split_once(')').map(|(path, _)| path).unwrap_or_default().to_owned())
        .collect()
}

/// The first resource of a type.
fn resource<'b>(bundle: &'b Value, resource_type: &str) -> &'b Value {
    resources(bundle, resource_type)
        .first()
        .copied()
        .unwrap_or_else(|| panic!("no {resource_type}"))
}

#[test]
fn every_fuzz_input_converts_to_a_valid_document() {
    let paths = files(&fixtures().join("fuzz"), &[".xml"]);
    assert!(paths.len() >= 5, "{paths:?}");
    let mut failures = Vec::new();
    for path in paths {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for error in errors(&convert(&path)) {
            failures.push(format!("{name}: {error}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const NO_SYSTEM: &str = "codeSystem is not an OID or UUID: the code is kept without a system";

/// A section code whose `codeSystem` had letters and a space in it was
/// written as the coding's system; so was the document type's.
#[test]
fn a_section_code_system_that_is_no_oid_is_left_out_with_a_warning() {
    let converted = convert_fuzz("section-code-system.xml");
    assert_eq!(
        warned_at(&converted, NO_SYSTEM),
        [
            "/ClinicalDocument/code",
            "/ClinicalDocument/component/structuredBody/component[2]/section/code"
        ]
    );
    let composition = resource(&converted.bundle, "Composition");
    assert_eq!(
        composition["section"][1]["code"]["coding"][0],
        json!({"code": "8716-3"}),
        "the code is kept"
    );
    let doc_type = &composition["type"]["coding"][0];
    assert_eq!(doc_type["code"], "18761-7");
    assert!(
        doc_type["display"]
            .as_str()
            .unwrap()
            .starts_with("Transfer summary note")
    );
    assert!(doc_type.get("system").is_none(), "{doc_type}");
}

/// The same in an entry's code (`codeSystem="bolic panel"`).
#[test]
fn an_entry_code_system_that_is_no_oid_is_left_out_with_a_warning() {
    let converted = convert_fuzz("entry-code-system.xml");
    assert_eq!(
        warned_at(&converted, NO_SYSTEM),
        ["/ClinicalDocument/component/structuredBody/component[2]/section/entry/organizer/code"]
    );
    assert!(converted.json.contains(r#"{"code":"24323-8"}"#), "{}", converted.json);
    assert!(!converted.json.contains("bolic panel"), "{}", converted.json);
}

/// A `setId` root with tabs in it was written as the identifier's system.
#[test]
fn an_identifier_root_that_is_no_oid_is_left_out_with_a_warning() {
    let converted = convert_fuzz("set-id-root.xml");
    assert_eq!(
        warned_at(
            &converted,
            "root is not an OID or UUID: the identifier is kept without a system"
        ),
        ["/ClinicalDocument/setId"]
    );
    assert_eq!(
        resource(&converted.bundle, "Composition")["identifier"],
        json!({"value": "VB-2026-000417"})
    );
}

/// The document's own id names the document Bundle (bdl-9 wants a system):
/// without a usable root the document has no identity, as without an id.
#[test]
fn a_document_id_root_that_is_no_oid_refuses_the_document() {
    let text = std::fs::read_to_string(fixtures().join("fuzz/set-id-root.xml")).unwrap();
    let broken = text.replacen(
        r#"<id root="2.16.528.1.1007.3.3.1234567.1""#,
        r#"<id root="2.1v.528.1.1007.3.3.1234567.1""#,
        1,
    );
    assert_ne!(text, broken);
    let error = to_fhir(broken.as_bytes(), &Options::default()).unwrap_err();
    assert_eq!(
        error.kind,
        ErrorKind::Invalid {
            element: "id/@root".to_owned(),
            reason: "not an OID or UUID".to_owned()
        }
    );
}

/// `M` of another code system (`1.16.840...` for v3 `MaritalStatus`) was
/// passed on under nl-core's required binding.
#[test]
fn a_marital_status_outside_the_zib_value_set_keeps_only_its_text() {
    let converted = convert_fuzz("marital-status.xml");
    assert_eq!(
        warned_at(
            &converted,
            "maritalStatusCode is not in the zib value set (v3 MaritalStatus D, M, S, T, U, W): the code is left out, its text kept"
        ),
        ["/ClinicalDocument/recordTarget/patientRole/patient/maritalStatusCode"]
    );
    let patient = resource(&converted.bundle, "Patient");
    assert_eq!(patient["maritalStatus"], json!({"text": "Married"}));
}

/// A marital status in the value set is kept as it is.
#[test]
fn a_marital_status_in_the_zib_value_set_is_kept() {
    let text = std::fs::read_to_string(fixtures().join("fuzz/marital-status.xml")).unwrap();
    let fixed = text.replacen(
        r#"codeSystem="1.16.840.1.113883.5.2""#,
        r#"codeSystem="2.16.840.1.113883.5.2""#,
        1,
    );
    let conversion = to_fhir(fixed.as_bytes(), &Options::default()).unwrap();
    let bundle: Value = serde_json::from_str(&conversion.bundle.to_json()).unwrap();
    assert_eq!(
        resource(&bundle, "Patient")["maritalStatus"]["coding"][0],
        json!({"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "M", "display": "Married"})
    );
    assert!(
        !conversion
            .warnings
            .iter()
            .any(|w| w.to_string().contains("maritalStatusCode"))
    );
}

/// per-1: an encounter from 5531 to 2026. The start is kept, the end left
/// out; that the source gave an end still makes the encounter finished.
#[test]
fn an_encounter_ending_before_it_starts_keeps_its_start() {
    let converted = convert_fuzz("encounter-high-before-low.xml");
    assert_eq!(
        warned_at(&converted, "high is before low: the end is left out"),
        ["/ClinicalDocument/componentOf/encompassingEncounter/effectiveTime/high"]
    );
    let encounter = resource(&converted.bundle, "Encounter");
    assert_eq!(encounter["period"], json!({"start": "5531-12-29"}));
    assert_eq!(encounter["status"], "finished");
}
