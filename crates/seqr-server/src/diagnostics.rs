//! `api/diagnostics/storage` (System): storage space by day, in Seq's `StorageConsumptionPart`
//! shape (seq-compat 3.12), plus seqr's `Totals` from the store's statistics.
//!
//! The store keeps one partition per UTC day, so a day is the finest interval: `IntervalSeconds`
//! may be any whole number of days, and the range is widened to whole intervals. Rows are sparse
//! (intervals without stored data are left out) and count flushed data only: events still in the
//! memtables are in `Totals.MemtableEvents`.

use axum::Json;
use axum::extract::{RawQuery, State};
use seqr_types::Timestamp;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiError;
use crate::query;

const DAY_SECONDS: i64 = 86_400;
const TICKS_PER_SECOND: i64 = 10_000_000;
const TICKS_PER_DAY: i64 = DAY_SECONDS * TICKS_PER_SECOND;

/// The request's range and interval (ticks).
#[derive(Debug, PartialEq, Eq)]
struct Params {
    start: Option<i64>,
    end: Option<i64>,
    interval: i64,
}

fn parse(raw: Option<&str>) -> Result<Params, ApiError> {
    let mut p = Params {
        start: None,
        end: None,
        interval: TICKS_PER_DAY,
    };
    for (key, value) in query::pairs(raw.unwrap_or("")) {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let date = || {
            Timestamp::parse(value)
                .map(Timestamp::ticks)
                .map_err(|e| ApiError::bad_request(format!("`{key}`: {e}.")))
        };
        let whole = |unit: i64, unit_name: &str| -> Result<i64, ApiError> {
            let n: i64 = value.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "`{key}` must be a positive whole number of {unit_name}, not `{value}`."
                ))
            })?;
            let ticks = n.checked_mul(unit).filter(|t| t % TICKS_PER_DAY == 0);
            ticks.ok_or_else(|| {
                ApiError::bad_request(format!(
                    "`{key}` must be a whole number of days ({} {unit_name} each): seqr stores \
                     events in one partition per UTC day.",
                    TICKS_PER_DAY / unit
                ))
            })
        };
        match key.to_ascii_lowercase().as_str() {
            "rangestart" => p.start = Some(date()?),
            "rangeend" => p.end = Some(date()?),
            "intervalseconds" => p.interval = whole(TICKS_PER_SECOND, "seconds")?,
            // Seq.Api before 2025 passed minutes.
            "intervalminutes" => p.interval = whole(60 * TICKS_PER_SECOND, "minutes")?,
            _ => {}
        }
    }
    if let (Some(s), Some(e)) = (p.start, p.end)
        && e <= s
    {
        return Err(ApiError::bad_request(
            "`rangeEnd` must be later than `rangeStart`.",
        ));
    }
    Ok(p)
}

fn floor_day(ticks: i64) -> i64 {
    ticks.div_euclid(TICKS_PER_DAY) * TICKS_PER_DAY
}

fn iso(ticks: i64) -> String {
    Timestamp::from_ticks(ticks).to_iso()
}

fn range(start: i64, end: i64) -> Value {
    json!({ "Start": iso(start), "End": iso(end) })
}

/// `GET api/diagnostics/storage{?rangeStart,rangeEnd,intervalSeconds,intervalMinutes}`.
pub(crate) async fn storage(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let params = parse(raw.as_deref())?;
    let days = state.store.usage();
    let stats = state.store.stats();
    let full = match (days.first(), days.last()) {
        (Some(first), Some(last)) => Some((first.day.ticks(), last.day.ticks() + TICKS_PER_DAY)),
        _ => None,
    };
    let today = floor_day(Timestamp::now().ticks());
    let start = floor_day(params.start.or(full.map(|f| f.0)).unwrap_or(today).max(0));
    let end_wanted = params
        .end
        .or(full.map(|f| f.1))
        .unwrap_or(start + TICKS_PER_DAY)
        .max(start + 1);
    // Whole intervals from `start`, covering `end_wanted`.
    let (span, interval) = (i128::from(end_wanted - start), i128::from(params.interval));
    let covered = (span + interval - 1) / interval * interval;
    let end = i64::try_from(i128::from(start) + covered).unwrap_or(i64::MAX);

    let mut rows: Vec<(i64, u64, u64, usize)> = Vec::new();
    for d in &days {
        let t = d.day.ticks();
        if t < start || t >= end {
            continue;
        }
        let bucket = start + (t - start) / params.interval * params.interval;
        match rows.last_mut() {
            Some(r) if r.0 == bucket => {
                r.1 += d.bytes;
                r.2 += d.events;
                r.3 += d.parts;
            }
            _ => rows.push((bucket, d.bytes, d.events, d.parts)),
        }
    }
    let (full_start, full_end) = full.unwrap_or((start, end));
    Ok(Json(json!({
        "Range": range(start, end),
        "FullRange": range(full_start, full_end),
        "IntervalSeconds": params.interval / TICKS_PER_SECOND,
        "TickIntervalSeconds": DAY_SECONDS,
        "Results": {
            "Columns": [
                { "Label": "Time", "Type": "Timestamp" },
                { "Label": "Bytes", "Type": "General" },
                { "Label": "Events", "Type": "General" },
                { "Label": "Parts", "Type": "General" },
            ],
            "Rows": rows
                .iter()
                .map(|(t, bytes, events, parts)| json!([iso(*t), bytes, events, parts]))
                .collect::<Vec<_>>(),
        },
        // seqr extension: the whole store, including what is not yet in day partitions.
        "Totals": {
            "Events": stats.events,
            "BytesOnDisk": stats.bytes_on_disk,
            "PartBytes": stats.part_bytes,
            "WalBytes": stats.wal_bytes,
            "Parts": stats.parts,
            "MemtableEvents": stats.memtable_events,
            "QuarantinedFiles": stats.quarantined,
            "BlocksRead": stats.blocks_read,
            "BlocksSkipped": stats.blocks_skipped,
            "WritesFailed": stats.poisoned.is_some(),
            "FlushFailing": stats.flush_error.is_some(),
        },
    })))
}

/// `GET api/diagnostics/inputs` (a seqr addition): each GELF and syslog listener's counters
/// since start, so an operator can see why a sender's events are missing.
pub(crate) async fn inputs(State(state): State<AppState>) -> Json<Value> {
    Json(json!(state.inputs.snapshot()))
}

/// `GET api/diagnostics/resources`: only the link seqr serves.
pub(crate) async fn resources() -> Json<Value> {
    Json(json!({
        "Links": {
            "Storage": "api/diagnostics/storage{?rangeStart,rangeEnd,intervalSeconds,intervalMinutes}",
            "Inputs": "api/diagnostics/inputs",
            "Metrics": "api/diagnostics/metrics",
            "IngestionLog": "api/diagnostics/ingestion",
            "Status": "api/diagnostics/status",
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters() {
        assert_eq!(
            parse(None).unwrap(),
            Params {
                start: None,
                end: None,
                interval: TICKS_PER_DAY
            }
        );
        let p = parse(Some(
            "rangeStart=2026-01-01T00:00:00.0000000Z&rangeEnd=2026-01-08T00:00:00Z&intervalSeconds=172800",
        ))
        .unwrap();
        assert_eq!(p.interval, 2 * TICKS_PER_DAY);
        assert_eq!(
            parse(Some("intervalMinutes=1440&rangeStart="))
                .unwrap()
                .interval,
            TICKS_PER_DAY
        );
        for bad in [
            "intervalSeconds=3600",
            "intervalSeconds=0",
            "intervalSeconds=-86400",
            "intervalMinutes=x",
            "rangeStart=yesterday",
            "rangeStart=2026-01-02T00:00:00Z&rangeEnd=2026-01-01T00:00:00Z",
        ] {
            assert!(parse(Some(bad)).is_err(), "{bad}");
        }
    }
}
