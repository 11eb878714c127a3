//! Date/time parsing and formatting in .NET ticks, for the time functions.
//!
//! Seq's datetimes are `DateTime` ticks (100 ns since 0001-01-01 UTC), valid from year 1 to
//! 9999; durations are `TimeSpan` ticks. The calendar arithmetic is done here on integers
//! (proleptic Gregorian, as .NET does) so that every step is checked and nothing can panic;
//! jiff supplies only the time-zone database and the RFC 2822 / RFC 9557 fallbacks.

use std::fmt::Write;

use seqr_types::timestamp::{TICKS_PER_SECOND, UNIX_EPOCH_TICKS};

pub const TICKS_PER_MILLISECOND: i64 = 10_000;
pub const TICKS_PER_MINUTE: i64 = 60 * TICKS_PER_SECOND;
pub const TICKS_PER_HOUR: i64 = 60 * TICKS_PER_MINUTE;
pub const TICKS_PER_DAY: i64 = 24 * TICKS_PER_HOUR;
/// `DateTime.MaxValue.Ticks` (9999-12-31T23:59:59.9999999).
pub const MAX_TICKS: i64 = 3_155_378_975_999_999_999;
/// .NET's `DateTimeOffset` accepts offsets of at most 14 hours either way.
pub const MAX_OFFSET_TICKS: i64 = 14 * TICKS_PER_HOUR;

/// Days from 0001-01-01 to 1970-01-01.
const UNIX_EPOCH_DAYS: i64 = UNIX_EPOCH_TICKS / TICKS_PER_DAY;

/// A datetime's calendar fields (in whatever offset its ticks were shifted to).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: i64,
    pub minute: i64,
    pub second: i64,
    /// Ticks within the second, 0..10_000_000.
    pub subsecond: i64,
    /// .NET `DayOfWeek`: Sunday = 0.
    pub weekday: i64,
    /// 1-based.
    pub day_of_year: i64,
    /// Ticks since midnight.
    pub time_of_day: i64,
    /// Ticks of midnight at the start of the day.
    pub date: i64,
}

/// Splits valid datetime ticks into calendar fields; `None` outside year 1..=9999.
pub fn civil(ticks: i64) -> Option<Civil> {
    if !(0..=MAX_TICKS).contains(&ticks) {
        return None;
    }
    let days = ticks / TICKS_PER_DAY;
    let time_of_day = ticks % TICKS_PER_DAY;
    let (year, month, day) = civil_from_days(days - UNIX_EPOCH_DAYS);
    let day_of_year = days - (days_from_civil(year, 1, 1) + UNIX_EPOCH_DAYS) + 1;
    Some(Civil {
        year,
        month,
        day,
        hour: time_of_day / TICKS_PER_HOUR,
        minute: time_of_day % TICKS_PER_HOUR / TICKS_PER_MINUTE,
        second: time_of_day % TICKS_PER_MINUTE / TICKS_PER_SECOND,
        subsecond: time_of_day % TICKS_PER_SECOND,
        // 0001-01-01 was a Monday.
        weekday: (days + 1) % 7,
        day_of_year,
        time_of_day,
        date: days * TICKS_PER_DAY,
    })
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let (m, d) = (i64::from(month), i64::from(day));
    let y = if m <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        _ => 28,
    }
}

/// Ticks of midnight on a date, if the date exists and is within year 1..=9999.
pub fn date_ticks(year: i64, month: u32, day: u32) -> Option<i64> {
    if !(1..=9999).contains(&year) || !(1..=12).contains(&month) {
        return None;
    }
    if day == 0 || day > days_in_month(year, month) {
        return None;
    }
    (days_from_civil(year, month, day) + UNIX_EPOCH_DAYS).checked_mul(TICKS_PER_DAY)
}

/// A byte cursor for the hand-written parsers: they accept more spellings than jiff's
/// (`+10`, a space before the offset, one-digit months) and never allocate.
struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn new(s: &'a str) -> Cursor<'a> {
        Cursor {
            s: s.as_bytes(),
            i: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn eat_any(&mut self, options: &[u8]) -> Option<u8> {
        let b = self.peek().filter(|b| options.contains(b))?;
        self.i += 1;
        Some(b)
    }

    fn skip_spaces(&mut self) -> bool {
        let start = self.i;
        while self.eat(b' ') {}
        self.i > start
    }

    fn done(&self) -> bool {
        self.i == self.s.len()
    }

    /// Between `min` and `max` ASCII digits, with the count read.
    fn digits(&mut self, min: usize, max: usize) -> Option<(i64, usize)> {
        let start = self.i;
        let mut n: i64 = 0;
        while self.i - start < max {
            match self.peek() {
                Some(b @ b'0'..=b'9') => {
                    n = n.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
                    self.i += 1;
                }
                _ => break,
            }
        }
        let count = self.i - start;
        (count >= min).then_some((n, count))
    }

    /// A fraction's digits as ticks: the first seven count, later ones are truncated.
    fn fraction_ticks(&mut self) -> Option<i64> {
        let start = self.i;
        let mut ticks = 0;
        while let Some(b @ b'0'..=b'9') = self.peek() {
            if self.i - start < 7 {
                ticks = ticks * 10 + i64::from(b - b'0');
            }
            self.i += 1;
        }
        let count = self.i - start;
        if count == 0 {
            return None;
        }
        Some(ticks * 10_i64.pow(7 - count.min(7) as u32))
    }
}

/// Parses a datetime string to UTC ticks.
///
/// Accepted: `yyyy-M-d` or `yyyy/M/d` or `M/d/yyyy` (the invariant culture's order), then
/// optionally `T` or spaces and `H:mm[:ss[.f…]]` (beyond 7 fractional digits truncated),
/// then optionally (after optional spaces) `Z`, `UTC`, `GMT`, `±hh`, `±hhmm` or `±hh:mm`.
/// No offset means UTC, as on a server running in UTC. RFC 2822 (`Sat, 21 Mar 2020
/// 14:00:00 GMT`) and RFC 9557 (`…[Australia/Brisbane]`) texts are parsed by jiff.
pub fn parse_datetime(text: &str) -> Option<i64> {
    let text = text.trim();
    parse_iso_like(text).or_else(|| parse_with_jiff(text))
}

fn parse_iso_like(text: &str) -> Option<i64> {
    let mut c = Cursor::new(text);
    let (first, first_len) = c.digits(1, 4)?;
    let sep = c.eat_any(b"-/")?;
    let (year, month, day) = if first_len == 4 {
        let (month, _) = c.digits(1, 2)?;
        if !c.eat(sep) {
            return None;
        }
        let (day, _) = c.digits(1, 2)?;
        (first, month, day)
    } else if sep == b'/' && first_len <= 2 {
        let (day, _) = c.digits(1, 2)?;
        if !c.eat(b'/') {
            return None;
        }
        let (year, _) = c.digits(4, 4)?;
        (year, first, day)
    } else {
        return None;
    };
    let date = date_ticks(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)?;
    let had_space = c.skip_spaces();
    if c.done() {
        return Some(date);
    }
    if !had_space && c.eat_any(b"Tt").is_none() {
        return None;
    }
    let (hour, _) = c.digits(1, 2)?;
    if !c.eat(b':') {
        return None;
    }
    let (minute, _) = c.digits(2, 2)?;
    let mut second = 0;
    let mut fraction = 0;
    if c.eat(b':') {
        second = c.digits(2, 2)?.0;
        if c.eat_any(b".,").is_some() {
            fraction = c.fraction_ticks()?;
        }
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let offset = parse_offset(&mut c)?;
    c.skip_spaces();
    if !c.done() {
        return None;
    }
    let local = date
        + hour * TICKS_PER_HOUR
        + minute * TICKS_PER_MINUTE
        + second * TICKS_PER_SECOND
        + fraction;
    let utc = local.checked_sub(offset)?;
    (0..=MAX_TICKS).contains(&utc).then_some(utc)
}

/// The optional zone designator after a time, in ticks east of UTC.
fn parse_offset(c: &mut Cursor<'_>) -> Option<i64> {
    c.skip_spaces();
    if c.done() {
        return Some(0);
    }
    if c.eat_any(b"Zz").is_some() {
        return Some(0);
    }
    let rest = c.s.get(c.i..)?;
    if rest.len() >= 3
        && (rest[..3].eq_ignore_ascii_case(b"UTC") || rest[..3].eq_ignore_ascii_case(b"GMT"))
    {
        c.i += 3;
        if c.done() || c.peek() == Some(b' ') {
            return Some(0);
        }
    }
    let sign = match c.eat_any(b"+-")? {
        b'-' => -1,
        _ => 1,
    };
    let (hours, _) = c.digits(2, 2)?;
    let mut minutes = 0;
    if c.eat(b':') {
        minutes = c.digits(2, 2)?.0;
    } else if let Some((m, _)) = c.digits(2, 2) {
        minutes = m;
    }
    let offset = hours * TICKS_PER_HOUR + minutes * TICKS_PER_MINUTE;
    (minutes < 60 && offset <= MAX_OFFSET_TICKS).then_some(sign * offset)
}

fn parse_with_jiff(text: &str) -> Option<i64> {
    let zoned = jiff::fmt::rfc2822::parse(text)
        .ok()
        .or_else(|| text.parse::<jiff::Zoned>().ok())?;
    from_jiff(zoned.timestamp())
}

/// UTC ticks of a jiff timestamp, if within year 1..=9999.
pub fn from_jiff(t: jiff::Timestamp) -> Option<i64> {
    let unix_ticks = i64::try_from(t.as_nanosecond().div_euclid(100)).ok()?;
    let ticks = unix_ticks.checked_add(UNIX_EPOCH_TICKS)?;
    (0..=MAX_TICKS).contains(&ticks).then_some(ticks)
}

/// A jiff timestamp for datetime ticks.
pub fn to_jiff(ticks: i64) -> Option<jiff::Timestamp> {
    let unix_ticks = i128::from(ticks.checked_sub(UNIX_EPOCH_TICKS)?);
    jiff::Timestamp::from_nanosecond(unix_ticks.checked_mul(100)?).ok()
}

/// The UTC offset, in ticks, of IANA zone `zone` at the instant `ticks`.
pub fn offset_in(zone: &str, ticks: i64) -> Option<i64> {
    if !(0..=MAX_TICKS).contains(&ticks) {
        return None;
    }
    // jiff caches parsed zones, so a per-event lookup is a map probe, not a TZif parse.
    let tz = jiff::tz::db().get(zone).ok()?;
    let offset = tz.to_offset(to_jiff(ticks)?);
    Some(i64::from(offset.seconds()) * TICKS_PER_SECOND)
}

/// .NET's round-trip (`o`) format of `ticks` shown at `offset_ticks` east of UTC, except that a
/// zero offset is written `Z`: `2020-03-21T04:00:00.0000000Z`, `2020-03-21T14:00:00.0000000+10:00`.
/// `None` when the offset is not whole minutes within ±14h or the local time leaves year
/// 1..=9999 (where .NET would throw).
pub fn format_iso(ticks: i64, offset_ticks: i64) -> Option<String> {
    if offset_ticks % TICKS_PER_MINUTE != 0 || offset_ticks.abs() > MAX_OFFSET_TICKS {
        return None;
    }
    if !(0..=MAX_TICKS).contains(&ticks) {
        return None;
    }
    let c = civil(ticks.checked_add(offset_ticks)?)?;
    let mut out = String::with_capacity(33);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}",
        c.year, c.month, c.day, c.hour, c.minute, c.second, c.subsecond
    );
    if offset_ticks == 0 {
        out.push('Z');
    } else {
        let sign = if offset_ticks < 0 { '-' } else { '+' };
        let minutes = offset_ticks.abs() / TICKS_PER_MINUTE;
        let _ = write!(out, "{sign}{:02}:{:02}", minutes / 60, minutes % 60);
    }
    Some(out)
}

/// Parses .NET `TimeSpan` text to ticks: `[-]d`, `[-][d.]h:mm[:ss[.fffffff]]` or
/// `[-]d:hh:mm:ss[.fffffff]`, surrounded by optional spaces. Hours must be below 24,
/// minutes and seconds below 60, and at most 7 fractional digits, as `TimeSpan.Parse`
/// requires.
pub fn parse_timespan(text: &str) -> Option<i64> {
    let mut c = Cursor::new(text.trim());
    let negative = c.eat(b'-');
    let (first, _) = c.digits(1, 8)?;
    let (days, hours) = if c.done() {
        (first, None)
    } else if c.eat(b'.') {
        let (h, _) = c.digits(1, 2)?;
        (first, Some(h))
    } else {
        (0, Some(first))
    };
    let mut ticks = days.checked_mul(TICKS_PER_DAY)?;
    if let Some(mut hours) = hours {
        let mut days = days;
        if !c.eat(b':') {
            return None;
        }
        let (mut minutes, _) = c.digits(1, 2)?;
        let mut seconds = 0;
        let mut fraction = 0;
        if c.eat(b':') {
            seconds = c.digits(1, 2)?.0;
            if c.eat(b':') {
                // `d:hh:mm:ss`: what was read as hours and minutes were days and hours.
                if days != 0 {
                    return None;
                }
                (days, hours, minutes) = (hours, minutes, seconds);
                seconds = c.digits(1, 2)?.0;
            }
            if c.eat(b'.') {
                let start = c.i;
                fraction = c.fraction_ticks()?;
                if c.i - start > 7 {
                    return None;
                }
            }
        }
        if !c.done() || hours > 23 || minutes > 59 || seconds > 59 {
            return None;
        }
        ticks = days
            .checked_mul(TICKS_PER_DAY)?
            .checked_add(hours * TICKS_PER_HOUR + minutes * TICKS_PER_MINUTE)?
            .checked_add(seconds * TICKS_PER_SECOND + fraction)?;
    }
    Some(if negative { -ticks } else { ticks })
}

/// .NET's constant (`c`) `TimeSpan` format: `[-][d.]hh:mm:ss[.fffffff]`.
pub fn format_timespan(ticks: i64) -> String {
    let t = ticks.unsigned_abs();
    let per = |unit: i64| unit as u64;
    let days = t / per(TICKS_PER_DAY);
    let hours = t % per(TICKS_PER_DAY) / per(TICKS_PER_HOUR);
    let minutes = t % per(TICKS_PER_HOUR) / per(TICKS_PER_MINUTE);
    let seconds = t % per(TICKS_PER_MINUTE) / per(TICKS_PER_SECOND);
    let fraction = t % per(TICKS_PER_SECOND);
    let mut out = String::new();
    if ticks < 0 {
        out.push('-');
    }
    if days > 0 {
        let _ = write!(out, "{days}.");
    }
    let _ = write!(out, "{hours:02}:{minutes:02}:{seconds:02}");
    if fraction > 0 {
        let _ = write!(out, ".{fraction:07}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const T2020: i64 = 637_203_600_000_000_000; // 2020-03-21T04:00:00Z

    #[test]
    fn civil_round_trips_every_day_boundary() {
        assert_eq!(date_ticks(1, 1, 1), Some(0));
        assert_eq!(date_ticks(1970, 1, 1), Some(UNIX_EPOCH_TICKS));
        assert_eq!(
            date_ticks(9999, 12, 31),
            Some(MAX_TICKS + 1 - TICKS_PER_DAY)
        );
        assert_eq!(date_ticks(2021, 2, 29), None);
        assert_eq!(
            date_ticks(2020, 2, 29)
                .and_then(civil)
                .map(|c| c.day_of_year),
            Some(60)
        );
        for days in (0..3_652_059).step_by(997) {
            let c = civil(days * TICKS_PER_DAY).unwrap();
            assert_eq!(
                date_ticks(c.year, c.month, c.day),
                Some(days * TICKS_PER_DAY)
            );
        }
        let c = civil(T2020 + 123).unwrap();
        assert_eq!(
            (c.year, c.month, c.day, c.hour, c.subsecond),
            (2020, 3, 21, 4, 123)
        );
        assert_eq!(c.weekday, 6); // Saturday
        assert_eq!(civil(-1), None);
        assert_eq!(civil(MAX_TICKS + 1), None);
    }

    #[test]
    fn parses_datetimes() {
        let cases = [
            ("2020-03-21T04:00:00Z", T2020),
            ("2020-03-21 14:00:00 +10", T2020),
            ("2020-03-21T14:00:00+10:00", T2020),
            ("2020-03-21T14:00+1000", T2020),
            ("2020-03-20T23:00:00-05:00", T2020),
            ("2020-03-21T04:00:00", T2020),
            ("2020-03-21 04:00:00 UTC", T2020),
            ("  2020-03-21t04:00:00z ", T2020),
            ("2020-03-21", T2020 - 4 * TICKS_PER_HOUR),
            ("2020/3/21", T2020 - 4 * TICKS_PER_HOUR),
            ("03/21/2020 04:00:00", T2020),
            ("2020-03-21T04:00:00.1234567Z", T2020 + 1_234_567),
            ("2020-03-21T04:00:00.123456789Z", T2020 + 1_234_567),
            ("2020-03-21T04:00:00.5Z", T2020 + 5_000_000),
            ("Sat, 21 Mar 2020 04:00:00 GMT", T2020),
            ("2020-03-21T14:00:00+10:00[Australia/Brisbane]", T2020),
            ("0001-01-01T00:00:00Z", 0),
        ];
        for (text, ticks) in cases {
            assert_eq!(parse_datetime(text), Some(ticks), "{text}");
        }
        for bad in [
            "",
            "2020",
            "2020-13-01",
            "2020-02-30",
            "2020-03-21T25:00:00",
            "2020-03-21T04:00:00+15:00",
            "2020-03-21T04:00:00 nonsense",
            "2020-03-21T04",
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-01:00",
            "99999999999999999999-01-01",
        ] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_iso_with_seven_digits() {
        assert_eq!(
            format_iso(T2020, 0).unwrap(),
            "2020-03-21T04:00:00.0000000Z"
        );
        assert_eq!(
            format_iso(T2020 + 1, 10 * TICKS_PER_HOUR).unwrap(),
            "2020-03-21T14:00:00.0000001+10:00"
        );
        assert_eq!(
            format_iso(T2020, -(5 * TICKS_PER_HOUR + 30 * TICKS_PER_MINUTE)).unwrap(),
            "2020-03-20T22:30:00.0000000-05:30"
        );
        assert_eq!(format_iso(T2020, 1), None);
        assert_eq!(format_iso(T2020, 15 * TICKS_PER_HOUR), None);
        assert_eq!(format_iso(0, -TICKS_PER_HOUR), None);
        assert_eq!(format_iso(i64::MAX, 0), None);
    }

    #[test]
    fn timespans_round_trip() {
        let h1m30 = 54_000_000_000;
        assert_eq!(parse_timespan("01:30:00"), Some(h1m30));
        assert_eq!(parse_timespan("1:30"), Some(h1m30));
        assert_eq!(parse_timespan("2"), Some(2 * TICKS_PER_DAY));
        assert_eq!(
            parse_timespan("1.02:03:04.5"),
            Some(TICKS_PER_DAY + 2 * TICKS_PER_HOUR + 3 * TICKS_PER_MINUTE + 45_000_000)
        );
        assert_eq!(parse_timespan("1:02:03:04"), parse_timespan("1.02:03:04"));
        assert_eq!(parse_timespan("-00:00:01"), Some(-TICKS_PER_SECOND));
        assert_eq!(parse_timespan("00:00:00.0000001"), Some(1));
        for bad in [
            "",
            "24:00",
            "00:60",
            "00:00:00.12345678",
            "1.2",
            "x",
            "1:2:3:4:5",
            "-",
            "1.02:03:04:05",
        ] {
            assert_eq!(parse_timespan(bad), None, "{bad}");
        }
        assert_eq!(format_timespan(h1m30), "01:30:00");
        assert_eq!(format_timespan(0), "00:00:00");
        assert_eq!(format_timespan(-(TICKS_PER_DAY + 1)), "-1.00:00:00.0000001");
        assert_eq!(format_timespan(i64::MIN), "-10675199.02:48:05.4775808");
        for ticks in [1, h1m30, 3 * TICKS_PER_DAY + 17, -h1m30] {
            assert_eq!(parse_timespan(&format_timespan(ticks)), Some(ticks));
        }
    }

    #[test]
    fn offsets_come_from_the_tz_database() {
        assert_eq!(
            offset_in("Australia/Brisbane", T2020),
            Some(10 * TICKS_PER_HOUR)
        );
        assert_eq!(
            offset_in("Australia/Sydney", T2020),
            Some(11 * TICKS_PER_HOUR)
        );
        assert_eq!(offset_in("UTC", T2020), Some(0));
        assert_eq!(offset_in("Nowhere/Special", T2020), None);
        assert_eq!(offset_in("UTC", -1), None);
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(text in "\\PC{0,40}", digits in "[0-9:. +TZ/-]{0,30}") {
            let _ = parse_datetime(&text);
            let _ = parse_timespan(&text);
            let _ = parse_datetime(&digits);
            if let Some(t) = parse_timespan(&digits) {
                proptest::prop_assert_eq!(parse_timespan(&format_timespan(t)), Some(t));
            }
        }

        #[test]
        fn iso_output_parses_back(ticks in 0..=MAX_TICKS, minutes in -840_i64..=840) {
            let offset = minutes * TICKS_PER_MINUTE;
            if let Some(text) = format_iso(ticks, offset) {
                proptest::prop_assert_eq!(parse_datetime(&text), Some(ticks));
            }
        }
    }
}
