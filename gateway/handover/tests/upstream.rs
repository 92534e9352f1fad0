//! The upstream client against an HTTPS server that demands client
//! certificates, all made at test time: with the region's CA and the
//! gateway's certificate it gets through; without its certificate, or
//! without trusting the server's CA, it does not.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use zorgpoort_handover::{Upstream, UpstreamConfig, UpstreamError};

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// A certificate for 127.0.0.1 signed by `issuer`, as PEM files in `dir`.
fn leaf(issuer: &CertifiedIssuer<'static, KeyPair>, dir: &Path, name: &str) -> (CertificateDer<'static>, KeyPair) {
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, issuer).unwrap();
    std::fs::write(dir.join(format!("{name}.pem")), cert.pem()).unwrap();
    std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).unwrap();
    (cert.der().clone(), key)
}

/// An HTTPS server answering 200 to every request from a client with a
/// certificate signed by `client_ca`.
async fn holder(server: (CertificateDer<'static>, KeyPair), client_ca: &CertifiedIssuer<'static, KeyPair>) -> String {
    let mut roots = RootCertStore::empty();
    roots.add(client_ca.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
        .build()
        .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![server.0],
            PrivateKeyDer::try_from(server.1.serialize_der()).unwrap(),
        )
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buffer = [0; 4096];
                let _ = tls.read(&mut buffer).await;
                let body = "{\"resourceType\":\"Patient\"}";
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(reply.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    format!("https://{address}/fhir/Patient/1")
}

async fn get(client: &Upstream, url: &str) -> Result<String, String> {
    let request = hyper::Request::get(url).body(Full::new(Bytes::new())).unwrap();
    let response = client.request(request).await.map_err(|e| format!("{e:?}"))?;
    let body = response.into_body().collect().await.map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&body.to_bytes()).into_owned())
}

#[tokio::test]
async fn mutual_tls_to_a_holder_needs_the_regions_ca_and_the_gateways_certificate() {
    let dir = std::env::temp_dir().join(format!("zorgpoort-upstream-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let region = ca("Regio CA");
    std::fs::write(dir.join("region-ca.pem"), region.pem()).unwrap();
    let url = holder(leaf(&region, &dir, "holder"), &region).await;
    leaf(&region, &dir, "gateway");
    let timeout = Duration::from_secs(5);

    let full = UpstreamConfig {
        ca: Some(dir.join("region-ca.pem")),
        client_certificate: Some(dir.join("gateway.pem")),
        client_private_key: Some(dir.join("gateway.key")),
    };
    let client = Upstream::new(&full, timeout).unwrap();
    assert_eq!(get(&client, &url).await.unwrap(), "{\"resourceType\":\"Patient\"}");

    let anonymous = UpstreamConfig {
        client_certificate: None,
        client_private_key: None,
        ..full.clone()
    };
    let refused = get(&Upstream::new(&anonymous, timeout).unwrap(), &url).await;
    assert!(refused.is_err(), "no client certificate, no answer: {refused:?}");

    let untrusting = UpstreamConfig {
        ca: None,
        ..full.clone()
    };
    let refused = get(&Upstream::new(&untrusting, timeout).unwrap(), &url).await;
    assert!(
        refused.unwrap_err().contains("UnknownIssuer"),
        "the server's CA is not trusted"
    );

    let half = UpstreamConfig {
        client_private_key: None,
        ..full
    };
    assert!(matches!(
        Upstream::new(&half, timeout),
        Err(UpstreamError::HalfIdentity)
    ));
    let missing = UpstreamConfig {
        ca: Some(dir.join("nope.pem")),
        ..UpstreamConfig::default()
    };
    let error = Upstream::new(&missing, timeout).unwrap_err().to_string();
    assert!(error.starts_with("upstream.ca: "), "{error}");
}
