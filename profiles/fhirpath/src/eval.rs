//! Evaluates an expression tree: paths, operators, variables and type tests;
//! function calls go to `functions`.

use crate::Context;
use crate::ast::{BinaryOp, Expr, TypeFunction, TypeSpec};
use crate::compare::{self, singleton_boolean, system_value};
use crate::error::EvalError;
use crate::functions;
use crate::model::Model;
use crate::navigate::children_named;
use crate::operators;
use crate::value::{Collection, Item};

/// Most items any intermediate collection may hold.
pub(crate) const MAX_ITEMS: usize = 1_000_000;

/// `$this`, `$index` and `$total` inside `where`, `select`, `all`, `aggregate`, ...
#[derive(Clone, Copy, Default)]
pub(crate) struct Scope<'s> {
    pub this: Option<&'s Item>,
    pub index: Option<usize>,
    pub total: Option<&'s Collection>,
}

/// One evaluation: the context and the model it uses.
pub(crate) struct Evaluator<'c> {
    pub context: &'c Context<'c>,
    pub focus: Collection,
}

pub(crate) fn evaluate(expr: &Expr, context: &Context<'_>) -> Result<Collection, EvalError> {
    let focus = context.focus.clone().unwrap_or_else(|| vec![context.resource()]);
    // The context's lifetime only matters for the model reference it holds.
    let context: &Context<'_> = context;
    let evaluator = Evaluator {
        context,
        focus: focus.clone(),
    };
    evaluator.eval(expr, &focus, Scope::default())
}

impl Evaluator<'_> {
    pub fn model(&self) -> &dyn Model {
        self.context.model
    }

    pub fn eval(&self, expr: &Expr, focus: &Collection, scope: Scope<'_>) -> Result<Collection, EvalError> {
        match expr {
            Expr::Literal(item) => Ok(vec![item.clone()]),
            Expr::Empty => Ok(Vec::new()),
            Expr::Identifier(name) => Ok(self.identifier(name, focus)),
            Expr::Member { target, name } => {
                let items = self.eval(target, focus, scope)?;
                let mut out = Vec::new();
                for item in &items {
                    children_named(self.model(), item, name, &mut out);
                }
                Ok(out)
            }
            Expr::Variable(name) => self.variable(name),
            Expr::This => Ok(scope.this.map_or_else(|| focus.clone(), |item| vec![item.clone()])),
            Expr::Index => Ok(scope
                .index
                .map(|i| Item::Integer(i64::try_from(i).unwrap_or(i64::MAX)))
                .into_iter()
                .collect()),
            Expr::Total => Ok(scope.total.cloned().unwrap_or_default()),
            Expr::Call { target, function, args } => {
                let input = match target {
                    Some(target) => self.eval(target, focus, scope)?,
                    None => focus.clone(),
                };
                functions::call(self, *function, &input, args, focus, scope)
            }
            Expr::TypeCall { target, function, spec } => {
                let input = match target {
                    Some(target) => self.eval(target, focus, scope)?,
                    None => focus.clone(),
                };
                self.type_call(*function, spec, &input)
            }
            Expr::Indexer { target, index } => {
                let items = self.eval(target, focus, scope)?;
                let index = self.eval(index, focus, scope)?;
                Ok(match integer_argument(&index, "[]")? {
                    Some(i) => usize::try_from(i)
                        .ok()
                        .and_then(|i| items.get(i).cloned())
                        .into_iter()
                        .collect(),
                    None => Vec::new(),
                })
            }
            Expr::Negate(operand) => {
                let items = self.eval(operand, focus, scope)?;
                let Some(item) = single(&items, "unary '-'")? else {
                    return Ok(Vec::new());
                };
                Ok(match system_value(item) {
                    Some(Item::Integer(i)) => vec![Item::Integer(i.checked_neg().ok_or(EvalError::Overflow {
                        what: "unary '-'".into(),
                    })?)],
                    Some(Item::Decimal(d)) => vec![Item::Decimal(d.negated())],
                    Some(Item::Quantity(q)) => vec![Item::Quantity(crate::value::Quantity {
                        value: q.value.negated(),
                        unit: q.unit,
                    })],
                    _ => {
                        return Err(EvalError::WrongType {
                            what: "unary '-'".into(),
                            expected: "a number or quantity",
                            found: item.type_label(),
                        });
                    }
                })
            }
            Expr::Binary { op, left, right } => self.binary(*op, left, right, focus, scope),
        }
    }

    /// A name at the start of a path: the focus itself when the name is its type
    /// (`Patient.name` on a Patient), otherwise the focus's children of that name.
    fn identifier(&self, name: &str, focus: &Collection) -> Collection {
        if name.starts_with(|c: char| c.is_ascii_uppercase()) {
            let typed: Collection = focus
                .iter()
                .filter(|item| matches!(item, Item::Node(node) if node.type_name().is_some_and(|t| self.model().is_subtype(t, name))))
                .cloned()
                .collect();
            if !typed.is_empty() {
                return typed;
            }
        }
        let mut out = Vec::new();
        for item in focus {
            children_named(self.model(), item, name, &mut out);
        }
        out
    }

    fn variable(&self, name: &str) -> Result<Collection, EvalError> {
        if let Some(value) = self.context.variables.get(name) {
            return Ok(value.clone());
        }
        let text = |s: &str| Ok(vec![Item::String(s.to_owned())]);
        match name {
            "resource" => Ok(vec![self.context.resource()]),
            "rootResource" => Ok(vec![Item::Node(
                self.context
                    .root_resource
                    .clone()
                    .unwrap_or_else(|| self.context.resource.clone()),
            )]),
            "context" => Ok(self.focus.clone()),
            "ucum" => text("http://unitsofmeasure.org"),
            "sct" => text("http://snomed.info/sct"),
            "loinc" => text("http://loinc.org"),
            _ => {
                if let Some(id) = name.strip_prefix("vs-") {
                    return text(&format!("http://hl7.org/fhir/ValueSet/{id}"));
                }
                if let Some(id) = name.strip_prefix("ext-") {
                    return text(&format!("http://hl7.org/fhir/StructureDefinition/{id}"));
                }
                Err(EvalError::UndefinedVariable { name: name.to_owned() })
            }
        }
    }

    fn binary(
        &self,
        op: BinaryOp,
        left: &Expr,
        right: &Expr,
        focus: &Collection,
        scope: Scope<'_>,
    ) -> Result<Collection, EvalError> {
        let what = format!("'{}'", op.symbol());
        if matches!(op, BinaryOp::And | BinaryOp::Or | BinaryOp::Xor | BinaryOp::Implies) {
            let l = singleton_boolean(&self.eval(left, focus, scope)?, &what)?;
            // `and`/`or`/`implies` decide on the left alone when they can.
            let decided = match (op, l) {
                (BinaryOp::And, Some(false)) => Some(false),
                (BinaryOp::Or, Some(true)) | (BinaryOp::Implies, Some(false)) => Some(true),
                _ => None,
            };
            if let Some(value) = decided {
                return Ok(vec![Item::Boolean(value)]);
            }
            let r = singleton_boolean(&self.eval(right, focus, scope)?, &what)?;
            let result = match op {
                BinaryOp::And => match (l, r) {
                    (Some(true), Some(true)) => Some(true),
                    (_, Some(false)) => Some(false),
                    _ => None,
                },
                BinaryOp::Or => match (l, r) {
                    (_, Some(true)) => Some(true),
                    (Some(false), Some(false)) => Some(false),
                    _ => None,
                },
                BinaryOp::Xor => l.zip(r).map(|(a, b)| a != b),
                _ => match (l, r) {
                    (_, Some(true)) => Some(true),
                    (Some(true), Some(false)) => Some(false),
                    _ => None,
                },
            };
            return Ok(result.map(Item::Boolean).into_iter().collect());
        }
        let l = self.eval(left, focus, scope)?;
        let r = self.eval(right, focus, scope)?;
        let boolean = |b: Option<bool>| Ok(b.map(Item::Boolean).into_iter().collect());
        match op {
            BinaryOp::Union => {
                let mut out = Vec::new();
                for item in l.into_iter().chain(r) {
                    if !compare::contains(&out, &item) {
                        out.push(item);
                    }
                }
                Ok(out)
            }
            BinaryOp::Equal => boolean(compare::equal(&l, &r)),
            BinaryOp::NotEqual => boolean(compare::equal(&l, &r).map(|b| !b)),
            BinaryOp::Equivalent => boolean(Some(compare::equivalent(&l, &r))),
            BinaryOp::NotEquivalent => boolean(Some(!compare::equivalent(&l, &r))),
            BinaryOp::In | BinaryOp::Contains => {
                let (element, collection) = if op == BinaryOp::In { (&l, &r) } else { (&r, &l) };
                match single(element, &what)? {
                    None => Ok(Vec::new()),
                    Some(item) => boolean(Some(compare::contains(collection, item))),
                }
            }
            BinaryOp::Concatenate => Ok(vec![operators::concatenate(single(&l, &what)?, single(&r, &what)?)?]),
            BinaryOp::Less | BinaryOp::Greater | BinaryOp::LessOrEqual | BinaryOp::GreaterOrEqual => {
                let (Some(a), Some(b)) = (single(&l, &what)?, single(&r, &what)?) else {
                    return Ok(Vec::new());
                };
                let ordering = compare::order(a, b, &what)?;
                boolean(ordering.map(|o| match op {
                    BinaryOp::Less => o.is_lt(),
                    BinaryOp::Greater => o.is_gt(),
                    BinaryOp::LessOrEqual => o.is_le(),
                    _ => o.is_ge(),
                }))
            }
            _ => {
                let (Some(a), Some(b)) = (single(&l, &what)?, single(&r, &what)?) else {
                    return Ok(Vec::new());
                };
                Ok(operators::arithmetic(op, a, b)?.into_iter().collect())
            }
        }
    }

    fn type_call(&self, function: TypeFunction, spec: &TypeSpec, input: &Collection) -> Result<Collection, EvalError> {
        const SYSTEM: &[&str] = &[
            "Boolean", "Integer", "Decimal", "String", "Date", "DateTime", "Time", "Quantity",
        ];
        let known = match spec.namespace.as_deref() {
            // An unknown System type is simply not the item's type.
            Some("System") => true,
            Some("FHIR") => self.model().is_type_name(&spec.name),
            Some(_) => false,
            None => SYSTEM.contains(&spec.name.as_str()) || self.model().is_type_name(&spec.name),
        };
        if !known {
            let name = spec
                .namespace
                .as_ref()
                .map_or_else(|| spec.name.clone(), |n| format!("{n}.{}", spec.name));
            return Err(EvalError::UnknownType { name });
        }
        match function {
            TypeFunction::OfType => Ok(input.iter().filter(|item| self.is_type(item, spec)).cloned().collect()),
            TypeFunction::Is => match single(input, "is")? {
                None => Ok(Vec::new()),
                Some(item) => Ok(vec![Item::Boolean(self.is_type(item, spec))]),
            },
            TypeFunction::As => Ok(single(input, "as")?
                .filter(|item| self.is_type(item, spec))
                .cloned()
                .into_iter()
                .collect()),
        }
    }

    /// True when `item` is of type `spec` or a subtype of it.
    pub fn is_type(&self, item: &Item, spec: &TypeSpec) -> bool {
        let namespace = spec.namespace.as_deref();
        match item {
            Item::Node(node) => {
                if namespace == Some("System") {
                    return false;
                }
                match node.type_name() {
                    Some(type_name) => self.model().is_subtype(type_name, &spec.name),
                    // Without a type, a primitive is judged by its JSON (`string`, `boolean`, ...).
                    None => match system_value(item) {
                        Some(Item::String(_)) => spec.name == "string",
                        Some(Item::Boolean(_)) => spec.name == "boolean",
                        Some(Item::Integer(_)) => spec.name == "integer",
                        Some(Item::Decimal(_)) => spec.name == "decimal",
                        _ => false,
                    },
                }
            }
            other => namespace != Some("FHIR") && other.system_type() == Some(spec.name.as_str()),
        }
    }
}

/// The single item of a collection, `None` when empty, an error when more.
pub(crate) fn single<'i>(items: &'i Collection, what: &str) -> Result<Option<&'i Item>, EvalError> {
    match items.as_slice() {
        [] => Ok(None),
        [item] => Ok(Some(item)),
        _ => Err(EvalError::NotSingleton {
            what: what.to_owned(),
            count: items.len(),
        }),
    }
}

/// A single integer argument (`[2]`, `skip(2)`).
pub(crate) fn integer_argument(items: &Collection, what: &str) -> Result<Option<i64>, EvalError> {
    let Some(item) = single(items, what)? else {
        return Ok(None);
    };
    match system_value(item) {
        Some(Item::Integer(i)) => Ok(Some(i)),
        _ => Err(EvalError::WrongType {
            what: what.to_owned(),
            expected: "an integer",
            found: item.type_label(),
        }),
    }
}
