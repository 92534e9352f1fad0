//! FHIRPath over FHIR resources in their JSON form (`serde_json::Value`).
//!
//! For the validator's invariants and the conformance kit's `TestScript` asserts:
//! an expression is parsed once ([`Expression::parse`]) and evaluated many
//! times against a [`Context`] (the resource, variables, a type [`Model`]).
//! The parts, each with one job:
//!
//! - `lexer` and `parser` turn text into the `ast`, with byte positions in every
//!   [`ParseError`] and limits on length and nesting (hostile text cannot
//!   overflow the stack);
//! - `value` holds the items of a [`Collection`]: system values and nodes of the
//!   resource, `decimal` and `temporal` the exact numbers and partial dates;
//! - `model` is the type knowledge the caller supplies ([`Model`]), with a
//!   fallback that infers what the JSON says ([`InferredModel`]);
//! - `navigate` walks JSON: children, choice types (`value` finds `valueQuantity`),
//!   primitive extensions (`_birthDate`), `resolve()`;
//! - `compare` and `operators` implement equality, ordering and arithmetic,
//!   `eval` the tree and `functions` the function library.
//!
//! It must never panic on input, never embed the FHIR model (that belongs to the
//! caller, e.g. the profiles crate's schema), and never reach outside the
//! resource it is given (no network, no terminology server: `memberOf` asks the
//! [`Model`], and is empty when it cannot answer).

mod ast;
mod compare;
mod decimal;
mod error;
mod eval;
mod functions;
mod lexer;
mod model;
mod navigate;
mod operators;
mod parser;
mod temporal;
mod value;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

pub use decimal::Decimal;
pub use error::{EvalError, ParseError};
pub use model::{InferredModel, Model};
pub use parser::{MAX_DEPTH, MAX_LENGTH};
pub use temporal::{DateTime, Time};
pub use value::{Collection, Item, Node, PathStep, Quantity};

/// A parsed FHIRPath expression; parse once, evaluate many times, share between threads.
#[derive(Debug, Clone)]
pub struct Expression {
    text: String,
    tree: ast::Expr,
}

impl Expression {
    /// Parses `text`. Errors carry the byte offset of the problem.
    pub fn parse(text: &str) -> Result<Expression, ParseError> {
        Ok(Expression {
            text: text.to_owned(),
            tree: parser::parse(text)?,
        })
    }

    /// The text it was parsed from.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Evaluates against `context`: the focus is the context's focus (the
    /// resource unless [`Context::with_focus`] says otherwise).
    pub fn evaluate(&self, context: &Context<'_>) -> Result<Collection, EvalError> {
        eval::evaluate(&self.tree, context)
    }
}

/// What an expression is evaluated against: the resource (`%resource`), the
/// root resource (`%rootResource`, e.g. the Bundle), the focus (`%context`),
/// user variables and the type model.
#[derive(Clone)]
pub struct Context<'a> {
    resource: Node,
    root_resource: Option<Node>,
    focus: Option<Collection>,
    variables: HashMap<String, Collection>,
    model: &'a dyn Model,
}

impl<'a> Context<'a> {
    /// A context whose focus and `%resource` is `resource` (copied once; reuse
    /// the context for many evaluations).
    pub fn new(resource: &Value) -> Context<'a> {
        Context::shared(Arc::new(resource.clone()))
    }

    /// As [`Context::new`], without the copy.
    pub fn shared(resource: Arc<Value>) -> Context<'a> {
        Context {
            resource: Node::root(resource),
            root_resource: None,
            focus: None,
            variables: HashMap::new(),
            model: &InferredModel,
        }
    }

    /// Defines `%name` (names are used without the `%`).
    #[must_use]
    pub fn with_variable(mut self, name: impl Into<String>, value: Collection) -> Context<'a> {
        self.variables.insert(name.into(), value);
        self
    }

    /// Uses `model` for element types instead of the inferring fallback.
    #[must_use]
    pub fn with_model(mut self, model: &'a dyn Model) -> Context<'a> {
        self.model = model;
        self
    }

    /// Sets `%rootResource` (the Bundle or container the resource came from);
    /// `resolve()` also looks there.
    #[must_use]
    pub fn with_root_resource(mut self, root: &Value) -> Context<'a> {
        self.root_resource = Some(Node::root(Arc::new(root.clone())));
        self
    }

    /// As [`Context::with_root_resource`], without the copy.
    #[must_use]
    pub fn with_shared_root_resource(mut self, root: Arc<Value>) -> Context<'a> {
        self.root_resource = Some(Node::root(root));
        self
    }

    /// Evaluates on `focus` (also `%context`) instead of the whole resource,
    /// e.g. the elements an invariant is declared on.
    #[must_use]
    pub fn with_focus(mut self, focus: Collection) -> Context<'a> {
        self.focus = Some(focus);
        self
    }

    /// The element at `steps` below the resource, typed `type_name` when
    /// known, to become a focus ([`Context::with_focus`]): what an invariant
    /// declared on that element is evaluated on. A primitive comes with its
    /// `_name` sibling (id, extensions). `None` when nothing is there.
    pub fn element(&self, steps: &[PathStep<'_>], type_name: Option<&str>) -> Option<Item> {
        Node::at(&self.resource.root, steps, type_name).map(Item::Node)
    }

    /// The resource as an item, to evaluate a path whose result becomes a focus.
    pub fn resource(&self) -> Item {
        Item::Node(self.resource.clone())
    }
}

/// Singleton evaluation to a boolean, as invariants and asserts use it: empty is
/// `None`, a single `Boolean` is its value, any other single item is `true`;
/// more than one item is an error.
pub fn as_boolean(collection: &Collection) -> Result<Option<bool>, EvalError> {
    compare::singleton_boolean(collection, "boolean evaluation")
}
