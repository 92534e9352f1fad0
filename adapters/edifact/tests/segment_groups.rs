//! Segments that belong together are read together, wherever they stand:
//! PAD with the PID before it, OPB lines with the determination before
//! them, and every result with the request ART implies.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;

use serde_json::Value;
use zorgpoort_edifact::{Options, to_fhir};

/// One MEDLAB message of `segments` (between UNH and UNT) in an interchange.
fn medlab(segments: &[&str]) -> String {
    let mut text = String::from("UNA:+.? 'UNB+UNOA:1+LAB01:30+01123456:30+260318:0930+REF1'UNH+1+MEDLAB:1'");
    for segment in segments {
        text.push_str(segment);
        text.push('\'');
    }
    write!(text, "UNT+{}+1'UNZ+1+REF1'", segments.len() + 2).unwrap();
    text
}

/// The Bundle and the warnings of the one message.
fn convert(segments: &[&str]) -> (Value, Vec<String>) {
    let mut messages = to_fhir(medlab(segments).as_bytes(), &Options::default()).unwrap();
    assert_eq!(messages.len(), 1);
    let conversion = messages.remove(0).unwrap();
    let bundle = serde_json::from_str(&conversion.bundle.to_json()).unwrap();
    let warnings = conversion.warnings.iter().map(ToString::to_string).collect();
    (bundle, warnings)
}

fn resources<'b>(bundle: &'b Value, resource_type: &str) -> Vec<&'b Value> {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .filter(|r| r["resourceType"] == resource_type)
        .collect()
}

const PID: &str = "PID+1975:03:18+M+Jansen:::::J.++BSN999910851";

#[test]
fn the_first_pad_after_a_pid_is_the_patients_address_and_others_are_warned_about() {
    let (bundle, warnings) = convert(&[
        "ZKH+Lab",
        "PAD+Voorstraat:1::Utrecht:3511AA",
        PID,
        "PAD+Lindelaan:27a::Rotterdam:3062AB+0612345678",
        "PAD+Tweede:2::Delft:2611AA",
        "BEP+0+Kreatinine+112++umol/l",
    ]);
    let patient = resources(&bundle, "Patient")[0];
    assert_eq!(patient["address"].as_array().unwrap().len(), 1);
    assert_eq!(patient["address"][0]["city"], "Rotterdam");
    assert_eq!(patient["telecom"][0]["value"], "0612345678");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("segment 3 PAD") && w.contains("address without a patient")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("segment 6 PAD") && w.contains("second address of the patient")),
        "{warnings:?}"
    );
}

#[test]
fn opb_lines_are_the_note_of_the_result_before_them_and_else_the_reports_conclusion() {
    let (bundle, warnings) = convert(&[
        "ZKH+Lab",
        PID,
        "DET+26:03:17+09:20",
        "BEP+0+Kreatinine+112++umol/l",
        "OPB+",
        "OPB+eerste",
        "TXT+tussendoor",
        "OPB+tweede",
        "BEP+1+HEMATOLOGIE",
        "OPB+onder de kop",
        "BEP+0",
        "OPB+na een bepaling zonder naam",
        "NUB+Kalium",
        "OPB+na niet uitgevoerd",
    ]);
    let observations = resources(&bundle, "Observation");
    assert_eq!(observations.len(), 2);
    assert_eq!(observations[0]["note"][0]["text"], "eerste\ntweede");
    assert!(observations[1].get("note").is_none());
    let report = resources(&bundle, "DiagnosticReport")[0];
    assert_eq!(
        report["conclusion"],
        "tussendoor\nonder de kop\nna een bepaling zonder naam\nna niet uitgevoerd"
    );
    assert!(
        warnings.iter().any(|w| w.contains("without a name or code")),
        "{warnings:?}"
    );
}

#[test]
fn with_a_requester_every_result_and_the_report_are_based_on_the_request() {
    let (bundle, _) = convert(&[
        "ZKH+Lab",
        PID,
        "BEP+0+Kreatinine+112++umol/l",
        "NUB+Kalium",
        "ART+H+01123456+A. de Groot",
    ]);
    let request = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["resource"]["resourceType"] == "ServiceRequest")
        .unwrap();
    let based_on = serde_json::json!([{ "reference": request["fullUrl"] }]);
    let observations = resources(&bundle, "Observation");
    assert_eq!(observations.len(), 2);
    for observation in observations {
        assert_eq!(observation["basedOn"], based_on);
    }
    assert_eq!(resources(&bundle, "DiagnosticReport")[0]["basedOn"], based_on);
    assert!(request["resource"]["requester"]["reference"].is_string());
}

#[test]
fn without_a_requester_nothing_is_based_on_a_request() {
    let (bundle, _) = convert(&["ZKH+Lab", PID, "BEP+0+Kreatinine+112++umol/l"]);
    assert!(resources(&bundle, "ServiceRequest").is_empty());
    assert!(resources(&bundle, "Observation")[0].get("basedOn").is_none());
}
