//! Runtime settings (`SettingEntity`, seq-compat 1.7 and 3.10), changed while the server runs,
//! and a small key/value store for internal values (such as the secret key's check value).
//!
//! Each stored setting records whether an administrator set it explicitly. Start-up
//! configuration (flags, environment, TOML, `SEQR_FIRSTRUN_*`) only *seeds* settings through
//! [`seed_if_unset`], which never replaces an administrator's value. Sensitive settings (client
//! secrets) are stored only as sealed bytes: the caller encrypts them with the instance secret key.

use std::fmt;

use rusqlite::{OptionalExtension, params};

use crate::db::MetaDb;
use crate::error::DbError;

macro_rules! setting_names {
    ($($variant:ident = $name:literal $(, $flag:ident)*;)*) => {
        /// A runtime setting, named as Seq's `SettingName`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[allow(clippy::upper_case_acronyms)]
        pub enum SettingName {
            $(
                #[doc = concat!("`", $name, "`")]
                $variant,
            )*
        }

        impl SettingName {
            /// Every setting.
            pub const ALL: &'static [SettingName] = &[$(SettingName::$variant),*];

            /// Seq's `Name`, e.g. `InstanceTitle`.
            pub fn name(self) -> &'static str {
                match self {
                    $(SettingName::$variant => $name,)*
                }
            }

            /// Whether the value is a secret, stored only sealed.
            pub fn is_sensitive(self) -> bool {
                match self {
                    $(SettingName::$variant => setting_names!(@has sensitive $($flag)*),)*
                }
            }

            /// Whether anyone may read it (the sign-in page's bootstrap settings).
            pub fn is_public(self) -> bool {
                match self {
                    $(SettingName::$variant => setting_names!(@has public $($flag)*),)*
                }
            }
        }
    };
    (@has sensitive sensitive $($rest:ident)*) => { true };
    (@has public public $($rest:ident)*) => { true };
    (@has $want:ident $other:ident $($rest:ident)*) => { setting_names!(@has $want $($rest)*) };
    (@has $want:ident) => { false };
}

setting_names! {
    AuthenticationProvider = "AuthenticationProvider", public;
    AutomaticAccessADGroup = "AutomaticAccessADGroup";
    AutomaticallyProvisionAuthenticatedUsers = "AutomaticallyProvisionAuthenticatedUsers";
    BackupLocation = "BackupLocation";
    BackupsToKeep = "BackupsToKeep";
    BackupUtcTimeOfDay = "BackupUtcTimeOfDay";
    CheckForPackageUpdates = "CheckForPackageUpdates";
    CheckForUpdates = "CheckForUpdates";
    DataAgeWarningThresholdMilliseconds = "DataAgeWarningThresholdMilliseconds";
    EntraIDAuthority = "EntraIDAuthority";
    EntraIDClientId = "EntraIDClientId";
    EntraIDClientKey = "EntraIDClientKey", sensitive;
    EntraIDTenantId = "EntraIDTenantId";
    InstanceTitle = "InstanceTitle", public;
    IsActiveDirectoryAuthentication = "IsActiveDirectoryAuthentication", public;
    IsAuthenticationEnabled = "IsAuthenticationEnabled", public;
    MinimumFreeStorageSpace = "MinimumFreeStorageSpace";
    NewUserPreferences = "NewUserPreferences";
    NewUserRoleIds = "NewUserRoleIds";
    NewUserShowDashboardIds = "NewUserShowDashboardIds";
    NewUserShowQueryIds = "NewUserShowQueryIds";
    NewUserShowSignalIds = "NewUserShowSignalIds";
    OpenIdConnectAuthority = "OpenIdConnectAuthority";
    OpenIdConnectClientId = "OpenIdConnectClientId";
    OpenIdConnectClientSecret = "OpenIdConnectClientSecret", sensitive;
    OpenIdConnectMetadataAddress = "OpenIdConnectMetadataAddress";
    OpenIdConnectScopes = "OpenIdConnectScopes";
    RawEventMaximumContentLength = "RawEventMaximumContentLength";
    RawPayloadMaximumContentLength = "RawPayloadMaximumContentLength";
    RequireApiKeyForWritingEvents = "RequireApiKeyForWritingEvents";
    SecretKeyIsBackedUp = "SecretKeyIsBackedUp";
    TargetReplicaCount = "TargetReplicaCount";
    ThemeStyles = "ThemeStyles";
}

impl SettingName {
    /// Seq's `Id`: `setting-` and the lower-cased name, e.g. `setting-instancetitle`.
    pub fn id(self) -> String {
        format!("setting-{}", self.name().to_ascii_lowercase())
    }

    /// The setting with this id (`setting-instancetitle`), case-insensitive.
    pub fn from_id(id: &str) -> Option<SettingName> {
        let rest = id
            .get(..8)?
            .eq_ignore_ascii_case("setting-")
            .then(|| &id[8..])?;
        SettingName::from_name(rest)
    }

    /// The setting with this name (`InstanceTitle`), case-insensitive.
    pub fn from_name(name: &str) -> Option<SettingName> {
        SettingName::ALL
            .iter()
            .copied()
            .find(|s| s.name().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for SettingName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A stored value.
#[derive(Clone, Debug, PartialEq)]
pub enum SettingValue {
    /// A plain JSON value.
    Json(serde_json::Value),
    /// A sealed (encrypted by the caller) value of a sensitive setting.
    Sealed(Vec<u8>),
}

/// A stored setting.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredSetting {
    /// Its value.
    pub value: SettingValue,
    /// Whether an administrator set it (seeding leaves it alone then).
    pub explicitly_set: bool,
    /// Last change (unix seconds).
    pub updated_at: i64,
    /// Who changed it last (a user id), when known.
    pub updated_by: Option<String>,
}

/// Why a setting could not be stored.
#[derive(Debug)]
#[non_exhaustive]
pub enum SetSettingError {
    /// A sensitive setting was given a plain value; seal it first.
    MustBeSealed(SettingName),
    /// A non-sensitive setting was given sealed bytes.
    MustNotBeSealed(SettingName),
    /// The database failed.
    Db(DbError),
}

impl fmt::Display for SetSettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetSettingError::MustBeSealed(n) => {
                write!(f, "setting {n} is sensitive and is stored only encrypted")
            }
            SetSettingError::MustNotBeSealed(n) => {
                write!(
                    f,
                    "setting {n} is not sensitive and is stored as plain JSON"
                )
            }
            SetSettingError::Db(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for SetSettingError {}

impl From<DbError> for SetSettingError {
    fn from(e: DbError) -> Self {
        SetSettingError::Db(e)
    }
}

/// What [`seed_if_unset`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeedOutcome {
    /// The seed value is now stored (nothing was stored, or only an earlier seed).
    Seeded,
    /// An administrator set the setting; it was left alone.
    AdministratorValueKept,
}

fn check_kind(name: SettingName, value: &SettingValue) -> Result<(), SetSettingError> {
    match (name.is_sensitive(), value) {
        (true, SettingValue::Json(serde_json::Value::Null)) => Ok(()),
        (true, SettingValue::Json(_)) => Err(SetSettingError::MustBeSealed(name)),
        (false, SettingValue::Sealed(_)) => Err(SetSettingError::MustNotBeSealed(name)),
        _ => Ok(()),
    }
}

fn split(value: &SettingValue) -> (Option<String>, Option<&[u8]>) {
    match value {
        SettingValue::Json(v) => (Some(v.to_string()), None),
        SettingValue::Sealed(b) => (None, Some(b.as_slice())),
    }
}

fn row_to_setting(r: &rusqlite::Row<'_>, offset: usize) -> rusqlite::Result<StoredSetting> {
    let json: Option<String> = r.get(offset)?;
    let sealed: Option<Vec<u8>> = r.get(offset + 1)?;
    let value = match (json, sealed) {
        (Some(text), _) => SettingValue::Json(
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        ),
        (None, Some(bytes)) => SettingValue::Sealed(bytes),
        (None, None) => SettingValue::Json(serde_json::Value::Null),
    };
    Ok(StoredSetting {
        value,
        explicitly_set: r.get(offset + 2)?,
        updated_at: r.get(offset + 3)?,
        updated_by: r.get(offset + 4)?,
    })
}

/// The stored setting, or `None` when it was never set or seeded (its default applies).
pub fn get(db: &MetaDb, name: SettingName) -> Result<Option<StoredSetting>, DbError> {
    db.read(|c| {
        c.query_row(
            "SELECT value_json, sealed_value, explicitly_set, updated_at, updated_by \
             FROM settings WHERE id = ?1",
            [name.id()],
            |r| row_to_setting(r, 0),
        )
        .optional()
    })
}

/// Every stored setting, ordered by id. Rows this binary does not know are skipped.
pub fn list(db: &MetaDb) -> Result<Vec<(SettingName, StoredSetting)>, DbError> {
    db.read(|c| {
        let mut stmt = c.prepare(
            "SELECT id, value_json, sealed_value, explicitly_set, updated_at, updated_by \
             FROM settings ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            let id: String = r.get(0)?;
            Ok((id, row_to_setting(r, 1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, setting) = row?;
            if let Some(name) = SettingName::from_id(&id) {
                out.push((name, setting));
            }
        }
        Ok(out)
    })
}

/// Stores a value an administrator chose (marked explicitly set). Sensitive settings take
/// [`SettingValue::Sealed`] (or JSON `null`), others [`SettingValue::Json`].
pub fn set(
    db: &MetaDb,
    name: SettingName,
    value: &SettingValue,
    by: Option<&str>,
    now: i64,
) -> Result<(), SetSettingError> {
    check_kind(name, value)?;
    let (json, sealed) = split(value);
    db.read(|c| {
        c.execute(
            "INSERT INTO settings (id, value_json, sealed_value, explicitly_set, updated_at, updated_by) \
             VALUES (?1, ?2, ?3, 1, ?4, ?5) \
             ON CONFLICT (id) DO UPDATE SET value_json = excluded.value_json, \
             sealed_value = excluded.sealed_value, explicitly_set = 1, \
             updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            params![name.id(), json, sealed, now, by],
        )
    })?;
    Ok(())
}

/// Stores a value from start-up configuration unless an administrator has set the setting.
/// A value seeded earlier is replaced (so changing a flag still takes effect until an
/// administrator takes the setting over).
pub fn seed_if_unset(
    db: &MetaDb,
    name: SettingName,
    value: &SettingValue,
    now: i64,
) -> Result<SeedOutcome, SetSettingError> {
    check_kind(name, value)?;
    let (json, sealed) = split(value);
    let changed = db.read(|c| {
        c.execute(
            "INSERT INTO settings (id, value_json, sealed_value, explicitly_set, updated_at, updated_by) \
             VALUES (?1, ?2, ?3, 0, ?4, NULL) \
             ON CONFLICT (id) DO UPDATE SET value_json = excluded.value_json, \
             sealed_value = excluded.sealed_value, updated_at = excluded.updated_at, \
             updated_by = NULL WHERE settings.explicitly_set = 0",
            params![name.id(), json, sealed, now],
        )
    })?;
    Ok(if changed == 1 {
        SeedOutcome::Seeded
    } else {
        SeedOutcome::AdministratorValueKept
    })
}

/// Removes a stored setting (its default applies again, and start-up seeding may set it).
/// Returns `false` when nothing was stored.
pub fn clear(db: &MetaDb, name: SettingName) -> Result<bool, DbError> {
    db.read(|c| c.execute("DELETE FROM settings WHERE id = ?1", [name.id()]))
        .map(|n| n == 1)
}

/// An internal value (never exposed through the API), e.g. the secret key's check value.
pub fn get_internal(db: &MetaDb, key: &str) -> Result<Option<Vec<u8>>, DbError> {
    db.read(|c| {
        c.query_row(
            "SELECT value FROM internal_values WHERE key = ?1",
            [key],
            |r| r.get(0),
        )
        .optional()
    })
}

/// Stores an internal value, replacing any earlier one.
pub fn set_internal(db: &MetaDb, key: &str, value: &[u8], now: i64) -> Result<(), DbError> {
    db.read(|c| {
        c.execute(
            "INSERT INTO internal_values (key, value, updated_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            params![key, value, now],
        )
    })?;
    Ok(())
}

/// Stores an internal value only if none is stored; returns whether it was stored.
pub fn insert_internal_if_absent(
    db: &MetaDb,
    key: &str,
    value: &[u8],
    now: i64,
) -> Result<bool, DbError> {
    db.read(|c| {
        c.execute(
            "INSERT INTO internal_values (key, value, updated_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (key) DO NOTHING",
            params![key, value, now],
        )
    })
    .map(|n| n == 1)
}

/// The associated data a sensitive setting's value is sealed with: its id's bytes
/// (`setting-openidconnectclientsecret`). Binding the value to its row means a sealed value copied
/// into another setting's row (or anywhere else) does not open.
pub fn sealed_aad(name: SettingName) -> Vec<u8> {
    aad_for_id(&name.id())
}

/// [`sealed_aad`] of a stored row's id (rotation walks rows, not names).
pub(crate) fn aad_for_id(id: &str) -> Vec<u8> {
    id.as_bytes().to_vec()
}

/// Seals `plaintext` as the value of the sensitive setting `name`, ready for [`set`] or
/// [`seed_if_unset`].
pub fn seal_value(
    key: &crate::secret::SecretKey,
    name: SettingName,
    plaintext: &[u8],
) -> SettingValue {
    SettingValue::Sealed(key.seal(plaintext, &sealed_aad(name)))
}

/// Opens a value sealed by [`seal_value`] for `name`.
pub fn open_value(
    key: &crate::secret::SecretKey,
    name: SettingName,
    sealed: &[u8],
) -> Result<Vec<u8>, crate::secret::OpenError> {
    key.open(sealed, &sealed_aad(name))
}
