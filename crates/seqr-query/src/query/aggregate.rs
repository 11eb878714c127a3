//! Aggregate functions: what each one keeps per group and how it ends up as a value.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};

use rust_decimal::Decimal;
use seqr_types::EventId;

use super::QueryError;
use super::keys;
use crate::compile::Compiled;
use crate::value::{Eval, Value};

/// Which aggregate a call is.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum AggKind {
    /// `count(*)`.
    CountStar,
    /// `count(x)`: defined, non-null values.
    Count,
    /// `count(distinct(x)) [ci]`.
    CountDistinct {
        ci: bool,
    },
    /// `distinct(x) [ci]`: a rowset.
    Distinct {
        ci: bool,
    },
    Sum,
    Min,
    Max,
    Mean,
    /// `percentile(x, p)`, `p` in 0..=100.
    Percentile(Decimal),
    First,
    Last,
    Any,
    All,
    /// `top(x, n)`: a rowset of the `n` latest values.
    Top(usize),
    /// `bottom(x, n)`: a rowset of the `n` earliest values.
    Bottom(usize),
    /// `interval()`: the time slice width.
    Interval,
}

impl AggKind {
    /// Aggregates that yield many rows rather than one value.
    pub(crate) fn is_rowset(&self) -> bool {
        matches!(
            self,
            AggKind::Distinct { .. } | AggKind::Top(_) | AggKind::Bottom(_)
        )
    }
}

/// One aggregate call of the plan.
pub(crate) struct AggSpec {
    pub kind: AggKind,
    /// The local slot the call's value is placed in for the column expressions.
    pub slot: usize,
    /// The argument, evaluated per event (`None` for `count(*)` and `interval()`).
    pub arg: Option<Compiled>,
}

/// Counts what a query keeps, against its [`super::Limits`].
pub(crate) struct Budget {
    pub values: usize,
    pub max_values: usize,
}

impl Budget {
    pub(crate) fn take_values(&mut self, n: usize) -> Result<(), QueryError> {
        self.values += n;
        if self.values > self.max_values {
            return Err(QueryError::budget());
        }
        Ok(())
    }
}

/// A value tagged with the event it came from, ordered by the event alone.
pub(crate) struct Tagged(EventId, Value);

impl PartialEq for Tagged {
    fn eq(&self, other: &Tagged) -> bool {
        self.0 == other.0
    }
}
impl Eq for Tagged {}
impl PartialOrd for Tagged {
    fn partial_cmp(&self, other: &Tagged) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Tagged {
    fn cmp(&self, other: &Tagged) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

/// The running state of one aggregate in one group.
pub(crate) enum Acc {
    Count(u64),
    /// Distinct values: their encodings, and (for `distinct(x)`) the values in first-seen order.
    Distinct {
        seen: HashSet<String>,
        values: Vec<Value>,
        keep: bool,
        ci: bool,
    },
    Sum {
        sum: Decimal,
        seen: bool,
        overflow: bool,
    },
    Min(Option<Decimal>),
    Max(Option<Decimal>),
    Mean {
        sum: Decimal,
        n: u64,
        overflow: bool,
    },
    Values(Vec<Decimal>),
    First(Option<(EventId, Value)>),
    Last(Option<(EventId, Value)>),
    Any(bool),
    All(bool),
    /// The `n` latest: a min-heap, so the earliest kept is dropped first.
    Top(usize, BinaryHeap<Reverse<Tagged>>),
    /// The `n` earliest: a max-heap.
    Bottom(usize, BinaryHeap<Tagged>),
    Interval,
}

impl Acc {
    pub(crate) fn new(kind: &AggKind) -> Acc {
        match kind {
            AggKind::CountStar | AggKind::Count => Acc::Count(0),
            AggKind::CountDistinct { ci } => Acc::Distinct {
                seen: HashSet::new(),
                values: Vec::new(),
                keep: false,
                ci: *ci,
            },
            AggKind::Distinct { ci } => Acc::Distinct {
                seen: HashSet::new(),
                values: Vec::new(),
                keep: true,
                ci: *ci,
            },
            AggKind::Sum => Acc::Sum {
                sum: Decimal::ZERO,
                seen: false,
                overflow: false,
            },
            AggKind::Min => Acc::Min(None),
            AggKind::Max => Acc::Max(None),
            AggKind::Mean => Acc::Mean {
                sum: Decimal::ZERO,
                n: 0,
                overflow: false,
            },
            AggKind::Percentile(_) => Acc::Values(Vec::new()),
            AggKind::First => Acc::First(None),
            AggKind::Last => Acc::Last(None),
            AggKind::Any => Acc::Any(false),
            AggKind::All => Acc::All(true),
            AggKind::Top(n) => Acc::Top(*n, BinaryHeap::new()),
            AggKind::Bottom(n) => Acc::Bottom(*n, BinaryHeap::new()),
            AggKind::Interval => Acc::Interval,
        }
    }

    /// Adds one event's value of the argument of a `kind` aggregate (`None`: undefined;
    /// ignored by `count(*)`).
    pub(crate) fn update(
        &mut self,
        kind: &AggKind,
        v: Eval,
        id: EventId,
        budget: &mut Budget,
    ) -> Result<(), QueryError> {
        match self {
            Acc::Count(n) => {
                if *kind == AggKind::CountStar || !matches!(v, None | Some(Value::Null)) {
                    *n += 1;
                }
            }
            Acc::Distinct {
                seen,
                values,
                keep,
                ci,
            } => {
                let Some(v) = v else { return Ok(()) };
                if !*keep && matches!(v, Value::Null) {
                    return Ok(());
                }
                let mut key = String::new();
                keys::encode(&Some(v.clone()), *ci, &mut key);
                if seen.insert(key) {
                    budget.take_values(1)?;
                    if *keep {
                        values.push(v);
                    }
                }
            }
            Acc::Sum {
                sum,
                seen,
                overflow,
            } => {
                if let Some(Value::Number(x)) = v {
                    *seen = true;
                    match sum.checked_add(x) {
                        Some(s) => *sum = s,
                        None => *overflow = true,
                    }
                }
            }
            Acc::Min(m) => {
                if let Some(Value::Number(x)) = v {
                    *m = Some(m.map_or(x, |m| m.min(x)));
                }
            }
            Acc::Max(m) => {
                if let Some(Value::Number(x)) = v {
                    *m = Some(m.map_or(x, |m| m.max(x)));
                }
            }
            Acc::Mean { sum, n, overflow } => {
                if let Some(Value::Number(x)) = v {
                    *n += 1;
                    match sum.checked_add(x) {
                        Some(s) => *sum = s,
                        None => *overflow = true,
                    }
                }
            }
            Acc::Values(values) => {
                if let Some(Value::Number(x)) = v {
                    budget.take_values(1)?;
                    values.push(x);
                }
            }
            Acc::First(slot) => {
                if let Some(v) = v
                    && slot.as_ref().is_none_or(|(at, _)| id < *at)
                {
                    *slot = Some((id, v));
                }
            }
            Acc::Last(slot) => {
                if let Some(v) = v
                    && slot.as_ref().is_none_or(|(at, _)| id > *at)
                {
                    *slot = Some((id, v));
                }
            }
            Acc::Any(b) => *b |= matches!(v, Some(Value::Bool(true))),
            Acc::All(b) => *b &= matches!(v, Some(Value::Bool(true))),
            Acc::Top(n, heap) => {
                let Some(v) = v else { return Ok(()) };
                if heap.len() < *n {
                    budget.take_values(1)?;
                    heap.push(Reverse(Tagged(id, v)));
                } else if heap.peek().is_some_and(|Reverse(t)| t.0 < id) {
                    heap.pop();
                    heap.push(Reverse(Tagged(id, v)));
                }
            }
            Acc::Bottom(n, heap) => {
                let Some(v) = v else { return Ok(()) };
                if heap.len() < *n {
                    budget.take_values(1)?;
                    heap.push(Tagged(id, v));
                } else if heap.peek().is_some_and(|t| t.0 > id) {
                    heap.pop();
                    heap.push(Tagged(id, v));
                }
            }
            Acc::Interval => {}
        }
        Ok(())
    }

    /// The aggregate's value (undefined becomes `null`, as slots hold values).
    pub(crate) fn value(&self, kind: &AggKind, interval: Option<i64>) -> Value {
        match self {
            Acc::Count(n) => Value::Number(Decimal::from(*n)),
            Acc::Distinct { seen, .. } => Value::Number(Decimal::from(seen.len())),
            Acc::Sum {
                sum,
                seen: true,
                overflow: false,
            } => Value::Number(*sum),
            Acc::Sum { .. } => Value::Null,
            Acc::Min(m) | Acc::Max(m) => m.map_or(Value::Null, Value::Number),
            Acc::Mean {
                sum,
                n,
                overflow: false,
            } if *n > 0 => sum
                .checked_div(Decimal::from(*n))
                .map_or(Value::Null, Value::Number),
            Acc::Mean { .. } => Value::Null,
            Acc::Values(values) => {
                let AggKind::Percentile(p) = kind else {
                    return Value::Null;
                };
                percentile(values, *p).map_or(Value::Null, Value::Number)
            }
            Acc::First(slot) | Acc::Last(slot) => {
                slot.as_ref().map_or(Value::Null, |(_, v)| v.clone())
            }
            Acc::Any(b) | Acc::All(b) => Value::Bool(*b),
            Acc::Top(..) | Acc::Bottom(..) => Value::Null,
            Acc::Interval => interval.map_or(Value::Null, Value::from_i64),
        }
    }

    /// The rows of a rowset aggregate: distinct values in first-seen order, top/bottom values
    /// newest first.
    pub(crate) fn rowset(self) -> Vec<Value> {
        match self {
            Acc::Distinct { values, .. } => values,
            Acc::Top(_, heap) => {
                let mut v: Vec<Tagged> = heap.into_iter().map(|Reverse(t)| t).collect();
                v.sort_by(|a, b| b.cmp(a));
                v.into_iter().map(|t| t.1).collect()
            }
            Acc::Bottom(_, heap) => {
                let mut v: Vec<Tagged> = heap.into_vec();
                v.sort_by(|a, b| b.cmp(a));
                v.into_iter().map(|t| t.1).collect()
            }
            _ => Vec::new(),
        }
    }
}

/// Nearest-rank percentile: the value at rank ceil(p/100 * n), at least the first.
fn percentile(values: &[Decimal], p: Decimal) -> Option<Decimal> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let n = Decimal::from(sorted.len());
    let rank = (p / Decimal::ONE_HUNDRED * n).ceil();
    let rank = usize::try_from(rank).unwrap_or(1).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let v: Vec<Decimal> = (1..=10).rev().map(Decimal::from).collect();
        assert_eq!(percentile(&v, Decimal::from(50)), Some(Decimal::from(5)));
        assert_eq!(percentile(&v, Decimal::from(95)), Some(Decimal::from(10)));
        assert_eq!(percentile(&v, Decimal::from(90)), Some(Decimal::from(9)));
        assert_eq!(percentile(&v, Decimal::ZERO), Some(Decimal::from(1)));
        assert_eq!(percentile(&v, Decimal::from(100)), Some(Decimal::from(10)));
        assert_eq!(percentile(&[], Decimal::from(50)), None);
    }
}
