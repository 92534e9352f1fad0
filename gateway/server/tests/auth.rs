//! Who may do what, without TLS: a region that authenticates nobody does not
//! start; in a demo region the organisation named in the header still needs
//! the registry's roles, and anonymous callers read nothing about a patient.
//! Also the edges every route shares: probes outside the request limits, a
//! declared oversize body refused at once, every error an OperationOutcome,
//! FHIR's id rule, and no JSON shape that upsets a handler.
#![allow(clippy::unwrap_used)]

use std::fmt::Write as _;
use std::time::Duration;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zorgpoort_server::{Config, StartError};

const REGION: &str = r#"
[[organization]]
id = "ziekenhuis"
name = "Ziekenhuis"
kind = "ziekenhuis"
senders = ["HIS/ZIEKENHUIS"]

[[organization]]
id = "privacy"
name = "Privacy officer"
kind = "ziekenhuis"
audit_reader = true
break_the_glass = true

[[organization]]
id = "praktijk"
name = "Huisartsenpraktijk"
kind = "huisarts"
consent_recorder = true
"#;

fn data_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("zorgpoort-auth-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

async fn start_with(name: &str, server: &str) -> Result<zorgpoort_server::Gateway, StartError> {
    let http = if server.contains("http = ") {
        ""
    } else {
        "http = \"127.0.0.1:0\"\n"
    };
    let config = format!(
        "[server]\n{http}mllp = \"127.0.0.1:0\"\ndata_dir = \"{}\"\ndurability = \"process-crash\"\n{server}\n{REGION}",
        data_dir(name).display()
    );
    zorgpoort_server::start(Config::load(Some(&config), []).unwrap()).await
}

async fn demo(name: &str, server: &str) -> zorgpoort_server::Gateway {
    start_with(name, &format!("unauthenticated_demo = true\n{server}"))
        .await
        .unwrap()
}

/// Sends raw bytes; the status code, the lowercased head and the body.
async fn exchange(address: std::net::SocketAddr, request: &[u8]) -> (u16, String, Vec<u8>) {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut response))
        .await
        .unwrap()
        .unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
    let status = head[9..12].parse().unwrap();
    (status, head, response[split + 4..].to_vec())
}

fn request(method: &str, path: &str, requester: Option<&str>, body: Option<&str>) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    if let Some(org) = requester {
        let _ = write!(head, "X-Zorgpoort-Requester: {org}\r\n");
    }
    if let Some(body) = body {
        let _ = write!(
            head,
            "Content-Type: application/fhir+json\r\nContent-Length: {}\r\n",
            body.len()
        );
    }
    head.push_str("\r\n");
    head.push_str(body.unwrap_or_default());
    head.into_bytes()
}

fn outcome(body: &[u8]) -> Value {
    let json: Value = serde_json::from_slice(body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)));
    assert_eq!(json["resourceType"], "OperationOutcome", "{json}");
    json
}

fn consent(id: &str, decision: &str) -> String {
    format!(
        r#"{{"resourceType":"Consent","id":"{id}","status":"active","scope":{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}}]}},"category":[{{"coding":[{{"system":"http://loinc.org","code":"59284-0"}}]}}],"patient":{{"identifier":{{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":"999911120"}}}},"provision":{{"type":"{decision}","actor":[{{"role":{{"coding":[{{"system":"https://zorgpoort.nl/fhir/CodeSystem/organization-category","code":"vvt"}}]}},"reference":{{"display":"VVT"}}}}]}}}}"#
    )
}

#[tokio::test]
async fn a_region_without_authentication_does_not_start() {
    let refused = |error: Result<zorgpoort_server::Gateway, StartError>| match error {
        Ok(_) => panic!("started"),
        Err(error) => error.to_string(),
    };
    let text = refused(start_with("no-tls", "").await);
    assert!(text.starts_with("tls: ") && text.contains("mutual TLS"), "{text}");

    let dir = data_dir("no-client-ca");
    let tls = format!(
        "\n[tls]\ncertificate = \"{0}/server.pem\"\nprivate_key = \"{0}/server.key\"\n",
        dir.display()
    );
    let config = format!(
        "[server]\nhttp = \"127.0.0.1:0\"\nmllp = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n{tls}{REGION}",
        dir.display()
    );
    let text = refused(zorgpoort_server::start(Config::load(Some(&config), []).unwrap()).await);
    assert!(text.starts_with("tls.client_ca: "), "{text}");

    let text = refused(start_with("demo-exposed", "unauthenticated_demo = true\nhttp = \"0.0.0.0:0\"").await);
    assert!(
        text.starts_with("server.unauthenticated_demo: ") && text.contains("loopback"),
        "{text}"
    );
    let text = refused(start_with("ops-exposed", "unauthenticated_demo = true\nops = \"0.0.0.0:0\"").await);
    assert!(text.starts_with("server.ops: "), "{text}");
}

#[tokio::test]
async fn demo_callers_need_the_registry_role_for_audit_consent_and_emergencies() {
    let gateway = demo("roles", "").await;
    let http = gateway.http_addr();
    let audit = "/fhir/AuditEvent?patient=999911120";
    // Anonymous, a stranger, an organisation without the role, the reader.
    for (who, expected) in [
        (None, 401),
        (Some("onbekend"), 403),
        (Some("ziekenhuis"), 403),
        (Some("privacy"), 200),
    ] {
        let (status, head, body) = exchange(http, &request("GET", audit, who, None)).await;
        assert_eq!(status, expected, "{who:?}: {}", String::from_utf8_lossy(&body));
        assert!(head.contains("x-zorgpoort-demo: demo region"), "{head}");
        if expected != 200 {
            outcome(&body);
        }
    }
    // Consent writes: only a recorder; anonymous is 401.
    for method in ["POST", "PUT"] {
        let path = if method == "POST" {
            "/fhir/Consent"
        } else {
            "/fhir/Consent/geen-vvt"
        };
        let body = consent("geen-vvt", "permit");
        let (status, _, _) = exchange(http, &request(method, path, None, Some(&body))).await;
        assert_eq!(status, 401, "anonymous {method}");
        let (status, _, _) = exchange(http, &request(method, path, Some("ziekenhuis"), Some(&body))).await;
        assert_eq!(status, 403, "{method} by a non-recorder");
    }
    let (status, _, body) = exchange(
        http,
        &request(
            "POST",
            "/fhir/Consent",
            Some("praktijk"),
            Some(&consent("geen-vvt", "deny")),
        ),
    )
    .await;
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    // Reads of what the gateway holds need an organisation.
    for path in [
        "/fhir/Consent/geen-vvt",
        "/fhir/Consent?patient=999911120",
        "/fhir/Bundle/00000000-0000-0000-0000-000000000000",
        "/fhir/Patient?identifier=http://fhir.nl/fhir/NamingSystem/bsn|999911120",
    ] {
        let (status, head, body) = exchange(http, &request("GET", path, None, None)).await;
        assert_eq!(status, 401, "{path}");
        assert!(head.contains("www-authenticate"), "{head}");
        assert!(outcome(&body).to_string().contains("X-Zorgpoort-Requester"));
    }
    // Break-the-glass needs the registry's permission, not only the header.
    let emergency = |org: &str| {
        format!(
            "GET /fhir/Patient?identifier=http://fhir.nl/fhir/NamingSystem/bsn|999911120 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
             X-Zorgpoort-Requester: {org}\r\nX-Purpose-Of-Use: emergency\r\nX-Break-The-Glass-Reason: bewusteloos\r\n\r\n"
        )
        .into_bytes()
    };
    let (status, _, body) = exchange(http, &emergency("ziekenhuis")).await;
    assert_eq!(status, 403, "{}", String::from_utf8_lossy(&body));
    assert!(outcome(&body).to_string().contains("break-the-glass"));
    let (status, _, body) = exchange(http, &emergency("privacy")).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_message_s_state_is_for_its_sender_receivers_and_audit_readers() {
    let gateway = demo("message-state", "").await;
    let http = gateway.http_addr();
    let message = "MSH|^~\\&|HIS|ZIEKENHUIS|||20261124093015+0100||ADT^A01^ADT_A01|S1|P|2.5\r\
                   PID|1||1^^^Z^PI~999911120^^^NLMINBIZA^NNNLD||Visser^Daan||19520604|M\r";
    let post = format!(
        "POST /messages/hl7v2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Zorgpoort-Requester: ziekenhuis\r\n\
         Content-Type: text/plain\r\nContent-Length: {}\r\n\r\n{message}",
        message.len()
    );
    let (status, head, body) = exchange(http, post.as_bytes()).await;
    assert_eq!(status, 202, "{}", String::from_utf8_lossy(&body));
    let location = head
        .lines()
        .find_map(|l| l.strip_prefix("location: "))
        .unwrap()
        .to_owned();
    for (who, expected) in [
        (Some("ziekenhuis"), 200),
        (Some("privacy"), 200),
        (Some("praktijk"), 404),
        (None, 200),
    ] {
        let (status, _, _) = exchange(http, &request("GET", &location, who, None)).await;
        assert_eq!(status, expected, "{who:?}");
    }
    gateway.shutdown().await;
}

#[tokio::test]
async fn probes_answer_while_requests_are_shed() {
    let gateway = demo("probes", "max_concurrent_requests = 1\nops = \"127.0.0.1:0\"").await;
    let http = gateway.http_addr();
    // One request holds the only slot: its body never completes.
    let mut held = TcpStream::connect(http).await.unwrap();
    held.write_all(b"POST /hl7v2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\nMSH|")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (status, _, body) = exchange(http, &request("GET", "/fhir/metadata", None, None)).await;
    assert_eq!(status, 503, "{}", String::from_utf8_lossy(&body));
    outcome(&body);
    for probe in ["/healthz", "/readyz", "/metrics"] {
        let (status, _, _) = exchange(http, &request("GET", probe, None, None)).await;
        assert_eq!(status, 200, "{probe}");
    }
    drop(held);
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_declared_oversize_body_is_refused_before_it_is_sent() {
    let gateway = demo("oversize", "").await;
    let head = "POST /hl7v2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 10000000000\r\nConnection: close\r\n\r\n";
    // No body follows; the answer must not wait for it.
    let (status, _, body) = exchange(gateway.http_addr(), head.as_bytes()).await;
    assert_eq!(status, 413);
    assert_eq!(outcome(&body)["issue"][0]["code"], "too-costly");
    gateway.shutdown().await;
}

#[tokio::test]
async fn bad_ids_and_paths_get_operation_outcomes() {
    let gateway = demo("ids", "").await;
    let http = gateway.http_addr();
    for path in [
        "/fhir/Consent/%ff%fe",
        "/fhir/Consent/..%2F..%2Fetc%2Fpasswd",
        "/fhir/Task/a%20b",
        "/fhir/Bundle/%00",
    ] {
        let (status, _, body) = exchange(http, &request("GET", path, Some("praktijk"), None)).await;
        assert!((400..500).contains(&status), "{path}: {status}");
        outcome(&body);
    }
    // An id in the body is held to the same rule.
    let body = consent("../../etc/passwd", "deny");
    let (status, _, answer) = exchange(http, &request("POST", "/fhir/Consent", Some("praktijk"), Some(&body))).await;
    assert_eq!(status, 422);
    assert_eq!(outcome(&answer)["issue"][0]["expression"][0], "Consent.id");
    gateway.shutdown().await;
}

/// Every route that reads a JSON body, with who may call it.
const JSON_ROUTES: &[(&str, &str, &str)] = &[
    ("POST", "/fhir/Consent", "praktijk"),
    ("PUT", "/fhir/Consent/x", "praktijk"),
    ("POST", "/fhir/Task", "ziekenhuis"),
    ("PUT", "/fhir/Task/x", "ziekenhuis"),
    ("POST", "/fhir", "ziekenhuis"),
    ("POST", "/fhir/proxy/ziekenhuis", "ziekenhuis"),
    ("POST", "/fhir/$validate", "ziekenhuis"),
    ("POST", "/fhir/Consent/$validate", "ziekenhuis"),
    ("POST", "/convert/fhir-r4", "ziekenhuis"),
    ("POST", "/messages/fhir-r4", "ziekenhuis"),
];

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop_oneof![
            Just("Consent".to_owned()),
            Just("Bundle".to_owned()),
            Just("Task".to_owned()),
            ".{0,12}"
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("resourceType".to_owned()),
                    Just("id".to_owned()),
                    Just("type".to_owned()),
                    Just("entry".to_owned()),
                    Just("patient".to_owned()),
                    Just("provision".to_owned()),
                    "[a-z]{1,8}"
                ],
                inner,
                0..5
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

#[test]
fn no_json_shape_upsets_a_handler() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let gateway = runtime.block_on(demo("json-shapes", ""));
    let http = gateway.http_addr();
    let mut shapes: Vec<Value> = [
        "[]",
        "1",
        "\"x\"",
        "true",
        "null",
        "{}",
        r#"{"resourceType":"Consent"}"#,
    ]
    .iter()
    .map(|text| serde_json::from_str(text).unwrap())
    .collect();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(48));
    for _ in 0..48 {
        shapes.push(arbitrary_json().new_tree(&mut runner).unwrap().current());
    }
    for shape in &shapes {
        let body = shape.to_string();
        for (method, path, org) in JSON_ROUTES {
            let (status, _, answer) = runtime.block_on(exchange(http, &request(method, path, Some(org), Some(&body))));
            assert!(
                status < 500,
                "{method} {path} {body}: {status} {}",
                String::from_utf8_lossy(&answer)
            );
            let json: Value = serde_json::from_slice(&answer).unwrap_or_else(|e| {
                panic!(
                    "{method} {path} {body}: not JSON ({e}): {}",
                    String::from_utf8_lossy(&answer)
                )
            });
            assert!(json["resourceType"].is_string(), "{method} {path} {body}: {json}");
        }
    }
    runtime.block_on(gateway.shutdown());
}
