//! Every argon2 computation of a node goes through one [`Hasher`]: a few dedicated
//! threads and a bounded number of waiting jobs. A request that finds it full gets
//! [`Error::Busy`] at once — the sign-in page answers 503 with `Retry-After` — instead of
//! queueing without end.
//!
//! Why dedicated threads: argon2id for passwords takes 19 MiB per computation. Run on
//! Tokio's blocking pool (up to 512 threads), a burst of sign-ins computed hundreds of
//! hashes at once, and glibc kept a 19 MiB arena per thread afterwards (4.8 GB after 128
//! parallel sign-ins). Here each thread owns one block buffer, allocated on its first hash
//! and reused, so the memory argon2 can hold is `threads × 19 MiB`, whatever arrives.
//!
//! What waits is bounded too: a slot ([`HashSlot`]) is taken before anything else is
//! done for the request (before a sign-in attempt is counted), and given back when its
//! hash has run — also when the client went away meanwhile.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use crate::crypto::{constant_time_eq, random_bytes};
use crate::{Error, Result};

/// What a client that got [`Error::Busy`] is told to wait before trying again.
pub const RETRY_AFTER: Duration = Duration::from_secs(2);
/// The largest argon2 memory a stored hash may ask for (64 MiB); a larger one is treated
/// as malformed rather than allocated.
const MAX_MEMORY_KIB: u32 = 64 * 1024;

/// How many hashes run at once, and how many may wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashingSettings {
    /// Hashing threads (each holds one argon2 buffer: 19 MiB for passwords).
    pub threads: usize,
    /// Jobs that may wait for a thread; beyond `threads + queue`, `Error::Busy`.
    pub queue: usize,
}

impl Default for HashingSettings {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self {
            threads: cores.clamp(1, 4),
            queue: 32,
        }
    }
}

type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

/// The node's argon2 workers; cheap to clone (shared). The threads end when the last
/// clone is dropped.
#[derive(Clone)]
pub struct Hasher {
    inner: Arc<Inner>,
}

struct Inner {
    jobs: Mutex<mpsc::Sender<Job>>,
    slots: Arc<Semaphore>,
    verifications: AtomicU64,
    settings: HashingSettings,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

impl Hasher {
    pub fn new(settings: HashingSettings) -> Self {
        let settings = HashingSettings {
            threads: settings.threads.max(1),
            queue: settings.queue,
        };
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for index in 0..settings.threads {
            let receiver = receiver.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("roster-argon2-{index}"))
                .spawn(move || work(&receiver));
            if let Err(err) = spawned {
                tracing::error!(error = %err, "starting a hashing thread failed");
            }
        }
        Self {
            inner: Arc::new(Inner {
                jobs: Mutex::new(sender),
                slots: Arc::new(Semaphore::new(settings.threads + settings.queue)),
                verifications: AtomicU64::new(0),
                settings,
            }),
        }
    }

    pub fn settings(&self) -> HashingSettings {
        self.inner.settings
    }

    /// A place in the queue, or `Error::Busy` when every place is taken.
    pub fn reserve(&self) -> Result<HashSlot> {
        match self.inner.slots.clone().try_acquire_owned() {
            Ok(permit) => Ok(HashSlot {
                hasher: self.clone(),
                permit,
            }),
            Err(_) => Err(Error::Busy),
        }
    }

    /// How many password or token verifications this node has run (for tests that prove
    /// a bound on them).
    pub fn verifications(&self) -> u64 {
        self.inner.verifications.load(Ordering::Relaxed)
    }

    /// Hashes a password (argon2id, OWASP's parameters: 19 MiB, 2 passes) into a PHC
    /// string.
    pub async fn hash_password(&self, secret: SecretString) -> Result<String> {
        self.reserve()?.hash_password(secret).await
    }

    /// Hashes a machine-generated 256-bit secret (a SCIM token, an API key).
    ///
    /// Memory-hard parameters exist to slow the guessing of low-entropy passwords; nobody
    /// can enumerate 2^256 secrets at any cost per guess. A light cost (1 MiB, 1 pass)
    /// keeps argon2id as the stored format while a first verification stays around a
    /// millisecond. Verification reads the parameters from the PHC string.
    pub async fn hash_random_secret(&self, secret: SecretString) -> Result<String> {
        self.reserve()?.hash_random_secret(secret).await
    }

    /// Checks a secret against a PHC string; `None` checks it against a dummy hash, so
    /// that an unknown account costs what a known one does.
    pub async fn verify(&self, secret: SecretString, phc: Option<String>) -> Result<bool> {
        self.reserve()?.verify(secret, phc).await
    }

    async fn run<T: Send + 'static>(
        &self,
        permit: OwnedSemaphorePermit,
        job: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        let boxed: Job = Box::new(move |buffer| {
            let result = job(buffer);
            // The slot is free once the work is done, whether or not anyone still waits.
            drop(permit);
            let _ = tx.send(result);
        });
        self.inner
            .jobs
            .lock()
            .map_err(|_| Error::Internal("the hashing queue is poisoned".into()))?
            .send(boxed)
            .map_err(|_| Error::Internal("the hashing threads are gone".into()))?;
        rx.await
            .map_err(|_| Error::Internal("a hashing job was dropped".into()))
    }
}

/// A reserved place in the hashing queue: whatever it computes runs without waiting for
/// a slot again.
pub struct HashSlot {
    hasher: Hasher,
    permit: OwnedSemaphorePermit,
}

impl std::fmt::Debug for HashSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HashSlot")
    }
}

impl HashSlot {
    pub async fn verify(self, secret: SecretString, phc: Option<String>) -> Result<bool> {
        self.hasher
            .inner
            .verifications
            .fetch_add(1, Ordering::Relaxed);
        self.hasher
            .run(self.permit, move |buffer| {
                let phc = phc.as_deref().unwrap_or_else(|| dummy_hash(buffer));
                verify_with(buffer, secret.expose_secret(), phc)
            })
            .await
    }

    pub async fn hash_password(self, secret: SecretString) -> Result<String> {
        self.hasher
            .run(self.permit, move |buffer| {
                hash_with(
                    buffer,
                    secret.expose_secret(),
                    Algorithm::Argon2id,
                    Params::default(),
                )
            })
            .await?
    }

    pub async fn hash_random_secret(self, secret: SecretString) -> Result<String> {
        let params = Params::new(1024, 1, 1, None)
            .map_err(|err| Error::internal("argon2 parameters", err))?;
        self.hasher
            .run(self.permit, move |buffer| {
                hash_with(buffer, secret.expose_secret(), Algorithm::Argon2id, params)
            })
            .await?
    }
}

fn work(receiver: &Mutex<mpsc::Receiver<Job>>) {
    // One argon2 buffer per thread, kept: the bound on memory is threads × its size.
    let mut buffer: Vec<Block> = Vec::new();
    loop {
        let job = match receiver.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(&mut buffer),
            Err(_) => return,
        }
    }
}

/// The buffer's first `blocks` blocks, growing it when a hash needs more than it has.
fn blocks(buffer: &mut Vec<Block>, blocks: usize) -> &mut [Block] {
    if buffer.len() < blocks {
        buffer.resize(blocks, Block::default());
    }
    &mut buffer[..blocks]
}

fn hash_with(
    buffer: &mut Vec<Block>,
    secret: &str,
    algorithm: Algorithm,
    params: Params,
) -> Result<String> {
    let fail = |what: &str| Error::Internal(format!("argon2 hashing failed: {what}"));
    let salt_bytes = random_bytes::<16>();
    let salt = Salt::new(&salt_bytes).map_err(|err| fail(&err.to_string()))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let argon2 = Argon2::new(algorithm, Version::V0x13, params.clone());
    argon2
        .hash_password_into_with_memory(
            secret.as_bytes(),
            &salt,
            &mut out,
            blocks(buffer, params.block_count()),
        )
        .map_err(|err| fail(&err.to_string()))?;
    let hash = PasswordHash {
        algorithm: algorithm.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|err| fail(&err.to_string()))?,
        salt: Some(salt),
        hash: Some(Output::new(&out).map_err(|err| fail(&err.to_string()))?),
    };
    Ok(hash.to_string())
}

/// Checks `secret` against a PHC string with the thread's buffer. A malformed stored hash
/// counts as a mismatch (and is logged), never as a match.
fn verify_with(buffer: &mut Vec<Block>, secret: &str, phc: &str) -> bool {
    let malformed = |why: &str| {
        tracing::error!(reason = why, "stored argon2 hash is malformed");
        false
    };
    let Ok(parsed) = PasswordHash::new(phc) else {
        return malformed("not a PHC string");
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else {
        return malformed("unknown algorithm");
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return malformed("unknown version"),
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return malformed("bad parameters");
    };
    if params.m_cost() > MAX_MEMORY_KIB {
        return malformed("memory cost too large");
    }
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return malformed("no salt or hash");
    };
    let mut out = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params.clone());
    if argon2
        .hash_password_into_with_memory(
            secret.as_bytes(),
            &salt,
            &mut out,
            blocks(buffer, params.block_count()),
        )
        .is_err()
    {
        return false;
    }
    constant_time_eq(&out, expected.as_bytes())
}

/// A hash of a fixed dummy secret, to spend the same time on unknown accounts and tokens
/// as on known ones. Computed once, on a hashing thread.
fn dummy_hash(buffer: &mut Vec<Block>) -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_with(
            buffer,
            "roster-dummy-secret",
            Algorithm::Argon2id,
            Params::default(),
        )
        .unwrap_or_default()
    })
}

thread_local! {
    static OFF_POOL_BUFFER: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Hashes a password on the calling thread, outside any pool: for tests and tools only.
pub fn hash_password_blocking(secret: &str) -> Result<String> {
    OFF_POOL_BUFFER.with(|buffer| {
        hash_with(
            &mut buffer.borrow_mut(),
            secret,
            Algorithm::Argon2id,
            Params::default(),
        )
    })
}

/// Checks a secret on the calling thread, outside any pool: for tests and tools only.
pub fn verify_blocking(secret: &str, phc: &str) -> bool {
    OFF_POOL_BUFFER.with(|buffer| verify_with(&mut buffer.borrow_mut(), secret, phc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_hashes_verify_only_their_secret() {
        let hash = hash_password_blocking("correct horse").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_blocking("correct horse", &hash));
        assert!(!verify_blocking("wrong horse", &hash));
        assert!(!verify_blocking("correct horse", "not a hash"));
        // Hashes made by the argon2 crate's own hasher (earlier releases) still verify.
        use argon2::password_hash::PasswordHasher as _;
        let theirs = Argon2::default()
            .hash_password(b"old password")
            .unwrap()
            .to_string();
        assert!(verify_blocking("old password", &theirs));
        assert!(!verify_blocking("old passwort", &theirs));
    }

    #[tokio::test]
    async fn the_pool_bounds_what_waits_and_frees_slots_when_done() {
        let hasher = Hasher::new(HashingSettings {
            threads: 1,
            queue: 1,
        });
        let first = hasher.reserve().unwrap();
        let second = hasher.reserve().unwrap();
        assert!(matches!(hasher.reserve(), Err(Error::Busy)));
        let hash = first
            .hash_random_secret(SecretString::from("token secret"))
            .await
            .unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{hash}");
        assert!(
            second
                .verify(SecretString::from("token secret"), Some(hash.clone()))
                .await
                .unwrap()
        );
        // Both slots are free again.
        let again = hasher.reserve().unwrap();
        let _also = hasher.reserve().unwrap();
        assert!(
            !again
                .verify(SecretString::from("nope"), None)
                .await
                .unwrap()
        );
        assert_eq!(hasher.verifications(), 2);
    }
}
