//! Durable audit appends under concurrency, with group commit:
//! `cargo run --release -p zorgpoort-store --example audit_append -- 50000 64`
//! (events, concurrent writers); writes to a temporary directory.
#![allow(missing_docs, clippy::unwrap_used, clippy::cast_precision_loss)]

use std::time::Instant;

use zorgpoort_audit::{Action, AuditEvent, DataObject, Outcome};
use zorgpoort_store::{Durability, SqliteStore, Store};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let total: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(50_000);
    let writers: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(64);
    let dir = std::env::temp_dir().join(format!("zorgpoort-audit-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = SqliteStore::open(&dir.join("db"), Durability::PowerLoss).unwrap();
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for n in (w..total).step_by(writers) {
                    let mut event = AuditEvent::new("deliver", Action::Execute, 1_764_064_800_000, Outcome::Success);
                    event.organization = Some("de-linde".into());
                    event.patient = Some("999911120".into());
                    event.purpose = Some("TREAT");
                    event.data = Some(DataObject {
                        id: format!("m{n}"),
                        format: "hl7v2".into(),
                        sha256: "0".repeat(64),
                        size: 1_500,
                        categories: vec!["general".into(), "lab".into()],
                    });
                    store.audit(event).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed();
    println!(
        "{total} audit events over {writers} writers in {:.2} s: {:.0} events/s; chain verifies: {:?}",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        store.verify_audit().await.unwrap()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
