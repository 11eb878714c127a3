//! Opening the metadata database and the instance secret key at start-up.
//!
//! The secret key seals sensitive settings. It comes, in order, from `SEQR_SECRET_KEY`, a key
//! file, a key-provider program, or (for a first experiment) `secret.key` generated in the data
//! directory. The database keeps a check value sealed under the key at first start, so starting
//! with a different key fails at once with a message naming the key, instead of producing
//! garbage the first time a secret is read.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use seqr_meta::MetaDb;
use seqr_meta::secret::{
    CHECK_VALUE_KEY, KEY_FILE_NAME, STAGED_KEY_FILE_NAME, SecretKey, SecretKeyError, WrongKey,
};

/// The metadata database's file name inside the data directory.
pub const META_DB_FILE: &str = "meta.db";

/// Where the instance secret key comes from.
#[derive(Clone, Default)]
pub enum SecretKeySource {
    /// Base64 text (`SEQR_SECRET_KEY`).
    Value(String),
    /// A file readable only by its owner.
    File(PathBuf),
    /// A program whose standard output is the key (Vault, a KMS, ...).
    Provider(String),
    /// `secret.key` in the data directory, generated when missing.
    #[default]
    DataDirectory,
}

impl fmt::Debug for SecretKeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretKeySource::Value(_) => f.write_str("Value(..)"),
            SecretKeySource::File(p) => write!(f, "File({})", p.display()),
            SecretKeySource::Provider(c) => write!(f, "Provider({c})"),
            SecretKeySource::DataDirectory => f.write_str("DataDirectory"),
        }
    }
}

impl SecretKeySource {
    /// Names the source in messages, never showing the key: `SEQR_SECRET_KEY`, `the key file
    /// /etc/seqr/key`, `the key provider `vault ...``, `secret.key in the data directory`.
    pub fn describe(&self) -> String {
        match self {
            SecretKeySource::Value(_) => seqr_meta::secret::ENV_VAR.to_owned(),
            SecretKeySource::File(p) => format!("the key file {}", p.display()),
            SecretKeySource::Provider(c) => format!("the key provider `{c}`"),
            SecretKeySource::DataDirectory => format!("{KEY_FILE_NAME} in the data directory"),
        }
    }

    /// Loads the key without ever generating one: for offline tools (`seqr secret rotate`),
    /// where a missing `secret.key` means the wrong data directory, not a first start.
    pub fn load_existing(&self, data_dir: &Path) -> Result<SecretKey, SecretKeyError> {
        match self {
            SecretKeySource::DataDirectory => SecretKey::from_file(&data_dir.join(KEY_FILE_NAME)),
            other => load_key(data_dir, other),
        }
    }
}

/// Why the metadata could not be opened.
#[derive(Debug)]
#[non_exhaustive]
pub enum MetadataError {
    /// The database would not open or migrate.
    Database(seqr_meta::OpenError),
    /// The secret key could not be loaded.
    SecretKey(SecretKeyError),
    /// The key differs from the one this data directory was created with.
    WrongKey(WrongKey),
    /// Reading or writing the key check value failed.
    Db(seqr_meta::DbError),
    /// `secret.key` is the old key and `secret.key.new` the one the database is now sealed under:
    /// `seqr secret rotate` stopped between its commit and renaming the key file.
    InterruptedRotation { staged: PathBuf },
    /// `meta.db` could not be made readable by its owner only.
    Permissions(std::io::Error),
}

impl fmt::Display for MetadataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetadataError::Database(e) => write!(f, "cannot open the metadata database: {e}"),
            MetadataError::SecretKey(e) => write!(f, "cannot load the secret key: {e}"),
            MetadataError::WrongKey(e) => write!(f, "{e}"),
            MetadataError::Db(e) => write!(f, "metadata database: {e}"),
            MetadataError::Permissions(e) => write!(
                f,
                "cannot make the metadata database readable by its owner only: {e}"
            ),
            MetadataError::InterruptedRotation { staged } => write!(
                f,
                "a `seqr secret rotate` was interrupted: the metadata is re-encrypted under the key in {}, \
                 but {KEY_FILE_NAME} still holds the old key; run `seqr secret rotate` on this data \
                 directory again to finish",
                staged.display()
            ),
        }
    }
}

impl std::error::Error for MetadataError {}

/// The opened metadata and key, held for the server's lifetime.
pub(crate) struct Metadata {
    pub(crate) db: Arc<MetaDb>,
    #[allow(
        dead_code,
        reason = "seals sensitive settings once their endpoints land"
    )]
    pub(crate) secret_key: SecretKey,
}

/// Opens `<data dir>/meta.db` and the secret key, and checks that they belong together.
pub(crate) fn open(data_dir: &Path, source: &SecretKeySource) -> Result<Metadata, MetadataError> {
    let path = data_dir.join(META_DB_FILE);
    owner_only(&path).map_err(MetadataError::Permissions)?;
    let db = MetaDb::open(&path).map_err(MetadataError::Database)?;
    let secret_key = load_key(data_dir, source).map_err(MetadataError::SecretKey)?;
    let now = unix_now();
    let check = secret_key.check_value();
    let created = seqr_meta::settings::insert_internal_if_absent(&db, CHECK_VALUE_KEY, &check, now)
        .map_err(MetadataError::Db)?;
    if !created {
        let stored = seqr_meta::settings::get_internal(&db, CHECK_VALUE_KEY)
            .map_err(MetadataError::Db)?
            .unwrap_or_default();
        if let Err(wrong) = secret_key.verify_check_value(&stored) {
            let staged = data_dir.join(STAGED_KEY_FILE_NAME);
            let finishes_rotation = matches!(source, SecretKeySource::DataDirectory)
                && SecretKey::from_file(&staged)
                    .is_ok_and(|key| key.verify_check_value(&stored).is_ok());
            return Err(if finishes_rotation {
                MetadataError::InterruptedRotation { staged }
            } else {
                MetadataError::WrongKey(wrong)
            });
        }
    }
    Ok(Metadata {
        db: Arc::new(db),
        secret_key,
    })
}

/// Makes `meta.db` (and its WAL and shared-memory files) readable by the owner only: it holds
/// password hashes, API key digests and sealed secrets. A missing database is created empty with
/// mode 0600 first, because SQLite gives the files it creates next to it the same mode.
fn owner_only(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    if !path.exists() {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        if let Ok(meta) = std::fs::metadata(&file)
            && meta.permissions().mode() & 0o077 != 0
        {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

fn load_key(data_dir: &Path, source: &SecretKeySource) -> Result<SecretKey, SecretKeyError> {
    match source {
        SecretKeySource::Value(text) => SecretKey::from_base64(text),
        SecretKeySource::File(path) => SecretKey::from_file(path),
        SecretKeySource::Provider(command) => SecretKey::from_provider(command),
        SecretKeySource::DataDirectory => {
            let loaded = SecretKey::load_or_generate(data_dir)?;
            if loaded.generated {
                tracing::warn!(path = %loaded.path.display(), "generated a new secret key");
            }
            tracing::warn!(
                path = %loaded.path.display(),
                "the secret key is stored in the data directory; production installs should supply \
                 it from outside it (SEQR_SECRET_KEY, --secret-key-file or --secret-key-provider) \
                 and keep a copy: without it, sealed settings cannot be read"
            );
            Ok(loaded.key)
        }
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
