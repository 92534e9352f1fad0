//! The parsed form of an expression, and the table of known functions.

use crate::value::Item;

/// A type named in `is`, `as` or `ofType` (`FHIR.Patient`, `System.String`, `Quantity`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TypeSpec {
    /// `FHIR` or `System` when written.
    pub namespace: Option<String>,
    pub name: String,
}

/// Binary operators, by their FHIRPath spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinaryOp {
    Multiply,
    Divide,
    Div,
    Mod,
    Add,
    Subtract,
    Concatenate,
    Union,
    Less,
    Greater,
    LessOrEqual,
    GreaterOrEqual,
    Equal,
    NotEqual,
    Equivalent,
    NotEquivalent,
    In,
    Contains,
    And,
    Or,
    Xor,
    Implies,
}

impl BinaryOp {
    /// The operator as written, for messages.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Multiply => "*",
            BinaryOp::Divide => "/",
            BinaryOp::Div => "div",
            BinaryOp::Mod => "mod",
            BinaryOp::Add => "+",
            BinaryOp::Subtract => "-",
            BinaryOp::Concatenate => "&",
            BinaryOp::Union => "|",
            BinaryOp::Less => "<",
            BinaryOp::Greater => ">",
            BinaryOp::LessOrEqual => "<=",
            BinaryOp::GreaterOrEqual => ">=",
            BinaryOp::Equal => "=",
            BinaryOp::NotEqual => "!=",
            BinaryOp::Equivalent => "~",
            BinaryOp::NotEquivalent => "!~",
            BinaryOp::In => "in",
            BinaryOp::Contains => "contains",
            BinaryOp::And => "and",
            BinaryOp::Or => "or",
            BinaryOp::Xor => "xor",
            BinaryOp::Implies => "implies",
        }
    }
}

/// An expression node.
#[derive(Debug, Clone)]
pub(crate) enum Expr {
    /// A literal value.
    Literal(Item),
    /// `{}`.
    Empty,
    /// A name at the start of a path: a type filter (`Patient`) or a child of the focus.
    Identifier(String),
    /// `target.name`.
    Member { target: Box<Expr>, name: String },
    /// `%name`.
    Variable(String),
    /// `$this`.
    This,
    /// `$index`.
    Index,
    /// `$total`.
    Total,
    /// `target.function(args)`, or `function(args)` on the focus when `target` is `None`.
    Call {
        target: Option<Box<Expr>>,
        function: Function,
        args: Vec<Expr>,
    },
    /// `target.ofType(T)`, `target.is(T)`, `target.as(T)` and the `is`/`as` operators.
    TypeCall {
        target: Option<Box<Expr>>,
        function: TypeFunction,
        spec: TypeSpec,
    },
    /// `target[index]`.
    Indexer { target: Box<Expr>, index: Box<Expr> },
    /// `-operand`.
    Negate(Box<Expr>),
    /// `left op right`.
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
}

/// Functions that take a type specifier instead of an expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TypeFunction {
    OfType,
    Is,
    As,
}

macro_rules! functions {
    ($($variant:ident = $name:literal, $min:literal, $max:literal;)*) => {
        /// Every function the engine knows (besides the type functions).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Function { $($variant),* }

        impl Function {
            /// The function's FHIRPath name.
            pub fn name(self) -> &'static str {
                match self { $(Function::$variant => $name),* }
            }

            /// The function called `name`, with its minimum and maximum argument counts.
            pub fn lookup(name: &str) -> Option<(Function, usize, usize)> {
                match name { $($name => Some((Function::$variant, $min, $max)),)* _ => None }
            }
        }
    };
}

functions! {
    Empty = "empty", 0, 0;
    Exists = "exists", 0, 1;
    All = "all", 1, 1;
    AllTrue = "allTrue", 0, 0;
    AnyTrue = "anyTrue", 0, 0;
    AllFalse = "allFalse", 0, 0;
    AnyFalse = "anyFalse", 0, 0;
    SubsetOf = "subsetOf", 1, 1;
    SupersetOf = "supersetOf", 1, 1;
    Count = "count", 0, 0;
    Distinct = "distinct", 0, 0;
    IsDistinct = "isDistinct", 0, 0;
    Where = "where", 1, 1;
    Select = "select", 1, 1;
    Repeat = "repeat", 1, 1;
    First = "first", 0, 0;
    Last = "last", 0, 0;
    Tail = "tail", 0, 0;
    Skip = "skip", 1, 1;
    Take = "take", 1, 1;
    Single = "single", 0, 0;
    Iif = "iif", 2, 3;
    HasValue = "hasValue", 0, 0;
    Children = "children", 0, 0;
    Descendants = "descendants", 0, 0;
    Union = "union", 1, 1;
    Combine = "combine", 1, 1;
    Intersect = "intersect", 1, 1;
    Exclude = "exclude", 1, 1;
    ToString = "toString", 0, 0;
    ToInteger = "toInteger", 0, 0;
    ToDecimal = "toDecimal", 0, 0;
    ToBoolean = "toBoolean", 0, 0;
    ToDate = "toDate", 0, 0;
    ToDateTime = "toDateTime", 0, 0;
    ToTime = "toTime", 0, 0;
    ToQuantity = "toQuantity", 0, 1;
    ConvertsToString = "convertsToString", 0, 0;
    ConvertsToInteger = "convertsToInteger", 0, 0;
    ConvertsToDecimal = "convertsToDecimal", 0, 0;
    ConvertsToBoolean = "convertsToBoolean", 0, 0;
    ConvertsToDate = "convertsToDate", 0, 0;
    ConvertsToDateTime = "convertsToDateTime", 0, 0;
    ConvertsToTime = "convertsToTime", 0, 0;
    ConvertsToQuantity = "convertsToQuantity", 0, 1;
    StartsWith = "startsWith", 1, 1;
    EndsWith = "endsWith", 1, 1;
    Contains = "contains", 1, 1;
    Matches = "matches", 1, 1;
    MatchesFull = "matchesFull", 1, 1;
    ReplaceMatches = "replaceMatches", 2, 2;
    Replace = "replace", 2, 2;
    IndexOf = "indexOf", 1, 1;
    Substring = "substring", 1, 2;
    Upper = "upper", 0, 0;
    Lower = "lower", 0, 0;
    Length = "length", 0, 0;
    Trim = "trim", 0, 0;
    Split = "split", 1, 1;
    Join = "join", 0, 1;
    ToChars = "toChars", 0, 0;
    Today = "today", 0, 0;
    Now = "now", 0, 0;
    TimeOfDay = "timeOfDay", 0, 0;
    Not = "not", 0, 0;
    Trace = "trace", 1, 2;
    Resolve = "resolve", 0, 0;
    Extension = "extension", 1, 1;
    ConformsTo = "conformsTo", 1, 1;
    MemberOf = "memberOf", 1, 1;
    HtmlChecks = "htmlChecks", 0, 0;
    Aggregate = "aggregate", 1, 2;
    Abs = "abs", 0, 0;
    Ceiling = "ceiling", 0, 0;
    Floor = "floor", 0, 0;
    Truncate = "truncate", 0, 0;
    Round = "round", 0, 1;
    Sqrt = "sqrt", 0, 0;
    Exp = "exp", 0, 0;
    Ln = "ln", 0, 0;
    Log = "log", 1, 1;
    Power = "power", 1, 1;
    Type = "type", 0, 0;
}
