//! `zorgpoort store backup` and `store migrate`: a SQLite store copied
//! online, and moved into PostgreSQL with every table and an audit chain
//! that still verifies there.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Db, Postgres, Sqlite};
use zorgpoort_audit::{Action, AuditEvent, Outcome};
use zorgpoort_store::{
    Accepted, Attempt, AuditSettings, ClaimSize, ConsentRecord, DeliveryState, NewDelivery, NewMessage,
    PostgresSettings, Store, TaskRecord, backup_sqlite, sqlite_to_postgres,
};

fn message(n: u32) -> NewMessage {
    let mut audit = AuditEvent::new("accept", Action::Create, i64::from(n) * 1_000, Outcome::Success);
    audit.patient = Some("999911120".into());
    NewMessage {
        id: format!("m{n}"),
        sender: "HIS/RIJNSTATE".into(),
        control_id: format!("C{n}"),
        format: "hl7v2".into(),
        body: format!("MSH|^~\\&|{n}").into_bytes(),
        deliveries: vec![NewDelivery {
            receiver: "vvt".into(),
            endpoint: "http://127.0.0.1:9/fhir".into(),
        }],
        received_ms: i64::from(n) * 1_000,
        patient: Some("999911120".into()),
        audit: vec![audit],
        origin: Some("rijnstate".into()),
        content_hash: Some(format!("h{n}")),
    }
}

/// A SQLite store with something in every table: messages (one delivered),
/// a consent, a Task, and an audit chain with a purge checkpoint.
async fn filled_sqlite(name: &str) -> Sqlite {
    let db = Sqlite::new(name);
    let store = db.open().await;
    for n in 1..=5 {
        store.accept(message(n)).await.unwrap();
    }
    let due = store.claim_due("w", 1_000, 2_000, ClaimSize::heads(1)).await.unwrap();
    let delivered = AuditEvent::new("deliver", Action::Execute, 6_000, Outcome::Success);
    store
        .record(due[0].delivery.id, "w", Attempt::Delivered, 6_000, Some(delivered))
        .await
        .unwrap();
    let consent = ConsentRecord {
        id: "c1".into(),
        patient: "999911120".into(),
        recorded_by: Some("rijnstate".into()),
        resource: r#"{"resourceType":"Consent"}"#.into(),
        updated_ms: 7_000,
    };
    let recorded = AuditEvent::new("consent", Action::Create, 7_000, Outcome::Success);
    store.put_consent(consent, recorded).await.unwrap();
    let task = TaskRecord {
        id: "t1".into(),
        requester: "rijnstate".into(),
        owner: "vvt".into(),
        patient: Some("999911120".into()),
        status: "requested".into(),
        document: "m1".into(),
        composition: "comp-1".into(),
        resource: r#"{"resourceType":"Task"}"#.into(),
        version: 1,
        created_ms: 8_000,
        updated_ms: 8_000,
        due_ms: 9_000,
        notified_ms: None,
        flagged: true,
    };
    store.put_task(task, Vec::new()).await.unwrap();
    let purge = AuditEvent::new("purge", Action::Delete, 10_000, Outcome::Success);
    assert_eq!(store.purge_audit(2_500, purge).await.unwrap(), 2);
    assert_eq!(store.verify_audit().await.unwrap(), Ok(6));
    db
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_store_moves_to_postgres_whole_and_verified() {
    let sqlite = filled_sqlite("migrate-from").await;
    let target = Postgres::new("migrate_to").await;
    let settings = PostgresSettings {
        url: target.url.clone(),
        ca_file: None,
        max_connections: 2,
    };
    // The key and anchors of the SQLite store: the chain is checked against them.
    let audit = AuditSettings::beside(&sqlite.0).unwrap();
    let moved = sqlite_to_postgres(&sqlite.0, &settings, &audit).await.unwrap();
    assert_eq!(
        moved.tables,
        [
            ("messages", 5),
            ("deliveries", 5),
            ("consents", 1),
            ("tasks", 1),
            ("audit_log", 6),
            ("audit_checkpoint", 1)
        ]
    );
    assert!(moved.audit.problems.is_empty(), "{:?}", moved.audit.problems);
    assert_eq!(moved.audit.records, 6);

    let store = zorgpoort_store::PostgresStore::connect(&settings, &audit)
        .await
        .unwrap();
    let kept = store.message("m1").await.unwrap().unwrap();
    assert_eq!(kept.deliveries[0].state, DeliveryState::Delivered);
    assert_eq!(store.message_body("m3").await.unwrap().unwrap(), b"MSH|^~\\&|3");
    assert_eq!(store.consents("999911120").await.unwrap().len(), 1);
    assert!(store.task("t1").await.unwrap().unwrap().flagged);
    // Resends are still recognised, and the queue goes on where it was.
    assert_eq!(
        store.accept(message(2)).await.unwrap(),
        Accepted::Duplicate("m2".into())
    );
    assert!(matches!(store.accept(message(6)).await.unwrap(), Accepted::New(_)));
    let new_delivery = store.message("m6").await.unwrap().unwrap().deliveries[0].id;
    assert!(new_delivery > 5, "numbered after the copied deliveries: {new_delivery}");
    // The resend and the new message are audited on the copied chain.
    assert_eq!(store.verify_audit().await.unwrap(), Ok(8));

    // A second migration into the same database is refused.
    let again = sqlite_to_postgres(&sqlite.0, &settings, &audit).await.unwrap_err();
    assert!(again.to_string().contains("holds data already"), "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_online_backup_is_a_working_store() {
    let sqlite = filled_sqlite("backup").await;
    let running = sqlite.open().await;
    let copy = sqlite.0.with_file_name("backup.db");
    assert_eq!(backup_sqlite(&sqlite.0, &copy).unwrap(), 5);
    assert!(
        backup_sqlite(&sqlite.0, &copy)
            .unwrap_err()
            .to_string()
            .contains("exists already"),
        "a backup never overwrites"
    );
    drop(running);
    // The copy is the store: same messages, and the chain verifies with the
    // original's key and anchors.
    let restored = Sqlite(copy.clone());
    std::fs::copy(
        sqlite.0.with_file_name("audit-anchors.jsonl"),
        copy.with_file_name("backup.db.audit-anchors.jsonl"),
    )
    .unwrap();
    let store = restored.open().await;
    assert_eq!(store.messages_of("999911120", 10).await.unwrap().len(), 5);
    assert_eq!(store.verify_audit().await.unwrap(), Ok(6));
}
