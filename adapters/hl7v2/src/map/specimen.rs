//! SPM -> Specimen (zib LaboratoryTestResult.Specimen), referenced from the
//! order, the report and the results it belongs to.
//!
//! Where an SPM stands tells what it belongs to: in ORU and OML^O21 it
//! follows its OBR (and the results of that OBR), while the
//! specimen-centred messages (OUL, OML^O33 and O35) put it before the
//! orders taken on it. So in the first an SPM is the specimen of the OBR
//! before it, and the next OBR starts an order without one.

use std::borrow::Cow;

use zorgpoort_model::datatypes::profile_meta;
use zorgpoort_model::{Json, Object};

use super::orders::{notes_ahead, order_identifier};
use super::{Mapper, NoteTarget};
use crate::message::Segment;
use crate::types::Ei;

/// nl-core's profile for the specimen of a laboratory result.
const SPECIMEN: &str = "http://nictiz.nl/fhir/StructureDefinition/nl-core-LaboratoryTestResult.Specimen";

/// Whether this message sends specimens before their orders.
fn specimen_first(m: &Mapper<'_>) -> bool {
    m.is("OUL") || matches!(m.event.trigger.as_str(), "O33" | "O35")
}

/// SPM-17 (a DR: start and end) as `collectedDateTime` or, with an end,
/// `collectedPeriod`.
fn collection<'a>(m: &mut Mapper<'a>, spm: Segment<'_, 'a>) -> Object<'a> {
    let range = spm.field(17);
    let start = m.datetime(range.component(1));
    let end = m.datetime(range.component(2));
    let collection = match end {
        Some(end) => Object::new().with("collectedPeriod", Object::new().with("start", start).with("end", end)),
        None => Object::new().with("collectedDateTime", start),
    };
    collection
        .with("method", m.concept(spm.field(7)))
        .with("bodySite", m.concept(spm.field(8)))
}

pub(super) fn map_spm<'a>(m: &mut Mapper<'a>, spm: Segment<'_, 'a>, after: &[Segment<'_, 'a>]) -> &'static [usize] {
    let ids = spm.field(2);
    let identifiers: Vec<Object<'a>> = [
        order_identifier(
            m,
            Ei::from_component(ids.component(1)),
            "PLAC",
            ids.component(1).location(),
        ),
        order_identifier(
            m,
            Ei::from_component(ids.component(2)),
            "FILL",
            ids.component(2).location(),
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    let conditions: Vec<Object<'a>> = spm.field(24).repetitions().filter_map(|r| m.concept(r)).collect();
    let description = spm.field(14).text();
    let kind = m.concept(spm.field(4));
    let subject = m.subject_of(spm.location());
    let received = m.datetime(spm.field(18));
    let request = m
        .order
        .filter(|_| m.order_has_obr && !specimen_first(m))
        .map(|o| m.bundle.reference(o));
    let collection = collection(m, spm);
    // The NTEs after the SPM continue its description.
    let note = match (description, notes_ahead(m, "Specimen", after)) {
        (Some(description), Some(notes)) => Some(Cow::Owned(format!("{description}\n{notes}"))),
        (description, notes) => description.or(notes.map(Cow::Owned)),
    };
    let mut specimen = m.bundle.writer("Specimen", &format!("SPM/{}", spm.occurrence()));
    specimen
        .fields()
        .field("meta", profile_meta(SPECIMEN))
        .field("identifier", identifiers)
        .field("type", kind)
        .field("subject", subject)
        .field("receivedTime", received)
        .list_item("request", request)
        .field("collection", collection)
        .field("condition", conditions)
        .list("note", |n| {
            n.field("text", note);
        });
    let entry = specimen.finish();
    m.specimen = Some(entry);
    m.note_target = Some(NoteTarget::Written(entry));
    m.specimen_after_order = m.order_has_obr && !specimen_first(m);
    if !m.specimen_after_order {
        return USED;
    }
    let reference = m.bundle.reference(entry);
    if let Some(order) = m.order {
        m.bundle.resource_mut(order).push_to("specimen", reference.clone());
    }
    if let Some(report) = m.report {
        m.bundle.resource_mut(report).push_to("specimen", reference);
    }
    USED
}

/// The reference to the Specimen of the SPM among the segments `after` a
/// result of an OBR that belongs to that OBR's results: the first SPM
/// before the next ORC or OBR, when SPMs follow their OBR in this message.
pub(super) fn specimen_ahead(m: &Mapper<'_>, after: &[Segment<'_, '_>]) -> Option<Json> {
    if !m.order_has_obr || specimen_first(m) {
        return None;
    }
    let spm = after
        .iter()
        .take_while(|s| !matches!(s.id(), "ORC" | "OBR"))
        .find(|s| s.id() == "SPM")?;
    Some(
        m.bundle
            .planned_reference("Specimen", &format!("SPM/{}", spm.occurrence())),
    )
}

/// The SPM fields the mapping uses.
const USED: &[usize] = &[1, 2, 4, 7, 8, 14, 17, 18, 24];
