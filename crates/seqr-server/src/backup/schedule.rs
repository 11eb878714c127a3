//! The daily backup: at `BackupUtcTimeOfDay` (default 02:00 UTC) the server makes an encrypted
//! backup into the backup location and keeps the newest `BackupsToKeep` (default 7; 0 turns
//! scheduled backups off).
//!
//! The time of the last scheduled run is kept in the metadata, so a restart neither repeats a
//! day's backup nor skips one that fell due while the server was down (it runs at the next
//! check). A new data directory counts as having run at its first start, so a fresh server does
//! not back up an empty instance at once.

use std::time::Duration;

use seqr_meta::settings::{self, SettingName, SettingValue};

use crate::AppState;

/// How often the schedule is looked at (it is one metadata read).
const CHECK_INTERVAL: Duration = Duration::from_secs(5);
const LAST_RUN_KEY: &str = "backup-last-scheduled";
const DEFAULT_TIME_OF_DAY: u32 = 2 * 3600;
/// Shown as the `BackupUtcTimeOfDay` default.
pub(crate) const DEFAULT_TIME_OF_DAY_TEXT: &str = "02:00:00";

/// Seconds after midnight of `HH:MM` or `HH:MM:SS` (Seq's TimeSpan form).
pub(crate) fn parse_time_of_day(text: &str) -> Option<u32> {
    let mut parts = text.trim().split(':');
    let h: u32 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let s: u32 = match parts.next() {
        Some(s) => s.split('.').next()?.parse().ok()?,
        None => 0,
    };
    (parts.next().is_none() && h < 24 && m < 60 && s < 60).then_some(h * 3600 + m * 60 + s)
}

fn time_of_day(state: &AppState) -> u32 {
    match settings::get(&state.meta, SettingName::BackupUtcTimeOfDay)
        .ok()
        .flatten()
        .map(|s| s.value)
    {
        Some(SettingValue::Json(serde_json::Value::String(t))) => parse_time_of_day(&t)
            .unwrap_or_else(|| {
                tracing::warn!(value = %t, "BackupUtcTimeOfDay is not HH:MM[:SS]; using 02:00");
                DEFAULT_TIME_OF_DAY
            }),
        _ => DEFAULT_TIME_OF_DAY,
    }
}

fn last_run(state: &AppState) -> Option<i64> {
    let raw = settings::get_internal(&state.meta, LAST_RUN_KEY).ok()??;
    Some(i64::from_le_bytes(raw.try_into().ok()?))
}

fn set_last_run(state: &AppState, at: i64) {
    if let Err(e) = settings::set_internal(&state.meta, LAST_RUN_KEY, &at.to_le_bytes(), at) {
        tracing::error!(error = %e, "cannot record the scheduled backup's time");
    }
}

/// The first moment after `last` at `time_of_day` (seconds after UTC midnight).
fn next_after(last: i64, time_of_day: u32) -> i64 {
    let candidate = last.div_euclid(86_400) * 86_400 + i64::from(time_of_day);
    if candidate > last {
        candidate
    } else {
        candidate + 86_400
    }
}

/// Runs until `stop` turns true.
pub(crate) async fn run_periodically(
    state: AppState,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(CHECK_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => break,
        }
        let s = state.clone();
        let due = tokio::task::spawn_blocking(move || {
            if super::backups_to_keep(&s.meta) == 0 {
                return false;
            }
            let now = crate::auth::enforce::unix_now();
            let Some(last) = last_run(&s) else {
                set_last_run(&s, now);
                return false;
            };
            if now < next_after(last, time_of_day(&s)) {
                return false;
            }
            // Recorded first: a failing backup is retried the next day, not every few seconds.
            set_last_run(&s, now);
            true
        })
        .await
        .unwrap_or(false);
        if due {
            match super::api::make_now(&state).await {
                Ok(b) => tracing::info!(file = %b.filename, "scheduled backup made"),
                Err(e) => tracing::error!(error = %e.message(), "the scheduled backup failed"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_of_day_and_the_next_run() {
        assert_eq!(parse_time_of_day("02:00"), Some(7200));
        assert_eq!(parse_time_of_day("23:59:59"), Some(86_399));
        assert_eq!(parse_time_of_day("02:00:00.0000000"), Some(7200));
        for bad in ["24:00", "1:60", "x", "01:02:03:04", ""] {
            assert_eq!(parse_time_of_day(bad), None, "{bad}");
        }
        let day = 20_000 * 86_400;
        assert_eq!(next_after(day + 3600, 7200), day + 7200);
        assert_eq!(next_after(day + 7200, 7200), day + 86_400 + 7200);
        assert_eq!(next_after(day + 9000, 7200), day + 86_400 + 7200);
    }
}
