//! API key verification with an in-memory cache, so ingestion does not hash or query per request.
//!
//! A presented token is checked like this:
//! 1. Its first [`token::TOKEN_PREFIX_CHARS`] characters ([`token::prefix_of`]) select the
//!    candidate keys ([`apikeys::find_by_prefix`]); the tokenless default key (`IsDefault`) is
//!    never a candidate, so no presented token can authenticate as it.
//! 2. Each candidate's salted digest is compared with [`token::verify`], which is constant time
//!    (`subtle`); no secret is ever compared with `==`.
//! 3. A personal key's permissions are delegated: assigned ∩ the owner's *current* permissions,
//!    read from the owner's roles at verification time ([`users::get`]). A personal key whose
//!    owner no longer exists does not verify.
//!
//! # Cache
//!
//! Results are cached by `SHA-256(presented token)` (a 32-byte digest; the token itself is never
//! kept, and a digest of a ~190-bit random token reveals nothing usable):
//! - verified keys for `ttl`;
//! - misses (unknown or wrong tokens) for `min(ttl, MAX_NEGATIVE_TTL)`, so repeating a bad token
//!   does not reach SQLite on every request, while a key created after a miss works within that
//!   time even if nobody calls [`KeyVerifier::invalidate_all`].
//!
//! The trade-off: a cached result is served without touching the database, so a key deleted or
//! changed (or an owner demoted or deleted) keeps its old meaning for at most `ttl` unless
//! [`KeyVerifier::invalidate_all`] is called. The server calls it after every key, user or role
//! change, so the TTL only bounds changes made behind its back (another process, a restore).
//!
//! Both maps are bounded: when one is full, expired entries are dropped first and, if it is still
//! full, that map is cleared. Misses live in their own map, so a flood of distinct bad tokens can
//! never evict verified keys. A lookup racing with [`KeyVerifier::invalidate_all`] does not store
//! its (possibly stale) result: each invalidation bumps a generation number that the lookup
//! checks before caching.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use seqr_meta::apikeys::{self, ApiKeyEntity};
use seqr_meta::{DbError, MetaDb, PermissionSet, token, users};

/// Default most verified keys kept in the cache (and, separately, most misses).
pub const DEFAULT_MAX_ENTRIES: usize = 10_000;

/// Longest time a miss is cached, whatever the TTL of verified keys.
pub const MAX_NEGATIVE_TTL: Duration = Duration::from_secs(5);

/// A key that a presented token proved, with what it grants and its input settings.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedKey {
    /// The key's `Id`.
    pub id: String,
    /// Effective permissions: a shared key's assigned ones; a personal key's assigned ∩ its
    /// owner's current permissions.
    pub permissions: PermissionSet,
    /// The owner of a personal key (`None` for a shared key).
    pub owner_id: Option<String>,
    /// `InputSettings.MinimumLevel` (`None` accepts every level).
    pub minimum_level: Option<String>,
    /// `InputSettings.AppliedProperties`: `(Name, Value)`, overriding same-named event properties.
    pub applied_properties: Vec<(String, serde_json::Value)>,
    /// Approximate bytes the applied properties add to each event (for the ingestion budget).
    pub applied_bytes: usize,
    /// `InputSettings.UseServerTimestamps`.
    pub use_server_timestamps: bool,
    /// `InputSettings.Filter`, compiled: only events it matches are stored.
    pub arrival_filter: Option<crate::filters::ArrivalFilter>,
    /// A personal key's owner's view filter: it restricts what the key reads, as it does the
    /// owner.
    pub view_filter: Option<String>,
}

impl VerifiedKey {
    fn new(
        key: ApiKeyEntity,
        permissions: PermissionSet,
        view_filter: Option<String>,
    ) -> VerifiedKey {
        let settings = key.input_settings;
        // Name, value and the map entry's own overhead.
        let applied_bytes = settings
            .applied_properties
            .iter()
            .map(|p| p.name.len() + p.value.to_string().len() + 64)
            .sum();
        let arrival_filter =
            crate::filters::ArrivalFilter::compile(&key.id, settings.filter.as_deref());
        VerifiedKey {
            arrival_filter,
            applied_bytes,
            id: key.id,
            permissions,
            owner_id: key.owner_id,
            minimum_level: settings.minimum_level,
            applied_properties: settings
                .applied_properties
                .into_iter()
                .map(|p| (p.name, p.value))
                .collect(),
            use_server_timestamps: settings.use_server_timestamps,
            view_filter,
        }
    }
}

/// The cache key: `SHA-256(presented token)`; never the token.
type TokenDigest = [u8; 32];

#[derive(Default)]
struct Cache {
    verified: HashMap<TokenDigest, (Arc<VerifiedKey>, Instant)>,
    misses: HashMap<TokenDigest, Instant>,
    /// Bumped by every invalidation; a lookup caches its result only if it is unchanged.
    generation: u64,
}

/// Inserts into a bounded map: when full, drops expired entries, then everything.
fn insert_bounded<V>(
    map: &mut HashMap<TokenDigest, V>,
    max: usize,
    now: Instant,
    expiry: impl Fn(&V) -> Instant,
    key: TokenDigest,
    value: V,
) {
    if max == 0 {
        return;
    }
    if map.len() >= max && !map.contains_key(&key) {
        map.retain(|_, v| now < expiry(v));
        if map.len() >= max {
            map.clear();
        }
    }
    map.insert(key, value);
}

/// Verifies presented API key tokens against the metadata database, with a cache.
pub struct KeyVerifier {
    db: Arc<MetaDb>,
    ttl: Duration,
    negative_ttl: Duration,
    max_entries: usize,
    cache: Mutex<Cache>,
    /// The tokenless default key's settings (applied to requests without a key), until the next
    /// invalidation.
    default_key: Mutex<Option<Arc<VerifiedKey>>>,
    /// Keys looked up by id (a handful: one per configured input).
    by_id: Mutex<HashMap<String, (Arc<VerifiedKey>, Instant)>>,
}

impl fmt::Debug for KeyVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyVerifier")
            .field("ttl", &self.ttl)
            .field("negative_ttl", &self.negative_ttl)
            .field("max_entries", &self.max_entries)
            .field("cached_entries", &self.cached_entries())
            .field("cached_misses", &self.cached_misses())
            .finish()
    }
}

impl KeyVerifier {
    /// A verifier caching verified keys for `ttl` (misses for `min(ttl, MAX_NEGATIVE_TTL)`), at
    /// most [`DEFAULT_MAX_ENTRIES`] of each.
    pub fn new(db: Arc<MetaDb>, ttl: Duration) -> Self {
        KeyVerifier::with_max_entries(db, ttl, DEFAULT_MAX_ENTRIES)
    }

    /// Like [`KeyVerifier::new`] with another bound on the cache (0 disables caching).
    pub fn with_max_entries(db: Arc<MetaDb>, ttl: Duration, max_entries: usize) -> Self {
        KeyVerifier {
            db,
            ttl,
            negative_ttl: ttl.min(MAX_NEGATIVE_TTL),
            max_entries,
            cache: Mutex::new(Cache::default()),
            default_key: Mutex::new(None),
            by_id: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Cache> {
        // The cache holds no invariant a panicking holder could break half-way: keep using it.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The key `presented` proves, or `None` for an unknown or wrong token (including any token
    /// of a deleted key, or of a personal key whose owner was deleted). `now` is the current time
    /// (a parameter so tests can move it). Errors only when the database fails; failures are not
    /// cached.
    pub fn verify(
        &self,
        presented: &str,
        now: Instant,
    ) -> Result<Option<Arc<VerifiedKey>>, DbError> {
        let Some(prefix) = token::prefix_of(presented) else {
            return Ok(None);
        };
        let digest: TokenDigest = token::session_digest(presented);
        let generation = {
            let mut cache = self.lock();
            match cache.verified.get(&digest) {
                Some((key, expires)) if now < *expires => return Ok(Some(key.clone())),
                Some(_) => {
                    cache.verified.remove(&digest);
                }
                None => {}
            }
            match cache.misses.get(&digest) {
                Some(expires) if now < *expires => return Ok(None),
                Some(_) => {
                    cache.misses.remove(&digest);
                }
                None => {}
            }
            cache.generation
        };

        let found = self.lookup(prefix, presented)?.map(Arc::new);

        let mut cache = self.lock();
        if cache.generation == generation {
            let max = self.max_entries;
            match &found {
                Some(key) => {
                    if let Some(expires) = now.checked_add(self.ttl) {
                        insert_bounded(
                            &mut cache.verified,
                            max,
                            now,
                            |(_, e)| *e,
                            digest,
                            (key.clone(), expires),
                        );
                    }
                }
                None => {
                    if let Some(expires) = now.checked_add(self.negative_ttl) {
                        insert_bounded(&mut cache.misses, max, now, |e| *e, digest, expires);
                    }
                }
            }
        }
        Ok(found)
    }

    /// The database lookup behind [`KeyVerifier::verify`].
    fn lookup(&self, prefix: &str, presented: &str) -> Result<Option<VerifiedKey>, DbError> {
        let candidates = apikeys::find_by_prefix(&self.db, prefix)?;
        let matched = candidates.into_iter().find(|k| {
            if k.is_default {
                return false;
            }
            match (&k.token_salt, &k.token_digest) {
                (Some(salt), Some(digest)) => token::verify(presented, salt, digest),
                _ => false,
            }
        });
        match matched {
            Some(key) => self.with_permissions(key),
            None => Ok(None),
        }
    }

    /// The key as verified: a personal key's permissions narrowed to its owner's (`None` when
    /// the owner is gone).
    fn with_permissions(&self, key: ApiKeyEntity) -> Result<Option<VerifiedKey>, DbError> {
        let (permissions, view_filter) = match &key.owner_id {
            None => (key.effective_permissions(None), None),
            Some(owner) => match users::get(&self.db, owner)? {
                Some(user) => (
                    key.effective_permissions(Some(user.permissions())),
                    user.view_filter,
                ),
                // The owner is gone (normally its keys went with it): the key grants nothing.
                None => return Ok(None),
            },
        };
        Ok(Some(VerifiedKey::new(key, permissions, view_filter)))
    }

    /// The built-in default key (its input settings apply to requests presenting no key),
    /// cached until [`KeyVerifier::invalidate_all`].
    pub fn default_key(&self) -> Result<Arc<VerifiedKey>, DbError> {
        let mut cached = self.default_key.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(key) = cached.as_ref() {
            return Ok(key.clone());
        }
        let key = apikeys::default_key(&self.db)?;
        let permissions = key.assigned_permissions;
        let verified = Arc::new(VerifiedKey::new(key, permissions, None));
        *cached = Some(verified.clone());
        Ok(verified)
    }

    /// The key with this id, for inputs attributed to a key by configuration rather than by a
    /// presented token (the GELF and syslog listeners). Cached like verified tokens.
    pub fn by_id(&self, id: &str) -> Result<Option<Arc<VerifiedKey>>, DbError> {
        let now = Instant::now();
        let mut by_id = self.by_id.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((key, at)) = by_id.get(id)
            && now.duration_since(*at) < self.ttl
        {
            return Ok(Some(key.clone()));
        }
        let found = match apikeys::get(&self.db, id)? {
            Some(key) if key.is_default => Some(self.default_key()?),
            Some(key) => self.with_permissions(key)?.map(Arc::new),
            None => None,
        };
        match &found {
            Some(key) => {
                by_id.insert(id.to_owned(), (key.clone(), now));
            }
            None => {
                by_id.remove(id);
            }
        }
        Ok(found)
    }

    /// Forgets every cached result, verified or missed. Call after any change to keys, users or
    /// roles.
    pub fn invalidate_all(&self) {
        *self.default_key.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.by_id.lock().unwrap_or_else(|e| e.into_inner()).clear();
        let mut cache = self.lock();
        cache.verified.clear();
        cache.misses.clear();
        cache.generation = cache.generation.wrapping_add(1);
    }

    /// How many verified tokens are cached (each under its digest; expired ones may linger until
    /// looked up or evicted).
    pub fn cached_entries(&self) -> usize {
        self.lock().verified.len()
    }

    /// How many misses are cached.
    pub fn cached_misses(&self) -> usize {
        self.lock().misses.len()
    }
}
