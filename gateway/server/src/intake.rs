//! The path of one received message, shared by the HTTP and MLLP listeners:
//! parse, convert to FHIR, route, and store durably with its deliveries.

use std::sync::Arc;

use zorgpoort_audit::{Action, AuditEvent, DataObject, Outcome};
use zorgpoort_handover::delivery::now_ms;
use zorgpoort_handover::{Facts, Registry, Routes};
use zorgpoort_hl7v2::{Limits, Message, Options, RoutingFacts, Splitter, routing_facts, to_fhir};
use zorgpoort_model::Warning;
use zorgpoort_store::{Accepted, NewMessage, Store, StoreError};

use crate::outcome::{ApiError, Problem};
use crate::validation::{Nonconformant, ValidationMode};

/// What became of an accepted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The gateway's id for it (`GET /messages/{id}`).
    pub id: String,
    /// True when the sender had sent this message before.
    pub duplicate: bool,
    /// The receivers it is queued for.
    pub receivers: Vec<String>,
}

/// Why a message was not taken.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The content is wrong; sending it again will not help.
    #[error(transparent)]
    Content(#[from] zorgpoort_hl7v2::Error),
    /// It could not be stored now; it may be sent again.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Its FHIR form breaks the profiles (`[validation] mode = "reject"`).
    #[error(transparent)]
    Nonconformant(#[from] Nonconformant),
}

impl From<IntakeError> for ApiError {
    fn from(error: IntakeError) -> Self {
        match error {
            IntakeError::Content(e) => e.into(),
            IntakeError::Nonconformant(findings) => ApiError::nonconformant(findings),
            IntakeError::Store(e) => {
                tracing::error!(error = %e, "store unavailable");
                ApiError::new(
                    Problem::Unavailable,
                    "the message store is unavailable; send again later",
                )
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        IntakeError::Store(error).into()
    }
}

/// Parses, converts, routes and stores messages.
pub struct Intake<S> {
    store: S,
    registry: Arc<Registry>,
    routes: Arc<Routes>,
    limits: Limits,
    options: Options,
    validation: ValidationMode,
}

impl<S: Store> Intake<S> {
    /// An intake over a store, registry and routes.
    pub fn new(
        store: S,
        registry: Arc<Registry>,
        routes: Arc<Routes>,
        max_message_bytes: usize,
        validation: ValidationMode,
    ) -> Self {
        let limits = Limits {
            max_message_bytes,
            ..Limits::default()
        };
        Self {
            store,
            registry,
            routes,
            limits,
            options: Options::default(),
            validation,
        }
    }

    /// What a stored message becomes for a FHIR R4 receiver.
    pub fn render(&self, format: &str, body: &[u8]) -> Result<String, String> {
        if format != "hl7v2" {
            return Err(format!("no renderer for format {format:?}"));
        }
        let limits = Limits {
            max_message_bytes: usize::MAX,
            ..self.limits
        };
        let message = Message::parse(body, &limits).map_err(|e| e.to_string())?;
        let conversion = to_fhir(&message, &self.options).map_err(|e| e.to_string())?;
        Ok(conversion.bundle.to_json())
    }

    /// Converts one HL7 v2 message (optionally MLLP-framed) to a Bundle.
    /// The conversion is audited (it touches a patient's data); without the
    /// audit record there is no answer.
    pub async fn convert_hl7v2(
        &self,
        bytes: &[u8],
        requester: Option<String>,
    ) -> Result<(String, Vec<Warning>), ApiError> {
        let frame = single_message(bytes, self.limits.max_message_bytes)?;
        let message = Message::parse(&frame, &self.limits)?;
        let facts = routing_facts(&message)?;
        let converted = to_fhir(&message, &self.options);
        // A refused message that names a patient is audited too: that
        // patient's data reached the gateway.
        if converted.is_ok() || facts.patient_bsn.is_some() {
            let outcome = if converted.is_ok() {
                Outcome::Success
            } else {
                Outcome::Failure
            };
            let mut audit = AuditEvent::new("convert", Action::Execute, now_ms(), outcome);
            audit.organization = requester;
            audit.who = Some(facts.sender);
            audit.patient = facts.patient_bsn;
            audit.outcome_text = converted.as_ref().err().map(refusal_text);
            audit.data = Some(data_object(String::new(), &frame));
            self.store.audit(audit).await.map_err(IntakeError::Store)?;
        }
        let conversion = converted?;
        let bundle = conversion.bundle.to_json();
        self.validation
            .apply_to_text("conversion output", &bundle)
            .map_err(IntakeError::from)?;
        Ok((bundle, conversion.warnings))
    }

    /// Takes one HL7 v2 message: converted, routed and durably stored when
    /// this returns `Ok`, so the sender may be acknowledged.
    pub async fn accept_hl7v2(&self, bytes: &[u8], received_ms: i64) -> Result<Received, IntakeError> {
        let message = Message::parse(bytes, &self.limits)?;
        let facts = routing_facts(&message)?;
        // Converted now so content errors reach the sender (AE, 422); the
        // Bundle itself is made again at delivery, for the receiver.
        let refusal = match to_fhir(&message, &self.options) {
            Err(error) => Some((refusal_text(&error), IntakeError::Content(error))),
            Ok(conversion) => {
                let checked = self
                    .validation
                    .apply_to_text("conversion output", &conversion.bundle.to_json());
                checked.err().map(|findings| {
                    let text = format!("refused: does not conform to nl-core at {}", findings.first().0);
                    (text, IntakeError::Nonconformant(findings))
                })
            }
        };
        if let Some((text, refusal)) = refusal {
            if facts.patient_bsn.is_some() {
                let mut audit =
                    self.accept_event(&facts, Outcome::Failure, received_ms, data_object(String::new(), bytes));
                audit.outcome_text = Some(text);
                self.store.audit(audit).await?;
            }
            return Err(refusal);
        }
        let id = uuid::Uuid::new_v4().to_string();
        let audit = self.accept_event(&facts, Outcome::Success, received_ms, data_object(id.clone(), bytes));
        let deliveries = self.routes.deliveries(
            &Facts {
                sender: facts.sender.clone(),
                event: facts.event,
                general_practitioner_agb: facts.general_practitioner_agb,
            },
            &self.registry,
        );
        let receivers = deliveries.iter().map(|d| d.receiver.clone()).collect();
        let stored = self
            .store
            .accept(NewMessage {
                id,
                sender: facts.sender,
                control_id: facts.control_id,
                format: "hl7v2".into(),
                body: bytes.to_vec(),
                deliveries,
                received_ms,
                patient: facts.patient_bsn,
                audit: vec![audit],
            })
            .await?;
        Ok(match stored {
            Accepted::New(id) => Received {
                id,
                duplicate: false,
                receivers,
            },
            Accepted::Duplicate(id) => Received {
                id,
                duplicate: true,
                receivers: Vec::new(),
            },
        })
    }
}

impl<S> Intake<S> {
    /// The audit event of taking (or refusing) a message from a sender.
    fn accept_event(&self, facts: &RoutingFacts, outcome: Outcome, received_ms: i64, data: DataObject) -> AuditEvent {
        let mut audit = AuditEvent::new("accept", Action::Create, received_ms, outcome);
        audit.organization = self.registry.by_sender(&facts.sender).map(|o| o.id.clone());
        audit.who = Some(facts.sender.clone());
        audit.patient.clone_from(&facts.patient_bsn);
        audit.purpose = Some("TREAT");
        audit.data = Some(data);
        audit
    }
}

/// Why a message was refused, for the audit log: where, not the content.
fn refusal_text(error: &zorgpoort_hl7v2::Error) -> String {
    error
        .location
        .as_ref()
        .map_or_else(|| "refused".to_owned(), |at| format!("refused at {at}"))
}

/// An HL7 v2 message as the audit log knows it: by hash and size.
fn data_object(id: String, bytes: &[u8]) -> DataObject {
    DataObject::of(id, "hl7v2".into(), bytes, Vec::new())
}

/// The one message in a request body; framing bytes allowed.
fn single_message(bytes: &[u8], max: usize) -> Result<Vec<u8>, ApiError> {
    let mut splitter = Splitter::new(max);
    splitter.push(bytes);
    let mut frames = Vec::new();
    while let Some(frame) = splitter.next_frame() {
        frames.push(frame);
    }
    frames.extend(splitter.finish());
    match frames.len() {
        0 => Err(ApiError::new(Problem::Invalid, "no HL7 v2 message in the body")),
        1 => Ok(frames.remove(0)?.bytes),
        n => Err(ApiError::new(
            Problem::Invalid,
            format!("{n} messages in one request; send one per request, or use POST /messages/hl7v2 per message"),
        )),
    }
}
