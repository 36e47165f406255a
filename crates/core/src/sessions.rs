//! Admin sign-in: password checks with throttling and lockout, and sessions stored in the
//! database so that any node can serve any request.
//!
//! The browser holds a random secret; the database holds only its SHA-256 (`admin_sessions.id`),
//! so a copy of the database yields no live cookie. Every sign-in creates a new session
//! (the id is renewed, and a session the browser still carried is deleted), and a password
//! change ends every session of the admin and opens a fresh one.
//!
//! Failed attempts are counted per login name in `login_throttles`, whether an account has
//! that name or not, and the password check costs one argon2id verification either way
//! (`crypto::dummy_hash` stands in for a missing account): neither timing nor lockout
//! tells which emails exist.

use std::fmt;
use std::time::Duration;

use roster_entity::{admin, admin_session, login_throttle};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter,
};
use secrecy::{ExposeSecret, SecretString};

use crate::admins::{Admin, AdminId, NewPassword};
use crate::crypto;
use crate::error::is_unique_violation;
use crate::time::Timestamp;
use crate::{Database, Error, Result};

/// Failed attempts within [`FAILURE_WINDOW`] that lock a login name.
pub const MAX_FAILURES: i32 = 5;
/// How far back failures count.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// How long a locked login name stays locked.
pub const LOCKOUT: Duration = Duration::from_secs(15 * 60);
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

#[derive(Debug)]
pub enum LoginOutcome {
    SignedIn {
        admin: Admin,
        session: NewSession,
    },
    /// Wrong email or password; deliberately not saying which.
    Rejected,
    /// Too many failures for this login name; try again after `until`.
    LockedOut {
        until: Timestamp,
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
}

impl SessionService {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// Checks an email and password. `previous` is the session secret the browser still
    /// carried, if any: it is ended, so a signed-in browser always gets a new session id.
    pub async fn login(
        &self,
        email: &str,
        password: SecretString,
        previous: Option<&str>,
        policy: SessionPolicy,
    ) -> Result<LoginOutcome> {
        let now = Timestamp::now();
        let email_lower = email.trim().to_lowercase();
        let key = throttle_key(&email_lower);
        if let Some(row) = login_throttle::Entity::find_by_id(key.clone())
            .one(self.db.reader())
            .await?
            && let Some(until) = row.locked_until.filter(|until| *until > now.as_micros())
        {
            return Ok(LoginOutcome::LockedOut {
                until: Timestamp::from_micros(until),
            });
        }
        // Control characters cannot be in a stored email, and PostgreSQL refuses NUL in
        // text: such a name is simply unknown (and costs the same hashing as any other).
        let account = if email_lower.chars().any(char::is_control) || email_lower.len() > 320 {
            None
        } else {
            admin::Entity::find()
                .filter(admin::Column::EmailLower.eq(email_lower.as_str()))
                .one(self.db.reader())
                .await?
        };
        let phc = account.as_ref().map_or_else(
            || crypto::dummy_hash().to_owned(),
            |row| row.password_hash.clone(),
        );
        let matches = crypto::verify_secret(password, phc).await?;
        let Some(account) = account.filter(|_| matches) else {
            return self.record_failure(key, now).await;
        };

        let txn = self.db.begin_write().await?;
        login_throttle::Entity::delete_by_id(key).exec(&txn).await?;
        if let Some(previous) = previous {
            admin_session::Entity::delete_by_id(session_id(previous))
                .exec(&txn)
                .await?;
        }
        // Expired sessions of everyone are swept here: sign-ins are rare, and the
        // `expires_at` index makes it cheap.
        admin_session::Entity::delete_many()
            .filter(admin_session::Column::ExpiresAt.lte(now.as_micros()))
            .exec(&txn)
            .await?;
        let session = open_session(&txn, AdminId(account.id), policy, now).await?;
        let mut row = account.into_active_model();
        row.last_login_at = Set(Some(now.as_micros()));
        let account = row.update(&txn).await?;
        txn.commit().await?;
        Ok(LoginOutcome::SignedIn {
            admin: account.into(),
            session,
        })
    }

    async fn record_failure(&self, key: String, now: Timestamp) -> Result<LoginOutcome> {
        let txn = self.db.begin_write().await?;
        let row = login_throttle::Entity::find_by_id(key.clone())
            .one(&txn)
            .await?;
        let window_start = now.minus(FAILURE_WINDOW).as_micros();
        let (failures, window_started_at) = match &row {
            Some(row) if row.window_started_at > window_start => {
                (row.failures.saturating_add(1), row.window_started_at)
            }
            _ => (1, now.as_micros()),
        };
        let locked_until = (failures >= MAX_FAILURES).then(|| now.plus(LOCKOUT));
        let model = login_throttle::ActiveModel {
            key: Set(key),
            // A lockout starts a new count, so the name is usable again after it.
            failures: Set(if locked_until.is_some() { 0 } else { failures }),
            window_started_at: Set(window_started_at),
            locked_until: Set(locked_until.map(Timestamp::as_micros)),
        };
        let written = if row.is_some() {
            model.update(&txn).await.map(|_| ())
        } else {
            model.insert(&txn).await.map(|_| ())
        };
        match written {
            Ok(()) => txn.commit().await?,
            // Two nodes counted the first failure of a name at once; one count is enough.
            Err(err) if is_unique_violation(&err) => txn.rollback().await?,
            Err(err) => return Err(err.into()),
        }
        Ok(match locked_until {
            Some(until) => LoginOutcome::LockedOut { until },
            None => LoginOutcome::Rejected,
        })
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
        let now = Timestamp::now();
        let id = session_id(secret);
        let Some(row) = admin_session::Entity::find_by_id(id.clone())
            .one(self.db.reader())
            .await?
        else {
            return Ok(None);
        };
        let idle_since = now.minus(policy.idle_timeout).as_micros();
        if row.expires_at <= now.as_micros() || row.last_seen_at <= idle_since {
            admin_session::Entity::delete_by_id(id)
                .exec(self.db.writer())
                .await?;
            return Ok(None);
        }
        let Some(account) = admin::Entity::find_by_id(row.admin_id)
            .one(self.db.reader())
            .await?
        else {
            return Ok(None);
        };
        if row.last_seen_at <= now.minus(TOUCH_INTERVAL).as_micros() {
            admin_session::Entity::update_many()
                .col_expr(
                    admin_session::Column::LastSeenAt,
                    sea_orm::sea_query::Expr::value(now.as_micros()),
                )
                .filter(admin_session::Column::Id.eq(id.as_str()))
                .exec(self.db.writer())
                .await?;
        }
        Ok(Some(CurrentSession {
            id,
            admin: account.into(),
            csrf_token: row.csrf_token,
            expires_at: Timestamp::from_micros(row.expires_at),
        }))
    }

    /// Ends one session, on every node at once (the row is gone).
    pub async fn logout(&self, session: &CurrentSession) -> Result<()> {
        admin_session::Entity::delete_by_id(session.id.clone())
            .exec(self.db.writer())
            .await?;
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
        let Some(account) = admin::Entity::find_by_id(session.admin.id.0)
            .one(self.db.reader())
            .await?
        else {
            return Err(Error::NotFound);
        };
        if !crypto::verify_secret(current, account.password_hash.clone()).await? {
            return Ok(PasswordChange::WrongCurrentPassword);
        }
        let new = new.into_secret();
        if crypto::verify_secret(new.clone(), account.password_hash.clone()).await? {
            return Ok(PasswordChange::Unchanged);
        }
        let hash = crypto::hash_secret(new).await?;
        let now = Timestamp::now();
        let txn = self.db.begin_write().await?;
        let mut row = account.into_active_model();
        row.password_hash = Set(hash);
        row.must_change_password = Set(false);
        row.update(&txn).await?;
        admin_session::Entity::delete_many()
            .filter(admin_session::Column::AdminId.eq(session.admin.id.0))
            .exec(&txn)
            .await?;
        let new_session = open_session(&txn, session.admin.id, policy, now).await?;
        txn.commit().await?;
        Ok(PasswordChange::Changed(new_session))
    }
}

async fn open_session(
    conn: &impl ConnectionTrait,
    admin: AdminId,
    policy: SessionPolicy,
    now: Timestamp,
) -> Result<NewSession> {
    let secret = crypto::random_token::<32>();
    let expires_at = now.plus(policy.ttl);
    admin_session::ActiveModel {
        id: Set(session_id(&secret)),
        admin_id: Set(admin.0),
        csrf_token: Set(crypto::random_token::<32>()),
        created_at: Set(now.as_micros()),
        last_seen_at: Set(now.as_micros()),
        expires_at: Set(expires_at.as_micros()),
    }
    .insert(conn)
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

fn throttle_key(email_lower: &str) -> String {
    crypto::sha256_hex(format!("login:{email_lower}").as_bytes())
}

/// For tests and tools that must reach the stored row of a session they hold.
pub fn stored_session_id(secret: &SecretString) -> String {
    session_id(secret.expose_secret())
}
