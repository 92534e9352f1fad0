//! The generic checks every emitted Bundle must pass, for the adapters'
//! tests and the conformance kit: valid JSON, entries with `fullUrl` and
//! `request`, every `urn:uuid:` reference resolving inside the Bundle, no
//! empty values, and dates that match FHIR's regexes; and the golden-file
//! comparison the adapters' tests share.

use std::path::Path;

use serde_json::Value;

use crate::datatypes::{is_date, is_datetime};

/// Elements whose values are FHIR `date`.
const DATE_ELEMENTS: &[&str] = &["birthDate", "expirationDate"];
/// Elements whose values are FHIR `instant` (a full time with a zone).
const INSTANT_ELEMENTS: &[&str] = &["recorded", "issued", "lastUpdated"];
/// Elements whose values are FHIR `dateTime` (besides those named `...DateTime`).
const DATETIME_ELEMENTS: &[&str] = &["start", "end", "authoredOn", "recordedDate", "date"];

/// Problems found in a serialized Bundle of `kind` (`transaction` or
/// `document`), each with its JSON path; empty when it passes.
pub fn check_bundle(json: &str, kind: &str) -> Vec<String> {
    let bundle: Value = match serde_json::from_str(json) {
        Ok(v) => v,
        Err(e) => return vec![format!("not valid JSON: {e}")],
    };
    let mut problems = Vec::new();
    if bundle["resourceType"] != "Bundle" {
        problems.push("$.resourceType: not Bundle".to_owned());
    }
    if bundle["type"] != kind {
        problems.push(format!("$.type: not {kind}"));
    }
    let entries = bundle["entry"].as_array().cloned().unwrap_or_default();
    if entries.is_empty() {
        problems.push("$.entry: no entries".to_owned());
    }
    let full_urls: Vec<&str> = entries.iter().filter_map(|e| e["fullUrl"].as_str()).collect();
    for (i, entry) in entries.iter().enumerate() {
        let at = format!("$.entry[{i}]");
        match entry["fullUrl"].as_str() {
            Some(url) if url.starts_with("urn:uuid:") && url.len() == 45 => {}
            _ => problems.push(format!("{at}.fullUrl: missing or not a urn:uuid")),
        }
        if entry["resource"]["resourceType"].as_str().is_none() {
            problems.push(format!("{at}.resource.resourceType: missing"));
        }
        if kind == "transaction"
            && (entry["request"]["method"].as_str().is_none() || entry["request"]["url"].as_str().is_none())
        {
            problems.push(format!("{at}.request: method and url required in a transaction"));
        }
        if full_urls
            .iter()
            .filter(|u| Some(**u) == entry["fullUrl"].as_str())
            .count()
            > 1
        {
            problems.push(format!("{at}.fullUrl: not unique"));
        }
    }
    walk(&bundle, "$", &full_urls, &mut problems);
    problems
}

/// The resources of a Bundle with the given type.
pub fn resources<'a>(bundle: &'a Value, resource_type: &str) -> Vec<&'a Value> {
    bundle["entry"].as_array().map_or_else(Vec::new, |entries| {
        entries
            .iter()
            .map(|e| &e["resource"])
            .filter(|r| r["resourceType"] == resource_type)
            .collect()
    })
}

/// Compares `actual` with the committed golden file at `path`; with
/// `UPDATE_EXPECT=1` set, writes `actual` there instead (the diff is then
/// reviewed like code).
///
/// # Panics
///
/// When the file differs or is missing, naming the first differing line;
/// when `UPDATE_EXPECT=1` and the file cannot be written.
pub fn expect_file(path: &Path, actual: &str) {
    if std::env::var_os("UPDATE_EXPECT").is_some_and(|v| v == "1") {
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(path, actual));
        if let Err(e) = written {
            panic!("cannot write {}: {e}", path.display());
        }
        return;
    }
    let expected = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => panic!("{}: {e} (run with UPDATE_EXPECT=1 to create it)", path.display()),
    };
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs at line {} (UPDATE_EXPECT=1 rewrites it):\nexpected: {}\nactual:   {}",
            path.display(),
            line + 1,
            expected.lines().nth(line).unwrap_or("<end>"),
            actual.lines().nth(line).unwrap_or("<end>")
        );
    }
}

fn walk(value: &Value, path: &str, full_urls: &[&str], problems: &mut Vec<String>) {
    match value {
        Value::String(s) if s.is_empty() => problems.push(format!("{path}: empty string")),
        Value::Array(items) if items.is_empty() => problems.push(format!("{path}: empty array")),
        Value::Object(map) if map.is_empty() => problems.push(format!("{path}: empty object")),
        Value::Array(items) => {
            let in_extension_array = path.rsplit('.').next().is_some_and(|k| k.starts_with('_'));
            for (i, item) in items.iter().enumerate() {
                if item.is_null() {
                    if !in_extension_array {
                        problems.push(format!("{path}[{i}]: null outside an _element array"));
                    }
                    continue;
                }
                walk(item, &format!("{path}[{i}]"), full_urls, problems);
            }
        }
        Value::Object(map) => {
            for (key, child) in map {
                let child_path = format!("{path}.{key}");
                if let Some(text) = child.as_str() {
                    check_primitive(key, text, &child_path, full_urls, problems);
                }
                walk(child, &child_path, full_urls, problems);
            }
        }
        Value::Null => problems.push(format!("{path}: null")),
        _ => {}
    }
}

fn check_primitive(key: &str, text: &str, path: &str, full_urls: &[&str], problems: &mut Vec<String>) {
    let ok = if DATE_ELEMENTS.contains(&key) {
        is_date(text)
    } else if INSTANT_ELEMENTS.contains(&key) {
        is_datetime(text) && text.contains('T')
    } else if key.ends_with("DateTime") || DATETIME_ELEMENTS.contains(&key) {
        is_datetime(text)
    } else {
        true
    };
    if !ok {
        problems.push(format!("{path}: {text:?} does not match the FHIR regex"));
    }
    if key == "reference" && text.starts_with("urn:uuid:") && !full_urls.contains(&text) {
        problems.push(format!("{path}: {text} does not resolve inside the Bundle"));
    }
    if text.trim() != text && key != "data" {
        problems.push(format!("{path}: leading or trailing whitespace"));
    }
}

#[cfg(test)]
mod tests {
    use super::check_bundle;

    #[test]
    fn finds_each_kind_of_problem() {
        let bad = r#"{"resourceType":"Bundle","type":"transaction","entry":[
            {"fullUrl":"urn:uuid:00000000-0000-0000-0000-000000000001","resource":{"resourceType":"Patient","birthDate":"1980-02-30","name":[]},"request":{"method":"PUT","url":"Patient/1"}},
            {"fullUrl":"urn:uuid:00000000-0000-0000-0000-000000000002","resource":{"resourceType":"Observation","subject":{"reference":"urn:uuid:00000000-0000-0000-0000-000000000009"},"note":[{"text":""}]}}]}"#;
        let problems = check_bundle(bad, "transaction");
        let joined = problems.join("\n");
        assert!(
            joined.contains("$.entry[0].resource.birthDate: \"1980-02-30\""),
            "{joined}"
        );
        assert!(joined.contains("$.entry[0].resource.name: empty array"), "{joined}");
        assert!(joined.contains("$.entry[1].request: method and url"), "{joined}");
        assert!(joined.contains("does not resolve"), "{joined}");
        assert!(
            joined.contains("$.entry[1].resource.note[0].text: empty string"),
            "{joined}"
        );
        assert_eq!(check_bundle("{", "transaction").len(), 1);
    }
}
