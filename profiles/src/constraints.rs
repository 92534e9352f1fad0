//! Invariants evaluated with the FHIRPath engine (`zorgpoort-fhirpath`):
//! those the nl-core/zib profiles declare ([`crate::rules::Invariant`] in the
//! generated tables) and those of the base R4 definitions
//! ([`crate::base_invariants`]).
//!
//! Each expression is parsed once per process. An invariant is evaluated on
//! one value of its element (the focus), with `%resource` the resource the
//! value is in and the schema as the type model ([`SchemaModel`], which also
//! answers `memberOf` for the enumerated value sets). False is a finding with
//! the invariant's severity; empty holds (FHIR semantics); an expression that
//! cannot be parsed or evaluated is a warning naming the key, never an error
//! the data did not cause.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use serde_json::Value;
use zorgpoort_fhirpath::{Context, Expression, Model, PathStep, as_boolean};

use crate::fhirpath_model::SchemaModel;
use crate::issue::{Issue, IssueType, Severity};
use crate::rules::Invariant;

/// One step from a resource down to an element, borrowing the resource's
/// keys.
#[derive(Debug, Clone, Copy)]
pub enum Step<'v> {
    /// A property.
    Key(&'v str),
    /// A primitive property's `_name` sibling, to reach its extensions.
    Sibling(&'v str),
    /// A position in an array.
    Index(usize),
}

/// The invariants of one resource: its copy for the engine is made once, and
/// only when an invariant is evaluated.
pub struct Evaluation<'r> {
    resource: &'r Value,
    shared: OnceCell<Arc<Value>>,
    container: Option<(&'r Value, OnceCell<Arc<Value>>)>,
}

impl<'r> Evaluation<'r> {
    /// For the invariants of `resource`.
    pub fn new(resource: &'r Value) -> Self {
        Self {
            resource,
            shared: OnceCell::new(),
            container: None,
        }
    }

    /// For the invariants of `resource`, contained in `container`, which is
    /// then `%rootResource` (where `#id` references point).
    pub fn contained_in(resource: &'r Value, container: &'r Value) -> Self {
        Self {
            container: Some((container, OnceCell::new())),
            ..Self::new(resource)
        }
    }

    /// Checks `invariant` on the value at `steps` below the resource; a
    /// finding is reported at `path`.
    pub fn check(&self, invariant: &Invariant, steps: &[Step<'_>], path: &str, issues: &mut Vec<Issue>) {
        let type_name = self.type_at(steps);
        let keys: Vec<Cow<'_, str>> = steps
            .iter()
            .map(|step| match step {
                Step::Key(key) => Cow::Borrowed(*key),
                Step::Sibling(key) => Cow::Owned(format!("_{key}")),
                Step::Index(_) => Cow::Borrowed(""),
            })
            .collect();
        let located: Vec<PathStep<'_>> = steps
            .iter()
            .zip(&keys)
            .map(|(step, key)| match step {
                Step::Index(index) => PathStep::Index(*index),
                Step::Key(_) | Step::Sibling(_) => PathStep::Key(key),
            })
            .collect();
        let root = self.shared.get_or_init(|| Arc::new(self.resource.clone()));
        let mut context = Context::shared(Arc::clone(root)).with_model(&SchemaModel);
        if let Some((container, shared)) = &self.container {
            let container = shared.get_or_init(|| Arc::new((*container).clone()));
            context = context.with_shared_root_resource(Arc::clone(container));
        }
        let Some(focus) = context.element(&located, type_name.as_deref()) else {
            return;
        };
        let context = context.with_focus(vec![focus]);
        let verdict = match parsed(invariant.expression) {
            Ok(expression) => expression
                .evaluate(&context)
                .and_then(|result| as_boolean(&result))
                .map_err(|error| error.to_string()),
            Err(error) => Err(error.to_owned()),
        };
        match verdict {
            Ok(Some(false)) => issues.push(Issue {
                severity: invariant.severity,
                code: IssueType::Invariant,
                expression: path.to_owned(),
                message: format!("{}: {}", invariant.key, invariant.human),
            }),
            Ok(_) => {}
            Err(why) => issues.push(Issue {
                severity: Severity::Warning,
                code: IssueType::Exception,
                expression: path.to_owned(),
                message: format!("{} could not be checked: {why}", invariant.key),
            }),
        }
    }

    /// The FHIR type of the value at `steps`, from the schema; `None` when
    /// the schema cannot say.
    fn type_at(&self, steps: &[Step<'_>]) -> Option<String> {
        let mut type_name = self.resource.get("resourceType")?.as_str()?.to_owned();
        for step in steps {
            let (Step::Key(key) | Step::Sibling(key)) = step else {
                continue;
            };
            type_name = match SchemaModel.element_type(&type_name, key) {
                Some(found) => found,
                // Primitives have no schema entry of their own.
                None if matches!(*key, "extension" | "modifierExtension") => "Extension".to_owned(),
                None => return None,
            };
        }
        Some(type_name)
    }
}

/// The parsed expression of every invariant the tables hold, made once;
/// `Err` says why one does not parse.
fn parsed(expression: &str) -> Result<&'static Expression, &'static str> {
    static PARSED: OnceLock<HashMap<&'static str, Result<Expression, String>>> = OnceLock::new();
    let parsed = PARSED.get_or_init(|| {
        let profiles = crate::generated::PROFILES
            .iter()
            .flat_map(|profile| profile.elements.iter())
            .flat_map(|rule| rule.invariants.iter());
        profiles
            .map(|invariant| invariant.expression)
            .chain(crate::base_invariants::expressions())
            .map(|text| (text, Expression::parse(text).map_err(|error| error.to_string())))
            .collect()
    });
    match parsed.get(expression) {
        Some(Ok(expression)) => Ok(expression),
        Some(Err(why)) => Err(why),
        None => Err("the expression is not in the rule tables"),
    }
}
