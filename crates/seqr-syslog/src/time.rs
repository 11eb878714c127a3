//! RFC 3164 timestamps: `Mmm dd hh:mm:ss` with no year and no zone, and the RFC 3339 form
//! rsyslog's forwarding templates put in the same place.
//!
//! A missing year is the received time's year, moved back (or, across New Year, forward) to the
//! latest year that does not put the message more than a day after its arrival. There is no time
//! zone either: seqr reads these times as UTC rather than guess the sender's zone (no tz
//! database is linked), so a sender on local time appears shifted by its UTC offset.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use seqr_types::Timestamp;
use seqr_types::timestamp::{TICKS_PER_SECOND, UNIX_EPOCH_TICKS};

const MONTHS: [&[u8; 3]; 12] = [
    b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec",
];

/// How far ahead of its arrival a year-less timestamp may be (clock skew) before the previous
/// year is meant.
const SKEW_TICKS: i64 = 24 * 3600 * TICKS_PER_SECOND;

/// A timestamp at the start of `bytes` and the bytes after it (from the space that ends it).
pub(crate) fn rfc3164(bytes: &[u8], received: Timestamp) -> Option<(Timestamp, &[u8])> {
    rfc3339(bytes).or_else(|| bsd(bytes, received))
}

/// `2024-06-19T10:11:12.123456+02:00` up to the next space.
fn rfc3339(bytes: &[u8]) -> Option<(Timestamp, &[u8])> {
    let looks_like_date = bytes.len() > 10
        && bytes[..4].iter().all(u8::is_ascii_digit)
        && bytes[4] == b'-'
        && bytes[10] == b'T';
    if !looks_like_date {
        return None;
    }
    let end = memchr::memchr(b' ', bytes).unwrap_or(bytes.len());
    let text = std::str::from_utf8(&bytes[..end]).ok()?;
    Some((Timestamp::parse(text).ok()?, &bytes[end..]))
}

/// `Mmm dd hh:mm:ss`: the day space- or zero-padded (or not padded at all), optionally a year
/// before the time (Cisco's `Mar  1 2024 18:46:11`) and a fraction after it.
fn bsd(bytes: &[u8], received: Timestamp) -> Option<(Timestamp, &[u8])> {
    let mut r = Reader(bytes);
    let month = r.take(3)?.to_ascii_lowercase();
    let month = MONTHS.iter().position(|m| m[..] == month[..])? as i8 + 1;
    r.byte(b' ')?;
    r.skip(b' ');
    let day = r.number(1, 2)? as i8;
    r.byte(b' ')?;
    let year = match r.peek_number_then(4, b' ') {
        Some(year) => {
            r.take(5)?;
            Some(year as i16)
        }
        None => None,
    };
    let hour = r.number(2, 2)? as i8;
    r.byte(b':')?;
    let minute = r.number(2, 2)? as i8;
    r.byte(b':')?;
    let second = r.number(2, 2)? as i8;
    let mut fraction_ticks = 0;
    if r.0.first() == Some(&b'.') {
        r.take(1)?;
        let digits = r.0.iter().take_while(|b| b.is_ascii_digit()).count();
        let digits = r.take(digits.clamp(1, 9))?;
        // Seven digits are ticks: pad or cut to seven.
        fraction_ticks = (0..7).fold(0i64, |n, i| {
            n * 10 + digits.get(i).map_or(0, |d| i64::from(d - b'0'))
        });
    }
    if !matches!(r.0.first(), None | Some(b' ')) {
        return None;
    }
    let at = |year: i16| -> Option<i64> {
        let civil = DateTime::new(year, month, day, hour, minute, second, 0).ok()?;
        let seconds = civil.to_zoned(TimeZone::UTC).ok()?.timestamp().as_second();
        Some(UNIX_EPOCH_TICKS + seconds * TICKS_PER_SECOND + fraction_ticks)
    };
    let ticks = match year {
        Some(year) => at(year)?,
        None => {
            let now = received_year(received)?;
            // Latest first: next year only within the skew (a message sent just after New
            // Year by a fast clock); eight years back reaches a 29 February.
            (now - 8..=now + 1)
                .rev()
                .filter_map(at)
                .find(|&t| t <= received.ticks().saturating_add(SKEW_TICKS))?
        }
    };
    Some((Timestamp::from_ticks(ticks), r.0))
}

fn received_year(received: Timestamp) -> Option<i16> {
    let seconds = (received.ticks() - UNIX_EPOCH_TICKS).div_euclid(TICKS_PER_SECOND);
    let t = jiff::Timestamp::from_second(seconds).ok()?;
    Some(t.to_zoned(TimeZone::UTC).year())
}

/// A cursor over the bytes of a timestamp.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }

    fn byte(&mut self, b: u8) -> Option<()> {
        (self.take(1)? == [b]).then_some(())
    }

    fn skip(&mut self, b: u8) {
        if self.0.first() == Some(&b) {
            self.0 = &self.0[1..];
        }
    }

    /// `min..=max` digits as a number.
    fn number(&mut self, min: usize, max: usize) -> Option<u32> {
        let len = self.0.iter().take_while(|b| b.is_ascii_digit()).count();
        if len < min || len > max {
            return None;
        }
        let digits = self.take(len)?;
        Some(digits.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    }

    /// Exactly `len` digits followed by `then`, without consuming them.
    fn peek_number_then(&self, len: usize, then: u8) -> Option<u32> {
        let mut probe = Reader(self.0);
        let n = probe.number(len, len)?;
        (probe.0.first() == Some(&then)).then_some(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(iso: &str) -> Timestamp {
        Timestamp::parse(iso).unwrap()
    }

    fn parse(text: &str, received: &str) -> Option<(String, String)> {
        rfc3164(text.as_bytes(), at(received))
            .map(|(t, rest)| (t.to_iso(), String::from_utf8(rest.to_vec()).unwrap()))
    }

    #[test]
    fn bsd_timestamps_take_the_received_year() {
        let got = parse("Oct 11 22:14:15 host", "2024-10-12T00:00:00Z").unwrap();
        assert_eq!(got, ("2024-10-11T22:14:15.0000000Z".into(), " host".into()));
        // Space-padded, zero-padded and unpadded days.
        for text in ["Mar  1 18:46:11", "Mar 01 18:46:11", "Mar 1 18:46:11"] {
            let (t, _) = parse(text, "2024-06-01T00:00:00Z").unwrap();
            assert_eq!(t, "2024-03-01T18:46:11.0000000Z", "{text}");
        }
        let (t, _) = parse("mar  1 18:46:11.123", "2024-06-01T00:00:00Z").unwrap();
        assert_eq!(t, "2024-03-01T18:46:11.1230000Z");
        let (t, _) = parse("Mar  1 2019 18:46:11", "2024-06-01T00:00:00Z").unwrap();
        assert_eq!(t, "2019-03-01T18:46:11.0000000Z");
    }

    #[test]
    fn a_year_less_time_is_never_more_than_a_day_ahead() {
        // Received on New Year's morning: December is last year.
        let (t, _) = parse("Dec 31 23:59:00", "2025-01-01T00:10:00Z").unwrap();
        assert_eq!(t, "2024-12-31T23:59:00.0000000Z");
        // A few hours ahead is clock skew, not last year.
        let (t, _) = parse("Jun 19 10:00:00", "2024-06-19T02:00:00Z").unwrap();
        assert_eq!(t, "2024-06-19T10:00:00.0000000Z");
        // Two days ahead is last year.
        let (t, _) = parse("Jun 21 10:00:00", "2024-06-19T02:00:00Z").unwrap();
        assert_eq!(t, "2023-06-21T10:00:00.0000000Z");
        // A fast clock across New Year.
        let (t, _) = parse("Jan  1 00:00:05", "2024-12-31T23:59:59Z").unwrap();
        assert_eq!(t, "2025-01-01T00:00:05.0000000Z");
        // 29 February goes back to the last leap year.
        let (t, _) = parse("Feb 29 12:00:00", "2025-06-01T00:00:00Z").unwrap();
        assert_eq!(t, "2024-02-29T12:00:00.0000000Z");
    }

    #[test]
    fn rfc3339_timestamps_in_3164_position() {
        let (t, rest) = parse(
            "2024-06-19T10:11:12.123456+02:00 host tag: m",
            "2000-01-01T00:00:00Z",
        )
        .unwrap();
        assert_eq!(t, "2024-06-19T08:11:12.1234560Z");
        assert_eq!(rest, " host tag: m");
        let (t, _) = parse("2024-06-19T10:11:12Z", "2000-01-01T00:00:00Z").unwrap();
        assert_eq!(t, "2024-06-19T10:11:12.0000000Z");
    }

    #[test]
    fn not_timestamps() {
        for text in [
            "",
            "Oct",
            "Oct 11",
            "Oct 11 22:14",
            "Oct 11 22:14:15:",
            "Foo 11 22:14:15",
            "Oct 32 22:14:15",
            "Oct 11 25:14:15",
            "Feb 30 10:00:00",
            "123: *Mar  1 18:46:11.123",
            "2024-06-19 10:11:12",
            "2024-13-19T10:11:12Z",
            "syslog-udp[15181]: Hello",
        ] {
            assert_eq!(parse(text, "2024-06-01T00:00:00Z"), None, "{text}");
        }
    }
}
