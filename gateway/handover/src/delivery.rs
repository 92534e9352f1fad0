//! Delivery: workers send stored messages to receivers: rendered as FHIR
//! transaction Bundles to FHIR endpoints, or as received to HL7 v2
//! receivers over MLLP (ACK AA done, AR retried, AE refused). Over HTTP 2xx is done; 4xx (but 408 and 429) is permanent and the
//! delivery becomes a dead letter with the receiver's answer; 5xx, 408, 429,
//! timeouts and connection errors are retried with exponential backoff and
//! jitter. A receiver gets one delivery at a time, in acceptance order.
//!
//! A delivery has one attempt at a time: the deliverer claims due
//! deliveries in the store, per receiver a batch in order (one step, see
//! [`Store::claim_due`]), sends each batch one delivery after another and
//! records each result under its claim. An attempt is cut off after
//! `timeout_ms` and a batch starts attempts for at most `timeout_ms`; the
//! claim's lease runs [`LEASE_MARGIN_MS`] longer than both, so a delivery
//! is claimed again only after its attempt ended, or when its gateway died
//! (then after the lease). See docs/decisions/0005-delivery-claims.md.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::{Request, StatusCode, header};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinSet;
use zorgpoort_audit::{Action, AuditEvent, DataObject, Outcome};
use zorgpoort_consent::fhir::read_consent;
use zorgpoort_consent::{Decision, Policy, Purpose, categories_in, decide, filter};

use crate::registry::Registry;
use crate::routing::{MLLP_PREFIX, STU3_PREFIX};
use crate::upstream::Upstream;
use zorgpoort_hl7v2::framing::{MLLP_END, MLLP_START};
use zorgpoort_hl7v2::{Limits, Message};
use zorgpoort_metrics::{Metrics, catalogue};
use zorgpoort_model::datatypes::{LocalZone, PartialDateTime};
use zorgpoort_store::{Attempt, ClaimSize, DueDelivery, Store};

/// How deliveries are attempted.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// Receivers delivered to at once (each receiver's deliveries go one
    /// after another, in order).
    pub concurrency: usize,
    /// A receiver's deliveries claimed at once and sent one after another
    /// without a claim each; a batch stops at a delivery to retry later.
    pub batch: usize,
    /// Attempts before a delivery is given up as a dead letter.
    pub max_attempts: u32,
    /// Wait before the first retry; doubled per attempt.
    pub initial_backoff_ms: u64,
    /// Longest wait between attempts.
    pub max_backoff_ms: u64,
    /// Time allowed for one attempt, and for a batch to go on starting
    /// attempts; a delivery whose gateway died is claimed again twice this
    /// plus [`LEASE_MARGIN_MS`] after it was claimed.
    pub timeout_ms: u64,
    /// How often the queue is looked at when idle.
    pub poll_interval_ms: u64,
    /// Bundles made of HL7 v2 messages at intake kept in memory, up to
    /// this many bytes, so that delivering them does not convert them again
    /// (0: convert again at delivery).
    pub kept_bundles_bytes: usize,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            concurrency: 16,
            batch: 64,
            max_attempts: 20,
            initial_backoff_ms: 500,
            max_backoff_ms: 300_000,
            timeout_ms: 30_000,
            poll_interval_ms: 100,
            kept_bundles_bytes: 32 << 20,
        }
    }
}

/// How much longer a claim's lease runs than its batch may take: time to
/// record the results. A result recorded after the lease ran out counts only
/// when no one claimed the delivery since.
pub const LEASE_MARGIN_MS: u64 = 10_000;

/// Attempts of one batch sent but not yet being recorded, at most: after
/// a crash these (and the group being recorded) are sent again.
pub const MAX_UNRECORDED: usize = 8;

/// Most of a refusing receiver's answer kept as the reason.
const MAX_REASON_BYTES: usize = 4096;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// What an MLLP receiver gets: an HL7 v2 message as it was received, and
/// anything else as HL7 v2 made from the Bundle that consent let through.
fn v2_form<'a>(format: &str, body: &'a [u8], bundle: &str) -> Result<std::borrow::Cow<'a, [u8]>, Failure> {
    if format == "hl7v2" {
        return Ok(std::borrow::Cow::Borrowed(body));
    }
    let cannot = |why: String| Failure::Permanent(format!("no HL7 v2 form of this {format} message: {why}"));
    let bundle: serde_json::Value = serde_json::from_str(bundle).map_err(|e| cannot(e.to_string()))?;
    let options = zorgpoort_hl7v2::FromFhirOptions {
        // MSH-7 when the Bundle says nothing about when it was made.
        now: Some(PartialDateTime::from_unix_ms(now_ms()).to_fhir_instant(LocalZone::Utc)),
        ..zorgpoort_hl7v2::FromFhirOptions::default()
    };
    let made = zorgpoort_hl7v2::from_fhir(&bundle, &options).map_err(|e| cannot(e.to_string()))?;
    Ok(std::borrow::Cow::Owned(made.message.into_bytes()))
}

/// The media type of FHIR STU3 JSON.
pub const STU3_JSON: &str = "application/fhir+json; fhirVersion=3.0";

/// FHIR R4 JSON (a resource or Bundle) as FHIR STU3 JSON: what a STU3
/// receiver or requester gets. What STU3 cannot hold is logged by its place,
/// never its content.
pub fn in_stu3(r4: &str) -> Result<String, String> {
    let value: serde_json::Value = serde_json::from_str(r4).map_err(|e| e.to_string())?;
    let converted = zorgpoort_stu3::to_stu3(&value).map_err(|e| e.to_string())?;
    if !converted.warnings.is_empty() {
        let places: Vec<&str> = converted.warnings.iter().map(|w| w.location.as_str()).collect();
        tracing::info!(lost = ?places, "parts have no FHIR STU3 form");
    }
    Ok(converted.resource.to_string())
}

/// Makes what is sent from a stored message: `(format, body) -> payload`,
/// or why it cannot be made (then the delivery is a dead letter).
pub type Render = Arc<dyn Fn(&str, &[u8]) -> Result<String, String> + Send + Sync>;

/// What consent decisions need besides the patient's choices.
#[derive(Debug, Clone)]
pub struct ConsentCheck {
    /// The region's organisations (a receiver's category).
    pub registry: Arc<Registry>,
    /// The region's consent policy.
    pub policy: Policy,
}

/// Who asks for data and why, for a consent decision.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    /// The receiving or requesting organisation (registry id).
    pub requester: &'a str,
    /// Why.
    pub purpose: Purpose,
    /// Whether it treats the patient (the handover is addressed to it).
    pub treating_relationship: bool,
    /// For break-the-glass: the stated reason.
    pub reason: Option<&'a str>,
}

/// Why a consent decision could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ConsentError {
    /// The store (the patient's choices, or what the decision writes)
    /// could not be read or written; try again.
    #[error("store: {0}")]
    Store(#[from] zorgpoort_store::StoreError),
    /// The data is not a JSON Bundle.
    #[error("not a JSON Bundle: {0}")]
    Bundle(#[from] serde_json::Error),
}

/// A consent decision on a Bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// What was decided, citing the rule.
    pub decision: Decision,
    /// The Bundle as it may go (filtered for a partial permit).
    pub bundle: String,
    /// The data categories the Bundle held, for the audit log.
    pub categories: Vec<String>,
}

impl ConsentCheck {
    /// Decides what of `bundle` (a FHIR Bundle as JSON) may go to the asker,
    /// from the patient's stored choices and the policy.
    pub async fn evaluate<S: Store>(
        &self,
        store: &S,
        bundle: String,
        patient: Option<&str>,
        ask: &Ask<'_>,
    ) -> Result<Evaluation, ConsentError> {
        let mut choices = Vec::new();
        if let Some(patient) = patient {
            let stored = store.consents(patient).await?;
            for record in stored {
                let parsed = serde_json::from_str(&record.resource)
                    .ok()
                    .and_then(|r| read_consent(&r).ok());
                match parsed {
                    Some((_, Some(choice))) => choices.push(choice),
                    Some((_, None)) => {}
                    None => tracing::warn!(consent = %record.id, "stored Consent cannot be read; ignored"),
                }
            }
        }
        let categories = categories_in(&bundle, &self.policy.categories)?;
        // A Bundle without data (an empty search result) still says whether
        // the patient has data here: decided as general data.
        let general = ["general".to_owned()];
        let requester = self.registry.get(ask.requester);
        let category = requester.map_or("unknown", |o| o.kind.as_str());
        let request = zorgpoort_consent::Request {
            requester: ask.requester,
            requester_category: category,
            purpose: ask.purpose,
            treating_relationship: ask.treating_relationship,
            data_categories: if categories.is_empty() { &general } else { &categories },
            reason: ask.reason,
            now_ms: now_ms(),
        };
        // Break-the-glass is for organisations whose registry entry allows
        // it, whatever a request claims; the policy then decides by kind.
        let decision = if ask.purpose == Purpose::Emergency && !requester.is_some_and(|o| o.break_the_glass) {
            Decision::Deny {
                rule: "break-the-glass:not-allowed".into(),
            }
        } else {
            decide(&request, &choices, &self.policy)
        };
        let bundle = match &decision {
            Decision::PermitWithFilter { withheld, .. } => {
                let mut json = serde_json::from_str(&bundle)?;
                filter(&mut json, withheld, &self.policy.categories);
                json.to_string()
            }
            _ => bundle,
        };
        Ok(Evaluation {
            decision,
            bundle,
            categories,
        })
    }
}

/// Sends due deliveries until shut down.
pub struct Deliverer<S> {
    store: S,
    config: DeliveryConfig,
    render: Render,
    consent: Option<ConsentCheck>,
    client: Upstream,
    /// Names this deliverer's claims: unique among deliverers on one store.
    holder: String,
    /// Claims made so far, for the next claim's name.
    claims: AtomicU64,
    /// Attempts are timed here.
    metrics: Arc<Metrics>,
}

impl<S: Store> Deliverer<S> {
    /// A deliverer over `store`, sending through `client` what `render`
    /// makes of each message when `consent` allows it (`None` sends without
    /// checking: tests only); attempts are timed in `metrics`.
    pub fn new(
        store: S,
        config: DeliveryConfig,
        client: Upstream,
        render: Render,
        consent: Option<ConsentCheck>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            store,
            config,
            render,
            consent,
            client,
            holder: holder_name(),
            claims: AtomicU64::new(0),
            metrics,
        }
    }

    /// Delivers until `shutdown` completes, then lets batches in flight end.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let this = Arc::new(self);
        let mut batches = JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            let started = this.dispatch(&mut batches).await;
            if started == 0 {
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(Duration::from_millis(this.config.poll_interval_ms)) => {}
                    Some(_) = batches.join_next(), if !batches.is_empty() => {}
                }
            } else if tokio::time::timeout(Duration::ZERO, &mut shutdown).await.is_ok() {
                break;
            }
        }
        while batches.join_next().await.is_some() {}
    }

    /// Claims due deliveries for as many receivers as there is room for
    /// and starts a batch for each; how many it started. What is claimed
    /// is attempted by this deliverer only, until its result is recorded,
    /// it is released or its lease runs out.
    async fn dispatch(self: &Arc<Self>, batches: &mut JoinSet<()>) -> usize {
        while batches.try_join_next().is_some() {}
        let free = self.config.concurrency.saturating_sub(batches.len());
        if free == 0 {
            return 0;
        }
        let claim = format!("{}/{}", self.holder, self.claims.fetch_add(1, Ordering::Relaxed));
        let now = now_ms();
        let size = ClaimSize {
            receivers: free,
            per_receiver: self.config.batch.max(1),
        };
        let until = now.saturating_add(i64::try_from(self.lease_ms()).unwrap_or(i64::MAX));
        let due = match self.store.claim_due(&claim, now, until, size).await {
            Ok(due) => due,
            Err(error) => {
                tracing::warn!(%error, "cannot claim from the delivery queue");
                return 0;
            }
        };
        let mut started = 0;
        let mut due = due.into_iter().peekable();
        while let Some(first) = due.next() {
            let mut batch = vec![first];
            while let Some(next) = due.next_if(|next| next.delivery.receiver == batch[0].delivery.receiver) {
                batch.push(next);
            }
            let this = Arc::clone(self);
            batches.spawn(async move { this.deliver(batch, Instant::now()).await });
            started += 1;
        }
        started
    }

    /// How long a claim holds: the time a batch may go on starting
    /// attempts (`timeout_ms`), one more attempt, and the margin to record it.
    fn lease_ms(&self) -> u64 {
        self.config.timeout_ms.saturating_mul(2).saturating_add(LEASE_MARGIN_MS)
    }

    /// Attempts one receiver's batch in order and records the results in
    /// groups: what was attempted while the previous group was being
    /// recorded goes in the next (the store commits a group together), and
    /// at most [`MAX_UNRECORDED`] wait for their group, so few attempts
    /// are sent twice after a crash. It stops at a delivery to retry
    /// later, or when the claim could not cover another attempt, and
    /// releases the rest: they stay pending behind it, in order; it ends
    /// when every result is recorded.
    async fn deliver(self: Arc<Self>, batch: Vec<DueDelivery>, claimed: Instant) {
        let window = Duration::from_millis(self.config.timeout_ms);
        let mut unrecorded = Vec::new();
        let mut recording: Option<tokio::task::JoinHandle<()>> = None;
        let mut batch = batch.into_iter();
        while let Some(due) = batch.next() {
            let (attempt, audit) = self.attempt(&due).await;
            let stop = matches!(attempt, Attempt::Retry { .. }) || claimed.elapsed() >= window;
            let claim = stop.then(|| due.claim.clone());
            unrecorded.push((due, attempt, audit));
            let idle = recording.as_ref().is_none_or(tokio::task::JoinHandle::is_finished);
            if idle || unrecorded.len() >= MAX_UNRECORDED {
                if let Some(group) = recording.take() {
                    drop(group.await);
                }
                recording = Some(tokio::spawn(
                    Arc::clone(&self).record_group(std::mem::take(&mut unrecorded)),
                ));
            }
            if let Some(claim) = claim {
                let rest: Vec<i64> = batch.map(|due| due.delivery.id).collect();
                if !rest.is_empty() {
                    if let Err(error) = self.store.release(&claim, &rest).await {
                        // They are claimed again when the lease runs out.
                        tracing::warn!(%error, deliveries = rest.len(), "cannot release unattempted deliveries");
                    }
                }
                break;
            }
        }
        if let Some(group) = recording {
            drop(group.await);
        }
        if !unrecorded.is_empty() {
            self.record_group(unrecorded).await;
        }
    }

    /// Records a group of attempts at once, so the store can commit them
    /// together.
    async fn record_group(self: Arc<Self>, group: Vec<(DueDelivery, Attempt, AuditEvent)>) {
        let mut records = JoinSet::new();
        for (due, attempt, audit) in group {
            let this = Arc::clone(&self);
            records.spawn(async move { this.record(&due, attempt, audit).await });
        }
        while records.join_next().await.is_some() {}
    }

    /// The consent decision for a delivery, with the Bundle as it may go.
    async fn check_consent(&self, due: &DueDelivery) -> Result<Evaluation, Failure> {
        let bundle = (self.render)(&due.format, &due.body)
            .map_err(|error| Failure::Permanent(format!("cannot render the message for delivery: {error}")))?;
        let Some(consent) = &self.consent else {
            return Ok(Evaluation {
                decision: Decision::Permit {
                    rule: "consent-not-checked".into(),
                    flagged: false,
                },
                bundle,
                categories: Vec::new(),
            });
        };
        let ask = Ask {
            requester: &due.delivery.receiver,
            purpose: Purpose::Handover,
            treating_relationship: true,
            reason: None,
        };
        consent
            .evaluate(&self.store, bundle, due.patient.as_deref(), &ask)
            .await
            .map_err(|e| match e {
                ConsentError::Store(_) => Failure::Transient(e.to_string()),
                ConsentError::Bundle(_) => Failure::Permanent(e.to_string()),
            })
    }

    /// Makes one attempt: how it went, with its audit event. The attempt
    /// is cut off after `timeout_ms`, well within the claim's lease.
    async fn attempt(&self, due: &DueDelivery) -> (Attempt, AuditEvent) {
        let delivery = &due.delivery;
        let started = Instant::now();
        let limit = Duration::from_millis(self.config.timeout_ms);
        let (outcome, rule, categories) = tokio::time::timeout(limit, self.try_once(due))
            .await
            .unwrap_or_else(|_| {
                let error = format!("the attempt took longer than {} ms", self.config.timeout_ms);
                (Err(Failure::Transient(error)), None, Vec::new())
            });
        let attempt = match outcome {
            Ok(()) => Attempt::Delivered,
            Err(Failure::Withheld(rule)) => Attempt::Withheld { rule },
            Err(Failure::Permanent(error)) => Attempt::Dead { error },
            Err(Failure::Transient(error)) if delivery.attempts + 1 >= self.config.max_attempts => Attempt::Dead {
                error: format!("gave up after {} attempts; last: {error}", delivery.attempts + 1),
            },
            Err(Failure::Transient(error)) => Attempt::Retry {
                at_ms: now_ms() + self.backoff_ms(delivery.attempts, delivery.id),
                error,
            },
        };
        let outcome = match &attempt {
            Attempt::Delivered => "delivered",
            Attempt::Retry { .. } => "retry",
            Attempt::Dead { .. } => "dead",
            Attempt::Withheld { .. } => "withheld",
        };
        self.metrics.observe(
            &catalogue::DELIVERY_SECONDS,
            &[&delivery.receiver, outcome],
            started.elapsed(),
        );
        tracing::info!(
            delivery = delivery.id,
            receiver = %delivery.receiver,
            outcome,
            attempts = delivery.attempts + 1,
            "delivery attempt"
        );
        let audit = audit_event(due, &attempt, rule, categories);
        (attempt, audit)
    }

    /// Records an attempt under its claim, with its audit event.
    async fn record(&self, due: &DueDelivery, attempt: Attempt, audit: AuditEvent) {
        let id = due.delivery.id;
        match self.store.record(id, &due.claim, attempt, now_ms(), Some(audit)).await {
            Ok(true) => {}
            // Recorded too late: the lease ran out and the delivery was
            // claimed again, so that claim's attempt decides.
            Ok(false) => tracing::warn!(delivery = id, "delivery attempt recorded after its lease ran out"),
            // Not recorded: the delivery stays pending and is attempted again
            // when the lease runs out, so the receiver may see it twice (it
            // de-duplicates by id).
            Err(error) => tracing::error!(delivery = id, %error, "cannot record a delivery attempt"),
        }
    }

    /// The attempt itself, without recording it: how it went, with the
    /// consent rule and data categories for the audit event.
    async fn try_once(&self, due: &DueDelivery) -> (Result<(), Failure>, Option<String>, Vec<String>) {
        let delivery = &due.delivery;
        let checked = self.check_consent(due).await;
        let (rule, categories) = checked.as_ref().map_or((None, Vec::new()), |e| {
            (Some(e.decision.rule().to_owned()), e.categories.clone())
        });
        let outcome = match checked.map(|e| (e.decision, e.bundle)) {
            Err(failure) => Err(failure),
            Ok((Decision::Deny { rule }, _)) => Err(Failure::Withheld(rule)),
            Ok((Decision::PermitWithFilter { rule, .. }, _)) if delivery.endpoint.starts_with(MLLP_PREFIX) => {
                Err(Failure::Withheld(format!("{rule};hl7v2-cannot-be-filtered")))
            }
            Ok((_, payload)) => {
                if let Some(address) = delivery.endpoint.strip_prefix(MLLP_PREFIX) {
                    match v2_form(&due.format, &due.body, &payload) {
                        Ok(message) => self.send_mllp(address, &message).await,
                        Err(failure) => Err(failure),
                    }
                } else if let Some(base) = delivery.endpoint.strip_prefix(STU3_PREFIX) {
                    match in_stu3(&payload)
                        .map_err(|why| Failure::Permanent(format!("no FHIR STU3 form of this Bundle: {why}")))
                    {
                        Ok(bundle) => self.send(base, bundle, STU3_JSON).await,
                        Err(failure) => Err(failure),
                    }
                } else {
                    self.send(&delivery.endpoint, payload, "application/fhir+json").await
                }
            }
        };
        (outcome, rule, categories)
    }

    /// Exponential backoff with ±25% jitter, capped.
    fn backoff_ms(&self, attempts: u32, salt: i64) -> i64 {
        let base = self
            .config
            .initial_backoff_ms
            .saturating_mul(1 << attempts.min(20))
            .min(self.config.max_backoff_ms);
        let jitter_range = base / 2;
        let noise = jitter(salt, now_ms()) % (jitter_range + 1);
        i64::try_from(base - base / 4 + noise).unwrap_or(i64::MAX)
    }

    async fn send(&self, endpoint: &str, payload: String, media_type: &str) -> Result<(), Failure> {
        let request = Request::post(endpoint)
            .header(header::CONTENT_TYPE, media_type)
            .header(header::ACCEPT, "application/fhir+json")
            .body(Full::new(Bytes::from(payload)))
            .map_err(|e| Failure::Permanent(format!("invalid endpoint {endpoint:?}: {e}")))?;
        let response = self
            .within_timeout(self.client.request(request), "answer", "connection failed")
            .await?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        // The receiver's reason, when it gives one in time.
        let body = self
            .within_timeout(
                Limited::new(response.into_body(), MAX_REASON_BYTES).collect(),
                "reason",
                "reading the reason",
            )
            .await
            .map_or_else(
                |_| String::new(),
                |c| String::from_utf8_lossy(&c.to_bytes()).into_owned(),
            );
        let reason = format!("{status}: {}", body.trim());
        if status.is_client_error() && status != StatusCode::REQUEST_TIMEOUT && status != StatusCode::TOO_MANY_REQUESTS
        {
            Err(Failure::Permanent(reason))
        } else {
            Err(Failure::Transient(reason))
        }
    }
}

/// The audit event of a delivery attempt: who received what of whom, and
/// how it went (the receiver's status, never its body).
fn audit_event(
    due: &DueDelivery,
    attempt: &Attempt,
    consent_rule: Option<String>,
    categories: Vec<String>,
) -> AuditEvent {
    let (kind, outcome, reason) = match attempt {
        Attempt::Delivered => ("deliver", Outcome::Success, None),
        Attempt::Retry { error, .. } => ("deliver", Outcome::Retry, Some(error)),
        Attempt::Dead { error } => ("deliver", Outcome::Failure, Some(error)),
        Attempt::Withheld { rule } => ("withheld", Outcome::Failure, Some(rule)),
    };
    let mut event = AuditEvent::new(kind, Action::Execute, now_ms(), outcome);
    event.consent_rule = consent_rule;
    event.outcome_text = reason.map(|r| r.split(':').next().unwrap_or_default().to_owned());
    event.organization = Some(due.delivery.receiver.clone());
    event.patient.clone_from(&due.patient);
    event.purpose = Some("TREAT");
    event.data = Some(DataObject::of(
        due.delivery.message_id.clone(),
        due.format.clone(),
        &due.body,
        categories,
    ));
    event
}

impl<S: Store> Deliverer<S> {
    /// Runs a receiver exchange within the delivery timeout; no `reply` in
    /// time, or a failure, is worth another try.
    async fn within_timeout<T, E: std::fmt::Display>(
        &self,
        exchange: impl Future<Output = Result<T, E>>,
        reply: &str,
        failed: &str,
    ) -> Result<T, Failure> {
        let timeout = Duration::from_millis(self.config.timeout_ms);
        match tokio::time::timeout(timeout, exchange).await {
            Err(_) => Err(Failure::Transient(format!(
                "no {reply} within {} ms",
                self.config.timeout_ms
            ))),
            Ok(Err(e)) => Err(Failure::Transient(format!("{failed}: {e}"))),
            Ok(Ok(value)) => Ok(value),
        }
    }

    /// Sends an HL7 v2 message as received over MLLP and reads the ACK:
    /// AA/CA is done, AR is worth another try, AE/CE/CR is a refusal.
    async fn send_mllp(&self, address: &str, body: &[u8]) -> Result<(), Failure> {
        let exchange = async {
            let mut stream = tokio::net::TcpStream::connect(address).await?;
            let mut frame = Vec::with_capacity(body.len() + 3);
            frame.push(MLLP_START);
            frame.extend_from_slice(body);
            frame.extend_from_slice(&[MLLP_END, b'\r']);
            stream.write_all(&frame).await?;
            let mut reply = Vec::new();
            let mut chunk = [0; 4096];
            while !reply.ends_with(&[MLLP_END, b'\r']) {
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "closed before the ACK",
                    ));
                }
                reply.extend_from_slice(&chunk[..n]);
                if reply.len() > MAX_REASON_BYTES * 16 {
                    return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "ACK too large"));
                }
            }
            Ok(reply)
        };
        let reply = self.within_timeout(exchange, "ACK", "MLLP exchange failed").await?;
        let start = reply.iter().position(|&b| b == MLLP_START).map_or(0, |i| i + 1);
        let ack = &reply[start.min(reply.len() - 2)..reply.len() - 2];
        let parsed =
            Message::parse(ack, &Limits::default()).map_err(|e| Failure::Transient(format!("unreadable ACK: {e}")))?;
        let code = parsed
            .segment("MSA")
            .and_then(|s| s.field(1).text())
            .unwrap_or_default();
        let reason = || {
            let text = parsed
                .segment("ERR")
                .and_then(|e| e.field(8).text())
                .or_else(|| parsed.segment("MSA").and_then(|s| s.field(3).text()));
            format!("{code}: {}", text.unwrap_or_default())
        };
        match code.as_ref() {
            "AA" | "CA" => Ok(()),
            "AR" => Err(Failure::Transient(reason())),
            _ => Err(Failure::Permanent(reason())),
        }
    }
}

enum Failure {
    /// Consent does not allow it: not sent, not retried.
    Withheld(String),
    /// The receiver refused; sending again will not help.
    Permanent(String),
    /// Worth another try later.
    Transient(String),
}

/// A name for one deliverer's claims that no other deliverer on the same
/// store shares: the process, the time it started, and the random keys the
/// standard library seeds per process.
fn holder_name() -> String {
    use std::hash::BuildHasher;
    let random = std::collections::hash_map::RandomState::new().hash_one(std::process::id());
    format!("{}-{}-{random:016x}", std::process::id(), now_ms())
}

/// A cheap pseudo-random number (splitmix64) for backoff jitter.
fn jitter(salt: i64, time: i64) -> u64 {
    let mut z = (salt.unsigned_abs() ^ time.unsigned_abs()).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
