//! TLS and mutual TLS on both listeners, with certificates made at test
//! time: a registered client is served, a client with an unknown
//! certificate is refused, MLLP works over TLS, and a replaced certificate
//! is picked up without a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::RootCertStore;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use zorgpoort_server::tls::fingerprint;
use zorgpoort_server::{Config, Gateway};

struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// A leaf certificate signed by `issuer`, written as PEM files when `files` is given.
fn leaf(issuer: &CertifiedIssuer<'static, KeyPair>, name: &str, files: Option<(&Path, &Path)>) -> Identity {
    let mut params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, issuer).unwrap();
    if let Some((cert_path, key_path)) = files {
        std::fs::write(cert_path, cert.pem()).unwrap();
        std::fs::write(key_path, key.serialize_pem()).unwrap();
    }
    Identity {
        chain: vec![cert.der().clone()],
        key: PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
    }
}

struct Setup {
    gateway: Gateway,
    ca: CertifiedIssuer<'static, KeyPair>,
    registered: Identity,
    dir: PathBuf,
}

async fn setup(name: &str) -> Setup {
    let dir = std::env::temp_dir().join(format!("zorgpoort-tls-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let ca = ca("Regio CA (test)");
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    leaf(
        &ca,
        "zorgpoort",
        Some((&dir.join("server.pem"), &dir.join("server.key"))),
    );
    let registered = leaf(&ca, "ziekenhuis", None);
    let config = format!(
        r#"
[server]
http = "127.0.0.1:0"
mllp = "127.0.0.1:0"
data_dir = "{data}"
durability = "process-crash"

[tls]
certificate = "{dir}/server.pem"
private_key = "{dir}/server.key"
client_ca = "{dir}/ca.pem"
reload_check_ms = 100

[[organization]]
id = "ziekenhuis"
name = "Ziekenhuis"
kind = "ziekenhuis"
client_certificates = ["{fingerprint}"]
"#,
        data = dir.join("data").display(),
        dir = dir.display(),
        fingerprint = fingerprint(registered.chain[0].as_ref()),
    );
    let gateway = zorgpoort_server::start(Config::load(Some(&config), []).unwrap())
        .await
        .unwrap();
    Setup {
        gateway,
        ca,
        registered,
        dir,
    }
}

fn connector(ca: &CertifiedIssuer<'static, KeyPair>, client: Option<&Identity>) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    roots.add(ca.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match client {
        Some(identity) => builder
            .with_client_auth_cert(identity.chain.clone(), identity.key.clone_key())
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    TlsConnector::from(Arc::new(config))
}

/// Sends `request` over TLS and returns what came back (empty when refused).
async fn exchange(
    connector: &TlsConnector,
    address: std::net::SocketAddr,
    request: &[u8],
) -> (Vec<u8>, Option<Vec<u8>>) {
    let tcp = TcpStream::connect(address).await.unwrap();
    let Ok(mut tls) = connector.connect(ServerName::try_from("localhost").unwrap(), tcp).await else {
        return (Vec::new(), None);
    };
    let server_cert = tls.get_ref().1.peer_certificates().map(|c| c[0].as_ref().to_vec());
    if tls.write_all(request).await.is_err() {
        return (Vec::new(), server_cert);
    }
    let mut response = Vec::new();
    let mut chunk = [0; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(5), tls.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => {
                response.extend_from_slice(&chunk[..n]);
                if response.ends_with(b"\x1c\r") || response.ends_with(b"ok\n") {
                    break;
                }
            }
            _ => break,
        }
    }
    (response, server_cert)
}

const HEALTH: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

#[tokio::test]
async fn a_registered_client_is_served_and_others_are_refused() {
    let setup = setup("mutual").await;
    let http = setup.gateway.http_addr();
    let (response, _) = exchange(&connector(&setup.ca, Some(&setup.registered)), http, HEALTH).await;
    assert!(
        String::from_utf8_lossy(&response).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&response)
    );

    // Signed by the region's CA but not registered to an organisation.
    let unregistered = leaf(&setup.ca, "onbekend", None);
    let (response, _) = exchange(&connector(&setup.ca, Some(&unregistered)), http, HEALTH).await;
    assert!(response.is_empty(), "unregistered certificate served");

    // A certificate from another CA, and no certificate at all.
    let stranger = leaf(&ca("Andere CA"), "vreemde", None);
    let (response, _) = exchange(&connector(&setup.ca, Some(&stranger)), http, HEALTH).await;
    assert!(response.is_empty(), "foreign certificate served");
    let (response, _) = exchange(&connector(&setup.ca, None), http, HEALTH).await;
    assert!(response.is_empty(), "client without certificate served");

    // Plaintext on the TLS port gets no HTTP answer.
    let mut plain = TcpStream::connect(http).await.unwrap();
    plain.write_all(HEALTH).await.unwrap();
    let mut buffer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut buffer)).await;
    assert!(!String::from_utf8_lossy(&buffer).contains("200"));
    setup.gateway.shutdown().await;
}

#[tokio::test]
async fn mllp_runs_over_mutual_tls() {
    let setup = setup("mllp").await;
    let message = b"\x0bMSH|^~\\&|HIS|RIJN|||20261124093015+0100||ADT^A01^ADT_A01|T1|P|2.5\rPID|1||1234^^^RIJN^PI||Jansen^Piet||19800101|M\r\x1c\r";
    let (ack, _) = exchange(
        &connector(&setup.ca, Some(&setup.registered)),
        setup.gateway.mllp_addr(),
        message,
    )
    .await;
    assert!(
        String::from_utf8_lossy(&ack).contains("MSA|AA|T1"),
        "{}",
        String::from_utf8_lossy(&ack)
    );
    setup.gateway.shutdown().await;
}

#[tokio::test]
async fn a_replaced_certificate_is_used_without_a_restart() {
    let setup = setup("reload").await;
    let http = setup.gateway.http_addr();
    let (_, before) = exchange(&connector(&setup.ca, Some(&setup.registered)), http, HEALTH).await;
    let renewed = leaf(
        &setup.ca,
        "zorgpoort-renewed",
        Some((&setup.dir.join("server.pem"), &setup.dir.join("server.key"))),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    // A new client: a resumed session would show the certificate it began with.
    let (response, after) = exchange(&connector(&setup.ca, Some(&setup.registered)), http, HEALTH).await;
    assert!(String::from_utf8_lossy(&response).starts_with("HTTP/1.1 200"));
    assert_ne!(before, after);
    assert_eq!(after.as_deref(), Some(renewed.chain[0].as_ref()));
    setup.gateway.shutdown().await;
}
