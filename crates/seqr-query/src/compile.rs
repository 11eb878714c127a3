//! Compiles a tree once into nested closures, so evaluating an event never re-walks the tree,
//! and folds every constant sub-expression (`1h * 24`, `['a', 'b']`, `ToLower('X')`) into
//! its value at compile time.

use std::collections::HashMap;
use std::sync::Arc;

use regex::Regex;
use rust_decimal::Decimal;
use rust_decimal::MathematicalOps;
use seqr_types::StoredEvent;

use crate::ast::*;
use crate::error::ParseError;
use crate::event_view;
use crate::functions::{self, Arg, CallContext};
use crate::like::LikePattern;
use crate::parser::closest;
use crate::value::{Eval, Value, eq_ignore_case};

/// What one evaluation sees: the event (absent for scalar queries), the time `Now()` reads,
/// and the slots holding lambda parameters, `let` bindings, wildcard elements and, in
/// queries, aggregate results and aliases.
pub struct Ctx<'a> {
    pub event: Option<&'a StoredEvent>,
    pub now_ticks: i64,
    /// Slot values; `None` is undefined (a `let` binding of a missing property).
    pub locals: Vec<Eval>,
}

type Fun = Box<dyn Fn(&mut Ctx) -> Eval + Send + Sync>;

/// A compiled expression.
pub struct Compiled {
    f: Fun,
    /// Local slots the expression needs.
    pub slots: usize,
}

impl Compiled {
    /// Evaluates with prepared locals (queries reuse one vector for many events).
    pub fn eval_in(&self, ctx: &mut Ctx) -> Eval {
        if ctx.locals.len() < self.slots {
            ctx.locals.resize(self.slots, None);
        }
        (self.f)(ctx)
    }

    /// Evaluates against one event.
    pub fn eval(&self, event: Option<&StoredEvent>, now_ticks: i64) -> Eval {
        let mut ctx = Ctx {
            event,
            now_ticks,
            locals: Vec::new(),
        };
        self.eval_in(&mut ctx)
    }

    /// A filter matches only when it evaluates to `true`.
    pub fn matches(&self, event: &StoredEvent, now_ticks: i64) -> bool {
        matches!(self.eval(Some(event), now_ticks), Some(Value::Bool(true)))
    }
}

/// Variables in scope (`$name`), as sent in an `EvaluationContextPart`.
pub type Variables = HashMap<String, Value>;

struct Node {
    f: Fun,
    /// `Some` when the node does not depend on the event, the time or any slot.
    constant: Option<Eval>,
}

impl Node {
    fn constant(v: Eval) -> Node {
        let c = v.clone();
        Node {
            f: Box::new(move |_| c.clone()),
            constant: Some(v),
        }
    }

    fn dynamic(f: impl Fn(&mut Ctx) -> Eval + Send + Sync + 'static) -> Node {
        Node {
            f: Box::new(f),
            constant: None,
        }
    }

    /// Wraps `f`, folding it to its value now when its inputs are all constant.
    fn new(inputs_constant: bool, f: impl Fn(&mut Ctx) -> Eval + Send + Sync + 'static) -> Node {
        if inputs_constant {
            let mut ctx = Ctx {
                event: None,
                now_ticks: 0,
                locals: Vec::new(),
            };
            Node::constant(f(&mut ctx))
        } else {
            Node::dynamic(f)
        }
    }
}

type CResult<T> = Result<T, ParseError>;

/// Compiles expressions sharing one set of slots.
pub struct Compiler<'v> {
    variables: &'v Variables,
    /// Names bound by lambdas, `let` and query aliases, innermost last.
    scopes: Vec<(String, usize)>,
    /// Nodes (by address) replaced by a slot: wildcards being iterated, aggregates in queries.
    bound: Vec<(usize, usize)>,
    slots: usize,
    /// Compiling a `select` column, where aggregates are bound by the query engine.
    in_query: bool,
}

fn addr(e: &Expr) -> usize {
    e as *const Expr as usize
}

const AGGREGATES: &[&str] = &[
    "count",
    "distinct",
    "sum",
    "min",
    "max",
    "mean",
    "percentile",
    "phist",
    "first",
    "last",
    "any",
    "all",
    "top",
    "bottom",
    "interval",
];

/// A call to an aggregate function (only meaningful in queries).
pub fn is_aggregate_call(e: &Expr) -> bool {
    matches!(&e.kind, ExprKind::Call { name, .. } if AGGREGATES.iter().any(|a| a.eq_ignore_ascii_case(name)))
}

impl<'v> Compiler<'v> {
    pub fn new(variables: &'v Variables) -> Compiler<'v> {
        Compiler {
            variables,
            scopes: Vec::new(),
            bound: Vec::new(),
            slots: 0,
            in_query: false,
        }
    }

    /// Marks the compiler as compiling query columns: aggregate calls must have been bound.
    pub fn for_query(mut self) -> Self {
        self.in_query = true;
        self
    }

    fn slot(&mut self) -> usize {
        self.slots += 1;
        self.slots - 1
    }

    /// Binds a name (a query alias) to a new slot.
    pub fn bind_name(&mut self, name: &str) -> usize {
        let s = self.slot();
        self.scopes.push((name.to_string(), s));
        s
    }

    /// Replaces a node (an aggregate call in a query) by a new slot.
    pub fn bind_node(&mut self, e: &Expr) -> usize {
        let s = self.slot();
        self.bound.push((addr(e), s));
        s
    }

    /// Compiles a condition: double-quoted text becomes a text search.
    pub fn condition(&mut self, e: &Expr) -> CResult<Compiled> {
        let node = self.scoped(e, true)?;
        Ok(Compiled {
            f: node.f,
            slots: self.slots,
        })
    }

    /// Compiles a value.
    pub fn value(&mut self, e: &Expr) -> CResult<Compiled> {
        let node = self.scoped(e, false)?;
        Ok(Compiled {
            f: node.f,
            slots: self.slots,
        })
    }

    /// Compiles `e` as the scope of the wildcards inside it that no nearer comparison claims.
    fn scoped(&mut self, e: &Expr, condition: bool) -> CResult<Node> {
        let mut wildcards = Vec::new();
        if is_scope(e) {
            for child in e.children() {
                collect_wildcards(child, &mut wildcards);
            }
        }
        wildcards.retain(|w| !self.bound.iter().any(|(a, _)| *a == addr(w)));
        if wildcards.is_empty() {
            return self.node(e, condition);
        }
        // Targets are compiled before their wildcard is bound: `A[*].B[?]` iterates `A` first.
        let mut loops = Vec::new();
        for w in &wildcards {
            let ExprKind::Wildcard { target, kind } = &w.kind else {
                unreachable!()
            };
            let target = self.scoped(target, false)?;
            let slot = self.bind_node(w);
            loops.push((target.f, *kind, slot));
        }
        let body = self.node(e, condition)?;
        let mut f = body.f;
        for (target, kind, slot) in loops.into_iter().rev() {
            let inner = f;
            f = Box::new(move |ctx: &mut Ctx| {
                let elements = match target(ctx)? {
                    Value::Array(items) => items,
                    Value::Object(members) => members.into_iter().map(|(_, v)| v).collect(),
                    _ => return None,
                };
                for el in elements {
                    ctx.locals[slot] = Some(el);
                    let holds = matches!(inner(ctx), Some(Value::Bool(true)));
                    match kind {
                        WildcardKind::Any if holds => return Some(Value::Bool(true)),
                        WildcardKind::All if !holds => return Some(Value::Bool(false)),
                        _ => {}
                    }
                }
                Some(Value::Bool(kind == WildcardKind::All))
            });
        }
        Ok(Node { f, constant: None })
    }

    fn node(&mut self, e: &Expr, condition: bool) -> CResult<Node> {
        if let Some((_, slot)) = self.bound.iter().find(|(a, _)| *a == addr(e)) {
            let slot = *slot;
            return Ok(Node::dynamic(move |ctx| ctx.locals[slot].clone()));
        }
        Ok(match &e.kind {
            ExprKind::Null => Node::constant(Some(Value::Null)),
            ExprKind::Bool(b) => Node::constant(Some(Value::Bool(*b))),
            ExprKind::Number { value, .. } | ExprKind::Duration(value) => {
                Node::constant(Some(Value::Number(*value)))
            }
            ExprKind::String(s) => Node::constant(Some(Value::String(s.clone()))),
            ExprKind::Text { text, verbatim } if condition => text_search(text, !*verbatim),
            ExprKind::Text { text, .. } => Node::constant(Some(Value::String(text.clone()))),
            ExprKind::Regex(_) => {
                return Err(ParseError::semantic(
                    e.span,
                    "a regular expression can only be compared with `=` or passed to functions such as `Contains`, `IndexOf` and `Replace`".into(),
                ));
            }
            ExprKind::Property(name) => {
                if let Some((_, slot)) = self.scopes.iter().rev().find(|(n, _)| n == name) {
                    let slot = *slot;
                    Node::dynamic(move |ctx| ctx.locals[slot].clone())
                } else {
                    let name = name.clone();
                    Node::dynamic(move |ctx| {
                        Value::from_json(ctx.event?.event.properties.get(&name)?)
                    })
                }
            }
            ExprKind::Builtin(b) => {
                let b = *b;
                Node::dynamic(move |ctx| event_view::builtin(b, ctx.event?))
            }
            ExprKind::Variable(name) => match self.variables.get(name) {
                Some(v) => Node::constant(Some(v.clone())),
                None => {
                    return Err(ParseError::semantic(
                        e.span,
                        format!("the variable `${name}` is not defined"),
                    )
                    .suggest(format!(
                        "assign it first with `select <value> into ${name}`"
                    )));
                }
            },
            ExprKind::Array(items) => {
                let nodes = items
                    .iter()
                    .map(|i| self.scoped(i, false))
                    .collect::<CResult<Vec<_>>>()?;
                let refs: Vec<&Node> = nodes.iter().collect();
                let all_const = refs.iter().all(|n| n.constant.is_some());
                let fs: Vec<Fun> = nodes.into_iter().map(|n| n.f).collect();
                let f = move |ctx: &mut Ctx| {
                    Some(Value::Array(fs.iter().filter_map(|f| f(ctx)).collect()))
                };
                Node::new(all_const, f)
            }
            ExprKind::Object(members) => {
                let mut names = Vec::new();
                let mut fs = Vec::new();
                let mut all_const = true;
                for (k, v) in members {
                    let n = self.scoped(v, false)?;
                    all_const &= n.constant.is_some();
                    names.push(k.clone());
                    fs.push(n.f);
                }
                let f = move |ctx: &mut Ctx| {
                    Some(Value::Object(
                        names
                            .iter()
                            .zip(&fs)
                            .filter_map(|(k, f)| Some((k.clone(), f(ctx)?)))
                            .collect(),
                    ))
                };
                Node::new(all_const, f)
            }
            ExprKind::Member { target, name } => {
                let t = self.scoped(target, false)?;
                let name = name.clone();
                let tf = t.f;
                let constant = t.constant.is_some();
                let f = move |ctx: &mut Ctx| match tf(ctx)? {
                    Value::Object(members) => members
                        .into_iter()
                        .find(|(k, _)| *k == name)
                        .map(|(_, v)| v),
                    _ => None,
                };
                Node::new(constant, f)
            }
            ExprKind::Index { target, index } => {
                let t = self.scoped(target, false)?;
                let i = self.scoped(index, false)?;
                let constant = t.constant.is_some() && i.constant.is_some();
                let (tf, i_f) = (t.f, i.f);
                let f = move |ctx: &mut Ctx| {
                    let target = tf(ctx)?;
                    let index = i_f(ctx)?;
                    element_at(target, &index, false)
                };
                Node::new(constant, f)
            }
            ExprKind::Wildcard { .. } => {
                return Err(ParseError::semantic(
                    e.span,
                    "a wildcard `[?]` or `[*]` must be inside a comparison, as in `Tags[?] = 'a'`"
                        .into(),
                ));
            }
            ExprKind::Unary { op, operand } => {
                let o = self.scoped(operand, *op == UnaryOp::Not && condition)?;
                let op = *op;
                let c = o.constant.is_some();
                let of = o.f;
                let f = move |ctx: &mut Ctx| match (op, of(ctx)) {
                    (UnaryOp::Not, None) => Some(Value::Bool(true)),
                    (UnaryOp::Not, Some(Value::Bool(b))) => Some(Value::Bool(!b)),
                    (UnaryOp::Neg, Some(Value::Number(n))) => Some(Value::Number(-n)),
                    _ => None,
                };
                Node::new(c, f)
            }
            ExprKind::IsNull { operand, negated } => {
                let o = self.scoped(operand, false)?;
                let negated = *negated;
                let c = o.constant.is_some();
                let of = o.f;
                let f = move |ctx: &mut Ctx| {
                    let is_null = matches!(of(ctx), None | Some(Value::Null));
                    Some(Value::Bool(is_null != negated))
                };
                Node::new(c, f)
            }
            ExprKind::Binary {
                op,
                left,
                right,
                ci,
            } => self.binary(*op, left, right, *ci)?,
            ExprKind::Call {
                name,
                args,
                ci,
                star,
            } => self.call(e, name, args, *ci, *star, condition)?,
            ExprKind::If {
                condition: c,
                then,
                otherwise,
            } => {
                let c = self.scoped(c, true)?;
                let t = self.scoped(then, condition)?;
                let o = self.scoped(otherwise, condition)?;
                let all = c.constant.is_some() && t.constant.is_some() && o.constant.is_some();
                let (cf, tf, of) = (c.f, t.f, o.f);
                let f = move |ctx: &mut Ctx| {
                    if matches!(cf(ctx), Some(Value::Bool(true))) {
                        tf(ctx)
                    } else {
                        of(ctx)
                    }
                };
                Node::new(all, f)
            }
            ExprKind::Lambda { .. } => {
                return Err(ParseError::semantic(
                    e.span,
                    "a lambda can only be passed to a function such as `Every` or `Some`".into(),
                ));
            }
            ExprKind::Let { bindings, body } => {
                let mut setters = Vec::new();
                let depth = self.scopes.len();
                for (name, value) in bindings {
                    let v = self.scoped(value, false)?;
                    let slot = self.bind_name(name);
                    setters.push((slot, v.f));
                }
                let b = self.scoped(body, condition)?;
                self.scopes.truncate(depth);
                let bf = b.f;
                Node::dynamic(move |ctx| {
                    for (slot, f) in &setters {
                        // An undefined binding is undefined where it is used, as if substituted.
                        ctx.locals[*slot] = f(ctx);
                    }
                    bf(ctx)
                })
            }
        })
    }

    fn binary(&mut self, op: BinaryOp, left: &Expr, right: &Expr, ci: bool) -> CResult<Node> {
        use BinaryOp::*;
        if matches!(op, And | Or) {
            let l = self.scoped(left, true)?;
            let r = self.scoped(right, true)?;
            let inputs_const = l.constant.is_some() && r.constant.is_some();
            let (lf, rf) = (l.f, r.f);
            let f = move |ctx: &mut Ctx| {
                let a = lf(ctx);
                let short = op == Or;
                if a.as_ref().and_then(Value::as_bool) == Some(short) {
                    return Some(Value::Bool(short));
                }
                let b = rf(ctx);
                match (
                    a.as_ref().and_then(Value::as_bool),
                    b.as_ref().and_then(Value::as_bool),
                ) {
                    (_, Some(x)) if x == short => Some(Value::Bool(short)),
                    (Some(_), Some(_)) => Some(Value::Bool(!short)),
                    _ => None,
                }
            };
            return Ok(Node::new(inputs_const, f));
        }
        if op.is_comparison() {
            return self.comparison(op, left, right, ci);
        }
        let l = self.scoped(left, false)?;
        let r = self.scoped(right, false)?;
        let c = l.constant.is_some() && r.constant.is_some();
        let (lf, rf) = (l.f, r.f);
        let f = move |ctx: &mut Ctx| {
            let a = lf(ctx)?.as_number()?;
            let b = rf(ctx)?.as_number()?;
            let n = match op {
                Add => a.checked_add(b),
                Sub => a.checked_sub(b),
                Mul => a.checked_mul(b),
                Div => a.checked_div(b),
                Mod => a.checked_rem(b),
                Pow => power(a, b),
                _ => None,
            }?;
            Some(Value::Number(n))
        };
        Ok(Node::new(c, f))
    }

    fn comparison(&mut self, op: BinaryOp, left: &Expr, right: &Expr, ci: bool) -> CResult<Node> {
        use BinaryOp::*;
        let l = self.scoped(left, false)?;
        // `A = /re/` is a full regex match.
        if let (Eq | Ne, ExprKind::Regex(pattern)) = (op, &right.kind) {
            let re = compile_regex(&format!("^(?:{pattern})$"), ci, right.span)?;
            let lf = l.f;
            let negate = op == Ne;
            return Ok(Node::dynamic(move |ctx| {
                let v = lf(ctx)?;
                Some(Value::Bool(re.is_match(v.as_str()?) != negate))
            }));
        }
        let r = self.scoped(right, false)?;
        // A constant pattern is compiled once, not per event.
        if matches!(op, Like | NotLike)
            && let Some(Some(Value::String(pattern))) = &r.constant
        {
            let pattern = LikePattern::new(pattern, ci);
            let lf = l.f;
            let negate = op == NotLike;
            let c = l.constant.is_some();
            let f = move |ctx: &mut Ctx| match lf(ctx)? {
                Value::String(s) => Some(Value::Bool(pattern.matches(&s) != negate)),
                _ => None,
            };
            return Ok(Node::new(c, f));
        }
        let c = l.constant.is_some() && r.constant.is_some();
        let (lf, rf) = (l.f, r.f);
        let f = move |ctx: &mut Ctx| {
            let a = lf(ctx)?;
            let b = rf(ctx)?;
            let result = match op {
                Eq => a.equals(&b, ci),
                Ne => !a.equals(&b, ci),
                Lt | Le | Gt | Ge => {
                    let (x, y) = (a.as_number()?, b.as_number()?);
                    match op {
                        Lt => x < y,
                        Le => x <= y,
                        Gt => x > y,
                        _ => x >= y,
                    }
                }
                Like | NotLike => {
                    let matched = LikePattern::new(b.as_str()?, ci).matches(a.as_str()?);
                    matched != (op == NotLike)
                }
                In | NotIn => {
                    let Value::Array(items) = &b else { return None };
                    items.iter().any(|i| a.equals(i, ci)) != (op == NotIn)
                }
                _ => return None,
            };
            Some(Value::Bool(result))
        };
        Ok(Node::new(c, f))
    }

    fn call(
        &mut self,
        e: &Expr,
        name: &str,
        args: &[Expr],
        ci: bool,
        star: bool,
        condition: bool,
    ) -> CResult<Node> {
        let lower = name.to_ascii_lowercase();
        let arity = |n: usize| -> CResult<()> {
            if args.len() == n {
                Ok(())
            } else {
                Err(ParseError::semantic(
                    e.span,
                    format!(
                        "`{name}` takes {n} argument{}",
                        if n == 1 { "" } else { "s" }
                    ),
                ))
            }
        };
        let no_ci = || -> CResult<()> {
            if ci {
                Err(ParseError::semantic(
                    e.span,
                    format!("`{name}` does not accept the `ci` modifier"),
                ))
            } else {
                Ok(())
            }
        };
        match lower.as_str() {
            "equal" | "notequal" => {
                arity(2)?;
                let op = if lower == "equal" {
                    BinaryOp::Eq
                } else {
                    BinaryOp::Ne
                };
                return self.comparison(op, &args[0], &args[1], ci);
            }
            "and" | "or" => {
                arity(2)?;
                no_ci()?;
                let op = if lower == "and" {
                    BinaryOp::And
                } else {
                    BinaryOp::Or
                };
                return self.binary(op, &args[0], &args[1], false);
            }
            "not" => {
                arity(1)?;
                no_ci()?;
                let o = self.scoped(&args[0], condition)?;
                let c = o.constant.is_some();
                let of = o.f;
                let f = move |ctx: &mut Ctx| match of(ctx) {
                    None => Some(Value::Bool(true)),
                    Some(Value::Bool(b)) => Some(Value::Bool(!b)),
                    _ => None,
                };
                return Ok(Node::new(c, f));
            }
            "every" | "some" => {
                arity(2)?;
                no_ci()?;
                return self.quantifier(lower == "every", &args[0], &args[1]);
            }
            "isspan" | "isrootspan" => {
                arity(0)?;
                no_ci()?;
                let root = lower == "isrootspan";
                return Ok(Node::dynamic(move |ctx| {
                    let ev = &ctx.event?.event;
                    let span = ev.span_start.is_some() && ev.span_id.is_some();
                    Some(Value::Bool(span && (!root || ev.parent_id.is_none())))
                }));
            }
            _ => {}
        }
        if AGGREGATES.contains(&lower.as_str()) {
            let msg = if self.in_query {
                format!("the aggregate `{name}` cannot be used here")
            } else {
                format!(
                    "the aggregate `{name}` can only be used in the columns of a `select` query"
                )
            };
            return Err(ParseError::semantic(e.span, msg));
        }
        if star {
            return Err(ParseError::semantic(
                e.span,
                "`*` is only an argument of `count(*)`".into(),
            ));
        }
        let Some(def) = functions::lookup(name) else {
            let err = ParseError::semantic(e.span, format!("`{name}` is not a known function"));
            return Err(match closest(name, functions::names()) {
                Some(s) => err.suggest(format!("did you mean `{s}`?")),
                None => err,
            });
        };
        if args.len() < def.min_args || def.max_args.is_some_and(|m| args.len() > m) {
            let expected = match def.max_args {
                Some(m) if m == def.min_args => format!("{m}"),
                Some(m) => format!("{} to {m}", def.min_args),
                None => format!("at least {}", def.min_args),
            };
            return Err(ParseError::semantic(
                e.span,
                format!(
                    "`{}` takes {expected} arguments, not {}",
                    def.name,
                    args.len()
                ),
            ));
        }
        if ci && !def.accepts_ci {
            return no_ci().map(|_| unreachable!());
        }
        enum Compiled1 {
            Value(Fun),
            Regex(Arc<Regex>),
        }
        let mut compiled = Vec::new();
        let mut all_const = true;
        for (i, a) in args.iter().enumerate() {
            if let ExprKind::Regex(pattern) = &a.kind {
                if !def.regex_args.contains(&i) {
                    return Err(ParseError::semantic(
                        a.span,
                        format!("`{}` does not take a regular expression here", def.name),
                    ));
                }
                compiled.push(Compiled1::Regex(Arc::new(compile_regex(
                    pattern, ci, a.span,
                )?)));
            } else {
                let n = self.scoped(a, false)?;
                all_const &= n.constant.is_some();
                compiled.push(Compiled1::Value(n.f));
            }
        }
        let call = def.call;
        // `Now()` reads the evaluation's clock, so it is never folded.
        let reads_clock = def.name.eq_ignore_ascii_case("now");
        let f = move |ctx: &mut Ctx| {
            let args: Vec<Arg> = compiled
                .iter()
                .map(|c| match c {
                    Compiled1::Value(f) => Arg::Value(f(ctx)),
                    Compiled1::Regex(r) => Arg::Regex(r.clone()),
                })
                .collect();
            call(
                &args,
                &CallContext {
                    ci,
                    now_ticks: ctx.now_ticks,
                },
            )
        };
        Ok(Node::new(all_const && !reads_clock, f))
    }

    /// `Every(coll, |x| pred)` / `Some(coll, |x| pred)`.
    fn quantifier(&mut self, every: bool, coll: &Expr, lambda: &Expr) -> CResult<Node> {
        let ExprKind::Lambda { params, body } = &lambda.kind else {
            return Err(ParseError::semantic(
                lambda.span,
                "the second argument must be a lambda such as `|x| x > 0`".into(),
            ));
        };
        if params.len() != 1 {
            return Err(ParseError::semantic(
                lambda.span,
                "the lambda takes exactly one parameter".into(),
            ));
        }
        let c = self.scoped(coll, false)?;
        let depth = self.scopes.len();
        let slot = self.bind_name(&params[0]);
        let b = self.scoped(body, true)?;
        self.scopes.truncate(depth);
        let (cf, bf) = (c.f, b.f);
        Ok(Node::dynamic(move |ctx| {
            let items = match cf(ctx)? {
                Value::Array(items) => items,
                Value::Object(members) => members.into_iter().map(|(_, v)| v).collect(),
                _ => return None,
            };
            for item in items {
                ctx.locals[slot] = Some(item);
                let holds = matches!(bf(ctx), Some(Value::Bool(true)));
                if holds != every {
                    return Some(Value::Bool(!every));
                }
            }
            Some(Value::Bool(every))
        }))
    }
}

/// Comparisons and calls are where wildcards take effect: `Tags[?] = 'a'`, `StartsWith(Tags[*], 'x')`.
fn is_scope(e: &Expr) -> bool {
    /// Calls that are conditions, as comparisons are; other calls (`Length(Tags[?]) = 1`)
    /// leave the wildcard to the comparison around them.
    const PREDICATES: &[&str] = &[
        "contains",
        "startswith",
        "endswith",
        "ismatch",
        "has",
        "isdefined",
        "equal",
        "notequal",
    ];
    match &e.kind {
        ExprKind::Binary { op, .. } => op.is_comparison(),
        ExprKind::Call { name, .. } => PREDICATES.iter().any(|p| p.eq_ignore_ascii_case(name)),
        ExprKind::IsNull { .. } => true,
        _ => false,
    }
}

/// Wildcards in `e` not claimed by a nearer comparison, targets before the wildcard itself.
fn collect_wildcards<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    if is_scope(e) || matches!(e.kind, ExprKind::Lambda { .. }) {
        return;
    }
    for child in e.children() {
        collect_wildcards(child, out);
    }
    if matches!(e.kind, ExprKind::Wildcard { .. }) {
        out.push(e);
    }
}

/// `"text"` as a condition: a case-insensitive search of the message and the exception.
fn text_search(text: &str, ci: bool) -> Node {
    let pattern = LikePattern::new(&contains_pattern(text), ci);
    Node::dynamic(move |ctx| {
        let stored = ctx.event?;
        let in_message = pattern.matches(&stored.event.rendered_message());
        let in_exception = stored
            .event
            .exception
            .as_deref()
            .is_some_and(|x| pattern.matches(x));
        Some(Value::Bool(in_message || in_exception))
    })
}

/// The `like` pattern for "contains `text`"; empty text is in every string.
pub fn contains_pattern(text: &str) -> String {
    if text.is_empty() {
        "%".into()
    } else {
        format!("%{}%", escape_like(text))
    }
}

/// Doubles `like` wildcards so text matches literally.
pub fn escape_like(text: &str) -> String {
    text.replace('%', "%%").replace('?', "??")
}

/// Array element by index, or object member by name (`ci`: any case).
pub fn element_at(target: Value, index: &Value, ci: bool) -> Eval {
    match (target, index) {
        (Value::Array(items), Value::Number(n)) => {
            if !n.fract().is_zero() || n.is_sign_negative() {
                return None;
            }
            let i = usize::try_from(n.trunc().mantissa()).ok()?;
            items.into_iter().nth(i)
        }
        (Value::Object(members), Value::String(k)) => members
            .into_iter()
            .find(|(m, _)| if ci { eq_ignore_case(m, k) } else { m == k })
            .map(|(_, v)| v),
        _ => None,
    }
}

fn power(a: Decimal, b: Decimal) -> Option<Decimal> {
    if b.fract().is_zero() {
        let e = i64::try_from(b).ok()?;
        if e < 0 {
            return Decimal::ONE.checked_div(a.checked_powi(-e)?);
        }
        return a.checked_powi(e);
    }
    a.checked_powd(b)
}

/// Compiles a regex literal with bounded size, so a hostile pattern cannot exhaust memory.
pub fn compile_regex(pattern: &str, ci: bool, span: Span) -> CResult<Regex> {
    regex::RegexBuilder::new(pattern)
        .case_insensitive(ci)
        .size_limit(1 << 20)
        .dfa_size_limit(1 << 20)
        .build()
        .map_err(|err| {
            let detail = match err {
                regex::Error::CompiledTooBig(_) => "it is too large".to_string(),
                other => other
                    .to_string()
                    .lines()
                    .last()
                    .unwrap_or("")
                    .trim()
                    .to_string(),
            };
            ParseError::semantic(
                span,
                format!("the regular expression is not valid: {detail}"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::parse_expression;
    use seqr_types::{Event, EventId, Timestamp};

    fn event() -> StoredEvent {
        let props = serde_json::json!({
            "Tags": ["a", "b"],
            "Empty": [],
            "Order": {"Shipments": [{"Items": [{"Tax": 1}, {"Tax": 2}]}, {"Items": [{"Tax": 3}]}]},
            "Name": "Alice",
            "N": 3,
            "Nothing": null
        });
        StoredEvent {
            id: EventId {
                ticks: 1,
                arrival: 7,
            },
            event: Event {
                timestamp: Timestamp::from_ticks(1),
                message_template: Some("Hello {Name}".into()),
                properties: props.as_object().unwrap().clone(),
                ..Default::default()
            },
        }
    }

    fn eval(src: &str) -> Eval {
        let e = parse_expression(src).unwrap();
        let c = Compiler::new(&Variables::new()).condition(&e).unwrap();
        c.eval(Some(&event()), 0)
    }

    fn t(src: &str) {
        assert_eq!(eval(src), Some(Value::Bool(true)), "{src}");
    }

    #[test]
    fn wildcards_scope_to_the_nearest_comparison() {
        t("Tags[?] = 'b'");
        t("not (Tags[*] = 'b')");
        t("Tags[*] in ['a', 'b']");
        t("Order.Shipments[*].Items[*].Tax > 0");
        t("Order.Shipments[?].Items[?].Tax = 3");
        t("not (Order.Shipments[*].Items[*].Tax > 1)");
        t("Empty[*] = 1");
        t("not (Empty[?] = 1)");
        t("StartsWith(Tags[?], 'b')");
        t("Tags[?] = 'a' and Tags[?] = 'b'");
    }

    #[test]
    fn lambdas_let_and_undefined() {
        t("Every(Tags, |x| Length(x) = 1)");
        t("Some(Order.Shipments, |s| Length(s.Items) = 1)");
        t("let |x: N * 2, y: 1| x + y = 7");
        t("not (Missing = 1)");
        t("Missing is null and Nothing is null and N is not null");
        t("Nothing = null and not (Missing = null)");
        t("@Message = 'Hello Alice'");
        t("\"hello ALICE\"");
        t("@Arrived = 7");
        t("if N > 2 then true else false");
        t("0.1 + 0.2 = 0.3");
        assert_eq!(eval("N / 0"), None);
        assert_eq!(eval("'1' = 1"), Some(Value::Bool(false)));
    }

    #[test]
    fn constants_fold() {
        let e = parse_expression("ToLower('X') + 'y'").unwrap();
        let vars = Variables::new();
        let mut compiler = Compiler::new(&vars);
        let node = compiler.scoped(&e, false).unwrap();
        assert_eq!(
            node.constant,
            Some(None),
            "string + string is undefined, folded"
        );
        let e = parse_expression("[1h * 24, 'a']").unwrap();
        let node = compiler.scoped(&e, false).unwrap();
        assert!(node.constant.is_some());
    }
}
