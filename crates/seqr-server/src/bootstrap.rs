//! First run: the data directory has no users yet, so create the first administrator from the
//! operator's first-run settings (Seq's `SEQ_FIRSTRUN_*`), or with a generated one-time password
//! printed once to the console. Secure without any setup: authentication is on from the start and
//! the generated password must be changed at first sign-in.

use std::fmt;
use std::io::Write;

use seqr_meta::password::{self, Params};
use seqr_meta::settings::{self, SettingName, SettingValue};
use seqr_meta::{MetaDb, audit, roles, users};

/// First-run settings; they apply only while the data directory has no users.
#[derive(Clone, Default)]
pub struct FirstRun {
    /// The first administrator's username (default `admin`).
    pub admin_username: Option<String>,
    /// Its password in plain text (checked against the password policy).
    pub admin_password: Option<String>,
    /// Or its argon2id hash, from `seqr config hash`.
    pub admin_password_hash: Option<String>,
    /// Require an API key for ingestion from the start.
    pub require_api_key_for_ingestion: Option<bool>,
}

impl fmt::Debug for FirstRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FirstRun")
            .field("admin_username", &self.admin_username)
            .field(
                "admin_password",
                &self.admin_password.as_ref().map(|_| ".."),
            )
            .field(
                "admin_password_hash",
                &self.admin_password_hash.as_ref().map(|_| ".."),
            )
            .field(
                "require_api_key_for_ingestion",
                &self.require_api_key_for_ingestion,
            )
            .finish()
    }
}

/// Why the first administrator could not be set up; the server does not start.
#[derive(Debug)]
pub enum BootstrapError {
    /// The first-run password fails the password policy.
    Policy(password::PolicyError),
    /// The first-run hash is not an argon2id PHC string.
    Hash(password::PasswordError),
    /// Storing the user or setting failed.
    Store(String),
}

impl fmt::Display for BootstrapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BootstrapError::Policy(e) => {
                write!(f, "SEQR_FIRSTRUN_ADMINPASSWORD is not acceptable: {e}")
            }
            BootstrapError::Hash(e) => {
                write!(f, "SEQR_FIRSTRUN_ADMINPASSWORDHASH is not acceptable: {e}")
            }
            BootstrapError::Store(e) => write!(f, "cannot create the first administrator: {e}"),
        }
    }
}

impl std::error::Error for BootstrapError {}

/// What happened at start-up.
#[derive(Debug, PartialEq, Eq)]
pub enum Bootstrapped {
    /// Users exist already; first-run settings were not needed.
    AlreadySetUp,
    /// The first administrator was created with the operator's password or hash.
    Created { username: String },
    /// The first administrator was created with a generated one-time password (printed).
    CreatedWithOneTimePassword { username: String },
}

/// Creates the first administrator if there is no user yet. Runs on a blocking thread (hashing).
pub(crate) fn ensure_first_admin(
    db: &MetaDb,
    first_run: &FirstRun,
    params: &Params,
    now: i64,
) -> Result<Bootstrapped, BootstrapError> {
    let store_err = |e: &dyn fmt::Display| BootstrapError::Store(e.to_string());
    if users::count(db).map_err(|e| store_err(&e))? > 0 {
        return Ok(Bootstrapped::AlreadySetUp);
    }
    let username = first_run
        .admin_username
        .clone()
        .unwrap_or_else(|| "admin".to_owned());
    let (hash, one_time) = match (&first_run.admin_password_hash, &first_run.admin_password) {
        (Some(phc), _) => {
            password::validate_phc(phc.trim()).map_err(BootstrapError::Hash)?;
            (phc.trim().to_owned(), None)
        }
        (None, Some(plain)) => {
            password::check_policy(&username, plain).map_err(BootstrapError::Policy)?;
            (
                password::hash_with(params, plain).map_err(BootstrapError::Hash)?,
                None,
            )
        }
        (None, None) => {
            let generated = password::generate_one_time_password();
            (
                password::hash_with(params, &generated).map_err(BootstrapError::Hash)?,
                Some(generated),
            )
        }
    };
    let user = users::create(
        db,
        &users::NewUser {
            id: None,
            username: username.clone(),
            display_name: Some("Administrator".to_owned()),
            email_address: None,
            role_ids: vec![roles::ADMINISTRATOR.to_owned()],
            must_change_password: one_time.is_some(),
            view_filter: None,
            password_hash: Some(hash),
        },
        now,
    )
    .map_err(|e| store_err(&e))?;
    if let Some(require) = first_run.require_api_key_for_ingestion {
        settings::set(
            db,
            SettingName::RequireApiKeyForWritingEvents,
            &SettingValue::Json(serde_json::Value::Bool(require)),
            Some("first-run"),
            now,
        )
        .map_err(|e| store_err(&e))?;
    }
    audit::append(
        db,
        &audit::NewAuditRecord {
            at_ms: now * 1000,
            principal: None,
            client_address: None,
            action: "user.create",
            target: Some(&user.id),
            outcome: audit::AuditOutcome::Success,
            detail: &serde_json::json!({ "reason": "first run", "username": username }),
        },
    )
    .map_err(|e| store_err(&e))?;

    Ok(match one_time {
        Some(generated) => {
            // Printed once, to the console only (never to the log file or the database).
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "First run: created administrator `{username}` with one-time password {generated} \
                 (it must be changed at first sign-in)"
            );
            let _ = out.flush();
            Bootstrapped::CreatedWithOneTimePassword { username }
        }
        None => Bootstrapped::Created { username },
    })
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

    #[test]
    fn creates_the_first_administrator_once() {
        let db = MetaDb::open_in_memory().unwrap();
        let first = FirstRun {
            admin_password: Some("a long enough password".into()),
            ..Default::default()
        };
        assert_eq!(
            ensure_first_admin(&db, &first, &fast(), 1).unwrap(),
            Bootstrapped::Created {
                username: "admin".into()
            }
        );
        let admin = users::find_by_username(&db, "admin").unwrap().unwrap();
        assert!(admin.role_ids.contains(&roles::ADMINISTRATOR.to_owned()));
        assert!(!admin.must_change_password);
        let other = FirstRun {
            admin_username: Some("root".into()),
            ..first
        };
        assert_eq!(
            ensure_first_admin(&db, &other, &fast(), 2).unwrap(),
            Bootstrapped::AlreadySetUp
        );
        assert_eq!(users::count(&db).unwrap(), 1);
        assert_eq!(audit::verify(&db).unwrap().records, 1);
    }

    #[test]
    fn a_generated_password_must_be_changed() {
        let db = MetaDb::open_in_memory().unwrap();
        let outcome = ensure_first_admin(&db, &FirstRun::default(), &fast(), 1).unwrap();
        assert_eq!(
            outcome,
            Bootstrapped::CreatedWithOneTimePassword {
                username: "admin".into()
            }
        );
        assert!(
            users::find_by_username(&db, "admin")
                .unwrap()
                .unwrap()
                .must_change_password
        );
    }

    #[test]
    fn weak_passwords_and_foreign_hashes_stop_the_start() {
        let db = MetaDb::open_in_memory().unwrap();
        let weak = FirstRun {
            admin_password: Some("short".into()),
            ..Default::default()
        };
        assert!(matches!(
            ensure_first_admin(&db, &weak, &fast(), 1),
            Err(BootstrapError::Policy(_))
        ));
        let same = FirstRun {
            admin_username: Some("administrator1".into()),
            admin_password: Some("Administrator1".into()),
            ..Default::default()
        };
        assert!(matches!(
            ensure_first_admin(&db, &same, &fast(), 1),
            Err(BootstrapError::Policy(_))
        ));
        let pbkdf2 = FirstRun {
            admin_password_hash: Some("FJmPqyS5A2OwhNbsvmd9uTT1RAHhj8+mCn3pkjYw6w==".into()),
            ..Default::default()
        };
        let e = ensure_first_admin(&db, &pbkdf2, &fast(), 1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("seqr config hash"), "{e}");
        assert_eq!(users::count(&db).unwrap(), 0, "nothing half-created");
    }

    #[test]
    fn the_first_run_ingestion_key_requirement_counts_as_an_administrator_decision() {
        let db = MetaDb::open_in_memory().unwrap();
        let first = FirstRun {
            admin_password: Some("a long enough password".into()),
            require_api_key_for_ingestion: Some(true),
            ..Default::default()
        };
        ensure_first_admin(&db, &first, &fast(), 1).unwrap();
        let stored = settings::get(&db, SettingName::RequireApiKeyForWritingEvents)
            .unwrap()
            .unwrap();
        assert!(stored.explicitly_set);
        assert_eq!(
            stored.value,
            SettingValue::Json(serde_json::Value::Bool(true))
        );
    }
}
