//! Elasticsearch's `_bulk` API, as Filebeat, Vector's `elasticsearch` sink and Fluent Bit's
//! `es` output send it, and the few other answers they need to start. The mapping is in the
//! crate docs.

mod bulk;
mod document;
mod response;

use crate::{DecodeError, Decoded};

pub use response::{
    ES_VERSION, acknowledged, bulk_response, cluster_health, empty_object, error_response, license,
    root_info, xpack,
};

/// A bulk request's outcome, item by item in request order.
#[derive(Debug, Default)]
pub struct BulkOutcome {
    /// The events of the stored items, in order; `rejected` counts the refused items.
    pub decoded: Decoded,
    pub items: Vec<Item>,
}

/// One action of the request and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub action: Action,
    /// The target index: the action's `_index`, else the one in the path.
    pub index: String,
    /// The action's `_id`, if it had one. The server may set it (to the stored event's id)
    /// before building the answer; otherwise an id is made up from the item's position.
    pub id: Option<String>,
    pub result: ItemResult,
}

/// What became of an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemResult {
    /// Stored: `decoded.events[event]` (201 `created`).
    Stored { event: usize },
    /// Refused on its own, with Elasticsearch's status and error type.
    Refused {
        status: u16,
        kind: &'static str,
        reason: String,
    },
}

/// A bulk action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Index,
    Create,
    Update,
    Delete,
}

impl Action {
    /// The action's name in requests and answers.
    pub fn name(self) -> &'static str {
        match self {
            Action::Index => "index",
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}

/// A `_bulk` body as events. `default_index` is the index in the path (`/es/{index}/_bulk`);
/// each document is held to `max_event_bytes`.
pub fn decode_bulk(
    body: &[u8],
    default_index: Option<&str>,
    max_event_bytes: usize,
) -> Result<BulkOutcome, DecodeError> {
    bulk::decode(body, default_index, max_event_bytes)
}
