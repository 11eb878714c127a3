//! The search bar's forgiving input (seq-compat 2.7): an expression when the text is one,
//! otherwise a case-insensitive text search; and the strict form Seq stores and shows.

use crate::ast::*;
use crate::compile::contains_pattern;
use crate::parser::parse_expression;
use crate::print::print;

/// Seq's `ExpressionPart`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Strict {
    pub strict_expression: String,
    pub matched_as_text: bool,
    pub reason_if_matched_as_text: Option<String>,
    /// Where the input stopped being an expression (bytes of the input as given), when it was
    /// matched as text because it does not parse: the search bar underlines it.
    pub error_span: Option<std::ops::Range<usize>>,
}

/// Converts search-bar input to a strict expression.
///
/// Input that is not an expression, and input that is only a bare word or literal (`timeout`,
/// `404`), is searched for as text in the message and exception, as Seq does.
pub fn to_strict(input: &str) -> Strict {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Strict {
            strict_expression: String::new(),
            matched_as_text: false,
            reason_if_matched_as_text: None,
            error_span: None,
        };
    }
    match parse_expression(trimmed) {
        Ok(e) if is_bare_term(&e) => as_text(
            trimmed,
            "a single word or value is searched for as text; write `Has(Name)` to test for a property"
                .into(),
        ),
        Ok(e) => Strict {
            strict_expression: print(&strict_tree(&e, true)),
            matched_as_text: false,
            reason_if_matched_as_text: None,
            error_span: None,
        },
        Err(err) => {
            let lead = input.len() - input.trim_start().len();
            let start = lead + err.span.start as usize;
            let end = (lead + err.span.end as usize).max(start);
            Strict {
                error_span: Some(start..end.min(input.len())),
                ..as_text(trimmed, err.to_string())
            }
        }
    }
}

fn as_text(text: &str, reason: String) -> Strict {
    Strict {
        strict_expression: print(&text_condition(text, false, Span::default())),
        matched_as_text: true,
        reason_if_matched_as_text: Some(reason),
        error_span: None,
    }
}

fn is_bare_term(e: &Expr) -> bool {
    matches!(
        e.kind,
        ExprKind::Property(_)
            | ExprKind::Number { .. }
            | ExprKind::String(_)
            | ExprKind::Duration(_)
    )
}

/// `@Message like '%text%' ci or @Exception like '%text%' ci`; a verbatim `@"…"` fragment
/// keeps its old case-sensitive meaning.
pub fn text_condition(text: &str, case_sensitive: bool, span: Span) -> Expr {
    let like = |field: Builtin| {
        Expr::new(
            ExprKind::Binary {
                op: BinaryOp::Like,
                left: Box::new(Expr::new(ExprKind::Builtin(field), span)),
                right: Box::new(Expr::new(ExprKind::String(contains_pattern(text)), span)),
                ci: !case_sensitive,
            },
            span,
        )
    };
    Expr::new(
        ExprKind::Binary {
            op: BinaryOp::Or,
            left: Box::new(like(Builtin::Message)),
            right: Box::new(like(Builtin::Exception)),
            ci: false,
        },
        span,
    )
}

/// Rewrites double-quoted fragments: text searches where a condition is expected, plain
/// strings where a value is.
pub fn strict_tree(e: &Expr, condition: bool) -> Expr {
    let sub = |child: &Expr, cond: bool| Box::new(strict_tree(child, cond));
    let kind = match &e.kind {
        ExprKind::Text { text, verbatim } if condition => {
            return text_condition(text, *verbatim, e.span);
        }
        ExprKind::Text { text, .. } => ExprKind::String(text.clone()),
        ExprKind::Binary {
            op: op @ (BinaryOp::And | BinaryOp::Or),
            left,
            right,
            ci,
        } => ExprKind::Binary {
            op: *op,
            left: sub(left, true),
            right: sub(right, true),
            ci: *ci,
        },
        ExprKind::Binary {
            op,
            left,
            right,
            ci,
        } => ExprKind::Binary {
            op: *op,
            left: sub(left, false),
            right: sub(right, false),
            ci: *ci,
        },
        ExprKind::Unary { op, operand } => ExprKind::Unary {
            op: *op,
            operand: sub(operand, *op == UnaryOp::Not && condition),
        },
        ExprKind::IsNull { operand, negated } => ExprKind::IsNull {
            operand: sub(operand, false),
            negated: *negated,
        },
        ExprKind::If {
            condition: c,
            then,
            otherwise,
        } => ExprKind::If {
            condition: sub(c, true),
            then: sub(then, condition),
            otherwise: sub(otherwise, condition),
        },
        ExprKind::Array(items) => {
            ExprKind::Array(items.iter().map(|i| strict_tree(i, false)).collect())
        }
        ExprKind::Object(members) => ExprKind::Object(
            members
                .iter()
                .map(|(k, v)| (k.clone(), strict_tree(v, false)))
                .collect(),
        ),
        ExprKind::Member { target, name } => ExprKind::Member {
            target: sub(target, false),
            name: name.clone(),
        },
        ExprKind::Index { target, index } => ExprKind::Index {
            target: sub(target, false),
            index: sub(index, false),
        },
        ExprKind::Wildcard { target, kind } => ExprKind::Wildcard {
            target: sub(target, false),
            kind: *kind,
        },
        ExprKind::Call {
            name,
            args,
            ci,
            star,
        } => ExprKind::Call {
            name: name.clone(),
            args: args.iter().map(|a| strict_tree(a, false)).collect(),
            ci: *ci,
            star: *star,
        },
        ExprKind::Lambda { params, body } => ExprKind::Lambda {
            params: params.clone(),
            body: sub(body, true),
        },
        ExprKind::Let { bindings, body } => ExprKind::Let {
            bindings: bindings
                .iter()
                .map(|(k, v)| (k.clone(), strict_tree(v, false)))
                .collect(),
            body: sub(body, condition),
        },
        other => other.clone(),
    };
    Expr::new(kind, e.span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_becomes_a_message_and_exception_search() {
        let s = to_strict("connection timed out");
        assert!(s.matched_as_text);
        assert_eq!(
            s.strict_expression,
            "@Message like '%connection timed out%' ci or @Exception like '%connection timed out%' ci"
        );
        let s = to_strict("timeout");
        assert!(s.matched_as_text);
        let s = to_strict("100% done?");
        assert_eq!(
            s.strict_expression,
            "@Message like '%100%% done??%' ci or @Exception like '%100%% done??%' ci"
        );
    }

    #[test]
    fn legacy_operators_and_fragments_are_made_strict() {
        let s = to_strict(r#"Application == "web" && !(Elapsed > 10) || "fail""#);
        assert!(!s.matched_as_text);
        assert_eq!(
            s.strict_expression,
            "Application = 'web' and not (Elapsed > 10) or (@Message like '%fail%' ci or @Exception like '%fail%' ci)"
        );
    }
}
