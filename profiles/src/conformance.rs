//! Applies a profile's rule tables (see [`crate::rules`]) to a JSON instance.

use serde_json::Value;

use crate::invariants;
use crate::issue::{Issue, IssueType};
use crate::rules::{ElementRule, Profile, ValueSet, profile, value_set};

/// Profiles may refer to profiles (a data type profile on an element, an
/// extension within an extension); this bounds the nesting.
const MAX_NESTING: usize = 16;

/// Checks `instance`, found at `path`, against `profile` and every profile
/// it derives from.
pub fn check(profile: &'static Profile, instance: &Value, path: &str, issues: &mut Vec<Issue>) {
    check_nested(profile, instance, path, issues, 0);
}

fn check_nested(profile: &'static Profile, instance: &Value, path: &str, issues: &mut Vec<Issue>, depth: usize) {
    if depth > MAX_NESTING {
        return;
    }
    let chain = Chain::of(profile);
    for rule in chain.rules() {
        let walk = Walk {
            chain: &chain,
            rule,
            issues: &mut *issues,
            depth,
        };
        walk.apply(instance, path);
    }
}

/// A profile and the profiles it derives from, most specific first.
struct Chain(Vec<&'static Profile>);

impl Chain {
    fn of(first: &'static Profile) -> Self {
        let mut chain = vec![first];
        while let Some(base) = chain.last().and_then(|last| profile(last.base)) {
            if chain.len() > MAX_NESTING || chain.iter().any(|known| known.url == base.url) {
                break;
            }
            chain.push(base);
        }
        Self(chain)
    }

    fn rules(&self) -> impl Iterator<Item = &'static ElementRule> + '_ {
        self.0.iter().flat_map(|profile| profile.elements.iter())
    }
}

/// One value in the instance: the JSON value and, for primitives, its
/// `_name` companion holding id and extensions.
#[derive(Clone, Copy)]
struct Node<'v> {
    value: Option<&'v Value>,
    companion: Option<&'v Value>,
}

impl<'v> Node<'v> {
    fn root(value: &'v Value) -> Self {
        Self {
            value: Some(value),
            companion: None,
        }
    }

    /// The object that holds this node's children.
    fn object(self) -> Option<&'v serde_json::Map<String, Value>> {
        self.value
            .and_then(Value::as_object)
            .or_else(|| self.companion.and_then(Value::as_object))
    }

    /// The values of child element `name` (`value[x]` matches every
    /// `valueXxx`), each with its path and, for choices, its type suffix.
    fn children(self, name: &str, path: &str) -> Vec<(Node<'v>, String, &'v str)> {
        let Some(object) = self.object() else { return Vec::new() };
        let mut found = Vec::new();
        let keys: Vec<&'v String> = match name.strip_suffix("[x]") {
            Some(prefix) => object
                .keys()
                .filter(|key| {
                    key.strip_prefix(prefix)
                        .is_some_and(|rest| rest.starts_with(char::is_uppercase))
                })
                .collect(),
            None => object.keys().filter(|key| *key == name).collect(),
        };
        for key in keys {
            let suffix = name.strip_suffix("[x]").map_or("", |prefix| &key[prefix.len()..]);
            let value = object.get(key.as_str());
            let companion = object.get(&format!("_{key}"));
            match value.or(companion) {
                Some(Value::Array(_)) => {
                    let items = value.and_then(Value::as_array);
                    let companions = companion.and_then(Value::as_array);
                    let count = items.map_or(0, Vec::len).max(companions.map_or(0, Vec::len));
                    for index in 0..count {
                        let value = items.and_then(|items| items.get(index)).filter(|v| !v.is_null());
                        let companion = companions.and_then(|c| c.get(index)).filter(|v| !v.is_null());
                        found.push((Node { value, companion }, format!("{path}.{key}[{index}]"), suffix));
                    }
                }
                Some(_) => found.push((Node { value, companion }, format!("{path}.{key}"), suffix)),
                None => {}
            }
        }
        found
    }
}

/// One rule being applied.
struct Walk<'a> {
    chain: &'a Chain,
    rule: &'static ElementRule,
    issues: &'a mut Vec<Issue>,
    depth: usize,
}

impl Walk<'_> {
    fn apply(mut self, instance: &Value, path: &str) {
        let mut segments: Vec<&str> = self.rule.id.split('.').collect();
        if segments.len() == 1 {
            self.check_value(Node::root(instance), path, "");
            return;
        }
        let last = segments.pop().unwrap_or_default();
        let mut parents = vec![(Node::root(instance), path.to_owned())];
        let mut prefix = segments.first().copied().unwrap_or_default().to_owned();
        for segment in segments.iter().skip(1) {
            prefix = format!("{prefix}.{segment}");
            let mut next = Vec::new();
            for (node, node_path) in &parents {
                next.extend(
                    self.select(*node, node_path, segment, &prefix)
                        .into_iter()
                        .map(|(c, p, _)| (c, p)),
                );
            }
            parents = next;
        }
        let id = self.rule.id;
        for (node, node_path) in parents {
            let (name, slice) = split_slice(last);
            let candidates = node.children(name, &node_path);
            let members = match slice {
                None => Some(candidates),
                Some(_) => self.members(candidates, id),
            };
            let Some(members) = members else { continue };
            self.check_count(members.len(), &node_path, last);
            for (child, child_path, suffix) in members {
                self.check_value(child, &child_path, suffix);
            }
        }
    }

    /// The children of `node` named by `segment`, narrowed to a slice when
    /// the segment names one whose membership can be decided.
    fn select<'v>(&self, node: Node<'v>, path: &str, segment: &str, id: &str) -> Vec<(Node<'v>, String, &'v str)> {
        let (name, slice) = split_slice(segment);
        let candidates = node.children(name, path);
        match slice {
            None => candidates,
            Some(_) => self.members(candidates, id).unwrap_or_default(),
        }
    }

    /// The candidates that belong to the slice with element id `slice_id`;
    /// `None` when membership cannot be decided.
    fn members<'v>(
        &self,
        candidates: Vec<(Node<'v>, String, &'v str)>,
        slice_id: &str,
    ) -> Option<Vec<(Node<'v>, String, &'v str)>> {
        let test = SliceTest::of(self.chain, slice_id)?;
        Some(
            candidates
                .into_iter()
                .filter(|(node, _, suffix)| test.admits(*node, suffix))
                .collect(),
        )
    }

    fn check_count(&mut self, count: usize, parent_path: &str, segment: &str) {
        let (name, slice) = split_slice(segment);
        let what = slice.map_or_else(|| format!("`{name}`"), |slice| format!("`{name}` (slice {slice})"));
        let expression = format!("{parent_path}.{name}");
        if count < self.rule.min as usize {
            let message = format!(
                "{what} is required at least {} time(s) by {}, found {count}",
                self.rule.min, self.rule.id
            );
            self.issues.push(Issue::error(IssueType::Required, expression, message));
        } else if let Some(max) = self.rule.max
            && count > max as usize
        {
            let message = format!(
                "{what} is allowed at most {max} time(s) by {}, found {count}",
                self.rule.id
            );
            self.issues
                .push(Issue::error(IssueType::Structure, expression, message));
        }
    }

    fn check_value(&mut self, node: Node<'_>, path: &str, type_suffix: &str) {
        let rule = self.rule;
        if let (Some(fixed), Some(value)) = (rule.fixed.and_then(parse), node.value)
            && !matches(value, &fixed)
        {
            let message = format!("must be {fixed} (fixed by {})", rule.id);
            self.issues.push(Issue::error(IssueType::Value, path, message));
        }
        if let (Some(pattern), Some(value)) = (rule.pattern.and_then(parse), node.value)
            && !matches(value, &pattern)
        {
            let message = format!("must match {pattern} (pattern of {})", rule.id);
            self.issues.push(Issue::error(IssueType::Value, path, message));
        }
        if let (Some(url), Some(value)) = (rule.value_set, node.value) {
            self.check_binding(url, value, path);
        }
        if !type_suffix.is_empty()
            && !rule.types.is_empty()
            && !rule.types.iter().any(|t| t.eq_ignore_ascii_case(type_suffix))
        {
            let message = format!(
                "type {type_suffix} is not allowed here; {} allows {}",
                rule.id,
                rule.types.join(", ")
            );
            self.issues.push(Issue::error(IssueType::Structure, path, message));
        }
        if let Some(value) = node.value {
            self.check_target(value, path);
        }
        for url in rule.profiles {
            let Some(nested) = profile(url) else { continue };
            let Some(value) = node.value else { continue };
            let is_other_extension =
                nested.type_name == "Extension" && value.get("url").and_then(Value::as_str) != Some(nested.url);
            if !is_other_extension {
                check_nested(nested, value, path, self.issues, self.depth + 1);
            }
        }
        for key in rule.invariants {
            if let Some(issue) = invariants::check(key, node.value, node.companion, path) {
                self.issues.push(issue);
            }
        }
    }

    fn check_binding(&mut self, url: &str, value: &Value, path: &str) {
        let Some(set) = value_set(url) else { return };
        if coded_in(set, value) == Some(false) {
            let message = format!("the code is not in the required value set {url}");
            self.issues.push(Issue::error(IssueType::CodeInvalid, path, message));
        }
    }

    fn check_target(&mut self, value: &Value, path: &str) {
        let targets = self.rule.targets;
        if targets.is_empty() || targets.contains(&"Resource") {
            return;
        }
        let Some(target) = value.get("reference").and_then(Value::as_str).and_then(referenced_type) else {
            return;
        };
        if !targets.contains(&target) {
            let message = format!(
                "may refer to {} only, not {target} ({})",
                targets.join(", "),
                self.rule.id
            );
            self.issues
                .push(Issue::error(IssueType::Structure, format!("{path}.reference"), message));
        }
    }
}

/// How to tell whether an item belongs to a slice.
struct SliceTest {
    /// What the item must carry, by path below the slice.
    required: Vec<(String, Expected)>,
    /// For `value[x]` slices: the type the slice is named after.
    type_suffix: Option<String>,
}

impl SliceTest {
    fn of(chain: &Chain, slice_id: &str) -> Option<Self> {
        let (name, slice) = split_slice(slice_id.rsplit('.').next().unwrap_or(slice_id));
        let slice = slice?;
        let mut test = Self {
            required: Vec::new(),
            type_suffix: None,
        };
        let mut has_url = false;
        if let Some(prefix) = name.strip_suffix("[x]") {
            test.type_suffix = slice.strip_prefix(prefix).map(str::to_owned);
            return Some(test);
        }
        for rule in chain.rules() {
            let Some(below) = rule.id.strip_prefix(slice_id) else {
                continue;
            };
            if !(below.is_empty() || below.starts_with('.')) || below.contains(':') {
                continue;
            }
            let below = below.trim_start_matches('.').to_owned();
            if let Some(fixed) = rule.fixed.and_then(parse) {
                test.required.push((below.clone(), Expected::Value(fixed)));
            }
            if let Some(pattern) = rule.pattern.and_then(parse) {
                test.required.push((below.clone(), Expected::Value(pattern)));
            }
            // The most specific profile names the extension's url.
            if let Some(url) = rule
                .profiles
                .first()
                .filter(|_| below.is_empty() && !has_url && is_extension(name))
            {
                test.required
                    .push(("url".to_owned(), Expected::Value(Value::String((*url).to_owned()))));
                has_url = true;
            }
        }
        if test.required.is_empty() {
            test.require_type_profile_values(chain, slice_id);
        }
        if test.required.is_empty() && is_extension(name) {
            // Nested extensions of a complex extension are, by convention,
            // sliced by a url equal to the slice name.
            test.required
                .push(("url".to_owned(), Expected::Value(Value::String(slice.to_owned()))));
        }
        (!test.required.is_empty()).then_some(test)
    }

    /// A slice told apart by its type profile (`Patient.name:nameInformation`
    /// is a HumanName with `use` official): the values that profile fixes on
    /// the type's own elements, or the codes it requires there.
    fn require_type_profile_values(&mut self, chain: &Chain, slice_id: &str) {
        let slice = chain
            .rules()
            .find(|rule| rule.id == slice_id && !rule.profiles.is_empty());
        let Some(type_profile) = slice.and_then(|rule| profile(rule.profiles.first()?)) else {
            return;
        };
        for rule in Chain::of(type_profile).rules() {
            let Some(below) = rule
                .id
                .strip_prefix(type_profile.type_name)
                .and_then(|r| r.strip_prefix('.'))
            else {
                continue;
            };
            if below.contains(['.', ':']) {
                continue;
            }
            if let Some(fixed) = rule.fixed.and_then(parse) {
                self.required.push((below.to_owned(), Expected::Value(fixed)));
            }
            if let Some(pattern) = rule.pattern.and_then(parse) {
                self.required.push((below.to_owned(), Expected::Value(pattern)));
            }
            if let Some(set) = rule.value_set.and_then(value_set).filter(|_| rule.min > 0) {
                self.required.push((below.to_owned(), Expected::CodeFrom(set)));
            }
        }
    }

    fn admits(&self, node: Node<'_>, type_suffix: &str) -> bool {
        if let Some(expected) = &self.type_suffix {
            return expected.eq_ignore_ascii_case(type_suffix);
        }
        self.required.iter().all(|(below, expected)| {
            let mut current = vec![node];
            for segment in below.split('.').filter(|segment| !segment.is_empty()) {
                current = current
                    .into_iter()
                    .flat_map(|n| n.children(segment, "").into_iter().map(|c| c.0))
                    .collect();
            }
            current
                .iter()
                .filter_map(|n| n.value)
                .any(|value| expected.admits(value))
        })
    }
}

/// What a slice member carries at one path.
enum Expected {
    /// This value (fixed or pattern).
    Value(Value),
    /// A code from this value set (a required binding on a mandatory element
    /// of the slice's type profile: `ContactPoint.system` phone, fax, pager).
    CodeFrom(&'static ValueSet),
}

impl Expected {
    fn admits(&self, value: &Value) -> bool {
        match self {
            Self::Value(expected) => matches(value, expected),
            Self::CodeFrom(set) => coded_in(set, value) == Some(true),
        }
    }
}

fn is_extension(name: &str) -> bool {
    name == "extension" || name == "modifierExtension"
}

/// Whether a code, Coding or CodeableConcept is in `set`; `None` when it
/// holds no code at all (text only), which a binding does not judge.
fn coded_in(set: &ValueSet, value: &Value) -> Option<bool> {
    let codings: Vec<&Value> = match value.get("coding") {
        Some(Value::Array(codings)) => codings.iter().collect(),
        _ => vec![value],
    };
    let codes: Vec<(Option<&str>, &str)> = codings
        .iter()
        .filter_map(|coding| match coding {
            Value::String(code) => Some((None, code.as_str())),
            Value::Object(coding) => {
                let code = coding.get("code").and_then(Value::as_str)?;
                Some((coding.get("system").and_then(Value::as_str), code))
            }
            _ => None,
        })
        .collect();
    (!codes.is_empty()).then(|| codes.iter().any(|(system, code)| set.contains(*system, code)))
}

/// `name:slice` -> (`name`, `slice`).
fn split_slice(segment: &str) -> (&str, Option<&str>) {
    match segment.split_once(':') {
        Some((name, slice)) => (name, Some(slice)),
        None => (segment, None),
    }
}

fn parse(json: &str) -> Option<Value> {
    serde_json::from_str(json).ok()
}

/// Whether `value` carries everything in `expected`: objects key by key,
/// arrays when one item matches, primitives by their text.
fn matches(value: &Value, expected: &Value) -> bool {
    match (value, expected) {
        (_, Value::Array(expected)) => expected.iter().all(|e| matches(value, e)),
        (Value::Array(items), _) => items.iter().any(|item| matches(item, expected)),
        (Value::Object(object), Value::Object(expected)) => expected
            .iter()
            .all(|(key, e)| object.get(key).is_some_and(|v| matches(v, e))),
        (Value::String(text), Value::String(e)) => text == e,
        (Value::Number(number), Value::String(e)) => e.parse::<f64>().ok() == number.as_f64(),
        (Value::Bool(flag), Value::String(e)) => *e == if *flag { "true" } else { "false" },
        _ => false,
    }
}

/// The resource type a reference points to, when it says so:
/// `Patient/1`, `https://host/fhir/Patient/1`, `Patient/1/_history/2`.
fn referenced_type(reference: &str) -> Option<&str> {
    if reference.starts_with('#') || reference.starts_with("urn:") {
        return None;
    }
    let path = reference.split("/_history/").next().unwrap_or(reference);
    let mut parts = path.rsplit('/');
    let _id = parts.next()?;
    let kind = parts.next()?;
    kind.starts_with(char::is_uppercase).then_some(kind)
}
