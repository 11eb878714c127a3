//! Leaf values of a column, typed so that each type gets its own encoding, and read back as
//! exactly the JSON that was sent (number text included).

use std::borrow::Cow;

use serde_json::{Number, Value};

/// Type codes, also the bit positions of a column's type mask.
pub(crate) const T_STR: u8 = 0;
pub(crate) const T_INT: u8 = 1;
pub(crate) const T_DEC: u8 = 2;
pub(crate) const T_BOOL: u8 = 3;
pub(crate) const T_NULL: u8 = 4;
/// Anything else, kept as JSON text: arrays, objects that are not flattened, numbers whose
/// text is not a plain integer or decimal (`1e3`, `-0.0`, more than 18 digits).
pub(crate) const T_JSON: u8 = 5;
pub(crate) const TYPES: u8 = 6;

/// One leaf value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Cell<'a> {
    Str(Cow<'a, str>),
    Int(i64),
    /// `mantissa / 10^scale`, with the scale kept so `1.50` reads back as `1.50`.
    Dec(i64, u8),
    Bool(bool),
    Null,
    /// JSON text.
    Json(Cow<'a, str>),
}

impl Cell<'_> {
    pub(crate) fn type_code(&self) -> u8 {
        match self {
            Cell::Str(_) => T_STR,
            Cell::Int(_) => T_INT,
            Cell::Dec(..) => T_DEC,
            Cell::Bool(_) => T_BOOL,
            Cell::Null => T_NULL,
            Cell::Json(_) => T_JSON,
        }
    }
}

/// Classifies a leaf (never called with an object that is to be flattened).
#[cfg(test)]
pub(crate) fn classify(v: &Value) -> Cell<'_> {
    match v {
        Value::String(s) => Cell::Str(Cow::Borrowed(s)),
        Value::Bool(b) => Cell::Bool(*b),
        Value::Null => Cell::Null,
        Value::Number(n) => number_or_json(n.as_str()),
        other => Cell::Json(Cow::Owned(other.to_string())),
    }
}

/// A number's text as an integer or decimal cell, or kept as JSON text.
pub(crate) fn number_or_json(text: &str) -> Cell<'_> {
    number_cell(text).unwrap_or(Cell::Json(Cow::Borrowed(text)))
}

/// Mantissas stay within 18 digits, so they fit an `i64` with room for the sign.
const MAX_DIGITS: usize = 18;

/// A number's text as an integer or decimal cell, if it reads back byte for byte.
pub(crate) fn number_cell(text: &str) -> Option<Cell<'static>> {
    let (neg, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let plain = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !plain(int) || (int.len() > 1 && int.starts_with('0')) {
        return None;
    }
    // At most 18 digits: the accumulation cannot overflow.
    let digits_value = |s: &str, acc: i64| s.bytes().fold(acc, |a, b| a * 10 + i64::from(b - b'0'));
    match frac {
        None => {
            if int.len() > MAX_DIGITS || (neg && int == "0") {
                return None;
            }
            let v = digits_value(int, 0);
            Some(Cell::Int(if neg { -v } else { v }))
        }
        Some(f) => {
            if !plain(f) || int.len() + f.len() > MAX_DIGITS {
                return None;
            }
            let m = digits_value(f, digits_value(int, 0));
            if neg && m == 0 {
                return None;
            }
            Some(Cell::Dec(if neg { -m } else { m }, f.len() as u8))
        }
    }
}

/// The text of a decimal cell: the digits of the mantissa with the point `scale` from the end.
pub(crate) fn decimal_text(mantissa: i64, scale: u8) -> String {
    let digits = mantissa.unsigned_abs().to_string();
    let scale = scale as usize;
    let padded = if digits.len() <= scale {
        format!("{}{digits}", "0".repeat(scale + 1 - digits.len()))
    } else {
        digits
    };
    let (i, f) = padded.split_at(padded.len() - scale);
    let sign = if mantissa < 0 { "-" } else { "" };
    if scale == 0 {
        format!("{sign}{i}")
    } else {
        format!("{sign}{i}.{f}")
    }
}

/// A JSON number from text known to be valid.
pub(crate) fn number(text: String) -> Value {
    Value::Number(Number::from_string_unchecked(text))
}

/// A stored JSON text back as a value.
pub(crate) fn parse_json(text: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|e| format!("bad JSON cell: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_back_exactly() {
        for text in [
            "0",
            "-1",
            "42",
            "123456789012345678",
            "0.5",
            "-0.5",
            "1.50",
            "33.6232",
            "0.000",
            "1670.54",
            "-12.0",
        ] {
            let back = match number_cell(text) {
                Some(Cell::Int(v)) => v.to_string(),
                Some(Cell::Dec(m, s)) => decimal_text(m, s),
                other => panic!("{text}: {other:?}"),
            };
            assert_eq!(back, text);
        }
        for text in [
            "-0",
            "-0.0",
            "1e3",
            "1.5E-7",
            "01",
            "1234567890123456789",
            "0.1234567890123456789",
            ".5",
            "5.",
        ] {
            assert_eq!(number_cell(text), None, "{text}");
        }
    }

    #[test]
    fn classify_keeps_text_of_unusual_numbers() {
        let v: Value = serde_json::from_str("[1e3, 123456789012345678901234567890]").unwrap();
        let Value::Array(items) = &v else { panic!() };
        // serde_json keeps the exponent as it normalises it; the cell keeps that text.
        assert_eq!(classify(&items[0]), Cell::Json(items[0].to_string().into()));
        assert_eq!(
            classify(&items[1]),
            Cell::Json("123456789012345678901234567890".into())
        );
        assert_eq!(classify(&v), Cell::Json(v.to_string().into()));
    }
}
