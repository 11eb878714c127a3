//! When may events be sent without an API key?
//!
//! Secure by default without breaking the first five minutes: on a fresh install listening only
//! on loopback, local clients may ingest without a key (only processes on this machine can reach
//! it). As soon as any listener is bound to a non-loopback address, an Ingest key is required.
//! An administrator's explicit `setting-requireapikeyforwritingevents` always wins.

use std::net::SocketAddr;

/// Whether a caller without an API key holds `Ingest`.
///
/// `require_key_setting` is the runtime setting when an administrator has set it explicitly,
/// `None` while it was never set.
pub fn allowed(require_key_setting: Option<bool>, listeners: &[SocketAddr]) -> bool {
    match require_key_setting {
        Some(require) => !require,
        None => !listeners.is_empty() && listeners.iter().all(|a| a.ip().is_loopback()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(list: &[&str]) -> Vec<SocketAddr> {
        list.iter().map(|a| a.parse().unwrap()).collect()
    }

    #[test]
    fn loopback_only_allows_anonymous_ingestion_until_an_administrator_decides() {
        assert!(allowed(None, &addrs(&["127.0.0.1:5341"])));
        assert!(allowed(
            None,
            &addrs(&["127.0.0.1:5341", "[::1]:5341", "127.0.0.2:1"])
        ));
        assert!(!allowed(None, &addrs(&["127.0.0.1:5341", "0.0.0.0:5341"])));
        assert!(!allowed(None, &addrs(&["[::]:5341"])));
        assert!(!allowed(None, &addrs(&["192.0.2.7:5341"])));
        assert!(!allowed(None, &[]));
        assert!(!allowed(Some(true), &addrs(&["127.0.0.1:5341"])));
        assert!(allowed(Some(false), &addrs(&["0.0.0.0:5341"])));
    }
}
