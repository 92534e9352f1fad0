//! Reading the XML: size, DTD, node and depth limits before anything else,
//! and small helpers over roxmltree for the HL7 v3 namespace.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;

use roxmltree::{Document, Node, ParsingOptions};

use crate::Limits;
use crate::error::{Error, ErrorKind};

/// The HL7 v3 namespace of every CDA element.
pub const V3: &str = "urn:hl7-org:v3";
/// The namespace of `xsi:type`.
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// The input as text: UTF-8 (a BOM dropped), or ISO-8859-1 / Windows-1252
/// when the XML declaration says so.
pub fn decode(input: &[u8]) -> Result<Cow<'_, str>, Error> {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    match std::str::from_utf8(input) {
        Ok(text) => Ok(Cow::Borrowed(text)),
        Err(e) => {
            let head = &input[..input.len().min(200)];
            let head = String::from_utf8_lossy(head).to_ascii_lowercase();
            let declared_latin = head.starts_with("<?xml")
                && ["iso-8859-1", "iso-8859-15", "latin1", "windows-1252"]
                    .iter()
                    .any(|name| head.contains(name));
            if declared_latin {
                // Latin-1 maps byte for byte onto the first 256 code points.
                Ok(Cow::Owned(input.iter().map(|&b| char::from(b)).collect()))
            } else {
                let (line, column) = line_column_of_offset(input, e.valid_up_to());
                Err(Error::at(
                    format!("line {line}, column {column}"),
                    ErrorKind::NotXml("invalid UTF-8 byte sequence (declare the encoding)".to_owned()),
                ))
            }
        }
    }
}

fn line_column_of_offset(input: &[u8], offset: usize) -> (usize, usize) {
    let before = &input[..offset.min(input.len())];
    let line = before.split(|&b| b == b'\n').count();
    let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line, column)
}

/// Parses `text` within `limits` (nesting depth is checked by [`index`]).
pub fn parse<'i>(text: &'i str, limits: &Limits) -> Result<Document<'i>, Error> {
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: u32::try_from(limits.max_nodes).unwrap_or(u32::MAX),
        ..ParsingOptions::default()
    };
    Document::parse_with_options(text, options).map_err(|e| {
        // A fragment (a lone CDA section, say) often fails to parse only
        // because it uses a prefix declared on the document it was cut
        // from; what the caller needs to hear is that it is no document.
        foreign_root(text).unwrap_or_else(|| xml_error(&e, limits))
    })
}

/// A [`ErrorKind::NotCda`] for text whose first element is not a
/// `ClinicalDocument`, read from the start tag without parsing the rest.
fn foreign_root(text: &str) -> Option<Error> {
    let (offset, tag) = first_start_tag(text)?;
    let name = tag
        .split(|c: char| c.is_whitespace() || c == '/' || c == '>')
        .next()
        .filter(|n| !n.is_empty())?;
    let local = name.rsplit(':').next().unwrap_or(name);
    if local == "ClinicalDocument" {
        return None;
    }
    let shown = match default_namespace(tag).filter(|_| !name.contains(':')) {
        Some(ns) => format!("{{{ns}}}{name}"),
        None => name.to_owned(),
    };
    let (line, column) = line_column_of_offset(text.as_bytes(), offset);
    Some(Error::at(
        format!("line {line}, column {column} (/{local})"),
        ErrorKind::NotCda(shown),
    ))
}

/// The byte offset of the first start tag and its text after `<` up to
/// `>`, past the XML declaration, processing instructions and comments;
/// `None` at anything else (a DTD, text, or no tag at all).
fn first_start_tag(text: &str) -> Option<(usize, &str)> {
    let mut at = 0;
    loop {
        let rest = text[at..].trim_start();
        at = text.len() - rest.len();
        let skip_to = if rest.starts_with("<?") {
            "?>"
        } else if rest.starts_with("<!--") {
            "-->"
        } else if rest.starts_with('<') && !rest.starts_with("<!") {
            let end = rest.find('>')?;
            return Some((at, &rest[1..end]));
        } else {
            return None;
        };
        at += rest.find(skip_to)? + skip_to.len();
    }
}

/// The value of an `xmlns="…"` attribute in a start tag's text.
fn default_namespace(tag: &str) -> Option<&str> {
    let after = &tag[tag.find("xmlns=")? + "xmlns=".len()..];
    let quote = after.chars().next().filter(|q| *q == '"' || *q == '\'')?;
    let value = &after[1..];
    Some(&value[..value.find(quote)?])
}

fn xml_error(error: &roxmltree::Error, limits: &Limits) -> Error {
    match error {
        roxmltree::Error::DtdDetected => Error::new(ErrorKind::Dtd),
        roxmltree::Error::NodesLimitReached => Error::new(ErrorKind::TooManyNodes {
            limit: limits.max_nodes,
        }),
        _ => {
            let pos = error.pos();
            let mut reason = error.to_string();
            // roxmltree appends the position, which the location already says.
            let suffix = format!(" at {}:{}", pos.row, pos.col);
            if let Some(stripped) = reason.strip_suffix(&suffix) {
                reason.truncate(stripped.len());
            }
            Error::at(
                format!("line {}, column {}", pos.row, pos.col),
                ErrorKind::NotXml(reason),
            )
        }
    }
}

/// Checks the nesting depth and collects the elements that carry an `ID`
/// (narrative targets of `reference/@value`), in one pass over the nodes in
/// document order (a flat slice in roxmltree, so a deep document cannot
/// overflow the stack), with each node's depth taken from its parent's.
///
/// The results are those of a depth-first walk that visits the last child
/// first: a too-deep document is reported at the last element, in document
/// order, one level below the limit, and of elements sharing an `ID` the
/// first to close wins.
pub fn index<'a, 'i>(document: &'a Document<'i>, max_depth: usize) -> Result<HashMap<&'a str, Node<'a, 'i>>, Error> {
    let mut ids: HashMap<&'a str, Node<'a, 'i>> = HashMap::new();
    // Node ids count up from 0 in document order and a parent precedes its
    // children, so the depths fill a vector as the pass goes.
    let mut depths: Vec<usize> = Vec::with_capacity(document.input_text().len() / 16);
    let mut too_deep = None;
    for node in document.descendants() {
        if !node.is_element() {
            // Text, comments and the document node have no element children.
            depths.push(0);
            continue;
        }
        let depth = node
            .parent()
            .map_or(0, |p| depths.get(p.id().get_usize()).copied().unwrap_or(0) + 1);
        depths.push(depth);
        if depth > max_depth {
            if depth == max_depth + 1 {
                too_deep = Some(node);
            }
            continue;
        }
        if let Some(id) = node.attribute("ID") {
            ids.entry(id)
                .and_modify(|kept| {
                    // A descendant closes before its ancestor.
                    if node.ancestors().any(|a| a == *kept) {
                        *kept = node;
                    }
                })
                .or_insert(node);
        }
    }
    if let Some(node) = too_deep {
        return Err(Error::at(
            location(document, node),
            ErrorKind::TooDeep { limit: max_depth },
        ));
    }
    Ok(ids)
}

/// `line L, column C (/ClinicalDocument/recordTarget/patientRole/id[2])`.
pub fn location(document: &Document<'_>, node: Node<'_, '_>) -> String {
    let pos = document.text_pos_at(node.range().start);
    let mut out = format!("line {}, column {} (", pos.row, pos.col);
    out.push_str(&path(node));
    out.push(')');
    out
}

/// The element path of `node`, with a 1-based index where an element has
/// siblings of its name before it.
pub fn path(node: Node<'_, '_>) -> String {
    path_by(node, |n| {
        let name = n.tag_name().name();
        1 + n
            .prev_siblings()
            .skip(1)
            .filter(|s| s.is_element() && s.tag_name().name() == name)
            .count()
    })
}

/// [`path`] with each element's 1-based position among its same-named
/// siblings given by `position` (which may cache it).
pub fn path_by(node: Node<'_, '_>, position: impl Fn(Node<'_, '_>) -> usize) -> String {
    let mut parts: Vec<(&str, usize)> = node
        .ancestors()
        .filter(Node::is_element)
        .map(|n| (n.tag_name().name(), position(n)))
        .collect();
    parts.reverse();
    let mut out = String::with_capacity(parts.len() * 16);
    for (name, index) in parts {
        out.push('/');
        out.push_str(name);
        if index > 1 {
            let _ = write!(out, "[{index}]");
        }
    }
    out
}

/// True for a v3 element named `name`.
#[inline]
pub fn is(node: Node<'_, '_>, name: &str) -> bool {
    node.is_element() && node.tag_name().name() == name && node.tag_name().namespace() == Some(V3)
}

/// The first v3 child element named `name`.
#[inline]
pub fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|c| is(*c, name))
}

/// The v3 child elements named `name`.
#[inline]
pub fn children<'a, 'i>(node: Node<'a, 'i>, name: &'static str) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(move |c| is(*c, name))
}

/// The element at a path of v3 child names.
pub fn at<'a, 'i>(node: Node<'a, 'i>, path: &[&str]) -> Option<Node<'a, 'i>> {
    path.iter().try_fold(node, |n, name| child(n, name))
}

/// A non-blank attribute, trimmed.
#[inline]
pub fn attr<'a>(node: Node<'a, '_>, name: &str) -> Option<&'a str> {
    node.attribute(name).map(str::trim).filter(|v| !v.is_empty())
}

/// `xsi:type`, without its namespace prefix.
pub fn xsi_type<'a>(node: Node<'a, '_>) -> Option<&'a str> {
    node.attribute((XSI, "type"))
        .map(|t| t.rsplit(':').next().unwrap_or(t).trim())
}

/// True when the element carries a `nullFlavor`.
pub fn is_null(node: Node<'_, '_>) -> bool {
    node.attribute("nullFlavor").is_some()
}

/// The text content of an element and its descendants, whitespace
/// collapsed; `None` when blank.
pub fn text(node: Node<'_, '_>) -> Option<String> {
    let mut out = String::new();
    for t in node.descendants().filter(Node::is_text) {
        for word in t.text().unwrap_or_default().split_whitespace() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(word);
        }
    }
    (!out.is_empty()).then_some(out)
}

/// True when a template id with `root` (any extension) is on `node`.
pub fn has_template(node: Node<'_, '_>, root: &str) -> bool {
    children(node, "templateId").any(|t| t.attribute("root") == Some(root))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_keeps_the_first_id_to_close_and_the_last_too_deep_place() {
        let xml = "<r><a ID=\"x\" n=\"1\"><b ID=\"x\" n=\"2\"/></a><c ID=\"x\" n=\"3\"/>\
                   <d ID=\"y\" n=\"4\"/><e ID=\"y\" n=\"5\"><f ID=\"y\" n=\"6\"/></e></r>";
        let doc = Document::parse(xml).unwrap();
        let ids = index(&doc, 8).unwrap();
        assert_eq!(ids["x"].attribute("n"), Some("2"));
        assert_eq!(ids["y"].attribute("n"), Some("4"));

        let doc = Document::parse("<r><a><b/></a><c><d><e/></d></c></r>").unwrap();
        let error = index(&doc, 2).unwrap_err();
        assert_eq!(error.kind, ErrorKind::TooDeep { limit: 2 });
        assert_eq!(error.location.as_deref(), Some("line 1, column 18 (/r/c/d)"));
    }
}
