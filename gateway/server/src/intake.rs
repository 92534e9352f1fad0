//! The path of one received message, shared by the HTTP and MLLP listeners:
//! parse, convert to FHIR, route, and store durably with its deliveries.
//!
//! HL7 v2 is stored as received and converted again at delivery (a v2
//! receiver gets the original). Every other format is stored as its FHIR R4
//! Bundle (format `fhir-r4`): one stored message per message of the input
//! (per EDIFACT message, per client of an export).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use zorgpoort_audit::{Action, AuditEvent, DataObject, Outcome};
use zorgpoort_formats::{Converted, Format, PatientFacts, Settings};
use zorgpoort_handover::delivery::now_ms;
use zorgpoort_handover::overdracht::{self, Opened, Opening, composition_of};
use zorgpoort_handover::{ConsentCheck, ConsentError, Facts, HandoverRequest, Organization, Registry, Routes};
use zorgpoort_hl7v2::{
    ErrorKind, Limits, LocalCodeSystems, Location, Message, Options, Splitter, routing_facts, to_fhir,
};
use zorgpoort_metrics::{Metrics, catalogue};
use zorgpoort_model::Conversion;
use zorgpoort_model::Warning;
use zorgpoort_store::{Accepted, NewMessage, Store, StoreError};

use crate::outcome::{ApiError, Problem};
use crate::rendered::Rendered;
use crate::validation::{Nonconformant, Source, Validation};

/// What became of an accepted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The gateway's id for it (`GET /messages/{id}`).
    pub id: String,
    /// True when the sender had sent this message before.
    pub duplicate: bool,
    /// The receivers it is queued for.
    pub receivers: Vec<String>,
    /// The sender it names is not in the registry (so no route knows it).
    pub unknown_sender: bool,
}

impl Received {
    /// What became of it, for the sender (HTTP outcome, ACK text).
    pub fn summary(&self) -> String {
        if self.duplicate {
            format!("already received as {}; not processed again", self.id)
        } else {
            let unknown = if self.unknown_sender {
                "; the sender is not in the region's registry"
            } else {
                ""
            };
            format!(
                "accepted as {}; queued for {} receiver(s){unknown}",
                self.id,
                self.receivers.len()
            )
        }
    }
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
    /// The message names a sender that is not the authenticated organisation's.
    #[error("sender {sender:?} does not belong to the authenticated organisation {organization:?}")]
    ForeignSender {
        /// The sender the message names (HL7 v2: MSH-3/MSH-4 as `APP/FACILITY`).
        sender: String,
        /// The organisation of the certificate or token.
        organization: String,
    },
    /// The sender used this control id before for a message with other
    /// content; acknowledging it would drop it unseen as a duplicate.
    #[error(
        "control id reused with other content: {control_id:?} was received before with different content; \
         send new content under a new control id"
    )]
    Reused {
        /// The sender's id for the message (HL7 v2: MSH-10).
        control_id: String,
    },
}

impl IntakeError {
    /// The refusal as an HL7 v2 error for the ERR segment of an ACK, with
    /// the field it is about; `None` for a store failure.
    pub fn to_hl7v2(&self) -> Option<zorgpoort_hl7v2::Error> {
        let msh = |field| Location::segment("MSH", 1).with_field(field);
        Some(match self {
            Self::Content(error) => error.clone(),
            Self::Nonconformant(findings) => {
                zorgpoort_hl7v2::Error::new(ErrorKind::Nonconformant(findings.to_string()))
            }
            Self::ForeignSender { sender, organization } => zorgpoort_hl7v2::Error::at(
                msh(3),
                ErrorKind::ForeignSender {
                    sender: sender.clone(),
                    organization: organization.clone(),
                },
            ),
            Self::Reused { control_id } => zorgpoort_hl7v2::Error::at(
                msh(10),
                ErrorKind::ControlIdReused {
                    control_id: control_id.clone(),
                },
            ),
            Self::Store(_) => return None,
        })
    }

    /// The same error, numbered as message `number` of its input where it
    /// carries a number.
    fn in_message(self, number: usize) -> Self {
        match self {
            Self::Content(error) => Self::Content(error.in_message(number)),
            other => other,
        }
    }
}

/// A message of a CDA, EDIFACT, export or FHIR input that is wrong; `message`
/// counts from 1, and is 0 for the input as a whole.
fn format_error(message: usize, error: &zorgpoort_formats::Error) -> ApiError {
    let problem = match error {
        zorgpoort_formats::Error::TooLarge { .. } => Problem::TooLarge,
        _ => Problem::Invalid,
    };
    if message == 0 {
        ApiError::new(problem, error.to_string())
    } else {
        ApiError::new(problem, error.of_message(message))
    }
}

/// Whether a converted message names its sender in its content (a CDA's
/// custodian, an EDIFACT interchange's UNB sender, a FHIR resource's
/// `meta.source`), which the caller must then be. An ECD export's sender is
/// the caller, and FHIR without `meta.source` names none (`fhir`).
fn names_its_sender(format: Format, sender: &str) -> bool {
    match format {
        Format::Cda | Format::Edifact | Format::Hl7v2 => true,
        Format::FhirR4 | Format::FhirStu3 => sender != "fhir",
        Format::Ecd => false,
    }
}

impl From<IntakeError> for ApiError {
    fn from(error: IntakeError) -> Self {
        match error {
            IntakeError::Content(e) => {
                // In a body of several messages, which one it was.
                let number = e.message;
                let mut api = Self::from(e);
                if let Some(n) = number {
                    api.diagnostics = format!("msg {n}: {}", api.diagnostics);
                }
                api
            }
            IntakeError::Nonconformant(findings) => ApiError::nonconformant(findings),
            error @ IntakeError::ForeignSender { .. } => ApiError::new(Problem::Forbidden, error.to_string()),
            error @ IntakeError::Reused { .. } => ApiError::new(Problem::Conflict, error.to_string()),
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
    options: Options,
    /// Each organisation's HL7 v2 local code tables (registry
    /// `local_code_systems`), by organisation id.
    local_codes: HashMap<String, LocalCodeSystems>,
    settings: Settings,
    validation: Arc<Validation>,
    /// Store writes are timed here.
    metrics: Arc<Metrics>,
    /// Consent and pickup time for documents that routes hand over.
    handovers: Option<(ConsentCheck, i64)>,
    /// HL7 v2 messages' Bundles, made at intake, for their delivery.
    rendered: Rendered,
}

impl<S: Store> Intake<S> {
    /// An intake over a store, registry and routes; `ecd_mapping` reads
    /// nursing-home exports (`None`: the built-in mapping whose layout an
    /// export has).
    pub fn new(
        store: S,
        registry: Arc<Registry>,
        routes: Arc<Routes>,
        max_message_bytes: usize,
        ecd_mapping: Option<zorgpoort_ecd::Mapping>,
        validation: Arc<Validation>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let settings = Settings {
            ecd_mapping,
            ..Settings::with_max_bytes(max_message_bytes)
        };
        Self {
            store,
            local_codes: local_code_systems(&registry),
            registry,
            routes,
            // Consent, routes and audit are per patient.
            options: Options {
                one_patient: true,
                ..Options::default()
            },
            settings,
            validation,
            metrics,
            handovers: None,
            rendered: Rendered::new(0),
        }
    }

    /// Keeps what HL7 v2 messages become at intake, up to `bytes`, for
    /// [`Self::render`].
    #[must_use]
    pub fn keeping_bundles(mut self, bytes: usize) -> Self {
        self.rendered = Rendered::new(bytes);
        self
    }

    /// Lets routes hand documents over (`handover = true`): consent is
    /// checked with `consent`, and receivers get `pickup_ms` to pick up.
    #[must_use]
    pub fn with_handovers(mut self, consent: ConsentCheck, pickup_ms: i64) -> Self {
        self.handovers = Some((consent, pickup_ms));
        self
    }

    /// What a stored message becomes for a FHIR R4 receiver.
    pub fn render(&self, format: &str, body: &[u8]) -> Result<String, String> {
        if format == Format::FhirR4.name() {
            return String::from_utf8(body.to_vec()).map_err(|e| e.to_string());
        }
        if format != Format::Hl7v2.name() {
            return Err(format!("no renderer for format {format:?}"));
        }
        if let Some(bundle) = self.rendered.get(body) {
            self.metrics.increment(&catalogue::RENDERS, &["kept"]);
            return Ok(bundle);
        }
        self.metrics.increment(&catalogue::RENDERS, &["converted"]);
        let limits = Limits {
            max_message_bytes: usize::MAX,
            ..self.settings.hl7v2
        };
        let message = Message::parse(body, &limits).map_err(|e| e.to_string())?;
        let sender = routing_facts(&message).map_err(|e| e.to_string())?.sender;
        let conversion = self.hl7v2_to_fhir(&message, &sender).map_err(|e| e.to_string())?;
        Ok(conversion.bundle.to_json())
    }

    /// HL7 v2 to FHIR, reading the sender's local code tables.
    fn hl7v2_to_fhir<'a>(&self, message: &Message<'a>, sender: &str) -> Result<Conversion<'a>, zorgpoort_hl7v2::Error> {
        let tables = self
            .registry
            .by_sender(sender)
            .and_then(|org| self.local_codes.get(&org.id));
        match tables {
            Some(tables) => {
                let options = Options {
                    local_codes: tables.clone(),
                    ..self.options.clone()
                };
                to_fhir(message, &options)
            }
            None => to_fhir(message, &self.options),
        }
    }

    /// Converts one HL7 v2 message (optionally MLLP-framed) to a Bundle.
    /// The conversion is audited (it touches a patient's data); without the
    /// audit record there is no answer.
    pub async fn convert_hl7v2(
        &self,
        bytes: &[u8],
        requester: Option<String>,
    ) -> Result<(String, Vec<Warning>), ApiError> {
        let frame = single_message(bytes, self.settings.hl7v2.max_message_bytes)?;
        let message = Message::parse(&frame, &self.settings.hl7v2)?;
        let facts = routing_facts(&message)?;
        let converted = self.hl7v2_to_fhir(&message, &facts.sender);
        // A refused message that names a patient is audited too: that
        // patient's data reached the gateway.
        if converted.is_ok() || facts.names_a_patient() {
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
            self.audit_each_patient(audit, &facts.further_patient_bsns)
                .await
                .map_err(IntakeError::Store)?;
        }
        let conversion = converted?;
        let bundle = conversion.bundle.to_json();
        self.validation
            .check_text(Source::Conversion, "conversion output", || bundle.as_str())
            .map_err(IntakeError::from)?;
        Ok((bundle, conversion.warnings))
    }

    /// Converts an input of any format but HL7 v2 (see [`Self::convert_hl7v2`])
    /// to one Bundle per message. Each conversion is audited (with the
    /// patient's BSN when the Bundle names one); one bad message refuses the
    /// whole input.
    pub async fn convert(
        &self,
        format: Format,
        bytes: &[u8],
        requester: Option<String>,
    ) -> Result<Vec<(String, Vec<Warning>)>, ApiError> {
        let converted = self.convert_all(format, bytes, requester.as_deref())?;
        let mut bundles = Vec::with_capacity(converted.len());
        for (message, facts, _) in converted {
            let mut audit = AuditEvent::new("convert", Action::Execute, now_ms(), Outcome::Success);
            audit.organization.clone_from(&requester);
            audit.who = Some(message.origin.sender.clone());
            audit.patient = facts.bsn;
            audit.data = Some(DataObject::of(
                String::new(),
                format.name().into(),
                message.bundle.as_bytes(),
                Vec::new(),
            ));
            self.audit(audit).await?;
            bundles.push((message.bundle, message.warnings));
        }
        Ok(bundles)
    }

    /// Takes every message of an input of any format but HL7 v2 (see
    /// [`Self::accept_hl7v2`]): all converted and validated first, so a bad
    /// one refuses the input before anything is stored; then each is routed
    /// and stored durably. A sender that sends the input again gets the same
    /// ids back as duplicates.
    pub async fn accept(
        &self,
        format: Format,
        bytes: &[u8],
        received_ms: i64,
        requester: Option<String>,
    ) -> Result<Vec<Received>, ApiError> {
        let converted = self.convert_all(format, bytes, requester.as_deref())?;
        // Every sender checked before anything is stored: all or nothing.
        for (i, (message, _, _)) in converted.iter().enumerate() {
            if names_its_sender(format, &message.origin.sender) {
                self.check_sender(&message.origin.sender, requester.as_deref())
                    .map_err(|error| {
                        let mut refused = ApiError::from(error);
                        if converted.len() > 1 {
                            refused.diagnostics = format!("msg {}: {}", i + 1, refused.diagnostics);
                        }
                        refused
                    })?;
            }
        }
        let mut received = Vec::with_capacity(converted.len());
        for (message, facts, composition) in converted {
            // Conversion is deterministic (ids are derived, no clock), so a
            // resend makes the same Bundle and the same hash.
            let content_hash = Some(zorgpoort_audit::sha256_hex(message.bundle.as_bytes()));
            let incoming = Incoming {
                origin: requester.clone(),
                content_hash,
                sender: message.origin.sender,
                control_id: message.origin.message_id,
                event: message.origin.event,
                patient: facts.bsn,
                general_practitioner_agb: facts.general_practitioner_agb,
                format: Format::FhirR4,
                body: message.bundle.into_bytes(),
                bundle: None,
                composition,
            };
            received.push(self.store_routed(incoming, received_ms).await?);
        }
        Ok(received)
    }

    /// Every message of the input converted, validated, with its patient
    /// facts; the first bad one is the error.
    fn convert_all(
        &self,
        format: Format,
        bytes: &[u8],
        requester: Option<&str>,
    ) -> Result<Vec<(Converted, PatientFacts, Option<String>)>, ApiError> {
        let settings;
        let settings = match requester {
            // An export carries no sender: it comes from the caller.
            Some(requester) if format == Format::Ecd => {
                settings = Settings {
                    ecd_sender: requester.to_owned(),
                    ..self.settings.clone()
                };
                &settings
            }
            _ => &self.settings,
        };
        let source = match format {
            Format::FhirR4 | Format::FhirStu3 => Source::Supplied,
            Format::Hl7v2 | Format::Cda | Format::Edifact | Format::Ecd => Source::Conversion,
        };
        let messages = zorgpoort_formats::convert(format, bytes, settings).map_err(|error| format_error(0, &error))?;
        let mut converted = Vec::with_capacity(messages.len());
        for (i, message) in messages.into_iter().enumerate() {
            let message = message.map_err(|error| format_error(i + 1, &error))?;
            let (facts, composition) = match serde_json::from_str(&message.bundle) {
                Ok(bundle) => {
                    self.validation
                        .check(source, "conversion output", &bundle)
                        .map_err(ApiError::nonconformant)?;
                    (PatientFacts::of(&bundle), composition_of(&bundle).map(str::to_owned))
                }
                Err(_) => (PatientFacts::default(), None),
            };
            converted.push((message, facts, composition));
        }
        Ok(converted)
    }

    /// Takes one HL7 v2 message (an MLLP frame): converted, routed and
    /// durably stored when this returns `Ok`, so the sender may be
    /// acknowledged. `origin` is the authenticated organisation of the
    /// connection: the message's sender must be one of its own.
    pub async fn accept_hl7v2(
        &self,
        bytes: &[u8],
        received_ms: i64,
        origin: Option<&str>,
    ) -> Result<Received, IntakeError> {
        let incoming = self.check_hl7v2(bytes, received_ms, origin).await?;
        self.store_routed(incoming, received_ms).await
    }

    /// Takes every HL7 v2 message of a body (an HTTP request, a file):
    /// split at each MSH, all parsed, converted and validated first, so a
    /// bad one refuses the body before anything is stored; then each is
    /// routed and stored as a message of its own.
    pub async fn accept_hl7v2_all(
        &self,
        bytes: &[u8],
        received_ms: i64,
        origin: Option<&str>,
    ) -> Result<Vec<Received>, IntakeError> {
        let mut splitter = Splitter::new(self.settings.hl7v2.max_message_bytes);
        splitter.push(bytes);
        let mut checked = Vec::new();
        while let Some(frame) = splitter.next_frame().or_else(|| splitter.finish()) {
            let frame = frame?;
            let incoming = self
                .check_hl7v2(&frame.bytes, received_ms, origin)
                .await
                .map_err(|error| error.in_message(frame.number))?;
            checked.push(incoming);
        }
        if checked.is_empty() {
            return Err(IntakeError::Content(zorgpoort_hl7v2::Error::new(ErrorKind::Empty)));
        }
        let mut received = Vec::with_capacity(checked.len());
        for incoming in checked {
            received.push(self.store_routed(incoming, received_ms).await?);
        }
        Ok(received)
    }

    /// One HL7 v2 message parsed, its sender checked against `origin`,
    /// converted and validated: ready to store. A refusal that names a
    /// patient is audited.
    async fn check_hl7v2(&self, bytes: &[u8], received_ms: i64, origin: Option<&str>) -> Result<Incoming, IntakeError> {
        let message = Message::parse(bytes, &self.settings.hl7v2)?;
        let facts = routing_facts(&message)?;
        // Converted now so content errors reach the sender (AE, 422); the
        // Bundle goes with the message, to be kept for its delivery.
        let mut bundle = None;
        let refusal = if let Err(error) = self.check_sender(&facts.sender, origin) {
            let text = "refused: the sender is not the authenticated organisation's".to_owned();
            Some((text, error))
        } else {
            match self.hl7v2_to_fhir(&message, &facts.sender) {
                Err(error) => Some((refusal_text(&error), IntakeError::Content(error))),
                Ok(conversion) => {
                    let kept = self.rendered.keeps().then(|| conversion.bundle.to_json());
                    let checked = self.validation.check_text(Source::Conversion, "conversion output", || {
                        kept.as_deref()
                            .map_or_else(|| Cow::Owned(conversion.bundle.to_json()), Cow::Borrowed)
                    });
                    bundle = kept;
                    checked.err().map(|findings| {
                        let text = format!("refused: does not conform to nl-core at {}", findings.first().0);
                        (text, IntakeError::Nonconformant(findings))
                    })
                }
            }
        };
        if let Some((text, refusal)) = refusal {
            if facts.names_a_patient() {
                let data = data_object(String::new(), bytes);
                let mut audit = self.accept_event(
                    &facts.sender,
                    facts.patient_bsn.clone(),
                    Outcome::Failure,
                    received_ms,
                    data,
                );
                audit.outcome_text = Some(text);
                self.audit_each_patient(audit, &facts.further_patient_bsns).await?;
            }
            return Err(refusal);
        }
        Ok(Incoming {
            origin: origin.map(str::to_owned),
            content_hash: Some(er7_hash(bytes)),
            sender: facts.sender,
            control_id: facts.control_id,
            event: facts.event,
            patient: facts.patient_bsn,
            general_practitioner_agb: facts.general_practitioner_agb,
            format: Format::Hl7v2,
            body: bytes.to_vec(),
            bundle,
            composition: None,
        })
    }

    /// An authenticated organisation sends only under its own names: one of
    /// its `senders`, or its id, URA or AGB. Without authentication (the
    /// demo, a plaintext test region) any sender is taken.
    fn check_sender(&self, sender: &str, origin: Option<&str>) -> Result<(), IntakeError> {
        let Some(organization) = origin else { return Ok(()) };
        let own = self.registry.get(organization).is_some_and(|org| {
            org.senders.iter().any(|s| s == sender)
                || org.id == sender
                || org.ura.as_deref() == Some(sender)
                || org.agb.as_deref() == Some(sender)
        });
        if own {
            Ok(())
        } else {
            Err(IntakeError::ForeignSender {
                sender: sender.to_owned(),
                organization: organization.to_owned(),
            })
        }
    }

    /// Stores an audit record; done when it is durable.
    async fn audit(&self, event: AuditEvent) -> Result<(), StoreError> {
        self.timed("audit", self.store.audit(event)).await
    }

    /// Audits `audit`, and the same for each of `further` patients (a
    /// refused message about several patients reached the gateway with
    /// each one's data).
    async fn audit_each_patient(&self, audit: AuditEvent, further: &[String]) -> Result<(), StoreError> {
        for bsn in further {
            let mut theirs = audit.clone();
            theirs.patient = Some(bsn.clone());
            self.audit(theirs).await?;
        }
        self.audit(audit).await
    }

    /// A store write, timed in `zorgpoort_store_write_seconds`.
    async fn timed<T>(
        &self,
        operation: &'static str,
        write: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let started = Instant::now();
        let written = write.await;
        self.metrics
            .observe(&catalogue::STORE_WRITE_SECONDS, &[operation], started.elapsed());
        written
    }

    /// Routes a converted message and stores it with its deliveries and the
    /// audit event of its acceptance, in one transaction.
    async fn store_routed(&self, incoming: Incoming, received_ms: i64) -> Result<Received, IntakeError> {
        let id = uuid::Uuid::new_v4().to_string();
        let data = DataObject::of(id.clone(), incoming.format.name().into(), &incoming.body, Vec::new());
        // For the audit record of a refusal, should the store find the control id reused.
        let refused_data = DataObject {
            id: String::new(),
            ..data.clone()
        };
        let audit = self.accept_event(
            &incoming.sender,
            incoming.patient.clone(),
            Outcome::Success,
            received_ms,
            data,
        );
        let facts = Facts {
            sender: incoming.sender.clone(),
            event: incoming.event,
            general_practitioner_agb: incoming.general_practitioner_agb,
        };
        let deliveries = self.routes.deliveries(&facts, &self.registry);
        let handovers = self.routes.handovers(&facts, &self.registry);
        let mut receivers: Vec<String> = deliveries.iter().map(|d| d.receiver.clone()).collect();
        if let Some(bundle) = incoming
            .bundle
            .filter(|_| !deliveries.is_empty() || !handovers.is_empty())
        {
            // Kept only for a message that goes to someone.
            self.rendered.keep(&incoming.body, &bundle);
        }
        let known = self.registry.by_sender(&incoming.sender).is_some();
        let body = (!handovers.is_empty()).then(|| incoming.body.clone());
        let stored = self
            .timed(
                "accept",
                self.store.accept(NewMessage {
                    id,
                    sender: incoming.sender.clone(),
                    control_id: incoming.control_id.clone(),
                    format: incoming.format.name().into(),
                    body: incoming.body,
                    deliveries,
                    received_ms,
                    patient: incoming.patient.clone(),
                    audit: vec![audit],
                    origin: incoming.origin.clone(),
                    content_hash: incoming.content_hash.clone(),
                }),
            )
            .await?;
        if let Accepted::Reused(id) = &stored {
            let refused = Refused {
                stored: id,
                sender: &incoming.sender,
                control_id: incoming.control_id,
                patient: incoming.patient,
                data: refused_data,
            };
            return Err(self.refuse_reused(refused, received_ms).await);
        }
        if matches!(stored, Accepted::New(_)) && receivers.is_empty() && handovers.is_empty() {
            warn_unrouted(stored.id(), &incoming.sender, known);
        }
        let Some(body) = body else {
            return Ok(Received::from_stored(stored, receivers, known));
        };
        let Some(requester) = self.registry.by_sender(&incoming.sender) else {
            tracing::warn!(
                sender = incoming.sender,
                "a message to hand over comes from a sender outside the registry; not handed over"
            );
            return Ok(Received::from_stored(stored, receivers, known));
        };
        // A resend opens nothing new: a Task per sender, document and receiver.
        let held = if let Some(composition) = incoming.composition {
            Some((stored.id().to_owned(), composition, body))
        } else {
            let message = StoredMessage {
                id: stored.id(),
                sender: &incoming.sender,
                control_id: &incoming.control_id,
                format: incoming.format,
                patient: incoming.patient.as_ref(),
                body: &body,
            };
            self.store_transfer_document(&message, requester, received_ms).await?
        };
        if let Some((id, composition, body)) = held {
            let document = HeldDocument {
                id: &id,
                patient: incoming.patient.as_ref(),
                composition: &composition,
                body: &body,
            };
            receivers.extend(self.hand_over(&document, requester, &handovers).await?);
        }
        Ok(Received::from_stored(stored, receivers, known))
    }

    /// The refusal of a message whose control id its sender used before for
    /// other content (stored as `stored`), audited.
    async fn refuse_reused(&self, refused: Refused<'_>, received_ms: i64) -> IntakeError {
        tracing::warn!(
            message_id = %refused.stored,
            sender = refused.sender,
            "a control id was reused with other content; refused"
        );
        let mut audit = self.accept_event(
            refused.sender,
            refused.patient,
            Outcome::Failure,
            received_ms,
            refused.data,
        );
        audit.outcome_text = Some("refused: control id reused with other content".to_owned());
        if let Err(error) = self.audit(audit).await {
            return IntakeError::Store(error);
        }
        IntakeError::Reused {
            control_id: refused.control_id,
        }
    }

    /// Stores the transfer document made from a message that is not a
    /// document, for a route that hands it over; its id, Composition id and
    /// body. `None` (logged) when no document can be made of it.
    async fn store_transfer_document(
        &self,
        message: &StoredMessage<'_>,
        author: &Organization,
        received_ms: i64,
    ) -> Result<Option<(String, String, Vec<u8>)>, StoreError> {
        let made = self
            .render(message.format.name(), message.body)
            .ok()
            .and_then(|fhir| serde_json::from_str(&fhir).ok())
            .and_then(|bundle| overdracht::transfer_document(&bundle, message.id, author, received_ms));
        let Some(document) = made else {
            tracing::warn!(
                message_id = message.id,
                "no transfer document can be made of a message (no Patient)"
            );
            return Ok(None);
        };
        let composition = composition_of(&document).unwrap_or_default().to_owned();
        let body = document.to_string().into_bytes();
        let stored = self
            .timed(
                "accept",
                self.store.accept(NewMessage {
                    id: uuid::Uuid::new_v4().to_string(),
                    sender: message.sender.to_owned(),
                    control_id: format!("{}#overdracht", message.control_id),
                    format: Format::FhirR4.name().into(),
                    body: body.clone(),
                    deliveries: Vec::new(),
                    received_ms,
                    patient: message.patient.cloned(),
                    audit: Vec::new(),
                    origin: None,
                    // Made again (with the time of the resend) on a resend: not compared.
                    content_hash: None,
                }),
            )
            .await?;
        Ok(Some((stored.id().to_owned(), composition, body)))
    }

    /// Opens a handover of a stored document to each of `owners` on behalf
    /// of its sender, `requester`; the receivers it was opened for.
    async fn hand_over(
        &self,
        document: &HeldDocument<'_>,
        requester: &Organization,
        owners: &[String],
    ) -> Result<Vec<String>, StoreError> {
        let Some((consent, pickup_ms)) = &self.handovers else {
            return Ok(Vec::new());
        };
        let bundle = String::from_utf8_lossy(document.body);
        let mut opened = Vec::new();
        for owner in owners {
            let request = HandoverRequest {
                requester: requester.id.clone(),
                owner: owner.clone(),
                document: document.id.to_owned(),
                intent: "proposal".to_owned(),
                patient: document.patient.cloned(),
            };
            let opening = Opening {
                request: &request,
                composition: document.composition,
                bundle: &bundle,
                stored: (Format::FhirR4.name(), document.body),
                pickup_ms: *pickup_ms,
            };
            match overdracht::open(&self.store, consent, &self.registry, opening, now_ms()).await {
                Ok(Opened::New(_) | Opened::Existing(_)) => opened.push(owner.clone()),
                Ok(Opened::Refused(decision)) => {
                    tracing::info!(receiver = %owner, rule = decision.rule(), "handover refused by consent");
                }
                Err(ConsentError::Store(error)) => return Err(error),
                Err(ConsentError::Bundle(error)) => {
                    tracing::error!(%error, "a stored document is not JSON; not handed over");
                }
            }
        }
        Ok(opened)
    }
}

/// A stored message that is not a document, about to be made one.
struct StoredMessage<'a> {
    id: &'a str,
    sender: &'a str,
    control_id: &'a str,
    format: Format,
    patient: Option<&'a String>,
    body: &'a [u8],
}

/// A message refused because its control id was used before for other content.
struct Refused<'a> {
    /// The id of the message stored under that control id.
    stored: &'a str,
    sender: &'a str,
    control_id: String,
    patient: Option<String>,
    /// The refused message, by hash and size.
    data: DataObject,
}

/// A stored document about to be handed over.
struct HeldDocument<'a> {
    id: &'a str,
    patient: Option<&'a String>,
    composition: &'a str,
    /// Its FHIR R4 Bundle.
    body: &'a [u8],
}

/// What storing a message needs to know of it, whatever its input format.
struct Incoming {
    /// The authenticated organisation that sent it; part of its identity.
    origin: Option<String>,
    /// Hash of its content, to tell a resend from a reused control id.
    content_hash: Option<String>,
    sender: String,
    control_id: String,
    event: String,
    patient: Option<String>,
    general_practitioner_agb: Vec<String>,
    /// The format `body` is in.
    format: Format,
    body: Vec<u8>,
    /// What an HL7 v2 `body` became at intake, to keep for its delivery.
    bundle: Option<String>,
    /// For a document: its Composition's id.
    composition: Option<String>,
}

impl Received {
    fn from_stored(stored: Accepted, receivers: Vec<String>, known_sender: bool) -> Self {
        match stored {
            Accepted::New(id) => Self {
                id,
                duplicate: false,
                receivers,
                unknown_sender: !known_sender,
            },
            Accepted::Duplicate(id) | Accepted::Reused(id) => Self {
                id,
                duplicate: true,
                receivers: Vec::new(),
                unknown_sender: !known_sender,
            },
        }
    }
}

impl<S> Intake<S> {
    /// The audit event of taking (or refusing) a message from a sender.
    fn accept_event(
        &self,
        sender: &str,
        patient: Option<String>,
        outcome: Outcome,
        received_ms: i64,
        data: DataObject,
    ) -> AuditEvent {
        let mut audit = AuditEvent::new("accept", Action::Create, received_ms, outcome);
        audit.organization = self.registry.by_sender(sender).map(|o| o.id.clone());
        audit.who = Some(sender.to_owned());
        audit.patient = patient;
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

/// A message taken for no receiver at all: the sender is not to blame for
/// the region's routes, so it is accepted, but someone should look.
fn warn_unrouted(message: &str, sender: &str, known_sender: bool) {
    let why = if known_sender {
        "no route takes it"
    } else {
        "the sender is not in the registry"
    };
    tracing::warn!(
        message_id = message,
        sender,
        known_sender,
        "message accepted for 0 receivers: {why}"
    );
}

/// A hash of an ER7 message's content: its segments, whatever line ends
/// (`\r`, `\n`, `\r\n`) or blank lines separate them, so a resend through
/// another channel hashes the same.
fn er7_hash(bytes: &[u8]) -> String {
    let mut segments = Vec::with_capacity(bytes.len() + 1);
    for line in bytes.split(|&b| b == b'\r' || b == b'\n') {
        if !line.iter().all(u8::is_ascii_whitespace) {
            segments.extend_from_slice(line);
            segments.push(b'\r');
        }
    }
    zorgpoort_audit::sha256_hex(&segments)
}

/// An HL7 v2 message as the audit log knows it: by hash and size.
fn data_object(id: String, bytes: &[u8]) -> DataObject {
    DataObject::of(id, "hl7v2".into(), bytes, Vec::new())
}

/// The registry's local code tables as the HL7 v2 mapping reads them, for
/// the organisations that name any.
fn local_code_systems(registry: &Registry) -> HashMap<String, LocalCodeSystems> {
    registry
        .iter()
        .filter(|org| !org.local_code_systems.is_empty())
        .map(|org| {
            let tables = org
                .local_code_systems
                .iter()
                .fold(LocalCodeSystems::new(), |tables, (name, uri)| tables.with(name, uri));
            (org.id.clone(), tables)
        })
        .collect()
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
