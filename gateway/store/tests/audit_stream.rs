//! `audit verify` streams: checking a log far larger than the memory it may
//! use must not hold the log. The log here is about 150 MB of records; the
//! peak resident memory while verifying may grow by a fraction of that.
//! (Linux only: it reads and resets the peak through /proc.)
#![allow(clippy::unwrap_used)]
#![cfg(target_os = "linux")]

use zorgpoort_audit::{Action, AuditEvent, Outcome};
use zorgpoort_store::{Durability, SqliteStore, Store};

const RECORDS: usize = 60_000;
const TEXT_BYTES: usize = 2_500;

/// Peak resident memory since the last reset, in KiB.
fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_streams_in_constant_memory() {
    let dir = std::env::temp_dir().join(format!("zorgpoort-audit-stream-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = SqliteStore::open(&dir.join("zorgpoort.db"), Durability::ProcessCrash).unwrap();
    let writers: Vec<_> = (0..32)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for n in (w..RECORDS).step_by(32) {
                    let mut event = AuditEvent::new("read", Action::Read, 1_000, Outcome::Failure);
                    event.patient = Some("999911120".into());
                    event.organization = Some("de-linde".into());
                    // Distinct per record, so nothing can be shared.
                    event.outcome_text = Some(format!("{n:>TEXT_BYTES$}"));
                    store.audit(event).await.unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let on_disk = std::fs::metadata(dir.join("zorgpoort.db")).unwrap().len()
        + std::fs::metadata(dir.join("zorgpoort.db-wal")).map_or(0, |m| m.len());
    assert!(on_disk > 150_000_000, "the log is {on_disk} bytes");

    // Forget the peak of writing; only verifying counts.
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let before = peak_kib();
    let report = store.verify_audit_report(&[]).unwrap();
    let grown_kib = peak_kib().saturating_sub(before);
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!(report.records, RECORDS as u64);
    assert!(
        grown_kib < 32 * 1024,
        "verifying {on_disk} bytes of log raised the peak memory by {grown_kib} KiB"
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
