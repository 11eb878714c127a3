//! Scalar functions (seq-compat 2.5), resolved case-insensitively at compile time.
//!
//! The evaluator handles the functions that need unevaluated arguments or the event itself
//! (`Every`, `Some`, operator forms such as `Equal`, `IsSpan`); everything here is a pure
//! function of already-evaluated arguments.

use std::sync::Arc;

use regex::Regex;

use crate::value::Eval;

/// An evaluated argument. Regex literals stay compiled (with `(?i)` under `ci`).
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

/// Looks a function up by name, ignoring case.
pub fn lookup(name: &str) -> Option<&'static FunctionDef> {
    let _ = name;
    None
}

/// Every function name, for suggestions in error messages.
pub fn names() -> impl Iterator<Item = &'static str> {
    std::iter::empty()
}
