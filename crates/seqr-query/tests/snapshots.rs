//! Snapshots of parse trees and of error messages.
//!
//! Trees are shown as S-expressions, so precedence and associativity can be checked by eye,
//! together with the canonical printed form. Errors are shown as users see them (the
//! `Display` text with position and suggestion), with a caret under the reported position.
//!
//! Update with `INSTA_UPDATE=always cargo test -p seqr-query --test snapshots` (or
//! `cargo insta review`) and read every changed snapshot before committing it.

use std::fmt::Write;

use seqr_query::ast::*;
use seqr_query::parser::{parse_expression, parse_query};
use seqr_query::print::print;

/// An S-expression of the tree, wrapped only where it is long.
fn sexpr(e: &Expr) -> String {
    let flat = sexpr_flat(e);
    if flat.len() <= 72 {
        return flat;
    }
    let (head, children) = parts(e);
    if children.is_empty() {
        return flat;
    }
    let mut out = format!("({head}");
    for c in children {
        for line in sexpr(c).lines() {
            let _ = write!(out, "\n  {line}");
        }
    }
    out.push(')');
    out
}

fn sexpr_flat(e: &Expr) -> String {
    let (head, children) = parts(e);
    if children.is_empty() && !matches!(e.kind, ExprKind::Call { .. } | ExprKind::Array(_)) {
        return head;
    }
    let mut out = format!("({head}");
    for c in children {
        out.push(' ');
        out.push_str(&sexpr_flat(c));
    }
    out.push(')');
    out
}

/// A node's label and its children.
fn parts(e: &Expr) -> (String, Vec<&Expr>) {
    match &e.kind {
        ExprKind::Null => ("null".into(), vec![]),
        ExprKind::Bool(b) => (b.to_string(), vec![]),
        ExprKind::Number { value, hex } => (
            if *hex {
                format!("{value}:hex")
            } else {
                value.to_string()
            },
            vec![],
        ),
        ExprKind::Duration(t) => (format!("{t}:ticks"), vec![]),
        ExprKind::String(s) => (format!("{s:?}"), vec![]),
        ExprKind::Text { text, verbatim } => (
            format!("text{}{text:?}", if *verbatim { "@" } else { "" }),
            vec![],
        ),
        ExprKind::Regex(r) => (format!("/{r}/"), vec![]),
        ExprKind::Property(p) => (format!("prop:{p}"), vec![]),
        ExprKind::Builtin(b) => (b.name().into(), vec![]),
        ExprKind::Variable(v) => (format!("${v}"), vec![]),
        ExprKind::Array(items) => ("array".into(), items.iter().collect()),
        ExprKind::Object(members) => (
            format!(
                "object {}",
                members
                    .iter()
                    .map(|(k, _)| format!("{k:?}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            members.iter().map(|(_, v)| v).collect(),
        ),
        ExprKind::Member { target, name } => (format!(".{name}"), vec![target]),
        ExprKind::Index { target, index } => ("[]".into(), vec![target, index]),
        ExprKind::Wildcard { target, kind } => (
            match kind {
                WildcardKind::Any => "[?]".into(),
                WildcardKind::All => "[*]".into(),
            },
            vec![target],
        ),
        ExprKind::Unary { op, operand } => (
            match op {
                UnaryOp::Neg => "neg".into(),
                UnaryOp::Not => "not".into(),
            },
            vec![operand],
        ),
        ExprKind::IsNull { operand, negated } => (
            if *negated { "is-not-null" } else { "is-null" }.into(),
            vec![operand],
        ),
        ExprKind::Binary {
            op,
            left,
            right,
            ci,
        } => (
            format!("{}{}", op.symbol(), if *ci { " ci" } else { "" }),
            vec![left, right],
        ),
        ExprKind::Call {
            name,
            args,
            ci,
            star,
        } => (
            format!(
                "call {name}{}{}",
                if *star { " *" } else { "" },
                if *ci { " ci" } else { "" }
            ),
            args.iter().collect(),
        ),
        ExprKind::If {
            condition,
            then,
            otherwise,
        } => ("if".into(), vec![condition, then, otherwise]),
        ExprKind::Lambda { params, body } => {
            (format!("lambda |{}|", params.join(", ")), vec![body])
        }
        ExprKind::Let { bindings, body } => {
            let names: Vec<&str> = bindings.iter().map(|(n, _)| n.as_str()).collect();
            let mut children: Vec<&Expr> = bindings.iter().map(|(_, v)| v).collect();
            children.push(body);
            (format!("let |{}|", names.join(", ")), children)
        }
    }
}

fn render_expression(src: &str) -> String {
    let e = parse_expression(src).unwrap_or_else(|err| panic!("{src}: {err}"));
    let mut out = format!("input:  {src}\nprint:  {}\n", print(&e));
    if let Ok(filter) = seqr_query::Filter::parse(src) {
        let strict = filter.strict();
        if strict != print(&e) {
            let _ = writeln!(out, "strict: {strict}");
        }
    }
    let _ = write!(out, "tree:\n{}", sexpr(&e));
    out
}

fn render_query(src: &str) -> String {
    let q = parse_query(src).unwrap_or_else(|err| panic!("{src}: {err}"));
    let mut out = format!("input: {src}\n");
    if q.explain {
        out.push_str("explain\n");
    }
    for c in &q.columns {
        let _ = writeln!(
            out,
            "column: {}{}",
            sexpr_flat(&c.expr),
            c.alias
                .as_ref()
                .map(|a| format!(" as {a:?}"))
                .unwrap_or_default()
        );
    }
    if let Some(v) = &q.into {
        let _ = writeln!(out, "into: ${v}");
    }
    if let Some(s) = &q.from {
        let _ = writeln!(out, "from: {s:?}");
    }
    if let Some(f) = &q.filter {
        let _ = writeln!(out, "where: {}", sexpr_flat(f));
    }
    for g in &q.group_by {
        let _ = writeln!(
            out,
            "group: {}{}{}",
            sexpr_flat(&g.expr),
            if g.ci { " ci" } else { "" },
            g.alias
                .as_ref()
                .map(|a| format!(" as {a:?}"))
                .unwrap_or_default()
        );
    }
    if let Some((ticks, _)) = &q.time_slice {
        let _ = writeln!(out, "time slice: {ticks} ticks");
    }
    if let Some(h) = &q.having {
        let _ = writeln!(out, "having: {}", sexpr_flat(h));
    }
    for o in &q.order_by {
        let _ = writeln!(
            out,
            "order: {:?}{}{}",
            o.key,
            if o.ci { " ci" } else { "" },
            if o.descending { " desc" } else { "" }
        );
    }
    if let Some(l) = q.limit {
        let _ = writeln!(out, "limit: {l}");
    }
    for o in &q.options {
        let args: Vec<String> = o.args.iter().map(sexpr_flat).collect();
        let _ = writeln!(out, "for: {}({})", o.name, args.join(", "));
    }
    out
}

/// The input, shortened if huge, and a caret under the error's position.
fn show_input(src: &str, position: usize) -> String {
    let chars: Vec<char> = src.chars().collect();
    if chars.len() <= 100 {
        let caret = " ".repeat(position.saturating_sub(1));
        return format!("input: {src}\n       {caret}^");
    }
    let from = position.saturating_sub(20).min(chars.len());
    let to = (position + 20).min(chars.len());
    let window: String = chars[from..to].iter().collect();
    let caret = " ".repeat(position.saturating_sub(1) - from + 3);
    format!(
        "input: ({} characters) ...{window}...\n       {caret}^",
        chars.len()
    )
}

fn render_error(src: &str, err: &seqr_query::ParseError) -> String {
    format!(
        "{}\nerror: {err}\nspan: {}..{} syntax: {}",
        show_input(src, err.position),
        err.span.start,
        err.span.end,
        err.syntax
    )
}

/// Filter errors (parse and compile), located as the search API reports them.
fn filter_error(src: &str) -> String {
    match seqr_query::Filter::parse(src) {
        Ok(_) => panic!("expected an error for {src:?}"),
        Err(e) => render_error(src, &e),
    }
}

fn query_error(src: &str) -> String {
    match parse_query(src) {
        Ok(q) => panic!("expected an error for {src:?}, got {q:?}"),
        Err(e) => render_error(src, &e),
    }
}

const EXPRESSIONS: &[(&str, &str)] = &[
    ("or_and_precedence", "A = 1 or B = 2 and C = 3"),
    ("not_binds_tighter_than_comparison", "not A = 1"),
    ("not_parenthesised", "not (A = 1)"),
    ("unary_minus_before_power", "-2 ^ 2"),
    ("negated_property_power", "-A ^ 2"),
    ("power_is_right_associative", "2 ^ 3 ^ 2"),
    ("arithmetic_precedence", "1 + 2 * 3 - 4 / 5 % 6"),
    ("subtraction_is_left_associative", "10 - 3 - 2"),
    ("ci_binds_to_its_comparison", "A = B or C = D ci"),
    (
        "like_not_like_in_not_in",
        "A like 'x%' ci and B not like '%y' and C in [1, 2] and D not in ['a'] ci",
    ),
    ("is_null_postfix", "not A is not null and -B is null"),
    (
        "paths_and_wildcards",
        "Order.Shipments[*].Items[?].Tax > 0 and @Properties['name with space'][0] = 1",
    ),
    (
        "builtins_and_abbreviations",
        "@t > Now() - 1h and @l = 'Error' and @mt like '%x%'",
    ),
    ("resource_path", "@Resource.service.name = 'web'"),
    (
        "durations_and_hex",
        "@Elapsed > 1h30m250ms and @EventType = 0xE80D5C02",
    ),
    ("regex_literal", r"A = /a\/b.c/ and Contains(B, /b+/) ci"),
    ("text_fragments", r#""timeout" and not @"Exact" or "a\"b""#),
    (
        "verbatim_string_value",
        r#"Equal(Path, @"C:\path") and Equal(Q, @"say ""hi""")"#,
    ),
    ("legacy_operators", r#"A == 1 && B != 'x' || !(C == "y")"#),
    (
        "keywords_any_case",
        "A = 1 AND B Like 'x' OR NOT C IN [1] And D Is Not Null",
    ),
    (
        "if_then_else",
        "if A > 1 then 'big' else if A = 1 then 'one' else 'small'",
    ),
    ("let_block", "let |x: A + 1, y: x * 2| x + y > 3"),
    (
        "lambdas",
        "Every(Items, |i| i.Price > 0) and Some(Tags, |t| StartsWith(t, 'a') ci)",
    ),
    (
        "arrays_and_objects",
        "{a: [1, 'two', null, true], 'b c': {d: -1.5}} = X",
    ),
    ("variables", "$city = City and $1"),
    ("negative_literals", "A - -1 = - 1 and -(-2) = 2"),
    ("strings_with_quotes", "A = 'it''s' and B = ''''"),
    ("comment", "A = 1 -- the rest is ignored: and B = 2"),
    (
        "reserved_word_as_property",
        "@Properties['and'] = @Properties['select']",
    ),
    ("unicode_identifiers", "Größe > 5 and _x = 'ü'"),
    (
        "function_call_ci_then_comparison",
        "IndexOf(A, 'x') ci >= 0",
    ),
];

const QUERIES: &[(&str, &str)] = &[
    ("scalar", "select 1 + 1"),
    (
        "scalar_into_variable",
        "select ToIsoString(Now()) as t into $now",
    ),
    (
        "count_by_time",
        "select count(*) from stream where @Level = 'Error' group by time(1h) order by time",
    ),
    (
        "sample_template",
        "select count(*) as Occurrences, sum(Length(ToJson(@Data))) as TotalChars, ToHexString(first(@EventType)) as EventType, first(@MessageTemplate) as MessageTemplate from stream group by @EventType order by TotalChars desc limit 10",
    ),
    (
        "group_ci_having_for",
        "explain select count(*) as n from stream group by Substring(A, 0, 3) ci as prefix, B having n > 1 order by prefix ci asc, n desc limit 5 for refresh, no_cache",
    ),
    (
        "distinct_keys",
        "select distinct(Keys(@Properties)) from stream",
    ),
];

#[test]
fn expression_trees() {
    for (name, src) in EXPRESSIONS {
        insta::assert_snapshot!(format!("expr_{name}"), render_expression(src));
    }
}

#[test]
fn query_trees() {
    for (name, src) in QUERIES {
        insta::assert_snapshot!(format!("query_{name}"), render_query(src));
    }
}

#[test]
fn filter_errors() {
    let deep_parens = format!("{}1{}", "(".repeat(10_000), ")".repeat(10_000));
    let long_chain = vec!["a"; 10_000].join("+");
    let deep_not = "not ".repeat(5_000) + "A";
    let deep_arrays = "[".repeat(500);
    let deep_members = format!("A{}", ".b".repeat(2_000));
    let too_long = format!("A = '{}'", "x".repeat(70_000));
    let cases: Vec<(&str, String)> = vec![
        ("unclosed_string", "A = 'abc".into()),
        ("unclosed_text", "\"timeout".into()),
        ("unclosed_regex", "A = /abc".into()),
        ("unknown_function_suggests", "Lenght(App) > 3".into()),
        ("unknown_function_no_suggestion", "Frobnicate(App)".into()),
        ("ci_on_less_than", "A < 3 ci".into()),
        ("ci_on_arithmetic", "A + 1 ci".into()),
        ("ci_on_function_without_ci", "Length(A) ci > 1".into()),
        ("missing_right_operand", "A = ".into()),
        ("two_operands", "A B".into()),
        ("unknown_builtin_suggests", "@Levle = 'Error'".into()),
        ("unknown_builtin_no_suggestion", "@Frobnitz = 1".into()),
        ("bad_duration_unit", "@Elapsed > 3weeks".into()),
        ("duration_chunk_without_unit", "@Elapsed > 1h30".into()),
        ("bad_hex", "0xZZ".into()),
        ("stray_close_paren", "(A = 1))".into()),
        ("unclosed_paren", "(A = 1".into()),
        ("is_without_null", "A is 1".into()),
        ("reserved_word_as_property", "and = 1".into()),
        ("double_dot", "A..B = 1".into()),
        ("bad_escape_in_text", r#""a\qb""#.into()),
        ("duplicate_object_member", "{a: 1, a: 2} = X".into()),
        ("bare_wildcard", "Tags[?]".into()),
        ("aggregate_in_filter", "count(*) > 10".into()),
        ("undefined_variable", "$city = City".into()),
        ("bare_regex", "/abc/".into()),
        ("invalid_regex", "A = /(unclosed/".into()),
        ("wrong_arity", "StartsWith(A)".into()),
        ("lambda_outside_call", "|x| x > 1".into()),
        ("every_without_lambda", "Every(Tags, 1)".into()),
        ("if_without_else", "if A then 1".into()),
        ("unexpected_character", "A = 1 € 2".into()),
        ("trailing_operator", "A = 1 and".into()),
        ("empty_input", "".into()),
        ("deep_parentheses", deep_parens),
        ("long_plus_chain", long_chain),
        ("deep_not", deep_not),
        ("deep_arrays", deep_arrays),
        ("long_member_chain", deep_members),
        ("too_long", too_long),
    ];
    for (name, src) in &cases {
        insta::assert_snapshot!(format!("error_{name}"), filter_error(src));
    }
}

#[test]
fn query_errors() {
    let cases = [
        ("select_without_columns", "select from stream"),
        ("select_star", "select * from stream"),
        ("bad_source", "select count(*) from strem"),
        (
            "time_without_duration",
            "select count(*) from stream group by time(5)",
        ),
        (
            "zero_time_slice",
            "select count(*) from stream group by time(0s)",
        ),
        ("negative_limit", "select count(*) from stream limit -1"),
        ("order_by_nothing", "select count(*) from stream order by"),
        ("where_nothing", "select count(*) from stream where"),
        (
            "clause_out_of_order",
            "select count(*) from stream limit 10 where A = 1",
        ),
        ("into_without_variable", "select 1 into x"),
        ("group_without_by", "select count(*) from stream group A"),
    ];
    for (name, src) in cases {
        insta::assert_snapshot!(format!("query_error_{name}"), query_error(src));
    }
}
