//! The BgZ over HTTP against `zorgpoort serve`: a nursing home that received
//! a patient's hospital messages fetches the BgZ as one batch. Every answer
//! validates against the nl-core profiles, one Patient stands for all
//! messages, and the patient's choices decide what comes back: a withheld
//! category is left out and named, a requester without a relationship gets
//! nothing, and every search is audited.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Gateway, Receiver, organization, server_section, temp_dir, wait_until};
use serde_json::{Value, json};
use zorgpoort_handover::bgz::{QUERIES, batch};
use zorgpoort_profiles::{ProfileChoice, Severity, validate};

const BSN: &str = "999911120";

fn config(receiver: std::net::SocketAddr, data_dir: &Path) -> String {
    [
        server_section(data_dir),
        "[delivery]\npoll_interval_ms = 10\n\n".to_owned(),
        organization(
            "rijnstate",
            "Ziekenhuis Rijnstate",
            "ziekenhuis",
            "senders = [\"HIS/RIJNSTATE\"]",
            None,
        ),
        organization(
            "de-linde",
            "Verpleeghuis De Linde",
            "vvt",
            "",
            Some(("fhir-r4", &format!("http://{receiver}/fhir"))),
        ),
        organization(
            "huisarts-jansen",
            "Huisartsenpraktijk Jansen",
            "huisarts",
            "consent_recorder = true\naudit_reader = true",
            None,
        ),
        "[[route]]\nto = [\"de-linde\"]\n".to_owned(),
    ]
    .concat()
}

const DISCHARGE: &str = "MSH|^~\\&|HIS|RIJNSTATE|||20261124093015+0100||ADT^A03^ADT_A03|D1|P|2.5\r\
PID|1||1234^^^RIJN^PI~999911120^^^NLMINBIZA^NNNLD||van der Berg^Jan||19520604|M\r\
PV1|1|I|CAR^201^1||||||||||||||||V2026-1|||||||||||||||||||||||||20261120080000|20261124090000\r\
DG1|1||F32.1^Depressieve episode^I10|||F\r\
DG1|2||I21.9^Acuut myocardinfarct^I10|||F\r\
AL1|1|DA|70618^Penicilline^RXNORM|SV|urticaria\r";

const RESULTS: &str = "MSH|^~\\&|LAB|RIJNSTATE|||20261124100000+0100||ORU^R01^ORU_R01|L1|P|2.5\r\
PID|1||1234^^^RIJN^PI~999911120^^^NLMINBIZA^NNNLD||van der Berg^Jan||19520604|M\r\
OBR|1||LAB-1|24331-1^Lipid panel^LN|||20261124080000\r\
OBX|1|NM|2093-3^Cholesterol^LN||5.2|mmol/L|<5.0|H|||F|||20261124080000\r";

fn fetch(gateway: &Gateway, org: &str) -> (u16, Value) {
    let (status, _, body) = gateway.http_with(
        "POST",
        "/fhir",
        &[
            ("Content-Type", "application/fhir+json"),
            ("X-Zorgpoort-Requester", org),
            ("X-Purpose-Of-Use", "handover"),
        ],
        batch(BSN).to_string().as_bytes(),
    );
    (status, serde_json::from_str(&body).unwrap())
}

/// The resources of the searchset answering the query of `section`.
fn section<'a>(answer: &'a Value, section: &str) -> &'a Value {
    let i = QUERIES.iter().position(|(s, _)| *s == section).unwrap();
    &answer["entry"][i]["resource"]
}

fn codes(searchset: &Value) -> Vec<String> {
    searchset["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e.pointer("/resource/code/coding/0/code").and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

#[test]
#[allow(clippy::too_many_lines)] // one retrieval, told in order
fn a_bgz_retrieval_validates_and_holds_exactly_what_consent_allows() {
    let receiver = Receiver::start(200);
    let dir = temp_dir("bgz");
    let config_path = dir.join("zorgpoort.toml");
    std::fs::write(&config_path, config(receiver.address, &dir.join("data"))).unwrap();
    let gateway = Gateway::start(&config_path);
    for message in [DISCHARGE, RESULTS] {
        let (status, _, body) = gateway.http("POST", "/messages/hl7v2", "text/plain", message.as_bytes());
        assert_eq!(status, 202, "{body}");
    }
    assert!(wait_until(Duration::from_secs(10), || receiver.received().len() == 2));

    let (status, answer) = fetch(&gateway, "de-linde");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["type"], "batch-response");
    assert_eq!(answer["entry"].as_array().unwrap().len(), QUERIES.len());
    for (i, entry) in answer["entry"].as_array().unwrap().iter().enumerate() {
        assert_eq!(entry["response"]["status"], "200 OK", "{}: {entry}", QUERIES[i].1);
        let errors: Vec<_> = validate(&entry["resource"], ProfileChoice::Claimed)
            .into_iter()
            .filter(|issue| issue.severity == Severity::Error)
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", QUERIES[i].1);
    }
    let patients = section(&answer, "patient");
    assert_eq!(patients["total"], 1, "one Patient for both messages: {patients}");
    let mut problems = codes(section(&answer, "problems"));
    problems.sort();
    assert_eq!(problems, ["F32.1", "I21.9"]);
    assert_eq!(codes(section(&answer, "allergies")).len(), 1);
    assert_eq!(codes(section(&answer, "lab results")), ["2093-3"]);
    let subject = section(&answer, "problems")["entry"][0]["resource"]["subject"]["reference"].clone();
    assert_eq!(
        subject, patients["entry"][0]["fullUrl"],
        "references point at the one Patient"
    );

    // The patient withholds mental-health data: the depression is left out and named.
    let consent = json!({
        "resourceType": "Consent", "id": "geen-ggz", "status": "active",
        "patient": { "identifier": { "system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": BSN } },
        "provision": { "type": "deny",
            "class": [{ "system": "https://zorgpoort.nl/fhir/CodeSystem/data-category", "code": "mental-health" }] }
    });
    let (status, _, body) = gateway.http_with(
        "POST",
        "/fhir/Consent",
        &[
            ("Content-Type", "application/fhir+json"),
            ("X-Zorgpoort-Requester", "huisarts-jansen"),
        ],
        consent.to_string().as_bytes(),
    );
    assert_eq!(status, 201, "{body}");
    let (_, answer) = fetch(&gateway, "de-linde");
    let problems = section(&answer, "problems");
    assert_eq!(codes(problems), ["I21.9"]);
    assert_eq!(problems["meta"]["tag"][0]["code"], "mental-health", "{problems}");
    assert_eq!(
        codes(section(&answer, "allergies")).len(),
        1,
        "other categories still come"
    );

    // An organisation without a relationship to the patient gets nothing.
    let (status, answer) = fetch(&gateway, "huisarts-jansen");
    assert_eq!(status, 200);
    assert_eq!(answer["entry"][0]["response"]["status"], "403", "{answer}");

    // A search the gateway cannot answer says where.
    let (status, _, body) = gateway.http_with(
        "GET",
        "/fhir/Condition?onset-date=ge2020",
        &[("X-Zorgpoort-Requester", "de-linde")],
        b"",
    );
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("\"expression\":[\"onset-date\"]"), "{body}");
    let (status, _, body) = gateway.http_with("GET", "/fhir/Condition", &[("X-Zorgpoort-Requester", "de-linde")], b"");
    assert_eq!(status, 422);
    assert!(body.contains("\"expression\":[\"patient.identifier\"]"), "{body}");

    // Every search was audited, with the consent rule that decided it.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_zorgpoort"))
        .args(["audit", "who-accessed", BSN, "--config", config_path.to_str().unwrap()])
        .output()
        .unwrap();
    let accesses = String::from_utf8_lossy(&output.stdout);
    assert!(accesses.matches("de-linde").count() >= 2 * QUERIES.len(), "{accesses}");
    assert!(accesses.contains("huisarts-jansen"), "{accesses}");
}
