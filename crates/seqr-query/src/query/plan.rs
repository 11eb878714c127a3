//! Planning: validates a parsed query, finds its aggregates and compiles every expression
//! once, sharing one set of local slots.

use std::collections::HashSet;

use rust_decimal::Decimal;
use seqr_types::StoredEvent;

use super::aggregate::{AggKind, AggSpec};
use super::execute::Execution;
use super::{DEFAULT_LIMIT, QueryError, QueryErrorKind, QueryOptions};
use crate::ast::*;
use crate::compile::{Compiled, Compiler, Variables, is_aggregate_call};
use crate::error::ParseError;
use crate::parser::{self, closest};
use crate::print::{is_identifier, print};
use crate::value::Value;

/// What a query reads and how it produces rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// No `from`: the columns once, with no event.
    Scalar,
    /// One row per event.
    Projection,
    /// One row per group.
    Aggregate,
}

pub(crate) struct KeySpec {
    pub value: Compiled,
    pub ci: bool,
}

pub(crate) struct OrderSpec {
    pub target: OrderTarget,
    pub ci: bool,
    pub descending: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OrderTarget {
    Time,
    /// An output column (group keys first).
    Column(usize),
}

/// A query a store can answer by counting matching events per group, reading only
/// columns: every aggregate is `count(*)` (or `interval()`), every group key a
/// [`Field`](crate::pushdown::Field) (none `ci`), and `where` an
/// [exact](crate::pushdown::exact) conjunction. Counts go to [`Execution::add_count`].
#[derive(Clone, Debug, PartialEq)]
pub struct CountShape {
    /// Exactly the `where` clause (the request's range is [`Plan::time_range`]).
    pub predicates: Vec<crate::pushdown::Predicate>,
    /// The group keys, in order.
    pub keys: Vec<crate::pushdown::Field>,
    /// `group by time(d)`: the slice width in ticks.
    pub time_slice: Option<i64>,
}

/// A query compiled once, ready to run over events.
pub struct Plan {
    pub(crate) mode: Mode,
    pub(crate) options: QueryOptions,
    filter: Option<Compiled>,
    /// What `where` implies, for a store to skip data by.
    predicates: Vec<crate::pushdown::Predicate>,
    /// How a store can answer the query by counting, when it can.
    counting: Option<CountShape>,
    /// `[from, to)` in ticks: the request's range narrowed by `where`.
    range: (Option<i64>, Option<i64>),
    pub(crate) keys: Vec<KeySpec>,
    /// Some key is `ci`, so groups track the spelling of their earliest event.
    pub(crate) any_ci_key: bool,
    pub(crate) time_slice: Option<i64>,
    pub(crate) aggs: Vec<AggSpec>,
    /// Slots holding a group key's value: `(slot, key index)`, where a column repeats a key.
    pub(crate) key_bindings: Vec<(usize, usize)>,
    /// Compiled select columns.
    pub(crate) columns: Vec<Compiled>,
    /// Output column names: group keys, then select columns.
    pub(crate) names: Vec<String>,
    /// The slot each output column's value is bound to by name, for `having`.
    pub(crate) alias_slots: Vec<Option<usize>>,
    pub(crate) having: Option<Compiled>,
    pub(crate) order: Vec<OrderSpec>,
    pub(crate) limit: usize,
    pub(crate) into: Option<String>,
    /// The index in `aggs` of the one rowset aggregate (`distinct`, `top`, `bottom`).
    pub(crate) rowset: Option<usize>,
    pub(crate) slots: usize,
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plan")
            .field("mode", &self.mode)
            .field("columns", &self.names)
            .field("range", &self.range)
            .field("time_slice", &self.time_slice)
            .finish_non_exhaustive()
    }
}

impl Plan {
    /// Parses and plans `source`. `variables` are the `$names` in scope.
    pub fn new(
        source: &str,
        variables: &Variables,
        options: &QueryOptions,
    ) -> Result<Plan, QueryError> {
        if source.len() > crate::MAX_FILTER_LEN {
            return Err(QueryError::new(
                QueryErrorKind::Invalid,
                format!("The query is longer than {} bytes.", crate::MAX_FILTER_LEN),
            ));
        }
        if !parser::looks_like_query(source) {
            let mut e = QueryError::new(
                QueryErrorKind::Invalid,
                "A query must start with `select`, as in `select count(*) from stream where @Level = 'Error'`.",
            );
            e.suggestion = Some(format!(
                "to count the events matching a filter, write `select count(*) from stream where {}`",
                source.trim()
            ));
            return Err(e);
        }
        let query = parser::parse_query(source).map_err(QueryError::from_parse)?;
        let mut planner = Planner {
            src: source,
            compiler: Compiler::new(variables).for_query(),
            options,
        };
        planner.plan(&query)
    }

    /// The `[from, to)` range of `@Timestamp` in ticks the query reads: the request's range
    /// narrowed by the `where` clause's bounds. A store need only read this.
    pub fn time_range(&self) -> (Option<i64>, Option<i64>) {
        self.range
    }

    /// Conditions the `where` clause implies ([`crate::pushdown`]): a store may skip data
    /// that cannot satisfy them.
    pub fn predicates(&self) -> &[crate::pushdown::Predicate] {
        &self.predicates
    }

    /// How a store can answer this query by counting alone, if it can.
    pub fn counting(&self) -> Option<&CountShape> {
        self.counting.as_ref()
    }

    /// Whether the query reads events at all (scalar queries do not).
    pub fn reads_events(&self) -> bool {
        self.mode != Mode::Scalar
    }

    /// The options the plan was made with.
    pub fn options(&self) -> &QueryOptions {
        &self.options
    }

    /// The output column names.
    pub fn columns(&self) -> &[String] {
        &self.names
    }

    /// True when `event` is in the range and matches the `where` clause: the events to feed.
    pub fn accepts(&self, event: &StoredEvent) -> bool {
        let t = event.event.timestamp.ticks();
        if self.range.0.is_some_and(|lo| t < lo) || self.range.1.is_some_and(|hi| t >= hi) {
            return false;
        }
        self.filter
            .as_ref()
            .is_none_or(|f| f.matches(event, self.options.now_ticks))
    }

    /// A new run of the query.
    pub fn start(&self) -> Execution<'_> {
        Execution::new(self)
    }
}

struct Planner<'s, 'v, 'o> {
    src: &'s str,
    compiler: Compiler<'v>,
    options: &'o QueryOptions,
}

fn addr(e: &Expr) -> usize {
    e as *const Expr as usize
}

fn lower_name(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Call { name, .. } => name.to_ascii_lowercase(),
        _ => String::new(),
    }
}

impl Planner<'_, '_, '_> {
    fn err(&self, span: Span, message: impl Into<String>) -> QueryError {
        QueryError::from_parse(ParseError::semantic(span, message.into()).locate(self.src))
    }

    fn located(&self, e: ParseError) -> QueryError {
        QueryError::from_parse(e.locate(self.src))
    }

    fn value(&mut self, e: &Expr) -> Result<Compiled, QueryError> {
        self.compiler.value(e).map_err(|err| self.located(err))
    }

    fn condition(&mut self, e: &Expr) -> Result<Compiled, QueryError> {
        self.compiler.condition(e).map_err(|err| self.located(err))
    }

    /// Fails when `e` contains an aggregate, naming the clause.
    fn no_aggregates(&self, e: &Expr, clause: &str, hint: &str) -> Result<(), QueryError> {
        let mut found = Vec::new();
        find_aggregates(e, &mut found);
        match found.first() {
            Some(a) => {
                let name = match &a.kind {
                    ExprKind::Call { name, .. } => name.as_str(),
                    _ => "",
                };
                Err(self.err(
                    a.span,
                    format!("the aggregate `{name}` cannot be used in {clause}{hint}"),
                ))
            }
            None => Ok(()),
        }
    }

    fn plan(&mut self, q: &Query) -> Result<Plan, QueryError> {
        if q.explain {
            return Err(self.err(
                Span::new(0, self.src.len()),
                "`explain` is not supported by this seqr build",
            ));
        }
        let options = self.options.clone();
        let limit = q
            .limit
            .map_or(DEFAULT_LIMIT, |l| usize::try_from(l).unwrap_or(usize::MAX));
        let names: Vec<String> = q
            .columns
            .iter()
            .map(|c| c.alias.clone().unwrap_or_else(|| print(&c.expr)))
            .collect();

        // Aggregates in the columns and `having`, checked for nesting.
        let mut col_aggs: Vec<&Expr> = Vec::new();
        for c in &q.columns {
            find_aggregates(&c.expr, &mut col_aggs);
        }
        let mut having_aggs: Vec<&Expr> = Vec::new();
        if let Some(h) = &q.having {
            find_aggregates(h, &mut having_aggs);
        }
        for a in col_aggs.iter().chain(&having_aggs) {
            self.check_not_nested(a)?;
        }

        let Some(source) = q.from else {
            return self.scalar(q, names, &col_aggs, options);
        };
        if source == Source::Series {
            return Err(QueryError::new(
                QueryErrorKind::Invalid,
                "`from series` is not supported by this seqr build: metric samples are not stored yet; query `from stream`.",
            ));
        }
        if let Some(into) = &q.into {
            return Err(QueryError::new(
                QueryErrorKind::Invalid,
                format!(
                    "`into ${into}` assigns the value of a scalar query, one without `from`, such as `select 42 into ${into}`."
                ),
            ));
        }

        // `where`, and the time range it implies.
        let filter = match &q.filter {
            Some(f) => {
                self.no_aggregates(
                    f,
                    "`where`",
                    "; filter groups with `having` and a column alias",
                )?;
                Some(self.condition(f)?)
            }
            None => None,
        };
        let (where_lo, where_hi) = match &q.filter {
            Some(f) => self.where_bounds(f),
            None => (None, None),
        };
        let range = (
            max_opt(options.range_start, where_lo),
            min_opt(options.range_end, where_hi),
        );

        // Group keys.
        let mut keys = Vec::new();
        let mut key_names = Vec::new();
        for g in &q.group_by {
            self.no_aggregates(&g.expr, "`group by`", "")?;
            keys.push(KeySpec {
                value: self.value(&g.expr)?,
                ci: g.ci,
            });
            key_names.push(g.alias.clone().unwrap_or_else(|| print(&g.expr)));
        }
        let time_slice = match q.time_slice {
            Some((width, span)) => {
                let w = width.trunc();
                let w = i64::try_from(w).ok().filter(|w| *w >= 1).ok_or_else(|| {
                    self.err(span, "the time slice must be at least one tick (100ns)")
                })?;
                if range.0.is_none() {
                    let mut e = self.err(
                        span,
                        "group by time() needs a lower bound on @Timestamp, such as rangeStartUtc",
                    );
                    e.suggestion = Some(
                        "pass `rangeStartUtc`, or add `@Timestamp >= Now() - 1d` to `where`".into(),
                    );
                    return Err(e);
                }
                Some(w)
            }
            None => None,
        };

        let mode = if col_aggs.is_empty()
            && having_aggs.is_empty()
            && keys.is_empty()
            && time_slice.is_none()
        {
            Mode::Projection
        } else {
            Mode::Aggregate
        };

        // Aggregates: kinds, arguments, slots.
        let all_aggs: Vec<&Expr> = col_aggs.iter().chain(&having_aggs).copied().collect();
        let rowsets: Vec<&&Expr> = all_aggs
            .iter()
            .filter(|a| matches!(lower_name(a).as_str(), "distinct" | "top" | "bottom"))
            .collect();
        if let Some(r) = rowsets.first()
            && all_aggs.len() > 1
        {
            let name = lower_name(r);
            return Err(self.err(
                r.span,
                format!(
                    "`{name}` returns many rows, so it must be the only aggregate of the query"
                ),
            ));
        }
        let mut aggs = Vec::new();
        let mut rowset = None;
        for a in &all_aggs {
            let spec = self.aggregate(a, time_slice)?;
            if spec.kind.is_rowset() {
                rowset = Some(aggs.len());
            }
            aggs.push(spec);
        }
        let agg_addrs: HashSet<usize> = all_aggs.iter().map(|a| addr(a)).collect();

        // A group key is an output column already (seq-compat 2.6).
        for c in &q.columns {
            if let Some(g) = q.group_by.iter().find(|g| g.expr == c.expr) {
                let text = print(&g.expr);
                let mut e = self.err(
                    c.expr.span,
                    format!("the group key `{text}` is already a column of the result"),
                );
                e.suggestion = Some(format!(
                    "remove `{text}` from `select`; name the key with `group by {text} as …` if needed"
                ));
                return Err(e);
            }
        }

        // Group keys repeated in columns read the key; anything else about the event must
        // be inside an aggregate.
        let mut key_bindings = Vec::new();
        let mut skip: HashSet<usize> = agg_addrs;
        if mode == Mode::Aggregate {
            for c in &q.columns {
                self.bind_keys(&c.expr, &q.group_by, &mut skip, &mut key_bindings);
            }
            if let Some(h) = &q.having {
                self.bind_keys(h, &q.group_by, &mut skip, &mut key_bindings);
            }
            for c in &q.columns {
                if let Some(span) = event_reference(&c.expr, &skip, &mut Vec::new()) {
                    let text = &self.src[span.start as usize..span.end as usize];
                    let mut e = self.err(
                        span,
                        format!("`{text}` is read outside an aggregate, but the query computes one row per group"),
                    );
                    e.suggestion = Some(format!(
                        "use an aggregate such as `first({text})`, or add `{text}` to `group by`"
                    ));
                    return Err(e);
                }
            }
        }

        let mut columns = Vec::new();
        for c in &q.columns {
            columns.push(self.value(&c.expr)?);
        }

        // Names for `having`: aliases and identifier-like column texts.
        let mut all_names = key_names.clone();
        all_names.extend(names.iter().cloned());
        let mut alias_slots = Vec::new();
        for n in &all_names {
            alias_slots.push(is_identifier(n).then(|| self.compiler.bind_name(n)));
        }
        let having = match &q.having {
            Some(h) => {
                if mode == Mode::Aggregate {
                    let mut params: Vec<String> = all_names.clone();
                    if let Some(span) = event_reference(h, &skip, &mut params) {
                        let text = &self.src[span.start as usize..span.end as usize];
                        let mut e = self.err(
                            span,
                            format!(
                                "`having` refers to `{text}`, which is not a column of the query"
                            ),
                        );
                        e.suggestion = Some(suggest_name(text, &all_names));
                        return Err(e);
                    }
                }
                Some(self.condition(h)?)
            }
            None => None,
        };

        let mut order = Vec::new();
        for o in &q.order_by {
            let target = match &o.key {
                OrderKey::Time => {
                    if time_slice.is_none() {
                        return Err(self.err(o.span, "`order by time` needs `group by time(…)`"));
                    }
                    OrderTarget::Time
                }
                OrderKey::Name(n) => {
                    let found = all_names
                        .iter()
                        .position(|c| c == n)
                        .or_else(|| all_names.iter().position(|c| c.eq_ignore_ascii_case(n)));
                    match found {
                        Some(i) => OrderTarget::Column(i),
                        None => {
                            let mut e = self.err(
                                o.span,
                                format!("`order by {n}`: `{n}` is not a column of the query"),
                            );
                            e.suggestion = Some(suggest_name(n, &all_names));
                            return Err(e);
                        }
                    }
                }
            };
            order.push(OrderSpec {
                target,
                ci: o.ci,
                descending: o.descending,
            });
        }

        let counting = (mode == Mode::Aggregate
            && rowset.is_none()
            && aggs
                .iter()
                .all(|a| matches!(a.kind, AggKind::CountStar | AggKind::Interval))
            && q.group_by.iter().all(|g| !g.ci))
        .then(|| {
            Some(CountShape {
                predicates: match &q.filter {
                    Some(f) => crate::pushdown::exact(f)?,
                    None => Vec::new(),
                },
                keys: q
                    .group_by
                    .iter()
                    .map(|g| crate::pushdown::Field::of(&g.expr))
                    .collect::<Option<_>>()?,
                time_slice,
            })
        })
        .flatten();

        Ok(Plan {
            mode,
            options,
            filter,
            counting,
            predicates: q
                .filter
                .as_ref()
                .map(crate::pushdown::predicates)
                .unwrap_or_default(),
            range,
            any_ci_key: keys.iter().any(|k| k.ci),
            keys,
            time_slice,
            aggs,
            key_bindings,
            columns,
            names: all_names,
            alias_slots,
            having,
            order,
            limit,
            into: None,
            rowset,
            slots: self.compiler_slots(),
        })
    }

    /// Slots in use: compiling a trivial expression reports the compiler's count.
    fn compiler_slots(&mut self) -> usize {
        let probe = Expr::new(ExprKind::Null, Span::default());
        self.compiler.value(&probe).map_or(0, |c| c.slots)
    }

    fn scalar(
        &mut self,
        q: &Query,
        names: Vec<String>,
        aggs: &[&Expr],
        options: QueryOptions,
    ) -> Result<Plan, QueryError> {
        if let Some(a) = aggs.first() {
            let name = lower_name(a);
            let mut e = self.err(
                a.span,
                format!("the aggregate `{name}` needs events to read: add `from stream`"),
            );
            e.suggestion = Some(format!("select {} from stream", print(a)));
            return Err(e);
        }
        let needs_from = q
            .filter
            .as_ref()
            .map(|f| (f.span, "`where`"))
            .or_else(|| q.group_by.first().map(|g| (g.expr.span, "`group by`")))
            .or_else(|| q.time_slice.map(|(_, s)| (s, "`group by`")))
            .or_else(|| q.having.as_ref().map(|h| (h.span, "`having`")));
        if let Some((span, clause)) = needs_from {
            return Err(self.err(
                span,
                format!("{clause} needs events to read: add `from stream` before it"),
            ));
        }
        if q.into.is_some() && q.columns.len() != 1 {
            return Err(self.err(
                q.columns[1].expr.span,
                "`into` assigns one value, so the query must have exactly one column",
            ));
        }
        let mut columns = Vec::new();
        for c in &q.columns {
            columns.push(self.value(&c.expr)?);
        }
        let alias_slots = vec![None; names.len()];
        Ok(Plan {
            mode: Mode::Scalar,
            options,
            filter: None,
            predicates: Vec::new(),
            counting: None,
            range: (None, None),
            keys: Vec::new(),
            any_ci_key: false,
            time_slice: None,
            aggs: Vec::new(),
            key_bindings: Vec::new(),
            columns,
            names,
            alias_slots,
            having: None,
            order: Vec::new(),
            limit: q
                .limit
                .map_or(DEFAULT_LIMIT, |l| usize::try_from(l).unwrap_or(usize::MAX)),
            into: q.into.clone(),
            rowset: None,
            slots: self.compiler_slots(),
        })
    }

    fn check_not_nested(&self, a: &Expr) -> Result<(), QueryError> {
        let ExprKind::Call { args, .. } = &a.kind else {
            return Ok(());
        };
        let mut inner = Vec::new();
        let lower = lower_name(a);
        for arg in args {
            // `count(distinct(x))` is one aggregate.
            if lower == "count" && lower_name(arg) == "distinct" {
                if let ExprKind::Call { args, .. } = &arg.kind {
                    for x in args {
                        find_aggregates(x, &mut inner);
                    }
                }
                continue;
            }
            find_aggregates(arg, &mut inner);
        }
        match inner.first() {
            Some(i) => Err(self.err(
                i.span,
                format!(
                    "the aggregate `{}` cannot be used inside another aggregate (`{lower}`)",
                    lower_name(i)
                ),
            )),
            None => Ok(()),
        }
    }

    /// A whole number or decimal argument that does not depend on the event.
    fn constant_number(&mut self, e: &Expr, what: &str) -> Result<Decimal, QueryError> {
        if !is_event_independent(e) {
            return Err(self.err(e.span, format!("{what} must be a constant number")));
        }
        let c = self.value(e)?;
        match c.eval(None, self.options.now_ticks) {
            Some(Value::Number(n)) => Ok(n),
            _ => Err(self.err(e.span, format!("{what} must be a constant number"))),
        }
    }

    fn aggregate(&mut self, e: &Expr, time_slice: Option<i64>) -> Result<AggSpec, QueryError> {
        let ExprKind::Call {
            name,
            args,
            ci,
            star,
        } = &e.kind
        else {
            unreachable!("aggregates are calls")
        };
        let lower = name.to_ascii_lowercase();
        let arity = |n: usize| -> Result<(), QueryError> {
            if args.len() == n {
                Ok(())
            } else {
                Err(self.err(
                    e.span,
                    format!(
                        "`{lower}` takes {n} argument{}",
                        if n == 1 { "" } else { "s" }
                    ),
                ))
            }
        };
        if *star && lower != "count" {
            return Err(self.err(e.span, "`*` is only an argument of `count(*)`"));
        }
        if *ci && !matches!(lower.as_str(), "count" | "distinct") {
            return Err(self.err(
                e.span,
                format!("`{lower}` does not accept the `ci` modifier"),
            ));
        }
        let (kind, arg) = match lower.as_str() {
            "count" if *star => {
                if *ci {
                    return Err(self.err(e.span, "`count(*)` does not accept the `ci` modifier"));
                }
                (AggKind::CountStar, None)
            }
            "count" => {
                if args.len() != 1 {
                    return Err(self.err(e.span, "`count` takes `*` or one argument"));
                }
                match &args[0].kind {
                    ExprKind::Call {
                        name: inner,
                        args: inner_args,
                        ci: inner_ci,
                        ..
                    } if inner.eq_ignore_ascii_case("distinct") => {
                        if inner_args.len() != 1 {
                            return Err(self.err(args[0].span, "`distinct` takes 1 argument"));
                        }
                        let arg = self.value(&inner_args[0])?;
                        (
                            AggKind::CountDistinct {
                                ci: *ci || *inner_ci,
                            },
                            Some(arg),
                        )
                    }
                    _ => {
                        if *ci {
                            return Err(self.err(
                                e.span,
                                "`ci` applies to `count(distinct(x)) ci`, not to `count(x)`",
                            ));
                        }
                        (AggKind::Count, Some(self.value(&args[0])?))
                    }
                }
            }
            "distinct" => {
                arity(1)?;
                (AggKind::Distinct { ci: *ci }, Some(self.value(&args[0])?))
            }
            "sum" | "min" | "max" | "mean" => {
                arity(1)?;
                let kind = match lower.as_str() {
                    "sum" => AggKind::Sum,
                    "min" => AggKind::Min,
                    "max" => AggKind::Max,
                    _ => AggKind::Mean,
                };
                (kind, Some(self.value(&args[0])?))
            }
            "percentile" => {
                if !(2..=3).contains(&args.len()) {
                    return Err(self.err(
                        e.span,
                        "`percentile` takes a value and a percentile, as in `percentile(@Elapsed, 95)`",
                    ));
                }
                let p = self.constant_number(&args[1], "the percentile")?;
                if p < Decimal::ZERO || p > Decimal::ONE_HUNDRED {
                    return Err(self.err(args[1].span, "the percentile must be from 0 to 100"));
                }
                if let Some(err) = args.get(2) {
                    // The error bound of an approximation: seqr's percentiles are exact.
                    self.constant_number(err, "the error bound")?;
                }
                (AggKind::Percentile(p), Some(self.value(&args[0])?))
            }
            "phist" => {
                return Err(self.err(
                    e.span,
                    "`phist` is not supported by this seqr build; use `percentile`",
                ));
            }
            "first" | "last" => {
                arity(1)?;
                let kind = if lower == "first" {
                    AggKind::First
                } else {
                    AggKind::Last
                };
                (kind, Some(self.value(&args[0])?))
            }
            "any" | "all" => {
                arity(1)?;
                let kind = if lower == "any" {
                    AggKind::Any
                } else {
                    AggKind::All
                };
                (kind, Some(self.condition(&args[0])?))
            }
            "top" | "bottom" => {
                arity(2)?;
                let n = self.constant_number(&args[1], "the number of values")?;
                let n = (n.fract().is_zero() && n >= Decimal::ZERO)
                    .then(|| usize::try_from(n).ok())
                    .flatten()
                    .ok_or_else(|| {
                        self.err(args[1].span, "the number of values must be a whole number")
                    })?;
                let kind = if lower == "top" {
                    AggKind::Top(n)
                } else {
                    AggKind::Bottom(n)
                };
                (kind, Some(self.value(&args[0])?))
            }
            "interval" => {
                arity(0)?;
                if time_slice.is_none() {
                    return Err(self.err(
                        e.span,
                        "`interval()` is the width of a time slice, so it needs `group by time(…)`",
                    ));
                }
                (AggKind::Interval, None)
            }
            other => unreachable!("`{other}` is not an aggregate"),
        };
        let slot = self.compiler.bind_node(e);
        Ok(AggSpec { kind, slot, arg })
    }

    /// Binds nodes of `e` (outside aggregates) that repeat a group key to that key's value.
    fn bind_keys(
        &mut self,
        e: &Expr,
        keys: &[Grouping],
        skip: &mut HashSet<usize>,
        out: &mut Vec<(usize, usize)>,
    ) {
        if skip.contains(&addr(e)) {
            return;
        }
        if let Some(i) = keys.iter().position(|k| k.expr == *e) {
            let slot = self.compiler.bind_node(e);
            skip.insert(addr(e));
            out.push((slot, i));
            return;
        }
        for c in e.children() {
            self.bind_keys(c, keys, skip, out);
        }
    }

    /// Bounds on `@Timestamp` implied by the top-level conjuncts of `where`, in ticks
    /// (`[lo, hi)`), where the other side does not depend on the event (`Now() - 1d`,
    /// `DateTime('2026-01-01')`).
    fn where_bounds(&mut self, filter: &Expr) -> (Option<i64>, Option<i64>) {
        let mut conjuncts = Vec::new();
        flatten_and(filter, &mut conjuncts);
        let (mut lo, mut hi) = (None, None);
        for c in conjuncts {
            let ExprKind::Binary {
                op, left, right, ..
            } = &c.kind
            else {
                continue;
            };
            let (op, other) = match (&left.kind, &right.kind) {
                (ExprKind::Builtin(Builtin::Timestamp), _) => (*op, &**right),
                (_, ExprKind::Builtin(Builtin::Timestamp)) => {
                    let flipped = match op {
                        BinaryOp::Lt => BinaryOp::Gt,
                        BinaryOp::Le => BinaryOp::Ge,
                        BinaryOp::Gt => BinaryOp::Lt,
                        BinaryOp::Ge => BinaryOp::Le,
                        other => *other,
                    };
                    (flipped, &**left)
                }
                _ => continue,
            };
            if !matches!(
                op,
                BinaryOp::Ge | BinaryOp::Gt | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Eq
            ) || !is_event_independent(other)
            {
                continue;
            }
            let Ok(compiled) = self.compiler.value(other) else {
                continue;
            };
            let Some(Value::Number(n)) = compiled.eval(None, self.options.now_ticks) else {
                continue;
            };
            // Rounded outwards, so the range holds every match (`where` still decides).
            let (Ok(floor), Ok(ceil)) = (i64::try_from(n.floor()), i64::try_from(n.ceil())) else {
                continue;
            };
            let (l, h) = match op {
                BinaryOp::Ge | BinaryOp::Gt => (Some(floor), None),
                BinaryOp::Lt => (None, Some(ceil)),
                BinaryOp::Le => (None, floor.checked_add(1)),
                _ => (Some(floor), floor.checked_add(1)),
            };
            lo = max_opt(lo, l);
            hi = min_opt(hi, h);
        }
        (lo, hi)
    }
}

fn max_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    }
}

fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

fn flatten_and<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    match &e.kind {
        ExprKind::Binary {
            op: BinaryOp::And,
            left,
            right,
            ..
        } => {
            flatten_and(left, out);
            flatten_and(right, out);
        }
        _ => out.push(e),
    }
}

/// The outermost aggregate calls in `e`, in source order.
fn find_aggregates<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    if is_aggregate_call(e) {
        out.push(e);
        return;
    }
    for c in e.children() {
        find_aggregates(c, out);
    }
}

/// The span of the first part of `e` that reads the event, outside the nodes in `skip` and
/// names in `params` (lambda and `let` parameters, column aliases).
fn event_reference(e: &Expr, skip: &HashSet<usize>, params: &mut Vec<String>) -> Option<Span> {
    if skip.contains(&addr(e)) {
        return None;
    }
    match &e.kind {
        ExprKind::Property(name) if !params.contains(name) => Some(e.span),
        ExprKind::Builtin(_) => Some(e.span),
        ExprKind::Call { name, args, .. }
            if args.is_empty()
                && (name.eq_ignore_ascii_case("IsSpan")
                    || name.eq_ignore_ascii_case("IsRootSpan")) =>
        {
            Some(e.span)
        }
        ExprKind::Lambda { params: ps, body } => {
            let depth = params.len();
            params.extend(ps.iter().cloned());
            let found = event_reference(body, skip, params);
            params.truncate(depth);
            found
        }
        ExprKind::Let { bindings, body } => {
            let depth = params.len();
            for (name, value) in bindings {
                if let Some(s) = event_reference(value, skip, params) {
                    params.truncate(depth);
                    return Some(s);
                }
                params.push(name.clone());
            }
            let found = event_reference(body, skip, params);
            params.truncate(depth);
            found
        }
        _ => e
            .children()
            .into_iter()
            .find_map(|c| event_reference(c, skip, params)),
    }
}

/// No property, built-in or event-reading call: the value is the same for every event.
fn is_event_independent(e: &Expr) -> bool {
    event_reference(e, &HashSet::new(), &mut Vec::new()).is_none() && !is_aggregate_call(e)
}

fn suggest_name(name: &str, names: &[String]) -> String {
    if let Some(c) = closest(name, names.iter().map(String::as_str)) {
        return format!("did you mean `{c}`?");
    }
    let shown: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    if shown.is_empty() {
        "name a column with `as`, as in `select count(*) as Total … order by Total`".into()
    } else {
        format!(
            "the columns are {}; name one with `as` to refer to it, as in `select count(*) as Total … order by Total`",
            shown.join(", ")
        )
    }
}
