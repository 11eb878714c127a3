//! Date, time and duration functions; all values are .NET ticks (see `crate::datetime`).

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::{Arg, CallContext, integer, num, number, string, text, value};
use crate::datetime::{
    self, TICKS_PER_DAY, TICKS_PER_HOUR, TICKS_PER_MILLISECOND, civil, format_iso, format_timespan,
    parse_datetime, parse_timespan,
};
use crate::value::{Eval, Value};

pub(super) fn now(_: &[Arg], ctx: &CallContext) -> Eval {
    num(ctx.now_ticks)
}

/// `DateTime(s)` (and `UtcDateTime`): parses a date/time string to UTC ticks; a number is
/// taken to be ticks already and returned unchanged.
pub(super) fn date_time(args: &[Arg], _: &CallContext) -> Eval {
    match value(args, 0)? {
        Value::String(s) => num(parse_datetime(s)?),
        Value::Number(n) => num(*n),
        _ => None,
    }
}

/// An optional offset argument in ticks: missing or null is UTC.
fn offset_ticks(args: &[Arg], i: usize) -> Option<i64> {
    match value(args, i) {
        None | Some(Value::Null) => Some(0),
        Some(_) => integer(args, i),
    }
}

/// `DatePart(datetime, part, offset)`: a calendar field of `datetime` seen at `offset` ticks
/// east of UTC (default 0). Parts (any case): `year`, `month`, `day`, `hour`, `minute`,
/// `second`, `millisecond`, `weekday` (Sunday = 0, as .NET's `DayOfWeek`; also
/// `dayofweek`), `dayofyear` (1-based), `date` and `timeofday`. `date` is the local
/// midnight as ticks on the local clock (.NET's `DateTimeOffset.Date.Ticks`), `timeofday`
/// the ticks since it; both are relative to the offset, not UTC instants.
pub(super) fn date_part(args: &[Arg], _: &CallContext) -> Eval {
    let ticks = integer(args, 0)?;
    let part = string(args, 1)?;
    let c = civil(ticks.checked_add(offset_ticks(args, 2)?)?)?;
    let field = match part.to_ascii_lowercase().as_str() {
        "year" => c.year,
        "month" => i64::from(c.month),
        "day" => i64::from(c.day),
        "hour" => c.hour,
        "minute" => c.minute,
        "second" => c.second,
        "millisecond" => c.subsecond / TICKS_PER_MILLISECOND,
        "weekday" | "dayofweek" => c.weekday,
        "dayofyear" => c.day_of_year,
        "date" => c.date,
        "timeofday" => c.time_of_day,
        _ => return None,
    };
    num(field)
}

/// `OffsetIn(ianaZone, instant)`: the zone's UTC offset in ticks at that instant; an unknown
/// zone is undefined.
pub(super) fn offset_in(args: &[Arg], _: &CallContext) -> Eval {
    num(datetime::offset_in(string(args, 0)?, integer(args, 1)?)?)
}

/// `TimeOfDay(datetime, offsetHours)`: ticks since midnight at a fixed offset given in
/// (possibly fractional) hours, e.g. `TimeOfDay(@Timestamp, 10) < 11h`.
pub(super) fn time_of_day(args: &[Arg], _: &CallContext) -> Eval {
    let ticks = integer(args, 0)?;
    let hours = match value(args, 1) {
        None | Some(Value::Null) => Decimal::ZERO,
        Some(v) => v.as_number()?,
    };
    let offset = hours
        .checked_mul(Decimal::from(TICKS_PER_HOUR))?
        .trunc()
        .to_i64()?;
    num(ticks.checked_add(offset)?.rem_euclid(TICKS_PER_DAY))
}

/// `TimeSpan(s)`: parses .NET `[-][d.]hh:mm[:ss[.fffffff]]` text to ticks.
pub(super) fn time_span(args: &[Arg], _: &CallContext) -> Eval {
    num(parse_timespan(string(args, 0)?)?)
}

/// `ToIsoString(datetime, offset?)`: ISO 8601 with seven fractional digits, as .NET's `o`
/// format, shown at `offset` ticks (whole minutes, at most ±14h; default UTC, written `Z`).
pub(super) fn to_iso_string(args: &[Arg], _: &CallContext) -> Eval {
    text(format_iso(integer(args, 0)?, offset_ticks(args, 1)?)?)
}

/// `TotalMilliseconds(ticks|text)`: exact, so one tick is 0.0001.
pub(super) fn total_milliseconds(args: &[Arg], _: &CallContext) -> Eval {
    let ticks = match value(args, 0)? {
        Value::Number(n) => *n,
        Value::String(s) => Decimal::from(parse_timespan(s)?),
        _ => return None,
    };
    num(ticks
        .checked_div(Decimal::from(TICKS_PER_MILLISECOND))?
        .normalize())
}

/// `ToTimeString(ticks)`: .NET's constant `TimeSpan` format, `[-][d.]hh:mm:ss[.fffffff]`.
pub(super) fn to_time_string(args: &[Arg], _: &CallContext) -> Eval {
    let _ = number(args, 0)?;
    text(format_timespan(integer(args, 0)?))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use serde_json::json;

    /// 2020-03-21T04:00:00Z, a Saturday.
    const T: i64 = 637_203_600_000_000_000;

    fn t(ticks: i64) -> Arg {
        v(json!(ticks))
    }

    #[test]
    fn now_and_parsing() {
        assert_eq!(call("Now", &[]), j(json!(PLAIN.now_ticks)));
        assert_eq!(
            call("DateTime", &[v(json!("2020-03-21 14:00:00 +10"))]),
            j(json!(T))
        );
        assert_eq!(
            call("DateTime", &[v(json!("2020-03-21T04:00:00.0000001Z"))]),
            j(json!(T + 1))
        );
        assert_eq!(
            call("DateTime", &[v(json!("2020-03-21T06:00:00+02:00"))]),
            j(json!(T))
        );
        assert_eq!(
            call("DateTime", &[v(json!("2020-03-21"))]),
            j(json!(T - 4 * TICKS_PER_HOUR))
        );
        assert_eq!(call("DateTime", &[v(json!(T))]), j(json!(T)));
        assert_eq!(call("DateTime", &[v(json!("yesterday"))]), None);
        assert_eq!(call("DateTime", &[v(json!(true))]), None);
        assert_eq!(
            call("UtcDateTime", &[v(json!("2020-03-21T04:00:00Z"))]),
            j(json!(T))
        );
    }

    #[test]
    fn date_parts() {
        let part =
            |p: &str, offset: i64| call("DatePart", &[t(T + 12_345_678), v(json!(p)), t(offset)]);
        assert_eq!(part("year", 0), j(json!(2020)));
        assert_eq!(part("month", 0), j(json!(3)));
        assert_eq!(part("day", 0), j(json!(21)));
        assert_eq!(part("hour", 0), j(json!(4)));
        assert_eq!(part("Hour", 10 * TICKS_PER_HOUR), j(json!(14)));
        assert_eq!(part("hour", -5 * TICKS_PER_HOUR), j(json!(23)));
        assert_eq!(part("day", -5 * TICKS_PER_HOUR), j(json!(20)));
        assert_eq!(part("minute", 0), j(json!(0)));
        assert_eq!(part("second", 0), j(json!(1)));
        assert_eq!(part("millisecond", 0), j(json!(234)));
        assert_eq!(part("weekday", 0), j(json!(6)));
        assert_eq!(part("weekday", 20 * TICKS_PER_HOUR), j(json!(0)));
        assert_eq!(part("dayofyear", 0), j(json!(81)));
        assert_eq!(part("date", 0), j(json!(T - 4 * TICKS_PER_HOUR)));
        assert_eq!(
            part("date", 10 * TICKS_PER_HOUR),
            j(json!(T - 4 * TICKS_PER_HOUR))
        );
        assert_eq!(
            part("timeofday", 10 * TICKS_PER_HOUR),
            j(json!(14 * TICKS_PER_HOUR + 12_345_678))
        );
        assert_eq!(part("fortnight", 0), None);
        assert_eq!(call("DatePart", &[t(T), v(json!("hour"))]), j(json!(4)));
        assert_eq!(call("DatePart", &[t(-1), v(json!("hour")), t(0)]), None);
        assert_eq!(call("DatePart", &[t(T), v(json!(1)), t(0)]), None);
    }

    #[test]
    fn offsets_and_time_of_day() {
        let brisbane = call("OffsetIn", &[v(json!("Australia/Brisbane")), t(T)]);
        assert_eq!(brisbane, j(json!(10 * TICKS_PER_HOUR)));
        assert_eq!(brisbane, j(json!(360_000_000_000_i64)));
        // Sydney is on daylight time in March, standard time in July.
        assert_eq!(
            call("OffsetIn", &[v(json!("Australia/Sydney")), t(T)]),
            j(json!(11 * TICKS_PER_HOUR))
        );
        let july = parse_datetime("2020-07-01T00:00:00Z").unwrap();
        assert_eq!(
            call("OffsetIn", &[v(json!("Australia/Sydney")), t(july)]),
            j(json!(10 * TICKS_PER_HOUR))
        );
        assert_eq!(
            call("OffsetIn", &[v(json!("America/New_York")), t(july)]),
            j(json!(-4 * TICKS_PER_HOUR))
        );
        assert_eq!(call("OffsetIn", &[v(json!("Mars/Olympus")), t(T)]), None);
        assert_eq!(call("OffsetIn", &[v(json!(10)), t(T)]), None);
        assert_eq!(
            call("TimeOfDay", &[t(T), v(json!(10))]),
            j(json!(14 * TICKS_PER_HOUR))
        );
        assert_eq!(
            call("TimeOfDay", &[t(T), v(json!(-5))]),
            j(json!(23 * TICKS_PER_HOUR))
        );
        assert_eq!(
            call("TimeOfDay", &[t(T), v(json!(5.5))]),
            j(json!(9 * TICKS_PER_HOUR + 18_000_000_000))
        );
        assert_eq!(call("TimeOfDay", &[t(T), v(json!("10"))]), None);
    }

    #[test]
    fn formatting() {
        assert_eq!(
            call("ToIsoString", &[t(T)]),
            j(json!("2020-03-21T04:00:00.0000000Z"))
        );
        assert_eq!(
            call("ToIsoString", &[t(T + 5), t(0)]),
            j(json!("2020-03-21T04:00:00.0000005Z"))
        );
        assert_eq!(
            call("ToIsoString", &[t(T), t(10 * TICKS_PER_HOUR)]),
            j(json!("2020-03-21T14:00:00.0000000+10:00"))
        );
        assert_eq!(
            call(
                "ToIsoString",
                &[t(T), t(-(9 * TICKS_PER_HOUR + 30 * 600_000_000))]
            ),
            j(json!("2020-03-20T18:30:00.0000000-09:30"))
        );
        assert_eq!(call("ToIsoString", &[t(T), t(123)]), None);
        assert_eq!(call("ToIsoString", &[v(json!("2020-03-21"))]), None);
        assert_eq!(
            call("ToTimeString", &[t(54_000_000_000)]),
            j(json!("01:30:00"))
        );
        assert_eq!(
            call("ToTimeString", &[t(TICKS_PER_DAY + 15_000_000)]),
            j(json!("1.00:00:01.5000000"))
        );
        assert_eq!(
            call("ToTimeString", &[t(-600_000_000)]),
            j(json!("-00:01:00"))
        );
        assert_eq!(call("ToTimeString", &[v(json!("1h"))]), None);
        assert_eq!(
            call("TimeSpan", &[v(json!("01:30:00"))]),
            j(json!(54_000_000_000_i64))
        );
        assert_eq!(
            call("TimeSpan", &[v(json!("1.02:00:00.5"))]),
            j(json!(TICKS_PER_DAY + 2 * TICKS_PER_HOUR + 5_000_000))
        );
        assert_eq!(call("TimeSpan", &[v(json!("soon"))]), None);
        assert_eq!(
            call("TotalMilliseconds", &[t(54_000_000_000)]),
            j(json!(5_400_000))
        );
        assert_eq!(call("TotalMilliseconds", &[t(1)]), j(json!(0.0001)));
        assert_eq!(
            call("TotalMilliseconds", &[v(json!("00:00:01.5"))]),
            j(json!(1500))
        );
        assert_eq!(call("TotalMilliseconds", &[v(json!("x"))]), None);
        assert_eq!(call("TotalMilliseconds", &[v(json!(null))]), None);
    }
}
