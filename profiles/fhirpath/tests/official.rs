//! The official FHIRPath test cases for FHIR R4 (`tests-fhir-r4.xml` from
//! FHIR/fhir-test-cases, in `conformance-tests/corpora/fhirpath/r4`), run on
//! the JSON forms of their input resources with a model read from the R4 schema.
//!
//! Two assertions keep the record honest: at least `MIN_PASSED` cases pass
//! (a regression fails), and the failing cases are exactly those listed in
//! `official_known_failures.txt` (fixing one forces the list to shrink).
//! `docs/fhirpath.md` says why each listed case fails.

mod common;

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::Value;
use zorgpoort_fhirpath::{Context, Expression, Item, as_boolean};

const MIN_PASSED: usize = 843;

struct Case {
    name: String,
    input: Option<String>,
    expression: String,
    invalid: bool,
    predicate: bool,
    outputs: Vec<(String, String)>,
}

fn cases() -> Vec<Case> {
    let path = common::corpora().join("fhirpath/r4/tests-fhir-r4.xml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let document = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut cases = Vec::new();
    for test in document.descendants().filter(|n| n.has_tag_name("test")) {
        let Some(expression) = test.children().find(|n| n.has_tag_name("expression")) else {
            continue;
        };
        cases.push(Case {
            name: test.attribute("name").unwrap_or("?").to_owned(),
            input: test.attribute("inputfile").map(|f| f.replace(".xml", ".json")),
            expression: expression.text().unwrap_or("").to_owned(),
            invalid: expression.attribute("invalid").is_some() || test.attribute("invalid").is_some(),
            predicate: test.attribute("predicate") == Some("true"),
            outputs: test
                .children()
                .filter(|n| n.has_tag_name("output"))
                .map(|o| {
                    (
                        o.attribute("type").unwrap_or("").to_owned(),
                        o.text().unwrap_or("").to_owned(),
                    )
                })
                .collect(),
        });
    }
    cases
}

/// The type and text of an item as the test file writes them.
fn describe(item: &Item) -> (String, String) {
    let type_name = match item {
        Item::Node(node) => node.type_name().unwrap_or("?").to_owned(),
        Item::Quantity(_) => "Quantity".to_owned(),
        other => {
            let system = other.system_type().unwrap_or("?");
            let mut chars = system.chars();
            chars
                .next()
                .map(|c| c.to_lowercase().chain(chars).collect())
                .unwrap_or_default()
        }
    };
    let text = match item {
        Item::Node(node) => match node.json() {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        },
        Item::Date(d) | Item::DateTime(d) => format!("@{d}"),
        Item::Time(t) => format!("@T{t}"),
        other => other.to_string(),
    };
    (type_name, text)
}

fn without_at(text: &str) -> &str {
    text.strip_prefix('@').unwrap_or(text)
}

fn run(case: &Case, model: &common::SchemaModel) -> Result<(), String> {
    let resource: Option<Value> = match &case.input {
        Some(file) => {
            let path = common::corpora().join("fhirpath/r4/input").join(file);
            let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            Some(serde_json::from_str(&text).map_err(|e| format!("{file}: {e}"))?)
        }
        None => None,
    };
    let parsed = Expression::parse(&case.expression);
    let empty = Value::Null;
    let mut context = Context::new(resource.as_ref().unwrap_or(&empty)).with_model(model);
    if resource.is_none() {
        context = context.with_focus(Vec::new());
    }
    let result = parsed
        .map_err(|e| e.to_string())
        .and_then(|p| p.evaluate(&context).map_err(|e| e.to_string()));
    if case.invalid {
        return match result {
            Err(_) => Ok(()),
            Ok(items) => Err(format!("expected an error, got {} item(s)", items.len())),
        };
    }
    let mut items = result?;
    if case.predicate {
        let value = as_boolean(&items).map_err(|e| e.to_string())?;
        items = value.map(Item::Boolean).into_iter().collect();
    }
    let actual: Vec<(String, String)> = items.iter().map(describe).collect();
    let matches = actual.len() == case.outputs.len()
        && actual
            .iter()
            .zip(&case.outputs)
            .all(|((at, ax), (et, ex))| at == et && without_at(ax) == without_at(ex));
    if matches {
        Ok(())
    } else {
        Err(format!("expected {:?}, got {:?}", case.outputs, actual))
    }
}

#[test]
fn official_r4_cases() {
    let model = common::SchemaModel::load();
    let cases = cases();
    assert!(cases.len() > 900, "the test file has {} cases", cases.len());
    let mut failing = BTreeSet::new();
    let mut report = String::new();
    for case in &cases {
        if let Err(reason) = run(case, &model) {
            failing.insert(case.name.clone());
            let _ = writeln!(report, "{}: `{}`: {reason}", case.name, case.expression.trim());
        }
    }
    let passed = cases.len() - failing.len();
    println!("{passed} of {} official cases pass\n{report}", cases.len());
    let known_text = include_str!("official_known_failures.txt");
    let known: BTreeSet<String> = known_text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    let newly_failing: Vec<_> = failing.difference(&known).collect();
    let now_passing: Vec<_> = known.difference(&failing).collect();
    assert!(passed >= MIN_PASSED, "{passed} passed, fewer than {MIN_PASSED}");
    assert!(
        newly_failing.is_empty() && now_passing.is_empty(),
        "newly failing: {newly_failing:?}\nnow passing (remove from official_known_failures.txt): {now_passing:?}"
    );
}
