//! Text-search verdicts for a whole block, from its header and substring filters alone.
//!
//! A template with holes usually decides a text search by itself for every row of a block:
//! - **yes** when one of its literal pieces contains the text (whatever the holes hold), as long
//!   as the holes before it cannot push it past the rendering limit (the header's longest
//!   string per column bounds them);
//! - **no** when no piece does and every hole is *isolated* (the text cannot run across its
//!   edges: the automaton is back at its start before the hole, and the piece after it ends in
//!   the same state whatever it starts in) and its column cannot hold the text: the column's
//!   substring filter rules it out, or the hole writes only digits and the text has none.
//!
//! Either way the block's hole columns are never decompressed for that template. Anything
//! else (adjacent holes, a piece ending in part of the text, client renderings, columns
//! without a summary in parts of version 2) is left to the per-row automaton.

use seqr_query::pushdown::Matcher;
use seqr_types::template::{self, Hole, Token};

use crate::cache::ColumnCache;
use crate::count::{NO, PropertyColumn, YES, property_node};
use crate::part::block::BlockHeader;
use crate::part::cell::{Cell, T_DEC, T_INT, T_STR};
use crate::part::names::{self, Builtin};
use crate::part::{Part, PartError, ngram};
use crate::text_search::{DIGITS_HOLE_MAX, Dfa, Templates};

/// A text search's view of one block.
pub(crate) struct BlockText<'a> {
    part: &'a Part,
    b: usize,
    h: &'a BlockHeader,
    columns: &'a ColumnCache,
    dfa: Option<Dfa>,
    probe: Option<Vec<u8>>,
    /// Some row carries client renderings (`@r`), which replace hole values.
    renderings: bool,
    pub(crate) templates: &'a Templates,
}

/// One stretch of a template's rendering.
enum Segment {
    /// Text known for every row: the automaton's state after it, from each state.
    Fixed { next: Vec<u16>, bytes: usize },
    /// A hole whose value varies by row.
    Varies {
        /// The value cannot contain the text.
        excluded: bool,
        /// The most bytes it renders to (`None`: unknown).
        bound: Option<usize>,
    },
}

impl<'a> BlockText<'a> {
    pub(crate) fn new(
        part: &'a Part,
        b: usize,
        h: &'a BlockHeader,
        columns: &'a ColumnCache,
        m: &Matcher<'_>,
        templates: &'a Templates,
    ) -> BlockText<'a> {
        let text = m.text();
        BlockText {
            part,
            b,
            h,
            columns,
            dfa: text.and_then(|(t, ci)| Dfa::new(t, ci)),
            probe: text.and_then(|(t, ci)| ngram::probe(t, ci)),
            renderings: h
                .column_of(names::builtin_node(Builtin::Renderings))
                .is_some(),
            templates,
        }
    }

    /// False when no string of the column of `node` contains the text (its substring filter
    /// rules it out); true when it may, or nothing is known.
    pub(crate) fn column_may_contain(&self, node: u32) -> Result<bool, PartError> {
        let (Some(probe), Some(c)) = (&self.probe, self.h.column_of(node)) else {
            return Ok(true);
        };
        Ok(
            match self.columns.substrings(self.part, self.b, self.h, c)? {
                Some(filter) => ngram::may_contain(&filter, probe),
                None => true,
            },
        )
    }

    /// YES or NO for every row of the block that has this template (and no `@m`), or `None`
    /// when rows must be decided one by one.
    pub(crate) fn template_verdict(&self, tokens: &[Token]) -> Result<Option<u8>, PartError> {
        let Some(dfa) = &self.dfa else {
            return Ok(None);
        };
        if self.renderings {
            return Ok(None);
        }
        let mut segments: Vec<Segment> = Vec::with_capacity(tokens.len());
        for token in tokens {
            let segment = match token {
                Token::Text(piece) => match fixed(dfa, piece) {
                    Some(s) => s,
                    None => return Ok(None),
                },
                Token::Hole(hole) => match self.hole(dfa, hole)? {
                    Some(s) => s,
                    None => return Ok(None),
                },
            };
            match (segments.last_mut(), segment) {
                (
                    Some(Segment::Fixed { next, bytes }),
                    Segment::Fixed {
                        next: after,
                        bytes: more,
                    },
                ) => {
                    for s in next.iter_mut() {
                        *s = after[usize::from(*s)];
                    }
                    *bytes += more;
                }
                (_, segment) => segments.push(segment),
            }
        }
        Ok(verdict(dfa.n as u16, &segments))
    }

    /// A hole as a segment (`None`: undecidable here).
    fn hole(&self, dfa: &Dfa, hole: &Hole) -> Result<Option<Segment>, PartError> {
        if hole.name.contains('.') {
            return Ok(None);
        }
        let node = match property_node(self.part, self.h, &hole.name) {
            PropertyColumn::Unreadable => return Ok(None),
            // No row has the property: every rendering shows the hole as written.
            PropertyColumn::None => return Ok(fixed(dfa, &hole.raw)),
            PropertyColumn::Leaf(node) => node,
        };
        let c = self.h.column_of(node).expect("a leaf column");
        let meta = &self.h.columns[c];
        let everywhere = meta.present == self.h.rows;
        // Rows without the property show the hole as written.
        let raw_excluded = everywhere || dfa.decides(&hole.raw) && !contains(dfa, &hole.raw);
        let raw_len = if everywhere { 0 } else { hole.raw.len() };
        let width = hole.alignment.map_or(0, |a| a.unsigned_abs() as usize);
        let digits = template::writes_numbers_as_digits(hole);
        // Numbers written as digits only, for a text without digits: the automaton restarts.
        let skipped = dfa.digit_free && digits;
        if meta.constant.is_some() {
            let col = self.columns.column(self.part, self.b, self.h, c)?;
            let mut scratch = String::new();
            let segment = match col.cell(0, &mut scratch) {
                Cell::Str(s) if hole.alignment.is_none() && everywhere => fixed(dfa, &s),
                Cell::Str(s) => Some(Segment::Varies {
                    excluded: hole.alignment.is_none()
                        && raw_excluded
                        && dfa.decides(&s)
                        && !contains(dfa, &s),
                    bound: Some(s.len().max(raw_len) + width),
                }),
                Cell::Int(_) | Cell::Dec(..) if skipped && everywhere => Some(Segment::Fixed {
                    next: restart(dfa),
                    bytes: DIGITS_HOLE_MAX,
                }),
                Cell::Int(_) | Cell::Dec(..) => Some(Segment::Varies {
                    excluded: skipped && raw_excluded,
                    bound: digits.then_some(DIGITS_HOLE_MAX.max(raw_len)),
                }),
                _ => Some(Segment::Varies {
                    excluded: false,
                    bound: None,
                }),
            };
            return Ok(segment);
        }
        let Some(summary) = meta.summary else {
            return Ok(Some(Segment::Varies {
                excluded: false,
                bound: None,
            }));
        };
        let numbers = 1 << T_INT | 1 << T_DEC;
        let strings = summary.types & 1 << T_STR != 0;
        let others = summary.types & !(1 << T_STR | numbers);
        if !strings && others == 0 && skipped && everywhere {
            return Ok(Some(Segment::Fixed {
                next: restart(dfa),
                bytes: DIGITS_HOLE_MAX,
            }));
        }
        let excluded = others == 0
            && (skipped || summary.types & numbers == 0)
            && hole.alignment.is_none()
            && raw_excluded
            && (!strings || !self.column_may_contain(node)?);
        let bound = (others == 0 && (digits || summary.types & numbers == 0)).then(|| {
            let number = if summary.types & numbers != 0 {
                DIGITS_HOLE_MAX
            } else {
                0
            };
            (summary.max_len as usize).max(number).max(raw_len) + width
        });
        Ok(Some(Segment::Varies { excluded, bound }))
    }
}

/// The verdict for a template's segments (adjacent fixed ones already merged).
fn verdict(found: u16, segments: &[Segment]) -> Option<u8> {
    // Yes: a fixed stretch contains the text from any state, before the rendering limit.
    let mut before = Some(0usize);
    for s in segments {
        match s {
            Segment::Fixed { next, bytes } => {
                if next.iter().all(|&x| x == found)
                    && before.is_some_and(|b| b + bytes <= template::MAX_RENDERED_BYTES)
                {
                    return Some(YES);
                }
                before = before.map(|b| b + bytes);
            }
            Segment::Varies { bound, .. } => before = before.zip(*bound).map(|(b, x)| b + x),
        }
    }
    // No: each varying hole is isolated and excluded, and no fixed stretch finds the text
    // from the state it is entered in (0 first; after an isolated hole, any).
    let mut entry_known = true;
    let mut state = 0u16;
    for s in segments {
        match s {
            Segment::Fixed { next, .. } => {
                let from_any = next[..usize::from(found)].iter().all(|&x| x == next[0]);
                if !(entry_known || from_any) || next[usize::from(state)] == found {
                    return None;
                }
                state = next[usize::from(state)];
                entry_known = true;
            }
            Segment::Varies { excluded, .. } => {
                if !excluded || !entry_known || state != 0 {
                    return None;
                }
                entry_known = false;
            }
        }
    }
    Some(NO)
}

fn fixed(dfa: &Dfa, text: &str) -> Option<Segment> {
    dfa.decides(text).then(|| Segment::Fixed {
        next: (0..=dfa.n as u16)
            .map(|s| dfa.run(s, text.as_bytes()))
            .collect(),
        bytes: text.len(),
    })
}

/// A stretch that sends the automaton back to its start (digits, for a text without any).
fn restart(dfa: &Dfa) -> Vec<u16> {
    let mut next = vec![0; dfa.n + 1];
    next[dfa.n] = dfa.n as u16;
    next
}

fn contains(dfa: &Dfa, s: &str) -> bool {
    usize::from(dfa.run(0, s.as_bytes())) == dfa.n
}
