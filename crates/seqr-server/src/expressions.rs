//! `api/expressions`: search-bar input to strict expressions (`tostrict`, used by seqcli before
//! every search) and to SQL-style queries (`tosql`).

use axum::Json;
use axum::extract::RawQuery;
use seqr_query::fuzzy;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::query;

/// `GET api/expressions/resources`.
pub(crate) async fn resources() -> Json<Value> {
    Json(json!({
        "Links": {
            "ToStrict": "api/expressions/tostrict{?fuzzy}",
            "ToSql": "api/expressions/tosql{?fuzzy,schema}",
        }
    }))
}

/// The `fuzzy` parameter, bounded like every filter.
fn fuzzy_param(raw: Option<&str>) -> Result<(String, Option<String>), ApiError> {
    let mut fuzzy = None;
    let mut schema = None;
    for (k, v) in query::pairs(raw.unwrap_or("")) {
        if k.eq_ignore_ascii_case("fuzzy") {
            fuzzy = Some(v);
        } else if k.eq_ignore_ascii_case("schema") {
            schema = Some(v);
        }
    }
    let fuzzy = fuzzy.unwrap_or_default();
    if fuzzy.len() > seqr_query::MAX_FILTER_LEN {
        return Err(ApiError::too_large(format!(
            "The expression is longer than {} bytes.",
            seqr_query::MAX_FILTER_LEN
        )));
    }
    Ok((fuzzy, schema))
}

/// Seq's `ExpressionPart`, plus seqr's `ErrorSpan` (where text that looks like an expression
/// stopped parsing, in UTF-16 code units as browsers index strings) for the search bar's
/// squiggle; Seq's clients ignore members they do not know.
fn part(input: &str, strict: &fuzzy::Strict, expression: String) -> Json<Value> {
    let mut body = json!({
        "StrictExpression": expression,
        "MatchedAsText": strict.matched_as_text,
        "ReasonIfMatchedAsText": strict.reason_if_matched_as_text,
    });
    if let Some(span) = &strict.error_span {
        let utf16 = |byte: usize| input.get(..byte).map_or(0, |s| s.encode_utf16().count());
        body["ErrorSpan"] = json!({ "Start": utf16(span.start), "End": utf16(span.end) });
    }
    Json(body)
}

/// `GET api/expressions/tostrict?fuzzy=…` → `ExpressionPart`.
pub(crate) async fn to_strict(RawQuery(raw): RawQuery) -> Result<Json<Value>, ApiError> {
    let (fuzzy, _) = fuzzy_param(raw.as_deref())?;
    let strict = fuzzy::to_strict(&fuzzy);
    Ok(part(&fuzzy, &strict, strict.strict_expression.clone()))
}

/// `GET api/expressions/tosql?fuzzy=…&schema=stream` → `ExpressionPart` whose expression is a
/// query counting the matching events.
pub(crate) async fn to_sql(RawQuery(raw): RawQuery) -> Result<Json<Value>, ApiError> {
    let (fuzzy, schema) = fuzzy_param(raw.as_deref())?;
    let source = match schema.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("") | Some("stream") => "stream",
        Some("series") => "series",
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "The schema `{other}` is not known; use `stream` or `series`."
            )));
        }
    };
    let strict = fuzzy::to_strict(&fuzzy);
    let sql = if strict.strict_expression.is_empty() {
        format!("select count(*) from {source}")
    } else {
        format!(
            "select count(*) from {source} where {}",
            strict.strict_expression
        )
    };
    Ok(part(&fuzzy, &strict, sql))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_span_counts_utf16_units_of_the_input_as_given() {
        let input = "  Name = 'é' and";
        let Json(body) = part(input, &fuzzy::to_strict(input), String::new());
        assert_eq!(body["MatchedAsText"], true);
        let start = body["ErrorSpan"]["Start"].as_u64().unwrap() as usize;
        // The parser stops at the end, after the dangling `and`: 16 UTF-16 units, 17 bytes.
        assert_eq!(start, input.encode_utf16().count(), "{body}");
        let Json(ok) = part("A = 1", &fuzzy::to_strict("A = 1"), String::new());
        assert!(ok.get("ErrorSpan").is_none());
    }
}
