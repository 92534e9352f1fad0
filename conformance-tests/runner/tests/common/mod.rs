//! Test doubles for the runner's tests: a small in-memory FHIR R4 server
//! (read, vread, search, create, update, conditional update, delete,
//! history, transaction, batch, `$validate`, JSON and XML answers) that can
//! also misbehave on purpose, and an MLLP listener that answers ACKs.

#![allow(
    clippy::unwrap_used,
    dead_code,
    reason = "a test double; each test binary uses part of it"
)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How the server behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// As FHIR R4 says.
    Correct,
    /// Wrong on purpose: create answers 200 without Location, reads come as
    /// text/plain, the CapabilityStatement claims STU3, searchsets have no
    /// links.
    Wrong,
}

#[derive(Default)]
struct Store {
    /// Versions per (type, id); `None` is a deletion.
    resources: BTreeMap<(String, String), Vec<Option<Value>>>,
    next_id: usize,
}

struct Server {
    mode: Mode,
    base: String,
    store: Mutex<Store>,
}

const LAST_UPDATED: &str = "2026-12-07T12:00:00Z";
const LAST_MODIFIED: &str = "Mon, 07 Dec 2026 12:00:00 GMT";

/// Starts a server on a loopback port; its base URL.
pub async fn fhir_server(mode: Mode, preload: &[Value]) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = Arc::new(Server {
        mode,
        base: base.clone(),
        store: Mutex::new(Store::default()),
    });
    for resource in preload {
        let key = (
            resource["resourceType"].as_str().unwrap().to_owned(),
            resource["id"].as_str().unwrap().to_owned(),
        );
        server
            .store
            .lock()
            .unwrap()
            .resources
            .insert(key, vec![Some(resource.clone())]);
    }
    let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
        let server = Arc::clone(&server);
        async move { server.handle(&method, &uri, &headers, &body) }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

fn outcome(status: StatusCode, code: &str, text: &str) -> (StatusCode, Value) {
    let body = json!({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": code, "diagnostics": text}]});
    (status, body)
}

/// One answer before encoding: status, resource, extra headers.
struct Answer {
    status: StatusCode,
    body: Option<Value>,
    headers: Vec<(&'static str, String)>,
}

impl From<(StatusCode, Value)> for Answer {
    fn from((status, body): (StatusCode, Value)) -> Self {
        Self {
            status,
            body: Some(body),
            headers: Vec::new(),
        }
    }
}

impl Server {
    fn handle(&self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Response {
        let accept = headers.get("accept").and_then(|v| v.to_str().ok()).unwrap_or("");
        let wants_xml = accept.contains("xml") || uri.query().is_some_and(|q| q.contains("_format=xml"));
        let path = uri.path().trim_matches('/').to_owned();
        let segments: Vec<&str> = if path.is_empty() {
            Vec::new()
        } else {
            path.split('/').collect()
        };
        let query: Vec<(String, String)> = uri
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .filter_map(|p| p.split_once('=').map(|(k, v)| (k.to_owned(), decode(v))))
            .filter(|(k, _)| k != "_format")
            .collect();
        let parsed = if body.is_empty() {
            None
        } else {
            match zorgpoort_profiles::parse(body, &zorgpoort_profiles::xml::XmlLimits::default()) {
                Ok(value) => Some(value),
                Err(e) => {
                    return self.encode(
                        outcome(StatusCode::BAD_REQUEST, "structure", &e.to_string()).into(),
                        false,
                        false,
                    );
                }
            }
        };
        let is_read = *method == Method::GET && segments.len() == 2;
        let answer = self.route(method, &segments, &query, parsed);
        self.encode(answer, wants_xml, is_read)
    }

    fn route(&self, method: &Method, segments: &[&str], query: &[(String, String)], body: Option<Value>) -> Answer {
        match (method.as_str(), segments) {
            ("GET", ["metadata"]) => {
                let version = if self.mode == Mode::Wrong { "3.0.2" } else { "4.0.1" };
                (
                    StatusCode::OK,
                    json!({"resourceType": "CapabilityStatement", "status": "active", "date": "2026-12-07",
                        "kind": "instance", "fhirVersion": version, "format": ["json", "xml"],
                        "rest": [{"mode": "server"}]}),
                )
                    .into()
            }
            ("POST", []) => self.bundle(body),
            ("GET", ["_history"]) => self.history(None, None),
            ("GET", [t]) => self.search(t, query),
            ("POST", [t]) => self.create(t, body, None),
            ("PUT", [t]) if !query.is_empty() => self.conditional_update(t, query, body),
            ("POST", [t, op] | [t, _, op]) if *op == "$validate" => Self::validate(t, body),
            ("GET", [t, "_history"]) => self.history(Some(t), None),
            (_, [_, id, ..]) if !valid_id(id) => outcome(StatusCode::BAD_REQUEST, "invalid", "not a valid id").into(),
            ("GET", [t, id]) => self.read(t, id, None),
            ("PUT", [t, id]) => self.update(t, id, body),
            ("DELETE", [t, id]) => self.delete(t, id),
            ("GET", [t, id, "_history"]) => self.history(Some(t), Some(id)),
            ("GET", [t, id, "_history", version]) => self.read(t, id, Some(version)),
            _ => outcome(StatusCode::NOT_FOUND, "not-found", "no such endpoint").into(),
        }
    }

    fn stamped(resource: &Value, version: usize) -> Value {
        let mut resource = resource.clone();
        resource["meta"] = json!({"versionId": version.to_string(), "lastUpdated": LAST_UPDATED});
        resource
    }

    fn located(&self, status: StatusCode, resource: Value, t: &str, id: &str, version: usize) -> Answer {
        let mut headers = vec![
            ("ETag", format!("W/\"{version}\"")),
            ("Last-Modified", LAST_MODIFIED.to_owned()),
        ];
        if self.mode == Mode::Correct && status == StatusCode::CREATED {
            headers.push(("Location", format!("{}/{t}/{id}/_history/{version}", self.base)));
        }
        let status = if self.mode == Mode::Wrong && status == StatusCode::CREATED {
            StatusCode::OK
        } else {
            status
        };
        Answer {
            status,
            body: Some(resource),
            headers,
        }
    }

    fn read(&self, t: &str, id: &str, version: Option<&str>) -> Answer {
        let store = self.store.lock().unwrap();
        let Some(versions) = store.resources.get(&(t.to_owned(), id.to_owned())) else {
            return outcome(StatusCode::NOT_FOUND, "not-found", &format!("no {t}/{id}")).into();
        };
        let number = match version.map(str::parse::<usize>) {
            None => versions.len(),
            Some(Ok(n)) if (1..=versions.len()).contains(&n) => n,
            Some(_) => return outcome(StatusCode::NOT_FOUND, "not-found", "no such version").into(),
        };
        match &versions[number - 1] {
            Some(resource) => self.located(StatusCode::OK, Self::stamped(resource, number), t, id, number),
            None => outcome(StatusCode::GONE, "deleted", &format!("{t}/{id} was deleted")).into(),
        }
    }

    fn put(&self, t: &str, id: &str, mut resource: Value) -> (StatusCode, Value, usize) {
        resource["id"] = Value::String(id.to_owned());
        let mut store = self.store.lock().unwrap();
        let versions = store.resources.entry((t.to_owned(), id.to_owned())).or_default();
        let created = versions.last().is_none_or(Option::is_none);
        versions.push(Some(resource.clone()));
        let version = versions.len();
        let status = if created { StatusCode::CREATED } else { StatusCode::OK };
        (status, Self::stamped(&resource, version), version)
    }

    fn checked_body(t: &str, body: Option<Value>) -> Result<Value, Answer> {
        let Some(resource) = body else {
            return Err(outcome(StatusCode::BAD_REQUEST, "required", "no body").into());
        };
        if resource["resourceType"] != t {
            return Err(outcome(StatusCode::BAD_REQUEST, "invalid", "resourceType differs from the URL").into());
        }
        Ok(resource)
    }

    fn create(&self, t: &str, body: Option<Value>, id: Option<String>) -> Answer {
        let resource = match Self::checked_body(t, body) {
            Ok(resource) => resource,
            Err(answer) => return answer,
        };
        let id = id.unwrap_or_else(|| {
            let mut store = self.store.lock().unwrap();
            store.next_id += 1;
            format!("created-{}", store.next_id)
        });
        let (status, stored, version) = self.put(t, &id, resource);
        self.located(status, stored, t, &id, version)
    }

    fn update(&self, t: &str, id: &str, body: Option<Value>) -> Answer {
        let resource = match Self::checked_body(t, body) {
            Ok(resource) => resource,
            Err(answer) => return answer,
        };
        if resource.get("id").and_then(Value::as_str) != Some(id) {
            return outcome(
                StatusCode::BAD_REQUEST,
                "invalid",
                "the body's id differs from the URL's",
            )
            .into();
        }
        let (status, stored, version) = self.put(t, id, resource);
        self.located(status, stored, t, id, version)
    }

    fn conditional_update(&self, t: &str, query: &[(String, String)], body: Option<Value>) -> Answer {
        let matches = self.matching(t, query);
        match matches.as_slice() {
            [] => {
                let id = body.as_ref().and_then(|b| b["id"].as_str()).map(str::to_owned);
                self.create(t, body, id)
            }
            [(id, _)] => {
                let mut body = body;
                if let Some(resource) = body.as_mut() {
                    resource["id"] = Value::String(id.clone());
                }
                self.update(t, &id.clone(), body)
            }
            _ => outcome(StatusCode::PRECONDITION_FAILED, "multiple-matches", "several matches").into(),
        }
    }

    fn delete(&self, t: &str, id: &str) -> Answer {
        let mut store = self.store.lock().unwrap();
        if let Some(versions) = store.resources.get_mut(&(t.to_owned(), id.to_owned()))
            && versions.last().is_some_and(Option::is_some)
        {
            versions.push(None);
        }
        Answer {
            status: StatusCode::NO_CONTENT,
            body: None,
            headers: Vec::new(),
        }
    }

    /// Current resources of type `t` matching the search parameters the
    /// server knows (`_id`, `family`, `given`, `name`, `identifier`,
    /// `gender`); others are ignored, as FHIR allows.
    fn matching(&self, t: &str, query: &[(String, String)]) -> Vec<(String, Value)> {
        let store = self.store.lock().unwrap();
        let starts = |values: Vec<&Value>, wanted: &str| {
            values
                .iter()
                .filter_map(|v| v.as_str())
                .any(|v| v.to_lowercase().starts_with(&wanted.to_lowercase()))
        };
        store
            .resources
            .iter()
            .filter(|((rt, _), _)| rt == t)
            .filter_map(|((_, id), versions)| versions.last().cloned().flatten().map(|r| (id.clone(), r)))
            .filter(|(id, resource)| {
                query.iter().all(|(name, wanted)| {
                    let names = resource["name"].as_array().cloned().unwrap_or_default();
                    let family: Vec<&Value> = names.iter().map(|n| &n["family"]).collect();
                    let given: Vec<&Value> = names
                        .iter()
                        .flat_map(|n| n["given"].as_array().into_iter().flatten())
                        .collect();
                    match name.as_str() {
                        "_id" => id == wanted,
                        "family" => starts(family, wanted),
                        "given" => starts(given, wanted),
                        "name" => starts(family.into_iter().chain(given).collect(), wanted),
                        "gender" => resource["gender"] == wanted.as_str(),
                        "identifier" => resource["identifier"].as_array().into_iter().flatten().any(|i| {
                            let value = i["value"].as_str().unwrap_or("");
                            let system = i["system"].as_str().unwrap_or("");
                            match wanted.split_once('|') {
                                Some((s, v)) => s == system && v == value,
                                None => value == wanted,
                            }
                        }),
                        _ => true,
                    }
                })
            })
            .collect()
    }

    fn search(&self, t: &str, query: &[(String, String)]) -> Answer {
        if !t.chars().next().is_some_and(|c| c.is_ascii_uppercase()) {
            return outcome(StatusCode::NOT_FOUND, "not-supported", "unknown resource type").into();
        }
        let found = self.matching(t, query);
        let self_url = format!(
            "{}/{t}?{}",
            self.base,
            query
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&")
        );
        let mut bundle = json!({
            "resourceType": "Bundle", "type": "searchset", "total": found.len(),
            "entry": found.iter().map(|(id, r)| json!({
                "fullUrl": format!("{}/{t}/{id}", self.base), "resource": r, "search": {"mode": "match"}
            })).collect::<Vec<_>>(),
        });
        if self.mode == Mode::Correct {
            bundle["link"] = json!([
                {"relation": "self", "url": self_url},
                {"relation": "first", "url": self_url},
                {"relation": "last", "url": self_url},
            ]);
        }
        if found.is_empty() {
            bundle.as_object_mut().unwrap().remove("entry");
        }
        (StatusCode::OK, bundle).into()
    }

    fn history(&self, t: Option<&str>, id: Option<&str>) -> Answer {
        let store = self.store.lock().unwrap();
        let mut entries = Vec::new();
        for ((rt, rid), versions) in &store.resources {
            if t.is_some_and(|t| t != rt) || id.is_some_and(|id| id != rid) {
                continue;
            }
            for (index, version) in versions.iter().enumerate().rev() {
                let full_url = format!("{}/{rt}/{rid}", self.base);
                let mut entry = json!({"fullUrl": full_url, "request": {"method": "PUT", "url": format!("{rt}/{rid}")},
                    "response": {"status": if index == 0 { "201" } else { "200" }}});
                if let Some(resource) = version {
                    entry["resource"] = Self::stamped(resource, index + 1);
                } else {
                    entry["request"]["method"] = json!("DELETE");
                    entry["response"]["status"] = json!("204");
                }
                entries.push(entry);
            }
        }
        let bundle = json!({"resourceType": "Bundle", "type": "history", "total": entries.len(), "entry": entries});
        (StatusCode::OK, bundle).into()
    }

    fn validate(t: &str, body: Option<Value>) -> Answer {
        let Some(body) = body else {
            return outcome(StatusCode::BAD_REQUEST, "required", "no body").into();
        };
        let resource = if body["resourceType"] == "Parameters" {
            body["parameter"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["name"] == "resource")
                .map(|p| p["resource"].clone())
        } else {
            Some(body)
        };
        let Some(resource) = resource.filter(|r| r["resourceType"] == t) else {
            return outcome(StatusCode::BAD_REQUEST, "invalid", "no resource of that type").into();
        };
        let issues = zorgpoort_profiles::validate(&resource, zorgpoort_profiles::ProfileChoice::Claimed);
        (StatusCode::OK, zorgpoort_profiles::operation_outcome(&issues)).into()
    }

    /// A transaction or batch: each entry done in turn.
    fn bundle(&self, body: Option<Value>) -> Answer {
        let Some(bundle) = body.filter(|b| b["resourceType"] == "Bundle") else {
            return outcome(StatusCode::BAD_REQUEST, "invalid", "expected a Bundle").into();
        };
        let kind = bundle["type"].as_str().unwrap_or("");
        if kind != "transaction" && kind != "batch" {
            return outcome(StatusCode::BAD_REQUEST, "invalid", "expected a transaction or batch").into();
        }
        let mut responses = Vec::new();
        for entry in bundle["entry"].as_array().into_iter().flatten() {
            let method = Method::from_bytes(entry["request"]["method"].as_str().unwrap_or("GET").as_bytes())
                .unwrap_or(Method::GET);
            let url = entry["request"]["url"].as_str().unwrap_or("");
            let (path, query) = url.split_once('?').unwrap_or((url, ""));
            let segments: Vec<&str> = path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
            let query: Vec<(String, String)> = query
                .split('&')
                .filter_map(|p| p.split_once('=').map(|(k, v)| (k.to_owned(), decode(v))))
                .collect();
            let answer = self.route(&method, &segments, &query, entry.get("resource").cloned());
            let mut response = json!({"status": answer.status.as_u16().to_string()});
            if let Some((_, location)) = answer.headers.iter().find(|(name, _)| *name == "Location") {
                response["location"] = json!(location);
            }
            let mut out = json!({"response": response});
            if let Some(resource) = answer.body {
                out["resource"] = resource;
            }
            responses.push(out);
        }
        let bundle = json!({"resourceType": "Bundle", "type": format!("{kind}-response"), "entry": responses});
        (StatusCode::OK, bundle).into()
    }

    fn encode(&self, answer: Answer, wants_xml: bool, is_read: bool) -> Response {
        let (content_type, text) = match &answer.body {
            None => (None, String::new()),
            Some(body) if wants_xml => (Some("application/fhir+xml; charset=utf-8"), to_xml(body)),
            Some(body) => (Some("application/fhir+json; charset=utf-8"), body.to_string()),
        };
        let content_type = if self.mode == Mode::Wrong && is_read {
            Some("text/plain")
        } else {
            content_type
        };
        let mut response = (answer.status, text).into_response();
        let headers = response.headers_mut();
        headers.remove("content-type");
        if let Some(content_type) = content_type {
            headers.insert("content-type", content_type.parse().unwrap());
        }
        for (name, value) in answer.headers {
            headers.insert(name, value.parse().unwrap());
        }
        response
    }
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(byte) = u8::from_str_radix(&text[i + 1..i + 3], 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('"', "&quot;")
}

/// FHIR XML of a resource, good enough for the runner's reader: element
/// order is the JSON's (alphabetical), which that reader does not mind.
pub fn to_xml(resource: &Value) -> String {
    let t = resource["resourceType"].as_str().unwrap_or("Resource");
    format!("<{t} xmlns=\"http://hl7.org/fhir\">{}</{t}>", children(resource))
}

fn children(object: &Value) -> String {
    let mut out = String::new();
    for (name, value) in object.as_object().into_iter().flatten() {
        if name == "resourceType" || name.starts_with('_') {
            continue;
        }
        match value {
            Value::Array(items) => items.iter().for_each(|item| out.push_str(&element(name, item))),
            other => out.push_str(&element(name, other)),
        }
    }
    out
}

fn element(name: &str, value: &Value) -> String {
    match value {
        Value::Object(_) if value.get("resourceType").is_some() => {
            let t = value["resourceType"].as_str().unwrap_or("Resource");
            format!("<{name}><{t}>{}</{t}></{name}>", children(value))
        }
        Value::Object(_) => format!("<{name}>{}</{name}>", children(value)),
        Value::String(text) if name == "div" => text.clone(),
        Value::String(text) => format!("<{name} value=\"{}\"/>", escape(text)),
        other => format!("<{name} value=\"{other}\"/>"),
    }
}

/// How the MLLP listener answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// AA for a framed message with MSH-10; AE with an ERR for one without
    /// MSH-9; AR (MSA-3 "framing") for bytes that do not start with 0x0B.
    Acks,
    /// Reads and never answers.
    Silent,
}

/// Starts an MLLP listener on a loopback port; `host:port` and the number
/// of connections it has served.
pub async fn mllp_listener(behaviour: Listener) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let served = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&served);
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut received = Vec::new();
                let mut buffer = [0u8; 1024];
                loop {
                    let Ok(read) = stream.read(&mut buffer).await else {
                        return;
                    };
                    if read == 0 {
                        return;
                    }
                    received.extend_from_slice(&buffer[..read]);
                    if received.windows(2).any(|w| w == [0x1c, 0x0d]) {
                        break;
                    }
                }
                if behaviour == Listener::Silent {
                    tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                    return;
                }
                let ack = ack_for(&received);
                let mut framed = vec![0x0b];
                framed.extend_from_slice(ack.as_bytes());
                framed.extend_from_slice(&[0x1c, 0x0d]);
                let _ = stream.write_all(&framed).await;
            });
        }
    });
    (address, served)
}

fn ack_for(received: &[u8]) -> String {
    let header = "MSH|^~\\&|LISTENER|TEST|RUNNER|TEST|20261207120000||ACK|ack-1|P|2.5";
    if received.first() != Some(&0x0b) {
        return format!("{header}\rMSA|AR||framing: no start block\r");
    }
    let text = String::from_utf8_lossy(&received[1..]);
    let msh: Vec<&str> = text.split('\r').next().unwrap_or("").split('|').collect();
    let control_id = msh.get(9).copied().unwrap_or("");
    if msh.get(8).is_none_or(|t| t.is_empty()) {
        return format!(
            "{header}\rMSA|AE|{control_id}|message type missing\rERR||MSH^1^9|101^Required field missing^HL70357|E\r"
        );
    }
    format!("{header}\rMSA|AA|{control_id}\r")
}

/// A fresh scratch directory under the system's temporary directory.
pub fn scratch(name: &str) -> PathBuf {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "zorgpoort-conformance-{name}-{}-{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
