//! Numeric functions, and the two that decode or compute Seq identifiers.

use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use rust_decimal::{Decimal, RoundingStrategy};

use super::{Arg, CallContext, num, number, string, text, value};
use crate::value::{Eval, Value, parse_decimal};

/// `Arrived(eventId)`: the arrival sequence encoded in an `event-…` id.
pub(super) fn arrived(args: &[Arg], _: &CallContext) -> Eval {
    let id: seqr_types::EventId = string(args, 0)?.parse().ok()?;
    num(id.arrival)
}

/// `ToEventType(template)`: the `@EventType` Seq assigns to events with this template.
pub(super) fn to_event_type(args: &[Arg], _: &CallContext) -> Eval {
    num(seqr_types::event_type::of_template(string(args, 0)?))
}

/// `Bucket(n, err?)`: the midpoint of `n`'s logarithmic bucket, for histograms.
///
/// With γ = (1 + err) / (1 − err), bucket k holds (γ^(k−1), γ^k] and its midpoint
/// 2γ^k / (γ + 1) is within a fraction `err` of every value in it, so buckets are about
/// 2·err wide (the DDSketch rule, which Seq's percentile sketches also bound by `err`).
/// Zero is its own bucket and negative numbers mirror positive ones. `err` defaults to 0.01
/// and must lie strictly between 0 and 1. The midpoint is computed in floating point and
/// kept to 15 significant digits.
pub(super) fn bucket(args: &[Arg], _: &CallContext) -> Eval {
    let n = number(args, 0)?;
    let err = match value(args, 1) {
        None | Some(Value::Null) => 0.01,
        Some(Value::Number(e)) => e.to_f64()?,
        Some(_) => return None,
    };
    if !(err > 0.0 && err < 1.0) {
        return None;
    }
    if n.is_zero() {
        return num(Decimal::ZERO);
    }
    let gamma = (1.0 + err) / (1.0 - err);
    let log_gamma = gamma.ln();
    let k = (n.abs().to_f64()?.ln() / log_gamma).ceil();
    let mid = 2.0 * (k * log_gamma).exp() / (gamma + 1.0);
    if !mid.is_finite() {
        return None;
    }
    let mid = Decimal::from_f64(mid)?.round_sf(15)?.normalize();
    num(if n.is_sign_negative() { -mid } else { mid })
}

/// `Round(n, places)`: midpoints round away from zero (`Round(2.5, 0)` is 3, `Round(-2.5, 0)`
/// is -3); `places` must be a whole number from 0 to 28 and defaults to 0.
pub(super) fn round(args: &[Arg], _: &CallContext) -> Eval {
    let n = number(args, 0)?;
    let places = match value(args, 1) {
        None => Decimal::ZERO,
        Some(v) => v.as_number()?,
    };
    if !places.fract().is_zero() {
        return None;
    }
    let places = places.to_u32().filter(|p| *p <= 28)?;
    num(n.round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero))
}

/// `ToHexString(n)`: `0x` and upper-case hex digits of the integer part of a non-negative
/// number; negative numbers are undefined (.NET would print a two's-complement form).
pub(super) fn to_hex_string(args: &[Arg], _: &CallContext) -> Eval {
    let n = number(args, 0)?.trunc();
    if n.is_sign_negative() && !n.is_zero() {
        return None;
    }
    // `abs` turns a truncated -0.5 (negative zero) into plain zero.
    text(format!("0x{:X}", n.abs().to_u128()?))
}

/// `ToNumber(s)`: parses `[+-]digits[.digits][e[+-]digits]` (surrounding spaces allowed); a
/// number is returned unchanged; anything else, or a value outside the decimal range, is
/// undefined.
pub(super) fn to_number(args: &[Arg], _: &CallContext) -> Eval {
    match value(args, 0)? {
        Value::Number(n) => num(*n),
        Value::String(s) => {
            let s = s.trim();
            if !is_number_text(s) {
                return None;
            }
            num(parse_decimal(s.strip_prefix('+').unwrap_or(s))?)
        }
        _ => None,
    }
}

fn is_number_text(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let mut mantissa = digits(&mut i);
    if b.get(i) == Some(&b'.') {
        i += 1;
        mantissa += digits(&mut i);
    }
    if mantissa == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use serde_json::json;

    #[test]
    fn arrived_and_event_types() {
        let id = "event-08d7cd63a0e1a0000000000000000abc";
        assert_eq!(call("Arrived", &[v(json!(id))]), j(json!(0xabc)));
        assert_eq!(call("Arrived", &[v(json!("event-xyz"))]), None);
        assert_eq!(call("Arrived", &[v(json!(5))]), None);
        assert_eq!(
            call(
                "ToEventType",
                &[v(json!("HTTP {RequestMethod} {RequestPath}"))]
            ),
            j(json!(0xE80D_5C02_u32))
        );
        assert_eq!(call("ToEventType", &[v(json!(1))]), None);
    }

    #[test]
    fn buckets_are_logarithmic() {
        let b = |n: serde_json::Value| call("Bucket", &[v(n)]);
        assert_eq!(b(json!(0)), j(json!(0)));
        // γ = 1.01/0.99; ln(100)/ln(γ) = 230.26…, so k = 231 and 2γ^231/(γ+1) = 100.3…
        let hundred = b(json!(100)).and_then(|v| v.as_number()).unwrap();
        assert!((hundred - rust_decimal::Decimal::from(100)).abs() <= rust_decimal::Decimal::ONE);
        assert_eq!(b(json!(100)), b(json!(100.2)));
        assert_ne!(b(json!(100)), b(json!(110)));
        assert_eq!(b(json!(-100)).and_then(|v| v.as_number()), Some(-hundred));
        for n in [0.001, 1.0, 7.5, 12345.0, 1e20] {
            let got = b(json!(n)).and_then(|v| v.as_number()).unwrap();
            let exact = rust_decimal::Decimal::try_from(n).unwrap();
            let rel = ((got - exact) / exact).abs();
            assert!(rel <= rust_decimal::Decimal::new(1, 2), "{n}: {got}");
        }
        let coarse = call("Bucket", &[v(json!(100)), v(json!(0.5))])
            .and_then(|v| v.as_number())
            .unwrap();
        assert!(
            coarse > rust_decimal::Decimal::from(50) && coarse < rust_decimal::Decimal::from(150)
        );
        assert_eq!(call("Bucket", &[v(json!(1)), v(json!(0))]), None);
        assert_eq!(call("Bucket", &[v(json!(1)), v(json!(1))]), None);
        assert_eq!(call("Bucket", &[v(json!("1"))]), None);
    }

    #[test]
    fn rounding() {
        let r = |n: serde_json::Value, p: i64| call("Round", &[v(n), v(json!(p))]);
        assert_eq!(r(json!(2.5), 0), j(json!(3)));
        assert_eq!(r(json!(-2.5), 0), j(json!(-3)));
        assert_eq!(r(json!(1.005), 2), j(json!(1.01)));
        assert_eq!(r(json!(1.004), 2), j(json!(1.0)));
        assert_eq!(r(json!(1234.5678), 1), j(json!(1234.6)));
        assert_eq!(r(json!(7), 3), j(json!(7)));
        assert_eq!(r(json!(1.5), -1), None);
        assert_eq!(r(json!(1.5), 29), None);
        assert_eq!(call("Round", &[v(json!(1.5)), v(json!(0.5))]), None);
        assert_eq!(call("Round", &[v(json!(1.5))]), j(json!(2)));
        assert_eq!(call("Round", &[v(json!("1.5")), v(json!(0))]), None);
    }

    #[test]
    fn hex_and_parsing() {
        assert_eq!(call("ToHexString", &[v(json!(255))]), j(json!("0xFF")));
        assert_eq!(call("ToHexString", &[v(json!(0))]), j(json!("0x0")));
        assert_eq!(call("ToHexString", &[v(json!(4095.9))]), j(json!("0xFFF")));
        assert_eq!(call("ToHexString", &[v(json!(-0.5))]), j(json!("0x0")));
        assert_eq!(call("ToHexString", &[v(json!(-1))]), None);
        assert_eq!(call("ToHexString", &[v(json!("ff"))]), None);
        assert_eq!(call("ToNumber", &[v(json!("42"))]), j(json!(42)));
        assert_eq!(call("ToNumber", &[v(json!(" -1.50 "))]), j(json!(-1.5)));
        assert_eq!(call("ToNumber", &[v(json!("+.5"))]), j(json!(0.5)));
        assert_eq!(call("ToNumber", &[v(json!("1e3"))]), j(json!(1000)));
        assert_eq!(call("ToNumber", &[v(json!("0.1"))]), j(json!(0.1)));
        assert_eq!(call("ToNumber", &[v(json!(7))]), j(json!(7)));
        for bad in [
            "", "abc", "1,000", "1e", ".", "0x10", "1_000", "--1", "1e99999", "NaN",
        ] {
            assert_eq!(call("ToNumber", &[v(json!(bad))]), None, "{bad}");
        }
        assert_eq!(call("ToNumber", &[v(json!(true))]), None);
    }
}
