//! The syntax tree. Every node carries the byte span it was parsed from, so errors found after
//! parsing (an unknown function, `ci` where it means nothing) can still point at the text.

use rust_decimal::Decimal;

/// Byte offsets `start..end` into the source text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

/// An expression and where it came from. Equality ignores spans: two trees are equal when they
/// mean the same thing, however they were spaced.
#[derive(Clone, Debug)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

impl PartialEq for Expr {
    fn eq(&self, other: &Expr) -> bool {
        self.kind == other.kind
    }
}

impl Expr {
    pub fn new(kind: ExprKind, span: Span) -> Expr {
        Expr { kind, span }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Null,
    Bool(bool),
    /// A number literal; `hex` keeps `0x…` spelling for printing.
    Number {
        value: Decimal,
        hex: bool,
    },
    /// A duration literal such as `1h30m`, in ticks.
    Duration(Decimal),
    /// A single-quoted string.
    String(String),
    /// A double-quoted `"…"` or verbatim `@"…"` string. Where a value is expected it is a
    /// string (old filters such as `Equal(AppName, "x")`); where a condition is expected it is
    /// a case-insensitive text search of the message and exception.
    Text {
        text: String,
        verbatim: bool,
    },
    /// `/pattern/`.
    Regex(String),
    /// A bare identifier: a user property (or a lambda/let parameter in scope).
    Property(String),
    /// `@Name`, resolved to its canonical built-in.
    Builtin(Builtin),
    /// `$name`.
    Variable(String),
    Array(Vec<Expr>),
    Object(Vec<(String, Expr)>),
    /// `target.name`.
    Member {
        target: Box<Expr>,
        name: String,
    },
    /// `target[index]`.
    Index {
        target: Box<Expr>,
        index: Box<Expr>,
    },
    /// `target[?]` or `target[*]`.
    Wildcard {
        target: Box<Expr>,
        kind: WildcardKind,
    },
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    /// `operand is null` / `operand is not null`.
    IsNull {
        operand: Box<Expr>,
        negated: bool,
    },
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
        ci: bool,
    },
    /// `name(args) [ci]`; `star` is `count(*)`.
    Call {
        name: String,
        args: Vec<Expr>,
        ci: bool,
        star: bool,
    },
    If {
        condition: Box<Expr>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
    },
    /// `|x, y| body`.
    Lambda {
        params: Vec<String>,
        body: Box<Expr>,
    },
    /// `let |x: e, …| body`.
    Let {
        bindings: Vec<(String, Expr)>,
        body: Box<Expr>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WildcardKind {
    /// `[?]`: some element satisfies the enclosing comparison.
    Any,
    /// `[*]`: every element does.
    All,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Not,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
    NotLike,
    In,
    NotIn,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
}

impl BinaryOp {
    /// Binding power: `or` lowest, `^` highest (seq-compat 2.2).
    pub fn precedence(self) -> u8 {
        use BinaryOp::*;
        match self {
            Or => 1,
            And => 2,
            Eq | Ne | Lt | Le | Gt | Ge | Like | NotLike | In | NotIn => 3,
            Add | Sub => 4,
            Mul | Div | Mod => 5,
            Pow => 6,
        }
    }

    pub fn is_comparison(self) -> bool {
        self.precedence() == 3
    }

    /// Operators that take the `ci` modifier.
    pub fn accepts_ci(self) -> bool {
        use BinaryOp::*;
        matches!(self, Eq | Ne | Like | NotLike | In | NotIn)
    }

    pub fn symbol(self) -> &'static str {
        use BinaryOp::*;
        match self {
            Or => "or",
            And => "and",
            Eq => "=",
            Ne => "<>",
            Lt => "<",
            Le => "<=",
            Gt => ">",
            Ge => ">=",
            Like => "like",
            NotLike => "not like",
            In => "in",
            NotIn => "not in",
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            Mod => "%",
            Pow => "^",
        }
    }
}

/// The built-in properties of seq-compat 2.4.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Builtin {
    Timestamp,
    Message,
    MessageTemplate,
    Level,
    Exception,
    EventType,
    Properties,
    Id,
    Arrived,
    Data,
    Document,
    TraceId,
    SpanId,
    ParentId,
    SpanKind,
    Start,
    Elapsed,
    Resource,
    Scope,
    Definitions,
    /// `@r`: the renderings of formatted template holes.
    Renderings,
}

impl Builtin {
    /// Every built-in with its canonical name (including `@`): the one list both directions
    /// read.
    const NAMES: [(Builtin, &'static str); 21] = {
        use Builtin::*;
        [
            (Timestamp, "@Timestamp"),
            (Message, "@Message"),
            (MessageTemplate, "@MessageTemplate"),
            (Level, "@Level"),
            (Exception, "@Exception"),
            (EventType, "@EventType"),
            (Properties, "@Properties"),
            (Id, "@Id"),
            (Arrived, "@Arrived"),
            (Data, "@Data"),
            (Document, "@Document"),
            (TraceId, "@TraceId"),
            (SpanId, "@SpanId"),
            (ParentId, "@ParentId"),
            (SpanKind, "@SpanKind"),
            (Start, "@Start"),
            (Elapsed, "@Elapsed"),
            (Resource, "@Resource"),
            (Scope, "@Scope"),
            (Definitions, "@Definitions"),
            (Renderings, "@Renderings"),
        ]
    };

    /// Every built-in.
    pub const ALL: [Builtin; 21] = {
        let mut all = [Builtin::Timestamp; 21];
        let mut i = 0;
        while i < 21 {
            all[i] = Builtin::NAMES[i].0;
            i += 1;
        }
        all
    };

    /// Canonical name including `@`.
    pub fn name(self) -> &'static str {
        Builtin::NAMES
            .iter()
            .find(|(b, _)| *b == self)
            .map(|(_, n)| *n)
            .expect("NAMES lists every built-in")
    }

    /// Resolves a name written after `@`: the full names (case-insensitively, as Seq does) and
    /// the CLEF abbreviations `@t @m @mt …` (seq-syntax's V1 names).
    pub fn lookup(name: &str) -> Option<Builtin> {
        use Builtin::*;
        let abbreviated = match name {
            "t" => Some(Timestamp),
            "m" => Some(Message),
            "mt" => Some(MessageTemplate),
            "l" => Some(Level),
            "x" => Some(Exception),
            "i" => Some(EventType),
            "p" => Some(Properties),
            "tr" => Some(TraceId),
            "sp" => Some(SpanId),
            "ps" => Some(ParentId),
            "sk" => Some(SpanKind),
            "st" => Some(Start),
            "ra" => Some(Resource),
            "sa" => Some(Scope),
            "r" => Some(Renderings),
            _ => None,
        };
        abbreviated.or_else(|| {
            Builtin::ALL
                .into_iter()
                .find(|b| b.name()[1..].eq_ignore_ascii_case(name))
        })
    }
}

/// A SQL-style query (seq-compat 2.6).
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    pub explain: bool,
    pub columns: Vec<Column>,
    pub into: Option<String>,
    /// `None` for a scalar query.
    pub from: Option<Source>,
    pub filter: Option<Expr>,
    pub group_by: Vec<Grouping>,
    /// `time(d)` in the group-by list, in ticks.
    pub time_slice: Option<(Decimal, Span)>,
    pub having: Option<Expr>,
    pub order_by: Vec<Ordering>,
    pub limit: Option<u64>,
    pub options: Vec<QueryOption>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Stream,
    Series,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    pub expr: Expr,
    pub alias: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Grouping {
    pub expr: Expr,
    pub ci: bool,
    pub alias: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Ordering {
    pub key: OrderKey,
    pub ci: bool,
    pub descending: bool,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum OrderKey {
    Time,
    /// A column or group alias (or a group expression written out again).
    Name(String),
}

/// `for name(args)`, e.g. `for refresh`, `for no_cache`.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryOption {
    pub name: String,
    pub args: Vec<Expr>,
}

impl Expr {
    /// Direct sub-expressions, in source order.
    pub fn children(&self) -> Vec<&Expr> {
        match &self.kind {
            ExprKind::Array(items) => items.iter().collect(),
            ExprKind::Object(members) => members.iter().map(|(_, v)| v).collect(),
            ExprKind::Member { target, .. } | ExprKind::Wildcard { target, .. } => vec![target],
            ExprKind::Index { target, index } => vec![target, index],
            ExprKind::Unary { operand, .. } | ExprKind::IsNull { operand, .. } => vec![operand],
            ExprKind::Binary { left, right, .. } => vec![left, right],
            ExprKind::Call { args, .. } => args.iter().collect(),
            ExprKind::If {
                condition,
                then,
                otherwise,
            } => vec![condition, then, otherwise],
            ExprKind::Lambda { body, .. } => vec![body],
            ExprKind::Let { bindings, body } => {
                let mut v: Vec<&Expr> = bindings.iter().map(|(_, e)| e).collect();
                v.push(body);
                v
            }
            _ => Vec::new(),
        }
    }
}
