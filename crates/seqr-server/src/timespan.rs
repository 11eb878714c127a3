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
}
