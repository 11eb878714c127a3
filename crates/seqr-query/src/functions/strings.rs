//! String functions: search, replace, slicing and conversions.

use std::fmt::Write;

use regex::Regex;

use super::search::{self, Needle, char_index, needle};
use super::{Arg, CallContext, boolean, count, integer, num, string, text, value};
use crate::value::{Eval, Value};

/// `Concat(s0, s1, …)`: strings only; any other argument makes the result undefined.
pub(super) fn concat(args: &[Arg], _: &CallContext) -> Eval {
    let mut out = String::new();
    for i in 0..args.len() {
        out.push_str(string(args, i)?);
    }
    text(out)
}

pub(super) fn contains(args: &[Arg], ctx: &CallContext) -> Eval {
    let s = string(args, 0)?;
    boolean(search::find(s, &needle(args, 1)?, ctx.ci).is_some())
}

pub(super) fn starts_with(args: &[Arg], ctx: &CallContext) -> Eval {
    boolean(search::starts_with(
        string(args, 0)?,
        &needle(args, 1)?,
        ctx.ci,
    ))
}

pub(super) fn ends_with(args: &[Arg], ctx: &CallContext) -> Eval {
    boolean(search::ends_with(
        string(args, 0)?,
        &needle(args, 1)?,
        ctx.ci,
    ))
}

/// Zero-based character index of the first match, or -1.
pub(super) fn index_of(args: &[Arg], ctx: &CallContext) -> Eval {
    let s = string(args, 0)?;
    match search::find(s, &needle(args, 1)?, ctx.ci) {
        Some(r) => count(char_index(s, r.start)),
        None => num(-1),
    }
}

/// The pre-`ci` spelling of `IndexOf(…) ci`.
pub(super) fn index_of_ignore_case(args: &[Arg], ctx: &CallContext) -> Eval {
    index_of(args, &CallContext { ci: true, ..*ctx })
}

/// Character index of the last match, or -1. An empty substring is found at the end.
pub(super) fn last_index_of(args: &[Arg], ctx: &CallContext) -> Eval {
    let s = string(args, 0)?;
    match search::rfind(s, &needle(args, 1)?, ctx.ci) {
        Some(r) => count(char_index(s, r.start)),
        None => num(-1),
    }
}

/// A regex argument, or a string compiled as one (undefined if it is not a valid pattern).
fn pattern<'a>(
    args: &'a [Arg],
    i: usize,
    ctx: &CallContext,
    keep: &'a mut Option<std::sync::Arc<Regex>>,
) -> Option<&'a Regex> {
    match args.get(i)? {
        Arg::Regex(re) => Some(re),
        Arg::Value(_) => {
            *keep = search::compiled(string(args, i)?, ctx.ci);
            keep.as_deref()
        }
    }
}

/// `IsMatch(text, pattern)`: the regex matches somewhere in the text.
pub(super) fn is_match(args: &[Arg], ctx: &CallContext) -> Eval {
    let s = string(args, 0)?;
    let mut keep = None;
    boolean(pattern(args, 1, ctx, &mut keep)?.is_match(s))
}

/// `IndexOfMatch(text, pattern)`: character index of the first regex match, or -1.
pub(super) fn index_of_match(args: &[Arg], ctx: &CallContext) -> Eval {
    let s = string(args, 0)?;
    let mut keep = None;
    match pattern(args, 1, ctx, &mut keep)?.find(s) {
        Some(m) => count(char_index(s, m.start())),
        None => num(-1),
    }
}

/// `Replace(text, sub|/re/, replacement)`: replaces every occurrence. An empty substring is
/// undefined (.NET's `Replace` rejects it); regex replacements use .NET's `$` syntax.
pub(super) fn replace(args: &[Arg], ctx: &CallContext) -> Eval {
    let s = string(args, 0)?;
    let replacement = string(args, 2)?;
    match needle(args, 1)? {
        Needle::Regex(re) => {
            let rep = dotnet_replacement(re, replacement);
            text(re.replace_all(s, rep.as_str()).into_owned())
        }
        Needle::Text("") => None,
        Needle::Text(n) => {
            let mut out = String::with_capacity(s.len());
            let mut last = 0;
            for r in search::text_matches(s, n, ctx.ci) {
                out.push_str(s.get(last..r.start)?);
                out.push_str(replacement);
                last = r.end;
            }
            out.push_str(s.get(last..)?);
            text(out)
        }
    }
}

/// Rewrites a .NET substitution (`$1`, `${name}`, `$&`, `$$`) into the regex crate's syntax.
/// References to groups that do not exist stay literal, as in .NET; `$12` means group 12 if
/// there is one, else group 1 and a `2`.
fn dotnet_replacement(re: &Regex, rep: &str) -> String {
    let groups = re.captures_len();
    let mut out = String::with_capacity(rep.len() + 8);
    let mut rest = rep;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if let Some(tail) = after.strip_prefix('$') {
            out.push_str("$$");
            rest = tail;
        } else if let Some(tail) = after.strip_prefix('&') {
            out.push_str("${0}");
            rest = tail;
        } else if digits > 0 {
            // The longest prefix of the digits that names a group (group numbers are small,
            // so a long run of digits is not re-parsed at every length).
            let used = (1..=digits.min(6))
                .rev()
                .find(|&k| after[..k].parse::<usize>().is_ok_and(|g| g < groups));
            match used {
                Some(k) => {
                    let _ = write!(out, "${{{}}}", &after[..k]);
                    rest = &after[k..];
                }
                None => {
                    out.push_str("$$");
                    rest = after;
                }
            }
        } else if let Some(name) = after
            .strip_prefix('{')
            .and_then(|b| b.split_once('}'))
            .map(|(n, _)| n)
            && (re.capture_names().flatten().any(|g| g == name)
                || name.parse::<usize>().is_ok_and(|g| g < groups))
        {
            let _ = write!(out, "${{{name}}}");
            rest = &after[name.len() + 2..];
        } else {
            out.push_str("$$");
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// `Substring(str, start, len?)` in characters. A fractional `start` or `len` is truncated
/// (`Substring(s, Length(s) / 2)` is common); `start` past the end or anything negative is
/// undefined; a missing, null or undefined `len`, or one running past the end, takes the rest.
pub(super) fn substring(args: &[Arg], _: &CallContext) -> Eval {
    let s = string(args, 0)?;
    let start = usize::try_from(integer(args, 1)?).ok()?;
    let len = match value(args, 2) {
        None | Some(Value::Null) => None,
        Some(_) => Some(usize::try_from(integer(args, 2)?).ok()?),
    };
    let mut offsets = s.char_indices().map(|(at, _)| at).chain([s.len()]);
    let from = offsets.nth(start)?;
    let to = match len {
        Some(0) => from,
        // Past the end is undefined, as .NET's Substring throws.
        Some(n) => offsets.nth(n - 1)?,
        None => s.len(),
    };
    text(s.get(from..to)?)
}

pub(super) fn to_lower(args: &[Arg], _: &CallContext) -> Eval {
    text(string(args, 0)?.to_lowercase())
}

pub(super) fn to_upper(args: &[Arg], _: &CallContext) -> Eval {
    text(string(args, 0)?.to_uppercase())
}

/// `ToString(v)`: strings unchanged, numbers in their shortest decimal form, booleans as
/// `true`/`false`; null, arrays and objects are undefined (use `ToJson`).
pub(super) fn to_string(args: &[Arg], _: &CallContext) -> Eval {
    match value(args, 0)? {
        Value::String(s) => text(s.as_str()),
        Value::Number(n) => text(n.normalize().to_string()),
        Value::Bool(b) => text(b.to_string()),
        _ => None,
    }
}

/// `UriEncode(s)`: percent-encodes every byte outside RFC 3986's unreserved set, as .NET's
/// `Uri.EscapeDataString` does.
pub(super) fn uri_encode(args: &[Arg], _: &CallContext) -> Eval {
    let s = string(args, 0)?;
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    text(out)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use crate::value::Value;
    use rust_decimal::Decimal;
    use serde_json::json;

    fn s(x: &str) -> super::Arg {
        v(json!(x))
    }

    #[test]
    fn concat_takes_only_strings() {
        assert_eq!(call("Concat", &[s("a"), s("b"), s("")]), j(json!("ab")));
        assert_eq!(call("Concat", &[s("a"), v(json!(1))]), None);
        assert_eq!(call("Concat", &[s("a"), undef()]), None);
    }

    #[test]
    fn contains_starts_ends() {
        assert_eq!(
            call("Contains", &[s("Hello World"), s("o W")]),
            j(json!(true))
        );
        assert_eq!(
            call("Contains", &[s("Hello World"), s("o w")]),
            j(json!(false))
        );
        assert_eq!(
            call_ci("Contains", &[s("Hello World"), s("O W")]),
            j(json!(true))
        );
        assert_eq!(
            call_ci("Contains", &[s("ÉCOLE"), s("écol")]),
            j(json!(true))
        );
        assert_eq!(call("Contains", &[s("abc"), s("")]), j(json!(true)));
        assert_eq!(
            call("Contains", &[s("abc123"), re("[0-9]+", false)]),
            j(json!(true))
        );
        assert_eq!(
            call_ci("Contains", &[s("ABC"), re("b", true)]),
            j(json!(true))
        );
        assert_eq!(call("Contains", &[v(json!(1)), s("1")]), None);
        assert_eq!(call("Contains", &[s("1"), v(json!(1))]), None);
        assert_eq!(call("StartsWith", &[s("Hello"), s("He")]), j(json!(true)));
        assert_eq!(call("StartsWith", &[s("Hello"), s("he")]), j(json!(false)));
        assert_eq!(
            call_ci("StartsWith", &[s("Hello"), s("hE")]),
            j(json!(true))
        );
        assert_eq!(
            call_ci("StartsWith", &[s("Ärger"), s("äR")]),
            j(json!(true))
        );
        assert_eq!(
            call("StartsWith", &[s("x12"), re("[0-9]", false)]),
            j(json!(false))
        );
        assert_eq!(
            call("StartsWith", &[s("12x"), re("[0-9]", false)]),
            j(json!(true))
        );
        assert_eq!(call("EndsWith", &[s("Hello"), s("llo")]), j(json!(true)));
        assert_eq!(call("EndsWith", &[s("Hello"), s("LLO")]), j(json!(false)));
        assert_eq!(call_ci("EndsWith", &[s("Hello"), s("LLO")]), j(json!(true)));
        assert_eq!(call_ci("EndsWith", &[s("STRAßE"), s("ße")]), j(json!(true)));
        assert_eq!(call("EndsWith", &[s("lo"), s("Hello")]), j(json!(false)));
        assert_eq!(
            call("EndsWith", &[s("id-42"), re("[0-9]+", false)]),
            j(json!(true))
        );
        assert_eq!(
            call_ci("EndsWith", &[s("fileTXT"), re("txt", true)]),
            j(json!(true))
        );
        assert_eq!(
            call("EndsWith", &[s("fileTXT"), re("txt", false)]),
            j(json!(false))
        );
    }

    #[test]
    fn indexes_count_characters() {
        assert_eq!(call("IndexOf", &[s("Hello"), s("l")]), j(json!(2)));
        assert_eq!(call("IndexOf", &[s("Hello"), s("L")]), j(json!(-1)));
        assert_eq!(call_ci("IndexOf", &[s("Hello"), s("L")]), j(json!(2)));
        assert_eq!(call("IndexOf", &[s("héllo wörld"), s("wö")]), j(json!(6)));
        assert_eq!(call("IndexOf", &[s("😀x"), s("x")]), j(json!(1)));
        assert_eq!(call_ci("IndexOf", &[s("İİx"), s("X")]), j(json!(2)));
        assert_eq!(call("IndexOf", &[s("abc"), s("")]), j(json!(0)));
        assert_eq!(
            call("IndexOf", &[s("ab12"), re("[0-9]", false)]),
            j(json!(2))
        );
        assert_eq!(
            call("IndexOfIgnoreCase", &[s("Hello"), s("LL")]),
            j(json!(2))
        );
        assert_eq!(call("LastIndexOf", &[s("Hello"), s("l")]), j(json!(3)));
        assert_eq!(call("LastIndexOf", &[s("aaa"), s("aa")]), j(json!(1)));
        assert_eq!(call("LastIndexOf", &[s("abc"), s("")]), j(json!(3)));
        assert_eq!(call_ci("LastIndexOf", &[s("AbAb"), s("a")]), j(json!(2)));
        assert_eq!(
            call("LastIndexOf", &[s("a1é2"), re("[0-9]", false)]),
            j(json!(3))
        );
        assert_eq!(
            call("LastIndexOf", &[s("abc"), re("x", false)]),
            j(json!(-1))
        );
        assert_eq!(call("IndexOf", &[v(json!(null)), s("a")]), None);
        assert_eq!(call("IndexOfMatch", &[s("ab12"), s("[0-9]+")]), j(json!(2)));
        assert_eq!(
            call("IndexOfMatch", &[s("ab"), re("[0-9]", false)]),
            j(json!(-1))
        );
        assert_eq!(call("IndexOfMatch", &[s("ab"), s("(")]), None);
    }

    #[test]
    fn is_match_searches() {
        assert_eq!(
            call("IsMatch", &[s("order 42"), s("[0-9]+")]),
            j(json!(true))
        );
        assert_eq!(
            call("IsMatch", &[s("order"), re("^[0-9]+$", false)]),
            j(json!(false))
        );
        assert_eq!(call("IsMatch", &[s("ORDER"), s("order")]), j(json!(false)));
        assert_eq!(
            call_ci("IsMatch", &[s("ORDER"), s("order")]),
            j(json!(true))
        );
        assert_eq!(call("IsMatch", &[s("x"), s("[")]), None);
    }

    #[test]
    fn replace_literal_and_regex() {
        assert_eq!(
            call("Replace", &[s("a-b-c"), s("-"), s("+")]),
            j(json!("a+b+c"))
        );
        assert_eq!(
            call("Replace", &[s("aAa"), s("a"), s("x")]),
            j(json!("xAx"))
        );
        assert_eq!(
            call_ci("Replace", &[s("aAa"), s("A"), s("x")]),
            j(json!("xxx"))
        );
        assert_eq!(
            call_ci("Replace", &[s("Grüße GRÜSSE"), s("ÜSS"), s("-")]),
            j(json!("Grüße GR-E"))
        );
        assert_eq!(
            call("Replace", &[s("aaa"), s("aa"), s("b")]),
            j(json!("ba"))
        );
        assert_eq!(call("Replace", &[s("abc"), s(""), s("x")]), None);
        assert_eq!(call("Replace", &[s("abc"), s("b"), v(json!(1))]), None);
        let date = re("([0-9]{4})-([0-9]{2})", false);
        assert_eq!(
            call("Replace", &[s("2020-03"), date.clone(), s("$2/$1")]),
            j(json!("03/2020"))
        );
        assert_eq!(
            call("Replace", &[s("2020-03"), date.clone(), s("[$0]")]),
            j(json!("[2020-03]"))
        );
        assert_eq!(
            call("Replace", &[s("2020-03"), date.clone(), s("$$1")]),
            j(json!("$1"))
        );
        assert_eq!(
            call("Replace", &[s("2020-03"), date.clone(), s("$1x")]),
            j(json!("2020x"))
        );
        assert_eq!(
            call("Replace", &[s("2020-03"), date.clone(), s("$12")]),
            j(json!("20202"))
        );
        assert_eq!(
            call("Replace", &[s("2020-03"), date.clone(), s("$9 $")]),
            j(json!("$9 $"))
        );
        assert_eq!(
            call("Replace", &[s("2020-03"), date, s("$&!")]),
            j(json!("2020-03!"))
        );
        let named = re("(?P<y>[0-9]+)", false);
        assert_eq!(
            call("Replace", &[s("a1"), named.clone(), s("<${y}>")]),
            j(json!("a<1>"))
        );
        assert_eq!(
            call("Replace", &[s("a1"), named, s("${z}")]),
            j(json!("a${z}"))
        );
        assert_eq!(
            call_ci("Replace", &[s("aAb"), re("a", true), s("")]),
            j(json!("b"))
        );
    }

    #[test]
    fn substring_in_characters() {
        assert_eq!(
            call("Substring", &[s("Hello"), v(json!(1)), v(json!(3))]),
            j(json!("ell"))
        );
        assert_eq!(
            call("Substring", &[s("Hello"), v(json!(1))]),
            j(json!("ello"))
        );
        assert_eq!(
            call("Substring", &[s("Hello"), v(json!(1)), v(json!(null))]),
            j(json!("ello"))
        );
        assert_eq!(
            call("Substring", &[s("Hello"), v(json!(3)), v(json!(2))]),
            j(json!("lo"))
        );
        assert_eq!(
            call("Substring", &[s("Hello"), v(json!(3)), v(json!(3))]),
            None,
            "past the end"
        );
        assert_eq!(call("Substring", &[s("Hello"), v(json!(5))]), j(json!("")));
        assert_eq!(
            call("Substring", &[s("Hello"), v(json!(2)), v(json!(0))]),
            j(json!(""))
        );
        assert_eq!(call("Substring", &[s("Hello"), v(json!(6))]), None);
        assert_eq!(call("Substring", &[s("Hello"), v(json!(-1))]), None);
        assert_eq!(
            call("Substring", &[s("Hello"), v(json!(1)), v(json!(-1))]),
            None
        );
        assert_eq!(
            call("Substring", &[s("Hello"), v(json!(2.5))]),
            j(json!("llo"))
        );
        assert_eq!(call("Substring", &[s("Hello"), s("1")]), None);
        assert_eq!(call("Substring", &[s("Hello"), v(json!(1)), s("1")]), None);
        assert_eq!(
            call("Substring", &[s("żółw😀!"), v(json!(2)), v(json!(3))]),
            j(json!("łw😀"))
        );
        assert_eq!(call("Substring", &[v(json!(12345)), v(json!(1))]), None);
    }

    #[test]
    fn conversions() {
        assert_eq!(call("ToLower", &[s("ÀBC")]), j(json!("àbc")));
        assert_eq!(call("ToUpper", &[s("straße")]), j(json!("STRASSE")));
        assert_eq!(call("ToUpper", &[v(json!(1))]), None);
        assert_eq!(call("ToString", &[s("x")]), j(json!("x")));
        assert_eq!(call("ToString", &[v(json!(1.50))]), j(json!("1.5")));
        assert_eq!(call("ToString", &[v(json!(true))]), j(json!("true")));
        assert_eq!(call("ToString", &[v(json!(null))]), None);
        assert_eq!(
            call("UriEncode", &[s("a b/ü~")]),
            j(json!("a%20b%2F%C3%BC~"))
        );
    }

    proptest::proptest! {
        #[test]
        fn indexes_and_substrings_agree(
            hay in "[aAİiß\u{307}😀x]{0,12}",
            needle in "[aAİiß\u{307}x]{0,3}",
        ) {
            if let Some(Value::Number(at)) = call("IndexOf", &[s(&hay), s(&needle)])
                && at >= Decimal::ZERO
            {
                let rest = call("Substring", &[s(&hay), super::Arg::Value(Some(Value::Number(at)))]);
                let rest = rest.and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
                proptest::prop_assert!(rest.starts_with(needle.as_str()));
            }
            for name in ["IndexOf", "LastIndexOf", "Contains", "StartsWith", "EndsWith"] {
                let _ = call_ci(name, &[s(&hay), s(&needle)]);
            }
            let _ = call_ci("Replace", &[s(&hay), s(&needle), s("-")]);
        }
    }
}
