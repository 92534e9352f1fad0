//! The conversion's output does not change unnoticed: every public corpus
//! message, every fixture (and fuzzing regression) and 5,000 synthetic
//! messages are converted, and the SHA-256 of each Bundle's JSON with its
//! warnings (or of the error refusing the message) is compared with the
//! list in `tests/golden/bundles.sha256`, one line per message: its name
//! and the hash.
//!
//! When the hashes differ, the test writes the list the code makes now to
//! `tests/golden/bundles.sha256.new`, names the messages that differ, and
//! fails. A change meant to alter the output is accepted by replacing the
//! list with the new one (`mv tests/golden/bundles.sha256.new
//! tests/golden/bundles.sha256`, from `adapters/hl7v2`) and committing it
//! with that change; a change that should not alter the output (such as a
//! faster way to write the same JSON) must leave the list as it is.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use common::{convert_bytes, corpora, corpus_messages, files, fixtures};
use sha2::{Digest as _, Sha256};
use zorgpoort_hl7v2::synthetic::Generator;

/// The seed of the synthetic messages.
const SEED: u64 = 20;
/// How many synthetic messages are converted.
const SYNTHETIC: usize = 5_000;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// The hash of what converting `bytes` gives, one per message in them:
/// the Bundle's JSON and each warning on a line of its own, or the error.
fn hashes(bytes: &[u8]) -> Vec<String> {
    convert_bytes(bytes)
        .into_iter()
        .map(|result| {
            let mut hash = Sha256::new();
            match result {
                Ok(converted) => {
                    hash.update(converted.json.as_bytes());
                    for warning in &converted.warnings {
                        hash.update(format!("\n{}\t{}", warning.location, warning.message).as_bytes());
                    }
                }
                Err(error) => hash.update(format!("error: {error}").as_bytes()),
            }
            hash.finalize().iter().fold(String::with_capacity(64), |mut hex, b| {
                let _ = write!(hex, "{b:02x}");
                hex
            })
        })
        .collect()
}

/// Adds the lines of the messages in `path`, named by its path under `root`
/// (with `#n` for the n-th message of a file holding more than one).
fn add_file(lines: &mut Vec<String>, root: &Path, prefix: &str, path: &Path) {
    let name = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
    let hashes = hashes(&std::fs::read(path).unwrap());
    let many = hashes.len() > 1;
    for (n, hash) in hashes.into_iter().enumerate() {
        let suffix = if many { format!("#{}", n + 1) } else { String::new() };
        lines.push(format!("{prefix}{name}{suffix} {hash}"));
    }
}

/// The list as the code makes it now.
fn current() -> String {
    let mut lines = Vec::new();
    let corpora = corpora();
    for path in corpus_messages() {
        add_file(&mut lines, &corpora, "corpora/", &path);
    }
    let fixtures = fixtures();
    for path in files(&fixtures, &[".hl7"]) {
        add_file(&mut lines, &fixtures, "fixtures/", &path);
    }
    let regressions = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    for path in files(&regressions, &[".hl7"]) {
        add_file(&mut lines, &regressions, "regressions/", &path);
    }
    let mut generator = Generator::new(SEED);
    for n in 1..=SYNTHETIC {
        let [hash] = hashes(generator.next_message().as_bytes()).try_into().unwrap();
        lines.push(format!("synthetic/{SEED}/{n:05} {hash}"));
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

#[test]
fn bundles_are_byte_identical_to_the_golden_list() {
    let dir = golden_dir();
    let expected_path = dir.join("bundles.sha256");
    let new_path = dir.join("bundles.sha256.new");
    let actual = current();
    let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
    if actual == expected {
        // A list left from an earlier failure would be taken for a current one.
        let _ = std::fs::remove_file(&new_path);
        return;
    }
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(&new_path, &actual).unwrap();
    let split = |text: &str| -> Vec<(String, String)> {
        text.lines()
            .filter_map(|line| line.rsplit_once(' '))
            .map(|(name, hash)| (name.to_owned(), hash.to_owned()))
            .collect()
    };
    let (old, new) = (split(&expected), split(&actual));
    let (old_by_name, new_by_name): (HashMap<_, _>, HashMap<_, _>) = (
        old.iter().map(|(n, h)| (n.as_str(), h.as_str())).collect(),
        new.iter().map(|(n, h)| (n.as_str(), h.as_str())).collect(),
    );
    let names = |list: &[(String, String)], keep: &dyn Fn(&str, &str) -> bool| -> Vec<String> {
        list.iter()
            .filter(|(n, h)| keep(n, h))
            .map(|(n, _)| n.clone())
            .collect()
    };
    let changed = names(&new, &|n, h| old_by_name.get(n).is_some_and(|old| *old != h));
    let added = names(&new, &|n, _| !old_by_name.contains_key(n));
    let removed = names(&old, &|n, _| !new_by_name.contains_key(n));
    let sample = |names: &[String]| names.iter().take(10).cloned().collect::<Vec<_>>().join(", ");
    panic!(
        "the output differs from {}: {} changed ({}), {} new ({}), {} gone ({}); the current list is in {} \
         (accept it with `mv tests/golden/bundles.sha256.new tests/golden/bundles.sha256` only when the change is meant)",
        expected_path.display(),
        changed.len(),
        sample(&changed),
        added.len(),
        sample(&added),
        removed.len(),
        sample(&removed),
        new_path.display(),
    );
}
