//! Arithmetic and string concatenation on single items.

use crate::ast::BinaryOp;
use crate::compare::system_value;
use crate::decimal::Decimal;
use crate::error::EvalError;
use crate::temporal::CalendarUnit;
use crate::value::{Item, Quantity};

fn overflow(op: BinaryOp) -> EvalError {
    EvalError::Overflow {
        what: format!("'{}'", op.symbol()),
    }
}

/// `left op right` for `*`, `/`, `div`, `mod`, `+`, `-`. `Ok(None)` is the
/// spec's empty result (division by zero, units that do not combine).
pub(crate) fn arithmetic(op: BinaryOp, left: &Item, right: &Item) -> Result<Option<Item>, EvalError> {
    let wrong = |found: &Item| EvalError::WrongType {
        what: format!("'{}'", op.symbol()),
        expected: "a number, string, date or quantity",
        found: found.type_label(),
    };
    let l = system_value(left).ok_or_else(|| wrong(left))?;
    let r = system_value(right).ok_or_else(|| wrong(right))?;
    let result = match (l, r) {
        (Item::Integer(a), Item::Integer(b)) => integer(op, a, b)?,
        (Item::Integer(a), Item::Decimal(b)) => decimal(op, Decimal::from_integer(a), b)?,
        (Item::Decimal(a), Item::Integer(b)) => decimal(op, a, Decimal::from_integer(b))?,
        (Item::Decimal(a), Item::Decimal(b)) => decimal(op, a, b)?,
        (Item::String(a), Item::String(b)) if op == BinaryOp::Add => Some(Item::String(a + &b)),
        (Item::Date(d), Item::Quantity(q)) => {
            shift(op, &q)?.and_then(|(n, u)| d.checked_add(n, u).map(|d| Item::Date(d.date())))
        }
        (Item::DateTime(d), Item::Quantity(q)) => {
            shift(op, &q)?.and_then(|(n, u)| d.checked_add(n, u).map(Item::DateTime))
        }
        (Item::Time(t), Item::Quantity(q)) => shift(op, &q)?.and_then(|(n, u)| t.checked_add(n, u).map(Item::Time)),
        (Item::Quantity(a), Item::Quantity(b)) => quantity(op, &a, &b)?,
        (Item::Quantity(a), Item::Integer(b)) => quantity(
            op,
            &a,
            &Quantity {
                value: Decimal::from_integer(b),
                unit: "1".into(),
            },
        )?,
        (Item::Quantity(a), Item::Decimal(b)) => quantity(
            op,
            &a,
            &Quantity {
                value: b,
                unit: "1".into(),
            },
        )?,
        (Item::Integer(a), Item::Quantity(b)) => quantity(
            op,
            &Quantity {
                value: Decimal::from_integer(a),
                unit: "1".into(),
            },
            &b,
        )?,
        (Item::Decimal(a), Item::Quantity(b)) => quantity(
            op,
            &Quantity {
                value: a,
                unit: "1".into(),
            },
            &b,
        )?,
        (a, b) => {
            return Err(EvalError::WrongType {
                what: format!("'{}'", op.symbol()),
                expected: "operands it applies to",
                found: format!("{} and {}", a.type_label(), b.type_label()),
            });
        }
    };
    Ok(result)
}

fn integer(op: BinaryOp, a: i64, b: i64) -> Result<Option<Item>, EvalError> {
    let checked = match op {
        BinaryOp::Add => a.checked_add(b),
        BinaryOp::Subtract => a.checked_sub(b),
        BinaryOp::Multiply => a.checked_mul(b),
        BinaryOp::Div | BinaryOp::Mod if b == 0 => return Ok(None),
        BinaryOp::Div => a.checked_div(b),
        BinaryOp::Mod => a.checked_rem(b),
        _ => return decimal(op, Decimal::from_integer(a), Decimal::from_integer(b)),
    };
    checked.map(|v| Some(Item::Integer(v))).ok_or_else(|| overflow(op))
}

fn decimal(op: BinaryOp, a: Decimal, b: Decimal) -> Result<Option<Item>, EvalError> {
    let result = match op {
        BinaryOp::Add => a.checked_add(b),
        BinaryOp::Subtract => a.checked_sub(b),
        BinaryOp::Multiply => a.checked_mul(b),
        BinaryOp::Divide | BinaryOp::Div | BinaryOp::Mod if b.is_zero() => return Ok(None),
        BinaryOp::Divide => a.checked_div(b),
        BinaryOp::Div => {
            return a
                .div_truncated(b)
                .and_then(Decimal::to_integer)
                .map(|i| Some(Item::Integer(i)))
                .ok_or_else(|| overflow(op));
        }
        BinaryOp::Mod => a.checked_rem(b),
        _ => return Ok(None),
    };
    result.map(|d| Some(Item::Decimal(d))).ok_or_else(|| overflow(op))
}

/// The signed amount and unit a date moves by; seconds may be fractional.
fn shift(op: BinaryOp, q: &Quantity) -> Result<Option<(i64, CalendarUnit)>, EvalError> {
    let sign = match op {
        BinaryOp::Add => 1,
        BinaryOp::Subtract => -1,
        _ => {
            return Err(EvalError::WrongType {
                what: format!("'{}'", op.symbol()),
                expected: "+ or - with a date",
                found: "a date".into(),
            });
        }
    };
    let Some(unit) = CalendarUnit::for_arithmetic(&q.unit) else {
        return Err(EvalError::WrongType {
            what: format!("'{}'", op.symbol()),
            expected: "a calendar duration",
            found: format!("unit '{}'", q.unit),
        });
    };
    // Fractions are truncated, as the official tests expect (`+ 0.1 's'` changes nothing).
    let Some(amount) = q.value.truncate() else {
        return Err(overflow(op));
    };
    Ok(Some((amount * sign, unit)))
}

fn quantity(op: BinaryOp, a: &Quantity, b: &Quantity) -> Result<Option<Item>, EvalError> {
    let unit = match op {
        BinaryOp::Add | BinaryOp::Subtract if a.unit == b.unit => a.unit.clone(),
        BinaryOp::Multiply => combine_units(&a.unit, &b.unit, '.'),
        BinaryOp::Divide if a.unit == b.unit => "1".to_owned(),
        BinaryOp::Divide => combine_units(&a.unit, &b.unit, '/'),
        _ => return Ok(None),
    };
    match decimal(op, a.value, b.value)? {
        Some(Item::Decimal(value)) => Ok(Some(Item::Quantity(Quantity { value, unit }))),
        _ => Ok(None),
    }
}

fn combine_units(a: &str, b: &str, operator: char) -> String {
    match (a, b) {
        (a, "1") => a.to_owned(),
        ("1", b) if operator == '.' => b.to_owned(),
        (a, b) => format!("{a}{operator}{b}"),
    }
}

/// `&`: concatenation with empty as `''`.
pub(crate) fn concatenate(left: Option<&Item>, right: Option<&Item>) -> Result<Item, EvalError> {
    let text = |item: Option<&Item>| -> Result<String, EvalError> {
        match item.map(system_value) {
            None => Ok(String::new()),
            Some(Some(Item::String(s))) => Ok(s),
            Some(_) => Err(EvalError::WrongType {
                what: "'&'".into(),
                expected: "a string",
                found: item.map(Item::type_label).unwrap_or_default(),
            }),
        }
    };
    Ok(Item::String(text(left)? + &text(right)?))
}
