//! `zorgpoort audit verify` as an operator runs it, on the data directory of
//! a gateway that really ran: each tampering by someone with the database
//! (but not the key) fails the command, naming the record and the kind. The
//! full table of tamperings is the store's `audit_tamper` test; this one
//! proves the command reports what the store finds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{Gateway, server_section, temp_dir, wait_until};

const ADMISSION: &str = "MSH|^~\\&|HIS|RIJNSTATE|||20261124093015+0100||ADT^A01^ADT_A01|T1|P|2.5\r\
                         PID|1||1^^^RIJN^PI~999911120^^^NLMINBIZA^NNNLD||Visser^Daan||19520604|M\r";

/// A data directory with five audited conversions, anchored at a clean stop.
fn audited_data_dir() -> std::path::PathBuf {
    let dir = temp_dir("audit-tamper-cli");
    let data = dir.join("data");
    let config = dir.join("zorgpoort.toml");
    std::fs::write(
        &config,
        format!(
            "{}[[organization]]\nid = \"rijnstate\"\nname = \"R\"\nkind = \"ziekenhuis\"\n",
            server_section(&data)
        ),
    )
    .unwrap();
    let gateway = Gateway::start(&config);
    for _ in 0..5 {
        assert_eq!(
            gateway.http("POST", "/hl7v2", "text/plain", ADMISSION.as_bytes()).0,
            200
        );
    }
    // SIGTERM: the gateway shuts down cleanly and anchors the chain's head.
    let pid = gateway.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let anchors = data.join("audit-anchors.jsonl");
    assert!(wait_until(Duration::from_secs(30), || {
        std::fs::read_to_string(&anchors).is_ok_and(|a| a.contains("\"seq\":5"))
    }));
    gateway.kill();
    data
}

fn verify(data: &Path) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_zorgpoort"))
        .args(["audit", "verify", "--data-dir", data.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// A change to a copy of the data directory.
type Tamper = Box<dyn Fn(&Path)>;

fn sql(data: &Path, statements: &str) {
    let connection = rusqlite::Connection::open(data.join("zorgpoort.db")).unwrap();
    connection
        .execute_batch(&format!(
            "DROP TRIGGER IF EXISTS audit_log_append_only_update;\
             DROP TRIGGER IF EXISTS audit_log_append_only_delete;{statements}"
        ))
        .unwrap();
}

#[test]
fn audit_verify_reports_each_tampering_with_its_record_and_kind() {
    let data = audited_data_dir();
    let (intact, text) = verify(&data);
    assert!(intact && text.starts_with("audit log intact: 5 records"), "{text}");
    // An anchor file named but not there is an error, not fewer anchors.
    let output = Command::new(env!("CARGO_BIN_EXE_zorgpoort"))
        .args(["audit", "verify", "--data-dir", data.to_str().unwrap()])
        .args(["--anchor", data.join("audit-anchors.jsonl").to_str().unwrap()])
        .args(["--anchor", data.join("elsewhere.jsonl").to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && text.contains("no anchor file at"), "{text}");

    let zeros = "0".repeat(64);
    let forged_anchor = format!(r#"{{"seq":9,"hash":"{zeros}","time":1,"mac":"{zeros}"}}"#);
    let cases: [(&str, Tamper, &str); 6] = [
        (
            "patient changed",
            Box::new(|d| sql(d, "UPDATE audit_log SET patient = '999910851' WHERE sequence = 2;")),
            "record 2 [mac]",
        ),
        (
            "organization changed",
            Box::new(|d| sql(d, "UPDATE audit_log SET organization = 'de-linde' WHERE sequence = 3;")),
            "record 3 [mac]",
        ),
        (
            "time changed",
            Box::new(|d| {
                sql(
                    d,
                    "UPDATE audit_log SET recorded_ms = recorded_ms + 1 WHERE sequence = 4;",
                );
            }),
            "record 4 [mac]",
        ),
        (
            "tail deleted",
            Box::new(|d| sql(d, "DELETE FROM audit_log WHERE sequence >= 4;")),
            "[truncated]",
        ),
        (
            "table emptied",
            Box::new(|d| sql(d, "DELETE FROM audit_log;")),
            "[truncated]",
        ),
        (
            "anchor forged",
            Box::new(move |d| {
                let anchors = d.join("audit-anchors.jsonl");
                let text = std::fs::read_to_string(&anchors).unwrap() + &forged_anchor + "\n";
                std::fs::write(anchors, text).unwrap();
            }),
            "[anchor-forged]",
        ),
    ];
    for (i, (what, tamper, expected)) in cases.iter().enumerate() {
        let copy_dir = data.with_file_name(format!("tampered-{i}"));
        copy(&data, &copy_dir);
        tamper(&copy_dir);
        let (intact, text) = verify(&copy_dir);
        assert!(!intact, "{what}: verify said intact: {text}");
        assert!(text.contains(expected), "{what}: expected {expected}: {text}");
    }
}
