//! .NET `TimeSpan` text (`"00:00:00.0123456"`, `"1.02:03:04.0000000"`), which Seq's API uses for
//! durations.

/// Formats a duration in ticks (100 ns) the way .NET's `TimeSpan.ToString()` does.
pub(crate) fn format(ticks: i64) -> String {
    let sign = if ticks < 0 { "-" } else { "" };
    let t = ticks.unsigned_abs();
    let frac = t % 10_000_000;
    let total_seconds = t / 10_000_000;
    let (days, h, m, s) = (
        total_seconds / 86_400,
        total_seconds / 3600 % 24,
        total_seconds / 60 % 60,
        total_seconds % 60,
    );
    let day_part = if days > 0 {
        format!("{days}.")
    } else {
        String::new()
    };
    if frac == 0 {
        format!("{sign}{day_part}{h:02}:{m:02}:{s:02}")
    } else {
        format!("{sign}{day_part}{h:02}:{m:02}:{s:02}.{frac:07}")
    }
}

/// Parses .NET `TimeSpan` text into ticks, as `TimeSpan.Parse` accepts it: `[-]d`,
/// `[-][d.]hh:mm[:ss[.fffffff]]` or `[-]d:hh:mm:ss[.fffffff]`, hours below 24, minutes and
/// seconds below 60, one to seven fraction digits. `None` when the text is none of these or the
/// value does not fit.
pub(crate) fn parse(text: &str) -> Option<i64> {
    let t = text.trim();
    let (negative, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let number = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let parts: Vec<&str> = t.split(':').collect();
    let (days, hours, minutes, seconds) = match parts.as_slice() {
        [d] => (number(d)?, 0, 0, "0"),
        [dh, m] | [dh, m, _] => {
            let (d, h) = match dh.split_once('.') {
                Some((d, h)) => (number(d)?, number(h)?),
                None => (0, number(dh)?),
            };
            (d, h, number(m)?, parts.get(2).copied().unwrap_or("0"))
        }
        [d, h, m, s] => (number(d)?, number(h)?, number(m)?, *s),
        _ => return None,
    };
    let (whole, fraction) = match seconds.split_once('.') {
        Some((w, f)) if !f.is_empty() && f.len() <= 7 && f.bytes().all(|b| b.is_ascii_digit()) => {
            (number(w)?, format!("{f:0<7}").parse::<i64>().ok()?)
        }
        Some(_) => return None,
        None => (number(seconds)?, 0),
    };
    if hours >= 24 || minutes >= 60 || whole >= 60 {
        return None;
    }
    let ticks = days
        .checked_mul(864_000_000_000)?
        .checked_add(hours * 36_000_000_000 + minutes * 600_000_000 + whole * 10_000_000)?
        .checked_add(fraction)?;
    Some(if negative { -ticks } else { ticks })
}

#[cfg(test)]
mod tests {
    #[test]
    fn matches_dotnet() {
        assert_eq!(super::format(0), "00:00:00");
        assert_eq!(super::format(600_000_000), "00:01:00");
        assert_eq!(super::format(123_456), "00:00:00.0123456");
        assert_eq!(super::format(30 * 864_000_000_000), "30.00:00:00");
        assert_eq!(super::format(-36_790), "-00:00:00.0036790");
    }

    #[test]
    fn parses_what_dotnet_parses() {
        use super::parse;
        const DAY: i64 = 864_000_000_000;
        assert_eq!(parse("30.00:00:00"), Some(30 * DAY));
        assert_eq!(parse("7"), Some(7 * DAY));
        assert_eq!(parse(" 12:00 "), Some(DAY / 2));
        assert_eq!(parse("00:01:00"), Some(600_000_000));
        assert_eq!(parse("00:00:00.0123456"), Some(123_456));
        assert_eq!(parse("00:00:00.5"), Some(5_000_000));
        assert_eq!(parse("1.02:03:04.0000005"), Some(DAY + 73_840_000_005));
        assert_eq!(parse("1:02:03:04"), Some(DAY + 73_840_000_000));
        assert_eq!(parse("-00:00:01"), Some(-10_000_000));
        for t in [30 * DAY, 123_456, DAY + 1, 36_500 * DAY] {
            assert_eq!(parse(&super::format(t)), Some(t));
        }
        for bad in [
            "",
            "-",
            "x",
            "1.5",
            "24:00:00",
            "00:60:00",
            "00:00:60",
            "1.2.3:00",
            "00:00:00.",
            "00:00:00.12345678",
            "1:2:3:4:5",
            "+1",
            "1 day",
            "P30D",
            "99999999999999999999",
            "10675199.02:48:05.4775808",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
