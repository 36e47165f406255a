//! Invitations of a tenant's admins: single-use links that expire, can be revoked, and
//! through which the invitee chooses their own password. The account they create belongs
//! to the inviting tenant only.
//!
//! Why accounts are per tenant (issue 11): an email address nobody proved to own is no
//! proof of identity. With global accounts, the admin of one tenant could invite a
//! stranger's address, claim the account herself, and gain every tenant later granted to
//! that address. Here an invitation can only ever create an account in the inviting
//! tenant — where the inviter already has every power — so whoever accepts a link, the
//! inviter included, gains nothing elsewhere, and an address that administers another
//! tenant is simply a new, separate account here.
//!
//! The link's secret is 32 random bytes; only its SHA-256 is stored. The inviter sees the
//! link once (in the answer to the POST). Whether the email already has an account in
//! another tenant, or is an operator's, changes nothing in the answer: it is not looked
//! at.

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use crate::admins::{AccountScope, Admin, AdminEmail, NewPassword, Role, insert_account};
use crate::audit::{self, Actor, Change, Origin};
use crate::crypto;
use crate::error::is_unique_violation;
use crate::hashing::Hasher;
use crate::memberships::TenantAccess;
use crate::sessions::{NewSession, SessionPolicy, open_session};
use crate::store::TenantScope;
use crate::store::accounts::account_by_email;
use crate::store::accounts::invitations::{self as store, InvitationRow, NewInvitation};
use crate::store::tenants::find as tenant_by_id;
use crate::tenants::Tenant;
use crate::throttle::{AccountKey, Throttle};
use crate::time::Timestamp;
use crate::{Database, Error, Result};

/// How long an invitation link works unless configured otherwise.
pub const DEFAULT_TTL: Duration = Duration::from_secs(72 * 3600);
/// Pending invitations one tenant may have at once: the list stays one page, and a tenant
/// cannot fill the table.
pub const MAX_PENDING: u64 = 100;
/// Length of a link's secret: 32 random bytes, base64url without padding.
const SECRET_LEN: usize = 43;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InvitationId(pub Uuid);

/// A pending invitation, as the admins page lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingInvitation {
    pub id: InvitationId,
    pub email: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// An invitation just created: the secret of its link is shown once to the inviter.
pub struct CreatedInvitation {
    pub email: String,
    pub secret: SecretString,
    pub expires_at: Timestamp,
}

impl fmt::Debug for CreatedInvitation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreatedInvitation")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// What a link leads to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InvitationLookup {
    /// Usable: the invitee may choose a password.
    Open {
        tenant: Tenant,
        email: String,
        expires_at: Timestamp,
    },
    /// Past its time; the tenant is named so that the invitee knows whom to ask.
    Expired { tenant: Tenant },
    /// Never issued, used, or revoked.
    Unknown,
}

/// The outcome of accepting.
#[derive(Debug)]
pub enum Acceptance {
    /// The account exists and is signed in.
    Joined {
        admin: Admin,
        tenant: Tenant,
        session: NewSession,
        /// The device cookie for this browser.
        device: SecretString,
    },
    Expired {
        tenant: Tenant,
    },
    Unknown,
    /// The email became an admin of this tenant meanwhile (another link was used).
    AlreadyAdmin {
        tenant: Tenant,
    },
}

#[derive(Clone, Debug)]
pub struct InvitationService {
    db: Database,
    hasher: Hasher,
    throttle: Throttle,
    ttl: Duration,
}

impl InvitationService {
    pub fn new(db: Database, hasher: Hasher, ttl: Duration) -> Self {
        Self {
            throttle: Throttle::new(db.clone()),
            db,
            hasher,
            ttl,
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Invites `email` to administer the tenant. A pending invitation of the same email
    /// is replaced (its link stops working). The answer is the same whatever the email is
    /// elsewhere; only an admin of this very tenant is refused.
    pub async fn create(
        &self,
        scope: &TenantAccess,
        email: AdminEmail,
        by: Option<&Admin>,
    ) -> Result<CreatedInvitation> {
        let now = self.db.clock().now();
        let among = AccountScope::Tenant(scope.tenant().clone());
        let existing = account_by_email(self.db.reader(), &among, &email.lowercase()).await?;
        if existing.is_some() {
            return Err(Error::invalid(
                "email",
                "is already an admin of this tenant",
            ));
        }
        let secret = crypto::random_token::<32>();
        let expires_at = now.plus(self.ttl);
        let tenant = TenantScope::from(scope);
        let txn = self.db.begin_write().await?;
        store::delete_replaced_invitations(&txn, tenant, &email.lowercase(), now).await?;
        let pending = store::count_invitations(&txn, tenant).await?;
        if pending >= MAX_PENDING {
            txn.rollback().await?;
            return Err(Error::invalid(
                "email",
                format!(
                    "cannot be invited: this tenant has {MAX_PENDING} pending invitations; revoke some first"
                ),
            ));
        }
        let new = NewInvitation {
            email: email.as_str(),
            email_lower: email.lowercase(),
            secret_digest: crypto::sha256_hex(secret.as_bytes()),
            created_by: by.map(|admin| admin.id),
            created_at: now,
            expires_at,
        };
        match store::insert_invitation(&txn, tenant, new).await {
            Ok(id) => {
                audit::record(
                    &txn,
                    self.db.clock().now(),
                    scope,
                    Change::new("invitation.create")
                        .target("invitation", id.0, email.as_str())
                        .after(serde_json::json!({
                            "email": email.as_str(),
                            "expires_at": expires_at.to_rfc3339(),
                        })),
                )
                .await?;
                txn.commit().await?;
            }
            Err(err) if is_unique_violation(&err) => {
                txn.rollback().await?;
                return Err(Error::Conflict(
                    "this email was invited a moment ago; try again".to_owned(),
                ));
            }
            Err(err) => return Err(err.into()),
        }
        Ok(CreatedInvitation {
            email: email.as_str().to_owned(),
            secret: SecretString::from(secret),
            expires_at,
        })
    }

    /// The tenant's pending invitations, oldest first (at most [`MAX_PENDING`]).
    pub async fn pending(&self, scope: &TenantAccess) -> Result<Vec<PendingInvitation>> {
        let now = self.db.clock().now();
        let tenant = TenantScope::from(scope);
        Ok(store::pending_invitations(self.db.reader(), tenant, now).await?)
    }

    /// Revokes a pending invitation of this tenant: its link stops working at once.
    pub async fn revoke(&self, scope: &TenantAccess, id: InvitationId) -> Result<()> {
        let tenant = TenantScope::from(scope);
        let txn = self.db.begin_write().await?;
        let Some(row) = store::invitation(&txn, tenant, id).await? else {
            txn.rollback().await?;
            return Err(Error::NotFound);
        };
        store::delete_invitation(&txn, tenant, row.id).await?;
        audit::record(
            &txn,
            self.db.clock().now(),
            scope,
            Change::new("invitation.revoke").target("invitation", row.id.0, row.email),
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// What the link with this secret leads to.
    pub async fn lookup(&self, secret: &str) -> Result<InvitationLookup> {
        let Some((row, tenant)) = self.find(secret).await? else {
            return Ok(InvitationLookup::Unknown);
        };
        let expires_at = row.invitation.expires_at;
        if expires_at <= self.db.clock().now() {
            return Ok(InvitationLookup::Expired { tenant });
        }
        Ok(InvitationLookup::Open {
            tenant,
            email: row.invitation.email,
            expires_at,
        })
    }

    async fn find(&self, secret: &str) -> Result<Option<(InvitationRow, Tenant)>> {
        let well_formed = secret.len() == SECRET_LEN
            && secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !well_formed {
            return Ok(None);
        }
        let digest = crypto::sha256_hex(secret.as_bytes());
        let Some(row) = store::invitation_by_secret(self.db.reader(), &digest).await? else {
            return Ok(None);
        };
        let tenant = tenant_by_id(self.db.reader(), row.tenant).await?;
        Ok(tenant.map(|tenant| (row, tenant)))
    }

    /// Accepts an invitation: creates the account with the invitee's password, uses up
    /// the link (once only, also when two requests race), and signs the browser in.
    pub async fn accept(
        &self,
        secret: &SecretString,
        password: NewPassword,
        device_cookie: Option<&str>,
        policy: SessionPolicy,
    ) -> Result<Acceptance> {
        let Some((row, tenant)) = self.find(secret.expose_secret()).await? else {
            return Ok(Acceptance::Unknown);
        };
        if row.invitation.expires_at <= self.db.clock().now() {
            return Ok(Acceptance::Expired { tenant });
        }
        let email = AdminEmail::parse(&row.invitation.email)?;
        // Hashing before the write transaction: argon2 must not hold the lock.
        let hash = self.hasher.hash_password(password.into_secret()).await?;
        let now = self.db.clock().now();
        let txn = self.db.begin_write().await?;
        // Using the link up is the first write: of two requests with it, one deletes the
        // row and the other finds nothing to delete.
        let used = store::use_invitation(
            &txn,
            TenantScope::of_stored(row.tenant),
            row.invitation.id,
            now,
        )
        .await?;
        if !used {
            txn.rollback().await?;
            return Ok(Acceptance::Unknown);
        }
        let role = Role::TenantAdmin(row.tenant);
        let account = match insert_account(&txn, &email, hash, role, false, None, now).await {
            Ok(account) => account,
            Err(Error::Conflict(_)) => {
                txn.rollback().await?;
                return Ok(Acceptance::AlreadyAdmin { tenant });
            }
            Err(err) => return Err(err),
        };
        let session = open_session(&txn, account.id, policy, now).await?;
        audit::record_for(
            &txn,
            self.db.clock().now(),
            Some(tenant.id),
            &Actor::of_admin(&account),
            &Origin::default(),
            Change::new("invitation.accept").target("admin", account.id.0, account.email.clone()),
        )
        .await?;
        txn.commit().await?;
        let key = AccountKey::new(tenant.slug.as_str(), email.as_str());
        let device = self.throttle.trust_device(device_cookie, &key, now).await?;
        Ok(Acceptance::Joined {
            admin: account,
            tenant,
            session,
            device,
        })
    }
}
