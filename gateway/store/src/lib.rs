//! Durable storage for the gateway: received messages and their deliveries.
//!
//! [`Store`] is what the listeners and the delivery workers rely on. Two
//! implementations keep the same contract (one test suite runs on both):
//!
//! - [`SqliteStore`], embedded (SQLite in WAL mode), for one gateway
//!   process. All writes go through one writer thread that commits whatever
//!   has queued up in one transaction (group commit): a burst of messages
//!   costs one fsync, not one each.
//! - [`PostgresStore`], for several gateway replicas on one database:
//!   deliveries claimed with `FOR UPDATE SKIP LOCKED` under a lease, one
//!   audit chain appended under an advisory lock.
//!
//! Every write is committed before its future resolves, so a listener that
//! waits for [`Store::accept`] may acknowledge the message: it survives a
//! crash of the process (and, with [`Durability::PowerLoss`], of the machine).
//!
//! This crate knows nothing of HL7 or FHIR: messages are bytes and a format name.

mod any;
mod audit_files;
mod chain_head;
mod migrate;
mod postgres;
mod sqlite;

use std::future::Future;

pub use any::AnyStore;
pub use audit_files::{AuditSettings, load_key, load_or_create_key};
pub use migrate::{Migration, backup_sqlite, sqlite_to_postgres};
pub use postgres::{PostgresSettings, PostgresStore};
pub use sqlite::{Durability, SqliteStore};
use zorgpoort_audit::AuditEvent;
pub use zorgpoort_audit::verify::{Broken, Problem, Verification};

/// One stored audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Its place in the chain, from 1.
    pub sequence: i64,
    /// When (ms since the epoch).
    pub recorded_ms: i64,
    /// The FHIR AuditEvent JSON.
    pub event: String,
}

/// A message to store with the deliveries routing chose for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// Id the gateway gave the message.
    pub id: String,
    /// Who sent it (for HL7 v2: MSH-3/MSH-4), with `control_id` its identity.
    pub sender: String,
    /// The sender's id for the message (for HL7 v2: MSH-10).
    pub control_id: String,
    /// Input format, such as `hl7v2`.
    pub format: String,
    /// The message as received.
    pub body: Vec<u8>,
    /// Receivers and the endpoint each is delivered to.
    pub deliveries: Vec<NewDelivery>,
    /// When it was received, in milliseconds since the Unix epoch.
    pub received_ms: i64,
    /// The patient's BSN, when the message names one (for audit).
    pub patient: Option<String>,
    /// Audit events recorded in the same transaction.
    pub audit: Vec<AuditEvent>,
    /// The organisation that sent it, when authenticated (mutual TLS or a
    /// token); part of its identity with `sender` and `control_id`, so one
    /// organisation cannot claim another's control ids.
    pub origin: Option<String>,
    /// A hash of its content; a message with the identity of a stored one
    /// but another hash is [`Accepted::Reused`], not a duplicate. `None`:
    /// not compared.
    pub content_hash: Option<String>,
}

/// One receiver of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    /// Receiver's id in the registry.
    pub receiver: String,
    /// Where to deliver (a FHIR base URL or `mllp://host:port`).
    pub endpoint: String,
}

/// What [`Store::accept`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// Stored now, with its deliveries queued.
    New(String),
    /// The same sender sent the same control id before: the id stored then.
    Duplicate(String),
    /// The same sender sent the same control id before with other content:
    /// the id stored then. Nothing was stored or audited; the message must
    /// be refused, not acknowledged as a duplicate.
    Reused(String),
}

impl Accepted {
    /// The stored message's id.
    pub fn id(&self) -> &str {
        match self {
            Self::New(id) | Self::Duplicate(id) | Self::Reused(id) => id,
        }
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for its (next) attempt.
    Pending,
    /// The receiver took it.
    Delivered,
    /// The receiver refused it for good, or it was given up on.
    Dead,
    /// The patient's consent does not allow it to this receiver.
    Withheld,
}

impl DeliveryState {
    /// The name used in storage and in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
            Self::Withheld => "withheld",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(Self::Pending),
            "delivered" => Some(Self::Delivered),
            "dead" => Some(Self::Dead),
            "withheld" => Some(Self::Withheld),
            _ => None,
        }
    }
}

/// The query behind [`Store::undelivered`], the same on both backends:
/// the state index (`deliveries_due`) finds the rows, so delivered history
/// is not read.
const UNDELIVERED: &str = "SELECT receiver, state, count(*) FROM deliveries \
     WHERE state IN ('pending', 'dead', 'withheld') GROUP BY receiver, state ORDER BY receiver, state";

fn undelivered(receiver: String, state: &str, count: i64) -> Result<Undelivered, StoreError> {
    Ok(Undelivered {
        receiver,
        state: DeliveryState::parse(state).ok_or_else(|| StoreError::Corrupt(format!("delivery state {state:?}")))?,
        count: u64::try_from(count).unwrap_or_default(),
    })
}

/// How many deliveries of one receiver are in one state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undelivered {
    /// The receiving organisation.
    pub receiver: String,
    /// Pending, dead or withheld.
    pub state: DeliveryState,
    /// How many.
    pub count: u64,
}

/// A delivery as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Its id.
    pub id: i64,
    /// The message it delivers.
    pub message_id: String,
    /// Receiver's id in the registry.
    pub receiver: String,
    /// Where it goes.
    pub endpoint: String,
    /// Where it stands.
    pub state: DeliveryState,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due (ms since the epoch).
    pub next_attempt_ms: i64,
    /// What went wrong last, as the receiver or the network said it.
    pub last_error: Option<String>,
}

/// A stored message with its deliveries (the body is left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRecord {
    /// Its id.
    pub id: String,
    /// Sender.
    pub sender: String,
    /// Sender's message id.
    pub control_id: String,
    /// Input format.
    pub format: String,
    /// When it was received (ms since the epoch).
    pub received_ms: i64,
    /// The patient's BSN, when the message names one.
    pub patient: Option<String>,
    /// Its deliveries.
    pub deliveries: Vec<Delivery>,
}

/// How much one claim takes (see [`Store::claim_due`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimSize {
    /// Receivers at most.
    pub receivers: usize,
    /// Deliveries per receiver at most (at least one).
    pub per_receiver: usize,
}

impl ClaimSize {
    /// The oldest due delivery of up to `receivers` receivers: one each.
    pub fn heads(receivers: usize) -> Self {
        Self {
            receivers,
            per_receiver: 1,
        }
    }
}

/// A pending delivery read for a claim, whether it may be taken (due and
/// not claimed under a running lease), and what it delivers.
pub(crate) struct Candidate {
    pub(crate) due: DueDelivery,
    pub(crate) takeable: bool,
}

/// Of each receiver's first pending deliveries (in receiver and id order),
/// the run from its oldest that may be taken; of those runs, the
/// `receivers` with the oldest heads (by due time, then id).
pub(crate) fn batches(candidates: Vec<Candidate>, receivers: usize) -> Vec<DueDelivery> {
    let mut runs: Vec<Vec<DueDelivery>> = Vec::new();
    let mut current: Option<(String, bool)> = None;
    for candidate in candidates {
        let receiver = &candidate.due.delivery.receiver;
        let same = current.as_ref().is_some_and(|(r, _)| r == receiver);
        if !same {
            current = Some((receiver.clone(), true));
            runs.push(Vec::new());
        }
        let Some((_, open)) = current.as_mut() else { continue };
        *open = *open && candidate.takeable;
        if *open {
            if let Some(run) = runs.last_mut() {
                run.push(candidate.due);
            }
        }
    }
    runs.retain(|run| !run.is_empty());
    runs.sort_by_key(|run| (run[0].delivery.next_attempt_ms, run[0].delivery.id));
    runs.into_iter().take(receivers).flatten().collect()
}

/// A delivery claimed for one attempt (see [`Store::claim_due`]), with the
/// message it delivers. The store keeps messages as received; what is sent
/// is rendered from them for the receiver (conversion is deterministic, so
/// a retry sends the same).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueDelivery {
    /// The delivery.
    pub delivery: Delivery,
    /// The claim it was taken under; its result is recorded under it.
    pub claim: String,
    /// The message's input format.
    pub format: String,
    /// The message as received.
    pub body: Vec<u8>,
    /// The patient's BSN, when the message names one.
    pub patient: Option<String>,
}

/// How an attempt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The receiver took it.
    Delivered,
    /// Try again at `at_ms`.
    Retry {
        /// When.
        at_ms: i64,
        /// Why the attempt failed.
        error: String,
    },
    /// Give up: the receiver refused it.
    Dead {
        /// The receiver's reason.
        error: String,
    },
    /// Not sent: consent does not allow it.
    Withheld {
        /// The consent rule that decided.
        rule: String,
    },
}

impl Attempt {
    /// What the attempt made at `now_ms` leaves: the delivery's state, when
    /// it is next due, and the error or rule to keep.
    fn result(&self, now_ms: i64) -> (DeliveryState, i64, Option<&str>) {
        match self {
            Self::Delivered => (DeliveryState::Delivered, now_ms, None),
            Self::Retry { at_ms, error } => (DeliveryState::Pending, *at_ms, Some(error)),
            Self::Dead { error } => (DeliveryState::Dead, now_ms, Some(error)),
            Self::Withheld { rule } => (DeliveryState::Withheld, now_ms, Some(rule)),
        }
    }
}

/// A patient's choice as stored (the FHIR Consent as received).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRecord {
    /// The Consent's id.
    pub id: String,
    /// The patient's BSN.
    pub patient: String,
    /// The organisation that recorded it.
    pub recorded_by: Option<String>,
    /// The FHIR Consent JSON.
    pub resource: String,
    /// When it was last written (ms since the epoch).
    pub updated_ms: i64,
}

/// A handover Task (eOverdracht) the gateway holds for its sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRecord {
    /// The Task's id.
    pub id: String,
    /// The sending organisation (registry id).
    pub requester: String,
    /// The receiving organisation (registry id).
    pub owner: String,
    /// The patient's BSN, when known.
    pub patient: Option<String>,
    /// The Task's status (`requested`, `accepted`, ...).
    pub status: String,
    /// The stored message (a document Bundle) the handover hands over.
    pub document: String,
    /// The id of that document's Composition.
    pub composition: String,
    /// The FHIR Task JSON as served.
    pub resource: String,
    /// 1 when created, one more with every change.
    pub version: i64,
    /// When it was created (ms since the epoch).
    pub created_ms: i64,
    /// When it last changed.
    pub updated_ms: i64,
    /// By when the receiver must have picked it up.
    pub due_ms: i64,
    /// When the receiver was notified, once it was.
    pub notified_ms: Option<i64>,
    /// Not picked up in time, and reported.
    pub flagged: bool,
}

/// Why storage failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database refused or failed.
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    /// PostgreSQL refused or failed.
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// No connection to the database could be made or configured.
    #[error("database connection: {0}")]
    Connection(String),
    /// The writer thread has stopped (shutdown or a fatal error).
    #[error("the store's writer has stopped")]
    Closed,
    /// A write could not be committed; nothing of it was stored.
    #[error("write failed: {0}")]
    Write(String),
    /// Stored data that cannot be read back.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// The audit key or anchor file cannot be used.
    #[error("audit {what} {path}: {reason}")]
    AuditFile {
        /// `key file` or `anchor file`.
        what: &'static str,
        /// Where.
        path: std::path::PathBuf,
        /// Why.
        reason: String,
    },
}

/// Durable storage of messages and their delivery queue.
pub trait Store: Clone + Send + Sync + 'static {
    /// Stores a message and queues its deliveries, durably, in one
    /// transaction; a resend is recognised and not stored again.
    fn accept(&self, message: NewMessage) -> impl Future<Output = Result<Accepted, StoreError>> + Send;

    /// A message and its deliveries.
    fn message(&self, id: &str) -> impl Future<Output = Result<Option<MessageRecord>, StoreError>> + Send;

    /// The ids of the messages about a patient (BSN), newest first, at most `limit`.
    fn messages_of(&self, patient: &str, limit: usize) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// A message's body as received.
    fn message_body(&self, id: &str) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;

    /// Claims due deliveries of up to `size.receivers` receivers, oldest
    /// first, for one attempt each, under `claim` (a name no other claim
    /// uses) until `until_ms`: per receiver its oldest pending delivery and
    /// the ones after it, up to `size.per_receiver`, as long as each is due
    /// at `now_ms` and not claimed under a lease that still runs. So a
    /// receiver's deliveries are handed out in the order they were accepted,
    /// as one batch, to be sent one after another. Reading and claiming are
    /// one step, so a delivery is never handed out twice at once; it is due
    /// again only once its result is recorded, its claim released, or the
    /// lease ends (its worker died). The result is in receivers' order
    /// (oldest head first), each receiver's deliveries in order.
    fn claim_due(
        &self,
        claim: &str,
        now_ms: i64,
        until_ms: i64,
        size: ClaimSize,
    ) -> impl Future<Output = Result<Vec<DueDelivery>, StoreError>> + Send;

    /// Ends `claim` on deliveries that were not attempted (a batch stopped
    /// at a delivery to retry later): they stay pending, unchanged.
    fn release(&self, claim: &str, deliveries: &[i64]) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records how an attempt under `claim` went, with its audit event, in
    /// one transaction, and ends the claim. False when the delivery is no
    /// longer under that claim (its lease ran out and it was claimed again):
    /// then only the audit event is recorded, since the attempt happened.
    fn record(
        &self,
        delivery: i64,
        claim: &str,
        attempt: Attempt,
        now_ms: i64,
        audit: Option<AuditEvent>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deliveries in a state, newest first, at most `limit`.
    fn deliveries(
        &self,
        state: DeliveryState,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Delivery>, StoreError>> + Send;

    /// How many deliveries are not delivered, per receiver and state
    /// (pending, dead, withheld): the queue's depth for the metrics.
    fn undelivered(&self) -> impl Future<Output = Result<Vec<Undelivered>, StoreError>> + Send;

    /// Puts a dead or withheld delivery back in the queue, due at `now_ms`
    /// (a withheld one is checked against consent again); false when there
    /// is no such delivery with that id.
    fn retry(&self, delivery: i64, now_ms: i64) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Stores (creates or replaces) a Consent with its audit event; true when new.
    fn put_consent(
        &self,
        consent: ConsentRecord,
        audit: AuditEvent,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Writes a handover Task with its audit events in one transaction:
    /// creates it when `task.version` is 1, otherwise replaces version
    /// `task.version - 1`. False when that version is not there (the Task
    /// exists already, or someone else changed it first).
    fn put_task(
        &self,
        task: TaskRecord,
        audit: Vec<AuditEvent>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// One Task by id.
    fn task(&self, id: &str) -> impl Future<Output = Result<Option<TaskRecord>, StoreError>> + Send;

    /// The Task that hands over the document with this Composition.
    fn task_of_composition(
        &self,
        composition: &str,
    ) -> impl Future<Output = Result<Option<TaskRecord>, StoreError>> + Send;

    /// The Tasks an organisation sent or receives, last changed first, at most `limit`.
    fn tasks(
        &self,
        organization: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<TaskRecord>, StoreError>> + Send;

    /// Tasks that need the gateway: not yet notified, or still `requested`
    /// past their pickup time and not yet flagged. Oldest first, at most `limit`.
    fn tasks_to_follow(
        &self,
        now_ms: i64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<TaskRecord>, StoreError>> + Send;

    /// Appends an audit event on its own (reads, administrative actions).
    fn audit(&self, event: AuditEvent) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// One Consent by id.
    fn consent(&self, id: &str) -> impl Future<Output = Result<Option<ConsentRecord>, StoreError>> + Send;

    /// A patient's Consents, oldest first.
    fn consents(&self, patient: &str) -> impl Future<Output = Result<Vec<ConsentRecord>, StoreError>> + Send;

    /// Audit records with `since_ms <= recorded < until_ms`, oldest first,
    /// for one patient (BSN) when given.
    fn audit_log(
        &self,
        since_ms: i64,
        until_ms: i64,
        patient: Option<&str>,
    ) -> impl Future<Output = Result<Vec<AuditRecord>, StoreError>> + Send;

    /// Removes the audit records older than `before_ms` (a prefix of the
    /// chain), keeps the chain verifiable from a checkpoint, and records the
    /// purge itself with `audit`, naming that checkpoint under the key, and
    /// anchors it; how many records were removed.
    fn purge_audit(&self, before_ms: i64, audit: AuditEvent) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Checks the whole audit chain, streaming, with every record's MAC and
    /// link, against the anchors outside the database and the purge
    /// checkpoint; the number of records when intact, else the first
    /// problem found.
    fn verify_audit(&self) -> impl Future<Output = Result<Result<u64, Broken>, StoreError>> + Send;

    /// Records the first use of `key`, remembered until `expires_ms`; false
    /// when it was used before and has not expired. Keys expired at `now_ms`
    /// are forgotten. Shared by every gateway on the store: a client
    /// assertion's issuer and jti (a replay at another replica is refused
    /// too), a claim on a handover notification (one replica sends it).
    fn first_use(
        &self,
        key: &str,
        now_ms: i64,
        expires_ms: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Whether the store can serve (for readiness checks).
    fn ready(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
}
