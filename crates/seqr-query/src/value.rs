//! Runtime values of the expression language.
//!
//! Seq's values are JSON values with decimal numbers. *Undefined* (a missing property, a bad
//! argument, division by zero) is not a value: evaluation returns `Option<Value>` and `None`
//! is undefined, so it cannot be stored in an array or compared by accident.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;

/// A defined value. Timestamps and durations are numbers of .NET ticks.
#[derive(Clone, Debug)]
pub enum Value {
    Null,
    Bool(bool),
    Number(Decimal),
    String(String),
    Array(Vec<Value>),
    /// Members in the order they were written; names are unique.
    Object(Vec<(String, Value)>),
}

/// The result of evaluating an expression: `None` is undefined.
pub type Eval = Option<Value>;

impl Value {
    /// Seq's `TypeOf` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_number(&self) -> Option<Decimal> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// An object's member by exact name.
    pub fn member(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Object(members) => members.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn from_i64(n: i64) -> Value {
        Value::Number(Decimal::from(n))
    }

    /// Structural equality; `ci` compares strings (at any depth) ignoring case. Object member
    /// order does not matter, as for JSON.
    pub fn equals(&self, other: &Value, ci: bool) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Number(a), Value::Number(b)) => a == b,
            (Value::String(a), Value::String(b)) => {
                if ci {
                    eq_ignore_case(a, b)
                } else {
                    a == b
                }
            }
            (Value::Array(a), Value::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.equals(y, ci))
            }
            (Value::Object(a), Value::Object(b)) => {
                a.len() == b.len()
                    && a.iter().all(|(k, v)| {
                        b.iter()
                            .find(|(k2, _)| k2 == k)
                            .is_some_and(|(_, v2)| v.equals(v2, ci))
                    })
            }
            _ => false,
        }
    }

    /// Converts a stored JSON value. Numbers outside the decimal range (about ±7.9e28, or more
    /// than 28 fractional digits after rounding) become the nearest representable decimal
    /// when they can be rounded, and undefined members otherwise.
    pub fn from_json(json: &serde_json::Value) -> Eval {
        Some(match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(parse_decimal(&n.to_string())?),
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Array(items) => {
                Value::Array(items.iter().filter_map(Value::from_json).collect())
            }
            serde_json::Value::Object(members) => Value::Object(
                members
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), Value::from_json(v)?)))
                    .collect(),
            ),
        })
    }

    /// Converts to JSON; numbers keep their exact decimal digits.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => serde_json::Number::from_str(&n.normalize().to_string())
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::Array(items) => {
                serde_json::Value::Array(items.iter().map(Value::to_json).collect())
            }
            Value::Object(members) => serde_json::Value::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// Parses a JSON or literal number into a decimal, rounding excess fractional digits.
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    if let Ok(d) = Decimal::from_str_exact(text) {
        return Some(d);
    }
    if let Ok(d) = Decimal::from_str(text) {
        return Some(d);
    }
    Decimal::from_scientific(text).ok()
}

/// Unicode simple case folding is what .NET's `OrdinalIgnoreCase` approximates; lowercasing
/// both sides matches it for every script seqr has seen in logs.
pub fn eq_ignore_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        self.equals(other, false)
    }
}

impl fmt::Display for Value {
    /// JSON text, as `ToJson` writes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_decimal() {
        let a = parse_decimal("0.1").unwrap() + parse_decimal("0.2").unwrap();
        assert_eq!(a, parse_decimal("0.3").unwrap());
        assert_eq!(
            Value::Number(parse_decimal("1.50").unwrap())
                .to_json()
                .to_string(),
            "1.5"
        );
        assert_eq!(parse_decimal("1e3"), Some(Decimal::from(1000)));
    }

    #[test]
    fn objects_compare_without_order() {
        let a = Value::from_json(&serde_json::json!({"a": 1, "b": "X"})).unwrap();
        let b = Value::from_json(&serde_json::json!({"b": "x", "a": 1})).unwrap();
        assert!(!a.equals(&b, false));
        assert!(a.equals(&b, true));
    }
}
