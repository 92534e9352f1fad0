//! Splits expression text into tokens, each with its byte offset.

use crate::error::ParseError;

/// A token's kind and text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Token {
    /// A name (`Patient`, `where`, `and`); `quoted` for `` `name` ``.
    Identifier { name: String, quoted: bool },
    /// `'text'` with escapes resolved.
    String(String),
    /// Digits with an optional fraction, as written.
    Number(String),
    /// `@2015-02-04T10:00` without the `@`.
    DateTime(String),
    /// `@T10:00` without the `@T`.
    Time(String),
    /// `%name`, `` %`name` `` or `%'name'`.
    Variable(String),
    /// `$this`, `$index`, `$total`, without the `$`.
    Special(String),
    /// Operators and punctuation.
    Symbol(&'static str),
}

/// A token and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Spanned {
    pub token: Token,
    pub position: usize,
}

const SYMBOLS: &[&str] = &[
    "<=", ">=", "!=", "!~", "(", ")", "[", "]", "{", "}", ".", ",", "+", "-", "*", "/", "|", "&", "=", "~", "<", ">",
];

/// Tokenises `text`. Fails at the first character that starts no token.
pub(crate) fn tokenize(text: &str) -> Result<Vec<Spanned>, ParseError> {
    let mut lexer = Lexer {
        text,
        position: 0,
        tokens: Vec::new(),
    };
    lexer.run()?;
    Ok(lexer.tokens)
}

struct Lexer<'t> {
    text: &'t str,
    position: usize,
    tokens: Vec<Spanned>,
}

impl Lexer<'_> {
    fn rest(&self) -> &str {
        &self.text[self.position..]
    }

    fn push(&mut self, token: Token, position: usize) {
        self.tokens.push(Spanned { token, position });
    }

    fn run(&mut self) -> Result<(), ParseError> {
        while let Some(c) = self.rest().chars().next() {
            let start = self.position;
            if c.is_whitespace() {
                self.position += c.len_utf8();
            } else if self.rest().starts_with("//") {
                self.position += self.rest().find('\n').unwrap_or(self.rest().len());
            } else if self.rest().starts_with("/*") {
                let end = self.rest()[2..].find("*/").ok_or(ParseError::Unterminated {
                    what: "comment",
                    position: start,
                })?;
                self.position += end + 4;
            } else if c.is_ascii_alphabetic() || c == '_' {
                let name = self.word();
                self.push(Token::Identifier { name, quoted: false }, start);
            } else if c == '`' {
                let name = self.quoted('`', "identifier")?;
                self.push(Token::Identifier { name, quoted: true }, start);
            } else if c == '\'' {
                let text = self.quoted('\'', "string")?;
                self.push(Token::String(text), start);
            } else if c.is_ascii_digit() {
                let number = self.number();
                self.push(Token::Number(number), start);
            } else if c == '@' {
                self.position += 1;
                self.date_time(start)?;
            } else if c == '%' {
                self.position += 1;
                let name = match self.rest().chars().next() {
                    Some('`') => self.quoted('`', "identifier")?,
                    Some('\'') => self.quoted('\'', "string")?,
                    Some(n) if n.is_ascii_alphabetic() || n == '_' => self.word(),
                    _ => return Err(self.unexpected_char()),
                };
                self.push(Token::Variable(name), start);
            } else if c == '$' {
                self.position += 1;
                if !self.rest().starts_with(|n: char| n.is_ascii_alphabetic()) {
                    return Err(self.unexpected_char());
                }
                let name = self.word();
                self.push(Token::Special(name), start);
            } else if let Some(symbol) = SYMBOLS.iter().find(|s| self.rest().starts_with(**s)) {
                self.position += symbol.len();
                self.push(Token::Symbol(symbol), start);
            } else {
                return Err(ParseError::UnexpectedChar {
                    found: c,
                    position: start,
                });
            }
        }
        Ok(())
    }

    fn unexpected_char(&self) -> ParseError {
        match self.rest().chars().next() {
            Some(found) => ParseError::UnexpectedChar {
                found,
                position: self.position,
            },
            None => ParseError::Unexpected {
                expected: "a name",
                found: "the end".into(),
                position: self.position,
            },
        }
    }

    fn word(&mut self) -> String {
        let length = self
            .rest()
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(self.rest().len());
        let word = self.rest()[..length].to_owned();
        self.position += length;
        word
    }

    fn number(&mut self) -> String {
        let digits = |s: &str| s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let mut length = digits(self.rest());
        let after = &self.rest()[length..];
        // `1.5` is a decimal, `1.toString()` an invocation on an integer.
        if after.starts_with('.') && after[1..].starts_with(|c: char| c.is_ascii_digit()) {
            length += 1 + digits(&after[1..]);
        }
        let number = self.rest()[..length].to_owned();
        self.position += length;
        number
    }

    fn date_time(&mut self, start: usize) -> Result<(), ParseError> {
        let length = self
            .rest()
            .find(|c: char| !(c.is_ascii_digit() || matches!(c, '-' | ':' | '.' | 'T' | 'Z' | '+')))
            .unwrap_or(self.rest().len());
        let mut literal = &self.rest()[..length];
        // `@2015.toString()`: a `.` not followed by a digit starts an invocation.
        let bytes = literal.as_bytes();
        if let Some(dot) =
            (0..bytes.len()).find(|&i| bytes[i] == b'.' && !bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            literal = &literal[..dot];
        }
        let literal = literal.to_owned();
        self.position += literal.len();
        if literal.is_empty() {
            return Err(ParseError::InvalidLiteral {
                what: "date",
                text: "@".into(),
                position: start,
            });
        }
        match literal.strip_prefix('T') {
            Some(time) => self.push(Token::Time(time.to_owned()), start),
            None => self.push(Token::DateTime(literal), start),
        }
        Ok(())
    }

    /// Reads a `'...'` string or `` `...` `` identifier, resolving escapes.
    fn quoted(&mut self, quote: char, what: &'static str) -> Result<String, ParseError> {
        let start = self.position;
        let mut out = String::new();
        let mut chars = self.rest().char_indices().skip(1);
        while let Some((offset, c)) = chars.next() {
            if c == quote {
                self.position += offset + 1;
                return Ok(out);
            }
            if c != '\\' {
                out.push(c);
                continue;
            }
            let Some((escape_at, escape)) = chars.next() else { break };
            let resolved = match escape {
                '`' | '\'' | '"' | '\\' | '/' => escape,
                'f' => '\u{c}',
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                'u' => {
                    let hex: String = (0..4).filter_map(|_| chars.next().map(|(_, h)| h)).collect();
                    u32::from_str_radix(&hex, 16)
                        .ok()
                        .and_then(char::from_u32)
                        .ok_or_else(|| ParseError::InvalidLiteral {
                            what: "escape",
                            text: format!("\\u{hex}"),
                            position: start + escape_at,
                        })?
                }
                other => {
                    return Err(ParseError::InvalidLiteral {
                        what: "escape",
                        text: format!("\\{other}"),
                        position: start + escape_at,
                    });
                }
            };
            out.push(resolved);
        }
        Err(ParseError::Unterminated { what, position: start })
    }
}

#[cfg(test)]
mod tests {
    use super::{Token, tokenize};

    #[test]
    fn tokens_with_positions() {
        let tokens = tokenize("Patient.name.where(given = 'Pe\\'ter') // note").unwrap_or_default();
        assert_eq!(tokens.len(), 10);
        assert_eq!(tokens[8].token, Token::String("Pe'ter".into()));
        assert_eq!(tokens[8].position, 27);
        let dates = tokenize("@2015-02-04T14:34:28.123+01:00 @T10:00 1.5 2.toString()").unwrap_or_default();
        assert_eq!(dates[0].token, Token::DateTime("2015-02-04T14:34:28.123+01:00".into()));
        assert_eq!(dates[1].token, Token::Time("10:00".into()));
        assert_eq!(dates[2].token, Token::Number("1.5".into()));
        assert_eq!(dates[3].token, Token::Number("2".into()));
        assert!(tokenize("'open").is_err());
        assert!(tokenize("a # b").is_err());
    }
}
