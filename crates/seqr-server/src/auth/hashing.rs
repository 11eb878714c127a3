//! Password hashing off the async runtime, with a cap on how many run at once.
//!
//! Each argon2id computation takes tens of milliseconds of CPU and ~19 MiB of memory by design,
//! so running it on the runtime's workers would stall every other request, and a burst of
//! sign-ins could otherwise exhaust memory. Requests queue for a permit instead.

use std::sync::Arc;

use seqr_meta::password::{self, Params, PasswordError, Verified};
use tokio::sync::Semaphore;

/// Runs password hashing on blocking threads, at most `limit` at a time.
#[derive(Clone, Debug)]
pub struct PasswordHasher {
    params: Params,
    permits: Arc<Semaphore>,
}

impl PasswordHasher {
    /// A hasher with the given parameters and concurrency cap (at least 1).
    pub fn new(params: Params, limit: usize) -> PasswordHasher {
        PasswordHasher {
            params,
            permits: Arc::new(Semaphore::new(limit.max(1))),
        }
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce(Params) -> T + Send + 'static) -> T {
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let params = self.params;
        tokio::task::spawn_blocking(move || work(params))
            .await
            .expect("password hashing does not panic")
    }

    /// Hashes a new password (argon2id PHC string).
    pub async fn hash(&self, password: String) -> Result<String, PasswordError> {
        self.run(move |params| password::hash_with(&params, &password))
            .await
    }

    /// Verifies a password; `needs_rehash` says whether to store a stronger hash now.
    pub async fn verify(&self, phc: String, password: String) -> Result<Verified, PasswordError> {
        self.run(move |params| password::verify_with(&params, &phc, &password))
            .await
    }

    /// Spends the time a real verification would, for sign-ins naming no existing user, so the
    /// response time does not reveal which usernames exist.
    pub async fn burn(&self, password: String) {
        self.run(move |params| password::burn_equivalent_time(&params, &password))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> Params {
        Params {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hashes_and_verifies_concurrently_under_the_cap() {
        let hasher = PasswordHasher::new(fast(), 2);
        let phc = hasher.hash("correct horse battery".into()).await.unwrap();
        let mut checks = Vec::new();
        for i in 0..16 {
            let (h, phc) = (hasher.clone(), phc.clone());
            let guess = if i % 2 == 0 {
                "correct horse battery"
            } else {
                "wrong horse battery"
            };
            checks.push(tokio::spawn(async move {
                (i, h.verify(phc, guess.into()).await.unwrap())
            }));
        }
        for check in checks {
            let (i, verified) = check.await.unwrap();
            assert_eq!(verified.ok, i % 2 == 0);
        }
        assert_eq!(
            hasher.permits.available_permits(),
            2,
            "every permit returned"
        );
        hasher.burn("anything at all".into()).await;
    }

    #[tokio::test]
    async fn stronger_parameters_ask_for_a_rehash() {
        let weak = PasswordHasher::new(fast(), 1);
        let phc = weak.hash("correct horse battery".into()).await.unwrap();
        let strong = PasswordHasher::new(
            Params {
                memory_kib: 128,
                ..fast()
            },
            1,
        );
        let verified = strong
            .verify(phc, "correct horse battery".into())
            .await
            .unwrap();
        assert!(verified.ok && verified.needs_rehash);
    }
}
