//! UCUM unit syntax (<https://ucum.org/ucum#section-Syntax-Rules>): a term of
//! components joined by `.` and `/`, each an annotated symbol with an
//! optional exponent, an integer factor, an annotation, or a term in
//! parentheses. [`check_syntax`] checks only that; [`check`] also wants
//! every symbol to be a UCUM atom (with a prefix where the atom is metric),
//! so a sender's own unit that happens to look like UCUM (`THOUS/MCL`) is
//! not taken for one.

/// Why a unit code is not UCUM syntax.
pub type Reason = String;

/// Deep parentheses are legal but never seen; this bounds the recursion.
const MAX_NESTING: usize = 16;

/// Checks the syntax of a UCUM unit code.
pub fn check_syntax(code: &str) -> Result<(), Reason> {
    parse(code, false)
}

/// Checks a UCUM unit code: its syntax, and that every symbol is a UCUM
/// atom, prefixed only where the atom is metric.
pub fn check(code: &str) -> Result<(), Reason> {
    parse(code, true)
}

fn parse(code: &str, known_atoms: bool) -> Result<(), Reason> {
    let mut parser = Parser {
        bytes: code.as_bytes(),
        at: 0,
        known_atoms,
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
    /// Whether symbols must be UCUM atoms.
    known_atoms: bool,
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
                let start = self.at;
                self.symbol()?;
                let symbol = String::from_utf8_lossy(&self.bytes[start..self.at]);
                if self.known_atoms && !is_atom(&symbol) {
                    return Err(format!("`{symbol}` is no UCUM unit"));
                }
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

/// The UCUM prefixes, longest first so `da` wins over `d`.
const PREFIXES: &[&str] = &[
    "da", "Ki", "Mi", "Gi", "Ti", "Y", "Z", "E", "P", "T", "G", "M", "k", "h", "d", "c", "m", "u", "n", "p", "f", "a",
    "z", "y",
];

/// UCUM atoms that take a prefix (the metric ones): SI base and derived
/// units, the cgs units, and the metric clinical and information units.
const METRIC_ATOMS: &[&str] = &[
    "m", "s", "g", "rad", "K", "C", "cd", "mol", "sr", "Hz", "N", "Pa", "J", "W", "A", "V", "F", "Ohm", "S", "Wb",
    "Cel", "T", "H", "lm", "lx", "Bq", "Gy", "Sv", "L", "l", "ar", "t", "bar", "u", "eV", "pc", "gon", "kat", "U",
    "[iU]", "[IU]", "eq", "osm", "g%", "dyn", "erg", "P", "St", "Gal", "G", "Mx", "Oe", "Gb", "sb", "Lmb", "ph", "Ky",
    "Bi", "Ci", "R", "RAD", "REM", "cal", "cal_[15]", "cal_[20]", "cal_m", "cal_IT", "cal_th", "mho", "B", "B[SPL]",
    "B[V]", "B[mV]", "B[uV]", "B[10.nV]", "B[W]", "B[kW]", "Np", "st", "gf", "tex", "bit", "By", "Bd", "m[Hg]",
    "m[H2O]", "[c]", "[h]", "[k]", "[e]", "[G]", "[g]", "[ly]", "[eps_0]", "[mu_0]",
];

/// UCUM atoms that take no prefix: time, angles, customary and clinical
/// units, ratios.
const OTHER_ATOMS: &[&str] = &[
    "min",
    "h",
    "d",
    "a",
    "wk",
    "mo",
    "a_t",
    "a_j",
    "a_g",
    "mo_s",
    "mo_j",
    "mo_g",
    "deg",
    "'",
    "''",
    "%",
    "[pi]",
    "[ppth]",
    "[ppm]",
    "[ppb]",
    "[pptr]",
    "10*",
    "10^",
    "atm",
    "att",
    "AU",
    "Ao",
    "b",
    "m_e",
    "m_p",
    "[in_i]",
    "[ft_i]",
    "[yd_i]",
    "[mi_i]",
    "[fth_i]",
    "[nmi_i]",
    "[kn_i]",
    "[sin_i]",
    "[sft_i]",
    "[syd_i]",
    "[cin_i]",
    "[cft_i]",
    "[cyd_i]",
    "[mil_i]",
    "[cml_i]",
    "[hd_i]",
    "[in_us]",
    "[ft_us]",
    "[yd_us]",
    "[mi_us]",
    "[lb_av]",
    "[oz_av]",
    "[dr_av]",
    "[gr]",
    "[ston_av]",
    "[stone_av]",
    "[lbf_av]",
    "[oz_ap]",
    "[dr_ap]",
    "[lb_ap]",
    "[oz_tr]",
    "[lb_tr]",
    "[gal_us]",
    "[qt_us]",
    "[pt_us]",
    "[cup_us]",
    "[foz_us]",
    "[fdr_us]",
    "[tbs_us]",
    "[tsp_us]",
    "[min_us]",
    "[bbl_us]",
    "[gal_br]",
    "[pt_br]",
    "[qt_br]",
    "[foz_br]",
    "[foz_m]",
    "[cup_m]",
    "[tsp_m]",
    "[tbs_m]",
    "[degF]",
    "[degR]",
    "[degRe]",
    "[Cal]",
    "[Btu]",
    "[HP]",
    "[den]",
    "[in_i'Hg]",
    "[in_i'H2O]",
    "[PRU]",
    "[wood'U]",
    "[diop]",
    "[p'diop]",
    "%[slope]",
    "[mesh_i]",
    "[Ch]",
    "[drp]",
    "[hnsf'U]",
    "[MET]",
    "[hp'_X]",
    "[hp'_C]",
    "[hp'_M]",
    "[hp'_Q]",
    "[kp_X]",
    "[kp_C]",
    "[kp_M]",
    "[kp_Q]",
    "[pH]",
    "[S]",
    "[HPF]",
    "[LPF]",
    "[arb'U]",
    "[USP'U]",
    "[GPL'U]",
    "[MPL'U]",
    "[APL'U]",
    "[beth'U]",
    "[anti'Xa'U]",
    "[todd'U]",
    "[dye'U]",
    "[smgy'U]",
    "[bdsk'U]",
    "[ka'U]",
    "[knk'U]",
    "[mclg'U]",
    "[tb'U]",
    "[CCID_50]",
    "[TCID_50]",
    "[EID_50]",
    "[PFU]",
    "[FFU]",
    "[CFU]",
    "[IR]",
    "[BAU]",
    "[AU]",
    "[Amb'a'1'U]",
    "[PNU]",
    "[Lf]",
    "[D'ag'U]",
    "[FEU]",
    "[ELU]",
    "[EU]",
    "bit_s",
    "[car_m]",
    "[car_Au]",
    "[smoot]",
    "[m/s2/Hz^(1/2)]",
];

/// Whether `symbol` is a UCUM atom, or a prefix and a metric atom.
fn is_atom(symbol: &str) -> bool {
    OTHER_ATOMS.contains(&symbol)
        || METRIC_ATOMS.contains(&symbol)
        || PREFIXES.iter().any(|prefix| {
            symbol
                .strip_prefix(prefix)
                .is_some_and(|atom| METRIC_ATOMS.contains(&atom))
        })
}

fn is_symbol_byte(byte: u8) -> bool {
    (b'!'..=b'~').contains(&byte) && !byte.is_ascii_digit() && !b"{}()[]./+-".contains(&byte)
}

#[cfg(test)]
mod tests {
    use super::{check, check_syntax};

    #[test]
    fn known_atoms_with_and_without_prefixes() {
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
            "dL",
            "[iU]/L",
            "meq/L",
            "Cel",
            "[degF]",
            "fL",
            "pg",
            "mosm/kg",
            "kPa",
            "ng/mL",
            "U/L",
            "nmol/L",
            "umol/L",
            "mg/dL",
            "/uL",
            "10*3/uL",
            "[lb_av]",
            "cm[H2O]",
            "g/dL",
            "daL",
            "Kibit",
            "min",
            "h",
            "wk",
            "mo",
            "a",
        ] {
            assert_eq!(check(unit), Ok(()), "{unit}");
        }
    }

    #[test]
    fn a_symbol_that_is_no_atom_is_no_ucum() {
        for (unit, symbol) in [
            ("THOUS/MCL", "THOUS"),
            ("mcg", "mcg"),
            ("cc", "cc"),
            ("kmin", "kmin"),
            ("lbs", "lbs"),
            ("mmHg", "mmHg"),
        ] {
            assert_eq!(check(unit), Err(format!("`{symbol}` is no UCUM unit")), "{unit}");
            assert_eq!(check_syntax(unit), Ok(()), "{unit} is UCUM syntax all the same");
        }
    }

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
