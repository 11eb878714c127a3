//! Format selection for `POST /api/events/raw` (seq-compat 1.3).

/// Content-Type prefix that selects CLEF (charset parameters may follow).
const CLEF_CONTENT_TYPE: &str = "application/vnd.serilog.clef";

/// Whether `/api/events/raw` should read the body as CLEF rather than the legacy batch.
///
/// True when the query has exactly one `clef` parameter that is bare (`?clef`), `true`
/// (any case) or `clef`, or when the Content-Type starts with `application/vnd.serilog.clef`.
/// `?clef=` and `?clef=false` leave the decision to the Content-Type.
pub fn clef_selected(query: Option<&str>, content_type: Option<&str>) -> bool {
    query.is_some_and(query_selects_clef) || content_type.is_some_and(content_type_is_clef)
}

fn query_selects_clef(query: &str) -> bool {
    let query = query.strip_prefix('?').unwrap_or(query);
    let mut found = None;
    for pair in query.split('&') {
        let (name, value) = match pair.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (pair, None),
        };
        // ASP.NET query keys are case-insensitive.
        if name.eq_ignore_ascii_case("clef") {
            if found.is_some() {
                return false; // more than one value: not a boolean
            }
            found = Some(value);
        }
    }
    match found {
        Some(None) => true,
        Some(Some(v)) => v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("clef"),
        None => false,
    }
}

fn content_type_is_clef(content_type: &str) -> bool {
    let ct = content_type.trim_start().as_bytes();
    ct.len() >= CLEF_CONTENT_TYPE.len()
        && ct[..CLEF_CONTENT_TYPE.len()].eq_ignore_ascii_case(CLEF_CONTENT_TYPE.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::clef_selected;

    #[test]
    fn query_rules() {
        let cases = [
            (Some("clef"), true),
            (Some("?clef"), true),
            (Some("clef=true"), true),
            (Some("clef=True"), true),
            (Some("clef=TRUE"), true),
            (Some("clef=clef"), true),
            (Some("CLEF"), true),
            (Some("apiKey=K&clef"), true),
            (Some("clef&apiKey=K"), true),
            (Some("clef="), false),
            (Some("clef=false"), false),
            (Some("clef=1"), false),
            (Some("clef&clef"), false),
            (Some("clef=true&clef=true"), false),
            (Some("apiKey=clef"), false),
            (Some("clefs"), false),
            (Some(""), false),
            (None, false),
        ];
        for (query, expected) in cases {
            assert_eq!(clef_selected(query, None), expected, "{query:?}");
            assert_eq!(
                clef_selected(query, Some("application/json")),
                expected,
                "{query:?}"
            );
        }
    }

    #[test]
    fn content_type_rules() {
        let cases = [
            ("application/vnd.serilog.clef", true),
            ("application/vnd.serilog.clef; charset=utf-8", true),
            ("Application/VND.Serilog.CLEF", true),
            (" application/vnd.serilog.clef", true),
            ("application/json", false),
            ("text/plain; charset=utf-8", false),
            ("application/vnd.serilog", false),
            ("", false),
        ];
        for (ct, expected) in cases {
            assert_eq!(clef_selected(None, Some(ct)), expected, "{ct}");
            assert_eq!(
                clef_selected(Some("clef=false"), Some(ct)),
                expected,
                "{ct}"
            );
        }
        assert!(clef_selected(Some("clef"), Some("application/json")));
    }
}
