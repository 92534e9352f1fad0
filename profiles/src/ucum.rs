//! UCUM unit syntax (<https://ucum.org/ucum#section-Syntax-Rules>): a term of
//! components joined by `.` and `/`, each an annotated symbol with an
//! optional exponent, an integer factor, an annotation, or a term in
//! parentheses. Only the syntax is checked; whether `mg` is a known atom
//! needs the UCUM tables.

/// Why a unit code is not UCUM syntax.
pub type Reason = String;

/// Deep parentheses are legal but never seen; this bounds the recursion.
const MAX_NESTING: usize = 16;

/// Checks the syntax of a UCUM unit code.
pub fn check_syntax(code: &str) -> Result<(), Reason> {
    let mut parser = Parser {
        bytes: code.as_bytes(),
        at: 0,
    };
    if parser.peek() == Some(b'/') {
        parser.at += 1;
    }
    parser.term(0)?;
    match parser.peek() {
        None => Ok(()),
        Some(byte) => Err(format!(
            "unexpected `{}` at position {}",
            char::from(byte),
            parser.at + 1
        )),
    }
}

struct Parser<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn term(&mut self, depth: usize) -> Result<(), Reason> {
        self.component(depth)?;
        while let Some(b'.' | b'/') = self.peek() {
            self.at += 1;
            self.component(depth)?;
        }
        Ok(())
    }

    fn component(&mut self, depth: usize) -> Result<(), Reason> {
        match self.peek() {
            None => Err("a unit is missing at the end".to_owned()),
            Some(b'(') => {
                if depth >= MAX_NESTING {
                    return Err("parentheses nested too deep".to_owned());
                }
                self.at += 1;
                self.term(depth + 1)?;
                if self.peek() != Some(b')') {
                    return Err(format!("`)` expected at position {}", self.at + 1));
                }
                self.at += 1;
                self.annotation()
            }
            Some(b'{') => self.annotation(),
            Some(byte) if byte.is_ascii_digit() => {
                self.digits();
                // `10*3` and `10^3` are the power-of-ten atoms.
                if let Some(b'*' | b'^') = self.peek() {
                    self.at += 1;
                    self.exponent()?;
                }
                self.annotation()
            }
            Some(_) => {
                self.symbol()?;
                self.exponent()?;
                self.annotation()
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while self.peek().is_some_and(|byte| byte.is_ascii_digit()) {
            self.at += 1;
        }
        self.at - start
    }

    /// An optional signed exponent after a symbol.
    fn exponent(&mut self) -> Result<(), Reason> {
        let signed = matches!(self.peek(), Some(b'+' | b'-'));
        if signed {
            self.at += 1;
        }
        if self.digits() == 0 && signed {
            return Err(format!("exponent digits expected at position {}", self.at + 1));
        }
        Ok(())
    }

    /// A symbol: printable characters other than the operators, with
    /// `[...]` parts (`mm[Hg]`, `[in_i]`), not ending in digits (those are the
    /// exponent).
    fn symbol(&mut self) -> Result<(), Reason> {
        let start = self.at;
        loop {
            match self.peek() {
                Some(b'[') => {
                    let close = self.bytes[self.at..].iter().position(|&byte| byte == b']');
                    let Some(close) = close else {
                        return Err(format!("`[` at position {} is not closed", self.at + 1));
                    };
                    self.at += close + 1;
                }
                Some(byte) if is_symbol_byte(byte) => self.at += 1,
                _ => break,
            }
        }
        if self.at == start {
            let found = self
                .peek()
                .map_or_else(String::new, |byte| format!(" `{}`", char::from(byte)));
            return Err(format!(
                "a unit symbol expected at position {}, found{found}",
                self.at + 1
            ));
        }
        Ok(())
    }

    fn annotation(&mut self) -> Result<(), Reason> {
        if self.peek() != Some(b'{') {
            return Ok(());
        }
        let rest = &self.bytes[self.at..];
        match rest.iter().position(|&byte| byte == b'}') {
            Some(close)
                if rest[1..close]
                    .iter()
                    .all(|byte| (b' '..=b'~').contains(byte) && *byte != b'{') =>
            {
                self.at += close + 1;
                Ok(())
            }
            _ => Err(format!("annotation at position {} is not closed", self.at + 1)),
        }
    }
}

fn is_symbol_byte(byte: u8) -> bool {
    (b'!'..=b'~').contains(&byte) && !byte.is_ascii_digit() && !b"{}()[]./+-".contains(&byte)
}

#[cfg(test)]
mod tests {
    use super::check_syntax;

    #[test]
    fn accepts_units_seen_in_dutch_data() {
        for unit in [
            "kg",
            "mm[Hg]",
            "/min",
            "10*9/L",
            "mmol/L",
            "%",
            "cm",
            "kg/m2",
            "{score}",
            "mL/(24.h)",
            "[in_i]",
            "1",
            "ug/kg{body}",
            "s-1",
            "10^3",
        ] {
            assert_eq!(check_syntax(unit), Ok(()), "{unit}");
        }
    }

    #[test]
    fn refuses_broken_units() {
        for unit in ["", "kg/", "mm[Hg", "(kg", "kg m", "{open", "kg..m", "s-", "/"] {
            assert!(check_syntax(unit).is_err(), "{unit}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(code in "\\PC{0,24}") {
            let _ = check_syntax(&code);
        }
    }
}
