//! Substring and regex search shared by the string functions.
//!
//! Case-insensitive search lowercases both sides (the `eq_ignore_case` rule) and maps match
//! positions back to the original text, since lowercasing can change a string's length
//! (`İ` becomes two characters).

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use regex::Regex;

use super::{Arg, value};

/// What to look for: text, or a regex (already case-insensitive under `ci`).
pub(crate) enum Needle<'a> {
    Text(&'a str),
    Regex(&'a Regex),
}

pub(super) fn needle(args: &[Arg], i: usize) -> Option<Needle<'_>> {
    match args.get(i)? {
        Arg::Regex(re) => Some(Needle::Regex(re)),
        Arg::Value(_) => Some(Needle::Text(value(args, i)?.as_str()?)),
    }
}

/// The number of characters before byte offset `byte` of `text`.
pub(super) fn char_index(text: &str, byte: usize) -> usize {
    text.get(..byte).map_or(0, |head| head.chars().count())
}

/// `text` lowercased, with each lowered byte's source character offset when lengths differ.
struct Folded<'a> {
    original: &'a str,
    lower: String,
    /// `None` for ASCII text, whose offsets are unchanged by lowercasing.
    source: Option<Vec<usize>>,
}

impl<'a> Folded<'a> {
    fn new(original: &'a str) -> Folded<'a> {
        if original.is_ascii() {
            return Folded {
                original,
                lower: original.to_ascii_lowercase(),
                source: None,
            };
        }
        let mut lower = String::with_capacity(original.len());
        let mut source = Vec::with_capacity(original.len());
        for (at, c) in original.char_indices() {
            for l in c.to_lowercase() {
                lower.push(l);
                source.extend(std::iter::repeat_n(at, l.len_utf8()));
            }
        }
        Folded {
            original,
            lower,
            source: Some(source),
        }
    }

    /// The original byte range of lowered range `r`; a match that covers part of one
    /// character's lowercase form covers the whole character.
    fn original_range(&self, r: Range<usize>) -> Range<usize> {
        let Some(source) = &self.source else {
            return r;
        };
        let start = source.get(r.start).copied().unwrap_or(self.original.len());
        if r.is_empty() {
            return start..start;
        }
        let end = source.get(r.end - 1).map_or(self.original.len(), |&at| {
            at + self.original[at..].chars().next().map_or(0, char::len_utf8)
        });
        start..end.max(start)
    }
}

/// The first match of `needle` in `text`, as an original byte range.
pub(super) fn find(text: &str, needle: &Needle<'_>, ci: bool) -> Option<Range<usize>> {
    match needle {
        Needle::Regex(re) => re.find(text).map(|m| m.range()),
        Needle::Text(n) if !ci => text.find(n).map(|at| at..at + n.len()),
        Needle::Text(n) => {
            let folded = Folded::new(text);
            let n = n.to_lowercase();
            let at = folded.lower.find(&n)?;
            Some(folded.original_range(at..at + n.len()))
        }
    }
}

/// The last match: for text, the last position it occurs at (overlaps allowed, as .NET's
/// `LastIndexOf`); for a regex, the last of the left-to-right non-overlapping matches, as
/// `Regex.Matches(...).Last()` would give.
pub(super) fn rfind(text: &str, needle: &Needle<'_>, ci: bool) -> Option<Range<usize>> {
    match needle {
        Needle::Regex(re) => re.find_iter(text).last().map(|m| m.range()),
        Needle::Text(n) if !ci => text.rfind(n).map(|at| at..at + n.len()),
        Needle::Text(n) => {
            let folded = Folded::new(text);
            let n = n.to_lowercase();
            let at = folded.lower.rfind(&n)?;
            Some(folded.original_range(at..at + n.len()))
        }
    }
}

/// Every non-overlapping occurrence of non-empty text `n`, left to right.
pub(super) fn text_matches(text: &str, n: &str, ci: bool) -> Vec<Range<usize>> {
    if !ci {
        return text
            .match_indices(n)
            .map(|(at, m)| at..at + m.len())
            .collect();
    }
    let folded = Folded::new(text);
    let n = n.to_lowercase();
    let mut out: Vec<Range<usize>> = Vec::new();
    for (at, m) in folded.lower.match_indices(&n) {
        let r = folded.original_range(at..at + m.len());
        // Two matches inside one character's lowercase form map to the same character.
        if out.last().is_none_or(|prev| r.start >= prev.end) {
            out.push(r);
        }
    }
    out
}

pub(crate) fn starts_with(text: &str, needle: &Needle<'_>, ci: bool) -> bool {
    match needle {
        // The leftmost match starts at 0 whenever any match does.
        Needle::Regex(re) => re.find(text).is_some_and(|m| m.start() == 0),
        Needle::Text(n) if !ci => text.starts_with(n),
        Needle::Text(n) if text.is_ascii() && n.is_ascii() => text
            .as_bytes()
            .get(..n.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(n.as_bytes())),
        Needle::Text(n) => text.to_lowercase().starts_with(&n.to_lowercase()),
    }
}

pub(super) fn ends_with(text: &str, needle: &Needle<'_>, ci: bool) -> bool {
    match needle {
        // The leftmost-first match need not be the one that ends last, so anchor instead; a
        // pattern whose `(?x)` comment swallows the wrapper falls back to the last
        // left-to-right match.
        Needle::Regex(re) => match derived(re, ci, |p| format!("(?:{p})\\z")) {
            Some(anchored) => anchored.is_match(text),
            None => re
                .find_iter(text)
                .last()
                .is_some_and(|m| m.end() == text.len()),
        },
        Needle::Text(n) if !ci => text.ends_with(n),
        Needle::Text(n) if text.is_ascii() && n.is_ascii() => {
            text.len() >= n.len()
                && text.as_bytes()[text.len() - n.len()..].eq_ignore_ascii_case(n.as_bytes())
        }
        Needle::Text(n) => text.to_lowercase().ends_with(&n.to_lowercase()),
    }
}

type Cache = HashMap<(String, bool), Option<Arc<Regex>>>;

thread_local! {
    /// Regexes built at evaluation time (string patterns of `IsMatch`, the anchored form for
    /// `EndsWith`); filters reuse a handful of patterns, so a small per-thread cache makes
    /// each one a single compile.
    static COMPILED: RefCell<Cache> = RefCell::new(HashMap::new());
}

/// Compiles `pattern` with the same size limits as regex literals; `None` if it is invalid.
pub(super) fn compiled(pattern: &str, ci: bool) -> Option<Arc<Regex>> {
    const MAX_CACHED: usize = 64;
    COMPILED.with(|cache| {
        let mut cache = cache.borrow_mut();
        let key = (pattern.to_owned(), ci);
        if let Some(found) = cache.get(&key) {
            return found.clone();
        }
        let built = regex::RegexBuilder::new(pattern)
            .case_insensitive(ci)
            .size_limit(1 << 20)
            .dfa_size_limit(1 << 20)
            .build()
            .ok()
            .map(Arc::new);
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(key, built.clone());
        built
    })
}

/// A regex built from another's source text.
fn derived(re: &Regex, ci: bool, wrap: impl Fn(&str) -> String) -> Option<Arc<Regex>> {
    compiled(&wrap(re.as_str()), ci)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_ranges_map_back_to_the_original() {
        let text = "İstanbul İS";
        let r = find(text, &Needle::Text("İS"), true).unwrap();
        assert_eq!(&text[r], "İs");
        // `i` matches half of `İ`'s lowercase form, `i̇`: the match covers the character.
        let r = find("xİy", &Needle::Text("i"), true).unwrap();
        assert_eq!(&"xİy"[r], "İ");
        let r = rfind(text, &Needle::Text("İS"), true).unwrap();
        assert_eq!(&text[r], "İS");
        assert_eq!(char_index(text, "İstanbul ".len()), 9);
        let all = text_matches("aXa xa", "XA", true);
        assert_eq!(all, vec![1..3, 4..6]);
    }

    #[test]
    fn regex_ends_with_finds_a_later_match() {
        let re = Regex::new("a|ab").unwrap();
        assert!(ends_with("ab", &Needle::Regex(&re), false));
        assert!(!ends_with("abc", &Needle::Regex(&re), false));
        assert!(compiled("(", false).is_none());
        let commented = Regex::new("(?x)b # trailing comment").unwrap();
        assert!(ends_with("ab", &Needle::Regex(&commented), false));
        assert!(!ends_with("ba", &Needle::Regex(&commented), false));
    }
}
