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

fn part(strict: &fuzzy::Strict, expression: String) -> Json<Value> {
    Json(json!({
        "StrictExpression": expression,
        "MatchedAsText": strict.matched_as_text,
        "ReasonIfMatchedAsText": strict.reason_if_matched_as_text,
    }))
}

/// `GET api/expressions/tostrict?fuzzy=…` → `ExpressionPart`.
pub(crate) async fn to_strict(RawQuery(raw): RawQuery) -> Result<Json<Value>, ApiError> {
    let (fuzzy, _) = fuzzy_param(raw.as_deref())?;
    let strict = fuzzy::to_strict(&fuzzy);
    Ok(part(&strict, strict.strict_expression.clone()))
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
    Ok(part(&strict, sql))
}
