//! FHIR's regular expressions as the JSON schema validator must read them.
//!
//! The patterns of the R4 primitive types come from XML Schema, where `\s`
//! is exactly space, tab, line feed and carriage return. The JSON schema
//! validator reads a pattern as ECMA-262, where `\s` is also U+00A0, U+FEFF
//! and every Unicode space, so a non-breaking space in a `string` (pattern
//! `[ \r\n\t\S]+`) would be refused. [`from_xml_schema`] spells `\s` and
//! `\S` out as the four characters XML Schema means.

/// The characters XML Schema's `\s` matches, each as written in a pattern.
const SPACES: [(char, &str); 4] = [(' ', " "), ('\t', r"\t"), ('\n', r"\n"), ('\r', r"\r")];

/// `pattern` (XML Schema syntax, as in the FHIR spec) with `\s` and `\S`
/// written out, so that an ECMA-262 engine matches what XML Schema means.
/// Everything else is left as it is.
pub fn from_xml_schema(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('s') => out.push_str(&class(false, &all_spaces())),
                Some('S') => out.push_str(&class(true, &all_spaces())),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            '[' => out.push_str(&translate_class(&mut chars)),
            _ => out.push(c),
        }
    }
    out
}

/// Reads a character class after its `[` up to and including its `]`, and
/// returns it translated.
fn translate_class(chars: &mut std::str::Chars<'_>) -> String {
    let negated = chars.as_str().starts_with('^');
    if negated {
        chars.next();
    }
    let mut members = String::new();
    let mut listed: Vec<char> = Vec::new();
    let mut non_space = false;
    while let Some(c) = chars.next() {
        match c {
            ']' => break,
            '\\' => match chars.next() {
                Some('s') => listed.extend(SPACES.iter().map(|(space, _)| *space)),
                Some('S') => non_space = true,
                Some(escaped) => {
                    if let Some((space, _)) = SPACES.iter().find(|(_, written)| written.ends_with(escaped)) {
                        listed.push(*space);
                    }
                    members.push('\\');
                    members.push(escaped);
                }
                None => members.push('\\'),
            },
            _ => {
                listed.push(c);
                members.push(c);
            }
        }
    }
    if non_space {
        // `\S` already holds every member that is not one of the four
        // spaces; what is left to say is which spaces the class lacks.
        let missing: Vec<&str> = SPACES
            .iter()
            .filter(|(space, _)| !listed.contains(space))
            .map(|(_, written)| *written)
            .collect();
        return class(!negated, &missing);
    }
    let spaces: Vec<&str> = SPACES
        .iter()
        .filter(|(space, _)| listed.contains(space) && !members_hold(&members, *space))
        .map(|(_, written)| *written)
        .collect();
    format!("[{}{members}{}]", if negated { "^" } else { "" }, spaces.concat())
}

/// Whether a space already stands in `members` as written by the pattern.
fn members_hold(members: &str, space: char) -> bool {
    SPACES
        .iter()
        .find(|(known, _)| *known == space)
        .is_some_and(|(_, written)| members.contains(written))
}

fn all_spaces() -> Vec<&'static str> {
    SPACES.iter().map(|(_, written)| *written).collect()
}

/// A class of `spaces`, or of everything but them when `negated`; an empty
/// list is the empty class or, negated, any character.
fn class(negated: bool, spaces: &[&str]) -> String {
    match (negated, spaces.is_empty()) {
        (false, true) => r"[^\s\S]".to_owned(),
        (true, true) => r"[\s\S]".to_owned(),
        (false, false) => format!("[{}]", spaces.concat()),
        (true, false) => format!("[^{}]", spaces.concat()),
    }
}

#[cfg(test)]
mod tests {
    use super::from_xml_schema;

    #[test]
    fn the_r4_patterns_are_spelled_out() {
        let cases = [
            (r"^[ \r\n\t\S]+$", r"^[\s\S]+$"),
            (r"^[^\s]+(\s[^\s]+)*$", r"^[^ \t\n\r]+([ \t\n\r][^ \t\n\r]+)*$"),
            (r"^\S*$", r"^[^ \t\n\r]*$"),
            (
                r"^(\s*([0-9a-zA-Z\+/=]){4}\s*)+$",
                r"^([ \t\n\r]*([0-9a-zA-Z\+/=]){4}[ \t\n\r]*)+$",
            ),
            (r"^[A-Za-z0-9\-\.]{1,64}$", r"^[A-Za-z0-9\-\.]{1,64}$"),
        ];
        for (xml_schema, ecma) in cases {
            assert_eq!(from_xml_schema(xml_schema), ecma, "{xml_schema}");
        }
    }

    #[test]
    fn classes_that_mix_spaces_and_non_spaces() {
        assert_eq!(from_xml_schema(r"[ \S]"), r"[^\t\n\r]");
        assert_eq!(from_xml_schema(r"[^\S]"), r"[ \t\n\r]");
        assert_eq!(from_xml_schema(r"[a\s]"), r"[a \t\n\r]");
        assert_eq!(from_xml_schema(r"[\t\s]"), r"[\t \n\r]");
    }
}
