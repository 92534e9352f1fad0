//! eOverdracht, the Dutch nursing handover, as a notified pull:
//!
//! 1. the sender asks for a handover with a Task (code SNOMED CT 308292007
//!    "transfer of care") whose focus is a document the gateway holds: a
//!    message it accepted whose FHIR form is a document Bundle, such as a CDA
//!    letter, a MEDEUR letter or a FHIR document;
//! 2. the gateway keeps the Task and notifies the receiver at its FHIR
//!    endpoint from the registry: a POST of a notification Task that points to
//!    the gateway's Task and holds no patient data ([`Follower`]);
//! 3. the receiver reads the Task and the document (`Composition/{id}/$document`)
//!    through the gateway, consent-checked and audited, and moves the Task
//!    on (accepted, rejected, in progress, completed); the sender sees it;
//! 4. a Task still `requested` after the pickup time is flagged, audited and
//!    logged, so the sender can act.
//!
//! This module decides what a Task may say and become; the HTTP side lives
//! in the server.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, header};
use serde::Deserialize;
use serde_json::{Value, json};
use zorgpoort_audit::{Action, AuditEvent, DataObject, Outcome};
use zorgpoort_consent::{Decision, Purpose};
use zorgpoort_model::datatypes::{LocalZone, PartialDateTime};
use zorgpoort_model::systems;
use zorgpoort_store::{Store, StoreError, TaskRecord};

use crate::delivery::{Ask, ConsentCheck, ConsentError, STU3_JSON, now_ms};
use crate::registry::{Protocol, Registry};
use crate::upstream::Upstream;

/// SNOMED CT "transfer of care": the code of an eOverdracht Task.
pub const TRANSFER_OF_CARE: &str = "308292007";
/// SNOMED CT "transfer summary report": the type of the Task's input.
const TRANSFER_SUMMARY: &str = "371535009";
const SNOMED: &str = "http://snomed.info/sct";

/// Where a handover stands (the FHIR Task status codes it uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    /// Waiting for the receiver.
    Requested,
    /// The receiver has seen it.
    Received,
    /// The receiver takes the patient on.
    Accepted,
    /// The receiver declines.
    Rejected,
    /// Care has begun.
    InProgress,
    /// Paused.
    OnHold,
    /// It could not be done.
    Failed,
    /// Done.
    Completed,
    /// The sender withdrew it.
    Cancelled,
}

impl TaskStatus {
    const ALL: [Self; 9] = [
        Self::Requested,
        Self::Received,
        Self::Accepted,
        Self::Rejected,
        Self::InProgress,
        Self::OnHold,
        Self::Failed,
        Self::Completed,
        Self::Cancelled,
    ];

    /// The FHIR code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Received => "received",
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
            Self::InProgress => "in-progress",
            Self::OnHold => "on-hold",
            Self::Failed => "failed",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
        }
    }

    /// The status with this FHIR code.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == code)
    }

    /// Whether nothing can follow it.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Rejected | Self::Failed | Self::Completed | Self::Cancelled)
    }
}

/// Who changes a Task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// The organisation that asked for the handover (Task.requester).
    Sender,
    /// The organisation it is addressed to (Task.owner).
    Receiver,
}

/// Whether `party` may move a Task from `from` to `to`: the receiver works
/// it through the FHIR task state machine, the sender may only withdraw it
/// before care has begun.
pub fn may_change(party: Party, from: TaskStatus, to: TaskStatus) -> bool {
    use TaskStatus::{Accepted, Cancelled, Completed, Failed, InProgress, OnHold, Received, Rejected, Requested};
    match party {
        Party::Sender => to == Cancelled && matches!(from, Requested | Received | Accepted),
        Party::Receiver => matches!(
            (from, to),
            (Requested, Received | Accepted | Rejected)
                | (Received, Accepted | Rejected)
                | (Accepted, InProgress | Completed | Failed)
                | (InProgress, OnHold | Completed | Failed)
                | (OnHold, InProgress | Failed)
        ),
    }
}

/// A Task that cannot be taken, with where (FHIRPath) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{expression}: {reason}")]
pub struct TaskError {
    /// Where in the Task.
    pub expression: String,
    /// Why.
    pub reason: String,
}

impl TaskError {
    fn new(expression: &str, reason: impl Into<String>) -> Self {
        Self {
            expression: expression.to_owned(),
            reason: reason.into(),
        }
    }
}

/// What a sender's Task asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoverRequest {
    /// The sending organisation (registry id), from Task.requester.
    pub requester: String,
    /// The receiving organisation (registry id), from Task.owner.
    pub owner: String,
    /// The stored message that is handed over, from `Bundle/{id}` in
    /// Task.focus or Task.input.
    pub document: String,
    /// Task.intent.
    pub intent: String,
    /// The patient's BSN, when Task.for names one.
    pub patient: Option<String>,
}

/// Reads a new eOverdracht Task (R4 JSON) as its sender wrote it.
pub fn read_request(task: &Value, registry: &Registry) -> Result<HandoverRequest, TaskError> {
    if task.get("resourceType").and_then(Value::as_str) != Some("Task") {
        return Err(TaskError::new("Task", "the body must be a FHIR Task"));
    }
    let is_transfer = task
        .pointer("/code/coding")
        .and_then(Value::as_array)
        .is_some_and(|codings| codings.iter().any(|c| is_coding(c, SNOMED, TRANSFER_OF_CARE)));
    if !is_transfer {
        return Err(TaskError::new(
            "Task.code",
            format!("an eOverdracht Task has code {SNOMED}|{TRANSFER_OF_CARE} (transfer of care)"),
        ));
    }
    match task.get("status").and_then(Value::as_str) {
        Some("requested") => {}
        Some(other) => {
            return Err(TaskError::new(
                "Task.status",
                format!("a new handover is \"requested\", not {other:?}"),
            ));
        }
        None => return Err(TaskError::new("Task.status", "required")),
    }
    let intent = match task.get("intent").and_then(Value::as_str) {
        Some(intent @ ("proposal" | "plan" | "order")) => intent.to_owned(),
        Some(other) => {
            return Err(TaskError::new(
                "Task.intent",
                format!("use proposal, plan or order, not {other:?}"),
            ));
        }
        None => return Err(TaskError::new("Task.intent", "required")),
    };
    let requester = organization(task, "requester", registry)?;
    let owner = organization(task, "owner", registry)?;
    if owner == requester {
        return Err(TaskError::new("Task.owner", "a handover goes to another organisation"));
    }
    let document = document(task)?;
    let patient = patient(task)?;
    Ok(HandoverRequest {
        requester,
        owner,
        document,
        intent,
        patient,
    })
}

fn is_coding(coding: &Value, system: &str, code: &str) -> bool {
    coding.get("system").and_then(Value::as_str) == Some(system)
        && coding.get("code").and_then(Value::as_str) == Some(code)
}

/// The registry id of the organisation a Reference names: `Organization/{id}`
/// or an identifier (URA or AGB).
fn organization(task: &Value, element: &str, registry: &Registry) -> Result<String, TaskError> {
    let expression = format!("Task.{element}");
    let reference = task
        .get(element)
        .ok_or_else(|| TaskError::new(&expression, "required: the organisation"))?;
    if let Some(text) = reference.get("reference").and_then(Value::as_str) {
        let id = text.strip_prefix("Organization/").ok_or_else(|| {
            TaskError::new(
                &format!("{expression}.reference"),
                "must be Organization/{id} of the region's registry",
            )
        })?;
        return registry
            .get(id)
            .map(|o| o.id.clone())
            .ok_or_else(|| TaskError::new(&format!("{expression}.reference"), "not in the region's registry"));
    }
    let identifier = reference.get("identifier").ok_or_else(|| {
        TaskError::new(
            &expression,
            "name the organisation by reference or by URA/AGB identifier",
        )
    })?;
    let system = identifier.get("system").and_then(Value::as_str).unwrap_or_default();
    let value = identifier.get("value").and_then(Value::as_str).unwrap_or_default();
    let found = match system {
        systems::URA => registry.iter().find(|o| o.ura.as_deref() == Some(value)),
        systems::AGB => registry.by_agb(value),
        _ => {
            return Err(TaskError::new(
                &format!("{expression}.identifier.system"),
                format!("use {} or {}", systems::URA, systems::AGB),
            ));
        }
    };
    found
        .map(|o| o.id.clone())
        .ok_or_else(|| TaskError::new(&format!("{expression}.identifier"), "not in the region's registry"))
}

/// The stored message a Task hands over: `Bundle/{id}` in Task.focus, or in
/// the valueReference of one Task.input.
fn document(task: &Value) -> Result<String, TaskError> {
    let bundle_id = |reference: &Value| {
        reference
            .get("reference")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("Bundle/"))
            .filter(|id| !id.is_empty() && !id.contains('/'))
            .map(str::to_owned)
    };
    if let Some(focus) = task.get("focus") {
        return bundle_id(focus).ok_or_else(|| {
            TaskError::new(
                "Task.focus.reference",
                "must be Bundle/{id} of a document the gateway holds",
            )
        });
    }
    let inputs = task
        .get("input")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut found = inputs
        .iter()
        .enumerate()
        .filter_map(|(i, input)| input.get("valueReference").map(|r| (i, bundle_id(r))));
    match (found.next(), found.next()) {
        (Some((_, Some(id))), None) => Ok(id),
        (Some((i, None)), _) => Err(TaskError::new(
            &format!("Task.input[{i}].valueReference.reference"),
            "must be Bundle/{id} of a document the gateway holds",
        )),
        (Some(_), Some((i, _))) => Err(TaskError::new(
            &format!("Task.input[{i}]"),
            "a handover hands over one document",
        )),
        (None, _) => Err(TaskError::new(
            "Task.focus",
            "name the document handed over: Bundle/{id} in focus or input",
        )),
    }
}

/// The BSN in Task.for, when it names one (it must then be the document's).
fn patient(task: &Value) -> Result<Option<String>, TaskError> {
    let Some(identifier) = task.pointer("/for/identifier") else {
        return Ok(None);
    };
    if identifier.get("system").and_then(Value::as_str) != Some(systems::BSN) {
        return Err(TaskError::new(
            "Task.for.identifier.system",
            format!("name the patient by BSN ({})", systems::BSN),
        ));
    }
    match identifier.get("value").and_then(Value::as_str) {
        Some(bsn) if systems::is_valid_bsn(bsn) => Ok(Some(bsn.to_owned())),
        _ => Err(TaskError::new("Task.for.identifier.value", "not a valid BSN")),
    }
}

/// A status change a party asks for: the new status and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    /// The new status.
    pub status: TaskStatus,
    /// Task.statusReason.text (for a rejection, say).
    pub reason: Option<String>,
}

/// Longest status reason kept.
const MAX_REASON_CHARS: usize = 500;

/// Reads the change a party's updated Task (R4 JSON) asks for. Only the
/// status and its reason can change; the gateway keeps the rest.
pub fn read_change(task: &Value) -> Result<StatusChange, TaskError> {
    if task.get("resourceType").and_then(Value::as_str) != Some("Task") {
        return Err(TaskError::new("Task", "the body must be a FHIR Task"));
    }
    let code = task
        .get("status")
        .and_then(Value::as_str)
        .ok_or_else(|| TaskError::new("Task.status", "required"))?;
    let status = TaskStatus::parse(code)
        .ok_or_else(|| TaskError::new("Task.status", format!("{code:?} is not a status a handover takes")))?;
    let reason = task
        .pointer("/statusReason/text")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| r.chars().take(MAX_REASON_CHARS).collect());
    Ok(StatusChange { status, reason })
}

/// A handover as the gateway keeps it; its Task is made from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handover {
    /// The Task's id.
    pub id: String,
    /// What the sender asked for.
    pub request: HandoverRequest,
    /// The id of the handed-over document's Composition.
    pub composition: String,
    /// Where it stands.
    pub status: TaskStatus,
    /// Why it stands there (Task.statusReason).
    pub reason: Option<String>,
    /// 1 when created, one more with every change.
    pub version: i64,
    /// When it was created (ms since the epoch).
    pub created_ms: i64,
    /// When it last changed.
    pub updated_ms: i64,
    /// By when the receiver must have picked it up.
    pub due_ms: i64,
    /// When the receiver was notified.
    pub notified_ms: Option<i64>,
    /// Not picked up in time.
    pub flagged: bool,
}

/// Task.businessStatus of a Task not picked up in time.
const OVERDUE: &str = "not picked up in time";

impl Handover {
    /// The FHIR R4 Task.
    pub fn task(&self, registry: &Registry) -> Value {
        let instant = |ms: i64| PartialDateTime::from_unix_ms(ms).to_fhir_instant(LocalZone::Utc);
        let org = |id: &str| {
            let mut reference = json!({ "reference": format!("Organization/{id}") });
            if let Some(org) = registry.get(id) {
                reference["display"] = json!(org.name);
            }
            reference
        };
        let mut task = json!({
            "resourceType": "Task",
            "id": self.id,
            "meta": { "versionId": self.version.to_string(), "lastUpdated": instant(self.updated_ms) },
            "status": self.status.as_str(),
            "intent": self.request.intent,
            "code": { "coding": [{ "system": SNOMED, "code": TRANSFER_OF_CARE, "display": "Transfer of care" }] },
            "authoredOn": instant(self.created_ms),
            "lastModified": instant(self.updated_ms),
            "requester": org(&self.request.requester),
            "owner": org(&self.request.owner),
            "restriction": { "period": { "end": instant(self.due_ms) } },
            "input": [{
                "type": { "coding": [{ "system": SNOMED, "code": TRANSFER_SUMMARY, "display": "Transfer summary report" }] },
                "valueReference": { "reference": format!("Composition/{}", self.composition) }
            }]
        });
        if let Some(bsn) = &self.request.patient {
            task["for"] = json!({ "identifier": { "system": systems::BSN, "value": bsn } });
        }
        if let Some(reason) = &self.reason {
            task["statusReason"] = json!({ "text": reason });
        }
        if self.flagged {
            task["businessStatus"] = json!({ "text": OVERDUE });
        }
        task
    }

    /// As stored.
    pub fn to_record(&self, registry: &Registry) -> TaskRecord {
        TaskRecord {
            id: self.id.clone(),
            requester: self.request.requester.clone(),
            owner: self.request.owner.clone(),
            patient: self.request.patient.clone(),
            status: self.status.as_str().to_owned(),
            document: self.request.document.clone(),
            composition: self.composition.clone(),
            resource: self.task(registry).to_string(),
            version: self.version,
            created_ms: self.created_ms,
            updated_ms: self.updated_ms,
            due_ms: self.due_ms,
            notified_ms: self.notified_ms,
            flagged: self.flagged,
        }
    }

    /// Read back from storage.
    pub fn from_record(record: &TaskRecord) -> Result<Self, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("task {}: {what}", record.id));
        let task: Value = serde_json::from_str(&record.resource).map_err(|_| corrupt("resource is not JSON"))?;
        let status = TaskStatus::parse(&record.status).ok_or_else(|| corrupt("unknown status"))?;
        Ok(Self {
            id: record.id.clone(),
            request: HandoverRequest {
                requester: record.requester.clone(),
                owner: record.owner.clone(),
                document: record.document.clone(),
                intent: task
                    .get("intent")
                    .and_then(Value::as_str)
                    .unwrap_or("proposal")
                    .to_owned(),
                patient: record.patient.clone(),
            },
            composition: record.composition.clone(),
            status,
            reason: task
                .pointer("/statusReason/text")
                .and_then(Value::as_str)
                .map(str::to_owned),
            version: record.version,
            created_ms: record.created_ms,
            updated_ms: record.updated_ms,
            due_ms: record.due_ms,
            notified_ms: record.notified_ms,
            flagged: record.flagged,
        })
    }

    /// The next version, changed by `change` at `now_ms`.
    #[must_use]
    pub fn changed(&self, now_ms: i64, change: impl FnOnce(&mut Self)) -> Self {
        let mut next = self.clone();
        change(&mut next);
        next.version = self.version + 1;
        next.updated_ms = now_ms.max(self.updated_ms);
        next
    }

    /// The notification for the receiver: the Task's kind and address, the
    /// two organisations, and no patient data. `task_url` is where the
    /// receiver reads the Task (the gateway's public base + `/Task/{id}`).
    pub fn notification(&self, task_url: &str, registry: &Registry) -> Value {
        let full = self.task(registry);
        json!({
            "resourceType": "Task",
            "status": "requested",
            "intent": "proposal",
            "code": full["code"],
            "basedOn": [{ "reference": task_url }],
            "groupIdentifier": { "system": "urn:ietf:rfc:3986", "value": format!("urn:uuid:{}", self.id) },
            "authoredOn": full["authoredOn"],
            "requester": full["requester"],
            "owner": full["owner"],
            "restriction": full["restriction"]
        })
    }
}

/// The id of a document Bundle's Composition (its first entry), when the
/// Bundle is a document.
pub fn composition_of(bundle: &Value) -> Option<&str> {
    let first = bundle.pointer("/entry/0/resource")?;
    (bundle.get("type").and_then(Value::as_str) == Some("document")
        && first.get("resourceType").and_then(Value::as_str) == Some("Composition"))
    .then(|| first.get("id").and_then(Value::as_str))
    .flatten()
}

/// SNOMED CT "transfer summary report": the type of a transfer document.
const TRANSFER_SUMMARY_REPORT: (&str, &str) = (TRANSFER_SUMMARY, "Transfer summary report");

/// A transfer document made from a message that is not a document (a
/// discharge ADT^A03, a client of a nursing-home export): a document Bundle
/// whose Composition lists the message's resources, one section per resource
/// type, with `author` the sending organisation. `key` (the stored message's
/// id) makes the ids; `None` when the message names no Patient.
pub fn transfer_document(bundle: &Value, key: &str, author: &crate::Organization, now_ms: i64) -> Option<Value> {
    let id = |part: &str| {
        uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_URL,
            format!("zorgpoort:overdracht:{key}:{part}").as_bytes(),
        )
    };
    let mut entries: Vec<Value> = Vec::new();
    for entry in bundle.get("entry").and_then(Value::as_array).into_iter().flatten() {
        let (Some(full_url), Some(resource)) = (entry.get("fullUrl").and_then(Value::as_str), entry.get("resource"))
        else {
            continue;
        };
        let mut resource = resource.clone();
        if resource.get("id").is_none()
            && let Some(uuid) = full_url.strip_prefix("urn:uuid:")
        {
            resource["id"] = json!(uuid);
        }
        entries.push(json!({ "fullUrl": full_url, "resource": resource }));
    }
    let kind = |e: &Value| {
        e.pointer("/resource/resourceType")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let patient = entries.iter().find(|e| kind(e) == "Patient")?["fullUrl"].clone();
    let mut sections: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for entry in entries.iter().filter(|e| kind(e) != "Patient") {
        sections
            .entry(kind(entry))
            .or_default()
            .push(json!({ "reference": entry["fullUrl"] }));
    }
    let instant = PartialDateTime::from_unix_ms(now_ms).to_fhir_instant(LocalZone::Utc);
    let mut author_reference = json!({ "display": author.name });
    if let Some(ura) = &author.ura {
        author_reference["identifier"] = json!({ "system": systems::URA, "value": ura });
    }
    let composition_id = id("Composition").to_string();
    let mut composition = json!({
        "resourceType": "Composition",
        "id": composition_id,
        "status": "final",
        "type": { "coding": [{ "system": SNOMED, "code": TRANSFER_SUMMARY_REPORT.0, "display": TRANSFER_SUMMARY_REPORT.1 }] },
        "subject": { "reference": patient },
        "date": instant,
        "author": [author_reference],
        "title": "Overdrachtsgegevens"
    });
    let sections: Vec<Value> = sections
        .into_iter()
        .map(|(title, entry)| json!({ "title": title, "entry": entry }))
        .collect();
    if !sections.is_empty() {
        composition["section"] = Value::Array(sections);
    }
    entries.insert(
        0,
        json!({ "fullUrl": format!("urn:uuid:{composition_id}"), "resource": composition }),
    );
    Some(json!({
        "resourceType": "Bundle",
        "id": id("Bundle").to_string(),
        "identifier": { "system": "urn:ietf:rfc:3986", "value": format!("urn:uuid:{}", id("document")) },
        "type": "document",
        "timestamp": instant,
        "entry": entries
    }))
}

/// A handover about to be opened: what was asked, and the document as the
/// gateway holds it.
#[derive(Debug, Clone, Copy)]
pub struct Opening<'a> {
    /// The request; its patient must be the document's.
    pub request: &'a HandoverRequest,
    /// The document's Composition id.
    pub composition: &'a str,
    /// The document's FHIR form (a document Bundle).
    pub bundle: &'a str,
    /// The stored message's format and bytes, for the audit record.
    pub stored: (&'a str, &'a [u8]),
    /// Time a receiver has to pick it up.
    pub pickup_ms: i64,
}

/// What opening a handover did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// A new Task, stored with its audit record.
    New(Handover),
    /// The same sender handed the same document to the same receiver before.
    Existing(Handover),
    /// The patient's choices do not let the receiver have it (audited).
    Refused(zorgpoort_consent::Decision),
}

/// Opens a handover: the patient's choices are checked for the receiver
/// first (before anyone is told), then the Task is stored with its audit
/// record. One Task per sender, document and receiver, so a resend finds it.
pub async fn open<S: Store>(
    store: &S,
    consent: &ConsentCheck,
    registry: &Registry,
    opening: Opening<'_>,
    now: i64,
) -> Result<Opened, ConsentError> {
    let request = opening.request;
    let ask = Ask {
        requester: &request.owner,
        purpose: Purpose::Handover,
        treating_relationship: true,
        reason: None,
    };
    let evaluation = consent
        .evaluate(store, opening.bundle.to_owned(), request.patient.as_deref(), &ask)
        .await?;
    let denied = matches!(evaluation.decision, Decision::Deny { .. });
    let outcome = if denied { Outcome::Failure } else { Outcome::Success };
    let mut audit = AuditEvent::new("handover", Action::Create, now, outcome);
    audit.organization = Some(request.requester.clone());
    audit.patient.clone_from(&request.patient);
    audit.purpose = Some(Purpose::Handover.code());
    audit.consent_rule = Some(evaluation.decision.rule().to_owned());
    audit.outcome_text = Some(if denied {
        format!("handover to {} refused by consent", request.owner)
    } else {
        format!("handover to {}", request.owner)
    });
    let (format, bytes) = opening.stored;
    audit.data = Some(DataObject::of(
        request.document.clone(),
        format.to_owned(),
        bytes,
        evaluation.categories,
    ));
    if denied {
        store.audit(audit).await?;
        return Ok(Opened::Refused(evaluation.decision));
    }
    let key = format!("{}|{}|{}", request.requester, request.document, request.owner);
    let handover = Handover {
        id: uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, key.as_bytes()).to_string(),
        request: request.clone(),
        composition: opening.composition.to_owned(),
        status: TaskStatus::Requested,
        reason: None,
        version: 1,
        created_ms: now,
        updated_ms: now,
        due_ms: now.saturating_add(opening.pickup_ms),
        notified_ms: None,
        flagged: false,
    };
    if store.put_task(handover.to_record(registry), vec![audit]).await? {
        return Ok(Opened::New(handover));
    }
    let existing = store
        .task(&handover.id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("task {} vanished", handover.id)))?;
    Ok(Opened::Existing(Handover::from_record(&existing)?))
}

/// How the gateway follows handovers up.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HandoverConfig {
    /// Time a receiver has to pick a handover up before it is flagged.
    pub pickup_timeout_secs: u64,
    /// The gateway's FHIR base URL as receivers reach it, for the Task
    /// address in notifications (`https://gateway.example/fhir`); empty:
    /// made from the HTTP listener's address.
    pub public_base_url: String,
    /// How often open handovers are looked at.
    pub poll_interval_ms: u64,
    /// Time allowed for one notification.
    pub timeout_ms: u64,
}

impl HandoverConfig {
    /// The pickup time in milliseconds.
    pub fn pickup_ms(&self) -> i64 {
        i64::try_from(self.pickup_timeout_secs)
            .unwrap_or(i64::MAX)
            .saturating_mul(1000)
    }
}

impl Default for HandoverConfig {
    fn default() -> Self {
        Self {
            pickup_timeout_secs: 4 * 3600,
            public_base_url: String::new(),
            poll_interval_ms: 1000,
            timeout_ms: 10_000,
        }
    }
}

/// Longest wait between notification attempts.
const MAX_NOTIFY_BACKOFF_MS: i64 = 300_000;

/// Notifies receivers of new handovers (retrying with backoff while they
/// cannot be reached) and flags handovers not picked up in time.
pub struct Follower<S> {
    store: S,
    registry: Arc<Registry>,
    config: HandoverConfig,
    client: Upstream,
    /// Per Task: failed attempts and when to try again. Lost on restart,
    /// which only means an early retry.
    backoff: HashMap<String, (u32, i64)>,
}

impl<S: Store> Follower<S> {
    /// A follower over `store`, notifying through `client`.
    pub fn new(store: S, registry: Arc<Registry>, config: HandoverConfig, client: Upstream) -> Self {
        Self {
            store,
            registry,
            config,
            client,
            backoff: HashMap::new(),
        }
    }

    /// Follows handovers up until `shutdown` completes.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            if let Err(error) = self.follow_up(now_ms()).await {
                tracing::warn!(%error, "cannot follow handovers up");
            }
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(Duration::from_millis(self.config.poll_interval_ms)) => {}
            }
        }
    }

    /// One round: notifies whom it can and flags what is overdue.
    pub async fn follow_up(&mut self, now: i64) -> Result<(), StoreError> {
        for record in self.store.tasks_to_follow(now, 64).await? {
            let handover = Handover::from_record(&record)?;
            if handover.notified_ms.is_none() {
                self.notify(&handover, now).await?;
            } else if handover.due_ms <= now && !handover.flagged {
                self.flag(&handover, now).await?;
            }
        }
        Ok(())
    }

    async fn notify(&mut self, handover: &Handover, now: i64) -> Result<(), StoreError> {
        if self.backoff.get(&handover.id).is_some_and(|&(_, next)| next > now) {
            return Ok(());
        }
        // One gateway of the region notifies at a time: the one that claims
        // this version of the Task for the length of an attempt. Another
        // replica tries once the claim has run out (the attempt failed and
        // its gateway backs off, or died); a notification that went out
        // changes the version, so it is not sent again.
        let claim = format!("handover-notify {} {}", handover.id, handover.version);
        let until = now.saturating_add(i64::try_from(self.config.timeout_ms).unwrap_or(i64::MAX));
        if !self.store.first_use(&claim, now, until).await? {
            return Ok(());
        }
        let owner = &handover.request.owner;
        let mut audit = AuditEvent::new("handover-notify", Action::Execute, now, Outcome::Success);
        audit.organization = Some(owner.clone());
        audit.patient.clone_from(&handover.request.patient);
        let endpoint = self.registry.get(owner).and_then(|o| {
            o.endpoints
                .iter()
                .find(|e| matches!(e.protocol, Protocol::FhirR4 | Protocol::FhirStu3))
        });
        let Some(endpoint) = endpoint else {
            // Nothing to notify: the receiver finds it by searching its Tasks.
            audit.outcome = Outcome::Failure;
            audit.outcome_text = Some("no FHIR endpoint in the registry; the receiver must search its Tasks".into());
            return self.store_notified(handover, now, audit).await;
        };
        let url = format!("{}/Task", endpoint.address.trim_end_matches('/'));
        let task_url = format!(
            "{}/Task/{}",
            self.config.public_base_url.trim_end_matches('/'),
            handover.id
        );
        let mut notification = handover.notification(&task_url, &self.registry);
        let mut media_type = "application/fhir+json";
        // A notification holds only what both versions have, so it always
        // converts; should it not, the receiver gets R4, labelled as such.
        if endpoint.protocol == Protocol::FhirStu3
            && let Ok(converted) = zorgpoort_stu3::to_stu3(&notification)
        {
            notification = converted.resource;
            media_type = STU3_JSON;
        }
        let body = notification.to_string();
        match self.post(&url, media_type, body).await {
            Ok(()) => {
                self.backoff.remove(&handover.id);
                self.store_notified(handover, now, audit).await
            }
            Err(error) => {
                let (attempts, _) = self.backoff.get(&handover.id).copied().unwrap_or_default();
                let wait = (1000_i64 << attempts.min(20)).min(MAX_NOTIFY_BACKOFF_MS);
                self.backoff.insert(handover.id.clone(), (attempts + 1, now + wait));
                tracing::warn!(task = %handover.id, receiver = %owner, %error, "handover notification failed; retrying");
                audit.outcome = Outcome::Retry;
                audit.outcome_text = Some(error);
                self.store.audit(audit).await
            }
        }
    }

    async fn store_notified(&self, handover: &Handover, now: i64, audit: AuditEvent) -> Result<(), StoreError> {
        let next = handover.changed(now, |h| h.notified_ms = Some(now));
        // A refused write means the receiver changed the Task meanwhile: it
        // has seen it, so there is nothing left to notify.
        self.store.put_task(next.to_record(&self.registry), vec![audit]).await?;
        Ok(())
    }

    async fn flag(&self, handover: &Handover, now: i64) -> Result<(), StoreError> {
        let next = handover.changed(now, |h| h.flagged = true);
        let mut audit = AuditEvent::new("handover-overdue", Action::Execute, now, Outcome::Failure);
        audit.organization = Some(handover.request.owner.clone());
        audit.patient.clone_from(&handover.request.patient);
        audit.outcome_text = Some(format!("{OVERDUE} by {}", handover.request.owner));
        if self.store.put_task(next.to_record(&self.registry), vec![audit]).await? {
            tracing::warn!(
                task = %handover.id,
                sender = %handover.request.requester,
                receiver = %handover.request.owner,
                "handover not picked up in time"
            );
        }
        Ok(())
    }

    async fn post(&self, url: &str, media_type: &str, body: String) -> Result<(), String> {
        let request = Request::post(url)
            .header(header::CONTENT_TYPE, media_type)
            .header(header::ACCEPT, "application/fhir+json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("bad endpoint address: {e}"))?;
        let status = tokio::time::timeout(Duration::from_millis(self.config.timeout_ms), async {
            let response = self.client.request(request).await.map_err(|e| e.to_string())?;
            let status = response.status();
            // Read the answer so the connection can be reused.
            let _ = response.into_body().collect().await;
            Ok::<_, String>(status)
        })
        .await
        .map_err(|_| "timed out".to_owned())??;
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("the receiver answered {status}"))
        }
    }
}
