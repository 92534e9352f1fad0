//! What the listeners take in, tried through the sockets: a body or frame
//! of several HL7 v2 messages is never stored as one (one patient's data
//! under another's BSN); MLLP answers data without a start block and caps
//! its connections; a control id reused with other content is refused, not
//! acknowledged and dropped; a message no one receives says so.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zorgpoort_hl7v2::{Limits, Message, routing_facts};
use zorgpoort_server::Config;
use zorgpoort_store::{Durability, SqliteStore, Store};

fn data_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zorgpoort-intake-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A loopback demo region with one registered hospital (`HIS/RIJNSTATE`,
/// `HIS/Ziekenhuis Rijnstate`, `LAB/Ziekenhuis Rijnstate`) and no routes.
async fn start(dir: &Path, server: &str) -> zorgpoort_server::Gateway {
    let config = format!(
        r#"
[server]
unauthenticated_demo = true
http = "127.0.0.1:0"
mllp = "127.0.0.1:0"
data_dir = "{}"
durability = "process-crash"
{server}

[[organization]]
id = "rijnstate"
name = "Ziekenhuis Rijnstate"
kind = "ziekenhuis"
senders = ["HIS/RIJNSTATE", "HIS/Ziekenhuis Rijnstate", "LAB/Ziekenhuis Rijnstate"]
"#,
        dir.display()
    );
    zorgpoort_server::start(Config::load(Some(&config), []).unwrap())
        .await
        .unwrap()
}

/// Every file in the repository that holds more than one HL7 v2 message
/// (an MSH at the start of a line, after the first), each of which converts
/// on its own (fixtures of refused messages are tested where they live).
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
                if message_count(&bytes) > 1 && each_converts(&bytes) {
                    found.push(path);
                }
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut found = Vec::new();
    walk(&root, &mut found);
    found.sort();
    assert!(
        found.iter().any(|p| p.ends_with("multi-message.hl7")),
        "the README's multi-message.hl7 is among {found:?}"
    );
    found
}

/// Whether every message of `bytes` parses and converts.
fn each_converts(bytes: &[u8]) -> bool {
    let mut splitter = zorgpoort_hl7v2::Splitter::new(usize::MAX);
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

fn message_count(bytes: &[u8]) -> usize {
    bytes
        .split(|&b| matches!(b, b'\r' | b'\n' | 0x0b | 0x1c))
        .filter(|line| line.starts_with(b"MSH|"))
        .count()
}

/// Control id and BSN of each message of a file, in order.
fn messages_in(bytes: &[u8]) -> Vec<(String, Option<String>)> {
    let mut splitter = zorgpoort_hl7v2::Splitter::new(usize::MAX);
    splitter.push(bytes);
    let mut out = Vec::new();
    while let Some(frame) = splitter.next_frame().or_else(|| splitter.finish()) {
        let frame = frame.unwrap();
        let message = Message::parse(&frame.bytes, &Limits::default()).unwrap();
        let facts = routing_facts(&message).unwrap();
        out.push((facts.control_id, facts.patient_bsn));
    }
    out
}

async fn http(gateway: &zorgpoort_server::Gateway, method: &str, path: &str, body: &[u8]) -> (u16, String) {
    exchange(gateway, method, path, "Content-Type: text/plain\r\n", body).await
}

/// One request with `headers` (each line ending in CRLF); the status and the body.
async fn exchange(
    gateway: &zorgpoort_server::Gateway,
    method: &str,
    path: &str,
    headers: &str,
    body: &[u8],
) -> (u16, String) {
    let mut stream = TcpStream::connect(gateway.http_addr()).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text[9..12].parse().unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Sends `bytes` as they are on one MLLP connection and reads one reply.
async fn mllp(gateway: &zorgpoort_server::Gateway, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(gateway.mllp_addr()).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    read_ack(&mut stream).await
}

async fn read_ack(stream: &mut TcpStream) -> String {
    let mut reply = Vec::new();
    let mut chunk = [0; 4096];
    while !reply.ends_with(b"\x1c\r") {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => reply.extend_from_slice(&chunk[..n]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&reply).into_owned()
}

fn framed(message: &[u8]) -> Vec<u8> {
    let mut out = vec![0x0b];
    out.extend_from_slice(message);
    out.extend_from_slice(b"\x1c\r");
    out
}

/// The stored messages of a stopped gateway, read from its database.
fn store_of(dir: &Path) -> SqliteStore {
    SqliteStore::open(&dir.join("zorgpoort.db"), Durability::ProcessCrash).unwrap()
}

/// Each stored message parses as one message and names one patient: the
/// one its patient column says.
async fn assert_one_patient_each(store: &SqliteStore, bsns: &[String]) {
    for bsn in bsns {
        let ids = store.messages_of(bsn, 100).await.unwrap();
        assert!(!ids.is_empty(), "no message stored for {bsn}");
        for id in ids {
            let body = store.message_body(&id).await.unwrap().unwrap();
            let message = Message::parse(&body, &Limits::default())
                .unwrap_or_else(|e| panic!("stored message {id} is not one message: {e}"));
            let pids = message.segments().filter(|s| s.id() == "PID").count();
            assert_eq!(pids, 1, "stored message {id} holds {pids} patients");
            let facts = routing_facts(&message).unwrap();
            assert_eq!(facts.patient_bsn.as_deref(), Some(bsn.as_str()), "message {id}");
            let text = String::from_utf8_lossy(&body);
            for other in bsns.iter().filter(|b| *b != bsn) {
                assert!(!text.contains(other.as_str()), "message {id} of {bsn} names {other}");
            }
        }
    }
}

#[tokio::test]
async fn http_stores_each_message_of_a_body_on_its_own_and_hl7v2_refuses_it() {
    for fixture in multi_message_fixtures() {
        let name = fixture.file_stem().unwrap().to_string_lossy().into_owned();
        let dir = data_dir(&format!("http-{name}"));
        let gateway = start(&dir, "").await;
        let bytes = std::fs::read(&fixture).unwrap();
        let messages = messages_in(&bytes);

        let (status, body) = http(&gateway, "POST", "/hl7v2", &bytes).await;
        assert_eq!(status, 422, "{}: {body}", fixture.display());

        let (status, body) = http(&gateway, "POST", "/messages/hl7v2", &bytes).await;
        assert_eq!(status, 202, "{}: {body}", fixture.display());
        let outcome: serde_json::Value = serde_json::from_str(&body).unwrap();
        let issues = outcome["issue"].as_array().unwrap();
        assert_eq!(issues.len(), messages.len(), "one issue per message: {body}");
        let mut ids = Vec::new();
        for issue in issues {
            let text = issue["diagnostics"].as_str().unwrap();
            let id = text.strip_prefix("accepted as ").unwrap().split(';').next().unwrap();
            ids.push(id.to_owned());
        }
        ids.dedup();
        assert_eq!(ids.len(), messages.len(), "distinct ids: {body}");
        // Sent again: each is recognised as its own duplicate.
        let (status, again) = http(&gateway, "POST", "/messages/hl7v2", &bytes).await;
        assert_eq!(status, 202);
        for id in &ids {
            assert!(again.contains(&format!("already received as {id}")), "{again}");
        }
        gateway.shutdown().await;

        let store = store_of(&dir);
        for (id, (control_id, _)) in ids.iter().zip(&messages) {
            let record = store.message(id).await.unwrap().unwrap();
            assert_eq!(&record.control_id, control_id);
        }
        let mut bsns: Vec<String> = messages.iter().filter_map(|(_, bsn)| bsn.clone()).collect();
        bsns.sort();
        bsns.dedup();
        assert_one_patient_each(&store, &bsns).await;
    }
}

#[tokio::test]
async fn http_refuses_the_whole_body_when_one_message_is_bad() {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../adapters/hl7v2/tests/fixtures/dutch/multi-message.hl7");
    let text = std::fs::read_to_string(fixture).unwrap();
    // The third message (patient Kok) without an identifier: a result
    // nobody can be identified by is refused (an impossible birth date
    // would only cost that field).
    let broken = text.replace("PID|1||9988776^^^RIJNSTATE^PI~999911739^^^NLMINBIZA^NNNLD|", "PID|1|||");
    assert_ne!(broken, text);
    let dir = data_dir("atomic");
    let gateway = start(&dir, "").await;
    let (status, body) = http(&gateway, "POST", "/messages/hl7v2", broken.as_bytes()).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("msg 3") && body.contains("PID-3"), "{body}");
    gateway.shutdown().await;
    let store = store_of(&dir);
    for bsn in ["999910851", "999911739"] {
        assert!(store.messages_of(bsn, 10).await.unwrap().is_empty(), "{bsn} stored");
    }
}

#[tokio::test]
async fn mllp_refuses_a_frame_of_several_messages() {
    for fixture in multi_message_fixtures() {
        let name = fixture.file_stem().unwrap().to_string_lossy().into_owned();
        let dir = data_dir(&format!("mllp-{name}"));
        let gateway = start(&dir, "").await;
        let bytes = std::fs::read(&fixture).unwrap();
        let messages = messages_in(&bytes);
        let ack = mllp(&gateway, &framed(&bytes)).await;
        assert!(
            ack.contains(&format!("MSA|AE|{}", messages[0].0)),
            "{}: {ack}",
            fixture.display()
        );
        assert!(ack.contains("ERR||MSH^2") && ack.contains("is a second MSH"), "{ack}");
        gateway.shutdown().await;
        let store = store_of(&dir);
        for bsn in messages.iter().filter_map(|(_, bsn)| bsn.as_deref()) {
            assert!(store.messages_of(bsn, 10).await.unwrap().is_empty(), "{bsn} stored");
        }
    }
}

/// One message about two patients (ADT^A40 with two merge groups) is
/// refused whole on both listeners: stored, it would travel under the first
/// patient's BSN and consent with the second patient's data in it.
#[tokio::test]
async fn a_message_about_two_patients_is_refused_not_stored_under_the_first() {
    let message = "MSH|^~\\&|HIS|RIJNSTATE|||20261124093015+0100||ADT^A40^ADT_A39|MERGE2|P|2.5\r\
        EVN|A40|20261124093015+0100\r\
        PID|1||999911120^^^NLMINBIZA^NNNLD||Jansen^Piet||19800101|M\r\
        MRG|4711^^^RIJNSTATE^PI\r\
        PID|2||999910851^^^NLMINBIZA^NNNLD||Kok^Anna||19750303|F\r\
        MRG|4712^^^RIJNSTATE^PI\r";
    let dir = data_dir("two-patients");
    let gateway = start(&dir, "").await;
    let expected = "is about more than one patient (a second PID); send one message per patient";

    let ack = mllp(&gateway, &framed(message.as_bytes())).await;
    assert!(ack.contains("MSA|AE|MERGE2"), "{ack}");
    assert!(ack.contains("ERR||PID^2|100^"), "{ack}");
    assert!(ack.contains(expected), "{ack}");
    for path in ["/hl7v2", "/messages/hl7v2"] {
        let (status, body) = http(&gateway, "POST", path, message.as_bytes()).await;
        assert_eq!(status, 422, "{path}: {body}");
        assert!(body.contains(expected), "{path}: {body}");
    }
    gateway.shutdown().await;
    let store = store_of(&dir);
    for bsn in ["999911120", "999910851"] {
        assert!(store.messages_of(bsn, 10).await.unwrap().is_empty(), "{bsn} stored");
        // Both patients' data reached the gateway: each refusal is in
        // both patients' audit trail (MLLP and the two HTTP routes).
        let audited = store.audit_log(0, i64::MAX, Some(bsn)).await.unwrap();
        assert_eq!(audited.len(), 3, "{bsn}: {audited:?}");
    }
}

#[tokio::test]
async fn mllp_answers_a_frame_without_a_start_block() {
    let dir = data_dir("unframed");
    let gateway = start(&dir, "").await;
    let message = b"MSH|^~\\&|HIS|RIJNSTATE|||20261124093015+0100||ADT^A01^ADT_A01|NOSTART1|P|2.5\rPID|1||1234^^^RIJN^PI||Jansen^Piet||19800101|M\r";
    let mut unframed = message.to_vec();
    unframed.extend_from_slice(b"\x1c\r");
    let ack = mllp(&gateway, &unframed).await;
    assert!(ack.contains("MSA|AE|NOSTART1"), "{ack}");
    assert!(ack.contains("no start block"), "{ack}");
    // The connection goes on: the same message framed is taken.
    let ack = mllp(&gateway, &framed(message)).await;
    assert!(ack.contains("MSA|AA|NOSTART1"), "{ack}");
    gateway.shutdown().await;
}

#[tokio::test]
async fn mllp_connections_are_capped_and_healthz_keeps_answering() {
    let dir = data_dir("cap");
    let gateway = start(&dir, "mllp_max_connections = 50").await;
    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push(TcpStream::connect(gateway.mllp_addr()).await.unwrap());
    }
    // Past the cap, connections are closed at once: reading gives end of stream.
    let mut closed = 0;
    for stream in &mut idle {
        let mut byte = [0; 1];
        if let Ok(Ok(0)) = tokio::time::timeout(Duration::from_millis(200), stream.read(&mut byte)).await {
            closed += 1;
        }
    }
    assert!(closed >= 250, "{closed} of 300 connections closed with a cap of 50");
    let (status, body) = http(&gateway, "GET", "/healthz", b"").await;
    assert_eq!(status, 200, "{body}");
    // Once the idle ones go, a sender gets through again.
    drop(idle);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let message = b"MSH|^~\\&|HIS|RIJNSTATE|||20261124093015+0100||ADT^A01^ADT_A01|CAP1|P|2.5\rPID|1||1234^^^RIJN^PI||Jansen^Piet||19800101|M\r";
    let ack = mllp(&gateway, &framed(message)).await;
    assert!(ack.contains("MSA|AA|CAP1"), "{ack}");
    gateway.shutdown().await;
}

const ADMISSION: &str = "MSH|^~\\&|HIS|RIJNSTATE|||20261124093015+0100||ADT^A01^ADT_A01|REUSE1|P|2.5\rPID|1||999911120^^^NLMINBIZA^NNNLD||Jansen^Piet||19800101|M\r";

#[tokio::test]
async fn a_control_id_reused_with_other_content_is_refused_not_dropped() {
    let dir = data_dir("reuse");
    let gateway = start(&dir, "").await;
    let (status, body) = http(&gateway, "POST", "/messages/hl7v2", ADMISSION.as_bytes()).await;
    assert_eq!(status, 202, "{body}");
    // The same message again, with other line ends: a resend.
    let resend = ADMISSION.replace('\r', "\r\n");
    let (status, body) = http(&gateway, "POST", "/messages/hl7v2", resend.as_bytes()).await;
    assert_eq!(status, 202, "{body}");
    assert!(body.contains("already received"), "{body}");
    // Another patient under the same control id: refused, over HTTP and MLLP.
    let other = ADMISSION
        .replace("999911120", "999910851")
        .replace("Jansen^Piet", "Kok^Femke");
    let (status, body) = http(&gateway, "POST", "/messages/hl7v2", other.as_bytes()).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body.contains("OperationOutcome") && body.contains("control id reused with other content"),
        "{body}"
    );
    let ack = mllp(&gateway, &framed(other.as_bytes())).await;
    assert!(ack.contains("MSA|AE|REUSE1"), "{ack}");
    assert!(
        ack.contains("ERR||MSH^1^10") && ack.contains("control id reused with other content"),
        "{ack}"
    );
    let ack = mllp(&gateway, &framed(ADMISSION.as_bytes())).await;
    assert!(
        ack.contains("MSA|AA|REUSE1\r"),
        "the resend is acknowledged again: {ack}"
    );
    gateway.shutdown().await;
    let store = store_of(&dir);
    assert!(store.messages_of("999910851", 10).await.unwrap().is_empty());
    assert_eq!(store.messages_of("999911120", 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_message_for_no_receiver_says_so() {
    let dir = data_dir("unknown");
    let gateway = start(&dir, "").await;
    let stranger = ADMISSION
        .replace("HIS|RIJNSTATE", "EPD|ONBEKEND")
        .replace("REUSE1", "STRANGER1");
    let (status, body) = http(&gateway, "POST", "/messages/hl7v2", stranger.as_bytes()).await;
    assert_eq!(status, 202, "{body}");
    assert!(
        body.contains("queued for 0 receiver(s); the sender is not in the region's registry"),
        "{body}"
    );
    let by_mllp = stranger.replace("STRANGER1", "STRANGER2");
    let ack = mllp(&gateway, &framed(by_mllp.as_bytes())).await;
    assert!(ack.contains("MSA|AA|STRANGER2|accepted as "), "{ack}");
    assert!(
        ack.contains("queued for 0 receiver(s); the sender is not in the region's registry"),
        "{ack}"
    );
    // A registered sender without routes: 0 receivers, but it is known.
    let known = ADMISSION.replace("REUSE1", "KNOWN1");
    let (status, body) = http(&gateway, "POST", "/messages/hl7v2", known.as_bytes()).await;
    assert_eq!(status, 202, "{body}");
    assert!(
        body.contains("queued for 0 receiver(s)") && !body.contains("not in the region"),
        "{body}"
    );
    gateway.shutdown().await;
}

/// Issue 17: a sender's own code table (CWE-3 `99ZLAB`) gets the code
/// system its registry entry names; another sender's codes from a table of
/// that name stay without a system (the mapping warns, see the hl7v2 crate).
#[tokio::test]
async fn a_senders_local_code_table_gets_the_system_its_registry_entry_names() {
    let dir = data_dir("local-codes");
    let config = format!(
        r#"
[server]
unauthenticated_demo = true
http = "127.0.0.1:0"
data_dir = "{}"
durability = "process-crash"

[[organization]]
id = "rijnstate"
name = "Ziekenhuis Rijnstate"
kind = "ziekenhuis"
senders = ["LAB/Ziekenhuis Rijnstate"]
local_code_systems = {{ "99ZLAB" = "https://rijnstate.example.nl/fhir/CodeSystem/lab" }}

[[organization]]
id = "gelre"
name = "Gelre ziekenhuizen"
kind = "ziekenhuis"
senders = ["LAB/Gelre"]
"#,
        dir.display()
    );
    let gateway = zorgpoort_server::start(Config::load(Some(&config), []).unwrap())
        .await
        .unwrap();
    let oru = |facility: &str| {
        format!(
            "MSH|^~\\&|LAB|{facility}|ZP|ZP|20261124110200+0100||ORU^R01^ORU_R01|LC-{}|P|2.5.1\r\
             PID|1||999911120^^^NLMINBIZA^NNNLD||Bakker^Els||19610630|F\r\
             OBR|1|ORD-1|LAB-1|GLU^Glucose^99ZLAB|||20261124083000+0100\r\
             OBX|1|NM|GLU^Glucose^99ZLAB||5.4|mmol/L^mmol/L^UCUM|||||F\r",
            facility.len()
        )
    };
    let systems = |body: &str| -> Vec<Option<String>> {
        let bundle: serde_json::Value = serde_json::from_str(body).unwrap();
        bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["resource"]["resourceType"] == "Observation")
            .map(|e| e["resource"]["code"]["coding"][0]["system"].as_str().map(str::to_owned))
            .collect()
    };

    let (status, body) = http(&gateway, "POST", "/hl7v2", oru("Ziekenhuis Rijnstate").as_bytes()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        systems(&body),
        [Some("https://rijnstate.example.nl/fhir/CodeSystem/lab".to_owned())]
    );

    let (status, body) = http(&gateway, "POST", "/hl7v2", oru("Gelre").as_bytes()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(systems(&body), [None]);
    gateway.shutdown().await;
}

/// POSTs `body` of `media_type` to `path` as `requester` (the demo's header identity).
async fn post_as(
    gateway: &zorgpoort_server::Gateway,
    requester: &str,
    path: &str,
    media_type: &str,
    body: &[u8],
) -> (u16, String) {
    let headers = format!("X-Zorgpoort-Requester: {requester}\r\nContent-Type: {media_type}\r\n");
    exchange(gateway, "POST", path, &headers, body).await
}

/// Issue 16, found by the eOverdracht suites: an organisation sends CDA,
/// EDIFACT and FHIR only under its own names, as it does HL7 v2. The
/// custodian of a nursing transfer is the hospital's URA: a GP practice
/// cannot store it in the hospital's name (to be handed over as the
/// hospital's), nor a FHIR resource whose `meta.source` names the hospital.
#[tokio::test]
async fn cda_and_fhir_are_taken_only_from_the_organisation_they_name() {
    let dir = data_dir("foreign-cda");
    let server = "\n[[organization]]\nid = \"oudegracht\"\nname = \"Ziekenhuis Oudegracht\"\nkind = \"ziekenhuis\"\n\
                  ura = \"00005678\"\n\n[[organization]]\nid = \"de-vaart\"\nname = \"Huisartsenpraktijk De Vaart\"\n\
                  kind = \"huisarts\"\n";
    let gateway = start(&dir, server).await;
    let cda = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../adapters/cda/tests/fixtures/overdracht-verpleegkundig.xml"),
    )
    .unwrap();
    let (status, answer) = post_as(&gateway, "de-vaart", "/messages/cda", "application/xml", &cda).await;
    assert_eq!(status, 403, "{answer}");
    assert!(answer.contains("00005678") && answer.contains("de-vaart"), "{answer}");
    let (status, answer) = post_as(&gateway, "oudegracht", "/messages/cda", "application/xml", &cda).await;
    assert_eq!(status, 202, "{answer}");

    let patient = |source: &str| {
        format!(
            r#"{{"resourceType":"Patient","id":"p1","meta":{{"source":"{source}"}},
               "identifier":[{{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":"999911120"}}]}}"#
        )
    };
    let (status, answer) = post_as(
        &gateway,
        "de-vaart",
        "/messages/fhir-r4",
        "application/fhir+json",
        patient("HIS/RIJNSTATE").as_bytes(),
    )
    .await;
    assert_eq!(status, 403, "{answer}");
    let (status, answer) = post_as(
        &gateway,
        "de-vaart",
        "/messages/fhir-r4",
        "application/fhir+json",
        patient("de-vaart").as_bytes(),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    gateway.shutdown().await;
}
