//! Randomness, digests and argon2id. Password hashing runs on the blocking pool so it
//! never stalls the async workers.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::{Rng as _, RngExt as _};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{Error, Result};

/// `N` bytes from the operating system's CSPRNG (through the thread-local generator,
/// which is seeded and reseeded from it).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// A URL-safe random string carrying `N` bytes of entropy.
pub fn random_token<const N: usize>() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<N>())
}

/// A password people can read aloud and type: groups of lowercase letters and digits
/// without look-alikes (no `0/o`, `1/l/i`).
pub fn readable_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    let mut out = String::with_capacity(24);
    for group in 0..4 {
        if group > 0 {
            out.push('-');
        }
        for _ in 0..5 {
            let index = rng.random_range(0..ALPHABET.len());
            out.push(char::from(ALPHABET[index]));
        }
    }
    out
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha256(bytes))
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Hashes a password with argon2id (OWASP's parameters: 19 MiB, 2 passes) into a PHC
/// string.
pub async fn hash_secret(secret: SecretString) -> Result<String> {
    tokio::task::spawn_blocking(move || hash_secret_blocking(secret.expose_secret()))
        .await
        .map_err(|err| Error::Internal(format!("hashing task failed: {err}")))?
}

pub fn hash_secret_blocking(secret: &str) -> Result<String> {
    Argon2::default()
        .hash_password(secret.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|err| Error::Internal(format!("argon2 hashing failed: {err}")))
}

/// Hashes a machine-generated 256-bit secret (a SCIM token, an API key) with argon2id.
///
/// Memory-hard parameters exist to slow the guessing of low-entropy passwords; nobody can
/// enumerate 2^256 secrets at any cost per guess. A light cost (1 MiB, 1 pass) keeps
/// argon2id as the stored format while a first verification stays around a millisecond
/// and a node's peak memory small. Verification reads the parameters from the PHC
/// string, so hashes made with other parameters keep verifying.
pub async fn hash_random_secret(secret: SecretString) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let params = argon2::Params::new(1024, 1, 1, None)
            .map_err(|err| Error::Internal(format!("argon2 parameters: {err}")))?;
        Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
            .hash_password(secret.expose_secret().as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|err| Error::Internal(format!("argon2 hashing failed: {err}")))
    })
    .await
    .map_err(|err| Error::Internal(format!("hashing task failed: {err}")))?
}

/// Checks a secret against a PHC string. A malformed stored hash counts as a mismatch
/// (and is logged), never as a match.
pub async fn verify_secret(secret: SecretString, phc: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || Ok(verify_secret_blocking(secret.expose_secret(), &phc)))
        .await
        .map_err(|err| Error::Internal(format!("verification task failed: {err}")))?
}

pub fn verify_secret_blocking(secret: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(secret.as_bytes(), &parsed)
            .is_ok(),
        Err(err) => {
            tracing::error!(error = %err, "stored argon2 hash is malformed");
            false
        }
    }
}

/// A hash of a fixed dummy secret, used to spend the same time on unknown accounts and
/// tokens as on known ones.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_secret_blocking("roster-dummy-secret").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_hash_verifies_only_its_secret() {
        let hash = hash_secret_blocking("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_secret_blocking("correct horse", &hash));
        assert!(!verify_secret_blocking("wrong horse", &hash));
        assert!(!verify_secret_blocking("correct horse", "not a hash"));
    }

    #[test]
    fn readable_passwords_have_the_documented_shape() {
        let password = readable_password();
        assert_eq!(password.len(), 23);
        assert_eq!(password.matches('-').count(), 3);
        assert_ne!(password, readable_password());
    }
}
