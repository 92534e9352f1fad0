//! Inputs of the fuzzers' corpora (`fixtures/fuzz/`) whose Bundles the
//! nl-core validator once rejected: each message now converts to a Bundle
//! without errors and with a warning for what was left out, or is refused
//! with an error where converting it would mix up patients.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use serde_json::Value;
use zorgpoort_edifact::{ErrorKind, Options, to_fhir};
use zorgpoort_model::check::resources;
use zorgpoort_profiles::{ProfileChoice, Severity, validate};

/// The regression inputs, sorted.
fn fuzz_inputs() -> Vec<std::path::PathBuf> {
    let files = common::fixture_files("fuzz");
    assert!(files.len() >= 4, "{files:?}");
    files
}

/// The generic Bundle checks' and nl-core's errors of one Bundle.
fn errors(json: &str) -> Vec<String> {
    let bundle: Value = serde_json::from_str(json).unwrap();
    let kind = bundle["type"].as_str().unwrap_or_default().to_owned();
    let mut found = zorgpoort_model::check::check_bundle(json, &kind);
    found.extend(
        validate(&bundle, ProfileChoice::Claimed)
            .into_iter()
            .filter(|issue| issue.severity == Severity::Error)
            .map(|issue| format!("{} {}: {}", issue.code.as_str(), issue.expression, issue.message)),
    );
    found
}

/// The one message of a regression input, converted: its Bundle (checked
/// to have no errors) and its warnings.
fn convert_one(name: &str) -> (Value, Vec<String>) {
    let path = common::fixtures().join("fuzz").join(name);
    converted(name, &std::fs::read(&path).unwrap())
}

/// [`convert_one`] of an interchange given as bytes; `name` for messages.
fn converted(name: &str, interchange: &[u8]) -> (Value, Vec<String>) {
    let mut messages = to_fhir(interchange, &Options::default()).unwrap();
    assert_eq!(messages.len(), 1, "{name}");
    let conversion = messages.remove(0).unwrap_or_else(|e| panic!("{name}: {e}"));
    let json = conversion.bundle.to_json();
    assert_eq!(errors(&json), Vec::<String>::new(), "{name}: {json}");
    let warnings = conversion.warnings.iter().map(ToString::to_string).collect();
    (serde_json::from_str(&json).unwrap(), warnings)
}

/// The resource types of the Bundle's entries, in order.
fn resource_types(bundle: &Value) -> Vec<&str> {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"]["resourceType"].as_str().unwrap())
        .collect()
}

/// The first resource of a type.
fn resource<'b>(bundle: &'b Value, resource_type: &str) -> &'b Value {
    resources(bundle, resource_type)
        .first()
        .copied()
        .unwrap_or_else(|| panic!("no {resource_type} in {bundle}"))
}

#[test]
fn every_fuzz_input_that_converts_validates() {
    let mut converted = 0;
    let mut failures = Vec::new();
    for path in fuzz_inputs() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Ok(messages) = to_fhir(&std::fs::read(&path).unwrap(), &Options::default()) else {
            continue;
        };
        for (n, message) in messages.into_iter().enumerate() {
            let Ok(conversion) = message else { continue };
            converted += 1;
            for error in errors(&conversion.bundle.to_json()) {
                failures.push(format!("{name} message {}: {error}", n + 1));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(converted >= 3, "{converted}");
}

/// bdl-7: every PID was written as the one Patient of the message (key
/// `PID`), so a second PID made a second entry with the same full URL, and
/// the receiver would keep one of the two patients; the results and the
/// report after it named another patient than those before it.
#[test]
fn a_second_patient_in_one_message_is_refused() {
    let path = common::fixtures().join("fuzz/second-pid.edi");
    let messages = to_fhir(&std::fs::read(path).unwrap(), &Options::default()).unwrap();
    assert_eq!(messages.len(), 1);
    let error = messages.into_iter().next().unwrap().expect_err("refused");
    assert_eq!(error.kind, ErrorKind::SecondPatient { first: 3 });
    assert_eq!(
        error.to_string(),
        "msg 1 (UNH+1): segment 4 PID: second patient in one message (first PID is segment 3)"
    );
}

/// The same PID twice is still two PIDs: which results are whose cannot be
/// told from the message, whatever the PIDs hold.
#[test]
fn a_repeated_identical_pid_is_refused_too() {
    let pid = "PID+1975:03:18+M+Jansen:::::J.++BSN999910851";
    let text = format!(
        "UNB+UNOA:1+LAB01:30+01123456:30+260318:0930+R1'UNH+1+MEDLAB:1'{pid}'BEP:1:1:1+0+Kreatinine+112++umol/l'{pid}'UNT+5+1'UNZ+1+R1'"
    );
    let messages = to_fhir(text.as_bytes(), &Options::default()).unwrap();
    let error = messages.into_iter().next().unwrap().expect_err("refused");
    assert_eq!(error.kind, ErrorKind::SecondPatient { first: 2 });
    assert_eq!(error.location.map(|l| l.segment), Some(4));
}

/// org-1: a ZKH without a name made an Organization with nothing in it,
/// which the report named as its performer and its number's assigner.
#[test]
fn a_laboratory_without_a_name_is_left_out_with_a_warning() {
    let (bundle, warnings) = convert_one("zkh-without-name.edi");
    assert!(
        warnings.contains(&"msg 1 (UNH+1): segment 2 ZKH: organisation without a name; not mapped".to_owned()),
        "{warnings:?}"
    );
    // Everything else is there: patient, the result and the report with
    // the laboratory's number, and nothing refers to a laboratory.
    assert_eq!(
        resource_types(&bundle),
        [
            "Patient",
            "Practitioner",
            "Observation",
            "ServiceRequest",
            "DiagnosticReport"
        ]
    );
    let report = resource(&bundle, "DiagnosticReport");
    assert_eq!(report["identifier"][0]["value"], "L2603150101");
    assert!(report["identifier"][0].get("assigner").is_none(), "{report}");
    assert!(report.get("performer").is_none(), "{report}");
    assert_eq!(report["result"].as_array().unwrap().len(), 1);
    let observation = resource(&bundle, "Observation");
    assert_eq!(observation["valueQuantity"]["value"], 12);
    assert!(observation.get("performer").is_none(), "{observation}");
    assert_eq!(resource(&bundle, "Patient")["birthDate"], "1990-05-15");
}

/// org-1 for MEDVRI's sender (GGA).
#[test]
fn a_sender_without_a_name_is_left_out_with_a_warning() {
    let (bundle, warnings) = convert_one("gga-without-name.edi");
    assert!(
        warnings.contains(&"msg 1 (UNH+7432): segment 2 GGA: organisation without a name; not mapped".to_owned()),
        "{warnings:?}"
    );
    assert!(!resource_types(&bundle).contains(&"Organization"), "{bundle}");
    let request = resource(&bundle, "ServiceRequest");
    assert!(request.get("requester").is_none(), "{request}");
    assert_eq!(request["authoredOn"], "2026-04-12T11:05:00+02:00");
    assert!(
        request["note"][0]["text"].as_str().unwrap().starts_with("Beste"),
        "{request}"
    );
    assert!(request["performer"][0]["reference"].is_string(), "{request}");
}

/// org-1 for a MEDLAB's department (AFD) without a name: its phone goes
/// with it, as the warning says.
#[test]
fn a_department_without_a_name_is_left_out_with_a_warning() {
    let text = "UNB+UNOA:1+LAB01:30+01123456:30+260318:0930+R1'UNH+1+MEDLAB:1'ZKH+Streeklab'AFD++010-7033810'PID+1975:03:18+M+Jansen:::::J.++BSN999910851'BEP:1:1:1+0+Kreatinine+112++umol/l'UNT+6+1'UNZ+1+R1'";
    let (bundle, warnings) = converted("inline", text.as_bytes());
    assert_eq!(
        warnings,
        ["msg 1 (UNH+1): segment 3 AFD: organisation without a name; not mapped"]
    );
    let organizations: Vec<&str> = resource_types(&bundle)
        .into_iter()
        .filter(|t| *t == "Organization")
        .collect();
    assert_eq!(organizations.len(), 1, "the laboratory only: {bundle}");
    assert_eq!(
        resource(&bundle, "DiagnosticReport")["performer"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// zib-NameInformation-1: the voorvoegsel of a PID name without its
/// surname (`:Jansen::::e klinisch chemicus`) was written as the own
/// prefix of no name. Reduced from a fuzzed MEDLAB (its second PID alone).
#[test]
fn a_voorvoegsel_without_a_surname_is_left_out_with_a_warning() {
    let (bundle, warnings) = convert_one("prefix-without-surname.edi");
    assert!(
        warnings.contains(
            &"msg 1 (UNH+1): segment 3 PID, element 3.2: voorvoegsel without a surname; not mapped".to_owned()
        ),
        "{warnings:?}"
    );
    let name = &resource(&bundle, "Patient")["name"][0];
    assert!(name.get("_family").is_none(), "{name}");
    assert!(name.get("family").is_none(), "{name}");
    assert_eq!(name["given"], serde_json::json!(["e klinisch chemicus"]));
    assert_eq!(name["text"], "e klinisch chemicus");
    assert_eq!(resource(&bundle, "Patient")["birthDate"], "1975-03-18");
    assert_eq!(resource(&bundle, "Organization")["name"], "Streeklab Ri15CN");
}

/// The partner's voorvoegsel without the partner's surname goes the same
/// way; the own name beside it stays.
#[test]
fn a_partner_voorvoegsel_without_the_partner_surname_is_left_out() {
    let text = "UNB+UNOA:1+LAB01:30+01123456:30+260318:0930+R1'UNH+1+MEDLAB:1'PID+1975:03:18+V+:van:Berg:de::A.++BSN999910851'UNT+3+1'UNZ+1+R1'";
    let (bundle, warnings) = converted("inline", text.as_bytes());
    assert_eq!(
        warnings,
        ["msg 1 (UNH+1): segment 2 PID, element 3.2: voorvoegsel without a surname; not mapped"]
    );
    let name = &resource(&bundle, "Patient")["name"][0];
    assert_eq!(name["family"], "de Berg", "{name}");
    assert_eq!(name["text"], "A. de Berg", "{name}");
}

/// A segment a report has once (ZKH, AFD, ART, ARA, DET, IDE) repeated:
/// the second replaced the first without a word (another time, another lab
/// number), and a second laboratory or requester was written as a resource
/// nothing refers to. The first is kept; the second is warned and left out.
#[test]
fn a_repeated_report_segment_keeps_the_first_and_warns() {
    let text = "UNB+UNOA:1+LAB01:30+01123456:30+260318:0930+R1'UNH+1+MEDLAB:1'\
        ZKH+Streeklab'ZKH+Ander lab'PID+1975:03:18+M+Jansen:::::J.++BSN999910851'\
        ART+H+01123456+A. de Groot'ART+H+01999999+B. Bakker'\
        DET:1+26:03:17+09:20'DET:1+26:03:18+10:00'IDE:1+J+L1'IDE:1+N+L2'\
        BEP:1:1:1+0+Kreatinine+112++umol/l'UNT+12+1'UNZ+1+R1'";
    let (bundle, warnings) = converted("inline", text.as_bytes());
    assert_eq!(
        warnings,
        [
            "msg 1 (UNH+1): segment 3 ZKH: a second ZKH: the report has one; the first is kept",
            "msg 1 (UNH+1): segment 6 ART: a second ART: the report has one; the first is kept",
            "msg 1 (UNH+1): segment 8 DET: a second DET: the report has one; the first is kept",
            "msg 1 (UNH+1): segment 10 IDE: a second IDE: the report has one; the first is kept",
        ]
    );
    let types = resource_types(&bundle);
    assert_eq!(types.iter().filter(|t| **t == "Organization").count(), 1, "{bundle}");
    assert_eq!(types.iter().filter(|t| **t == "Practitioner").count(), 1, "{bundle}");
    assert_eq!(resource(&bundle, "Organization")["name"], "Streeklab");
    let report = resource(&bundle, "DiagnosticReport");
    assert_eq!(report["identifier"][0]["value"], "L1", "{report}");
    assert_eq!(report["status"], "final", "{report}");
    assert_eq!(report["effectiveDateTime"], "2026-03-17T09:20:00+01:00", "{report}");
}
