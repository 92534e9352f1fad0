//! Fixtures: the static ones a script declares (contained, or files beside
//! the script) and those the run produces (a response kept under
//! `responseId`, a request under `requestId`). Asserts, variables and
//! operations find them all by id in one [`Fixtures`] table.

use std::collections::HashMap;

use serde_json::Value;

use crate::load::{self, Suite};
use crate::script::TestScript;

/// Why a fixture could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FixtureError {
    /// A fixture without a `resource` reference.
    #[error("fixture {0}: no resource reference")]
    NoReference(String),
    /// `#id` with no contained resource of that id.
    #[error("fixture {id}: no contained resource with id {reference}")]
    NoContained {
        /// The fixture.
        id: String,
        /// The reference.
        reference: String,
    },
    /// No file the reference can mean.
    #[error("fixture {id}: {reference} is none of the files {tried}")]
    NotFound {
        /// The fixture.
        id: String,
        /// The reference.
        reference: String,
        /// The candidate paths, relative to the suite.
        tried: String,
    },
    /// The file is there but is not FHIR.
    #[error("fixture {id}: {path}: {reason}")]
    Unreadable {
        /// The fixture.
        id: String,
        /// Its file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// What a fixture holds.
#[derive(Debug, Clone, Default)]
pub struct Fixture {
    /// The resource, when the content is FHIR.
    pub resource: Option<Value>,
    /// The bytes as they are, for a fixture that is not FHIR (an HL7 v2
    /// message, a `.bin` file sent as is) and for bodies of responses.
    pub bytes: Option<Vec<u8>>,
    /// Headers of a response or request fixture.
    pub headers: Vec<(String, String)>,
    /// The status of a response fixture.
    pub status: Option<u16>,
    /// Whether the bytes are sent as they are (a `.bin` file): no framing.
    pub raw: bool,
}

impl Fixture {
    /// The value of a header (case-insensitive), when the fixture has it.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

/// The first value of a header in a list, case-insensitively.
pub fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(field, _)| field.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// Every fixture of a run, by id.
#[derive(Debug, Default)]
pub struct Fixtures {
    by_id: HashMap<String, Fixture>,
    /// The `Type/id` a fixture has on the server, learnt when it was created
    /// or updated there (an id the server assigned differs from the file's).
    on_server: HashMap<String, (String, String)>,
}

impl Fixtures {
    /// The static fixtures of `script`, read from `suite`; `script_path` is
    /// the script's path in the suite, so references resolve beside it.
    pub fn load(script: &TestScript, suite: &Suite, script_path: &str) -> Result<Self, FixtureError> {
        let dir = load::parent(script_path);
        let mut fixtures = Self::default();
        for (index, declared) in script.fixture.iter().enumerate() {
            let id = declared.id.clone().unwrap_or_else(|| format!("fixture[{index}]"));
            let reference = declared
                .resource
                .as_ref()
                .and_then(|r| r.reference.as_deref())
                .ok_or_else(|| FixtureError::NoReference(id.clone()))?;
            let fixture = if let Some(contained) = reference.strip_prefix('#') {
                let resource = script
                    .contained
                    .iter()
                    .find(|r| r.get("id").and_then(Value::as_str) == Some(contained))
                    .ok_or_else(|| FixtureError::NoContained {
                        id: id.clone(),
                        reference: reference.to_owned(),
                    })?;
                Fixture {
                    resource: Some(resource.clone()),
                    ..Fixture::default()
                }
            } else {
                read_file(suite, dir, &id, reference)?
            };
            fixtures.by_id.insert(id, fixture);
        }
        Ok(fixtures)
    }

    /// The fixture with this id.
    pub fn get(&self, id: &str) -> Option<&Fixture> {
        self.by_id.get(id)
    }

    /// Keeps a fixture (a response or request) under `id`, replacing any.
    pub fn insert(&mut self, id: &str, fixture: Fixture) {
        self.by_id.insert(id.to_owned(), fixture);
    }

    /// Records that fixture `id` is `Type/id` on the server.
    pub fn set_on_server(&mut self, id: &str, resource_type: String, server_id: String) {
        self.on_server.insert(id.to_owned(), (resource_type, server_id));
    }

    /// Whether the run created or updated fixture `id` on the server.
    pub fn is_on_server(&self, id: &str) -> bool {
        self.on_server.contains_key(id)
    }

    /// The `(Type, id)` the fixture has on the server: learnt from a create,
    /// else the resource's own; a response fixture's resource or Location.
    pub fn target(&self, id: &str) -> Option<(String, String)> {
        if let Some(known) = self.on_server.get(id) {
            return Some(known.clone());
        }
        let fixture = self.by_id.get(id)?;
        if let Some(resource) = &fixture.resource {
            let resource_type = resource.get("resourceType").and_then(Value::as_str);
            let resource_id = resource.get("id").and_then(Value::as_str);
            if let (Some(t), Some(i)) = (resource_type, resource_id) {
                return Some((t.to_owned(), i.to_owned()));
            }
        }
        fixture.header("Location").and_then(type_and_id)
    }
}

/// `Type/id` from a URL such as `http://h/fhir/Patient/1/_history/2`.
pub fn type_and_id(url: &str) -> Option<(String, String)> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let path = path.split_once("/_history/").map_or(path, |(before, _)| before);
    let mut segments = path.trim_end_matches('/').rsplit('/');
    let id = segments.next()?;
    let resource_type = segments.next()?;
    let is_type = resource_type.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && resource_type.chars().all(|c| c.is_ascii_alphanumeric());
    (is_type && !id.is_empty()).then(|| (resource_type.to_owned(), id.to_owned()))
}

/// The files a reference can mean, in the order tried: the path itself
/// beside the script, then for `Type/id` the file `Type-id.json` (or
/// `.xml`) in `fixtures/` beside the script or beside it directly.
fn candidates(dir: &str, reference: &str) -> Vec<String> {
    let join = |name: &str| {
        if dir.is_empty() {
            name.to_owned()
        } else {
            format!("{dir}/{name}")
        }
    };
    let mut paths = vec![join(reference)];
    if let Some((resource_type, id)) = reference.split_once('/')
        && !id.contains('/')
        && !id.contains('.')
    {
        for extension in ["json", "xml"] {
            paths.push(join(&format!("fixtures/{resource_type}-{id}.{extension}")));
            paths.push(join(&format!("{resource_type}-{id}.{extension}")));
        }
    }
    paths
}

fn read_file(suite: &Suite, dir: &str, id: &str, reference: &str) -> Result<Fixture, FixtureError> {
    let tried = candidates(dir, reference);
    let path = tried
        .iter()
        .find(|path| suite.has(path))
        .ok_or_else(|| FixtureError::NotFound {
            id: id.to_owned(),
            reference: reference.to_owned(),
            tried: tried.join(", "),
        })?;
    let unreadable = |reason: String| FixtureError::Unreadable {
        id: id.to_owned(),
        path: path.clone(),
        reason,
    };
    let bytes = suite.read(path).map_err(|e| unreadable(e.reason))?;
    let extension = path.rsplit_once('.').map_or("", |(_, extension)| extension);
    match extension {
        "bin" => Ok(Fixture {
            bytes: Some(bytes),
            raw: true,
            ..Fixture::default()
        }),
        "hl7" | "er7" | "txt" => Ok(Fixture {
            bytes: Some(bytes),
            ..Fixture::default()
        }),
        _ => {
            let resource = zorgpoort_profiles::parse(&bytes, &zorgpoort_profiles::xml::XmlLimits::default())
                .map_err(|e| unreadable(e.to_string()))?;
            Ok(Fixture {
                resource: Some(resource),
                bytes: Some(bytes),
                ..Fixture::default()
            })
        }
    }
}

/// The bytes of standard base64 (padding optional, whitespace ignored), as
/// in `Binary.data`; `None` when the text is not base64.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let symbols: Vec<u8> = text.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    let symbols = symbols
        .strip_suffix(b"==")
        .or_else(|| symbols.strip_suffix(b"="))
        .unwrap_or(&symbols);
    let mut out = Vec::with_capacity(symbols.len() * 3 / 4);
    for chunk in symbols.chunks(4) {
        if chunk.len() == 1 {
            return None;
        }
        let mut bits = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            bits |= value(c)? << (18 - 6 * i);
        }
        let bytes = bits.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_and_id_reads_locations() {
        assert_eq!(
            type_and_id("http://h/fhir/Patient/12/_history/3"),
            Some(("Patient".to_owned(), "12".to_owned()))
        );
        assert_eq!(type_and_id("Patient/x"), Some(("Patient".to_owned(), "x".to_owned())));
        assert_eq!(type_and_id("http://h/fhir/metadata"), None);
    }

    #[test]
    fn reference_candidates_include_the_fixtures_directory() {
        let paths = candidates("spec", "Patient/example");
        assert_eq!(paths[0], "spec/Patient/example");
        assert!(paths.contains(&"spec/fixtures/Patient-example.json".to_owned()));
        assert!(paths.contains(&"spec/Patient-example.json".to_owned()));
        assert_eq!(candidates("", "fixtures/a.json"), vec!["fixtures/a.json".to_owned()]);
    }

    #[test]
    fn base64_decodes_with_and_without_padding() {
        assert_eq!(decode_base64("TVNIfA==").as_deref(), Some(&b"MSH|"[..]));
        assert_eq!(decode_base64("TVNIfA").as_deref(), Some(&b"MSH|"[..]));
        assert_eq!(decode_base64("TVN IfGE=").as_deref(), Some(&b"MSH|a"[..]));
        assert_eq!(decode_base64("T!==").as_deref(), None);
    }
}
