//! Prints a tree back as source, with the fewest parentheses that keep its meaning:
//! `parse(print(e)) == e` (tested as a property).

use std::fmt::Write;

use rust_decimal::Decimal;

use crate::ast::*;

/// Source text for an expression.
pub fn print(e: &Expr) -> String {
    let mut out = String::new();
    write_expr(&mut out, e);
    out
}

/// Binding strength of a node as an operand: 9 atoms and calls, 8 paths, 7 unary and
/// `is null`, 1-6 binary operators, 0 for forms that extend as far right as they can.
fn strength(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Binary { op, .. } => op.precedence(),
        ExprKind::Unary { .. } | ExprKind::IsNull { .. } => 7,
        ExprKind::Number { value, .. } if value.is_sign_negative() => 7,
        ExprKind::Member { .. } | ExprKind::Index { .. } | ExprKind::Wildcard { .. } => 8,
        ExprKind::If { .. } | ExprKind::Lambda { .. } | ExprKind::Let { .. } => 0,
        _ => 9,
    }
}

fn operand(out: &mut String, e: &Expr, min: u8) {
    if strength(e) < min {
        out.push('(');
        write_expr(out, e);
        out.push(')');
    } else {
        write_expr(out, e);
    }
}

fn write_expr(out: &mut String, e: &Expr) {
    match &e.kind {
        ExprKind::Null => out.push_str("null"),
        ExprKind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        ExprKind::Number { value, hex: true }
            if value.is_sign_positive() && value.fract().is_zero() =>
        {
            let _ = write!(out, "0x{:X}", value.mantissa());
        }
        ExprKind::Number { value, .. } => out.push_str(&number(*value)),
        ExprKind::Duration(ticks) => out.push_str(&duration(*ticks)),
        ExprKind::String(s) => string_literal(out, s),
        ExprKind::Text {
            text,
            verbatim: true,
        } => {
            out.push_str("@\"");
            out.push_str(&text.replace('"', "\"\""));
            out.push('"');
        }
        ExprKind::Text { text, .. } => {
            out.push('"');
            for c in text.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c if c.is_control() => {
                        let _ = write!(out, "\\u{:04x}", c as u32);
                    }
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        ExprKind::Regex(r) => {
            out.push('/');
            out.push_str(&r.replace('/', "\\/"));
            out.push('/');
        }
        ExprKind::Property(name) => {
            if is_plain_identifier(name) {
                out.push_str(name);
            } else {
                out.push_str("@Properties[");
                string_literal(out, name);
                out.push(']');
            }
        }
        ExprKind::Builtin(b) => out.push_str(b.name()),
        ExprKind::Variable(v) => {
            out.push('$');
            out.push_str(v);
        }
        ExprKind::Array(items) => {
            out.push('[');
            list(out, items);
            out.push(']');
        }
        ExprKind::Object(members) => {
            out.push('{');
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                member_name(out, k);
                out.push_str(": ");
                write_expr(out, v);
            }
            out.push('}');
        }
        ExprKind::Member { target, name } => {
            operand(out, target, 8);
            if is_identifier(name) {
                out.push('.');
                out.push_str(name);
            } else {
                out.push('[');
                string_literal(out, name);
                out.push(']');
            }
        }
        ExprKind::Index { target, index } => {
            operand(out, target, 8);
            out.push('[');
            write_expr(out, index);
            out.push(']');
        }
        ExprKind::Wildcard { target, kind } => {
            operand(out, target, 8);
            out.push_str(match kind {
                WildcardKind::Any => "[?]",
                WildcardKind::All => "[*]",
            });
        }
        ExprKind::Unary { op, operand: inner } => {
            match op {
                UnaryOp::Neg => {
                    out.push('-');
                    // A space keeps `- 3` a negation rather than the literal `-3`.
                    if matches!(inner.kind, ExprKind::Number { .. }) || strength(inner) == 7 {
                        out.push(' ');
                    }
                }
                UnaryOp::Not => out.push_str("not "),
            }
            operand(out, inner, 7);
        }
        ExprKind::IsNull {
            operand: inner,
            negated,
        } => {
            operand(out, inner, 8);
            out.push_str(if *negated { " is not null" } else { " is null" });
        }
        ExprKind::Binary {
            op,
            left,
            right,
            ci,
        } => {
            let p = op.precedence();
            let (left_min, right_min) = if *op == BinaryOp::Pow {
                (p + 1, p)
            } else {
                (p, p + 1)
            };
            operand(out, left, left_min);
            out.push(' ');
            out.push_str(op.symbol());
            out.push(' ');
            // `A = (F(B)) ci`: without parentheses the `ci` would bind to the call.
            let right_min = if *ci && ends_in_call(right) {
                10
            } else {
                right_min
            };
            operand(out, right, right_min);
            if *ci {
                out.push_str(" ci");
            }
        }
        ExprKind::Call {
            name,
            args,
            ci,
            star,
        } => {
            out.push_str(name);
            out.push('(');
            if *star {
                out.push('*');
            } else {
                list(out, args);
            }
            out.push(')');
            if *ci {
                out.push_str(" ci");
            }
        }
        ExprKind::If {
            condition,
            then,
            otherwise,
        } => {
            out.push_str("if ");
            write_expr(out, condition);
            out.push_str(" then ");
            write_expr(out, then);
            out.push_str(" else ");
            write_expr(out, otherwise);
        }
        ExprKind::Lambda { params, body } => {
            out.push('|');
            out.push_str(&params.join(", "));
            out.push_str("| ");
            write_expr(out, body);
        }
        ExprKind::Let { bindings, body } => {
            out.push_str("let |");
            for (i, (name, value)) in bindings.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(name);
                out.push_str(": ");
                write_expr(out, value);
            }
            out.push_str("| ");
            write_expr(out, body);
        }
    }
}

/// The printed text ends with a call's `)`, where a following `ci` would attach.
fn ends_in_call(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Call { ci: false, .. } => true,
        ExprKind::Binary {
            right, ci: false, ..
        } => ends_in_call(right),
        ExprKind::Unary { operand, .. } => ends_in_call(operand),
        _ => false,
    }
}

fn list(out: &mut String, items: &[Expr]) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_expr(out, item);
    }
}

/// `'…'` with `''` for a quote.
pub fn string_literal(out: &mut String, s: &str) {
    out.push('\'');
    out.push_str(&s.replace('\'', "''"));
    out.push('\'');
}

fn member_name(out: &mut String, k: &str) {
    if is_identifier(k) {
        out.push_str(k);
    } else {
        string_literal(out, k);
    }
}

/// A number as the language writes it: plain digits, no exponent, no trailing zeros.
pub fn number(value: Decimal) -> String {
    value.normalize().to_string()
}

/// A duration in ticks as `1h30m`-style chunks; sub-tick parts use `ns`.
pub fn duration(ticks: Decimal) -> String {
    const UNITS: [(&str, i128); 7] = [
        ("d", 86_400_000_000_000),
        ("h", 3_600_000_000_000),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
        ("ns", 1),
    ];
    let nanos = ticks * Decimal::from(100);
    let (Some(mut left), true) = (
        i128::try_from(nanos.trunc()).ok(),
        nanos.fract().is_zero() && nanos.is_sign_positive(),
    ) else {
        // Not expressible as chunks; the lexer never produces these.
        return number(ticks);
    };
    if left == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in UNITS {
        if left >= size {
            let _ = write!(out, "{}{unit}", left / size);
            left %= size;
        }
    }
    out
}

/// An identifier the lexer reads back as one token.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}

/// An identifier that parses as a property (not a keyword, not a call).
fn is_plain_identifier(s: &str) -> bool {
    is_identifier(s)
        && ![
            "and", "or", "not", "in", "is", "like", "null", "true", "false", "if", "then", "else",
            "ci", "let",
        ]
        .contains(&&*s.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use crate::parser::parse_expression;

    #[test]
    fn a_ci_comparison_keeps_its_call_operand_parenthesised() {
        for src in [
            "A = (ToLower(B)) ci",
            "A = (B + ToLower(C)) ci",
            "B or (/a/) = A",
        ] {
            let e = parse_expression(src).unwrap();
            let printed = super::print(&e);
            assert_eq!(
                parse_expression(&printed).unwrap(),
                e,
                "{src} printed as {printed}"
            );
        }
    }
}
