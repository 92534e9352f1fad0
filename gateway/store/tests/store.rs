//! The store suite, run on both backends (SQLite and PostgreSQL): accept
//! with de-duplication, the delivery queue's states and claims, order per
//! receiver, persistence across reopening, concurrency, the audit chain with
//! several writers, purging, handover Tasks.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Db, Postgres, Sqlite};
use zorgpoort_audit::{Action, AuditEvent, Outcome};
use zorgpoort_store::{
    Accepted, Attempt, ClaimSize, DeliveryState, Durability, NewDelivery, NewMessage, SqliteStore, Store, TaskRecord,
};

/// Each test once per backend, on a database of its own.
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(super::Sqlite::new(stringify!($test))).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(super::Postgres::new(stringify!($test)).await).await;
                }
            )*
        }
    };
}

on_both_backends!(
    a_resend_is_recognised_and_not_stored_twice,
    a_control_id_is_per_authenticated_organisation_and_reuse_with_other_content_is_reported,
    deliveries_move_through_their_states,
    a_receiver_gets_its_messages_in_order,
    a_receivers_deliveries_are_claimed_as_a_run_from_its_oldest,
    a_claimed_delivery_is_handed_out_once_until_recorded_or_expired,
    everything_survives_reopening,
    concurrent_accepts_are_all_committed,
    audit_records_are_chained,
    purging_after_the_retention_period_keeps_the_chain_verifiable,
    two_writers_appending_to_one_audit_log_keep_one_chain,
    handover_tasks_change_one_version_at_a_time,
    a_patients_messages_are_found_newest_first,
    a_one_time_key_is_used_once_until_it_expires,
);

fn accept_event(id: &str) -> AuditEvent {
    let mut event = AuditEvent::new("accept", Action::Create, 1_000, Outcome::Success);
    event.patient = Some("999911120".into());
    event.who = Some(format!("HIS ({id})"));
    event
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
        patient: Some("999911120".into()),
        audit: vec![accept_event(id)],
        origin: None,
        content_hash: None,
    }
}

async fn a_resend_is_recognised_and_not_stored_twice(db: impl Db) {
    let store = db.open().await;
    assert_eq!(
        store.accept(message("m1", "MSG1", &["vvt"])).await.unwrap(),
        Accepted::New("m1".into())
    );
    assert_eq!(
        store.accept(message("m2", "MSG1", &["vvt"])).await.unwrap(),
        Accepted::Duplicate("m1".into())
    );
    assert!(store.message("m2").await.unwrap().is_none());
    let kept = store.message("m1").await.unwrap().unwrap();
    assert_eq!(kept.deliveries.len(), 1);
    assert_eq!(kept.patient.as_deref(), Some("999911120"));
    assert_eq!(
        store.message_body("m1").await.unwrap().as_deref(),
        Some(b"MSH|^~\\&|m1".as_slice())
    );
    assert!(store.message_body("m2").await.unwrap().is_none());
}

async fn a_control_id_is_per_authenticated_organisation_and_reuse_with_other_content_is_reported(db: impl Db) {
    let store = db.open().await;
    let from = |id: &str, origin: Option<&str>, hash: &str| NewMessage {
        origin: origin.map(str::to_owned),
        content_hash: Some(hash.to_owned()),
        ..message(id, "MSG1", &["vvt"])
    };
    // A squatter (another organisation, or no authentication) takes the control id first.
    assert_eq!(
        store
            .accept(from("squat", Some("verpleeghuis"), "h-forged"))
            .await
            .unwrap(),
        Accepted::New("squat".into())
    );
    assert_eq!(
        store.accept(from("anon", None, "h-forged")).await.unwrap(),
        Accepted::New("anon".into())
    );
    // The real message is stored, not taken for the squatter's duplicate.
    assert_eq!(
        store.accept(from("real", Some("ziekenhuis"), "h-real")).await.unwrap(),
        Accepted::New("real".into())
    );
    assert_eq!(
        store
            .accept(from("resend", Some("ziekenhuis"), "h-real"))
            .await
            .unwrap(),
        Accepted::Duplicate("real".into())
    );
    // The same control id with other content: reported, nothing stored.
    assert_eq!(
        store
            .accept(from("other", Some("ziekenhuis"), "h-other"))
            .await
            .unwrap(),
        Accepted::Reused("real".into())
    );
    assert!(store.message("other").await.unwrap().is_none());
    assert_eq!(store.message("real").await.unwrap().unwrap().deliveries.len(), 1);
    // Rows without a hash (derived documents) are not compared.
    let unhashed = NewMessage {
        content_hash: None,
        ..from("unhashed", Some("ziekenhuis"), "")
    };
    assert_eq!(
        store.accept(unhashed).await.unwrap(),
        Accepted::Duplicate("real".into())
    );
}

async fn deliveries_move_through_their_states(db: impl Db) {
    let store = db.open().await;
    store.accept(message("m1", "A", &["vvt", "gp"])).await.unwrap();
    let due = store.claim_due("a", 1_000, 2_000, ClaimSize::heads(10)).await.unwrap();
    assert_eq!(due.len(), 2);
    assert_eq!(
        (due[0].format.as_str(), due[0].body.as_slice()),
        ("hl7v2", b"MSH|^~\\&|m1".as_slice())
    );
    let (vvt, gp) = (due[0].delivery.id, due[1].delivery.id);

    assert!(store.record(vvt, "a", Attempt::Delivered, 1_100, None).await.unwrap());
    store
        .record(
            gp,
            "a",
            Attempt::Retry {
                at_ms: 5_000,
                error: "503 Service Unavailable".into(),
            },
            1_100,
            None,
        )
        .await
        .unwrap();
    assert!(
        store
            .claim_due("b", 4_999, 6_000, ClaimSize::heads(10))
            .await
            .unwrap()
            .is_empty(),
        "a retry waits for its time"
    );
    assert_eq!(
        store
            .claim_due("b", 5_000, 6_000, ClaimSize::heads(10))
            .await
            .unwrap()
            .len(),
        1
    );

    store
        .record(
            gp,
            "b",
            Attempt::Dead {
                error: "400: invalid Bundle".into(),
            },
            5_100,
            None,
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
        "only a dead or withheld delivery can be retried"
    );
    assert_eq!(
        store.claim_due("c", 6_000, 7_000, ClaimSize::heads(10)).await.unwrap()[0]
            .delivery
            .id,
        gp
    );

    // The queue's depth: gp's delivery given up again, m2's two waiting;
    // m1's delivered one is not counted.
    assert!(
        store
            .record(gp, "c", Attempt::Dead { error: "gone".into() }, 6_100, None)
            .await
            .unwrap()
    );
    store.accept(message("m2", "B", &["gp", "vvt"])).await.unwrap();
    let undelivered: Vec<(String, DeliveryState, u64)> = store
        .undelivered()
        .await
        .unwrap()
        .into_iter()
        .map(|u| (u.receiver, u.state, u.count))
        .collect();
    assert_eq!(
        undelivered,
        [
            ("gp".to_owned(), DeliveryState::Dead, 1),
            ("gp".to_owned(), DeliveryState::Pending, 1),
            ("vvt".to_owned(), DeliveryState::Pending, 1),
        ]
    );
}

async fn a_receiver_gets_its_messages_in_order(db: impl Db) {
    let store = db.open().await;
    store.accept(message("m1", "A", &["vvt"])).await.unwrap();
    store.accept(message("m2", "B", &["vvt", "gp"])).await.unwrap();
    let claimed = store.claim_due("a", 1_000, 1_500, ClaimSize::heads(10)).await.unwrap();
    let due: Vec<(&str, &str)> = claimed
        .iter()
        .map(|d| (d.delivery.message_id.as_str(), d.delivery.receiver.as_str()))
        .collect();
    assert_eq!(due, [("m1", "vvt"), ("m2", "gp")]);
    let first = claimed[0].delivery.id;
    store
        .record(
            first,
            "a",
            Attempt::Retry {
                at_ms: 9_000,
                error: "down".into(),
            },
            1_000,
            None,
        )
        .await
        .unwrap();
    // m2 for gp is due again: its claim's lease ran out at 1,500.
    let waiting: Vec<String> = store
        .claim_due("b", 2_000, 10_000, ClaimSize::heads(10))
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.delivery.message_id)
        .collect();
    assert_eq!(waiting, ["m2"], "m2 for vvt waits behind m1");
    let again = store.claim_due("c", 9_000, 10_000, ClaimSize::heads(10)).await.unwrap();
    assert_eq!(again.iter().map(|d| d.delivery.id).collect::<Vec<_>>(), [first]);
    assert!(store.record(first, "c", Attempt::Delivered, 9_000, None).await.unwrap());
    let next: Vec<(String, String)> = store
        .claim_due("d", 9_000, 10_000, ClaimSize::heads(10))
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.delivery.message_id, d.delivery.receiver))
        .collect();
    assert_eq!(
        next,
        [("m2".to_owned(), "vvt".to_owned())],
        "m2 for gp is still claimed by b"
    );
}

/// Issue 20, point 4: a receiver's deliveries are handed out as a batch
/// (the run from its oldest pending one, each due and held by no one) so
/// they can be sent one after another without a claim each; what a batch
/// did not attempt is released and stays in order.
async fn a_receivers_deliveries_are_claimed_as_a_run_from_its_oldest(db: impl Db) {
    let store = db.open().await;
    for (n, receivers) in [&["vvt"][..], &["vvt", "gp"], &["vvt"], &["vvt"], &["gp"]]
        .iter()
        .enumerate()
    {
        let id = format!("m{}", n + 1);
        store.accept(message(&id, &id, receivers)).await.unwrap();
    }
    let batch = |due: &[zorgpoort_store::DueDelivery]| -> Vec<(String, String)> {
        due.iter()
            .map(|d| (d.delivery.receiver.clone(), d.delivery.message_id.clone()))
            .collect()
    };
    let pair = |r: &str, m: &str| (r.to_owned(), m.to_owned());
    let size = ClaimSize {
        receivers: 10,
        per_receiver: 3,
    };
    let claimed = store.claim_due("a", 1_000, 9_000, size).await.unwrap();
    assert_eq!(
        batch(&claimed),
        [
            pair("vvt", "m1"),
            pair("vvt", "m2"),
            pair("vvt", "m3"),
            pair("gp", "m2"),
            pair("gp", "m5"),
        ],
        "per receiver, oldest head first, at most three each"
    );
    assert!(
        store.claim_due("b", 1_000, 9_000, size).await.unwrap().is_empty(),
        "a receiver whose head is claimed has nothing due, not even m4"
    );
    // vvt's m1 delivered, m2 to be retried at 5,000: m3 is released unsent.
    let (m1, m2, m3) = (claimed[0].delivery.id, claimed[1].delivery.id, claimed[2].delivery.id);
    assert!(store.record(m1, "a", Attempt::Delivered, 1_100, None).await.unwrap());
    let retry = Attempt::Retry {
        at_ms: 5_000,
        error: "503".into(),
    };
    assert!(store.record(m2, "a", retry, 1_100, None).await.unwrap());
    store.release("a", &[m3]).await.unwrap();
    store.release("b", &[claimed[3].delivery.id]).await.unwrap();
    assert!(
        store.claim_due("c", 1_200, 9_000, size).await.unwrap().is_empty(),
        "m2 waits for its time, m3 and m4 behind it; gp's stay claimed by a (b cannot release them)"
    );
    let again = store.claim_due("d", 5_000, 9_000, ClaimSize::heads(1)).await.unwrap();
    assert_eq!(batch(&again), [pair("vvt", "m2")], "one receiver, one delivery");
    store.release("d", &[again[0].delivery.id]).await.unwrap();
    let rest = store.claim_due("e", 5_000, 9_000, size).await.unwrap();
    assert_eq!(batch(&rest), [pair("vvt", "m2"), pair("vvt", "m3"), pair("vvt", "m4")]);
}

/// Issue 16, point 4: a delivery read as due while its attempt was still
/// being recorded was sent again. A claim hands a delivery to one attempt
/// until its result is recorded under that claim or its lease runs out.
async fn a_claimed_delivery_is_handed_out_once_until_recorded_or_expired(db: impl Db) {
    let store = db.open().await;
    store.accept(message("m1", "A", &["vvt"])).await.unwrap();
    let claimed = store.claim_due("a", 1_000, 31_000, ClaimSize::heads(10)).await.unwrap();
    assert_eq!((claimed.len(), claimed[0].claim.as_str()), (1, "a"));
    let id = claimed[0].delivery.id;
    assert!(
        store
            .claim_due("b", 1_000, 61_000, ClaimSize::heads(10))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .claim_due("b", 30_999, 61_000, ClaimSize::heads(10))
            .await
            .unwrap()
            .is_empty()
    );

    // Worker a is taken for dead; c takes over, and a's late result is not recorded.
    let taken = store
        .claim_due("c", 31_000, 61_000, ClaimSize::heads(10))
        .await
        .unwrap();
    assert_eq!(taken.iter().map(|d| d.delivery.id).collect::<Vec<_>>(), [id]);
    let audited = store.audit_log(0, i64::MAX, None).await.unwrap().len();
    let late = AuditEvent::new("deliver", Action::Execute, 32_000, Outcome::Success);
    assert!(
        !store
            .record(id, "a", Attempt::Delivered, 32_000, Some(late))
            .await
            .unwrap()
    );
    let record = store.message("m1").await.unwrap().unwrap();
    assert_eq!(
        (record.deliveries[0].state, record.deliveries[0].attempts),
        (DeliveryState::Pending, 0)
    );
    assert_eq!(
        store.audit_log(0, i64::MAX, None).await.unwrap().len(),
        audited + 1,
        "the attempt happened, so it is audited"
    );

    let retry = Attempt::Retry {
        at_ms: 40_000,
        error: "503".into(),
    };
    assert!(store.record(id, "c", retry, 33_000, None).await.unwrap());
    assert!(
        store
            .claim_due("d", 39_999, 99_000, ClaimSize::heads(10))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .claim_due("d", 40_000, 99_000, ClaimSize::heads(10))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(store.record(id, "d", Attempt::Delivered, 41_000, None).await.unwrap());
    assert!(
        store
            .claim_due("e", 200_000, 300_000, ClaimSize::heads(10))
            .await
            .unwrap()
            .is_empty()
    );
    let record = store.message("m1").await.unwrap().unwrap();
    assert_eq!(
        (record.deliveries[0].state, record.deliveries[0].attempts),
        (DeliveryState::Delivered, 2)
    );
}

async fn everything_survives_reopening(db: impl Db) {
    {
        let store = db.open().await;
        store.accept(message("m1", "A", &["vvt"])).await.unwrap();
    }
    let store = db.open().await;
    store.ready().await.unwrap();
    let record = store.message("m1").await.unwrap().unwrap();
    assert_eq!(
        (record.sender.as_str(), record.control_id.as_str()),
        ("HIS/RIJNSTATE", "A")
    );
    assert_eq!(
        store
            .claim_due("a", 1_000, 2_000, ClaimSize::heads(10))
            .await
            .unwrap()
            .len(),
        1
    );
}

/// As many accepts at once as the gateway lets in by default
/// (`server.max_concurrent_requests`): none waits for a connection or the
/// writer so long that it fails.
async fn concurrent_accepts_are_all_committed(db: impl Db) {
    const AT_ONCE: usize = 512;
    let store = db.open().await;
    let tasks: Vec<_> = (0..AT_ONCE)
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
        AT_ONCE
    );
}

async fn audit_records_are_chained<D: Db>(db: D) -> D {
    let store = db.open().await;
    for n in 0..5 {
        store
            .accept(message(&format!("m{n}"), &format!("A{n}"), &["vvt"]))
            .await
            .unwrap();
    }
    let delivery = store.claim_due("a", 1_000, 2_000, ClaimSize::heads(1)).await.unwrap()[0]
        .delivery
        .id;
    let mut sent = AuditEvent::new("deliver", Action::Execute, 2_000, Outcome::Success);
    sent.organization = Some("vvt".into());
    store
        .record(delivery, "a", Attempt::Delivered, 2_000, Some(sent))
        .await
        .unwrap();
    assert_eq!(store.verify_audit().await.unwrap(), Ok(6));
    let for_patient = store.audit_log(0, i64::MAX, Some("999911120")).await.unwrap();
    assert_eq!(for_patient.len(), 5);
    assert!(
        store
            .audit_log(0, 1_500, None)
            .await
            .unwrap()
            .iter()
            .all(|r| r.recorded_ms < 1_500)
    );
    db
}

/// Appending is all the store's own connection may do, and someone with
/// the file who drops the guards is found by every kind of change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_audit_tampering_is_found() {
    let db = audit_records_are_chained(Sqlite::new("sqlite-tamper")).await;
    let path = db.0;
    let raw = rusqlite::Connection::open(&path).unwrap();
    let refused = raw.execute("UPDATE audit_log SET event = 'x' WHERE sequence = 2", []);
    assert!(refused.unwrap_err().to_string().contains("append-only"));

    raw.execute_batch("DROP TRIGGER audit_log_append_only_update; DROP TRIGGER audit_log_append_only_delete;")
        .unwrap();
    // Fold the WAL into the file, so a copy of the file holds everything.
    raw.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    let check = |sql: &str, expected: i64| {
        let copy = path.with_extension(format!("tamper{expected}"));
        std::fs::copy(&path, &copy).unwrap();
        let tampered = rusqlite::Connection::open(&copy).unwrap();
        tampered.execute_batch(sql).unwrap();
        drop(tampered);
        let runtime = tokio::runtime::Handle::current();
        let store = SqliteStore::open(&copy, Durability::ProcessCrash).unwrap();
        let result = tokio::task::block_in_place(|| runtime.block_on(store.verify_audit())).unwrap();
        assert_eq!(result.map_err(|b| b.sequence), Err(expected), "{sql}");
    };
    check(
        "UPDATE audit_log SET event = replace(event, '999911120', '999911121') WHERE sequence = 3",
        3,
    );
    check("DELETE FROM audit_log WHERE sequence = 2", 2);
    check(
        "UPDATE audit_log SET sequence = -1 WHERE sequence = 2; UPDATE audit_log SET sequence = 2 WHERE sequence = 3; \
         UPDATE audit_log SET sequence = 3 WHERE sequence = -1; \
         CREATE TABLE t AS SELECT * FROM audit_log ORDER BY sequence; DELETE FROM audit_log; INSERT INTO audit_log SELECT * FROM t;",
        2,
    );
    check(
        "INSERT INTO audit_log SELECT 7, recorded_ms, patient, organization, event, previous, hash, anchored, purged_through, purged_hash \
         FROM audit_log WHERE sequence = 4; \
         UPDATE audit_log SET sequence = sequence + 100 WHERE sequence >= 4 AND sequence < 7; \
         UPDATE audit_log SET sequence = 4 WHERE sequence = 7; UPDATE audit_log SET sequence = sequence - 100 + 1 WHERE sequence > 100;",
        5,
    );
}

async fn purging_after_the_retention_period_keeps_the_chain_verifiable(db: impl Db) {
    let store = db.open().await;
    for t in 1..=10 {
        store
            .audit(AuditEvent::new("read", Action::Read, t * 1_000, Outcome::Success))
            .await
            .unwrap();
    }
    let purge = AuditEvent::new("purge", Action::Delete, 20_000, Outcome::Success);
    assert_eq!(store.purge_audit(4_500, purge).await.unwrap(), 4);
    assert_eq!(
        store.verify_audit().await.unwrap(),
        Ok(7),
        "6 kept + the purge's own record"
    );
    assert_eq!(store.audit_log(0, i64::MAX, None).await.unwrap()[0].sequence, 5);
    // Nothing to purge the second time; the chain goes on from the checkpoint.
    let again = AuditEvent::new("purge", Action::Delete, 21_000, Outcome::Success);
    assert_eq!(store.purge_audit(4_500, again).await.unwrap(), 0);
    store
        .audit(AuditEvent::new("read", Action::Read, 22_000, Outcome::Success))
        .await
        .unwrap();
    assert_eq!(store.verify_audit().await.unwrap(), Ok(9));
}

/// The gateway and a `zorgpoort` admin command each open the store; on
/// PostgreSQL, also two replicas.
async fn two_writers_appending_to_one_audit_log_keep_one_chain(db: impl Db) {
    let gateway = db.open().await;
    let admin = db.open().await;
    let writes: Vec<_> = (0..20)
        .map(|n| {
            let (gateway, admin) = (gateway.clone(), admin.clone());
            tokio::spawn(async move {
                gateway.audit(accept_event(&format!("g{n}"))).await.unwrap();
                admin.audit(accept_event(&format!("a{n}"))).await.unwrap();
            })
        })
        .collect();
    for write in writes {
        write.await.unwrap();
    }
    gateway.accept(message("m1", "A", &["vvt"])).await.unwrap();
    assert_eq!(admin.verify_audit().await.unwrap(), Ok(41));
    assert_eq!(gateway.verify_audit().await.unwrap(), Ok(41));
}

/// The database refuses changes to the audit log; a superuser who drops
/// the guard is found by the MACs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_audit_tampering_is_found() {
    let db = audit_records_are_chained(Postgres::new("postgres-tamper").await).await;
    let raw = db.raw().await;
    let refused = raw
        .batch_execute("UPDATE audit_log SET event = 'x' WHERE sequence = 2")
        .await
        .unwrap_err();
    assert!(format!("{refused:?}").contains("append-only"), "{refused:?}");
    let refused = raw
        .batch_execute("DELETE FROM audit_log WHERE sequence = 2")
        .await
        .unwrap_err();
    assert!(format!("{refused:?}").contains("append-only"), "{refused:?}");

    raw.batch_execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        .await
        .unwrap();
    raw.batch_execute(
        "UPDATE audit_log SET event = replace(event, '999911120', '999911121') WHERE sequence = 3; \
         UPDATE audit_log SET patient = '999911121' WHERE sequence = 4",
    )
    .await
    .unwrap();
    let store = db.open().await;
    assert_eq!(store.verify_audit().await.unwrap().map_err(|b| b.sequence), Err(3));
    raw.batch_execute("DELETE FROM audit_log WHERE sequence <= 3")
        .await
        .unwrap();
    assert_eq!(store.verify_audit().await.unwrap().map_err(|b| b.sequence), Err(1));
}

/// Records appended on their own by many callers at once (synchronous
/// conversions) are committed in groups, each caller answered once its
/// record is committed: far fewer transactions than records, one chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_commits_concurrent_audit_records_in_groups() {
    const AT_ONCE: usize = 200;
    let db = Postgres::new("postgres-audit-groups").await;
    let store = db.open().await;
    let appends: Vec<_> = (0..AT_ONCE)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move { store.audit(accept_event(&format!("m{n}"))).await })
        })
        .collect();
    for append in appends {
        append.await.unwrap().unwrap();
    }
    assert_eq!(store.verify_audit().await.unwrap(), Ok(AT_ONCE as u64));
    // Each row's xmin is the transaction that inserted it.
    let transactions: i64 = db
        .raw()
        .await
        .query_one("SELECT count(DISTINCT xmin::text) FROM audit_log", &[])
        .await
        .unwrap()
        .get(0);
    assert!(
        usize::try_from(transactions).unwrap() < AT_ONCE / 4,
        "{transactions} transactions for {AT_ONCE} records"
    );
}

fn task(version: i64, status: &str) -> TaskRecord {
    TaskRecord {
        id: "t1".into(),
        requester: "ziekenhuis".into(),
        owner: "vvt".into(),
        patient: Some("999911120".into()),
        status: status.into(),
        document: "m1".into(),
        composition: "c1".into(),
        resource: format!(r#"{{"resourceType":"Task","status":"{status}"}}"#),
        version,
        created_ms: 1_000,
        updated_ms: 1_000 + version,
        due_ms: 5_000,
        notified_ms: None,
        flagged: false,
    }
}

async fn handover_tasks_change_one_version_at_a_time(db: impl Db) {
    let store = db.open().await;
    store.accept(message("m1", "MSG1", &[])).await.unwrap();
    let created = AuditEvent::new("handover", Action::Create, 1_000, Outcome::Success);
    assert!(
        store
            .put_task(task(1, "requested"), vec![created.clone()])
            .await
            .unwrap()
    );
    assert!(
        !store.put_task(task(1, "requested"), vec![created]).await.unwrap(),
        "a second create of the same id is refused"
    );
    // Not notified yet: the gateway must follow it up.
    let to_follow = store.tasks_to_follow(2_000, 10).await.unwrap();
    assert_eq!(to_follow.len(), 1);

    let mut notified = task(2, "requested");
    notified.notified_ms = Some(2_000);
    assert!(store.put_task(notified, Vec::new()).await.unwrap());
    assert!(
        store.tasks_to_follow(2_000, 10).await.unwrap().is_empty(),
        "notified, not yet due"
    );
    assert_eq!(
        store.tasks_to_follow(5_000, 10).await.unwrap().len(),
        1,
        "due for pickup"
    );

    let mut accepted = task(3, "accepted");
    accepted.notified_ms = Some(2_000);
    assert!(store.put_task(accepted.clone(), Vec::new()).await.unwrap());
    assert!(
        !store.put_task(accepted, Vec::new()).await.unwrap(),
        "a change based on an old version is refused"
    );
    assert!(store.tasks_to_follow(9_000, 10).await.unwrap().is_empty(), "picked up");

    let stored = store.task("t1").await.unwrap().unwrap();
    assert_eq!((stored.version, stored.status.as_str()), (3, "accepted"));
    assert_eq!(store.task_of_composition("c1").await.unwrap().unwrap().id, "t1");
    assert_eq!(store.tasks("vvt", 10).await.unwrap().len(), 1);
    assert_eq!(store.tasks("ziekenhuis", 10).await.unwrap().len(), 1);
    assert!(store.tasks("huisarts", 10).await.unwrap().is_empty());
    assert!(store.task("t2").await.unwrap().is_none());
}

async fn a_patients_messages_are_found_newest_first(db: impl Db) {
    let store = db.open().await;
    for (n, received_ms) in [(1, 3_000), (2, 1_000), (3, 2_000)] {
        let mut m = message(&format!("m{n}"), &format!("C{n}"), &[]);
        m.received_ms = received_ms;
        store.accept(m).await.unwrap();
    }
    let mut other = message("m4", "C4", &[]);
    other.patient = Some("999990627".into());
    store.accept(other).await.unwrap();
    assert_eq!(store.messages_of("999911120", 10).await.unwrap(), ["m1", "m3", "m2"]);
    assert_eq!(store.messages_of("999911120", 2).await.unwrap(), ["m1", "m3"]);
    assert_eq!(store.messages_of("999990627", 10).await.unwrap(), ["m4"]);
}

/// A database that cannot be reached is an error at start, naming where
/// it is but never the password; so is a URL that asks for TLS without a
/// CA to check the server against.
#[tokio::test]
async fn postgres_connection_errors_are_clear_and_keep_the_password() {
    let dir = std::env::temp_dir().join(format!("zorgpoort-store-unreachable-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let audit = zorgpoort_store::AuditSettings::beside(&dir.join("zorgpoort.db")).unwrap();
    let settings = |url: &str| zorgpoort_store::PostgresSettings {
        url: url.to_owned(),
        ca_file: None,
        max_connections: 1,
    };
    let refused = zorgpoort_store::PostgresStore::connect(&settings("postgres://zp:s3cret@127.0.0.1:1/region"), &audit)
        .await
        .unwrap_err()
        .to_string();
    assert!(!refused.contains("s3cret"), "{refused}");
    let tls = zorgpoort_store::PostgresStore::connect(
        &settings("postgres://zp:s3cret@127.0.0.1:1/region?sslmode=require"),
        &audit,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(tls.contains("store.ca_file") && !tls.contains("s3cret"), "{tls}");
    assert_eq!(
        zorgpoort_store::PostgresSettings::location_of("postgres://zp:s3cret@db.regio.example:5433/region"),
        "PostgreSQL database \"region\" on db.regio.example:5433"
    );
}

/// A client assertion's jti is accepted once, by whichever gateway on the
/// store sees it first; forgotten once it has expired.
async fn a_one_time_key_is_used_once_until_it_expires(db: impl Db) {
    let (one, other) = (db.open().await, db.open().await);
    assert!(one.first_use("client jti-1", 1_000, 5_000).await.unwrap());
    assert!(
        !other.first_use("client jti-1", 2_000, 6_000).await.unwrap(),
        "replayed at another gateway"
    );
    assert!(other.first_use("client jti-2", 2_000, 6_000).await.unwrap());
    assert!(
        one.first_use("client jti-1", 5_000, 9_000).await.unwrap(),
        "expired, so forgotten"
    );
}
