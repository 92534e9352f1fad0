//! HL7 v2 -> FHIR R4 transaction Bundle, following the HL7 v2-to-FHIR maps
//! (message, segment and data-type tables) adapted to nl-core/zib2020.
//!
//! Segments are mapped in message order with a running context (the
//! patient, the visit, the current order, report and document), so every
//! message type shares one set of segment maps. Fields a map does not use
//! are reported as warnings with their location; unknown segments too.
//!
//! A resource is written directly (see [`zorgpoort_model::ResourceWriter`])
//! when its segment is read, with what later segments add to it read ahead:
//! the notes of the NTEs after it, and for a result the specimen of an SPM
//! after its OBR's results. A resource that later segments edit in ways not
//! worth reading ahead stays a tree until the Bundle is finished: the Patient
//! (PD1's general practitioner, MRG's link), the Encounter (PV2's reason),
//! the `ServiceRequest` and `DiagnosticReport` (OBR, SPM, text results and
//! NTEs), the `DocumentReference` (its OBX content) and the Appointment (the
//! patient, known only once the message is read).

mod clinical;
mod datatypes;
mod facts;
mod orders;
mod patient;
mod provenance;
mod scheduling;
mod specimen;

use std::sync::Arc;

pub use facts::{RoutingFacts, routing_facts};
use zorgpoort_model::datatypes::LocalZone;
use zorgpoort_model::{Conversion, EntryRef, IdGenerator, Json, Origin, TransactionBuilder, Warning, WrittenRef};

use crate::error::{Error, ErrorKind, Location};
use crate::message::{Message, Segment};

/// Settings of the mapping.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Zone for timestamps that carry no offset.
    pub zone: LocalZone,
    /// The sender's own code tables (CWE-3 names such as `99ZLAB`).
    pub local_codes: LocalCodeSystems,
    /// Refuse a message about more than one patient (a second PID, as in
    /// ADT^A40 with several merge groups, BAR^P02 or an ORU with several
    /// `PATIENT_RESULT` groups). A gateway sets this: it checks consent, routes
    /// and audits per patient, and a Bundle about two patients would travel
    /// under the first one's consent. Off, such a message becomes one Bundle
    /// with a Patient per PID.
    pub one_patient: bool,
}

/// The coding-system names a sender uses for its own tables in CWE-3 and
/// CWE-6 (`L`, `99zzz` and the like), each with the URI of the code system
/// they stand for. Such names mean something only per sender, so the
/// gateway fills this from its registry for the message's sender; a name
/// not found here keeps its codes without a system, with a warning.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalCodeSystems {
    /// Shared, so each message's mapping takes the tables without a copy;
    /// `None` when there are none.
    names: Option<Arc<[(String, String)]>>,
}

impl LocalCodeSystems {
    /// No local tables known.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same tables plus `name` (as the sender writes it in CWE-3,
    /// compared exactly) standing for the code system `uri`.
    #[must_use]
    pub fn with(self, name: impl Into<String>, uri: impl Into<String>) -> Self {
        let mut names = self.names.as_deref().unwrap_or_default().to_vec();
        names.push((name.into(), uri.into()));
        Self {
            names: Some(names.into()),
        }
    }

    /// The URI of the sender's table `name`.
    fn uri(&self, name: &str) -> Option<&str> {
        self.names
            .as_deref()?
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, uri)| uri.as_str())
    }
}

/// The message types with a dedicated mapping; others are mapped segment by
/// segment with a warning.
const SUPPORTED: &[&str] = &[
    "ADT^A01", "ADT^A02", "ADT^A03", "ADT^A04", "ADT^A05", "ADT^A08", "ADT^A11", "ADT^A13", "ADT^A28", "ADT^A31",
    "ADT^A40", "ORU^R01", "ORM^O01", "OML^O21", "MDM^T02", "SIU^S12", "VXU^V04",
];

/// Message types whose data is about one patient, so that without an
/// identified patient there is nobody to attach it to. (ADT^A20, a bed
/// status update, is the ADT event without a patient.)
const NEED_A_PATIENT: &[&str] = &["ADT", "ORU", "ORM", "OML", "OUL", "MDM", "VXU"];

/// Converts one parsed message to a transaction Bundle with warnings,
/// reading the sender's local coding-system names with
/// `options.local_codes`.
///
/// The error policy: the message is refused, with a located error, only
/// when an essential field is missing or unreadable (MSH-9, MSH-10, the
/// patient's identity in a message about a patient) or its structure is
/// damaged; any other unreadable field is left out with a located warning.
pub fn to_fhir<'a>(message: &Message<'a>, options: &Options) -> Result<Conversion<'a>, Error> {
    let msh = message.msh();
    let RoutingFacts {
        sender,
        control_id,
        event: kind,
        ..
    } = routing_facts(message)?;
    let (code, trigger) = kind.split_once('^').unwrap_or((&kind, ""));
    if NEED_A_PATIENT.contains(&code) && kind != "ADT^A20" {
        patient::require_identified(message, &kind)?;
    }
    if options.one_patient {
        patient::refuse_second(message, &kind)?;
    }
    let mut mapper = Mapper {
        zone: options.zone,
        local_codes: options.local_codes.clone(),
        unknown_systems: Vec::new(),
        event: Event {
            code: code.to_owned(),
            trigger: trigger.to_owned(),
        },
        bundle: TransactionBuilder::new(IdGenerator::new(&sender, &control_id)),
        warnings: Vec::new(),
        patient: None,
        patient_identified: false,
        subject: None,
        patientless: None,
        encounter: None,
        encounter_reference: None,
        order: None,
        order_has_obr: false,
        report: None,
        specimen: None,
        specimen_after_order: false,
        document: None,
        note_target: None,
        people: Vec::new(),
        known_references: Vec::new(),
        document_text: Vec::new(),
        appointments: Vec::new(),
    };
    for &field in message.rejoined_fields() {
        mapper.warn(
            field,
            "line break inside the field: the next line is no segment, so it was joined back to this field",
        );
    }
    if !SUPPORTED.contains(&kind.as_str()) {
        mapper.warn(
            msh.location().with_field(9),
            format!("no dedicated mapping for {kind}; segments mapped one by one"),
        );
    }
    // Resources written whole take the notes of the segments after theirs.
    let segments: Vec<Segment<'_, 'a>> = message.segments().collect();
    for (n, &segment) in segments.iter().enumerate() {
        mapper.segment(segment, &segments[n + 1..]);
    }
    scheduling::finish(&mut mapper);
    if let Some((location, reason)) = mapper.patientless {
        return Err(Error::at(location, ErrorKind::MissingPatient { event: kind, reason }));
    }
    provenance::map(&mut mapper, message)?;
    let bundle = mapper.bundle.finish("transaction");
    Ok(Conversion {
        bundle,
        warnings: mapper.warnings,
        origin: Origin {
            sender,
            message_id: control_id,
            event: kind,
        },
    })
}

/// The message's type, which steers statuses (an A03 finishes an encounter).
#[derive(Debug)]
struct Event {
    code: String,
    trigger: String,
}

/// Whether a segment after a TXA still belongs to its document: MDM's
/// document group is TXA, CON, then OBX with PRT and NTE. Any other segment
/// ends the document, so results after a stray TXA (seen in ORU and OUL)
/// stay results. Z-segments may sit anywhere and do not end it.
fn in_document(id: &str) -> bool {
    matches!(id, "CON" | "OBX" | "PRT" | "NTE") || id.starts_with('Z')
}

/// The running state of one message's mapping.
struct Mapper<'a> {
    zone: LocalZone,
    /// The sender's local coding-system names.
    local_codes: LocalCodeSystems,
    /// Coding-system names already reported as unknown (one warning each).
    unknown_systems: Vec<String>,
    event: Event,
    bundle: TransactionBuilder<'a>,
    warnings: Vec<Warning>,
    patient: Option<EntryRef>,
    /// Whether `patient`'s PID has a usable identifier.
    patient_identified: bool,
    /// The reference to `patient`, written once for the resources about them.
    subject: Option<Json>,
    /// The first segment that would make a resource about the patient
    /// while there is no identified patient, with why: such a message is
    /// refused, as a clinical fact about nobody must not be written.
    patientless: Option<(Location, &'static str)>,
    encounter: Option<EntryRef>,
    /// The reference to `encounter`, written once.
    encounter_reference: Option<Json>,
    /// The `ServiceRequest` of the current ORC/OBR.
    order: Option<EntryRef>,
    /// Whether an OBR has filled in the current order already.
    order_has_obr: bool,
    /// The `DiagnosticReport` of the current OBR (result messages).
    report: Option<EntryRef>,
    /// The Specimen of the current SPM.
    specimen: Option<WrittenRef>,
    /// Whether that SPM followed an OBR, so belongs to that OBR's order.
    specimen_after_order: bool,
    /// The `DocumentReference` of a TXA (document messages).
    document: Option<EntryRef>,
    /// Where a following NTE is attached.
    note_target: Option<NoteTarget>,
    /// Practitioners and organisations already added, by identity key.
    people: Vec<(String, WrittenRef)>,
    /// The references to practitioners and organisations with an
    /// identifier, by resource type and the raw text they were read from:
    /// the same text gives the same reference without reading it again.
    known_references: Vec<(&'static str, &'a [u8], Json)>,
    /// Text lines of the document (OBX of a document message).
    document_text: Vec<String>,
    /// Appointments, which get the patient once the message is read.
    appointments: Vec<EntryRef>,
}

/// The resource the NTEs after a segment add their notes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NoteTarget {
    /// A resource kept as a tree, which each NTE adds to.
    Tree(EntryRef),
    /// A resource written with the notes of the NTEs after its segment
    /// already in it (see [`orders::notes_ahead`]): they add nothing more.
    Written(WrittenRef),
}

impl NoteTarget {
    fn resource_type(self, bundle: &TransactionBuilder<'_>) -> &'static str {
        match self {
            NoteTarget::Tree(entry) => bundle.resource_type(entry),
            NoteTarget::Written(entry) => bundle.resource_type(entry),
        }
    }
}

impl<'a> Mapper<'a> {
    fn warn(&mut self, location: Location, message: impl Into<String>) {
        self.warnings.push(Warning::new(location.to_string(), message));
    }

    /// Maps `segment`, which the segments `after` follow.
    fn segment(&mut self, segment: Segment<'_, 'a>, after: &[Segment<'_, 'a>]) {
        if self.document.is_some() && !in_document(segment.id()) {
            scheduling::close_document(self);
        }
        // Notes read ahead count on knowing which segments move the notes'
        // target without mapping them.
        let target = self.note_target;
        let moves_target = cfg!(debug_assertions) && orders::moves_note_target(self, segment);
        let used: &[usize] = match segment.id() {
            "MSH" => provenance::MSH_FIELDS,
            "EVN" => provenance::EVN_FIELDS,
            "PID" => patient::map_pid(self, segment),
            "PD1" => patient::map_pd1(self, segment),
            "NK1" => patient::map_nk1(self, segment),
            "MRG" => patient::map_mrg(self, segment),
            "PV1" => patient::map_pv1(self, segment),
            "PV2" => patient::map_pv2(self, segment),
            "AL1" => clinical::map_al1(self, segment, after),
            "DG1" => clinical::map_dg1(self, segment, after),
            "PR1" => clinical::map_pr1(self, segment, after),
            "IN1" => clinical::map_in1(self, segment),
            "ORC" => orders::map_orc(self, segment),
            "OBR" => orders::map_obr(self, segment),
            "OBX" => orders::map_obx(self, segment, after),
            "NTE" => orders::map_nte(self, segment),
            "SPM" => specimen::map_spm(self, segment, after),
            "TXA" => scheduling::map_txa(self, segment),
            "SCH" => scheduling::map_sch(self, segment),
            "RXA" => clinical::map_rxa(self, segment, after),
            id => {
                let what = if id.starts_with('Z') {
                    "site-defined Z-segment"
                } else {
                    "segment"
                };
                let fields = segment.fields().count();
                self.warn(
                    segment.location(),
                    format!("{what} not mapped ({fields} non-empty fields)"),
                );
                return;
            }
        };
        debug_assert!(
            self.note_target == target || moves_target,
            "{} moved the notes' target unforeseen",
            segment.location()
        );
        for (n, _) in segment.fields() {
            if !used.contains(&n) {
                self.warn(segment.location().with_field(n), "field not mapped");
            }
        }
    }

    /// The reference to the patient, for a resource that is not about the
    /// patient's care (a contact person) and can do without.
    fn subject(&self) -> Option<Json> {
        self.subject.clone()
    }

    /// The patient reference a resource about the patient, made from the
    /// segment at `location`, needs. Without an identified patient (no PID
    /// before the segment, or one without a usable identifier) the message
    /// is refused once it is read (see [`to_fhir`]), whatever its event:
    /// this notes the first such segment.
    fn subject_of(&mut self, location: Location) -> Option<Json> {
        if self.patientless.is_none() {
            let reason = if self.patient.is_none() {
                Some("no PID segment before the segments about the patient")
            } else if self.patient_identified {
                None
            } else {
                Some("no usable patient identifier in PID-3 (or PID-2, PID-4)")
            };
            self.patientless = reason.map(|reason| (location, reason));
        }
        self.subject.clone()
    }

    /// The reference to the visit, for the resources made during it.
    fn encounter_ref(&self) -> Option<Json> {
        self.encounter_reference.clone()
    }

    fn is(&self, code: &str) -> bool {
        self.event.code == code
    }
}
