//! Pratt parser for expressions (seq-compat 2.1-2.2) and SQL-style queries (2.6).
//!
//! Nesting is bounded ([`MAX_DEPTH`]), counting both recursion and left-associative chains,
//! so no input can overflow the stack here or in the compiler, printer and evaluator, which
//! all recurse over the tree.

use rust_decimal::Decimal;

use crate::ast::*;
use crate::error::ParseError;
use crate::lexer::{Tok, Token, tokenize};

/// Deepest tree accepted, counting nesting and chains (`a or b or c` is three deep): generated
/// filters chain a couple of hundred alternatives; every recursive pass over a tree this deep
/// stays far inside a 2 MiB thread stack (tested with a quarter of that).
pub const MAX_DEPTH: usize = 256;

/// Words that cannot be used as bare property names (write `@Properties['and']`).
const RESERVED: &[&str] = &[
    "and", "or", "not", "in", "is", "like", "null", "true", "false", "if", "then", "else", "ci",
    "let",
];

/// Words that start a clause of a query, in the order the clauses must come.
const CLAUSES: &[&str] = &[
    "into", "from", "where", "group", "having", "order", "limit", "for",
];

/// Parses a filter expression. The whole input must be one expression.
pub fn parse_expression(src: &str) -> Result<Expr, ParseError> {
    let mut p = Parser::new(src)?;
    let result = p.expr(0).and_then(|e| {
        p.expect_end("an operator such as `and`, or the end of the expression")?;
        Ok(e)
    });
    result.map_err(|e| e.locate(src))
}

/// Parses a `select` query (optionally prefixed by `explain`).
pub fn parse_query(src: &str) -> Result<Query, ParseError> {
    let mut p = Parser::new(src)?;
    p.query().map_err(|e| e.locate(src))
}

/// The text starts like a query rather than an expression.
pub fn looks_like_query(src: &str) -> bool {
    let first = src
        .trim_start()
        .split(|c: char| !c.is_alphanumeric())
        .next();
    first.is_some_and(|w| w.eq_ignore_ascii_case("select") || w.eq_ignore_ascii_case("explain"))
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
}

type PResult<T> = Result<T, ParseError>;

impl Parser {
    fn new(src: &str) -> PResult<Parser> {
        let toks = tokenize(src).map_err(|e| e.locate(src))?;
        Ok(Parser {
            toks,
            pos: 0,
            depth: 0,
        })
    }

    fn peek(&self) -> &Token {
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }

    fn peek_at(&self, n: usize) -> &Tok {
        &self.toks[(self.pos + n).min(self.toks.len() - 1)].tok
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn at_keyword(&self, kw: &str) -> bool {
        self.peek().tok.is_keyword(kw)
    }

    fn eat_keyword(&mut self, kw: &str) -> bool {
        if self.at_keyword(kw) {
            self.next();
            true
        } else {
            false
        }
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if &self.peek().tok == tok {
            self.next();
            true
        } else {
            false
        }
    }

    fn unexpected(&self, expected: &str) -> ParseError {
        let t = self.peek();
        ParseError::at(
            t.span,
            format!("expected {expected} but found {}", t.tok.describe()),
        )
    }

    fn expect(&mut self, tok: Tok, expected: &str) -> PResult<Token> {
        if self.peek().tok == tok {
            Ok(self.next())
        } else {
            Err(self.unexpected(expected))
        }
    }

    fn expect_keyword(&mut self, kw: &str) -> PResult<()> {
        if self.eat_keyword(kw) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("`{kw}`")))
        }
    }

    fn expect_end(&mut self, expected: &str) -> PResult<()> {
        let t = self.peek().clone();
        match &t.tok {
            Tok::Eof => Ok(()),
            tok if tok.is_keyword("ci") => Err(ParseError::at(
                t.span,
                "`ci` can only follow `=`, `<>`, `like`, `in` or a function call that accepts it"
                    .into(),
            )),
            Tok::Ident(_) | Tok::Str(_) | Tok::Text { .. } | Tok::Builtin(_) | Tok::Number(_) => {
                Err(self
                    .unexpected(expected)
                    .suggest("join conditions with `and` or `or`".into()))
            }
            _ => Err(self.unexpected(expected)),
        }
    }

    fn enter(&mut self, span: crate::ast::Span, extra: usize) -> PResult<()> {
        if self.depth + extra >= MAX_DEPTH {
            return Err(ParseError::at(
                span,
                format!("the expression is nested or chained more than {MAX_DEPTH} levels deep"),
            )
            .suggest("for many alternatives use `in`, as in `A in [1, 2, 3]`".into()));
        }
        Ok(())
    }

    /// The binary operator at the cursor and how many tokens it takes.
    fn infix(&self) -> Option<(BinaryOp, usize)> {
        let op = match &self.peek().tok {
            Tok::OrOr => BinaryOp::Or,
            Tok::AndAnd => BinaryOp::And,
            Tok::Eq | Tok::EqEq => BinaryOp::Eq,
            Tok::Ne => BinaryOp::Ne,
            Tok::Lt => BinaryOp::Lt,
            Tok::Le => BinaryOp::Le,
            Tok::Gt => BinaryOp::Gt,
            Tok::Ge => BinaryOp::Ge,
            Tok::Plus => BinaryOp::Add,
            Tok::Minus => BinaryOp::Sub,
            Tok::Star => BinaryOp::Mul,
            Tok::Slash => BinaryOp::Div,
            Tok::Percent => BinaryOp::Mod,
            Tok::Caret => BinaryOp::Pow,
            t if t.is_keyword("or") => BinaryOp::Or,
            t if t.is_keyword("and") => BinaryOp::And,
            t if t.is_keyword("like") => BinaryOp::Like,
            t if t.is_keyword("in") => BinaryOp::In,
            t if t.is_keyword("not") => {
                let next = self.peek_at(1);
                if next.is_keyword("like") {
                    return Some((BinaryOp::NotLike, 2));
                }
                if next.is_keyword("in") {
                    return Some((BinaryOp::NotIn, 2));
                }
                return None;
            }
            _ => return None,
        };
        Some((op, 1))
    }

    fn expr(&mut self, min: u8) -> PResult<Expr> {
        self.enter(self.peek().span, 0)?;
        self.depth += 1;
        let result = self.expr_inner(min);
        self.depth -= 1;
        result
    }

    fn expr_inner(&mut self, min: u8) -> PResult<Expr> {
        let mut left = self.unary()?;
        let mut chain = 0;
        while let Some((op, len)) = self.infix() {
            let prec = op.precedence();
            if prec < min {
                break;
            }
            let op_span = self.peek().span;
            chain += 1;
            self.enter(op_span, chain)?;
            for _ in 0..len {
                self.next();
            }
            // `^` is right-associative; everything else chains to the left.
            let right = if op == BinaryOp::Pow {
                self.expr(prec)?
            } else {
                self.expr(prec + 1)?
            };
            let mut ci = false;
            if op.is_comparison() && self.at_keyword("ci") {
                let ci_span = self.next().span;
                if !op.accepts_ci() {
                    return Err(ParseError::at(
                        ci_span,
                        format!(
                            "`ci` cannot modify `{}`: only `=`, `<>`, `like` and `in` compare text",
                            op.symbol()
                        ),
                    ));
                }
                ci = true;
            }
            let span = left.span.to(right.span);
            left = Expr::new(
                ExprKind::Binary {
                    op,
                    left: Box::new(left),
                    right: Box::new(right),
                    ci,
                },
                span,
            );
        }
        Ok(left)
    }

    /// Prefix `-`/`not`, then a path, then postfix `is [not] null`.
    fn unary(&mut self) -> PResult<Expr> {
        let t = self.peek().clone();
        let op = match &t.tok {
            Tok::Minus => Some(UnaryOp::Neg),
            Tok::Bang => Some(UnaryOp::Not),
            tok if tok.is_keyword("not") => Some(UnaryOp::Not),
            _ => None,
        };
        if let Some(op) = op {
            self.next();
            self.enter(t.span, 0)?;
            self.depth += 1;
            let operand = self.unary();
            self.depth -= 1;
            let operand = operand?;
            let span = t.span.to(operand.span);
            // `-3` is a literal, so printing and re-parsing a negative number is stable.
            if let (UnaryOp::Neg, ExprKind::Number { value, hex: false }) = (op, &operand.kind)
                && operand.span.start == t.span.end
                && value.is_sign_positive()
            {
                return Ok(Expr::new(
                    ExprKind::Number {
                        value: -*value,
                        hex: false,
                    },
                    span,
                ));
            }
            return Ok(Expr::new(
                ExprKind::Unary {
                    op,
                    operand: Box::new(operand),
                },
                span,
            ));
        }
        let mut e = self.path()?;
        while self.at_keyword("is") {
            let is_span = self.next().span;
            let negated = self.eat_keyword("not");
            let end = self.peek().span;
            if !self.eat_keyword("null") {
                return Err(self
                    .unexpected("`null` after `is`")
                    .suggest("write `A is null`, `A is not null`, or use `=` to compare".into()));
            }
            self.enter(is_span, 1)?;
            let span = e.span.to(end);
            e = Expr::new(
                ExprKind::IsNull {
                    operand: Box::new(e),
                    negated,
                },
                span,
            );
        }
        Ok(e)
    }

    /// A factor followed by `.name`, `[expr]`, `[?]`, `[*]` steps.
    fn path(&mut self) -> PResult<Expr> {
        let mut e = self.factor()?;
        let mut chain = 0;
        loop {
            let t = self.peek().clone();
            match t.tok {
                Tok::Dot => {
                    self.next();
                    let name_tok = self.next();
                    let Tok::Ident(name) = name_tok.tok else {
                        self.pos -= 1;
                        return Err(self.unexpected("a property name after `.`").suggest(
                            "for names that are not identifiers write `A['some name']`".into(),
                        ));
                    };
                    chain += 1;
                    self.enter(t.span, chain)?;
                    let span = e.span.to(name_tok.span);
                    e = Expr::new(
                        ExprKind::Member {
                            target: Box::new(e),
                            name,
                        },
                        span,
                    );
                }
                Tok::LBracket => {
                    self.next();
                    chain += 1;
                    self.enter(t.span, chain)?;
                    let wildcard = match (self.peek_at(0), self.peek_at(1)) {
                        (Tok::Question, Tok::RBracket) => Some(WildcardKind::Any),
                        (Tok::Star, Tok::RBracket) => Some(WildcardKind::All),
                        _ => None,
                    };
                    if let Some(kind) = wildcard {
                        self.next();
                        let end = self.next().span;
                        let span = e.span.to(end);
                        e = Expr::new(
                            ExprKind::Wildcard {
                                target: Box::new(e),
                                kind,
                            },
                            span,
                        );
                        continue;
                    }
                    self.depth += chain;
                    let index = self.expr(0);
                    self.depth -= chain;
                    let index = index?;
                    let end = self.expect(Tok::RBracket, "`]`")?.span;
                    let span = e.span.to(end);
                    e = Expr::new(
                        ExprKind::Index {
                            target: Box::new(e),
                            index: Box::new(index),
                        },
                        span,
                    );
                }
                _ => return Ok(e),
            }
        }
    }

    fn factor(&mut self) -> PResult<Expr> {
        let t = self.peek().clone();
        let simple = match &t.tok {
            Tok::Number(n) => Some(ExprKind::Number {
                value: *n,
                hex: false,
            }),
            Tok::Hex(n) => Some(ExprKind::Number {
                value: *n,
                hex: true,
            }),
            Tok::Duration(d) => Some(ExprKind::Duration(*d)),
            Tok::Str(s) => Some(ExprKind::String(s.clone())),
            Tok::Text { text, verbatim } => Some(ExprKind::Text {
                text: text.clone(),
                verbatim: *verbatim,
            }),
            Tok::Regex(r) => Some(ExprKind::Regex(r.clone())),
            Tok::Variable(v) => Some(ExprKind::Variable(v.clone())),
            Tok::Builtin(name) => Some(ExprKind::Builtin(Builtin::lookup(name).ok_or_else(
                || {
                    let err =
                        ParseError::at(t.span, format!("`@{name}` is not a built-in property"));
                    match closest(name, Builtin::ALL.iter().map(|b| &b.name()[1..])) {
                        Some(s) => err.suggest(format!("did you mean `@{s}`?")),
                        None => err.suggest(format!(
                            "for a user property named `@{name}` write `@Properties['@{name}']`"
                        )),
                    }
                },
            )?)),
            _ => None,
        };
        if let Some(kind) = simple {
            self.next();
            return Ok(Expr::new(kind, t.span));
        }
        match &t.tok {
            Tok::LParen => {
                self.next();
                let inner = self.expr(0)?;
                let end = self.expect(Tok::RParen, "`)`")?.span;
                Ok(Expr::new(inner.kind, t.span.to(end)))
            }
            Tok::LBracket => self.array(),
            Tok::LBrace => self.object(),
            Tok::Pipe | Tok::OrOr => self.lambda(),
            Tok::Ident(word) => {
                let lower = word.to_ascii_lowercase();
                match lower.as_str() {
                    "null" => {
                        self.next();
                        Ok(Expr::new(ExprKind::Null, t.span))
                    }
                    "true" | "false" => {
                        self.next();
                        Ok(Expr::new(ExprKind::Bool(lower == "true"), t.span))
                    }
                    "if" => self.conditional(),
                    "let" => self.let_block(),
                    // `And(a, b)` and `Or(a, b)` from old stored filters: where an operand is
                    // expected these words cannot be operators. (`not(x)` stays the prefix
                    // operator, which means the same.)
                    _ if matches!(self.peek_at(1), Tok::LParen)
                        && (!RESERVED.contains(&&*lower) || lower == "and" || lower == "or") =>
                    {
                        self.call()
                    }
                    _ if RESERVED.contains(&&*lower) => {
                        Err(self.unexpected("an expression").suggest(format!(
                            "a property named `{word}` must be written `@Properties['{word}']`"
                        )))
                    }
                    _ => {
                        self.next();
                        Ok(Expr::new(ExprKind::Property(word.clone()), t.span))
                    }
                }
            }
            _ => Err(self.unexpected("an expression")),
        }
    }

    fn call(&mut self) -> PResult<Expr> {
        let name_tok = self.next();
        let Tok::Ident(name) = name_tok.tok else {
            unreachable!("call() is entered on an identifier")
        };
        self.next(); // (
        let mut args = Vec::new();
        let mut star = false;
        if matches!(self.peek_at(0), Tok::Star) && matches!(self.peek_at(1), Tok::RParen) {
            self.next();
            star = true;
        } else if !matches!(self.peek().tok, Tok::RParen) {
            loop {
                args.push(self.expr(0)?);
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
        }
        let mut end = self
            .expect(Tok::RParen, "`,` or `)` in the argument list")?
            .span;
        let mut ci = false;
        if self.at_keyword("ci") {
            end = self.next().span;
            ci = true;
        }
        Ok(Expr::new(
            ExprKind::Call {
                name,
                args,
                ci,
                star,
            },
            name_tok.span.to(end),
        ))
    }

    fn array(&mut self) -> PResult<Expr> {
        let start = self.next().span;
        let mut items = Vec::new();
        if !matches!(self.peek().tok, Tok::RBracket) {
            loop {
                items.push(self.expr(0)?);
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
        }
        let end = self.expect(Tok::RBracket, "`,` or `]`")?.span;
        Ok(Expr::new(ExprKind::Array(items), start.to(end)))
    }

    fn object(&mut self) -> PResult<Expr> {
        let start = self.next().span;
        let mut members: Vec<(String, Expr)> = Vec::new();
        if !matches!(self.peek().tok, Tok::RBrace) {
            loop {
                let key_tok = self.next();
                let key = match key_tok.tok {
                    Tok::Ident(k) | Tok::Str(k) => k,
                    _ => {
                        self.pos -= 1;
                        return Err(self.unexpected("a member name"));
                    }
                };
                if members.iter().any(|(k, _)| *k == key) {
                    return Err(ParseError::at(
                        key_tok.span,
                        format!("the member `{key}` appears twice"),
                    ));
                }
                self.expect(Tok::Colon, "`:` after the member name")?;
                members.push((key, self.expr(0)?));
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
        }
        let end = self.expect(Tok::RBrace, "`,` or `}`")?.span;
        Ok(Expr::new(ExprKind::Object(members), start.to(end)))
    }

    /// `|x, y| body`, or `|| body` with no parameters.
    fn lambda(&mut self) -> PResult<Expr> {
        let start = self.peek().span;
        let params = if self.eat(&Tok::OrOr) {
            Vec::new()
        } else {
            self.next();
            let mut params = Vec::new();
            if !self.eat(&Tok::Pipe) {
                loop {
                    params.push(self.parameter_name()?);
                    if self.eat(&Tok::Pipe) {
                        break;
                    }
                    self.expect(Tok::Comma, "`,` or `|` after a lambda parameter")?;
                }
            }
            params
        };
        let body = self.expr(0)?;
        let span = start.to(body.span);
        Ok(Expr::new(
            ExprKind::Lambda {
                params,
                body: Box::new(body),
            },
            span,
        ))
    }

    fn parameter_name(&mut self) -> PResult<String> {
        match self.peek().tok.clone() {
            Tok::Ident(name) if !RESERVED.contains(&&*name.to_ascii_lowercase()) => {
                self.next();
                Ok(name)
            }
            _ => Err(self.unexpected("a parameter name")),
        }
    }

    /// `let |x: e, y: e| body`.
    fn let_block(&mut self) -> PResult<Expr> {
        let start = self.next().span;
        self.expect(Tok::Pipe, "`|` after `let`")?;
        let mut bindings = Vec::new();
        loop {
            let name = self.parameter_name()?;
            self.expect(Tok::Colon, "`:` after the name")?;
            bindings.push((name, self.expr(0)?));
            if self.eat(&Tok::Pipe) {
                break;
            }
            self.expect(Tok::Comma, "`,` or `|`")?;
        }
        let body = self.expr(0)?;
        let span = start.to(body.span);
        Ok(Expr::new(
            ExprKind::Let {
                bindings,
                body: Box::new(body),
            },
            span,
        ))
    }

    fn conditional(&mut self) -> PResult<Expr> {
        let start = self.next().span;
        let condition = self.expr(0)?;
        self.expect_keyword("then")?;
        let then = self.expr(0)?;
        self.expect_keyword("else")?;
        let otherwise = self.expr(0)?;
        let span = start.to(otherwise.span);
        Ok(Expr::new(
            ExprKind::If {
                condition: Box::new(condition),
                then: Box::new(then),
                otherwise: Box::new(otherwise),
            },
            span,
        ))
    }

    // ---- queries ----

    fn query(&mut self) -> PResult<Query> {
        let explain = self.eat_keyword("explain");
        if explain && !self.eat_keyword("analyze") {
            self.eat_keyword("lower");
        }
        self.expect_keyword("select")?;
        if matches!(self.peek().tok, Tok::Star) {
            return Err(self
                .unexpected("a column")
                .suggest("name the columns, e.g. `select count(*) from stream`".into()));
        }
        let mut columns = Vec::new();
        loop {
            if CLAUSES.iter().any(|c| self.at_keyword(c)) {
                return Err(self
                    .unexpected("a column")
                    .suggest("name what to compute, as in `select count(*) from stream`".into()));
            }
            let expr = self.expr(0)?;
            let alias = self.alias()?;
            columns.push(Column { expr, alias });
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        let into = if self.eat_keyword("into") {
            match self.next().tok {
                Tok::Variable(v) => Some(v),
                _ => {
                    self.pos -= 1;
                    return Err(self.unexpected("a variable such as `$total` after `into`"));
                }
            }
        } else {
            None
        };
        let from = if self.eat_keyword("from") {
            if self.eat_keyword("stream") {
                Some(Source::Stream)
            } else if self.eat_keyword("series") {
                Some(Source::Series)
            } else {
                return Err(self.unexpected("`stream` after `from`"));
            }
        } else {
            None
        };
        let filter = if self.eat_keyword("where") {
            Some(self.expr(0)?)
        } else {
            None
        };
        let mut group_by = Vec::new();
        let mut time_slice = None;
        if self.eat_keyword("group") {
            self.expect_keyword("by")?;
            loop {
                if self.at_keyword("time") && matches!(self.peek_at(1), Tok::LParen) {
                    let start = self.next().span;
                    self.next();
                    let width = match self.next().tok {
                        Tok::Duration(d) => d,
                        _ => {
                            self.pos -= 1;
                            return Err(self.unexpected("a duration such as `1h` in `time()`"));
                        }
                    };
                    let end = self.expect(Tok::RParen, "`)`")?.span;
                    if width <= Decimal::ZERO {
                        return Err(ParseError::semantic(
                            start.to(end),
                            "the time slice must be longer than zero".into(),
                        ));
                    }
                    if time_slice.is_some() {
                        return Err(ParseError::semantic(
                            start.to(end),
                            "a query can group by `time()` only once".into(),
                        ));
                    }
                    time_slice = Some((width, start.to(end)));
                } else {
                    let expr = self.expr(0)?;
                    let ci = self.eat_keyword("ci");
                    let alias = self.alias()?;
                    group_by.push(Grouping { expr, ci, alias });
                }
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
        }
        let having = if self.eat_keyword("having") {
            Some(self.expr(0)?)
        } else {
            None
        };
        let mut order_by = Vec::new();
        if self.eat_keyword("order") {
            self.expect_keyword("by")?;
            loop {
                let start = self.peek().span;
                let key = if self.at_keyword("time") && !matches!(self.peek_at(1), Tok::LParen) {
                    self.next();
                    OrderKey::Time
                } else {
                    let e = self.expr(0)?;
                    match e.kind {
                        ExprKind::Property(name) => OrderKey::Name(name),
                        _ => OrderKey::Name(crate::print::print(&e)),
                    }
                };
                let ci = self.eat_keyword("ci");
                let descending = if self.eat_keyword("desc") {
                    true
                } else {
                    self.eat_keyword("asc");
                    false
                };
                order_by.push(Ordering {
                    key,
                    ci,
                    descending,
                    span: start,
                });
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
        }
        let limit = if self.eat_keyword("limit") {
            let t = self.next();
            match t.tok {
                Tok::Number(n) if n.fract().is_zero() && n.is_sign_positive() => Some(
                    u64::try_from(n)
                        .map_err(|_| ParseError::at(t.span, "the limit is too large".into()))?,
                ),
                _ => {
                    self.pos -= 1;
                    return Err(self.unexpected("a whole number after `limit`"));
                }
            }
        } else {
            None
        };
        let mut options = Vec::new();
        if self.eat_keyword("for") {
            loop {
                let name = match self.next().tok {
                    Tok::Ident(n) => n,
                    _ => {
                        self.pos -= 1;
                        return Err(self.unexpected("a query option such as `refresh`"));
                    }
                };
                let mut args = Vec::new();
                if self.eat(&Tok::LParen) {
                    if !matches!(self.peek().tok, Tok::RParen) {
                        loop {
                            args.push(self.expr(0)?);
                            if !self.eat(&Tok::Comma) {
                                break;
                            }
                        }
                    }
                    self.expect(Tok::RParen, "`)`")?;
                }
                options.push(QueryOption { name, args });
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
        }
        if let Tok::Ident(word) = &self.peek().tok
            && CLAUSES.iter().any(|c| c.eq_ignore_ascii_case(word))
        {
            return Err(self.unexpected("the end of the query").suggest(format!(
                "`{}` must come earlier: clauses go in the order select, into, from, where, \
                 group by, having, order by, limit, for",
                word.to_ascii_lowercase()
            )));
        }
        self.expect_end("the next clause (`from`, `where`, `group by`, `having`, `order by`, `limit`, `for`) or the end of the query")?;
        Ok(Query {
            explain,
            columns,
            into,
            from,
            filter,
            group_by,
            time_slice,
            having,
            order_by,
            limit,
            options,
        })
    }

    fn alias(&mut self) -> PResult<Option<String>> {
        if !self.eat_keyword("as") {
            return Ok(None);
        }
        match self.next().tok {
            Tok::Ident(a) if CLAUSES.iter().any(|c| c.eq_ignore_ascii_case(&a)) => {
                self.pos -= 1;
                Err(self
                    .unexpected("a column name after `as`")
                    .suggest(format!("quote it to use it as a name: `as '{a}'`")))
            }
            Tok::Ident(a) | Tok::Str(a) => Ok(Some(a)),
            _ => {
                self.pos -= 1;
                Err(self.unexpected("a column name after `as`"))
            }
        }
    }
}

/// The candidate closest to `name` (case-insensitive edit distance at most 2), for "did you mean".
pub fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_lowercase();
    candidates
        .map(|c| (edit_distance(&lower, &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= 2 && *d < lower.chars().count().max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(cur)
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The deepest accepted trees go through every recursive pass on a 512 KiB stack, a
    /// quarter of what server threads have.
    #[test]
    fn the_deepest_accepted_trees_fit_a_small_stack() {
        let chain = (0..MAX_DEPTH - 2)
            .map(|i| format!("A = {i}"))
            .collect::<Vec<_>>()
            .join(" or ");
        let nested = format!(
            "{}Tags[?] = 'x'{}",
            "not (".repeat(MAX_DEPTH / 2 - 2),
            ")".repeat(MAX_DEPTH / 2 - 2)
        );
        let power = format!("{}1 = 1", "2 ^ ".repeat(MAX_DEPTH - 3));
        for src in [chain, nested, power] {
            std::thread::Builder::new()
                .stack_size(512 * 1024)
                .spawn(move || {
                    let e = parse_expression(&src).expect("accepted");
                    let printed = crate::print::print(&e);
                    let strict = crate::fuzzy::strict_tree(&e, true);
                    assert_eq!(parse_expression(&printed).unwrap(), e);
                    let f = crate::Filter::parse(&src).unwrap();
                    let event = seqr_types::StoredEvent {
                        id: Default::default(),
                        event: Default::default(),
                    };
                    f.matches(&event, 0);
                    let _ = crate::pushdown::predicates(&strict);
                })
                .unwrap()
                .join()
                .unwrap();
        }
        let too_deep = (0..MAX_DEPTH + 1)
            .map(|i| format!("A = {i}"))
            .collect::<Vec<_>>()
            .join(" or ");
        let err = parse_expression(&too_deep).unwrap_err();
        assert!(err.to_string().contains("use `in`"), "{err}");
    }
}
