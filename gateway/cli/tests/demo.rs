//! `zorgpoort demo`, the five-minute tour, run as the binary: its timeline
//! tells each step's key facts, it ends with exit status 0, and two tours
//! at once do not clash (ports chosen by the OS, a directory each).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs the tour with `args`, killed if it takes longer than a minute.
fn tour(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zorgpoort"))
        .arg("demo")
        .args(args)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("zorgpoort demo did not finish within a minute");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// The timeline's lines that contain every one of `words`, in order.
fn lines_with<'a>(timeline: &'a str, words: &[&str]) -> Vec<&'a str> {
    timeline
        .lines()
        .filter(|line| words.iter().all(|w| line.contains(w)))
        .collect()
}

fn assert_complete(output: &Output) -> String {
    let timeline = String::from_utf8_lossy(&output.stdout).into_owned();
    let errors = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{timeline}\n{errors}");
    assert!(!timeline.contains('\x1b'), "no colours when stdout is not a terminal");
    let has = |words: &[&str]| {
        assert!(
            !lines_with(&timeline, words).is_empty(),
            "no line with {words:?} in:\n{timeline}"
        );
    };

    // 1. What arrived and what it became.
    has(&["oudegracht", "MLLP", "ADT^A03", "ACK AA"]);
    has(&["oudegracht", "CDA", "202"]);
    has(&["de-vaart", "EDIFACT MEDLAB", "202"]);
    has(&["became a FHIR R4 document Bundle", "1 Composition"]);
    assert_eq!(lines_with(&timeline, &["became a FHIR R4", "mapping warning"]).len(), 3);
    // 2. Consent and deliveries, R4 and STU3.
    has(&["ADT^A03 -> de-linde", "rule presumed:handover", "FHIR R4"]);
    has(&["ADT^A03 -> de-es", "FHIR STU3"]);
    has(&["MEDLAB -> de-linde", "delivered"]);
    has(&["de-es", "received Bundle", "(STU3)"]);
    // 3. The handover: requested -> accepted -> completed, seen by the sender.
    let states: Vec<&str> = ["requested", "sees accepted", "sees completed"]
        .iter()
        .map(|state| {
            let found = timeline
                .lines()
                .position(|l| l.contains("Task/") && l.contains(state))
                .unwrap_or_else(|| panic!("no Task {state} in:\n{timeline}"));
            timeline.lines().nth(found).unwrap()
        })
        .collect();
    assert!(
        states[0].contains("oudegracht") && states[0].contains("owner de-linde"),
        "{states:?}"
    );
    let position = |needle: &str| timeline.find(needle).unwrap();
    assert!(position("sees accepted") < position("sees completed"));
    has(&["de-linde", "notified", "in R4", "no patient data"]);
    has(&["de-linde", "GET Composition/$document", "Verpleegkundige overdracht"]);
    // 4. The STU3 nursing home is notified and answered in STU3.
    has(&["de-es", "notified", "in STU3"]);
    has(&["de-es", "GET Task/", "answered in STU3", "fhirVersion=3.0"]);
    has(&["de-es", "PUT Task/", "accepted", "body in STU3"]);
    // 5. The BgZ, with the withheld category named and the depression left out.
    has(&["patient", "Consent", "mental-health"]);
    has(&["problems", "withheld by consent: mental-health"]);
    has(&["problems received: S72.0", "F32.1 is not among them"]);
    has(&["other sections:", "patient 1", "lab results 4"]);
    // 6. Audit record ids per step, and an intact chain.
    for step in 1..=5 {
        has(&["audit", &format!("step {step}:")]);
    }
    has(&["audit", "step 3: records #", "handover-notify"]);
    has(&["audit verify: hash chain intact"]);
    has(&["demo complete"]);
    timeline
}

#[test]
fn the_tour_shows_a_complete_handover_and_cleans_up() {
    let output = tour(&[]);
    let timeline = assert_complete(&output);
    let line = lines_with(&timeline, &["demo region up"])[0];
    let dir = line.split("data in ").nth(1).unwrap().trim();
    assert!(
        !std::path::Path::new(dir).exists(),
        "the temporary data directory {dir} is removed"
    );
}

#[test]
fn two_tours_at_once_do_not_clash_and_a_data_dir_is_kept() {
    let kept = std::env::temp_dir().join(format!("zorgpoort-demo-kept-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&kept);
    let kept_arg = kept.to_str().unwrap().to_owned();
    let other = std::thread::spawn(|| tour(&[]));
    let first = tour(&["--data-dir", &kept_arg]);
    let second = other.join().unwrap();
    let first = assert_complete(&first);
    assert_complete(&second);
    assert!(first.contains(&format!("data kept in {}", kept.display())), "{first}");
    assert!(kept.join("zorgpoort.db").exists());

    // The kept store is a gateway's like any other: the audit commands read it.
    let verify = Command::new(env!("CARGO_BIN_EXE_zorgpoort"))
        .args(["audit", "verify", "--data-dir", &kept_arg])
        .output()
        .unwrap();
    assert_eq!(verify.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&verify.stdout).contains("audit log intact"));

    // A second tour in the same store is refused before anything starts.
    let again = tour(&["--data-dir", &kept_arg]);
    assert_ne!(again.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already holds a store; give the tour a new directory"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let _ = std::fs::remove_dir_all(&kept);
}

#[test]
fn help_lists_the_tour() {
    let help = Command::new(env!("CARGO_BIN_EXE_zorgpoort"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.lines()
            .any(|l| l.trim_start().starts_with("demo") && l.contains("five-minute tour")),
        "{help}"
    );
    let demo_help = Command::new(env!("CARGO_BIN_EXE_zorgpoort"))
        .args(["demo", "--help"])
        .output()
        .unwrap();
    let demo_help = String::from_utf8_lossy(&demo_help.stdout);
    for needle in ["--keep", "--data-dir", "STU3", "Exit status 0"] {
        assert!(demo_help.contains(needle), "{needle}: {demo_help}");
    }
}
