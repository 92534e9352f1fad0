//! The FHIR proxy against `zorgpoort serve` and a holder's FHIR server on
//! loopback: reads and searches reach the holder without the requester's
//! headers, come back filtered by the patient's choices and audited; a
//! search over several patients, an unknown holder, a path that is not FHIR
//! and an upstream failure each come back as a located OperationOutcome.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Gateway, Receiver, organization, server_section, temp_dir, wait_until};
use serde_json::{Value, json};

const BSN: &str = "999911120";

fn bsn(value: &str) -> Value {
    json!({ "system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": value })
}

fn condition(id: &str, icd10: &str) -> Value {
    json!({ "resourceType": "Condition", "id": id,
        "code": { "coding": [{ "system": "http://hl7.org/fhir/sid/icd-10", "code": icd10 }] },
        "subject": { "identifier": bsn(BSN) } })
}

/// The holder's answer to a request line (`GET /fhir/...`).
fn holder_answer(target: &str) -> (u16, Value) {
    let patient = |id: &str, value: &str| json!({ "resourceType": "Patient", "id": id, "identifier": [bsn(value)] });
    match target {
        t if t.starts_with("/fhir/Patient?identifier=") => (
            200,
            json!({ "resourceType": "Bundle", "type": "searchset", "total": 1, "entry": [
                { "fullUrl": "http://holder/fhir/Patient/p1", "resource": patient("p1", BSN) },
                { "fullUrl": "http://holder/fhir/Condition/c1", "resource": condition("c1", "F32.1") },
                { "fullUrl": "http://holder/fhir/Condition/c2", "resource": condition("c2", "I21.9") }
            ]}),
        ),
        "/fhir/Condition/c2" => (200, condition("c2", "I21.9")),
        "/fhir/Condition/c1" => (200, condition("c1", "F32.1")),
        "/fhir/Patient?name=jansen" => (
            200,
            json!({ "resourceType": "Bundle", "type": "searchset", "entry": [
                { "resource": patient("p1", BSN) }, { "resource": patient("p2", "999990627") }
            ]}),
        ),
        _ => (
            404,
            json!({ "resourceType": "OperationOutcome", "issue": [{ "severity": "error", "code": "not-found",
                "diagnostics": format!("{} is not known", target.trim_start_matches("/fhir/")) }] }),
        ),
    }
}

/// A holder's FHIR server that records the requests it was sent.
fn holder() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&requests);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut head = Vec::new();
            let mut byte = [0; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).is_ok_and(|n| n == 1) {
                head.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&head).into_owned();
            let target = head.split_whitespace().nth(1).unwrap_or_default().to_owned();
            seen.lock().unwrap().push(head);
            let (status, body) = holder_answer(&target);
            let body = body.to_string();
            let reply = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/fhir+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    (address, requests)
}

fn config(holder: SocketAddr, receiver: SocketAddr, data_dir: &Path) -> String {
    [
        server_section(data_dir),
        "[delivery]\npoll_interval_ms = 10\n\n".to_owned(),
        organization(
            "rijnstate",
            "Ziekenhuis Rijnstate",
            "ziekenhuis",
            "senders = [\"HIS/RIJNSTATE\"]",
            Some(("fhir-r4", &format!("http://{holder}/fhir"))),
        ),
        organization(
            "de-linde",
            "Verpleeghuis De Linde",
            "vvt",
            "",
            Some(("fhir-r4", &format!("http://{receiver}/fhir"))),
        ),
        organization(
            "gesloten",
            "Kliniek zonder server",
            "ziekenhuis",
            "",
            Some(("fhir-r4", "http://127.0.0.1:9/fhir")),
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

fn get(gateway: &Gateway, org: &str, path: &str) -> (u16, Value) {
    let (status, _, body) = gateway.http_with(
        "GET",
        path,
        &[
            ("X-Zorgpoort-Requester", org),
            ("X-Purpose-Of-Use", "handover"),
            ("Authorization", "Bearer requester-secret"),
        ],
        b"",
    );
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

#[test]
#[allow(clippy::too_many_lines)] // one scenario, told in order
fn proxied_reads_are_consent_filtered_audited_and_fail_with_the_upstreams_detail() {
    let (holder, requests) = holder();
    let receiver = Receiver::start(200);
    let dir = temp_dir("proxy");
    let config_path = dir.join("zorgpoort.toml");
    std::fs::write(&config_path, config(holder, receiver.address, &dir.join("data"))).unwrap();
    let gateway = Gateway::start(&config_path);
    // The nursing home treats the patient: it received the discharge.
    let discharge = format!(
        "MSH|^~\\&|HIS|RIJNSTATE|||20261124093015+0100||ADT^A03^ADT_A03|D1|P|2.5\rPID|1||1^^^RIJN^PI~{BSN}^^^NLMINBIZA^NNNLD||Visser^Daan||19520604|M\r"
    );
    let (status, _, _) = gateway.http("POST", "/messages/hl7v2", "text/plain", discharge.as_bytes());
    assert_eq!(status, 202);
    assert!(wait_until(Duration::from_secs(10), || receiver.received().len() == 1));
    let consent = json!({ "resourceType": "Consent", "id": "geen-ggz", "status": "active",
        "patient": { "identifier": bsn(BSN) },
        "provision": { "type": "deny",
            "class": [{ "system": "https://zorgpoort.nl/fhir/CodeSystem/data-category", "code": "mental-health" }] } });
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

    // A search: the depression is withheld and named, the rest comes.
    let search = format!("/fhir/proxy/rijnstate/Patient?identifier=http://fhir.nl/fhir/NamingSystem/bsn|{BSN}");
    let (status, bundle) = get(&gateway, "de-linde", &search);
    assert_eq!(status, 200, "{bundle}");
    let ids: Vec<&str> = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["p1", "c2"]);
    assert_eq!(bundle["meta"]["tag"][0]["code"], "mental-health");
    let forwarded = requests.lock().unwrap()[0].clone();
    assert!(forwarded.starts_with("GET /fhir/Patient?identifier="), "{forwarded}");
    assert!(
        !forwarded.to_ascii_lowercase().contains("authorization") && !forwarded.contains("requester-secret"),
        "the requester's credentials stay here: {forwarded}"
    );

    // Reads: one allowed, one withheld, one the holder does not know.
    let (status, read) = get(&gateway, "de-linde", "/fhir/proxy/rijnstate/Condition/c2");
    assert_eq!((status, read["id"].as_str()), (200, Some("c2")), "{read}");
    let (status, _) = get(&gateway, "de-linde", "/fhir/proxy/rijnstate/Condition/c1");
    assert_eq!(status, 403);
    let (status, outcome) = get(&gateway, "de-linde", "/fhir/proxy/rijnstate/Condition/c9");
    assert_eq!(status, 404);
    assert_eq!(
        outcome["issue"][0]["diagnostics"],
        "holder rijnstate answered 404 Not Found: Condition/c9 is not known"
    );

    // A batch (the BgZ searches, say) is forwarded search by search.
    let batch = json!({ "resourceType": "Bundle", "type": "batch", "entry": [
        { "request": { "method": "GET", "url": format!("Patient?identifier=http://fhir.nl/fhir/NamingSystem/bsn|{BSN}") } },
        { "request": { "method": "GET", "url": "Condition/c2" } },
        { "request": { "method": "GET", "url": "Condition/c9" } },
        { "request": { "method": "DELETE", "url": "Condition/c2" } }
    ]});
    let (status, _, body) = gateway.http_with(
        "POST",
        "/fhir/proxy/rijnstate",
        &[
            ("Content-Type", "application/fhir+json"),
            ("X-Zorgpoort-Requester", "de-linde"),
            ("X-Purpose-Of-Use", "handover"),
        ],
        batch.to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    let statuses: Vec<&str> = answer["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["response"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["200 OK", "200 OK", "404", "422"]);
    assert_eq!(
        answer["entry"][0]["resource"]["meta"]["tag"][0]["code"],
        "mental-health"
    );

    // Refused before or after the holder: several patients, no relationship,
    // an unknown holder, a path that is not FHIR, a holder that is down.
    let (status, _) = get(&gateway, "de-linde", "/fhir/proxy/rijnstate/Patient?name=jansen");
    assert_eq!(status, 403);
    let (status, _) = get(&gateway, "huisarts-jansen", "/fhir/proxy/rijnstate/Condition/c2");
    assert_eq!(status, 403);
    let (status, _) = get(&gateway, "de-linde", "/fhir/proxy/elders/Patient");
    assert_eq!(status, 404);
    let (status, outcome) = get(&gateway, "de-linde", "/fhir/proxy/rijnstate/Patient/%2e%2e/admin");
    assert_eq!(status, 422, "{outcome}");
    let (status, outcome) = get(&gateway, "de-linde", "/fhir/proxy/gesloten/Patient/p1");
    assert_eq!(status, 502);
    assert!(
        outcome["issue"][0]["diagnostics"]
            .as_str()
            .unwrap()
            .starts_with("holder gesloten cannot be reached"),
        "{outcome}"
    );

    // Every decided read is in the audit log with the requester.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_zorgpoort"))
        .args(["audit", "who-accessed", BSN, "--config", config_path.to_str().unwrap()])
        .output()
        .unwrap();
    let accesses = String::from_utf8_lossy(&output.stdout);
    assert!(accesses.matches("de-linde").count() >= 3, "{accesses}");
    assert!(accesses.contains("huisarts-jansen"), "{accesses}");
}
