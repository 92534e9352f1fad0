//! The SQLite store: WAL mode, versioned migrations, one writer thread with
//! group commit, and a separate connection for reads.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use tokio::sync::oneshot;

use zorgpoort_audit::AuditEvent;
use zorgpoort_audit::chain::{AuditKey, Record, Start};
use zorgpoort_audit::verify::{Verification, Verifier};

use crate::audit_files::{Anchoring, AuditSettings, read_anchors};
use crate::chain_head::ChainHead;
use crate::{
    Accepted, Attempt, AuditRecord, Broken, Candidate, ClaimSize, ConsentRecord, Delivery, DeliveryState, DueDelivery,
    MessageRecord, NewMessage, Store, StoreError, TaskRecord, UNDELIVERED, Undelivered, batches, undelivered,
};

/// Migrations in order; the position is the schema version.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_messages_and_deliveries.sql"),
    include_str!("../migrations/0002_delivery_order_per_receiver.sql"),
    include_str!("../migrations/0003_audit_log.sql"),
    include_str!("../migrations/0004_consents_and_withheld.sql"),
    include_str!("../migrations/0005_audit_retention.sql"),
    include_str!("../migrations/0006_handover_tasks.sql"),
    include_str!("../migrations/0007_message_origin_and_content_hash.sql"),
    include_str!("../migrations/0008_keyed_audit_chain.sql"),
    include_str!("../migrations/0009_delivery_claims.sql"),
    include_str!("../migrations/0010_one_time_keys.sql"),
    include_str!("../migrations/0011_pending_deliveries_per_receiver.sql"),
];

/// Most writes committed in one transaction.
const MAX_BATCH: usize = 1024;

/// What a commit must survive before the writer reports it done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// fsync at every commit (`synchronous=FULL`): survives power loss.
    #[default]
    PowerLoss,
    /// WAL written but not fsynced (`synchronous=NORMAL`): survives a crash
    /// of the process, not of the machine. Faster on slow disks.
    ProcessCrash,
}

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// One write, executed by the writer thread inside a batch transaction.
enum Job {
    Accept(Box<NewMessage>, Reply<Accepted>),
    Claim(Box<ClaimJob>, Reply<Vec<DueDelivery>>),
    Release(Box<(String, Vec<i64>)>, Reply<()>),
    Record(Box<RecordJob>, Reply<bool>),
    Retry(i64, i64, Reply<bool>),
    PutConsent(Box<(ConsentRecord, AuditEvent)>, Reply<bool>),
    PutTask(Box<(TaskRecord, Vec<AuditEvent>)>, Reply<bool>),
    Audit(Box<AuditEvent>, Reply<()>),
    PurgeAudit(i64, Box<AuditEvent>, Reply<u64>),
    FirstUse(Box<(String, i64, i64)>, Reply<bool>),
}

/// A claim of due deliveries: its name, now, until when, how many at most.
struct ClaimJob(String, i64, i64, ClaimSize);

/// An attempt's result: delivery, claim, how it went, when, its audit event.
struct RecordJob(i64, String, Attempt, i64, Option<AuditEvent>);

/// SQLite-backed [`Store`]; cheap to clone.
#[derive(Clone)]
pub struct SqliteStore {
    writer: mpsc::Sender<Job>,
    reader: Arc<Mutex<Connection>>,
    // Declared after `writer`: when the last clone goes, its sender is
    // dropped first, so the writer thread stops, anchors, and is joined.
    audit: Arc<AuditSide>,
}

/// The audit chain's side of the store: what verification needs, and the
/// writer thread, joined when the last clone of the store is dropped so the
/// shutdown anchor is written before the process ends.
struct AuditSide {
    db: PathBuf,
    key: Arc<AuditKey>,
    anchor_file: PathBuf,
    writer_thread: Option<thread::JoinHandle<()>>,
}

impl Drop for AuditSide {
    fn drop(&mut self) {
        if let Some(thread) = self.writer_thread.take() {
            // A writer that panicked has nothing left to anchor.
            drop(thread.join());
        }
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

fn open(path: &Path, durability: Durability) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    let synchronous = match durability {
        Durability::PowerLoss => "FULL",
        Durability::ProcessCrash => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", synchronous)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)")?;
    let current: i64 = conn.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", [], |r| {
        r.get(0)
    })?;
    for (index, sql) in MIGRATIONS.iter().enumerate() {
        let version = i64::try_from(index + 1).unwrap_or(i64::MAX);
        if version <= current {
            continue;
        }
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute("INSERT INTO schema_migrations (version) VALUES (?1)", [version])?;
        tx.commit()?;
    }
    Ok(())
}

impl SqliteStore {
    /// Opens (creating and migrating when needed) the database at `path`,
    /// with the audit key and anchor file beside it ([`AuditSettings::beside`]).
    pub fn open(path: &Path, durability: Durability) -> Result<Self, StoreError> {
        Self::open_with(path, durability, &AuditSettings::beside(path)?)
    }

    /// Opens (creating and migrating when needed) the database at `path`,
    /// keying and anchoring the audit chain as `audit` says.
    pub fn open_with(path: &Path, durability: Durability, audit: &AuditSettings) -> Result<Self, StoreError> {
        let mut writer_conn = open(path, durability)?;
        migrate(&mut writer_conn)?;
        let reader = open(path, durability)?;
        let (writer, jobs) = mpsc::channel();
        let anchoring = Anchoring::new(audit);
        let writer_thread = thread::Builder::new()
            .name("zorgpoort-store-writer".into())
            .spawn(move || write_loop(writer_conn, &jobs, anchoring))
            .map_err(|e| StoreError::Write(format!("cannot start the writer thread: {e}")))?;
        Ok(Self {
            writer,
            reader: Arc::new(Mutex::new(reader)),
            audit: Arc::new(AuditSide {
                db: path.to_owned(),
                key: Arc::clone(&audit.key),
                anchor_file: audit.anchor_file.clone(),
                writer_thread: Some(writer_thread),
            }),
        })
    }

    /// Checks the whole audit chain against the anchors in `anchor_files`
    /// together (the configured file when none is given; with several
    /// gateways on one database, every gateway's anchors): every record's MAC and link, every
    /// anchor's MAC, that the chain holds each anchored record with the
    /// anchored value and reaches the latest anchor, and that the purge
    /// checkpoint is the one the last purge record names.
    ///
    /// Streams the records through one read transaction on a connection of
    /// its own (a consistent snapshot, and no lock on the store's reads):
    /// memory does not grow with the log. The anchor files are read once
    /// before the snapshot (the head must reach those anchors) and once in
    /// it (later anchors count for the rest), as anchors are written only
    /// after their records are committed.
    pub fn verify_audit_report(&self, anchor_files: &[&Path]) -> Result<Verification, StoreError> {
        let key = &*self.audit.key;
        let must_reach = read_anchors(anchor_files, &self.audit.anchor_file, key)?.latest();
        let mut conn = Connection::open(&self.audit.db)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let tx = conn.transaction()?;
        let start = audit_checkpoint(&tx)?;
        let anchors = read_anchors(anchor_files, &self.audit.anchor_file, key)?;
        let legacy_through: i64 = tx
            .query_row("SELECT legacy_through FROM audit_keying WHERE id = 1", [], |r| r.get(0))
            .optional()?
            .unwrap_or(0);
        let mut verifier = Verifier::new(key, start, legacy_through, anchors, must_reach);
        let mut query = tx.prepare(
            "SELECT sequence, recorded_ms, patient, organization, event, previous, hash, anchored, \
             purged_through, purged_hash FROM audit_log ORDER BY sequence",
        )?;
        let mut rows = query.query([])?;
        while let Some(row) = rows.next()? {
            let purged = match (row.get::<_, Option<i64>>(8)?, row.get::<_, Option<Vec<u8>>>(9)?) {
                (None, None) => None,
                // Half a checkpoint fails the MAC, as it must.
                (sequence, hash) => Some((sequence.unwrap_or(-1), hash.unwrap_or_default())),
            };
            verifier.push(&Record {
                sequence: row.get(0)?,
                recorded_ms: row.get(1)?,
                patient: row.get(2)?,
                organization: row.get(3)?,
                event: row.get(4)?,
                previous: row.get(5)?,
                hash: row.get(6)?,
                anchored: row.get(7)?,
                purged,
            });
        }
        Ok(verifier.finish())
    }

    async fn write<T>(&self, job: impl FnOnce(Reply<T>) -> Job) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.writer.send(job(reply)).map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    fn read<T>(&self, query: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let conn = self.reader.lock().map_err(|_| StoreError::Closed)?;
        query(&conn)
    }
}

/// Runs writes until every sender is gone, committing what has queued up
/// together; each job runs in a savepoint so one failure fails only itself.
/// The chain head is read inside each (immediate) transaction, so records
/// appended by another process (`zorgpoort queue retry`, `audit purge`, ...)
/// while the gateway runs are linked to, not overwritten.
///
/// Anchoring rides on the same loop: after a commit that appended records
/// the head is anchored when enough records or time have passed (always
/// after a purge), while waiting for work when the interval runs out, and
/// once more when every sender is gone (clean shutdown).
fn write_loop(mut conn: Connection, jobs: &mpsc::Receiver<Job>, mut anchoring: Anchoring) {
    let key = Arc::clone(&anchoring.key);
    loop {
        let first = match jobs.recv_timeout(anchoring.wait()) {
            Ok(job) => job,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                anchoring.idle();
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let begun = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::from)
            .and_then(|tx| chain_head(&tx, &key, anchoring.last()).map(|head| (tx, head)));
        let (tx, mut head) = match begun {
            Ok(begun) => begun,
            Err(e) => {
                let message = e.to_string();
                for job in batch {
                    job.fail(&message);
                }
                continue;
            }
        };
        let begun_at = head.sequence;
        let done: Vec<Finished> = batch.into_iter().map(|job| job.run(&tx, &mut head)).collect();
        match tx.commit() {
            Ok(()) => {
                let purged = done.iter().any(Finished::purged);
                for finished in done {
                    finished.send();
                }
                anchoring.committed(head.sequence, head.hash, head.sequence > begun_at, purged);
            }
            Err(e) => {
                let message = e.to_string();
                for finished in done {
                    finished.fail(&message);
                }
            }
        }
    }
    anchoring.finish();
}

/// A job's result, held until the batch is committed.
enum Finished {
    Accept(Reply<Accepted>, Result<Accepted, StoreError>),
    Record(Reply<()>, Result<(), StoreError>),
    Retry(Reply<bool>, Result<bool, StoreError>),
    Claim(Reply<Vec<DueDelivery>>, Result<Vec<DueDelivery>, StoreError>),
    Purge(Reply<u64>, Result<u64, StoreError>),
}

impl Finished {
    /// A purge that was done: its checkpoint is anchored at once.
    fn purged(&self) -> bool {
        matches!(self, Self::Purge(_, Ok(_)))
    }

    fn succeeded(&self) -> bool {
        match self {
            Self::Accept(_, result) => result.is_ok(),
            Self::Record(_, result) => result.is_ok(),
            Self::Retry(_, result) => result.is_ok(),
            Self::Claim(_, result) => result.is_ok(),
            Self::Purge(_, result) => result.is_ok(),
        }
    }

    fn send(self) {
        // A caller that stopped waiting (timeout, shutdown) is no error here:
        // the write is committed either way.
        match self {
            Self::Accept(reply, result) => drop(reply.send(result)),
            Self::Record(reply, result) => drop(reply.send(result)),
            Self::Retry(reply, result) => drop(reply.send(result)),
            Self::Claim(reply, result) => drop(reply.send(result)),
            Self::Purge(reply, result) => drop(reply.send(result)),
        }
    }

    fn fail(self, message: &str) {
        let message = format!("commit failed: {message}");
        match self {
            Self::Accept(reply, _) => reject(reply, message),
            Self::Record(reply, _) => reject(reply, message),
            Self::Retry(reply, _) => reject(reply, message),
            Self::Claim(reply, _) => reject(reply, message),
            Self::Purge(reply, _) => reject(reply, message),
        }
    }
}

/// The head, read inside the writing transaction; `anchored`: the last
/// record this writer anchored. A record says the later of that and what
/// the head says (another process may have anchored since).
fn chain_head<'k>(conn: &Connection, key: &'k AuditKey, anchored: i64) -> Result<ChainHead<'k>, StoreError> {
    let last = conn
        .prepare_cached("SELECT sequence, hash, anchored FROM audit_log ORDER BY sequence DESC LIMIT 1")?
        .query_row([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, Option<i64>>(2)?,
            ))
        })
        .optional()?;
    let Some((sequence, hash, head_anchored)) = last else {
        // Nothing left after a purge would start after its checkpoint.
        let start = audit_checkpoint(conn)?;
        return Ok(ChainHead {
            sequence: start.sequence,
            hash: start.hash,
            anchored,
            key,
        });
    };
    let hash = hash
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("audit record {sequence}: hash length")))?;
    Ok(ChainHead {
        sequence,
        hash,
        anchored: anchored.max(head_anchored.unwrap_or(0)),
        key,
    })
}

/// Where the chain starts: after the purge checkpoint, or from the start.
fn audit_checkpoint(conn: &Connection) -> Result<Start, StoreError> {
    let checkpoint: Option<(i64, Vec<u8>)> = conn
        .query_row("SELECT sequence, hash FROM audit_checkpoint WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    match checkpoint {
        None => Ok(Start::default()),
        Some((sequence, hash)) => Ok(Start {
            sequence,
            hash: hash
                .try_into()
                .map_err(|_| StoreError::Corrupt("audit checkpoint hash length".into()))?,
        }),
    }
}

/// Appends audit events after `head`, moving it on.
fn append_audit(conn: &Connection, head: &mut ChainHead, events: &[AuditEvent]) -> Result<(), StoreError> {
    append_audit_record(conn, head, events, None)
}

/// Appends audit events after `head`, each MAC'd over every column; a
/// purge record (`purged`) names the checkpoint the purge left.
fn append_audit_record(
    conn: &Connection,
    head: &mut ChainHead,
    events: &[AuditEvent],
    purged: Option<Start>,
) -> Result<(), StoreError> {
    let mut insert = conn.prepare_cached(
        "INSERT INTO audit_log (sequence, recorded_ms, patient, organization, event, previous, hash, anchored, \
         purged_through, purged_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for event in events {
        let linked = head.link(event, purged.as_ref());
        insert.execute(params![
            linked.sequence,
            event.recorded_ms,
            event.patient,
            event.organization,
            linked.event,
            linked.previous.as_slice(),
            linked.hash.as_slice(),
            linked.anchored,
            purged.map(|start| start.sequence),
            purged.as_ref().map(|start| start.hash.as_slice()),
        ])?;
    }
    Ok(())
}

impl Job {
    /// Runs in a savepoint; the chain head moves only when the job succeeds.
    fn run(self, tx: &Transaction<'_>, head: &mut ChainHead) -> Finished {
        let mut local = *head;
        let finished = match self {
            Job::Accept(message, reply) => {
                Finished::Accept(reply, in_savepoint(tx, |sp| accept(sp, &message, &mut local)))
            }
            Job::Claim(job, reply) => {
                let ClaimJob(claim, now, until, size) = *job;
                Finished::Claim(reply, in_savepoint(tx, |sp| claim_due(sp, &claim, now, until, size)))
            }
            Job::Release(job, reply) => {
                let (claim, deliveries) = *job;
                Finished::Record(reply, in_savepoint(tx, |sp| release(sp, &claim, &deliveries)))
            }
            Job::Record(job, reply) => {
                let RecordJob(id, claim, attempt, now, audit) = *job;
                Finished::Retry(
                    reply,
                    in_savepoint(tx, |sp| {
                        let recorded = record(sp, id, &claim, &attempt, now)?;
                        append_audit(sp, &mut local, audit.as_slice())?;
                        Ok(recorded)
                    }),
                )
            }
            Job::Retry(id, now, reply) => Finished::Retry(reply, in_savepoint(tx, |sp| retry(sp, id, now))),
            Job::FirstUse(use_, reply) => {
                let (key, now, expires) = *use_;
                Finished::Retry(reply, in_savepoint(tx, |sp| first_use(sp, &key, now, expires)))
            }
            Job::Audit(event, reply) => Finished::Record(
                reply,
                in_savepoint(tx, |sp| append_audit(sp, &mut local, std::slice::from_ref(&*event))),
            ),
            Job::PurgeAudit(before, event, reply) => Finished::Purge(
                reply,
                in_savepoint(tx, |sp| {
                    let removed = purge_audit(sp, before)?;
                    // The purge record names the checkpoint under the key,
                    // so a checkpoint set by anyone else is found.
                    let checkpoint = audit_checkpoint(sp)?;
                    append_audit_record(sp, &mut local, std::slice::from_ref(&*event), Some(checkpoint))?;
                    Ok(removed)
                }),
            ),
            Job::PutConsent(consent, reply) => Finished::Retry(
                reply,
                in_savepoint(tx, |sp| {
                    let (record, audit) = &*consent;
                    let created = put_consent(sp, record)?;
                    append_audit(sp, &mut local, std::slice::from_ref(audit))?;
                    Ok(created)
                }),
            ),
            Job::PutTask(task, reply) => Finished::Retry(
                reply,
                in_savepoint(tx, |sp| {
                    let (record, audit) = &*task;
                    let written = put_task(sp, record)?;
                    if written {
                        append_audit(sp, &mut local, audit)?;
                    }
                    Ok(written)
                }),
            ),
        };
        if finished.succeeded() {
            *head = local;
        }
        finished
    }

    fn fail(self, message: &str) {
        let message = format!("cannot start a transaction: {message}");
        match self {
            Job::Accept(_, reply) => reject(reply, message),
            Job::Audit(_, reply) | Job::Release(_, reply) => reject(reply, message),
            Job::Claim(_, reply) => reject(reply, message),
            Job::Retry(_, _, reply)
            | Job::Record(_, reply)
            | Job::PutConsent(_, reply)
            | Job::PutTask(_, reply)
            | Job::FirstUse(_, reply) => {
                reject(reply, message);
            }
            Job::PurgeAudit(_, _, reply) => reject(reply, message),
        }
    }
}

fn reject<T>(reply: Reply<T>, message: String) {
    // The caller may have stopped waiting; nothing to do then.
    drop(reply.send(Err(StoreError::Write(message))));
}

/// Runs one job of a batch in a savepoint, so its failure undoes only its
/// own writes. The savepoint statements are prepared once (a batch runs
/// one job per message or delivery result).
fn in_savepoint<T>(
    tx: &Transaction<'_>,
    work: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let run = |sql: &str| tx.prepare_cached(sql).and_then(|mut statement| statement.execute([]));
    run("SAVEPOINT job")?;
    let result = work(tx);
    if result.is_err() {
        run("ROLLBACK TO job")?;
    }
    run("RELEASE job")?;
    result
}

fn accept(conn: &Connection, message: &NewMessage, head: &mut ChainHead) -> Result<Accepted, StoreError> {
    let origin = message.origin.as_deref().unwrap_or_default();
    let existing: Option<(String, Option<String>)> = conn
        .prepare_cached("SELECT id, content_hash FROM messages WHERE origin = ?1 AND sender = ?2 AND control_id = ?3")?
        .query_row(params![origin, message.sender, message.control_id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    if let Some((id, Some(stored))) = &existing {
        if message.content_hash.as_ref().is_some_and(|hash| hash != stored) {
            // Nothing is written: the caller refuses the message and audits that.
            return Ok(Accepted::Reused(id.clone()));
        }
    }
    append_audit(conn, head, &message.audit)?;
    if let Some((id, _)) = existing {
        return Ok(Accepted::Duplicate(id));
    }
    conn.prepare_cached(
        "INSERT INTO messages (id, sender, control_id, format, received_ms, body, patient, origin, content_hash) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        message.id,
        message.sender,
        message.control_id,
        message.format,
        message.received_ms,
        message.body,
        message.patient,
        origin,
        message.content_hash
    ])?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO deliveries (message_id, receiver, endpoint, state, next_attempt_ms, updated_ms) VALUES (?1, ?2, ?3, 'pending', ?4, ?4)",
    )?;
    for delivery in &message.deliveries {
        insert.execute(params![
            message.id,
            delivery.receiver,
            delivery.endpoint,
            message.received_ms
        ])?;
    }
    Ok(Accepted::New(message.id.clone()))
}

/// Claims the due deliveries in the writer's transaction, so no other claim
/// (and no result being recorded) can come between reading them and
/// marking them claimed.
fn claim_due(
    conn: &Connection,
    claim: &str,
    now: i64,
    until: i64,
    size: ClaimSize,
) -> Result<Vec<DueDelivery>, StoreError> {
    // Each receiver's first pending deliveries, receiver by receiver
    // through the index of pending deliveries (named: without statistics
    // SQLite would pick the one by due time and read the whole queue), so
    // a claim costs the same however long the queue; `batches` keeps the
    // run from each head that is due and held by no one.
    let mut query = conn.prepare_cached(&format!(
        "WITH RECURSIVE receivers (receiver) AS ( \
           SELECT (SELECT receiver FROM deliveries INDEXED BY deliveries_pending_per_receiver \
                   WHERE state = 'pending' ORDER BY receiver LIMIT 1) \
           UNION ALL \
           SELECT (SELECT p.receiver FROM deliveries p INDEXED BY deliveries_pending_per_receiver \
                   WHERE p.state = 'pending' AND p.receiver > r.receiver ORDER BY p.receiver LIMIT 1) \
           FROM receivers r WHERE r.receiver IS NOT NULL) \
         SELECT d.{}, m.format, m.body, m.patient, \
                d.next_attempt_ms <= ?1 AND (d.claimed_until IS NULL OR d.claimed_until <= ?1) \
         FROM receivers r \
         JOIN deliveries d ON d.id IN (SELECT p.id FROM deliveries p INDEXED BY deliveries_pending_per_receiver \
                                       WHERE p.receiver = r.receiver AND p.state = 'pending' ORDER BY p.id LIMIT ?2) \
         JOIN messages m ON m.id = d.message_id \
         ORDER BY d.receiver, d.id",
        DELIVERY_COLUMNS.replace(", ", ", d.")
    ))?;
    let per_receiver = i64::try_from(size.per_receiver.max(1)).unwrap_or(i64::MAX);
    let rows = query.query_map(params![now, per_receiver], |r| {
        Ok((
            delivery_row(r)?,
            r.get::<_, String>(8)?,
            r.get::<_, Vec<u8>>(9)?,
            r.get::<_, Option<String>>(10)?,
            r.get::<_, bool>(11)?,
        ))
    })?;
    let mut candidates = Vec::new();
    for row in rows {
        let (delivery, format, body, patient, takeable) = row?;
        let due = DueDelivery {
            delivery: with_state(delivery)?,
            claim: claim.to_owned(),
            format,
            body,
            patient,
        };
        candidates.push(Candidate { due, takeable });
    }
    let due = batches(candidates, size.receivers);
    let mut mark = conn.prepare_cached("UPDATE deliveries SET claim = ?2, claimed_until = ?3 WHERE id = ?1")?;
    for taken in &due {
        mark.execute(params![taken.delivery.id, claim, until])?;
    }
    Ok(due)
}

/// Ends `claim` on deliveries that were not attempted.
fn release(conn: &Connection, claim: &str, deliveries: &[i64]) -> Result<(), StoreError> {
    let mut release =
        conn.prepare_cached("UPDATE deliveries SET claim = NULL, claimed_until = NULL WHERE id = ?1 AND claim = ?2")?;
    for id in deliveries {
        release.execute(params![id, claim])?;
    }
    Ok(())
}

/// Records an attempt's result only under the claim it was made under.
fn record(conn: &Connection, id: i64, claim: &str, attempt: &Attempt, now: i64) -> Result<bool, StoreError> {
    let (state, next, error) = attempt.result(now);
    let changed = conn
        .prepare_cached(
            "UPDATE deliveries SET state = ?2, attempts = attempts + 1, next_attempt_ms = ?3, last_error = COALESCE(?4, last_error), \
             updated_ms = ?5, claim = NULL, claimed_until = NULL WHERE id = ?1 AND claim = ?6",
        )?
        .execute(params![id, state.as_str(), next, error, now, claim])?;
    Ok(changed == 1)
}

/// Deletes the prefix of the chain recorded before `before_ms` and moves the
/// checkpoint to its last record. The append-only guard is lifted for this
/// statement only, inside the same transaction.
fn purge_audit(conn: &Connection, before_ms: i64) -> Result<u64, StoreError> {
    let first_kept: Option<i64> = conn.query_row(
        "SELECT MIN(sequence) FROM audit_log WHERE recorded_ms >= ?1",
        [before_ms],
        |r| r.get(0),
    )?;
    let last_purged: Option<(i64, Vec<u8>)> = conn
        .query_row(
            "SELECT sequence, hash FROM audit_log WHERE sequence < COALESCE(?1, 9223372036854775807) ORDER BY sequence DESC LIMIT 1",
            [first_kept],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((sequence, hash)) = last_purged else {
        return Ok(0);
    };
    conn.execute_batch("DROP TRIGGER audit_log_append_only_delete")?;
    let removed = conn.execute("DELETE FROM audit_log WHERE sequence <= ?1", [sequence])?;
    conn.execute_batch(
        "CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log \
         BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
    )?;
    conn.execute(
        "INSERT INTO audit_checkpoint (id, sequence, hash) VALUES (1, ?1, ?2) \
         ON CONFLICT (id) DO UPDATE SET sequence = ?1, hash = ?2",
        params![sequence, hash],
    )?;
    Ok(u64::try_from(removed).unwrap_or(0))
}

fn put_consent(conn: &Connection, consent: &ConsentRecord) -> Result<bool, StoreError> {
    let existed: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM consents WHERE id = ?1)",
        [&consent.id],
        |r| r.get(0),
    )?;
    conn.execute(
        "INSERT INTO consents (id, patient, recorded_by, resource, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (id) DO UPDATE SET patient = ?2, recorded_by = ?3, resource = ?4, updated_ms = ?5",
        params![
            consent.id,
            consent.patient,
            consent.recorded_by,
            consent.resource,
            consent.updated_ms
        ],
    )?;
    Ok(!existed)
}

fn put_task(conn: &Connection, task: &TaskRecord) -> Result<bool, StoreError> {
    let values = params![
        task.id,
        task.requester,
        task.owner,
        task.patient,
        task.status,
        task.document,
        task.composition,
        task.resource,
        task.version,
        task.created_ms,
        task.updated_ms,
        task.due_ms,
        task.notified_ms,
        task.flagged
    ];
    let written = if task.version == 1 {
        conn.execute(
            "INSERT INTO tasks (id, requester, owner, patient, status, document, composition, resource, version, \
             created_ms, updated_ms, due_ms, notified_ms, flagged) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) ON CONFLICT (id) DO NOTHING",
            values,
        )?
    } else {
        conn.execute(
            "UPDATE tasks SET requester = ?2, owner = ?3, patient = ?4, status = ?5, document = ?6, \
             composition = ?7, resource = ?8, version = ?9, created_ms = ?10, updated_ms = ?11, due_ms = ?12, \
             notified_ms = ?13, flagged = ?14 WHERE id = ?1 AND version = ?9 - 1",
            values,
        )?
    };
    Ok(written == 1)
}

const TASK_COLUMNS: &str = "id, requester, owner, patient, status, document, composition, resource, version, \
                            created_ms, updated_ms, due_ms, notified_ms, flagged";

fn task_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TaskRecord> {
    Ok(TaskRecord {
        id: r.get(0)?,
        requester: r.get(1)?,
        owner: r.get(2)?,
        patient: r.get(3)?,
        status: r.get(4)?,
        document: r.get(5)?,
        composition: r.get(6)?,
        resource: r.get(7)?,
        version: r.get(8)?,
        created_ms: r.get(9)?,
        updated_ms: r.get(10)?,
        due_ms: r.get(11)?,
        notified_ms: r.get(12)?,
        flagged: r.get(13)?,
    })
}

fn consent_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ConsentRecord> {
    Ok(ConsentRecord {
        id: r.get(0)?,
        patient: r.get(1)?,
        recorded_by: r.get(2)?,
        resource: r.get(3)?,
        updated_ms: r.get(4)?,
    })
}

fn first_use(conn: &Connection, key: &str, now: i64, expires: i64) -> Result<bool, StoreError> {
    conn.execute("DELETE FROM one_time_keys WHERE expires_ms <= ?1", [now])?;
    let inserted = conn.execute(
        "INSERT INTO one_time_keys (key, expires_ms) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
        params![key, expires],
    )?;
    Ok(inserted == 1)
}

fn retry(conn: &Connection, id: i64, now: i64) -> Result<bool, StoreError> {
    let changed = conn.execute(
        "UPDATE deliveries SET state = 'pending', next_attempt_ms = ?2, updated_ms = ?2 WHERE id = ?1 AND state IN ('dead', 'withheld')",
        params![id, now],
    )?;
    Ok(changed == 1)
}

const DELIVERY_COLUMNS: &str = "id, message_id, receiver, endpoint, state, attempts, next_attempt_ms, last_error";

fn delivery_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(Delivery, String)> {
    let state: String = row.get(4)?;
    let delivery = Delivery {
        id: row.get(0)?,
        message_id: row.get(1)?,
        receiver: row.get(2)?,
        endpoint: row.get(3)?,
        state: DeliveryState::Pending,
        attempts: row.get(5)?,
        next_attempt_ms: row.get(6)?,
        last_error: row.get(7)?,
    };
    Ok((delivery, state))
}

fn with_state((mut delivery, state): (Delivery, String)) -> Result<Delivery, StoreError> {
    delivery.state =
        DeliveryState::parse(&state).ok_or_else(|| StoreError::Corrupt(format!("delivery state {state:?}")))?;
    Ok(delivery)
}

impl Store for SqliteStore {
    async fn accept(&self, message: NewMessage) -> Result<Accepted, StoreError> {
        self.write(|reply| Job::Accept(Box::new(message), reply)).await
    }

    async fn message(&self, id: &str) -> Result<Option<MessageRecord>, StoreError> {
        self.read(|conn| {
            let found = conn
                .query_row(
                    "SELECT id, sender, control_id, format, received_ms, patient FROM messages WHERE id = ?1",
                    [id],
                    |r| {
                        Ok(MessageRecord {
                            id: r.get(0)?,
                            sender: r.get(1)?,
                            control_id: r.get(2)?,
                            format: r.get(3)?,
                            received_ms: r.get(4)?,
                            patient: r.get(5)?,
                            deliveries: Vec::new(),
                        })
                    },
                )
                .optional()?;
            let Some(mut record) = found else { return Ok(None) };
            let mut query = conn.prepare_cached(&format!(
                "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE message_id = ?1 ORDER BY id"
            ))?;
            let rows = query.query_map([id], delivery_row)?;
            for row in rows {
                record.deliveries.push(with_state(row?)?);
            }
            Ok(Some(record))
        })
    }

    async fn messages_of(&self, patient: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        self.read(|conn| {
            let mut query = conn
                .prepare_cached("SELECT id FROM messages WHERE patient = ?1 ORDER BY received_ms DESC, id LIMIT ?2")?;
            let rows = query.query_map(params![patient, i64::try_from(limit).unwrap_or(i64::MAX)], |r| r.get(0))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    async fn message_body(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(|conn| {
            let body = conn
                .query_row("SELECT body FROM messages WHERE id = ?1", [id], |r| r.get(0))
                .optional()?;
            Ok(body)
        })
    }

    async fn claim_due(
        &self,
        claim: &str,
        now_ms: i64,
        until_ms: i64,
        size: ClaimSize,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let job = ClaimJob(claim.to_owned(), now_ms, until_ms, size);
        self.write(|reply| Job::Claim(Box::new(job), reply)).await
    }

    async fn release(&self, claim: &str, deliveries: &[i64]) -> Result<(), StoreError> {
        let job = (claim.to_owned(), deliveries.to_vec());
        self.write(|reply| Job::Release(Box::new(job), reply)).await
    }

    async fn record(
        &self,
        delivery: i64,
        claim: &str,
        attempt: Attempt,
        now_ms: i64,
        audit: Option<AuditEvent>,
    ) -> Result<bool, StoreError> {
        let job = RecordJob(delivery, claim.to_owned(), attempt, now_ms, audit);
        self.write(|reply| Job::Record(Box::new(job), reply)).await
    }

    async fn deliveries(&self, state: DeliveryState, limit: usize) -> Result<Vec<Delivery>, StoreError> {
        self.read(|conn| {
            let mut query = conn.prepare_cached(&format!(
                "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE state = ?1 ORDER BY id DESC LIMIT ?2"
            ))?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = query.query_map(params![state.as_str(), limit], delivery_row)?;
            rows.map(|row| with_state(row?)).collect()
        })
    }

    async fn undelivered(&self) -> Result<Vec<Undelivered>, StoreError> {
        self.read(|conn| {
            let mut query = conn.prepare_cached(UNDELIVERED)?;
            let rows = query.query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?,
                ))
            })?;
            rows.map(|row| {
                let (receiver, state, count) = row?;
                undelivered(receiver, &state, count)
            })
            .collect()
        })
    }

    async fn retry(&self, delivery: i64, now_ms: i64) -> Result<bool, StoreError> {
        self.write(|reply| Job::Retry(delivery, now_ms, reply)).await
    }

    async fn put_consent(&self, consent: ConsentRecord, audit: AuditEvent) -> Result<bool, StoreError> {
        self.write(|reply| Job::PutConsent(Box::new((consent, audit)), reply))
            .await
    }

    async fn put_task(&self, task: TaskRecord, audit: Vec<AuditEvent>) -> Result<bool, StoreError> {
        self.write(|reply| Job::PutTask(Box::new((task, audit)), reply)).await
    }

    async fn task(&self, id: &str) -> Result<Option<TaskRecord>, StoreError> {
        self.read(|conn| {
            let mut query = conn.prepare_cached(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = ?1"))?;
            Ok(query.query_row([id], task_row).optional()?)
        })
    }

    async fn task_of_composition(&self, composition: &str) -> Result<Option<TaskRecord>, StoreError> {
        self.read(|conn| {
            let mut query = conn.prepare_cached(&format!(
                "SELECT {TASK_COLUMNS} FROM tasks WHERE composition = ?1 ORDER BY created_ms DESC LIMIT 1"
            ))?;
            Ok(query.query_row([composition], task_row).optional()?)
        })
    }

    async fn tasks(&self, organization: &str, limit: usize) -> Result<Vec<TaskRecord>, StoreError> {
        self.read(|conn| {
            let mut query = conn.prepare_cached(&format!(
                "SELECT {TASK_COLUMNS} FROM tasks WHERE requester = ?1 OR owner = ?1 \
                 ORDER BY updated_ms DESC, id LIMIT ?2"
            ))?;
            let rows = query.query_map(
                params![organization, i64::try_from(limit).unwrap_or(i64::MAX)],
                task_row,
            )?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    async fn tasks_to_follow(&self, now_ms: i64, limit: usize) -> Result<Vec<TaskRecord>, StoreError> {
        self.read(|conn| {
            let mut query = conn.prepare_cached(&format!(
                "SELECT {TASK_COLUMNS} FROM tasks WHERE (notified_ms IS NULL AND status = 'requested') \
                 OR (status = 'requested' AND flagged = 0 AND due_ms <= ?1) ORDER BY created_ms, id LIMIT ?2"
            ))?;
            let rows = query.query_map(params![now_ms, i64::try_from(limit).unwrap_or(i64::MAX)], task_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    async fn audit(&self, event: AuditEvent) -> Result<(), StoreError> {
        self.write(|reply| Job::Audit(Box::new(event), reply)).await
    }

    async fn consent(&self, id: &str) -> Result<Option<ConsentRecord>, StoreError> {
        self.read(|conn| {
            Ok(conn
                .query_row(
                    "SELECT id, patient, recorded_by, resource, updated_ms FROM consents WHERE id = ?1",
                    [id],
                    consent_row,
                )
                .optional()?)
        })
    }

    async fn consents(&self, patient: &str) -> Result<Vec<ConsentRecord>, StoreError> {
        self.read(|conn| {
            let mut query = conn.prepare_cached(
                "SELECT id, patient, recorded_by, resource, updated_ms FROM consents WHERE patient = ?1 ORDER BY updated_ms, id",
            )?;
            let rows = query.query_map([patient], consent_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    async fn audit_log(
        &self,
        since_ms: i64,
        until_ms: i64,
        patient: Option<&str>,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        self.read(|conn| {
            let mut query = conn.prepare_cached(
                "SELECT sequence, recorded_ms, event FROM audit_log \
                 WHERE recorded_ms >= ?1 AND recorded_ms < ?2 AND (?3 IS NULL OR patient = ?3) ORDER BY sequence",
            )?;
            let rows = query.query_map(params![since_ms, until_ms, patient], |r| {
                Ok(AuditRecord {
                    sequence: r.get(0)?,
                    recorded_ms: r.get(1)?,
                    event: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    async fn purge_audit(&self, before_ms: i64, audit: AuditEvent) -> Result<u64, StoreError> {
        self.write(|reply| Job::PurgeAudit(before_ms, Box::new(audit), reply))
            .await
    }

    async fn verify_audit(&self) -> Result<Result<u64, Broken>, StoreError> {
        let report = self.verify_audit_report(&[])?;
        Ok(match report.problems.into_iter().next() {
            None => Ok(report.records),
            Some(first) => Err(first),
        })
    }

    async fn first_use(&self, key: &str, now_ms: i64, expires_ms: i64) -> Result<bool, StoreError> {
        let use_ = Box::new((key.to_owned(), now_ms, expires_ms));
        self.write(|reply| Job::FirstUse(use_, reply)).await
    }

    async fn ready(&self) -> Result<(), StoreError> {
        self.read(|conn| Ok(conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0)).map(|_| ())?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A job that fails leaves nothing behind; the jobs around it in the
    /// same transaction keep their writes.
    #[test]
    fn a_failed_job_undoes_only_its_own_writes() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (n INTEGER)").unwrap();
        let tx = conn.transaction().unwrap();
        let insert = |conn: &Connection, n: i64| conn.execute("INSERT INTO t VALUES (?1)", [n]);
        in_savepoint(&tx, |c| Ok(insert(c, 1)?)).unwrap();
        let failed: Result<(), StoreError> = in_savepoint(&tx, |c| {
            insert(c, 2)?;
            Err(StoreError::Write("refused".into()))
        });
        assert!(failed.is_err());
        in_savepoint(&tx, |c| Ok(insert(c, 3)?)).unwrap();
        tx.commit().unwrap();
        let kept: Vec<i64> = conn
            .prepare("SELECT n FROM t ORDER BY n")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(kept, [1, 3]);
    }
}
