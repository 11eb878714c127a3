//! Filters applied to reads: the request's own `filter` and the caller's view filter, AND-ed,
//! so a user with a view filter never sees an event outside it, whatever they ask for.

use axum::http::StatusCode;
use seqr_query::Filter;
use seqr_types::{StoredEvent, Timestamp};

use crate::auth::enforce::Principal;
use crate::error::ApiError;

/// Compiles a request's strict `filter` parameter. Free text is not accepted here (clients
/// call `api/expressions/tostrict` first, as Seq.Api and seqcli do); a syntax error is a 400
/// naming its position.
pub(crate) fn parse_request_filter(key: &str, text: &str) -> Result<Option<Filter>, ApiError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    if text.len() > seqr_query::MAX_FILTER_LEN {
        return Err(ApiError::too_large(format!(
            "The `{key}` expression is longer than {} bytes.",
            seqr_query::MAX_FILTER_LEN
        )));
    }
    Filter::parse(text)
        .map(Some)
        .map_err(|e| ApiError::bad_request(format!("The `{key}` expression is not valid. {e}")))
}

/// The caller's view filter, compiled. One that no longer compiles (stored by an older
/// version) fails closed: the caller reads nothing rather than everything.
pub(crate) fn view_filter(caller: &Principal) -> Result<Option<Filter>, ApiError> {
    let Some(text) = caller.view_filter() else {
        return Ok(None);
    };
    Filter::parse(text).map(Some).map_err(|e| {
        tracing::warn!(error = %e, "a stored view filter does not compile");
        ApiError::new(
            StatusCode::FORBIDDEN,
            "Your account's view filter is not a valid expression, so no events can be shown \
             to you; an administrator can correct it.",
        )
    })
}

/// Every filter must match. Empty means everything matches.
#[derive(Default)]
pub(crate) struct ReadFilter {
    filters: Vec<Filter>,
    now_ticks: i64,
}

impl ReadFilter {
    /// The caller's view filter AND-ed with an optional request filter.
    pub(crate) fn new(caller: &Principal, request: Option<Filter>) -> Result<ReadFilter, ApiError> {
        let filters = view_filter(caller)?.into_iter().chain(request).collect();
        Ok(ReadFilter {
            filters,
            now_ticks: Timestamp::now().ticks(),
        })
    }

    /// Exactly these filters, for work done on nobody's behalf (retention policies).
    pub(crate) fn of(filters: Vec<Filter>) -> ReadFilter {
        ReadFilter {
            filters,
            now_ticks: Timestamp::now().ticks(),
        }
    }

    /// Moves `now()` in the filters to the present, for filters that outlive one request
    /// (live tail).
    pub(crate) fn refresh_clock(&mut self) {
        self.now_ticks = Timestamp::now().ticks();
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.filters.is_empty()
    }

    /// The tightest `@Timestamp` range the filters imply, so the store reads only that range.
    pub(crate) fn time_range(&self) -> (Option<Timestamp>, Option<Timestamp>) {
        let (mut from, mut to): (Option<i64>, Option<i64>) = (None, None);
        for f in &self.filters {
            for p in seqr_query::pushdown::predicates(&f.expr) {
                if let seqr_query::pushdown::Predicate::TimeRange { from: lo, to: hi } = p {
                    from = from.max(lo);
                    to = match (to, hi) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                }
            }
        }
        (
            from.map(Timestamp::from_ticks),
            to.map(Timestamp::from_ticks),
        )
    }

    /// Everything the filters imply, for the store to skip blocks by.
    pub(crate) fn predicates(&self) -> Vec<seqr_query::pushdown::Predicate> {
        self.filters
            .iter()
            .flat_map(|f| seqr_query::pushdown::predicates(&f.expr))
            .collect()
    }

    /// The filters as one exact conjunction, when each is one ([`seqr_query::pushdown::exact`]).
    pub(crate) fn exact_predicates(&self) -> Option<Vec<seqr_query::pushdown::Predicate>> {
        let mut all = Vec::new();
        for f in &self.filters {
            all.extend(seqr_query::pushdown::exact(&f.expr)?);
        }
        Some(all)
    }

    pub(crate) fn matches(&self, event: &StoredEvent) -> bool {
        self.filters
            .iter()
            .all(|f| f.matches(event, self.now_ticks))
    }
}

/// An API key's arrival filter, compiled once when the key is verified and shared by every
/// request that presents it. Equality is by source text (the key cache compares keys).
#[derive(Clone)]
pub struct ArrivalFilter(std::sync::Arc<Filter>);

impl ArrivalFilter {
    /// Compiles a stored arrival filter. One that no longer compiles keeps every event (an
    /// arrival filter discards noise; failing open loses nothing) and is logged.
    pub fn compile(key_id: &str, text: Option<&str>) -> Option<ArrivalFilter> {
        let text = text.filter(|t| !t.trim().is_empty())?;
        match Filter::parse(text) {
            Ok(f) => Some(ArrivalFilter(std::sync::Arc::new(f))),
            Err(e) => {
                tracing::warn!(key = key_id, error = %e, "an API key's arrival filter does not compile; events are kept");
                None
            }
        }
    }

    /// Keeps the event when the filter evaluates to `true`.
    pub fn keeps(&self, event: seqr_types::Event, now_ticks: i64) -> Option<seqr_types::Event> {
        let stored = StoredEvent {
            id: seqr_types::EventId::default(),
            event,
        };
        self.0.matches(&stored, now_ticks).then_some(stored.event)
    }
}

impl PartialEq for ArrivalFilter {
    fn eq(&self, other: &ArrivalFilter) -> bool {
        self.0.source == other.0.source
    }
}

impl std::fmt::Debug for ArrivalFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ArrivalFilter")
            .field(&self.0.source)
            .finish()
    }
}
