//! Predicates a store can use to skip data without evaluating the filter per event.
//!
//! Each predicate [`predicates`] returns is *implied* by the filter: an event the predicate
//! rejects can never match the filter. The store may use any subset of them to skip blocks,
//! and still evaluates the compiled filter on what it reads, so a store that ignores them all
//! is correct, only slower.
//!
//! [`exact`] is stronger: when it answers, the filter is *equivalent* to the conjunction of
//! its predicates as tested by [`Matcher`], so a store can decide matches from columns
//! without rebuilding events (counting, for instance). [`Field`] names the values a store
//! can group by in the same way.

use rust_decimal::Decimal;

use crate::ast::*;
use crate::compile::contains_pattern;
use crate::functions::search::{self, Needle};
use crate::like::LikePattern;
use crate::value::{Value, eq_ignore_case};

/// One necessary condition of a filter.
#[derive(Clone, Debug, PartialEq)]
pub enum Predicate {
    /// `@Timestamp` within `[from, to)` in ticks (either bound may be open).
    TimeRange {
        from: Option<i64>,
        to: Option<i64>,
    },
    /// `@Level` is one of these (as sent; `ci` compares ignoring case).
    LevelIn {
        levels: Vec<String>,
        ci: bool,
    },
    /// A top-level user property equals a value.
    PropertyEquals {
        name: String,
        value: Value,
        ci: bool,
    },
    /// A top-level user property is a string starting with `prefix`.
    PropertyPrefix {
        name: String,
        prefix: String,
        ci: bool,
    },
    /// The message or the exception contains `text` (case-insensitively when `ci`).
    Text {
        text: String,
        ci: bool,
    },
    TraceId(String),
    SpanId(String),
}

/// The predicates implied by the top-level conjuncts of a filter.
pub fn predicates(filter: &Expr) -> Vec<Predicate> {
    let mut out = Vec::new();
    let mut conjuncts = Vec::new();
    flatten_and(filter, &mut conjuncts);
    let mut from: Option<i64> = None;
    let mut to: Option<i64> = None;
    for c in conjuncts {
        if let Some((lo, hi)) = time_bound(c) {
            if let Some(lo) = lo {
                from = Some(from.map_or(lo, |f| f.max(lo)));
            }
            if let Some(hi) = hi {
                to = Some(to.map_or(hi, |t| t.min(hi)));
            }
            continue;
        }
        if let Some(p) = predicate(c) {
            out.push(p);
        }
    }
    if from.is_some() || to.is_some() {
        out.insert(0, Predicate::TimeRange { from, to });
    }
    out
}

/// The filter as predicates whose conjunction means exactly what the filter means, when it
/// has that form: every top-level conjunct is a whole-tick `@Timestamp` bound or one of the
/// exact forms (`@Level = 'x'`, `@Level in [...]`, `@TraceId = 'x'`, `@SpanId = 'x'`,
/// `Prop = constant`, `StartsWith(Prop, 'x')`, a free-text search, or the search bar's
/// `@Message like '%x%' or @Exception like '%x%'`). `None` when any conjunct is something
/// else: the caller must then evaluate the filter itself.
pub fn exact(filter: &Expr) -> Option<Vec<Predicate>> {
    let mut conjuncts = Vec::new();
    flatten_and(filter, &mut conjuncts);
    let mut out = Vec::new();
    let mut from: Option<i64> = None;
    let mut to: Option<i64> = None;
    for c in conjuncts {
        if let Some((lo, hi)) = time_bound(c) {
            // A fractional bound is rounded outwards: implied, not exact.
            let integral = c.children().iter().all(|e| match &e.kind {
                ExprKind::Number { value, .. } => value.fract().is_zero(),
                _ => true,
            });
            if !integral {
                return None;
            }
            if let Some(lo) = lo {
                from = Some(from.map_or(lo, |f| f.max(lo)));
            }
            if let Some(hi) = hi {
                to = Some(to.map_or(hi, |t| t.min(hi)));
            }
            continue;
        }
        // `like` on a property only implies its literal prefix.
        if matches!(
            c.kind,
            ExprKind::Binary {
                op: BinaryOp::Like,
                ..
            }
        ) {
            return None;
        }
        out.push(predicate(c)?);
    }
    if from.is_some() || to.is_some() {
        out.insert(0, Predicate::TimeRange { from, to });
    }
    Some(out)
}

/// A value a store can read from its columns, for grouping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Field {
    /// `@Level`: as sent, `Information` when the event has none.
    Level,
    /// A top-level user property, as `Value::from_json` converts it.
    Property(String),
}

impl Field {
    /// The field an expression reads, when it is nothing but a field.
    pub fn of(e: &Expr) -> Option<Field> {
        match &e.kind {
            ExprKind::Builtin(Builtin::Level) => Some(Field::Level),
            ExprKind::Property(name) => Some(Field::Property(name.clone())),
            _ => None,
        }
    }
}

/// A predicate prepared for testing many values, with exactly the filter's semantics.
pub struct Matcher<'p> {
    predicate: &'p Predicate,
    like: Option<LikePattern>,
}

impl Predicate {
    pub fn matcher(&self) -> Matcher<'_> {
        let like = match self {
            Predicate::Text { text, ci } => Some(LikePattern::new(&contains_pattern(text), *ci)),
            _ => None,
        };
        Matcher {
            predicate: self,
            like,
        }
    }
}

impl Matcher<'_> {
    /// Whether a string value of the predicate's field satisfies it. For
    /// [`Predicate::Text`], whether the rendered message or the exception (either) contains
    /// the text; for [`Predicate::TimeRange`], always true (ranges are tested on ids).
    pub fn test_str(&self, s: &str) -> bool {
        match self.predicate {
            Predicate::TimeRange { .. } => true,
            Predicate::LevelIn { levels, ci } => levels
                .iter()
                .any(|l| if *ci { eq_ignore_case(s, l) } else { s == l }),
            Predicate::PropertyEquals { value, ci, .. } => match value {
                Value::String(v) if *ci => eq_ignore_case(s, v),
                Value::String(v) => s == v,
                _ => false,
            },
            Predicate::PropertyPrefix { prefix, ci, .. } => {
                search::starts_with(s, &Needle::Text(prefix), *ci)
            }
            Predicate::Text { .. } => self.like.as_ref().is_some_and(|p| p.matches(s)),
            Predicate::TraceId(t) | Predicate::SpanId(t) => s == t,
        }
    }

    /// For a text search, the text and whether it is matched case-insensitively; `None`
    /// for other predicates.
    pub fn text(&self) -> Option<(&str, bool)> {
        match self.predicate {
            Predicate::Text { text, ci } => Some((text, *ci)),
            _ => None,
        }
    }

    /// For a case-sensitive equality with a string (`TraceId`, `SpanId`, `Prop = 'x'`),
    /// the string: a string satisfies the predicate exactly when it equals it.
    pub fn exact_str(&self) -> Option<&str> {
        match self.predicate {
            Predicate::TraceId(t) | Predicate::SpanId(t) => Some(t),
            Predicate::PropertyEquals {
                value: Value::String(v),
                ci: false,
                ..
            } => Some(v),
            _ => None,
        }
    }

    /// For a case-sensitive `StartsWith`, the prefix (a string satisfies the predicate
    /// exactly when its bytes start with it); `None` otherwise.
    pub fn exact_prefix(&self) -> Option<&str> {
        match self.predicate {
            Predicate::PropertyPrefix {
                prefix, ci: false, ..
            } => Some(prefix),
            _ => None,
        }
    }

    /// Whether a value of the predicate's field (`None`: the event has none) satisfies it.
    pub fn test_value(&self, v: Option<&Value>) -> bool {
        match (self.predicate, v) {
            (Predicate::TimeRange { .. }, _) => true,
            (Predicate::PropertyEquals { value, ci, .. }, Some(v)) => v.equals(value, *ci),
            (_, Some(Value::String(s))) => self.test_str(s),
            _ => false,
        }
    }
}

fn flatten_and<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    match &e.kind {
        ExprKind::Binary {
            op: BinaryOp::And,
            left,
            right,
            ..
        } => {
            flatten_and(left, out);
            flatten_and(right, out);
        }
        _ => out.push(e),
    }
}

fn constant_string(e: &Expr) -> Option<&str> {
    match &e.kind {
        ExprKind::String(s) | ExprKind::Text { text: s, .. } => Some(s),
        _ => None,
    }
}

fn constant_value(e: &Expr) -> Option<Value> {
    Some(match &e.kind {
        ExprKind::String(s) | ExprKind::Text { text: s, .. } => Value::String(s.clone()),
        ExprKind::Number { value, .. } | ExprKind::Duration(value) => Value::Number(*value),
        ExprKind::Bool(b) => Value::Bool(*b),
        ExprKind::Null => Value::Null,
        _ => return None,
    })
}

fn ticks(d: Decimal) -> Option<i64> {
    if d.fract().is_zero() {
        i64::try_from(d).ok()
    } else {
        // A fractional bound: round outwards so the range still contains every match.
        i64::try_from(d.floor()).ok()
    }
}

/// `@Timestamp op constant` (either way round) as `(from, to)`.
fn time_bound(e: &Expr) -> Option<(Option<i64>, Option<i64>)> {
    let ExprKind::Binary {
        op, left, right, ..
    } = &e.kind
    else {
        return None;
    };
    let (op, n) = match (&left.kind, &right.kind) {
        (ExprKind::Builtin(Builtin::Timestamp), ExprKind::Number { value, .. }) => (*op, *value),
        (ExprKind::Number { value, .. }, ExprKind::Builtin(Builtin::Timestamp)) => {
            let flipped = match op {
                BinaryOp::Lt => BinaryOp::Gt,
                BinaryOp::Le => BinaryOp::Ge,
                BinaryOp::Gt => BinaryOp::Lt,
                BinaryOp::Ge => BinaryOp::Le,
                other => *other,
            };
            (flipped, *value)
        }
        _ => return None,
    };
    let t = ticks(n)?;
    match op {
        BinaryOp::Ge => Some((Some(t), None)),
        BinaryOp::Gt => Some((Some(t.checked_add(1)?), None)),
        BinaryOp::Lt => Some((None, Some(if n.fract().is_zero() { t } else { t + 1 }))),
        BinaryOp::Le => Some((None, Some(t.checked_add(1)?))),
        BinaryOp::Eq => Some((Some(t), Some(t.checked_add(1)?))),
        _ => None,
    }
}

fn predicate(e: &Expr) -> Option<Predicate> {
    match &e.kind {
        ExprKind::Binary {
            op: BinaryOp::Eq,
            left,
            right,
            ci,
        } => match (&left.kind, constant_value(right)) {
            (ExprKind::Builtin(Builtin::Level), Some(Value::String(l))) => {
                Some(Predicate::LevelIn {
                    levels: vec![l],
                    ci: *ci,
                })
            }
            (ExprKind::Builtin(Builtin::TraceId), Some(Value::String(t))) if !ci => {
                Some(Predicate::TraceId(t))
            }
            (ExprKind::Builtin(Builtin::SpanId), Some(Value::String(s))) if !ci => {
                Some(Predicate::SpanId(s))
            }
            (ExprKind::Property(name), Some(value)) => Some(Predicate::PropertyEquals {
                name: name.clone(),
                value,
                ci: *ci,
            }),
            _ => None,
        },
        ExprKind::Binary {
            op: BinaryOp::In,
            left,
            right,
            ci,
        } => {
            let ExprKind::Builtin(Builtin::Level) = left.kind else {
                return None;
            };
            let ExprKind::Array(items) = &right.kind else {
                return None;
            };
            let levels = items
                .iter()
                .map(|i| constant_string(i).map(str::to_owned))
                .collect::<Option<Vec<_>>>()?;
            Some(Predicate::LevelIn { levels, ci: *ci })
        }
        ExprKind::Binary {
            op: BinaryOp::Like,
            left,
            right,
            ci,
        } => {
            let pattern = LikePattern::new(constant_string(right)?, *ci);
            match &left.kind {
                ExprKind::Property(name) => Some(Predicate::PropertyPrefix {
                    name: name.clone(),
                    prefix: pattern.literal_prefix()?.to_owned(),
                    ci: *ci,
                })
                .filter(
                    |p| !matches!(p, Predicate::PropertyPrefix { prefix, .. } if prefix.is_empty()),
                ),
                _ => None,
            }
        }
        ExprKind::Call { name, args, ci, .. }
            if name.eq_ignore_ascii_case("StartsWith") && args.len() == 2 =>
        {
            let ExprKind::Property(prop) = &args[0].kind else {
                return None;
            };
            let prefix = constant_string(&args[1])?;
            (!prefix.is_empty()).then(|| Predicate::PropertyPrefix {
                name: prop.clone(),
                prefix: prefix.to_owned(),
                ci: *ci,
            })
        }
        // `@Message like '%t%' ci or @Exception like '%t%' ci`, the search bar's text search.
        ExprKind::Binary {
            op: BinaryOp::Or,
            left,
            right,
            ..
        } => {
            let (a, a_ci) = contains_text(left, Builtin::Message)?;
            let (b, b_ci) = contains_text(right, Builtin::Exception)?;
            (a == b && a_ci == b_ci).then_some(Predicate::Text { text: a, ci: a_ci })
        }
        ExprKind::Text { text, verbatim } => Some(Predicate::Text {
            text: text.clone(),
            ci: !verbatim,
        }),
        _ => None,
    }
}

/// `<field> like '%text%' [ci]` with no wildcard inside `text`.
fn contains_text(e: &Expr, field: Builtin) -> Option<(String, bool)> {
    let ExprKind::Binary {
        op: BinaryOp::Like,
        left,
        right,
        ci,
    } = &e.kind
    else {
        return None;
    };
    if left.kind != ExprKind::Builtin(field) {
        return None;
    }
    let inner = constant_string(right)?
        .strip_prefix('%')?
        .strip_suffix('%')?;
    if inner.is_empty() {
        return None;
    }
    let text = unescape_literal(inner)?;
    Some((text, *ci))
}

/// A like body with only doubled (escaped) wildcards, as plain text.
fn unescape_literal(body: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '%' || c == '?' {
            if chars.peek() == Some(&c) {
                chars.next();
                out.push(c);
            } else {
                return None;
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::parse_expression;

    fn of(src: &str) -> Vec<Predicate> {
        predicates(&parse_expression(src).unwrap())
    }

    #[test]
    fn the_reference_queries_push_down() {
        assert_eq!(
            of("@Level in ['Error', 'Fatal']"),
            [Predicate::LevelIn {
                levels: vec!["Error".into(), "Fatal".into()],
                ci: false
            }]
        );
        assert_eq!(
            of("StartsWith(RequestPath, '/api/orders')"),
            [Predicate::PropertyPrefix {
                name: "RequestPath".into(),
                prefix: "/api/orders".into(),
                ci: false
            }]
        );
        assert_eq!(
            of("@Message like '%timeout%' ci or @Exception like '%timeout%' ci"),
            [Predicate::Text {
                text: "timeout".into(),
                ci: true
            }]
        );
        assert_eq!(
            of("@TraceId = 'abc' and @Timestamp >= 100 and @Timestamp < 200"),
            [
                Predicate::TimeRange {
                    from: Some(100),
                    to: Some(200)
                },
                Predicate::TraceId("abc".into())
            ]
        );
    }

    #[test]
    fn exact_forms() {
        let exact = |src: &str| exact(&parse_expression(src).unwrap());
        assert_eq!(
            exact("@Level in ['Error', 'Fatal'] and @Timestamp >= 10"),
            Some(vec![
                Predicate::TimeRange {
                    from: Some(10),
                    to: None
                },
                Predicate::LevelIn {
                    levels: vec!["Error".into(), "Fatal".into()],
                    ci: false
                }
            ])
        );
        assert!(exact("StartsWith(RequestPath, '/api') and StatusCode = 200").is_some());
        assert_eq!(exact("true").as_deref(), None);
        for inexact in [
            "RequestPath like '/api%'",
            "@Level = 'Error' or A = 1",
            "@Timestamp >= 10.5",
            "A > 1",
            "not (A = 1)",
        ] {
            assert_eq!(exact(inexact), None, "{inexact}");
        }
    }

    #[test]
    fn matchers_agree_with_the_filter_semantics() {
        let level = Predicate::LevelIn {
            levels: vec!["Error".into()],
            ci: true,
        };
        assert!(level.matcher().test_str("error"));
        let eq = Predicate::PropertyEquals {
            name: "A".into(),
            value: Value::from_i64(200),
            ci: false,
        };
        let m = eq.matcher();
        assert!(m.test_value(Some(&Value::Number("200.0".parse().unwrap()))));
        assert!(!m.test_value(Some(&Value::String("200".into()))));
        assert!(!m.test_value(None));
        let text = Predicate::Text {
            text: "timeout".into(),
            ci: true,
        };
        assert!(text.matcher().test_str("CommandTimeout='30'"));
        assert!(!text.matcher().test_str("timed out"));
    }

    #[test]
    fn disjunctions_and_negations_push_nothing() {
        assert!(of("@Level = 'Error' or A = 1").is_empty());
        assert!(of("not (@Level = 'Error')").is_empty());
        assert!(of("A like '%x'").is_empty());
    }
}
