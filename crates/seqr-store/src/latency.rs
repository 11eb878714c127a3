//! A latency histogram cheap enough for the write path: fixed log-scale buckets of relaxed
//! atomics, no lock and no allocation per observation, so the writer thread can time every
//! fsync and a metrics reader can take a snapshot at any moment.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the buckets in microseconds (1-2.5-5 steps from 50 µs to 10 s); a last,
/// unbounded bucket holds the rest.
pub const BUCKET_BOUNDS_MICROS: [u64; 18] = [
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000, 10_000_000, 30_000_000,
];

const BUCKETS: usize = BUCKET_BOUNDS_MICROS.len() + 1;

/// Observations of one duration, by bucket.
#[derive(Debug)]
pub struct Latency {
    counts: [AtomicU64; BUCKETS],
    sum_nanos: AtomicU64,
}

impl Default for Latency {
    fn default() -> Latency {
        Latency {
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_nanos: AtomicU64::new(0),
        }
    }
}

impl Latency {
    /// Counts one observation.
    pub fn record(&self, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let bucket = BUCKET_BOUNDS_MICROS
            .iter()
            .position(|&bound| micros <= bound)
            .unwrap_or(BUCKETS - 1);
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// The counts so far (each bucket read on its own: a snapshot taken while observations
    /// arrive may be off by the ones in flight, never more).
    pub fn snapshot(&self) -> LatencySnapshot {
        LatencySnapshot {
            counts: self
                .counts
                .iter()
                .map(|c| c.load(Ordering::Relaxed))
                .collect(),
            sum_nanos: self.sum_nanos.load(Ordering::Relaxed),
        }
    }
}

/// A [`Latency`] as read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LatencySnapshot {
    /// Per bucket, not cumulative: `counts[i]` observations were at most
    /// `BUCKET_BOUNDS_MICROS[i]` and above the bound before; the last is above every bound.
    pub counts: Vec<u64>,
    /// All observations added up, in nanoseconds.
    pub sum_nanos: u64,
}

impl LatencySnapshot {
    /// How many observations there were.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_the_first_bucket_that_holds_them() {
        let l = Latency::default();
        l.record(Duration::from_micros(10));
        l.record(Duration::from_micros(50));
        l.record(Duration::from_micros(51));
        l.record(Duration::from_millis(3));
        l.record(Duration::from_secs(60));
        let s = l.snapshot();
        assert_eq!(s.counts.len(), BUCKET_BOUNDS_MICROS.len() + 1);
        assert_eq!(s.counts[0], 2, "up to 50 µs");
        assert_eq!(s.counts[1], 1, "51 µs is in the 100 µs bucket");
        assert_eq!(s.counts[6], 1, "3 ms is in the 5 ms bucket");
        assert_eq!(*s.counts.last().unwrap(), 1, "beyond every bound");
        assert_eq!(s.count(), 5);
        assert_eq!(s.sum_nanos, 60_003_111_000);
    }
}
