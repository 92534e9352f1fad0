//! References after a conversion: renamed resource types are renamed in
//! every reference that names them, and references to Bundle entries or
//! contained resources the conversion left out go with them, so no
//! reference dangles.

use serde_json::{Map, Value};
use zorgpoort_model::Warning;

use crate::engine::Dir;

/// Resource types with another name in the other version: (STU3, R4).
const RENAMED_TYPES: &[(&str, &str)] = &[("ProcedureRequest", "ServiceRequest")];

/// Renames `from/` to `to/` where it starts a relative reference or follows
/// a `/` in an absolute one.
fn rename_type(text: &str, from: &str, to: &str) -> Option<String> {
    let needle = format!("{from}/");
    if let Some(rest) = text.strip_prefix(&needle) {
        return Some(format!("{to}/{rest}"));
    }
    let at = text.find(&format!("/{needle}"))?;
    Some(format!("{}/{to}/{}", &text[..at], &text[at + needle.len() + 1..]))
}

/// The renamed types as (source name, target name) for `dir`.
fn renamed_pairs(dir: Dir) -> impl Iterator<Item = (&'static str, &'static str)> {
    RENAMED_TYPES.iter().map(move |&(stu3, r4)| match dir {
        Dir::ToR4 => (stu3, r4),
        Dir::ToStu3 => (r4, stu3),
    })
}

/// A Bundle `request.url` (`Type`, `Type/id` or `Type?search`) with a
/// renamed type, when it names one.
pub(crate) fn renamed_request_url(dir: Dir, url: &str) -> Option<String> {
    renamed_pairs(dir).find_map(|(from, to)| {
        let rest = url.strip_prefix(from)?;
        (rest.is_empty() || rest.starts_with(['/', '?'])).then(|| format!("{to}{rest}"))
    })
}

/// Rewrites the renamed types in every `reference` and `fullUrl` of the
/// output.
pub(crate) fn rename_types(dir: Dir, value: &mut Value) {
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    match child {
                        Value::String(text) if key == "reference" || key == "fullUrl" => {
                            if let Some(renamed) = renamed_pairs(dir).find_map(|(from, to)| rename_type(text, from, to))
                            {
                                *text = renamed;
                            }
                        }
                        Value::Object(_) | Value::Array(_) => stack.push(child),
                        _ => {}
                    }
                }
            }
            Value::Array(items) => stack.extend(items.iter_mut()),
            _ => {}
        }
    }
}

/// The ways a reference can name one left-out entry: its `fullUrl` and
/// its `Type/id`.
#[derive(Debug, Default)]
pub(crate) struct LeftOut {
    full_urls: Vec<String>,
    type_ids: Vec<String>,
}

impl LeftOut {
    /// Records an entry that is not in the output.
    pub(crate) fn add(&mut self, full_url: Option<&str>, resource: &Value) {
        if let Some(url) = full_url {
            self.full_urls.push(url.to_owned());
        }
        let kind = resource.get("resourceType").and_then(Value::as_str);
        let id = resource.get("id").and_then(Value::as_str);
        if let (Some(kind), Some(id)) = (kind, id) {
            self.type_ids.push(format!("{kind}/{id}"));
        }
    }

    /// Records a contained resource that is not in the output; it is
    /// referred to as `#id`.
    pub(crate) fn add_contained(&mut self, resource: &Value) {
        if let Some(id) = resource.get("id").and_then(Value::as_str) {
            self.full_urls.push(format!("#{id}"));
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.full_urls.is_empty() && self.type_ids.is_empty()
    }

    /// Whether `reference` points at a left-out entry: by its `fullUrl`,
    /// or by `Type/id`, relative or at the end of an absolute URL
    /// (a version, `/_history/n`, does not matter).
    fn names(&self, reference: &str) -> bool {
        let unversioned = reference.split("/_history/").next().unwrap_or(reference);
        self.full_urls.iter().any(|url| url == reference)
            || self
                .type_ids
                .iter()
                .any(|type_id| unversioned == type_id || unversioned.ends_with(&format!("/{type_id}")))
    }

    /// Removes from the elements of `map` (found at `path`) every Reference
    /// to a left-out entry, as [`LeftOut::prune`] does.
    pub(crate) fn prune_object(&self, map: &mut Map<String, Value>, path: &str, warnings: &mut Vec<Warning>) {
        map.retain(|key, child| {
            let gone = self.prune(child, &format!("{path}.{key}"), warnings);
            !gone && !matches!(child, Value::Array(items) if items.is_empty())
        });
    }

    /// Removes from `value` (found at `path`, named as in the output) every Reference to a left-out
    /// entry, with a warning at its place; an array left empty goes too,
    /// as FHIR JSON has no empty arrays. Returns whether `value` itself is
    /// such a Reference.
    pub(crate) fn prune(&self, value: &mut Value, path: &str, warnings: &mut Vec<Warning>) -> bool {
        match value {
            Value::Object(map) => {
                if map
                    .get("reference")
                    .and_then(Value::as_str)
                    .is_some_and(|r| self.names(r))
                {
                    warnings.push(Warning::new(
                        path,
                        "refers to a Bundle entry that was left out; the reference is left out with it",
                    ));
                    return true;
                }
                self.prune_object(map, path, warnings);
                false
            }
            Value::Array(items) => {
                let mut i = 0;
                items.retain_mut(|item| {
                    let gone = self.prune(item, &format!("{path}[{i}]"), warnings);
                    i += 1;
                    !gone
                });
                false
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renamed_types_are_found_relative_and_absolute() {
        assert_eq!(
            rename_type("ServiceRequest/1", "ServiceRequest", "ProcedureRequest").as_deref(),
            Some("ProcedureRequest/1")
        );
        assert_eq!(
            rename_type(
                "https://x.nl/fhir/ServiceRequest/1/_history/2",
                "ServiceRequest",
                "ProcedureRequest"
            )
            .as_deref(),
            Some("https://x.nl/fhir/ProcedureRequest/1/_history/2")
        );
        assert_eq!(
            rename_type("MyServiceRequest/1", "ServiceRequest", "ProcedureRequest"),
            None
        );
        assert_eq!(rename_type("urn:uuid:1", "ServiceRequest", "ProcedureRequest"), None);
        assert_eq!(
            renamed_request_url(Dir::ToStu3, "ServiceRequest?identifier=x").as_deref(),
            Some("ProcedureRequest?identifier=x")
        );
        assert_eq!(
            renamed_request_url(Dir::ToR4, "ProcedureRequest").as_deref(),
            Some("ServiceRequest")
        );
        assert_eq!(renamed_request_url(Dir::ToStu3, "ServiceRequestX"), None);
    }

    #[test]
    fn left_out_entries_are_named_by_full_url_or_type_and_id() {
        let mut left_out = LeftOut::default();
        left_out.add(
            Some("urn:uuid:a"),
            &serde_json::json!({"resourceType": "Specimen", "id": "s1"}),
        );
        assert!(left_out.names("urn:uuid:a"));
        assert!(left_out.names("Specimen/s1"));
        assert!(left_out.names("https://x.nl/fhir/Specimen/s1/_history/3"));
        assert!(!left_out.names("Specimen/s10"));
        assert!(!left_out.names("urn:uuid:b"));
    }
}
