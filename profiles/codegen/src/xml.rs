//! Small helpers for reading FHIR XML conformance resources.

use roxmltree::Node;
use serde_json::{Map, Value};

/// The child elements of `node` named `name`.
pub fn children<'a, 'input>(node: Node<'a, 'input>, name: &'a str) -> impl Iterator<Item = Node<'a, 'input>> + 'a {
    node.children()
        .filter(move |child| child.is_element() && child.tag_name().name() == name)
}

/// The first child element named `name`.
pub fn child<'a, 'input>(node: Node<'a, 'input>, name: &'a str) -> Option<Node<'a, 'input>> {
    children(node, name).next()
}

/// The `value` attribute of the first child named `name`.
pub fn value<'a>(node: Node<'a, '_>, name: &str) -> Option<&'a str> {
    node.children()
        .find(|child| child.is_element() && child.tag_name().name() == name)
        .and_then(|child| child.attribute("value"))
}

/// A `fixed[x]` or `pattern[x]` element as JSON: primitives are strings,
/// complex values objects, and a child that occurs more than once an array.
/// The validator compares these leniently (an array in the instance matches
/// when one item does), so single-or-array need not follow the schema here.
pub fn to_json(node: Node<'_, '_>) -> Value {
    if let Some(value) = node.attribute("value") {
        return Value::String(value.to_owned());
    }
    let mut object = Map::new();
    for child in node.children().filter(Node::is_element) {
        let name = child.tag_name().name().to_owned();
        let converted = to_json(child);
        match object.get_mut(&name) {
            Some(Value::Array(items)) => items.push(converted),
            Some(existing) => *existing = Value::Array(vec![existing.take(), converted]),
            None => {
                object.insert(name, converted);
            }
        }
    }
    Value::Object(object)
}
