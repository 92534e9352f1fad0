//! Checking the chain as it streams past, against the anchors kept outside
//! the database. Memory does not grow with the number of records: the
//! [`Verifier`] keeps the previous chain value, a few counters, the anchors
//! not yet met, and at most [`MAX_LISTED`] problems.

use std::collections::{BTreeMap, BTreeSet};

use crate::chain::{Anchor, AuditKey, Hash, Record, Start, legacy_link};

/// At most this many problems are listed; all are counted.
pub const MAX_LISTED: usize = 1_000;

/// One thing wrong, and where: `sequence` is the record concerned (for an
/// anchor, the record it anchors; for an unreadable anchor line, 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// The record concerned.
    pub sequence: i64,
    /// What is wrong.
    pub problem: Problem,
}

/// What is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// Records `sequence..=to` are not there.
    Missing {
        /// The last missing record.
        to: i64,
    },
    /// Stored out of order or twice.
    OutOfOrder,
    /// Its `previous` is not the chain value of the record before it.
    Link,
    /// Its MAC does not match its content: a column was changed, or the
    /// record was written (or the chain rebuilt) without the key.
    Mac,
    /// A legacy (unkeyed) record whose hash does not match its event.
    LegacyHash,
    /// An anchor names this record with another chain value: it was
    /// changed, or the chain rebuilt.
    AnchorMismatch,
    /// An anchor names this record and it is not in the chain.
    AnchorNotInChain,
    /// An anchor names this record and the chain ends before it, at `head`:
    /// the tail was removed or the table emptied.
    Truncated {
        /// The chain's last record (or the purge checkpoint when none).
        head: i64,
    },
    /// The anchor line at `at` has a MAC that does not match.
    AnchorForged {
        /// Where the line is.
        at: LinePlace,
    },
    /// The line at `at` is not an anchor.
    AnchorUnreadable {
        /// Where the line is.
        at: LinePlace,
    },
    /// Two authentic anchors give this record different chain values.
    AnchorConflict,
    /// This record's writer had written an anchor for record `anchored`,
    /// and none of the anchor files has it: a file was replaced by an older
    /// one or truncated, is not this log's, or (several gateways on one
    /// database) the anchors of a gateway were not given.
    AnchorFileBehind {
        /// The anchored record the file lacks.
        anchored: i64,
    },
    /// The purge checkpoint (at `sequence`) is not the one the last keyed
    /// purge record names (`named`; `None` when no purge record names one).
    Checkpoint {
        /// What the last purge record names.
        named: Option<i64>,
    },
}

/// A line of one of the anchor files given to [`Anchors`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinePlace {
    /// Which file, 1-based, in the order they were read.
    pub file: usize,
    /// 1-based line number in that file.
    pub line: u64,
}

impl std::fmt::Display for LinePlace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "anchor file {} line {}", self.file, self.line)
    }
}

impl Problem {
    /// A short stable name, for scripts.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Missing { .. } => "missing",
            Self::OutOfOrder => "out-of-order",
            Self::Link => "link",
            Self::Mac => "mac",
            Self::LegacyHash => "legacy-hash",
            Self::AnchorMismatch => "anchor-mismatch",
            Self::AnchorNotInChain => "anchor-not-in-chain",
            Self::Truncated { .. } => "truncated",
            Self::AnchorForged { .. } => "anchor-forged",
            Self::AnchorUnreadable { .. } => "anchor-unreadable",
            Self::AnchorConflict => "anchor-conflict",
            Self::AnchorFileBehind { .. } => "anchor-file-behind",
            Self::Checkpoint { .. } => "checkpoint",
        }
    }
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let seq = self.sequence;
        let kind = self.problem.kind();
        match &self.problem {
            Problem::Missing { to } => write!(f, "records {seq}..{to} [{kind}]: not there (removed)"),
            Problem::OutOfOrder => write!(f, "record {seq} [{kind}]: stored out of order or twice"),
            Problem::Link => write!(
                f,
                "record {seq} [{kind}]: does not follow the record before it (inserted, removed or moved)"
            ),
            Problem::Mac => write!(
                f,
                "record {seq} [{kind}]: its MAC does not match (a column changed, or written without the audit key)"
            ),
            Problem::LegacyHash => write!(f, "record {seq} [{kind}]: unkeyed legacy record changed"),
            Problem::AnchorMismatch => write!(
                f,
                "record {seq} [{kind}]: differs from its anchor (changed, or the chain rebuilt)"
            ),
            Problem::AnchorNotInChain => write!(f, "record {seq} [{kind}]: anchored, but not in the chain"),
            Problem::Truncated { head } => write!(
                f,
                "record {seq} [{kind}]: anchored, but the chain ends at {head} (tail removed or table emptied)"
            ),
            Problem::AnchorForged { at } => write!(
                f,
                "{at}, record {seq} [{kind}]: its MAC does not match (forged or changed anchor)"
            ),
            Problem::AnchorUnreadable { at } => write!(f, "{at} [{kind}]: not an anchor"),
            Problem::AnchorConflict => write!(f, "record {seq} [{kind}]: two authentic anchors disagree"),
            Problem::AnchorFileBehind { anchored } => write!(
                f,
                "record {seq} [{kind}]: written after an anchor for record {anchored} that no anchor file given has \
                 (an anchor file replaced by an older one or truncated; or, with several gateways on one database, \
                 not every gateway's anchors given)"
            ),
            Problem::Checkpoint { named: None } => write!(
                f,
                "purge checkpoint at {seq} [{kind}]: no keyed purge record names it (forged checkpoint)"
            ),
            Problem::Checkpoint { named: Some(named) } => write!(
                f,
                "purge checkpoint at {seq} [{kind}]: the last purge record names {named} (forged checkpoint)"
            ),
        }
    }
}

/// The authentic anchors of one or more anchor files (several gateways on
/// one database each write their own), and what was wrong with the others.
#[derive(Debug, Default)]
pub struct Anchors {
    files: usize,
    by_sequence: BTreeMap<i64, Hash>,
    problems: Vec<Broken>,
    authentic: u64,
    latest: i64,
    torn_last_line: bool,
}

impl Anchors {
    /// No anchors.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts reading the next anchor file: the lines added after this are
    /// its lines.
    pub fn next_file(&mut self) {
        self.files += 1;
    }

    /// Reads line `number` (1-based) of the current anchor file.
    /// `terminated`: it ended with a newline; an unreadable last line
    /// without one is taken for a write cut short by a crash, not a problem.
    pub fn add_line(&mut self, key: &AuditKey, number: u64, line: &str, terminated: bool) {
        if line.trim().is_empty() {
            return;
        }
        let at = LinePlace {
            file: self.files.max(1),
            line: number,
        };
        let Some(anchor) = Anchor::parse(line.trim()) else {
            if terminated {
                self.problems.push(Broken {
                    sequence: 0,
                    problem: Problem::AnchorUnreadable { at },
                });
            } else {
                self.torn_last_line = true;
            }
            return;
        };
        if !anchor.is_authentic(key) {
            self.problems.push(Broken {
                sequence: anchor.sequence,
                problem: Problem::AnchorForged { at },
            });
            return;
        }
        self.authentic += 1;
        self.latest = self.latest.max(anchor.sequence);
        let known = self.by_sequence.insert(anchor.sequence, anchor.hash);
        if known.is_some_and(|known| known != anchor.hash) {
            self.problems.push(Broken {
                sequence: anchor.sequence,
                problem: Problem::AnchorConflict,
            });
        }
    }

    /// The highest anchored record (0: none).
    pub fn latest(&self) -> i64 {
        self.latest
    }
}

/// What [`Verifier::finish`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verification {
    /// Records checked.
    pub records: u64,
    /// The purge checkpoint the chain starts after (0: none).
    pub start: i64,
    /// The last record (or `start` when there is none).
    pub head: i64,
    /// The first and last unkeyed legacy record seen (written before the
    /// chain was keyed), if any.
    pub legacy: Option<(i64, i64)>,
    /// The purge checkpoint dates from before the key and is named by no
    /// keyed purge record (accepted, with less assurance).
    pub legacy_checkpoint: bool,
    /// Authentic anchors read.
    pub anchors: u64,
    /// Anchors whose record was found with the anchored chain value.
    pub anchors_checked: u64,
    /// Anchors of records removed by a purge (not checkable).
    pub anchors_before_checkpoint: u64,
    /// The highest anchored record.
    pub latest_anchor: i64,
    /// An anchor file's last line was cut short (a crash while writing it).
    pub torn_anchor_line: bool,
    /// The first [`MAX_LISTED`] problems, in the order found.
    pub problems: Vec<Broken>,
    /// All problems.
    pub problem_count: u64,
}

impl Verification {
    /// No problem found.
    pub fn is_intact(&self) -> bool {
        self.problem_count == 0
    }

    fn report(&mut self, broken: Broken) {
        self.problem_count += 1;
        if self.problems.len() < MAX_LISTED {
            self.problems.push(broken);
        }
    }
}

/// Checks records one at a time, in sequence order.
#[derive(Debug)]
pub struct Verifier<'k> {
    key: &'k AuditKey,
    start: Start,
    legacy_through: i64,
    must_reach: i64,
    unmet: BTreeMap<i64, Hash>,
    known: BTreeSet<i64>,
    expected: i64,
    previous: Hash,
    last_purge: Option<(i64, Vec<u8>)>,
    behind_reported: i64,
    report: Verification,
}

impl<'k> Verifier<'k> {
    /// A verifier for a chain that starts after `start` (the purge
    /// checkpoint), whose records up to `legacy_through` predate the key,
    /// checked against `anchors`. `must_reach`: the highest anchored record
    /// known before the records were read; the chain must reach it (anchors
    /// written later may name records the read did not see).
    pub fn new(key: &'k AuditKey, start: Start, legacy_through: i64, anchors: Anchors, must_reach: i64) -> Self {
        let mut report = Verification {
            start: start.sequence,
            head: start.sequence,
            anchors: anchors.authentic,
            latest_anchor: anchors.latest,
            torn_anchor_line: anchors.torn_last_line,
            ..Verification::default()
        };
        for broken in anchors.problems {
            report.report(broken);
        }
        Self {
            key,
            start,
            legacy_through,
            must_reach,
            known: anchors.by_sequence.keys().copied().collect(),
            unmet: anchors.by_sequence,
            expected: start.sequence + 1,
            previous: start.hash,
            last_purge: None,
            behind_reported: 0,
            report,
        }
    }

    fn problem(&mut self, sequence: i64, problem: Problem) {
        self.report.report(Broken { sequence, problem });
    }

    /// Checks the next record.
    pub fn push(&mut self, record: &Record) {
        let sequence = record.sequence;
        if sequence < self.expected {
            self.problem(sequence, Problem::OutOfOrder);
            return;
        }
        let follows = sequence == self.expected;
        if !follows {
            self.problem(self.expected, Problem::Missing { to: sequence - 1 });
        }
        self.expected = sequence + 1;
        self.report.records += 1;
        self.report.head = sequence;
        // After a gap the link is already reported as missing records.
        if follows && record.previous != self.previous {
            self.problem(sequence, Problem::Link);
        }
        let stored = Hash::try_from(record.hash.as_slice()).ok();
        if sequence <= self.legacy_through {
            let (first, _) = self.report.legacy.unwrap_or((sequence, sequence));
            self.report.legacy = Some((first, sequence));
            let hash = Hash::try_from(record.previous.as_slice())
                .ok()
                .map(|previous| legacy_link(&previous, &record.event));
            if hash.is_none() || hash != stored {
                self.problem(sequence, Problem::LegacyHash);
            }
        } else if stored != Some(self.key.record_mac(&record.entry())) {
            self.problem(sequence, Problem::Mac);
        } else {
            // Only an authentic record's claims count.
            let anchored = record.anchored.unwrap_or(0);
            if anchored > 0 && !self.known.contains(&anchored) && anchored != self.behind_reported {
                self.behind_reported = anchored;
                self.problem(sequence, Problem::AnchorFileBehind { anchored });
            }
            if let Some(purged) = &record.purged {
                self.last_purge = Some(purged.clone());
            }
        }
        if let Some(anchored) = self.unmet.remove(&sequence) {
            if stored == Some(anchored) {
                self.report.anchors_checked += 1;
            } else {
                self.problem(sequence, Problem::AnchorMismatch);
            }
        }
        // A malformed stored value breaks the next link, which is reported.
        self.previous = stored.unwrap_or([0xff; 32]);
    }

    /// Checks what only the whole can show (anchors past the end, the purge
    /// checkpoint) and reports.
    pub fn finish(mut self) -> Verification {
        let head = self.report.head;
        let start = self.start;
        let mut truncated = None;
        for (sequence, hash) in std::mem::take(&mut self.unmet) {
            if sequence < start.sequence {
                self.report.anchors_before_checkpoint += 1;
            } else if sequence == start.sequence {
                if hash == start.hash {
                    self.report.anchors_checked += 1;
                } else {
                    self.problem(sequence, Problem::AnchorMismatch);
                }
            } else if sequence > head {
                if sequence <= self.must_reach {
                    truncated = Some(sequence);
                }
            } else {
                self.problem(sequence, Problem::AnchorNotInChain);
            }
        }
        if let Some(sequence) = truncated {
            self.problem(sequence, Problem::Truncated { head });
        }
        match self.last_purge.take() {
            None if start.sequence == 0 => {}
            Some((sequence, hash)) if sequence == start.sequence && hash == start.hash => {}
            None if start.sequence <= self.legacy_through => self.report.legacy_checkpoint = true,
            named => self.problem(
                start.sequence,
                Problem::Checkpoint {
                    named: named.map(|(sequence, _)| sequence),
                },
            ),
        }
        self.report
    }
}

/// A chain with no checkpoint and no legacy records (tests, tools).
pub fn verify_all<'r>(key: &AuditKey, records: impl IntoIterator<Item = &'r Record>, anchors: Anchors) -> Verification {
    let must_reach = anchors.latest();
    let mut verifier = Verifier::new(key, Start::default(), 0, anchors, must_reach);
    for record in records {
        verifier.push(record);
    }
    verifier.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::GENESIS;

    fn key() -> AuditKey {
        AuditKey::new(&[5; 32]).unwrap()
    }

    /// `n` keyed records, anchored after every third.
    fn chain(key: &AuditKey, n: i64) -> (Vec<Record>, Vec<String>) {
        let mut previous = GENESIS;
        let mut anchored = 0;
        let mut records = Vec::new();
        let mut lines = Vec::new();
        for sequence in 1..=n {
            let mut record = Record {
                sequence,
                recorded_ms: sequence * 1_000,
                patient: Some("999911120".into()),
                organization: Some("vvt".into()),
                event: format!("{{\"n\":{sequence}}}"),
                previous: previous.to_vec(),
                anchored: Some(anchored),
                ..Record::default()
            };
            let mac = key.record_mac(&record.entry());
            record.hash = mac.to_vec();
            previous = mac;
            records.push(record);
            if sequence % 3 == 0 {
                lines.push(Anchor::new(key, sequence, mac, sequence).to_line());
                anchored = sequence;
            }
        }
        (records, lines)
    }

    fn anchors(key: &AuditKey, lines: &[String]) -> Anchors {
        let mut anchors = Anchors::new();
        for (i, line) in lines.iter().enumerate() {
            anchors.add_line(key, i as u64 + 1, line, true);
        }
        anchors
    }

    fn kinds(report: &Verification) -> Vec<(i64, &'static str)> {
        report.problems.iter().map(|b| (b.sequence, b.problem.kind())).collect()
    }

    #[test]
    fn an_intact_chain_verifies_with_its_anchors() {
        let key = key();
        let (records, lines) = chain(&key, 7);
        let report = verify_all(&key, &records, anchors(&key, &lines));
        assert!(report.is_intact(), "{:?}", report.problems);
        assert_eq!((report.records, report.head, report.anchors_checked), (7, 7, 2));
    }

    #[test]
    fn one_changed_record_is_one_problem() {
        let key = key();
        let (mut records, lines) = chain(&key, 7);
        records[4].patient = Some("999911121".into());
        let report = verify_all(&key, &records, anchors(&key, &lines));
        assert_eq!(kinds(&report), [(5, "mac")]);
    }

    #[test]
    fn a_cut_tail_and_an_older_anchor_file_are_found() {
        let key = key();
        let (records, lines) = chain(&key, 7);
        let report = verify_all(&key, &records[..4], anchors(&key, &lines));
        assert_eq!(kinds(&report), [(6, "truncated")]);
        let report = verify_all(&key, &records, anchors(&key, &lines[..1]));
        assert_eq!(kinds(&report), [(7, "anchor-file-behind")]);
    }

    #[test]
    fn the_anchors_of_several_writers_are_checked_together() {
        let key = key();
        let (records, lines) = chain(&key, 7);
        // Two gateways on one database: each wrote one of the anchors, and
        // the records after an anchor carry it whoever wrote them.
        let mut both = Anchors::new();
        for line in &lines {
            both.next_file();
            both.add_line(&key, 1, line, true);
        }
        let report = verify_all(&key, &records, both);
        assert!(report.is_intact(), "{:?}", report.problems);
        assert_eq!(report.anchors_checked, 2);
        let report = verify_all(&key, &records, anchors(&key, &lines[1..]));
        assert_eq!(kinds(&report), [(4, "anchor-file-behind")]);
    }

    #[test]
    fn forged_and_unreadable_anchor_lines_are_found() {
        let key = key();
        let (records, mut lines) = chain(&key, 7);
        lines.push(Anchor::new(&AuditKey::new(&[6; 32]).unwrap(), 7, [0; 32], 1).to_line());
        lines.push("not json".into());
        let report = verify_all(&key, &records, anchors(&key, &lines));
        assert_eq!(kinds(&report), [(7, "anchor-forged"), (0, "anchor-unreadable")]);
        assert_eq!(
            report.problems[1].to_string(),
            "anchor file 1 line 4 [anchor-unreadable]: not an anchor"
        );
        let mut torn = anchors(&key, &lines[..2]);
        torn.add_line(&key, 3, "{\"seq\":9,\"ha", false);
        let report = verify_all(&key, &records, torn);
        assert!(report.is_intact() && report.torn_anchor_line);
    }

    #[test]
    fn a_checkpoint_must_be_named_by_a_purge_record() {
        let key = key();
        let (records, lines) = chain(&key, 5);
        let start = Start {
            sequence: 2,
            hash: records[1].hash.clone().try_into().unwrap(),
        };
        let mut verifier = Verifier::new(&key, start, 0, anchors(&key, &lines), 3);
        for record in &records[2..] {
            verifier.push(record);
        }
        let report = verifier.finish();
        assert_eq!(kinds(&report), [(2, "checkpoint")]);
        // Up to the legacy boundary it is accepted, and said so.
        let mut verifier = Verifier::new(&key, start, 2, anchors(&key, &lines), 3);
        for record in &records[2..] {
            verifier.push(record);
        }
        let report = verifier.finish();
        assert!(report.is_intact() && report.legacy_checkpoint);
    }
}
