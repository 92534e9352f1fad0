//! The two error types: one for reading an expression, one for evaluating it.

use thiserror::Error;

/// Why an expression could not be parsed. `position` is the byte offset in the
/// expression text where the problem was found.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ParseError {
    /// A character that starts no token.
    #[error("unexpected character {found:?} at {position}")]
    UnexpectedChar {
        /// What was found.
        found: char,
        /// Byte offset.
        position: usize,
    },
    /// A string, quoted identifier or comment that is never closed.
    #[error("unterminated {what} starting at {position}")]
    Unterminated {
        /// `string`, `identifier` or `comment`.
        what: &'static str,
        /// Byte offset of its start.
        position: usize,
    },
    /// A literal that is malformed (a date, time, number or escape).
    #[error("invalid {what} literal {text:?} at {position}")]
    InvalidLiteral {
        /// `date`, `time`, `number`, `escape`, ...
        what: &'static str,
        /// The literal as written.
        text: String,
        /// Byte offset.
        position: usize,
    },
    /// A token where another was expected.
    #[error("expected {expected} at {position}, found {found}")]
    Unexpected {
        /// What the grammar needs here.
        expected: &'static str,
        /// What the text has.
        found: String,
        /// Byte offset.
        position: usize,
    },
    /// A function this engine does not know.
    #[error("unknown function {name}() at {position}")]
    UnknownFunction {
        /// The name as written.
        name: String,
        /// Byte offset.
        position: usize,
    },
    /// A known function called with the wrong number of arguments.
    #[error("{name}() takes {expected} argument(s), {found} given at {position}")]
    Arity {
        /// The function.
        name: String,
        /// Allowed counts, as text (`1` or `0..1`).
        expected: &'static str,
        /// Given count.
        found: usize,
        /// Byte offset.
        position: usize,
    },
    /// The expression nests deeper than the engine allows.
    #[error("expression nests deeper than {limit} levels at {position}")]
    TooDeep {
        /// The limit.
        limit: usize,
        /// Byte offset.
        position: usize,
    },
    /// The expression text is longer than the engine allows.
    #[error("expression is {length} bytes, the limit is {limit}")]
    TooLong {
        /// Its length.
        length: usize,
        /// The limit.
        limit: usize,
    },
}

/// Why a parsed expression could not be evaluated on a resource.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EvalError {
    /// An operator or function needs a single item and got more.
    #[error("{what} needs a single item, got {count}")]
    NotSingleton {
        /// The operator or function.
        what: String,
        /// How many items there were.
        count: usize,
    },
    /// An operand or argument of a type the operation does not accept.
    #[error("{what}: {found} is not {expected}")]
    WrongType {
        /// The operator or function.
        what: String,
        /// The type it needs.
        expected: &'static str,
        /// What it got.
        found: String,
    },
    /// `%name` that neither the engine nor the caller defines.
    #[error("undefined variable %{name}")]
    UndefinedVariable {
        /// The name without `%`.
        name: String,
    },
    /// A regular expression given to `matches` or `replaceMatches` that does not compile.
    #[error("invalid regular expression {pattern:?}: {reason}")]
    InvalidRegex {
        /// The pattern.
        pattern: String,
        /// The regex engine's message.
        reason: String,
    },
    /// Arithmetic that leaves the range of the type.
    #[error("{what} overflows")]
    Overflow {
        /// The operation.
        what: String,
    },
    /// A collection grew past the engine's size limit (`repeat`, `descendants`, string growth).
    #[error("{what} produced more than {limit} items or characters")]
    TooLarge {
        /// The operation.
        what: String,
        /// The limit.
        limit: usize,
    },
    /// A type name in `is`, `as` or `ofType` that is not a valid type specifier.
    #[error("unknown type {name}")]
    UnknownType {
        /// The name as written.
        name: String,
    },
}
