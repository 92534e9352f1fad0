//! What keeps the audit chain honest outside the database: the key that
//! MACs every record, and the anchor file to which the writer appends the
//! chain's head at intervals (and emits the same line as a log event, for a
//! log pipeline to ship off the host).
//!
//! The key is read here and never logged; the anchor lines hold sequence
//! numbers, MACs and times, never patient data.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use zorgpoort_audit::chain::{Anchor, AuditKey, Hash};
use zorgpoort_audit::verify::Anchors;

use crate::StoreError;

/// Where the chain's key and anchors are, and how often to anchor.
#[derive(Debug, Clone)]
pub struct AuditSettings {
    /// The key that MACs records and anchors.
    pub key: Arc<AuditKey>,
    /// The file anchors are appended to.
    pub anchor_file: PathBuf,
    /// Anchor at least once per this many records appended.
    pub anchor_every: u64,
    /// Anchor at most this long after a record was appended.
    pub anchor_interval: Duration,
}

impl AuditSettings {
    /// The key file's name in the data directory when none is configured.
    pub const DEFAULT_KEY_FILE: &str = "audit.key";
    /// The anchor file's name in the data directory when none is configured.
    pub const DEFAULT_ANCHOR_FILE: &str = "audit-anchors.jsonl";
    /// Default of [`AuditSettings::anchor_every`].
    pub const DEFAULT_ANCHOR_EVERY: u64 = 10_000;
    /// Default of [`AuditSettings::anchor_interval`].
    pub const DEFAULT_ANCHOR_INTERVAL: Duration = Duration::from_secs(60);

    /// `key`, anchoring to `anchor_file` at the default intervals.
    pub fn new(key: AuditKey, anchor_file: PathBuf) -> Self {
        Self {
            key: Arc::new(key),
            anchor_file,
            anchor_every: Self::DEFAULT_ANCHOR_EVERY,
            anchor_interval: Self::DEFAULT_ANCHOR_INTERVAL,
        }
    }

    /// The defaults for the database at `db`: the key `audit.key` beside it
    /// (created when absent) and the anchor file `audit-anchors.jsonl`
    /// beside it (for a database not named `zorgpoort.db`, the anchor file
    /// is named after it, so databases sharing a directory keep apart).
    pub fn beside(db: &Path) -> Result<Self, StoreError> {
        let dir = db.parent().unwrap_or(Path::new("."));
        let (key, _) = load_or_create_key(&dir.join(Self::DEFAULT_KEY_FILE))?;
        let name = db.file_name().and_then(|n| n.to_str()).unwrap_or("zorgpoort.db");
        let anchors = if name == "zorgpoort.db" {
            dir.join(Self::DEFAULT_ANCHOR_FILE)
        } else {
            dir.join(format!("{name}.{}", Self::DEFAULT_ANCHOR_FILE))
        };
        Ok(Self::new(key, anchors))
    }
}

fn key_error(path: &Path, reason: impl std::fmt::Display) -> StoreError {
    StoreError::AuditFile {
        what: "key file",
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

/// Reads the key in `path` (hex text of at least 64 digits, or at least 32
/// raw bytes).
pub fn load_key(path: &Path) -> Result<AuditKey, StoreError> {
    let contents = std::fs::read(path).map_err(|e| key_error(path, e))?;
    AuditKey::from_file_contents(&contents).map_err(|e| key_error(path, e))
}

/// Reads the key in `path`, or creates it there (32 random bytes as hex,
/// readable by the owner only) when there is no file; true when created.
pub fn load_or_create_key(path: &Path) -> Result<(AuditKey, bool), StoreError> {
    if path.exists() {
        return Ok((load_key(path)?, false));
    }
    let (key, hex) = AuditKey::generate().map_err(|e| key_error(path, e))?;
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(format!("{hex}\n").as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| key_error(path, e))?;
            Ok((key, true))
        }
        // Another process created it first: use that one.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok((load_key(path)?, false)),
        Err(e) => Err(key_error(path, e)),
    }
}

/// Reads the anchors in `paths` together, or in `configured` when `paths`
/// is empty; a file that is not there has no anchors.
pub(crate) fn read_anchors(paths: &[&Path], configured: &Path, key: &AuditKey) -> Result<Anchors, StoreError> {
    let paths = if paths.is_empty() { &[configured][..] } else { paths };
    let mut anchors = Anchors::new();
    for path in paths {
        anchors.next_file();
        let error = |e: std::io::Error| StoreError::AuditFile {
            what: "anchor file",
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(error(e)),
        };
        let mut reader = BufReader::new(file);
        let mut line = Vec::new();
        for number in 1.. {
            line.clear();
            if reader.read_until(b'\n', &mut line).map_err(error)? == 0 {
                break;
            }
            let terminated = line.last() == Some(&b'\n');
            anchors.add_line(key, number, &String::from_utf8_lossy(&line), terminated);
        }
    }
    Ok(anchors)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The writer's anchoring: which head is committed but not yet anchored,
/// and since when.
pub(crate) struct Anchoring {
    pub(crate) key: Arc<AuditKey>,
    file: PathBuf,
    every: u64,
    interval: Duration,
    /// The last record this writer anchored (0: none yet).
    last: i64,
    /// The committed head not yet anchored, and when it was first pending.
    pending: Option<(i64, Hash, Instant)>,
}

impl Anchoring {
    pub(crate) fn new(settings: &AuditSettings) -> Self {
        Self {
            key: Arc::clone(&settings.key),
            file: settings.anchor_file.clone(),
            every: settings.anchor_every.max(1),
            interval: settings.anchor_interval,
            // What this writer's records say until it anchors itself: the
            // latest anchor there is, so an anchor file later replaced by an
            // older copy is found even when every writer lived briefly.
            last: read_anchors(&[], &settings.anchor_file, &settings.key).map_or(0, |anchors| anchors.latest()),
            pending: None,
        }
    }

    /// The last record this writer anchored: what its next records say.
    pub(crate) fn last(&self) -> i64 {
        self.last
    }

    /// How long the writer may wait for work before an anchor is due.
    pub(crate) fn wait(&self) -> Duration {
        match &self.pending {
            Some((_, _, since)) => self.interval.saturating_sub(since.elapsed()),
            None => Duration::from_secs(3_600),
        }
    }

    /// A batch was committed with the chain's head at `sequence`; `appended`:
    /// this writer appended to it; `force`: anchor now (after a purge).
    pub(crate) fn committed(&mut self, sequence: i64, hash: Hash, appended: bool, force: bool) {
        if !(appended || force) || sequence <= 0 {
            return;
        }
        let since = self.pending.map_or_else(Instant::now, |(_, _, since)| since);
        self.pending = Some((sequence, hash, since));
        let behind = u64::try_from(sequence - self.last).unwrap_or(u64::MAX);
        if force || behind >= self.every || since.elapsed() >= self.interval {
            self.write();
        }
    }

    /// No work came for [`Anchoring::wait`]: anchor what is pending.
    pub(crate) fn idle(&mut self) {
        if self
            .pending
            .is_some_and(|(_, _, since)| since.elapsed() >= self.interval)
        {
            self.write();
        }
    }

    /// The writer stops (clean shutdown): anchor what is pending.
    pub(crate) fn finish(&mut self) {
        if self.pending.is_some() {
            self.write();
        }
    }

    fn write(&mut self) {
        let Some((sequence, hash, _)) = self.pending else {
            return;
        };
        let anchor = Anchor::new(&self.key, sequence, hash, now_ms());
        let line = anchor.to_line();
        // The log line goes out even when the file cannot be written: a log
        // pipeline that ships it off the host is the better anchor.
        tracing::info!(target: "zorgpoort::audit::anchor", anchor = %line, "audit anchor");
        let written = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.file)
            .and_then(|mut file| {
                // One write per line: concurrent writers (the gateway and an
                // admin command) never interleave within a line.
                file.write_all(format!("{line}\n").as_bytes())?;
                file.sync_data()
            });
        match written {
            Ok(()) => {
                self.last = sequence;
                self.pending = None;
            }
            Err(e) => {
                // Records go on being written; the anchor is tried again
                // after the next interval.
                tracing::error!(
                    file = %self.file.display(),
                    error = %e,
                    "cannot write the audit anchor; the chain head is not anchored"
                );
                self.pending = Some((sequence, hash, Instant::now()));
            }
        }
    }
}
