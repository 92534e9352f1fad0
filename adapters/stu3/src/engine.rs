//! The walk shared by all resource mappings: a [`Res`] tracks which input
//! elements a mapping consumed, so that everything else becomes a warning
//! when the resource is finished.

use std::collections::HashSet;

use serde_json::{Map, Value};
use zorgpoort_model::Warning;

use crate::references::LeftOut;
use crate::{Converted, Error, meta, resources};

/// The direction of a conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    /// STU3 in, R4 out.
    ToR4,
    /// R4 in, STU3 out.
    ToStu3,
}

impl Dir {
    /// The FHIR version written.
    pub(crate) fn target(self) -> &'static str {
        match self {
            Dir::ToR4 => "R4",
            Dir::ToStu3 => "STU3",
        }
    }
}

/// Bounds on the work one conversion may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// How deep resources (contained, Bundle entries) and consent provisions
    /// may nest.
    pub max_depth: usize,
    /// Entries per Bundle.
    pub max_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 16,
            max_entries: 100_000,
        }
    }
}

/// State of one conversion.
pub(crate) struct Ctx {
    pub(crate) dir: Dir,
    pub(crate) warnings: Vec<Warning>,
    pub(crate) limits: Limits,
    depth: usize,
}

impl Ctx {
    pub(crate) fn warn(&mut self, location: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Warning::new(location, message));
    }

    /// An element with no counterpart in the target version.
    pub(crate) fn lost(&mut self, location: impl Into<String>) {
        let message = format!("no counterpart in FHIR {}; left out", self.dir.target());
        self.warn(location, message);
    }

    /// Enters one nesting level; fails beyond [`Limits::max_depth`].
    pub(crate) fn enter(&mut self, path: &str) -> Result<(), Error> {
        if self.depth >= self.limits.max_depth {
            return Err(Error::TooDeep {
                path: path.to_owned(),
                max_depth: self.limits.max_depth,
            });
        }
        self.depth += 1;
        Ok(())
    }

    pub(crate) fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }
}

pub(crate) fn convert(input: &Value, dir: Dir, limits: &Limits) -> Result<Converted, Error> {
    let mut ctx = Ctx {
        dir,
        warnings: Vec::new(),
        limits: limits.clone(),
        depth: 0,
    };
    let object = input.as_object().ok_or_else(|| Error::NotAResource {
        path: "$".to_owned(),
        reason: format!("expected a JSON object, found {}", kind(input)),
    })?;
    let resource_type = resource_type(object, "$")?;
    if !resources::is_supported(ctx.dir, resource_type) {
        return Err(Error::Unsupported {
            resource_type: resource_type.to_owned(),
        });
    }
    let mut resource = Value::Object(convert_resource(
        &mut ctx,
        object,
        resource_type,
        resource_type.to_owned(),
    )?);
    crate::systems::rewrite(dir, &mut resource);
    crate::references::rename_types(dir, &mut resource);
    if dir == Dir::ToStu3 {
        crate::systems::strip_reference_types(resource_type, &mut resource, &mut ctx.warnings);
    }
    Ok(Converted {
        resource,
        warnings: ctx.warnings,
    })
}

fn resource_type<'a>(object: &'a Map<String, Value>, path: &str) -> Result<&'a str, Error> {
    match object.get("resourceType") {
        Some(Value::String(t)) if !t.is_empty() => Ok(t),
        Some(other) => Err(Error::NotAResource {
            path: path.to_owned(),
            reason: format!("`resourceType` must be a non-empty string, found {}", kind(other)),
        }),
        None => Err(Error::NotAResource {
            path: path.to_owned(),
            reason: "`resourceType` is missing".to_owned(),
        }),
    }
}

/// A nested resource (contained, Bundle entry): `None`, with a warning,
/// when its type is not supported.
pub(crate) fn nested(ctx: &mut Ctx, value: &Value, path: &str, what: &str) -> Result<Option<Value>, Error> {
    let object = value.as_object().ok_or_else(|| Error::NotAResource {
        path: path.to_owned(),
        reason: format!("expected a JSON object, found {}", kind(value)),
    })?;
    let resource_type = resource_type(object, path)?;
    if !resources::is_supported(ctx.dir, resource_type) {
        ctx.warn(
            path,
            format!("{resource_type} is not supported by the STU3/R4 converter; {what} left out"),
        );
        return Ok(None);
    }
    convert_resource(ctx, object, resource_type, path.to_owned()).map(|m| Some(Value::Object(m)))
}

fn convert_resource(
    ctx: &mut Ctx,
    object: &Map<String, Value>,
    resource_type: &str,
    path: String,
) -> Result<Map<String, Value>, Error> {
    ctx.enter(&path)?;
    let mut r = Res::new(object, path);
    r.same(&["resourceType", "id", "implicitRules", "language", "text", "extension"]);
    r.modifier_extension(ctx);
    meta::convert(ctx, &mut r, resource_type)?;
    let mut left_out = LeftOut::default();
    if let Some(contained) = r.take("contained") {
        let loc = r.loc("contained");
        let mut out = Vec::new();
        for (i, item) in want_arr(contained, &loc)?.iter().enumerate() {
            match nested(ctx, item, &format!("{loc}[{i}]"), "contained resource")? {
                Some(resource) => out.push(resource),
                None => left_out.add_contained(item),
            }
        }
        r.put_array("contained", out);
    }
    resources::convert(ctx, resource_type, &mut r)?;
    if !left_out.is_empty() {
        let path = r.path.clone();
        left_out.prune_object(&mut r.out, &path, &mut ctx.warnings);
    }
    ctx.leave();
    Ok(r.finish(ctx))
}

/// One object of the input (a resource or a backbone element) being mapped.
pub(crate) struct Res<'a> {
    src: &'a Map<String, Value>,
    /// The output object.
    pub(crate) out: Map<String, Value>,
    /// FHIRPath-like location of `src`.
    pub(crate) path: String,
    used: HashSet<&'a str>,
}

impl<'a> Res<'a> {
    pub(crate) fn new(src: &'a Map<String, Value>, path: String) -> Self {
        Self {
            src,
            out: Map::new(),
            path,
            used: HashSet::new(),
        }
    }

    /// The location of one element of this object.
    pub(crate) fn loc(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    /// Looks at an element without consuming it.
    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.src.get(key)
    }

    /// The element names of the input, in input order.
    pub(crate) fn keys(&self) -> Vec<&'a str> {
        self.src.keys().map(String::as_str).collect()
    }

    /// Copies every element not consumed yet (for resources whose shape is
    /// the same in both versions).
    pub(crate) fn same_rest(&mut self) {
        for key in self.keys() {
            if !self.used.contains(key) {
                self.same(&[key]);
            }
        }
    }

    /// Consumes an element (not its `_key` primitive extensions).
    pub(crate) fn take(&mut self, key: &str) -> Option<&'a Value> {
        let (k, v) = self.src.get_key_value(key)?;
        self.used.insert(k.as_str());
        Some(v)
    }

    /// Copies elements whose name and shape are the same in both versions.
    pub(crate) fn same(&mut self, keys: &[&str]) {
        for key in keys {
            self.rename(key, key);
        }
    }

    /// Copies an element under a new name (with its primitive extensions).
    pub(crate) fn rename(&mut self, from: &str, to: &str) {
        if let Some(v) = self.take(from) {
            self.out.insert(to.to_owned(), v.clone());
        }
        if let Some(v) = self.take(&format!("_{from}")) {
            self.out.insert(format!("_{to}"), v.clone());
        }
    }

    pub(crate) fn put(&mut self, key: &str, value: Value) {
        self.out.insert(key.to_owned(), value);
    }

    /// Puts an array unless it is empty (FHIR JSON has no empty arrays).
    pub(crate) fn put_array(&mut self, key: &str, items: Vec<Value>) {
        if !items.is_empty() {
            self.out.insert(key.to_owned(), Value::Array(items));
        }
    }

    /// Puts an object unless it is empty.
    pub(crate) fn put_object(&mut self, key: &str, object: Map<String, Value>) {
        if !object.is_empty() {
            self.out.insert(key.to_owned(), Value::Object(object));
        }
    }

    /// Keeps `modifierExtension` with a warning: the converter cannot know
    /// whether the mapping changed what it modifies.
    pub(crate) fn modifier_extension(&mut self, ctx: &mut Ctx) {
        if self.get("modifierExtension").is_some() {
            ctx.warn(
                self.loc("modifierExtension"),
                format!(
                    "modifier extension kept as it is; whether it still applies in FHIR {} was not checked",
                    ctx.dir.target()
                ),
            );
            self.same(&["modifierExtension"]);
        }
    }

    /// The output; every input element not consumed becomes a warning.
    pub(crate) fn finish(self, ctx: &mut Ctx) -> Map<String, Value> {
        for key in self.src.keys() {
            if self.used.contains(key.as_str()) {
                continue;
            }
            if let Some(base) = key.strip_prefix('_')
                && self.used.contains(base)
            {
                ctx.warn(
                    format!("{}.{key}", self.path),
                    format!("id or extensions of the converted primitive `{base}` left out"),
                );
                continue;
            }
            ctx.lost(format!("{}.{key}", self.path));
        }
        self.out
    }
}

/// The JSON kind of a value, for error messages (never the value itself).
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn invalid(path: &str, expected: &str, found: &Value) -> Error {
    Error::Invalid {
        path: path.to_owned(),
        reason: format!("expected {expected}, found {}", kind(found)),
    }
}

pub(crate) fn want_str<'v>(value: &'v Value, path: &str) -> Result<&'v str, Error> {
    value.as_str().ok_or_else(|| invalid(path, "a string", value))
}

pub(crate) fn want_obj<'v>(value: &'v Value, path: &str) -> Result<&'v Map<String, Value>, Error> {
    value.as_object().ok_or_else(|| invalid(path, "an object", value))
}

pub(crate) fn want_arr<'v>(value: &'v Value, path: &str) -> Result<&'v Vec<Value>, Error> {
    value.as_array().ok_or_else(|| invalid(path, "an array", value))
}

pub(crate) fn want_bool(value: &Value, path: &str) -> Result<bool, Error> {
    value.as_bool().ok_or_else(|| invalid(path, "a boolean", value))
}

/// The items of a repeating element with their locations; a single object
/// where an array belongs is taken as one item.
pub(crate) fn items<'v>(value: &'v Value, path: &str) -> Vec<(String, &'v Value)> {
    match value {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("{path}[{i}]"), v))
            .collect(),
        other => vec![(path.to_owned(), other)],
    }
}

/// Maps a backbone element (array or single object, shape kept) with `f`,
/// each item starting with its `id`, `extension` and `modifierExtension`.
pub(crate) fn backbone<F>(ctx: &mut Ctx, value: &Value, path: &str, mut f: F) -> Result<Option<Value>, Error>
where
    F: FnMut(&mut Ctx, &mut Res<'_>) -> Result<(), Error>,
{
    let mut one = |ctx: &mut Ctx, item: &Value, loc: String| -> Result<Option<Map<String, Value>>, Error> {
        let object = want_obj(item, &loc)?;
        let mut r = Res::new(object, loc);
        r.same(&["id", "extension"]);
        r.modifier_extension(ctx);
        f(ctx, &mut r)?;
        let out = r.finish(ctx);
        Ok((!out.is_empty()).then_some(out))
    };
    match value {
        Value::Array(list) => {
            let mut out = Vec::with_capacity(list.len());
            for (i, item) in list.iter().enumerate() {
                if let Some(m) = one(ctx, item, format!("{path}[{i}]"))? {
                    out.push(Value::Object(m));
                }
            }
            Ok((!out.is_empty()).then_some(Value::Array(out)))
        }
        other => Ok(one(ctx, other, path.to_owned())?.map(Value::Object)),
    }
}

impl Res<'_> {
    /// Maps the backbone element `from` with `f` and puts it under `to`.
    pub(crate) fn backbone<F>(&mut self, ctx: &mut Ctx, from: &str, to: &str, f: F) -> Result<(), Error>
    where
        F: FnMut(&mut Ctx, &mut Res<'_>) -> Result<(), Error>,
    {
        if let Some(v) = self.take(from) {
            let loc = self.loc(from);
            if let Some(out) = backbone(ctx, v, &loc, f)? {
                self.put(to, out);
            }
        }
        Ok(())
    }

    /// An element that repeats in the target but not in the source.
    pub(crate) fn wrap(&mut self, from: &str, to: &str) {
        if let Some(v) = self.take(from) {
            let out = match v {
                Value::Array(_) => v.clone(),
                other => Value::Array(vec![other.clone()]),
            };
            self.put(to, out);
        }
    }

    /// An element that repeats in the source but not in the target: the
    /// first is kept, the others are reported.
    pub(crate) fn first(&mut self, ctx: &mut Ctx, from: &str, to: &str) {
        if let Some(v) = self.take(from) {
            match v {
                Value::Array(list) => {
                    if let Some(first) = list.first() {
                        self.put(to, first.clone());
                    }
                    for i in 1..list.len() {
                        ctx.warn(
                            format!("{}[{i}]", self.loc(from)),
                            format!("FHIR {} allows one `{to}`; only the first is kept", ctx.dir.target()),
                        );
                    }
                }
                other => self.put(to, other.clone()),
            }
        }
    }
}
