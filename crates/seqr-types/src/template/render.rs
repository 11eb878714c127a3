//! Seq-style rendering of parsed templates.

use super::number_format;
use super::{Hole, MAX_RENDERED_BYTES, RenderedToken, Token};
use crate::{Properties, Value};

/// Renders a parsed template against properties, using `renderings` (`@r`) for formatted holes
/// when their count matches. The result is capped at [`MAX_RENDERED_BYTES`].
pub fn render(tokens: &[Token], properties: &Properties, renderings: &[String]) -> String {
    render_with(tokens, |hole| lookup(properties, &hole.name), renderings)
}

/// [`render`] with each hole's value from `value_of` (called once per hole, in order), for
/// callers holding property values outside a map (the store renders from columns).
pub fn render_with<'v>(
    tokens: &[Token],
    mut value_of: impl FnMut(&Hole) -> Option<&'v Value>,
    renderings: &[String],
) -> String {
    let mut out = String::new();
    let mut renderings = Renderings::new(tokens, renderings);
    for token in tokens {
        if out.len() > MAX_RENDERED_BYTES {
            break;
        }
        match token {
            Token::Text(s) => out.push_str(s),
            Token::Hole(hole) => {
                let rendering = renderings.next_for(hole);
                match value_of(hole) {
                    Some(value) => write_value(&mut out, hole, value, rendering),
                    None => out.push_str(&hole.raw),
                }
            }
        }
    }
    truncate_to(&mut out, MAX_RENDERED_BYTES);
    out
}

/// Renders each token separately, for the API's `MessageTemplateTokens`.
pub fn render_tokens(
    tokens: &[Token],
    properties: &Properties,
    renderings: &[String],
) -> Vec<RenderedToken> {
    let mut renderings = Renderings::new(tokens, renderings);
    tokens
        .iter()
        .map(|token| match token {
            Token::Text(s) => RenderedToken::Text(s.clone()),
            Token::Hole(hole) => {
                let rendering = renderings.next_for(hole);
                let formatted = lookup(properties, &hole.name).map(|value| {
                    let mut s = String::new();
                    write_value(&mut s, hole, value, rendering);
                    truncate_to(&mut s, MAX_RENDERED_BYTES);
                    s
                });
                RenderedToken::Property {
                    name: hole.name.clone(),
                    raw_text: hole.raw.clone(),
                    formatted,
                }
            }
        })
        .collect()
}

/// Hands out `@r` entries to formatted holes in order, or nothing if the count is off.
struct Renderings<'a> {
    remaining: std::slice::Iter<'a, String>,
}

impl<'a> Renderings<'a> {
    fn new(tokens: &[Token], renderings: &'a [String]) -> Self {
        let usable = !renderings.is_empty() && formatted_hole_count(tokens) == renderings.len();
        let renderings = if usable { renderings } else { &[] };
        Renderings {
            remaining: renderings.iter(),
        }
    }

    fn next_for(&mut self, hole: &Hole) -> Option<&'a str> {
        hole.format
            .as_ref()
            .and_then(|_| self.remaining.next())
            .map(String::as_str)
    }
}

/// How many holes carry a format: the number of `@r` entries a client sends for the template.
pub fn formatted_hole_count(tokens: &[Token]) -> usize {
    tokens
        .iter()
        .filter(|t| matches!(t, Token::Hole(h) if h.format.is_some()))
        .count()
}

/// Finds a property: a dotted name is a path into nested objects (how Serilog's sink un-flattens
/// dotted names), falling back to a flat key that contains the dots.
pub fn lookup<'p>(properties: &'p Properties, name: &str) -> Option<&'p Value> {
    if name.contains('.') {
        let mut segments = name.split('.');
        let mut current = segments.next().and_then(|s| properties.get(s));
        for segment in segments {
            current = current.and_then(|v| v.as_object()?.get(segment));
        }
        if current.is_some() {
            return current;
        }
    }
    properties.get(name)
}

/// A scalar hole value, for callers holding values outside [`Value`] (the store's columns).
#[derive(Clone, Copy, Debug)]
pub enum Scalar<'a> {
    Str(&'a str),
    /// A number's JSON text.
    Number(&'a str),
    Bool(bool),
    Null,
}

impl<'a> Scalar<'a> {
    fn of(value: &'a Value) -> Option<Scalar<'a>> {
        Some(match value {
            Value::String(s) => Scalar::Str(s),
            Value::Number(n) => Scalar::Number(n.as_str()),
            Value::Bool(b) => Scalar::Bool(*b),
            Value::Null => Scalar::Null,
            _ => return None,
        })
    }
}

/// Appends one hole's rendering of a scalar exactly as [`render_with`] writes it (format and
/// alignment applied; no `@r` rendering).
pub fn write_scalar(out: &mut String, hole: &Hole, value: Scalar<'_>) {
    let start = out.len();
    push_scalar(out, hole, value);
    align(out, start, hole);
}

/// Whether the hole writes a plain integer or decimal (a number whose JSON text has no
/// exponent) with only the characters `0`-`9`, `-`, `.` and `,` (no padding, no letters): a
/// search for text without those characters never matches across such a hole.
pub fn writes_numbers_as_digits(hole: &Hole) -> bool {
    hole.alignment.is_none()
        && hole
            .format
            .as_deref()
            .is_none_or(number_format::writes_digits_only)
}

/// Appends a value formatted per the hole's format (or its `@r` rendering) and alignment.
fn write_value(out: &mut String, hole: &Hole, value: &Value, rendering: Option<&str>) {
    let start = out.len();
    match (rendering, Scalar::of(value)) {
        (Some(r), _) => out.push_str(r),
        (None, Some(scalar)) => push_scalar(out, hole, scalar),
        (None, None) => out.push_str(&serde_json::to_string(value).unwrap_or_default()),
    }
    align(out, start, hole);
}

fn push_scalar(out: &mut String, hole: &Hole, value: Scalar<'_>) {
    match value {
        Scalar::Str(s) => out.push_str(s),
        Scalar::Number(text) => match hole
            .format
            .as_deref()
            .and_then(|f| number_format::format(text, f))
        {
            Some(s) => out.push_str(&s),
            None => out.push_str(text),
        },
        Scalar::Bool(true) => out.push_str("True"),
        Scalar::Bool(false) => out.push_str("False"),
        Scalar::Null => out.push_str("null"),
    }
}

/// Pads what was written since `start` to the hole's alignment.
fn align(out: &mut String, start: usize, hole: &Hole) {
    if let Some(alignment) = hole.alignment {
        let width = (alignment.unsigned_abs() as usize).min(MAX_RENDERED_BYTES);
        let len = out[start..].chars().count();
        if len < width {
            let pad = " ".repeat(width - len);
            if alignment > 0 {
                out.insert_str(start, &pad);
            } else {
                out.push_str(&pad);
            }
        }
    }
}

/// Truncates to at most `max` bytes on a char boundary.
fn truncate_to(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::parse;

    fn props(json: &str) -> Properties {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn renders_like_seq() {
        let p = props(
            r#"{"User":"alice","Client":"seq-logging","N":42,"Pct":93.5,"Big":635476923356034756,
                "Ok":true,"No":false,"Nil":null,"Obj":{"A":[1,2,3],"B":null,"$type":"Thing"},
                "Arr":[1,"x"],"a":{"b":{"c":"deep"}},"x.y":"flat","0":"zero","":"empty",
                "Neg":-7,"Small":0.125,"Uni":"héllo ✓"}"#,
        );
        let cases = [
            ("Hello {User} from {Client}", "Hello alice from seq-logging"),
            ("Disk {Pct}% full", "Disk 93.5% full"),
            ("{N} {Big}", "42 635476923356034756"),
            ("{Ok}/{No}/{Nil}", "True/False/null"),
            ("{Obj}", r#"{"A":[1,2,3],"B":null,"$type":"Thing"}"#),
            ("{@Arr}", r#"[1,"x"]"#),
            ("{a.b.c} {a.b}", r#"deep {"c":"deep"}"#),
            ("{x.y}", "flat"),
            (
                "{a.zz} {Missing} {Missing:F2,3}",
                "{a.zz} {Missing} {Missing:F2,3}",
            ),
            ("{0}", "zero"),
            ("{$User}", "alice"),
            (
                "[{User,8}] [{User,-8}] [{User,2}]",
                "[   alice] [alice   ] [alice]",
            ),
            ("[{Uni,9}]", "[  héllo ✓]"),
            ("{N:D5} {N:X8} {N:x} {Neg:D3}", "00042 0000002A 2a -007"),
            ("{Pct:F2} {Pct:F0} {Small:F2} {Pct:N0}", "93.50 94 0.13 94"),
            ("{Big:N0}", "635,476,923,356,034,756"),
            ("{Pct:0.000} {Pct:#,##0} {N:0.00}", "93.500 94 42.00"),
            (
                "{User:F2} {Ok:D5} {Obj:X}",
                r#"alice True {"A":[1,2,3],"B":null,"$type":"Thing"}"#,
            ),
            ("{Pct:Q} {Pct:D5} {Pct:0.0 ms}", "93.5 93.5 93.5"),
            ("{{literal}} {User}", "{literal} alice"),
        ];
        for (template, expected) in cases {
            assert_eq!(render(&parse(template), &p, &[]), expected, "{template}");
        }
    }

    #[test]
    fn renderings_replace_formatted_holes_when_counts_match() {
        let p = props(r#"{"A":1.23456,"B":"x","C":7}"#);
        let tokens = parse("{A:0.0} {B} {C,4:000}");
        let r = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(render(&tokens, &p, &r(&["R1", "R2"])), "R1 x   R2");
        // Count mismatch: ignored (seqlog sends `@r` with unrelated counts).
        assert_eq!(render(&tokens, &p, &r(&["R1"])), "1.2 x  007");
        assert_eq!(render(&tokens, &p, &r(&[])), "1.2 x  007");
        assert_eq!(
            render(&parse("Disk 93.5% full"), &p, &r(&["93.5"])),
            "Disk 93.5% full"
        );
        // A missing property still shows its hole, and still consumes its rendering.
        let tokens = parse("{Missing:x} {C:x}");
        assert_eq!(render(&tokens, &p, &r(&["a", "b"])), "{Missing:x} b");
    }

    #[test]
    fn rendered_tokens_for_the_api() {
        let p = props(r#"{"User":"alice","N":5}"#);
        let got = render_tokens(&parse("Hi {User}, {N,3:D2} {Gone}"), &p, &[]);
        let prop = |name: &str, raw: &str, f: Option<&str>| RenderedToken::Property {
            name: name.into(),
            raw_text: raw.into(),
            formatted: f.map(Into::into),
        };
        assert_eq!(
            got,
            vec![
                RenderedToken::Text("Hi ".into()),
                prop("User", "{User}", Some("alice")),
                RenderedToken::Text(", ".into()),
                prop("N", "{N,3:D2}", Some(" 05")),
                RenderedToken::Text(" ".into()),
                prop("Gone", "{Gone}", None),
            ]
        );
    }

    #[test]
    fn output_is_capped() {
        let p = props(r#"{"A":"x","U":"é"}"#);
        let out = render(&parse("{A,2000000000}"), &p, &[]);
        assert_eq!(out.len(), MAX_RENDERED_BYTES);
        let out = render(&parse("{A,-2000000000}"), &p, &[]);
        assert_eq!(out.len(), MAX_RENDERED_BYTES);
        let long = "{U}".repeat(10_000);
        let out = render(&parse(&long), &p, &[]);
        assert!(out.len() <= MAX_RENDERED_BYTES && out.len() > MAX_RENDERED_BYTES - 2);
        assert!(out.chars().all(|c| c == 'é'));
    }

    #[test]
    fn never_panics_on_random_templates() {
        let alphabet: Vec<char> = "{}@$,:-+.0123abc_ é✓#\t".chars().collect();
        let p = props(r#"{"a":1.5,"b":{"c":-2},"0":"z","abc":"s"}"#);
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 24) as usize;
            let mut s = String::new();
            let mut x = state;
            for _ in 0..len {
                s.push(alphabet[(x % alphabet.len() as u64) as usize]);
                x = x.rotate_right(5).wrapping_mul(0x2545_F491_4F6C_DD1D);
            }
            let tokens = parse(&s);
            // Round trip: concatenating text and raw holes gives the template, modulo escapes.
            let _ = render(&tokens, &p, &["r".into()]);
            let _ = render_tokens(&tokens, &p, &[]);
        }
    }
}
