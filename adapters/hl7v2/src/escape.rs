//! HL7 v2 escape sequences, decoded only when a value is read.
//!
//! Delimiter escapes (`\F\ \S\ \T\ \R\ \E\`), hexadecimal data (`\Xhh..\`),
//! and formatting escapes: `\.br\` and `\.sp\` become line breaks, the
//! highlighting and other layout commands (`\H\ \N\ \.in\ \.ti\ \.ce\ \.fi\
//! \.nf\ \.sk\`) are dropped, as FHIR strings carry no layout. An escape that
//! is not closed is kept literally.
//!
//! An escape never spans a separator: ER7 is split on its separators first
//! and escapes are decoded within the pieces, so `\.b0^Pr\` is the two
//! literal components `\.b0` and `Pr\`, not one formatting command. Decoding
//! a whole field therefore reads the same as decoding its parts one by one,
//! which is what lets a parsed message be written back and read the same.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::message::{Charset, Delimiters};

/// Decodes `raw` to text.
pub(crate) fn decode(raw: &[u8], d: Delimiters, charset: Charset) -> Cow<'_, str> {
    if !raw.contains(&d.escape) {
        return charset.decode(raw);
    }
    let mut bytes = Vec::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(start) = rest.iter().position(|&b| b == d.escape) {
        bytes.extend_from_slice(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(len) = after.iter().position(|&b| b == d.escape) else {
            bytes.extend_from_slice(&rest[start..]);
            rest = &[];
            break;
        };
        let body = &after[..len];
        if body.iter().any(|&b| is_separator(b, d)) {
            // Not an escape: what looked like its end belongs to a later part.
            bytes.push(d.escape);
            rest = after;
            continue;
        }
        expand(body, d, &mut bytes);
        rest = &after[len + 1..];
    }
    bytes.extend_from_slice(rest);
    Cow::Owned(charset.decode(&bytes).into_owned())
}

fn is_separator(b: u8, d: Delimiters) -> bool {
    b == d.field || b == d.component || b == d.repetition || b == d.subcomponent
}

/// Appends what the escape body (between the escape characters) stands for.
fn expand(body: &[u8], d: Delimiters, out: &mut Vec<u8>) {
    match body {
        b"F" => out.push(d.field),
        b"S" => out.push(d.component),
        b"T" => out.push(d.subcomponent),
        b"R" => out.push(d.repetition),
        b"E" => out.push(d.escape),
        b"P" => out.extend(d.truncation),
        b".br" => out.push(b'\n'),
        [b'.', b's', b'p', count @ ..] => {
            let lines = std::str::from_utf8(count)
                .ok()
                .and_then(|c| c.trim_start_matches('+').parse::<usize>().ok())
                .unwrap_or(1);
            out.extend(std::iter::repeat_n(b'\n', lines.clamp(1, 16)));
        }
        [b'X', hex @ ..] if hex.len() % 2 == 0 && hex.iter().all(u8::is_ascii_hexdigit) => {
            out.extend(
                hex.chunks_exact(2)
                    .map(|pair| (hex_value(pair[0]) << 4) | hex_value(pair[1])),
            );
        }
        // Highlighting, layout commands, character-set switches (\C..\ \M..\)
        // and locally defined escapes (\Z..\) carry no text.
        b"H" | b"N" | [b'.' | b'C' | b'M' | b'Z', ..] => {}
        other => {
            out.push(d.escape);
            out.extend_from_slice(other);
            out.push(d.escape);
        }
    }
}

fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit.to_ascii_uppercase().wrapping_sub(b'A') + 10,
    }
}

/// Escapes text for ER7, the inverse of `decode` for the delimiter escapes;
/// line breaks become `\.br\`.
pub fn encode(text: &str, d: Delimiters) -> Cow<'_, str> {
    let special = |b: u8| {
        b == d.field
            || b == d.component
            || b == d.subcomponent
            || b == d.repetition
            || b == d.escape
            || (b < 0x20 && b != b'\t')
            || Some(b) == d.truncation
    };
    if !text.bytes().any(special) {
        return Cow::Borrowed(text);
    }
    let esc = char::from(d.escape);
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        let code = match u8::try_from(c) {
            Ok(b) if b == d.field => "F",
            Ok(b) if b == d.component => "S",
            Ok(b) if b == d.subcomponent => "T",
            Ok(b) if b == d.repetition => "R",
            Ok(b) if b == d.escape => "E",
            Ok(b) if Some(b) == d.truncation => "P",
            Ok(b'\n') => ".br",
            Ok(b) if b < 0x20 && b != b'\t' => {
                // Control characters may not appear raw in ER7.
                let _ = write!(out, "{esc}X{b:02X}{esc}");
                continue;
            }
            _ => {
                out.push(c);
                continue;
            }
        };
        out.push(esc);
        out.push_str(code);
        out.push(esc);
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(raw: &str) -> String {
        decode(raw.as_bytes(), Delimiters::default(), Charset::Utf8).into_owned()
    }

    #[test]
    fn delimiter_escapes() {
        assert_eq!(dec(r"a\F\b\S\c\T\d\R\e\E\f"), r"a|b^c&d~e\f");
    }

    #[test]
    fn hex_and_formatting() {
        assert_eq!(dec(r"\X41\B"), "AB");
        assert_eq!(dec(r"\XC3A9\"), "é");
        assert_eq!(dec(r"line\.br\next"), "line\nnext");
        assert_eq!(dec(r"\H\bold\N\ \.sp2\x"), "bold \n\nx");
        assert_eq!(dec(r"\.in+4\indented"), "indented");
    }

    #[test]
    fn unknown_and_unclosed_escapes_are_kept() {
        assert_eq!(dec(r"a\Q\b"), r"a\Q\b");
        assert_eq!(dec(r"trailing\"), r"trailing\");
        assert_eq!(dec(r"\XZZ\"), r"\XZZ\");
    }

    #[test]
    fn an_escape_does_not_span_a_separator() {
        // Found by fuzzing: read whole, MSH-18 `\.b0^Pr\` was one dropped
        // formatting command; read per component it was literal text.
        assert_eq!(dec(r"\.b0^Pr\"), r"\.b0^Pr\");
        assert_eq!(dec(r"a\F|\S\b"), r"a\F|^b");
        assert_eq!(dec(r"\H~\N\x&\T\"), r"\H~x&&");
    }

    #[test]
    fn encode_inverts_decode() {
        let d = Delimiters::default();
        for text in ["plain", "a|b^c&d~e\\f", "two\nlines", "é", "nul\0and\u{2}control\r"] {
            assert_eq!(dec(&encode(text, d)), text);
        }
    }
}
