//! Password hashing (argon2id) and the password policy.
//!
//! Hashes are PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$SALT$HASH`) with a 16-byte random salt and a 32-byte
//! output. Only argon2id is accepted: a Seq PBKDF2 hash (what `seq config hash` prints) or any other PHC
//! algorithm is refused with a message saying how to make a seqr hash (`seqr config hash`).
//!
//! Hashing is deliberately expensive (19 MiB and tens of milliseconds per call at the defaults). These
//! functions are plain and synchronous: the server runs them on a blocking thread, behind a concurrency cap.

use std::fmt;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Version};

use crate::token::{constant_time_eq, random_array};

/// The minimum password length, in characters (Unicode scalar values, not bytes).
pub const MIN_PASSWORD_CHARS: usize = 12;
/// The maximum password length, in characters: longer inputs are refused so a hash cannot be made to chew
/// through megabytes.
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// Length of [`generate_one_time_password`]'s output.
pub const ONE_TIME_PASSWORD_CHARS: usize = 20;

const SALT_BYTES: usize = 16;
const OUTPUT_BYTES: usize = 32;
const PHC_PREFIX: &str = "$argon2id$";

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Memory cost in KiB (`m`).
    pub memory_kib: u32,
    /// Number of passes (`t`).
    pub iterations: u32,
    /// Degree of parallelism (`p`).
    pub parallelism: u32,
}

impl Params {
    /// OWASP's minimum recommendation for argon2id: m=19 MiB, t=2, p=1. The default.
    pub const OWASP_MINIMUM: Params = Params {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };

    /// Whether these parameters are at least as strong as `other` in every dimension.
    pub fn is_at_least(&self, other: &Params) -> bool {
        self.memory_kib >= other.memory_kib
            && self.iterations >= other.iterations
            && self.parallelism >= other.parallelism
    }

    /// Whether argon2 accepts these parameters (e.g. memory at least 8 KiB per lane, t ≥ 1, p ≥ 1).
    pub fn validate(&self) -> Result<(), PasswordError> {
        self.argon2_params().map(|_| ())
    }

    fn argon2_params(&self) -> Result<argon2::Params, PasswordError> {
        argon2::Params::new(
            self.memory_kib,
            self.iterations,
            self.parallelism,
            Some(OUTPUT_BYTES),
        )
        .map_err(|e| PasswordError::InvalidParams(e.to_string()))
    }

    fn hasher(&self) -> Result<Argon2<'static>, PasswordError> {
        Ok(Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            self.argon2_params()?,
        ))
    }
}

impl Default for Params {
    fn default() -> Self {
        Params::OWASP_MINIMUM
    }
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The password matches the hash.
    pub ok: bool,
    /// The password matched and the stored hash is weaker than the current parameters (or uses an older argon2
    /// version or output length): hash the password again and store the new hash. Always false when `ok` is false.
    pub needs_rehash: bool,
}

/// Why a password could not be hashed or a stored hash could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordError {
    /// Not a PHC string at all; most likely a Seq PBKDF2 hash from `seq config hash`.
    NotPhc,
    /// A PHC string for another algorithm (`pbkdf2-sha256`, `argon2i`, `scrypt`, ...).
    WrongAlgorithm(String),
    /// Starts like an argon2id PHC string but does not parse.
    Malformed(String),
    /// The argon2 parameters are not usable.
    InvalidParams(String),
    /// The password is longer than [`MAX_PASSWORD_CHARS`].
    TooLong,
}

const HOW_TO_HASH: &str =
    "create one with `seqr config hash` (it reads the password on standard input)";

impl fmt::Display for PasswordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordError::NotPhc => write!(
                f,
                "the password hash is not an argon2id PHC string (`$argon2id$v=19$...`); it looks like a Seq \
                 PBKDF2 hash from `seq config hash`, which seqr does not accept: {HOW_TO_HASH}"
            ),
            PasswordError::WrongAlgorithm(alg) => write!(
                f,
                "the password hash uses `{alg}`, but seqr only accepts argon2id PHC strings (`$argon2id$v=19$...`): \
                 {HOW_TO_HASH}"
            ),
            PasswordError::Malformed(why) => {
                write!(
                    f,
                    "the argon2id password hash is malformed ({why}): {HOW_TO_HASH}"
                )
            }
            PasswordError::InvalidParams(why) => write!(f, "invalid argon2id parameters: {why}"),
            PasswordError::TooLong => {
                write!(
                    f,
                    "the password is longer than {MAX_PASSWORD_CHARS} characters"
                )
            }
        }
    }
}

impl std::error::Error for PasswordError {}

/// Hashes `password` with the default (OWASP minimum) parameters.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    hash_with(&Params::default(), password)
}

/// Hashes `password` with `params` and a fresh random salt; returns the PHC string.
pub fn hash_with(params: &Params, password: &str) -> Result<String, PasswordError> {
    check_length(password)?;
    let salt = SaltString::encode_b64(&random_array::<SALT_BYTES>())
        .map_err(|e| PasswordError::InvalidParams(e.to_string()))?;
    let hashed = params
        .hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| PasswordError::InvalidParams(e.to_string()))?;
    Ok(hashed.to_string())
}

/// Checks `password` against the PHC string `phc`, judging `needs_rehash` against the default parameters.
pub fn verify(phc: &str, password: &str) -> Result<Verified, PasswordError> {
    verify_with(&Params::default(), phc, password)
}

/// Checks `password` against the PHC string `phc` (hashed with the parameters recorded in it); `needs_rehash`
/// is judged against `current`.
///
/// A wrong password is `Ok(Verified { ok: false, .. })`; an unusable hash is an error.
pub fn verify_with(current: &Params, phc: &str, password: &str) -> Result<Verified, PasswordError> {
    let parsed = parse(phc)?;
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return Ok(Verified {
            ok: false,
            needs_rehash: false,
        });
    }
    let stored =
        argon2::Params::try_from(&parsed).map_err(|e| PasswordError::Malformed(e.to_string()))?;
    // The stored parameters, not the current ones, decide how the hash is recomputed.
    let ok = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    let stored_params = Params {
        memory_kib: stored.m_cost(),
        iterations: stored.t_cost(),
        parallelism: stored.p_cost(),
    };
    let weaker = !stored_params.is_at_least(current)
        || parsed.version != Some(Version::V0x13.into())
        || parsed.hash.map(|h| h.len()) != Some(OUTPUT_BYTES);
    Ok(Verified {
        ok,
        needs_rehash: ok && weaker,
    })
}

/// Checks that `phc` is an argon2id PHC string seqr can verify against (for a configured first-run admin
/// password hash), without a password.
pub fn validate_phc(phc: &str) -> Result<(), PasswordError> {
    let parsed = parse(phc)?;
    argon2::Params::try_from(&parsed).map_err(|e| PasswordError::Malformed(e.to_string()))?;
    if parsed.hash.is_none() {
        return Err(PasswordError::Malformed("no hash value".into()));
    }
    Ok(())
}

/// Spends about as long as [`verify_with`] on a real hash with `params`, and returns nothing. Call it when a
/// sign-in names a user that does not exist, so response time does not reveal which usernames exist.
pub fn burn_equivalent_time(params: &Params, password: &str) {
    let _ = hash_with(params, password);
}

fn parse(phc: &str) -> Result<PasswordHash<'_>, PasswordError> {
    let phc = phc.trim();
    if !phc.starts_with('$') {
        return Err(PasswordError::NotPhc);
    }
    if !phc.starts_with(PHC_PREFIX) {
        let alg = phc[1..].split('$').next().unwrap_or_default();
        return Err(PasswordError::WrongAlgorithm(
            alg.chars().take(40).collect(),
        ));
    }
    PasswordHash::new(phc).map_err(|e| PasswordError::Malformed(e.to_string()))
}

fn check_length(password: &str) -> Result<(), PasswordError> {
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(PasswordError::TooLong);
    }
    Ok(())
}

/// Why a new password is refused by the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyError {
    /// Fewer than [`MIN_PASSWORD_CHARS`] characters.
    TooShort { chars: usize },
    /// More than [`MAX_PASSWORD_CHARS`] characters.
    TooLong { chars: usize },
    /// The password equals the username (ignoring case).
    EqualsUsername,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyError::TooShort { chars } => write!(
                f,
                "the password is too short: it must be at least {MIN_PASSWORD_CHARS} characters long (it has {chars})"
            ),
            PolicyError::TooLong { chars } => write!(
                f,
                "the password is too long: it must be at most {MAX_PASSWORD_CHARS} characters long (it has {chars})"
            ),
            PolicyError::EqualsUsername => {
                write!(f, "the password must not be the same as the username")
            }
        }
    }
}

impl std::error::Error for PolicyError {}

/// The password policy for new passwords: at least [`MIN_PASSWORD_CHARS`] characters, at most
/// [`MAX_PASSWORD_CHARS`], and not the username (ignoring case).
pub fn check_policy(username: &str, password: &str) -> Result<(), PolicyError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(PolicyError::TooShort { chars });
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(PolicyError::TooLong { chars });
    }
    let (u, p) = (
        username.trim().to_lowercase(),
        password.trim().to_lowercase(),
    );
    if constant_time_eq(u.as_bytes(), p.as_bytes()) {
        return Err(PolicyError::EqualsUsername);
    }
    Ok(())
}

/// Characters for generated passwords: letters and digits without look-alikes (0/O/o, 1/l/I).
const UNAMBIGUOUS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";

/// A strong random password of [`ONE_TIME_PASSWORD_CHARS`] characters from an unambiguous alphabet
/// (56 symbols: about 116 bits), for the first-run admin and `seqr user reset-password`.
///
/// Panics only if the operating system's random number generator fails.
pub fn generate_one_time_password() -> String {
    crate::token::random_text(UNAMBIGUOUS, ONE_TIME_PASSWORD_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: Params = Params {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    #[test]
    fn round_trip_with_small_params() {
        let phc = hash_with(&FAST, "correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
        let good = verify_with(&FAST, &phc, "correct horse battery").unwrap();
        assert_eq!(
            good,
            Verified {
                ok: true,
                needs_rehash: false
            }
        );
        let bad = verify_with(&FAST, &phc, "correct horse batterY").unwrap();
        assert_eq!(
            bad,
            Verified {
                ok: false,
                needs_rehash: false
            }
        );
        // Fresh salt every time.
        assert_ne!(phc, hash_with(&FAST, "correct horse battery").unwrap());
    }

    #[test]
    fn round_trip_at_production_params() {
        let phc = hash("a production password").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert_eq!(
            verify(&phc, "a production password").unwrap(),
            Verified {
                ok: true,
                needs_rehash: false
            }
        );
        assert!(!verify(&phc, "another password").unwrap().ok);
        validate_phc(&phc).unwrap();
    }

    #[test]
    fn needs_rehash_when_params_rise() {
        let phc = hash_with(&FAST, "correct horse battery").unwrap();
        for stronger in [
            Params {
                memory_kib: 128,
                ..FAST
            },
            Params {
                iterations: 2,
                ..FAST
            },
            Params {
                parallelism: 2,
                memory_kib: 128,
                ..FAST
            },
        ] {
            let v = verify_with(&stronger, &phc, "correct horse battery").unwrap();
            assert_eq!(
                v,
                Verified {
                    ok: true,
                    needs_rehash: true
                },
                "{stronger:?}"
            );
            // A wrong password never asks for a rehash.
            assert!(
                !verify_with(&stronger, &phc, "wrong password!")
                    .unwrap()
                    .needs_rehash
            );
        }
        // Lower current params (e.g. a test configuration) do not ask to weaken a stored hash.
        let strong = hash_with(
            &Params {
                memory_kib: 128,
                iterations: 2,
                parallelism: 1,
            },
            "pw pw pw pw pw",
        )
        .unwrap();
        assert!(
            !verify_with(&FAST, &strong, "pw pw pw pw pw")
                .unwrap()
                .needs_rehash
        );
    }

    #[test]
    fn seq_pbkdf2_hash_is_refused_with_how_to() {
        // Shaped like `seq config hash` output (base64 of salt and PBKDF2 output).
        let seq_hash = "FHZGNIxHjyWFVS1tlcMqtT/E/qgNHJqEUbtLEXSFv8hJYq0cQEC5XMPr2I1lP4eX4A==";
        let err = verify(seq_hash, "whatever").unwrap_err();
        assert_eq!(err, PasswordError::NotPhc);
        let msg = err.to_string();
        assert!(msg.contains("seqr config hash"), "{msg}");
        assert!(msg.contains("PBKDF2"), "{msg}");
        assert_eq!(validate_phc(seq_hash).unwrap_err(), PasswordError::NotPhc);

        let other = "$pbkdf2-sha256$i=10000$c2FsdA$aGFzaA";
        let err = validate_phc(other).unwrap_err();
        assert_eq!(err, PasswordError::WrongAlgorithm("pbkdf2-sha256".into()));
        assert!(err.to_string().contains("seqr config hash"));

        let argon2i = "$argon2i$v=19$m=16,t=2,p=1$c29tZXNhbHQ$aGFzaA";
        assert_eq!(
            validate_phc(argon2i).unwrap_err(),
            PasswordError::WrongAlgorithm("argon2i".into())
        );

        let broken = "$argon2id$v=19$m=oops";
        assert!(matches!(
            validate_phc(broken),
            Err(PasswordError::Malformed(_))
        ));
        assert!(matches!(
            verify(broken, "x"),
            Err(PasswordError::Malformed(_))
        ));
    }

    #[test]
    fn params_validation() {
        Params::OWASP_MINIMUM.validate().unwrap();
        assert!(
            Params {
                memory_kib: 1,
                iterations: 1,
                parallelism: 1
            }
            .validate()
            .is_err()
        );
        assert!(
            Params {
                memory_kib: 64,
                iterations: 0,
                parallelism: 1
            }
            .validate()
            .is_err()
        );
        assert!(Params::OWASP_MINIMUM.is_at_least(&FAST));
        assert!(!FAST.is_at_least(&Params::OWASP_MINIMUM));
    }

    #[test]
    fn policy() {
        assert_eq!(
            check_policy("admin", "short"),
            Err(PolicyError::TooShort { chars: 5 })
        );
        assert_eq!(
            check_policy("admin", "elevenchars"),
            Err(PolicyError::TooShort { chars: 11 })
        );
        check_policy("admin", "twelve chars").unwrap();
        // Characters, not bytes: 11 two-byte characters are still too short.
        assert_eq!(
            check_policy("admin", "ééééééééééé"),
            Err(PolicyError::TooShort { chars: 11 })
        );
        check_policy("admin", "éééééééééééé").unwrap();
        assert_eq!(
            check_policy("Administrator", "aDMINISTRATOR"),
            Err(PolicyError::EqualsUsername)
        );
        assert_eq!(
            check_policy("ÉlodieLongName", "élodielongname"),
            Err(PolicyError::EqualsUsername)
        );
        check_policy("administrator", "administrator1").unwrap();
        let long = "x".repeat(MAX_PASSWORD_CHARS + 1);
        assert!(matches!(
            check_policy("admin", &long),
            Err(PolicyError::TooLong { .. })
        ));
        assert!(
            PolicyError::TooShort { chars: 3 }
                .to_string()
                .contains("at least 12 characters")
        );
        assert!(PolicyError::EqualsUsername.to_string().contains("username"));
    }

    #[test]
    fn too_long_password_is_not_hashed() {
        let long = "x".repeat(MAX_PASSWORD_CHARS + 1);
        assert_eq!(hash_with(&FAST, &long), Err(PasswordError::TooLong));
        let phc = hash_with(&FAST, "correct horse battery").unwrap();
        assert!(!verify_with(&FAST, &phc, &long).unwrap().ok);
    }

    #[test]
    fn one_time_passwords() {
        let a = generate_one_time_password();
        let b = generate_one_time_password();
        assert_eq!(a.chars().count(), ONE_TIME_PASSWORD_CHARS);
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| UNAMBIGUOUS.contains(&c)));
        check_policy("admin", &a).unwrap();
        assert_eq!(UNAMBIGUOUS.len(), 56);
    }
}
