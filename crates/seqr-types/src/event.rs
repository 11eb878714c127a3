//! The event model: what an ingested event is, before and after storage.

use std::fmt;
use std::str::FromStr;

use crate::Timestamp;

/// User properties: insertion-ordered, values keep number precision.
pub type Properties = serde_json::Map<String, serde_json::Value>;

/// One structured log event, as decoded from CLEF or the legacy JSON format.
///
/// Fields mirror CLEF's reified members; everything a client sent is kept as sent
/// (the level's spelling, number precision, `$type` tags) so the API can give it back unchanged.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Event {
    /// `@t`: when the event happened (span end time for spans).
    pub timestamp: Timestamp,
    /// `@l` exactly as sent; `None` means Information.
    pub level: Option<String>,
    /// `@mt`.
    pub message_template: Option<String>,
    /// `@m`: a message the client rendered itself.
    pub message: Option<String>,
    /// `@x`.
    pub exception: Option<String>,
    /// `@i`, or Murmur3-32 of the template (see [`crate::event_type`]).
    pub event_type: u32,
    /// `@r`: pre-rendered values for the template's formatted holes, in order.
    pub renderings: Vec<String>,
    /// `@tr`.
    pub trace_id: Option<String>,
    /// `@sp`.
    pub span_id: Option<String>,
    /// `@ps`.
    pub parent_id: Option<String>,
    /// `@st`: present only on spans.
    pub span_start: Option<Timestamp>,
    /// `@sk`.
    pub span_kind: Option<String>,
    /// `@ra`: OpenTelemetry resource attributes.
    pub resource: Option<Properties>,
    /// `@sa`: OpenTelemetry scope.
    pub scope: Option<Properties>,
    /// User properties (`@@x` already unescaped to `@x`).
    pub properties: Properties,
    /// Unrecognised single-`@` members, kept verbatim but not part of `@Properties`.
    pub extensions: Properties,
}

impl Event {
    /// The level as Seq reports it: as sent, or `Information` when none was sent.
    pub fn level_or_default(&self) -> &str {
        self.level.as_deref().unwrap_or("Information")
    }

    /// The template to show for this event: `@mt`, else the client-rendered `@m` (as Seq does).
    pub fn template_or_message(&self) -> &str {
        self.message_template
            .as_deref()
            .or(self.message.as_deref())
            .unwrap_or("")
    }

    /// The fully rendered message: `@m` when the client sent one, else the rendered template.
    pub fn rendered_message(&self) -> String {
        match &self.message {
            Some(m) => m.clone(),
            None => crate::template::render(
                &crate::template::parse(self.template_or_message()),
                &self.properties,
                &self.renderings,
            ),
        }
    }
}

/// The identity of a stored event: its timestamp plus a store-wide arrival sequence.
///
/// The text form is `event-` followed by 16 hex digits of ticks and 16 of the sequence, so the
/// string order, the derived `Ord` and (timestamp, arrival) order all agree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EventId {
    /// Event timestamp in ticks.
    pub ticks: i64,
    /// Arrival sequence, unique across the store.
    pub arrival: u64,
}

impl EventId {
    /// The smallest id at a timestamp: every event at `ts` sorts at or after it.
    pub fn first_at(ts: Timestamp) -> EventId {
        EventId {
            ticks: ts.ticks(),
            arrival: 0,
        }
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Ticks are never negative (year 1 onwards), so the hex form sorts like the number.
        write!(f, "event-{:016x}{:016x}", self.ticks as u64, self.arrival)
    }
}

/// An event id string that is not `event-<32 hex>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventIdParseError;

impl fmt::Display for EventIdParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event id has the form event-<32 hex digits>")
    }
}

impl std::error::Error for EventIdParseError {}

impl FromStr for EventId {
    type Err = EventIdParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex = s.strip_prefix("event-").ok_or(EventIdParseError)?;
        if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(EventIdParseError);
        }
        let ticks = u64::from_str_radix(&hex[..16], 16).map_err(|_| EventIdParseError)?;
        let arrival = u64::from_str_radix(&hex[16..], 16).map_err(|_| EventIdParseError)?;
        let ticks = i64::try_from(ticks).map_err(|_| EventIdParseError)?;
        Ok(EventId { ticks, arrival })
    }
}

/// An event as read back from the store.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    /// Store-assigned identity.
    pub id: EventId,
    /// The event itself.
    pub event: Event,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_round_trips_and_sorts_like_text() {
        let a = EventId {
            ticks: 638_000_000_000_000_000,
            arrival: 7,
        };
        let b = EventId {
            ticks: 638_000_000_000_000_000,
            arrival: 300,
        };
        let c = EventId {
            ticks: 638_000_000_000_000_001,
            arrival: 1,
        };
        for id in [a, b, c] {
            let text = id.to_string();
            assert_eq!(text.len(), 6 + 32);
            assert_eq!(text.parse::<EventId>().unwrap(), id);
        }
        assert!(a < b && b < c);
        assert!(a.to_string() < b.to_string() && b.to_string() < c.to_string());
    }

    #[test]
    fn bad_ids_are_rejected() {
        for bad in [
            "",
            "event-",
            "event-xyz",
            "signal-0000000000000000000000000000000a",
            "event-ffffffffffffffff0000000000000000",
        ] {
            assert!(bad.parse::<EventId>().is_err(), "{bad}");
        }
    }
}
