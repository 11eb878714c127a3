//! SQL-style `select` queries (seq-compat 2.6): planning, aggregation and result shapes.
//!
//! A query is planned once ([`Plan::new`]): the `where` clause is compiled as a condition,
//! every aggregate call in the columns and in `having` is replaced by a slot of the compiled
//! column (so scalar functions compose with aggregates, as in
//! `Round(TotalMilliseconds(percentile(@Elapsed, 95)), 2)`), and each aggregate's argument is
//! compiled to be evaluated per event. An [`Execution`] is then fed the events that match
//! ([`Plan::accepts`]) in any order, and [`Execution::finish`] produces the
//! [`QueryResult`].
//!
//! Three kinds of query:
//! - *scalar*, without `from`: the columns are evaluated once, with no event
//!   (`select 1 + 1`, `select ToIsoString(Now()) into $now`);
//! - *projection*, `from stream` with no aggregate and no `group by`: one row per matching
//!   event, in the order fed (newest first from the store), stopping at the limit unless an
//!   `order by` needs every row;
//! - *aggregate*: one row per group (a single group without `group by`, so
//!   `select count(*) from stream` over nothing is one row holding 0).
//!
//! Choices where Seq's behaviour is not documented (seqr's, kept stable):
//! - Group keys are output columns before the selected ones, named by their alias or their
//!   printed expression. Undefined and `null` keys are the same group, shown as `null`. `ci`
//!   keys compare ignoring case and show the spelling of the group's earliest event.
//! - `group by time(d)` slices are aligned to multiples of `d` ticks since
//!   0001-01-01T00:00:00Z, each slice labelled with its start; only slices holding at least
//!   one event are returned, in ascending time unless `order by time desc`. A lower bound on
//!   `@Timestamp` (the request's `rangeStartUtc` or a `@Timestamp >= x` conjunct of `where`)
//!   is required, as in Seq.
//! - Shapes: no `time()` → `Rows`; `time()` only → `Slices`; `time()` and other keys →
//!   `Series`, one per distinct key, whose rows still hold every column (keys included) so a
//!   row reads the same by column index in every shape.
//! - Rows without `order by` are sorted by their group keys, ascending (null first, then
//!   booleans, numbers, strings, arrays, objects); `order by` sorts stably after that.
//! - `limit` (default 1024) caps the rows of `Rows`, the rows of each slice of `Slices`, and
//!   the number of series of `Series`.
//! - `count(x)` counts defined, non-null values; `count(distinct(x))` the distinct defined,
//!   non-null values; `distinct(x)` lists the distinct defined values (null included) in the
//!   order first seen.
//! - `sum`, `mean`, `min`, `max` use numbers only; over no numbers they are `null` (as SQL).
//! - `percentile(x, p)` is exact: every number is kept, and the result is the nearest-rank
//!   value (the smallest value with at least `p`% of the values at or below it).
//! - `first(x)`/`last(x)` are the value at the earliest/latest event (by timestamp, then
//!   arrival) where `x` is defined.
//! - `top(x, n)`/`bottom(x, n)` list `x` from the `n` latest/earliest events (by timestamp,
//!   then arrival) where it is defined, newest first, one row each.
//! - `any(p)` is false over no events, `all(p)` true.
//! - An aggregate that is undefined (an overflowing `sum`, say) is `null` to the expressions
//!   around it.
//! - `for …` options (`refresh`, `no_cache`, `background`) are accepted and change nothing.
//!
//! Work is bounded: at most [`Limits::max_groups`] groups and [`Limits::max_values`] kept
//! values (percentile inputs, distinct values, top/bottom entries, projection rows), a
//! deadline, and a cancellation flag checked as events are fed.

mod aggregate;
mod execute;
mod keys;
mod plan;
mod result;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use seqr_types::StoredEvent;

use crate::compile::Variables;
use crate::error::ParseError;

pub use execute::{Execution, Flow};
pub use plan::{CountShape, Plan};
pub use result::{QueryResult, ResultData, Series, Slice};

/// Rows returned when a query has no `limit`.
pub const DEFAULT_LIMIT: usize = 1024;

/// Memory bounds of one query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Groups (including time slices) held at once.
    pub max_groups: usize,
    /// Values kept for percentiles, distinct sets, top/bottom and projection rows, in total.
    pub max_values: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_groups: 100_000,
            max_values: 1_000_000,
        }
    }
}

/// How a query runs.
#[derive(Clone, Debug, Default)]
pub struct QueryOptions {
    /// `Now()` for the whole query, in ticks.
    pub now_ticks: i64,
    /// Inclusive lower bound of `@Timestamp` (the request's `rangeStartUtc`), in ticks.
    pub range_start: Option<i64>,
    /// Exclusive upper bound (`rangeEndUtc`), in ticks.
    pub range_end: Option<i64>,
    pub limits: Limits,
    /// Feeding events past this instant fails with [`QueryErrorKind::Timeout`].
    pub deadline: Option<Instant>,
    /// Set to stop the query ([`QueryErrorKind::Cancelled`]), e.g. when the client went away.
    pub cancel: Option<Arc<AtomicBool>>,
}

/// Why a query failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryErrorKind {
    /// The text does not parse or cannot mean anything.
    Invalid,
    /// More groups or kept values than [`Limits`] allows.
    Budget,
    /// The deadline passed.
    Timeout,
    /// The cancellation flag was set.
    Cancelled,
}

/// A query that cannot run, in the shape of Seq's `{Error, Reasons, Suggestion}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryError {
    pub kind: QueryErrorKind,
    /// The whole message, with the position when there is one.
    pub message: String,
    /// The individual problems (one, today).
    pub reasons: Vec<String>,
    pub suggestion: Option<String>,
    /// 1-based character position in the query text.
    pub position: Option<usize>,
}

impl QueryError {
    pub(crate) fn new(kind: QueryErrorKind, message: impl Into<String>) -> QueryError {
        let message = message.into();
        QueryError {
            kind,
            reasons: vec![message.clone()],
            message,
            suggestion: None,
            position: None,
        }
    }

    /// The query needs more groups or kept values than its [`Limits`].
    pub fn budget() -> QueryError {
        QueryError::new(
            QueryErrorKind::Budget,
            "The query needs more memory than its budget allows; narrow the range or group by fewer keys.",
        )
    }

    /// From a located parse or compile error.
    pub fn from_parse(e: ParseError) -> QueryError {
        let kind = if e.syntax { "Syntax error" } else { "Error" };
        let message = format!("{kind} at position {}: {}.", e.position, e.message);
        QueryError {
            kind: QueryErrorKind::Invalid,
            reasons: vec![message.clone()],
            message,
            suggestion: e.suggestion,
            position: Some(e.position),
        }
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(s) = &self.suggestion {
            write!(f, " Suggestion: {s}.")?;
        }
        Ok(())
    }
}

impl std::error::Error for QueryError {}

/// Plans `source` and runs it over `events` (any order; those outside the range or the
/// `where` clause are skipped). For tests and small inputs; the server pages the store
/// through [`Plan::accepts`] and [`Execution::feed`] instead.
pub fn execute<'e>(
    source: &str,
    variables: &Variables,
    options: &QueryOptions,
    events: impl IntoIterator<Item = &'e StoredEvent>,
) -> Result<QueryResult, QueryError> {
    let plan = Plan::new(source, variables, options)?;
    let mut execution = plan.start();
    for e in events {
        if plan.accepts(e) && execution.feed(e)? == Flow::Done {
            break;
        }
    }
    execution.finish()
}
