//! The head of the audit chain as a writer sees it inside its transaction,
//! and how the next record is linked to it: the same for every backend.

use zorgpoort_audit::AuditEvent;
use zorgpoort_audit::chain::{AuditKey, Entry, Hash, Start};

/// The last record of the audit chain, which the next one links to, with
/// what the next one needs: the key and the last anchor known.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChainHead<'k> {
    pub(crate) sequence: i64,
    pub(crate) hash: Hash,
    /// The last anchored record its writer (or the head's) knew of.
    pub(crate) anchored: i64,
    pub(crate) key: &'k AuditKey,
}

/// A record linked after the head, ready to be stored.
pub(crate) struct Linked {
    pub(crate) sequence: i64,
    /// The FHIR AuditEvent JSON.
    pub(crate) event: String,
    pub(crate) previous: Hash,
    pub(crate) hash: Hash,
    pub(crate) anchored: i64,
}

impl ChainHead<'_> {
    /// Links `event` after the head, MAC'd over every column, and moves the
    /// head on to it; a purge record (`purged`) names the checkpoint the
    /// purge left.
    pub(crate) fn link(&mut self, event: &AuditEvent, purged: Option<&Start>) -> Linked {
        let text = event.to_fhir();
        let sequence = self.sequence + 1;
        let hash = self.key.record_mac(&Entry {
            sequence,
            previous: &self.hash,
            recorded_ms: event.recorded_ms,
            patient: event.patient.as_deref(),
            organization: event.organization.as_deref(),
            event: &text,
            anchored: Some(self.anchored),
            purged: purged.map(|start| (start.sequence, start.hash.as_slice())),
        });
        let linked = Linked {
            sequence,
            event: text,
            previous: self.hash,
            hash,
            anchored: self.anchored,
        };
        self.sequence = sequence;
        self.hash = hash;
        linked
    }
}
