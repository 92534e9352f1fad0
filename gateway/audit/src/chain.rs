//! The hash chain: record n carries SHA-256(hash of record n-1 ‖ its event
//! text), record 1 chains from 32 zero bytes. Records are numbered from 1
//! without gaps, so a removed, inserted or moved record breaks the chain at
//! a place [`verify`] can name.

use sha2::{Digest, Sha256};

/// A record's hash.
pub type Hash = [u8; 32];

/// What record 1 chains from.
pub const GENESIS: Hash = [0; 32];

/// The hash of a record with `event` after a record with hash `previous`.
pub fn link(previous: &Hash, event: &str) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(previous);
    hasher.update(event.as_bytes());
    hasher.finalize().into()
}

/// One stored record, as read back for checking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Its number, from 1.
    pub sequence: i64,
    /// The hash it says the previous record has.
    pub previous: Vec<u8>,
    /// Its own hash as stored.
    pub hash: Vec<u8>,
    /// The event text (FHIR AuditEvent JSON).
    pub event: String,
}

/// Where and how the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// The first record that does not check out (or, for a missing tail, the
    /// number expected).
    pub sequence: i64,
    /// Why.
    pub reason: &'static str,
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "record {}: {}", self.sequence, self.reason)
    }
}

/// Where a chain starts: record 1 after [`GENESIS`], or, once old records
/// were purged, after the last purged record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Start {
    /// The number of the last record before the chain (0: none).
    pub sequence: i64,
    /// Its hash.
    pub hash: Hash,
}

impl Default for Start {
    fn default() -> Self {
        Self {
            sequence: 0,
            hash: GENESIS,
        }
    }
}

/// Checks records in storage order from the start; how many were checked
/// when intact.
pub fn verify(records: impl IntoIterator<Item = Record>) -> Result<u64, Broken> {
    verify_from(Start::default(), records)
}

/// Checks records in storage order from `start`.
pub fn verify_from(start: Start, records: impl IntoIterator<Item = Record>) -> Result<u64, Broken> {
    let mut previous = start.hash;
    let mut count = 0;
    for (expected, record) in (start.sequence + 1..).zip(records) {
        if record.sequence != expected {
            let reason = if record.sequence > expected {
                "records before it are missing"
            } else {
                "out of order or duplicated"
            };
            return Err(Broken {
                sequence: expected.min(record.sequence),
                reason,
            });
        }
        if record.previous != previous {
            return Err(Broken {
                sequence: record.sequence,
                reason: "does not follow the record before it (inserted, removed or moved)",
            });
        }
        let hash = link(&previous, &record.event);
        if record.hash != hash {
            return Err(Broken {
                sequence: record.sequence,
                reason: "its content was changed",
            });
        }
        previous = hash;
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(events: &[&str]) -> Vec<Record> {
        let mut previous = GENESIS;
        events
            .iter()
            .enumerate()
            .map(|(i, event)| {
                let hash = link(&previous, event);
                let record = Record {
                    sequence: i64::try_from(i).unwrap() + 1,
                    previous: previous.to_vec(),
                    hash: hash.to_vec(),
                    event: (*event).to_owned(),
                };
                previous = hash;
                record
            })
            .collect()
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(verify(chain(&["a", "b", "c"])), Ok(3));
        assert_eq!(verify(Vec::new()), Ok(0));
    }

    #[test]
    fn a_changed_field_is_found() {
        let mut records = chain(&["a", "b", "c"]);
        records[1].event = "B".into();
        assert_eq!(
            verify(records).unwrap_err(),
            Broken {
                sequence: 2,
                reason: "its content was changed"
            }
        );
    }

    #[test]
    fn a_deleted_record_is_found() {
        let mut records = chain(&["a", "b", "c"]);
        records.remove(1);
        assert_eq!(verify(records).unwrap_err().sequence, 2);
        // Renumbered to hide the gap: the link no longer fits.
        let mut records = chain(&["a", "b", "c"]);
        records.remove(1);
        records[1].sequence = 2;
        assert_eq!(verify(records).unwrap_err().sequence, 2);
    }

    #[test]
    fn swapped_records_are_found() {
        let mut records = chain(&["a", "b", "c"]);
        records.swap(1, 2);
        assert_eq!(verify(records).unwrap_err().sequence, 2);
        let mut records = chain(&["a", "b", "c"]);
        records.swap(1, 2);
        records[1].sequence = 2;
        records[2].sequence = 3;
        assert_eq!(verify(records).unwrap_err().sequence, 2);
    }

    #[test]
    fn a_purged_prefix_verifies_from_its_checkpoint() {
        let records = chain(&["a", "b", "c", "d"]);
        let start = Start {
            sequence: 2,
            hash: records[1].hash.clone().try_into().unwrap(),
        };
        assert_eq!(verify_from(start, records[2..].to_vec()), Ok(2));
        assert_eq!(verify(records[2..].to_vec()).unwrap_err().sequence, 1);
    }

    #[test]
    fn an_inserted_record_is_found() {
        let mut records = chain(&["a", "b", "c"]);
        let forged = Record {
            sequence: 2,
            previous: records[0].hash.clone(),
            hash: link(&GENESIS, "x").to_vec(),
            event: "x".into(),
        };
        records.insert(1, forged);
        for (i, r) in records.iter_mut().enumerate() {
            r.sequence = i64::try_from(i).unwrap() + 1;
        }
        assert_eq!(verify(records).unwrap_err().sequence, 2);
    }
}
