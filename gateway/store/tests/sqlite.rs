//! The SQLite store: accept with de-duplication, the delivery queue's states,
//! persistence across reopening, and group commit under concurrency.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use zorgpoort_store::{Accepted, Attempt, DeliveryState, Durability, NewDelivery, NewMessage, SqliteStore, Store};

fn temp_db(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zorgpoort-store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("zorgpoort.db")
}

fn message(id: &str, control_id: &str, receivers: &[&str]) -> NewMessage {
    NewMessage {
        id: id.to_owned(),
        sender: "HIS/RIJNSTATE".to_owned(),
        control_id: control_id.to_owned(),
        format: "hl7v2".to_owned(),
        body: format!("MSH|^~\\&|{id}").into_bytes(),
        deliveries: receivers
            .iter()
            .map(|r| NewDelivery {
                receiver: (*r).to_owned(),
                endpoint: format!("http://127.0.0.1:9/{r}"),
            })
            .collect(),
        received_ms: 1_000,
    }
}

#[tokio::test]
async fn a_resend_is_recognised_and_not_stored_twice() {
    let store = SqliteStore::open(&temp_db("dedupe"), Durability::ProcessCrash).unwrap();
    assert_eq!(
        store.accept(message("m1", "MSG1", &["vvt"])).await.unwrap(),
        Accepted::New("m1".into())
    );
    assert_eq!(
        store.accept(message("m2", "MSG1", &["vvt"])).await.unwrap(),
        Accepted::Duplicate("m1".into())
    );
    assert!(store.message("m2").await.unwrap().is_none());
    assert_eq!(store.message("m1").await.unwrap().unwrap().deliveries.len(), 1);
}

#[tokio::test]
async fn deliveries_move_through_their_states() {
    let store = SqliteStore::open(&temp_db("states"), Durability::ProcessCrash).unwrap();
    store.accept(message("m1", "A", &["vvt", "gp"])).await.unwrap();
    let due = store.due(1_000, 10).await.unwrap();
    assert_eq!(due.len(), 2);
    assert_eq!(
        (due[0].format.as_str(), due[0].body.as_slice()),
        ("hl7v2", b"MSH|^~\\&|m1".as_slice())
    );
    let (vvt, gp) = (due[0].delivery.id, due[1].delivery.id);

    store.record(vvt, Attempt::Delivered, 1_100).await.unwrap();
    store
        .record(
            gp,
            Attempt::Retry {
                at_ms: 5_000,
                error: "503 Service Unavailable".into(),
            },
            1_100,
        )
        .await
        .unwrap();
    assert!(
        store.due(4_999, 10).await.unwrap().is_empty(),
        "a retry waits for its time"
    );
    assert_eq!(store.due(5_000, 10).await.unwrap().len(), 1);

    store
        .record(
            gp,
            Attempt::Dead {
                error: "400: invalid Bundle".into(),
            },
            5_100,
        )
        .await
        .unwrap();
    let record = store.message("m1").await.unwrap().unwrap();
    let states: Vec<(DeliveryState, u32)> = record.deliveries.iter().map(|d| (d.state, d.attempts)).collect();
    assert_eq!(states, [(DeliveryState::Delivered, 1), (DeliveryState::Dead, 2)]);
    assert_eq!(record.deliveries[1].last_error.as_deref(), Some("400: invalid Bundle"));

    let dead = store.deliveries(DeliveryState::Dead, 10).await.unwrap();
    assert_eq!(dead.iter().map(|d| d.id).collect::<Vec<_>>(), [gp]);
    assert!(store.retry(gp, 6_000).await.unwrap());
    assert!(
        !store.retry(gp, 6_000).await.unwrap(),
        "only a dead delivery can be retried"
    );
    assert_eq!(store.due(6_000, 10).await.unwrap()[0].delivery.id, gp);
}

#[tokio::test]
async fn a_receiver_gets_its_messages_in_order() {
    let store = SqliteStore::open(&temp_db("order"), Durability::ProcessCrash).unwrap();
    store.accept(message("m1", "A", &["vvt"])).await.unwrap();
    store.accept(message("m2", "B", &["vvt", "gp"])).await.unwrap();
    let due: Vec<(String, String)> = store
        .due(1_000, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.delivery.message_id, d.delivery.receiver))
        .collect();
    assert_eq!(
        due,
        [("m1".to_owned(), "vvt".to_owned()), ("m2".to_owned(), "gp".to_owned())]
    );
    let first = store.due(1_000, 10).await.unwrap()[0].delivery.id;
    store
        .record(
            first,
            Attempt::Retry {
                at_ms: 9_000,
                error: "down".into(),
            },
            1_000,
        )
        .await
        .unwrap();
    let waiting: Vec<String> = store
        .due(2_000, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.delivery.message_id)
        .collect();
    assert_eq!(waiting, ["m2"], "m2 for vvt waits behind m1");
    store.record(first, Attempt::Delivered, 9_000).await.unwrap();
    let next: Vec<String> = store
        .due(9_000, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.delivery.message_id)
        .collect();
    assert_eq!(next, ["m2", "m2"]);
}

#[tokio::test]
async fn everything_survives_reopening() {
    let path = temp_db("reopen");
    {
        let store = SqliteStore::open(&path, Durability::PowerLoss).unwrap();
        store.accept(message("m1", "A", &["vvt"])).await.unwrap();
    }
    let store = SqliteStore::open(&path, Durability::PowerLoss).unwrap();
    store.ready().await.unwrap();
    let record = store.message("m1").await.unwrap().unwrap();
    assert_eq!(
        (record.sender.as_str(), record.control_id.as_str()),
        ("HIS/RIJNSTATE", "A")
    );
    assert_eq!(store.due(1_000, 10).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_accepts_are_all_committed() {
    let store = SqliteStore::open(&temp_db("group"), Durability::PowerLoss).unwrap();
    let tasks: Vec<_> = (0..2_000)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .accept(message(&format!("m{n}"), &format!("C{n}"), &["vvt"]))
                    .await
            })
        })
        .collect();
    for task in tasks {
        assert!(matches!(task.await.unwrap().unwrap(), Accepted::New(_)));
    }
    assert_eq!(
        store.deliveries(DeliveryState::Pending, 5_000).await.unwrap().len(),
        2_000
    );
}
