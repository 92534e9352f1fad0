//! The CDA narrative block (`section/text`) as FHIR XHTML narrative: the
//! structural elements have XHTML twins; everything else keeps its text and
//! is reported. All text is escaped, and only `href`, `colspan` and
//! `rowspan` attributes are carried over, so the result always satisfies
//! FHIR's narrative rules.

use roxmltree::Node;

use crate::context::{Ctx, MAX_RECURSION};
use crate::xml;

const DIV_OPEN: &str = "<div xmlns=\"http://www.w3.org/1999/xhtml\">";

/// The XHTML `div` for a narrative block; `None` when it holds no text.
pub fn to_xhtml(ctx: &mut Ctx<'_, '_>, text: Node<'_, '_>) -> Option<String> {
    let mut out = String::with_capacity(256);
    out.push_str(DIV_OPEN);
    let mut writer = Writer { ctx, has_text: false };
    writer.children(text, &mut out, 0);
    if !writer.has_text {
        return None;
    }
    out.push_str("</div>");
    Some(out)
}

/// A `div` holding `text` as one paragraph.
pub fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + DIV_OPEN.len() + 16);
    out.push_str(DIV_OPEN);
    out.push_str("<p>");
    escape(text, &mut out);
    out.push_str("</p></div>");
    out
}

struct Writer<'c, 'a, 'i> {
    ctx: &'c mut Ctx<'a, 'i>,
    has_text: bool,
}

impl Writer<'_, '_, '_> {
    fn children(&mut self, node: Node<'_, '_>, out: &mut String, depth: usize) {
        for c in node.children() {
            if c.is_text() {
                let t = c.text().unwrap_or_default();
                self.has_text |= !t.trim().is_empty();
                escape(t, out);
            } else if c.is_element() {
                self.element(c, out, depth + 1);
            }
        }
    }

    fn element(&mut self, node: Node<'_, '_>, out: &mut String, depth: usize) {
        let name = node.tag_name().name();
        if node.tag_name().namespace() != Some(xml::V3) {
            self.flat(node, out, "element outside the HL7 v3 namespace in the narrative");
            return;
        }
        if depth > MAX_RECURSION {
            self.flat(node, out, "narrative nested too deep; kept as plain text");
            return;
        }
        let tag = match name {
            "paragraph" => "p",
            "content" => "span",
            "sub" => "sub",
            "sup" => "sup",
            "br" => {
                out.push_str("<br/>");
                return;
            }
            "list" => {
                self.list(node, out, depth);
                return;
            }
            "item" => "li",
            "table" | "thead" | "tbody" | "tfoot" | "tr" | "th" | "td" | "colgroup" | "col" => name,
            "caption" => {
                if node.parent().is_some_and(|p| xml::is(p, "table")) {
                    "caption"
                } else {
                    "span"
                }
            }
            "linkHtml" => {
                self.link(node, out, depth);
                return;
            }
            "footnote" => {
                self.ctx.warn(node, "narrative footnote kept as text in brackets");
                out.push_str("<span>[");
                self.children(node, out, depth);
                out.push_str("]</span>");
                return;
            }
            "footnoteRef" => {
                self.ctx.warn(node, "narrative footnote reference not mapped");
                return;
            }
            "renderMultiMedia" => {
                self.ctx
                    .warn(node, "narrative multimedia not mapped; a placeholder text is shown");
                out.push_str("<span>[multimedia]</span>");
                self.has_text = true;
                return;
            }
            _ => {
                self.flat(node, out, "unknown narrative element kept as text");
                return;
            }
        };
        open(tag, node, out);
        if tag == "col" {
            // An empty XHTML element.
            out.insert(out.len() - 1, '/');
            return;
        }
        self.children(node, out, depth);
        close(tag, out);
    }

    /// A CDA list as `ul`/`ol`; XHTML lists cannot hold a caption, so it goes before.
    fn list(&mut self, node: Node<'_, '_>, out: &mut String, depth: usize) {
        // XHTML lists cannot hold a caption: it goes before the list.
        if let Some(caption) = xml::child(node, "caption") {
            out.push_str("<p>");
            self.children(caption, out, depth);
            out.push_str("</p>");
        }
        let tag = if node.attribute("listType") == Some("ordered") {
            "ol"
        } else {
            "ul"
        };
        let items: Vec<Node<'_, '_>> = xml::children(node, "item").collect();
        if items.is_empty() {
            return;
        }
        open(tag, node, out);
        for item in items {
            out.push_str("<li>");
            self.children(item, out, depth + 1);
            out.push_str("</li>");
        }
        close(tag, out);
    }

    /// `linkHtml` as `a`, with its `href` when that cannot run script.
    fn link(&mut self, node: Node<'_, '_>, out: &mut String, depth: usize) {
        let href = node.attribute("href").map(str::trim).filter(|h| is_safe_href(h));
        out.push_str("<a");
        if let Some(href) = href {
            out.push_str(" href=\"");
            escape(href, out);
            out.push('"');
        }
        out.push('>');
        let before = out.len();
        self.children(node, out, depth);
        if out.len() == before {
            // An empty link would be invisible; show where it goes.
            if let Some(href) = href {
                escape(href, out);
                self.has_text = true;
            }
        }
        out.push_str("</a>");
    }

    fn flat(&mut self, node: Node<'_, '_>, out: &mut String, why: &str) {
        self.ctx.warn(node, why);
        if let Some(text) = xml::text(node) {
            self.has_text = true;
            out.push_str("<span>");
            escape(&text, out);
            out.push_str("</span>");
        }
    }
}

fn open(tag: &str, node: Node<'_, '_>, out: &mut String) {
    out.push('<');
    out.push_str(tag);
    let names: &[&str] = match tag {
        "th" | "td" => &["colspan", "rowspan"],
        "col" | "colgroup" => &["span"],
        _ => &[],
    };
    for &name in names {
        {
            if let Some(v) = node.attribute(name).map(str::trim) {
                if !v.is_empty() && v.len() < 5 && v.bytes().all(|b| b.is_ascii_digit()) {
                    out.push(' ');
                    out.push_str(name);
                    out.push_str("=\"");
                    out.push_str(v);
                    out.push('"');
                }
            }
        }
    }
    out.push('>');
}

fn close(tag: &str, out: &mut String) {
    out.push_str("</");
    out.push_str(tag);
    out.push('>');
}

/// Links that cannot run script: no `javascript:`, `data:` or `vbscript:`.
fn is_safe_href(href: &str) -> bool {
    let lower = href.trim_start().to_ascii_lowercase();
    !href.is_empty()
        && !["javascript:", "data:", "vbscript:"]
            .iter()
            .any(|s| lower.starts_with(s))
}

/// XML-escapes text; control characters XHTML cannot hold become spaces.
pub fn escape(text: &str, out: &mut String) {
    // Runs of plain text are copied whole; only the bytes below need a
    // look. Control characters (category Cc: U+0000-U+001F, U+007F-U+009F,
    // the last as C2 80-9F in UTF-8) become a space, except tab and line
    // breaks.
    let bytes = text.as_bytes();
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let (replacement, width) = match bytes[i] {
            b'&' => ("&amp;", 1),
            b'<' => ("&lt;", 1),
            b'>' => ("&gt;", 1),
            b'"' => ("&quot;", 1),
            b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            0..=0x1F | 0x7F => (" ", 1),
            0xC2 if matches!(bytes.get(i + 1), Some(0x80..=0x9F)) => (" ", 2),
            _ => {
                i += 1;
                continue;
            }
        };
        out.push_str(&text[copied..i]);
        out.push_str(replacement);
        i += width;
        copied = i;
    }
    out.push_str(&text[copied..]);
}

#[cfg(test)]
mod tests {
    use zorgpoort_model::datatypes::LocalZone;
    use zorgpoort_model::{IdGenerator, TransactionBuilder};

    use super::*;

    fn xhtml(text: &str) -> (Option<String>, usize) {
        let xml = format!("<text xmlns=\"urn:hl7-org:v3\">{text}</text>");
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let ids = crate::xml::index(&doc, 64).unwrap();
        let mut ctx = Ctx::new(
            &doc,
            ids,
            LocalZone::Utc,
            TransactionBuilder::new(IdGenerator::new("a", "b")),
        );
        let out = to_xhtml(&mut ctx, doc.root_element());
        ctx.flush();
        (out, ctx.warnings.len())
    }

    #[test]
    fn escape_replaces_markup_and_control_characters_only() {
        let text = "a&b<c>d\"e'f\tg\nh\ri\u{0}j\u{1f}k\u{7f}l\u{80}m\u{9f}n\u{a0}o\u{c2}é€𝄞";
        let mut out = String::new();
        escape(text, &mut out);
        assert_eq!(out, "a&amp;b&lt;c&gt;d&quot;e'f\tg\nh\ri j k l m n\u{a0}o\u{c2}é€𝄞");
    }

    #[test]
    fn structure_is_kept_and_text_escaped() {
        let (out, warnings) = xhtml(
            "<paragraph>a &lt;b&gt; &amp; \"c\"<br/><sub>2</sub></paragraph>\
             <table><tbody><tr><td colspan=\"2\" styleCode=\"Bold\">x</td></tr></tbody></table>",
        );
        assert_eq!(
            out.unwrap(),
            "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>a &lt;b&gt; &amp; &quot;c&quot;<br/><sub>2</sub></p>\
             <table><tbody><tr><td colspan=\"2\">x</td></tr></tbody></table></div>"
        );
        assert_eq!(warnings, 0);
    }

    #[test]
    fn script_links_lose_their_href() {
        let (out, _) = xhtml("<linkHtml href=\"javascript:alert(1)\">klik</linkHtml>");
        assert_eq!(
            out.unwrap(),
            "<div xmlns=\"http://www.w3.org/1999/xhtml\"><a>klik</a></div>"
        );
    }

    #[test]
    fn blank_narrative_gives_none_and_unknown_elements_warn() {
        assert_eq!(xhtml("  <paragraph> </paragraph> ").0, None);
        let (out, warnings) = xhtml("<blink>hi</blink>");
        assert_eq!(
            out.unwrap(),
            "<div xmlns=\"http://www.w3.org/1999/xhtml\"><span>hi</span></div>"
        );
        assert_eq!(warnings, 1);
    }
}
