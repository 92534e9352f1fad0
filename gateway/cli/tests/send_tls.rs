//! `zorgpoort send` over TLS and mutual TLS, against `zorgpoort serve` with
//! a TLS listener and certificates made at test time: a registered sender's
//! certificate gets its message acknowledged; without a client certificate,
//! with another region's CA, or in plain text, nothing is accepted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use common::temp_dir;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};

const ADMISSION: &str = "MSH|^~\\&|HIS|RIJNSTATE|||20261124093015+0100||ADT^A01^ADT_A01|TLS1|P|2.5\r\
PID|1||1234^^^RIJN^PI~999911120^^^NLMINBIZA^NNNLD||van der Berg^Jan||19800101|M\r";

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// Writes `{dir}/{name}.pem` and `{dir}/{name}.key`, signed by `issuer`;
/// returns the certificate's SHA-256 fingerprint as the registry names it.
fn leaf(issuer: &CertifiedIssuer<'static, KeyPair>, dir: &Path, name: &str) -> String {
    let mut params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, issuer).unwrap();
    std::fs::write(dir.join(format!("{name}.pem")), cert.pem()).unwrap();
    std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).unwrap();
    zorgpoort_server::listeners::tls::fingerprint(cert.der())
}

/// `zorgpoort serve` under TLS, killed when dropped.
struct Gateway {
    child: Child,
    mllp: SocketAddr,
}

impl Gateway {
    /// Starts the gateway and reads its MLLP address from the start-up line
    /// (`... MLLP over TLS on 127.0.0.1:port`).
    fn start(config_path: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_zorgpoort"))
            .args(["serve", "--config", config_path.to_str().unwrap()])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap())
            .lines()
            .map_while(Result::ok);
        let mut seen = Vec::new();
        let banner = lines
            .by_ref()
            .inspect(|line| seen.push(line.clone()))
            .find(|line| line.contains(" on "))
            .unwrap_or_else(|| panic!("gateway did not start:\n{}", seen.join("\n")));
        // Keep draining stderr so the gateway never blocks on it.
        std::thread::spawn(move || lines.for_each(drop));
        let mllp = banner.split_whitespace().last().unwrap().parse().unwrap();
        Self { child, mllp }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn send(gateway: &Gateway, dir: &Path, extra: &[&str]) -> Output {
    let to = gateway.mllp.to_string();
    let file = dir.join("admission.hl7");
    Command::new(env!("CARGO_BIN_EXE_zorgpoort"))
        .args(["send", "--timeout", "10", "--to", &to])
        .args(extra)
        .arg(&file)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn send_speaks_mllp_over_mutual_tls() {
    let dir = temp_dir("send-tls");
    let region = ca("Regio CA (test)");
    std::fs::write(dir.join("ca.pem"), region.pem()).unwrap();
    leaf(&region, &dir, "server");
    let hospital = leaf(&region, &dir, "ziekenhuis");
    let elsewhere = ca("Andere regio CA (test)");
    std::fs::write(dir.join("other-ca.pem"), elsewhere.pem()).unwrap();
    std::fs::write(dir.join("admission.hl7"), ADMISSION).unwrap();
    let config = format!(
        r#"[server]
http = "127.0.0.1:0"
mllp = "127.0.0.1:0"
data_dir = "{data}"
durability = "process-crash"

[tls]
certificate = "{dir}/server.pem"
private_key = "{dir}/server.key"
client_ca = "{dir}/ca.pem"

[[organization]]
id = "rijnstate"
name = "Ziekenhuis Rijnstate"
kind = "ziekenhuis"
senders = ["HIS/RIJNSTATE"]
client_certificates = ["{hospital}"]
"#,
        data = dir.join("data").display(),
        dir = dir.display(),
    );
    let config_path = dir.join("zorgpoort.toml");
    std::fs::write(&config_path, config).unwrap();
    let gateway = Gateway::start(&config_path);

    let mutual = [
        "--ca",
        "ca.pem",
        "--client-cert",
        "ziekenhuis.pem",
        "--client-key",
        "ziekenhuis.key",
    ];
    let sent = send(&gateway, &dir, &mutual);
    assert_eq!(sent.status.code(), Some(0), "{}", text(&sent));
    assert!(
        String::from_utf8_lossy(&sent.stdout).contains("1 accepted (AA), 0 not accepted"),
        "{}",
        text(&sent)
    );
    // The receiver's name may be given when the address is not in its certificate.
    let named = send(&gateway, &dir, &[&mutual[..], &["--server-name", "localhost"]].concat());
    assert_eq!(named.status.code(), Some(0), "{}", text(&named));

    // TLS without a client certificate: the gateway wants one.
    let anonymous = send(&gateway, &dir, &["--tls", "--ca", "ca.pem"]);
    assert_ne!(anonymous.status.code(), Some(0), "{}", text(&anonymous));
    assert!(!String::from_utf8_lossy(&anonymous.stdout).contains("accepted (AA), 0"));

    // A receiver whose certificate chains to another CA is not trusted.
    let untrusted = send(&gateway, &dir, &[&["--ca", "other-ca.pem"][..], &mutual[2..]].concat());
    assert_eq!(untrusted.status.code(), Some(2), "{}", text(&untrusted));
    assert!(
        String::from_utf8_lossy(&untrusted.stderr).contains("TLS handshake"),
        "{}",
        text(&untrusted)
    );

    // Plain MLLP to a TLS listener gets no ACK.
    let plain = send(&gateway, &dir, &[]);
    assert_eq!(plain.status.code(), Some(2), "{}", text(&plain));

    // Half an identity, or TLS with nothing to trust, is refused before connecting.
    let half = send(&gateway, &dir, &["--ca", "ca.pem", "--client-cert", "ziekenhuis.pem"]);
    assert_eq!(half.status.code(), Some(2), "{}", text(&half));
    assert!(
        String::from_utf8_lossy(&half.stderr).contains("--client-key"),
        "{}",
        text(&half)
    );
    let no_ca = send(&gateway, &dir, &["--tls"]);
    assert_eq!(no_ca.status.code(), Some(2), "{}", text(&no_ca));
    assert!(
        String::from_utf8_lossy(&no_ca.stderr).contains("--ca"),
        "{}",
        text(&no_ca)
    );

    drop(gateway);
    std::fs::remove_dir_all(&dir).unwrap();
}
