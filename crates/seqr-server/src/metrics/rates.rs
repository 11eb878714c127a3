//! Seq's "per minute" and "last day" figures: differences of the cumulative counters against
//! samples taken every ten seconds (and every ten minutes for the day), so a figure covers the
//! last 60-70 seconds (or 24 hours to 24 hours 10 minutes), scaled to exactly one minute. A
//! server up for less than a minute reports its rate so far, scaled the same way.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Metrics;

const MINUTE_TICK: Duration = Duration::from_secs(10);
const DAY_TICK: Duration = Duration::from_secs(600);
const MINUTE: Duration = Duration::from_secs(60);
const DAY: Duration = Duration::from_secs(86_400);

/// The cumulative figures sampled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    pub(crate) arrived_events: u64,
    pub(crate) ingested_events: u64,
    pub(crate) ingested_bytes: u64,
    pub(crate) invalid_payloads: u64,
    pub(crate) unauthorized: u64,
    pub(crate) queries: u64,
    pub(crate) write_nanos: u64,
    pub(crate) flush_nanos: u64,
}

impl Totals {
    fn minus(&self, then: &Totals) -> Totals {
        Totals {
            arrived_events: self.arrived_events.saturating_sub(then.arrived_events),
            ingested_events: self.ingested_events.saturating_sub(then.ingested_events),
            ingested_bytes: self.ingested_bytes.saturating_sub(then.ingested_bytes),
            invalid_payloads: self.invalid_payloads.saturating_sub(then.invalid_payloads),
            unauthorized: self.unauthorized.saturating_sub(then.unauthorized),
            queries: self.queries.saturating_sub(then.queries),
            write_nanos: self.write_nanos.saturating_sub(then.write_nanos),
            flush_nanos: self.flush_nanos.saturating_sub(then.flush_nanos),
        }
    }

    fn scaled(&self, factor: f64) -> Totals {
        let s = |v: u64| (v as f64 * factor).round() as u64;
        Totals {
            arrived_events: s(self.arrived_events),
            ingested_events: s(self.ingested_events),
            ingested_bytes: s(self.ingested_bytes),
            invalid_payloads: s(self.invalid_payloads),
            unauthorized: s(self.unauthorized),
            queries: s(self.queries),
            write_nanos: s(self.write_nanos),
            flush_nanos: s(self.flush_nanos),
        }
    }
}

/// Recent samples, oldest first.
#[derive(Default)]
pub(crate) struct Samples {
    minute: VecDeque<(Instant, Totals)>,
    day: VecDeque<(Instant, Totals)>,
}

impl Samples {
    fn push(&mut self, at: Instant, totals: Totals, day_too: bool) {
        self.minute.push_back((at, totals));
        while self.minute.len() > 8 {
            self.minute.pop_front();
        }
        if day_too {
            self.day.push_back((at, totals));
            while self.day.len() > 146 {
                self.day.pop_front();
            }
        }
    }

    /// The change over the last `window` up to `now`, from the youngest sample at least
    /// `window` old (else the oldest), scaled to `window` when `scale`.
    fn over(
        ring: &VecDeque<(Instant, Totals)>,
        window: Duration,
        now: (Instant, Totals),
        scale: bool,
    ) -> Totals {
        let Some(&(at, then)) = ring
            .iter()
            .rev()
            .find(|(at, _)| now.0.duration_since(*at) >= window)
            .or(ring.front())
        else {
            return Totals::default();
        };
        let change = now.1.minus(&then);
        let age = now.0.duration_since(at);
        if !scale || age.is_zero() {
            return change;
        }
        change.scaled(window.as_secs_f64() / age.as_secs_f64())
    }

    /// Per minute (scaled), and the flush time over the last day (not scaled: a younger
    /// server reports its time so far).
    pub(crate) fn rates(&self, now: Instant, totals: Totals) -> (Totals, Duration) {
        let minute = Self::over(&self.minute, MINUTE, (now, totals), true);
        let day = Self::over(&self.day, DAY, (now, totals), false);
        (minute, Duration::from_nanos(day.flush_nanos))
    }
}

impl Metrics {
    /// Takes a sample now.
    pub(crate) fn sample(&self, store: &seqr_store::Store, day_too: bool) {
        let totals = self.totals(&store.stats());
        let mut s = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        s.push(Instant::now(), totals, day_too);
    }

    /// The figures per minute now, and the flush time over the last day.
    pub(crate) fn rates(&self, stats: &seqr_store::StoreStats) -> (Totals, Duration) {
        let totals = self.totals(stats);
        let s = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        s.rates(Instant::now(), totals)
    }
}

/// Samples the counters every ten seconds until the server stops.
pub(crate) async fn run_sampler(
    metrics: Arc<Metrics>,
    store: seqr_store::Store,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(MINUTE_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_day: Option<Instant> = None;
    loop {
        tokio::select! {
            () = crate::http_serve::stopped(&mut stop) => return,
            _ = tick.tick() => {}
        }
        let day_too = last_day.is_none_or(|at| at.elapsed() >= DAY_TICK);
        if day_too {
            last_day = Some(Instant::now());
        }
        let (m, s) = (metrics.clone(), store.clone());
        let _ = tokio::task::spawn_blocking(move || m.sample(&s, day_too)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(n: u64) -> Totals {
        Totals {
            arrived_events: n,
            ..Default::default()
        }
    }

    #[test]
    fn a_minute_is_measured_against_the_sample_a_minute_old() {
        let t0 = Instant::now();
        let mut s = Samples::default();
        for i in 0..8u64 {
            s.push(t0 + MINUTE_TICK * i as u32, events(i * 100), false);
        }
        // At 75 s: the samples at 10 s (100) ... 70 s (700); the youngest a minute old is 10 s.
        let now = t0 + Duration::from_secs(75);
        let (m, _) = s.rates(now, events(800));
        // 700 events over 65 s, scaled to 60 s.
        assert_eq!(m.arrived_events, (700.0_f64 * 60.0 / 65.0).round() as u64);
    }

    #[test]
    fn a_young_server_reports_its_rate_so_far() {
        let t0 = Instant::now();
        let mut s = Samples::default();
        s.push(t0, events(0), true);
        let (m, _) = s.rates(t0 + Duration::from_secs(30), events(50));
        assert_eq!(m.arrived_events, 100, "50 in 30 s is 100 a minute");
        let empty = Samples::default();
        assert_eq!(empty.rates(t0, events(5)).0, Totals::default());
    }
}
