//! The gateway on PostgreSQL. Moving a region there: `zorgpoort store
//! backup` while the gateway runs, `store migrate` into an empty database,
//! and the gateway started on it with everything and a verified audit chain.
//!
//! Three `zorgpoort serve` replicas on one PostgreSQL database (issue 19):
//! MLLP and HTTP load on all three, one killed with -9 mid-load and started
//! again, its clients carrying on at the others. Afterwards every
//! acknowledged message has reached the receiver, none twice but the few a
//! killed replica had in flight, in the order they were accepted, and the
//! one audit chain the three wrote verifies. `REPLICA_KILLS=N` repeats the
//! kill N times (once by default; the benchmark run in BENCHMARKS.md kills
//! ten times), each time another replica, with N times the load.
//!
//! Needs the test PostgreSQL server (`POSTGRES_TEST_URL`, started by
//! `scripts/test` through `scripts/postgres`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use common::{Gateway, Receiver, send_mllp, temp_dir, wait_until};
use zorgpoort_handover::delivery::MAX_UNRECORDED;

/// Messages each MLLP client sends per kill.
const PER_CLIENT: usize = 150;
/// Messages posted over HTTP per kill.
const OVER_HTTP: usize = 40;
/// A client moves to the next replica after this many messages, so every
/// replica has clients when it is killed.
const MOVE_EVERY: usize = 25;
/// Deliveries one replica has in flight at most (`delivery.concurrency`).
const IN_FLIGHT: usize = 2;

/// A region of one hospital sending to one nursing home; on PostgreSQL
/// when `store_url` is given.
fn config(receiver: SocketAddr, data_dir: &Path, store_url: Option<&str>, key_file: &Path) -> String {
    let store = store_url.map_or_else(String::new, |url| format!("[store]\nurl = \"{url}\"\n"));
    format!(
        r#"
[server]
unauthenticated_demo = true
http = "127.0.0.1:0"
mllp = "127.0.0.1:0"
data_dir = "{data_dir}"

{store}

[audit]
key_file = "{key_file}"
anchor_every = 50

[delivery]
concurrency = {IN_FLIGHT}
initial_backoff_ms = 50
max_backoff_ms = 200
poll_interval_ms = 20
timeout_ms = 2000

[[organization]]
id = "rijnstate"
name = "Ziekenhuis Rijnstate"
kind = "ziekenhuis"
senders = ["REPLICA/TEST"]

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
        data_dir = data_dir.display(),
        key_file = key_file.display(),
    )
}

/// A new database on the test server, as a URL.
fn new_database(name: &str) -> String {
    let server = std::env::var("POSTGRES_TEST_URL")
        .expect("POSTGRES_TEST_URL is not set: run ./scripts/test (it starts a PostgreSQL server for the tests)");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&format!("{server}/postgres"), tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL server {server}: {e}"));
        tokio::spawn(connection);
        for statement in [
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!("CREATE DATABASE {name}"),
        ] {
            client.batch_execute(&statement).await.unwrap();
        }
    });
    format!("{server}/{name}")
}

fn message(id: &str) -> String {
    format!(
        "MSH|^~\\&|REPLICA|TEST|||20261124093015+0100||ADT^A08^ADT_A01|{id}|P|2.5\rPID|1||{id}^^^RIJN^PI||Jansen^Piet||19800101|M\r"
    )
}

/// Where the replicas listen now (a replica started again gets new ports).
#[derive(Clone)]
struct Addresses(Arc<RwLock<Vec<(SocketAddr, SocketAddr)>>>);

impl Addresses {
    fn of(replicas: &[Gateway]) -> Self {
        Self(Arc::new(RwLock::new(
            replicas.iter().map(|r| (r.mllp, r.http)).collect(),
        )))
    }

    fn mllp(&self, replica: usize) -> SocketAddr {
        self.0.read().unwrap()[replica % 3].0
    }

    fn http(&self, replica: usize) -> SocketAddr {
        self.0.read().unwrap()[replica % 3].1
    }

    fn set(&self, replica: usize, gateway: &Gateway) {
        self.0.write().unwrap()[replica] = (gateway.mllp, gateway.http);
    }
}

/// Sends `count` messages over MLLP, starting at replica `first` and moving
/// to the next one every `MOVE_EVERY` messages, or when a replica does not
/// answer (the message that got no ACK is sent again there). The ids
/// acknowledged, in order.
fn mllp_client(name: &str, first: usize, count: usize, addresses: &Addresses, progress: &AtomicUsize) -> Vec<String> {
    let mut acknowledged = Vec::new();
    let mut replica = first;
    let mut unanswered = Unanswered::default();
    while acknowledged.len() < count {
        let Ok(mut mllp) = TcpStream::connect(addresses.mllp(replica)) else {
            unanswered.once();
            replica += 1;
            continue;
        };
        for _ in 0..MOVE_EVERY.min(count - acknowledged.len()) {
            let id = format!("{name}-{:05}", acknowledged.len());
            let Ok(ack) = send_mllp(&mut mllp, message(&id).as_bytes()) else {
                unanswered.once();
                break;
            };
            assert!(ack.contains(&format!("MSA|AA|{id}")), "{ack}");
            acknowledged.push(id);
            progress.fetch_add(1, Ordering::Relaxed);
            unanswered = Unanswered::default();
        }
        replica += 1;
    }
    acknowledged
}

/// Posts `count` messages to `/messages/hl7v2`, each to the next replica,
/// sent again at another when a replica does not answer. The ids accepted.
fn http_client(count: usize, addresses: &Addresses) -> Vec<String> {
    let mut accepted = Vec::new();
    let mut replica = 0;
    let mut unanswered = Unanswered::default();
    while accepted.len() < count {
        let id = format!("H-{:05}", accepted.len());
        replica += 1;
        if let Ok(status) = post(addresses.http(replica), message(&id).as_bytes()) {
            assert_eq!(status, 202, "{id}");
            accepted.push(id);
            unanswered = Unanswered::default();
        } else {
            unanswered.once();
        }
    }
    accepted
}

/// Replicas not answering one after another: a short pause each time, and
/// the test fails when none has answered for a minute (they all died).
#[derive(Default)]
struct Unanswered(u32);

impl Unanswered {
    fn once(&mut self) {
        self.0 += 1;
        assert!(self.0 < 1200, "no replica answered for a minute");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `POST /messages/hl7v2`; the status, or the error of a replica that died.
fn post(to: SocketAddr, body: &[u8]) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect(to)?;
    let head = format!(
        "POST /messages/hl7v2 HTTP/1.1\r\nHost: test\r\nContent-Type: x-application/hl7-v2+er7\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    response
        .split_whitespace()
        .nth(1)
        .and_then(|status| status.parse().ok())
        .ok_or_else(|| std::io::ErrorKind::UnexpectedEof.into())
}

#[test]
fn three_replicas_share_the_work_and_survive_kills() {
    let kills: usize = std::env::var("REPLICA_KILLS").map_or(1, |n| n.parse().expect("REPLICA_KILLS: a number"));
    let receiver = Receiver::start(200);
    let (configs, mut replicas) = start_replicas(&receiver);
    let addresses = Addresses::of(&replicas);
    let per_client = PER_CLIENT * kills;
    let total = per_client * 3;

    // Replica `k % 3` is killed at the k-th share of the load, however slow
    // the machine, and started again on its configuration.
    let progress = Arc::new(AtomicUsize::new(0));
    let killer = {
        let (progress, addresses, configs) = (Arc::clone(&progress), addresses.clone(), configs.clone());
        std::thread::spawn(move || {
            let mut at = Vec::new();
            for k in 0..kills {
                let due = total * (k + 1) / (kills + 1);
                assert!(wait_until(Duration::from_secs(600), || progress
                    .load(Ordering::Relaxed)
                    >= due));
                let victim = k % 3;
                let pid = replicas[victim].child.id().to_string();
                Command::new("kill").args(["-9", &pid]).status().unwrap();
                at.push(progress.load(Ordering::Relaxed));
                replicas[victim] = Gateway::start(&configs[victim]);
                addresses.set(victim, &replicas[victim]);
            }
            (at, replicas)
        })
    };
    let clients: Vec<_> = ["A", "B", "C"]
        .into_iter()
        .enumerate()
        .map(|(first, name)| {
            let (addresses, progress) = (addresses.clone(), Arc::clone(&progress));
            std::thread::spawn(move || mllp_client(name, first, per_client, &addresses, &progress))
        })
        .collect();
    let posted = http_client(OVER_HTTP * kills, &addresses);
    let streams: Vec<Vec<String>> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    let (kills_at, replicas) = killer.join().unwrap();
    assert!(
        kills_at.iter().all(|&at| at < total),
        "every kill should land mid-load (at {kills_at:?} of {total} ACKs)"
    );

    let expected = total + posted.len();
    // A killed replica's claims run out after its lease (timeout + margin).
    assert!(
        wait_until(Duration::from_secs(180), || deliveries(&receiver).len() >= expected),
        "{} of {expected} acknowledged messages delivered",
        deliveries(&receiver).len()
    );
    std::thread::sleep(Duration::from_millis(500));
    let counted = deliveries(&receiver);
    for id in streams.iter().flatten().chain(&posted) {
        assert!(counted.contains_key(id), "{id} acknowledged but never delivered");
    }
    // Only attempts the receiver took while their replica was killed,
    // before their results were recorded, are sent again: per batch (one
    // per receiver in flight) the group being recorded and the one
    // waiting for it.
    let twice: Vec<_> = counted.iter().filter(|(_, n)| **n > 1).collect();
    eprintln!(
        "{expected} acknowledged, {} deliveries, {} sent twice; {kills} kills, after {kills_at:?} MLLP ACKs",
        counted.values().sum::<usize>(),
        twice.len()
    );
    assert!(
        twice.len() <= 2 * MAX_UNRECORDED * IN_FLIGHT * kills,
        "delivered more than once: {twice:?}"
    );

    // The receiver got each client's messages in the order they were accepted.
    let first_arrival = first_arrivals(&receiver);
    for stream in &streams {
        let arrived: Vec<&String> = first_arrival.iter().filter(|id| stream.contains(id)).collect();
        let sent: Vec<&String> = stream.iter().collect();
        assert_eq!(arrived, sent, "order of {}", &stream[0][..1]);
    }

    // One chain, written by three replicas, intact against the anchors
    // each of them wrote (the killed one's too).
    drop(replicas);
    let mut verify = vec!["audit", "verify", "--config", configs[1].to_str().unwrap()];
    let anchor_files: Vec<String> = (0..3)
        .map(|n| {
            format!(
                "{}/data-{n}/audit-anchors.jsonl",
                configs[1].parent().unwrap().display()
            )
        })
        .collect();
    for file in &anchor_files {
        verify.extend(["--anchor", file]);
    }
    let (ok, report) = zorgpoort(&verify, &[]);
    assert!(ok && report.contains("audit log intact"), "{report}");
    let anchors = report.split("  anchors: ").nth(1).unwrap_or_default();
    assert!(
        !anchors.starts_with('0') && anchors.contains(&format!("in 3 files (1: {}", anchor_files[0])),
        "{report}"
    );
}

/// The region: three replicas of one configuration but for their data
/// directories, on a new database, sharing the audit key.
fn start_replicas(receiver: &Receiver) -> (Vec<PathBuf>, Vec<Gateway>) {
    let dir = temp_dir("replicas");
    let url = new_database("zp_cli_replicas");
    let key_file = dir.join("audit.key");
    std::fs::write(&key_file, "7a".repeat(32)).unwrap();
    let configs: Vec<_> = (0..3)
        .map(|n| {
            let path = dir.join(format!("replica-{n}.toml"));
            let data = dir.join(format!("data-{n}"));
            std::fs::write(&path, config(receiver.address, &data, Some(&url), &key_file)).unwrap();
            path
        })
        .collect();
    let replicas = configs.iter().map(|path| Gateway::start(path)).collect();
    (configs, replicas)
}

/// How often the receiver got each message.
fn deliveries(receiver: &Receiver) -> HashMap<String, usize> {
    let mut counted = HashMap::new();
    for body in receiver.received() {
        for id in acknowledged_ids(&body) {
            *counted.entry(id).or_default() += 1;
        }
    }
    counted
}

/// The messages in the order the receiver first got them.
fn first_arrivals(receiver: &Receiver) -> Vec<String> {
    let mut seen = HashSet::new();
    receiver
        .received()
        .iter()
        .flat_map(|body| acknowledged_ids(body))
        .filter(|id| seen.insert(id.clone()))
        .collect()
}

/// The control ids (`A-00001`, `H-00003`, `M-00002`) a delivered Bundle carries.
fn acknowledged_ids(body: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for prefix in ["\"A-", "\"B-", "\"C-", "\"H-", "\"M-"] {
        let mut rest = body;
        while let Some(at) = rest.find(prefix) {
            let id = &rest[at + 1..(at + 8).min(rest.len())];
            if id.len() == 7 && id[2..].bytes().all(|b| b.is_ascii_digit()) && !ids.iter().any(|i| i == id) {
                ids.push(id.to_owned());
            }
            rest = &rest[at + 1..];
        }
    }
    ids
}

fn zorgpoort(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_zorgpoort"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn a_region_moves_from_sqlite_to_postgres() {
    let receiver = Receiver::start(200);
    let dir = temp_dir("move-to-postgres");
    let key_file = dir.join("audit.key");
    std::fs::write(&key_file, "5c".repeat(32)).unwrap();
    let data = dir.join("data");
    let on_sqlite = dir.join("sqlite.toml");
    std::fs::write(&on_sqlite, config(receiver.address, &data, None, &key_file)).unwrap();
    let sqlite = on_sqlite.to_str().unwrap();

    let gateway = Gateway::start(&on_sqlite);
    let mut mllp = TcpStream::connect(gateway.mllp).unwrap();
    for n in 0..3 {
        let ack = send_mllp(&mut mllp, message(&format!("M-{n:05}")).as_bytes()).unwrap();
        assert!(ack.contains("MSA|AA"), "{ack}");
    }
    assert!(wait_until(Duration::from_secs(30), || receiver.received().len() >= 3));
    let backup = dir.join("backup.db");
    let (ok, out) = zorgpoort(
        &["store", "backup", "--config", sqlite, "--to", backup.to_str().unwrap()],
        &[],
    );
    assert!(ok && out.contains("(3 messages)"), "{out}");
    gateway.kill();

    let url = new_database("zp_cli_move");
    let (ok, out) = zorgpoort(
        &["store", "migrate", "--config", sqlite],
        &[("ZORGPOORT_STORE_URL", &url)],
    );
    assert!(ok, "{out}");
    assert!(out.contains("messages: 3 rows") && out.contains("intact"), "{out}");
    assert!(!out.contains(&url), "the URL is not printed: {out}");
    let (ok, out) = zorgpoort(&["store", "migrate", "--config", sqlite, "--to", &url], &[]);
    assert!(!ok && out.contains("holds data already"), "{out}");

    // The gateway on PostgreSQL has the messages, recognises their resends
    // and goes on with one audit chain.
    let on_postgres = dir.join("postgres.toml");
    std::fs::write(&on_postgres, config(receiver.address, &data, Some(&url), &key_file)).unwrap();
    let gateway = Gateway::start(&on_postgres);
    let mut mllp = TcpStream::connect(gateway.mllp).unwrap();
    for id in ["M-00001", "M-00003"] {
        let ack = send_mllp(&mut mllp, message(id).as_bytes()).unwrap();
        assert!(ack.contains("MSA|AA"), "{ack}");
    }
    assert!(wait_until(Duration::from_secs(30), || receiver.received().len() >= 4));
    std::thread::sleep(Duration::from_millis(500));
    let ids: Vec<String> = receiver.received().iter().flat_map(|b| acknowledged_ids(b)).collect();
    assert_eq!(
        ids,
        ["M-00000", "M-00001", "M-00002", "M-00003"],
        "the resend is not delivered again"
    );
    gateway.kill();
    let (ok, out) = zorgpoort(&["audit", "verify", "--config", on_postgres.to_str().unwrap()], &[]);
    assert!(ok && out.contains("intact"), "{out}");
}
