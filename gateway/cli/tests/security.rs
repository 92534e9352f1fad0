//! The gateway as a region runs it: `zorgpoort serve` refuses a
//! configuration that would let callers in unproven, naming the setting, and
//! `zorgpoort init`'s template asks for mutual TLS.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::temp_dir;

fn serve(config: &str, name: &str) -> std::process::Output {
    let dir = temp_dir(name);
    let path = dir.join("zorgpoort.toml");
    std::fs::write(&path, config.replace("{dir}", &dir.display().to_string())).unwrap();
    Command::new(env!("CARGO_BIN_EXE_zorgpoort"))
        .args(["serve", "--config", path.to_str().unwrap()])
        .output()
        .unwrap()
}

#[test]
fn a_region_without_authentication_does_not_start() {
    let plaintext = "[server]\nhttp = \"127.0.0.1:0\"\nmllp = \"127.0.0.1:0\"\ndata_dir = \"{dir}/data\"\n\n\
                     [[organization]]\nid = \"vvt\"\nname = \"VVT\"\nkind = \"vvt\"\n";
    let output = serve(plaintext, "security-plaintext");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "started: {stderr}");
    assert!(stderr.contains("tls: a region authenticates every caller"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let exposed_demo = "[server]\nunauthenticated_demo = true\nhttp = \"0.0.0.0:0\"\nmllp = \"127.0.0.1:0\"\n\
                        data_dir = \"{dir}/data\"\n";
    let output = serve(exposed_demo, "security-exposed-demo");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "started: {stderr}");
    assert!(stderr.contains("server.unauthenticated_demo: "), "{stderr}");
}

#[test]
fn the_template_of_init_asks_for_mutual_tls() {
    let dir = temp_dir("security-init");
    let path = dir.join("zorgpoort.toml");
    let status = Command::new(env!("CARGO_BIN_EXE_zorgpoort"))
        .args(["init", path.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = Command::new(env!("CARGO_BIN_EXE_zorgpoort"))
        .args(["serve", "--config", path.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    // It gets as far as reading the certificates the template names.
    assert!(stderr.contains("/etc/zorgpoort/server.pem"), "{stderr}");
}
