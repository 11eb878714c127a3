//! Shippers' clocks (Unix nanoseconds, Unix milliseconds) as .NET ticks, refusing instants
//! outside the years 0001-9999 that a tick timestamp can show.

use seqr_types::Timestamp;
use seqr_types::timestamp::{TICKS_PER_SECOND, UNIX_EPOCH_TICKS};

/// 9999-12-31T23:59:59.9999999Z, .NET's `DateTime.MaxValue`.
const MAX_TICKS: i128 = 3_155_378_975_999_999_999;

fn from_unix_ticks(unix_ticks: i128) -> Option<Timestamp> {
    let ticks = i128::from(UNIX_EPOCH_TICKS).checked_add(unix_ticks)?;
    (0..=MAX_TICKS)
        .contains(&ticks)
        .then(|| Timestamp::from_ticks(ticks as i64))
}

/// Unix nanoseconds, floored to the tick.
pub(crate) fn from_unix_nanos(nanos: i128) -> Option<Timestamp> {
    from_unix_ticks(nanos.div_euclid(100))
}

/// A protobuf `Timestamp`: seconds and nanoseconds (normally 0..1e9, taken as signed anyway).
pub(crate) fn from_seconds_nanos(seconds: i64, nanos: i32) -> Option<Timestamp> {
    let unix =
        i128::from(seconds) * i128::from(TICKS_PER_SECOND) + i128::from(nanos).div_euclid(100);
    from_unix_ticks(unix)
}

/// Unix milliseconds, possibly fractional (Elasticsearch's `epoch_millis`), as text.
pub(crate) fn from_unix_millis_text(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 20 || !all_digits(whole) || !all_digits(frac) {
        return None;
    }
    let millis: i128 = whole.parse().ok()?;
    // 10,000 ticks per millisecond: the first four fractional digits are ticks.
    let mut sub = 0i128;
    for (i, b) in frac.bytes().take(4).enumerate() {
        sub += i128::from(b - b'0') * 10i128.pow(3 - i as u32);
    }
    let ticks = millis * 10_000 + sub;
    from_unix_ticks(if negative { -ticks } else { ticks })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nanos_keep_tick_precision() {
        let t = from_unix_nanos(1_700_000_000_123_456_789).unwrap();
        assert_eq!(t.to_iso(), "2023-11-14T22:13:20.1234567Z");
        assert_eq!(from_unix_nanos(0).unwrap().ticks(), UNIX_EPOCH_TICKS);
        assert_eq!(from_unix_nanos(-100).unwrap().ticks(), UNIX_EPOCH_TICKS - 1);
        assert!(from_unix_nanos(i128::MAX).is_none());
        assert!(from_unix_nanos(-UNIX_EPOCH_TICKS as i128 * 100 - 100).is_none());
    }

    #[test]
    fn protobuf_timestamps() {
        let t = from_seconds_nanos(1_700_000_000, 123_456_789).unwrap();
        assert_eq!(t.to_iso(), "2023-11-14T22:13:20.1234567Z");
        assert!(from_seconds_nanos(i64::MAX, 0).is_none());
        assert!(from_seconds_nanos(i64::MIN, i32::MIN).is_none());
    }

    #[test]
    fn millis_with_fractions() {
        let t = from_unix_millis_text("1700000000123").unwrap();
        assert_eq!(t.to_iso(), "2023-11-14T22:13:20.1230000Z");
        let t = from_unix_millis_text("1700000000123.45678").unwrap();
        assert_eq!(t.to_iso(), "2023-11-14T22:13:20.1234567Z");
        assert_eq!(
            from_unix_millis_text("-1").unwrap().ticks(),
            UNIX_EPOCH_TICKS - 10_000
        );
        for bad in [
            "",
            "abc",
            "1e3",
            "12.3.4",
            "-",
            ".5",
            "123456789012345678901",
        ] {
            assert!(from_unix_millis_text(bad).is_none(), "{bad}");
        }
    }
}
