//! Counting matching events per group from columns alone: `select count(*) from stream
//! where … group by …` without rebuilding events.
//!
//! The filter arrives as an exact conjunction of predicates ([`seqr_query::pushdown::exact`]).
//! Each block is evaluated a predicate at a time into a per-row state (no, maybe, yes),
//! reading only the columns the predicates and keys name; string predicates run once per
//! dictionary value, not once per row. Rows the columns decide (`yes`) are counted into
//! groups; rows they cannot decide (`maybe`: a message template with holes, a property that
//! is an object) are rebuilt as events and handed to the caller, who evaluates its filter on
//! them as a search would. Blocks are counted in parallel on all cores; memtable events,
//! still row-encoded, are always handed over.

use std::collections::hash_map::Entry;

use foldhash::{HashMap, HashMapExt};
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Instant;

use rust_decimal::Decimal;
use seqr_query::Value;
use seqr_query::pushdown::{Field, Matcher, Predicate};
use seqr_query::value::Eval;
use seqr_types::{EventId, StoredEvent, Timestamp};

use crate::cache::{BlockCache, ColumnCache};
use crate::codec::RowView;
use crate::part::block::{BlockHeader, cell_value};
use crate::part::cell::{T_INT, T_STR};
use crate::part::column::{self, Column, Strings};
use crate::part::json::{Token as JsonToken, Walker};
use crate::part::names::{self, Builtin, R_PROPS};
use crate::part::{LazyRows, Part, PartError};
use crate::text_block::BlockText;
use crate::{ReadError, Shared, codec, prune, read, text_search};

/// One count: the events of `[from, to)` satisfying every predicate, per group.
pub struct CountRequest<'r> {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    /// The filter, exactly: an event matches if and only if it satisfies all of them.
    pub predicates: &'r [Predicate],
    /// Group keys, in order.
    pub keys: &'r [Field],
    /// Width of `group by time()` slices in ticks (slices start at multiples of it).
    pub slice: Option<i64>,
    /// Fail with [`CountError::TooManyGroups`] beyond this many groups (0: no bound), so a
    /// `group by` over a high-cardinality property cannot take unbounded memory.
    pub max_groups: usize,
    /// Stop (with [`CountError::Stopped`]) once past this instant.
    pub deadline: Option<Instant>,
    /// Stop when set.
    pub cancel: Option<&'r AtomicBool>,
}

/// The events counted in one group.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupCount {
    /// The slice's start, with `group by time()`.
    pub slice: Option<i64>,
    /// One value per key (`None`: undefined).
    pub keys: Vec<Eval>,
    pub count: u64,
}

/// What a count found.
#[derive(Debug, Default)]
pub struct CountReport {
    /// Groups of events decided from columns (in no particular order).
    pub groups: Vec<GroupCount>,
    /// Events decided from columns, matching or not.
    pub decided: u64,
    /// Events handed to the caller to decide.
    pub handed_over: u64,
}

/// Why a count did not finish.
#[derive(Debug)]
pub enum CountError {
    Read(ReadError),
    /// The deadline passed, the cancellation flag was set, or the caller broke off.
    Stopped,
    /// More groups than [`CountRequest::max_groups`].
    TooManyGroups,
}

impl From<ReadError> for CountError {
    fn from(e: ReadError) -> CountError {
        CountError::Read(e)
    }
}

/// Row states, ordered so that AND is `min`.
pub(crate) const NO: u8 = 0;
pub(crate) const MAYBE: u8 = 1;
pub(crate) const YES: u8 = 2;

/// Events rebuilt per message to the calling thread.
const HANDOVER_BATCH: usize = 512;

pub(crate) fn count(
    shared: &Shared,
    req: &CountRequest<'_>,
    undecided: &mut dyn FnMut(StoredEvent) -> ControlFlow<()>,
) -> Result<CountReport, CountError> {
    let lower = req.from.map(EventId::first_at);
    let upper = req.to.map(EventId::first_at);
    let mut report = CountReport::default();
    if matches!((lower, upper), (Some(l), Some(u)) if l >= u) {
        return Ok(report);
    }
    let prepared = Prepared::new(req, lower, upper);
    let (memtables, parts) = shared.snapshot();

    let mut mem_groups: HashMap<Vec<KeyOwned>, u64> = HashMap::new();
    let blocks: Vec<(Arc<Part>, usize)> = parts
        .iter()
        .filter(|p| upper.is_none_or(|u| p.info.min < u) && lower.is_none_or(|l| p.info.max >= l))
        .flat_map(|p| {
            p.blocks
                .iter()
                .enumerate()
                .filter(|(_, m)| {
                    upper.is_none_or(|u| m.min < u) && lower.is_none_or(|l| m.max >= l)
                })
                .map(|(b, _)| (Arc::clone(p), b))
                .collect::<Vec<_>>()
        })
        .collect();
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(blocks.len().div_ceil(4))
        .max(1);
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let (tx, rx) = mpsc::sync_channel::<Vec<StoredEvent>>(workers * 2);
    let cache = &shared.cache;
    let mut mem_error = None;
    let results: Vec<Result<Worker, (Arc<Part>, PartError)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let tx = tx.clone();
                let (blocks, next, failed, prepared) = (&blocks, &next, &failed, &prepared);
                s.spawn(move || {
                    let mut w = Worker::default();
                    loop {
                        if failed.load(Ordering::Relaxed) || prepared.stopped() {
                            w.stopped = true;
                            break;
                        }
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((part, b)) = blocks.get(i) else {
                            break;
                        };
                        if let Err(e) = w.block(shared, cache, part, *b, prepared) {
                            failed.store(true, Ordering::Relaxed);
                            return Err((Arc::clone(part), e));
                        }
                        if prepared.max_groups > 0 && w.groups.len() > prepared.max_groups {
                            w.too_many = true;
                            failed.store(true, Ordering::Relaxed);
                            break;
                        }
                        if w.undecided.len() >= HANDOVER_BATCH
                            && tx.send(std::mem::take(&mut w.undecided)).is_err()
                        {
                            w.stopped = true;
                            break;
                        }
                    }
                    if !w.undecided.is_empty() {
                        let _ = tx.send(std::mem::take(&mut w.undecided));
                    }
                    Ok(w)
                })
            })
            .collect();
        drop(tx);
        let mut broke = false;
        if let Err(e) = count_memtables(
            &memtables,
            &prepared,
            &mut report,
            &mut mem_groups,
            undecided,
        ) {
            failed.store(true, Ordering::Relaxed);
            broke = true;
            mem_error = Some(e);
        }
        for batch in rx {
            if broke {
                continue;
            }
            for e in batch {
                report.handed_over += 1;
                if undecided(e).is_break() {
                    broke = true;
                    failed.store(true, Ordering::Relaxed);
                    break;
                }
            }
        }
        let mut out: Vec<_> = handles
            .into_iter()
            .map(|h| h.join().expect("a count worker panicked"))
            .collect();
        if broke {
            out.push(Ok(Worker {
                stopped: true,
                ..Worker::default()
            }));
        }
        out
    });

    if let Some(e) = mem_error {
        return Err(e);
    }
    let mut merged = mem_groups;
    let mut stopped = false;
    let mut too_many = false;
    for r in results {
        let w = r.map_err(|(part, e)| shared.part_read_error(&part, e))?;
        stopped |= w.stopped;
        too_many |= w.too_many;
        report.decided += w.decided;
        for (k, n) in w.groups {
            *merged.entry(k).or_default() += n;
        }
        too_many |= req.max_groups > 0 && merged.len() > req.max_groups;
        if too_many {
            return Err(CountError::TooManyGroups);
        }
    }
    if stopped {
        return Err(CountError::Stopped);
    }
    report.groups = merged
        .into_iter()
        .map(|(k, count)| {
            let mut k = k.into_iter();
            let slice = match req.slice {
                Some(_) => match k.next() {
                    Some(KeyOwned::Int(s)) => Some(s),
                    _ => None,
                },
                None => None,
            };
            GroupCount {
                slice,
                keys: k.map(KeyOwned::into_eval).collect(),
                count,
            }
        })
        .collect();
    Ok(report)
}

/// Each row's state (no, maybe, yes) under the predicates, from the columns they name
/// (read into `readers`, which the caller may reuse for keys).
pub(crate) fn select(
    part: &Part,
    b: usize,
    h: &BlockHeader,
    p: &Prepared<'_>,
    columns: &ColumnCache,
    rows: &LazyRows<'_>,
    readers: &mut HashMap<u32, Reader>,
) -> Result<Vec<u8>, PartError> {
    let (min, max) = (part.blocks[b].min, part.blocks[b].max);
    let n = h.rows as usize;
    let mut state = vec![YES; n];
    if p.lower.is_some_and(|l| min < l) || p.upper.is_some_and(|u| max >= u) {
        for (row, id) in rows.ids()?.iter().enumerate() {
            if p.lower.is_some_and(|l| *id < l) || p.upper.is_some_and(|u| *id >= u) {
                state[row] = NO;
            }
        }
    }
    let reader = |readers: &mut HashMap<u32, Reader>, node: u32| {
        if let Entry::Vacant(e) = readers.entry(node) {
            e.insert(read_field(part, b, h, rows, node, columns)?);
        }
        Ok::<(), PartError>(())
    };
    for (pred, m) in p.predicates.iter().zip(&p.matchers) {
        if state.iter().all(|&s| s == NO) {
            break;
        }
        match pred {
            Predicate::TimeRange { from, to }
                if from.is_some_and(|f| min.ticks < f) || to.is_some_and(|t| max.ticks >= t) =>
            {
                for (row, id) in rows.ids()?.iter().enumerate() {
                    if from.is_some_and(|f| id.ticks < f) || to.is_some_and(|t| id.ticks >= t) {
                        state[row] = NO;
                    }
                }
            }
            Predicate::TimeRange { .. } => {}
            Predicate::LevelIn { .. } => {
                let node = names::builtin_node(Builtin::Level);
                reader(readers, node)?;
                test_strings(&readers[&node], m, Some("Information"), &mut state);
            }
            Predicate::TraceId(_) | Predicate::SpanId(_) => {
                let bt = if matches!(pred, Predicate::TraceId(_)) {
                    Builtin::TraceId
                } else {
                    Builtin::SpanId
                };
                let node = names::builtin_node(bt);
                reader(readers, node)?;
                test_strings(&readers[&node], m, None, &mut state);
            }
            Predicate::PropertyEquals { name, .. } | Predicate::PropertyPrefix { name, .. } => {
                match property_node(part, h, name) {
                    PropertyColumn::None => state.fill(NO),
                    PropertyColumn::Unreadable => cap(&mut state, MAYBE),
                    PropertyColumn::Leaf(node) => {
                        reader(readers, node)?;
                        test_strings(&readers[&node], m, None, &mut state);
                    }
                }
            }
            Predicate::Text { .. } => {
                let block = BlockText::new(part, b, h, columns, m, &p.templates);
                let nodes = [Builtin::Message, Builtin::Template, Builtin::Exception]
                    .map(names::builtin_node);
                // An exception column whose filter rules the text out is not read.
                let exceptions = block.column_may_contain(nodes[2])?;
                for node in &nodes[..2 + usize::from(exceptions)] {
                    reader(readers, *node)?;
                }
                let pending = text_search::test_text(
                    [
                        &readers[&nodes[0]],
                        &readers[&nodes[1]],
                        if exceptions {
                            &readers[&nodes[2]]
                        } else {
                            &Reader::Absent
                        },
                    ],
                    &block,
                    m,
                    &mut state,
                )?;
                text_search::decide_pending(
                    pending, part, b, h, columns, rows, readers, m, &mut state,
                )?;
            }
        }
    }
    Ok(state)
}

/// Decides memtable rows from their encoded fields where they can be (on the calling
/// thread, while the workers count blocks); the rest are decoded and handed over.
fn count_memtables(
    memtables: &[Arc<crate::Memtable>],
    prepared: &Prepared<'_>,
    report: &mut CountReport,
    mem_groups: &mut HashMap<Vec<KeyOwned>, u64>,
    undecided: &mut dyn FnMut(StoredEvent) -> ControlFlow<()>,
) -> Result<(), CountError> {
    let (lower, upper) = (prepared.lower, prepared.upper);
    let mut templates = HashMap::new();
    for mt in memtables {
        let mut hi = upper;
        loop {
            let chunk: Vec<_> = {
                let g = read(&mt.inner);
                let lo = lower.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Included);
                let up = hi.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded);
                g.map
                    .range((lo, up))
                    .rev()
                    .take(HANDOVER_BATCH)
                    .map(|(id, e)| (*id, e.clone()))
                    .collect()
            };
            let Some(&(last, _)) = chunk.last() else {
                break;
            };
            for (id, enc) in chunk {
                let corrupt = |detail: String| ReadError::Corrupt {
                    file: PathBuf::from("memtable"),
                    detail: format!("event {id}: {detail}"),
                };
                if prepared.lacks_needle(enc.bytes()) {
                    report.decided += 1;
                    continue;
                }
                let view = codec::view_event(enc.bytes()).map_err(corrupt)?;
                match prepared.row(&view, id.ticks, &mut templates) {
                    RowDecision::No => report.decided += 1,
                    RowDecision::Yes(key) => {
                        report.decided += 1;
                        *mem_groups.entry(key).or_default() += 1;
                        if prepared.max_groups > 0 && mem_groups.len() > prepared.max_groups {
                            return Err(CountError::TooManyGroups);
                        }
                    }
                    RowDecision::Maybe => {
                        let event = codec::decode_event(enc.bytes()).map_err(corrupt)?;
                        report.handed_over += 1;
                        if undecided(StoredEvent { id, event }).is_break() {
                            return Err(CountError::Stopped);
                        }
                    }
                }
            }
            if prepared.stopped() {
                return Err(CountError::Stopped);
            }
            hi = Some(last);
        }
    }
    Ok(())
}

/// The request, prepared once for every block.
pub(crate) struct Prepared<'r> {
    lower: Option<EventId>,
    upper: Option<EventId>,
    predicates: &'r [Predicate],
    matchers: Vec<Matcher<'r>>,
    /// Per predicate, text a row's property JSON must contain to match (see [`needle`]).
    needles: Vec<Option<memchr::memmem::Finder<'static>>>,
    keys: &'r [Field],
    slice: Option<i64>,
    max_groups: usize,
    deadline: Option<Instant>,
    cancel: Option<&'r AtomicBool>,
    /// Templates parsed once per query, for the text searches of every block.
    pub(crate) templates: text_search::Templates,
}

impl<'r> Prepared<'r> {
    /// For deciding rows by predicates alone (no keys), as a search's pre-filter.
    pub(crate) fn for_predicates(predicates: &'r [Predicate]) -> Self {
        Prepared {
            lower: None,
            upper: None,
            predicates,
            matchers: predicates.iter().map(Predicate::matcher).collect(),
            needles: predicates.iter().map(needle).collect(),
            keys: &[],
            slice: None,
            max_groups: 0,
            deadline: None,
            cancel: None,
            templates: Default::default(),
        }
    }

    /// Whether there is nothing to test.
    pub(crate) fn is_empty(&self) -> bool {
        self.predicates.is_empty()
    }

    /// Whether an encoded row lacks text some predicate needs in its property map (the map
    /// is part of the row, so a needle absent from the row is absent from the map).
    fn lacks_needle(&self, enc: &[u8]) -> bool {
        self.needles.iter().flatten().any(|n| n.find(enc).is_none())
    }

    /// Whether a memtable row certainly fails the predicates.
    pub(crate) fn rejects(
        &self,
        enc: &[u8],
        ticks: i64,
        templates: &mut HashMap<String, u8>,
    ) -> bool {
        self.lacks_needle(enc)
            || codec::view_event(enc)
                .is_ok_and(|v| matches!(self.row(&v, ticks, templates), RowDecision::No))
    }

    fn new(req: &CountRequest<'r>, lower: Option<EventId>, upper: Option<EventId>) -> Self {
        Prepared {
            lower,
            upper,
            predicates: req.predicates,
            matchers: req.predicates.iter().map(Predicate::matcher).collect(),
            needles: req.predicates.iter().map(needle).collect(),
            keys: req.keys,
            slice: req.slice,
            max_groups: req.max_groups,
            deadline: req.deadline,
            cancel: req.cancel,
            templates: Default::default(),
        }
    }

    /// Decides one memtable row from its encoded fields: a property is read from the row's
    /// JSON text without building values; what that cannot decide is `Maybe`.
    fn row(&self, v: &RowView<'_>, ticks: i64, templates: &mut HashMap<String, u8>) -> RowDecision {
        let mut state = YES;
        for ((pred, m), needle) in self
            .predicates
            .iter()
            .zip(&self.matchers)
            .zip(&self.needles)
        {
            if let Some(needle) = needle
                && v.properties.is_none_or(|text| needle.find(text).is_none())
            {
                return RowDecision::No;
            }
            let s = match pred {
                Predicate::TimeRange { from, to } => {
                    u8::from(from.is_none_or(|f| ticks >= f) && to.is_none_or(|t| ticks < t)) * YES
                }
                Predicate::LevelIn { .. } => {
                    u8::from(m.test_str(v.level.unwrap_or("Information"))) * YES
                }
                Predicate::TraceId(_) => u8::from(v.trace_id.is_some_and(|t| m.test_str(t))) * YES,
                Predicate::SpanId(_) => u8::from(v.span_id.is_some_and(|t| m.test_str(t))) * YES,
                Predicate::PropertyEquals { name, .. } | Predicate::PropertyPrefix { name, .. } => {
                    match top_level(v.properties, name) {
                        RowValue::Absent => NO,
                        RowValue::Str(s) => u8::from(m.test_str(&s)) * YES,
                        RowValue::Value(x) => u8::from(m.test_value(Some(&x))) * YES,
                        RowValue::Unreadable => MAYBE,
                    }
                }
                Predicate::Text { .. } => {
                    if v.exception.is_some_and(|x| m.test_str(x)) {
                        YES
                    } else if let Some(msg) = v.message {
                        u8::from(m.test_str(msg)) * YES
                    } else {
                        let t = v.message_template.unwrap_or("");
                        match templates.get(t) {
                            Some(s) => *s,
                            None => {
                                let s = text_search::template_state(t, m);
                                templates.insert(t.to_owned(), s);
                                s
                            }
                        }
                    }
                }
            };
            state = state.min(s);
            if state == NO {
                return RowDecision::No;
            }
        }
        if state == MAYBE {
            return RowDecision::Maybe;
        }
        let mut key = Vec::with_capacity(self.keys.len() + 1);
        if let Some(w) = self.slice {
            key.push(KeyOwned::Int(ticks.div_euclid(w) * w));
        }
        for k in self.keys {
            key.push(match k {
                Field::Level => KeyOwned::Str(v.level.unwrap_or("Information").to_owned()),
                Field::Property(name) => match top_level(v.properties, name) {
                    RowValue::Absent => KeyOwned::Undefined,
                    RowValue::Str(s) => KeyOwned::Str(s.into_owned()),
                    RowValue::Value(x) => KeyOwned::from_value(Some(x)),
                    RowValue::Unreadable => return RowDecision::Maybe,
                },
            });
        }
        RowDecision::Yes(key)
    }

    fn stopped(&self) -> bool {
        self.cancel.is_some_and(|c| c.load(Ordering::Relaxed))
            || self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

/// For a case-sensitive string equality or prefix on a property, the JSON text any
/// matching row's property map contains: the value (or prefix) after its opening quote.
/// Only for text JSON writes as itself (no quotes, backslashes or control characters).
fn needle(p: &Predicate) -> Option<memchr::memmem::Finder<'static>> {
    let (text, close) = match p {
        Predicate::PropertyEquals {
            value: Value::String(v),
            ci: false,
            ..
        } => (v, "\""),
        Predicate::PropertyPrefix {
            prefix, ci: false, ..
        } => (prefix, ""),
        _ => return None,
    };
    let plain = text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\');
    plain.then(|| memchr::memmem::Finder::new(format!("\"{text}{close}").as_bytes()).into_owned())
}

/// What a memtable row's encoded fields decide.
enum RowDecision {
    No,
    Maybe,
    /// A match, with its group key.
    Yes(Vec<KeyOwned>),
}

/// A top-level property of a row, read from its JSON text.
enum RowValue<'a> {
    Absent,
    Str(std::borrow::Cow<'a, str>),
    Value(Value),
    /// An object or array (or text the walk does not take): not decided here.
    Unreadable,
}

fn top_level<'a>(properties: Option<&'a [u8]>, name: &str) -> RowValue<'a> {
    let Some(bytes) = properties else {
        return RowValue::Absent;
    };
    let Ok(text) = std::str::from_utf8(bytes) else {
        return RowValue::Unreadable;
    };
    let mut w = Walker::new(text);
    if w.open().is_err() {
        return RowValue::Unreadable;
    }
    let mut first = true;
    loop {
        match w.key(first) {
            Ok(Some(k)) => {
                first = false;
                let Ok(v) = w.value(false) else {
                    return RowValue::Unreadable;
                };
                if k != name {
                    continue;
                }
                return match v {
                    JsonToken::Str(s) => RowValue::Str(s),
                    JsonToken::Num(t) => match seqr_query::value::parse_decimal(t) {
                        Some(d) => RowValue::Value(Value::Number(d)),
                        None => RowValue::Unreadable,
                    },
                    JsonToken::Bool(b) => RowValue::Value(Value::Bool(b)),
                    JsonToken::Null => RowValue::Value(Value::Null),
                    JsonToken::Object | JsonToken::Raw(_) => RowValue::Unreadable,
                };
            }
            Ok(None) => return RowValue::Absent,
            Err(_) => return RowValue::Unreadable,
        }
    }
}

/// A group key value read from a column, borrowing strings from it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum KeyRef<'c> {
    Undefined,
    Int(i64),
    Str(&'c str),
    /// Anything else, converted already.
    Other(KeyOwned),
}

/// An owned group key value; numbers other than integers and JSON values are kept as the
/// canonical text of their converted value, so equal values are one group.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum KeyOwned {
    Undefined,
    Int(i64),
    Str(String),
    /// A converted value and its JSON text (the hash key).
    Value(String),
}

impl KeyOwned {
    fn from_value(v: Eval) -> KeyOwned {
        match v {
            None => KeyOwned::Undefined,
            Some(Value::String(s)) => KeyOwned::Str(s),
            Some(v) => KeyOwned::Value(v.to_json().to_string()),
        }
    }

    fn into_eval(self) -> Eval {
        match self {
            KeyOwned::Undefined => None,
            KeyOwned::Int(i) => Some(Value::Number(Decimal::from(i))),
            KeyOwned::Str(s) => Some(Value::String(s)),
            KeyOwned::Value(json) => serde_json::from_str(&json)
                .ok()
                .and_then(|j| Value::from_json(&j)),
        }
    }
}

impl KeyRef<'_> {
    fn to_owned_key(&self) -> KeyOwned {
        match self {
            KeyRef::Undefined => KeyOwned::Undefined,
            KeyRef::Int(i) => KeyOwned::Int(*i),
            KeyRef::Str(s) => KeyOwned::Str((*s).to_owned()),
            KeyRef::Other(k) => k.clone(),
        }
    }
}

/// One thread's share of the work.
#[derive(Default)]
struct Worker {
    groups: HashMap<Vec<KeyOwned>, u64>,
    undecided: Vec<StoredEvent>,
    decided: u64,
    stopped: bool,
    too_many: bool,
}

/// How a field reads in one block.
pub(crate) enum Reader {
    /// No row has the column.
    Absent,
    /// Values by row: `rank[row]` indexes the column (`u32::MAX`: the row has none).
    Column {
        col: Arc<Column>,
        rank: Arc<Vec<u32>>,
    },
}

impl Reader {
    /// Whether `row` has a value.
    pub(crate) fn has(&self, row: usize) -> bool {
        match self {
            Reader::Absent => false,
            Reader::Column { rank, .. } => rank[row] != u32::MAX,
        }
    }

    /// The cell of `row`, as a string when it is one.
    pub(crate) fn str_at<'c>(
        &'c self,
        row: usize,
        buf: &'c mut String,
    ) -> Option<Result<&'c str, Value>> {
        let Reader::Column { col, rank } = self else {
            return None;
        };
        let r = rank[row];
        if r == u32::MAX {
            return None;
        }
        let (t, i) = col.locate(r as usize);
        if t == T_STR {
            return Some(Ok(col.strs.as_ref().expect("strings").get(i, buf)));
        }
        let mut scratch = String::new();
        let v = cell_value(col.cell(r as usize, &mut scratch))
            .ok()
            .and_then(|j| Value::from_json(&j))
            .unwrap_or(Value::Null);
        Some(Err(v))
    }

    /// The dictionary code of `row`'s string, when the column is one dictionary of strings.
    pub(crate) fn dict(&self) -> Option<(&Strings, &[u32], &[u32])> {
        match self {
            Reader::Column { col, rank }
                if col.tags.is_none() && col.only == T_STR && !col.constant =>
            {
                match col.strs.as_ref()? {
                    Strings::Dict { dict, codes } => Some((dict, codes, rank)),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

impl Worker {
    fn block(
        &mut self,
        shared: &Shared,
        cache: &BlockCache,
        part: &Part,
        b: usize,
        p: &Prepared<'_>,
    ) -> Result<(), PartError> {
        let columns = &shared.columns;
        let h = columns.header(part, b)?;
        if !prune::may_match(part, b, &h, p.predicates, columns)? {
            shared.blocks_skipped.fetch_add(1, Ordering::Relaxed);
            self.decided += u64::from(h.rows);
            return Ok(());
        }
        shared.blocks_read.fetch_add(1, Ordering::Relaxed);
        let (min, max) = (part.blocks[b].min, part.blocks[b].max);
        let n = h.rows as usize;
        // Row ids and shapes are decoded only when a row-level answer needs them.
        let rows = LazyRows::new(part, b, &h, None, columns);
        let mut readers: HashMap<u32, Reader> = HashMap::new();
        let reader = |readers: &mut HashMap<u32, Reader>, node: u32| {
            if let Entry::Vacant(e) = readers.entry(node) {
                e.insert(read_field(part, b, &h, &rows, node, columns)?);
            }
            Ok::<(), PartError>(())
        };
        let mut state = select(part, b, &h, p, columns, &rows, &mut readers)?;
        if state.iter().all(|&s| s == NO) {
            self.decided += n as u64;
            return Ok(());
        }

        // Keys of the rows decided to match.
        let mut key_readers = Vec::with_capacity(p.keys.len());
        for k in p.keys {
            let node = match k {
                Field::Level => Some(names::builtin_node(Builtin::Level)),
                Field::Property(name) => match property_node(part, &h, name) {
                    PropertyColumn::None => None,
                    PropertyColumn::Unreadable => {
                        // An object-valued property: the caller builds the key.
                        for s in state.iter_mut() {
                            if *s == YES {
                                *s = MAYBE;
                            }
                        }
                        None
                    }
                    PropertyColumn::Leaf(node) => Some(node),
                },
            };
            if let Some(node) = node {
                reader(&mut readers, node)?;
            }
            key_readers.push((node, matches!(k, Field::Level)));
        }
        let slice_of = |t: i64| p.slice.map(|w| t.div_euclid(w) * w);
        if key_readers.is_empty() && slice_of(min.ticks) == slice_of(max.ticks) {
            // One group for the whole block: count without building keys.
            let mut matched = 0u64;
            let mut maybe = Vec::new();
            for (row, &st) in state.iter().enumerate() {
                match st {
                    YES => matched += 1,
                    MAYBE => maybe.push(row),
                    _ => {}
                }
            }
            if matched > 0 {
                let key = slice_of(min.ticks).map(KeyOwned::Int).into_iter().collect();
                *self.groups.entry(key).or_default() += matched;
            }
            self.decided += (n - maybe.len()) as u64;
            return self.hand_over(cache, part, b, maybe);
        }
        // Each key becomes a small code per row (a dictionary code where the column is a
        // dictionary), and the codes index a dense count table.
        let mut keys: Vec<KeyColumn<'_>> = Vec::with_capacity(key_readers.len() + 1);
        if p.slice.is_some() {
            let mut slices = KeyColumn::default();
            if slice_of(min.ticks) == slice_of(max.ticks) {
                slices.constant(KeyRef::Int(slice_of(min.ticks).unwrap_or(0)), n);
            } else {
                let ids = rows.ids()?;
                slices.by_row(&state, |row| {
                    KeyRef::Int(slice_of(ids[row].ticks).unwrap_or(0))
                });
            }
            keys.push(slices);
        }
        for (node, is_level) in &key_readers {
            let mut k = KeyColumn::default();
            match node.map(|nd| &readers[&nd]) {
                None | Some(Reader::Absent) if *is_level => {
                    k.constant(KeyRef::Str("Information"), n);
                }
                None | Some(Reader::Absent) => k.constant(KeyRef::Undefined, n),
                Some(r) => {
                    if !k.dictionary(r, *is_level) && !k.integers(r, &state) {
                        let mut buf = String::new();
                        k.by_row(&state, |row| key_at(r, row, *is_level, &mut buf));
                    }
                }
            }
            keys.push(k);
        }
        let mut maybe = Vec::new();
        let cells: usize = keys.iter().map(|k| k.values.len()).product();
        if cells <= 1 << 16 {
            let mut counts = vec![0u64; cells];
            for (row, &st) in state.iter().enumerate() {
                match st {
                    YES => {
                        let mut at = 0usize;
                        for k in &keys {
                            at = at * k.values.len() + k.codes[row] as usize;
                        }
                        counts[at] += 1;
                    }
                    MAYBE => maybe.push(row),
                    _ => {}
                }
            }
            for (mut at, c) in counts.into_iter().enumerate() {
                if c == 0 {
                    continue;
                }
                let mut key = vec![KeyOwned::Undefined; keys.len()];
                for (i, k) in keys.iter().enumerate().rev() {
                    key[i] = k.values[at % k.values.len()].to_owned_key();
                    at /= k.values.len();
                }
                *self.groups.entry(key).or_default() += c;
            }
        } else {
            let mut counts: HashMap<Vec<u32>, u64> = HashMap::new();
            for (row, &st) in state.iter().enumerate() {
                match st {
                    YES => {
                        let code: Vec<u32> = keys.iter().map(|k| k.codes[row]).collect();
                        *counts.entry(code).or_default() += 1;
                    }
                    MAYBE => maybe.push(row),
                    _ => {}
                }
            }
            for (code, c) in counts {
                let key = keys
                    .iter()
                    .zip(code)
                    .map(|(k, i)| k.values[i as usize].to_owned_key())
                    .collect();
                *self.groups.entry(key).or_default() += c;
            }
        }
        let decided = (n - maybe.len()) as u64;
        self.decided += decided;
        self.hand_over(cache, part, b, maybe)
    }

    /// Rebuilds the undecided rows of a block for the caller.
    fn hand_over(
        &mut self,
        cache: &BlockCache,
        part: &Part,
        b: usize,
        rows: Vec<usize>,
    ) -> Result<(), PartError> {
        if !rows.is_empty() {
            let d = cache.get(part, b)?;
            for (id, event) in d.events(part, rows)? {
                self.undecided.push(StoredEvent { id, event });
            }
        }
        Ok(())
    }
}

/// One group key over the rows of a block: `values[codes[row]]` is the row's value (codes
/// of rows that do not match are unspecified).
#[derive(Default)]
struct KeyColumn<'c> {
    codes: Vec<u32>,
    values: Vec<KeyRef<'c>>,
}

impl<'c> KeyColumn<'c> {
    fn constant(&mut self, v: KeyRef<'c>, n: usize) {
        self.values = vec![v];
        self.codes = vec![0; n];
    }

    /// The column's own dictionary codes, when it is one dictionary of strings; false
    /// otherwise.
    fn dictionary(&mut self, r: &'c Reader, is_level: bool) -> bool {
        let Some((dict, codes, rank)) = r.dict() else {
            return false;
        };
        let Some(values) = (0..dict.len())
            .map(|i| dict.borrowed(i).map(KeyRef::Str))
            .collect::<Option<Vec<_>>>()
        else {
            return false;
        };
        let absent = values.len() as u32;
        self.values = values;
        self.values.push(if is_level {
            KeyRef::Str("Information")
        } else {
            KeyRef::Undefined
        });
        self.codes = rank
            .iter()
            .map(|&rk| {
                if rk == u32::MAX {
                    absent
                } else {
                    codes[rk as usize]
                }
            })
            .collect();
        true
    }

    /// Codes for a column of integers alone, assigned as values are met for the matching
    /// rows: a short list searched in order (such keys, status codes or counts, have few
    /// values per block), a hash map once it grows past 32; false for other columns.
    fn integers(&mut self, r: &'c Reader, state: &[u8]) -> bool {
        let Reader::Column { col, rank } = r else {
            return false;
        };
        if col.constant || col.tags.is_some() || col.only != T_INT {
            return false;
        }
        let mut few: Vec<(i64, u32)> = Vec::new();
        let mut many: HashMap<i64, u32> = HashMap::new();
        let mut absent = None;
        self.codes = vec![0; state.len()];
        for (row, &st) in state.iter().enumerate() {
            if st != YES {
                continue;
            }
            let rk = rank[row];
            let code = if rk == u32::MAX {
                *absent.get_or_insert_with(|| {
                    self.values.push(KeyRef::Undefined);
                    self.values.len() as u32 - 1
                })
            } else {
                let v = col.ints[rk as usize];
                let known = if many.is_empty() {
                    few.iter().find(|&&(x, _)| x == v).map(|&(_, c)| c)
                } else {
                    many.get(&v).copied()
                };
                known.unwrap_or_else(|| {
                    let c = self.values.len() as u32;
                    self.values.push(KeyRef::Int(v));
                    if many.is_empty() && few.len() < 32 {
                        few.push((v, c));
                    } else {
                        many.extend(few.drain(..));
                        many.insert(v, c);
                    }
                    c
                })
            };
            self.codes[row] = code;
        }
        if self.values.is_empty() {
            self.values.push(KeyRef::Undefined);
        }
        true
    }

    /// Codes assigned as values are met, for the matching rows.
    fn by_row(&mut self, state: &[u8], mut value: impl FnMut(usize) -> KeyRef<'c>) {
        let mut index: HashMap<KeyRef<'c>, u32> = HashMap::new();
        self.codes = vec![0; state.len()];
        for (row, &st) in state.iter().enumerate() {
            if st != YES {
                continue;
            }
            let v = value(row);
            let next = self.values.len() as u32;
            let code = *index.entry(v.clone()).or_insert_with(|| {
                self.values.push(v);
                next
            });
            self.codes[row] = code;
        }
        if self.values.is_empty() {
            self.values.push(KeyRef::Undefined);
        }
    }
}

/// A key's value at `row` of a column reader.
fn key_at<'c>(r: &'c Reader, row: usize, is_level: bool, buf: &mut String) -> KeyRef<'c> {
    let Reader::Column { col, rank } = r else {
        return KeyRef::Undefined;
    };
    let rk = rank[row];
    if rk == u32::MAX {
        return if is_level {
            KeyRef::Str("Information")
        } else {
            KeyRef::Undefined
        };
    }
    let (t, i) = col.locate(rk as usize);
    match t {
        T_STR => {
            let strs = col.strs.as_ref().expect("strings");
            match strs.borrowed(i) {
                Some(v) => KeyRef::Str(v),
                None => KeyRef::Other(KeyOwned::Str(strs.get(i, buf).to_owned())),
            }
        }
        T_INT => KeyRef::Int(col.ints[i]),
        _ => {
            let mut scratch = String::new();
            let v = cell_value(col.cell(rk as usize, &mut scratch))
                .ok()
                .and_then(|j| Value::from_json(&j));
            KeyRef::Other(KeyOwned::from_value(v))
        }
    }
}

/// Where a top-level property's values are in a block.
pub(crate) enum PropertyColumn {
    /// No row has it.
    None,
    /// Some rows hold it as an object (or inside a whole-map column): not one column.
    Unreadable,
    Leaf(u32),
}

pub(crate) fn property_node(part: &Part, h: &BlockHeader, name: &str) -> PropertyColumn {
    let root = names::root_node(R_PROPS);
    if h.column_of(root).is_some() {
        return PropertyColumn::Unreadable;
    }
    let Some(node) = part.names.find(root, name) else {
        return PropertyColumn::None;
    };
    if h.columns.iter().any(|c| part.names.is_below(c.node, node)) {
        return PropertyColumn::Unreadable;
    }
    match h.column_of(node) {
        Some(_) => PropertyColumn::Leaf(node),
        None => PropertyColumn::None,
    }
}

/// Reads the column of `node` with each row's rank into it.
pub(crate) fn read_field(
    part: &Part,
    b: usize,
    h: &BlockHeader,
    rows: &LazyRows<'_>,
    node: u32,
    cache: &ColumnCache,
) -> Result<Reader, PartError> {
    let Some(c) = h.column_of(node) else {
        return Ok(Reader::Absent);
    };
    let col = cache.column(part, b, h, c)?;
    let n = h.rows as usize;
    let rank = if h.columns[c].present as usize == n {
        cache.identity(n)
    } else {
        cache.ranks(part, b, node, || {
            let has: Vec<bool> = h.shapes.iter().map(|s| s.contains(&(c as u32))).collect();
            let mut next = 0u32;
            Ok(rows
                .shape_codes()?
                .iter()
                .map(|&s| {
                    if has[s as usize] {
                        next += 1;
                        next - 1
                    } else {
                        u32::MAX
                    }
                })
                .collect())
        })?
    };
    Ok(Reader::Column { col, rank })
}

/// Sets rows whose value (by rank; `absent` for rows without one) fails to NO.
fn narrow_by_rank(state: &mut [u8], rank: &[u32], verdict: &[bool], absent: bool) {
    for (s, &rk) in state.iter_mut().zip(rank) {
        let ok = match rk {
            u32::MAX => absent,
            rk => verdict.get(rk as usize).copied().unwrap_or(false),
        };
        if !ok {
            *s = NO;
        }
    }
}

/// Lowers every state above `to` to `to`.
fn cap(state: &mut [u8], to: u8) {
    for s in state {
        *s = (*s).min(to);
    }
}

/// ANDs a string predicate on one field into `state`; `default` is the field's value where a
/// row has none (`@Level`'s `Information`), else such rows fail.
fn test_strings(r: &Reader, m: &Matcher<'_>, default: Option<&str>, state: &mut [u8]) {
    let absent = default.is_some_and(|d| m.test_str(d));
    // A case-sensitive prefix is a byte comparison, without the matcher's dispatch.
    let prefix = m.exact_prefix();
    let test = |v: &str| match prefix {
        Some(p) => v.as_bytes().starts_with(p.as_bytes()),
        None => m.test_str(v),
    };
    if let Some((dict, codes, rank)) = r.dict()
        && rank.len() == codes.len()
        && dict.len() <= codes.len()
    {
        // Every row has the column: one test per distinct value, then one lookup per row.
        let mut buf = String::new();
        let verdict: Vec<u8> = (0..dict.len())
            .map(|i| u8::from(m.test_str(dict.get(i, &mut buf))) * YES)
            .collect();
        for (s, &code) in state.iter_mut().zip(codes) {
            *s = (*s).min(verdict[code as usize]);
        }
        return;
    }
    if let Some((dict, codes, rank)) = r.dict() {
        // One test per distinct value.
        let mut memo: Vec<u8> = vec![u8::MAX; dict.len()];
        let mut buf = String::new();
        for (row, s) in state.iter_mut().enumerate() {
            if *s == NO {
                continue;
            }
            let rk = rank[row];
            let ok = if rk == u32::MAX {
                absent
            } else {
                let code = codes[rk as usize] as usize;
                if memo[code] == u8::MAX {
                    memo[code] = u8::from(m.test_str(dict.get(code, &mut buf)));
                }
                memo[code] == 1
            };
            if !ok {
                *s = NO;
            }
        }
        return;
    }
    if let Reader::Column { col, .. } = r
        && !col.constant
        && col.tags.is_none()
        && col.only == T_STR
        && let Some(Strings::Plain { data, ends }) = col.strs.as_ref()
        && ends.len() == state.len()
    {
        // Every row has a plain string: walk them in place.
        let mut start = 0usize;
        for (s, &end) in state.iter_mut().zip(ends) {
            let end = end as usize;
            if *s != NO && !data.get(start..end).is_some_and(test) {
                *s = NO;
            }
            start = end;
        }
        return;
    }
    if let Reader::Column { col, rank } = r
        && !col.constant
        && col.tags.is_none()
        && col.only == T_STR
        && let Some(Strings::Hex { width, data }) = col.strs.as_ref()
        && let Some(text) = m.exact_str()
    {
        // Ids kept as binary: the wanted text as bytes once, then one comparison per value
        // (the text of a value is lower-case hex, so other texts equal none).
        let want = column::hex_id_bytes(text).filter(|w| w.len() == *width);
        let verdict: Vec<bool> = match &want {
            // The first byte rules out nearly every value without a call to compare.
            Some(w) => data
                .chunks_exact(*width)
                .map(|v| v[0] == w[0] && v == &w[..])
                .collect(),
            None => vec![false; data.len() / *width],
        };
        narrow_by_rank(state, rank, &verdict, absent);
        return;
    }
    if let Reader::Column { col, rank } = r
        && !col.constant
        && col.tags.is_none()
        && col.only == T_STR
        && let Some(Strings::Plain { data, ends }) = col.strs.as_ref()
    {
        // Some rows have a plain string: each tested in column order, then found by rank.
        let mut start = 0usize;
        let verdict: Vec<bool> = ends
            .iter()
            .map(|&end| {
                let end = end as usize;
                let ok = data.get(start..end).is_some_and(test);
                start = end;
                ok
            })
            .collect();
        narrow_by_rank(state, rank, &verdict, absent);
        return;
    }
    let mut buf = String::new();
    for (row, s) in state.iter_mut().enumerate() {
        if *s == NO {
            continue;
        }
        let ok = match r.str_at(row, &mut buf) {
            None => absent,
            Some(Ok(text)) => m.test_str(text),
            Some(Err(v)) => m.test_value(Some(&v)),
        };
        if !ok {
            *s = NO;
        }
    }
}
