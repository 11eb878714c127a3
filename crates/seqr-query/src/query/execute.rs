//! Running a plan: events are fed one at a time into groups (or projection rows), then
//! `finish` computes the columns, applies `having`, orders, limits and shapes the result.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::atomic::Ordering as AtomicOrdering;
use std::time::Instant;

use seqr_types::{EventId, StoredEvent};

use super::aggregate::{Acc, AggKind, Budget};
use super::keys;
use super::plan::{Mode, OrderSpec, OrderTarget, Plan};
use super::result::{QueryResult, ResultData, Series, Slice};
use super::{QueryError, QueryErrorKind};
use crate::compile::Ctx;
use crate::value::{Eval, Value};

/// Whether more events could change the result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// The result is decided (a projection reached its limit, or the query is scalar).
    Done,
}

/// Events between checks of the deadline and the cancellation flag.
const CHECK_EVERY: u64 = 256;

type Row = Vec<Eval>;
/// Rows by slice start.
type Timeline = BTreeMap<i64, Vec<Row>>;
/// A finished row with the slice and keys of its group.
type Placed = (Option<i64>, Vec<Eval>, Row);

struct Group {
    slice: Option<i64>,
    keys: Vec<Eval>,
    /// The earliest event seen: `ci` keys show its spelling.
    earliest: EventId,
    accs: Vec<Acc>,
}

/// One run of a [`Plan`].
pub struct Execution<'p> {
    plan: &'p Plan,
    index: HashMap<String, usize>,
    groups: Vec<Group>,
    rows: Vec<Row>,
    budget: Budget,
    fed: u64,
    scratch: Vec<Eval>,
    key_buf: String,
}

impl<'p> Execution<'p> {
    pub(crate) fn new(plan: &'p Plan) -> Execution<'p> {
        Execution {
            plan,
            index: HashMap::new(),
            groups: Vec::new(),
            rows: Vec::new(),
            budget: Budget {
                values: 0,
                max_values: plan.options.limits.max_values,
            },
            fed: 0,
            scratch: vec![None; plan.slots],
            key_buf: String::new(),
        }
    }

    /// Events fed so far.
    pub fn events_fed(&self) -> u64 {
        self.fed
    }

    /// Fails when the deadline has passed or the query was cancelled.
    pub fn check(&self) -> Result<(), QueryError> {
        let o = &self.plan.options;
        if o.cancel
            .as_ref()
            .is_some_and(|c| c.load(AtomicOrdering::Relaxed))
        {
            return Err(QueryError::new(
                QueryErrorKind::Cancelled,
                "The query was cancelled.",
            ));
        }
        if o.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(QueryError::new(
                QueryErrorKind::Timeout,
                "The query did not complete within its timeout.",
            ));
        }
        Ok(())
    }

    /// Adds one event that the plan [accepts](Plan::accepts).
    pub fn feed(&mut self, event: &StoredEvent) -> Result<Flow, QueryError> {
        self.fed += 1;
        if self.fed.is_multiple_of(CHECK_EVERY) {
            self.check()?;
        }
        match self.plan.mode {
            Mode::Scalar => Ok(Flow::Done),
            Mode::Projection => self.project(event),
            Mode::Aggregate => {
                self.aggregate(event)?;
                Ok(Flow::Continue)
            }
        }
    }

    fn project(&mut self, event: &StoredEvent) -> Result<Flow, QueryError> {
        let plan = self.plan;
        let mut ctx = Ctx {
            event: Some(event),
            now_ticks: plan.options.now_ticks,
            locals: std::mem::take(&mut self.scratch),
        };
        let row: Row = plan.columns.iter().map(|c| c.eval_in(&mut ctx)).collect();
        let keep = match &plan.having {
            Some(h) => {
                bind_aliases(plan, &row, &mut ctx.locals);
                matches!(h.eval_in(&mut ctx), Some(Value::Bool(true)))
            }
            None => true,
        };
        self.scratch = ctx.locals;
        if !keep {
            return Ok(Flow::Continue);
        }
        self.budget.take_values(1)?;
        self.rows.push(row);
        if plan.order.is_empty() {
            if self.rows.len() >= plan.limit {
                return Ok(Flow::Done);
            }
        } else if self.rows.len() >= plan.limit.saturating_mul(2).max(4096) {
            // Keep only the best `limit` rows so far: a bounded top-k.
            sort_rows(&mut self.rows, &plan.order);
            let dropped = self.rows.len().saturating_sub(plan.limit);
            self.rows.truncate(plan.limit);
            self.budget.values -= dropped;
        }
        Ok(Flow::Continue)
    }

    fn aggregate(&mut self, event: &StoredEvent) -> Result<(), QueryError> {
        let plan = self.plan;
        let mut ctx = Ctx {
            event: Some(event),
            now_ticks: plan.options.now_ticks,
            locals: std::mem::take(&mut self.scratch),
        };
        let slice = plan
            .time_slice
            .map(|w| event.event.timestamp.ticks().div_euclid(w) * w);
        let key_values: Vec<Eval> = plan
            .keys
            .iter()
            .map(|k| k.value.eval_in(&mut ctx))
            .collect();
        self.key_buf.clear();
        if let Some(s) = slice {
            let _ = write!(self.key_buf, "{s}|");
        }
        for (k, v) in plan.keys.iter().zip(&key_values) {
            keys::encode(v, k.ci, &mut self.key_buf);
        }
        let index = match self.index.get(&self.key_buf) {
            Some(i) => {
                let g = &mut self.groups[*i];
                if plan.any_ci_key && event.id < g.earliest {
                    g.earliest = event.id;
                    g.keys = key_values;
                }
                *i
            }
            None => {
                if self.groups.len() >= plan.options.limits.max_groups {
                    self.scratch = ctx.locals;
                    return Err(QueryError::budget());
                }
                let i = self.groups.len();
                self.groups.push(Group {
                    slice,
                    keys: key_values,
                    earliest: event.id,
                    accs: plan.aggs.iter().map(|a| Acc::new(&a.kind)).collect(),
                });
                self.index.insert(self.key_buf.clone(), i);
                i
            }
        };
        let group = &mut self.groups[index];
        let mut result = Ok(());
        for (spec, acc) in plan.aggs.iter().zip(&mut group.accs) {
            let v = match (&spec.kind, &spec.arg) {
                (AggKind::Interval, _) => continue,
                (_, Some(arg)) => arg.eval_in(&mut ctx),
                (_, None) => None,
            };
            if let Err(e) = acc.update(&spec.kind, v, event.id, &mut self.budget) {
                result = Err(e);
                break;
            }
        }
        self.scratch = ctx.locals;
        result
    }

    /// Adds `count` events of one group, counted by a store for a plan with a
    /// [`counting`](Plan::counting) shape: `slice` is the start of the event's time slice
    /// (`None` without `group by time()`), `keys` the values of the shape's fields.
    pub fn add_count(
        &mut self,
        slice: Option<i64>,
        keys: Vec<Eval>,
        count: u64,
    ) -> Result<(), QueryError> {
        let plan = self.plan;
        debug_assert!(plan.counting().is_some(), "a counting plan");
        self.fed += count;
        self.key_buf.clear();
        if let Some(s) = slice {
            let _ = write!(self.key_buf, "{s}|");
        }
        for (k, v) in plan.keys.iter().zip(&keys) {
            keys::encode(v, k.ci, &mut self.key_buf);
        }
        let index = match self.index.get(&self.key_buf) {
            Some(i) => *i,
            None => {
                if self.groups.len() >= plan.options.limits.max_groups {
                    return Err(QueryError::budget());
                }
                self.groups.push(Group {
                    slice,
                    keys,
                    earliest: EventId::default(),
                    accs: plan.aggs.iter().map(|a| Acc::new(&a.kind)).collect(),
                });
                self.index
                    .insert(self.key_buf.clone(), self.groups.len() - 1);
                self.groups.len() - 1
            }
        };
        for acc in &mut self.groups[index].accs {
            if let Acc::Count(n) = acc {
                *n += count;
            }
        }
        Ok(())
    }

    /// Computes the result.
    pub fn finish(mut self) -> Result<QueryResult, QueryError> {
        let plan = self.plan;
        let columns = plan.names.clone();
        match plan.mode {
            Mode::Scalar => {
                let mut ctx = Ctx {
                    event: None,
                    now_ticks: plan.options.now_ticks,
                    locals: std::mem::take(&mut self.scratch),
                };
                let row: Row = plan.columns.iter().map(|c| c.eval_in(&mut ctx)).collect();
                let variables = plan.into.as_ref().map(|name| {
                    vec![(
                        name.clone(),
                        row.first().cloned().flatten().unwrap_or(Value::Null),
                    )]
                });
                Ok(QueryResult {
                    columns,
                    data: ResultData::Rows(vec![row]),
                    variables,
                    interval_ticks: None,
                })
            }
            Mode::Projection => {
                let mut rows = std::mem::take(&mut self.rows);
                sort_rows(&mut rows, &plan.order);
                rows.truncate(plan.limit);
                Ok(QueryResult {
                    columns,
                    data: ResultData::Rows(rows),
                    variables: None,
                    interval_ticks: None,
                })
            }
            Mode::Aggregate => self.finish_groups(columns),
        }
    }

    fn finish_groups(mut self, columns: Vec<String>) -> Result<QueryResult, QueryError> {
        let plan = self.plan;
        if self.groups.is_empty() && plan.keys.is_empty() && plan.time_slice.is_none() {
            // No `group by`: one row even over no events (`count(*)` is 0).
            self.groups.push(Group {
                slice: None,
                keys: Vec::new(),
                earliest: EventId::default(),
                accs: plan.aggs.iter().map(|a| Acc::new(&a.kind)).collect(),
            });
        }
        // Groups in key order, so rows without `order by` come out sorted by their keys.
        let mut groups = std::mem::take(&mut self.groups);
        groups.sort_by(|a, b| compare_keys(plan, &a.keys, &b.keys));

        let mut out: Vec<Placed> = Vec::new();
        let mut locals = std::mem::take(&mut self.scratch);
        for (n, group) in groups.into_iter().enumerate() {
            if n % 1024 == 1023 {
                self.check()?;
            }
            self.finish_group(group, &mut locals, &mut out);
        }

        let data = match (plan.time_slice, plan.keys.is_empty()) {
            (None, _) => {
                let mut rows: Vec<Row> = out.into_iter().map(|(_, _, r)| r).collect();
                sort_rows(&mut rows, &plan.order);
                rows.truncate(plan.limit);
                ResultData::Rows(rows)
            }
            (Some(_), true) => {
                let mut slices = Timeline::new();
                for (slice, _, row) in out {
                    slices.entry(slice.unwrap_or(0)).or_default().push(row);
                }
                ResultData::Slices(self.slices(slices))
            }
            (Some(_), false) => {
                let mut index: HashMap<String, usize> = HashMap::new();
                let mut series: Vec<(Vec<Eval>, Timeline)> = Vec::new();
                for (slice, key, row) in out {
                    let mut enc = String::new();
                    for (k, v) in plan.keys.iter().zip(&key) {
                        keys::encode(v, k.ci, &mut enc);
                    }
                    let i = *index.entry(enc).or_insert_with(|| {
                        series.push((key, BTreeMap::new()));
                        series.len() - 1
                    });
                    series[i].1.entry(slice.unwrap_or(0)).or_default().push(row);
                }
                // Series in key order, then by any `order by` naming a key.
                series.sort_by(|a, b| compare_keys(plan, &a.0, &b.0));
                let key_order: Vec<&OrderSpec> = plan
                    .order
                    .iter()
                    .filter(|o| matches!(o.target, OrderTarget::Column(i) if i < plan.keys.len()))
                    .collect();
                series.sort_by(|a, b| {
                    for o in &key_order {
                        let OrderTarget::Column(i) = o.target else {
                            continue;
                        };
                        let c = directed(keys::compare(&a.0[i], &b.0[i], o.ci), o.descending);
                        if c != Ordering::Equal {
                            return c;
                        }
                    }
                    Ordering::Equal
                });
                series.truncate(plan.limit);
                ResultData::Series(
                    series
                        .into_iter()
                        .map(|(key, slices)| Series {
                            key,
                            slices: self.slices(slices),
                        })
                        .collect(),
                )
            }
        };
        Ok(QueryResult {
            columns,
            data,
            variables: None,
            interval_ticks: plan.time_slice,
        })
    }

    /// Time-ordered slices, each with its rows ordered and limited.
    fn slices(&self, slices: Timeline) -> Vec<Slice> {
        let plan = self.plan;
        let mut out: Vec<Slice> = slices
            .into_iter()
            .map(|(time, mut rows)| {
                sort_rows(&mut rows, &plan.order);
                rows.truncate(plan.limit);
                Slice { time, rows }
            })
            .collect();
        let descending = plan
            .order
            .iter()
            .find(|o| o.target == OrderTarget::Time)
            .is_some_and(|o| o.descending);
        if descending {
            out.reverse();
        }
        out
    }

    /// The rows of one group (several for a rowset aggregate), after `having`.
    fn finish_group(&self, group: Group, locals: &mut Vec<Eval>, out: &mut Vec<Placed>) {
        let plan = self.plan;
        locals.clear();
        locals.resize(plan.slots, None);
        let mut rowset = None;
        for (i, (spec, acc)) in plan.aggs.iter().zip(group.accs).enumerate() {
            if plan.rowset == Some(i) {
                rowset = Some((spec.slot, acc.rowset()));
            } else {
                locals[spec.slot] = Some(acc.value(&spec.kind, plan.time_slice));
            }
        }
        for (slot, k) in &plan.key_bindings {
            locals[*slot] = group.keys[*k].clone();
        }
        let candidates: Vec<Option<(usize, Value)>> = match rowset {
            None => vec![None],
            Some((slot, values)) => values.into_iter().map(|v| Some((slot, v))).collect(),
        };
        let mut ctx = Ctx {
            event: None,
            now_ticks: plan.options.now_ticks,
            locals: std::mem::take(locals),
        };
        for candidate in candidates {
            if let Some((slot, v)) = candidate {
                ctx.locals[slot] = Some(v);
            }
            let mut row: Row = group.keys.clone();
            for c in &plan.columns {
                row.push(c.eval_in(&mut ctx));
            }
            if let Some(h) = &plan.having {
                bind_aliases(plan, &row, &mut ctx.locals);
                if !matches!(h.eval_in(&mut ctx), Some(Value::Bool(true))) {
                    continue;
                }
            }
            out.push((group.slice, group.keys.clone(), row));
        }
        *locals = ctx.locals;
    }
}

/// Places a row's values in the slots `having` reads them from by name.
fn bind_aliases(plan: &Plan, row: &[Eval], locals: &mut Vec<Eval>) {
    if locals.len() < plan.slots {
        locals.resize(plan.slots, None);
    }
    for (slot, v) in plan.alias_slots.iter().zip(row) {
        if let Some(slot) = slot {
            locals[*slot] = v.clone();
        }
    }
}

fn directed(o: Ordering, descending: bool) -> Ordering {
    if descending { o.reverse() } else { o }
}

fn compare_keys(plan: &Plan, a: &[Eval], b: &[Eval]) -> Ordering {
    for ((k, x), y) in plan.keys.iter().zip(a).zip(b) {
        let o = keys::compare(x, y, k.ci);
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// Stable sort by the `order by` columns (time is ordered by the caller).
fn sort_rows(rows: &mut [Row], order: &[OrderSpec]) {
    if !order
        .iter()
        .any(|o| matches!(o.target, OrderTarget::Column(_)))
    {
        return;
    }
    rows.sort_by(|a, b| {
        for o in order {
            let OrderTarget::Column(i) = o.target else {
                continue;
            };
            let c = directed(keys::compare(&a[i], &b[i], o.ci), o.descending);
            if c != Ordering::Equal {
                return c;
            }
        }
        Ordering::Equal
    });
}
