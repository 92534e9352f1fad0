//! Durable audit appends under concurrency, with group commit:
//! `cargo run --release -p zorgpoort-store --example audit_append -- 50000 64`
//! (events, concurrent writers); writes to a temporary directory.
#![allow(missing_docs, clippy::unwrap_used, clippy::cast_precision_loss)]

mod common;

use std::time::Instant;

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
    common::append_events(&store, total, writers).await;
    let elapsed = started.elapsed();
    println!(
        "{total} audit events over {writers} writers in {:.2} s: {:.0} events/s; chain verifies: {:?}",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        store.verify_audit().await.unwrap()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
