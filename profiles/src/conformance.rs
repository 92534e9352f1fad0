//! Applies a profile's rule tables (see [`crate::rules`]) to a JSON instance.
//!
//! Per profile, once per process, a [`Chain`] plans the work: the rules of the
//! profile and of those it derives from, the element ids they name as steps
//! (parents first, slices with their membership test), and the type profiles
//! each rule applies. Checking an instance then finds the values of every
//! step once ([`Index`]), and each rule counts and checks the values at its
//! step. Paths (`Patient.contact[0].name`) are made only for findings and
//! nested checks.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use serde_json::Value;

use crate::constraints::{Evaluation, Step as JsonStep};
use crate::issue::{Issue, IssueType};
use crate::rules::{ElementRule, Profile, ValueSet, profile, value_set};

/// Profiles may refer to profiles (a data type profile on an element, an
/// extension within an extension); this bounds the nesting.
const MAX_NESTING: usize = 16;

/// Checks `instance`, found at `path`, against `profile` and every profile
/// it derives from.
pub fn check(profile: &'static Profile, instance: &Value, path: &str, issues: &mut Vec<Issue>) {
    let evaluation = Evaluation::new(instance);
    let place = Place {
        at: &[],
        evaluation: &evaluation,
        path,
    };
    check_nested(profile, instance, &place, issues, 0);
}

/// Where a checked instance is: its JSON steps below the resource (for the
/// invariants' focus), the resource's invariant evaluation, and its path.
struct Place<'a, 'v> {
    at: &'a [JsonStep<'v>],
    evaluation: &'a Evaluation<'v>,
    path: &'a str,
}

fn check_nested<'v>(
    profile: &'static Profile,
    instance: &'v Value,
    place: &Place<'_, 'v>,
    issues: &mut Vec<Issue>,
    depth: usize,
) {
    if depth > MAX_NESTING {
        return;
    }
    let chain = Chain::of(profile);
    let index = Index::new(&chain, instance, place.path);
    for planned in &chain.rules {
        let walk = Walk {
            chain: &chain,
            index: &index,
            at: place.at,
            evaluation: place.evaluation,
            rule: planned.rule,
            profiles: &planned.profiles,
            issues: &mut *issues,
            depth,
        };
        walk.apply(planned.step);
    }
}

/// One value found at an element id, with the position of its parent in the
/// parent id's list (to count per parent).
struct Found<'v> {
    parent: usize,
    node: Node<'v>,
    /// Where it is below its parent (for its path, made only when needed).
    key: &'v str,
    index: Option<usize>,
    type_suffix: &'v str,
}

/// The instance's values per step of the chain's plan, found once per
/// check in plan order: many rules share their parents' steps.
struct Index<'v> {
    root_path: String,
    /// Per step: the values there, or `None` when the step is a slice whose
    /// membership cannot be decided.
    found: Vec<Option<Vec<Found<'v>>>>,
}

impl<'v> Index<'v> {
    fn new(chain: &Chain, instance: &'v Value, path: &str) -> Self {
        let mut found: Vec<Option<Vec<Found<'v>>>> = Vec::with_capacity(chain.steps.len());
        for step in &chain.steps {
            let values = match step.parent {
                None => {
                    let root = Found {
                        parent: 0,
                        node: Node::root(instance),
                        key: "",
                        index: None,
                        type_suffix: "",
                    };
                    Some(vec![root])
                }
                Some(_) if matches!(step.slice, Slice::Undecidable) => None,
                Some(parent) => {
                    let parents = found.get(parent).and_then(Option::as_deref).unwrap_or_default();
                    let mut values = Vec::new();
                    for (position, found_parent) in parents.iter().enumerate() {
                        for child in found_parent.node.children(step.name) {
                            if step.slice.admits(child.node, child.type_suffix) {
                                values.push(Found {
                                    parent: position,
                                    node: child.node,
                                    key: child.key,
                                    index: child.index,
                                    type_suffix: child.type_suffix,
                                });
                            }
                        }
                    }
                    Some(values)
                }
            };
            found.push(values);
        }
        Self {
            root_path: path.to_owned(),
            found,
        }
    }

    /// The path of the `position`th value of `step`:
    /// `Patient.contact[0].name`.
    fn path(&self, chain: &Chain, step: usize, position: usize) -> String {
        let mut parts = Vec::new();
        let (mut step, mut position) = (step, position);
        while let (Some(found), Some(parent)) = (
            self.at(step).and_then(|found| found.get(position)),
            chain.steps.get(step).and_then(|s| s.parent),
        ) {
            parts.push((found.key, found.index));
            (step, position) = (parent, found.parent);
        }
        let mut path = self.root_path.clone();
        for (key, index) in parts.iter().rev() {
            path.push('.');
            path.push_str(key);
            if let Some(index) = index {
                let _ = write!(path, "[{index}]");
            }
        }
        path
    }

    /// The JSON steps to the `position`th value of `step`, below `at` (where
    /// the instance is in its resource). Children of a primitive live in its
    /// `_name` sibling.
    fn steps(&self, chain: &Chain, step: usize, position: usize, at: &[JsonStep<'v>]) -> Vec<JsonStep<'v>> {
        let mut reversed = Vec::new();
        let (mut step, mut position) = (step, position);
        let mut below = false;
        while let (Some(found), Some(parent)) = (
            self.at(step).and_then(|found| found.get(position)),
            chain.steps.get(step).and_then(|s| s.parent),
        ) {
            reversed.extend(found.index.map(JsonStep::Index));
            let through_sibling = below && !found.node.value.is_some_and(Value::is_object);
            reversed.push(if through_sibling {
                JsonStep::Sibling(found.key)
            } else {
                JsonStep::Key(found.key)
            });
            below = true;
            (step, position) = (parent, found.parent);
        }
        let mut steps = at.to_vec();
        steps.extend(reversed.into_iter().rev());
        steps
    }

    fn at(&self, step: usize) -> Option<&[Found<'v>]> {
        self.found.get(step).and_then(Option::as_deref)
    }
}

/// A rule of the chain, with its step and the type profiles its values are
/// checked against.
struct Planned {
    rule: &'static ElementRule,
    step: usize,
    /// `rule.profiles` resolved, without those a rule on the same element
    /// already applies through a profile derived from them (the nl-core
    /// profile's rule covers the zib profile's).
    profiles: Vec<&'static Profile>,
}

/// One element id of a chain's rules (`Patient.identifier:bsn`), in an
/// order where parents come first.
struct Step {
    /// The parent step; `None` for the root.
    parent: Option<usize>,
    /// The element name of the last segment (`identifier`, `value[x]`).
    name: &'static str,
    slice: Slice,
}

/// Whether a step narrows to a slice, and how its members are told.
enum Slice {
    None,
    Undecidable,
    Test(SliceTest),
}

impl Slice {
    fn admits(&self, node: Node<'_>, type_suffix: &str) -> bool {
        match self {
            Self::None => true,
            Self::Undecidable => false,
            Self::Test(test) => test.admits(node, type_suffix),
        }
    }
}

/// A profile and the profiles it derives from, most specific first.
struct Chain {
    profiles: Vec<&'static Profile>,
    /// Every element id the rules name, parents first.
    steps: Vec<Step>,
    /// Each rule with the step of its element id.
    rules: Vec<Planned>,
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
        let mut chain = Self {
            profiles: lineage(first),
            steps: Vec::new(),
            rules: Vec::new(),
        };
        let mut ids: HashMap<&'static str, usize> = HashMap::new();
        let rules: Vec<&'static ElementRule> = chain.all_rules().collect();
        for rule in &rules {
            let step = chain.step(rule.id, &mut ids);
            let covered_elsewhere = |candidate: &'static Profile| {
                rules.iter().filter(|other| other.id == rule.id).any(|other| {
                    other.profiles.iter().filter_map(|url| profile(url)).any(|applied| {
                        applied.url != candidate.url && lineage(applied).iter().any(|base| base.url == candidate.url)
                    })
                })
            };
            let profiles = rule
                .profiles
                .iter()
                .filter_map(|url| profile(url))
                .filter(|candidate| !covered_elsewhere(candidate));
            chain.rules.push(Planned {
                rule,
                step,
                profiles: profiles.collect(),
            });
        }
        chain
    }

    /// The step of element id `id`, added with its parents when new.
    fn step(&mut self, id: &'static str, ids: &mut HashMap<&'static str, usize>) -> usize {
        if let Some(known) = ids.get(id) {
            return *known;
        }
        let step = match id.rsplit_once('.') {
            None => Step {
                parent: None,
                name: id,
                slice: Slice::None,
            },
            Some((parent_id, segment)) => {
                let parent = self.step(parent_id, ids);
                let (name, slice) = split_slice(segment);
                let slice = match slice {
                    None => Slice::None,
                    Some(_) => SliceTest::of(self, id).map_or(Slice::Undecidable, Slice::Test),
                };
                Step {
                    parent: Some(parent),
                    name,
                    slice,
                }
            }
        };
        self.steps.push(step);
        ids.insert(id, self.steps.len() - 1);
        self.steps.len() - 1
    }

    fn all_rules(&self) -> impl Iterator<Item = &'static ElementRule> + '_ {
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
        let mut found = Vec::new();
        self.visit_children(name, |child| {
            found.push(child);
            false
        });
        found
    }

    /// Whether some value of child element `name` satisfies `test`.
    fn any_child(self, name: &str, mut test: impl FnMut(Node<'v>) -> bool) -> bool {
        self.visit_children(name, |child| test(child.node))
    }

    /// Calls `visit` with each value of child element `name` until it
    /// returns `true`; returns whether one did.
    fn visit_children(self, name: &str, mut visit: impl FnMut(Child<'v>) -> bool) -> bool {
        let Some(object) = self.object() else { return false };
        let choice = name.strip_suffix("[x]");
        let mut visit_key = |key: &'v str, type_suffix: &'v str| {
            let value = object.get(key);
            let companion = companion(object, key);
            match value.or(companion) {
                Some(Value::Array(_)) => {
                    let items = value.and_then(Value::as_array);
                    let companions = companion.and_then(Value::as_array);
                    let count = items.map_or(0, Vec::len).max(companions.map_or(0, Vec::len));
                    (0..count).any(|index| {
                        let value = items.and_then(|items| items.get(index)).filter(|v| !v.is_null());
                        let companion = companions.and_then(|c| c.get(index)).filter(|v| !v.is_null());
                        visit(Child {
                            node: Node { value, companion },
                            key,
                            index: Some(index),
                            type_suffix,
                        })
                    })
                }
                Some(_) => visit(Child {
                    node: Node { value, companion },
                    key,
                    index: None,
                    type_suffix,
                }),
                None => false,
            }
        };
        match choice {
            // The common case: one key, looked up directly.
            None => match object.get_key_value(name) {
                Some((key, _)) => visit_key(key, ""),
                // A primitive with only extensions (`_family`) is there too.
                None => sibling_key(object, name).is_some_and(|key| visit_key(key, "")),
            },
            Some(prefix) => object.keys().any(|key| match key.strip_prefix(prefix) {
                Some(rest) if rest.starts_with(char::is_uppercase) => visit_key(key, rest),
                _ => false,
            }),
        }
    }
}

/// `name` as the instance spells it in the key of its `_name` sibling, when
/// only that is there.
fn sibling_key<'v>(object: &'v serde_json::Map<String, Value>, name: &str) -> Option<&'v str> {
    let mut buffer = [0_u8; 64];
    let sibling = buffer.get_mut(..=name.len()).and_then(|slot| {
        slot[0] = b'_';
        slot[1..].copy_from_slice(name.as_bytes());
        std::str::from_utf8(slot).ok()
    })?;
    object.get_key_value(sibling).and_then(|(key, _)| key.get(1..))
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

/// One rule being applied.
struct Walk<'a, 'v> {
    chain: &'a Chain,
    index: &'a Index<'v>,
    /// Where the instance is in its resource.
    at: &'a [JsonStep<'v>],
    evaluation: &'a Evaluation<'v>,
    rule: &'static ElementRule,
    /// The type profiles to apply to each value.
    profiles: &'a [&'static Profile],
    issues: &'a mut Vec<Issue>,
    depth: usize,
}

impl<'v> Walk<'_, 'v> {
    fn apply(mut self, step: usize) {
        let index = self.index;
        let Some(found) = index.at(step) else { return };
        let located = |step, position| LazyPath {
            chain: self.chain,
            index,
            step,
            position,
            rendered: OnceCell::new(),
        };
        if let Some((_, segment)) = self.rule.id.rsplit_once('.') {
            let parent_step = self.chain.steps.get(step).and_then(|step| step.parent);
            let parents = parent_step.and_then(|parent| index.at(parent)).unwrap_or_default();
            for position in 0..parents.len() {
                let count = found.iter().filter(|child| child.parent == position).count();
                self.check_count(count, &located(parent_step.unwrap_or_default(), position), segment);
            }
        }
        for (position, value) in found.iter().enumerate() {
            self.check_value(value.node, &located(step, position), value.type_suffix);
        }
    }

    fn check_count(&mut self, count: usize, parent_path: &LazyPath<'_, '_>, segment: &str) {
        if count >= self.rule.min as usize && self.rule.max.is_none_or(|max| count <= max as usize) {
            return;
        }
        let (name, slice) = split_slice(segment);
        let what = slice.map_or_else(|| format!("`{name}`"), |slice| format!("`{name}` (slice {slice})"));
        let expression = format!("{}.{name}", parent_path.get());
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

    fn check_value(&mut self, node: Node<'v>, path: &LazyPath<'_, 'v>, type_suffix: &str) {
        let rule = self.rule;
        if let (Some(fixed), Some(value)) = (rule.fixed.and_then(literal), node.value)
            && !matches(value, fixed)
        {
            let message = format!("must be {fixed} (fixed by {})", rule.id);
            self.issues.push(Issue::error(IssueType::Value, path.get(), message));
        }
        if let (Some(pattern), Some(value)) = (rule.pattern.and_then(literal), node.value)
            && !matches(value, pattern)
        {
            let message = format!("must match {pattern} (pattern of {})", rule.id);
            self.issues.push(Issue::error(IssueType::Value, path.get(), message));
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
            self.issues
                .push(Issue::error(IssueType::Structure, path.get(), message));
        }
        if let Some(value) = node.value {
            self.check_target(value, path);
        }
        let steps = OnceCell::new();
        let steps = || steps.get_or_init(|| path.steps(self.at));
        for nested in self.profiles {
            let Some(value) = node.value else { continue };
            let is_other_extension =
                nested.type_name == "Extension" && value.get("url").and_then(Value::as_str) != Some(nested.url);
            if !is_other_extension {
                let place = Place {
                    at: steps(),
                    evaluation: self.evaluation,
                    path: path.get(),
                };
                check_nested(nested, value, &place, self.issues, self.depth + 1);
            }
        }
        for invariant in rule.invariants {
            self.evaluation.check(invariant, steps(), path.get(), self.issues);
        }
    }

    fn check_binding(&mut self, url: &str, value: &Value, path: &LazyPath<'_, '_>) {
        let Some(set) = value_set(url) else { return };
        if set.holds(value) == Some(false) {
            let message = format!("the code is not in the required value set {url}");
            self.issues
                .push(Issue::error(IssueType::CodeInvalid, path.get(), message));
        }
    }

    fn check_target(&mut self, value: &Value, path: &LazyPath<'_, '_>) {
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
            self.issues.push(Issue::error(
                IssueType::Structure,
                format!("{}.reference", path.get()),
                message,
            ));
        }
    }
}

/// Where a found value is, rendered only when a finding or a nested check
/// needs it.
struct LazyPath<'a, 'v> {
    chain: &'a Chain,
    index: &'a Index<'v>,
    step: usize,
    position: usize,
    rendered: OnceCell<String>,
}

impl<'v> LazyPath<'_, 'v> {
    fn get(&self) -> &str {
        self.rendered
            .get_or_init(|| self.index.path(self.chain, self.step, self.position))
    }

    fn steps(&self, at: &[JsonStep<'v>]) -> Vec<JsonStep<'v>> {
        self.index.steps(self.chain, self.step, self.position, at)
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
        for rule in chain.all_rules() {
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
                test.required.push(("url".to_owned(), Expected::Text(url)));
                has_url = true;
            }
        }
        if test.required.is_empty() {
            test.require_type_profile_values(chain, slice_id);
        }
        if test.required.is_empty() && is_extension(name) {
            // Nested extensions of a complex extension are, by convention,
            // sliced by a url equal to the slice name.
            test.required.push(("url".to_owned(), Expected::Text(slice)));
        }
        (!test.required.is_empty()).then_some(test)
    }

    /// A slice told apart by its type profile (`Patient.name:nameInformation`
    /// is a HumanName with `use` official): the values that profile fixes on
    /// the type's own elements, or the codes it requires there.
    fn require_type_profile_values(&mut self, chain: &Chain, slice_id: &str) {
        let slice = chain
            .all_rules()
            .find(|rule| rule.id == slice_id && !rule.profiles.is_empty());
        let Some(type_profile) = slice.and_then(|rule| profile(rule.profiles.first()?)) else {
            return;
        };
        for rule in lineage(type_profile)
            .into_iter()
            .flat_map(|profile| profile.elements.iter())
        {
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
        self.required
            .iter()
            .all(|(below, expected)| carries(node, below, expected))
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
            Self::CodeFrom(set) => set.holds(value) == Some(true),
        }
    }
}

/// Whether some value at the path `below` (`system`, `code.coding`) of
/// `node` is what `expected` asks.
fn carries(node: Node<'_>, below: &str, expected: &Expected) -> bool {
    match below.split_once('.') {
        _ if below.is_empty() => node.value.is_some_and(|value| expected.admits(value)),
        Some((first, rest)) => node.any_child(first, |child| carries(child, rest, expected)),
        None => node.any_child(below, |child| child.value.is_some_and(|value| expected.admits(value))),
    }
}

fn is_extension(name: &str) -> bool {
    name == "extension" || name == "modifierExtension"
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
        let rules = crate::generated::PROFILES
            .iter()
            .flat_map(|profile| profile.elements.iter());
        let literals = rules.flat_map(|rule| [rule.fixed, rule.pattern]).flatten();
        literals
            .filter_map(|json| Some((json, serde_json::from_str(json).ok()?)))
            .collect()
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
