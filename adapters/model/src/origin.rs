//! Where a converted message came from, in the terms routing,
//! de-duplication and the audit log need: never patient data.

/// The sender and identity of one converted message or document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The sending system as the format names it (`APP/FACILITY` in HL7 v2,
    /// the UNB sender id in EDIFACT, the custodian's identifier in CDA).
    pub sender: String,
    /// The sender's id of this message, unique per sender: a resent message
    /// has the same one, so it is recognised as a duplicate.
    pub message_id: String,
    /// What kind of message it is (`ADT^A03`, `MEDLAB`, `CDA^18842-5`), for routing rules.
    pub event: String,
}
