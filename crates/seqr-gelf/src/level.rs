//! GELF's `level`: a syslog severity number, shown with sqelf's (syslog's) short names, which
//! Seq and seqr's level alias table understand.

use serde_json::Value;

/// syslog severities 0-7, as sqelf names them.
const NAMES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

/// The level an event gets from its `level` member.
///
/// As sqelf: absent means `info` (severity 6) and any other integer `debug`. Where sqelf
/// refuses the whole message (a numeric string, `6.0`, a negative or huge number, a level
/// name), seqr keeps the event: numbers are read from their text, and a non-numeric string is
/// kept as sent (`"ERROR"` is a level Seq understands).
pub(crate) fn level(value: Option<&Value>) -> String {
    let text = match value {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        _ => return NAMES[6].to_owned(),
    };
    match severity(&text) {
        Some(name) => name.to_owned(),
        None if matches!(value, Some(Value::String(_))) => text,
        None => NAMES[7].to_owned(),
    }
}

/// The name for a numeric severity; `None` when `text` is not a number at all.
fn severity(text: &str) -> Option<&'static str> {
    if let Ok(n) = text.parse::<u64>() {
        return Some(
            usize::try_from(n)
                .ok()
                .and_then(|n| NAMES.get(n))
                .unwrap_or(&NAMES[7]),
        );
    }
    let n: f64 = text.parse().ok().filter(|n: &f64| n.is_finite())?;
    Some(if n.fract() == 0.0 && (0.0..8.0).contains(&n) {
        NAMES[n as usize]
    } else {
        NAMES[7]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use seqr_types::CanonicalLevel;
    use serde_json::json;

    #[test]
    fn syslog_numbers_map_to_sqelf_names() {
        let expected = [
            (0, "emerg", CanonicalLevel::Fatal),
            (1, "alert", CanonicalLevel::Fatal),
            (2, "crit", CanonicalLevel::Fatal),
            (3, "err", CanonicalLevel::Error),
            (4, "warning", CanonicalLevel::Warning),
            (5, "notice", CanonicalLevel::Information),
            (6, "info", CanonicalLevel::Information),
            (7, "debug", CanonicalLevel::Debug),
        ];
        for (n, name, canonical) in expected {
            assert_eq!(level(Some(&json!(n))), name);
            // seqr's alias table knows every one of them.
            assert_eq!(CanonicalLevel::from_alias(name), Some(canonical), "{name}");
        }
    }

    #[test]
    fn missing_is_info_and_other_numbers_debug() {
        assert_eq!(level(None), "info");
        assert_eq!(level(Some(&Value::Null)), "info");
        assert_eq!(level(Some(&json!(true))), "info");
        assert_eq!(level(Some(&json!({"a": 1}))), "info");
        assert_eq!(level(Some(&json!(""))), "info");
        for n in [
            json!(8),
            json!(255),
            json!(256),
            json!(-1),
            json!(6.5),
            json!(1e300),
        ] {
            assert_eq!(level(Some(&n)), "debug", "{n}");
        }
        let huge: Value = serde_json::from_str("123456789012345678901234567890").unwrap();
        assert_eq!(level(Some(&huge)), "debug");
    }

    #[test]
    fn lenient_where_sqelf_would_drop_the_message() {
        assert_eq!(level(Some(&json!(3.0))), "err");
        assert_eq!(level(Some(&json!("3"))), "err");
        assert_eq!(level(Some(&json!(" 4 "))), "warning");
        assert_eq!(level(Some(&json!("42"))), "debug");
        assert_eq!(level(Some(&json!("ERROR"))), "ERROR");
        assert_eq!(level(Some(&json!("Warning"))), "Warning");
    }
}
