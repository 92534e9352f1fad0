//! Validation of FHIR R4 resources: the official R4 JSON schema, the checks
//! the schema cannot express (no empty values, real dates, the BSN 11-check,
//! UCUM syntax), the invariants of the base R4 definitions, and the Dutch
//! nl-core/zib2020 profiles.
//!
//! [`validate`] takes a resource as JSON (read FHIR XML with
//! [`xml::resource_from_xml`], or either with [`parse`]) and returns
//! [`Issue`]s, each with a severity, an issue-type code and a FHIRPath-style
//! `expression`; [`operation_outcome`] renders them. A resource is checked
//! against the profiles it claims in `meta.profile`, or against one given
//! explicitly; nested resources (Bundle entries, contained) are checked
//! against their own claims.
//!
//! The profiles are compiled into rule tables by `zorgpoort-profiles-codegen`
//! (checked in as `generated.rs`), so nothing is parsed at start; the schema
//! is compiled per resource type on first use. No I/O.

mod base_invariants;
mod conformance;
mod constraints;
mod datatypes;
#[rustfmt::skip]
mod generated;
#[rustfmt::skip]
mod generated_r4;
pub mod fhirpath_model;
mod invariants;
pub mod issue;
mod pattern;
mod references;
pub mod rules;
pub mod schema;
mod structure;
pub mod xml;

use serde_json::Value;

pub use issue::{Issue, IssueType, Severity, has_errors, operation_outcome};

/// Which profiles a resource is checked against.
#[derive(Debug, Clone, Copy)]
pub enum ProfileChoice<'a> {
    /// The profiles the resource claims in `meta.profile`.
    Claimed,
    /// This profile (canonical URL), for the top-level resource; nested
    /// resources are checked against their own claims.
    Explicit(&'a str),
}

/// Validates one resource (a Bundle includes its entries).
pub fn validate(resource: &Value, profiles: ProfileChoice<'_>) -> Vec<Issue> {
    let mut issues = Vec::new();
    let Some(resource_type) = resource.get("resourceType").and_then(Value::as_str) else {
        issues.push(Issue::error(
            IssueType::Structure,
            "resourceType",
            "not a FHIR resource: `resourceType` is missing",
        ));
        return issues;
    };
    validate_resource(resource, None, resource_type, resource_type, profiles, &mut issues);
    // A profile and the profile it derives from may both apply a type
    // profile to the same element; say each finding once.
    let mut seen = std::collections::HashSet::new();
    issues.retain(|issue| seen.insert(issue.clone()));
    issues
}

/// `container` is the resource `resource` is contained in, if it is.
fn validate_resource(
    resource: &Value,
    container: Option<&Value>,
    resource_type: &str,
    path: &str,
    profiles: ProfileChoice<'_>,
    issues: &mut Vec<Issue>,
) {
    if !structure::check(resource, resource_type, path, issues) {
        return;
    }
    datatypes::check(resource, container, path, checks_nl_core(resource, profiles), issues);
    if resource_type == "Bundle" {
        invariants::check_bundle(resource, path, issues);
    }
    match profiles {
        ProfileChoice::Explicit(url) => check_profile(resource, resource_type, path, url, Severity::Error, issues),
        ProfileChoice::Claimed => {
            let claimed = resource
                .pointer("/meta/profile")
                .and_then(Value::as_array)
                .into_iter()
                .flatten();
            for url in claimed.filter_map(Value::as_str) {
                check_profile(resource, resource_type, path, url, Severity::Warning, issues);
            }
        }
    }
    for (nested, nested_type, nested_path) in structure::nested_resources(resource, path) {
        let container = base_invariants::is_contained(resource, nested).then_some(resource);
        validate_resource(
            nested,
            container,
            nested_type,
            &nested_path,
            ProfileChoice::Claimed,
            issues,
        );
    }
}

/// Whether the resource is checked against a Nictiz profile (nl-core, zib):
/// only then do the Dutch rules that no profile states apply, such as the
/// nl-core naming systems instead of the OIDs of CDA/v3.
fn checks_nl_core(resource: &Value, profiles: ProfileChoice<'_>) -> bool {
    const NICTIZ: &str = "http://nictiz.nl/fhir/StructureDefinition/";
    match profiles {
        ProfileChoice::Explicit(url) => url.starts_with(NICTIZ),
        ProfileChoice::Claimed => resource
            .pointer("/meta/profile")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .any(|url| url.starts_with(NICTIZ)),
    }
}

/// Checks a resource against one profile; `unknown` is the severity of the
/// finding when zorgpoort does not know the profile.
fn check_profile(
    resource: &Value,
    resource_type: &str,
    path: &str,
    url: &str,
    unknown: Severity,
    issues: &mut Vec<Issue>,
) {
    let Some(profile) = rules::profile(url) else {
        let message = format!("profile {url} is not known to zorgpoort; the resource was not checked against it");
        issues.push(Issue {
            severity: unknown,
            code: IssueType::NotSupported,
            expression: path.to_owned(),
            message,
        });
        return;
    };
    if profile.type_name != resource_type {
        let message = format!("profile {url} constrains {}, not {resource_type}", profile.type_name);
        issues.push(Issue::error(IssueType::Structure, path, message));
        return;
    }
    conformance::check(profile, resource, path, issues);
}

/// Why input could not be read as a FHIR resource.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Not JSON, at 1-based `line` and `column`.
    #[error("JSON at line {line}, column {column}: {reason}")]
    Json {
        /// The line.
        line: usize,
        /// The column.
        column: usize,
        /// What is wrong there.
        reason: String,
    },
    /// Not FHIR XML.
    #[error("XML at {0}")]
    Xml(#[from] xml::XmlError),
    /// Not UTF-8, from this byte offset on.
    #[error("the input is not UTF-8 (byte {0})")]
    Encoding(usize),
    /// Larger than the configured limit.
    #[error("the input is larger than the limit of {0} bytes")]
    TooLarge(usize),
}

/// Reads a resource from FHIR JSON or FHIR XML, told apart by the first
/// non-blank character.
pub fn parse(bytes: &[u8], limits: &xml::XmlLimits) -> Result<Value, ParseError> {
    if bytes.len() > limits.max_bytes {
        return Err(ParseError::TooLarge(limits.max_bytes));
    }
    let bytes = without_byte_order_mark(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| ParseError::Encoding(e.valid_up_to()))?;
    if text.trim_start().starts_with('<') {
        return Ok(xml::resource_from_xml(text, limits)?);
    }
    serde_json::from_str(text).map_err(|e| ParseError::Json {
        line: e.line(),
        column: e.column(),
        reason: e.to_string(),
    })
}

/// `bytes` without a leading UTF-8 byte order mark, which is not content:
/// JSON readers refuse it, and FHIR XML or JSON saved by Windows tools
/// often starts with one. For readers other than [`parse`] (NDJSON).
pub fn without_byte_order_mark(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes)
}
