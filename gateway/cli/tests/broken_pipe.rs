//! Every command that writes to standard output, run with a standard output
//! whose reader has gone (as `zorgpoort audit export | head` leaves it): the
//! command ends quietly with its usual exit code, never a panic (exit 101).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The demo's patient, whose accesses the audit log holds.
const BSN: &str = "999993653";

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `zorgpoort args` with standard output a pipe whose read end is
/// closed before the command can write; returns its exit code and stderr.
fn with_stdout_closed(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zorgpoort"))
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Closed at once: the command is still starting, so its first write
    // already finds no reader.
    drop(child.stdout.take());
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            panic!("zorgpoort {args:?} did not finish within 90 s with its output closed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn assert_quiet(args: &[&str], expected: i32) {
    let (code, stderr) = with_stdout_closed(args);
    assert!(!stderr.contains("panicked"), "zorgpoort {args:?} panicked:\n{stderr}");
    assert!(
        !stderr.contains("Broken pipe"),
        "zorgpoort {args:?} complained:\n{stderr}"
    );
    assert_eq!(code, Some(expected), "zorgpoort {args:?}:\n{stderr}");
}

/// A gateway's store with audit records and deliveries: the demo's, kept.
/// The demo itself runs with its output closed too.
fn demo_store() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zorgpoort-broken-pipe-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    assert_quiet(&["demo", "--data-dir", dir.to_str().unwrap()], 0);
    assert!(dir.join("zorgpoort.db").exists());
    dir
}

#[test]
fn store_commands_end_quietly_when_stdout_is_closed() {
    let dir = demo_store();
    let data = dir.to_str().unwrap();
    for args in [
        &["audit", "export"][..],
        &["audit", "who-accessed", BSN],
        &["audit", "who-accessed", BSN, "--json"],
        &["audit", "verify"],
        &["queue", "ls", "--state", "delivered"],
    ] {
        let mut args = args.to_vec();
        args.extend(["--data-dir", data]);
        assert_quiet(&args, 0);
    }
    // What was read with the output closed is still on record: the export
    // and the who-accessed reads each added an audit event.
    let export = Command::new(env!("CARGO_BIN_EXE_zorgpoort"))
        .args(["audit", "export", "--data-dir", data])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&export.stdout);
    assert!(log.contains("export-audit-log"), "{log}");
    assert!(log.contains("read-audit-log"), "{log}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn convert_and_validate_end_quietly_when_stdout_is_closed() {
    let fixtures = manifest().join("../../adapters/hl7v2/tests/fixtures");
    let hl7 = fixtures.join("dutch/multi-message.hl7");
    let fhir = fixtures.join("fhir/patient-update.json");
    assert_quiet(&["convert", hl7.to_str().unwrap()], 0);
    assert_quiet(&["convert", "--to", "hl7v2", fhir.to_str().unwrap()], 0);
    // Several inputs: the command stops at the first it cannot write.
    let many: Vec<&str> = std::iter::repeat_n(hl7.to_str().unwrap(), 50).collect();
    assert_quiet(&[&["convert"][..], &many].concat(), 0);
    assert_quiet(&["validate", fhir.to_str().unwrap()], 0);
}
