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
use zorgpoort_server::listeners::tls::fingerprint;
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
    /// Two practices that record their patients' choices.
    recorders: [Identity; 2],
    /// The key the organisation signs client assertions with.
    jwt_key: KeyPair,
    dir: PathBuf,
    /// A nursing home that sends over MLLP as `ECD/DE LINDE`.
    nursing_home: Identity,
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
    let recorders = [leaf(&ca, "de-vaart", None), leaf(&ca, "de-brug", None)];
    let nursing_home = leaf(&ca, "de-linde", None);
    let jwt_key = KeyPair::generate().unwrap();
    let config = format!(
        r#"
[server]
http = "127.0.0.1:0"
mllp = "127.0.0.1:0"
data_dir = "{data}"
durability = "process-crash"

[handover]
public_base_url = "https://zorgpoort.test/fhir"

[tls]
certificate = "{dir}/server.pem"
private_key = "{dir}/server.key"
client_ca = "{dir}/ca.pem"
reload_check_ms = 100

[[organization]]
id = "de-linde"
name = "Verpleeghuis De Linde"
kind = "vvt"
senders = ["ECD/DE LINDE"]
client_certificates = ["{linde}"]

[[organization]]
id = "ziekenhuis"
senders = ["HIS/RIJN", "HIS/ZIEKENHUIS"]
name = "Ziekenhuis"
kind = "ziekenhuis"
client_certificates = ["{fingerprint}"]
jwt_keys = ["""{jwt_key}"""]

[[organization]]
id = "de-vaart"
name = "Huisartsenpraktijk De Vaart"
kind = "huisarts"
ura = "90000001"
consent_recorder = true
client_certificates = ["{vaart}"]

[[organization]]
id = "de-brug"
name = "Huisartsenpraktijk De Brug"
kind = "huisarts"
consent_recorder = true
client_certificates = ["{brug}"]
"#,
        data = dir.join("data").display(),
        dir = dir.display(),
        fingerprint = fingerprint(registered.chain[0].as_ref()),
        vaart = fingerprint(recorders[0].chain[0].as_ref()),
        brug = fingerprint(recorders[1].chain[0].as_ref()),
        linde = fingerprint(nursing_home.chain[0].as_ref()),
        jwt_key = jwt_key.public_key_pem(),
    );
    let gateway = zorgpoort_server::start(Config::load(Some(&config), []).unwrap())
        .await
        .unwrap();
    Setup {
        gateway,
        ca,
        registered,
        recorders,
        jwt_key,
        dir,
        nursing_home,
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
                if response.ends_with(b"\x1c\r") || response.ends_with(b"ok\n") || response.ends_with(b"}") {
                    break;
                }
            }
            _ => break,
        }
    }
    (response, server_cert)
}

fn consent_request(method: &str, path: &str, organization: &str) -> Vec<u8> {
    let consent = format!(
        r#"{{"resourceType":"Consent","id":"x","status":"active","patient":{{"identifier":{{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":"999911120"}}}}{organization},"provision":{{"type":"deny"}}}}"#
    );
    format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/fhir+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{consent}",
        consent.len()
    )
    .into_bytes()
}

const HEALTH: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
const ORGANIZATIONS: &[u8] = b"GET /fhir/Organization HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

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
    // Registered, but not a consent recorder.
    let (response, _) = exchange(
        &connector(&setup.ca, Some(&setup.registered)),
        http,
        &consent_request("POST", "/fhir/Consent", ""),
    )
    .await;
    assert!(
        String::from_utf8_lossy(&response).starts_with("HTTP/1.1 403"),
        "{}",
        String::from_utf8_lossy(&response)
    );
    // Registered, but not an audit reader.
    let audit = b"GET /fhir/AuditEvent?patient=999911120 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    let (response, _) = exchange(&connector(&setup.ca, Some(&setup.registered)), http, audit).await;
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 403"), "{text}");

    // Signed by the region's CA but not registered to an organisation.
    let unregistered = leaf(&setup.ca, "onbekend", None);
    let (response, _) = exchange(&connector(&setup.ca, Some(&unregistered)), http, HEALTH).await;
    assert!(response.is_empty(), "unregistered certificate served");

    // A certificate from another CA, and no certificate at all.
    let stranger = leaf(&ca("Andere CA"), "vreemde", None);
    let (response, _) = exchange(&connector(&setup.ca, Some(&stranger)), http, HEALTH).await;
    assert!(response.is_empty(), "foreign certificate served");
    // Without a certificate: public endpoints only (the API needs a token).
    let (response, _) = exchange(&connector(&setup.ca, None), http, HEALTH).await;
    assert!(String::from_utf8_lossy(&response).starts_with("HTTP/1.1 200"));
    let (response, _) = exchange(&connector(&setup.ca, None), http, ORGANIZATIONS).await;
    let text = String::from_utf8_lossy(&response);
    assert!(
        text.starts_with("HTTP/1.1 401") && text.contains("www-authenticate: Bearer"),
        "{text}"
    );

    // Plaintext on the TLS port gets no HTTP answer.
    let mut plain = TcpStream::connect(http).await.unwrap();
    plain.write_all(HEALTH).await.unwrap();
    let mut buffer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut buffer)).await;
    assert!(!String::from_utf8_lossy(&buffer).contains("200"));
    setup.gateway.shutdown().await;
}

#[tokio::test]
async fn a_practice_records_only_the_choices_made_with_it() {
    let setup = setup("recorders").await;
    let http = setup.gateway.http_addr();
    let [vaart, brug] = &setup.recorders;
    let send = |who: &Identity, request: Vec<u8>| {
        let connector = connector(&setup.ca, Some(who));
        async move { String::from_utf8_lossy(&exchange(&connector, http, &request).await.0).into_owned() }
    };
    let other = r#","organization":[{"reference":"Organization/ziekenhuis"}]"#;
    let text = send(vaart, consent_request("POST", "/fhir/Consent", other)).await;
    assert!(
        text.starts_with("HTTP/1.1 403") && text.contains("Consent.organization"),
        "{text}"
    );
    let by_ura = r#","organization":[{"identifier":{"value":"90000001"}}]"#;
    let text = send(vaart, consent_request("POST", "/fhir/Consent", by_ura)).await;
    assert!(text.starts_with("HTTP/1.1 201"), "{text}");
    let text = send(vaart, consent_request("PUT", "/fhir/Consent/x", "")).await;
    assert!(
        text.starts_with("HTTP/1.1 200") && text.contains("\"reference\":\"Organization/de-vaart\""),
        "named as the recorder when the Consent names no one: {text}"
    );
    let text = send(brug, consent_request("PUT", "/fhir/Consent/x", "")).await;
    assert!(
        text.starts_with("HTTP/1.1 403") && text.contains("another organisation"),
        "{text}"
    );
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

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// A `private_key_jwt` client assertion for `client`, signed with `key`.
fn assertion(key: &KeyPair, client: &str, jti: &str) -> String {
    assertion_for(key, client, jti, "https://zorgpoort.test/oauth/token")
}

/// A client assertion addressed to `audience`.
fn assertion_for(key: &KeyPair, client: &str, jti: &str, audience: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = base64url(br#"{"alg":"ES256","typ":"JWT"}"#);
    let claims = serde_json::json!({
        "iss": client, "sub": client, "aud": audience, "exp": now + 60, "jti": jti,
    });
    let payload = base64url(claims.to_string().as_bytes());
    let signing_input = format!("{header}.{payload}");
    let rng = ring::rand::SystemRandom::new();
    let signer = ring::signature::EcdsaKeyPair::from_pkcs8(
        &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &key.serialize_der(),
        &rng,
    )
    .unwrap();
    let signature = signer.sign(&rng, signing_input.as_bytes()).unwrap();
    format!("{signing_input}.{}", base64url(signature.as_ref()))
}

fn token_request(assertion: &str) -> Vec<u8> {
    let body = format!(
        "grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={assertion}"
    );
    format!(
        "POST /oauth/token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[tokio::test]
async fn callers_without_certificates_use_bearer_tokens() {
    let setup = setup("tokens").await;
    let http = setup.gateway.http_addr();
    let anonymous = connector(&setup.ca, None);

    let signed = assertion(&setup.jwt_key, "ziekenhuis", "once");
    let (response, _) = exchange(&anonymous, http, &token_request(&signed)).await;
    let text = String::from_utf8_lossy(&response).into_owned();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let body: serde_json::Value = serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(body["token_type"], "Bearer");

    let request = format!(
        "GET /fhir/Organization HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    let (response, _) = exchange(&anonymous, http, request.as_bytes()).await;
    assert!(String::from_utf8_lossy(&response).starts_with("HTTP/1.1 200"));

    // The same assertion twice, one signed by an unregistered key, an unknown token.
    let (response, _) = exchange(&anonymous, http, &token_request(&signed)).await;
    let text = String::from_utf8_lossy(&response);
    assert!(
        text.starts_with("HTTP/1.1 401") && text.contains("used before"),
        "{text}"
    );
    let forged = assertion(&KeyPair::generate().unwrap(), "ziekenhuis", "forged");
    let (response, _) = exchange(&anonymous, http, &token_request(&forged)).await;
    assert!(String::from_utf8_lossy(&response).starts_with("HTTP/1.1 401"));
    let bad = format!(
        "GET /fhir/Organization HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        "0".repeat(64)
    );
    let (response, _) = exchange(&anonymous, http, bad.as_bytes()).await;
    assert!(String::from_utf8_lossy(&response).starts_with("HTTP/1.1 401"));

    // MLLP has no tokens: a client without a certificate is refused there.
    let message = b"\x0bMSH|^~\\&|HIS|RIJN|||20261124||ADT^A01|T9|P|2.5\rPID|1||1^^^X^PI\r\x1c\r";
    let (ack, _) = exchange(&anonymous, setup.gateway.mllp_addr(), message).await;
    assert!(ack.is_empty());
    setup.gateway.shutdown().await;
}

#[tokio::test]
async fn an_assertion_for_another_token_endpoint_is_refused() {
    let setup = setup("audience").await;
    let anonymous = connector(&setup.ca, None);
    for audience in [
        "https://wrong/oauth/token",
        "https://zorgpoort.test.evil/oauth/token",
        "https://zorgpoort.test/fhir/oauth/token",
    ] {
        let signed = assertion_for(&setup.jwt_key, "ziekenhuis", audience, audience);
        let (response, _) = exchange(&anonymous, setup.gateway.http_addr(), &token_request(&signed)).await;
        let text = String::from_utf8_lossy(&response);
        assert!(
            text.starts_with("HTTP/1.1 401") && text.contains("aud must be"),
            "{audience}: {text}"
        );
    }
    setup.gateway.shutdown().await;
}

#[tokio::test]
async fn a_requester_header_is_no_identity_under_mutual_tls() {
    let setup = setup("no-header-identity").await;
    let http = setup.gateway.http_addr();
    let anonymous = connector(&setup.ca, None);
    let named = |method: &str, path: &str, extra: &str| {
        format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nX-Zorgpoort-Requester: ziekenhuis\r\n\
             X-Purpose-Of-Use: emergency\r\nX-Break-The-Glass-Reason: test\r\n{extra}Connection: close\r\n\r\n"
        )
        .into_bytes()
    };
    for request in [
        named("GET", "/fhir/Bundle/00000000-0000-0000-0000-000000000000", ""),
        named("GET", "/fhir/Patient?identifier=999911120", ""),
        named("GET", "/fhir/AuditEvent?patient=999911120", ""),
        named("GET", "/fhir/Consent?patient=999911120", ""),
        named("GET", "/messages/00000000-0000-0000-0000-000000000000", ""),
        consent_request("POST", "/fhir/Consent", ""),
        consent_request("PUT", "/fhir/Consent/x", ""),
    ] {
        let (response, _) = exchange(&anonymous, http, &request).await;
        let text = String::from_utf8_lossy(&response);
        assert!(
            text.starts_with("HTTP/1.1 401") && text.contains("OperationOutcome"),
            "{}: {text}",
            String::from_utf8_lossy(&request).lines().next().unwrap_or_default()
        );
    }
    setup.gateway.shutdown().await;
}

/// An ADT^A01 framed for MLLP, sent as `sender` (`APP|FACILITY`) for the patient with `bsn`.
fn admission(sender: &str, control_id: &str, bsn: &str) -> Vec<u8> {
    format!(
        "\x0bMSH|^~\\&|{sender}|||20261124093015+0100||ADT^A01^ADT_A01|{control_id}|P|2.5\r\
         PID|1||{bsn}^^^NLMINBIZA^NNNLD||Jansen^Piet||19800101|M\r\x1c\r"
    )
    .into_bytes()
}

#[tokio::test]
async fn mllp_a_certificate_sends_only_as_its_own_organisation() {
    let setup = setup("mllp-sender").await;
    let mllp = setup.gateway.mllp_addr();
    let nursing_home = connector(&setup.ca, Some(&setup.nursing_home));
    let (ack, _) = exchange(
        &nursing_home,
        mllp,
        &admission("HIS|ZIEKENHUIS", "FORGED1", "999911120"),
    )
    .await;
    let ack = String::from_utf8_lossy(&ack).into_owned();
    assert!(ack.contains("MSA|AR|FORGED1"), "{ack}");
    assert!(
        ack.contains("ERR||MSH^1^3") && ack.contains("does not belong to the authenticated organisation"),
        "{ack}"
    );
    let (ack, _) = exchange(&nursing_home, mllp, &admission("ECD|DE LINDE", "OWN1", "999911120")).await;
    assert!(
        String::from_utf8_lossy(&ack).contains("MSA|AA|OWN1"),
        "{}",
        String::from_utf8_lossy(&ack)
    );
    let hospital = connector(&setup.ca, Some(&setup.registered));
    let (ack, _) = exchange(&hospital, mllp, &admission("HIS|ZIEKENHUIS", "REAL1", "999911120")).await;
    assert!(
        String::from_utf8_lossy(&ack).contains("MSA|AA|REAL1"),
        "{}",
        String::from_utf8_lossy(&ack)
    );
    setup.gateway.shutdown().await;
}

#[tokio::test]
async fn mllp_a_squatted_control_id_does_not_drop_the_real_message() {
    use zorgpoort_store::Store;
    let setup = setup("mllp-squat").await;
    let mllp = setup.gateway.mllp_addr();
    // The nursing home sends first, under the hospital's name and next control id.
    let nursing_home = connector(&setup.ca, Some(&setup.nursing_home));
    let (ack, _) = exchange(&nursing_home, mllp, &admission("HIS|ZIEKENHUIS", "SQUAT1", "999910851")).await;
    let ack = String::from_utf8_lossy(&ack).into_owned();
    assert!(!ack.contains("MSA|AA"), "forged message acknowledged: {ack}");
    // The real message is taken as new, not acknowledged as a duplicate and dropped.
    let hospital = connector(&setup.ca, Some(&setup.registered));
    let (ack, _) = exchange(&hospital, mllp, &admission("HIS|ZIEKENHUIS", "SQUAT1", "999911120")).await;
    let ack = String::from_utf8_lossy(&ack).into_owned();
    assert!(
        ack.contains("MSA|AA|SQUAT1") && !ack.contains("already received"),
        "{ack}"
    );
    // The hospital reusing its own control id for another patient is refused.
    let (ack, _) = exchange(&hospital, mllp, &admission("HIS|ZIEKENHUIS", "SQUAT1", "999910851")).await;
    let ack = String::from_utf8_lossy(&ack).into_owned();
    assert!(
        ack.contains("MSA|AE|SQUAT1") && ack.contains("control id reused with other content"),
        "{ack}"
    );
    setup.gateway.shutdown().await;
    let store = zorgpoort_store::SqliteStore::open(
        &setup.dir.join("data/zorgpoort.db"),
        zorgpoort_store::Durability::ProcessCrash,
    )
    .unwrap();
    let real = store.messages_of("999911120", 10).await.unwrap();
    assert_eq!(real.len(), 1);
    let record = store.message(&real[0]).await.unwrap().unwrap();
    assert_eq!(
        (record.sender.as_str(), record.control_id.as_str()),
        ("HIS/ZIEKENHUIS", "SQUAT1")
    );
    assert!(store.messages_of("999910851", 10).await.unwrap().is_empty());
}
