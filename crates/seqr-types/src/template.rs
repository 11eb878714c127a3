//! Message templates (messagetemplates.org): parsing and Seq-style rendering.
//!
//! Parsing follows Serilog's `MessageTemplateParser` and never fails: anything that is not a
//! valid hole is literal text, because many clients send already-rendered text (JSON, Python
//! dict reprs) as `@mt`. Rendering follows Seq (seq-compat 1.11): strings unquoted, missing
//! properties shown as the raw hole, dotted names as paths, `@r` used for formatted holes.

use crate::{Properties, Value};

/// The longest message [`render`] produces, in bytes, so a small template with a huge
/// alignment or property cannot amplify into a huge message.
pub const MAX_RENDERED_BYTES: usize = 16 * 1024;

/// One piece of a parsed template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Token {
    /// Literal text (`{{`/`}}` already unescaped).
    Text(String),
    /// A property hole.
    Hole(Hole),
}

/// How the client was asked to capture a hole's value (`@` or `$` before the name).
///
/// Seq renders all three the same way; the hint is kept so templates round-trip.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Capture {
    /// No hint: scalars as-is, other objects via `ToString()`.
    #[default]
    Default,
    /// `@`: captured as a structure.
    Destructure,
    /// `$`: captured as a string.
    Stringify,
}

/// A `{...}` hole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hole {
    /// The hole exactly as written, e.g. `{Elapsed,8:0.00}`.
    pub raw: String,
    /// Property name or dotted path, e.g. `User.Email`, or a positional `0`.
    pub name: String,
    /// The `@`/`$` hint.
    pub capture: Capture,
    /// Alignment: positive right-aligns, negative left-aligns; never zero.
    pub alignment: Option<i32>,
    /// Format specifier after `:` (`None` also for an empty one, as in `{A:}`).
    pub format: Option<String>,
}

impl Hole {
    /// Whether the name is all digits (`{0}`), as .NET `string.Format`-style templates use.
    pub fn is_positional(&self) -> bool {
        self.name.bytes().all(|b| b.is_ascii_digit())
    }
}

/// A token of a rendered template, as the API's `MessageTemplateTokens` lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RenderedToken {
    /// Literal text.
    Text(String),
    /// A hole with its rendering.
    Property {
        /// The property name or path.
        name: String,
        /// The hole as written, e.g. `{Elapsed:0.00}`.
        raw_text: String,
        /// The rendered value (aligned), or `None` when the property is missing.
        formatted: Option<String>,
    },
}

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

/// Renders a parsed template against properties, using `renderings` (`@r`) for formatted holes
/// when their count matches. The result is capped at [`MAX_RENDERED_BYTES`].
pub fn render(tokens: &[Token], properties: &Properties, renderings: &[String]) -> String {
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
                match lookup(properties, &hole.name) {
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

/// Appends a value formatted per the hole's format (or its `@r` rendering) and alignment.
fn write_value(out: &mut String, hole: &Hole, value: &Value, rendering: Option<&str>) {
    let start = out.len();
    match (rendering, value) {
        (Some(r), _) => out.push_str(r),
        (None, Value::String(s)) => out.push_str(s),
        (None, Value::Number(n)) => {
            let text = n.as_str();
            match hole.format.as_deref().and_then(|f| number::format(text, f)) {
                Some(s) => out.push_str(&s),
                None => out.push_str(text),
            }
        }
        (None, Value::Bool(true)) => out.push_str("True"),
        (None, Value::Bool(false)) => out.push_str("False"),
        (None, Value::Null) => out.push_str("null"),
        (None, other) => out.push_str(&serde_json::to_string(other).unwrap_or_default()),
    }
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

/// .NET-style numeric format strings applied to a JSON number's exact text, in decimal
/// arithmetic (no binary floating point), rounding half away from zero as .NET does.
mod number {
    /// Beyond this many digits either side of the point we fall back to the JSON text, so a
    /// `1e999999` with `F2` cannot amplify.
    const MAX_MAGNITUDE: i64 = 400;
    /// Largest precision honoured (`F99`); larger ones fall back to the JSON text.
    const MAX_PRECISION: usize = 99;

    /// A decimal number: `0.d1d2d3... × 10^point`, digits without leading/trailing zeros.
    #[derive(Clone, Debug)]
    struct Decimal {
        negative: bool,
        digits: Vec<u8>,
        point: i64,
    }

    impl Decimal {
        fn parse(text: &str) -> Option<Decimal> {
            let (negative, rest) = match text.strip_prefix('-') {
                Some(r) => (true, r),
                None => (false, text),
            };
            let (mantissa, exponent) = match rest.find(['e', 'E']) {
                Some(i) => (&rest[..i], rest[i + 1..].parse::<i64>().ok()?),
                None => (rest, 0),
            };
            let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
            if int.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
                return None;
            }
            if exponent.abs() > MAX_MAGNITUDE || int.len() as i64 > MAX_MAGNITUDE {
                return None;
            }
            let mut digits: Vec<u8> = int.bytes().chain(frac.bytes()).map(|b| b - b'0').collect();
            let mut point = int.len() as i64 + exponent;
            let leading = digits.iter().take_while(|&&d| d == 0).count();
            digits.drain(..leading);
            point -= leading as i64;
            while digits.last() == Some(&0) {
                digits.pop();
            }
            if digits.is_empty() {
                point = 0;
            }
            Some(Decimal {
                negative,
                digits,
                point,
            })
        }

        fn is_zero(&self) -> bool {
            self.digits.is_empty()
        }

        fn is_integer(&self) -> bool {
            self.digits.len() as i64 <= self.point || self.is_zero()
        }

        /// Rounds (half away from zero) keeping the first `keep` digits.
        fn round_at(&self, keep: i64) -> Decimal {
            let mut r = self.clone();
            if keep < 0 {
                r.digits.clear();
            } else if (keep as usize) < r.digits.len() {
                let keep = keep as usize;
                let up = r.digits[keep] >= 5;
                r.digits.truncate(keep);
                if up {
                    let mut i = keep;
                    loop {
                        if i == 0 {
                            r.digits.insert(0, 1);
                            r.point += 1;
                            break;
                        }
                        i -= 1;
                        if r.digits[i] == 9 {
                            r.digits[i] = 0;
                        } else {
                            r.digits[i] += 1;
                            break;
                        }
                    }
                }
            }
            while r.digits.last() == Some(&0) {
                r.digits.pop();
            }
            if r.digits.is_empty() {
                r.point = 0;
            }
            r
        }

        fn round_frac(&self, frac: usize) -> Decimal {
            self.round_at(self.point + frac as i64)
        }

        fn digit(&self, index: i64) -> char {
            if index < 0 || index >= self.digits.len() as i64 {
                '0'
            } else {
                char::from(b'0' + self.digits[index as usize])
            }
        }

        /// Integer-part digits, empty for a value below one.
        fn int_digits(&self) -> String {
            (0..self.point.max(0)).map(|i| self.digit(i)).collect()
        }

        /// Exactly `n` fraction digits.
        fn frac_digits(&self, n: usize) -> String {
            (0..n as i64).map(|j| self.digit(self.point + j)).collect()
        }

        fn sign(&self) -> &'static str {
            if self.negative && !self.is_zero() {
                "-"
            } else {
                ""
            }
        }

        fn as_i128(&self) -> Option<i128> {
            if !self.is_integer() || self.point > 38 {
                return None;
            }
            let magnitude: i128 = self.int_digits().parse().unwrap_or(0);
            Some(if self.negative { -magnitude } else { magnitude })
        }
    }

    fn group(int: &str) -> String {
        let mut out = String::with_capacity(int.len() + int.len() / 3);
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    }

    fn fixed(d: &Decimal, frac: usize, grouped: bool) -> String {
        let r = d.round_frac(frac);
        let mut int = r.int_digits();
        if int.is_empty() {
            int.push('0');
        }
        if grouped {
            int = group(&int);
        }
        let mut out = format!("{}{int}", r.sign());
        if frac > 0 {
            out.push('.');
            out.push_str(&r.frac_digits(frac));
        }
        out
    }

    /// `d.dddE+xxx` with `frac` mantissa fraction digits and at least `exp_digits` exponent
    /// digits; `trim` drops trailing mantissa zeros (as `G` does).
    fn scientific(d: &Decimal, frac: usize, e: char, exp_digits: usize, trim: bool) -> String {
        let r = d.round_at(frac as i64 + 1);
        let exponent = if r.is_zero() { 0 } else { r.point - 1 };
        let mut mantissa: String = (0..=frac as i64).map(|i| r.digit(i)).collect();
        if trim {
            while mantissa.len() > 1 && mantissa.ends_with('0') {
                mantissa.pop();
            }
        }
        if mantissa.len() > 1 {
            mantissa.insert(1, '.');
        }
        let sign = if exponent < 0 { '-' } else { '+' };
        format!(
            "{}{mantissa}{e}{sign}{:0exp_digits$}",
            r.sign(),
            exponent.abs()
        )
    }

    /// `G` with a precision: `n` significant digits, fixed unless the exponent is out of range.
    fn general(d: &Decimal, n: usize, e: char) -> String {
        let r = d.round_at(n as i64);
        let exponent = if r.is_zero() { 0 } else { r.point - 1 };
        if exponent > -5 && exponent < n as i64 {
            let frac = (r.digits.len() as i64 - r.point).max(0) as usize;
            fixed(&r, frac, false)
        } else {
            scientific(&r, n.saturating_sub(1), e, 2, true)
        }
    }

    fn hex(d: &Decimal, width: usize, upper: bool) -> Option<String> {
        let v = d.as_i128()?;
        let bits: u64 = if v >= 0 {
            u64::try_from(v).ok()?
        } else if v >= i128::from(i32::MIN) {
            u64::from(v as i32 as u32)
        } else if v >= i128::from(i64::MIN) {
            v as i64 as u64
        } else {
            return None;
        };
        Some(if upper {
            format!("{bits:0width$X}")
        } else {
            format!("{bits:0width$x}")
        })
    }

    fn standard(d: &Decimal, letter: char, precision: Option<usize>) -> Option<String> {
        if precision.is_some_and(|p| p > MAX_PRECISION) {
            return None;
        }
        Some(match letter {
            'F' | 'f' => fixed(d, precision.unwrap_or(2), false),
            'N' | 'n' => fixed(d, precision.unwrap_or(2), true),
            'P' | 'p' => {
                let mut scaled = d.clone();
                if !scaled.is_zero() {
                    scaled.point += 2;
                }
                format!("{} %", fixed(&scaled, precision.unwrap_or(2), true))
            }
            'E' | 'e' => scientific(d, precision.unwrap_or(6), letter, 3, false),
            'D' | 'd' if d.is_integer() => {
                let digits = d.int_digits();
                let digits = if digits.is_empty() {
                    "0".into()
                } else {
                    digits
                };
                format!(
                    "{}{digits:0>width$}",
                    d.sign(),
                    width = precision.unwrap_or(0)
                )
            }
            'X' | 'x' => hex(d, precision.unwrap_or(0), letter == 'X')?,
            'G' | 'g' => match precision {
                Some(n) if n > 0 => general(d, n, if letter == 'G' { 'E' } else { 'e' }),
                _ => return None, // default formatting is already the shortest round-trip form
            },
            _ => return None, // `C`, `R`, unknown letters: default formatting
        })
    }

    /// Custom formats made of `0`, `#`, `,` (grouping) and one `.`, e.g. `0.00`, `#,##0`.
    fn custom(d: &Decimal, format: &str) -> Option<String> {
        if !format
            .bytes()
            .all(|b| matches!(b, b'0' | b'#' | b'.' | b','))
            || !format.bytes().any(|b| matches!(b, b'0' | b'#'))
        {
            return None;
        }
        let (int_pattern, frac_pattern) = format.split_once('.').unwrap_or((format, ""));
        // A trailing comma scales by 1000 and commas after the point are literals: unsupported.
        if int_pattern.ends_with(',') || frac_pattern.contains(['.', ',']) {
            return None;
        }
        let grouped = int_pattern.contains(',');
        let placeholders: Vec<u8> = int_pattern.bytes().filter(|&b| b != b',').collect();
        let min_int = placeholders
            .iter()
            .position(|&b| b == b'0')
            .map_or(0, |i| placeholders.len() - i);
        let max_frac = frac_pattern.len();
        let min_frac = frac_pattern.rfind('0').map_or(0, |i| i + 1);

        let r = d.round_frac(max_frac);
        let mut int = r.int_digits();
        if int.len() < min_int {
            int = format!("{int:0>min_int$}");
        }
        if grouped {
            int = group(&int);
        }
        let mut frac = r.frac_digits(max_frac);
        while frac.len() > min_frac && frac.ends_with('0') {
            frac.pop();
        }
        let mut out = format!("{}{int}", r.sign());
        if !frac.is_empty() {
            out.push('.');
            out.push_str(&frac);
        }
        Some(out)
    }

    /// Formats a JSON number's text; `None` means "use the text as is".
    pub(super) fn format(text: &str, format: &str) -> Option<String> {
        let d = Decimal::parse(text)?;
        let mut chars = format.chars();
        let first = chars.next()?;
        let rest = chars.as_str();
        if first.is_ascii_alphabetic() && rest.bytes().all(|b| b.is_ascii_digit()) {
            let precision = if rest.is_empty() {
                None
            } else {
                Some(rest.parse::<usize>().ok()?)
            };
            return standard(&d, first, precision);
        }
        custom(&d, format)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(json: &str) -> Properties {
        serde_json::from_str(json).unwrap()
    }

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
    fn number_formats() {
        let cases = [
            ("1234.5678", "F2", "1234.57"),
            ("1234.5678", "F", "1234.57"),
            ("1234.5", "F0", "1235"),
            ("-1234.5", "F0", "-1235"),
            ("2.5", "F0", "3"),
            ("-0.001", "F2", "0.00"),
            ("1e3", "F1", "1000.0"),
            ("1.5E-3", "F4", "0.0015"),
            ("9.999", "F2", "10.00"),
            ("0", "F2", "0.00"),
            ("1234567.891", "N", "1,234,567.89"),
            ("1234567.891", "N0", "1,234,568"),
            ("-1234567", "N1", "-1,234,567.0"),
            ("999.5", "N0", "1,000"),
            ("42", "D5", "00042"),
            ("-42", "D5", "-00042"),
            ("42", "D", "42"),
            ("0", "D3", "000"),
            ("42.5", "D5", "42.5"),
            ("123", "X8", "0000007B"),
            ("123", "x8", "0000007b"),
            ("255", "X", "FF"),
            ("-1", "X", "FFFFFFFF"),
            ("-4294967297", "x", "fffffffeffffffff"),
            ("1.5", "X", "1.5"),
            ("1234.5678", "E", "1.234568E+003"),
            ("1234.5678", "e2", "1.23e+003"),
            ("-0.00012", "E1", "-1.2E-004"),
            ("0", "E2", "0.00E+000"),
            ("0.1234", "P", "12.34 %"),
            ("0.5", "P0", "50 %"),
            ("1234.5678", "G4", "1235"),
            ("1234.5678", "G2", "1.2E+03"),
            ("0.000012345", "G3", "1.23E-05"),
            ("0.00012345", "G3", "0.000123"),
            ("1234.5678", "G", "1234.5678"),
            ("3.14159", "0.00", "3.14"),
            ("3.14159", "0.000", "3.142"),
            ("0.5", "0.00", "0.50"),
            ("1234567.5", "#,##0", "1,234,568"),
            ("1234567.5", "#,##0.00", "1,234,567.50"),
            ("0.5", "#.##", ".5"),
            ("1.5", "#.##", "1.5"),
            ("7", "000", "007"),
            ("1.25", "0.0#", "1.25"),
            ("1.2", "0.0#", "1.2"),
            ("-3.14159", "0.0", "-3.1"),
            ("-0.01", "0.0", "0.0"),
            ("12", "0,", "12"),
            ("12", "0.0,0", "12"),
            ("12", "C", "12"),
            ("12", "R", "12"),
            ("12", "F100", "12"),
            ("1e999999", "F2", "1e+999999"), // serde_json normalises `e` to `e+`
            ("12", "", "12"),
            (
                "99999999999999999999999999999",
                "F1",
                "99999999999999999999999999999.0",
            ),
        ];
        for (number, format, expected) in cases {
            let p = props(&format!(r#"{{"V":{number}}}"#));
            let template = format!("{{V:{format}}}");
            assert_eq!(
                render(&parse(&template), &p, &[]),
                expected,
                "{number} with {format}"
            );
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
}
