//! Walking the JSON of a resource: named children (with choice types and
//! primitive `_name` siblings), all children, references inside a Bundle or
//! `contained`.

use std::sync::Arc;

use serde_json::Value;

use crate::model::{Model, choice_suffix_type};
use crate::value::{Item, Node, Path, Step};

fn extend(path: &[Step], step: Step) -> Path {
    let mut steps = path.to_vec();
    steps.push(step);
    Arc::from(steps)
}

/// The type of property `key` of `parent`: the model's answer, or for a JSON
/// object its `resourceType`, or the choice suffix's type.
fn child_type(
    model: &dyn Model,
    parent: &Node,
    key: &str,
    json: Option<&Value>,
    suffix: Option<&str>,
) -> Option<Arc<str>> {
    if let Some(resource_type) = json.and_then(|v| v.get("resourceType")).and_then(Value::as_str) {
        return Some(Arc::from(resource_type));
    }
    if parent.type_name() == Some("TypeInfo") {
        return Some(Arc::from("string"));
    }
    let known = parent.type_name().and_then(|t| model.element_type(t, key));
    known
        .or_else(|| suffix.and_then(choice_suffix_type))
        .or_else(|| well_known_type(key))
        .map(Arc::from)
}

/// Properties whose type is the same wherever they appear.
fn well_known_type(key: &str) -> Option<String> {
    Some(
        match key {
            "extension" | "modifierExtension" => "Extension",
            "id" => "string",
            "url" => "uri",
            "meta" => "Meta",
            _ => return None,
        }
        .to_owned(),
    )
}

/// Pushes the nodes of property `key` (and its `_key` sibling) of `parent`.
fn push_property(
    model: &dyn Model,
    parent: &Node,
    object: &serde_json::Map<String, Value>,
    key: &str,
    suffix: Option<&str>,
    out: &mut Vec<Item>,
) {
    let Some(parent_path) = parent.value.as_deref() else {
        return;
    };
    let value = object.get(key);
    let underscore = format!("_{key}");
    let extension = object.get(&underscore);
    if value.is_none() && extension.is_none() {
        return;
    }
    let value_path = extend(parent_path, Step::Key(Arc::from(key)));
    let extension_path = extend(parent_path, Step::Key(Arc::from(underscore.as_str())));
    let shared_type = child_type(model, parent, key, None, suffix);
    let node = |value: Option<Path>, extension: Option<Path>, json: Option<&Value>| {
        let type_name = match json.and_then(|v| v.get("resourceType")).and_then(Value::as_str) {
            Some(resource_type) => Some(Arc::from(resource_type)),
            None => shared_type.clone(),
        };
        Item::Node(Node {
            root: Arc::clone(&parent.root),
            value,
            extension,
            type_name,
        })
    };
    match (value, extension) {
        (Some(Value::Array(items)), ext) => {
            let ext_items = ext.and_then(Value::as_array);
            for (index, item) in items.iter().enumerate() {
                let has_ext = ext_items.and_then(|e| e.get(index)).is_some_and(|e| !e.is_null());
                if item.is_null() && !has_ext {
                    continue;
                }
                let value = (!item.is_null()).then(|| extend(&value_path, Step::Index(index)));
                let ext = has_ext.then(|| extend(&extension_path, Step::Index(index)));
                out.push(node(value, ext, Some(item)));
            }
        }
        (None, Some(Value::Array(ext_items))) => {
            for (index, ext) in ext_items.iter().enumerate() {
                if !ext.is_null() {
                    out.push(node(None, Some(extend(&extension_path, Step::Index(index))), None));
                }
            }
        }
        (Some(Value::Null), None) => {}
        (value, ext) => {
            let value_json = value.filter(|v| !v.is_null());
            out.push(node(
                value_json.map(|_| value_path.clone()),
                ext.filter(|e| !e.is_null()).map(|_| extension_path.clone()),
                value_json,
            ));
        }
    }
}

/// The children of `item` named `name`: the property itself, or for a choice
/// element every `name<Type>` property.
pub(crate) fn children_named(model: &dyn Model, item: &Item, name: &str, out: &mut Vec<Item>) {
    let Item::Node(node) = item else { return };
    if let Some(element) = node
        .primitive_element()
        .filter(|_| node.json().is_none_or(|v| !v.is_object()))
    {
        // A primitive's own children (`id`, `extension`) live in its `_name` sibling.
        if let (Some(value), Some(path)) = (element.get(name), node.extension.as_deref()) {
            let sibling = Node {
                root: Arc::clone(&node.root),
                value: Some(Arc::from(path.to_vec())),
                extension: None,
                type_name: None,
            };
            push_property(
                model,
                &sibling,
                element.as_object().unwrap_or(&serde_json::Map::new()),
                name,
                None,
                out,
            );
            let _ = value;
        }
        return;
    }
    let Some(Value::Object(object)) = node.json() else {
        return;
    };
    if name == "resourceType" {
        return;
    }
    if object.contains_key(name) || object.contains_key(&format!("_{name}")) {
        push_property(model, node, object, name, None, out);
        return;
    }
    for key in object.keys() {
        let Some(suffix) = key.strip_prefix(name) else { continue };
        if suffix.starts_with(|c: char| c.is_ascii_uppercase()) {
            let known = node.type_name().and_then(|t| model.element_type(t, key)).is_some();
            if known || choice_suffix_type(suffix).is_some() {
                push_property(model, node, object, key, Some(suffix), out);
            }
        }
    }
}

/// Every child of `item`, in property order.
pub(crate) fn all_children(model: &dyn Model, item: &Item, out: &mut Vec<Item>) {
    let Item::Node(node) = item else { return };
    let Some(Value::Object(object)) = node.json() else {
        if let Some(Value::Object(element)) = node.primitive_element() {
            for key in element.keys() {
                children_named(model, item, key, out);
            }
        }
        return;
    };
    for key in object.keys() {
        if key == "resourceType" {
            continue;
        }
        if let Some(plain) = key.strip_prefix('_') {
            if !object.contains_key(plain) {
                push_property(model, node, object, plain, None, out);
            }
            continue;
        }
        push_property(model, node, object, key, None, out);
    }
}

/// Finds the resource a reference string points at: `#id` in the containing
/// resource's `contained`, otherwise a Bundle entry by `fullUrl` or `Type/id`.
pub(crate) fn resolve(reference: &str, containers: &[&Node]) -> Option<Node> {
    for container in containers {
        let root = &container.root;
        if let Some(local) = reference.strip_prefix('#') {
            let contained = container.json()?.get("contained").and_then(Value::as_array);
            let path = container.value.as_deref()?;
            for (index, resource) in contained.into_iter().flatten().enumerate() {
                if resource.get("id").and_then(Value::as_str) == Some(local) {
                    let value = extend(&extend(path, Step::Key(Arc::from("contained"))), Step::Index(index));
                    return Some(typed(root, value, resource));
                }
            }
            continue;
        }
        let entries = root.get("entry").and_then(Value::as_array);
        for (index, entry) in entries.into_iter().flatten().enumerate() {
            let Some(resource) = entry.get("resource") else {
                continue;
            };
            let full_url = entry.get("fullUrl").and_then(Value::as_str);
            let type_and_id = match (
                resource.get("resourceType").and_then(Value::as_str),
                resource.get("id").and_then(Value::as_str),
            ) {
                (Some(t), Some(id)) => Some(format!("{t}/{id}")),
                _ => None,
            };
            let matches = full_url == Some(reference)
                || type_and_id
                    .as_deref()
                    .is_some_and(|tid| reference == tid || reference.ends_with(&format!("/{tid}")));
            if matches {
                let value: Path = Arc::from(vec![
                    Step::Key(Arc::from("entry")),
                    Step::Index(index),
                    Step::Key(Arc::from("resource")),
                ]);
                return Some(typed(root, value, resource));
            }
        }
    }
    None
}

fn typed(root: &Arc<Value>, value: Path, resource: &Value) -> Node {
    Node {
        root: Arc::clone(root),
        value: Some(value),
        extension: None,
        type_name: resource.get("resourceType").and_then(Value::as_str).map(Arc::from),
    }
}

/// The resource a node belongs to (the nearest enclosing object with a
/// `resourceType`; for a contained resource, its container), for `#id` references.
pub(crate) fn containing_resource(node: &Node) -> Option<Node> {
    let path = node.value.as_deref().or(node.extension.as_deref())?;
    let mut found: Option<usize> = None;
    for end in (0..=path.len()).rev() {
        let prefix = &path[..end];
        let is_resource = walk_json(&node.root, prefix).is_some_and(|v| v.get("resourceType").is_some());
        if !is_resource {
            continue;
        }
        let inside_contained = end >= 2 && matches!(&path[end - 2], Step::Key(k) if &**k == "contained");
        found = Some(end);
        if !inside_contained {
            break;
        }
    }
    let end = found?;
    let value: Path = Arc::from(path[..end].to_vec());
    let json = walk_json(&node.root, &path[..end])?;
    Some(typed(&node.root, value, json))
}

fn walk_json<'v>(root: &'v Value, path: &[Step]) -> Option<&'v Value> {
    path.iter().try_fold(root, |value, step| match step {
        Step::Key(key) => value.get(&**key),
        Step::Index(index) => value.get(*index),
    })
}
