//! Secrets that must be recoverable (webhook signing secrets), encrypted at rest.
//!
//! Tokens, API keys and passwords are stored as hashes: Roster only needs to check them.
//! A webhook signing secret is different: every delivery signs with it, so Roster must be
//! able to read it back. It is stored sealed with XChaCha20-Poly1305 under a key the
//! operator provides (`ROSTER_SECRET_KEY`), which never enters the database. A copy of
//! the database, a backup or a replica thus yields no usable secret.
//!
//! Stored form: `v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`.
//! - `v1` is the format (a later format gets a new prefix; plaintext secrets, which start
//!   with `whsec_`, are told apart by the missing prefix);
//! - the key id is 8 hex digits derived from the key, so a node knows which of its keys
//!   (current or previous) opens a value, and a rotation knows which values are not yet
//!   under the current key;
//! - the nonce is 24 random bytes (XChaCha's extended nonce: random nonces never repeat
//!   in practice);
//! - the associated data is a context the caller gives (the endpoint's id), so a sealed
//!   value copied to another row does not open there.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use secrecy::{ExposeSecret, SecretString};

use crate::crypto;

/// The prefix of the current stored format.
pub const FORMAT: &str = "v1";
const NONCE_LEN: usize = 24;
const KEY_LEN: usize = 32;

/// Why a key was refused, in words for the operator.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "must be 32 random bytes in base64, e.g. the output of `openssl rand -base64 32` \
     (this one is {0})"
)]
pub struct BadKey(String);

/// A 256-bit key. Its `Debug` shows only its id.
#[derive(Clone)]
pub struct SecretKey {
    bytes: [u8; KEY_LEN],
    id: String,
}

impl SecretKey {
    /// Parses a key written as base64 (standard or URL-safe, padded or not); white space
    /// around it (a key file's newline) is ignored.
    pub fn parse(text: &str) -> Result<Self, BadKey> {
        let text = text.trim();
        if text.is_empty() {
            return Err(BadKey("empty".to_owned()));
        }
        let decoded = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(text).ok())
            .ok_or_else(|| BadKey("not base64".to_owned()))?;
        let bytes: [u8; KEY_LEN] = decoded
            .as_slice()
            .try_into()
            .map_err(|_| BadKey(format!("{} bytes long", decoded.len())))?;
        Ok(Self::from_bytes(bytes))
    }

    /// A new random key.
    pub fn generate() -> Self {
        Self::from_bytes(crypto::random_bytes::<KEY_LEN>())
    }

    fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        let mut input = b"roster secret key id:".to_vec();
        input.extend_from_slice(&bytes);
        let id = hex::encode(&crypto::sha256(&input)[..4]);
        Self { bytes, id }
    }

    /// The key as it is written in a key file or `ROSTER_SECRET_KEY` (standard base64).
    pub fn encode(&self) -> SecretString {
        SecretString::from(STANDARD.encode(self.bytes))
    }

    /// The key's id: 8 hex digits, safe to log and to store.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn cipher(&self) -> Option<XChaCha20Poly1305> {
        XChaCha20Poly1305::new_from_slice(&self.bytes).ok()
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey").field("id", &self.id).finish()
    }
}

/// Why a stored value did not open.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OpenError {
    #[error("the value is not encrypted")]
    Plaintext,
    #[error("the value is not in a known format")]
    Malformed,
    #[error(
        "the value was encrypted with key {0}, which is neither ROSTER_SECRET_KEY nor ROSTER_SECRET_KEY_PREVIOUS"
    )]
    UnknownKey(String),
    #[error("the value does not decrypt with key {0} (altered, or moved from another row)")]
    Inauthentic(String),
}

/// The current key, which seals, and optionally the previous one, which only opens (during
/// a rotation). Cheap to clone; its `Debug` shows key ids only.
#[derive(Clone)]
pub struct Keyring {
    current: Arc<SecretKey>,
    previous: Option<Arc<SecretKey>>,
}

impl Keyring {
    pub fn new(current: SecretKey, previous: Option<SecretKey>) -> Self {
        // A previous key equal to the current one adds nothing.
        let previous = previous.filter(|key| key.id != current.id);
        Self {
            current: Arc::new(current),
            previous: previous.map(Arc::new),
        }
    }

    /// The id of the key that seals.
    pub fn current_id(&self) -> &str {
        self.current.id()
    }

    /// The id of the previous key, if any.
    pub fn previous_id(&self) -> Option<&str> {
        self.previous.as_deref().map(SecretKey::id)
    }

    /// Whether this keyring holds a key with this id.
    pub fn knows(&self, key_id: &str) -> bool {
        self.key(key_id).is_some()
    }

    fn key(&self, key_id: &str) -> Option<&SecretKey> {
        std::iter::once(&*self.current)
            .chain(self.previous.as_deref())
            .find(|key| key.id == key_id)
    }

    /// Seals `plaintext` under the current key, bound to `context`.
    pub fn seal(&self, plaintext: &str, context: &[u8]) -> String {
        let nonce_bytes = crypto::random_bytes::<NONCE_LEN>();
        let nonce = XNonce::from(nonce_bytes);
        let sealed = self.current.cipher().and_then(|cipher| {
            cipher
                .encrypt(
                    &nonce,
                    Payload {
                        msg: plaintext.as_bytes(),
                        aad: context,
                    },
                )
                .ok()
        });
        // Encryption fails only for messages of more than 256 GiB; a secret is 49 bytes.
        let mut blob = nonce_bytes.to_vec();
        blob.extend(sealed.unwrap_or_default());
        format!(
            "{FORMAT}.{}.{}",
            self.current.id,
            URL_SAFE_NO_PAD.encode(blob)
        )
    }

    /// Opens a value [`seal`](Self::seal)ed under any key of this keyring with the same
    /// `context`.
    pub fn open(&self, stored: &str, context: &[u8]) -> Result<SecretString, OpenError> {
        let (key_id, blob) = parse_sealed(stored)?;
        let key = self
            .key(key_id)
            .ok_or_else(|| OpenError::UnknownKey(key_id.to_owned()))?;
        let blob = URL_SAFE_NO_PAD
            .decode(blob)
            .map_err(|_| OpenError::Malformed)?;
        if blob.len() < NONCE_LEN {
            return Err(OpenError::Malformed);
        }
        let (nonce, ciphertext) = blob.split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce).map_err(|_| OpenError::Malformed)?;
        let inauthentic = || OpenError::Inauthentic(key_id.to_owned());
        let plaintext = key
            .cipher()
            .ok_or_else(inauthentic)?
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext,
                    aad: context,
                },
            )
            .map_err(|_| inauthentic())?;
        String::from_utf8(plaintext)
            .map(SecretString::from)
            .map_err(|_| inauthentic())
    }

    /// Whether `stored` is sealed under the current key (a rotation leaves it alone).
    pub fn is_current(&self, stored: &str) -> bool {
        key_id(stored) == Some(self.current.id())
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &self.current.id)
            .field("previous", &self.previous_id())
            .finish()
    }
}

/// The key id of a sealed value; `None` for plaintext or an unknown format.
pub fn key_id(stored: &str) -> Option<&str> {
    parse_sealed(stored).ok().map(|(id, _)| id)
}

/// Whether `stored` is in a sealed format at all (else it is plaintext from before
/// encryption at rest).
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(&format!("{FORMAT}."))
}

fn parse_sealed(stored: &str) -> Result<(&str, &str), OpenError> {
    if !is_sealed(stored) {
        return Err(OpenError::Plaintext);
    }
    let mut parts = stored.splitn(3, '.');
    let (Some(_), Some(key_id), Some(blob)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(OpenError::Malformed);
    };
    if key_id.len() != 8 || !key_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(OpenError::Malformed);
    }
    Ok((key_id, blob))
}

/// A key read from, or created as, a file.
#[derive(Debug)]
pub struct KeyFile {
    pub key: SecretKey,
    /// True when this call created the file.
    pub created: bool,
    /// True when the file was readable by group or others and has been made owner-only.
    pub tightened: bool,
}

/// Why a key file could not be used, in one sentence naming the file.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read the secret key file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot create the secret key file {path}: {source}")]
    Create {
        path: String,
        source: std::io::Error,
    },
    #[error("the secret key file {path} {source}")]
    Bad { path: String, source: BadKey },
}

/// Reads a key file (one base64 key; white space ignored).
pub fn read_key_file(path: &std::path::Path) -> Result<KeyFile, KeyFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| KeyFileError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let key = SecretKey::parse(&text).map_err(|source| KeyFileError::Bad {
        path: path.display().to_string(),
        source,
    })?;
    let tightened = crate::files::make_owner_only(path).unwrap_or(false);
    Ok(KeyFile {
        key,
        created: false,
        tightened,
    })
}

/// Reads the key file at `path`, or creates it with a new random key, owner-only (0600,
/// in a 0700 folder if the folder is new). Two processes starting at once agree on one
/// key: the file appears whole or not at all (written aside, then linked into place).
pub fn read_or_create_key_file(path: &std::path::Path) -> Result<KeyFile, KeyFileError> {
    if path.exists() {
        return read_key_file(path);
    }
    let create_error = |source| KeyFileError::Create {
        path: path.display().to_string(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        crate::files::create_private_dir_all(parent).map_err(create_error)?;
    }
    let key = SecretKey::generate();
    let mut contents = key.encode().expose_secret().to_owned();
    contents.push('\n');
    match crate::files::create_private_file_atomically(path, contents.as_bytes()) {
        Ok(true) => Ok(KeyFile {
            key,
            created: true,
            tightened: false,
        }),
        // Another process created it first: use that one.
        Ok(false) => read_key_file(path),
        Err(source) => Err(create_error(source)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn keyring() -> (Keyring, SecretKey) {
        let key = SecretKey::generate();
        (Keyring::new(key.clone(), None), key)
    }

    #[test]
    fn sealed_values_open_with_the_same_key_and_context_only() {
        let (ring, _) = keyring();
        let sealed = ring.seal("whsec_abc", b"endpoint-1");
        assert!(sealed.starts_with(&format!("v1.{}.", ring.current_id())));
        assert!(!sealed.contains("whsec_abc"));
        assert_ne!(
            sealed,
            ring.seal("whsec_abc", b"endpoint-1"),
            "random nonce"
        );
        assert_eq!(
            ring.open(&sealed, b"endpoint-1").unwrap().expose_secret(),
            "whsec_abc"
        );
        assert_eq!(
            ring.open(&sealed, b"endpoint-2").unwrap_err(),
            OpenError::Inauthentic(ring.current_id().to_owned())
        );
        let (other, _) = keyring();
        assert!(matches!(
            other.open(&sealed, b"endpoint-1"),
            Err(OpenError::UnknownKey(_))
        ));
        assert_eq!(
            ring.open("whsec_abc", b"endpoint-1").unwrap_err(),
            OpenError::Plaintext
        );
        let mut altered = sealed.clone().into_bytes();
        let last = altered.len() - 2;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        assert!(
            ring.open(&String::from_utf8(altered).unwrap(), b"endpoint-1")
                .is_err()
        );
        assert_eq!(
            ring.open("v1.zz.abc", b"x").unwrap_err(),
            OpenError::Malformed
        );
    }

    #[test]
    fn the_previous_key_opens_and_only_the_current_one_seals() {
        let old = SecretKey::generate();
        let sealed_old = Keyring::new(old.clone(), None).seal("s", b"c");
        let new = SecretKey::generate();
        let ring = Keyring::new(new.clone(), Some(old.clone()));
        assert_eq!(ring.open(&sealed_old, b"c").unwrap().expose_secret(), "s");
        assert!(!ring.is_current(&sealed_old));
        let resealed = ring.seal("s", b"c");
        assert!(ring.is_current(&resealed));
        assert_eq!(key_id(&resealed), Some(new.id()));
        assert_eq!(key_id(&sealed_old), Some(old.id()));
        assert_eq!(key_id("whsec_x"), None);
    }

    #[test]
    fn keys_are_32_bytes_of_base64_and_never_printed() {
        let key = SecretKey::generate();
        let text = key.encode().expose_secret().to_owned();
        assert_eq!(text.len(), 44);
        let parsed = SecretKey::parse(&format!("  {text}\n")).unwrap();
        assert_eq!(parsed.id(), key.id());
        let url_safe = text.replace('+', "-").replace('/', "_");
        assert_eq!(
            SecretKey::parse(url_safe.trim_end_matches('='))
                .unwrap()
                .id(),
            key.id()
        );
        assert!(!format!("{key:?}").contains(&text));
        let ring = Keyring::new(key.clone(), None);
        assert!(!format!("{ring:?}").contains(&text));
        for bad in ["", "hunter2", "c2hvcnQ=", &"A".repeat(64)] {
            assert!(SecretKey::parse(bad).is_err(), "{bad}");
        }
        assert!(
            SecretKey::parse("c2hvcnQ=")
                .unwrap_err()
                .to_string()
                .contains("5 bytes long")
        );
    }

    #[test]
    fn a_key_file_is_created_owner_only_once_and_then_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data/secret.key");
        let created = read_or_create_key_file(&path).unwrap();
        assert!(created.created);
        let again = read_or_create_key_file(&path).unwrap();
        assert!(!again.created);
        assert_eq!(again.key.id(), created.key.id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode();
            assert_eq!(mode(&path) & 0o777, 0o600);
            assert_eq!(mode(path.parent().unwrap()) & 0o777, 0o700);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(read_key_file(&path).unwrap().tightened);
            assert_eq!(mode(&path) & 0o777, 0o600);
        }
        std::fs::write(&path, "not a key").unwrap();
        let err = read_key_file(&path).unwrap_err().to_string();
        assert!(
            err.contains("secret.key") && err.contains("base64"),
            "{err}"
        );
    }
}
