//! `audit verify` streams: append N audit records, then verify the chain the
//! way `zorgpoort audit verify` does (`SqliteStore::verify_audit_report`),
//! printing the peak resident memory before and during verifying.
//! `cargo run --release -p zorgpoort-store --example audit_verify -- 10000000 [DIR]`
//!
//! Appends use `Durability::ProcessCrash` (no fsync per commit) and 64
//! concurrent writers, only to build a large log quickly. Without DIR the
//! log goes to a temporary directory that is removed at the end; a DIR is
//! kept (`zorgpoort.db` with its `audit.key` and anchor file), so
//! `zorgpoort audit verify --data-dir DIR` can check it too.
//! Linux only for the memory figures (read from /proc/self/status).
#![allow(missing_docs, clippy::unwrap_used, clippy::cast_precision_loss)]

mod common;

use std::path::PathBuf;
use std::time::Instant;

use zorgpoort_store::{Durability, SqliteStore};

const WRITERS: usize = 64;

/// The value of a field of `/proc/self/status`, e.g. `VmHWM:` gives "123 kB".
fn status(field: &str) -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .map_or_else(|| "?".into(), |v| v.trim().to_owned())
}

fn memory() -> String {
    format!(
        "peak RSS (VmHWM) {}, RSS (VmRSS) {}",
        status("VmHWM:"),
        status("VmRSS:")
    )
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let total: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000_000);
    let (dir, keep) = match args.next() {
        Some(dir) => (PathBuf::from(dir), true),
        None => (
            std::env::temp_dir().join(format!("zorgpoort-audit-verify-{}", std::process::id())),
            false,
        ),
    };
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("zorgpoort.db");
    let store = SqliteStore::open(&db, Durability::ProcessCrash).unwrap();

    let started = Instant::now();
    common::append_events(&store, total, WRITERS).await;
    let append = started.elapsed().as_secs_f64();
    let bytes: u64 = ["zorgpoort.db", "zorgpoort.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
        .map(|m| m.len())
        .sum();
    println!(
        "appended {total} records over {WRITERS} writers (process-crash durability) in {append:.1} s: {:.0} records/s; \
         database {:.2} GB",
        total as f64 / append,
        bytes as f64 / 1e9
    );

    // Forget the peak of appending: only verifying counts.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    println!(
        "before verify: {} (peak reset: {})",
        memory(),
        if reset {
            "yes"
        } else {
            "not supported, peak includes appending"
        }
    );
    let started = Instant::now();
    let report = store.verify_audit_report(&[]).unwrap();
    let verify = started.elapsed().as_secs_f64();
    println!(
        "verified {} records in {verify:.1} s: {:.0} records/s; intact: {}, anchors checked {}/{}, problems {}",
        report.records,
        report.records as f64 / verify,
        report.is_intact(),
        report.anchors_checked,
        report.anchors,
        report.problem_count
    );
    println!("after verify: {}", memory());
    drop(store);
    if !keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
