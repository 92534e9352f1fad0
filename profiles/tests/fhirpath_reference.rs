//! Differential test of the FHIRPath engine (zorgpoort-fhirpath, with this
//! crate's schema as its model) against the reference JavaScript engine (npm
//! `fhirpath`, pinned in conformance-tests/fhirpath-reference, installed by
//! ./scripts/test).
//!
//! Every FHIRPath expression in the nl-core/zib StructureDefinitions
//! (`constraint.expression`) is evaluated on the nl-core examples of the
//! profile (or of its resource type), on the elements the constraint is
//! declared on; every `assert.expression` and `variable.expression` in the
//! `TestScript`s on their fixtures. Results must agree, except the differences
//! listed in `KNOWN_DIFFERENCES` with their reason.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use zorgpoort_fhirpath::{Context, Expression, Item};
use zorgpoort_profiles::fhirpath_model::SchemaModel;
use zorgpoort_profiles::xml::{XmlLimits, resource_from_xml};

/// (expression as sent to both engines, reason). Every listed difference must
/// still occur, so the list cannot go stale.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[(
    "code.memberOf('http://decor.nictiz.nl/fhir/ValueSet/2.16.840.1.113883.2.4.3.11.60.40.2.8.3.2--20200901000000') implies extension.where(url = 'http://hl7.org/fhir/StructureDefinition/flag-detail').exists().not()",
    "memberOf() needs terminology: the reference engine refuses it outside its async mode, ours answers from the value sets the nl-core tables enumerate (this one is)",
)];

fn corpora() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../conformance-tests/corpora")
}

fn reference_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../conformance-tests/fhirpath-reference")
}

fn read_dir_sorted(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    paths
}

/// One constraint: the profile it belongs to, its type, the element path and the expression.
struct Constraint {
    url: String,
    type_name: String,
    path: String,
    expression: String,
}

fn constraints() -> Vec<Constraint> {
    let mut found = Vec::new();
    let mut pending = vec![corpora().join("nl-core/resources")];
    while let Some(dir) = pending.pop() {
        for path in read_dir_sorted(&dir) {
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "xml") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let Ok(document) = roxmltree::Document::parse(&text) else {
                continue;
            };
            let root = document.root_element();
            if root.tag_name().name() != "StructureDefinition" {
                continue;
            }
            let value_of = |node: roxmltree::Node<'_, '_>, child: &str| {
                node.children()
                    .find(|c| c.has_tag_name(child))
                    .and_then(|c| c.attribute("value"))
                    .map(str::to_owned)
            };
            let (Some(url), Some(type_name)) = (value_of(root, "url"), value_of(root, "type")) else {
                continue;
            };
            for element in root.descendants().filter(|n| n.has_tag_name("element")) {
                let Some(element_path) = value_of(element, "path") else {
                    continue;
                };
                for constraint in element.children().filter(|c| c.has_tag_name("constraint")) {
                    if let Some(expression) = value_of(constraint, "expression") {
                        found.push(Constraint {
                            url: url.clone(),
                            type_name: type_name.clone(),
                            path: element_path.clone(),
                            expression,
                        });
                    }
                }
            }
        }
    }
    found
}

/// The nl-core examples as JSON, with the profiles each claims.
fn examples() -> Vec<(String, Value)> {
    let limits = XmlLimits::default();
    read_dir_sorted(&corpora().join("nl-core/examples"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .filter_map(|path| {
            let text = std::fs::read_to_string(&path).ok()?;
            let resource = resource_from_xml(&text, &limits).ok()?;
            Some((path.file_name()?.to_string_lossy().into_owned(), resource))
        })
        .collect()
}

/// The expression both engines evaluate for a constraint: on the resource for
/// a root constraint, otherwise per element it is declared on.
fn contextual(constraint: &Constraint) -> String {
    let path = constraint.path.replace("[x]", "");
    let invariant = &constraint.expression;
    if zorgpoort_profiles::schema::schema().is_resource_type(&constraint.type_name) {
        if path == constraint.type_name {
            return invariant.clone();
        }
        return format!("{path}.select({invariant})");
    }
    // A data type or extension profile: its elements anywhere in the resource.
    let mut selector = format!("descendants().ofType({})", constraint.type_name);
    if constraint.type_name == "Extension" {
        selector = format!("{selector}.where(url = '{}')", constraint.url);
    }
    let rest = path.strip_prefix(&constraint.type_name).unwrap_or("");
    format!("{selector}{rest}.select({invariant})")
}

/// The (expression, resource) pairs to compare, labelled for messages.
fn cases() -> Vec<(String, String, Value)> {
    let examples = examples();
    assert!(examples.len() > 200, "only {} nl-core examples read", examples.len());
    let mut cases = Vec::new();
    let constraints = constraints();
    assert!(constraints.len() >= 30, "only {} constraints found", constraints.len());
    for constraint in &constraints {
        let claims = |resource: &Value| {
            resource
                .pointer("/meta/profile")
                .and_then(Value::as_array)
                .is_some_and(|p| p.iter().any(|u| u.as_str() == Some(constraint.url.as_str())))
        };
        let mut fitting: Vec<&(String, Value)> = examples.iter().filter(|(_, r)| claims(r)).collect();
        if fitting.is_empty() {
            let by_type = |(_, r): &&(String, Value)| {
                r.get("resourceType").and_then(Value::as_str) == Some(constraint.type_name.as_str())
            };
            fitting = examples.iter().filter(by_type).take(5).collect();
        }
        if fitting.is_empty() {
            // Data type and extension profiles: every example may hold them; a few suffice.
            fitting = examples.iter().take(20).collect();
        }
        let expression = contextual(constraint);
        for (name, resource) in fitting {
            cases.push((
                format!("{} on {name}", constraint.url),
                expression.clone(),
                resource.clone(),
            ));
        }
    }
    let testscripts = corpora().join("testscripts/fhir-r4-spec");
    let fixtures: Vec<Value> = read_dir_sorted(&testscripts.join("fixtures"))
        .iter()
        .filter_map(|p| serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok())
        .collect();
    assert!(!fixtures.is_empty(), "no TestScript fixtures");
    let mut expressions = BTreeSet::new();
    for path in read_dir_sorted(&testscripts) {
        let Some(script) = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        else {
            continue;
        };
        collect_expressions(&script, &mut expressions);
    }
    assert!(!expressions.is_empty(), "no TestScript expressions");
    for expression in &expressions {
        for fixture in &fixtures {
            let id = fixture.get("id").and_then(Value::as_str).unwrap_or("?");
            cases.push((
                format!("TestScript expression on fixture {id}"),
                expression.clone(),
                fixture.clone(),
            ));
        }
    }
    cases
}

/// `assert.expression` and `variable.expression` anywhere in a `TestScript`.
fn collect_expressions(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(object) => {
            for (key, child) in object {
                if key == "assert" || key == "variable" {
                    for item in child.as_array().map_or_else(|| vec![child], |a| a.iter().collect()) {
                        if let Some(expression) = item.get("expression").and_then(Value::as_str) {
                            out.insert(expression.to_owned());
                        }
                    }
                }
                collect_expressions(child, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_expressions(i, out)),
        _ => {}
    }
}

/// Runs the reference engine on every case; one result per case.
fn reference_results(cases: &[(String, String, Value)]) -> Vec<Value> {
    let dir = reference_dir();
    assert!(
        dir.join("node_modules/fhirpath").is_dir(),
        "the reference FHIRPath engine is not installed in {}: run ./scripts/test (it runs npm ci there)",
        dir.display()
    );
    let mut child = Command::new("node")
        .arg("evaluate.js")
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("node could not be started ({e}): install Node.js 20 and run ./scripts/test"));
    let mut input = String::new();
    for (_, expression, resource) in cases {
        input.push_str(&json!({ "expression": expression, "resource": resource }).to_string());
        input.push('\n');
    }
    let mut stdin = child.stdin.take().unwrap_or_else(|| panic!("node has no stdin"));
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().unwrap_or_else(|e| panic!("node failed: {e}"));
    writer
        .join()
        .unwrap_or_else(|_| panic!("writer thread panicked"))
        .unwrap_or_else(|e| panic!("writing to node: {e}"));
    assert!(output.status.success(), "node exited with {}", output.status);
    let results: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("node printed {l:?}: {e}")))
        .collect();
    assert_eq!(
        results.len(),
        cases.len(),
        "node answered {} of {} cases",
        results.len(),
        cases.len()
    );
    results
}

/// JSON numbers compared by value (`1.0` = `1`).
fn normalize(value: &Value) -> Value {
    match value {
        Value::Number(n) => n
            .to_string()
            .parse::<f64>()
            .map_or_else(|_| value.clone(), |f| json!(f)),
        Value::Array(items) => Value::Array(items.iter().map(normalize).collect()),
        Value::Object(object) => Value::Object(object.iter().map(|(k, v)| (k.clone(), normalize(v))).collect()),
        other => other.clone(),
    }
}

fn ours(expression: &str, resource: &Value) -> Value {
    let model = SchemaModel;
    let result = Expression::parse(expression)
        .map_err(|e| e.to_string())
        .and_then(|parsed| {
            parsed
                .evaluate(&Context::new(resource).with_model(&model))
                .map_err(|e| e.to_string())
        });
    match result {
        Ok(items) => json!({ "result": items.iter().map(Item::to_json).collect::<Vec<_>>() }),
        Err(e) => json!({ "error": e }),
    }
}

#[test]
fn agrees_with_the_reference_engine() {
    let cases = cases();
    let reference = reference_results(&cases);
    let mut differences: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut compared = 0;
    for ((label, expression, resource), theirs) in cases.iter().zip(&reference) {
        let mine = ours(expression, resource);
        compared += 1;
        let agree = match (mine.get("result"), theirs.get("result")) {
            (Some(a), Some(b)) => normalize(a) == normalize(b),
            (None, None) => true,
            _ => false,
        };
        if !agree {
            differences
                .entry(expression.clone())
                .or_default()
                .push(format!("{label}: ours {mine}, reference {theirs}"));
        }
    }
    println!(
        "{compared} evaluations compared, {} expressions differ",
        differences.len()
    );
    let known: BTreeSet<&str> = KNOWN_DIFFERENCES.iter().map(|(e, _)| *e).collect();
    let unexpected: Vec<String> = differences
        .iter()
        .filter(|(e, _)| !known.contains(e.as_str()))
        .map(|(e, d)| {
            format!(
                "`{e}`:\n  {}",
                d.iter().take(3).cloned().collect::<Vec<_>>().join("\n  ")
            )
        })
        .collect();
    let stale: Vec<&&str> = known.iter().filter(|e| !differences.contains_key(**e)).collect();
    assert!(
        unexpected.is_empty(),
        "{} expression(s) differ from the reference engine:\n{}",
        unexpected.len(),
        unexpected.join("\n")
    );
    assert!(
        stale.is_empty(),
        "listed as known differences but now agreeing (remove them): {stale:?}"
    );
    assert!(compared > 100, "only {compared} evaluations");
}
