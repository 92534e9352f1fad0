//! The base R4 invariants written by hand, named after their keys: those of
//! types that every resource must keep (`Period`, `Attachment`, `Extension`,
//! `RiskAssessment`, `Bundle`) and that need more than FHIRPath says (the
//! stretch of time a partial date covers, the decoded size of base64 data,
//! references resolved inside a document). The profiles' invariants are
//! evaluated with the FHIRPath engine ([`crate::constraints`]);
//! `docs/validation.md` lists what is checked where.

use std::collections::HashSet;

use serde_json::Value;
use zorgpoort_model::span::Span;

use crate::issue::{Issue, IssueType};

/// per-1 of every Period: the start is not after the end. Values of
/// different precision are compared by the stretch of time each covers, and
/// fail only when all of the start is after all of the end (`2021` and
/// `2021-05-01` are compatible).
pub fn check_period(period: &Value, path: &str, issues: &mut Vec<Issue>) {
    let bound = |name| period.get(name).and_then(Value::as_str);
    let (Some(start), Some(end)) = (bound("start"), bound("end")) else {
        return;
    };
    if let (Some(from), Some(to)) = (Span::parse(start), Span::parse(end))
        && from.certainly_after(to)
    {
        let message = format!("per-1: start SHALL have a lower value than end; {start} is after {end}");
        issues.push(Issue::error(IssueType::Invariant, path, message));
    }
}

/// att-1 of every Attachment (data needs a contentType), and `size` against
/// the data it describes: when both are given they must agree, as the
/// reference validator holds.
pub fn check_attachment(attachment: &Value, path: &str, issues: &mut Vec<Issue>) {
    let data = attachment.get("data").and_then(Value::as_str);
    if data.is_some() && attachment.get("contentType").is_none() {
        let message = "att-1: if the Attachment has data, it SHALL have a contentType";
        issues.push(Issue::error(IssueType::Invariant, path, message));
    }
    let size = attachment.get("size").and_then(Value::as_u64);
    if let (Some(size), Some(decoded)) = (size, data.and_then(decoded_length))
        && size != decoded
    {
        let message = format!("the size is {size} bytes, but the data holds {decoded}");
        issues.push(Issue::error(IssueType::Value, format!("{path}.size"), message));
    }
}

/// The number of bytes base64 `data` decodes to; `None` when it is not
/// base64 (the schema reports that).
fn decoded_length(data: &str) -> Option<u64> {
    let symbols: Vec<u8> = data.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if symbols.len() % 4 != 0 {
        return None;
    }
    let padding = symbols.iter().rev().take(2).filter(|b| **b == b'=').count();
    u64::try_from(symbols.len() / 4 * 3 - padding).ok()
}

/// ext-1 of every Extension: it has either nested extensions or a
/// `value[x]` (a primitive value's `_valueCode` counts), not both.
pub fn check_extension(extension: &Value, path: &str, issues: &mut Vec<Issue>) {
    let Some(object) = extension.as_object() else { return };
    let nested = object.contains_key("extension");
    let valued = object.keys().any(|key| {
        let name = key.strip_prefix('_').unwrap_or(key);
        name.strip_prefix("value")
            .is_some_and(|rest| rest.starts_with(char::is_uppercase))
    });
    if nested == valued {
        let message = "ext-1: must have either extensions or value[x], not both";
        issues.push(Issue::error(IssueType::Invariant, path, message));
    }
}

/// ras-2 of every RiskAssessment.prediction: "probability is decimal
/// implies (probability as decimal) <= 100".
pub fn check_risk_prediction(prediction: &Value, path: &str, issues: &mut Vec<Issue>) {
    let probability = prediction.get("probabilityDecimal").and_then(Value::as_f64);
    if probability.is_some_and(|probability| probability > 100.0) {
        let message = "ras-2: a probability as a decimal must be <= 100";
        issues.push(Issue::error(
            IssueType::Invariant,
            format!("{path}.probabilityDecimal"),
            message,
        ));
    }
}

/// The invariants of the base Bundle (bdl-1..5, 7..12), which no profile
/// repeats and the schema cannot say, and that a fullUrl is absolute.
pub fn check_bundle(bundle: &Value, path: &str, issues: &mut Vec<Issue>) {
    let kind = bundle.get("type").and_then(Value::as_str).unwrap_or_default();
    let mut fail = |key: &str, at: String, human: &str| {
        issues.push(Issue::error(IssueType::Invariant, at, format!("{key}: {human}")));
    };
    if bundle.get("total").is_some() && !matches!(kind, "searchset" | "history") {
        fail("bdl-1", format!("{path}.total"), "total only when a search or history");
    }
    let entries = bundle
        .get("entry")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let wants_request = matches!(kind, "batch" | "transaction" | "history");
    let wants_response = matches!(kind, "batch-response" | "transaction-response" | "history");
    let mut full_urls = HashSet::new();
    for (index, entry) in entries.iter().enumerate() {
        let at = format!("{path}.entry[{index}]");
        if entry.get("search").is_some() && kind != "searchset" {
            fail("bdl-2", format!("{at}.search"), "entry.search only when a search");
        }
        match (entry.get("request").is_some(), wants_request) {
            (false, true) => fail(
                "bdl-3",
                format!("{at}.request"),
                "entry.request is mandatory for batch/transaction/history",
            ),
            (true, false) => fail(
                "bdl-3",
                format!("{at}.request"),
                "entry.request is only for batch/transaction/history",
            ),
            _ => {}
        }
        match (entry.get("response").is_some(), wants_response) {
            (false, true) => fail(
                "bdl-4",
                format!("{at}.response"),
                "entry.response is mandatory for batch-response/transaction-response/history",
            ),
            (true, false) => fail(
                "bdl-4",
                format!("{at}.response"),
                "entry.response is only for batch-response/transaction-response/history",
            ),
            _ => {}
        }
        if let Some(full_url) = entry.get("fullUrl").and_then(Value::as_str) {
            let version = entry.pointer("/resource/meta/versionId").and_then(Value::as_str);
            if !full_urls.insert((full_url, version)) {
                fail(
                    "bdl-7",
                    format!("{at}.fullUrl"),
                    "fullUrl must be unique in a bundle, or else entries with the same fullUrl must have different meta.versionId",
                );
            }
        }
    }
    let first_type = entries
        .first()
        .and_then(|entry| entry.pointer("/resource/resourceType"))
        .and_then(Value::as_str);
    if kind == "document" {
        let identified =
            bundle.pointer("/identifier/system").is_some() && bundle.pointer("/identifier/value").is_some();
        if !identified {
            fail(
                "bdl-9",
                format!("{path}.identifier"),
                "a document must have an identifier with a system and a value",
            );
        }
        if bundle.get("timestamp").is_none() {
            fail("bdl-10", format!("{path}.timestamp"), "a document must have a date");
        }
        if first_type != Some("Composition") {
            fail(
                "bdl-11",
                format!("{path}.entry[0]"),
                "a document must start with a Composition",
            );
        }
    }
    if kind == "message" && first_type != Some("MessageHeader") {
        fail(
            "bdl-12",
            format!("{path}.entry[0]"),
            "a message must start with a MessageHeader",
        );
    }
    check_entries(entries, path, issues);
    if kind == "document" {
        check_document_references(entries, path, issues);
    }
}

/// Each entry on its own: bdl-5 (something in it), bdl-8, and the
/// definition of `Bundle.entry.fullUrl`: "the absolute URL for the
/// resource", which, when it looks like a server URL, "SHALL end with the
/// Resource.id".
fn check_entries(entries: &[Value], path: &str, issues: &mut Vec<Issue>) {
    for (index, entry) in entries.iter().enumerate() {
        if ["resource", "request", "response"]
            .iter()
            .all(|name| entry.get(name).is_none())
        {
            let message = "bdl-5: must be a resource unless there's a request or response";
            issues.push(Issue::error(
                IssueType::Invariant,
                format!("{path}.entry[{index}]"),
                message,
            ));
        }
        let Some(full_url) = entry.get("fullUrl").and_then(Value::as_str) else {
            continue;
        };
        let at = format!("{path}.entry[{index}].fullUrl");
        if full_url.contains("/_history/") {
            let message = "bdl-8: fullUrl cannot be a version specific reference";
            issues.push(Issue::error(IssueType::Invariant, at.clone(), message));
        }
        if !is_absolute(full_url) {
            let message = format!("the fullUrl must be an absolute URL, not `{full_url}`");
            issues.push(Issue::error(IssueType::Value, at.clone(), message));
        }
        if let (Some((_, kind, id)), Some((resource_type, resource_id))) =
            (restful(full_url), entry.get("resource").and_then(typed_id))
            && (kind, id) != (resource_type, resource_id)
        {
            let message = format!(
                "the fullUrl is a server URL, so it must end with /{resource_type}/{resource_id}, the resource's type and id"
            );
            issues.push(Issue::error(IssueType::Value, at, message));
        }
    }
}

/// Whether `url` starts with a scheme (RFC 3986: a letter, then letters,
/// digits, `+`, `-` or `.`, then `:`).
fn is_absolute(url: &str) -> bool {
    url.split_once(':').is_some_and(|(scheme, _)| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

/// A document is self-contained: every reference in it resolves to one of
/// its entries (as the Bundle page resolves them: an absolute reference by
/// the fullUrl, a relative one against the server base of the referring
/// entry's fullUrl or, where that has none, by type and id). A reference to
/// an absolute http(s) URL outside the document may still resolve on that
/// server: a warning. Anything else that resolves nowhere is an error.
fn check_document_references(entries: &[Value], path: &str, issues: &mut Vec<Issue>) {
    let entries_at = Entries::of(entries);
    for (index, entry) in entries.iter().enumerate() {
        let Some(resource) = entry.get("resource") else {
            continue;
        };
        let referrer = entry.get("fullUrl").and_then(Value::as_str);
        let at = format!("{path}.entry[{index}].resource");
        for found in crate::references::references(resource, &at) {
            let reference = found.reference;
            match entries_at.resolve(reference, referrer) {
                Resolution::Inside => {}
                Resolution::External => issues.push(Issue::warning(
                    IssueType::NotFound,
                    found.path,
                    format!("`{reference}` is not in the document; a document should hold what it refers to"),
                )),
                Resolution::Nowhere => issues.push(Issue::error(
                    IssueType::NotFound,
                    found.path,
                    format!("`{reference}` does not resolve to an entry of the document"),
                )),
            }
        }
    }
}

/// Where a reference in a document leads.
enum Resolution {
    /// To an entry, or to a resource contained in the referring one.
    Inside,
    /// To an absolute http(s) URL that no entry has.
    External,
    /// Nowhere.
    Nowhere,
}

/// A Bundle's entries by fullUrl and by type and id.
struct Entries<'v> {
    full_urls: HashSet<&'v str>,
    typed_ids: HashSet<(&'v str, &'v str)>,
}

impl<'v> Entries<'v> {
    fn of(entries: &'v [Value]) -> Self {
        let full_urls = entries
            .iter()
            .filter_map(|entry| entry.get("fullUrl").and_then(Value::as_str))
            .collect();
        let typed_ids = entries
            .iter()
            .filter_map(|entry| entry.get("resource").and_then(typed_id))
            .collect();
        Self { full_urls, typed_ids }
    }

    /// Resolves `reference`, made by the entry whose fullUrl is `referrer`.
    fn resolve(&self, reference: &str, referrer: Option<&str>) -> Resolution {
        if reference.starts_with('#') {
            return Resolution::Inside;
        }
        // A fullUrl is version independent; a versioned reference finds it.
        let unversioned = reference.split("/_history/").next().unwrap_or(reference);
        if is_absolute(unversioned) {
            return if self.full_urls.contains(unversioned) {
                Resolution::Inside
            } else if unversioned.starts_with("http://") || unversioned.starts_with("https://") {
                Resolution::External
            } else {
                Resolution::Nowhere
            };
        }
        if let Some((base, _, _)) = referrer.and_then(restful)
            && self.full_urls.contains(format!("{base}/{unversioned}").as_str())
        {
            return Resolution::Inside;
        }
        let typed_id = unversioned.split_once('/');
        if typed_id.is_some_and(|typed_id| self.typed_ids.contains(&typed_id)) {
            Resolution::Inside
        } else {
            Resolution::Nowhere
        }
    }
}

/// A resource's type and id, when it has an id.
fn typed_id(resource: &Value) -> Option<(&str, &str)> {
    let kind = resource.get("resourceType").and_then(Value::as_str)?;
    Some((kind, resource.get("id").and_then(Value::as_str)?))
}

/// A fullUrl of the form `[base]/[type]/[id]`, in its parts.
fn restful(full_url: &str) -> Option<(&str, &str, &str)> {
    let mut parts = full_url.rsplitn(3, '/');
    let (id, kind, base) = (parts.next()?, parts.next()?, parts.next()?);
    (is_absolute(base) && crate::schema::schema().is_resource_type(kind)).then_some((base, kind, id))
}
