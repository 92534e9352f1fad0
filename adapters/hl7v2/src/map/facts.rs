//! What routing needs to know about a message, read without converting it:
//! sender, message id, event, and the patient's GP.

use zorgpoort_model::systems::{self, is_valid_bsn};

use super::datatypes::identifier_system;
use crate::error::{Error, ErrorKind};
use crate::message::{Message, Segment};
use crate::types::{Cx, Xcn, Xon};

/// The routing facts of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingFacts {
    /// MSH-3 and MSH-4 namespaces joined with `/`, such as `HIS/RIJNSTATE`.
    pub sender: String,
    /// MSH-10.
    pub control_id: String,
    /// MSH-9.1 and MSH-9.2 joined with `^`, such as `ADT^A03`.
    pub event: String,
    /// AGB codes of the patient's GP and GP practice (PD1-4, PD1-3).
    pub general_practitioner_agb: Vec<String>,
    /// The patient's BSN from PID-3, when one passes the 11-check.
    pub patient_bsn: Option<String>,
    /// The BSNs of further PIDs' patients, in order: a message about several
    /// patients, which a gateway refuses and audits for each of them.
    pub further_patient_bsns: Vec<String>,
}

impl RoutingFacts {
    /// Whether any PID names its patient by BSN (a refusal is then audited
    /// for each of them).
    pub fn names_a_patient(&self) -> bool {
        self.patient_bsn.is_some() || !self.further_patient_bsns.is_empty()
    }
}

/// Reads the routing facts; MSH-9 and MSH-10 are required.
pub fn routing_facts(message: &Message<'_>) -> Result<RoutingFacts, Error> {
    let msh = message.msh();
    let required = |n: usize| {
        msh.field(n)
            .text_of(1)
            .ok_or_else(|| Error::at(msh.location().with_field(n), ErrorKind::MissingField))
    };
    let code = required(9)?;
    let control_id = required(10)?.into_owned();
    let event = match msh.field(9).text_of(2) {
        Some(trigger) => format!("{code}^{trigger}"),
        None => code.into_owned(),
    };
    let sender = [msh.field(3).text_of(1), msh.field(4).text_of(1)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("/");
    let mut general_practitioner_agb = Vec::new();
    if let Some(pd1) = message.segment("PD1") {
        for rep in pd1.field(4).repetitions() {
            let xcn = Xcn::read(rep);
            if identifier_system(&xcn.authority, xcn.type_code.as_deref()).as_deref() == Some(systems::AGB) {
                general_practitioner_agb.extend(xcn.id.map(std::borrow::Cow::into_owned));
            }
        }
        for rep in pd1.field(3).repetitions() {
            let xon = Xon::read(rep);
            if identifier_system(&xon.authority, xon.type_code.as_deref()).as_deref() == Some(systems::AGB) {
                general_practitioner_agb.extend(xon.identifier().map(str::to_owned));
            }
        }
    }
    let bsn_of = |pid: Segment<'_, '_>| {
        pid.field(3).repetitions().map(Cx::read).find_map(|cx| {
            let is_bsn = identifier_system(&cx.authority, cx.type_code.as_deref()).as_deref() == Some(systems::BSN);
            cx.id
                .filter(|id| is_bsn && is_valid_bsn(id))
                .map(std::borrow::Cow::into_owned)
        })
    };
    let mut pids = message.segments().filter(|segment| segment.id() == "PID");
    let patient_bsn = pids.next().and_then(bsn_of);
    let further_patient_bsns = pids.filter_map(bsn_of).collect();
    Ok(RoutingFacts {
        sender,
        control_id,
        event,
        general_practitioner_agb,
        patient_bsn,
        further_patient_bsns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Limits;

    #[test]
    fn facts_of_an_admission_with_a_gp() {
        let raw = b"MSH|^~\\&|HIS|RIJNSTATE|||20260101||ADT^A03^ADT_A03|M7|P|2.5\rPID|1||12^^^X^PI~999911120^^^NLMINBIZA^NNNLD\rPD1|||Praktijk^^^^^VEKTIS^^^^01000001|01123456^Smit^P^^^^^^VEKTIS^L^^^AGB\r";
        let message = Message::parse(raw, &Limits::default()).unwrap();
        let facts = routing_facts(&message).unwrap();
        assert_eq!(facts.sender, "HIS/RIJNSTATE");
        assert_eq!(facts.control_id, "M7");
        assert_eq!(facts.event, "ADT^A03");
        assert_eq!(facts.general_practitioner_agb, ["01123456", "01000001"]);
        assert_eq!(facts.patient_bsn.as_deref(), Some("999911120"));
    }
}
