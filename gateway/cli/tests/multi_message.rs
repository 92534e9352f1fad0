//! Files of several HL7 v2 messages (several patients) through every intake
//! path of the `zorgpoort` binary: `convert` makes one Bundle per message,
//! and a running gateway either stores each message on its own
//! (`POST /messages/hl7v2`) or refuses the body (`POST /hl7v2`, an MLLP
//! frame). No stored message may hold more than one patient. And a message
//! no one will receive is taken, but not in silence.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{Gateway, organization, server_section, temp_dir};
use zorgpoort_hl7v2::{Limits, Message, Splitter, routing_facts};
use zorgpoort_store::{Durability, SqliteStore, Store};

/// Every file in the repository that holds more than one HL7 v2 message,
/// each of which converts on its own (fixtures of refused messages are
/// tested where they live).
fn multi_message_fixtures() -> Vec<PathBuf> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                // Build output, history, and fuzzing corpora (copies and junk).
                if !matches!(name.as_str(), "target" | ".git" | "fuzz" | "node_modules") {
                    walk(&path, found);
                }
            } else if [".hl7", ".er7", ".txt"].iter().any(|ext| name.ends_with(ext)) {
                let bytes = std::fs::read(&path).unwrap_or_default();
                let count = bytes
                    .split(|&b| matches!(b, b'\r' | b'\n' | 0x0b | 0x1c))
                    .filter(|line| line.starts_with(b"MSH|"))
                    .count();
                if count > 1 && each_converts(&bytes) {
                    found.push(path);
                }
            }
        }
    }
    let mut found = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."), &mut found);
    found.sort();
    assert!(found.iter().any(|p| p.ends_with("multi-message.hl7")), "{found:?}");
    found
}

/// Whether every message of `bytes` parses and converts.
fn each_converts(bytes: &[u8]) -> bool {
    let mut splitter = Splitter::new(usize::MAX);
    splitter.push(bytes);
    while let Some(frame) = splitter.next_frame().or_else(|| splitter.finish()) {
        let Ok(frame) = frame else { return false };
        let converts = Message::parse(&frame.bytes, &Limits::default())
            .is_ok_and(|message| zorgpoort_hl7v2::to_fhir(&message, &zorgpoort_hl7v2::Options::default()).is_ok());
        if !converts {
            return false;
        }
    }
    true
}

/// Control id and BSN of each message of a file, in order.
fn messages_in(bytes: &[u8]) -> Vec<(String, Option<String>)> {
    let mut splitter = Splitter::new(usize::MAX);
    splitter.push(bytes);
    let mut out = Vec::new();
    while let Some(frame) = splitter.next_frame().or_else(|| splitter.finish()) {
        let frame = frame.unwrap();
        let facts = routing_facts(&Message::parse(&frame.bytes, &Limits::default()).unwrap()).unwrap();
        out.push((facts.control_id, facts.patient_bsn));
    }
    out
}

fn convert(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zorgpoort"))
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(bytes) = stdin {
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), bytes).unwrap();
    }
    child.wait_with_output().unwrap()
}

/// The BSNs of the Patients in a Bundle; a merge's prior record of the
/// same patient (inactive, `replaced-by` the surviving one) is not another
/// patient.
fn patient_bsns(bundle: &serde_json::Value) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| &entry["resource"])
        .filter(|resource| resource["resourceType"] == "Patient")
        .filter(|patient| patient["link"][0]["type"] != "replaced-by")
        .map(|patient| {
            patient["identifier"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|id| id["system"] == "http://fhir.nl/fhir/NamingSystem/bsn")
                .and_then(|id| id["value"].as_str())
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

#[test]
fn convert_makes_one_bundle_per_message_with_its_own_patient() {
    for fixture in multi_message_fixtures() {
        let bytes = std::fs::read(&fixture).unwrap();
        let messages = messages_in(&bytes);
        let path = fixture.to_str().unwrap();
        for (args, stdin) in [
            (vec!["convert", "--from", "hl7v2", path], None),
            (vec!["convert", "--from", "auto", path], None),
            (vec!["convert", "--from", "hl7v2", "-"], Some(bytes.as_slice())),
        ] {
            let out = convert(&args, stdin);
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8(out.stdout).unwrap();
            let bundles: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
            assert_eq!(bundles.len(), messages.len(), "{args:?}");
            for (bundle, (control_id, bsn)) in bundles.iter().zip(&messages) {
                let bsns = patient_bsns(bundle);
                assert_eq!(bsns.len(), 1, "{args:?} {control_id}: {bsns:?}");
                if let Some(bsn) = bsn {
                    assert_eq!(&bsns[0], bsn, "{args:?} {control_id}");
                }
            }
        }
    }
}

#[test]
fn a_running_gateway_stores_each_message_on_its_own_or_refuses_the_body() {
    let dir = temp_dir("multi-message");
    let data = dir.join("data");
    let config = dir.join("zorgpoort.toml");
    let senders = r#"senders = ["HIS/Ziekenhuis Rijnstate", "LAB/Ziekenhuis Rijnstate"]"#;
    std::fs::write(
        &config,
        server_section(&data) + &organization("rijnstate", "Ziekenhuis Rijnstate", "ziekenhuis", senders, None),
    )
    .unwrap();
    let gateway = Gateway::start(&config);
    let mut expected = Vec::new();
    for fixture in multi_message_fixtures() {
        let bytes = std::fs::read(&fixture).unwrap();
        let messages = messages_in(&bytes);
        let (status, _, body) = gateway.http("POST", "/hl7v2", "text/plain", &bytes);
        assert_eq!(status, 422, "{}: {body}", fixture.display());
        let mut mllp = TcpStream::connect(gateway.mllp).unwrap();
        let ack = common::send_mllp(&mut mllp, &bytes).unwrap();
        assert!(
            ack.contains(&format!("MSA|AE|{}", messages[0].0)) && ack.contains("is a second MSH"),
            "{}: {ack}",
            fixture.display()
        );
        let (status, _, body) = gateway.http("POST", "/messages/hl7v2", "text/plain", &bytes);
        assert_eq!(status, 202, "{}: {body}", fixture.display());
        assert_eq!(body.matches("accepted as ").count(), messages.len(), "{body}");
        expected.extend(messages);
    }
    gateway.kill();

    let store = SqliteStore::open(&data.join("zorgpoort.db"), Durability::ProcessCrash).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let mut bsns: Vec<&str> = expected.iter().filter_map(|(_, bsn)| bsn.as_deref()).collect();
    bsns.sort_unstable();
    bsns.dedup();
    for bsn in &bsns {
        let ids = runtime.block_on(store.messages_of(bsn, 100)).unwrap();
        let sent = expected.iter().filter(|(_, b)| b.as_deref() == Some(bsn)).count();
        assert_eq!(ids.len(), sent, "messages stored for {bsn}");
        for id in ids {
            let body = runtime.block_on(store.message_body(&id)).unwrap().unwrap();
            let message = Message::parse(&body, &Limits::default())
                .unwrap_or_else(|e| panic!("stored message {id} is not one message: {e}"));
            assert_eq!(message.segments().filter(|s| s.id() == "PID").count(), 1, "{id}");
            let text = String::from_utf8_lossy(&body);
            for other in bsns.iter().filter(|other| *other != bsn) {
                assert!(!text.contains(other), "message {id} of {bsn} names {other}");
            }
        }
    }
}

#[test]
fn a_message_from_outside_the_registry_is_taken_with_a_warning() {
    let dir = temp_dir("unknown-sender");
    let config = dir.join("zorgpoort.toml");
    let region = server_section(&dir.join("data")) + &organization("rijnstate", "Rijnstate", "ziekenhuis", "", None);
    std::fs::write(&config, region).unwrap();
    let gateway = Gateway::start(&config);
    let message = "MSH|^~\\&|EPD|ONBEKEND|||20261124093015+0100||ADT^A01^ADT_A01|UNKNOWN1|P|2.5\r\
                   PID|1||999911120^^^NLMINBIZA^NNNLD||Jansen^Piet||19800101|M\r";
    let (status, _, body) = gateway.http("POST", "/messages/hl7v2", "text/plain", message.as_bytes());
    assert_eq!(status, 202, "{body}");
    assert!(
        body.contains("queued for 0 receiver(s); the sender is not in the region's registry"),
        "{body}"
    );
    let warned = common::wait_until(std::time::Duration::from_secs(5), || {
        gateway
            .logs
            .lock()
            .unwrap()
            .iter()
            .any(|line| line.contains("WARN") && line.contains("0 receivers") && line.contains("EPD/ONBEKEND"))
    });
    let logs = gateway.logs.lock().unwrap().join("\n");
    assert!(warned, "no warning logged: {logs}");
    assert!(!logs.contains("999911120"), "patient data in the log");
    gateway.kill();
}
