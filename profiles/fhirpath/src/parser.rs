//! Builds the expression tree from tokens: precedence climbing over the
//! FHIRPath operator table, with limits on length and nesting so that hostile
//! input cannot exhaust the stack (here or later, when the tree is evaluated).

use crate::ast::{BinaryOp, Expr, Function, TypeFunction, TypeSpec};
use crate::decimal::Decimal;
use crate::error::ParseError;
use crate::lexer::{Spanned, Token, tokenize};
use crate::temporal::{DateTime, Time, is_calendar_keyword};
use crate::value::{Item, Quantity};

/// Longest expression text accepted, in bytes.
pub const MAX_LENGTH: usize = 64 * 1024;
/// Deepest expression tree accepted (operators, invocations and brackets alike).
pub const MAX_DEPTH: usize = 128;

/// Binding power of `is` and `as`, whose right side is a type, not an expression.
const TYPE_OPERATOR: u8 = 8;

/// Parses `text` into a tree.
pub(crate) fn parse(text: &str) -> Result<Expr, ParseError> {
    if text.len() > MAX_LENGTH {
        return Err(ParseError::TooLong {
            length: text.len(),
            limit: MAX_LENGTH,
        });
    }
    let tokens = tokenize(text)?;
    let mut parser = Parser {
        tokens,
        next: 0,
        end: text.len(),
    };
    let (expr, _) = parser.expression(0, 0)?;
    match parser.peek() {
        None => Ok(expr),
        Some(token) => Err(ParseError::Unexpected {
            expected: "an operator or the end",
            found: describe(&token.token),
            position: token.position,
        }),
    }
}

fn describe(token: &Token) -> String {
    match token {
        Token::Identifier { name, .. } => format!("'{name}'"),
        Token::String(s) => format!("string '{s}'"),
        Token::Number(n) => format!("number {n}"),
        Token::DateTime(d) => format!("@{d}"),
        Token::Time(t) => format!("@T{t}"),
        Token::Variable(v) => format!("%{v}"),
        Token::Special(s) => format!("${s}"),
        Token::Symbol(s) => format!("'{s}'"),
    }
}

/// Binding power (higher binds tighter) of the operator a token spells.
fn binary_operator(token: &Token) -> Option<(BinaryOp, u8)> {
    let op = match token {
        Token::Symbol(symbol) => match *symbol {
            "*" => BinaryOp::Multiply,
            "/" => BinaryOp::Divide,
            "+" => BinaryOp::Add,
            "-" => BinaryOp::Subtract,
            "&" => BinaryOp::Concatenate,
            "|" => BinaryOp::Union,
            "<" => BinaryOp::Less,
            ">" => BinaryOp::Greater,
            "<=" => BinaryOp::LessOrEqual,
            ">=" => BinaryOp::GreaterOrEqual,
            "=" => BinaryOp::Equal,
            "!=" => BinaryOp::NotEqual,
            "~" => BinaryOp::Equivalent,
            "!~" => BinaryOp::NotEquivalent,
            _ => return None,
        },
        Token::Identifier { name, quoted: false } => match name.as_str() {
            "div" => BinaryOp::Div,
            "mod" => BinaryOp::Mod,
            "in" => BinaryOp::In,
            "contains" => BinaryOp::Contains,
            "and" => BinaryOp::And,
            "or" => BinaryOp::Or,
            "xor" => BinaryOp::Xor,
            "implies" => BinaryOp::Implies,
            _ => return None,
        },
        _ => return None,
    };
    let power = match op {
        BinaryOp::Multiply | BinaryOp::Divide | BinaryOp::Div | BinaryOp::Mod => 10,
        BinaryOp::Add | BinaryOp::Subtract | BinaryOp::Concatenate => 9,
        BinaryOp::Union => 7,
        BinaryOp::Less | BinaryOp::Greater | BinaryOp::LessOrEqual | BinaryOp::GreaterOrEqual => 6,
        BinaryOp::Equal | BinaryOp::NotEqual | BinaryOp::Equivalent | BinaryOp::NotEquivalent => 5,
        BinaryOp::In | BinaryOp::Contains => 4,
        BinaryOp::And => 3,
        BinaryOp::Or | BinaryOp::Xor => 2,
        BinaryOp::Implies => 1,
    };
    Some((op, power))
}

struct Parser {
    tokens: Vec<Spanned>,
    next: usize,
    end: usize,
}

/// A subtree and its depth.
type Parsed = (Expr, usize);

impl Parser {
    fn peek(&self) -> Option<&Spanned> {
        self.tokens.get(self.next)
    }

    fn position(&self) -> usize {
        self.peek().map_or(self.end, |t| t.position)
    }

    fn advance(&mut self) -> Option<Spanned> {
        let token = self.tokens.get(self.next).cloned();
        self.next += 1;
        token
    }

    fn at_symbol(&self, symbol: &str) -> bool {
        matches!(self.peek(), Some(Spanned { token: Token::Symbol(s), .. }) if *s == symbol)
    }

    fn expect_symbol(&mut self, symbol: &'static str) -> Result<(), ParseError> {
        if self.at_symbol(symbol) {
            self.next += 1;
            return Ok(());
        }
        Err(self.unexpected(symbol))
    }

    fn unexpected(&self, expected: &'static str) -> ParseError {
        ParseError::Unexpected {
            expected,
            found: self.peek().map_or_else(|| "the end".into(), |t| describe(&t.token)),
            position: self.position(),
        }
    }

    fn check_depth(&self, depth: usize) -> Result<usize, ParseError> {
        if depth > MAX_DEPTH {
            return Err(ParseError::TooDeep {
                limit: MAX_DEPTH,
                position: self.position(),
            });
        }
        Ok(depth)
    }

    fn expression(&mut self, min_power: u8, nesting: usize) -> Result<Parsed, ParseError> {
        self.check_depth(nesting)?;
        let (mut left, mut depth) = self.unary(nesting)?;
        while let Some(next) = self.peek() {
            if let Token::Identifier { name, quoted: false } = &next.token {
                if (name == "is" || name == "as") && TYPE_OPERATOR > min_power {
                    let function = if name == "is" {
                        TypeFunction::Is
                    } else {
                        TypeFunction::As
                    };
                    self.next += 1;
                    let spec = self.type_spec()?;
                    depth = self.check_depth(depth + 1)?;
                    left = Expr::TypeCall {
                        target: Some(Box::new(left)),
                        function,
                        spec,
                    };
                    continue;
                }
            }
            let Some((op, power)) = binary_operator(&next.token) else {
                break;
            };
            if power <= min_power {
                break;
            }
            self.next += 1;
            let (right, right_depth) = self.expression(power, nesting + 1)?;
            depth = self.check_depth(depth.max(right_depth) + 1)?;
            left = Expr::Binary {
                op,
                left: Box::new(left),
                right: Box::new(right),
            };
        }
        Ok((left, depth))
    }

    fn unary(&mut self, nesting: usize) -> Result<Parsed, ParseError> {
        self.check_depth(nesting)?;
        for (symbol, negate) in [("-", true), ("+", false)] {
            if self.at_symbol(symbol) {
                self.next += 1;
                let (operand, depth) = self.unary(nesting + 1)?;
                if !negate {
                    return Ok((operand, depth));
                }
                let folded = match operand {
                    Expr::Literal(Item::Integer(i)) => Expr::Literal(Item::Integer(-i)),
                    Expr::Literal(Item::Decimal(d)) => Expr::Literal(Item::Decimal(d.negated())),
                    Expr::Literal(Item::Quantity(q)) => Expr::Literal(Item::Quantity(Quantity {
                        value: q.value.negated(),
                        unit: q.unit,
                    })),
                    other => Expr::Negate(Box::new(other)),
                };
                return Ok((folded, self.check_depth(depth + 1)?));
            }
        }
        let (mut expr, mut depth) = self.term(nesting)?;
        loop {
            if self.at_symbol(".") {
                self.next += 1;
                let position = self.position();
                let Some(Spanned {
                    token: Token::Identifier { name, .. },
                    ..
                }) = self.advance()
                else {
                    self.next -= 1;
                    return Err(self.unexpected("a name after '.'"));
                };
                if self.at_symbol("(") {
                    let (call, call_depth) = self.call(Some(expr), &name, position, nesting)?;
                    expr = call;
                    depth = depth.max(call_depth);
                } else {
                    expr = Expr::Member {
                        target: Box::new(expr),
                        name,
                    };
                }
            } else if self.at_symbol("[") {
                self.next += 1;
                let (index, index_depth) = self.expression(0, nesting + 1)?;
                self.expect_symbol("]")?;
                depth = depth.max(index_depth);
                expr = Expr::Indexer {
                    target: Box::new(expr),
                    index: Box::new(index),
                };
            } else {
                break;
            }
            depth = self.check_depth(depth + 1)?;
        }
        Ok((expr, depth))
    }

    fn term(&mut self, nesting: usize) -> Result<Parsed, ParseError> {
        let position = self.position();
        let Some(Spanned { token, .. }) = self.advance() else {
            self.next -= 1;
            return Err(self.unexpected("an expression"));
        };
        let expr = match token {
            Token::Number(text) => self.number(&text, position)?,
            Token::String(text) => Expr::Literal(Item::String(text)),
            Token::DateTime(text) => Expr::Literal(date_time_literal(&text, position)?),
            Token::Time(text) => Expr::Literal(Item::Time(Time::parse(&text).ok_or_else(|| {
                ParseError::InvalidLiteral {
                    what: "time",
                    text: format!("@T{text}"),
                    position,
                }
            })?)),
            Token::Variable(name) => Expr::Variable(name),
            Token::Special(name) => match name.as_str() {
                "this" => Expr::This,
                "index" => Expr::Index,
                "total" => Expr::Total,
                _ => {
                    return Err(ParseError::Unexpected {
                        expected: "$this, $index or $total",
                        found: format!("${name}"),
                        position,
                    });
                }
            },
            Token::Symbol("(") => {
                let (inner, depth) = self.expression(0, nesting + 1)?;
                self.expect_symbol(")")?;
                return Ok((inner, depth + 1));
            }
            Token::Symbol("{") => {
                self.expect_symbol("}")?;
                Expr::Empty
            }
            Token::Identifier { name, quoted } => {
                if !quoted && self.at_symbol("(") {
                    return self.call(None, &name, position, nesting);
                }
                match (quoted, name.as_str()) {
                    (false, "true") => Expr::Literal(Item::Boolean(true)),
                    (false, "false") => Expr::Literal(Item::Boolean(false)),
                    _ => Expr::Identifier(name),
                }
            }
            other @ Token::Symbol(_) => {
                return Err(ParseError::Unexpected {
                    expected: "an expression",
                    found: describe(&other),
                    position,
                });
            }
        };
        Ok((expr, 1))
    }

    /// A number, and the unit after it when it is a quantity.
    fn number(&mut self, text: &str, position: usize) -> Result<Expr, ParseError> {
        let invalid = || ParseError::InvalidLiteral {
            what: "number",
            text: text.to_owned(),
            position,
        };
        let unit = match self.peek().map(|t| &t.token) {
            Some(Token::String(unit)) => Some(unit.clone()),
            Some(Token::Identifier { name, quoted: false }) if is_calendar_keyword(name) => Some(name.clone()),
            _ => None,
        };
        if let Some(unit) = unit {
            self.next += 1;
            let value = Decimal::parse(text).ok_or_else(invalid)?;
            return Ok(Expr::Literal(Item::Quantity(Quantity { value, unit })));
        }
        if text.contains('.') {
            return Ok(Expr::Literal(Item::Decimal(Decimal::parse(text).ok_or_else(invalid)?)));
        }
        Ok(Expr::Literal(Item::Integer(text.parse().map_err(|_| invalid())?)))
    }

    fn call(
        &mut self,
        target: Option<Expr>,
        name: &str,
        position: usize,
        nesting: usize,
    ) -> Result<Parsed, ParseError> {
        self.expect_symbol("(")?;
        let mut args = Vec::new();
        let mut depth = 1;
        if !self.at_symbol(")") {
            loop {
                let (arg, arg_depth) = self.expression(0, nesting + 1)?;
                depth = depth.max(arg_depth + 1);
                args.push(arg);
                if self.at_symbol(",") {
                    self.next += 1;
                } else {
                    break;
                }
            }
        }
        self.expect_symbol(")")?;
        let target = target.map(Box::new);
        let type_function = match name {
            "ofType" => Some(TypeFunction::OfType),
            "is" => Some(TypeFunction::Is),
            "as" => Some(TypeFunction::As),
            _ => None,
        };
        if let Some(function) = type_function {
            let [arg] = <[Expr; 1]>::try_from(args).map_err(|args| ParseError::Arity {
                name: name.to_owned(),
                expected: "1",
                found: args.len(),
                position,
            })?;
            let spec = spec_from_expr(arg).ok_or(ParseError::Unexpected {
                expected: "a type name",
                found: "an expression".into(),
                position,
            })?;
            return Ok((Expr::TypeCall { target, function, spec }, depth));
        }
        let (function, min, max) = Function::lookup(name).ok_or_else(|| ParseError::UnknownFunction {
            name: name.to_owned(),
            position,
        })?;
        if args.len() < min || args.len() > max {
            return Err(ParseError::Arity {
                name: name.to_owned(),
                expected: arity_text(min, max),
                found: args.len(),
                position,
            });
        }
        Ok((Expr::Call { target, function, args }, depth))
    }

    fn type_spec(&mut self) -> Result<TypeSpec, ParseError> {
        let mut name = self.identifier()?;
        if self.at_symbol(".") {
            self.next += 1;
            let inner = self.identifier()?;
            return Ok(TypeSpec {
                namespace: Some(std::mem::replace(&mut name, inner)),
                name,
            });
        }
        Ok(TypeSpec { namespace: None, name })
    }

    fn identifier(&mut self) -> Result<String, ParseError> {
        match self.peek() {
            Some(Spanned {
                token: Token::Identifier { name, .. },
                ..
            }) => {
                let name = name.clone();
                self.next += 1;
                Ok(name)
            }
            _ => Err(self.unexpected("a type name")),
        }
    }
}

fn arity_text(min: usize, max: usize) -> &'static str {
    match (min, max) {
        (0, 0) => "0",
        (0, 1) => "0..1",
        (1, 1) => "1",
        (1, 2) => "1..2",
        (2, 2) => "2",
        _ => "2..3",
    }
}

fn spec_from_expr(expr: Expr) -> Option<TypeSpec> {
    match expr {
        Expr::Identifier(name) => Some(TypeSpec { namespace: None, name }),
        Expr::Member { target, name } => match *target {
            Expr::Identifier(namespace) => Some(TypeSpec {
                namespace: Some(namespace),
                name,
            }),
            _ => None,
        },
        _ => None,
    }
}

fn date_time_literal(text: &str, position: usize) -> Result<Item, ParseError> {
    let invalid = || ParseError::InvalidLiteral {
        what: "date/time",
        text: format!("@{text}"),
        position,
    };
    if text.contains('T') {
        DateTime::parse_date_time(text).map(Item::DateTime).ok_or_else(invalid)
    } else {
        DateTime::parse_date(text).map(Item::Date).ok_or_else(invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::{MAX_DEPTH, parse};
    use crate::error::ParseError;

    #[test]
    fn errors_say_where() {
        assert!(matches!(
            parse("Patient.name.foo()"),
            Err(ParseError::UnknownFunction { position: 13, .. })
        ));
        assert!(matches!(parse("1 +"), Err(ParseError::Unexpected { position: 3, .. })));
        assert!(matches!(parse("where()"), Err(ParseError::Arity { found: 0, .. })));
        assert!(matches!(parse("a b"), Err(ParseError::Unexpected { position: 2, .. })));
        assert!(parse("Observation.value is Quantity and (a | b).count() > 1 implies -5 'mg' < 3 days").is_ok());
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("{}1{}", "(".repeat(MAX_DEPTH * 4), ")".repeat(MAX_DEPTH * 4));
        assert!(matches!(parse(&deep), Err(ParseError::TooDeep { .. })));
        let chain = format!("a{}", ".b".repeat(MAX_DEPTH * 4));
        assert!(matches!(parse(&chain), Err(ParseError::TooDeep { .. })));
        let sum = format!("1{}", " + 1".repeat(MAX_DEPTH * 4));
        assert!(matches!(parse(&sum), Err(ParseError::TooDeep { .. })));
        assert!(parse(&format!("a{}", ".b".repeat(MAX_DEPTH / 2))).is_ok());
    }
}
