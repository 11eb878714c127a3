//! Text searches (`@Message` or `@Exception` contains a text) decided from a block's
//! columns.
//!
//! A message sent as a template is rendered from the template's literal pieces and the hole
//! values in turn. Instead of rendering it, the search runs a byte automaton for "contains
//! the text" (Knuth-Morris-Pratt, ASCII letters folded under `ci`) over those segments: each
//! piece's effect on the automaton is computed once per template, so pieces cost nothing per
//! row, and only hole values are scanned. A number hole whose rendering is digits only
//! cannot be part of a match of a text without digits, so it only resets the automaton,
//! unwritten. Rows this cannot decide exactly (the rendering might be cut at
//! [`template::MAX_RENDERED_BYTES`]; non-ASCII text under `ci`, which lowercases by Unicode
//! rules; a JSON-valued hole) are rendered and tested as events are.

use std::collections::hash_map::Entry;
use std::fmt::Write;
use std::sync::{Arc, Mutex};

use foldhash::{HashMap, HashMapExt};
use seqr_query::pushdown::Matcher;
use seqr_types::template::{self, Hole, Scalar, Token};

use crate::cache::ColumnCache;
use crate::count::{MAYBE, NO, PropertyColumn, Reader, YES, property_node, read_field};
use crate::lock;
use crate::part::block::{BlockHeader, cell_value};
use crate::part::cell::{Cell, decimal_text};
use crate::part::column::Column;
use crate::part::names::{self, Builtin};
use crate::part::{LazyRows, Part, PartError};
use crate::text_block::BlockText;

/// The most bytes a hole that writes digits only takes (an `i64` or an 18-digit decimal, with
/// grouping and up to 99 decimals): what a skipped hole may add to the message's length.
pub(crate) const DIGITS_HOLE_MAX: usize = 1024;

/// ANDs a text search (rendered message or exception contains) into `state`. The message is
/// `@m` where sent; otherwise a template without holes is its own rendering, one with holes
/// is decided for the whole block where [`BlockText`] can, and else left pending for
/// [`decide_pending`] unless the exception matches.
pub(crate) fn test_text(
    r: [&Reader; 3],
    block: &BlockText<'_>,
    m: &Matcher<'_>,
    state: &mut [u8],
) -> Result<PendingText, PartError> {
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
        let tokens = block.templates.parse(t);
        let verdict = match verdict_without_holes(&tokens, m) {
            Some(v) => Some(v),
            None => block.template_verdict(&tokens)?,
        };
        Ok::<_, PartError>(match verdict {
            Some(v) => Ok(v),
            None => {
                pending.parsed.push(tokens);
                Err(pending.parsed.len() as u32 - 1)
            }
        })
    };
    let mut buf = String::new();
    for (row, s) in state.iter_mut().enumerate() {
        if *s == NO {
            continue;
        }
        if exception.has(row)
            && let Some(Ok(x)) = exception.str_at(row, &mut buf)
            && m.test_str(x)
        {
            continue;
        }
        let in_message = if message.has(row) {
            match message.str_at(row, &mut buf) {
                Some(Ok(msg)) => u8::from(m.test_str(msg)) * YES,
                _ => MAYBE,
            }
        } else {
            let code = dict.and_then(|(_, codes, rank)| {
                let r = *rank.get(row)?;
                Some(*codes.get(r as usize)? as usize)
            });
            let known = match code {
                // The template's text is looked up only the first time its code is seen.
                Some(code) => match by_code[code] {
                    Some(v) => Some(v),
                    None => match dict.and_then(|(d, _, _)| d.borrowed(code)) {
                        Some(t) => {
                            let v = verdict_of(t, &mut pending)?;
                            by_code[code] = Some(v);
                            Some(v)
                        }
                        None => None,
                    },
                },
                None => None,
            };
            let verdict = match known {
                Some(v) => v,
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
                            let v = verdict_of(t, &mut pending)?;
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
        };
        *s = (*s).min(in_message);
    }
    Ok(pending)
}

/// Rows whose text search depends on a template with holes.
#[derive(Default)]
pub(crate) struct PendingText {
    /// (row, its state before the search, index of its template in `parsed`).
    rows: Vec<(usize, u8, u32)>,
    parsed: Vec<Arc<[Token]>>,
}

/// Templates parsed once per query (blocks share their templates), by text; at most
/// [`Templates::MAX`] of them, so a client that sends every message as its own template
/// costs parsing, not memory.
#[derive(Default)]
pub(crate) struct Templates(Mutex<HashMap<String, Arc<[Token]>>>);

impl Templates {
    const MAX: usize = 4096;

    pub(crate) fn parse(&self, t: &str) -> Arc<[Token]> {
        if let Some(tokens) = lock(&self.0).get(t) {
            return tokens.clone();
        }
        let tokens: Arc<[Token]> = template::parse(t).into();
        let mut map = lock(&self.0);
        if map.len() < Self::MAX {
            map.insert(t.to_owned(), tokens.clone());
        }
        tokens
    }
}

/// Decides the pending rows of a text search from the hole properties' columns. Rows that
/// cannot be decided exactly (a dotted or object-valued hole, client renderings) stay
/// undecided.
#[allow(clippy::too_many_arguments)]
pub(crate) fn decide_pending(
    pending: PendingText,
    part: &Part,
    b: usize,
    h: &BlockHeader,
    columns: &ColumnCache,
    rows: &LazyRows<'_>,
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
        .map(|tokens| {
            tokens
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
    let dfa = m.text().and_then(|(text, ci)| Dfa::new(text, ci));
    // Per template: its plan for the automaton (`None`: rendered).
    let plans: Vec<Option<Plan>> = pending
        .parsed
        .iter()
        .map(|tokens| dfa.as_ref().and_then(|d| Plan::new(tokens, d)))
        .collect();
    let mut scratch = String::new();
    let mut text = String::new();
    for (row, prior, t) in pending.rows {
        let Some(holes) = &sources[t as usize] else {
            continue;
        };
        if has_renderings(row) {
            continue;
        }
        let tokens = &pending.parsed[t as usize];
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
        let verdict = match (&dfa, &plans[t as usize]) {
            (Some(dfa), Some(plan)) => plan.run(dfa, tokens, at, &mut scratch, &mut text),
            _ => Verdict::Render,
        };
        let found = match verdict {
            Verdict::Found(found) => found,
            Verdict::Render => match render(tokens, holes.len(), at, &mut scratch) {
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
    /// The automaton cannot decide: render the message.
    Render,
}

/// Renders a row's message from its hole cells, with the renderer events use (`None`: a
/// cell is damaged).
fn render<'c>(
    tokens: &[Token],
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
        tokens,
        |_| next.next().and_then(Option::as_ref),
        &[],
    ))
}

/// A deterministic automaton for "contains the text" over bytes: state `n` (the text's
/// length) means found and stays.
pub(crate) struct Dfa {
    pub(crate) n: usize,
    /// `next[state * 256 + byte]`.
    next: Vec<u16>,
    /// ASCII letters are folded (`ci`); then only ASCII text is decided here.
    fold: bool,
    /// The text holds none of `0-9 - . ,`: digits-only number holes cannot be in a match.
    pub(crate) digit_free: bool,
}

impl Dfa {
    /// `None` for an empty or very long text, or a non-ASCII one under `ci` (Unicode
    /// lowercasing is not byte-wise).
    pub(crate) fn new(text: &str, ci: bool) -> Option<Dfa> {
        if text.is_empty() || text.len() >= usize::from(u16::MAX) || (ci && !text.is_ascii()) {
            return None;
        }
        let pat: Vec<u8> = if ci {
            text.bytes().map(|b| b.to_ascii_lowercase()).collect()
        } else {
            text.bytes().collect()
        };
        let n = pat.len();
        let mut next = vec![0u16; (n + 1) * 256];
        next[usize::from(pat[0])] = 1;
        let mut restart = 0;
        for (j, &c) in pat.iter().enumerate().skip(1) {
            let (done, rest) = next.split_at_mut(j * 256);
            rest[..256].copy_from_slice(&done[restart * 256..restart * 256 + 256]);
            rest[usize::from(c)] = (j + 1) as u16;
            restart = usize::from(done[restart * 256 + usize::from(c)]);
        }
        next[n * 256..].fill(n as u16);
        if ci {
            for state in next.chunks_exact_mut(256) {
                for upper in b'A'..=b'Z' {
                    state[usize::from(upper)] = state[usize::from(upper.to_ascii_lowercase())];
                }
            }
        }
        Some(Dfa {
            n,
            next,
            fold: ci,
            digit_free: !text
                .chars()
                .any(|c| c.is_ascii_digit() || "-.,".contains(c)),
        })
    }

    pub(crate) fn run(&self, mut state: u16, bytes: &[u8]) -> u16 {
        for &b in bytes {
            state = self.next[usize::from(state) * 256 + usize::from(b)];
            if usize::from(state) == self.n {
                break;
            }
        }
        state
    }

    /// Whether the automaton decides this text (under `ci`, only ASCII text).
    pub(crate) fn decides(&self, s: &str) -> bool {
        !self.fold || s.is_ascii()
    }
}

/// A template prepared for the automaton.
struct Plan {
    /// Per token: for a piece, the state after it from each state; empty for a hole.
    pieces: Vec<Vec<u16>>,
    /// Per token: a hole skipped when its value is a plain number.
    skips: Vec<bool>,
}

impl Plan {
    /// `None` when a piece is not ASCII under `ci`.
    fn new(tokens: &[Token], dfa: &Dfa) -> Option<Plan> {
        let mut pieces = Vec::with_capacity(tokens.len());
        let mut skips = Vec::with_capacity(tokens.len());
        for t in tokens {
            match t {
                Token::Text(piece) => {
                    if !dfa.decides(piece) {
                        return None;
                    }
                    pieces.push(
                        (0..=dfa.n as u16)
                            .map(|s| dfa.run(s, piece.as_bytes()))
                            .collect(),
                    );
                    skips.push(false);
                }
                Token::Hole(h) => {
                    pieces.push(Vec::new());
                    skips.push(dfa.digit_free && template::writes_numbers_as_digits(h));
                }
            }
        }
        Some(Plan { pieces, skips })
    }

    fn run<'c>(
        &self,
        dfa: &Dfa,
        tokens: &[Token],
        at: impl Fn(usize) -> Option<(&'c Column, usize)>,
        scratch: &mut String,
        text: &mut String,
    ) -> Verdict {
        let found = dfa.n as u16;
        let mut state = 0u16;
        // Bytes of the message so far, with each skipped hole at its largest.
        let mut bound = 0usize;
        let mut hole_index = 0;
        for (i, token) in tokens.iter().enumerate() {
            if state == found || bound > template::MAX_RENDERED_BYTES {
                break;
            }
            let segment: &str = match token {
                Token::Text(piece) => {
                    bound += piece.len();
                    state = self.pieces[i][usize::from(state)];
                    continue;
                }
                Token::Hole(hole) => {
                    let cell = at(hole_index).map(|(col, rank)| col.cell(rank, scratch));
                    hole_index += 1;
                    match cell {
                        None => &hole.raw,
                        Some(Cell::Int(_) | Cell::Dec(..)) if self.skips[i] => {
                            state = 0;
                            bound += DIGITS_HOLE_MAX;
                            continue;
                        }
                        Some(Cell::Str(s)) if hole.alignment.is_none() => {
                            if !dfa.decides(&s) {
                                return Verdict::Render;
                            }
                            bound += s.len();
                            state = dfa.run(state, s.as_bytes());
                            continue;
                        }
                        Some(Cell::Json(_)) => return Verdict::Render,
                        Some(cell) => {
                            write_cell(text, hole, &cell);
                            text
                        }
                    }
                }
            };
            if !dfa.decides(segment) {
                return Verdict::Render;
            }
            bound += segment.len();
            state = dfa.run(state, segment.as_bytes());
        }
        // Nothing was cut at the rendering limit before the verdict was reached.
        if bound > template::MAX_RENDERED_BYTES {
            return Verdict::Render;
        }
        Verdict::Found(state == found)
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
