//! The gateway as a newcomer runs it: `zorgpoort serve` as a process, a real
//! receiver, messages over MLLP and HTTP; and the crash test: `kill -9` while
//! a client streams 10,000 MLLP messages, restart, and every message that got
//! AA reaches the receiver.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Gateway, Receiver, send_mllp, temp_dir, wait_until};

fn config(receiver: SocketAddr, data_dir: &Path) -> String {
    format!(
        r#"
[server]
unauthenticated_demo = true
http = "127.0.0.1:0"
mllp = "127.0.0.1:0"
data_dir = "{}"
durability = "process-crash"
max_body_bytes = 65536
mllp_idle_timeout_ms = 2000

[delivery]
initial_backoff_ms = 50
max_backoff_ms = 200
poll_interval_ms = 10
# A delivery in flight at a kill is claimed again after 2 x 5 + 10 s (its lease).
timeout_ms = 5000

[[organization]]
id = "rijnstate"
name = "Ziekenhuis Rijnstate"
kind = "ziekenhuis"
senders = ["HIS/Ziekenhuis Rijnstate", "HIS/RIJNSTATE", "CRASH/TEST"]
# Records patients' choices, reads the audit log, may break the glass.
consent_recorder = true
audit_reader = true
break_the_glass = true

[[organization]]
id = "de-linde"
name = "De Linde"
kind = "vvt"

[[organization.endpoint]]
protocol = "fhir-r4"
address = "http://{receiver}/fhir"

[[route]]
to = ["de-linde"]
"#,
        data_dir.display()
    )
}

/// The hospital: this region's consent recorder and audit reader.
const HOSPITAL: &[(&str, &str)] = &[
    ("Content-Type", "application/fhir+json"),
    ("X-Zorgpoort-Requester", "rijnstate"),
];

const ADMISSION: &str = "MSH|^~\\&|HIS|RIJNSTATE|||20261124093015+0100||ADT^A01^ADT_A01|M1|P|2.5\rPID|1||1234^^^RIJN^PI~999911120^^^NLMINBIZA^NNNLD||van der Berg^Jan||19800101|M\r";

#[test]
fn messages_over_mllp_and_http_are_converted_routed_and_delivered() {
    let receiver = Receiver::start(200);
    let dir = temp_dir("e2e");
    let config_path = dir.join("zorgpoort.toml");
    std::fs::write(&config_path, config(receiver.address, &dir.join("data"))).unwrap();
    let gateway = Gateway::start(&config_path);

    let mut mllp = TcpStream::connect(gateway.mllp).unwrap();
    let ack = send_mllp(&mut mllp, ADMISSION.as_bytes()).unwrap();
    assert!(ack.contains("\rMSA|AA|M1\r"), "{ack}");
    let again = send_mllp(&mut mllp, ADMISSION.as_bytes()).unwrap();
    assert!(
        again.contains("\rMSA|AA|M1\r"),
        "a resend is acknowledged again: {again}"
    );
    // No identifier in PID-3: an admission of nobody is refused, located.
    let bad = ADMISSION
        .replace("|M1|", "|M2|")
        .replace("1234^^^RIJN^PI~999911120^^^NLMINBIZA^NNNLD", "");
    let ack = send_mllp(&mut mllp, bad.as_bytes()).unwrap();
    assert!(
        ack.contains("\rMSA|AE|M2\r") && ack.contains("\rERR||PID^1^3|"),
        "{ack}"
    );
    // A birth date that does not exist costs that field, not the message.
    let odd_date = ADMISSION.replace("|M1|", "|M4|").replace("19800101", "19800230");
    let ack = send_mllp(&mut mllp, odd_date.as_bytes()).unwrap();
    assert!(ack.contains("\rMSA|AA|M4\r"), "{ack}");

    let (status, head, body) = gateway.http(
        "POST",
        "/messages/hl7v2",
        "x-application/hl7-v2+er7",
        ADMISSION.replace("|M1|", "|M3|").as_bytes(),
    );
    assert_eq!(status, 202, "{body}");
    let location = head
        .lines()
        .find_map(|l| l.strip_prefix("location: "))
        .unwrap()
        .to_owned();

    assert!(
        wait_until(Duration::from_secs(10), || receiver.received().len() >= 3),
        "three deliveries expected: M1, M4 and M3"
    );
    std::thread::sleep(Duration::from_millis(200));
    let bodies = receiver.received();
    assert_eq!(bodies.len(), 3, "the resend was not processed twice");
    assert!(
        bodies
            .iter()
            .all(|b| b.starts_with("{\"resourceType\":\"Bundle\"") && b.contains("\"type\":\"transaction\""))
    );
    assert!(wait_until(Duration::from_secs(5), || gateway
        .http("GET", &location, "text/plain", b"")
        .2
        .contains("\"state\":\"delivered\"")));

    let (status, _, body) = gateway.http("POST", "/hl7v2", "application/json", b"{}");
    assert_eq!(status, 415, "{body}");
    assert!(body.contains("\"resourceType\":\"OperationOutcome\""));
    let (status, _, body) = gateway.http("POST", "/hl7v2", "text/plain", bad.as_bytes());
    assert_eq!(status, 422);
    assert!(body.contains("\"expression\":[\"PID-3\"]"), "{body}");
    let (status, _, body) = gateway.http("POST", "/hl7v2", "text/plain", &vec![b'M'; 70_000]);
    assert_eq!(status, 413, "{body}");
    let (status, _, body) = gateway.http("GET", "/fhir/Organization/de-linde", "text/plain", b"");
    assert_eq!(status, 200);
    assert!(body.contains("\"resourceType\":\"Organization\""));
    assert_eq!(gateway.http("GET", "/readyz", "text/plain", b"").0, 200);

    let (status, _, metrics) = gateway.http("GET", "/metrics", "text/plain", b"");
    assert_eq!(status, 200);
    assert_measured(&metrics);
}

/// Every metric is described, and what the test above did was measured.
fn assert_measured(metrics: &str) {
    for metric in zorgpoort_metrics::catalogue::ALL {
        let described = format!(
            "# HELP {} {}\n# TYPE {} {}\n",
            metric.name,
            metric.help,
            metric.name,
            metric.kind.as_str()
        );
        assert!(
            metrics.contains(&described),
            "{} is not exported:\n{metrics}",
            metric.name
        );
    }
    let value = |series: &str| -> &str {
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no {series} in\n{metrics}"))
    };
    let count = |series: &str| -> u64 { value(series).parse().unwrap() };
    assert_eq!(count("zorgpoort_mllp_messages_total{ack=\"AA\"}"), 3);
    assert_eq!(count("zorgpoort_mllp_ack_seconds_count{ack=\"AA\"}"), 3);
    assert_eq!(count("zorgpoort_mllp_ack_seconds_bucket{ack=\"AE\",le=\"+Inf\"}"), 1);
    assert!(
        value("zorgpoort_mllp_ack_seconds_sum{ack=\"AA\"}")
            .parse::<f64>()
            .unwrap()
            > 0.0
    );
    assert!(count("zorgpoort_http_request_seconds_count{route=\"/hl7v2\"}") >= 2);
    assert_eq!(
        count("zorgpoort_delivery_seconds_count{receiver=\"de-linde\",outcome=\"delivered\"}"),
        3
    );
    // M1 (twice: the resend is found in the store), M4 and M3.
    assert_eq!(count("zorgpoort_store_write_seconds_count{operation=\"accept\"}"), 4);
    // The first conversion is in the sample; FHIR callers send, always.
    assert_eq!(
        count("zorgpoort_validations_total{source=\"conversion\",result=\"conformant\"}"),
        1
    );
    assert!(count("zorgpoort_validations_total{source=\"conversion\",result=\"skipped\"}") >= 3);
    assert_eq!(count("zorgpoort_validation_seconds_count{source=\"conversion\"}"), 1);
    assert!(
        !metrics.contains("zorgpoort_deliveries{"),
        "all delivered: no queue\n{metrics}"
    );
    // One conversion per message: each delivered Bundle is the one made at intake.
    assert_eq!(count("zorgpoort_renders_total{bundle=\"kept\"}"), 3);
    assert!(
        !metrics.contains("zorgpoort_renders_total{bundle=\"converted\"}"),
        "{metrics}"
    );
}

fn adapter_file(path: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../adapters").join(path)).unwrap()
}

#[test]
fn every_format_is_converted_routed_and_delivered() {
    let receiver = Receiver::start(200);
    let dir = temp_dir("formats");
    let config_path = dir.join("zorgpoort.toml");
    std::fs::write(&config_path, config(receiver.address, &dir.join("data"))).unwrap();
    let gateway = Gateway::start(&config_path);

    let inputs: [(&str, &str, Vec<u8>, usize); 4] = [
        (
            "cda",
            "application/xml",
            adapter_file("cda/tests/fixtures/ontslagbrief-ziekenhuis.xml"),
            1,
        ),
        (
            "edifact",
            "application/edifact",
            adapter_file("edifact/fixtures/medlab/three-messages.edi"),
            3,
        ),
        ("ecd", "text/csv", adapter_file("ecd/fixtures/zorgpoort/basis.csv"), 0),
        (
            "fhir-r4",
            "application/fhir+json",
            br#"{"resourceType":"Bundle","id":"b1","type":"collection","entry":[{"fullUrl":"urn:uuid:6f1c1b5e-0000-4000-8000-000000000001","resource":{"resourceType":"Patient","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":"999911120"}]}}]}"#.to_vec(),
            1,
        ),
    ];
    let mut expected = 0;
    for (format, content_type, body, count) in &inputs {
        let (status, head, outcome) = gateway.http("POST", &format!("/messages/{format}"), content_type, body);
        assert_eq!(status, 202, "{format}: {outcome}");
        assert!(head.contains("location: /messages/"), "{format}: {head}");
        let accepted = outcome.matches("accepted as").count();
        if *count > 0 {
            assert_eq!(accepted, *count, "{format}: {outcome}");
        } else {
            assert!(accepted > 1, "{format}: one message per client: {outcome}");
        }
        expected += accepted;
        let (status, _, again) = gateway.http("POST", &format!("/messages/{format}"), content_type, body);
        assert_eq!(status, 202);
        assert_eq!(again.matches("already received").count(), accepted, "{format}: {again}");
    }
    assert!(
        wait_until(Duration::from_secs(10), || receiver.received().len() >= expected),
        "{expected} deliveries expected, got {}",
        receiver.received().len()
    );
    let bodies = receiver.received();
    assert!(
        bodies.iter().any(|b| b.contains("\"type\":\"document\"")),
        "the CDA letter arrives as a document"
    );

    // Converting only: an interchange of three messages is a collection of three Bundles.
    let (status, head, body) = gateway.http("POST", "/convert/edifact", "application/edifact", &inputs[1].2);
    assert_eq!(status, 200, "{body}");
    assert!(head.contains("x-zorgpoort-warnings"), "{head}");
    let collection: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(collection["type"], "collection");
    assert_eq!(collection["entry"].as_array().unwrap().len(), 3);
    // Bad input is refused with where and why; nothing is stored.
    let (status, _, body) = gateway.http(
        "POST",
        "/messages/edifact",
        "application/edifact",
        &adapter_file("edifact/fixtures/bad/invalid-date.edi"),
    );
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("msg 1") && body.contains("OperationOutcome"), "{body}");
    let (status, _, body) = gateway.http("POST", "/messages/cda", "text/csv", b"a;b");
    assert_eq!(status, 415, "{body}");
}

#[test]
fn garbage_oversized_frames_and_idle_connections_are_handled() {
    let receiver = Receiver::start(200);
    let dir = temp_dir("bad");
    let config_path = dir.join("zorgpoort.toml");
    std::fs::write(&config_path, config(receiver.address, &dir.join("data"))).unwrap();
    let gateway = Gateway::start(&config_path);

    let mut mllp = TcpStream::connect(gateway.mllp).unwrap();
    let ack = send_mllp(&mut mllp, b"\x00\xffnot hl7").unwrap();
    assert!(
        ack.contains("MSA|AE") && ack.contains("does not start with an MSH segment"),
        "{ack}"
    );
    let ack = send_mllp(&mut mllp, &vec![b'M'; 70_000]).unwrap();
    assert!(ack.contains("MSA|AE") && ack.contains("exceeds the limit"), "{ack}");
    let mut rest = Vec::new();
    assert_eq!(
        mllp.read_to_end(&mut rest).unwrap_or(0),
        0,
        "closed after an oversized frame"
    );

    // A slow-loris connection that sends half a frame and stalls is closed.
    let mut idle = TcpStream::connect(gateway.mllp).unwrap();
    idle.write_all(b"\x0bMSH|^~\\&|").unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let started = Instant::now();
    assert_eq!(idle.read(&mut [0; 16]).unwrap_or(0), 0);
    assert!(started.elapsed() < Duration::from_secs(9));

    // The gateway still serves.
    let mut mllp = TcpStream::connect(gateway.mllp).unwrap();
    assert!(send_mllp(&mut mllp, ADMISSION.as_bytes()).unwrap().contains("MSA|AA"));
}

#[test]
fn nothing_acknowledged_is_lost_when_the_gateway_is_killed() {
    const TOTAL: usize = 10_000;
    let receiver = Receiver::start(200);
    let dir = temp_dir("crash");
    let config_path = dir.join("zorgpoort.toml");
    std::fs::write(&config_path, config(receiver.address, &dir.join("data"))).unwrap();
    let message = |n: usize| {
        format!(
            "MSH|^~\\&|CRASH|TEST|||20261124093015+0100||ADT^A08^ADT_A01|CRASH-{n:06}|P|2.5\rPID|1||{n}^^^RIJN^PI||Jansen^Piet||19800101|M\r"
        )
    };

    let mut acknowledged = Vec::new();
    let mut next = 0;
    let gateway = Gateway::start(&config_path);
    let mut mllp = TcpStream::connect(gateway.mllp).unwrap();
    // The kill lands once the stream is under way, however slow the
    // machine: after some hundreds of ACKs, not after a fixed time.
    let progress = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let killer = {
        let child_id = gateway.child.id();
        let progress = std::sync::Arc::clone(&progress);
        std::thread::spawn(move || {
            wait_until(Duration::from_secs(300), || {
                progress.load(std::sync::atomic::Ordering::Relaxed) >= 500
            });
            // SIGKILL: no shutdown code runs.
            let _ = Command::new("kill").args(["-9", &child_id.to_string()]).status();
        })
    };
    while next < TOTAL {
        match send_mllp(&mut mllp, message(next).as_bytes()) {
            Ok(ack) if ack.contains("MSA|AA") => {
                acknowledged.push(next);
                next += 1;
                progress.store(next, std::sync::atomic::Ordering::Relaxed);
            }
            Ok(ack) => panic!("unexpected ACK {ack}"),
            Err(_) => break,
        }
    }
    killer.join().unwrap();
    gateway.kill();
    assert!(
        next > 0 && next < TOTAL,
        "the kill should land mid-stream (sent {next})"
    );

    // Restart on the same data; the client goes on from the message that got no ACK.
    let gateway = Gateway::start(&config_path);
    let mut mllp = TcpStream::connect(gateway.mllp).unwrap();
    while next < TOTAL {
        let ack = send_mllp(&mut mllp, message(next).as_bytes()).unwrap();
        assert!(ack.contains("MSA|AA"), "{ack}");
        acknowledged.push(next);
        next += 1;
    }

    let ids = |bodies: &[String]| -> HashSet<String> {
        bodies
            .iter()
            .filter_map(|b| b.find("CRASH-").map(|i| b[i..i + 12].to_owned()))
            .collect()
    };
    // A debug build on 2 cores takes about 3 minutes to deliver them all, so
    // a fixed deadline fails on a slow machine with nothing lost: wait as
    // long as deliveries keep coming, failing after 60 s without one more.
    let complete = wait_while_advancing(Duration::from_secs(60), TOTAL, || ids(&receiver.received()).len());
    let delivered = ids(&receiver.received());
    let missing: Vec<&usize> = acknowledged
        .iter()
        .filter(|n| !delivered.contains(&format!("CRASH-{n:06}")))
        .collect();
    assert!(
        complete && missing.is_empty(),
        "{} acknowledged messages never delivered, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    // At least once, and de-duplicated by id at the receiver: each id once in the set.
    assert_eq!(delivered.len(), TOTAL);
}

/// Waits until `progress()` reaches `target`, as long as it keeps rising;
/// false once it has not risen for `stall`.
fn wait_while_advancing(stall: Duration, target: usize, mut progress: impl FnMut() -> usize) -> bool {
    let mut reached = progress();
    let mut last_rise = Instant::now();
    while reached < target {
        if last_rise.elapsed() > stall {
            eprintln!("delivery stopped at {reached} of {target}");
            return false;
        }
        std::thread::sleep(Duration::from_millis(250));
        let now = progress();
        if now > reached {
            reached = now;
            last_rise = Instant::now();
        }
    }
    true
}

#[test]
fn slow_clients_time_out_and_overload_is_refused_at_once() {
    let dir = temp_dir("limits");
    let config_path = dir.join("zorgpoort.toml");
    let config = format!(
        "[server]\nunauthenticated_demo = true\nhttp = \"127.0.0.1:0\"\nmllp = \"127.0.0.1:0\"\ndata_dir = \"{}\"\nrequest_timeout_ms = 1000\nmax_concurrent_requests = 1\n",
        dir.join("data").display()
    );
    std::fs::write(&config_path, config).unwrap();
    let gateway = Gateway::start(&config_path);

    // Headers that never end: the connection is closed after the time limit.
    let mut loris = TcpStream::connect(gateway.http).unwrap();
    loris.write_all(b"POST /hl7v2 HTTP/1.1\r\nHost: x\r\n").unwrap();
    loris.set_read_timeout(Some(Duration::from_secs(8))).unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let _ = loris.read_to_end(&mut answer);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "slow headers held the connection open"
    );

    // A body that never completes holds the only slot; the next request is
    // refused at once with 503 and Retry-After, not queued.
    let mut slow = TcpStream::connect(gateway.http).unwrap();
    slow.write_all(b"POST /hl7v2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\nMSH|")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let (status, head, body) = gateway.http("GET", "/fhir/metadata", "text/plain", b"");
    assert_eq!(status, 503, "{body}");
    assert!(head.to_ascii_lowercase().contains("retry-after: 1"), "{head}");
    assert!(body.contains("OperationOutcome"));
    // The stalled request runs out of time (504); then the gateway serves again.
    let mut rest = String::new();
    slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = slow.read_to_string(&mut rest);
    assert!(rest.starts_with("HTTP/1.1 504"), "{rest}");
    assert_eq!(gateway.http("GET", "/fhir/metadata", "text/plain", b"").0, 200);
}

fn zorgpoort(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_zorgpoort"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn transfers_are_audited_and_logs_hold_no_patient_data() {
    let receiver = Receiver::start(200);
    let dir = temp_dir("audit");
    let config_path = dir.join("zorgpoort.toml");
    std::fs::write(&config_path, config(receiver.address, &dir.join("data"))).unwrap();
    let gateway = Gateway::start_logging(&config_path, "debug");

    let mut mllp = TcpStream::connect(gateway.mllp).unwrap();
    for n in 1..=20 {
        let message = ADMISSION.replace("|M1|", &format!("|A{n}|"));
        assert!(send_mllp(&mut mllp, message.as_bytes()).unwrap().contains("MSA|AA"));
    }
    // A control id used again for other content is refused: it names the
    // patient, so the refusal is audited, without the content.
    let bad = ADMISSION.replace("|M1|", "|A1|").replace("^Jan", "^Johan");
    assert!(send_mllp(&mut mllp, bad.as_bytes()).unwrap().contains("MSA|AE"));
    assert!(gateway.http("POST", "/hl7v2", "text/plain", ADMISSION.as_bytes()).0 == 200);
    assert!(wait_until(Duration::from_secs(10), || receiver.received().len() >= 20));
    std::thread::sleep(Duration::from_millis(300));

    let config = config_path.to_str().unwrap();
    let verified = zorgpoort(&["audit", "verify", "--config", config]);
    let text = String::from_utf8_lossy(&verified.stdout).into_owned();
    assert!(
        verified.status.success() && text.starts_with("audit log intact: 42 records"),
        "{text}"
    );

    let who = zorgpoort(&["audit", "who-accessed", "999911120", "--json", "--config", config]);
    let rows: serde_json::Value = serde_json::from_slice(&who.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 42, "20 accepted, 1 refused, 20 delivered, 1 converted");
    assert!(
        rows.iter()
            .any(|r| r["organization"] == "de-linde" && r["action"] == "deliver" && r["outcome"] == "success")
    );
    assert!(
        rows.iter()
            .any(|r| r["organization"] == "rijnstate" && r["action"] == "accept")
    );
    assert_eq!(
        rows.iter()
            .filter(|r| r["action"] == "accept" && r["outcome"] == "refused")
            .count(),
        1,
        "the refused message named the patient, so it is accounted for"
    );
    let table = zorgpoort(&["audit", "who-accessed", "999911120", "--config", config]);
    assert!(
        String::from_utf8_lossy(&table.stdout).contains("43 entries"),
        "the first look is itself listed"
    );
    let export = zorgpoort(&["audit", "export", "--since", "2000-01-01", "--config", config]);
    let exported = String::from_utf8_lossy(&export.stdout);
    assert_eq!(exported.lines().count(), 44, "with both looks");
    assert!(
        exported.contains("refused: control id reused") && !exported.contains("Johan"),
        "where it was refused, not the content"
    );

    // Past the retention period everything goes, the purge is recorded, and the chain still verifies.
    let purged = zorgpoort(&["audit", "purge", "--before", "3000-01-01", "--config", config]);
    assert!(String::from_utf8_lossy(&purged.stdout).starts_with("45 audit records removed"));
    let verified = zorgpoort(&["audit", "verify", "--config", config]);
    assert!(String::from_utf8_lossy(&verified.stdout).starts_with("audit log intact: 1 records"));

    let logs = gateway.logs.lock().unwrap().join("\n");
    assert!(logs.contains("http request"), "logs were captured");
    for secret in ["999911120", "van der Berg", "19800101", "Jan"] {
        assert!(!logs.contains(secret), "{secret:?} appears in the application log");
    }
}

fn consent(id: &str, bsn: &str, provision: &str, category: Option<&str>) -> String {
    let class = category.map_or(String::new(), |c| {
        format!(r#","class":[{{"system":"https://zorgpoort.nl/fhir/CodeSystem/data-category","code":"{c}"}}]"#)
    });
    format!(
        r#"{{"resourceType":"Consent","id":"{id}","status":"active","patient":{{"identifier":{{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":"{bsn}"}}}},"provision":{{"type":"{provision}"{class}}}}}"#
    )
}

#[test]
#[allow(clippy::too_many_lines)] // one scenario, told in order
fn consent_decides_what_crosses_to_the_receiver() {
    let receiver = Receiver::start(200);
    let dir = temp_dir("consent");
    let config_path = dir.join("zorgpoort.toml");
    std::fs::write(&config_path, config(receiver.address, &dir.join("data"))).unwrap();
    let gateway = Gateway::start(&config_path);

    // A deny of everything, a deny of mental-health data, and no choice at all.
    let (status, _, body) = gateway.http_with(
        "POST",
        "/fhir/Consent",
        HOSPITAL,
        consent("nee", "999911120", "deny", None).as_bytes(),
    );
    assert_eq!(status, 201, "{body}");
    let (status, _, _) = gateway.http_with(
        "POST",
        "/fhir/Consent",
        HOSPITAL,
        consent("geen-ggz", "999990627", "deny", Some("mental-health")).as_bytes(),
    );
    assert_eq!(status, 201);
    let (status, _, body) = gateway.http_with(
        "POST",
        "/fhir/Consent",
        HOSPITAL,
        consent("fout", "123456789", "deny", None).as_bytes(),
    );
    assert_eq!(status, 422);
    assert!(
        body.contains("\"expression\":[\"Consent.patient.identifier.value\"]"),
        "{body}"
    );
    let (status, _, body) = gateway.http_with("GET", "/fhir/Consent?patient=999911120", HOSPITAL, b"");
    assert_eq!(status, 200);
    assert!(body.contains("\"total\":1"), "{body}");

    let message = |id: &str, bsn: &str| {
        format!(
            "MSH|^~\\&|HIS|RIJNSTATE|||20261124093015+0100||ADT^A03^ADT_A03|{id}|P|2.5\rPID|1||1^^^RIJN^PI~{bsn}^^^NLMINBIZA^NNNLD||Visser^Daan||19520604|M\rDG1|1||F32.1^Depressieve episode^I10|||F\rDG1|2||I21.9^Acuut myocardinfarct^I10|||F\r"
        )
    };
    let post = |id: &str, bsn: &str| {
        let (status, head, _) = gateway.http("POST", "/messages/hl7v2", "text/plain", message(id, bsn).as_bytes());
        assert_eq!(status, 202);
        head.lines()
            .find_map(|l| l.strip_prefix("location: "))
            .unwrap()
            .to_owned()
    };
    let denied = post("C1", "999911120");
    let filtered = post("C2", "999990627");
    let presumed = post("C3", "999992430");

    let state = |location: &str| gateway.http("GET", location, "text/plain", b"").2;
    assert!(
        wait_until(Duration::from_secs(10), || state(&denied)
            .contains("\"state\":\"withheld\"")),
        "{}",
        state(&denied)
    );
    let (_, _, metrics) = gateway.http("GET", "/metrics", "text/plain", b"");
    assert!(
        metrics.contains("\nzorgpoort_deliveries{receiver=\"de-linde\",state=\"withheld\"} 1\n"),
        "the withheld delivery is in the queue gauge:\n{metrics}"
    );
    assert!(
        state(&denied).contains("deny:nee"),
        "the sender sees why: {}",
        state(&denied)
    );
    assert!(wait_until(Duration::from_secs(10), || receiver.received().len() >= 2));
    std::thread::sleep(Duration::from_millis(200));
    let bodies = receiver.received();
    assert_eq!(bodies.len(), 2, "the denied message never reached the receiver");
    let of = |control: &str| bodies.iter().find(|b| b.contains(control)).unwrap().clone();
    let partial = of("C2");
    assert!(
        !partial.contains("F32.1") && partial.contains("I21.9"),
        "mental-health data removed, the rest kept"
    );
    assert!(partial.contains("withheld-data-category") && partial.contains("mental-health"));
    let full = of("C3");
    assert!(full.contains("F32.1") && !full.contains("withheld-data-category"));
    assert!(
        state(&filtered).contains("\"state\":\"delivered\"") && state(&presumed).contains("\"state\":\"delivered\"")
    );

    let config = config_path.to_str().unwrap();
    let who = zorgpoort(&["audit", "who-accessed", "999911120", "--json", "--config", config]);
    let rows: serde_json::Value = serde_json::from_slice(&who.stdout).unwrap();
    assert!(
        rows.as_array().unwrap().iter().any(|r| r["action"] == "withheld"
            && r["organization"] == "de-linde"
            && r["role"] == "vvt"
            && r["categories"].as_str().is_some_and(|c| c.contains("mental-health"))),
        "who, in which role, and which categories of data: {rows}"
    );
    let (status, _, body) = gateway.http_with(
        "GET",
        "/fhir/AuditEvent?patient=999911120&date=ge2000-01-01",
        HOSPITAL,
        b"",
    );
    assert_eq!(status, 200);
    assert!(
        body.contains("\"resourceType\":\"AuditEvent\"") && body.contains("\"code\":\"withheld\""),
        "{body}"
    );
    let (_, _, none) = gateway.http_with(
        "GET",
        "/fhir/AuditEvent?patient=999911120&date=ge3000-01-01",
        HOSPITAL,
        b"",
    );
    assert!(none.contains("\"total\":0"), "{none}");
    let (status, _, encoded) = gateway.http_with(
        "GET",
        "/fhir/AuditEvent?patient=http%3A%2F%2Ffhir.nl%2Ffhir%2FNamingSystem%2Fbsn%7C999911120&date=ge2000-01-01",
        HOSPITAL,
        b"",
    );
    assert_eq!(status, 200, "{encoded}");
    assert!(
        encoded.contains("\"code\":\"withheld\""),
        "system|value, percent-encoded: {encoded}"
    );
    assert_eq!(
        gateway.http_with("GET", "/fhir/AuditEvent?name=x", HOSPITAL, b"").0,
        422
    );
    assert_eq!(
        gateway
            .http("GET", "/fhir/AuditEvent?patient=999911120", "text/plain", b"")
            .0,
        401
    );
    assert!(zorgpoort(&["audit", "verify", "--config", config]).status.success());
}

#[test]
fn reads_are_decided_by_consent_and_break_the_glass_needs_a_reason() {
    let receiver = Receiver::start(503);
    let dir = temp_dir("read");
    let config_path = dir.join("zorgpoort.toml");
    std::fs::write(&config_path, config(receiver.address, &dir.join("data"))).unwrap();
    let gateway = Gateway::start(&config_path);
    let (status, _, _) = gateway.http_with(
        "POST",
        "/fhir/Consent",
        HOSPITAL,
        consent("nee", "999911120", "deny", None).as_bytes(),
    );
    assert_eq!(status, 201);
    let message = "MSH|^~\\&|HIS|RIJNSTATE|||20261124093015+0100||ADT^A03^ADT_A03|R1|P|2.5\rPID|1||1^^^RIJN^PI~999911120^^^NLMINBIZA^NNNLD||Visser^Daan||19520604|M\rDG1|1||F32.1^Depressieve episode^I10|||F\r";
    let (status, head, _) = gateway.http("POST", "/messages/hl7v2", "text/plain", message.as_bytes());
    assert_eq!(status, 202);
    let id = head
        .lines()
        .find_map(|l| l.strip_prefix("location: /messages/"))
        .unwrap()
        .to_owned();
    let path = format!("/fhir/Bundle/{id}");
    let read = |headers: &[(&str, &str)]| gateway.http_with("GET", &path, headers, b"");
    let requester = |org| ("X-Zorgpoort-Requester", org);
    let emergency = ("X-Purpose-Of-Use", "emergency");
    let reason = ("X-Break-The-Glass-Reason", "bewusteloos binnengebracht");

    let (status, _, body) = read(&[]);
    assert_eq!(status, 401, "who asks must be said: {body}");
    assert_eq!(read(&[requester("onbekend")]).0, 403);
    let (status, _, body) = read(&[requester("de-linde")]);
    assert_eq!(status, 403, "the patient said no: {body}");
    assert!(body.contains("deny:nee"), "{body}");
    let (status, _, body) = read(&[requester("rijnstate"), emergency]);
    assert_eq!(status, 403, "break-the-glass without a reason: {body}");
    assert!(body.contains("break-the-glass:no-reason"), "{body}");
    let (status, _, body) = read(&[requester("de-linde"), emergency, reason]);
    assert_eq!(status, 403, "a nursing home may not break the glass: {body}");
    assert!(body.contains("break-the-glass:not-allowed"), "{body}");
    let (status, _, body) = read(&[requester("rijnstate"), emergency, reason]);
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("\"resourceType\":\"Bundle\"") && body.contains("F32.1"),
        "{body}"
    );
    assert_eq!(
        gateway
            .http_with("GET", "/fhir/Bundle/nope", &[requester("rijnstate")], b"")
            .0,
        404
    );

    let config = config_path.to_str().unwrap();
    let who = zorgpoort(&["audit", "who-accessed", "999911120", "--json", "--config", config]);
    let rows: serde_json::Value = serde_json::from_slice(&who.stdout).unwrap();
    let reads: Vec<(&str, &str, &str)> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "read")
        .filter_map(|r| {
            Some((
                r["organization"].as_str()?,
                r["purpose"].as_str()?,
                r["outcome"].as_str()?,
            ))
        })
        .collect();
    for expected in [
        ("de-linde", "TREAT", "refused"),
        ("rijnstate", "ETREAT", "refused"),
        ("de-linde", "ETREAT", "refused"),
        ("rijnstate", "ETREAT", "success"),
    ] {
        assert!(reads.contains(&expected), "{expected:?} not audited in {reads:?}");
    }
    assert!(zorgpoort(&["audit", "verify", "--config", config]).status.success());
}

#[test]
fn consents_load_in_bulk_with_located_errors() {
    let dir = temp_dir("bulk");
    let file = dir.join("consents.ndjson");
    let lines = [
        consent("a", "999911120", "deny", None),
        consent("b", "123456789", "deny", None),
        consent("c", "999990627", "permit", Some("lab")),
    ];
    std::fs::write(&file, lines.join("\n")).unwrap();
    let data = dir.join("data");
    let out = zorgpoort(&[
        "consent",
        "load",
        file.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 consents loaded, 1 refused"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("consents.ndjson:2: Consent.patient.identifier.value"),
        "{stderr}"
    );
    let verified = zorgpoort(&["audit", "verify", "--data-dir", data.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&verified.stdout).starts_with("audit log intact: 2 records"));
}
