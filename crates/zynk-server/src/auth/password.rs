//! PBKDF2-HMAC-SHA256 password hashes in PHC string format:
//! `$pbkdf2-sha256$i=600000,l=32$<salt>$<hash>` (PHC base64, no padding).
//!
//! Hashing is CPU-bound: it runs on the blocking pool behind a semaphore, so
//! a login flood queues here instead of stalling the async workers.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

const ALG: &str = "pbkdf2-sha256";
const HASH_LEN: usize = 32;
const SALT_LEN: usize = 16;

/// The outcome of checking a password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verified {
    pub ok: bool,
    /// The stored hash uses fewer iterations than configured: rehash now.
    pub needs_upgrade: bool,
}

/// Hashes and verifies passwords with bounded concurrency.
#[derive(Clone)]
pub struct PasswordHasher {
    iterations: u32,
    permits: Arc<Semaphore>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("iterations", &self.iterations)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
    #[error("password hasher closed")]
    Closed,
}

impl PasswordHasher {
    pub fn new(iterations: u32, concurrency: usize) -> Self {
        Self {
            iterations,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
        }
    }

    /// A new PHC hash of `password` with a random salt.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let iterations = self.iterations;
        self.run(move || {
            let salt: [u8; SALT_LEN] = rand::random();
            phc(&password, &salt, iterations)
        })
        .await
    }

    /// Checks `password` against `stored`. With `stored = None` (unknown
    /// user) the same work is done against a dummy hash and `ok` is false,
    /// so both failures take the same time.
    pub async fn verify(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<Verified, HashError> {
        let configured = self.iterations;
        self.run(move || {
            let parsed = stored.as_deref().and_then(parse);
            let (iterations, salt, expected, real) = match parsed {
                Some((i, salt, hash)) => (i, salt, hash, true),
                None => (configured, vec![0u8; SALT_LEN], vec![0u8; HASH_LEN], false),
            };
            let mut out = vec![0u8; expected.len().max(1)];
            pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), &salt, iterations, &mut out);
            let equal: bool = out.ct_eq(&expected).into();
            Verified {
                ok: real && equal,
                needs_upgrade: real && equal && iterations < configured,
            }
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| HashError::Closed)?;
        Ok(tokio::task::spawn_blocking(work).await?)
    }
}

fn phc(password: &str, salt: &[u8], iterations: u32) -> String {
    let mut out = [0u8; HASH_LEN];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, iterations, &mut out);
    format!(
        "${ALG}$i={iterations},l={HASH_LEN}${}${}",
        B64.encode(salt),
        B64.encode(out)
    )
}

/// `(iterations, salt, hash)` of a PHC string of this algorithm.
fn parse(s: &str) -> Option<(u32, Vec<u8>, Vec<u8>)> {
    let mut parts = s.split('$');
    if !parts.next()?.is_empty() || parts.next()? != ALG {
        return None;
    }
    let params = parts.next()?;
    let salt = B64.decode(parts.next()?).ok()?;
    let hash = B64.decode(parts.next()?).ok()?;
    if parts.next().is_some() || hash.is_empty() || salt.is_empty() {
        return None;
    }
    let mut iterations = None;
    for kv in params.split(',') {
        match kv.split_once('=')? {
            ("i", v) => iterations = v.parse().ok(),
            ("l", v) if v.parse::<usize>().ok()? == hash.len() => {}
            _ => return None,
        }
    }
    Some((iterations.filter(|i| *i > 0)?, salt, hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let h = PasswordHasher::new(1000, 1);
        let stored = h.hash("correct horse".into()).await.unwrap();
        assert!(
            stored.starts_with("$pbkdf2-sha256$i=1000,l=32$"),
            "{stored}"
        );
        let ok = h
            .verify("correct horse".into(), Some(stored.clone()))
            .await
            .unwrap();
        assert_eq!(
            ok,
            Verified {
                ok: true,
                needs_upgrade: false
            }
        );
        let bad = h.verify("wrong horse".into(), Some(stored)).await.unwrap();
        assert!(!bad.ok);
        let unknown = h.verify("correct horse".into(), None).await.unwrap();
        assert!(!unknown.ok);
    }

    #[tokio::test]
    async fn weaker_hash_is_accepted_and_flagged_for_upgrade() {
        let old = phc("pw-of-old", b"0123456789abcdef", 1000);
        let h = PasswordHasher::new(2000, 1);
        let v = h.verify("pw-of-old".into(), Some(old)).await.unwrap();
        assert_eq!(
            v,
            Verified {
                ok: true,
                needs_upgrade: true
            }
        );
    }

    #[test]
    fn known_vector() {
        // RFC 7914 §11 PBKDF2-HMAC-SHA256 test vector (P="passwd", S="salt", c=1).
        let s = phc("passwd", b"salt", 1);
        let hash = B64.decode(s.rsplit('$').next().unwrap()).unwrap();
        assert_eq!(hash[..8], [0x55, 0xac, 0x04, 0x6e, 0x56, 0xe3, 0x08, 0x9f]);
    }

    #[test]
    fn malformed_hashes_never_verify() {
        for s in [
            "",
            "$pbkdf2-sha256$i=0,l=32$AAAA$AAAA",
            "$argon2id$v=19$x$y$z",
            "$pbkdf2-sha256$i=10$@@$AAAA",
        ] {
            assert!(parse(s).is_none(), "{s}");
        }
    }
}
