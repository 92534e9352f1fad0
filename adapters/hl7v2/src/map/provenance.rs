//! MSH and EVN: one Provenance per Bundle naming the source system, the
//! message id and the event, and pointing at every resource made.

use std::borrow::Cow;

use zorgpoort_model::systems::hl7;
use zorgpoort_model::{FullUrl, Object};

use super::Mapper;
use super::datatypes::{absent, coded};
use crate::error::{Error, ErrorKind};
use crate::message::{Message, Segment};
use crate::types::Hd;

/// The sending application and facility (MSH-3, MSH-4) as a Provenance
/// agent, with its text for displays.
fn sending_system<'a>(m: &mut Mapper<'a>, msh: Segment<'_, 'a>) -> (Object<'a>, String) {
    let facility = Hd::from_field(msh.field(4));
    let application = msh.field(3).text_of(1);
    let display = [application.as_deref(), facility.namespace.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" / ");
    let location = msh.location().with_field(4);
    let system = m
        .identifier_system(&facility, None, facility.universal_id.as_deref(), location)
        .unwrap_or_default();
    let identifier = facility.universal_id.filter(|_| system.is_some()).map(|id| {
        Object::new()
            .with("system", system.map(Cow::into_owned))
            .with("value", id)
    });
    let agent = Object::new()
        .with("identifier", identifier)
        .with("display", (!display.is_empty()).then(|| display.clone()));
    let agent = if agent.is_empty() {
        Object::new().with("display", "unknown sending system")
    } else {
        agent
    };
    (agent, display)
}

/// MSH fields the mapping uses or that only steer the exchange itself
/// (sequence number, continuation, acknowledgement types, country, language).
pub(super) const MSH_FIELDS: &[usize] = &[1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19];
/// EVN fields the mapping uses.
pub(super) const EVN_FIELDS: &[usize] = &[1, 2, 4, 5, 6];

fn activity(code: &str, trigger: &str) -> &'static str {
    match (code, trigger) {
        (_, "A08" | "A31" | "A13" | "T02" | "S14") => "UPDATE",
        (_, "A11" | "A12" | "A38" | "S15") => "NULLIFY",
        _ => "CREATE",
    }
}

pub(super) fn map<'a>(m: &mut Mapper<'a>, message: &Message<'a>) -> Result<(), Error> {
    let msh = message.msh();
    let targets: Vec<FullUrl> = m.bundle.entries().map(|e| m.bundle.full_url(e)).collect();
    if targets.is_empty() {
        return Err(Error::new(ErrorKind::NothingToConvert));
    }
    let evn = message.segment("EVN");
    // Provenance.recorded is an instant; a day-precision MSH-7 counts from its start.
    let mut recorded = m.timestamp(msh.field(7)).map(|t| t.to_fhir_instant(m.zone));
    if recorded.is_none() {
        recorded = evn.and_then(|e| m.instant(e.field(2)));
    }
    // It is also required: without a readable time it says why it is absent.
    let recorded_absent = recorded.is_none().then(|| {
        let empty = msh.field(7).is_empty() && evn.is_none_or(|e| e.field(2).is_empty());
        m.warn(
            msh.location().with_field(7),
            "no readable message time (MSH-7 or EVN-2): Provenance.recorded is marked absent",
        );
        absent(if empty { "unknown" } else { "error" })
    });
    let occurred = evn.and_then(|e| m.datetime(e.field(6)).or_else(|| m.datetime(e.field(2))));
    let (source, source_display) = sending_system(m, msh);
    let enterer = evn
        .and_then(|e| e.field(5).repetitions().next())
        .and_then(|r| m.practitioner(r));
    let control_id = msh.field(10).text_of(1);
    let kind = [msh.field(9).text_of(1), msh.field(9).text_of(2)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("^");
    let mut display = format!("HL7 v2 {kind} message {}", control_id.as_deref().unwrap_or_default());
    if !source_display.is_empty() {
        display.push_str(" from ");
        display.push_str(&source_display);
    }
    let reason = evn.and_then(|e| m.concept(e.field(4)));
    let activity_code = activity(&m.event.code, &m.event.trigger);
    let participant = |code: &'static str| coded(hl7::PROVENANCE_PARTICIPANT_TYPE, code);
    let mut provenance = m.bundle.writer("Provenance", "MSH");
    provenance
        .fields()
        .array("target", |items| {
            for target in &targets {
                items.object(|reference| {
                    reference.field("reference", target.as_str());
                });
            }
        })
        .field("occurredDateTime", occurred)
        .field("recorded", recorded)
        .field("_recorded", recorded_absent)
        .list_item("reason", reason)
        .object("activity", coded(hl7::V3_DATA_OPERATION, activity_code))
        .array("agent", |agents| {
            agents.object(|agent| {
                agent.object("type", participant("author")).field("who", source);
            });
            if let Some(enterer) = enterer {
                agents.object(|agent| {
                    agent.object("type", participant("enterer")).field("who", enterer);
                });
            }
        })
        .list("entity", |entity| {
            entity.field("role", "source").object("what", |what| {
                what.object("identifier", |identifier| {
                    identifier.field("value", control_id);
                })
                .field("display", display);
            });
        });
    provenance.finish();
    Ok(())
}
