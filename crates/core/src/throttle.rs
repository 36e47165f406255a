//! Sign-in throttling, after OWASP's Authentication Cheat Sheet and its "device cookies".
//!
//! Attempts are counted in buckets (`login_throttles`), each a fixed window of attempts
//! that locks for a while once its limit is reached:
//!
//! | bucket | key | limit |
//! |---|---|---|
//! | account and address | the account key and the client's address | [`PER_ACCOUNT_AND_ADDRESS`] |
//! | address | the client's address (IPv6: its /64) | [`PER_ADDRESS`] |
//! | account, untrusted clients | the account key | [`PER_ACCOUNT_UNTRUSTED`] |
//! | trusted device | the device cookie and the account key | [`PER_DEVICE`] |
//!
//! A browser that signed in to an account before carries a device cookie for it and is
//! counted in its own bucket only; any other client goes through the first three, in
//! that order, stopping at the first that refuses. So a stranger hammering an account
//! from one address locks only that address for it (after five attempts nothing more is
//! counted anywhere), strangers from many addresses lock the account for untrusted
//! clients, and the owner's known browser keeps signing in through all of it.
//!
//! **An attempt is reserved before the password is checked**, in one atomic statement per
//! bucket (`INSERT … ON CONFLICT … DO UPDATE … RETURNING`, on SQLite and PostgreSQL
//! alike): however many requests arrive at once, at most `limit` of them per window get
//! a password check. The attempt that reaches the limit sets the lock; later ones only
//! count; a lock is never shortened (nothing but its expiry ends it, or
//! `roster admin unlock`). A successful attempt gives its reservation back, and so does
//! one the node was too busy to check.
//!
//! Keys are SHA-256 digests of what they count: no email or address is stored in clear.
//! The account key covers the organization and the email whether or not an account has
//! them, so the throttle says nothing about which accounts exist.

use std::net::IpAddr;
use std::time::Duration;

use secrecy::SecretString;

use crate::crypto;
use crate::store::throttle as store;
use crate::time::Timestamp;
use crate::{Database, Error, Result};

/// One bucket's policy: attempts per window, and how long it stays locked after the
/// attempt that reaches the limit. The lockout is at least the window, so a lock ends
/// with a fresh window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub attempts: i32,
    pub window: Duration,
    pub lockout: Duration,
}

const FIFTEEN_MINUTES: Duration = Duration::from_secs(15 * 60);

/// One account from one address.
pub const PER_ACCOUNT_AND_ADDRESS: Limit = Limit {
    attempts: 5,
    window: FIFTEEN_MINUTES,
    lockout: FIFTEEN_MINUTES,
};
/// One address, whatever the accounts (password spraying).
pub const PER_ADDRESS: Limit = Limit {
    attempts: 30,
    window: FIFTEEN_MINUTES,
    lockout: FIFTEEN_MINUTES,
};
/// One account from every client without its device cookie together (many addresses).
pub const PER_ACCOUNT_UNTRUSTED: Limit = Limit {
    attempts: 10,
    window: FIFTEEN_MINUTES,
    lockout: FIFTEEN_MINUTES,
};
/// One account from one browser that signed in to it before.
pub const PER_DEVICE: Limit = Limit {
    attempts: 5,
    window: FIFTEEN_MINUTES,
    lockout: FIFTEEN_MINUTES,
};
// A lock always outlasts its window (so it ends with a fresh one), and one address alone
// cannot use up the account's allowance for untrusted clients.
const _: () = {
    let limits = [
        PER_ACCOUNT_AND_ADDRESS,
        PER_ADDRESS,
        PER_ACCOUNT_UNTRUSTED,
        PER_DEVICE,
    ];
    let mut i = 0;
    while i < limits.len() {
        assert!(limits[i].lockout.as_secs() >= limits[i].window.as_secs());
        i += 1;
    }
    assert!(PER_ACCOUNT_UNTRUSTED.attempts > PER_ACCOUNT_AND_ADDRESS.attempts);
};

/// How long a browser stays trusted for an account after its last sign-in.
pub const DEVICE_LIFETIME: Duration = Duration::from_secs(90 * 86_400);
/// Length of a device cookie's secret: 32 random bytes, base64url without padding.
const DEVICE_SECRET_LEN: usize = 43;
/// Buckets without a lock whose window started longer ago are swept.
const SWEEP_AFTER: Duration = Duration::from_secs(86_400);

/// The address a request came from, as throttling sees it: an IPv4 address, or the /64
/// network of an IPv6 address (one subscriber's, usually), IPv4-mapped ones as IPv4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddress(IpAddr);

impl ClientAddress {
    pub fn new(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(IpAddr::V4(v4)),
                None => {
                    let bits = u128::from(v6) & (u128::MAX << 64);
                    Self(IpAddr::V6(std::net::Ipv6Addr::from(bits)))
                }
            },
        }
    }

    pub fn ip(&self) -> IpAddr {
        self.0
    }
}

/// Who an attempt is for: a digest of the organization (empty for operators) and the
/// lower-cased email, whether or not an account has them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountKey(String);

impl AccountKey {
    pub fn new(organization: &str, email: &str) -> Self {
        let organization = roster_scim::value::fold_case(organization.trim());
        let email = roster_scim::value::fold_case(email.trim());
        Self(crypto::sha256_hex(
            format!("account\0{organization}\0{email}").as_bytes(),
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A bucket to reserve an attempt in.
struct Bucket {
    key: String,
    account: Option<String>,
    limit: Limit,
}

impl Bucket {
    fn pair(account: &AccountKey, address: ClientAddress) -> Self {
        Self {
            key: digest(&["pair", account.as_str(), &address.0.to_string()]),
            account: Some(account.0.clone()),
            limit: PER_ACCOUNT_AND_ADDRESS,
        }
    }

    fn address(address: ClientAddress) -> Self {
        Self {
            key: address_key(address),
            account: None,
            limit: PER_ADDRESS,
        }
    }

    fn untrusted(account: &AccountKey) -> Self {
        Self {
            key: digest(&["untrusted", account.as_str()]),
            account: Some(account.0.clone()),
            limit: PER_ACCOUNT_UNTRUSTED,
        }
    }

    fn device(device: &TrustedDevice, account: &AccountKey) -> Self {
        Self {
            key: digest(&["device", &device.0, account.as_str()]),
            account: Some(account.0.clone()),
            limit: PER_DEVICE,
        }
    }
}

fn digest(parts: &[&str]) -> String {
    crypto::sha256_hex(parts.join("\0").as_bytes())
}

fn address_key(address: ClientAddress) -> String {
    digest(&["address", &address.0.to_string()])
}

/// A browser proven to have signed in to the account before (the stored digest of its
/// device cookie).
#[derive(Clone, Debug)]
pub struct TrustedDevice(String);

/// The attempt may check a password; `reservation` gives it back if it succeeds.
#[derive(Debug)]
pub struct Reservation {
    keys: Vec<String>,
    /// This attempt reached a limit: if it fails, the bucket is locked until then.
    pub locks_until: Option<Timestamp>,
}

#[derive(Debug)]
pub enum Reserved {
    Granted(Reservation),
    /// Too many attempts: none is checked until `until`.
    Refused {
        until: Timestamp,
    },
}

#[derive(Clone, Debug)]
pub struct Throttle {
    db: Database,
}

impl Throttle {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// The device a cookie names, if it signed in to this account before and is not
    /// expired. A malformed cookie is simply not trusted.
    pub async fn trusted_device(
        &self,
        cookie: Option<&str>,
        account: &AccountKey,
        now: Timestamp,
    ) -> Result<Option<TrustedDevice>> {
        let Some(device) = cookie.and_then(device_digest) else {
            return Ok(None);
        };
        let found = store::is_trusted(self.db.reader(), &device, &account.0, now).await?;
        Ok(found.then_some(TrustedDevice(device)))
    }

    /// Reserves one attempt for `account` from `address` (or from a trusted device):
    /// see the module comment for the buckets and their order.
    pub async fn reserve(
        &self,
        account: &AccountKey,
        address: ClientAddress,
        device: Option<&TrustedDevice>,
        now: Timestamp,
    ) -> Result<Reserved> {
        if let Some(device) = device {
            match self
                .reserve_in(vec![Bucket::device(device, account)], now)
                .await?
            {
                granted @ Reserved::Granted(_) => return Ok(granted),
                // A device locked for failures is a stranger again (OWASP).
                Reserved::Refused { .. } => {}
            }
        }
        self.reserve_in(
            vec![
                Bucket::pair(account, address),
                Bucket::address(address),
                Bucket::untrusted(account),
            ],
            now,
        )
        .await
    }

    async fn reserve_in(&self, buckets: Vec<Bucket>, now: Timestamp) -> Result<Reserved> {
        let mut reservation = Reservation {
            keys: Vec::with_capacity(buckets.len()),
            locks_until: None,
        };
        for bucket in buckets {
            let (count, locked_until) = self.count_attempt(&bucket, now).await?;
            reservation.keys.push(bucket.key);
            if count > bucket.limit.attempts {
                let until = locked_until
                    .map_or_else(|| now.plus(bucket.limit.lockout), Timestamp::from_micros);
                return Ok(Reserved::Refused { until });
            }
            if count == bucket.limit.attempts {
                let until = locked_until.map(Timestamp::from_micros);
                reservation.locks_until = reservation.locks_until.max(until);
            }
        }
        Ok(Reserved::Granted(reservation))
    }

    /// Counts one attempt in a bucket, atomically, and returns the count of its window
    /// and its lock. See the module comment for the rules the statement encodes.
    async fn count_attempt(&self, bucket: &Bucket, now: Timestamp) -> Result<(i32, Option<i64>)> {
        store::count_attempt(
            self.db.writer(),
            &bucket.key,
            bucket.account.as_deref(),
            bucket.limit,
            now,
        )
        .await
    }

    /// A successful attempt, or one that was never checked (the hashing pool was full),
    /// gives its reservation back. Locks stay as they are.
    pub async fn release(&self, reservation: Reservation, now: Timestamp) -> Result<()> {
        store::release(self.db.writer(), reservation.keys, now).await?;
        Ok(())
    }

    /// Trusts this browser for the account (after a successful sign-in) and returns the
    /// device cookie to set. A cookie this node issued before is kept, so one browser
    /// stays one device across accounts; one it did not issue is replaced.
    pub async fn trust_device(
        &self,
        cookie: Option<&str>,
        account: &AccountKey,
        now: Timestamp,
    ) -> Result<SecretString> {
        let known = match cookie.and_then(|c| device_digest(c).map(|device| (c, device))) {
            Some((cookie, device)) => store::is_known_device(self.db.reader(), &device, now)
                .await?
                .then(|| cookie.to_owned()),
            None => None,
        };
        let secret = known.unwrap_or_else(crypto::random_token::<32>);
        let Some(device) = device_digest(&secret) else {
            return Err(Error::Internal("a device secret of the wrong shape".into()));
        };
        let expires_at = now.plus(DEVICE_LIFETIME);
        store::trust(self.db.writer(), device, &account.0, now, expires_at).await?;
        Ok(SecretString::from(secret))
    }

    /// Deletes buckets nobody needs any more and devices past their lifetime.
    pub async fn sweep(&self, now: Timestamp) -> Result<()> {
        store::sweep_buckets(self.db.writer(), now.minus(SWEEP_AFTER), now).await?;
        store::sweep_devices(self.db.writer(), now).await?;
        Ok(())
    }

    /// Ends every lock and count of one account, from every address and device (the
    /// command line's `roster admin unlock`). Returns how many buckets were cleared.
    pub async fn unlock_account(&self, account: &AccountKey) -> Result<u64> {
        Ok(store::delete_account_buckets(self.db.writer(), account.as_str()).await?)
    }

    /// Ends the lock and count of one client address.
    pub async fn unlock_address(&self, address: ClientAddress) -> Result<u64> {
        Ok(store::delete_bucket(self.db.writer(), address_key(address)).await?)
    }

    /// Forgets the devices trusted for an account (its password changed hands).
    pub async fn forget_devices(&self, account: &AccountKey) -> Result<()> {
        store::forget_devices(self.db.writer(), account.as_str()).await?;
        Ok(())
    }
}

/// The stored digest of a well-formed device cookie.
fn device_digest(cookie: &str) -> Option<String> {
    let well_formed = cookie.len() == DEVICE_SECRET_LEN
        && cookie
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    well_formed.then(|| crypto::sha256_hex(cookie.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_keyed_by_ipv4_or_ipv6_network() {
        let v4: IpAddr = "203.0.113.7".parse().unwrap();
        assert_eq!(ClientAddress::new(v4).ip(), v4);
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().unwrap();
        assert_eq!(ClientAddress::new(mapped).ip(), v4);
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ClientAddress::new(a), ClientAddress::new(b));
        assert_ne!(ClientAddress::new(a), ClientAddress::new(other));
    }

    #[test]
    fn account_keys_cover_the_organization_and_ignore_case() {
        assert_eq!(
            AccountKey::new("Acme", " IT@acme.test"),
            AccountKey::new("acme", "it@acme.test")
        );
        assert_ne!(
            AccountKey::new("acme", "it@acme.test"),
            AccountKey::new("globex", "it@acme.test")
        );
        assert_ne!(
            AccountKey::new("", "it@acme.test"),
            AccountKey::new("acme", "it@acme.test")
        );
    }
}
