//! A small RFC 4180 reader: quoted fields with `""` escapes and line breaks,
//! `;` `,` tab or `|` as delimiter, CRLF or LF, with limits on every size.
//! Unquoted fields borrow the input; only fields with `""` are copied.

use std::borrow::Cow;

use crate::Limits;
use crate::error::{Error, ErrorKind};

/// One record of the export.
#[derive(Debug)]
pub(crate) struct Row<'a> {
    /// Row number as a spreadsheet shows it: the header is row 1.
    pub number: usize,
    pub fields: Vec<Cow<'a, str>>,
    /// The record's bytes in the input, for the duplicate-detecting hash.
    pub raw: &'a str,
}

/// The delimiter of a header line: the most frequent of `;` `,` tab `|`
/// outside quotes (`;` when there is none, the Dutch spreadsheet default).
pub(crate) fn detect_delimiter(text: &str) -> u8 {
    let mut counts = [0usize; 4];
    let mut quoted = false;
    for b in text.bytes() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            b';' if !quoted => counts[0] += 1,
            b',' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            b'|' if !quoted => counts[3] += 1,
            _ => {}
        }
    }
    let best = (0..4).max_by_key(|&i| (counts[i], usize::from(i == 0))).unwrap_or(0);
    if counts[best] == 0 {
        b';'
    } else {
        [b';', b',', b'\t', b'|'][best]
    }
}

/// Reads all records; the first is the header.
pub(crate) fn read<'a>(text: &'a str, delimiter: u8, limits: &Limits) -> Result<Vec<Row<'a>>, Error> {
    let b = text.as_bytes();
    let mut rows = Vec::new();
    let mut at = 0;
    let mut number = 0;
    let mut width = 0;
    while at < b.len() {
        // Blank lines carry nothing and are not counted as rows.
        if b[at] == b'\n' {
            at += 1;
            continue;
        }
        if b[at] == b'\r' && b.get(at + 1) == Some(&b'\n') {
            at += 2;
            continue;
        }
        number += 1;
        if rows.len() >= limits.max_rows.saturating_add(1) {
            return Err(Error::whole(ErrorKind::TooManyRows { limit: limits.max_rows }));
        }
        let start = at;
        // Rows are as wide as the header: one allocation per row.
        let mut fields = Vec::with_capacity(width);
        loop {
            if fields.len() >= limits.max_columns {
                return Err(Error::at(
                    format!("row {number}"),
                    ErrorKind::TooManyColumns {
                        found: fields.len() + 1,
                        allowed: limits.max_columns,
                        why: "",
                    },
                ));
            }
            let column = fields.len() + 1;
            let (field, next) = if b.get(at) == Some(&b'"') {
                quoted(text, at, delimiter, number, column)?
            } else {
                let stop = b[at..]
                    .iter()
                    .position(|&c| c == delimiter || c == b'\n')
                    .map_or(b.len(), |p| at + p);
                // A CR belongs to the line break only right before the LF.
                let end = if stop > at && b.get(stop) == Some(&b'\n') && b[stop - 1] == b'\r' {
                    stop - 1
                } else {
                    stop
                };
                (Cow::Borrowed(&text[at..end]), end)
            };
            if field.len() > limits.max_field_bytes {
                return Err(Error::at(
                    format!("row {number}, column {column}"),
                    ErrorKind::FieldTooLong {
                        limit: limits.max_field_bytes,
                    },
                ));
            }
            fields.push(field);
            at = next;
            match b.get(at) {
                Some(&c) if c == delimiter => at += 1,
                Some(b'\r') => {
                    at += 2;
                    break;
                }
                Some(b'\n') => {
                    at += 1;
                    break;
                }
                _ => break,
            }
        }
        let end = text[..at].trim_end_matches(['\r', '\n']).len();
        width = width.max(fields.len());
        rows.push(Row {
            number,
            fields,
            raw: &text[start..end.max(start)],
        });
    }
    Ok(rows)
}

/// A quoted field starting at `open` (the quote); returns the content and
/// the position after the closing quote.
fn quoted(text: &str, open: usize, delimiter: u8, row: usize, column: usize) -> Result<(Cow<'_, str>, usize), Error> {
    let b = text.as_bytes();
    let mut at = open + 1;
    let mut owned: Option<String> = None;
    let mut piece = at;
    loop {
        let Some(p) = b[at..].iter().position(|&c| c == b'"') else {
            return Err(Error::at(
                format!("row {row}, column {column}"),
                ErrorKind::UnbalancedQuote,
            ));
        };
        let quote = at + p;
        if b.get(quote + 1) == Some(&b'"') {
            owned.get_or_insert_with(String::new).push_str(&text[piece..=quote]);
            at = quote + 2;
            piece = at;
            continue;
        }
        let after = quote + 1;
        match b.get(after) {
            None | Some(b'\n') => {}
            Some(b'\r') if b.get(after + 1) == Some(&b'\n') => {}
            Some(&c) if c == delimiter => {}
            Some(_) => {
                return Err(Error::at(
                    format!("row {row}, column {column}"),
                    ErrorKind::TextAfterQuote,
                ));
            }
        }
        let field = match owned {
            Some(mut s) => {
                s.push_str(&text[piece..quote]);
                Cow::Owned(s)
            }
            None => Cow::Borrowed(&text[piece..quote]),
        };
        return Ok((field, after));
    }
}

/// Writes one CSV record (for tests and generated exports): fields with the
/// delimiter, quotes or line breaks are quoted.
pub fn write_record(fields: &[&str], delimiter: u8, out: &mut String) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(char::from(delimiter));
        }
        let needs_quotes = field
            .bytes()
            .any(|c| c == delimiter || c == b'"' || c == b'\n' || c == b'\r')
            || field.starts_with('"');
        if needs_quotes {
            out.push('"');
            out.push_str(&field.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(field);
        }
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(text: &str) -> Vec<Vec<String>> {
        read(text, b';', &Limits::default())
            .unwrap()
            .into_iter()
            .map(|r| r.fields.into_iter().map(Cow::into_owned).collect())
            .collect()
    }

    #[test]
    fn reads_quotes_line_breaks_and_crlf() {
        assert_eq!(
            fields("a;b\r\n\"x;\"\"y\"\"\";\"1\n2\"\r\n\n;\n"),
            vec![vec!["a", "b"], vec!["x;\"y\"", "1\n2"], vec!["", ""],]
        );
    }

    #[test]
    fn unbalanced_quotes_are_errors_with_a_place() {
        let e = read("a;b\n1;\"2\n", b';', &Limits::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "row 2, column 2: quoted field is not closed before the end of the export"
        );
        let e = read("a;b\n1;\"2\"x\n", b';', &Limits::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "row 2, column 2: unexpected character after the closing quote"
        );
    }

    #[test]
    fn delimiters_are_detected() {
        assert_eq!(detect_delimiter("a;b;c\n1,2"), b';');
        assert_eq!(detect_delimiter("a,\"b;c\",d\n"), b',');
        assert_eq!(detect_delimiter("abc"), b';');
    }

    #[test]
    fn limits_hold() {
        let limits = Limits {
            max_columns: 2,
            ..Limits::default()
        };
        let e = read("a;b;c\n", b';', &limits).unwrap_err();
        assert_eq!(e.to_string(), "row 1: 3 columns, more than the 2 allowed");
        let limits = Limits {
            max_field_bytes: 3,
            ..Limits::default()
        };
        let e = read("abcd\n", b';', &limits).unwrap_err();
        assert_eq!(e.to_string(), "row 1, column 1: field longer than 3 bytes");
    }
}
