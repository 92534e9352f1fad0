//! FHIRPath `Decimal`: an exact base-10 number (mantissa and scale), so that
//! `0.1 + 0.2 = 0.3` holds and `31.00` keeps its precision.

use std::cmp::Ordering;
use std::fmt;

/// The most digits after the point a result keeps (division, multiplication).
const MAX_SCALE: u32 = 28;
/// Digits after the point a division produces before trailing zeros are cut.
const DIVISION_SCALE: u32 = 8;

/// An exact decimal: `mantissa * 10^-scale`.
#[derive(Debug, Clone, Copy)]
pub struct Decimal {
    mantissa: i128,
    scale: u32,
}

impl Decimal {
    /// Reads `-12.340` and the like (no exponent). `None` when malformed or out of range.
    pub fn parse(text: &str) -> Option<Decimal> {
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
            || (digits.contains('.') && fraction.is_empty())
        {
            return None;
        }
        let scale = u32::try_from(fraction.len()).ok()?;
        if scale > MAX_SCALE {
            return None;
        }
        let mut mantissa: i128 = 0;
        for b in whole.bytes().chain(fraction.bytes()) {
            mantissa = mantissa.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
        }
        Some(Decimal {
            mantissa: if negative { -mantissa } else { mantissa },
            scale,
        })
    }

    /// Reads a JSON number's text, which may carry an exponent (`1e3`).
    pub fn parse_json(text: &str) -> Option<Decimal> {
        if let Some(d) = Decimal::parse(text) {
            return Some(d);
        }
        let (base, exponent) = text.split_once(['e', 'E'])?;
        let mut d = Decimal::parse(base)?;
        let exponent: i32 = exponent.parse().ok()?;
        if exponent >= 0 {
            for _ in 0..exponent {
                d.mantissa = d.mantissa.checked_mul(10)?;
            }
        } else {
            d.scale = d.scale.checked_add(exponent.unsigned_abs())?;
            if d.scale > MAX_SCALE {
                return None;
            }
        }
        Some(d)
    }

    /// The integer `value` as a decimal with no digits after the point.
    pub fn from_integer(value: i64) -> Decimal {
        Decimal {
            mantissa: i128::from(value),
            scale: 0,
        }
    }

    /// Digits after the point as written (`1.50` has 2).
    pub fn scale(self) -> u32 {
        self.scale
    }

    /// The value as an integer when it has no fractional part.
    pub fn to_integer(self) -> Option<i64> {
        let p = pow10(self.scale)?;
        if self.mantissa % p != 0 {
            return None;
        }
        i64::try_from(self.mantissa / p).ok()
    }

    /// Lossy, for `sqrt`, `ln`, `exp`, `power` with fractional exponents.
    #[allow(clippy::cast_precision_loss)]
    pub fn to_f64(self) -> f64 {
        self.to_string().parse().unwrap_or(self.mantissa as f64)
    }

    /// From a float, rounded to 8 digits after the point; `None` for NaN and infinities.
    pub fn from_f64(value: f64) -> Option<Decimal> {
        if !value.is_finite() {
            return None;
        }
        Decimal::parse(&format!("{value:.8}")).map(Decimal::normalized)
    }

    fn rescaled(self, scale: u32) -> Option<Decimal> {
        if scale < self.scale {
            return Some(self.round(scale));
        }
        let factor = pow10(scale - self.scale)?;
        Some(Decimal {
            mantissa: self.mantissa.checked_mul(factor)?,
            scale,
        })
    }

    #[must_use]
    /// Without trailing zeros after the point.
    pub fn normalized(mut self) -> Decimal {
        while self.scale > 0 && self.mantissa % 10 == 0 {
            self.mantissa /= 10;
            self.scale -= 1;
        }
        self
    }

    #[must_use]
    /// Rounded half away from zero to `digits` after the point.
    pub fn round(self, digits: u32) -> Decimal {
        if digits >= self.scale {
            return self;
        }
        let Some(factor) = pow10(self.scale - digits) else {
            return Decimal {
                mantissa: 0,
                scale: digits,
            };
        };
        let quotient = self.mantissa / factor;
        let remainder = self.mantissa % factor;
        let adjust = if remainder.abs() * 2 >= factor {
            self.mantissa.signum()
        } else {
            0
        };
        Decimal {
            mantissa: quotient + adjust,
            scale: digits,
        }
    }

    /// Toward negative infinity, to an integer.
    pub fn floor(self) -> Option<i64> {
        let p = pow10(self.scale)?;
        i64::try_from(self.mantissa.div_euclid(p)).ok()
    }

    /// Toward positive infinity, to an integer.
    pub fn ceiling(self) -> Option<i64> {
        let p = pow10(self.scale)?;
        i64::try_from(-((-self.mantissa).div_euclid(p))).ok()
    }

    /// Toward zero, to an integer.
    pub fn truncate(self) -> Option<i64> {
        let p = pow10(self.scale)?;
        i64::try_from(self.mantissa / p).ok()
    }

    #[must_use]
    /// Absolute value.
    pub fn abs(self) -> Decimal {
        Decimal {
            mantissa: self.mantissa.abs(),
            scale: self.scale,
        }
    }

    #[must_use]
    /// `-self`.
    pub fn negated(self) -> Decimal {
        Decimal {
            mantissa: -self.mantissa,
            scale: self.scale,
        }
    }

    /// `self + other`; `None` on overflow.
    pub fn checked_add(self, other: Decimal) -> Option<Decimal> {
        let scale = self.scale.max(other.scale);
        let a = self.rescaled(scale)?;
        let b = other.rescaled(scale)?;
        Some(Decimal {
            mantissa: a.mantissa.checked_add(b.mantissa)?,
            scale,
        })
    }

    /// `self - other`; `None` on overflow.
    pub fn checked_sub(self, other: Decimal) -> Option<Decimal> {
        self.checked_add(other.negated())
    }

    /// `self * other`; `None` on overflow.
    pub fn checked_mul(self, other: Decimal) -> Option<Decimal> {
        let product = Decimal {
            mantissa: self.mantissa.checked_mul(other.mantissa)?,
            scale: self.scale + other.scale,
        };
        Some(if product.scale > MAX_SCALE {
            product.round(MAX_SCALE)
        } else {
            product
        })
    }

    /// `self / other` to 8 digits after the point (trailing zeros cut); `None`
    /// for division by zero or overflow.
    pub fn checked_div(self, other: Decimal) -> Option<Decimal> {
        if other.mantissa == 0 {
            return None;
        }
        // a/b = (ma * 10^(sb + k)) / mb * 10^-(sa + k) with k making the
        // result scale DIVISION_SCALE + 1 (one guard digit for rounding).
        let target = DIVISION_SCALE + 1;
        let shift = (target + other.scale).checked_sub(self.scale);
        let (numerator, denominator) = match shift {
            Some(s) => (self.mantissa.checked_mul(pow10(s)?)?, other.mantissa),
            None => (
                self.mantissa,
                other.mantissa.checked_mul(pow10(self.scale - target - other.scale)?)?,
            ),
        };
        let quotient = Decimal {
            mantissa: numerator / denominator,
            scale: target,
        };
        Some(quotient.round(DIVISION_SCALE).normalized())
    }

    /// Truncated division to an integer (`div`); `None` for zero or overflow.
    pub fn div_truncated(self, other: Decimal) -> Option<Decimal> {
        if other.mantissa == 0 {
            return None;
        }
        let scale = self.scale.max(other.scale);
        let a = self.rescaled(scale)?;
        let b = other.rescaled(scale)?;
        Some(Decimal {
            mantissa: a.mantissa / b.mantissa,
            scale: 0,
        })
    }

    /// Remainder of truncated division (`mod`); `None` for zero or overflow.
    pub fn checked_rem(self, other: Decimal) -> Option<Decimal> {
        if other.mantissa == 0 {
            return None;
        }
        let scale = self.scale.max(other.scale);
        let a = self.rescaled(scale)?;
        let b = other.rescaled(scale)?;
        Some(Decimal {
            mantissa: a.mantissa % b.mantissa,
            scale,
        })
    }

    /// True when zero.
    pub fn is_zero(self) -> bool {
        self.mantissa == 0
    }
}

fn pow10(exponent: u32) -> Option<i128> {
    10i128.checked_pow(exponent)
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Decimal) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Decimal {}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Decimal) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Decimal) -> Ordering {
        let scale = self.scale.max(other.scale);
        match (self.rescaled(scale), other.rescaled(scale)) {
            (Some(a), Some(b)) => a.mantissa.cmp(&b.mantissa),
            // Rescaling overflows only for huge magnitudes; the sign then decides.
            _ => self.mantissa.signum().cmp(&other.mantissa.signum()),
        }
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.mantissa.unsigned_abs().to_string();
        let sign = if self.mantissa < 0 { "-" } else { "" };
        let scale = self.scale as usize;
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (whole, fraction) = padded.split_at(padded.len() - scale);
        write!(f, "{sign}{whole}.{fraction}")
    }
}

#[cfg(test)]
mod tests {
    use super::Decimal;

    fn d(text: &str) -> Decimal {
        Decimal::parse(text).unwrap_or_else(|| Decimal::from_integer(i64::MIN))
    }

    #[test]
    fn exact_arithmetic_and_precision() {
        assert_eq!(d("0.1").checked_add(d("0.2")), Some(d("0.3")));
        assert_eq!(d("31.00").to_string(), "31.00");
        assert_eq!(d("-0.05").to_string(), "-0.05");
        assert_eq!(
            d("1").checked_div(d("3")).map(|x| x.to_string()),
            Some("0.33333333".into())
        );
        assert_eq!(
            d("1.2").checked_div(d("1.8")).map(|x| x.round(2).to_string()),
            Some("0.67".into())
        );
        assert_eq!(
            d("5.5").checked_rem(d("0.7")).map(|x| x.to_string()),
            Some("0.6".into())
        );
        assert_eq!(d("-5.5").floor(), Some(-6));
        assert_eq!(d("-5.5").ceiling(), Some(-5));
        assert!(Decimal::parse("1.").is_none() && Decimal::parse(".5").is_none());
        assert_eq!(Decimal::parse_json("1e2").map(Decimal::to_integer), Some(Some(100)));
    }
}
