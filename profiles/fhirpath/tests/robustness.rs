//! Hostile input never panics and never overflows the stack: random bytes and
//! random token soups parse to a tree or a typed error, deep nesting is refused
//! with `TooDeep`, and whatever parses evaluates to a result or a typed error.

use proptest::prelude::*;
use serde_json::json;
use zorgpoort_fhirpath::{Context, Expression, MAX_DEPTH, ParseError};

fn patient() -> serde_json::Value {
    json!({"resourceType": "Patient", "name": [{"given": ["a", "b"], "family": "c"}], "birthDate": "2000-01-01",
           "_birthDate": {"extension": [{"url": "u", "valueString": "x"}]}})
}

const PIECES: &[&str] = &[
    "Patient",
    "name",
    "given",
    ".",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "'x'",
    "1",
    "2.5",
    "@2020-01",
    "@T10:00",
    " and ",
    " or ",
    " implies ",
    "=",
    "!=",
    "~",
    "<",
    "+",
    "-",
    "*",
    "/",
    " div ",
    " mod ",
    "|",
    "&",
    " is ",
    " as ",
    "String",
    "where(",
    "select(",
    "repeat(",
    "exists(",
    "count()",
    "descendants()",
    "aggregate(",
    "$this",
    "$index",
    "$total",
    "%resource",
    ",",
    "iif(",
    "substring(",
    "matches(",
    "'(a+)+$'",
    "replace(",
    "toString()",
    "5 'mg'",
    "3 days",
    "extension(",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_give_a_tree_or_an_error(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(expression) = Expression::parse(&text) {
            // Evaluation may fail, but only with a typed error.
            let _ = expression.evaluate(&Context::new(&patient()));
        }
    }

    #[test]
    fn token_soup_gives_a_tree_or_an_error(pieces in proptest::collection::vec(proptest::sample::select(PIECES), 0..40)) {
        let text: String = pieces.concat();
        if let Ok(expression) = Expression::parse(&text) {
            let _ = expression.evaluate(&Context::new(&patient()));
        }
    }

    #[test]
    fn any_nesting_past_the_limit_is_refused(depth in (MAX_DEPTH + 1)..5000usize, kind in 0..4usize) {
        let text = match kind {
            0 => format!("{}1{}", "(".repeat(depth), ")".repeat(depth)),
            1 => format!("name{}", ".given".repeat(depth)),
            2 => format!("1{}", " + 1".repeat(depth)),
            _ => format!("{}1", "-".repeat(depth)),
        };
        prop_assert!(matches!(Expression::parse(&text), Err(ParseError::TooDeep { .. })), "{} levels of kind {} accepted", depth, kind);
    }
}

#[test]
fn nesting_just_under_the_limit_evaluates() {
    let depth = MAX_DEPTH - 2;
    let text = format!("{}1{}", "(".repeat(depth), ")".repeat(depth));
    let result = Expression::parse(&text).map(|e| e.evaluate(&Context::new(&patient())));
    assert!(matches!(result, Ok(Ok(ref items)) if items.len() == 1), "{result:?}");
    let chain = format!("(1{})", " + 1".repeat(MAX_DEPTH - 4));
    assert!(Expression::parse(&chain).is_ok());
}

#[test]
fn huge_input_is_refused_before_parsing() {
    let text = "1+".repeat(zorgpoort_fhirpath::MAX_LENGTH);
    assert!(matches!(Expression::parse(&text), Err(ParseError::TooLong { .. })));
}
