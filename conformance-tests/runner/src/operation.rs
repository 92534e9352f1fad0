//! From a `TestScript` operation to the request it stands for: method, URL,
//! headers and body, after the operation type's rules
//! (`testscript-operation-codes`) or an explicit `method` and `url`. Sending
//! is the runner's; nothing here does I/O.

use std::fmt::Write as _;

use serde_json::Value;

use crate::fixtures::{Fixture, decode_base64, type_and_id};
use crate::script::Operation;
use crate::state::State;
use crate::variables::{self, VariableError};

/// The extension that sends an `mllp-send` fixture's bytes without MLLP
/// framing (for framing-error tests); a `.bin` fixture file is sent so too.
pub const RAW_EXTENSION: &str = "https://zorgpoort.example/fhir/StructureDefinition/testscript-mllp-raw";

/// Why an operation cannot be turned into a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OperationError {
    /// Neither a type nor a method.
    #[error("the operation has neither a type nor a method")]
    NoType,
    /// A type of a code system the runner does not know.
    #[error("operation type {system}|{code} is not one the runner knows")]
    UnknownType {
        /// The system.
        system: String,
        /// The code.
        code: String,
    },
    /// A variable in the URL, params or a header has no value.
    #[error(transparent)]
    Variable(#[from] VariableError),
    /// `sourceId` or `targetId` names no fixture.
    #[error("no fixture {0}")]
    NoFixture(String),
    /// The request needs a resource type and nothing gives one.
    #[error("{0}: no resource type (give `resource`, or a targetId/sourceId fixture with one)")]
    NoResourceType(String),
    /// The request needs an id and nothing gives one.
    #[error("{0}: no resource id (give `params`, `targetId` or `url`)")]
    NoId(String),
    /// A vread target without a version.
    #[error("vread: fixture {0} has no meta.versionId")]
    NoVersion(String),
    /// `destination` names no target.
    #[error("destination {0} has no target: give --target {0}=URL")]
    NoDestination(u32),
    /// An `mllp-send` without `--mllp-target`.
    #[error("an mllp-send step needs --mllp-target HOST:PORT")]
    NoMllpTarget,
    /// An `mllp-send` fixture with nothing to send.
    #[error("fixture {0}: neither HL7 v2 text, bytes nor a Binary with data")]
    NoMessage(String),
}

/// An HTTP request an operation stands for.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The method.
    pub method: String,
    /// The absolute URL.
    pub url: String,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Option<Vec<u8>>,
    /// What the request does differently from what the script asks
    /// (a JSON fixture sent where XML was asked).
    pub note: Option<String>,
    /// The `Type` the request is about, when it has one.
    pub resource_type: Option<String>,
}

/// What the operation type means for the request.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Interaction {
    Read,
    Vread,
    Search,
    SearchSystem,
    Create,
    Update,
    Patch,
    Delete,
    History,
    Capabilities,
    Transaction,
    Batch,
    /// `$name` on the system, the type or an instance.
    Named(String),
    /// An explicit `method` without a type.
    Method(String),
}

impl Interaction {
    fn of(operation: &Operation) -> Result<Self, OperationError> {
        if let Some(code) = operation.standard_code() {
            return Ok(match code {
                "read" => Self::Read,
                "vread" => Self::Vread,
                "search" | "search-type" => Self::Search,
                "search-system" => Self::SearchSystem,
                "create" => Self::Create,
                "update" | "updateCreate" => Self::Update,
                "patch" => Self::Patch,
                "delete" | "deleteCondSingle" | "deleteCondMultiple" => Self::Delete,
                "history" | "history-instance" | "history-type" | "history-system" => Self::History,
                "capabilities" => Self::Capabilities,
                "transaction" => Self::Transaction,
                "batch" => Self::Batch,
                "resource-validate" => Self::Named("validate".to_owned()),
                other => Self::Named(other.trim_start_matches('$').to_owned()),
            });
        }
        match (&operation.kind, &operation.method) {
            (None, Some(method)) => Ok(Self::Method(method.to_ascii_uppercase())),
            (None, None) => Err(OperationError::NoType),
            (Some(kind), _) => Err(OperationError::UnknownType {
                system: kind.system.clone().unwrap_or_default(),
                code: kind.code.clone().unwrap_or_default(),
            }),
        }
    }

    fn method(&self, has_body: bool) -> &str {
        match self {
            Self::Create | Self::Transaction | Self::Batch => "POST",
            Self::Named(_) if has_body => "POST",
            Self::Update => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
            Self::Read
            | Self::Vread
            | Self::Search
            | Self::SearchSystem
            | Self::History
            | Self::Capabilities
            | Self::Named(_) => "GET",
            Self::Method(method) => method,
        }
    }
}

/// The MIME type for `json`, `xml` or a MIME type as given.
pub fn mime(format: &str) -> String {
    match format {
        "json" => "application/fhir+json".to_owned(),
        "xml" => "application/fhir+xml".to_owned(),
        other => other.to_owned(),
    }
}

/// The request `operation` stands for against `base`.
pub fn prepare(
    operation: &Operation,
    state: &State<'_>,
    base: &str,
    default_headers: &[(String, String)],
) -> Result<Prepared, OperationError> {
    let interaction = Interaction::of(operation)?;
    let source = match &operation.source_id {
        Some(id) => Some(
            state
                .fixtures
                .get(id)
                .ok_or_else(|| OperationError::NoFixture(id.clone()))?,
        ),
        None => None,
    };
    let target = match &operation.target_id {
        Some(id) => Some(
            state
                .fixtures
                .target(id)
                .ok_or_else(|| OperationError::NoFixture(id.clone()))?,
        ),
        None => None,
    };
    let source_type = source
        .and_then(|f| f.resource.as_ref())
        .and_then(|r| r.get("resourceType"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let resource_type = operation
        .resource
        .clone()
        .or_else(|| target.as_ref().map(|(t, _)| t.clone()))
        .or(source_type);

    let (body, note) = match source {
        Some(fixture) => body(fixture, operation.content_type.as_deref()),
        None => (None, None),
    };
    let path = if let Some(url) = &operation.url {
        variables::substitute(url, state)?
    } else {
        let params = operation
            .params
            .as_deref()
            .map(|p| variables::substitute(p, state))
            .transpose()?;
        path(
            &interaction,
            operation,
            state,
            resource_type.as_deref(),
            target.as_ref(),
            source,
            params,
        )?
    };
    let url = resolve(base, path, operation.url.is_some());
    let url = if operation.encode_request_url.unwrap_or(true) {
        encode(&url)
    } else {
        url
    };
    // The id in an update's body must be the one in its URL; a script
    // updating `Patient/example` with another fixture means that resource.
    let is_json = |b: &Vec<u8>| b.iter().find(|c| !c.is_ascii_whitespace()) == Some(&b'{');
    let body = match (&interaction, source.and_then(|f| f.resource.as_ref())) {
        (Interaction::Update, Some(resource)) if !url.contains('?') && body.as_ref().is_some_and(is_json) => {
            match type_and_id(&url).filter(|(_, id)| resource.get("id").and_then(Value::as_str) != Some(id)) {
                Some((_, id)) => {
                    let mut resource = resource.clone();
                    resource["id"] = Value::String(id);
                    serde_json::to_vec_pretty(&resource).ok()
                }
                None => body,
            }
        }
        _ => body,
    };

    let mut headers: Vec<(String, String)> = Vec::new();
    let accept = operation.accept.as_deref().map_or_else(|| mime("json"), mime);
    headers.push(("Accept".to_owned(), accept));
    if body.is_some() {
        let content_type = operation.content_type.as_deref().map_or_else(|| mime("json"), mime);
        let sent_json = note.is_some();
        headers.push((
            "Content-Type".to_owned(),
            if sent_json { mime("json") } else { content_type },
        ));
    }
    headers.extend(default_headers.iter().cloned());
    for header in &operation.request_header {
        let value = variables::substitute(&header.value, state)?;
        headers.retain(|(name, _)| !name.eq_ignore_ascii_case(&header.field));
        headers.push((header.field.clone(), value));
    }
    Ok(Prepared {
        method: interaction.method(body.is_some()).to_owned(),
        url,
        headers,
        body,
        note,
        resource_type,
    })
}

/// The path below the base for an operation without `url`.
fn path(
    interaction: &Interaction,
    operation: &Operation,
    state: &State<'_>,
    resource_type: Option<&str>,
    target: Option<&(String, String)>,
    source: Option<&Fixture>,
    params: Option<String>,
) -> Result<String, OperationError> {
    let name = operation.standard_code().unwrap_or("operation").to_owned();
    let typed = |rest: &str| -> Result<String, OperationError> {
        let resource_type = resource_type.ok_or_else(|| OperationError::NoResourceType(name.clone()))?;
        Ok(format!("{resource_type}{rest}"))
    };
    let params = params.map(|p| {
        if p.starts_with('/') || p.starts_with('?') || p.is_empty() {
            p
        } else {
            format!("/{p}")
        }
    });
    let target_id = target.as_ref().map(|(_, id)| id.clone());
    let source_id = source
        .and_then(|f| f.resource.as_ref())
        .and_then(|r| r.get("id"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let instance = |id: Option<String>| -> Result<String, OperationError> {
        match (&params, id) {
            (Some(params), _) => typed(params),
            (None, Some(id)) => typed(&format!("/{id}")),
            (None, None) => Err(OperationError::NoId(name.clone())),
        }
    };
    match interaction {
        Interaction::Update => instance(target_id.or(source_id)),
        Interaction::Read | Interaction::Patch | Interaction::Delete => instance(target_id),
        Interaction::Vread => {
            if let Some(params) = &params {
                return typed(params);
            }
            let target_fixture = operation.target_id.clone().unwrap_or_default();
            let id = target_id.ok_or_else(|| OperationError::NoId(name.clone()))?;
            let version = state
                .fixtures
                .get(&target_fixture)
                .and_then(|f| f.resource.as_ref())
                .and_then(|r| r.pointer("/meta/versionId"))
                .and_then(Value::as_str)
                .ok_or(OperationError::NoVersion(target_fixture))?;
            typed(&format!("/{id}/_history/{version}"))
        }
        Interaction::Search | Interaction::Create => typed(params.as_deref().unwrap_or("")),
        Interaction::SearchSystem | Interaction::Method(_) | Interaction::Transaction | Interaction::Batch => {
            Ok(params.unwrap_or_default())
        }
        Interaction::History => match (params, target_id, resource_type) {
            (Some(params), _, Some(_)) => typed(&format!("{params}/_history")),
            (_, Some(id), Some(_)) => typed(&format!("/{id}/_history")),
            (_, None, Some(_)) => typed("/_history"),
            (_, _, None) => Ok("_history".to_owned()),
        },
        Interaction::Capabilities => Ok(format!("metadata{}", params.unwrap_or_default())),
        Interaction::Named(op) => match (resource_type, params, target_id) {
            (Some(t), Some(params), _) => Ok(format!("{t}{params}/${op}")),
            (Some(t), None, Some(id)) => Ok(format!("{t}/{id}/${op}")),
            (Some(t), None, None) => Ok(format!("{t}/${op}")),
            (None, _, _) => Ok(format!("${op}")),
        },
    }
}

/// The URL of `path` against the target's `base`: an absolute URL as it
/// is; an absolute path given as `url` as RFC 3986 resolves it, on the
/// target's host outside its FHIR base (`/hl7v2` next to `/fhir`); nothing,
/// for a batch or transaction, is `[base]` itself; else below `[base]`.
fn resolve(base: &str, path: String, given_as_url: bool) -> String {
    if path.starts_with("http://") || path.starts_with("https://") {
        path
    } else if given_as_url && path.starts_with('/') {
        format!("{}{path}", origin(base))
    } else if path.is_empty() {
        base.trim_end_matches('/').to_owned()
    } else {
        format!("{}/{}", base.trim_end_matches('/'), path.trim_start_matches('/'))
    }
}

/// `scheme://host:port` of a base URL.
fn origin(base: &str) -> &str {
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    base[after_scheme..]
        .find('/')
        .map_or(base, |slash| &base[..after_scheme + slash])
}

/// The body for a fixture in the asked format: the fixture file's own bytes
/// when they are in that format, else the resource as JSON (with a note
/// when XML was asked: the runner does not write FHIR XML).
fn body(fixture: &Fixture, content_type: Option<&str>) -> (Option<Vec<u8>>, Option<String>) {
    let wants_xml = content_type.is_some_and(|c| c == "xml" || c.contains("xml"));
    let original = fixture.bytes.as_deref().filter(|b| {
        let first = b.iter().find(|c| !c.is_ascii_whitespace());
        if fixture.resource.is_none() {
            return true;
        }
        match first {
            Some(b'<') => wants_xml,
            Some(b'{') => !wants_xml,
            _ => false,
        }
    });
    if let Some(bytes) = original {
        return (Some(bytes.to_vec()), None);
    }
    let Some(resource) = &fixture.resource else {
        return (None, None);
    };
    let json = serde_json::to_vec_pretty(resource).unwrap_or_default();
    let note = wants_xml.then(|| "contentType xml asked, but the fixture is JSON: sent as JSON".to_owned());
    (Some(json), note)
}

/// Percent-encodes what may not appear in a URL as is (spaces, quotes,
/// non-ASCII), leaving its structure (`/?&=#%` and the like) alone.
pub fn encode(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for byte in url.bytes() {
        let keep = byte.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&byte);
        if keep {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// The bytes an `mllp-send` step puts on the wire: the fixture's HL7 v2
/// text (or a Binary's data) framed, or the bytes as they are for a `.bin`
/// fixture or with the [`RAW_EXTENSION`].
pub fn mllp_wire(operation: &Operation, state: &State<'_>) -> Result<Vec<u8>, OperationError> {
    let id = operation.source_id.clone().unwrap_or_default();
    let fixture = state
        .fixtures
        .get(&id)
        .ok_or_else(|| OperationError::NoFixture(id.clone()))?;
    let binary = fixture
        .resource
        .as_ref()
        .filter(|r| r.get("resourceType").and_then(Value::as_str) == Some("Binary"))
        .and_then(|r| r.get("data"))
        .and_then(Value::as_str)
        .and_then(decode_base64);
    let message = match (binary, &fixture.resource, &fixture.bytes) {
        (Some(data), _, _) => data,
        (None, None, Some(bytes)) => bytes.clone(),
        _ => return Err(OperationError::NoMessage(id)),
    };
    let raw = fixture.raw
        || operation
            .extension
            .iter()
            .any(|e| e.url == RAW_EXTENSION && e.value_boolean == Some(true));
    Ok(if raw { message } else { crate::mllp::frame(&message) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absolute_path_is_resolved_on_the_targets_host() {
        let base = "http://127.0.0.1:8080/fhir";
        assert_eq!(resolve(base, "/hl7v2".into(), true), "http://127.0.0.1:8080/hl7v2");
        assert_eq!(
            resolve(base, "/Patient/1".into(), false),
            "http://127.0.0.1:8080/fhir/Patient/1"
        );
        assert_eq!(resolve(base, String::new(), false), base);
        assert_eq!(resolve(base, "http://other/x".into(), true), "http://other/x");
        assert_eq!(origin(base), "http://127.0.0.1:8080");
        assert_eq!(origin("https://gw.example/a/b/fhir/"), "https://gw.example");
        assert_eq!(origin("http://gw.example"), "http://gw.example");
    }

    #[test]
    fn encode_keeps_structure_and_escapes_the_rest() {
        assert_eq!(
            encode("http://h/Patient?name=van der Berg"),
            "http://h/Patient?name=van%20der%20Berg"
        );
        assert_eq!(encode("http://h/Patient?name=J%C3%A9"), "http://h/Patient?name=J%C3%A9");
        assert_eq!(encode("http://h/Patient?name=Jé"), "http://h/Patient?name=J%C3%A9");
    }
}
