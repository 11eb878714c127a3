//! Seq's `DescriptiveFilterPart` as clients send it (API key arrival filters, user view
//! filters). Seq's clients send the object with a null `Filter` when there is none.

use serde::Deserialize;

/// `{Description, DescriptionIsExcluded, Filter, FilterNonStrict}`; only the expressions matter.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct DescriptiveFilterPart {
    filter: Option<String>,
    filter_non_strict: Option<String>,
}

/// Validates a filter a client stores (an arrival filter or a view filter) and returns the
/// strict text to keep. `Filter` must be strict; when only `FilterNonStrict` (the text as
/// typed in the UI) is sent, it is converted as the search bar would.
pub(crate) fn strict_filter(
    field: &str,
    part: Option<DescriptiveFilterPart>,
    max_chars: usize,
) -> Result<Option<String>, crate::error::ApiError> {
    use crate::error::ApiError;
    let Some(part) = part else { return Ok(None) };
    let strict = part
        .filter
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    let text = match strict {
        Some(text) => text,
        None => match part
            .filter_non_strict
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
        {
            Some(fuzzy) if fuzzy.len() <= seqr_query::MAX_FILTER_LEN => {
                seqr_query::fuzzy::to_strict(&fuzzy).strict_expression
            }
            Some(_) => {
                return Err(ApiError::bad_request(format!(
                    "{field}: at most {max_chars} characters."
                )));
            }
            None => return Ok(None),
        },
    };
    if text.chars().count() > max_chars {
        return Err(ApiError::bad_request(format!(
            "{field}: at most {max_chars} characters."
        )));
    }
    seqr_query::Filter::parse(&text)
        .map_err(|e| ApiError::bad_request(format!("{field} is not a valid expression. {e}")))?;
    Ok(Some(text))
}
