//! GELF's `timestamp`: seconds since the Unix epoch with a decimal fraction, as a JSON number
//! or a string. Read from the number's text (the workspace's serde_json keeps it), never
//! through an `f64`: `1795563659.3290102` is 1.6e9 s with 7 fractional digits, more than a
//! double holds exactly, and a tick (100 ns) is the unit Seq keeps.

use seqr_types::Timestamp;
use seqr_types::timestamp::UNIX_EPOCH_TICKS;
use serde_json::Value;

/// Ticks from the Unix epoch to 9999-12-30T22:00:00.9999999Z, the last instant seqr can
/// print (its ISO formatting goes through jiff, whose range ends there, a day short of .NET's
/// `DateTime.MaxValue`).
const MAX_UNIX_TICKS: u128 = 253_402_207_200 * 10_000_000 + 9_999_999;

/// What a `timestamp` member says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Seconds {
    /// A usable instant.
    At(Timestamp),
    /// Absent, `null`, unreadable or past the end of year 9999: the caller uses its clock, as sqelf does.
    Unusable,
}

/// Reads a `timestamp` member: a decimal number of seconds (number or numeric string), or, as
/// a courtesy sqelf does not extend, an ISO 8601 string. Instants before 1970 are clamped to
/// the epoch, as sqelf does.
pub(crate) fn read(value: Option<&Value>) -> Seconds {
    let text = match value {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        _ => return Seconds::Unusable,
    };
    match unix_ticks(&text) {
        Some((true, _)) => Seconds::At(Timestamp::from_ticks(UNIX_EPOCH_TICKS)),
        Some((false, ticks)) if ticks <= MAX_UNIX_TICKS => {
            // In range by the check above, so the cast cannot wrap.
            Seconds::At(Timestamp::from_ticks(UNIX_EPOCH_TICKS + ticks as i64))
        }
        Some(_) => Seconds::Unusable,
        None => Timestamp::parse(&text).map_or(Seconds::Unusable, Seconds::At),
    }
}

/// A decimal number of seconds (`-12.5`, `1.7e9`, `+3`) as (negative, ticks), truncated to the
/// tick; `None` when `text` is not such a number. Magnitudes past any date saturate.
fn unix_ticks(text: &str) -> Option<(bool, u128)> {
    let text = text.trim();
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(at) => (&rest[..at], Some(&rest[at + 1..])),
        None => (rest, None),
    };
    let (int_part, frac_part) = match mantissa.split_once('.') {
        Some((i, f)) => (i, f),
        None => (mantissa, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int_part.is_empty() && frac_part.is_empty()
        || !all_digits(int_part)
        || !all_digits(frac_part)
    {
        return None;
    }
    let exponent: i64 = match exponent {
        None => 0,
        Some(e) => {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !all_digits(digits) {
                return None;
            }
            // Past +-10^6 every value is beyond any date or below a tick either way.
            let significant = digits.trim_start_matches('0');
            let magnitude = if significant.len() > 7 {
                1_000_000
            } else {
                significant.parse::<i64>().unwrap_or(0).min(1_000_000)
            };
            if e.starts_with('-') {
                -magnitude
            } else {
                magnitude
            }
        }
    };
    // The digits without the point; after the exponent, `point` digits are whole seconds.
    let digits: Vec<u8> = int_part
        .bytes()
        .chain(frac_part.bytes())
        .map(|b| b - b'0')
        .collect();
    let Some(first) = digits.iter().position(|&d| d != 0) else {
        return Some((false, 0));
    };
    let first = first as i64;
    // Ticks are the digits up to 7 places after the point, read as one integer.
    let end = int_part.len() as i64 + exponent + 7;
    if end <= first {
        return Some((false, 0)); // below one tick
    }
    if end - first > 20 {
        return Some((negative, u128::MAX)); // 10^20 ticks and more: past year 9999
    }
    let mut ticks: u128 = 0;
    for i in first..end {
        let digit = usize::try_from(i)
            .ok()
            .and_then(|i| digits.get(i))
            .copied()
            .unwrap_or(0);
        ticks = ticks * 10 + u128::from(digit);
    }
    Some((negative, ticks))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(value: Value) -> String {
        match read(Some(&value)) {
            Seconds::At(t) => t.to_iso(),
            Seconds::Unusable => "unusable".into(),
        }
    }

    fn number(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn float_seconds_keep_every_tick() {
        assert_eq!(
            iso(number("1795563659.3290102")),
            "2026-11-24T23:40:59.3290102Z"
        );
        assert_eq!(
            iso(number("1385053862.3072")),
            "2013-11-21T17:11:02.3072000Z"
        );
        assert_eq!(iso(number("1385053862")), "2013-11-21T17:11:02.0000000Z");
        // Beyond 7 digits is truncated, not rounded.
        assert_eq!(
            iso(number("1385053862.99999999")),
            "2013-11-21T17:11:02.9999999Z"
        );
        assert_eq!(
            iso(number("1.3850538623072e9")),
            "2013-11-21T17:11:02.3072000Z"
        );
        assert_eq!(
            iso(number("13850538623072E-4")),
            "2013-11-21T17:11:02.3072000Z"
        );
        assert_eq!(iso(number("0")), "1970-01-01T00:00:00.0000000Z");
        assert_eq!(iso(number("0.0000001")), "1970-01-01T00:00:00.0000001Z");
        assert_eq!(iso(number("1e-300")), "1970-01-01T00:00:00.0000000Z");
    }

    #[test]
    fn strings_are_read_as_numbers_or_iso() {
        assert_eq!(
            iso(Value::String("1385053862.3072".into())),
            "2013-11-21T17:11:02.3072000Z"
        );
        assert_eq!(
            iso(Value::String(" +1385053862.5 ".into())),
            "2013-11-21T17:11:02.5000000Z"
        );
        assert_eq!(
            iso(Value::String("2013-11-21T17:11:02.3072Z".into())),
            "2013-11-21T17:11:02.3072000Z"
        );
        assert_eq!(
            iso(Value::String(".5".into())),
            "1970-01-01T00:00:00.5000000Z"
        );
        for bad in [
            "",
            "yesterday",
            "1.2.3",
            "1e",
            "e5",
            "-",
            ".",
            "NaN",
            "inf",
            "1_000",
        ] {
            assert_eq!(iso(Value::String(bad.into())), "unusable", "{bad}");
        }
    }

    #[test]
    fn out_of_range_is_clamped_or_unusable() {
        // Before 1970: the epoch, as sqelf.
        assert_eq!(iso(number("-1.5")), "1970-01-01T00:00:00.0000000Z");
        assert_eq!(iso(number("-1e300")), "1970-01-01T00:00:00.0000000Z");
        assert_eq!(iso(number("-0.0")), "1970-01-01T00:00:00.0000000Z");
        // The last representable tick, and one past it.
        assert_eq!(
            iso(number("253402207200.9999999")),
            "9999-12-30T22:00:00.9999999Z"
        );
        assert_eq!(iso(number("253402207201")), "unusable");
        assert_eq!(iso(number("1e300")), "unusable");
        assert_eq!(iso(number("1e1000000000")), "unusable");
        assert_eq!(
            iso(number("99999999999999999999999999999999999999999999")),
            "unusable"
        );
        for other in [
            Value::Null,
            Value::Bool(true),
            serde_json::json!([1]),
            serde_json::json!({}),
        ] {
            assert_eq!(iso(other), "unusable");
        }
        assert_eq!(read(None), Seconds::Unusable);
    }
}
