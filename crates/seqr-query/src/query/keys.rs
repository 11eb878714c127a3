//! Group keys and sorting: a canonical text encoding of values (so equal values, by the
//! language's structural equality, share a hash-map entry) and a total order for `order by`.

use std::cmp::Ordering;
use std::fmt::Write;

use crate::value::{Eval, Value};

/// Appends the canonical encoding of `v`: undefined and null alike, numbers by their
/// normalized digits (`1.0` = `1`), object members sorted by name, strings lower-cased under
/// `ci`. Lengths are written out, so no two different values encode the same.
pub(crate) fn encode(v: &Eval, ci: bool, out: &mut String) {
    match v {
        None | Some(Value::Null) => out.push('n'),
        Some(v) => encode_value(v, ci, out),
    }
}

fn encode_value(v: &Value, ci: bool, out: &mut String) {
    match v {
        Value::Null => out.push('n'),
        Value::Bool(true) => out.push('t'),
        Value::Bool(false) => out.push('f'),
        Value::Number(n) => {
            let _ = write!(out, "d{};", n.normalize());
        }
        Value::String(s) => encode_str(s, ci, out),
        Value::Array(items) => {
            let _ = write!(out, "a{}[", items.len());
            for i in items {
                encode_value(i, ci, out);
            }
            out.push(']');
        }
        Value::Object(members) => {
            let mut sorted: Vec<&(String, Value)> = members.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            let _ = write!(out, "o{}{{", sorted.len());
            for (k, v) in sorted {
                encode_str(k, false, out);
                encode_value(v, ci, out);
            }
            out.push('}');
        }
    }
}

fn encode_str(s: &str, ci: bool, out: &mut String) {
    if ci {
        let folded: String = s.chars().flat_map(char::to_lowercase).collect();
        let _ = write!(out, "s{}:{folded}", folded.len());
    } else {
        let _ = write!(out, "s{}:{s}", s.len());
    }
}

fn rank(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    }
}

/// A total order: null (and undefined) first, then booleans, numbers, strings (ordinal, or
/// ignoring case under `ci`), arrays (element by element), objects (by their JSON text).
pub(crate) fn compare(a: &Eval, b: &Eval, ci: bool) -> Ordering {
    const NULL: Value = Value::Null;
    compare_value(a.as_ref().unwrap_or(&NULL), b.as_ref().unwrap_or(&NULL), ci)
}

fn compare_value(a: &Value, b: &Value, ci: bool) -> Ordering {
    match (a, b) {
        (Value::Bool(p), Value::Bool(q)) => p.cmp(q),
        (Value::Number(p), Value::Number(q)) => p.cmp(q),
        (Value::String(p), Value::String(q)) => compare_str(p, q, ci),
        (Value::Array(p), Value::Array(q)) => p
            .iter()
            .zip(q)
            .map(|(i, j)| compare_value(i, j, ci))
            .find(|o| o.is_ne())
            .unwrap_or_else(|| p.len().cmp(&q.len())),
        (Value::Object(_), Value::Object(_)) => {
            a.to_json().to_string().cmp(&b.to_json().to_string())
        }
        _ => rank(a).cmp(&rank(b)),
    }
}

fn compare_str(a: &str, b: &str, ci: bool) -> Ordering {
    if ci {
        a.chars()
            .flat_map(char::to_lowercase)
            .cmp(b.chars().flat_map(char::to_lowercase))
    } else {
        a.cmp(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(v: serde_json::Value, ci: bool) -> String {
        let mut s = String::new();
        encode(&Value::from_json(&v), ci, &mut s);
        s
    }

    #[test]
    fn equal_values_encode_alike() {
        assert_eq!(
            enc(serde_json::json!(1.0), false),
            enc(serde_json::json!(1), false)
        );
        assert_eq!(
            enc(serde_json::json!({"a": 1, "b": 2}), false),
            enc(serde_json::json!({"b": 2, "a": 1}), false)
        );
        assert_ne!(
            enc(serde_json::json!("A"), false),
            enc(serde_json::json!("a"), false)
        );
        assert_eq!(
            enc(serde_json::json!("A"), true),
            enc(serde_json::json!("a"), true)
        );
        assert_ne!(
            enc(serde_json::json!(["a", "b"]), false),
            enc(serde_json::json!(["ab"]), false)
        );
        assert_eq!(enc(serde_json::Value::Null, false), {
            let mut s = String::new();
            encode(&None, false, &mut s);
            s
        });
    }

    #[test]
    fn order_is_total_and_typed() {
        let vals = [
            Some(Value::String("b".into())),
            Some(Value::from_i64(2)),
            None,
            Some(Value::Bool(true)),
            Some(Value::String("A".into())),
            Some(Value::from_i64(-1)),
        ];
        let mut sorted = vals.to_vec();
        sorted.sort_by(|a, b| compare(a, b, true));
        let shown: Vec<String> = sorted
            .iter()
            .map(|v| v.as_ref().map_or("undefined".into(), |v| v.to_string()))
            .collect();
        assert_eq!(shown, ["undefined", "true", "-1", "2", "\"A\"", "\"b\""]);
    }
}
