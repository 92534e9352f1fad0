//! The `TestScript` resource as the runner reads it: the elements of FHIR R4
//! `TestScript` that say what to do, typed; everything else (narrative,
//! metadata, contacts) is ignored. Read from FHIR JSON, or FHIR XML through
//! the profiles crate's reader.

use serde::Deserialize;
use serde_json::Value;

/// The code system of the standard operation types.
pub const OPERATION_CODES: &str = "http://terminology.hl7.org/CodeSystem/testscript-operation-codes";
/// The code system of zorgpoort's own operation types (`mllp-send`).
pub const ZORGPOORT_OPERATION_CODES: &str = "https://zorgpoort.example/fhir/CodeSystem/testscript-operation";
/// The extension (`valueBoolean: true`) on an operation whose body, the
/// `sourceId` fixture, has its `${name}` variables substituted before it is
/// sent. FHIR substitutes variables only in the URL, params, headers and
/// assert values; a body naming what the server made earlier in the run (a
/// Task whose focus is the document the server stored, under an id it chose)
/// needs this.
pub const SUBSTITUTE_BODY_EXTENSION: &str =
    "https://zorgpoort.example/fhir/StructureDefinition/testscript-substitute-body";

/// Why a document is not a `TestScript` the runner can execute.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScriptError {
    /// Neither FHIR JSON nor FHIR XML.
    #[error("not a FHIR resource: {0}")]
    Parse(#[from] zorgpoort_profiles::ParseError),
    /// A resource, but not a `TestScript`.
    #[error("a {0} resource, not a TestScript")]
    NotTestScript(String),
    /// A `TestScript` whose elements do not have their R4 shape.
    #[error("TestScript elements: {0}")]
    Shape(#[from] serde_json::Error),
}

/// A FHIR R4 `TestScript`, the parts the runner executes.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestScript {
    /// Logical id.
    pub id: Option<String>,
    /// Canonical URL.
    pub url: Option<String>,
    /// Computer-friendly name.
    pub name: Option<String>,
    /// Contained resources, the targets of `#id` fixture references.
    #[serde(default)]
    pub contained: Vec<Value>,
    /// The systems that send requests (multisystem scripts).
    #[serde(default)]
    pub origin: Vec<Endpoint>,
    /// The systems that answer requests (multisystem scripts).
    #[serde(default)]
    pub destination: Vec<Endpoint>,
    /// Static fixtures.
    #[serde(default)]
    pub fixture: Vec<Fixture>,
    /// Profiles that `validateProfileId` asserts name by id.
    #[serde(default)]
    pub profile: Vec<Reference>,
    /// Variables, substituted as `${name}`.
    #[serde(default)]
    pub variable: Vec<Variable>,
    /// Run before the tests.
    pub setup: Option<Phase>,
    /// The tests, in order.
    #[serde(default)]
    pub test: Vec<Test>,
    /// Run after the tests, whatever they did.
    pub teardown: Option<Phase>,
}

/// An origin or destination system of a multisystem script.
#[derive(Debug, Clone, Deserialize)]
pub struct Endpoint {
    /// The number operations refer to.
    pub index: u32,
}

/// A FHIR Reference, as far as fixtures and profiles use it.
#[derive(Debug, Clone, Deserialize)]
pub struct Reference {
    /// The element id, which `validateProfileId` names.
    pub id: Option<String>,
    /// Where the resource is: `#contained`, `Type/id`, a relative file.
    pub reference: Option<String>,
    /// Text for people.
    pub display: Option<String>,
}

/// `TestScript.fixture`.
#[derive(Debug, Clone, Deserialize)]
pub struct Fixture {
    /// The id that `sourceId`, `targetId` and asserts name.
    pub id: Option<String>,
    /// Create it on the server before setup.
    #[serde(default)]
    pub autocreate: bool,
    /// Delete it from the server after teardown.
    #[serde(default)]
    pub autodelete: bool,
    /// Where its content is.
    pub resource: Option<Reference>,
}

/// `TestScript.variable`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Variable {
    /// Substituted as `${name}`.
    pub name: String,
    /// The value when nothing else gives one.
    pub default_value: Option<String>,
    /// What the variable is for.
    pub description: Option<String>,
    /// FHIRPath on the source fixture or response.
    pub expression: Option<String>,
    /// A response (or request) header of the source.
    pub header_field: Option<String>,
    /// A hint for the person who must supply the value.
    pub hint: Option<String>,
    /// `XPath` or FHIRPath on the source (taken as FHIRPath).
    pub path: Option<String>,
    /// The fixture or response the value comes from.
    pub source_id: Option<String>,
}

/// `TestScript.setup` or `TestScript.teardown`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Phase {
    /// The actions, in order.
    #[serde(default)]
    pub action: Vec<Action>,
}

/// `TestScript.test`.
#[derive(Debug, Clone, Deserialize)]
pub struct Test {
    /// Logical id of the element.
    pub id: Option<String>,
    /// The test's name.
    pub name: Option<String>,
    /// What it tests.
    pub description: Option<String>,
    /// The actions, in order.
    #[serde(default)]
    pub action: Vec<Action>,
}

/// One step: an operation or an assert (a teardown has operations only).
#[derive(Debug, Clone, Deserialize)]
pub struct Action {
    /// The operation, if this step is one.
    pub operation: Option<Operation>,
    /// The assert, if this step is one.
    pub assert: Option<Assert>,
}

/// A Coding.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Coding {
    /// The code system.
    pub system: Option<String>,
    /// The code.
    pub code: Option<String>,
}

/// An extension (only `valueString`/`valueBoolean`/`valueCode` are read).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Extension {
    /// What the extension means.
    pub url: String,
    /// A string value.
    pub value_string: Option<String>,
    /// A boolean value.
    pub value_boolean: Option<bool>,
}

/// `TestScript.setup.action.operation`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    /// Extensions (zorgpoort's raw-bytes switch for `mllp-send`).
    #[serde(default)]
    pub extension: Vec<Extension>,
    /// The operation's type.
    #[serde(rename = "type")]
    pub kind: Option<Coding>,
    /// The resource type.
    pub resource: Option<String>,
    /// Tracking label.
    pub label: Option<String>,
    /// What it does.
    pub description: Option<String>,
    /// `json`, `xml` or a MIME type for the `Accept` header.
    pub accept: Option<String>,
    /// `json`, `xml` or a MIME type for the `Content-Type` header.
    pub content_type: Option<String>,
    /// Which destination server (multisystem scripts).
    pub destination: Option<u32>,
    /// Whether the URL is percent-encoded (default true).
    pub encode_request_url: Option<bool>,
    /// The HTTP method, overriding the type's.
    pub method: Option<String>,
    /// Which origin client (multisystem scripts).
    pub origin: Option<u32>,
    /// Appended to `[base]/[type]`: `/id`, `?search`.
    pub params: Option<String>,
    /// Extra request headers.
    #[serde(default)]
    pub request_header: Vec<RequestHeader>,
    /// Fixture id under which the request is kept.
    pub request_id: Option<String>,
    /// Fixture id under which the response is kept.
    pub response_id: Option<String>,
    /// The fixture sent as the body.
    pub source_id: Option<String>,
    /// The fixture whose type and id the request targets.
    pub target_id: Option<String>,
    /// The full request URL, absolute or relative to the base.
    pub url: Option<String>,
}

/// A header of an operation's request.
#[derive(Debug, Clone, Deserialize)]
pub struct RequestHeader {
    /// The header name.
    pub field: String,
    /// Its value (variables substituted).
    pub value: String,
}

/// `TestScript.setup.action.assert`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Assert {
    /// Tracking label.
    pub label: Option<String>,
    /// What is asserted.
    pub description: Option<String>,
    /// `response` (default) or `request`.
    pub direction: Option<String>,
    /// The fixture to compare with.
    pub compare_to_source_id: Option<String>,
    /// FHIRPath on the compared fixture.
    pub compare_to_source_expression: Option<String>,
    /// `XPath` or FHIRPath on the compared fixture (taken as FHIRPath).
    pub compare_to_source_path: Option<String>,
    /// `json`, `xml` or a MIME type expected as `Content-Type`.
    pub content_type: Option<String>,
    /// FHIRPath on the source.
    pub expression: Option<String>,
    /// A header of the source.
    pub header_field: Option<String>,
    /// A fixture whose elements must all be in the source.
    pub minimum_id: Option<String>,
    /// The source Bundle has first, last and next links.
    pub navigation_links: Option<bool>,
    /// How the value is compared (default `equals`).
    pub operator: Option<String>,
    /// `XPath` or FHIRPath on the source (taken as FHIRPath).
    pub path: Option<String>,
    /// The request's method.
    pub request_method: Option<String>,
    /// The request's URL.
    #[serde(rename = "requestURL")]
    pub request_url: Option<String>,
    /// The resource type of the source body.
    pub resource: Option<String>,
    /// A response code name (`okay`, `created`, ...).
    pub response: Option<String>,
    /// HTTP status code(s), compared with `operator`.
    pub response_code: Option<String>,
    /// The fixture or response asserted on (default: the last response).
    pub source_id: Option<String>,
    /// A `TestScript.profile` id to validate the source against.
    pub validate_profile_id: Option<String>,
    /// The expected value.
    pub value: Option<String>,
    /// A failure is only a warning.
    #[serde(default)]
    pub warning_only: bool,
}

impl TestScript {
    /// Reads a `TestScript` from FHIR JSON or FHIR XML.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ScriptError> {
        let value = zorgpoort_profiles::parse(bytes, &zorgpoort_profiles::xml::XmlLimits::default())?;
        Self::from_value(value)
    }

    /// Reads a `TestScript` from its JSON form.
    pub fn from_value(value: Value) -> Result<Self, ScriptError> {
        match value.get("resourceType").and_then(Value::as_str) {
            Some("TestScript") => Ok(serde_json::from_value(value)?),
            Some(other) => Err(ScriptError::NotTestScript(other.to_owned())),
            None => Err(ScriptError::NotTestScript("untyped".to_owned())),
        }
    }

    /// The name a report shows: name, else id.
    pub fn display_name(&self) -> Option<&str> {
        self.name.as_deref().or(self.id.as_deref())
    }
}

impl Operation {
    /// The type code, when the type is from the standard code system or has
    /// no system.
    pub fn standard_code(&self) -> Option<&str> {
        let kind = self.kind.as_ref()?;
        match kind.system.as_deref() {
            None | Some(OPERATION_CODES) => kind.code.as_deref(),
            Some(_) => None,
        }
    }

    /// Whether the body has its variables substituted
    /// ([`SUBSTITUTE_BODY_EXTENSION`]).
    pub fn substitutes_body(&self) -> bool {
        self.extension
            .iter()
            .any(|e| e.url == SUBSTITUTE_BODY_EXTENSION && e.value_boolean == Some(true))
    }

    /// Whether this is zorgpoort's `mllp-send` step.
    pub fn is_mllp_send(&self) -> bool {
        self.kind.as_ref().is_some_and(|kind| {
            kind.system.as_deref() == Some(ZORGPOORT_OPERATION_CODES) && kind.code.as_deref() == Some("mllp-send")
        })
    }
}
