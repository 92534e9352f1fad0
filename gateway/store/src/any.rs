//! [`AnyStore`]: the backend a configuration chose, behind one type, so the
//! gateway is compiled once for both.

use std::path::Path;

use zorgpoort_audit::AuditEvent;

use crate::{
    Accepted, Attempt, AuditRecord, Broken, ClaimSize, ConsentRecord, Delivery, DeliveryState, DueDelivery,
    MessageRecord, NewMessage, PostgresStore, SqliteStore, Store, StoreError, TaskRecord, Undelivered, Verification,
};

/// SQLite for one gateway, PostgreSQL for replicas.
#[derive(Debug, Clone)]
pub enum AnyStore {
    /// The embedded database in the data directory.
    Sqlite(SqliteStore),
    /// A PostgreSQL database shared by replicas.
    Postgres(PostgresStore),
}

/// Runs the same call on whichever backend `$store` is.
macro_rules! on_backend {
    ($store:expr, $backend:ident => $call:expr) => {
        match $store {
            AnyStore::Sqlite($backend) => $call.await,
            AnyStore::Postgres($backend) => $call.await,
        }
    };
}

impl AnyStore {
    /// Checks the audit chain against the anchors in `anchor_files` (the
    /// configured file when none is given); see
    /// [`SqliteStore::verify_audit_report`].
    pub async fn verify_audit_report(&self, anchor_files: &[&Path]) -> Result<Verification, StoreError> {
        match self {
            Self::Sqlite(store) => store.verify_audit_report(anchor_files),
            Self::Postgres(store) => store.verify_audit_report(anchor_files).await,
        }
    }
}

impl Store for AnyStore {
    async fn accept(&self, message: NewMessage) -> Result<Accepted, StoreError> {
        on_backend!(self, store => store.accept(message))
    }

    async fn message(&self, id: &str) -> Result<Option<MessageRecord>, StoreError> {
        on_backend!(self, store => store.message(id))
    }

    async fn messages_of(&self, patient: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        on_backend!(self, store => store.messages_of(patient, limit))
    }

    async fn message_body(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        on_backend!(self, store => store.message_body(id))
    }

    async fn claim_due(
        &self,
        claim: &str,
        now_ms: i64,
        until_ms: i64,
        size: ClaimSize,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        on_backend!(self, store => store.claim_due(claim, now_ms, until_ms, size))
    }

    async fn release(&self, claim: &str, deliveries: &[i64]) -> Result<(), StoreError> {
        on_backend!(self, store => store.release(claim, deliveries))
    }

    async fn record(
        &self,
        delivery: i64,
        claim: &str,
        attempt: Attempt,
        now_ms: i64,
        audit: Option<AuditEvent>,
    ) -> Result<bool, StoreError> {
        on_backend!(self, store => store.record(delivery, claim, attempt, now_ms, audit))
    }

    async fn deliveries(&self, state: DeliveryState, limit: usize) -> Result<Vec<Delivery>, StoreError> {
        on_backend!(self, store => store.deliveries(state, limit))
    }

    async fn undelivered(&self) -> Result<Vec<Undelivered>, StoreError> {
        on_backend!(self, store => store.undelivered())
    }

    async fn retry(&self, delivery: i64, now_ms: i64) -> Result<bool, StoreError> {
        on_backend!(self, store => store.retry(delivery, now_ms))
    }

    async fn put_consent(&self, consent: ConsentRecord, audit: AuditEvent) -> Result<bool, StoreError> {
        on_backend!(self, store => store.put_consent(consent, audit))
    }

    async fn put_task(&self, task: TaskRecord, audit: Vec<AuditEvent>) -> Result<bool, StoreError> {
        on_backend!(self, store => store.put_task(task, audit))
    }

    async fn task(&self, id: &str) -> Result<Option<TaskRecord>, StoreError> {
        on_backend!(self, store => store.task(id))
    }

    async fn task_of_composition(&self, composition: &str) -> Result<Option<TaskRecord>, StoreError> {
        on_backend!(self, store => store.task_of_composition(composition))
    }

    async fn tasks(&self, organization: &str, limit: usize) -> Result<Vec<TaskRecord>, StoreError> {
        on_backend!(self, store => store.tasks(organization, limit))
    }

    async fn tasks_to_follow(&self, now_ms: i64, limit: usize) -> Result<Vec<TaskRecord>, StoreError> {
        on_backend!(self, store => store.tasks_to_follow(now_ms, limit))
    }

    async fn audit(&self, event: AuditEvent) -> Result<(), StoreError> {
        on_backend!(self, store => store.audit(event))
    }

    async fn consent(&self, id: &str) -> Result<Option<ConsentRecord>, StoreError> {
        on_backend!(self, store => store.consent(id))
    }

    async fn consents(&self, patient: &str) -> Result<Vec<ConsentRecord>, StoreError> {
        on_backend!(self, store => store.consents(patient))
    }

    async fn audit_log(
        &self,
        since_ms: i64,
        until_ms: i64,
        patient: Option<&str>,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        on_backend!(self, store => store.audit_log(since_ms, until_ms, patient))
    }

    async fn purge_audit(&self, before_ms: i64, audit: AuditEvent) -> Result<u64, StoreError> {
        on_backend!(self, store => store.purge_audit(before_ms, audit))
    }

    async fn verify_audit(&self) -> Result<Result<u64, Broken>, StoreError> {
        on_backend!(self, store => store.verify_audit())
    }

    async fn first_use(&self, key: &str, now_ms: i64, expires_ms: i64) -> Result<bool, StoreError> {
        on_backend!(self, store => store.first_use(key, now_ms, expires_ms))
    }

    async fn ready(&self) -> Result<(), StoreError> {
        on_backend!(self, store => store.ready())
    }
}
