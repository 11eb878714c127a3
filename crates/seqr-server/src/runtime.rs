//! Runtime settings the request path reads on every request: ingestion limits, the API-key
//! requirement, minimum free storage and the instance title.
//!
//! They live in the metadata database (`api/settings`); start-up configuration only seeds them
//! ([`seed`]), never replacing a value an administrator set. The server keeps a copy here,
//! replaced whole after every change, so requests never query SQLite for them.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use seqr_ingest::Limits;
use seqr_meta::settings::{self, SettingName, SettingValue};
use seqr_meta::{DbError, MetaDb};

/// The values requests consult.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RuntimeValues {
    /// `RawPayloadMaximumContentLength` and `RawEventMaximumContentLength`.
    pub(crate) limits: Limits,
    /// `RequireApiKeyForWritingEvents`, only when an administrator set it (while unset, the
    /// listening addresses decide; see `auth::anonymous_ingest`).
    pub(crate) require_api_key: Option<bool>,
    /// `InstanceTitle`.
    pub(crate) instance_title: Option<String>,
    /// `MinimumFreeStorageSpace` in bytes, when an administrator set it (0 disables the
    /// check); unset, the store keeps the smaller of 1 GiB and 2% of the volume free.
    pub(crate) minimum_free_storage: Option<u64>,
}

/// The live runtime settings, shared by every request.
pub(crate) struct Runtime {
    values: RwLock<Arc<RuntimeValues>>,
    /// Whether callers without a key hold `Ingest` now.
    anonymous_ingest: AtomicBool,
    /// The bound listener addresses (they decide anonymous ingestion while the setting is unset).
    listeners: Vec<SocketAddr>,
    /// Serializes [`Runtime::reload`], so a slow reload never installs values older than a
    /// concurrent one's.
    reload_lock: Mutex<()>,
}

impl Runtime {
    pub(crate) fn new(values: RuntimeValues, listeners: Vec<SocketAddr>) -> Runtime {
        let runtime = Runtime {
            values: RwLock::new(Arc::new(values.clone())),
            anonymous_ingest: AtomicBool::new(false),
            listeners,
            reload_lock: Mutex::new(()),
        };
        runtime.replace(values);
        runtime
    }

    /// The current values (a cheap clone of an `Arc`).
    pub(crate) fn get(&self) -> Arc<RuntimeValues> {
        self.values
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Reads the values again from `db` and installs them (after an administrator changed a
    /// setting there).
    pub(crate) fn reload(&self, db: &MetaDb) -> Result<(), DbError> {
        let _serial = self.reload_lock.lock().unwrap_or_else(|e| e.into_inner());
        self.replace(load(db)?);
        Ok(())
    }

    /// Installs new values.
    fn replace(&self, values: RuntimeValues) {
        let anonymous =
            crate::auth::anonymous_ingest::allowed(values.require_api_key, &self.listeners);
        self.anonymous_ingest.store(anonymous, Ordering::SeqCst);
        *self.values.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(values);
    }

    /// Whether a caller without an API key may ingest now.
    pub(crate) fn anonymous_ingest(&self) -> bool {
        self.anonymous_ingest.load(Ordering::SeqCst)
    }
}

/// Start-up configuration offered as the settings' values until an administrator sets them.
#[derive(Clone, Debug)]
pub(crate) struct Seeds {
    pub(crate) limits: Limits,
    pub(crate) instance_title: Option<String>,
}

/// Stores the seeds (an administrator's value is kept; see [`settings::seed_if_unset`]).
pub(crate) fn seed(db: &MetaDb, seeds: &Seeds, now: i64) -> Result<(), settings::SetSettingError> {
    let json = |v: serde_json::Value| SettingValue::Json(v);
    settings::seed_if_unset(
        db,
        SettingName::RawPayloadMaximumContentLength,
        &json(seeds.limits.max_body_bytes.into()),
        now,
    )?;
    settings::seed_if_unset(
        db,
        SettingName::RawEventMaximumContentLength,
        &json(seeds.limits.max_event_bytes.into()),
        now,
    )?;
    // Without a configured title, any earlier seed is replaced by "no title".
    settings::seed_if_unset(
        db,
        SettingName::InstanceTitle,
        &json(
            seeds
                .instance_title
                .clone()
                .map_or(serde_json::Value::Null, Into::into),
        ),
        now,
    )?;
    Ok(())
}

fn stored_json(
    db: &MetaDb,
    name: SettingName,
) -> Result<Option<(serde_json::Value, bool)>, DbError> {
    Ok(settings::get(db, name)?.and_then(|s| match s.value {
        SettingValue::Json(v) => Some((v, s.explicitly_set)),
        SettingValue::Sealed(_) => None,
    }))
}

/// Reads the values from the database; missing or unusable values take their defaults.
pub(crate) fn load(db: &MetaDb) -> Result<RuntimeValues, DbError> {
    let defaults = Limits::default();
    let size = |name, default: usize| -> Result<usize, DbError> {
        Ok(stored_json(db, name)?
            .and_then(|(v, _)| v.as_u64())
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| *n > 0)
            .unwrap_or(default))
    };
    let limits = Limits {
        max_body_bytes: size(
            SettingName::RawPayloadMaximumContentLength,
            defaults.max_body_bytes,
        )?,
        max_event_bytes: size(
            SettingName::RawEventMaximumContentLength,
            defaults.max_event_bytes,
        )?,
    };
    let require_api_key = stored_json(db, SettingName::RequireApiKeyForWritingEvents)?
        .filter(|(_, explicit)| *explicit)
        .and_then(|(v, _)| v.as_bool());
    let instance_title = stored_json(db, SettingName::InstanceTitle)?
        .and_then(|(v, _)| v.as_str().map(str::to_owned))
        .filter(|t| !t.is_empty());
    let minimum_free_storage = stored_json(db, SettingName::MinimumFreeStorageSpace)?
        .filter(|(_, explicit)| *explicit)
        .and_then(|(v, _)| v.as_u64());
    Ok(RuntimeValues {
        limits,
        require_api_key,
        instance_title,
        minimum_free_storage,
    })
}
