//! Failed sign-in throttling: growing delays per client address and per username.
//!
//! There is deliberately no lockout: an attacker who could lock an account could deny its owner
//! service. Instead, after a few free failures each further attempt must wait twice as long as
//! the last (capped), and a success clears the counters. Attempts made too early are refused
//! with 429 and `Retry-After` before any password is checked, so guessing gets no faster by
//! sending more requests.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Throttle parameters; configurable so tests can run with millisecond delays.
#[derive(Clone, Debug)]
pub struct ThrottleConfig {
    /// Failures allowed before any delay applies.
    pub free_failures: u32,
    /// Delay after the first failure past the free ones; doubles with each further failure.
    pub base_delay: Duration,
    /// Longest delay between attempts.
    pub max_delay: Duration,
    /// Counters are forgotten this long after the last failure.
    pub forget_after: Duration,
    /// Most tracked addresses and usernames; the stalest are forgotten beyond it.
    pub max_tracked: usize,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            free_failures: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            forget_after: Duration::from_secs(15 * 60),
            max_tracked: 100_000,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Subject {
    Address(IpAddr),
    Username(String),
}

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    last: Instant,
}

/// The shared throttle state.
#[derive(Debug, Default)]
pub struct SignInThrottle {
    config: ThrottleConfig,
    failures: Mutex<HashMap<Subject, Failures>>,
}

/// An attempt made before its delay passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooSoon {
    /// How long until the next attempt is considered.
    pub retry_after: Duration,
}

impl SignInThrottle {
    /// A throttle with the given parameters.
    pub fn new(config: ThrottleConfig) -> SignInThrottle {
        SignInThrottle {
            config,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn subjects(address: IpAddr, username: &str) -> [Subject; 2] {
        [
            Subject::Address(address),
            Subject::Username(username.trim().to_lowercase()),
        ]
    }

    /// Whether an attempt from `address` for `username` may be checked now.
    pub fn check(&self, address: IpAddr, username: &str, now: Instant) -> Result<(), TooSoon> {
        let failures = self.failures.lock().expect("throttle lock");
        let wait = Self::subjects(address, username)
            .iter()
            .filter_map(|s| failures.get(s))
            .map(|f| (f.last + self.delay_after(f.count)).saturating_duration_since(now))
            .max()
            .unwrap_or_default();
        if wait.is_zero() {
            Ok(())
        } else {
            Err(TooSoon { retry_after: wait })
        }
    }

    /// Records a failed attempt.
    pub fn failed(&self, address: IpAddr, username: &str, now: Instant) {
        let mut failures = self.failures.lock().expect("throttle lock");
        if failures.len() >= self.config.max_tracked {
            let forget_after = self.config.forget_after;
            failures.retain(|_, f| now.saturating_duration_since(f.last) < forget_after);
            if failures.len() >= self.config.max_tracked {
                // Still full of recent failures: forget the stalest half rather than grow.
                let mut lasts: Vec<Instant> = failures.values().map(|f| f.last).collect();
                lasts.sort_unstable();
                let cutoff = lasts[lasts.len() / 2];
                failures.retain(|_, f| f.last > cutoff);
            }
        }
        for subject in Self::subjects(address, username) {
            let entry = failures.entry(subject).or_insert(Failures {
                count: 0,
                last: now,
            });
            if now.saturating_duration_since(entry.last) >= self.config.forget_after {
                entry.count = 0;
            }
            entry.count = entry.count.saturating_add(1);
            entry.last = now;
        }
    }

    /// Records a successful sign-in: both counters start again.
    pub fn succeeded(&self, address: IpAddr, username: &str) {
        let mut failures = self.failures.lock().expect("throttle lock");
        for subject in Self::subjects(address, username) {
            failures.remove(&subject);
        }
    }

    /// The wait imposed after `count` failures.
    fn delay_after(&self, count: u32) -> Duration {
        let Some(excess) = count
            .checked_sub(self.config.free_failures)
            .filter(|e| *e > 0)
        else {
            return Duration::ZERO;
        };
        let factor = 1u32.checked_shl(excess - 1).unwrap_or(u32::MAX);
        self.config
            .base_delay
            .saturating_mul(factor)
            .min(self.config.max_delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    fn throttle() -> SignInThrottle {
        SignInThrottle::new(ThrottleConfig {
            free_failures: 2,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(8),
            forget_after: Duration::from_secs(100),
            max_tracked: 1000,
        })
    }

    #[test]
    fn delays_grow_per_address_and_cap() {
        let t = throttle();
        let mut now = Instant::now();
        for _ in 0..2 {
            assert_eq!(t.check(A, "alice", now), Ok(()));
            t.failed(A, "alice", now);
        }
        assert_eq!(t.check(A, "alice", now), Ok(()), "two free failures");
        let mut expected = [1, 2, 4, 8, 8].into_iter();
        t.failed(A, "alice", now);
        loop {
            let wait = t.check(A, "someone-else", now).unwrap_err().retry_after;
            assert_eq!(wait, Duration::from_secs(expected.next().unwrap()));
            now += wait;
            assert_eq!(t.check(A, "someone-else", now), Ok(()));
            if expected.len() == 0 {
                break;
            }
            t.failed(A, "someone-else", now);
        }
    }

    #[test]
    fn a_username_is_throttled_from_every_address_without_lockout() {
        let t = throttle();
        let now = Instant::now();
        for _ in 0..3 {
            t.failed(A, "Alice", now);
        }
        let wait = t.check(B, "alice ", now).unwrap_err().retry_after;
        assert_eq!(wait, Duration::from_secs(1));
        assert_eq!(
            t.check(B, "alice", now + wait),
            Ok(()),
            "waiting is always enough"
        );
        assert_eq!(t.check(B, "bob", now), Ok(()));
    }

    #[test]
    fn success_and_time_clear_the_counters() {
        let t = throttle();
        let now = Instant::now();
        for _ in 0..4 {
            t.failed(A, "alice", now);
        }
        assert!(t.check(A, "alice", now).is_err());
        t.succeeded(A, "alice");
        assert_eq!(t.check(A, "alice", now), Ok(()));

        for _ in 0..4 {
            t.failed(B, "bob", now);
        }
        let later = now + Duration::from_secs(101);
        t.failed(B, "bob", later);
        assert_eq!(
            t.check(B, "bob", later),
            Ok(()),
            "old failures were forgotten"
        );
    }

    #[test]
    fn tracking_is_bounded() {
        let t = SignInThrottle::new(ThrottleConfig {
            max_tracked: 10,
            ..throttle().config
        });
        let now = Instant::now();
        for i in 0..100u8 {
            t.failed(
                IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, i)),
                &format!("u{i}"),
                now + Duration::from_millis(u64::from(i)),
            );
        }
        assert!(t.failures.lock().unwrap().len() <= 12);
    }
}
