//! The PostgreSQL store: the same contract as the SQLite one, for several
//! gateways (replicas) sharing one database.
//!
//! What replicas share and how:
//! - **messages**: a resend is recognised by the unique index on origin,
//!   sender and control id, whichever replica took the first copy;
//! - **deliveries**: claimed under a lease, one claim at a time across
//!   replicas (a transaction-scoped advisory lock), so one attempt is in
//!   flight per delivery and a receiver's deliveries are handed out as the
//!   run from its oldest pending one (order per receiver);
//! - **the audit chain**: one chain; a transaction that appends takes a
//!   transaction-scoped advisory lock first and links to the head it then
//!   reads. Appends are serialised across replicas (the lock is held from
//!   the append to the commit): the cost of one verifiable chain. Records
//!   appended on their own ([`Store::audit`], one per synchronous
//!   conversion) are committed in groups: what queued while one group
//!   committed goes in the next transaction, and each caller returns once
//!   its record is committed.
//!
//! Each replica anchors the head it committed to its own anchor file; the
//! anchors and the key stay outside the database, as with SQLite.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Transaction};
use futures_util::TryStreamExt as _;
use tokio::sync::oneshot;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::types::ToSql;
use tokio_postgres::{IsolationLevel, Row};

use zorgpoort_audit::AuditEvent;
use zorgpoort_audit::chain::{AuditKey, Hash, Record, Start};
use zorgpoort_audit::verify::{Verification, Verifier};

use crate::audit_files::{Anchoring, AuditSettings, read_anchors};
use crate::chain_head::ChainHead;
use crate::{
    Accepted, Attempt, AuditRecord, Broken, Candidate, ClaimSize, ConsentRecord, Delivery, DeliveryState, DueDelivery,
    MessageRecord, NewMessage, Store, StoreError, TaskRecord, UNDELIVERED, Undelivered, batches, undelivered,
};

mod tls;

/// Migrations in order; the position is the schema version.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/postgres/0001_schema.sql"),
    include_str!("../migrations/postgres/0002_one_time_keys.sql"),
    include_str!("../migrations/postgres/0003_pending_deliveries_per_receiver.sql"),
];

/// The advisory lock every replica takes while it migrates.
const MIGRATION_LOCK: i64 = 0x7a70_0001;
/// The advisory lock every appender to the audit chain holds until commit.
const AUDIT_CHAIN_LOCK: i64 = 0x7a70_7513;
/// The advisory lock a claim of deliveries holds until commit.
const DELIVERY_CLAIM_LOCK: i64 = 0x7a70_0002;

/// How long connecting to the database may take.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// How long an operation waits for a free connection of the pool.
const POOL_WAIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Where the database is and how to reach it.
#[derive(Debug, Clone)]
pub struct PostgresSettings {
    /// `postgres://user:password@host:port/database` (or the key=value
    /// form); the password is never logged.
    pub url: String,
    /// PEM file of the CA that signed the database server's certificate:
    /// connections then use TLS (rustls, certificate and host name
    /// checked) and never fall back to plaintext. Without it, plaintext,
    /// for a database on loopback or in the same pod.
    pub ca_file: Option<PathBuf>,
    /// Connections this gateway keeps open at most.
    pub max_connections: usize,
}

impl PostgresSettings {
    /// Default of [`PostgresSettings::max_connections`].
    pub const DEFAULT_MAX_CONNECTIONS: usize = 16;

    /// Where the database at `url` is, for messages: its hosts and name,
    /// never the user or password.
    pub fn location_of(url: &str) -> String {
        let Ok(config) = url.parse::<tokio_postgres::Config>() else {
            return "PostgreSQL (unreadable URL)".to_owned();
        };
        let hosts: Vec<String> = config
            .get_hosts()
            .iter()
            .zip(config.get_ports().iter().chain(std::iter::repeat(&5432)))
            .map(|(host, port)| match host {
                Host::Tcp(name) => format!("{name}:{port}"),
                Host::Unix(path) => path.display().to_string(),
            })
            .collect();
        format!(
            "PostgreSQL database {:?} on {}",
            config.get_dbname().unwrap_or_default(),
            hosts.join(",")
        )
    }
}

/// PostgreSQL-backed [`Store`]; cheap to clone.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    audit: Arc<AuditSide>,
    queue: Arc<AuditQueue>,
}

/// Where a queued audit record's caller hears whether it was committed.
type CommitAnswer = oneshot::Sender<Result<(), String>>;

/// Audit records waiting for the next group commit, each with the caller
/// to tell once it is committed (or why not).
#[derive(Default)]
struct AuditQueue {
    waiting: std::sync::Mutex<Vec<(AuditEvent, CommitAnswer)>>,
    /// Held by the caller committing a group, for that commit.
    committing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

/// The audit chain's side of the store: the key, the anchor file, and the
/// thread that anchors committed heads (joined when the last clone goes,
/// so the shutdown anchor is written before the process ends).
struct AuditSide {
    key: Arc<AuditKey>,
    anchor_file: PathBuf,
    /// The last record this replica anchored, for the records it appends.
    anchored: Arc<AtomicI64>,
    committed: Option<mpsc::Sender<Committed>>,
    anchor_thread: Option<thread::JoinHandle<()>>,
}

impl Drop for AuditSide {
    fn drop(&mut self) {
        drop(self.committed.take());
        if let Some(thread) = self.anchor_thread.take() {
            drop(thread.join());
        }
    }
}

/// A head this replica committed to the chain.
struct Committed {
    sequence: i64,
    hash: Hash,
    /// After a purge: anchor at once.
    purged: bool,
}

/// Anchors the heads this replica commits. Commits happen in chain order
/// (the chain lock is held until commit), but their reports may overtake
/// each other on the way here: an older head than one seen is left out.
fn anchor_loop(mut anchoring: Anchoring, heads: &mpsc::Receiver<Committed>, anchored: &AtomicI64) {
    let mut newest = 0;
    loop {
        match heads.recv_timeout(anchoring.wait()) {
            Ok(head) if head.sequence > newest || head.purged => {
                newest = newest.max(head.sequence);
                anchoring.committed(head.sequence, head.hash, true, head.purged);
            }
            Ok(_) => {}
            Err(mpsc::RecvTimeoutError::Timeout) => anchoring.idle(),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        anchored.store(anchoring.last(), Ordering::Relaxed);
    }
    anchoring.finish();
}

impl PostgresStore {
    /// Connects to the database (migrating it when needed), keying and
    /// anchoring the audit chain as `audit` says.
    pub async fn connect(settings: &PostgresSettings, audit: &AuditSettings) -> Result<Self, StoreError> {
        let pool = pool(settings)?;
        migrate(&pool).await?;
        let anchoring = Anchoring::new(audit);
        let anchored = Arc::new(AtomicI64::new(anchoring.last()));
        let (committed, heads) = mpsc::channel();
        let shared = Arc::clone(&anchored);
        let anchor_thread = thread::Builder::new()
            .name("zorgpoort-audit-anchor".into())
            .spawn(move || anchor_loop(anchoring, &heads, &shared))
            .map_err(|e| StoreError::Write(format!("cannot start the anchoring thread: {e}")))?;
        Ok(Self {
            pool,
            audit: Arc::new(AuditSide {
                key: Arc::clone(&audit.key),
                anchor_file: audit.anchor_file.clone(),
                anchored,
                committed: Some(committed),
                anchor_thread: Some(anchor_thread),
            }),
            queue: Arc::default(),
        })
    }

    /// Checks the whole audit chain against the anchors in `anchor_files`
    /// (the configured file when none is given), as
    /// [`SqliteStore::verify_audit_report`](crate::SqliteStore::verify_audit_report)
    /// does: streamed from one repeatable-read snapshot, constant memory.
    pub async fn verify_audit_report(&self, anchor_files: &[&Path]) -> Result<Verification, StoreError> {
        let key = &*self.audit.key;
        let must_reach = read_anchors(anchor_files, &self.audit.anchor_file, key)?.latest();
        let mut client = self.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let start = audit_checkpoint(&tx).await?;
        let anchors = read_anchors(anchor_files, &self.audit.anchor_file, key)?;
        let legacy_through: i64 = tx
            .query_opt("SELECT legacy_through FROM audit_keying WHERE id = 1", &[])
            .await?
            .map_or(0, |row| row.get(0));
        let mut verifier = Verifier::new(key, start, legacy_through, anchors, must_reach);
        let rows = tx
            .query_raw(
                "SELECT sequence, recorded_ms, patient, organization, event, previous, hash, anchored, \
                 purged_through, purged_hash FROM audit_log ORDER BY sequence",
                NO_PARAMS,
            )
            .await?;
        let mut rows = std::pin::pin!(rows);
        while let Some(row) = rows.try_next().await? {
            let purged = match (row.get::<_, Option<i64>>(8), row.get::<_, Option<Vec<u8>>>(9)) {
                (None, None) => None,
                // Half a checkpoint fails the MAC, as it must.
                (sequence, hash) => Some((sequence.unwrap_or(-1), hash.unwrap_or_default())),
            };
            verifier.push(&Record {
                sequence: row.get(0),
                recorded_ms: row.get(1),
                patient: row.get(2),
                organization: row.get(3),
                event: row.get(4),
                previous: row.get(5),
                hash: row.get(6),
                anchored: row.get(7),
                purged,
            });
        }
        tx.commit().await?;
        Ok(verifier.finish())
    }

    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(|e| StoreError::Connection(e.to_string()))
    }

    /// The chain's head, read under the chain lock inside `tx`.
    async fn chain_head(&self, tx: &Transaction<'_>) -> Result<ChainHead<'_>, StoreError> {
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_CHAIN_LOCK])
            .await?;
        let anchored = self.audit.anchored.load(Ordering::Relaxed);
        let key = &*self.audit.key;
        let last = tx
            .query_opt(
                "SELECT sequence, hash, anchored FROM audit_log ORDER BY sequence DESC LIMIT 1",
                &[],
            )
            .await?;
        let Some(row) = last else {
            let start = audit_checkpoint(tx).await?;
            return Ok(ChainHead {
                sequence: start.sequence,
                hash: start.hash,
                anchored,
                key,
            });
        };
        let sequence: i64 = row.get(0);
        let hash = hash_of(row.get(1), || format!("audit record {sequence}"))?;
        Ok(ChainHead {
            sequence,
            hash,
            anchored: anchored.max(row.get::<_, Option<i64>>(2).unwrap_or(0)),
            key,
        })
    }

    /// Appends `events` in `tx` under the chain lock; the head after them.
    async fn append_audit(
        &self,
        tx: &Transaction<'_>,
        events: &[AuditEvent],
        purged: Option<Start>,
    ) -> Result<Option<Committed>, StoreError> {
        if events.is_empty() {
            return Ok(None);
        }
        let mut head = self.chain_head(tx).await?;
        let insert = tx
            .prepare_cached(
                "INSERT INTO audit_log (sequence, recorded_ms, patient, organization, event, previous, hash, \
                 anchored, purged_through, purged_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .await?;
        for event in events {
            let linked = head.link(event, purged.as_ref());
            tx.execute(
                &insert,
                &[
                    &linked.sequence,
                    &event.recorded_ms,
                    &event.patient,
                    &event.organization,
                    &linked.event,
                    &linked.previous.as_slice(),
                    &linked.hash.as_slice(),
                    &linked.anchored,
                    &purged.map(|start| start.sequence),
                    &purged.as_ref().map(|start| start.hash.as_slice()),
                ],
            )
            .await?;
        }
        Ok(Some(Committed {
            sequence: head.sequence,
            hash: head.hash,
            purged: purged.is_some(),
        }))
    }

    /// Appends `events` in one transaction of their own and commits it.
    async fn append_and_commit(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let appended = self.append_audit(&tx, events, None).await?;
        self.commit(tx, appended).await
    }

    /// Commits `tx`, then hands the head it appended to the anchoring thread.
    async fn commit(&self, tx: Transaction<'_>, appended: Option<Committed>) -> Result<(), StoreError> {
        tx.commit().await?;
        if let (Some(head), Some(anchors)) = (appended, &self.audit.committed) {
            // The thread is gone only at shutdown, after the last clone.
            drop(anchors.send(head));
        }
        Ok(())
    }
}

const NO_PARAMS: [&(dyn ToSql + Sync); 0] = [];

fn hash_of(bytes: Vec<u8>, what: impl FnOnce() -> String) -> Result<Hash, StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("{}: hash length", what())))
}

fn pool(settings: &PostgresSettings) -> Result<Pool, StoreError> {
    let mut config: tokio_postgres::Config = settings
        .url
        .parse()
        .map_err(|e| StoreError::Connection(format!("store.url is not a PostgreSQL URL: {e}")))?;
    let tls = match &settings.ca_file {
        Some(ca_file) => {
            config.ssl_mode(SslMode::Require);
            tls::RustlsConnector::with_ca_file(ca_file)?
        }
        None if config.get_ssl_mode() == SslMode::Require => {
            return Err(StoreError::Connection(
                "store.url asks for sslmode=require but store.ca_file is not set: name the CA of the \
                 database server's certificate"
                    .into(),
            ));
        }
        None => {
            config.ssl_mode(SslMode::Disable);
            tls::RustlsConnector::plaintext()
        }
    };
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    let manager = Manager::from_config(
        config,
        tls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    // A database that does not answer is an error after a while, not a hang.
    Pool::builder(manager)
        .max_size(settings.max_connections.max(1))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .create_timeout(Some(CONNECT_TIMEOUT))
        .wait_timeout(Some(POOL_WAIT_TIMEOUT))
        .build()
        .map_err(|e| StoreError::Connection(e.to_string()))
}

/// Applies the migrations not yet applied, under a lock, so replicas
/// starting together migrate once.
async fn migrate(pool: &Pool) -> Result<(), StoreError> {
    let mut client = pool.get().await.map_err(|e| StoreError::Connection(e.to_string()))?;
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)")
        .await?;
    let current: i32 = tx
        .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[])
        .await?
        .get(0);
    for (index, sql) in MIGRATIONS.iter().enumerate() {
        let version = i32::try_from(index + 1).unwrap_or(i32::MAX);
        if version <= current {
            continue;
        }
        tx.batch_execute(sql).await?;
        tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[&version])
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Where the chain starts: after the purge checkpoint, or from the start.
async fn audit_checkpoint(tx: &Transaction<'_>) -> Result<Start, StoreError> {
    let row = tx
        .query_opt("SELECT sequence, hash FROM audit_checkpoint WHERE id = 1", &[])
        .await?;
    match row {
        None => Ok(Start::default()),
        Some(row) => Ok(Start {
            sequence: row.get(0),
            hash: hash_of(row.get(1), || "audit checkpoint".into())?,
        }),
    }
}

fn limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

const DELIVERY_COLUMNS: &str = "id, message_id, receiver, endpoint, state, attempts, next_attempt_ms, last_error";

/// A delivery from the first eight columns of `row` (`DELIVERY_COLUMNS`).
fn delivery(row: &Row) -> Result<Delivery, StoreError> {
    let state: String = row.get(4);
    let attempts: i32 = row.get(5);
    Ok(Delivery {
        id: row.get(0),
        message_id: row.get(1),
        receiver: row.get(2),
        endpoint: row.get(3),
        state: DeliveryState::parse(&state).ok_or_else(|| StoreError::Corrupt(format!("delivery state {state:?}")))?,
        attempts: u32::try_from(attempts).map_err(|_| StoreError::Corrupt(format!("attempts {attempts}")))?,
        next_attempt_ms: row.get(6),
        last_error: row.get(7),
    })
}

const TASK_COLUMNS: &str = "id, requester, owner, patient, status, document, composition, resource, version, \
                            created_ms, updated_ms, due_ms, notified_ms, flagged";

fn task(row: &Row) -> TaskRecord {
    TaskRecord {
        id: row.get(0),
        requester: row.get(1),
        owner: row.get(2),
        patient: row.get(3),
        status: row.get(4),
        document: row.get(5),
        composition: row.get(6),
        resource: row.get(7),
        version: row.get(8),
        created_ms: row.get(9),
        updated_ms: row.get(10),
        due_ms: row.get(11),
        notified_ms: row.get(12),
        flagged: row.get(13),
    }
}

const CONSENT_COLUMNS: &str = "id, patient, recorded_by, resource, updated_ms";

fn consent(row: &Row) -> ConsentRecord {
    ConsentRecord {
        id: row.get(0),
        patient: row.get(1),
        recorded_by: row.get(2),
        resource: row.get(3),
        updated_ms: row.get(4),
    }
}

impl Store for PostgresStore {
    async fn accept(&self, message: NewMessage) -> Result<Accepted, StoreError> {
        let origin = message.origin.as_deref().unwrap_or_default();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // A concurrent first copy on another replica holds the index entry
        // until it commits; then this one finds it stored.
        let inserted = tx
            .query_opt(
                "INSERT INTO messages (id, sender, control_id, format, received_ms, body, patient, origin, \
                 content_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (origin, sender, control_id) DO NOTHING RETURNING id",
                &[
                    &message.id,
                    &message.sender,
                    &message.control_id,
                    &message.format,
                    &message.received_ms,
                    &message.body,
                    &message.patient,
                    &origin,
                    &message.content_hash,
                ],
            )
            .await?;
        let accepted = if inserted.is_some() {
            let insert = tx
                .prepare_cached(
                    "INSERT INTO deliveries (message_id, receiver, endpoint, state, next_attempt_ms, updated_ms) \
                     VALUES ($1, $2, $3, 'pending', $4, $4)",
                )
                .await?;
            for delivery in &message.deliveries {
                tx.execute(
                    &insert,
                    &[
                        &message.id,
                        &delivery.receiver,
                        &delivery.endpoint,
                        &message.received_ms,
                    ],
                )
                .await?;
            }
            Accepted::New(message.id.clone())
        } else {
            let row = tx
                .query_one(
                    "SELECT id, content_hash FROM messages WHERE origin = $1 AND sender = $2 AND control_id = $3",
                    &[&origin, &message.sender, &message.control_id],
                )
                .await?;
            let (id, stored): (String, Option<String>) = (row.get(0), row.get(1));
            if let (Some(stored), Some(hash)) = (stored, &message.content_hash) {
                if *hash != stored {
                    // Nothing is written: the caller refuses the message and audits that.
                    tx.rollback().await?;
                    return Ok(Accepted::Reused(id));
                }
            }
            Accepted::Duplicate(id)
        };
        let appended = self.append_audit(&tx, &message.audit, None).await?;
        self.commit(tx, appended).await?;
        Ok(accepted)
    }

    async fn message(&self, id: &str) -> Result<Option<MessageRecord>, StoreError> {
        let client = self.client().await?;
        let Some(row) = client
            .query_opt(
                "SELECT id, sender, control_id, format, received_ms, patient FROM messages WHERE id = $1",
                &[&id],
            )
            .await?
        else {
            return Ok(None);
        };
        let deliveries = client
            .query(
                &format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE message_id = $1 ORDER BY id"),
                &[&id],
            )
            .await?;
        Ok(Some(MessageRecord {
            id: row.get(0),
            sender: row.get(1),
            control_id: row.get(2),
            format: row.get(3),
            received_ms: row.get(4),
            patient: row.get(5),
            deliveries: deliveries.iter().map(delivery).collect::<Result<_, _>>()?,
        }))
    }

    async fn messages_of(&self, patient: &str, max: usize) -> Result<Vec<String>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT id FROM messages WHERE patient = $1 ORDER BY received_ms DESC, id LIMIT $2",
                &[&patient, &limit(max)],
            )
            .await?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    async fn message_body(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT body FROM messages WHERE id = $1", &[&id])
            .await?;
        Ok(row.map(|row| row.get(0)))
    }

    async fn claim_due(
        &self,
        claim: &str,
        now_ms: i64,
        until_ms: i64,
        size: ClaimSize,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Claims are made one at a time across replicas (a claim is a
        // read and an update, about a millisecond), so a batch read here is
        // still the run from its receiver's head when it is marked; the
        // attempts themselves run in parallel.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&DELIVERY_CLAIM_LOCK])
            .await?;
        // Each receiver's first pending deliveries, receiver by receiver
        // through the index of pending deliveries, so the cost does not grow
        // with a backlog; `batches` keeps the run from each head that is due
        // and held by no one.
        let rows = tx
            .query(
                &format!(
                    "WITH RECURSIVE heads (receiver) AS ( \
                       (SELECT receiver FROM deliveries WHERE state = 'pending' ORDER BY receiver, id LIMIT 1) \
                       UNION ALL \
                       SELECT next.receiver FROM heads h CROSS JOIN LATERAL ( \
                         SELECT p.receiver FROM deliveries p WHERE p.state = 'pending' \
                         AND p.receiver > h.receiver ORDER BY p.receiver, p.id LIMIT 1) next) \
                     SELECT d.{}, m.format, m.body, m.patient, \
                            d.next_attempt_ms <= $1 AND (d.claimed_until IS NULL OR d.claimed_until <= $1) \
                     FROM heads h CROSS JOIN LATERAL ( \
                       SELECT * FROM deliveries p WHERE p.state = 'pending' AND p.receiver = h.receiver \
                       ORDER BY p.id LIMIT $2) d \
                     JOIN messages m ON m.id = d.message_id \
                     ORDER BY d.receiver, d.id",
                    DELIVERY_COLUMNS.replace(", ", ", d.")
                ),
                &[&now_ms, &limit(size.per_receiver.max(1))],
            )
            .await?;
        let candidates = rows
            .iter()
            .map(|row| {
                let due = DueDelivery {
                    delivery: delivery(row)?,
                    claim: claim.to_owned(),
                    format: row.try_get(8)?,
                    body: row.try_get(9)?,
                    patient: row.try_get(10)?,
                };
                Ok(Candidate {
                    due,
                    takeable: row.try_get(11)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let due = batches(candidates, size.receivers);
        let ids: Vec<i64> = due.iter().map(|d| d.delivery.id).collect();
        tx.execute(
            "UPDATE deliveries SET claim = $1, claimed_until = $2 WHERE id = ANY($3)",
            &[&claim, &until_ms, &ids],
        )
        .await?;
        tx.commit().await?;
        Ok(due)
    }

    async fn release(&self, claim: &str, deliveries: &[i64]) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE deliveries SET claim = NULL, claimed_until = NULL WHERE id = ANY($1) AND claim = $2",
                &[&deliveries, &claim],
            )
            .await?;
        Ok(())
    }

    async fn record(
        &self,
        delivery: i64,
        claim: &str,
        attempt: Attempt,
        now_ms: i64,
        audit: Option<AuditEvent>,
    ) -> Result<bool, StoreError> {
        let (state, next, error) = attempt.result(now_ms);
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let changed = tx
            .execute(
                "UPDATE deliveries SET state = $2, attempts = attempts + 1, next_attempt_ms = $3, \
                 last_error = COALESCE($4, last_error), updated_ms = $5, claim = NULL, claimed_until = NULL \
                 WHERE id = $1 AND claim = $6",
                &[&delivery, &state.as_str(), &next, &error, &now_ms, &claim],
            )
            .await?;
        let appended = self.append_audit(&tx, audit.as_slice(), None).await?;
        self.commit(tx, appended).await?;
        Ok(changed == 1)
    }

    async fn deliveries(&self, state: DeliveryState, max: usize) -> Result<Vec<Delivery>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE state = $1 ORDER BY id DESC LIMIT $2"),
                &[&state.as_str(), &limit(max)],
            )
            .await?;
        rows.iter().map(delivery).collect()
    }

    async fn undelivered(&self) -> Result<Vec<Undelivered>, StoreError> {
        let client = self.client().await?;
        let rows = client.query(UNDELIVERED, &[]).await?;
        rows.iter()
            .map(|row| undelivered(row.try_get(0)?, row.try_get::<_, &str>(1)?, row.try_get(2)?))
            .collect()
    }

    async fn retry(&self, delivery: i64, now_ms: i64) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let changed = client
            .execute(
                "UPDATE deliveries SET state = 'pending', next_attempt_ms = $2, updated_ms = $2 \
                 WHERE id = $1 AND state IN ('dead', 'withheld')",
                &[&delivery, &now_ms],
            )
            .await?;
        Ok(changed == 1)
    }

    async fn put_consent(&self, consent: ConsentRecord, audit: AuditEvent) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let existed = tx
            .query_opt("SELECT 1 FROM consents WHERE id = $1 FOR UPDATE", &[&consent.id])
            .await?
            .is_some();
        tx.execute(
            "INSERT INTO consents (id, patient, recorded_by, resource, updated_ms) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (id) DO UPDATE SET patient = $2, recorded_by = $3, resource = $4, updated_ms = $5",
            &[
                &consent.id,
                &consent.patient,
                &consent.recorded_by,
                &consent.resource,
                &consent.updated_ms,
            ],
        )
        .await?;
        let appended = self.append_audit(&tx, std::slice::from_ref(&audit), None).await?;
        self.commit(tx, appended).await?;
        Ok(!existed)
    }

    async fn put_task(&self, task: TaskRecord, audit: Vec<AuditEvent>) -> Result<bool, StoreError> {
        let values: [&(dyn ToSql + Sync); 14] = [
            &task.id,
            &task.requester,
            &task.owner,
            &task.patient,
            &task.status,
            &task.document,
            &task.composition,
            &task.resource,
            &task.version,
            &task.created_ms,
            &task.updated_ms,
            &task.due_ms,
            &task.notified_ms,
            &task.flagged,
        ];
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let written = if task.version == 1 {
            tx.execute(
                &format!(
                    "INSERT INTO tasks ({TASK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
                     $13, $14) ON CONFLICT (id) DO NOTHING"
                ),
                &values,
            )
            .await?
        } else {
            tx.execute(
                "UPDATE tasks SET requester = $2, owner = $3, patient = $4, status = $5, document = $6, \
                 composition = $7, resource = $8, version = $9, created_ms = $10, updated_ms = $11, due_ms = $12, \
                 notified_ms = $13, flagged = $14 WHERE id = $1 AND version = $9::BIGINT - 1",
                &values,
            )
            .await?
        };
        let written = written == 1;
        let appended = if written {
            self.append_audit(&tx, &audit, None).await?
        } else {
            None
        };
        self.commit(tx, appended).await?;
        Ok(written)
    }

    async fn task(&self, id: &str) -> Result<Option<TaskRecord>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1"), &[&id])
            .await?;
        Ok(row.as_ref().map(task))
    }

    async fn task_of_composition(&self, composition: &str) -> Result<Option<TaskRecord>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT {TASK_COLUMNS} FROM tasks WHERE composition = $1 ORDER BY created_ms DESC LIMIT 1"),
                &[&composition],
            )
            .await?;
        Ok(row.as_ref().map(task))
    }

    async fn tasks(&self, organization: &str, max: usize) -> Result<Vec<TaskRecord>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {TASK_COLUMNS} FROM tasks WHERE requester = $1 OR owner = $1 \
                     ORDER BY updated_ms DESC, id LIMIT $2"
                ),
                &[&organization, &limit(max)],
            )
            .await?;
        Ok(rows.iter().map(task).collect())
    }

    async fn tasks_to_follow(&self, now_ms: i64, max: usize) -> Result<Vec<TaskRecord>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {TASK_COLUMNS} FROM tasks WHERE (notified_ms IS NULL AND status = 'requested') \
                     OR (status = 'requested' AND NOT flagged AND due_ms <= $1) ORDER BY created_ms, id LIMIT $2"
                ),
                &[&now_ms, &limit(max)],
            )
            .await?;
        Ok(rows.iter().map(task).collect())
    }

    async fn audit(&self, event: AuditEvent) -> Result<(), StoreError> {
        let (tell, mut committed) = oneshot::channel();
        self.queue
            .waiting
            .lock()
            .map_err(|_| StoreError::Closed)?
            .push((event, tell));
        let turn = self.queue.committing.lock().await;
        // The group committed while this caller waited for its turn may
        // have held its record; otherwise it commits the group itself.
        let answer = if let Ok(answer) = committed.try_recv() {
            answer
        } else {
            let group = std::mem::take(&mut *self.queue.waiting.lock().map_err(|_| StoreError::Closed)?);
            let (events, callers): (Vec<AuditEvent>, Vec<_>) = group.into_iter().unzip();
            let answer = self.append_and_commit(&events).await.map_err(|e| e.to_string());
            // A caller that went away needs no answer.
            for caller in callers {
                drop(caller.send(answer.clone()));
            }
            drop(turn);
            // This caller's own answer, sent above; gone only when a
            // cancelled caller took the group and rolled it back.
            committed
                .await
                .unwrap_or_else(|_| Err("the audit group commit was cancelled".to_owned()))
        };
        answer.map_err(StoreError::Write)
    }

    async fn consent(&self, id: &str) -> Result<Option<ConsentRecord>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(&format!("SELECT {CONSENT_COLUMNS} FROM consents WHERE id = $1"), &[&id])
            .await?;
        Ok(row.as_ref().map(consent))
    }

    async fn consents(&self, patient: &str) -> Result<Vec<ConsentRecord>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!("SELECT {CONSENT_COLUMNS} FROM consents WHERE patient = $1 ORDER BY updated_ms, id"),
                &[&patient],
            )
            .await?;
        Ok(rows.iter().map(consent).collect())
    }

    async fn audit_log(
        &self,
        since_ms: i64,
        until_ms: i64,
        patient: Option<&str>,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT sequence, recorded_ms, event FROM audit_log WHERE recorded_ms >= $1 AND recorded_ms < $2 \
                 AND ($3::TEXT IS NULL OR patient = $3) ORDER BY sequence",
                &[&since_ms, &until_ms, &patient],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|row| AuditRecord {
                sequence: row.get(0),
                recorded_ms: row.get(1),
                event: row.get(2),
            })
            .collect())
    }

    async fn purge_audit(&self, before_ms: i64, audit: AuditEvent) -> Result<u64, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // The head first: it takes the chain lock, so no record is appended
        // between choosing the prefix and removing it.
        self.chain_head(&tx).await?;
        let last_purged = tx
            .query_opt(
                "SELECT sequence, hash FROM audit_log WHERE sequence < COALESCE( \
                 (SELECT MIN(sequence) FROM audit_log WHERE recorded_ms >= $1), 9223372036854775807) \
                 ORDER BY sequence DESC LIMIT 1",
                &[&before_ms],
            )
            .await?;
        let removed = match last_purged {
            None => 0,
            Some(row) => {
                let (sequence, hash): (i64, Vec<u8>) = (row.get(0), row.get(1));
                tx.batch_execute("SET LOCAL zorgpoort.purging = 'on'").await?;
                let removed = tx
                    .execute("DELETE FROM audit_log WHERE sequence <= $1", &[&sequence])
                    .await?;
                tx.batch_execute("SET LOCAL zorgpoort.purging = 'off'").await?;
                tx.execute(
                    "INSERT INTO audit_checkpoint (id, sequence, hash) VALUES (1, $1, $2) \
                     ON CONFLICT (id) DO UPDATE SET sequence = $1, hash = $2",
                    &[&sequence, &hash],
                )
                .await?;
                removed
            }
        };
        // The purge record names the checkpoint under the key, so a
        // checkpoint set by anyone else is found.
        let checkpoint = audit_checkpoint(&tx).await?;
        let appended = self
            .append_audit(&tx, std::slice::from_ref(&audit), Some(checkpoint))
            .await?;
        self.commit(tx, appended).await?;
        Ok(removed)
    }

    async fn verify_audit(&self) -> Result<Result<u64, Broken>, StoreError> {
        let report = self.verify_audit_report(&[]).await?;
        Ok(match report.problems.into_iter().next() {
            None => Ok(report.records),
            Some(first) => Err(first),
        })
    }

    async fn first_use(&self, key: &str, now_ms: i64, expires_ms: i64) -> Result<bool, StoreError> {
        let client = self.client().await?;
        client
            .execute("DELETE FROM one_time_keys WHERE expires_ms <= $1", &[&now_ms])
            .await?;
        // Two replicas inserting the same key: the second waits for the
        // first to commit, then inserts nothing.
        let inserted = client
            .execute(
                "INSERT INTO one_time_keys (key, expires_ms) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                &[&key, &expires_ms],
            )
            .await?;
        Ok(inserted == 1)
    }

    async fn ready(&self) -> Result<(), StoreError> {
        let client = self.client().await?;
        client.query_one("SELECT 1", &[]).await?;
        Ok(())
    }
}
