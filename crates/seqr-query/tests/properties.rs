//! Property tests: printed trees parse back to themselves, no input makes the parser, the
//! fuzzy converter or the evaluator panic.

mod common;

use proptest::prelude::*;
use rust_decimal::Decimal;
use seqr_query::ast::*;
use seqr_query::parser::{parse_expression, parse_query};
use seqr_query::print::print;

use common::{check_input, evaluate_everywhere, sample_events, unprintable};

const RESERVED: &[&str] = &[
    "and", "or", "not", "in", "is", "like", "null", "true", "false", "if", "then", "else", "ci",
    "let",
];

fn e(kind: ExprKind) -> Expr {
    Expr::new(kind, Span::default())
}

fn boxed(kind: ExprKind) -> Box<Expr> {
    Box::new(e(kind))
}

/// Identifiers that read back as one identifier token and are not keywords.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[A-Za-z_][A-Za-z0-9_]{0,6}",
        1 => "[a-zA-Z][a-z]{0,3}[éßüЖ_][a-z0-9]{0,2}",
        // Names the sample events have, so evaluation reaches real values.
        3 => prop::sample::select(vec!["A", "B", "C", "D", "E", "F", "a", "x", "y", "Items", "RequestMethod"]).prop_map(String::from),
    ]
    .prop_filter("reserved word", |s| {
        !RESERVED.contains(&s.to_ascii_lowercase().as_str())
    })
}

/// Any identifier, keywords included (valid after `.` and as object keys).
fn member_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => name(),
        1 => prop::sample::select(RESERVED.to_vec()).prop_map(String::from),
    ]
}

fn decimal() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        (0i64..1000).prop_map(Decimal::from),
        (any::<i64>(), 0u32..8).prop_map(|(m, s)| Decimal::new(m, s)),
        Just(Decimal::MAX),
        Just(Decimal::MIN),
    ]
}

/// Text with the characters that need escaping in each kind of literal.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 %?_]{0,8}",
        "[ -~]{0,10}",
        "[\\\\'\"@$/\n\t\r\u{0}\u{7f}é😀%?*-]{0,6}",
        any::<String>().prop_map(|s| s.chars().take(12).collect()),
    ]
}

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        Just(e(ExprKind::Null)),
        any::<bool>().prop_map(|b| e(ExprKind::Bool(b))),
        decimal().prop_map(|value| e(ExprKind::Number { value, hex: false })),
        any::<u64>().prop_map(|n| e(ExprKind::Number {
            value: Decimal::from(n),
            hex: true
        })),
        // Durations are whole hundredths of a tick (the lexer's `ns` resolution).
        (0i64..10_000_000_000_000_000).prop_map(|n| e(ExprKind::Duration(Decimal::new(n, 2)))),
        text().prop_map(|s| e(ExprKind::String(s))),
        (text(), any::<bool>()).prop_map(|(text, verbatim)| e(ExprKind::Text { text, verbatim })),
        name().prop_map(|n| e(ExprKind::Property(n))),
        prop::sample::select(Builtin::ALL.to_vec()).prop_map(|b| e(ExprKind::Builtin(b))),
        prop_oneof![
            "[a-z0-9_]{1,5}",
            prop::sample::select(vec!["city", "n", "1"]).prop_map(String::from)
        ]
        .prop_map(|v| e(ExprKind::Variable(v))),
    ]
}

/// Function names: the real ones (so evaluation runs them), the evaluator's own, and others.
fn function_name() -> impl Strategy<Value = String> {
    let mut real: Vec<String> = seqr_query::functions::names().map(String::from).collect();
    real.extend(
        [
            "Every",
            "Some",
            "Equal",
            "NotEqual",
            "IsSpan",
            "IsRootSpan",
            "count",
            "And",
            "or",
            "sum",
            "tolower",
            "LENGTH",
        ]
        .map(String::from),
    );
    prop_oneof![3 => prop::sample::select(real), 1 => name()]
}

fn regex() -> impl Strategy<Value = Expr> {
    "[a-c.*+?|()/\\[\\]^$ ]{0,6}".prop_map(|r| e(ExprKind::Regex(r)))
}

const COMPARISONS: &[BinaryOp] = &[
    BinaryOp::Eq,
    BinaryOp::Ne,
    BinaryOp::Lt,
    BinaryOp::Le,
    BinaryOp::Gt,
    BinaryOp::Ge,
    BinaryOp::Like,
    BinaryOp::NotLike,
    BinaryOp::In,
    BinaryOp::NotIn,
];

const ALL_OPS: &[BinaryOp] = &[
    BinaryOp::Or,
    BinaryOp::And,
    BinaryOp::Eq,
    BinaryOp::Ne,
    BinaryOp::Lt,
    BinaryOp::Le,
    BinaryOp::Gt,
    BinaryOp::Ge,
    BinaryOp::Like,
    BinaryOp::NotLike,
    BinaryOp::In,
    BinaryOp::NotIn,
    BinaryOp::Add,
    BinaryOp::Sub,
    BinaryOp::Mul,
    BinaryOp::Div,
    BinaryOp::Mod,
    BinaryOp::Pow,
];

fn expr() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(6, 96, 4, |inner| {
        prop_oneof![
            1 => prop::collection::vec(inner.clone(), 0..4).prop_map(|items| e(ExprKind::Array(items))),
            1 => prop::collection::vec((member_name(), inner.clone()), 0..4).prop_map(|members| {
                let mut seen = std::collections::HashSet::new();
                let members = members
                    .into_iter()
                    .filter(|(k, _)| seen.insert(k.clone()))
                    .collect();
                e(ExprKind::Object(members))
            }),
            1 => (inner.clone(), member_name()).prop_map(|(t, name)| e(ExprKind::Member {
                target: Box::new(t),
                name
            })),
            1 => (inner.clone(), inner.clone()).prop_map(|(t, i)| e(ExprKind::Index {
                target: Box::new(t),
                index: Box::new(i)
            })),
            1 => (inner.clone(), any::<bool>()).prop_map(|(t, any)| e(ExprKind::Wildcard {
                target: Box::new(t),
                kind: if any {
                    WildcardKind::Any
                } else {
                    WildcardKind::All
                }
            })),
            1 => (inner.clone(), any::<bool>()).prop_map(|(o, not)| e(ExprKind::Unary {
                op: if not { UnaryOp::Not } else { UnaryOp::Neg },
                operand: Box::new(o)
            })),
            1 => (inner.clone(), any::<bool>()).prop_map(|(o, negated)| e(ExprKind::IsNull {
                operand: Box::new(o),
                negated
            })),
            3 => (
                prop::sample::select(ALL_OPS.to_vec()),
                inner.clone(),
                inner.clone(),
                any::<bool>()
            )
                .prop_filter_map("ci before a call", |(op, l, r, ci)| {
                    let ci = ci && op.accepts_ci();
                    (!unprintable(op, ci, &r)).then(|| {
                        e(ExprKind::Binary {
                            op,
                            left: Box::new(l),
                            right: Box::new(r),
                            ci,
                        })
                    })
                }),
            // Regexes where the lexer reads them: after `=`/`<>` and as call arguments.
            1 => (inner.clone(), regex(), any::<bool>(), any::<bool>()).prop_map(
                |(l, r, ne, ci)| e(ExprKind::Binary {
                    op: if ne { BinaryOp::Ne } else { BinaryOp::Eq },
                    left: Box::new(l),
                    right: Box::new(r),
                    ci
                })
            ),
            2 => (
                function_name(),
                prop::collection::vec(prop_oneof![4 => inner.clone(), 1 => regex()], 0..4),
                any::<bool>()
            )
                .prop_map(|(name, args, ci)| e(ExprKind::Call {
                    name,
                    args,
                    ci,
                    star: false
                })),
            1 => any::<bool>().prop_map(|ci| e(ExprKind::Call {
                name: "count".into(),
                args: vec![],
                ci,
                star: true
            })),
            1 => (inner.clone(), inner.clone(), inner.clone()).prop_map(|(c, t, o)| e(ExprKind::If {
                condition: Box::new(c),
                then: Box::new(t),
                otherwise: Box::new(o)
            })),
            1 => (prop::collection::vec(name(), 0..3), inner.clone()).prop_map(|(params, body)| e(
                ExprKind::Lambda {
                    params,
                    body: Box::new(body)
                }
            )),
            1 => (prop::collection::vec((name(), inner.clone()), 1..3), inner.clone()).prop_map(
                |(bindings, body)| e(ExprKind::Let {
                    bindings,
                    body: Box::new(body)
                })
            ),
            // Quantifiers with a lambda over a collection, so `Every`/`Some` really run.
            1 => (any::<bool>(), inner.clone(), name(), inner.clone()).prop_map(
                |(every, coll, p, body)| e(ExprKind::Call {
                    name: if every { "Every" } else { "Some" }.into(),
                    args: vec![
                        coll,
                        e(ExprKind::Lambda {
                            params: vec![p],
                            body: Box::new(body)
                        })
                    ],
                    ci: false,
                    star: false
                })
            ),
            // Comparisons over wildcards, the shape filters use.
            1 => (
                prop::sample::select(COMPARISONS.to_vec()),
                inner.clone(),
                any::<bool>(),
                inner.clone()
            )
                .prop_map(|(op, t, any, r)| e(ExprKind::Binary {
                    op,
                    left: boxed(ExprKind::Wildcard {
                        target: Box::new(t),
                        kind: if any {
                            WildcardKind::Any
                        } else {
                            WildcardKind::All
                        }
                    }),
                    right: Box::new(r),
                    ci: false
                })),
        ]
    })
}

/// Source-like noise: fragments of the language glued at random, so the parser gets far.
fn token_soup() -> impl Strategy<Value = String> {
    let fragments = vec![
        "A",
        "B.c",
        "Tags",
        "(",
        ")",
        "[",
        "]",
        "[?]",
        "[*]",
        "{",
        "}",
        "'",
        "''",
        "\"",
        "@\"",
        "/",
        "\\",
        "and",
        "or",
        "not",
        "like",
        "in",
        "ci",
        "is",
        "null",
        "true",
        "if",
        "then",
        "else",
        "let",
        "|",
        "||",
        ",",
        ":",
        ".",
        "1",
        "-1",
        "0.5",
        "0x1F",
        "1h30m",
        "250ms",
        "--",
        "\n",
        " ",
        "=",
        "==",
        "<>",
        "!=",
        "<",
        ">=",
        "+",
        "-",
        "*",
        "%",
        "^",
        "!",
        "&&",
        "$x",
        "$city",
        "@Level",
        "@t",
        "@Properties",
        "@Levle",
        "Length(",
        "StartsWith(",
        "Every(",
        "Some(",
        "count(*)",
        "select",
        "from",
        "stream",
        "where",
        "group",
        "by",
        "time(1h)",
        "order",
        "limit",
        "10",
        "for",
        "refresh",
        "as",
        "into",
        "explain",
        "having",
        "desc",
        "€",
        "😀",
        "x",
        "/a.c/",
        "'%a?'",
        "\"text\"",
    ];
    prop::collection::vec(prop::sample::select(fragments), 0..24).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 768,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn printed_trees_parse_back_to_themselves(tree in expr()) {
        let printed = print(&tree);
        match parse_expression(&printed) {
            Ok(again) => prop_assert_eq!(
                &again, &tree,
                "printed: {}\nreprinted: {}", printed, print(&again)
            ),
            Err(err) => prop_assert!(false, "printed: {}\nerror: {}", printed, err),
        }
    }

    #[test]
    fn random_trees_compile_and_evaluate_without_panicking(tree in expr()) {
        let events = sample_events();
        evaluate_everywhere(&tree, &events);
        let _ = seqr_query::fuzzy::strict_tree(&tree, true);
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_strings_never_panic(src in any::<String>()) {
        let _ = parse_expression(&src);
        let _ = parse_query(&src);
        let _ = seqr_query::fuzzy::to_strict(&src);
    }

    /// Noise built from the language's own tokens gets far enough to parse now and then;
    /// whatever parses must round-trip and evaluate.
    #[test]
    fn token_soup_never_panics_and_round_trips(src in token_soup()) {
        check_input(&src, &sample_events());
    }
}
