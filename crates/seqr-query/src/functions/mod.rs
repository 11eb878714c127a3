//! Scalar functions (seq-compat 2.5), resolved case-insensitively at compile time.
//!
//! The evaluator handles the functions that need unevaluated arguments or the event itself
//! (`Every`, `Some`, operator forms such as `Equal`, `IsSpan`); everything here is a pure
//! function of already-evaluated arguments.
//!
//! Every function returns undefined (`None`) for arguments of the wrong type or out of range
//! rather than failing: a filter over millions of events must not stop at one odd value.
//! Character positions (`IndexOf`, `Substring`, `Length`) count Unicode scalar values, not
//! .NET's UTF-16 code units; the two differ only for characters outside the BMP (emoji).

use std::sync::Arc;

use regex::Regex;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::value::{Eval, Value};

mod collections;
mod json;
mod numbers;
pub(crate) mod search;
mod strings;
mod time;

/// An evaluated argument. Regex literals stay compiled (case-insensitively under `ci`).
#[derive(Clone, Debug)]
pub enum Arg {
    Value(Eval),
    Regex(Arc<Regex>),
}

/// What a call may depend on besides its arguments.
#[derive(Clone, Copy, Debug)]
pub struct CallContext {
    /// The call carried the `ci` modifier.
    pub ci: bool,
    /// `Now()` in ticks, fixed for one evaluation of a query.
    pub now_ticks: i64,
}

/// A scalar function's signature and implementation.
pub struct FunctionDef {
    /// Canonical spelling, as the documentation writes it.
    pub name: &'static str,
    pub min_args: usize,
    /// `None`: variadic.
    pub max_args: Option<usize>,
    /// Accepts the `ci` modifier.
    pub accepts_ci: bool,
    /// Which argument positions may be regex literals.
    pub regex_args: &'static [usize],
    pub call: fn(&[Arg], &CallContext) -> Eval,
}

type Call = fn(&[Arg], &CallContext) -> Eval;

/// A function taking `min..=max` arguments.
const fn def(name: &'static str, min: usize, max: usize, call: Call) -> FunctionDef {
    FunctionDef {
        name,
        min_args: min,
        max_args: Some(max),
        accepts_ci: false,
        regex_args: &[],
        call,
    }
}

impl FunctionDef {
    const fn variadic(mut self) -> FunctionDef {
        self.max_args = None;
        self
    }

    const fn ci(mut self) -> FunctionDef {
        self.accepts_ci = true;
        self
    }

    /// The second argument may be a regex literal.
    const fn regex_second(mut self) -> FunctionDef {
        self.regex_args = &[1];
        self
    }
}

static FUNCTIONS: &[FunctionDef] = &[
    def("Arrived", 1, 1, numbers::arrived),
    def("Bucket", 1, 2, numbers::bucket),
    def("Coalesce", 1, 1, collections::coalesce).variadic(),
    def("Concat", 1, 1, strings::concat).variadic(),
    def("Contains", 2, 2, strings::contains).ci().regex_second(),
    def("DatePart", 2, 3, time::date_part),
    def("DateTime", 1, 1, time::date_time),
    def("ElementAt", 2, 2, collections::element_at).ci(),
    def("EndsWith", 2, 2, strings::ends_with)
        .ci()
        .regex_second(),
    def("FromJson", 1, 1, json::from_json),
    def("Has", 1, 1, collections::has),
    def("IndexOf", 2, 2, strings::index_of).ci().regex_second(),
    def("IndexOfIgnoreCase", 2, 2, strings::index_of_ignore_case),
    def("IndexOfMatch", 2, 2, strings::index_of_match)
        .ci()
        .regex_second(),
    def("IsDefined", 1, 1, collections::has),
    def("IsMatch", 2, 2, strings::is_match).ci().regex_second(),
    def("Keys", 1, 1, collections::keys),
    def("LastIndexOf", 2, 2, strings::last_index_of)
        .ci()
        .regex_second(),
    def("Length", 1, 1, collections::length),
    def("Now", 0, 0, time::now),
    def("OffsetIn", 2, 2, time::offset_in),
    def("Replace", 3, 3, strings::replace).ci().regex_second(),
    def("Round", 1, 2, numbers::round),
    def("StartsWith", 2, 2, strings::starts_with)
        .ci()
        .regex_second(),
    def("Substring", 2, 3, strings::substring),
    def("TagOf", 1, 1, collections::tag_of),
    def("TimeOfDay", 1, 2, time::time_of_day),
    def("TimeSpan", 1, 1, time::time_span),
    def("ToEventType", 1, 1, numbers::to_event_type),
    def("ToHexString", 1, 1, numbers::to_hex_string),
    def("ToIsoString", 1, 2, time::to_iso_string),
    def("ToJson", 1, 1, json::to_json),
    def("ToLower", 1, 1, strings::to_lower),
    def("ToNumber", 1, 1, numbers::to_number),
    def("ToString", 1, 1, strings::to_string),
    def("TotalMilliseconds", 1, 1, time::total_milliseconds),
    def("ToTimeString", 1, 1, time::to_time_string),
    def("ToUpper", 1, 1, strings::to_upper),
    def("TypeOf", 1, 1, collections::type_of),
    def("Undefined", 0, 0, collections::undefined),
    def("UriEncode", 1, 1, strings::uri_encode),
    def("UtcDateTime", 1, 1, time::date_time),
    def("Values", 1, 1, collections::values),
];

/// Looks a function up by name, ignoring case.
pub fn lookup(name: &str) -> Option<&'static FunctionDef> {
    FUNCTIONS.iter().find(|f| f.name.eq_ignore_ascii_case(name))
}

/// Every function name, for suggestions in error messages.
pub fn names() -> impl Iterator<Item = &'static str> {
    FUNCTIONS.iter().map(|f| f.name)
}

/// Argument `i`, when it is a defined value.
fn value(args: &[Arg], i: usize) -> Option<&Value> {
    match args.get(i) {
        Some(Arg::Value(Some(v))) => Some(v),
        _ => None,
    }
}

fn string(args: &[Arg], i: usize) -> Option<&str> {
    value(args, i)?.as_str()
}

fn number(args: &[Arg], i: usize) -> Option<Decimal> {
    value(args, i)?.as_number()
}

/// A number argument as whole ticks (or any integer), truncating a fraction as .NET's
/// `(long)` conversion of a decimal does.
fn integer(args: &[Arg], i: usize) -> Option<i64> {
    number(args, i)?.trunc().to_i64()
}

fn num(n: impl Into<Decimal>) -> Eval {
    Some(Value::Number(n.into()))
}

fn count(n: usize) -> Eval {
    num(i64::try_from(n).ok()?)
}

fn text(s: impl Into<String>) -> Eval {
    Some(Value::String(s.into()))
}

fn boolean(b: bool) -> Eval {
    Some(Value::Bool(b))
}

#[cfg(test)]
mod test_support {
    //! Calls by name, with the arguments written as JSON where possible.

    use super::*;

    pub(super) const PLAIN: CallContext = CallContext {
        ci: false,
        now_ticks: 637_203_600_000_000_000,
    };

    pub(super) fn v(json: serde_json::Value) -> Arg {
        Arg::Value(Value::from_json(&json))
    }

    pub(super) fn undef() -> Arg {
        Arg::Value(None)
    }

    pub(super) fn re(pattern: &str, ci: bool) -> Arg {
        let re = regex::RegexBuilder::new(pattern)
            .case_insensitive(ci)
            .build()
            .expect("test regex");
        Arg::Regex(Arc::new(re))
    }

    pub(super) fn call_with(name: &str, ci: bool, args: &[Arg]) -> Eval {
        let f = lookup(name).unwrap_or_else(|| panic!("no function {name}"));
        assert!(args.len() >= f.min_args, "{name}: too few arguments");
        assert!(
            f.max_args.is_none_or(|m| args.len() <= m),
            "{name}: too many arguments"
        );
        assert!(!ci || f.accepts_ci, "{name} does not take ci");
        (f.call)(args, &CallContext { ci, ..PLAIN })
    }

    pub(super) fn call(name: &str, args: &[Arg]) -> Eval {
        call_with(name, false, args)
    }

    pub(super) fn call_ci(name: &str, args: &[Arg]) -> Eval {
        call_with(name, true, args)
    }

    /// The expected result, written as JSON.
    pub(super) fn j(json: serde_json::Value) -> Eval {
        Value::from_json(&json)
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;
    use serde_json::json;

    #[test]
    fn lookup_ignores_case_and_names_are_unique() {
        assert_eq!(lookup("substring").map(|f| f.name), Some("Substring"));
        assert_eq!(lookup("NOW").map(|f| f.name), Some("Now"));
        assert!(lookup("Every").is_none() && lookup("Equal").is_none() && lookup("Nope").is_none());
        let mut seen: Vec<String> = names().map(str::to_lowercase).collect();
        let total = seen.len();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), total);
        for f in FUNCTIONS {
            assert!(f.max_args.is_none_or(|m| m >= f.min_args), "{}", f.name);
            assert!(
                f.regex_args
                    .iter()
                    .all(|&i| f.max_args.is_none_or(|m| i < m))
            );
        }
    }

    #[test]
    fn no_function_panics_on_odd_arguments() {
        let samples = [
            undef(),
            v(json!(null)),
            v(json!(true)),
            v(json!(0)),
            v(json!(-1)),
            v(json!(1.5)),
            v(json!("79228162514264337593543950335")),
            Arg::Value(Some(Value::Number(Decimal::MAX))),
            Arg::Value(Some(Value::Number(Decimal::MIN))),
            v(json!("")),
            v(json!("x\u{1F600}İ")),
            v(json!("2020-03-21")),
            v(json!([1, "a"])),
            v(json!({"$type": "T", "a": 1})),
            re("a|", false),
        ];
        for f in FUNCTIONS {
            let arity = f.max_args.unwrap_or(3).max(f.min_args);
            for n in 0..samples.len().pow(arity as u32) {
                let args: Vec<Arg> = (0..arity)
                    .map(|k| samples[n / samples.len().pow(k as u32) % samples.len()].clone())
                    .collect();
                for ci in [false, true] {
                    let _ = (f.call)(&args, &CallContext { ci, ..PLAIN });
                    let _ = (f.call)(&args[..f.min_args], &CallContext { ci, ..PLAIN });
                }
            }
        }
    }
}
