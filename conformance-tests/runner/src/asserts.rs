//! `TestScript` asserts: each looks at one source (the last response, the
//! last request, or a fixture by `sourceId`) and holds or not; a failure
//! says what was expected and what came.

use serde_json::Value;
use zorgpoort_fhirpath::Collection;
use zorgpoort_profiles::{ProfileChoice, Severity};

use crate::expression;
use crate::fixtures::Fixture;
use crate::script::Assert;
use crate::state::State;
use crate::variables;

/// Why an assert did not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The system under test did not do what the script expects.
    Fail(String),
    /// The assert could not be evaluated as written.
    Error(String),
}

type Checked = Result<(), Failure>;

fn error(message: impl Into<String>) -> Failure {
    Failure::Error(message.into())
}

/// The HTTP status of a `response` code name.
fn response_code(name: &str) -> Option<u16> {
    Some(match name {
        "okay" => 200,
        "created" => 201,
        "noContent" => 204,
        "notModified" => 304,
        "bad" => 400,
        "forbidden" => 403,
        "notFound" => 404,
        "methodNotAllowed" => 405,
        "conflict" => 409,
        "gone" => 410,
        "preconditionFailed" => 412,
        "unprocessable" => 422,
        _ => return None,
    })
}

/// Evaluates `assert` in `state`.
pub fn check(assert: &Assert, state: &State<'_>) -> Checked {
    let source = source(assert, state)?;
    let operator = assert.operator.as_deref().unwrap_or("equals");
    let substituted = |text: &Option<String>| -> Result<Option<String>, Failure> {
        text.as_deref()
            .map(|t| variables::substitute(t, state))
            .transpose()
            .map_err(|e| error(e.to_string()))
    };
    let value = substituted(&assert.value)?;
    response_checks(assert, source, state)?;
    if let Some(id) = &assert.validate_profile_id {
        validate_profile(id, source, state)?;
    }
    if let Some(field) = &assert.header_field {
        let actual: Vec<String> = source.header(field).map(str::to_owned).into_iter().collect();
        let operator = if value.is_none() && assert.operator.is_none() {
            "notEmpty"
        } else {
            operator
        };
        if !compare(operator, &actual, value.as_deref())? {
            return Err(Failure::Fail(mismatch(
                &format!("header {field}"),
                operator,
                value.as_deref(),
                &actual,
            )));
        }
    }
    if let Some(method) = &assert.request_method {
        let last = state.last.as_ref().ok_or_else(|| error("no request was sent yet"))?;
        let actual = [last.method.to_ascii_lowercase()];
        if !compare(operator, &actual, Some(&method.to_ascii_lowercase()))? {
            return Err(Failure::Fail(mismatch(
                "request method",
                operator,
                Some(method),
                &actual,
            )));
        }
    }
    if let Some(url) = substituted(&assert.request_url)? {
        let last = state.last.as_ref().ok_or_else(|| error("no request was sent yet"))?;
        let actual = [last.url.clone()];
        if !compare(operator, &actual, Some(&url))? {
            return Err(Failure::Fail(mismatch("request URL", operator, Some(&url), &actual)));
        }
    }
    expressions(assert, source, state, operator, value.as_deref())?;
    if let Some(id) = &assert.minimum_id {
        let minimum = state
            .fixtures
            .get(id)
            .and_then(|f| f.resource.as_ref())
            .ok_or_else(|| error(format!("minimumId: no fixture {id} with a resource")))?;
        let actual = body(source)?;
        if let Some(missing) = missing(minimum, actual, &type_of(minimum), true) {
            return Err(Failure::Fail(format!("minimumId {id}: {missing}")));
        }
    }
    if assert.navigation_links == Some(true) {
        navigation_links(body(source)?)?;
    }
    Ok(())
}

/// `response`, `responseCode`, `contentType` and `resource`: the status,
/// the format and the type of what came back.
fn response_checks(assert: &Assert, source: &Fixture, state: &State<'_>) -> Checked {
    let operator = assert.operator.as_deref().unwrap_or("equals");
    let codes = assert
        .response_code
        .as_deref()
        .map(|codes| variables::substitute(codes, state))
        .transpose()
        .map_err(|e| error(e.to_string()))?;
    if let Some(name) = &assert.response {
        let expected = response_code(name).ok_or_else(|| error(format!("unknown response code name {name:?}")))?;
        let actual = status(source)?;
        let holds = compare(operator, &[actual.to_string()], Some(&expected.to_string()))?;
        if !holds {
            return Err(Failure::Fail(format!(
                "expected response {}{name} ({expected}), got {actual}",
                phrase(operator)
            )));
        }
    }
    if let Some(codes) = codes {
        let actual = status(source)?;
        let default = if codes.contains(',') { "in" } else { "equals" };
        let operator = assert.operator.as_deref().unwrap_or(default);
        if !compare(operator, &[actual.to_string()], Some(&codes))? {
            return Err(Failure::Fail(format!(
                "expected response code {}{codes}, got {actual}",
                phrase(operator)
            )));
        }
    }
    if let Some(expected) = &assert.content_type {
        let actual = source.header("Content-Type").unwrap_or("");
        if !content_type_matches(expected, actual) {
            let actual = if actual.is_empty() { "no Content-Type" } else { actual };
            return Err(Failure::Fail(format!("expected content type {expected}, got {actual}")));
        }
    }
    if let Some(expected) = &assert.resource {
        let actual = source
            .resource
            .as_ref()
            .and_then(|r| r.get("resourceType"))
            .and_then(Value::as_str);
        if actual != Some(expected.as_str()) {
            let actual = actual.map_or_else(|| "no FHIR resource".to_owned(), |t| format!("a {t}"));
            return Err(Failure::Fail(format!("expected a {expected} resource, got {actual}")));
        }
    }
    Ok(())
}

/// The message or fixture the assert looks at.
fn source<'s>(assert: &Assert, state: &'s State<'_>) -> Result<&'s Fixture, Failure> {
    if let Some(id) = &assert.source_id {
        return state
            .fixtures
            .get(id)
            .ok_or_else(|| error(format!("no fixture or response {id}")));
    }
    let last = state
        .last
        .as_ref()
        .ok_or_else(|| error("no operation ran before this assert"))?;
    if assert.direction.as_deref() == Some("request") {
        return Ok(&last.request);
    }
    last.response
        .as_ref()
        .ok_or_else(|| error("the last operation got no response"))
}

fn status(source: &Fixture) -> Result<u16, Failure> {
    source
        .status
        .ok_or_else(|| error("the source is not a response: it has no status"))
}

fn body(source: &Fixture) -> Result<&Value, Failure> {
    source
        .resource
        .as_ref()
        .ok_or_else(|| Failure::Fail("expected a FHIR resource in the body, got none".to_owned()))
}

fn type_of(resource: &Value) -> String {
    resource
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

/// `expression`, `path` and `compareToSource*`.
fn expressions(assert: &Assert, source: &Fixture, state: &State<'_>, operator: &str, value: Option<&str>) -> Checked {
    let substitute = |text: &str| variables::substitute(text, state).map_err(|e| error(e.to_string()));
    let own = match (&assert.expression, &assert.path) {
        (Some(expression), _) => Some(substitute(expression)?),
        (None, Some(path)) => Some(expression::from_path(&substitute(path)?)),
        (None, None) => None,
    };
    let evaluate = |expression: &str, on: &Fixture| -> Result<Collection, Failure> {
        let resource = on.resource.as_ref().ok_or_else(|| {
            Failure::Fail(format!(
                "{expression}: expected a FHIR resource to evaluate on, got none"
            ))
        })?;
        expression::evaluate(expression, resource).map_err(|e| error(e.to_string()))
    };
    if let Some(compare_id) = &assert.compare_to_source_id {
        let compared = state
            .fixtures
            .get(compare_id)
            .ok_or_else(|| error(format!("compareToSourceId: no fixture {compare_id}")))?;
        let compare_expression = match (&assert.compare_to_source_expression, &assert.compare_to_source_path) {
            (Some(expression), _) => substitute(expression)?,
            (None, Some(path)) => expression::from_path(&substitute(path)?),
            (None, None) => return Err(error("compareToSourceId without compareToSourceExpression or Path")),
        };
        let expected = expression::texts(&evaluate(&compare_expression, compared)?);
        let own = own.unwrap_or_else(|| compare_expression.clone());
        let actual = expression::texts(&evaluate(&own, source)?);
        let Some(first) = expected.first() else {
            return Err(error(format!("{compare_expression} is empty in fixture {compare_id}")));
        };
        if !compare(operator, &actual, Some(first))? {
            return Err(Failure::Fail(mismatch(&own, operator, Some(first), &actual)));
        }
        return Ok(());
    }
    let Some(own) = own else {
        return Ok(());
    };
    let result = evaluate(&own, source)?;
    if operator == "eval" || (value.is_none() && assert.operator.is_none()) {
        return match expression::as_boolean(&own, &result) {
            Ok(Some(true)) => Ok(()),
            Ok(Some(false)) => Err(Failure::Fail(format!("{own}: expected true, got false"))),
            Ok(None) => Err(Failure::Fail(format!("{own}: expected true, got nothing"))),
            Err(_) => Err(Failure::Fail(format!(
                "{own}: expected true, got {}",
                shown(&expression::texts(&result))
            ))),
        };
    }
    let actual = expression::texts(&result);
    if !compare(operator, &actual, value)? {
        return Err(Failure::Fail(mismatch(&own, operator, value, &actual)));
    }
    Ok(())
}

/// Whether `actual` stands in relation `operator` to `expected`; an
/// operator needing a value without one is an error of the script.
fn compare(operator: &str, actual: &[String], expected: Option<&str>) -> Result<bool, Failure> {
    let first = actual.first().map(String::as_str);
    let need = || expected.ok_or_else(|| error(format!("operator {operator} needs a value")));
    Ok(match operator {
        "empty" => actual.is_empty(),
        "notEmpty" => !actual.is_empty(),
        "equals" => first == Some(need()?),
        "notEquals" => first != Some(need()?),
        "in" => first.is_some_and(|f| need().is_ok_and(|list| list.split(',').any(|item| item.trim() == f))),
        "notIn" => {
            let list = need()?;
            first.is_none_or(|f| !list.split(',').any(|item| item.trim() == f))
        }
        "contains" => first.is_some_and(|f| need().is_ok_and(|e| f.contains(e))),
        "notContains" => {
            let e = need()?;
            first.is_none_or(|f| !f.contains(e))
        }
        "greaterThan" | "lessThan" => {
            let e = need()?;
            let Some(f) = first else { return Ok(false) };
            let ordering = match (f.parse::<f64>(), e.parse::<f64>()) {
                (Ok(a), Ok(b)) => a.partial_cmp(&b),
                _ => Some(f.cmp(e)),
            };
            let wanted = if operator == "greaterThan" {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Less
            };
            ordering == Some(wanted)
        }
        other => return Err(error(format!("unknown operator {other:?}"))),
    })
}

/// How an operator reads before the expected value.
fn phrase(operator: &str) -> &'static str {
    match operator {
        "notEquals" => "not ",
        "in" => "one of ",
        "notIn" => "none of ",
        "greaterThan" => "more than ",
        "lessThan" => "less than ",
        "contains" => "something containing ",
        "notContains" => "something not containing ",
        _ => "",
    }
}

fn shown(actual: &[String]) -> String {
    match actual {
        [] => "nothing".to_owned(),
        [one] => format!("{one:?}"),
        many => format!(
            "[{}]",
            many.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// `what: expected "x", got "y"`.
fn mismatch(what: &str, operator: &str, expected: Option<&str>, actual: &[String]) -> String {
    let expected = match operator {
        "empty" => "nothing".to_owned(),
        "notEmpty" => "a value".to_owned(),
        _ => format!("{}{:?}", phrase(operator), expected.unwrap_or_default()),
    };
    format!("{what}: expected {expected}, got {}", shown(actual))
}

fn content_type_matches(expected: &str, actual: &str) -> bool {
    let actual = actual.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match expected {
        "json" => actual.ends_with("json"),
        "xml" => actual.ends_with("xml"),
        "none" => actual.is_empty(),
        mime => actual == crate::operation::mime(mime).to_ascii_lowercase(),
    }
}

/// `validateProfileId`: the body valid against the profile the id names. A
/// core R4 profile (`http://hl7.org/fhir/StructureDefinition/Patient`) is
/// the R4 schema and base rules; others are checked as profiles.
fn validate_profile(id: &str, source: &Fixture, state: &State<'_>) -> Checked {
    let url = state
        .script
        .profile
        .iter()
        .find(|p| p.id.as_deref() == Some(id))
        .and_then(|p| p.reference.as_deref())
        .ok_or_else(|| error(format!("validateProfileId: no profile with id {id} in the script")))?;
    let resource = body(source)?;
    let resource_type = type_of(resource);
    let core = url.strip_prefix("http://hl7.org/fhir/StructureDefinition/");
    let issues = match core {
        Some(core_type) if !core_type.contains('/') => {
            if core_type != resource_type {
                return Err(Failure::Fail(format!(
                    "profile {url}: expected a {core_type}, got a {resource_type}"
                )));
            }
            zorgpoort_profiles::validate(resource, ProfileChoice::Claimed)
        }
        _ => zorgpoort_profiles::validate(resource, ProfileChoice::Explicit(url)),
    };
    let errors: Vec<String> = issues
        .iter()
        .filter(|issue| issue.severity == Severity::Error)
        .map(|issue| format!("{}: {}", issue.expression, issue.message))
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = errors.iter().take(5).map(String::as_str).collect();
    let more = errors.len().saturating_sub(shown.len());
    let more = if more > 0 {
        format!("; and {more} more")
    } else {
        String::new()
    };
    Err(Failure::Fail(format!(
        "expected a resource valid against {url}, got {} error(s): {}{more}",
        errors.len(),
        shown.join("; ")
    )))
}

/// The first element of `minimum` not in `actual`, as `path: expected ...`;
/// array items of the minimum must each match some item of the actual
/// array. At the top, `id`, `meta` and `text` are the server's to set.
fn missing(minimum: &Value, actual: &Value, path: &str, top: bool) -> Option<String> {
    match (minimum, actual) {
        (Value::Object(wanted), Value::Object(have)) => wanted.iter().find_map(|(key, value)| {
            if top && matches!(key.as_str(), "id" | "meta" | "text") {
                return None;
            }
            let child = format!("{path}.{key}");
            match have.get(key) {
                Some(present) => missing(value, present, &child, false),
                None => Some(format!("{child}: expected {}, got nothing", compact(value))),
            }
        }),
        (Value::Array(wanted), Value::Array(have)) => wanted.iter().enumerate().find_map(|(i, item)| {
            let matched = have
                .iter()
                .any(|candidate| missing(item, candidate, path, false).is_none());
            (!matched).then(|| format!("{path}[{i}]: expected {}, got none like it", compact(item)))
        }),
        (Value::Number(a), Value::Number(b)) if a.to_string() == b.to_string() => None,
        (wanted, have) if wanted == have => None,
        (wanted, have) => Some(format!("{path}: expected {}, got {}", compact(wanted), compact(have))),
    }
}

fn compact(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 120 {
        let cut = (0..=117).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        format!("{}...", &text[..cut])
    } else {
        text
    }
}

/// A searchset or history Bundle's paging links: `self`, `first` and
/// `last` present, each with a URL.
fn navigation_links(bundle: &Value) -> Checked {
    let links = bundle
        .get("link")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let relations: Vec<&str> = links
        .iter()
        .filter(|link| link.get("url").and_then(Value::as_str).is_some_and(|u| !u.is_empty()))
        .filter_map(|link| link.get("relation").and_then(Value::as_str))
        .collect();
    let absent: Vec<&str> = ["self", "first", "last"]
        .into_iter()
        .filter(|wanted| !relations.contains(wanted))
        .collect();
    if absent.is_empty() {
        return Ok(());
    }
    Err(Failure::Fail(format!(
        "expected Bundle links self, first and last, got {} (missing {})",
        if relations.is_empty() {
            "none".to_owned()
        } else {
            relations.join(", ")
        },
        absent.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| (*v).to_owned()).collect()
    }

    #[test]
    fn operators_compare_the_first_value() {
        assert_eq!(compare("equals", &strings(&["200"]), Some("200")), Ok(true));
        assert_eq!(compare("in", &strings(&["204"]), Some("200,204")), Ok(true));
        assert_eq!(compare("in", &strings(&["404"]), Some("200, 204")), Ok(false));
        assert_eq!(compare("notIn", &[], Some("200")), Ok(true));
        assert_eq!(compare("greaterThan", &strings(&["10"]), Some("9")), Ok(true));
        assert_eq!(compare("lessThan", &strings(&["10"]), Some("9")), Ok(false));
        assert_eq!(
            compare("contains", &strings(&["application/fhir+xml"]), Some("xml")),
            Ok(true)
        );
        assert_eq!(compare("notEmpty", &[], None), Ok(false));
        assert!(matches!(compare("equals", &[], None), Err(Failure::Error(_))));
        assert!(matches!(compare("like", &[], None), Err(Failure::Error(_))));
    }

    #[test]
    fn mismatch_says_expected_and_got() {
        let message = mismatch(
            "Patient.name.family",
            "equals",
            Some("Chalmers"),
            &strings(&["Chalmer"]),
        );
        assert_eq!(message, r#"Patient.name.family: expected "Chalmers", got "Chalmer""#);
    }

    #[test]
    fn minimum_finds_what_is_missing() {
        let minimum = json!({"resourceType": "Patient", "id": "a", "name": [{"family": "Rook", "given": ["Tessa"]}]});
        let full = json!({"resourceType": "Patient", "id": "b", "name": [{"use": "x"}, {"family": "Rook", "given": ["Tessa", "J"]}]});
        assert_eq!(missing(&minimum, &full, "Patient", true), None);
        let other = json!({"resourceType": "Patient", "name": [{"family": "Rok"}]});
        let found = missing(&minimum, &other, "Patient", true).unwrap();
        assert!(found.starts_with("Patient.name[0]: expected {"), "{found}");
    }

    #[test]
    fn content_types_match_by_format() {
        assert!(content_type_matches("json", "application/fhir+json; charset=utf-8"));
        assert!(!content_type_matches("xml", "application/fhir+json"));
        assert!(content_type_matches(
            "application/fhir+xml",
            "application/fhir+xml;charset=UTF-8"
        ));
    }

    #[test]
    fn navigation_links_need_self_first_and_last() {
        let bundle = json!({"link": [{"relation": "self", "url": "x"}]});
        let Err(Failure::Fail(message)) = navigation_links(&bundle) else {
            panic!("expected a failure")
        };
        assert_eq!(
            message,
            "expected Bundle links self, first and last, got self (missing first, last)"
        );
    }
}
