//! JSON conversion functions.

use super::{Arg, CallContext, string, text, value};
use crate::value::{Eval, Value};

/// `FromJson(s)`: parses JSON text; invalid JSON is undefined. serde_json's nesting limit
/// (128) bounds the recursion for hostile input.
pub(super) fn from_json(args: &[Arg], _: &CallContext) -> Eval {
    let json: serde_json::Value = serde_json::from_str(string(args, 0)?).ok()?;
    Value::from_json(&json)
}

/// `ToJson(v)`: compact JSON with member order kept and numbers in their shortest form
/// (`1.50` ⇒ `1.5`), the usual way to turn a number into a string.
pub(super) fn to_json(args: &[Arg], _: &CallContext) -> Eval {
    text(serde_json::to_string(&value(args, 0)?.to_json()).ok()?)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use serde_json::json;

    #[test]
    fn round_trips() {
        assert_eq!(
            call("ToJson", &[v(json!({"b": [1.50, "x\"y"], "a": null}))]),
            j(json!(r#"{"b":[1.5,"x\"y"],"a":null}"#))
        );
        assert_eq!(call("ToJson", &[v(json!(12))]), j(json!("12")));
        assert_eq!(call("ToJson", &[v(json!("é"))]), j(json!("\"é\"")));
        assert_eq!(call("ToJson", &[undef()]), None);
        assert_eq!(
            call(
                "FromJson",
                &[v(json!(r#"{"a": [1, true, "s"], "b": 0.10}"#))]
            ),
            j(json!({"a": [1, true, "s"], "b": 0.1}))
        );
        assert_eq!(call("FromJson", &[v(json!("3"))]), j(json!(3)));
        assert_eq!(call("FromJson", &[v(json!("{oops"))]), None);
        assert_eq!(call("FromJson", &[v(json!(3))]), None);
        let deep = "[".repeat(10_000);
        assert_eq!(call("FromJson", &[v(json!(deep))]), None);
    }
}
