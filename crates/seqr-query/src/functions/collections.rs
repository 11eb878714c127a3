//! Functions over values in general and over arrays and objects.

use rust_decimal::prelude::ToPrimitive;

use super::{Arg, CallContext, boolean, count, text, value};
use crate::value::{Eval, Value, eq_ignore_case};

/// The first defined, non-null argument; otherwise whatever the last argument is.
pub(super) fn coalesce(args: &[Arg], _: &CallContext) -> Eval {
    for i in 0..args.len() {
        match value(args, i) {
            None | Some(Value::Null) => continue,
            Some(v) => return Some(v.clone()),
        }
    }
    value(args, args.len().checked_sub(1)?).cloned()
}

/// `Has(x)` / `IsDefined(x)`: true when `x` is defined, even as null.
pub(super) fn has(args: &[Arg], _: &CallContext) -> Eval {
    boolean(value(args, 0).is_some())
}

/// `ElementAt(coll, index|key)`: an array element by whole, in-range index, or an object
/// member by name; under `ci` an exact name wins over the first case-insensitive one.
pub(super) fn element_at(args: &[Arg], ctx: &CallContext) -> Eval {
    match (value(args, 0)?, value(args, 1)?) {
        (Value::Array(items), Value::Number(n)) => {
            if !n.fract().is_zero() {
                return None;
            }
            items.get(n.to_usize()?).cloned()
        }
        (Value::Object(members), Value::String(key)) => {
            let exact = members.iter().find(|(k, _)| k == key);
            let found = match exact {
                None if ctx.ci => members.iter().find(|(k, _)| eq_ignore_case(k, key)),
                other => other,
            };
            found.map(|(_, v)| v.clone())
        }
        _ => None,
    }
}

pub(super) fn keys(args: &[Arg], _: &CallContext) -> Eval {
    match value(args, 0)? {
        Value::Object(members) => Some(Value::Array(
            members
                .iter()
                .map(|(k, _)| Value::String(k.clone()))
                .collect(),
        )),
        _ => None,
    }
}

pub(super) fn values(args: &[Arg], _: &CallContext) -> Eval {
    match value(args, 0)? {
        Value::Object(members) => Some(Value::Array(
            members.iter().map(|(_, v)| v.clone()).collect(),
        )),
        _ => None,
    }
}

/// Characters of a string, or elements of an array.
pub(super) fn length(args: &[Arg], _: &CallContext) -> Eval {
    match value(args, 0)? {
        Value::String(s) => count(s.chars().count()),
        Value::Array(items) => count(items.len()),
        _ => None,
    }
}

pub(super) fn type_of(args: &[Arg], _: &CallContext) -> Eval {
    text(value(args, 0).map_or("undefined", Value::type_name))
}

/// `TagOf(obj)`: the `$type` tag Serilog writes on destructured objects.
pub(super) fn tag_of(args: &[Arg], _: &CallContext) -> Eval {
    match value(args, 0)?.member("$type")? {
        Value::String(tag) => text(tag.as_str()),
        _ => None,
    }
}

pub(super) fn undefined(_: &[Arg], _: &CallContext) -> Eval {
    None
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use serde_json::json;

    #[test]
    fn coalesce_has_typeof() {
        assert_eq!(
            call("Coalesce", &[undef(), v(json!(null)), v(json!(2))]),
            j(json!(2))
        );
        assert_eq!(call("Coalesce", &[undef(), v(json!(null))]), j(json!(null)));
        assert_eq!(call("Coalesce", &[v(json!(null)), undef()]), None);
        assert_eq!(
            call("Coalesce", &[v(json!("a")), v(json!("b"))]),
            j(json!("a"))
        );
        assert_eq!(call("Has", &[v(json!(null))]), j(json!(true)));
        assert_eq!(call("Has", &[undef()]), j(json!(false)));
        assert_eq!(call("IsDefined", &[v(json!(0))]), j(json!(true)));
        for (arg, name) in [
            (v(json!({})), "object"),
            (v(json!([])), "array"),
            (v(json!("")), "string"),
            (v(json!(1)), "number"),
            (v(json!(false)), "boolean"),
            (v(json!(null)), "null"),
            (undef(), "undefined"),
        ] {
            assert_eq!(call("TypeOf", &[arg]), j(json!(name)));
        }
        assert_eq!(call("Undefined", &[]), None);
    }

    #[test]
    fn element_access() {
        let arr = v(json!([10, "b", null]));
        assert_eq!(call("ElementAt", &[arr.clone(), v(json!(0))]), j(json!(10)));
        assert_eq!(
            call("ElementAt", &[arr.clone(), v(json!(2))]),
            j(json!(null))
        );
        assert_eq!(call("ElementAt", &[arr.clone(), v(json!(3))]), None);
        assert_eq!(call("ElementAt", &[arr.clone(), v(json!(-1))]), None);
        assert_eq!(call("ElementAt", &[arr.clone(), v(json!(0.5))]), None);
        assert_eq!(call("ElementAt", &[arr, v(json!("0"))]), None);
        let obj = v(json!({"UserId": 1, "userid": 2, "Name": "n"}));
        assert_eq!(
            call("ElementAt", &[obj.clone(), v(json!("UserId"))]),
            j(json!(1))
        );
        assert_eq!(call("ElementAt", &[obj.clone(), v(json!("USERID"))]), None);
        assert_eq!(
            call_ci("ElementAt", &[obj.clone(), v(json!("userid"))]),
            j(json!(2))
        );
        assert_eq!(
            call_ci("ElementAt", &[obj.clone(), v(json!("USERID"))]),
            j(json!(1))
        );
        assert_eq!(
            call_ci("ElementAt", &[obj.clone(), v(json!("name"))]),
            j(json!("n"))
        );
        assert_eq!(call("ElementAt", &[obj, v(json!(0))]), None);
        assert_eq!(call("ElementAt", &[v(json!("abc")), v(json!(0))]), None);
    }

    #[test]
    fn keys_values_length_tag() {
        let obj = v(json!({"b": 1, "a": [2]}));
        assert_eq!(
            call("Keys", std::slice::from_ref(&obj)),
            j(json!(["b", "a"]))
        );
        assert_eq!(
            call("Values", std::slice::from_ref(&obj)),
            j(json!([1, [2]]))
        );
        assert_eq!(call("Keys", &[v(json!([1]))]), None);
        assert_eq!(call("Values", &[v(json!("x"))]), None);
        assert_eq!(call("Length", &[v(json!("héllo😀"))]), j(json!(6)));
        assert_eq!(call("Length", &[v(json!([1, 2]))]), j(json!(2)));
        assert_eq!(call("Length", &[obj]), None);
        assert_eq!(call("Length", &[v(json!(12))]), None);
        assert_eq!(
            call("TagOf", &[v(json!({"$type": "Point", "X": 1}))]),
            j(json!("Point"))
        );
        assert_eq!(call("TagOf", &[v(json!({"X": 1}))]), None);
    }
}
