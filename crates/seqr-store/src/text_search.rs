//! Text searches (`@Message` or `@Exception` contains a text) decided from a block's
//! columns.
//!
//! A message sent as a template is rendered from the template's literal pieces and the hole
//! values in turn. Instead of rendering it, the search runs over those segments: a match of
//! `n` characters lies inside one segment or within `n - 1` characters either side of a
//! boundary between segments ([`Matcher::text_window`]), so each segment is tested on its own
//! and each boundary in a short window. Pieces are tested once per template; a number hole
//! whose rendering is digits only cannot be part of a match of text without digits, so it
//! is skipped unwritten. Rows the segments cannot decide exactly (the rendering might be cut
//! at [`template::MAX_RENDERED_BYTES`], a JSON-valued hole) are rendered as before.

use std::collections::hash_map::Entry;
use std::fmt::Write;

use foldhash::{HashMap, HashMapExt};
use seqr_query::pushdown::Matcher;
use seqr_types::template::{self, Hole, Scalar, Token};

use crate::cache::ColumnCache;
use crate::count::{MAYBE, NO, PropertyColumn, Reader, YES, property_node, read_field};
use crate::part::block::{BlockHeader, Rows, cell_value};
use crate::part::cell::{Cell, decimal_text};
use crate::part::column::Column;
use crate::part::names::{self, Builtin};
use crate::part::{Part, PartError};

/// The most bytes a hole that writes digits only takes (an `i64` or an 18-digit decimal, with
/// grouping and up to 99 decimals): what a skipped hole may add to the message's length.
const DIGITS_HOLE_MAX: usize = 1024;

/// ANDs a text search (rendered message or exception contains) into `state`. The message is
/// `@m` where sent; otherwise a template without holes is its own rendering, and one with
/// holes is left pending for [`decide_pending`] unless the exception matches.
pub(crate) fn test_text(r: [&Reader; 3], m: &Matcher<'_>, state: &mut [u8]) -> PendingText {
    let [message, template, exception] = r;
    let mut pending = PendingText::default();
    // Per distinct template: its verdict, or (when it has holes) its index in `parsed`; by
    // dictionary code where the column is one dictionary, else by text.
    let mut by_text: HashMap<String, Result<u8, u32>> = HashMap::new();
    let dict = template.dict();
    let mut by_code: Vec<Option<Result<u8, u32>>> = match dict {
        Some((d, _, _)) => vec![None; d.len()],
        None => Vec::new(),
    };
    let verdict_of = |t: &str, pending: &mut PendingText| {
        let tokens = template::parse(t);
        match verdict_without_holes(&tokens, m) {
            Some(v) => Ok(v),
            None => {
                pending.parsed.push(Parsed::new(tokens, m));
                Err(pending.parsed.len() as u32 - 1)
            }
        }
    };
    let mut buf = String::new();
    for (row, s) in state.iter_mut().enumerate() {
        if *s == NO {
            continue;
        }
        let in_exception = match exception.str_at(row, &mut buf) {
            Some(Ok(x)) => m.test_str(x),
            _ => false,
        };
        if in_exception {
            continue;
        }
        let in_message = match message.str_at(row, &mut buf) {
            Some(Ok(msg)) => u8::from(m.test_str(msg)) * YES,
            Some(Err(_)) => MAYBE,
            None => {
                let code = dict.and_then(|(d, codes, rank)| {
                    let r = *rank.get(row)?;
                    let code = *codes.get(r as usize)? as usize;
                    Some((code, d.borrowed(code)?))
                });
                let verdict = match code {
                    Some((code, t)) => match by_code[code] {
                        Some(v) => v,
                        None => {
                            let v = verdict_of(t, &mut pending);
                            by_code[code] = Some(v);
                            v
                        }
                    },
                    None => {
                        let t = match template.str_at(row, &mut buf) {
                            Some(Ok(t)) => t,
                            Some(Err(_)) => {
                                *s = (*s).min(MAYBE);
                                continue;
                            }
                            None => "",
                        };
                        match by_text.get(t) {
                            Some(v) => *v,
                            None => {
                                let v = verdict_of(t, &mut pending);
                                by_text.insert(t.to_owned(), v);
                                v
                            }
                        }
                    }
                };
                match verdict {
                    Ok(v) => v,
                    Err(t) => {
                        pending.rows.push((row, *s, t));
                        MAYBE
                    }
                }
            }
        };
        *s = (*s).min(in_message);
    }
    pending
}

/// Rows whose text search depends on a template with holes.
#[derive(Default)]
pub(crate) struct PendingText {
    /// (row, its state before the search, index of its template in `parsed`).
    rows: Vec<(usize, u8, u32)>,
    parsed: Vec<Parsed>,
}

/// A template with holes, prepared for one search.
struct Parsed {
    tokens: Vec<Token>,
    /// Per token: for a piece, whether it holds the text on its own; for a hole, whether it
    /// is skipped when its value is a plain number (see the module docs).
    flags: Vec<bool>,
}

impl Parsed {
    fn new(tokens: Vec<Token>, m: &Matcher<'_>) -> Parsed {
        let digit_free = m
            .needle()
            .is_some_and(|t| !t.chars().any(|c| c.is_ascii_digit() || "-.,".contains(c)));
        let flags = tokens
            .iter()
            .map(|t| match t {
                Token::Text(s) => m.test_str(s),
                Token::Hole(h) => digit_free && template::writes_numbers_as_digits(h),
            })
            .collect();
        Parsed { tokens, flags }
    }
}

/// Decides the pending rows of a text search from the hole properties' columns. Rows that
/// cannot be decided exactly (a dotted or object-valued hole, client renderings) stay
/// undecided.
#[allow(clippy::too_many_arguments)]
pub(crate) fn decide_pending<'r>(
    pending: PendingText,
    part: &Part,
    b: usize,
    h: &BlockHeader,
    columns: &ColumnCache,
    rows: &impl Fn() -> Result<&'r Rows, PartError>,
    readers: &mut HashMap<u32, Reader>,
    m: &Matcher<'_>,
    state: &mut [u8],
) -> Result<(), PartError> {
    if pending.rows.is_empty() {
        return Ok(());
    }
    let renderings = names::builtin_node(Builtin::Renderings);
    let mut need = vec![renderings];
    // Per template, per hole: the property's column node (`None`: no row has it), or the
    // template cannot be decided here.
    let sources: Vec<Option<Vec<Option<u32>>>> = pending
        .parsed
        .iter()
        .map(|p| {
            p.tokens
                .iter()
                .filter_map(|t| match t {
                    Token::Hole(hole) => Some(hole),
                    Token::Text(_) => None,
                })
                .map(|hole| {
                    if hole.name.contains('.') {
                        return None;
                    }
                    match property_node(part, h, &hole.name) {
                        PropertyColumn::None => Some(None),
                        PropertyColumn::Unreadable => None,
                        PropertyColumn::Leaf(node) => {
                            need.push(node);
                            Some(Some(node))
                        }
                    }
                })
                .collect()
        })
        .collect();
    for node in need {
        if let Entry::Vacant(e) = readers.entry(node) {
            e.insert(read_field(part, b, h, rows, node, columns)?);
        }
    }
    let has_renderings = |row: usize| match &readers[&renderings] {
        Reader::Absent => false,
        Reader::Column { rank, .. } => rank[row] != u32::MAX,
    };
    let mut search = m.text_window().map(|n| Segments::new(m, n));
    let mut scratch = String::new();
    let mut text = String::new();
    for (row, prior, t) in pending.rows {
        let Some(holes) = &sources[t as usize] else {
            continue;
        };
        if has_renderings(row) {
            continue;
        }
        let parsed = &pending.parsed[t as usize];
        // Hole `i`'s column and the row's rank in it, where the row has a value.
        let at = |i: usize| match holes[i] {
            Some(node) => match &readers[&node] {
                Reader::Column { col, rank } if rank[row] != u32::MAX => {
                    Some((&**col, rank[row] as usize))
                }
                _ => None,
            },
            None => None,
        };
        let verdict = match search.as_mut() {
            Some(search) => search.row(parsed, at, &mut scratch, &mut text),
            None => Verdict::Render,
        };
        let found = match verdict {
            Verdict::Found(found) => found,
            Verdict::Render => match render(parsed, holes.len(), at, &mut scratch) {
                Some(rendered) => m.test_str(&rendered),
                // Damage: left to the caller, whose rebuild reports it.
                None => continue,
            },
        };
        state[row] = prior.min(u8::from(found) * YES);
    }
    Ok(())
}

enum Verdict {
    Found(bool),
    /// The segments cannot decide: render the message.
    Render,
}

/// Renders a row's message from its hole cells, with the renderer events use (`None`: a
/// cell is damaged).
fn render<'c>(
    parsed: &Parsed,
    holes: usize,
    at: impl Fn(usize) -> Option<(&'c Column, usize)>,
    scratch: &mut String,
) -> Option<String> {
    let mut values = Vec::with_capacity(holes);
    for i in 0..holes {
        values.push(match at(i) {
            Some((col, rank)) => Some(cell_value(col.cell(rank, scratch)).ok()?),
            None => None,
        });
    }
    let mut next = values.iter();
    Some(template::render_with(
        &parsed.tokens,
        |_| next.next().and_then(Option::as_ref),
        &[],
    ))
}

/// The search over one message's segments (see the module docs).
struct Segments<'m, 'p> {
    m: &'m Matcher<'p>,
    /// Characters kept from the end of the text so far: one less than a match can span.
    keep: usize,
    /// The last `keep` characters of the text so far.
    tail: String,
    window: String,
    /// Bytes of the text so far, with each skipped hole at its largest.
    bound: usize,
    found: bool,
}

impl<'m, 'p> Segments<'m, 'p> {
    fn new(m: &'m Matcher<'p>, window: usize) -> Self {
        Segments {
            m,
            keep: window.saturating_sub(1),
            tail: String::new(),
            window: String::new(),
            bound: 0,
            found: false,
        }
    }

    fn row<'c>(
        &mut self,
        parsed: &Parsed,
        at: impl Fn(usize) -> Option<(&'c Column, usize)>,
        scratch: &mut String,
        text: &mut String,
    ) -> Verdict {
        self.tail.clear();
        self.bound = 0;
        self.found = false;
        let mut hole_index = 0;
        for (token, &flag) in parsed.tokens.iter().zip(&parsed.flags) {
            if self.found || self.bound > template::MAX_RENDERED_BYTES {
                break;
            }
            match token {
                Token::Text(piece) => self.push(piece, flag),
                Token::Hole(hole) => {
                    let cell = at(hole_index).map(|(col, rank)| col.cell(rank, scratch));
                    hole_index += 1;
                    match cell {
                        None => self.push(&hole.raw, true),
                        Some(Cell::Int(_) | Cell::Dec(..)) if flag => self.skip_digits(),
                        Some(Cell::Str(s)) if hole.alignment.is_none() => self.push(&s, true),
                        Some(Cell::Json(_)) => return Verdict::Render,
                        Some(cell) => {
                            write_cell(text, hole, &cell);
                            self.push(text, true);
                        }
                    }
                }
            }
        }
        // Nothing was cut at the rendering limit before the verdict was reached.
        if self.bound > template::MAX_RENDERED_BYTES {
            return Verdict::Render;
        }
        Verdict::Found(self.found)
    }

    /// Appends a segment; `search` is false for a piece known not to hold the text.
    fn push(&mut self, s: &str, search: bool) {
        self.bound += s.len();
        if search && self.m.test_str(s) {
            self.found = true;
            return;
        }
        if self.keep == 0 || s.is_empty() {
            return;
        }
        if !self.tail.is_empty() {
            let head = s.char_indices().nth(self.keep).map_or(s.len(), |(i, _)| i);
            self.window.clear();
            self.window.push_str(&self.tail);
            self.window.push_str(&s[..head]);
            if self.m.test_str(&self.window) {
                self.found = true;
                return;
            }
        }
        match s.char_indices().rev().nth(self.keep - 1) {
            Some((i, _)) => {
                self.tail.clear();
                self.tail.push_str(&s[i..]);
            }
            None => {
                self.tail.push_str(s);
                let excess = self.tail.chars().count().saturating_sub(self.keep);
                if excess > 0 {
                    let cut = self.tail.char_indices().nth(excess).map_or(0, |(i, _)| i);
                    self.tail.drain(..cut);
                }
            }
        }
    }

    /// A number hole written as digits only, which no match can include: the text on its
    /// two sides is searched apart.
    fn skip_digits(&mut self) {
        self.tail.clear();
        self.bound += DIGITS_HOLE_MAX;
    }
}

/// Writes a scalar cell as the hole renders it.
fn write_cell(out: &mut String, hole: &Hole, cell: &Cell<'_>) {
    out.clear();
    let mut number = String::new();
    let scalar = match cell {
        Cell::Str(s) => Scalar::Str(s),
        Cell::Int(v) => {
            let _ = write!(number, "{v}");
            Scalar::Number(&number)
        }
        Cell::Dec(m, s) => {
            number = decimal_text(*m, *s);
            Scalar::Number(&number)
        }
        Cell::Bool(b) => Scalar::Bool(*b),
        Cell::Null | Cell::Json(_) => Scalar::Null,
    };
    template::write_scalar(out, hole, scalar);
}

/// Whether a template's rendering contains the text: decided only when it has no holes.
pub(crate) fn template_state(t: &str, m: &Matcher<'_>) -> u8 {
    verdict_without_holes(&template::parse(t), m).unwrap_or(MAYBE)
}

/// YES or NO for a parsed template without holes (its rendering is its text); `None` when
/// it has holes.
fn verdict_without_holes(tokens: &[Token], m: &Matcher<'_>) -> Option<u8> {
    if tokens.iter().any(|t| matches!(t, Token::Hole(_))) {
        return None;
    }
    let rendered = template::render(tokens, &Default::default(), &[]);
    Some(u8::from(m.test_str(&rendered)) * YES)
}
