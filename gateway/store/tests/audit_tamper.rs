//! `audit_tamper`: every way an attacker with a copy of the database (and
//! the anchor file, but not the key) can change the audit log, each checked
//! to be reported by verification with the record and the kind of problem.
//!
//! The log under attack: records 1-3 were purged (checkpoint at 3), records
//! 4-10 were written by one process, 11 is the purge's own record and 12-16
//! were written after it; anchors were written at 10 (shutdown), 11 (the
//! purge) and 16 (shutdown).
//!
//! Written against the store's public API only (open, audit, purge, verify),
//! so it runs, and fails, on the keyless chain as well.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use ring::{digest, hmac};
use rusqlite::{Connection, params};
use zorgpoort_audit::{Action, AuditEvent, DataObject, Outcome};
use zorgpoort_store::{Durability, SqliteStore, Store};

const ANCHORS: &str = "audit-anchors.jsonl";

fn event(n: i64) -> AuditEvent {
    let mut event = AuditEvent::new("deliver", Action::Execute, n * 1_000, Outcome::Success);
    event.organization = Some("de-linde".into());
    event.patient = Some("999911120".into());
    event.who = Some("HIS".into());
    event.purpose = Some("TREAT");
    event.data = Some(DataObject {
        id: format!("m{n}"),
        format: "hl7v2".into(),
        sha256: format!("{n:064x}"),
        size: 1_500,
        categories: vec!["lab".into()],
    });
    event
}

/// The log described above, in a directory of its own.
fn baseline() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zorgpoort-audit-tamper-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("zorgpoort.db");
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    runtime.block_on(async {
        let store = SqliteStore::open(&db, Durability::ProcessCrash).unwrap();
        for n in 1..=10 {
            store.audit(event(n)).await.unwrap();
        }
        drop(store);
        let store = SqliteStore::open(&db, Durability::ProcessCrash).unwrap();
        let purge = AuditEvent::new("purge", Action::Delete, 11_000, Outcome::Success);
        assert_eq!(store.purge_audit(3_500, purge).await.unwrap(), 3);
        for n in 12..=16 {
            store.audit(event(n)).await.unwrap();
        }
        assert_eq!(store.verify_audit().await.unwrap(), Ok(13));
    });
    dir
}

/// A copy of the baseline's directory (database, key, anchors).
fn copy(from: &Path, name: &str) -> PathBuf {
    let to = from.with_file_name(format!("{}-{name}", from.file_name().unwrap().to_string_lossy()));
    let _ = std::fs::remove_dir_all(&to);
    std::fs::create_dir_all(&to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
    to
}

/// Opens the copy's database as an attacker does: no guards.
fn raw(dir: &Path) -> Connection {
    let conn = Connection::open(dir.join("zorgpoort.db")).unwrap();
    conn.execute_batch(
        "DROP TRIGGER IF EXISTS audit_log_append_only_update; DROP TRIGGER IF EXISTS audit_log_append_only_delete;",
    )
    .unwrap();
    conn
}

/// Runs SQL that must change something.
fn sql(statements: impl Into<String>) -> impl Fn(&Path) {
    let statements = statements.into();
    move |dir| {
        let conn = raw(dir);
        conn.execute_batch(&statements).unwrap();
        assert!(conn.total_changes() > 0, "changed nothing: {statements}");
    }
}

/// Rebuilds the whole chain from the checkpoint with `mac(previous, event)`.
fn rebuild(conn: &Connection, mac: impl Fn(&[u8], &str) -> Vec<u8>) {
    let mut previous: Vec<u8> = conn
        .query_row("SELECT hash FROM audit_checkpoint WHERE id = 1", [], |r| r.get(0))
        .unwrap();
    let rows: Vec<(i64, String)> = conn
        .prepare("SELECT sequence, event FROM audit_log ORDER BY sequence")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (sequence, event) in rows {
        let hash = mac(&previous, &event);
        conn.execute(
            "UPDATE audit_log SET previous = ?2, hash = ?3 WHERE sequence = ?1",
            params![sequence, previous, hash],
        )
        .unwrap();
        previous = hash;
    }
}

fn sha256(previous: &[u8], event: &str) -> Vec<u8> {
    let mut context = digest::Context::new(&digest::SHA256);
    context.update(previous);
    context.update(event.as_bytes());
    context.finish().as_ref().to_vec()
}

fn wrong_key(previous: &[u8], event: &str) -> Vec<u8> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, &[0x42; 32]);
    let mut context = hmac::Context::with_key(&key);
    context.update(previous);
    context.update(event.as_bytes());
    context.sign().as_ref().to_vec()
}

fn anchor_lines(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join(ANCHORS))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn append_anchor(dir: &Path, line: &str) {
    let mut lines = anchor_lines(dir);
    lines.push(line.to_owned());
    std::fs::write(dir.join(ANCHORS), lines.join("\n") + "\n").unwrap();
}

type Tamper = Box<dyn Fn(&Path)>;

/// Each tampering, and the record and kind of problem verification must report first.
#[allow(clippy::too_many_lines, reason = "one table, one row per tampering")]
fn tamperings() -> Vec<(&'static str, Tamper, i64, &'static str)> {
    vec![
        (
            "patient column changed",
            Box::new(sql("UPDATE audit_log SET patient = '999910851' WHERE sequence = 6")),
            6,
            "mac",
        ),
        (
            "organization column changed",
            Box::new(sql(
                "UPDATE audit_log SET organization = 'rijnstate' WHERE sequence = 6",
            )),
            6,
            "mac",
        ),
        (
            "recorded_ms column changed",
            Box::new(sql(
                "UPDATE audit_log SET recorded_ms = recorded_ms + 1 WHERE sequence = 6",
            )),
            6,
            "mac",
        ),
        (
            "action changed in the event",
            Box::new(sql(
                "UPDATE audit_log SET event = replace(event, '\"action\":\"E\"', '\"action\":\"R\"') WHERE sequence = 6",
            )),
            6,
            "mac",
        ),
        (
            "outcome changed in the event",
            Box::new(sql(
                "UPDATE audit_log SET event = replace(event, '\"outcome\":\"0\"', '\"outcome\":\"8\"') WHERE sequence = 6",
            )),
            6,
            "mac",
        ),
        (
            "data hash changed in the event",
            Box::new(sql(format!(
                "UPDATE audit_log SET event = replace(event, '{:064x}', '{:064x}') WHERE sequence = 6",
                6, 7
            ))),
            6,
            "mac",
        ),
        (
            "anchored column changed",
            Box::new(sql("UPDATE audit_log SET anchored = 0 WHERE sequence = 13")),
            13,
            "mac",
        ),
        (
            "checkpoint named by the purge record changed",
            Box::new(sql("UPDATE audit_log SET purged_through = 2 WHERE sequence = 11")),
            11,
            "mac",
        ),
        (
            "two records swapped, numbers kept",
            Box::new(sql(
                "CREATE TABLE t AS SELECT * FROM audit_log WHERE sequence IN (6, 7); \
                 UPDATE audit_log SET (recorded_ms, patient, organization, event, previous, hash, anchored) = \
                   (SELECT recorded_ms, patient, organization, event, previous, hash, anchored FROM t \
                    WHERE t.sequence = 13 - audit_log.sequence) WHERE sequence IN (6, 7);",
            )),
            6,
            "link",
        ),
        (
            "a middle record deleted",
            Box::new(sql("DELETE FROM audit_log WHERE sequence = 7")),
            7,
            "missing",
        ),
        (
            "a middle record deleted and the rest renumbered",
            Box::new(sql("DELETE FROM audit_log WHERE sequence = 7; \
                 UPDATE audit_log SET sequence = -sequence WHERE sequence > 7; \
                 UPDATE audit_log SET sequence = -sequence - 1 WHERE sequence < 0;")),
            7,
            "link",
        ),
        (
            "the tail deleted",
            Box::new(sql("DELETE FROM audit_log WHERE sequence >= 15")),
            16,
            "truncated",
        ),
        (
            "the table emptied",
            Box::new(sql("DELETE FROM audit_log")),
            16,
            "truncated",
        ),
        (
            "the table and the checkpoint emptied",
            Box::new(sql("DELETE FROM audit_log; DELETE FROM audit_checkpoint")),
            16,
            "truncated",
        ),
        (
            "the whole chain rebuilt keyless after a change",
            Box::new(|dir: &Path| {
                let conn = raw(dir);
                conn.execute("UPDATE audit_log SET patient = NULL WHERE sequence = 5", [])
                    .unwrap();
                rebuild(&conn, sha256);
            }),
            4,
            "mac",
        ),
        (
            "the whole chain rebuilt keyless and declared legacy",
            Box::new(|dir: &Path| {
                let conn = raw(dir);
                rebuild(&conn, sha256);
                // Only possible once there is a legacy boundary to move.
                let _ = conn.execute("UPDATE audit_keying SET legacy_through = 16", []);
            }),
            10,
            "anchor-mismatch",
        ),
        (
            "the whole chain rebuilt with a wrong key",
            Box::new(|dir: &Path| rebuild(&raw(dir), wrong_key)),
            4,
            "mac",
        ),
        (
            "a purge checkpoint forged",
            Box::new(sql("DELETE FROM audit_log WHERE sequence <= 6; \
                 UPDATE audit_checkpoint SET sequence = 6, hash = (SELECT previous FROM audit_log WHERE sequence = 7);")),
            6,
            "checkpoint",
        ),
        (
            "a forged record appended (INSERT)",
            Box::new(sql(
                "INSERT INTO audit_log (sequence, recorded_ms, patient, organization, event, previous, hash) \
                 SELECT 17, recorded_ms, '999910851', organization, event, hash, randomblob(32) \
                 FROM audit_log WHERE sequence = 16",
            )),
            17,
            "mac",
        ),
        (
            "a forged record appended with a keyless hash",
            Box::new(|dir: &Path| {
                let conn = raw(dir);
                let (event, previous): (String, Vec<u8>) = conn
                    .query_row("SELECT event, hash FROM audit_log WHERE sequence = 16", [], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .unwrap();
                conn.execute(
                    "INSERT INTO audit_log (sequence, recorded_ms, event, previous, hash) VALUES (17, 17000, ?1, ?2, ?3)",
                    params![event, previous, sha256(&previous, &event)],
                )
                .unwrap();
            }),
            17,
            "mac",
        ),
        (
            "an anchor line forged",
            Box::new(|dir: &Path| {
                append_anchor(
                    dir,
                    &format!(
                        r#"{{"seq":20,"hash":"{}","time":1,"mac":"{}"}}"#,
                        "ab".repeat(32),
                        "cd".repeat(32)
                    ),
                );
            }),
            20,
            "anchor-forged",
        ),
        (
            "an anchor line changed",
            Box::new(|dir: &Path| {
                let lines: Vec<String> = anchor_lines(dir)
                    .into_iter()
                    .map(|l| l.replace("\"seq\":16", "\"seq\":15"))
                    .collect();
                assert!(lines.iter().any(|l| l.contains("\"seq\":15")), "{lines:?}");
                std::fs::write(dir.join(ANCHORS), lines.join("\n") + "\n").unwrap();
            }),
            15,
            "anchor-forged",
        ),
        (
            "the anchor file replaced by an older one",
            Box::new(|dir: &Path| {
                let lines = anchor_lines(dir);
                std::fs::write(dir.join(ANCHORS), lines[0].clone() + "\n").unwrap();
            }),
            12,
            "anchor-file-behind",
        ),
        (
            "the anchor file deleted",
            Box::new(|dir: &Path| std::fs::remove_file(dir.join(ANCHORS)).unwrap()),
            11,
            "anchor-file-behind",
        ),
    ]
}

#[test]
fn audit_tamper() {
    let baseline = baseline();
    assert_eq!(
        anchor_lines(&baseline).len(),
        3,
        "anchored at 10, 11 and 16: {:?}",
        anchor_lines(&baseline)
    );
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let mut missed = Vec::new();
    for (n, (what, tamper, sequence, kind)) in tamperings().into_iter().enumerate() {
        let dir = copy(&baseline, &n.to_string());
        tamper(&dir);
        let store = SqliteStore::open(&dir.join("zorgpoort.db"), Durability::ProcessCrash).unwrap();
        let result = runtime.block_on(store.verify_audit()).unwrap();
        drop(store);
        match result {
            Err(broken) if broken.sequence == sequence && broken.to_string().contains(&format!("[{kind}]")) => {}
            other => missed.push(format!(
                "{what}: expected record {sequence} [{kind}], verify said {:?}",
                other.map_err(|b| b.to_string())
            )),
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    let _ = std::fs::remove_dir_all(&baseline);
    assert!(missed.is_empty(), "not reported as expected:\n{}", missed.join("\n"));
}
