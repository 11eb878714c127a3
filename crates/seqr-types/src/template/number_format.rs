//! .NET-style numeric format strings applied to a JSON number's exact text, in decimal
//! arithmetic (no binary floating point), rounding half away from zero as .NET does.

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

/// Whether [`format`] (or its fallback, the number's own text) writes a plain integer or
/// decimal as at least one character, all digits, `-`, `.` and `,`: standard `P`, `E`, `X`
/// and `G` add other characters; a custom format of `#` placeholders alone can write nothing
/// (zero under `#.##`); other custom formats fall back to the text.
pub(super) fn writes_digits_only(format: &str) -> bool {
    let mut chars = format.chars();
    let Some(first) = chars.next() else {
        return true;
    };
    if first.is_ascii_alphabetic() && chars.as_str().bytes().all(|b| b.is_ascii_digit()) {
        return !matches!(first.to_ascii_uppercase(), 'P' | 'E' | 'X' | 'G');
    }
    let custom = format
        .bytes()
        .all(|b| matches!(b, b'0' | b'#' | b'.' | b','))
        && format.bytes().any(|b| matches!(b, b'0' | b'#'));
    !custom || format.contains('0')
}

#[cfg(test)]
mod tests {
    use crate::Properties;
    use crate::template::{parse, render};

    fn props(json: &str) -> Properties {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn digits_only_formats_write_only_digits_signs_points_and_commas() {
        let numbers = [
            "0",
            "42",
            "-42",
            "1234567.891",
            "-0.001",
            "0.001",
            "9.999",
            "123456789012345678",
        ];
        let digits = [
            "", "F2", "F", "f0", "N0", "N1", "D5", "D", "C", "R", "Z9", "0.00", "#,##0.00", "000",
            "0,", "0.0#", "00x", "0.#", "#.0", ".,",
        ];
        // Letters, signs, spaces or (for `#` alone) possibly nothing at all.
        let others = [
            "P", "P0", "E2", "e", "X8", "x", "G3", "g9", "#", "#.##", "#,#",
        ];
        for f in digits {
            assert!(super::writes_digits_only(f), "{f:?}");
            for n in numbers {
                let out = super::format(n, f).unwrap_or_else(|| n.to_owned());
                let plain = !out.is_empty()
                    && out
                        .bytes()
                        .all(|b| b.is_ascii_digit() || b"-.,".contains(&b));
                assert!(plain, "{n} with {f:?} gave {out:?}");
            }
        }
        for f in others {
            assert!(!super::writes_digits_only(f), "{f:?}");
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
}
