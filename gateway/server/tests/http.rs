//! HTTP behaviour of the gateway in process: compression, errors as
//! OperationOutcomes for unknown formats and methods, request ids.
#![allow(clippy::unwrap_used)]

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zorgpoort_server::Config;

async fn start(name: &str) -> zorgpoort_server::Gateway {
    let dir = std::env::temp_dir().join(format!("zorgpoort-http-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = format!(
        "[server]\nunauthenticated_demo = true\nhttp = \"127.0.0.1:0\"\nmllp = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n\n[[organization]]\nid = \"a\"\nname = \"A\"\nkind = \"vvt\"\n",
        dir.display()
    );
    zorgpoort_server::start(Config::load(Some(&config), []).unwrap())
        .await
        .unwrap()
}

async fn raw(gateway: &zorgpoort_server::Gateway, request: &str) -> (String, Vec<u8>) {
    let mut stream = TcpStream::connect(gateway.http_addr()).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    (
        String::from_utf8_lossy(&response[..split]).to_ascii_lowercase(),
        response[split + 4..].to_vec(),
    )
}

#[tokio::test]
async fn responses_are_gzipped_for_clients_that_accept_it() {
    let gateway = start("gzip").await;
    let (head, body) = raw(
        &gateway,
        "GET /fhir/metadata HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(head.contains("content-encoding: gzip"), "{head}");
    // Chunked: the first chunk's size line, then the gzip magic number.
    let data = &body[body.windows(2).position(|w| w == b"\r\n").unwrap() + 2..];
    assert_eq!(&data[..2], &[0x1f, 0x8b]);
    let (head, body) = raw(
        &gateway,
        "GET /fhir/metadata HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(!head.contains("content-encoding"), "{head}");
    assert!(String::from_utf8_lossy(&body).contains("CapabilityStatement"));
    gateway.shutdown().await;
}

#[tokio::test]
async fn errors_are_operation_outcomes_with_request_ids() {
    let gateway = start("errors").await;
    let (head, body) = raw(&gateway, "POST /convert/fhir-dstu2 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nX-Request-Id: abc-123\r\nConnection: close\r\n\r\n").await;
    assert!(head.starts_with("http/1.1 404"), "{head}");
    assert!(head.contains("x-request-id: abc-123"));
    let body = String::from_utf8_lossy(&body).into_owned();
    assert!(
        body.contains("\"resourceType\":\"OperationOutcome\"")
            && body.contains("is not supported; supported: hl7v2, cda"),
        "{body}"
    );
    let (head, body) = raw(
        &gateway,
        "DELETE /hl7v2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("http/1.1 405"), "{head}");
    assert!(String::from_utf8_lossy(&body).contains("OperationOutcome"));
    let (head, _) = raw(
        &gateway,
        "GET /messages/does-not-exist HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("http/1.1 404"), "{head}");
    assert!(
        head.contains("x-request-id: "),
        "a request id is made when none is sent"
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn the_registry_is_searchable_as_a_searchset() {
    let gateway = start("searchset").await;
    let (head, body) = raw(
        &gateway,
        "GET /fhir/Organization HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let bundle: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(bundle["type"], "searchset");
    assert_eq!(bundle["total"], 1);
    assert_eq!(bundle["entry"][0]["resource"]["id"], "a");
    let (_, body) = raw(
        &gateway,
        "GET /fhir/Endpoint HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    let bundle: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(bundle["total"], 0, "organisation a has no endpoints");
    assert!(bundle.get("entry").is_none());
    gateway.shutdown().await;
}

#[tokio::test]
async fn the_demo_inbox_takes_notifications_and_knows_the_port_chosen_by_the_os() {
    let dir = std::env::temp_dir().join(format!("zorgpoort-http-inbox-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = format!(
        "[server]\nunauthenticated_demo = true\nhttp = \"127.0.0.1:0\"\nmllp = \"127.0.0.1:0\"\ndata_dir = \"{}\"\ndemo_inbox = true\n\n\
         [[organization]]\nid = \"b\"\nname = \"B\"\nkind = \"vvt\"\n\n\
         [[organization.endpoint]]\nprotocol = \"fhir-stu3\"\naddress = \"http://{{http}}/demo/inbox/b\"\n",
        dir.display()
    );
    let gateway = zorgpoort_server::start(Config::load(Some(&config), []).unwrap())
        .await
        .unwrap();
    let own = format!("http://{}/demo/inbox/b", gateway.http_addr());
    let (_, body) = raw(
        &gateway,
        "GET /fhir/Endpoint HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        String::from_utf8_lossy(&body).contains(&own),
        "the endpoint names the bound port: {}",
        String::from_utf8_lossy(&body)
    );

    let notification = r#"{"resourceType":"Task","status":"requested","intent":"proposal","focus":{"reference":"http://gw/fhir/Task/t1"}}"#;
    let (head, _) = raw(
        &gateway,
        &format!(
            "POST /demo/inbox/b/Task HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json; fhirVersion=3.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{notification}",
            notification.len()
        ),
    )
    .await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let bundle = r#"{"resourceType":"Bundle","id":"b1","type":"transaction","entry":[{},{}]}"#;
    let (head, _) = raw(
        &gateway,
        &format!(
            "POST /demo/inbox/b HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{bundle}",
            bundle.len()
        ),
    )
    .await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let (_, body) = raw(
        &gateway,
        "GET /demo/inbox/b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    let listed: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        listed["received"],
        serde_json::json!([
            { "resourceType": "Task", "fhirVersion": "STU3", "summary": "Task notification for http://gw/fhir/Task/t1" },
            { "resourceType": "Bundle", "fhirVersion": "R4", "summary": "Bundle b1 with 2 entries" }
        ])
    );
    gateway.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
