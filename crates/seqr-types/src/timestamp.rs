//! Timestamps as .NET ticks: 100 ns units since 0001-01-01T00:00:00Z.
//!
//! Seq clients send 7 fractional digits and the query language does arithmetic in ticks, so the
//! tick is the storage unit; nothing finer is ever needed and nothing coarser is acceptable.

use std::fmt;

/// A point in time in .NET ticks (UTC).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// Ticks at 1970-01-01T00:00:00Z.
pub const UNIX_EPOCH_TICKS: i64 = 621_355_968_000_000_000;
/// Ticks per second.
pub const TICKS_PER_SECOND: i64 = 10_000_000;

/// A timestamp string that is not ISO 8601 / RFC 3339.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampError {
    text: String,
}

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not an ISO 8601 timestamp such as 2026-01-31T12:00:00.000Z",
            self.text.chars().take(64).collect::<String>()
        )
    }
}

impl std::error::Error for TimestampError {}

impl Timestamp {
    /// From raw ticks.
    pub const fn from_ticks(ticks: i64) -> Timestamp {
        Timestamp(ticks)
    }

    /// Raw ticks.
    pub const fn ticks(self) -> i64 {
        self.0
    }

    /// The current time.
    pub fn now() -> Timestamp {
        Timestamp::from_jiff(jiff::Timestamp::now())
    }

    fn from_jiff(t: jiff::Timestamp) -> Timestamp {
        let ns = t.as_nanosecond();
        // Floor division keeps pre-1970 instants correct.
        Timestamp(UNIX_EPOCH_TICKS + ns.div_euclid(100) as i64)
    }

    fn to_jiff(self) -> Option<jiff::Timestamp> {
        let unix_ticks = i128::from(self.0 - UNIX_EPOCH_TICKS);
        jiff::Timestamp::from_nanosecond(unix_ticks * 100).ok()
    }

    /// Parses ISO 8601 with an offset (`Z`, `+10:00`), a `T` or a space between date and time,
    /// and any number of fractional digits (beyond 7 are truncated). Without an offset the time
    /// is taken as UTC, as a server in UTC would read it.
    pub fn parse(text: &str) -> Result<Timestamp, TimestampError> {
        let err = || TimestampError {
            text: text.to_owned(),
        };
        let trimmed = text.trim();
        if trimmed.len() < 10 || !trimmed.as_bytes()[0].is_ascii_digit() {
            return Err(err());
        }
        if let Ok(t) = trimmed.parse::<jiff::Timestamp>() {
            return Ok(Timestamp::from_jiff(t));
        }
        let civil: jiff::civil::DateTime = trimmed.parse().map_err(|_| err())?;
        let zoned = civil.to_zoned(jiff::tz::TimeZone::UTC).map_err(|_| err())?;
        Ok(Timestamp::from_jiff(zoned.timestamp()))
    }

    /// ISO 8601 in UTC with all 7 fractional digits and `Z`, as Seq's API writes it.
    pub fn to_iso(self) -> String {
        let Some(t) = self.to_jiff() else {
            return String::from("0001-01-01T00:00:00.0000000Z");
        };
        let frac = (self.0 - UNIX_EPOCH_TICKS).rem_euclid(TICKS_PER_SECOND);
        format!("{}.{frac:07}Z", t.strftime("%Y-%m-%dT%H:%M:%S"))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_iso())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_client_spelling() {
        let cases = [
            ("2026-11-24T23:40:30.448Z", "2026-11-24T23:40:30.4480000Z"),
            (
                "2026-11-24T23:40:50.850723+00:00",
                "2026-11-24T23:40:50.8507230Z",
            ),
            (
                "2026-11-24 23:33:30.077637+00:00",
                "2026-11-24T23:33:30.0776370Z",
            ),
            (
                "2024-04-26T01:46:04.8772700Z",
                "2024-04-26T01:46:04.8772700Z",
            ),
            (
                "2024-04-26T11:46:04.1234567+10:00",
                "2024-04-26T01:46:04.1234567Z",
            ),
            ("2024-04-26T01:46:04Z", "2024-04-26T01:46:04.0000000Z"),
            (
                "2024-04-26T01:46:04.123456789Z",
                "2024-04-26T01:46:04.1234567Z",
            ),
            ("2024-04-26T01:46:04", "2024-04-26T01:46:04.0000000Z"),
        ];
        for (input, iso) in cases {
            assert_eq!(Timestamp::parse(input).unwrap().to_iso(), iso, "{input}");
        }
    }

    #[test]
    fn ticks_match_dotnet() {
        // DateTime(2020,1,1,0,0,0,UTC).Ticks in .NET
        assert_eq!(
            Timestamp::parse("2020-01-01T00:00:00Z").unwrap().ticks(),
            637_134_336_000_000_000
        );
        assert_eq!(
            Timestamp::parse("1970-01-01T00:00:00Z").unwrap().ticks(),
            UNIX_EPOCH_TICKS
        );
        assert_eq!(
            Timestamp::parse("1969-12-31T23:59:59.9999999Z")
                .unwrap()
                .ticks(),
            UNIX_EPOCH_TICKS - 1
        );
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "yesterday",
            "12",
            "2024-13-01T00:00:00Z",
            "2024-01-01T25:00:00Z",
            "  ",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
    }
}
