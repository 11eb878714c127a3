//! Template tokenizing, following Serilog's `MessageTemplateParser`.

use super::{Capture, Hole, Token};

/// Parses a template; never fails (invalid holes are text).
pub fn parse(template: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut text = String::new();
    scan(template, |piece| match piece {
        Piece::Text(t) => text.push_str(t),
        Piece::Hole(h) => {
            if !text.is_empty() {
                tokens.push(Token::Text(std::mem::take(&mut text)));
            }
            tokens.push(Token::Hole(Hole {
                raw: h.raw.to_owned(),
                name: h.name.to_owned(),
                capture: h.capture,
                alignment: h.alignment,
                format: h.format.map(str::to_owned),
            }));
        }
    });
    if !text.is_empty() {
        tokens.push(Token::Text(text));
    }
    tokens
}

/// How many holes in `template` carry a format, without building tokens: ingestion checks
/// each event's `@r` against this, so it must not allocate.
pub fn count_formatted_holes(template: &str) -> usize {
    let mut count = 0;
    if template.contains('{') {
        scan(template, |piece| {
            if matches!(
                piece,
                Piece::Hole(HoleRef {
                    format: Some(_),
                    ..
                })
            ) {
                count += 1;
            }
        });
    }
    count
}

/// A piece of a template, borrowed from it.
enum Piece<'a> {
    Text(&'a str),
    Hole(HoleRef<'a>),
}

struct HoleRef<'a> {
    raw: &'a str,
    name: &'a str,
    capture: Capture,
    alignment: Option<i32>,
    format: Option<&'a str>,
}

/// The tokenizer behind [`parse`] and [`count_formatted_holes`].
fn scan<'a>(template: &'a str, mut emit: impl FnMut(Piece<'a>)) {
    let bytes = template.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' if bytes.get(i + 1) == Some(&b'{') => {
                emit(Piece::Text("{"));
                i += 2;
            }
            b'{' => {
                // Like Serilog, a hole runs to the first `}`; if what it encloses is not a
                // valid hole, the whole run (including any inner `{`) is text.
                let Some(offset) = template[i + 1..].find('}') else {
                    emit(Piece::Text(&template[i..]));
                    break;
                };
                let end = i + 1 + offset;
                let raw = &template[i..=end];
                emit(match parse_hole(raw) {
                    Some(hole) => Piece::Hole(hole),
                    None => Piece::Text(raw),
                });
                i = end + 1;
            }
            b'}' => {
                // `}}` is an escaped brace; a lone `}` is literal too.
                emit(Piece::Text("}"));
                i += if bytes.get(i + 1) == Some(&b'}') {
                    2
                } else {
                    1
                };
            }
            _ => {
                let next = template[i..]
                    .find(['{', '}'])
                    .map_or(bytes.len(), |o| i + o);
                emit(Piece::Text(&template[i..next]));
                i = next;
            }
        }
    }
}

/// Parses `{...}` (braces included) as a hole, per Serilog's `TrySplitTagContent`.
fn parse_hole(raw: &str) -> Option<HoleRef<'_>> {
    let content = &raw[1..raw.len() - 1];
    if content.is_empty() {
        return None;
    }
    let (name_part, alignment, format) = match (content.find(','), content.find(':')) {
        (None, None) => (content, None, None),
        (Some(a), Some(f)) if a < f => {
            if a + 1 == f {
                return None; // `{A,:x}`: empty alignment
            }
            (
                &content[..a],
                Some(&content[a + 1..f]),
                Some(&content[f + 1..]),
            )
        }
        (_, Some(f)) => (&content[..f], None, Some(&content[f + 1..])),
        (Some(a), None) => (&content[..a], Some(&content[a + 1..]), None),
    };
    let (capture, name) = match name_part.as_bytes().first() {
        Some(b'@') => (Capture::Destructure, &name_part[1..]),
        Some(b'$') => (Capture::Stringify, &name_part[1..]),
        _ => (Capture::Default, name_part),
    };
    if !is_valid_name(name) {
        return None;
    }
    let alignment = match alignment {
        None => None,
        Some(a) => Some(parse_alignment(a)?),
    };
    Some(HoleRef {
        raw,
        name,
        capture,
        alignment,
        format: format.filter(|f| !f.is_empty()),
    })
}

/// Identifier (`_` or letter, then letters, digits, `_`), dotted identifiers, or all digits.
fn is_valid_name(name: &str) -> bool {
    if name.is_empty() {
        return false;
    }
    if name.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    name.split('.').all(|segment| {
        let mut chars = segment.chars();
        chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
            && chars.all(|c| c == '_' || c.is_alphanumeric())
    })
}

/// `-?digits`, non-zero; a leading `+` is invalid (as in Serilog).
fn parse_alignment(text: &str) -> Option<i32> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: i32 = text.parse().ok()?;
    (value != 0).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::formatted_hole_count;

    fn hole(raw: &str) -> Hole {
        match parse(raw).as_slice() {
            [Token::Hole(h)] => h.clone(),
            other => panic!("{raw} is not a single hole: {other:?}"),
        }
    }

    fn text(s: &str) -> Token {
        Token::Text(s.to_owned())
    }

    #[test]
    fn parses_holes_and_text() {
        let tokens = parse("Hello {User} from {Client}");
        assert_eq!(tokens.len(), 4);
        assert_eq!(tokens[0], text("Hello "));
        assert_eq!(tokens[2], text(" from "));
        let Token::Hole(h) = &tokens[3] else { panic!() };
        assert_eq!((h.raw.as_str(), h.name.as_str()), ("{Client}", "Client"));
        assert_eq!((h.alignment, h.format.as_deref()), (None, None));
    }

    #[test]
    fn hole_syntax() {
        // (raw, name, capture, alignment, format)
        type Case<'a> = (&'a str, &'a str, Capture, Option<i32>, Option<&'a str>);
        let cases: &[Case] = &[
            ("{A}", "A", Capture::Default, None, None),
            ("{@A}", "A", Capture::Destructure, None, None),
            ("{$A}", "A", Capture::Stringify, None, None),
            ("{_a1}", "_a1", Capture::Default, None, None),
            ("{0}", "0", Capture::Default, None, None),
            ("{12}", "12", Capture::Default, None, None),
            ("{a.b.c}", "a.b.c", Capture::Default, None, None),
            (
                "{@User.Email}",
                "User.Email",
                Capture::Destructure,
                None,
                None,
            ),
            (
                "{Elapsed:0.000}",
                "Elapsed",
                Capture::Default,
                None,
                Some("0.000"),
            ),
            ("{E,8:0.00}", "E", Capture::Default, Some(8), Some("0.00")),
            ("{E,-10}", "E", Capture::Default, Some(-10), None),
            ("{E:}", "E", Capture::Default, None, None),
            (
                "{T:yyyy-MM-dd HH:mm}",
                "T",
                Capture::Default,
                None,
                Some("yyyy-MM-dd HH:mm"),
            ),
            ("{T:a,b}", "T", Capture::Default, None, Some("a,b")),
            ("{Größe}", "Größe", Capture::Default, None, None),
            ("{名前}", "名前", Capture::Default, None, None),
        ];
        for &(raw, name, capture, alignment, format) in cases {
            let h = hole(raw);
            assert_eq!(h.raw, raw);
            assert_eq!(h.name, name, "{raw}");
            assert_eq!(h.capture, capture, "{raw}");
            assert_eq!(h.alignment, alignment, "{raw}");
            assert_eq!(h.format.as_deref(), format, "{raw}");
        }
        assert!(hole("{0}").is_positional() && !hole("{a}").is_positional());
    }

    #[test]
    fn invalid_holes_are_text() {
        let cases = [
            "{}",
            "{ }",
            "{@}",
            "{$}",
            "{a b}",
            "{1a}",
            "{a.}",
            "{.a}",
            "{a..b}",
            "{a-b}",
            "{@@a}",
            "{a,}",
            "{a,+5}",
            "{a,0}",
            "{a,x}",
            "{a,5-}",
            "{a,--5}",
            "{a,:x}",
            "{a,99999999999}",
            "{,5}",
            "{:x}",
            "{'a': 1}",
            "{\"a\": 1}",
            "{a\tb}",
        ];
        for raw in cases {
            assert_eq!(parse(raw), vec![text(raw)], "{raw}");
        }
    }

    #[test]
    fn escapes_and_unterminated() {
        let cases: &[(&str, &[&str])] = &[
            ("{{A}}", &["{A}"]),
            ("a {{ b }} c", &["a { b } c"]),
            ("{{{A}}}", &["{", "{A}", "}"]),
            ("open {", &["open {"]),
            ("open {A", &["open {A"]),
            ("close }", &["close }"]),
            ("{ x {A}", &["{ x {A}"]),
            ("{x y} then {A}", &["{x y} then ", "{A}"]),
            ("", &[]),
            ("}{", &["}{"]),
        ];
        for &(template, expected) in cases {
            let got: Vec<String> = parse(template)
                .into_iter()
                .map(|t| match t {
                    Token::Text(s) => s,
                    Token::Hole(h) => h.raw,
                })
                .collect();
            assert_eq!(got, expected, "{template}");
        }
    }

    #[test]
    fn parse_keeps_all_text() {
        // Without braces to unescape, text + raw holes reproduce the template exactly.
        for template in ["a {b} c {d,3:x} {bad hole} {", "{a.b}{0}", "✓ {ü} ✓"] {
            let joined: String = parse(template)
                .into_iter()
                .map(|t| match t {
                    Token::Text(s) => s,
                    Token::Hole(h) => h.raw,
                })
                .collect();
            assert_eq!(joined, template);
        }
    }

    #[test]
    fn counts_formatted_holes_like_parse() {
        for template in [
            "",
            "no holes",
            "{A:0.0} {B} {C,3:x} {D:}",
            "{{A:x}} {bad hole:x} {0:D2}",
            "{unterminated:x",
        ] {
            assert_eq!(
                count_formatted_holes(template),
                formatted_hole_count(&parse(template)),
                "{template}"
            );
        }
        assert_eq!(count_formatted_holes("{A:0.0} {B} {C,3:x} {D:}"), 2);
    }
}
