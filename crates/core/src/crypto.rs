//! Randomness and digests. (argon2 lives in [`crate::hashing`], behind the node's
//! bounded pool.)

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::{Rng as _, RngExt as _};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readable_passwords_have_the_documented_shape() {
        let password = readable_password();
        assert_eq!(password.len(), 23);
        assert_eq!(password.matches('-').count(), 3);
        assert_ne!(password, readable_password());
    }
}
