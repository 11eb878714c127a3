//! Seq's `like` matcher, compiled once per pattern and run per event.
//!
//! `%` matches zero or more characters and `?` zero or one; `%%` and `??` are a literal `%`
//! and `?`. `_` is an ordinary character: the current Seq reference gives `?` that role and
//! treating `_` as a wildcard would change the meaning of patterns over snake_case names.
//! The whole text must match.
//!
//! Patterns with only `%` wildcards (nearly all of them) match by finding their literal
//! runs in order, which is exact for `%` and linear per run; patterns with `?` run a
//! position-set simulation, O(text × pattern), so no pattern can backtrack exponentially.
//! `ci` lowercases both sides (as [`crate::value::eq_ignore_case`] does); ASCII texts are
//! compared in place, other texts are lowercased into one temporary string.

/// A compiled `like` pattern.
#[derive(Clone, Debug)]
pub struct LikePattern {
    ci: bool,
    shape: Shape,
    /// The literal text every match starts with, as written (not lowercased).
    prefix: String,
}

#[derive(Clone, Debug)]
enum Shape {
    /// `%`: anything.
    All,
    Exact(String),
    /// `text%`.
    Prefix(String),
    /// `%text`.
    Suffix(String),
    /// `%text%`.
    Contains(String),
    /// `first%…%last` with two or more `%`: `first` and `last` anchored (possibly empty),
    /// the middle runs non-empty.
    Runs {
        first: String,
        middle: Vec<String>,
        last: String,
    },
    /// Contains `?`.
    General(Vec<Tok>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok {
    Char(char),
    /// `%`.
    Many,
    /// `?`.
    Opt,
}

impl LikePattern {
    /// Compiles `pattern`; `ci` makes matching case-insensitive.
    pub fn new(pattern: &str, ci: bool) -> LikePattern {
        let toks = tokenize(pattern);
        let prefix = toks
            .iter()
            .map_while(|t| match t {
                Tok::Char(c) => Some(*c),
                _ => None,
            })
            .collect();
        let toks = if ci { lowercase(&toks) } else { toks };
        LikePattern {
            ci,
            shape: shape_of(toks),
            prefix,
        }
    }

    /// Whether `text` matches the whole pattern.
    pub fn matches(&self, text: &str) -> bool {
        if !self.ci {
            self.shape.matches(text, false)
        } else if text.is_ascii() {
            self.shape.matches(text, true)
        } else {
            self.shape.matches(&text.to_lowercase(), false)
        }
    }

    /// The literal text before the first wildcard, as written, for predicate pushdown; `None`
    /// when the pattern starts with a wildcard. Under `ci` it constrains the lowercased text:
    /// every match, lowercased, starts with this prefix lowercased.
    pub fn literal_prefix(&self) -> Option<&str> {
        (!self.prefix.is_empty()).then_some(self.prefix.as_str())
    }

    /// The text the pattern matches exactly, when it has no wildcards and is case-sensitive.
    pub fn exact(&self) -> Option<&str> {
        match &self.shape {
            Shape::Exact(s) if !self.ci => Some(s),
            _ => None,
        }
    }
}

fn tokenize(pattern: &str) -> Vec<Tok> {
    let mut toks = Vec::with_capacity(pattern.len());
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        let tok = match c {
            '%' | '?' if chars.peek() == Some(&c) => {
                chars.next();
                Tok::Char(c)
            }
            '%' => Tok::Many,
            '?' => Tok::Opt,
            _ => Tok::Char(c),
        };
        // `%` absorbs neighbouring `%` and `?`: `%?`, `?%` and `%%`-as-wildcards mean `%`.
        match (toks.last(), tok) {
            (Some(Tok::Many), Tok::Many | Tok::Opt) => {}
            (Some(Tok::Opt), Tok::Many) => {
                // Two `?` are never adjacent (`??` is a literal), so one pop suffices.
                toks.pop();
                toks.push(Tok::Many);
            }
            _ => toks.push(tok),
        }
    }
    toks
}

fn lowercase(toks: &[Tok]) -> Vec<Tok> {
    let mut out = Vec::with_capacity(toks.len());
    for t in toks {
        match t {
            Tok::Char(c) => out.extend(c.to_lowercase().map(Tok::Char)),
            other => out.push(*other),
        }
    }
    out
}

fn shape_of(toks: Vec<Tok>) -> Shape {
    if toks.contains(&Tok::Opt) {
        return Shape::General(toks);
    }
    let mut runs: Vec<String> = vec![String::new()];
    for t in &toks {
        match t {
            Tok::Char(c) => {
                if let Some(run) = runs.last_mut() {
                    run.push(*c);
                }
            }
            Tok::Many => runs.push(String::new()),
            Tok::Opt => {}
        }
    }
    let last = runs.pop().unwrap_or_default();
    if runs.is_empty() {
        return Shape::Exact(last);
    }
    let first = runs.remove(0);
    match (first.is_empty(), runs.is_empty(), last.is_empty()) {
        (true, true, true) => Shape::All,
        (false, true, true) => Shape::Prefix(first),
        (true, true, false) => Shape::Suffix(last),
        (true, false, true) if runs.len() == 1 => Shape::Contains(runs.remove(0)),
        _ => Shape::Runs {
            first,
            middle: runs,
            last,
        },
    }
}

impl Shape {
    /// `fold`: `text` is ASCII and compares ignoring ASCII case (the pattern is lowercase).
    fn matches(&self, text: &str, fold: bool) -> bool {
        match self {
            Shape::All => true,
            Shape::Exact(s) => eq(text, s, fold),
            Shape::Prefix(s) => starts_with(text, s, fold),
            Shape::Suffix(s) => ends_with(text, s, fold),
            Shape::Contains(s) => find(text, s, fold).is_some(),
            Shape::Runs {
                first,
                middle,
                last,
            } => {
                if text.len() < first.len() + last.len()
                    || !starts_with(text, first, fold)
                    || !ends_with(text, last, fold)
                {
                    return false;
                }
                // Taking each run at its leftmost position leaves the most room for the rest.
                let Some(mut rest) = text.get(first.len()..text.len() - last.len()) else {
                    return false;
                };
                for run in middle {
                    match find(rest, run, fold) {
                        Some(at) => rest = rest.get(at + run.len()..).unwrap_or(""),
                        None => return false,
                    }
                }
                true
            }
            Shape::General(toks) => simulate(toks, text, fold),
        }
    }
}

fn eq(text: &str, pat: &str, fold: bool) -> bool {
    if fold {
        text.eq_ignore_ascii_case(pat)
    } else {
        text == pat
    }
}

fn starts_with(text: &str, pat: &str, fold: bool) -> bool {
    if fold {
        text.as_bytes()
            .get(..pat.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(pat.as_bytes()))
    } else {
        text.starts_with(pat)
    }
}

fn ends_with(text: &str, pat: &str, fold: bool) -> bool {
    if fold {
        text.len() >= pat.len()
            && text.as_bytes()[text.len() - pat.len()..].eq_ignore_ascii_case(pat.as_bytes())
    } else {
        text.ends_with(pat)
    }
}

/// Byte offset of the first occurrence of `pat` in `text`. Under `fold` the text is ASCII,
/// so every offset is a character boundary.
fn find(text: &str, pat: &str, fold: bool) -> Option<usize> {
    if !fold {
        return text.find(pat);
    }
    let (hay, needle) = (text.as_bytes(), pat.as_bytes());
    if needle.is_empty() {
        return Some(0);
    }
    if !pat.is_ascii() || needle.len() > hay.len() {
        return None;
    }
    // Candidates are the places the pattern's rarest byte occurs, in either case (found by
    // memchr): scanning for a common letter such as `t` would stop every few bytes.
    let k = (0..needle.len())
        .min_by_key(|&i| commonness(needle[i]))
        .expect("not empty");
    let (lower, upper) = (
        needle[k].to_ascii_lowercase(),
        needle[k].to_ascii_uppercase(),
    );
    let starts = &hay[k..=hay.len() - needle.len() + k];
    memchr::memchr2_iter(lower, upper, starts)
        .find(|&i| hay[i..i + needle.len()].eq_ignore_ascii_case(needle))
}

/// How often an ASCII byte is expected in log text, roughly (higher: more often): letters
/// in English frequency order, then digits, then punctuation.
fn commonness(b: u8) -> u8 {
    const LETTERS: &[u8; 26] = b"etaoinsrhldcumfpgwybvkxjqz";
    match b.to_ascii_lowercase() {
        b' ' => 255,
        l if l.is_ascii_lowercase() => {
            let at = LETTERS.iter().position(|&x| x == l).expect("a letter");
            200 - at as u8 * 4
        }
        d if d.is_ascii_digit() => 90,
        _ => 50,
    }
}

/// Runs the pattern as an automaton whose states are token positions: each character
/// advances every live position at once.
fn simulate(toks: &[Tok], text: &str, fold: bool) -> bool {
    let n = toks.len();
    let mut live = vec![false; n + 1];
    let mut next = vec![false; n + 1];
    live[0] = true;
    close(toks, &mut live);
    for c in text.chars() {
        let c = if fold { c.to_ascii_lowercase() } else { c };
        next.fill(false);
        let mut any = false;
        for (i, tok) in toks.iter().enumerate() {
            if !live[i] {
                continue;
            }
            match *tok {
                Tok::Char(p) if p == c => next[i + 1] = true,
                Tok::Char(_) => continue,
                Tok::Many => next[i] = true,
                Tok::Opt => next[i + 1] = true,
            }
            any = true;
        }
        if !any {
            return false;
        }
        close(toks, &mut next);
        std::mem::swap(&mut live, &mut next);
    }
    live[n]
}

/// Wildcards may match nothing: a live position before one makes the next position live.
fn close(toks: &[Tok], set: &mut [bool]) {
    for (i, tok) in toks.iter().enumerate() {
        if set[i] && matches!(tok, Tok::Many | Tok::Opt) {
            set[i + 1] = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn like(text: &str, pattern: &str) -> bool {
        LikePattern::new(pattern, false).matches(text)
    }

    fn like_ci(text: &str, pattern: &str) -> bool {
        LikePattern::new(pattern, true).matches(text)
    }

    #[test]
    fn wildcards() {
        assert!(like("Hello world", "%world"));
        assert!(like("Hello world", "Hello%"));
        assert!(like("Hello world", "%lo w%"));
        assert!(like("Hello world", "Hello world"));
        assert!(like("Hello world", "%"));
        assert!(like("", "%"));
        assert!(like("", ""));
        assert!(like("abc", "a%b%c"));
        assert!(like("aXbYc", "a%b%c"));
        assert!(like("abcbc", "%b%c"));
        assert!(!like("abc", "a%c%b"));
        assert!(!like("ab", "a%b%b"));
        assert!(like("aba", "a%a"));
        assert!(!like("a", "a%a"));
        assert!(!like("Hello world", "hello%"));
        assert!(!like("Hello world", "%xyz%"));
        assert!(!like("Hello", "Hell"));
    }

    #[test]
    fn question_mark_is_zero_or_one() {
        assert!(like("color", "colo?r"));
        assert!(like("colour", "colo?r"));
        assert!(!like("colouur", "colo?r"));
        assert!(like("", "?"));
        assert!(like("x", "?"));
        assert!(!like("xy", "?"));
        assert!(like("?xab", "??%a?b"));
        assert!(!like("xab", "??%a?b"));
        assert!(like("abc", "a?%"));
        assert!(like("a1b22c", "a?b%c"));
        assert!(like("é", "?"));
    }

    #[test]
    fn doubled_wildcards_are_literal_and_underscore_is_literal() {
        assert!(like("100%", "100%%"));
        assert!(!like("1000", "100%%"));
        assert!(like("why?", "why??"));
        assert!(!like("why", "why??"));
        assert!(like("50% off", "50%% off"));
        assert!(like("%% off", "%%%% off"));
        assert!(like("a_b", "a_b"));
        assert!(!like("axb", "a_b"));
        assert!(like("%%y", "%%%%%"));
        assert!(!like("x%y", "%%%%%"));
    }

    #[test]
    fn case_insensitive() {
        assert!(like_ci("HELLO World", "hello%"));
        assert!(like_ci("hello world", "%WORLD"));
        assert!(!like_ci("Straße", "STRASSE"));
        assert!(like_ci("ÉCOLE", "école"));
        assert!(like_ci("Ünïcode text", "%ÏCODE%"));
        assert!(like_ci("Kelvin", "\u{212A}elvin"));
        assert!(like_ci("xYz", "x?z"));
        assert!(like_ci("XaYbZ", "x%y%z"));
        assert!(!like_ci("XaYbZ", "x%z%y"));
        assert!(!like_ci("abc", "abd"));
    }

    #[test]
    fn case_insensitive_search_finds_the_first_match_wherever_the_rarest_byte_is() {
        // `m` is the rarest letter of "timeout", `_` of "a_b": neither comes first.
        for (text, pat, at) in [
            ("TIMEOUT", "timeout", Some(0)),
            ("a TimeOut", "timeout", Some(2)),
            ("mmm timeou timeout", "timeout", Some(11)),
            ("timeou", "timeout", None),
            ("xa_ba_b", "a_b", Some(1)),
            ("m", "timeout", None),
        ] {
            assert_eq!(find(text, pat, true), at, "{pat} in {text}");
        }
        assert!(like_ci(
            "the operation TIMED OUT: timeout after 30 s",
            "%timeout%"
        ));
    }

    #[test]
    fn no_exponential_backtracking() {
        let text = "a".repeat(20_000);
        assert!(!like(&text, &format!("{}b", "%a".repeat(30))));
        assert!(!like(&text, &format!("{}b", "a?".repeat(30))));
        assert!(!like_ci(&text, &format!("%{}b%", "A".repeat(50))));
    }

    #[test]
    fn prefixes_for_pushdown() {
        assert_eq!(
            LikePattern::new("Hello%", false).literal_prefix(),
            Some("Hello")
        );
        assert_eq!(
            LikePattern::new("100%%x%", false).literal_prefix(),
            Some("100%x")
        );
        assert_eq!(LikePattern::new("%Hello", false).literal_prefix(), None);
        assert_eq!(
            LikePattern::new("HeLLo%", true).literal_prefix(),
            Some("HeLLo")
        );
        assert_eq!(LikePattern::new("", false).literal_prefix(), None);
        assert_eq!(LikePattern::new("Hi", false).exact(), Some("Hi"));
        assert_eq!(LikePattern::new("Hi%", false).exact(), None);
    }

    /// An independent translation to a regex, applied to lowercased text under `ci`.
    fn oracle(text: &str, pattern: &str, ci: bool) -> bool {
        let (text, pattern) = if ci {
            (text.to_lowercase(), pattern.to_lowercase())
        } else {
            (text.to_owned(), pattern.to_owned())
        };
        let mut re = String::from("^(?s:");
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '%' | '?' if chars.peek() == Some(&c) => {
                    chars.next();
                    re.push_str(&regex::escape(&c.to_string()));
                }
                '%' => re.push_str(".*"),
                '?' => re.push_str(".?"),
                _ => re.push_str(&regex::escape(&c.to_string())),
            }
        }
        re.push_str(")$");
        regex::Regex::new(&re).unwrap().is_match(&text)
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_a_regex_translation(
            pattern in "[aAb%?_\u{e9}\u{c9}\u{130}\u{212a}k]{0,8}",
            text in "[aAb%?_\u{e9}\u{c9}\u{130}kK]{0,10}",
            ci: bool,
        ) {
            proptest::prop_assert_eq!(
                LikePattern::new(&pattern, ci).matches(&text),
                oracle(&text, &pattern, ci),
                "{:?} like {:?} ci={}", text, pattern, ci
            );
        }
    }
}
