//! Skipping blocks by their header and filters: a block is read only if it may hold an
//! event satisfying every pushed-down predicate (each one implied by the search's filter,
//! so a skipped block can hold no match). Anything not understood here keeps the block.

use rust_decimal::prelude::ToPrimitive;
use seqr_query::Value;
use seqr_query::pushdown::Predicate;

use crate::cache::ColumnCache;
use crate::part::block::{BlockHeader, decode_column};
use crate::part::bloom;
use crate::part::cell::{self, Cell};
use crate::part::names::{self, Builtin, R_PROPS};
use crate::part::{Part, PartError};

/// False when block `b` certainly holds no event matching all of `predicates`.
pub(crate) fn may_match(
    part: &Part,
    b: usize,
    h: &BlockHeader,
    predicates: &[Predicate],
    cache: &ColumnCache,
) -> Result<bool, PartError> {
    for p in predicates {
        let keep = match p {
            Predicate::TraceId(id) => {
                exact(part, b, h, names::builtin_node(Builtin::TraceId), id, cache)?
            }
            Predicate::SpanId(id) => {
                exact(part, b, h, names::builtin_node(Builtin::SpanId), id, cache)?
            }
            Predicate::PropertyEquals {
                name,
                value,
                ci: false,
            } => property_equals(part, b, h, name, value, cache)?,
            Predicate::PropertyEquals { name, .. } | Predicate::PropertyPrefix { name, .. } => {
                property_present(part, h, name)
            }
            _ => true,
        };
        if !keep {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether a top-level property may be defined in this block: its column exists, or the
/// block keeps whole property maps as JSON.
fn property_present(part: &Part, h: &BlockHeader, name: &str) -> bool {
    whole_maps(h) || property_column(part, h, name).is_some()
}

fn whole_maps(h: &BlockHeader) -> bool {
    h.column_of(names::root_node(R_PROPS)).is_some()
}

fn property_column(part: &Part, h: &BlockHeader, name: &str) -> Option<usize> {
    let node = part.names.find(names::root_node(R_PROPS), name)?;
    h.column_of(node)
}

/// A text column holding exactly `text` in some row.
fn exact(
    part: &Part,
    b: usize,
    h: &BlockHeader,
    node: u32,
    text: &str,
    cache: &ColumnCache,
) -> Result<bool, PartError> {
    let Some(c) = h.column_of(node) else {
        return Ok(false);
    };
    string_may_be(part, b, h, c, text, cache)
}

fn string_may_be(
    part: &Part,
    b: usize,
    h: &BlockHeader,
    c: usize,
    text: &str,
    cache: &ColumnCache,
) -> Result<bool, PartError> {
    let meta = &h.columns[c];
    if meta.constant.is_some() {
        let col = decode_column(meta, None)?;
        let mut buf = String::new();
        return Ok(col.cell(0, &mut buf) == Cell::Str(std::borrow::Cow::Borrowed(text)));
    }
    match cache.bloom(part, b, h, c)? {
        Some(f) => Ok(bloom::may_contain(&f, bloom::hash(text.as_bytes()))),
        None => Ok(true),
    }
}

fn property_equals(
    part: &Part,
    b: usize,
    h: &BlockHeader,
    name: &str,
    value: &Value,
    cache: &ColumnCache,
) -> Result<bool, PartError> {
    if whole_maps(h) || matches!(value, Value::Null) {
        return Ok(true);
    }
    let Some(c) = property_column(part, h, name) else {
        return Ok(false);
    };
    let meta = &h.columns[c];
    match value {
        Value::String(s) => string_may_be(part, b, h, c, s, cache),
        Value::Number(n) => {
            if let Some((lo, hi)) = meta.int_range {
                // Every value is an integer in [lo, hi].
                return Ok(n.fract().is_zero() && n.to_i64().is_some_and(|v| lo <= v && v <= hi));
            }
            if meta.constant.is_some() {
                let col = decode_column(meta, None)?;
                let mut buf = String::new();
                let text = match col.cell(0, &mut buf) {
                    Cell::Int(v) => v.to_string(),
                    Cell::Dec(m, s) => cell::decimal_text(m, s),
                    // Other types: leave the comparison to the filter.
                    _ => return Ok(true),
                };
                return Ok(text.parse::<rust_decimal::Decimal>().is_ok_and(|d| d == *n));
            }
            Ok(true)
        }
        _ => Ok(true),
    }
}
