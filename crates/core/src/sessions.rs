//! Admin sign-in: the password check behind the throttle (`crate::throttle`), and
//! sessions stored in the database so that any node can serve any request.
//!
//! An account is named by its organization (a tenant's slug; empty for operators) and its
//! email: a tenant's admin signs in to that tenant's account, an operator to the
//! operators'. The browser holds a random secret; the database holds only its SHA-256
//! (`admin_sessions.id`), so a copy of the database yields no live cookie. Every sign-in
//! creates a new session (the id is renewed, and a session the browser still carried is
//! deleted), and a password change ends every session of the admin and opens a fresh one.
//!
//! Every attempt is reserved in the throttle before its password is checked, and the check
//! costs one argon2id verification whether or not the account exists (a dummy hash
//! stands in for a missing one): neither timing nor lockout tells which accounts exist.
//! The verification runs on the node's bounded hashing pool; when it is full the attempt
//! is given back and answered `Error::Busy`.

use std::fmt;
use std::time::Duration;

use sea_orm::ConnectionTrait;
use secrecy::{ExposeSecret, SecretString};

use crate::admins::{AccountScope, Admin, AdminEmail, AdminId, NewPassword};
use crate::crypto;
use crate::hashing::Hasher;
use crate::store::accounts::{self, AccountRow};
use crate::store::sessions as store;
use crate::tenants::TenantSlug;
use crate::throttle::{AccountKey, ClientAddress, Reserved, Throttle};
use crate::time::Timestamp;
use crate::{Database, Error, Result};

/// `last_seen_at` is written at most this often per session: one write a minute, not one
/// per request.
const TOUCH_INTERVAL: Duration = Duration::from_secs(60);
/// Length of a cookie secret: 32 random bytes, base64url without padding.
const SECRET_LEN: usize = 43;

/// How long sessions live: an absolute lifetime and an idle timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionPolicy {
    pub ttl: Duration,
    pub idle_timeout: Duration,
}

/// A session just opened: the cookie secret goes to the browser and nowhere else.
pub struct NewSession {
    pub secret: SecretString,
    pub expires_at: Timestamp,
}

impl fmt::Debug for NewSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewSession")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The session a request carries, with its admin.
#[derive(Clone, PartialEq, Eq)]
pub struct CurrentSession {
    /// The stored id (a digest, not the cookie secret).
    pub id: String,
    pub admin: Admin,
    /// The token every state-changing form of this session must carry.
    pub csrf_token: String,
    pub expires_at: Timestamp,
}

impl fmt::Debug for CurrentSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CurrentSession")
            .field("admin", &self.admin.id)
            .finish_non_exhaustive()
    }
}

/// One sign-in attempt, as the form and the connection bring it.
pub struct SignIn<'a> {
    /// The tenant's slug; empty for an operator.
    pub organization: &'a str,
    pub email: &'a str,
    pub password: SecretString,
    /// Where the request came from (see `roster_web`'s trusted proxies).
    pub client: ClientAddress,
    /// The device cookie the browser carried, if any.
    pub device: Option<&'a str>,
    /// The session secret the browser still carried, if any: it is ended, so a signed-in
    /// browser always gets a new session id.
    pub previous_session: Option<&'a str>,
}

#[derive(Debug)]
pub enum LoginOutcome {
    SignedIn {
        admin: Admin,
        session: NewSession,
        /// The device cookie to set: this browser is now trusted for the account.
        device: SecretString,
    },
    /// Wrong organization, email or password; deliberately not saying which.
    Rejected,
    /// Too many attempts; try again after `until`.
    LockedOut { until: Timestamp },
    /// The password was right, but it is a one-time password past its lifetime.
    OneTimePasswordExpired {
        email: String,
        /// The tenant's slug, for a tenant's admin.
        organization: Option<String>,
    },
}

#[derive(Debug)]
pub enum PasswordChange {
    /// Every other session of the admin has ended; this one replaces the current one.
    Changed(NewSession),
    WrongCurrentPassword,
    /// The new password is the current one.
    Unchanged,
}

#[derive(Clone, Debug)]
pub struct SessionService {
    db: Database,
    hasher: Hasher,
    throttle: Throttle,
}

impl SessionService {
    pub fn new(db: Database, hasher: Hasher) -> Self {
        Self {
            throttle: Throttle::new(db.clone()),
            db,
            hasher,
        }
    }

    pub fn throttle(&self) -> &Throttle {
        &self.throttle
    }

    /// Checks an organization, email and password behind the throttle.
    pub async fn login(&self, attempt: SignIn<'_>, policy: SessionPolicy) -> Result<LoginOutcome> {
        let now = self.db.clock().now();
        let organization = roster_scim::value::fold_case(attempt.organization.trim());
        // What cannot name an account (a malformed email or organization, NUL included) is
        // refused without counting or hashing: it says nothing about any account.
        let Ok(email) = AdminEmail::parse(attempt.email) else {
            return Ok(LoginOutcome::Rejected);
        };
        if !organization.is_empty() && TenantSlug::parse(&organization).is_err() {
            return Ok(LoginOutcome::Rejected);
        }
        let key = AccountKey::new(&organization, email.as_str());
        let device = self
            .throttle
            .trusted_device(attempt.device, &key, now)
            .await?;
        let reservation = match self
            .throttle
            .reserve(&key, attempt.client, device.as_ref(), now)
            .await?
        {
            Reserved::Granted(reservation) => reservation,
            Reserved::Refused { until } => return Ok(LoginOutcome::LockedOut { until }),
        };
        // A place in the hashing queue only for an attempt that will be checked: refused
        // ones cost a row update, never a slot. A node too busy to check gives the
        // attempt back and says so.
        let slot = match self.hasher.reserve() {
            Ok(slot) => slot,
            Err(err) => {
                self.throttle.release(reservation, now).await?;
                return Err(err);
            }
        };
        let account = self.find_account(&organization, &email).await?;
        let matches = slot
            .verify(
                attempt.password,
                account.as_ref().map(|row| row.password_hash.clone()),
            )
            .await?;
        let Some(account) = account.filter(|_| matches) else {
            return Ok(match reservation.locks_until {
                Some(until) => LoginOutcome::LockedOut { until },
                None => LoginOutcome::Rejected,
            });
        };
        self.throttle.release(reservation, now).await?;
        if account.password_expires_at.is_some_and(|at| at <= now) {
            return Ok(LoginOutcome::OneTimePasswordExpired {
                email: account.admin.email,
                organization: (!organization.is_empty()).then_some(organization),
            });
        }

        let txn = self.db.begin_write().await?;
        // The account is checked again inside the transaction: removed, or given another
        // password, while its hash was computed, it is a refusal (the transaction rolls
        // back on drop), never a session of an account that no longer signs in so.
        let Some(admin) =
            accounts::record_login(&txn, account.admin.id, &account.password_hash, now).await?
        else {
            return Ok(LoginOutcome::Rejected);
        };
        if let Some(previous) = attempt.previous_session {
            store::delete_session(&txn, session_id(previous)).await?;
        }
        // Expired sessions of everyone are swept here: sign-ins are rare, and the
        // `expires_at` index makes it cheap.
        store::delete_expired_sessions(&txn, now).await?;
        let session = open_session(&txn, admin.id, policy, now).await?;
        txn.commit().await?;
        if let Err(err) = self.throttle.sweep(now).await {
            tracing::warn!(error = %err, "sweeping old sign-in throttles failed");
        }
        let device = self
            .throttle
            .trust_device(attempt.device, &key, now)
            .await?;
        Ok(LoginOutcome::SignedIn {
            admin,
            session,
            device,
        })
    }

    /// The account an organization and email name: an operator's when the organization
    /// is empty, else the admin account of that tenant.
    async fn find_account(
        &self,
        organization: &str,
        email: &AdminEmail,
    ) -> Result<Option<AccountRow>> {
        let among = if organization.is_empty() {
            AccountScope::Operators
        } else {
            let Some(tenant) =
                crate::store::tenants::find_by_slug(self.db.reader(), organization).await?
            else {
                return Ok(None);
            };
            AccountScope::Tenant(tenant)
        };
        Ok(accounts::account_by_email(self.db.reader(), &among, &email.lowercase()).await?)
    }

    /// The live session a cookie secret opens, or `None` (unknown, expired or idle for
    /// too long — such a row is deleted on the way).
    pub async fn authenticate(
        &self,
        secret: &str,
        policy: SessionPolicy,
    ) -> Result<Option<CurrentSession>> {
        let well_formed = secret.len() == SECRET_LEN
            && secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !well_formed {
            return Ok(None);
        }
        let now = self.db.clock().now();
        let id = session_id(secret);
        let Some(row) = store::session(self.db.reader(), &id).await? else {
            return Ok(None);
        };
        let idle_since = now.minus(policy.idle_timeout);
        if row.expires_at <= now || row.last_seen_at <= idle_since {
            store::delete_session(self.db.writer(), id).await?;
            return Ok(None);
        }
        let Some(account) = accounts::account(self.db.reader(), row.admin).await? else {
            return Ok(None);
        };
        if row.last_seen_at <= now.minus(TOUCH_INTERVAL) {
            store::touch_session(self.db.writer(), &id, now).await?;
        }
        Ok(Some(CurrentSession {
            id,
            admin: account.admin,
            csrf_token: row.csrf_token,
            expires_at: row.expires_at,
        }))
    }

    /// Ends the session a cookie secret opens, if any (a browser that signs in another
    /// way, e.g. through an invitation, leaves no session of the previous admin behind).
    pub async fn end(&self, secret: &str) -> Result<()> {
        store::delete_session(self.db.writer(), session_id(secret)).await?;
        Ok(())
    }

    /// Ends one session, on every node at once (the row is gone).
    pub async fn logout(&self, session: &CurrentSession) -> Result<()> {
        store::delete_session(self.db.writer(), session.id.clone()).await?;
        Ok(())
    }

    /// Changes the admin's password after checking the current one, clears
    /// `must_change_password`, ends all of the admin's sessions and opens a new one.
    pub async fn change_password(
        &self,
        session: &CurrentSession,
        current: SecretString,
        new: NewPassword,
        policy: SessionPolicy,
    ) -> Result<PasswordChange> {
        let Some(account) = accounts::account(self.db.reader(), session.admin.id).await? else {
            return Err(Error::NotFound);
        };
        let stored = Some(account.password_hash.clone());
        if !self.hasher.verify(current, stored.clone()).await? {
            return Ok(PasswordChange::WrongCurrentPassword);
        }
        let new = new.into_secret();
        if self.hasher.verify(new.clone(), stored).await? {
            return Ok(PasswordChange::Unchanged);
        }
        let hash = self.hasher.hash_password(new).await?;
        let now = self.db.clock().now();
        let txn = self.db.begin_write().await?;
        accounts::set_password(&txn, account.admin.id, hash, false, None).await?;
        store::delete_sessions_of(&txn, session.admin.id).await?;
        let new_session = open_session(&txn, session.admin.id, policy, now).await?;
        txn.commit().await?;
        Ok(PasswordChange::Changed(new_session))
    }
}

pub(crate) async fn open_session(
    conn: &impl ConnectionTrait,
    admin: AdminId,
    policy: SessionPolicy,
    now: Timestamp,
) -> Result<NewSession> {
    let secret = crypto::random_token::<32>();
    let expires_at = now.plus(policy.ttl);
    let csrf_token = crypto::random_token::<32>();
    store::insert_session(
        conn,
        session_id(&secret),
        admin,
        csrf_token,
        now,
        expires_at,
    )
    .await?;
    Ok(NewSession {
        secret: SecretString::from(secret),
        expires_at,
    })
}

/// The stored id of a session: the digest of its cookie secret.
fn session_id(secret: &str) -> String {
    crypto::sha256_hex(secret.as_bytes())
}

/// For tests and tools that must reach the stored row of a session they hold.
pub fn stored_session_id(secret: &SecretString) -> String {
    session_id(secret.expose_secret())
}
