//! The keyed chain: record n carries an HMAC-SHA256, under a key kept
//! outside the database, over a canonical encoding of every stored column of
//! record n, the MAC of record n-1 among them. Record 1 chains from 32 zero
//! bytes (or, once old records were purged, from the last purged record).
//!
//! What the MAC covers ([`Entry`]): the sequence number, the previous
//! record's MAC, the time, the patient, the organisation, the event text
//! (which holds action, outcome, data hash and size, purpose, consent rule),
//! the last anchor the writer had written, and for a purge record the
//! checkpoint it left. Each field is length-prefixed (or fixed-width) and
//! optional fields carry a presence byte, so no two different records have
//! the same encoding.
//!
//! Records written before the chain was keyed ("legacy") carry
//! SHA-256(previous ‖ event) instead; [`legacy_link`] checks them, and they
//! protect far less (see docs/audit-threat-model.md).

use ring::hmac;
use sha2::{Digest, Sha256};

/// A record's chain value: its MAC (keyed records) or hash (legacy ones).
pub type Hash = [u8; 32];

/// What record 1 chains from.
pub const GENESIS: Hash = [0; 32];

/// The fewest bytes of secret an audit key may have.
pub const MIN_KEY_BYTES: usize = 32;

/// The hash of a legacy (unkeyed) record with `event` after a record with
/// hash `previous`: how records were chained before the key.
pub fn legacy_link(previous: &Hash, event: &str) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(previous);
    hasher.update(event.as_bytes());
    hasher.finalize().into()
}

/// Why a key cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Fewer than [`MIN_KEY_BYTES`] bytes of secret.
    #[error("an audit key needs at least {MIN_KEY_BYTES} bytes of secret, this one has {0}")]
    TooShort(usize),
    /// The system's random source failed.
    #[error("no random bytes for a new audit key")]
    Random,
}

/// The secret that keys the chain and its anchors, and the one secret the
/// gateways of a region share. A key is derived from it per use, so a
/// record MAC can never pass for an anchor MAC or for anything else keyed
/// from it ([`AuditKey::derive`]). Its `Debug` never shows the secret.
pub struct AuditKey {
    master: hmac::Key,
    records: hmac::Key,
    anchors: hmac::Key,
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(secret)")
    }
}

impl AuditKey {
    /// A key from at least [`MIN_KEY_BYTES`] bytes of secret.
    pub fn new(secret: &[u8]) -> Result<Self, KeyError> {
        if secret.len() < MIN_KEY_BYTES {
            return Err(KeyError::TooShort(secret.len()));
        }
        let master = hmac::Key::new(hmac::HMAC_SHA256, secret);
        let derive = |label: &[u8]| hmac::Key::new(hmac::HMAC_SHA256, hmac::sign(&master, label).as_ref());
        Ok(Self {
            records: derive(b"zorgpoort audit record key v1"),
            anchors: derive(b"zorgpoort audit anchor key v1"),
            master,
        })
    }

    /// A key of its own for another use of the region's secret, named by
    /// `label` (which must not start with `zorgpoort audit`).
    pub fn derive(&self, label: &[u8]) -> hmac::Key {
        hmac::Key::new(hmac::HMAC_SHA256, hmac::sign(&self.master, label).as_ref())
    }

    /// A key from the contents of a key file: hex text (at least 64 hex
    /// digits, surrounding white space ignored) or else the raw bytes.
    pub fn from_file_contents(contents: &[u8]) -> Result<Self, KeyError> {
        let text = std::str::from_utf8(contents).map(str::trim).unwrap_or_default();
        match crate::unhex(text) {
            Some(secret) if secret.len() >= MIN_KEY_BYTES => Self::new(&secret),
            _ => Self::new(contents),
        }
    }

    /// A new random key, with the hex text to keep it in a key file.
    pub fn generate() -> Result<(Self, String), KeyError> {
        use ring::rand::SecureRandom as _;
        let mut secret = [0u8; MIN_KEY_BYTES];
        ring::rand::SystemRandom::new()
            .fill(&mut secret)
            .map_err(|_| KeyError::Random)?;
        Ok((Self::new(&secret)?, crate::hex(&secret)))
    }

    /// The MAC of a record: its chain value.
    pub fn record_mac(&self, entry: &Entry<'_>) -> Hash {
        let mut canon = Canon(hmac::Context::with_key(&self.records));
        canon.bytes(b"zorgpoort.audit.record.v1");
        canon.int(entry.sequence);
        canon.bytes(entry.previous);
        canon.int(entry.recorded_ms);
        canon.text(entry.patient);
        canon.text(entry.organization);
        canon.bytes(entry.event.as_bytes());
        canon.opt_int(entry.anchored);
        match entry.purged {
            None => canon.0.update(&[0]),
            Some((sequence, hash)) => {
                canon.0.update(&[1]);
                canon.int(sequence);
                canon.bytes(hash);
            }
        }
        canon.finish()
    }

    /// The MAC of an anchor.
    pub fn anchor_mac(&self, sequence: i64, hash: &Hash, time_ms: i64) -> Hash {
        let mut canon = Canon(hmac::Context::with_key(&self.anchors));
        canon.bytes(b"zorgpoort.audit.anchor.v1");
        canon.int(sequence);
        canon.bytes(hash);
        canon.int(time_ms);
        canon.finish()
    }
}

/// The canonical encoding, fed straight into the MAC (nothing allocated).
struct Canon(hmac::Context);

impl Canon {
    fn int(&mut self, value: i64) {
        self.0.update(&value.to_be_bytes());
    }

    fn bytes(&mut self, bytes: &[u8]) {
        self.0
            .update(&u64::try_from(bytes.len()).unwrap_or(u64::MAX).to_be_bytes());
        self.0.update(bytes);
    }

    fn text(&mut self, text: Option<&str>) {
        match text {
            None => self.0.update(&[0]),
            Some(text) => {
                self.0.update(&[1]);
                self.bytes(text.as_bytes());
            }
        }
    }

    fn opt_int(&mut self, value: Option<i64>) {
        match value {
            None => self.0.update(&[0]),
            Some(value) => {
                self.0.update(&[1]);
                self.int(value);
            }
        }
    }

    fn finish(self) -> Hash {
        let tag = self.0.sign();
        let mut hash = [0; 32];
        // HMAC-SHA256 tags are 32 bytes.
        hash.copy_from_slice(&tag.as_ref()[..32]);
        hash
    }
}

/// Everything a record's MAC covers: every column of the audit table but
/// the MAC itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Its number, from 1.
    pub sequence: i64,
    /// The chain value of the record before it.
    pub previous: &'a [u8],
    /// When (ms since the epoch).
    pub recorded_ms: i64,
    /// The patient's BSN, when the event names one.
    pub patient: Option<&'a str>,
    /// On behalf of which organisation.
    pub organization: Option<&'a str>,
    /// The FHIR AuditEvent JSON.
    pub event: &'a str,
    /// The sequence of the last anchor its writer knew of (0: none yet).
    /// `None` only in legacy records.
    pub anchored: Option<i64>,
    /// For a purge record: the checkpoint the purge left (the number and
    /// chain value of the last removed record; 0 and [`GENESIS`] when
    /// nothing was ever removed).
    pub purged: Option<(i64, &'a [u8])>,
}

/// One stored record, as read back for checking.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    /// Its number, from 1.
    pub sequence: i64,
    /// When (ms since the epoch).
    pub recorded_ms: i64,
    /// The patient's BSN.
    pub patient: Option<String>,
    /// The organisation.
    pub organization: Option<String>,
    /// The event text (FHIR AuditEvent JSON).
    pub event: String,
    /// The chain value it says the previous record has.
    pub previous: Vec<u8>,
    /// Its own chain value as stored.
    pub hash: Vec<u8>,
    /// See [`Entry::anchored`].
    pub anchored: Option<i64>,
    /// See [`Entry::purged`].
    pub purged: Option<(i64, Vec<u8>)>,
}

impl Record {
    /// What its MAC covers.
    pub fn entry(&self) -> Entry<'_> {
        Entry {
            sequence: self.sequence,
            previous: &self.previous,
            recorded_ms: self.recorded_ms,
            patient: self.patient.as_deref(),
            organization: self.organization.as_deref(),
            event: &self.event,
            anchored: self.anchored,
            purged: self.purged.as_ref().map(|(s, h)| (*s, h.as_slice())),
        }
    }
}

/// Where a chain starts: record 1 after [`GENESIS`], or, once old records
/// were purged, after the last purged record (the purge checkpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Start {
    /// The number of the last record before the chain (0: none).
    pub sequence: i64,
    /// Its chain value.
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

/// A checkpoint of the chain's head kept outside the database: record
/// `sequence` had chain value `hash` at `time_ms`, MAC'd with the anchor key.
/// One JSON line: `{"seq":N,"hash":"hex","time":ms,"mac":"hex"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// The anchored record.
    pub sequence: i64,
    /// Its chain value.
    pub hash: Hash,
    /// When the anchor was written (ms since the epoch).
    pub time_ms: i64,
    /// MAC over the rest.
    pub mac: Hash,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AnchorLine {
    seq: i64,
    hash: String,
    time: i64,
    mac: String,
}

impl Anchor {
    /// An anchor for record `sequence` with chain value `hash`, now.
    pub fn new(key: &AuditKey, sequence: i64, hash: Hash, time_ms: i64) -> Self {
        Self {
            sequence,
            hash,
            time_ms,
            mac: key.anchor_mac(sequence, &hash, time_ms),
        }
    }

    /// Its line in the anchor file and the log (no newline).
    pub fn to_line(&self) -> String {
        format!(
            r#"{{"seq":{},"hash":"{}","time":{},"mac":"{}"}}"#,
            self.sequence,
            crate::hex(&self.hash),
            self.time_ms,
            crate::hex(&self.mac)
        )
    }

    /// Reads a line written by [`Anchor::to_line`]; `None` when it is not one.
    pub fn parse(line: &str) -> Option<Self> {
        let line: AnchorLine = serde_json::from_str(line).ok()?;
        let fixed = |text: &str| crate::unhex(text).and_then(|b| Hash::try_from(b).ok());
        Some(Self {
            sequence: line.seq,
            hash: fixed(&line.hash)?,
            time_ms: line.time,
            mac: fixed(&line.mac)?,
        })
    }

    /// Whether it was written with `key` and not changed since.
    pub fn is_authentic(&self, key: &AuditKey) -> bool {
        key.anchor_mac(self.sequence, &self.hash, self.time_ms) == self.mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> AuditKey {
        AuditKey::new(&[7; 32]).unwrap()
    }

    fn entry<'a>(event: &'a str, patient: Option<&'a str>) -> Entry<'a> {
        Entry {
            sequence: 1,
            previous: &GENESIS,
            recorded_ms: 1_000,
            patient,
            organization: Some("vvt"),
            event,
            anchored: Some(0),
            purged: None,
        }
    }

    #[test]
    fn every_field_changes_the_mac() {
        let key = key();
        let base = entry("{}", Some("999911120"));
        let mac = key.record_mac(&base);
        let other = [1u8; 32];
        let changed = [
            Entry { sequence: 2, ..base },
            Entry {
                previous: &other,
                ..base
            },
            Entry {
                recorded_ms: 1_001,
                ..base
            },
            Entry { patient: None, ..base },
            Entry {
                patient: Some("999911121"),
                ..base
            },
            Entry {
                organization: None,
                ..base
            },
            Entry { event: "{ }", ..base },
            Entry { anchored: None, ..base },
            Entry {
                anchored: Some(1),
                ..base
            },
            Entry {
                purged: Some((0, &GENESIS)),
                ..base
            },
        ];
        for (i, entry) in changed.iter().enumerate() {
            assert_ne!(key.record_mac(entry), mac, "change {i}");
        }
        assert_eq!(key.record_mac(&base), mac);
        assert_ne!(AuditKey::new(&[8; 32]).unwrap().record_mac(&base), mac);
    }

    #[test]
    fn the_encoding_is_unambiguous() {
        // Moving bytes from one field to the next must change the MAC.
        let key = key();
        let a = Entry {
            patient: Some("ab"),
            organization: Some("c"),
            ..entry("x", None)
        };
        let b = Entry {
            patient: Some("a"),
            organization: Some("bc"),
            ..entry("x", None)
        };
        assert_ne!(key.record_mac(&a), key.record_mac(&b));
        let empty = Entry {
            patient: Some(""),
            ..entry("x", None)
        };
        assert_ne!(key.record_mac(&empty), key.record_mac(&entry("x", None)));
    }

    #[test]
    fn keys_are_checked_and_never_shown() {
        assert!(matches!(AuditKey::new(&[1; 31]), Err(KeyError::TooShort(31))));
        let (generated, hex) = AuditKey::generate().unwrap();
        assert_eq!(hex.len(), 64);
        assert!(!format!("{generated:?}").contains(&hex));
        let from_hex = AuditKey::from_file_contents(format!("{hex}\n").as_bytes()).unwrap();
        assert_eq!(
            from_hex.record_mac(&entry("e", None)),
            generated.record_mac(&entry("e", None))
        );
        assert!(AuditKey::from_file_contents(b"short").is_err());
    }

    #[test]
    fn anchors_round_trip_and_forgeries_fail() {
        let key = key();
        let anchor = Anchor::new(&key, 42, [3; 32], 1_700_000_000_000);
        let line = anchor.to_line();
        let read = Anchor::parse(&line).unwrap();
        assert_eq!(read, anchor);
        assert!(read.is_authentic(&key));
        let forged = Anchor { sequence: 43, ..read };
        assert!(!forged.is_authentic(&key));
        assert!(!anchor.is_authentic(&AuditKey::new(&[9; 32]).unwrap()));
        assert!(Anchor::parse("{\"seq\":1}").is_none());
    }
}
