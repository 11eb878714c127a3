//! API key verification (`auth::keys`): token checks, delegated permissions of personal keys,
//! and the cache's TTL, invalidation and bounds, against a real metadata database.

use std::sync::Arc;
use std::time::{Duration, Instant};

use seqr_meta::apikeys::{self, AppliedProperty, InputSettings, NewApiKey};
use seqr_meta::token::{self, ApiKeyToken};
use seqr_meta::users::{self, NewUser, UserUpdate};
use seqr_meta::{MetaDb, Permission, PermissionSet, roles};
use seqr_server::auth::keys::{KeyVerifier, MAX_NEGATIVE_TTL};

const TTL: Duration = Duration::from_secs(60);

struct Fixture {
    db: Arc<MetaDb>,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = MetaDb::open(&dir.path().join(seqr_meta::db::FILE_NAME)).unwrap();
    Fixture {
        db: Arc::new(db),
        _dir: dir,
    }
}

/// Creates a key with a fresh token; returns (id, token).
fn create_key(
    db: &MetaDb,
    owner: Option<&str>,
    permissions: PermissionSet,
    settings: InputSettings,
) -> (String, ApiKeyToken) {
    let t = ApiKeyToken::generate();
    let salt = token::new_salt();
    let key = apikeys::create(
        db,
        &NewApiKey {
            title: "test key".into(),
            token_prefix: t.prefix().to_owned(),
            token_salt: salt.to_vec(),
            token_digest: token::digest(&salt, t.as_str()).to_vec(),
            owner_id: owner.map(str::to_owned),
            assigned_permissions: permissions,
            input_settings: settings,
        },
        0,
    )
    .unwrap();
    (key.id, t)
}

fn create_user(db: &MetaDb, name: &str, role: &str) -> String {
    users::create(
        db,
        &NewUser {
            username: name.into(),
            role_ids: vec![role.into()],
            ..Default::default()
        },
        0,
    )
    .unwrap()
    .id
}

const INGEST_READ: PermissionSet = PermissionSet::of(&[Permission::Ingest, Permission::Read]);

#[test]
fn a_valid_token_verifies_with_its_settings() {
    let f = fixture();
    let settings = InputSettings {
        applied_properties: vec![AppliedProperty {
            name: "Env".into(),
            value: serde_json::json!("prod"),
        }],
        filter: None,
        minimum_level: Some("Warning".into()),
        use_server_timestamps: true,
    };
    let (id, t) = create_key(&f.db, None, INGEST_READ, settings);
    let v = KeyVerifier::new(f.db.clone(), TTL);
    let key = v.verify(t.as_str(), Instant::now()).unwrap().unwrap();
    assert_eq!(key.id, id);
    assert_eq!(key.permissions, INGEST_READ);
    assert_eq!(key.owner_id, None);
    assert_eq!(key.minimum_level.as_deref(), Some("Warning"));
    assert_eq!(
        key.applied_properties,
        vec![("Env".to_owned(), serde_json::json!("prod"))]
    );
    assert!(key.use_server_timestamps);
    // Served from the cache the second time, identically.
    assert_eq!(v.cached_entries(), 1);
    assert_eq!(v.verify(t.as_str(), Instant::now()).unwrap(), Some(key));
}

#[test]
fn wrong_unknown_and_malformed_tokens_are_refused() {
    let f = fixture();
    let (_, t) = create_key(&f.db, None, INGEST_READ, InputSettings::default());
    let v = KeyVerifier::new(f.db.clone(), TTL);
    let now = Instant::now();

    // Right prefix, wrong rest.
    let other = ApiKeyToken::generate();
    let forged = format!(
        "{}{}",
        t.prefix(),
        &other.as_str()[token::TOKEN_PREFIX_CHARS..]
    );
    assert_eq!(v.verify(&forged, now).unwrap(), None);
    // The prefix alone, and the token with something appended or cut off.
    assert_eq!(v.verify(t.prefix(), now).unwrap(), None);
    assert_eq!(v.verify(&format!("{}x", t.as_str()), now).unwrap(), None);
    assert_eq!(v.verify(&t.as_str()[..31], now).unwrap(), None);
    // Unknown prefix (a prefix no key has: the alphabet is alphanumeric only).
    assert_eq!(
        v.verify("----rest-of-the-token-here-0000", now).unwrap(),
        None
    );
    // Too short to have a prefix, empty, multibyte.
    assert_eq!(v.verify("abc", now).unwrap(), None);
    assert_eq!(v.verify("", now).unwrap(), None);
    assert_eq!(v.verify("é€xyzzy", now).unwrap(), None);
    // None of that was cached as a key; the real token still works.
    assert_eq!(v.cached_entries(), 0);
    assert!(v.verify(t.as_str(), now).unwrap().is_some());
}

#[test]
fn the_default_key_never_matches_a_presented_token() {
    let f = fixture();
    let default = apikeys::default_key(&f.db).unwrap();
    assert!(default.is_default && default.token_prefix.is_none());
    let v = KeyVerifier::new(f.db.clone(), TTL);
    let now = Instant::now();
    for presented in [
        "",
        "null",
        "None",
        "apikey-default",
        apikeys::DEFAULT_KEY_ID,
        "0000000000000000000000000000000000",
    ] {
        assert_eq!(v.verify(presented, now).unwrap(), None, "{presented:?}");
    }
}

#[test]
fn personal_keys_are_delegated_and_follow_their_owner() {
    let f = fixture();
    // role-user-readwrite: Read + Write (no Ingest).
    let owner = create_user(&f.db, "owner", roles::USER_READ_WRITE);
    let owner_perms = users::get(&f.db, &owner).unwrap().unwrap().permissions();
    assert!(owner_perms.contains(Permission::Read) && !owner_perms.contains(Permission::Ingest));
    let (_, t) = create_key(&f.db, Some(&owner), INGEST_READ, InputSettings::default());
    let v = KeyVerifier::new(f.db.clone(), TTL);
    let now = Instant::now();

    let key = v.verify(t.as_str(), now).unwrap().unwrap();
    assert_eq!(key.owner_id.as_deref(), Some(owner.as_str()));
    assert_eq!(key.permissions, INGEST_READ.intersection(owner_perms));
    assert_eq!(key.permissions, PermissionSet::of(&[Permission::Read]));

    // Promote the owner to administrator: the key grants all it was assigned.
    users::update(
        &f.db,
        &owner,
        &UserUpdate {
            role_ids: Some(vec![roles::ADMINISTRATOR.into()]),
            ..Default::default()
        },
    )
    .unwrap();
    v.invalidate_all();
    assert_eq!(
        v.verify(t.as_str(), now).unwrap().unwrap().permissions,
        INGEST_READ
    );

    // Demote to read-only, which the cache does not see until invalidated (or the TTL passes).
    users::update(
        &f.db,
        &owner,
        &UserUpdate {
            role_ids: Some(vec![roles::USER_READ_ONLY.into()]),
            ..Default::default()
        },
    )
    .unwrap();
    let read_only = users::get(&f.db, &owner).unwrap().unwrap().permissions();
    assert_eq!(
        v.verify(t.as_str(), now).unwrap().unwrap().permissions,
        INGEST_READ,
        "still cached"
    );
    v.invalidate_all();
    assert_eq!(
        v.verify(t.as_str(), now).unwrap().unwrap().permissions,
        INGEST_READ.intersection(read_only)
    );
    // The TTL alone also picks the change up: demote further, do not invalidate.
    users::update(
        &f.db,
        &owner,
        &UserUpdate {
            role_ids: Some(vec![]),
            ..Default::default()
        },
    )
    .unwrap();
    let later = now + TTL;
    assert_eq!(
        v.verify(t.as_str(), later).unwrap().unwrap().permissions,
        PermissionSet::EMPTY
    );

    // The owner deleted: the key no longer verifies.
    assert!(users::delete(&f.db, &owner).unwrap());
    v.invalidate_all();
    assert_eq!(v.verify(t.as_str(), later).unwrap(), None);
}

#[test]
fn a_deleted_key_is_refused_after_invalidation_or_ttl() {
    let f = fixture();
    let (id, t) = create_key(&f.db, None, INGEST_READ, InputSettings::default());
    let v = KeyVerifier::new(f.db.clone(), TTL);
    let now = Instant::now();
    assert!(v.verify(t.as_str(), now).unwrap().is_some());

    apikeys::delete(&f.db, &id).unwrap();
    // The TTL trade-off: within the TTL a cached key is served without touching the database, so
    // the deleted key still verifies until someone invalidates the cache or the TTL passes.
    assert!(v.verify(t.as_str(), now + TTL / 2).unwrap().is_some());
    assert!(
        v.verify(t.as_str(), now + TTL - Duration::from_millis(1))
            .unwrap()
            .is_some()
    );
    // After the TTL: refused, even without invalidation.
    assert_eq!(v.verify(t.as_str(), now + TTL).unwrap(), None);

    // With invalidation: refused at once.
    let (id2, t2) = create_key(&f.db, None, INGEST_READ, InputSettings::default());
    assert!(v.verify(t2.as_str(), now).unwrap().is_some());
    apikeys::delete(&f.db, &id2).unwrap();
    v.invalidate_all();
    assert_eq!(v.verify(t2.as_str(), now).unwrap(), None);
}

#[test]
fn misses_are_cached_briefly_and_cleared_by_invalidation() {
    let f = fixture();
    let v = KeyVerifier::new(f.db.clone(), TTL);
    let now = Instant::now();

    // A token presented before its key exists is a cached miss...
    let t = ApiKeyToken::generate();
    assert_eq!(v.verify(t.as_str(), now).unwrap(), None);
    assert_eq!(v.cached_misses(), 1);
    let salt = token::new_salt();
    apikeys::create(
        &f.db,
        &NewApiKey {
            title: "late".into(),
            token_prefix: t.prefix().to_owned(),
            token_salt: salt.to_vec(),
            token_digest: token::digest(&salt, t.as_str()).to_vec(),
            assigned_permissions: INGEST_READ,
            ..Default::default()
        },
        0,
    )
    .unwrap();
    assert_eq!(
        v.verify(t.as_str(), now).unwrap(),
        None,
        "miss still cached"
    );
    // ...that expires within the (shorter) negative TTL, well within the TTL...
    assert!(MAX_NEGATIVE_TTL <= TTL);
    assert!(
        v.verify(t.as_str(), now + MAX_NEGATIVE_TTL)
            .unwrap()
            .is_some()
    );

    // ...and is cleared by invalidation.
    let t2 = ApiKeyToken::generate();
    assert_eq!(v.verify(t2.as_str(), now).unwrap(), None);
    let salt = token::new_salt();
    apikeys::create(
        &f.db,
        &NewApiKey {
            title: "late 2".into(),
            token_prefix: t2.prefix().to_owned(),
            token_salt: salt.to_vec(),
            token_digest: token::digest(&salt, t2.as_str()).to_vec(),
            assigned_permissions: INGEST_READ,
            ..Default::default()
        },
        0,
    )
    .unwrap();
    v.invalidate_all();
    assert_eq!((v.cached_entries(), v.cached_misses()), (0, 0));
    assert!(v.verify(t2.as_str(), now).unwrap().is_some());

    // A short TTL bounds the negative TTL too.
    let short = KeyVerifier::new(f.db.clone(), Duration::from_millis(10));
    let t3 = ApiKeyToken::generate();
    assert_eq!(short.verify(t3.as_str(), now).unwrap(), None);
    let salt = token::new_salt();
    apikeys::create(
        &f.db,
        &NewApiKey {
            title: "late 3".into(),
            token_prefix: t3.prefix().to_owned(),
            token_salt: salt.to_vec(),
            token_digest: token::digest(&salt, t3.as_str()).to_vec(),
            assigned_permissions: INGEST_READ,
            ..Default::default()
        },
        0,
    )
    .unwrap();
    assert!(
        short
            .verify(t3.as_str(), now + Duration::from_millis(10))
            .unwrap()
            .is_some()
    );
}

#[test]
fn the_cache_is_bounded_and_holds_no_plaintext() {
    let f = fixture();
    let v = KeyVerifier::with_max_entries(f.db.clone(), TTL, 8);
    let now = Instant::now();
    let keys: Vec<_> = (0..20)
        .map(|_| create_key(&f.db, None, INGEST_READ, InputSettings::default()))
        .collect();
    // Beyond the bound, live entries are dropped (the map is cleared) rather than growing.
    for (_, t) in &keys {
        assert!(v.verify(t.as_str(), now).unwrap().is_some());
        assert!(v.cached_entries() <= 8);
    }
    v.invalidate_all();
    let half = now + TTL / 2;
    for (i, (_, t)) in keys[..8].iter().enumerate() {
        let at = if i < 4 { now } else { half };
        assert!(v.verify(t.as_str(), at).unwrap().is_some());
    }
    assert_eq!(v.cached_entries(), 8);
    // A flood of distinct bad tokens stays bounded and never evicts verified keys.
    for _ in 0..50 {
        let bad = ApiKeyToken::generate();
        assert_eq!(v.verify(bad.as_str(), now).unwrap(), None);
        assert!(v.cached_misses() <= 8);
    }
    assert_eq!(v.cached_entries(), 8);
    // When full, expired entries (the four cached at `now`) are evicted first; live ones stay.
    let (_, fresh) = create_key(&f.db, None, INGEST_READ, InputSettings::default());
    assert!(v.verify(fresh.as_str(), now + TTL).unwrap().is_some());
    assert_eq!(v.cached_entries(), 5);
    // Every key still verifies once evicted.
    let later = now + TTL;
    for (_, t) in &keys {
        assert!(v.verify(t.as_str(), later).unwrap().is_some());
        assert!(v.cached_entries() <= 8);
    }

    // The default bound is 10,000 and the cache is keyed by digest: its Debug form (what could
    // end up in a log) shows counts only, never a token.
    let d = format!("{v:?}");
    assert!(d.contains("cached_entries"), "{d}");
    for (_, t) in &keys {
        assert!(!d.contains(t.as_str()), "{d}");
    }
    assert_eq!(seqr_server::auth::keys::DEFAULT_MAX_ENTRIES, 10_000);

    // No caching at all with a bound of 0.
    let none = KeyVerifier::with_max_entries(f.db.clone(), TTL, 0);
    assert!(none.verify(fresh.as_str(), now).unwrap().is_some());
    assert_eq!((none.cached_entries(), none.cached_misses()), (0, 0));
}
