//! Applies a profile's rule tables (see [`crate::rules`]) to a JSON instance.

use std::collections::HashMap;
use std::rc::Rc;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

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
    let mut index = Index::new(&chain, instance, path);
    for rule in chain.rules() {
        let walk = Walk {
            index: &mut index,
            rule,
            issues: &mut *issues,
            depth,
        };
        walk.apply();
    }
}

/// One value found at an element id, with the position of its parent in the
/// parent id's list (to count per parent).
struct Found<'v> {
    parent: usize,
    node: Node<'v>,
    path: String,
    type_suffix: &'v str,
}

/// The instance's values per element id (`Patient.identifier:bsn.system`),
/// each found once per check: many rules share their parents' ids.
struct Index<'c, 'v> {
    chain: &'c Chain,
    root: Node<'v>,
    root_path: String,
    found: StaticMap<&'static str, Option<Rc<[Found<'v>]>>>,
}

impl<'c, 'v> Index<'c, 'v> {
    fn new(chain: &'c Chain, instance: &'v Value, path: &str) -> Self {
        Self {
            chain,
            root: Node::root(instance),
            root_path: path.to_owned(),
            found: StaticMap::default(),
        }
    }

    /// The values at element id `id`; `None` when it ends in a slice whose
    /// membership cannot be decided.
    fn at(&mut self, id: &'static str) -> Option<Rc<[Found<'v>]>> {
        if let Some(known) = self.found.get(id) {
            return known.clone();
        }
        let found = match id.rsplit_once('.') {
            None => Some(Rc::from([Found { parent: 0, node: self.root, path: self.root_path.clone(), type_suffix: "" }])),
            Some((parent_id, segment)) => {
                let parents = self.at(parent_id).unwrap_or_else(|| Rc::from([]));
                let (name, slice) = split_slice(segment);
                let chain = self.chain;
                let test = match slice {
                    Some(_) => Some(chain.slices.get(id)?.as_ref()?),
                    None => None,
                };
                let mut found = Vec::new();
                for (parent, found_parent) in parents.iter().enumerate() {
                    for child in found_parent.node.children(name) {
                        if test.as_ref().is_none_or(|test| test.admits(child.node, child.type_suffix)) {
                            let path = child.path(&found_parent.path);
                            found.push(Found { parent, node: child.node, path, type_suffix: child.type_suffix });
                        }
                    }
                }
                Some(Rc::from(found))
            }
        };
        self.found.insert(id, found.clone());
        found
    }
}

/// A profile and the profiles it derives from, most specific first.
struct Chain {
    profiles: Vec<&'static Profile>,
    /// How to tell each slice's members, by slice element id; `None` when
    /// nothing fixed tells them apart.
    slices: StaticMap<&'static str, Option<SliceTest>>,
}

impl Chain {
    /// The chain of `first`, made once per process.
    fn of(first: &'static Profile) -> Arc<Self> {
        static MADE: OnceLock<RwLock<HashMap<&'static str, Arc<Chain>>>> = OnceLock::new();
        let made = MADE.get_or_init(RwLock::default);
        if let Some(chain) = made.read().unwrap_or_else(PoisonError::into_inner).get(first.url) {
            return Arc::clone(chain);
        }
        let chain = Arc::new(Self::make(first));
        let mut made = made.write().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(made.entry(first.url).or_insert(chain))
    }

    fn make(first: &'static Profile) -> Self {
        let mut chain = Self { profiles: lineage(first), slices: StaticMap::default() };
        let mut slices = StaticMap::default();
        for rule in chain.rules() {
            let ends = rule.id.match_indices('.').map(|(at, _)| at).chain([rule.id.len()]);
            for end in ends {
                let prefix = &rule.id[..end];
                if prefix.rsplit('.').next().is_some_and(|segment| segment.contains(':')) && !slices.contains_key(prefix) {
                    slices.insert(prefix, SliceTest::of(&chain, prefix));
                }
            }
        }
        chain.slices = slices;
        chain
    }

    fn rules(&self) -> impl Iterator<Item = &'static ElementRule> + '_ {
        self.profiles.iter().flat_map(|profile| profile.elements.iter())
    }
}

/// `first` and the profiles it derives from, most specific first.
fn lineage(first: &'static Profile) -> Vec<&'static Profile> {
    let mut profiles = vec![first];
    while let Some(base) = profiles.last().and_then(|last| profile(last.base)) {
        if profiles.len() > MAX_NESTING || profiles.iter().any(|known| known.url == base.url) {
            break;
        }
        profiles.push(base);
    }
    profiles
}

/// A map keyed by the rule tables' own strings (never by input), so a
/// fast, non-keyed hash is safe.
type StaticMap<K, V> = HashMap<K, V, BuildHasherDefault<TableHasher>>;

/// FxHash-style multiply-rotate hashing.
#[derive(Default)]
struct TableHasher(u64);

impl Hasher for TableHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0_u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }

    fn finish(&self) -> u64 {
        self.0
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
    /// `valueXxx`).
    fn children(self, name: &str) -> Vec<Child<'v>> {
        let Some(object) = self.object() else { return Vec::new() };
        let choice = name.strip_suffix("[x]");
        let mut found = Vec::new();
        for (key, _) in object {
            let type_suffix = match choice {
                Some(prefix) => match key.strip_prefix(prefix) {
                    Some(rest) if rest.starts_with(char::is_uppercase) => rest,
                    _ => continue,
                },
                None if key == name => "",
                None => continue,
            };
            let value = object.get(key.as_str());
            let companion = companion(object, key);
            match value.or(companion) {
                Some(Value::Array(_)) => {
                    let items = value.and_then(Value::as_array);
                    let companions = companion.and_then(Value::as_array);
                    let count = items.map_or(0, Vec::len).max(companions.map_or(0, Vec::len));
                    for index in 0..count {
                        let value = items.and_then(|items| items.get(index)).filter(|v| !v.is_null());
                        let companion = companions.and_then(|c| c.get(index)).filter(|v| !v.is_null());
                        found.push(Child { node: Node { value, companion }, key, index: Some(index), type_suffix });
                    }
                }
                Some(_) => found.push(Child { node: Node { value, companion }, key, index: None, type_suffix }),
                None => {}
            }
        }
        found
    }
}

/// The `_name` sibling of a primitive, which holds its id and extensions.
fn companion<'v>(object: &'v serde_json::Map<String, Value>, key: &str) -> Option<&'v Value> {
    // Element names are short; this spares an allocation per lookup.
    let mut buffer = [0_u8; 64];
    let name = buffer.get_mut(..=key.len()).and_then(|slot| {
        slot[0] = b'_';
        slot[1..].copy_from_slice(key.as_bytes());
        std::str::from_utf8(slot).ok()
    });
    match name {
        Some(name) => object.get(name),
        None => object.get(&format!("_{key}")),
    }
}

/// One child value, located by its key and array index.
struct Child<'v> {
    node: Node<'v>,
    key: &'v str,
    index: Option<usize>,
    /// For a choice (`valueQuantity`), its type (`Quantity`).
    type_suffix: &'v str,
}

impl Child<'_> {
    fn path(&self, parent: &str) -> String {
        match self.index {
            Some(index) => format!("{parent}.{}[{index}]", self.key),
            None => format!("{parent}.{}", self.key),
        }
    }
}

/// One rule being applied.
struct Walk<'a, 'c, 'v> {
    index: &'a mut Index<'c, 'v>,
    rule: &'static ElementRule,
    issues: &'a mut Vec<Issue>,
    depth: usize,
}

impl Walk<'_, '_, '_> {
    fn apply(mut self) {
        let id = self.rule.id;
        let Some((parent_id, segment)) = id.rsplit_once('.') else {
            let (root, path) = (self.index.root, self.index.root_path.clone());
            self.check_value(root, &path, "");
            return;
        };
        let Some(found) = self.index.at(id) else { return };
        let parents = self.index.at(parent_id).unwrap_or_else(|| Rc::from([]));
        for (position, parent) in parents.iter().enumerate() {
            let count = found.iter().filter(|child| child.parent == position).count();
            self.check_count(count, &parent.path, segment);
        }
        for child in found.iter() {
            self.check_value(child.node, &child.path, child.type_suffix);
        }
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
        if let (Some(fixed), Some(value)) = (rule.fixed.and_then(literal), node.value)
            && !matches(value, &fixed)
        {
            let message = format!("must be {fixed} (fixed by {})", rule.id);
            self.issues.push(Issue::error(IssueType::Value, path, message));
        }
        if let (Some(pattern), Some(value)) = (rule.pattern.and_then(literal), node.value)
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
    fn of(chain: &Chain, slice_id: &'static str) -> Option<Self> {
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
            if let Some(fixed) = rule.fixed.and_then(literal) {
                test.required.push((below.clone(), Expected::Value(fixed)));
            }
            if let Some(pattern) = rule.pattern.and_then(literal) {
                test.required.push((below.clone(), Expected::Value(pattern)));
            }
            // The most specific profile names the extension's url.
            if let Some(url) = rule
                .profiles
                .first()
                .filter(|_| below.is_empty() && !has_url && is_extension(name))
            {
                test.required
                    .push(("url".to_owned(), Expected::Text(url)));
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
                .push(("url".to_owned(), Expected::Text(slice)));
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
        for rule in lineage(type_profile).into_iter().flat_map(|profile| profile.elements.iter()) {
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
            if let Some(fixed) = rule.fixed.and_then(literal) {
                self.required.push((below.to_owned(), Expected::Value(fixed)));
            }
            if let Some(pattern) = rule.pattern.and_then(literal) {
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
                    .flat_map(|n| n.children(segment).into_iter().map(|child| child.node))
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
    Value(&'static Value),
    /// This string (an extension's url).
    Text(&'static str),
    /// A code from this value set (a required binding on a mandatory element
    /// of the slice's type profile: `ContactPoint.system` phone, fax, pager).
    CodeFrom(&'static ValueSet),
}

impl Expected {
    fn admits(&self, value: &Value) -> bool {
        match self {
            Self::Value(expected) => matches(value, expected),
            Self::Text(expected) => value.as_str() == Some(*expected),
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

/// A fixed or pattern value of the tables, parsed once per process.
fn literal(json: &'static str) -> Option<&'static Value> {
    static PARSED: OnceLock<HashMap<&'static str, Value>> = OnceLock::new();
    let parsed = PARSED.get_or_init(|| {
        let rules = crate::generated::PROFILES.iter().flat_map(|profile| profile.elements.iter());
        let literals = rules.flat_map(|rule| [rule.fixed, rule.pattern]).flatten();
        literals.filter_map(|json| Some((json, serde_json::from_str(json).ok()?))).collect()
    });
    parsed.get(json)
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
