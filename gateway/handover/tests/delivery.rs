//! Delivery against real receivers on loopback: success, refusal into the
//! dead letter, retries through failures, and order kept while a receiver
//! was down.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Receiver, client, receiver, receiver_on, store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use zorgpoort_handover::{Deliverer, DeliveryConfig};
use zorgpoort_store::{DeliveryState, NewDelivery, NewMessage, SqliteStore, Store};

fn message(n: usize, endpoint: &str) -> NewMessage {
    NewMessage {
        id: format!("m{n}"),
        sender: "HIS".into(),
        control_id: format!("C{n}"),
        format: "hl7v2".into(),
        body: format!("{{\"id\":\"m{n}\"}}").into_bytes(),
        deliveries: vec![NewDelivery {
            receiver: "vvt".into(),
            endpoint: endpoint.into(),
        }],
        received_ms: 0,
        patient: Some("999911120".into()),
        audit: Vec::new(),
        origin: None,
        content_hash: None,
    }
}

/// Sends the stored body as it is.
fn as_text() -> zorgpoort_handover::Render {
    std::sync::Arc::new(|_format: &str, body: &[u8]| String::from_utf8(body.to_vec()).map_err(|e| e.to_string()))
}

fn fast() -> DeliveryConfig {
    DeliveryConfig {
        initial_backoff_ms: 20,
        max_backoff_ms: 100,
        poll_interval_ms: 10,
        timeout_ms: 2_000,
        ..DeliveryConfig::default()
    }
}

/// Runs a deliverer until `done` holds (or 10 s pass), then stops it.
async fn deliver_until(store: &SqliteStore, config: DeliveryConfig, done: impl AsyncFn() -> bool) {
    let (stop, stopped) = oneshot::channel::<()>();
    let worker = tokio::spawn(
        Deliverer::new(store.clone(), config, client(), as_text(), None, Arc::default()).run(async {
            let _ = stopped.await;
        }),
    );
    for _ in 0..1_000 {
        if done().await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.send(()).unwrap();
    worker.await.unwrap();
}

async fn states(store: &SqliteStore, ids: &[&str]) -> Vec<(DeliveryState, u32)> {
    let mut out = Vec::new();
    for id in ids {
        let record = store.message(id).await.unwrap().unwrap();
        out.push((record.deliveries[0].state, record.deliveries[0].attempts));
    }
    out
}

async fn all_delivered(store: &SqliteStore, ids: &[&str]) -> bool {
    states(store, ids).await.iter().all(|s| s.0 == DeliveryState::Delivered)
}

#[tokio::test]
async fn every_attempt_is_audited_without_content() {
    let receiver = receiver(vec![503, 200]).await;
    let store = store("audit");
    store
        .accept(message(1, &format!("http://{}/fhir", receiver.address)))
        .await
        .unwrap();
    deliver_until(&store, fast(), async || {
        states(&store, &["m1"]).await[0].0 == DeliveryState::Delivered
    })
    .await;
    let log = store.audit_log(0, i64::MAX, Some("999911120")).await.unwrap();
    assert_eq!(log.len(), 2);
    let outcomes: Vec<serde_json::Value> = log.iter().map(|r| serde_json::from_str(&r.event).unwrap()).collect();
    assert_eq!(outcomes[0]["outcome"], "4");
    assert_eq!(outcomes[0]["outcomeDesc"], "503 Service Unavailable");
    assert_eq!(outcomes[1]["outcome"], "0");
    assert_eq!(outcomes[1]["agent"][0]["who"]["identifier"]["value"], "vvt");
    assert!(
        !log.iter().any(|r| r.event.contains("\\\"id\\\":\\\"m1\\\"")),
        "no message content in the audit log"
    );
    assert_eq!(store.verify_audit().await.unwrap(), Ok(2));
}

#[tokio::test]
async fn a_2xx_delivers_the_bundle() {
    let receiver = receiver(vec![201]).await;
    let store = store("ok");
    store
        .accept(message(1, &format!("http://{}/fhir", receiver.address)))
        .await
        .unwrap();
    deliver_until(&store, fast(), async || {
        states(&store, &["m1"]).await[0].0 == DeliveryState::Delivered
    })
    .await;
    assert_eq!(states(&store, &["m1"]).await, [(DeliveryState::Delivered, 1)]);
    assert_eq!(*receiver.bodies.lock().unwrap(), ["{\"id\":\"m1\"}"]);
}

#[tokio::test]
async fn a_stu3_receiver_gets_the_bundle_in_stu3() {
    let receiver = receiver(vec![201]).await;
    let store = store("stu3");
    let r4 = r#"{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:5b1e0a2c-7f7e-4a59-9a52-6f0c1b8d2e10","resource":{"resourceType":"Condition","clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},"code":{"text":"Hartfalen"},"subject":{"reference":"urn:uuid:5b1e0a2c-7f7e-4a59-9a52-6f0c1b8d2e11"}},"request":{"method":"POST","url":"Condition"}}]}"#;
    store
        .accept(NewMessage {
            body: r4.as_bytes().to_vec(),
            ..message(1, &format!("fhir-stu3+http://{}/fhir", receiver.address))
        })
        .await
        .unwrap();
    deliver_until(&store, fast(), async || {
        states(&store, &["m1"]).await[0].0 == DeliveryState::Delivered
    })
    .await;
    let sent: serde_json::Value = serde_json::from_str(&receiver.bodies.lock().unwrap()[0]).unwrap();
    assert_eq!(
        sent["entry"][0]["resource"]["clinicalStatus"], "active",
        "STU3 has a code here"
    );
}

#[tokio::test]
async fn a_400_ends_in_the_dead_letter_with_the_receivers_reason() {
    let receiver = receiver(vec![400]).await;
    let store = store("dead");
    store
        .accept(message(1, &format!("http://{}/fhir", receiver.address)))
        .await
        .unwrap();
    deliver_until(&store, fast(), async || {
        states(&store, &["m1"]).await[0].0 == DeliveryState::Dead
    })
    .await;
    let record = store.message("m1").await.unwrap().unwrap();
    assert_eq!(record.deliveries[0].state, DeliveryState::Dead);
    assert_eq!(record.deliveries[0].attempts, 1);
    let reason = record.deliveries[0].last_error.clone().unwrap();
    assert!(
        reason.starts_with("400 Bad Request: {\"resourceType\":\"OperationOutcome\"}"),
        "{reason}"
    );
}

#[tokio::test]
async fn failures_are_retried_until_delivered() {
    let receiver = receiver(vec![503, 500, 200]).await;
    let store = store("retry");
    store
        .accept(message(1, &format!("http://{}/fhir", receiver.address)))
        .await
        .unwrap();
    deliver_until(&store, fast(), async || {
        states(&store, &["m1"]).await[0].0 == DeliveryState::Delivered
    })
    .await;
    assert_eq!(states(&store, &["m1"]).await, [(DeliveryState::Delivered, 3)]);
}

#[tokio::test]
async fn a_receiver_that_was_down_gets_everything_in_order() {
    // Reserve a port, keep it closed while messages queue up and fail.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let store = store("down");
    for n in 1..=5 {
        store
            .accept(message(n, &format!("http://{address}/fhir")))
            .await
            .unwrap();
    }
    deliver_until(&store, fast(), async || states(&store, &["m1"]).await[0].1 >= 2).await;
    assert_eq!(
        states(&store, &["m1", "m2"]).await,
        [(DeliveryState::Pending, 2), (DeliveryState::Pending, 0)]
    );

    let receiver = receiver_on(TcpListener::bind(address).await.unwrap(), vec![200]);
    let ids = ["m1", "m2", "m3", "m4", "m5"];
    deliver_until(&store, fast(), async || all_delivered(&store, &ids).await).await;
    let bodies = receiver.bodies.lock().unwrap().clone();
    let expected: Vec<String> = (1..=5).map(|n| format!("{{\"id\":\"m{n}\"}}")).collect();
    assert_eq!(bodies, expected);
}

/// Issue 20, point 4: a receiver's deliveries go in batches, one after
/// another; a failure in the middle of a batch stops it there, and the
/// rest follow in order once the failed one is delivered, each exactly once.
#[tokio::test]
async fn batches_keep_order_through_a_failure_in_the_middle() {
    const TOTAL: usize = 30;
    let mut statuses = vec![200; 10];
    statuses.push(503);
    statuses.push(200);
    let receiver = receiver(statuses).await;
    let store = store("batches");
    for n in 1..=TOTAL {
        store
            .accept(message(n, &format!("http://{}/fhir", receiver.address)))
            .await
            .unwrap();
    }
    let ids: Vec<String> = (1..=TOTAL).map(|n| format!("m{n}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let config = DeliveryConfig { batch: 8, ..fast() };
    deliver_until(&store, config, async || all_delivered(&store, &ids).await).await;
    let bodies = receiver.bodies.lock().unwrap().clone();
    let expected: Vec<String> = (1..=TOTAL).map(|n| format!("{{\"id\":\"m{n}\"}}")).collect();
    assert_eq!(bodies, expected, "in order, each once");
    let attempts: Vec<u32> = states(&store, &ids).await.iter().map(|s| s.1).collect();
    let mut once = vec![1; TOTAL];
    once[10] = 2;
    assert_eq!(attempts, once, "m11 was refused once and sent again; no other twice");
}

#[tokio::test]
async fn giving_up_after_max_attempts() {
    let receiver = receiver(vec![503]).await;
    let store = store("giveup");
    store
        .accept(message(1, &format!("http://{}/fhir", receiver.address)))
        .await
        .unwrap();
    let config = DeliveryConfig {
        max_attempts: 3,
        ..fast()
    };
    deliver_until(&store, config, async || {
        states(&store, &["m1"]).await[0].0 == DeliveryState::Dead
    })
    .await;
    let record = store.message("m1").await.unwrap().unwrap();
    assert_eq!(
        (record.deliveries[0].state, record.deliveries[0].attempts),
        (DeliveryState::Dead, 3)
    );
    assert!(
        record.deliveries[0]
            .last_error
            .as_deref()
            .unwrap()
            .starts_with("gave up after 3 attempts")
    );
}

/// An HL7 v2 receiver on MLLP answering with the ACK codes given, in turn
/// (the last repeats), recording the messages it took.
fn mllp_receiver(listener: TcpListener, codes: Vec<&'static str>) -> Receiver {
    let address = listener.local_addr().unwrap();
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&bodies);
    tokio::spawn(async move {
        let mut turn = 0;
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut frame = Vec::new();
            let mut buffer = [0; 8192];
            while !frame.ends_with(b"\x1c\r") {
                let n = socket.read(&mut buffer).await.unwrap();
                if n == 0 {
                    break;
                }
                frame.extend_from_slice(&buffer[..n]);
            }
            let code = codes[turn.min(codes.len() - 1)];
            turn += 1;
            if code == "AA" {
                seen.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&frame[1..frame.len() - 2]).into_owned());
            }
            let ack = format!(
                "\x0bMSH|^~\\&|RCV|RCV|HIS|RIJN|20260101||ACK^A01^ACK|1|P|2.5\rMSA|{code}|C1\rERR||PID^1^7|102|E||||bad date\r\x1c\r"
            );
            socket.write_all(ack.as_bytes()).await.unwrap();
        }
    });
    Receiver { address, bodies }
}

const V2: &str = "MSH|^~\\&|HIS|RIJN|||20260101||ADT^A01|C1|P|2.5\rPID|1||1^^^X^PI\r";

fn v2_message(endpoint: &str) -> NewMessage {
    NewMessage {
        body: V2.as_bytes().to_vec(),
        ..message(1, endpoint)
    }
}

#[tokio::test]
async fn hl7v2_receivers_get_the_message_over_mllp() {
    let receiver = mllp_receiver(TcpListener::bind("127.0.0.1:0").await.unwrap(), vec!["AR", "AA"]);
    let store = store("mllp");
    store
        .accept(v2_message(&format!("mllp://{}", receiver.address)))
        .await
        .unwrap();
    deliver_until(&store, fast(), async || {
        states(&store, &["m1"]).await[0].0 == DeliveryState::Delivered
    })
    .await;
    assert_eq!(
        states(&store, &["m1"]).await,
        [(DeliveryState::Delivered, 2)],
        "AR is retried"
    );
    assert_eq!(*receiver.bodies.lock().unwrap(), [V2]);
}

#[tokio::test]
async fn an_ae_from_an_mllp_receiver_is_a_dead_letter() {
    let receiver = mllp_receiver(TcpListener::bind("127.0.0.1:0").await.unwrap(), vec!["AE"]);
    let store = store("mllp-ae");
    store
        .accept(v2_message(&format!("mllp://{}", receiver.address)))
        .await
        .unwrap();
    deliver_until(&store, fast(), async || {
        states(&store, &["m1"]).await[0].0 == DeliveryState::Dead
    })
    .await;
    let record = store.message("m1").await.unwrap().unwrap();
    assert_eq!(record.deliveries[0].last_error.as_deref(), Some("AE: bad date"));
}

#[tokio::test]
async fn fhir_messages_reach_mllp_receivers_as_hl7v2() {
    let receiver = mllp_receiver(TcpListener::bind("127.0.0.1:0").await.unwrap(), vec!["AA"]);
    let store = store("mllp-fhir");
    let bundle = r#"{"resourceType":"Bundle","id":"b1","type":"transaction","entry":[{"fullUrl":"urn:uuid:6f1c1b5e-0000-4000-8000-000000000001","resource":{"resourceType":"Patient","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":"999911120"}],"name":[{"family":"Jansen","given":["Anna"]}],"gender":"female","birthDate":"1950-03-04"},"request":{"method":"PUT","url":"Patient?identifier=http://fhir.nl/fhir/NamingSystem/bsn|999911120"}}]}"#;
    store
        .accept(NewMessage {
            format: "fhir-r4".into(),
            body: bundle.as_bytes().to_vec(),
            ..message(1, &format!("mllp://{}", receiver.address))
        })
        .await
        .unwrap();
    deliver_until(&store, fast(), async || {
        states(&store, &["m1"]).await[0].0 == DeliveryState::Delivered
    })
    .await;
    let bodies = receiver.bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 1);
    assert!(bodies[0].starts_with("MSH|^~\\&|"), "{}", bodies[0]);
    assert!(bodies[0].contains("\rPID|"), "{}", bodies[0]);
    assert!(bodies[0].contains("999911120^^^NLMINBIZA^NNNLD"), "{}", bodies[0]);
}

/// A receiver that takes a little while per request and counts the POSTs it
/// gets per message (the body is `{"id":"m<n>"}`). Requests are served
/// concurrently, one per connection.
fn counting_receiver(listener: TcpListener, delay: Duration) -> Arc<Mutex<HashMap<String, usize>>> {
    let counts = Arc::new(Mutex::new(HashMap::new()));
    let seen = Arc::clone(&counts);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0; 8192];
                let body = loop {
                    let Ok(n) = socket.read(&mut buffer).await else { return };
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buffer[..n]);
                    let text = String::from_utf8_lossy(&request).into_owned();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let length: usize = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse().unwrap())
                            })
                            .unwrap_or(0);
                        if body.len() >= length {
                            break body.to_owned();
                        }
                    }
                };
                *seen.lock().unwrap().entry(body).or_insert(0) += 1;
                tokio::time::sleep(delay).await;
                let _ = socket
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    counts
}

/// Issue 16, point 4: a delivery read as due before its earlier attempt's
/// result was recorded was started again, so about 1% of deliveries reached
/// their receiver twice without any failure. Many receivers (so many
/// attempts run at once) and a slow answer keep that window open; every
/// delivery must be sent (one POST) exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_delivery_is_sent_once_while_attempts_overlap() {
    const RECEIVERS: usize = 50;
    const PER_RECEIVER: usize = 24;
    const TOTAL: usize = RECEIVERS * PER_RECEIVER;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let counts = counting_receiver(listener, Duration::from_millis(3));
    let store = store("once");
    for n in 0..TOTAL {
        let receiver = format!("r{}", n % RECEIVERS);
        store
            .accept(NewMessage {
                deliveries: vec![NewDelivery {
                    endpoint: format!("http://{address}/fhir/{receiver}"),
                    receiver,
                }],
                ..message(n, "")
            })
            .await
            .unwrap();
    }
    let config = DeliveryConfig {
        concurrency: 16,
        poll_interval_ms: 1,
        ..fast()
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let worker = tokio::spawn(
        Deliverer::new(store.clone(), config, client(), as_text(), None, Arc::default()).run(async {
            let _ = stopped.await;
        }),
    );
    let started = std::time::Instant::now();
    while store
        .deliveries(DeliveryState::Delivered, TOTAL + 1)
        .await
        .unwrap()
        .len()
        < TOTAL
        && started.elapsed() < Duration::from_secs(60)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Attempts started from a stale read may still be on their way.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.send(()).unwrap();
    worker.await.unwrap();

    let counts = counts.lock().unwrap().clone();
    let twice: Vec<(&String, &usize)> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "{} of {TOTAL} deliveries were sent more than once, e.g. {:?}",
        twice.len(),
        &twice[..twice.len().min(5)]
    );
    assert_eq!(counts.len(), TOTAL, "every delivery was sent");
    let pending = store.deliveries(DeliveryState::Pending, TOTAL + 1).await.unwrap();
    assert!(pending.is_empty(), "{} still pending", pending.len());
}
