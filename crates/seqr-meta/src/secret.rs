//! The instance secret key and AEAD sealing of sensitive stored values.
//!
//! The key is 256 bits. The server looks for it, in order, in `SEQR_SECRET_KEY` ([`SecretKey::from_base64`]),
//! a key file ([`SecretKey::from_file`], refused unless only its owner can read and write it), a key-provider
//! program ([`SecretKey::from_provider`], whose standard output is the key), and finally `secret.key` in the data
//! directory, generated on first start ([`SecretKey::load_or_generate`]). Everywhere the key is written as
//! standard base64 of its 32 bytes (44 characters).
//!
//! Values are sealed with XChaCha20-Poly1305 under a fresh random 24-byte nonce:
//! `version (1 byte, 1) || nonce (24) || ciphertext || tag (16)`. Opening fails, never returns garbage, when a
//! byte was changed, the key is wrong or the associated data differs. A key-check value ([`SecretKey::check_value`])
//! stored in the metadata at first start lets the server refuse a wrong key before any secret is stored.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::token::{constant_time_eq, random_array};

/// Key length in bytes.
pub const KEY_BYTES: usize = 32;
/// Name of the generated key file in the data directory.
pub const KEY_FILE_NAME: &str = "secret.key";
/// A new data-directory key written by `seqr secret rotate` before the database is re-encrypted, and renamed to
/// [`KEY_FILE_NAME`] after: if the rotation is interrupted in between, the key the database needs is still on disk.
pub const STAGED_KEY_FILE_NAME: &str = "secret.key.new";
/// The `internal_values` key of the key-check value ([`SecretKey::check_value`]).
pub const CHECK_VALUE_KEY: &str = "secret-key-check";
/// The environment variable holding the key, base64.
pub const ENV_VAR: &str = "SEQR_SECRET_KEY";
/// How long a key-provider program may run by default.
pub const PROVIDER_TIMEOUT: Duration = Duration::from_secs(30);

const SEAL_VERSION: u8 = 1;
const NONCE_BYTES: usize = 24;
const TAG_BYTES: usize = 16;
const MAX_KEY_TEXT: u64 = 4096;
const MAX_STDERR: u64 = 4096;
const CHECK_PLAINTEXT: &[u8] = b"seqr secret key check v1";
const CHECK_AAD: &[u8] = b"seqr/key-check";

const SOURCES: &str = "the secret key comes from SEQR_SECRET_KEY, --secret-key-file, --secret-key-provider, or else \
                       secret.key in the data directory";

/// The instance secret key. `Debug` does not print it; it is overwritten with zeros when dropped.
pub struct SecretKey([u8; KEY_BYTES]);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

/// Best-effort overwrite that the optimiser is asked not to drop.
fn wipe(bytes: &mut [u8]) {
    bytes.fill(0);
    std::hint::black_box(bytes);
}

/// Why a secret key could not be obtained.
#[derive(Debug)]
#[non_exhaustive]
pub enum SecretKeyError {
    /// The text is not base64 of exactly 32 bytes. `origin` names where it came from.
    Malformed { origin: String, detail: String },
    /// The key file can be read or written by group or others.
    InsecurePermissions { path: PathBuf, mode: u32 },
    /// A file operation failed.
    Io {
        path: PathBuf,
        action: &'static str,
        error: io::Error,
    },
    /// The key-provider program failed, timed out or printed something that is not a key.
    Provider { command: String, detail: String },
}

impl fmt::Display for SecretKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretKeyError::Malformed { origin, detail } => write!(
                f,
                "the secret key from {origin} is not valid: it must be the standard base64 encoding of exactly \
                 {KEY_BYTES} bytes (256 bits), e.g. from `head -c 32 /dev/urandom | base64` ({detail})"
            ),
            SecretKeyError::InsecurePermissions { path, mode } => write!(
                f,
                "the secret key file {} can be accessed by other users (mode {:03o}); only its owner may read it: \
                 run `chmod 600 {}`",
                path.display(),
                mode & 0o777,
                path.display()
            ),
            SecretKeyError::Io {
                path,
                action,
                error,
            } => {
                write!(
                    f,
                    "could not {action} the secret key file {}: {error}",
                    path.display()
                )
            }
            SecretKeyError::Provider { command, detail } => {
                write!(f, "the secret key provider `{command}` failed: {detail}")
            }
        }
    }
}

impl std::error::Error for SecretKeyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SecretKeyError::Io { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// A sealed value could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// Shorter than the version byte, nonce and tag.
    Truncated,
    /// An unknown format version byte.
    UnknownVersion(u8),
    /// Authentication failed: the value was altered, sealed under another key, or with other associated data.
    Failed,
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Truncated => f.write_str("the encrypted value is truncated"),
            OpenError::UnknownVersion(v) => write!(f, "the encrypted value has an unknown format version {v}"),
            OpenError::Failed => f.write_str(
                "the encrypted value could not be decrypted: it was altered, or sealed under a different secret key",
            ),
        }
    }
}

impl std::error::Error for OpenError {}

/// The secret key does not open the stored key-check value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrongKey;

impl fmt::Display for WrongKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the secret key is not the one this data directory was set up with (it does not open the key-check \
             value stored in the metadata), so its encrypted settings cannot be read; supply the original secret \
             key ({SOURCES}); to change keys, run `seqr secret rotate` with the original one"
        )
    }
}

impl std::error::Error for WrongKey {}

/// The result of [`SecretKey::load_or_generate`].
#[derive(Debug)]
pub struct DataDirKey {
    pub key: SecretKey,
    /// The key file did not exist and was created now.
    pub generated: bool,
    /// The key file's path.
    pub path: PathBuf,
}

impl SecretKey {
    /// A new random key.
    pub fn generate() -> SecretKey {
        SecretKey(random_array())
    }

    /// The key from the `SEQR_SECRET_KEY` value: base64 (standard or URL-safe, padding optional; surrounding
    /// whitespace ignored) of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<SecretKey, SecretKeyError> {
        parse_key(text, ENV_VAR)
    }

    /// [`SecretKey::from_base64`] for text from somewhere else (e.g. `SEQR_NEW_SECRET_KEY`), so an error names
    /// where it really came from.
    pub fn from_base64_named(text: &str, origin: &str) -> Result<SecretKey, SecretKeyError> {
        parse_key(text, origin)
    }

    /// Whether both are the same key (in constant time).
    pub fn same_as(&self, other: &SecretKey) -> bool {
        constant_time_eq(&self.0, &other.0)
    }

    /// The key as standard base64 (44 characters), as written to key files.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// The key from a file holding its base64 text. Refused if group or others may read or write the file.
    pub fn from_file(path: &Path) -> Result<SecretKey, SecretKeyError> {
        let io = |action, error| SecretKeyError::Io {
            path: path.to_owned(),
            action,
            error,
        };
        let file = File::open(path).map_err(|e| io("open", e))?;
        let meta = file.metadata().map_err(|e| io("inspect", e))?;
        check_mode(path, &meta)?;
        if !meta.is_file() {
            return Err(io("read", io::Error::other("not a regular file")));
        }
        let mut text = Vec::new();
        file.take(MAX_KEY_TEXT + 1)
            .read_to_end(&mut text)
            .map_err(|e| io("read", e))?;
        let origin = format!("the file {}", path.display());
        let result = if text.len() as u64 > MAX_KEY_TEXT {
            Err(SecretKeyError::Malformed {
                origin,
                detail: "the file is far too long".into(),
            })
        } else {
            match std::str::from_utf8(&text) {
                Ok(s) => parse_key(s, &origin),
                Err(_) => Err(SecretKeyError::Malformed {
                    origin,
                    detail: "the file is not text".into(),
                }),
            }
        };
        wipe(&mut text);
        result
    }

    /// The key printed (base64, surrounding whitespace ignored) on the standard output of `command_line`, run by
    /// `/bin/sh -c` with the server's environment, no standard input, for at most [`PROVIDER_TIMEOUT`].
    pub fn from_provider(command_line: &str) -> Result<SecretKey, SecretKeyError> {
        Self::from_provider_with_timeout(command_line, PROVIDER_TIMEOUT)
    }

    /// [`SecretKey::from_provider`] with another time limit.
    pub fn from_provider_with_timeout(
        command_line: &str,
        timeout: Duration,
    ) -> Result<SecretKey, SecretKeyError> {
        let fail = |detail: String| SecretKeyError::Provider {
            command: command_line.to_owned(),
            detail,
        };
        if command_line.trim().is_empty() {
            return Err(fail("the command is empty".into()));
        }
        let deadline = Instant::now() + timeout;
        let mut command = Command::new("/bin/sh");
        command
            .arg("-c")
            .arg(command_line)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Its own process group, so a timeout can end the programs it started as well.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command
            .spawn()
            .map_err(|e| fail(format!("could not start it: {e}")))?;
        let stdout = read_bounded(child.stdout.take().expect("piped stdout"), MAX_KEY_TEXT);
        let stderr = read_bounded(child.stderr.take().expect("piped stderr"), MAX_STDERR);

        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= deadline => {
                    kill_group(&mut child);
                    let _ = child.wait();
                    return Err(fail(format!(
                        "it did not finish within {} seconds",
                        timeout.as_secs_f64()
                    )));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => return Err(fail(format!("could not wait for it: {e}"))),
            }
        };
        let remaining = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(100));
        let stderr_text = stderr
            .recv_timeout(remaining)
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let stderr_text = String::from_utf8_lossy(&stderr_text);
        let stderr_note = match stderr_text.trim() {
            "" => String::new(),
            s => format!("; it said: {}", s.chars().take(300).collect::<String>()),
        };
        let out = stdout.recv_timeout(remaining);
        // Too much output first: the program may have died of the pipe being closed on it.
        if let Ok(Ok(out)) = &out
            && out.len() as u64 > MAX_KEY_TEXT
        {
            return Err(fail(format!(
                "it printed more than {MAX_KEY_TEXT} bytes; it must print only the base64 key"
            )));
        }
        if !status.success() {
            return Err(fail(format!("it exited with {status}{stderr_note}")));
        }
        let mut out = match out {
            Ok(Ok(out)) => out,
            Ok(Err(e)) => return Err(fail(format!("could not read its output: {e}"))),
            Err(_) => return Err(fail("its output was not closed in time".into())),
        };
        let result = if out.len() as u64 > MAX_KEY_TEXT {
            Err(fail(format!(
                "it printed more than {MAX_KEY_TEXT} bytes; it must print only the base64 key"
            )))
        } else {
            match std::str::from_utf8(&out) {
                Ok(s) if s.trim().is_empty() => Err(fail(format!("it printed nothing{stderr_note}"))),
                Ok(s) => parse_key(s, "the provider's output").map_err(|e| match e {
                    SecretKeyError::Malformed { detail, .. } => fail(format!(
                        "its output is not the standard base64 encoding of exactly {KEY_BYTES} bytes ({detail})"
                    )),
                    other => other,
                }),
                Err(_) => Err(fail("its output is not text".into())),
            }
        };
        wipe(&mut out);
        result
    }

    /// The key in `secret.key` in `data_dir`; if there is no such file, a new key written there with mode 0600
    /// (temporary file, fsync, no-clobber link or rename, fsync of the directory).
    pub fn load_or_generate(data_dir: &Path) -> Result<DataDirKey, SecretKeyError> {
        let path = data_dir.join(KEY_FILE_NAME);
        match fs::symlink_metadata(&path) {
            Ok(_) => {
                return Ok(DataDirKey {
                    key: SecretKey::from_file(&path)?,
                    generated: false,
                    path,
                });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(SecretKeyError::Io {
                    path,
                    action: "inspect",
                    error: e,
                });
            }
        }
        let key = SecretKey::generate();
        let tmp = temp_path(data_dir, KEY_FILE_NAME);
        let io = |p: &Path, action, error| SecretKeyError::Io {
            path: p.to_owned(),
            action,
            error,
        };
        let written = write_private(&tmp, &key).map_err(|e| io(&tmp, "write", e));
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        // A hard link never replaces an existing file, so two processes racing cannot swap keys under each
        // other; filesystems without hard links fall back to a rename.
        let placed = match fs::hard_link(&tmp, &path) {
            Ok(()) => fs::remove_file(&tmp).map(|_| true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                fs::remove_file(&tmp).map(|_| false)
            }
            Err(_) => fs::rename(&tmp, &path).map(|_| true),
        };
        let placed = match placed {
            Ok(p) => p,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(io(&path, "create", e));
            }
        };
        if !placed {
            // Someone else created it first: use theirs.
            return Ok(DataDirKey {
                key: SecretKey::from_file(&path)?,
                generated: false,
                path,
            });
        }
        sync_dir(data_dir).map_err(|e| io(data_dir, "sync the directory of", e))?;
        Ok(DataDirKey {
            key,
            generated: true,
            path,
        })
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new((&self.0).into())
    }

    /// Encrypts `plaintext`, bound to `associated_data` (e.g. the setting's name), under a fresh random nonce.
    pub fn seal(&self, plaintext: &[u8], associated_data: &[u8]) -> Vec<u8> {
        let nonce = random_array::<NONCE_BYTES>();
        let ciphertext = self
            .cipher()
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: associated_data,
                },
            )
            .expect("XChaCha20-Poly1305 encrypts any value shorter than 256 GiB");
        let mut out = Vec::with_capacity(1 + NONCE_BYTES + ciphertext.len());
        out.push(SEAL_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        out
    }

    /// Decrypts a value made by [`SecretKey::seal`] with the same `associated_data`.
    pub fn open(&self, sealed: &[u8], associated_data: &[u8]) -> Result<Vec<u8>, OpenError> {
        let (&version, rest) = sealed.split_first().ok_or(OpenError::Truncated)?;
        if version != SEAL_VERSION {
            return Err(OpenError::UnknownVersion(version));
        }
        if rest.len() < NONCE_BYTES + TAG_BYTES {
            return Err(OpenError::Truncated);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_BYTES);
        self.cipher()
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: associated_data,
                },
            )
            .map_err(|_| OpenError::Failed)
    }

    /// A key-check value: a known plaintext sealed under this key. Store it in the metadata at first start.
    pub fn check_value(&self) -> Vec<u8> {
        self.seal(CHECK_PLAINTEXT, CHECK_AAD)
    }

    /// Whether this key opens a stored key-check value.
    pub fn verify_check_value(&self, stored: &[u8]) -> Result<(), WrongKey> {
        match self.open(stored, CHECK_AAD) {
            Ok(mut plain) => {
                let ok = constant_time_eq(&plain, CHECK_PLAINTEXT);
                wipe(&mut plain);
                if ok { Ok(()) } else { Err(WrongKey) }
            }
            Err(_) => Err(WrongKey),
        }
    }
}

/// Opens `sealed` under `old` and seals the plaintext under `new` (for `seqr secret rotate`).
pub fn reseal(
    old: &SecretKey,
    new: &SecretKey,
    sealed: &[u8],
    associated_data: &[u8],
) -> Result<Vec<u8>, OpenError> {
    let mut plain = old.open(sealed, associated_data)?;
    let out = new.seal(&plain, associated_data);
    wipe(&mut plain);
    Ok(out)
}

/// Writes `key` to `path`, replacing any file there, so that a crash leaves either the old file or the complete new
/// one: a temporary file in the same directory (mode 0600, fsynced), renamed over `path`, then the directory fsynced.
pub fn write_key_file(path: &Path, key: &SecretKey) -> Result<(), SecretKeyError> {
    let dir = parent_dir(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = temp_path(dir, &name);
    let io = |p: &Path, action, error| SecretKeyError::Io {
        path: p.to_owned(),
        action,
        error,
    };
    if let Err(e) = write_private(&tmp, key) {
        let _ = fs::remove_file(&tmp);
        return Err(io(&tmp, "write", e));
    }
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(io(path, "create", e));
    }
    sync_dir(dir).map_err(|e| io(dir, "sync the directory of", e))
}

/// Renames the key file `from` to `to` (replacing it) and fsyncs the directory, so the rename survives a crash.
pub fn rename_key_file(from: &Path, to: &Path) -> Result<(), SecretKeyError> {
    fs::rename(from, to).map_err(|error| SecretKeyError::Io {
        path: to.to_owned(),
        action: "replace",
        error,
    })?;
    let dir = parent_dir(to);
    sync_dir(dir).map_err(|error| SecretKeyError::Io {
        path: dir.to_owned(),
        action: "sync the directory of",
        error,
    })
}

/// Removes a key file that is no longer needed and fsyncs the directory. A missing file is fine.
pub fn remove_key_file(path: &Path) -> Result<(), SecretKeyError> {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => {
            return Err(SecretKeyError::Io {
                path: path.to_owned(),
                action: "remove",
                error,
            });
        }
    }
    let dir = parent_dir(path);
    sync_dir(dir).map_err(|error| SecretKeyError::Io {
        path: dir.to_owned(),
        action: "sync the directory of",
        error,
    })
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// A hidden, randomly named temporary file next to `name` in `dir`.
fn temp_path(dir: &Path, name: &str) -> PathBuf {
    let suffix: String = crate::token::random_text(b"abcdefghijklmnopqrstuvwxyz0123456789", 12);
    dir.join(format!(".{name}.{suffix}.tmp"))
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir).and_then(|d| d.sync_all())
}

fn parse_key(text: &str, origin: &str) -> Result<SecretKey, SecretKeyError> {
    let text = text.trim();
    let malformed = |detail: String| SecretKeyError::Malformed {
        origin: origin.to_owned(),
        detail,
    };
    if text.is_empty() {
        return Err(malformed("it is empty".into()));
    }
    let decoded = [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok());
    let Some(mut bytes) = decoded else {
        return Err(malformed("it is not base64".into()));
    };
    let result = if bytes.len() == KEY_BYTES {
        let mut key = [0u8; KEY_BYTES];
        key.copy_from_slice(&bytes);
        Ok(SecretKey(key))
    } else {
        Err(malformed(format!("it decodes to {} bytes", bytes.len())))
    };
    wipe(&mut bytes);
    result
}

#[cfg(unix)]
fn check_mode(path: &Path, meta: &fs::Metadata) -> Result<(), SecretKeyError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(SecretKeyError::InsecurePermissions {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_mode(_path: &Path, _meta: &fs::Metadata) -> Result<(), SecretKeyError> {
    Ok(())
}

fn write_private(path: &Path, key: &SecretKey) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    #[cfg(unix)]
    {
        // The umask can only clear bits, but make the mode exact regardless.
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    let mut text = format!("{}\n", key.to_base64()).into_bytes();
    let result = file.write_all(&text).and_then(|()| file.sync_all());
    wipe(&mut text);
    result
}

/// Kills the provider and everything in its process group, and reaps it.
fn kill_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Reads at most `limit + 1` bytes from `reader` on a helper thread; the result arrives on the channel.
fn read_bounded(
    reader: impl Read + Send + 'static,
    limit: u64,
) -> mpsc::Receiver<io::Result<Vec<u8>>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let result = reader.take(limit + 1).read_to_end(&mut buf).map(|_| buf);
        let _ = tx.send(result);
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_text() -> String {
        SecretKey::generate().to_base64()
    }

    #[test]
    fn from_base64_good_and_bad() {
        let text = key_text();
        assert_eq!(text.len(), 44);
        let key = SecretKey::from_base64(&format!("  {text}\n")).unwrap();
        assert_eq!(key.to_base64(), text);
        // URL-safe and unpadded spellings are accepted too.
        let url = text
            .replace('+', "-")
            .replace('/', "_")
            .trim_end_matches('=')
            .to_owned();
        assert_eq!(SecretKey::from_base64(&url).unwrap().to_base64(), text);

        for bad in [
            "",
            "   ",
            "not base64 at all!",
            &STANDARD.encode([7u8; 16]),
            &STANDARD.encode([7u8; 33]),
        ] {
            let err = SecretKey::from_base64(bad).unwrap_err();
            let msg = err.to_string();
            assert!(matches!(err, SecretKeyError::Malformed { .. }), "{msg}");
            assert!(
                msg.contains("SEQR_SECRET_KEY") && msg.contains("32 bytes"),
                "{msg}"
            );
        }
        assert!(
            SecretKey::from_base64(&STANDARD.encode([7u8; 16]))
                .unwrap_err()
                .to_string()
                .contains("16 bytes")
        );
    }

    #[test]
    fn debug_hides_the_key() {
        let key = SecretKey::generate();
        let dbg = format!("{key:?}");
        assert_eq!(dbg, "SecretKey(..)");
        assert!(!dbg.contains(&key.to_base64()));
    }

    #[cfg(unix)]
    fn write_mode(path: &Path, text: &str, mode: u32) {
        use std::os::unix::fs::PermissionsExt as _;
        fs::write(path, text).unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn key_file_modes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        let text = key_text();
        for mode in [0o644, 0o640, 0o604, 0o620, 0o602] {
            write_mode(&path, &text, mode);
            let err = SecretKey::from_file(&path).unwrap_err();
            let msg = err.to_string();
            assert!(
                matches!(err, SecretKeyError::InsecurePermissions { .. }),
                "{msg}"
            );
            assert!(
                msg.contains("chmod 600") && msg.contains(&path.display().to_string()),
                "{msg}"
            );
        }
        for mode in [0o600, 0o400] {
            write_mode(&path, &format!("{text}\n"), mode);
            assert_eq!(SecretKey::from_file(&path).unwrap().to_base64(), text);
        }
        write_mode(&path, "short", 0o600);
        let msg = SecretKey::from_file(&path).unwrap_err().to_string();
        assert!(
            msg.contains(&path.display().to_string()) && msg.contains("base64"),
            "{msg}"
        );

        let missing = dir.path().join("missing");
        let msg = SecretKey::from_file(&missing).unwrap_err().to_string();
        assert!(
            msg.contains("could not open") && msg.contains("missing"),
            "{msg}"
        );
    }

    #[test]
    fn provider_success() {
        let text = key_text();
        let key = SecretKey::from_provider(&format!("echo '{text}'")).unwrap();
        assert_eq!(key.to_base64(), text);
        // Output on stderr does not matter when the program succeeds.
        let key =
            SecretKey::from_provider(&format!("echo noise >&2; printf '%s\\n\\n' {text}")).unwrap();
        assert_eq!(key.to_base64(), text);
    }

    #[test]
    fn provider_failure() {
        let err = SecretKey::from_provider("false").unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, SecretKeyError::Provider { .. }), "{msg}");
        assert!(msg.contains("`false`") && msg.contains("exit"), "{msg}");

        let msg = SecretKey::from_provider("echo vault is sealed >&2; exit 3")
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("vault is sealed") && msg.contains('3'),
            "{msg}"
        );

        let msg = SecretKey::from_provider("").unwrap_err().to_string();
        assert!(msg.contains("empty"), "{msg}");
    }

    #[test]
    fn provider_bad_output() {
        let msg = SecretKey::from_provider("echo hello")
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("secret key provider `echo hello`") && msg.contains("32 bytes"),
            "{msg}"
        );
        let msg = SecretKey::from_provider("true").unwrap_err().to_string();
        assert!(msg.contains("printed nothing"), "{msg}");
        let msg = SecretKey::from_provider("head -c 100000 /dev/zero")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("more than"), "{msg}");
    }

    #[test]
    fn provider_timeout() {
        let started = Instant::now();
        let msg = SecretKey::from_provider_with_timeout("sleep 10", Duration::from_millis(200))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("did not finish"), "{msg}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn provider_timeout_kills_what_it_started() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let cmd = format!("sleep 30 & echo $! > '{}'; wait", pid_file.display());
        let err =
            SecretKey::from_provider_with_timeout(&cmd, Duration::from_millis(300)).unwrap_err();
        assert!(err.to_string().contains("did not finish"), "{err}");
        let pid = fs::read_to_string(&pid_file).unwrap().trim().to_owned();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            // Gone, or a zombie waiting for init to reap it.
            match fs::read_to_string(format!("/proc/{pid}/stat")) {
                Err(_) => break,
                Ok(stat)
                    if stat
                        .rsplit(')')
                        .next()
                        .unwrap_or("")
                        .trim_start()
                        .starts_with('Z') =>
                {
                    break;
                }
                Ok(_) if Instant::now() > deadline => {
                    panic!("the provider's child {pid} is still running")
                }
                Ok(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    #[cfg(unix)]
    #[test]
    fn generate_then_reload() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let first = SecretKey::load_or_generate(dir.path()).unwrap();
        assert!(first.generated);
        assert_eq!(first.path, dir.path().join(KEY_FILE_NAME));
        let mode = fs::metadata(&first.path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // Only the key file is left behind.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [KEY_FILE_NAME]);

        let second = SecretKey::load_or_generate(dir.path()).unwrap();
        assert!(!second.generated);
        assert_eq!(second.key.to_base64(), first.key.to_base64());
        let sealed = first.key.seal(b"x", b"");
        assert_eq!(second.key.open(&sealed, b"").unwrap(), b"x");

        // A key file others can read is refused rather than replaced.
        fs::set_permissions(&first.path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            SecretKey::load_or_generate(dir.path()),
            Err(SecretKeyError::InsecurePermissions { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn key_files_are_replaced_atomically_and_owner_only() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let staged = dir.path().join(STAGED_KEY_FILE_NAME);
        let (a, b) = (SecretKey::generate(), SecretKey::generate());
        write_key_file(&staged, &a).unwrap();
        write_key_file(&staged, &b).unwrap();
        let mode = fs::metadata(&staged).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(SecretKey::from_file(&staged).unwrap().same_as(&b));
        assert!(!a.same_as(&b));

        let live = dir.path().join(KEY_FILE_NAME);
        write_key_file(&live, &a).unwrap();
        rename_key_file(&staged, &live).unwrap();
        assert!(SecretKey::from_file(&live).unwrap().same_as(&b));
        // No temporary files are left behind.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [KEY_FILE_NAME]);

        remove_key_file(&live).unwrap();
        remove_key_file(&live).unwrap();
        assert!(!live.exists());
    }

    #[test]
    fn seal_open() {
        let key = SecretKey::generate();
        let sealed = key.seal(b"smtp password", b"setting/smtp");
        assert_eq!(sealed.len(), 1 + 24 + 13 + 16);
        assert_eq!(sealed[0], 1);
        assert_eq!(
            key.open(&sealed, b"setting/smtp").unwrap(),
            b"smtp password"
        );
        // Fresh nonce per value.
        assert_ne!(sealed, key.seal(b"smtp password", b"setting/smtp"));
        assert_eq!(key.open(&key.seal(b"", b""), b"").unwrap(), b"");
    }

    #[test]
    fn tampering_wrong_key_and_wrong_aad_are_refused() {
        let key = SecretKey::generate();
        let sealed = key.seal(b"webhook secret", b"aad");
        for i in 0..sealed.len() {
            let mut t = sealed.clone();
            t[i] ^= 0x01;
            assert!(key.open(&t, b"aad").is_err(), "flipped byte {i} accepted");
        }
        assert_eq!(
            key.open(&sealed[..sealed.len() - 1], b"aad"),
            Err(OpenError::Failed)
        );
        assert_eq!(key.open(&sealed[..20], b"aad"), Err(OpenError::Truncated));
        assert_eq!(key.open(&[], b"aad"), Err(OpenError::Truncated));
        let mut v = sealed.clone();
        v[0] = 9;
        assert_eq!(key.open(&v, b"aad"), Err(OpenError::UnknownVersion(9)));
        assert_eq!(
            SecretKey::generate().open(&sealed, b"aad"),
            Err(OpenError::Failed)
        );
        assert_eq!(key.open(&sealed, b"other"), Err(OpenError::Failed));
        assert!(OpenError::Failed.to_string().contains("secret key"));
    }

    #[test]
    fn check_value() {
        let key = SecretKey::generate();
        let check = key.check_value();
        key.verify_check_value(&check).unwrap();
        let other = SecretKey::generate();
        let err = other.verify_check_value(&check).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("secret key")
                && msg.contains("SEQR_SECRET_KEY")
                && msg.contains("--secret-key-file")
        );
        assert_eq!(key.verify_check_value(b"garbage"), Err(WrongKey));
        // A value sealed for another purpose is not a check value even under the right key.
        assert_eq!(
            key.verify_check_value(&key.seal(CHECK_PLAINTEXT, b"other")),
            Err(WrongKey)
        );
        assert_eq!(
            key.verify_check_value(&key.seal(b"not the check", CHECK_AAD)),
            Err(WrongKey)
        );
    }

    #[test]
    fn reseal_rotates() {
        let old = SecretKey::generate();
        let new = SecretKey::generate();
        let sealed = old.seal(b"feed password", b"feed/1");
        let resealed = reseal(&old, &new, &sealed, b"feed/1").unwrap();
        assert_eq!(new.open(&resealed, b"feed/1").unwrap(), b"feed password");
        assert_eq!(old.open(&resealed, b"feed/1"), Err(OpenError::Failed));
        assert_eq!(
            reseal(&new, &old, &sealed, b"feed/1"),
            Err(OpenError::Failed)
        );
    }
}
