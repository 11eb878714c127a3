//! API key tokens, session ids and CSRF tokens: generation, digests and constant-time checks.
//!
//! - An API key token is 32 characters of `[A-Za-z0-9]` (about 190 bits). Its first [`TOKEN_PREFIX_CHARS`]
//!   characters are stored in plain text as `TokenPrefix` to find the candidate key; the rest alone still
//!   carries about 166 bits. The token itself is stored only as `SHA-256(salt || token)` with a per-key random
//!   salt ([`new_salt`], [`digest`]); it is never keyed with the instance secret key, so rotating that key
//!   leaves API keys valid.
//! - A session id is 256 random bits as URL-safe base64 (43 characters), stored as its unsalted SHA-256
//!   ([`session_digest`]).
//! - A CSRF token is 256 random bits as URL-safe base64.
//!
//! Every comparison of secret material goes through [`constant_time_eq`] (`subtle`), never `==`.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// Length of a generated API key token, in characters.
pub const TOKEN_CHARS: usize = 32;
/// Length of the plain `TokenPrefix` kept for an API key.
pub const TOKEN_PREFIX_CHARS: usize = 4;
/// Length of a per-key salt.
pub const SALT_BYTES: usize = 16;

const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Compares two byte strings in constant time (for equal lengths; a length difference is not hidden).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// `N` bytes from the operating system's random number generator.
///
/// Panics if that generator fails, which on supported systems does not happen once the system has booted;
/// continuing without randomness would be worse.
pub(crate) fn random_array<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random number generator failed");
    bytes
}

/// `len` characters drawn uniformly from `alphabet` (at most 256 symbols), by rejection sampling.
pub(crate) fn random_text(alphabet: &[u8], len: usize) -> String {
    debug_assert!(!alphabet.is_empty() && alphabet.len() <= 256);
    // Largest multiple of the alphabet size that fits in a byte: bytes at or above it are rejected, so every
    // symbol is equally likely.
    let limit = 256 - 256 % alphabet.len();
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in random_array::<64>() {
            if (b as usize) < limit && out.len() < len {
                out.push(alphabet[b as usize % alphabet.len()] as char);
            }
        }
    }
    out
}

/// A freshly generated API key token. Shown once, to the key's creator; only its digest is stored.
#[derive(Clone)]
pub struct ApiKeyToken(String);

impl ApiKeyToken {
    /// A new random token of [`TOKEN_CHARS`] alphanumeric characters.
    pub fn generate() -> ApiKeyToken {
        ApiKeyToken(random_text(ALPHANUMERIC, TOKEN_CHARS))
    }

    /// The token text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The plain prefix stored as `TokenPrefix`.
    pub fn prefix(&self) -> &str {
        &self.0[..TOKEN_PREFIX_CHARS]
    }
}

impl fmt::Debug for ApiKeyToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKeyToken({}…)", self.prefix())
    }
}

/// The `TokenPrefix` of a presented token, used to look up candidate keys; `None` if it is too short to be one.
pub fn prefix_of(presented: &str) -> Option<&str> {
    presented.get(..TOKEN_PREFIX_CHARS)
}

/// A new random per-key salt.
pub fn new_salt() -> [u8; SALT_BYTES] {
    random_array()
}

/// `SHA-256(salt || token)`: what is stored for an API key.
pub fn digest(salt: &[u8], token: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(token.as_bytes());
    h.finalize().into()
}

/// Whether a presented `token` matches a stored salt and digest (constant-time comparison).
pub fn verify(token: &str, salt: &[u8], expected_digest: &[u8]) -> bool {
    constant_time_eq(&digest(salt, token), expected_digest)
}

/// A new session id: 256 random bits, URL-safe base64 without padding (43 characters), for the session cookie.
#[derive(Clone)]
pub struct SessionId(String);

impl SessionId {
    /// A new random session id.
    pub fn generate() -> SessionId {
        SessionId(URL_SAFE_NO_PAD.encode(random_array::<32>()))
    }

    /// The id as sent in the cookie.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its digest, as stored ([`session_digest`]).
    pub fn digest(&self) -> [u8; 32] {
        session_digest(&self.0)
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(..)")
    }
}

/// `SHA-256(id)`: what is stored for a session, and looked up for a presented cookie value. Unsalted, which is
/// sound for 256-bit random ids.
pub fn session_digest(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

/// A new CSRF token: 256 random bits, URL-safe base64 without padding. Compare a presented one with
/// [`constant_time_eq`].
pub fn generate_csrf_token() -> String {
    URL_SAFE_NO_PAD.encode(random_array::<32>())
}

/// A new Content-Security-Policy nonce: 128 random bits, URL-safe base64 without padding.
pub fn generate_nonce() -> String {
    URL_SAFE_NO_PAD.encode(random_array::<16>())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn api_key_tokens() {
        let mut seen = HashSet::new();
        for _ in 0..1000 {
            let t = ApiKeyToken::generate();
            assert_eq!(t.as_str().len(), TOKEN_CHARS);
            assert!(
                t.as_str().bytes().all(|b| b.is_ascii_alphanumeric()),
                "{}",
                t.as_str()
            );
            assert_eq!(t.prefix(), &t.as_str()[..4]);
            assert_eq!(prefix_of(t.as_str()), Some(t.prefix()));
            assert!(seen.insert(t.as_str().to_owned()), "duplicate token");
        }
        // Entropy of the part after the prefix: 28 chars of 62 symbols ≥ 160 bits.
        let bits_after_prefix = (TOKEN_CHARS - TOKEN_PREFIX_CHARS) as f64 * 62f64.log2();
        assert!(bits_after_prefix >= 160.0, "{bits_after_prefix}");
        // Every symbol shows up: the sampling covers the whole alphabet.
        let chars: HashSet<char> = seen.iter().flat_map(|t| t.chars()).collect();
        assert_eq!(chars.len(), 62);
        // Debug does not print the token.
        let t = ApiKeyToken::generate();
        let dbg = format!("{t:?}");
        assert!(
            !dbg.contains(t.as_str()) && dbg.contains(t.prefix()),
            "{dbg}"
        );
        assert_eq!(prefix_of("abc"), None);
        assert_eq!(prefix_of("é€x"), None);
    }

    #[test]
    fn digest_verify() {
        let t = ApiKeyToken::generate();
        let salt = new_salt();
        assert_ne!(salt, new_salt());
        let d = digest(&salt, t.as_str());
        assert!(verify(t.as_str(), &salt, &d));
        let other = ApiKeyToken::generate();
        assert!(!verify(other.as_str(), &salt, &d));
        assert!(!verify(t.as_str(), &new_salt(), &d));
        assert!(!verify(t.as_str(), &salt, &d[..31]));
        let mut flipped = d;
        flipped[7] ^= 1;
        assert!(!verify(t.as_str(), &salt, &flipped));
        // Known answer: SHA-256("salt" || "token").
        let mut h = Sha256::new();
        h.update(b"salttoken");
        assert_eq!(digest(b"salt", "token"), <[u8; 32]>::from(h.finalize()));
    }

    #[test]
    fn session_ids_and_csrf() {
        let a = SessionId::generate();
        let b = SessionId::generate();
        assert_eq!(a.as_str().len(), 43);
        assert!(
            a.as_str()
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_ne!(a.as_str(), b.as_str());
        assert_eq!(URL_SAFE_NO_PAD.decode(a.as_str()).unwrap().len(), 32);
        assert!(constant_time_eq(&a.digest(), &session_digest(a.as_str())));
        assert!(!constant_time_eq(&a.digest(), &b.digest()));
        assert!(!format!("{a:?}").contains(a.as_str()));

        let c = generate_csrf_token();
        assert!(URL_SAFE_NO_PAD.decode(&c).unwrap().len() * 8 >= 128);
        assert_ne!(c, generate_csrf_token());
    }

    #[test]
    fn constant_time_eq_cases() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
