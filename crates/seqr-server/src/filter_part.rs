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

impl DescriptiveFilterPart {
    /// The expression (strict, else the non-strict form), trimmed; `None` when both are blank.
    pub(crate) fn expression(self) -> Option<String> {
        [self.filter, self.filter_non_strict]
            .into_iter()
            .flatten()
            .map(|t| t.trim().to_owned())
            .find(|t| !t.is_empty())
    }
}
