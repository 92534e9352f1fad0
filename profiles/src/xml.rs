//! FHIR R4 resources in their XML representation, read into the JSON
//! representation (<http://hl7.org/fhir/R4/xml.html>, <http://hl7.org/fhir/R4/json.html>).
//!
//! The element index of the R4 JSON schema ([`crate::schema`]) says which
//! elements repeat (JSON arrays), which primitives are numbers or booleans,
//! and where resources nest. The XML-only conventions are handled here:
//! `value`, `id` and `url` attributes, primitive `id`s and extensions moved to
//! the `_name` sibling, resources wrapped in their container element, and the
//! narrative `div` kept as its exact source text.
//!
//! The input is untrusted: DTDs are refused, size, node count and nesting are
//! bounded ([`XmlLimits`]), and no input makes the reader panic.

use roxmltree::{Document, Node, NodeType, ParsingOptions};
use serde_json::{Map, Number, Value};

use crate::schema::{Element, ElementType, JsonKind, schema};

const FHIR_NS: &str = "http://hl7.org/fhir";
const XHTML_NS: &str = "http://www.w3.org/1999/xhtml";

/// Limits for reading untrusted XML.
#[derive(Debug, Clone, Copy)]
pub struct XmlLimits {
    /// The largest document accepted, in bytes; larger ones are refused before parsing.
    pub max_bytes: usize,
    /// The deepest element nesting accepted, counting the root resource as 1
    /// (the contents of the narrative `div` are not counted).
    pub max_depth: usize,
}

impl Default for XmlLimits {
    /// 16 MiB, 64 levels.
    fn default() -> Self {
        Self {
            max_bytes: 16 << 20,
            max_depth: 64,
        }
    }
}

/// Why a document could not be read, and where.
///
/// Displays as `line L, column C (Patient.name[0].given[1]): reason`; the
/// parenthesised path is left out when the error is not inside the resource.
#[derive(Debug, thiserror::Error)]
#[error("line {line}, column {column}{}: {reason}", in_path(.path))]
pub struct XmlError {
    /// 1-based line of the offending node.
    pub line: u32,
    /// 1-based column of the offending node.
    pub column: u32,
    /// FHIRPath-like path of the offending element (`Patient.contact[0].name.family`), or empty.
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

fn in_path(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!(" ({path})")
    }
}

/// Reads one FHIR resource from its XML representation into its JSON representation.
///
/// The root element must be a resource in the FHIR namespace. Every element
/// must be known to the R4 schema for its type; anything else (unknown
/// elements or attributes, text outside the narrative, badly typed values,
/// DTDs, documents beyond `limits`) is an [`XmlError`].
pub fn resource_from_xml(text: &str, limits: &XmlLimits) -> Result<Value, XmlError> {
    if text.len() > limits.max_bytes {
        return Err(XmlError {
            line: 1,
            column: 1,
            path: String::new(),
            reason: format!(
                "the document is {} bytes, more than the limit of {}",
                text.len(),
                limits.max_bytes
            ),
        });
    }
    let nodes_limit = u32::try_from(limits.max_bytes / 4).unwrap_or(u32::MAX);
    let options = ParsingOptions {
        nodes_limit,
        ..ParsingOptions::default()
    };
    let doc = Document::parse_with_options(text, options).map_err(|error| parse_error(text, &error, nodes_limit))?;
    let reader = Reader {
        doc: &doc,
        text,
        max_depth: limits.max_depth,
    };
    reader.resource(doc.root_element(), "", 1)
}

fn parse_error(text: &str, error: &roxmltree::Error, nodes_limit: u32) -> XmlError {
    let position = error.pos();
    let (line, column, reason) = match error {
        roxmltree::Error::DtdDetected => {
            let (line, column) = text
                .find("<!DOCTYPE")
                .map_or((1, 1), |offset| line_column(text, offset));
            (
                line,
                column,
                "document type declarations (<!DOCTYPE>, entities) are not allowed".to_owned(),
            )
        }
        roxmltree::Error::NodesLimitReached => (
            1,
            1,
            format!("the document has more than {nodes_limit} XML nodes, or is nested too deeply"),
        ),
        _ => {
            // roxmltree's messages end in " at line:column", which the error carries anyway.
            let message = error.to_string();
            let reason = message.strip_suffix(&format!(" at {position}")).unwrap_or(&message);
            (position.row, position.col, format!("malformed XML: {reason}"))
        }
    };
    XmlError {
        line,
        column,
        path: String::new(),
        reason,
    }
}

/// 1-based line and column (in characters) of a byte offset, for errors from before a document exists.
fn line_column(text: &str, offset: usize) -> (u32, u32) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |last| last.chars().count()) + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}

/// A primitive's `id` and extensions, for its `_name` sibling.
type Extra = Map<String, Value>;

/// All children of one element with the same name, in document order.
struct Group<'a, 'input> {
    name: &'a str,
    element: Element<'static>,
    nodes: Vec<Node<'a, 'input>>,
}

struct Reader<'a, 'input> {
    doc: &'a Document<'input>,
    text: &'input str,
    max_depth: usize,
}

impl<'a, 'input> Reader<'a, 'input> {
    fn error(&self, offset: usize, path: &str, reason: impl Into<String>) -> XmlError {
        let position = self.doc.text_pos_at(offset);
        XmlError {
            line: position.row,
            column: position.col,
            path: path.to_owned(),
            reason: reason.into(),
        }
    }

    fn check_depth(&self, node: Node, path: &str, depth: usize) -> Result<(), XmlError> {
        if depth > self.max_depth {
            return Err(self.error(
                node.range().start,
                path,
                format!("elements nested deeper than {}", self.max_depth),
            ));
        }
        Ok(())
    }

    /// Text between elements may only be whitespace.
    fn check_blank(&self, node: Node, path: &str) -> Result<(), XmlError> {
        let source = self.text.get(node.range()).unwrap_or_default();
        match source.find(|c: char| !matches!(c, ' ' | '\t' | '\r' | '\n')) {
            Some(offset) => Err(self.error(node.range().start + offset, path, "text content is not allowed here")),
            None => Ok(()),
        }
    }

    /// A resource element; `path` is empty for the root, else the container's path.
    fn resource(&self, node: Node<'a, 'input>, path: &str, depth: usize) -> Result<Value, XmlError> {
        let name = node.tag_name().name();
        let start = node.range().start;
        if node.tag_name().namespace() != Some(FHIR_NS) {
            return Err(self.error(start, path, format!("`{name}` is not in the FHIR namespace {FHIR_NS}")));
        }
        if !schema().is_resource_type(name) {
            return Err(self.error(start, path, format!("`{name}` is not a FHIR resource type")));
        }
        let path = if path.is_empty() { name } else { path };
        let mut object = self.complex(node, name, path, depth)?;
        object.insert("resourceType".to_owned(), Value::String(name.to_owned()));
        Ok(Value::Object(object))
    }

    /// A container such as `contained` or `Bundle.entry.resource`, holding one resource element.
    fn wrapped_resource(&self, node: Node<'a, 'input>, path: &str, depth: usize) -> Result<Value, XmlError> {
        self.check_depth(node, path, depth)?;
        self.check_attributes(node, path, &[])?;
        let mut inner = None;
        for child in node.children() {
            match child.node_type() {
                NodeType::Element if inner.is_none() => inner = Some(child),
                NodeType::Element => {
                    return Err(self.error(child.range().start, path, "holds more than one resource"));
                }
                NodeType::Text => self.check_blank(child, path)?,
                _ => {}
            }
        }
        let Some(inner) = inner else {
            return Err(self.error(node.range().start, path, "holds no resource"));
        };
        self.resource(inner, path, depth + 1)
    }

    fn check_attributes(&self, node: Node, path: &str, allowed: &[&str]) -> Result<(), XmlError> {
        match node
            .attributes()
            .find(|a| a.namespace().is_some() || !allowed.contains(&a.name()))
        {
            Some(attribute) => {
                let name = self.text.get(attribute.range_qname()).unwrap_or(attribute.name());
                Err(self.error(attribute.range().start, path, format!("unexpected attribute `{name}`")))
            }
            None => Ok(()),
        }
    }

    /// A resource, data type or backbone element: its attributes and child elements.
    fn complex(
        &self,
        node: Node<'a, 'input>,
        type_name: &str,
        path: &str,
        depth: usize,
    ) -> Result<Map<String, Value>, XmlError> {
        self.check_depth(node, path, depth)?;
        let is_resource = schema().is_resource_type(type_name);
        let allowed: &[&str] = match (is_resource, type_name) {
            (true, _) => &[],
            (false, "Extension") => &["id", "url"],
            (false, _) => &["id"],
        };
        self.check_attributes(node, path, allowed)?;
        let mut object: Map<String, Value> = node
            .attributes()
            .map(|a| (a.name().to_owned(), Value::String(a.value().to_owned())))
            .collect();

        let mut groups: Vec<Group<'a, 'input>> = Vec::new();
        for child in node.children() {
            match child.node_type() {
                NodeType::Element => {
                    let name = child.tag_name().name();
                    let element = self.element(child, type_name, is_resource, path)?;
                    match groups.iter_mut().find(|group| group.name == name) {
                        Some(group) if group.element.repeats => group.nodes.push(child),
                        Some(_) => {
                            let reason = format!("`{name}` appears more than once but does not repeat");
                            return Err(self.error(child.range().start, &format!("{path}.{name}"), reason));
                        }
                        None => groups.push(Group {
                            name,
                            element,
                            nodes: vec![child],
                        }),
                    }
                }
                NodeType::Text => self.check_blank(child, path)?,
                _ => {}
            }
        }
        for group in groups {
            self.group(&mut object, &group, path, depth + 1)?;
        }
        Ok(object)
    }

    /// What the schema says about the child element `node` of `type_name`, checking its namespace.
    fn element(
        &self,
        node: Node,
        type_name: &str,
        is_resource: bool,
        path: &str,
    ) -> Result<Element<'static>, XmlError> {
        let name = node.tag_name().name();
        let path = format!("{path}.{name}");
        let start = node.range().start;
        // Names the JSON schema has but XML does not: `_name` siblings, `resourceType`,
        // and the attributes `id` (outside resources) and `Extension.url`.
        let attribute = (name == "id" && !is_resource) || (name == "url" && type_name == "Extension");
        let json_only = name.starts_with('_') || name == "resourceType";
        let Some(element) = schema().element(type_name, name).filter(|_| !attribute && !json_only) else {
            let hint = if attribute { " (in XML it is an attribute)" } else { "" };
            return Err(self.error(start, &path, format!("{type_name} has no element `{name}`{hint}")));
        };
        let namespace = if element.holds == ElementType::Xhtml {
            XHTML_NS
        } else {
            FHIR_NS
        };
        if node.tag_name().namespace() != Some(namespace) {
            return Err(self.error(start, &path, format!("`{name}` is not in the namespace {namespace}")));
        }
        Ok(element)
    }

    /// Converts all children named `group.name` into `object`.
    fn group(
        &self,
        object: &mut Map<String, Value>,
        group: &Group<'a, 'input>,
        path: &str,
        depth: usize,
    ) -> Result<(), XmlError> {
        let Group {
            name,
            element,
            ref nodes,
        } = *group;
        let mut items = Vec::with_capacity(nodes.len());
        let mut extras = Vec::new();
        for (index, &node) in nodes.iter().enumerate() {
            let path = if element.repeats {
                format!("{path}.{name}[{index}]")
            } else {
                format!("{path}.{name}")
            };
            items.push(match element.holds {
                ElementType::Primitive(kind) => {
                    let (value, extra) = self.primitive(node, kind, &path, depth)?;
                    extras.push(extra.map_or(Value::Null, Value::Object));
                    value.unwrap_or(Value::Null)
                }
                ElementType::Complex(type_name) => Value::Object(self.complex(node, type_name, &path, depth)?),
                ElementType::Resource => self.wrapped_resource(node, &path, depth)?,
                ElementType::Xhtml => self.xhtml(node, &path, depth)?,
            });
        }
        let shape = |mut items: Vec<Value>| {
            if element.repeats {
                Value::Array(items)
            } else {
                items.pop().unwrap_or(Value::Null)
            }
        };
        // A primitive's `_name` sibling, aligned with `name`; either is left out when all null.
        if extras.iter().any(|extra| !extra.is_null()) {
            object.insert(format!("_{name}"), shape(extras));
        }
        if !items.iter().all(Value::is_null) {
            object.insert(name.to_owned(), shape(items));
        }
        Ok(())
    }

    /// A primitive: its value, and its `id` and extensions for the `_name` sibling.
    fn primitive(
        &self,
        node: Node<'a, 'input>,
        kind: JsonKind,
        path: &str,
        depth: usize,
    ) -> Result<(Option<Value>, Option<Extra>), XmlError> {
        self.check_depth(node, path, depth)?;
        self.check_attributes(node, path, &["value", "id"])?;
        let mut value = None;
        let mut extra = Map::new();
        for attribute in node.attributes() {
            let text = attribute.value();
            if attribute.name() == "id" {
                extra.insert("id".to_owned(), Value::String(text.to_owned()));
                continue;
            }
            let parsed = match kind {
                JsonKind::String => Some(Value::String(text.to_owned())),
                JsonKind::Number => text.parse::<Number>().ok().map(Value::Number),
                JsonKind::Boolean => matches!(text, "true" | "false").then(|| Value::Bool(text == "true")),
            };
            let Some(parsed) = parsed else {
                let expected = if kind == JsonKind::Boolean {
                    "`true` or `false`"
                } else {
                    "a number"
                };
                return Err(self.error(
                    attribute.range().start,
                    path,
                    format!("value `{text}` is not {expected}"),
                ));
            };
            value = Some(parsed);
        }
        let mut extensions = Vec::new();
        for child in node.children() {
            match child.node_type() {
                NodeType::Element => {
                    let name = child.tag_name().name();
                    let extension_path = format!("{path}.extension[{}]", extensions.len());
                    let holds = (name == "extension")
                        .then(|| self.element(child, "Element", false, path))
                        .transpose()?;
                    let Some(ElementType::Complex(type_name)) = holds.map(|element| element.holds) else {
                        let reason = format!("a primitive has no element `{name}`, only `extension`");
                        return Err(self.error(child.range().start, &format!("{path}.{name}"), reason));
                    };
                    extensions.push(Value::Object(self.complex(
                        child,
                        type_name,
                        &extension_path,
                        depth + 1,
                    )?));
                }
                NodeType::Text => self.check_blank(child, path)?,
                _ => {}
            }
        }
        if !extensions.is_empty() {
            extra.insert("extension".to_owned(), Value::Array(extensions));
        } else if value.is_none() {
            return Err(self.error(
                node.range().start,
                path,
                "a primitive element needs a `value` or extensions",
            ));
        }
        Ok((value, (!extra.is_empty()).then_some(extra)))
    }

    /// The narrative `div`, as its source text with the XHTML namespace declared on it.
    fn xhtml(&self, node: Node, path: &str, depth: usize) -> Result<Value, XmlError> {
        self.check_depth(node, path, depth)?;
        let source = self.text.get(node.range()).unwrap_or_default();
        let rest = source
            .strip_prefix("<div")
            .filter(|rest| rest.starts_with([' ', '\t', '\r', '\n', '>', '/']));
        let Some(rest) = rest else {
            return Err(self.error(
                node.range().start,
                path,
                "the narrative must be a `<div>` without a namespace prefix",
            ));
        };
        if declares_default_namespace(rest) {
            Ok(Value::String(source.to_owned()))
        } else {
            Ok(Value::String(format!("<div xmlns=\"{XHTML_NS}\"{rest}")))
        }
    }
}

/// Whether the start tag beginning with `rest` (after the element name) has an `xmlns` attribute.
fn declares_default_namespace(rest: &str) -> bool {
    // The tag without its quoted values reads like ` xmlns = class=`: each `=`
    // follows an attribute name.
    let mut unquoted = String::new();
    let mut quote = None;
    for c in rest.chars() {
        match quote {
            Some(open) if c == open => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '>' => break,
            None => unquoted.push(c),
        }
    }
    unquoted
        .split('=')
        .rev()
        .skip(1)
        .any(|before| before.split_whitespace().next_back() == Some("xmlns"))
}
