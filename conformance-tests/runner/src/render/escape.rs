//! Text into XML and HTML, for element content and quoted attribute values
//! alike.

/// `text` with `&`, `<`, `>`, `"` and `'` escaped, and the characters XML
/// 1.0 forbids even escaped (controls other than tab, line feed and carriage
/// return; U+FFFE, U+FFFF) replaced by U+FFFD: a response body is whatever
/// the system under test sent, and one stray NUL must not make the whole
/// `JUnit` file unreadable.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c < ' ' || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_and_quotes_are_escaped() {
        assert_eq!(
            escape(r#"</pre><script>alert('x' & "y")</script>"#),
            "&lt;/pre&gt;&lt;script&gt;alert(&#39;x&#39; &amp; &quot;y&quot;)&lt;/script&gt;"
        );
    }

    #[test]
    fn characters_xml_forbids_become_replacement_characters() {
        assert_eq!(
            escape("a\u{0}b\u{1b}c\td\n\u{ffff}é"),
            "a\u{fffd}b\u{fffd}c\td\n\u{fffd}é"
        );
    }
}
