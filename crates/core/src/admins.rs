//! Admin accounts: operators (every tenant) and tenant admins (one tenant each: the one
//! that invited them).

use std::fmt;
use std::time::Duration;

use sea_orm::ConnectionTrait;
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use crate::crypto;
use crate::error::is_unique_violation;
use crate::hashing::Hasher;
use crate::store::TenantScope;
use crate::store::accounts::{self as store, AccountRow, NewAccount};
use crate::store::sessions::delete_sessions_of;
use crate::tenants::{Tenant, TenantId};
use crate::throttle::{AccountKey, ClientAddress, Throttle};
use crate::time::Timestamp;
use crate::{Database, Error, Result};

/// The login of an admin: an email address, compared without regard to case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminEmail(String);

impl AdminEmail {
    pub fn parse(raw: &str) -> Result<Self> {
        let email = raw.trim();
        if email.len() > 254 {
            return Err(Error::invalid(
                "email",
                "must be at most 254 characters long",
            ));
        }
        let Some((local, domain)) = email.split_once('@') else {
            return Err(Error::invalid(
                "email",
                "must be an email address, like it@example.com",
            ));
        };
        let domain_ok = !domain.is_empty()
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
            && !domain.starts_with('.')
            && !domain.ends_with('.');
        let local_ok = !local.is_empty()
            && !local
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '@' || c == '<' || c == '>');
        if !domain_ok || !local_ok {
            return Err(Error::invalid(
                "email",
                "must be an email address, like it@example.com",
            ));
        }
        Ok(Self(email.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn lowercase(&self) -> String {
        roster_scim::value::fold_case(&self.0)
    }
}

impl fmt::Display for AdminEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A new password: 12 to 1,024 characters. Its `Debug` never shows it.
pub struct NewPassword(SecretString);

impl NewPassword {
    pub fn parse(raw: SecretString) -> Result<Self> {
        let length = raw.expose_secret().chars().count();
        if length < 12 {
            return Err(Error::invalid(
                "password",
                "must be at least 12 characters long",
            ));
        }
        if length > 1024 {
            return Err(Error::invalid(
                "password",
                "must be at most 1,024 characters long",
            ));
        }
        Ok(Self(raw))
    }

    pub fn into_secret(self) -> SecretString {
        self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AdminId(pub Uuid);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admin {
    pub id: AdminId,
    pub email: String,
    pub is_operator: bool,
    /// The tenant a tenant admin's account belongs to (and the only one it may manage);
    /// `None` for operators.
    pub tenant_id: Option<TenantId>,
    pub must_change_password: bool,
}

/// How long a one-time password works (first start, `roster admin reset-password`).
pub const ONE_TIME_PASSWORD_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// A one-time password just issued, to be shown once.
pub struct OneTimePassword {
    pub email: String,
    pub password: SecretString,
    pub expires_at: Timestamp,
}

impl fmt::Debug for OneTimePassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OneTimePassword")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The operator account created on the very first start, with its one-time password.
pub type BootstrapOperator = OneTimePassword;

/// Which accounts an email is looked up among: the operators, or one tenant's admins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccountScope {
    Operators,
    Tenant(Tenant),
}

impl AccountScope {
    /// What a person types as the organization at sign-in.
    pub fn organization(&self) -> &str {
        match self {
            Self::Operators => "",
            Self::Tenant(tenant) => tenant.slug.as_str(),
        }
    }
}

/// An account as `roster admin list` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountSummary {
    pub id: AdminId,
    pub email: String,
    /// The tenant's slug; `None` for operators (and for accounts without a tenant that an
    /// older release created during an upgrade: `is_operator` tells them apart).
    pub organization: Option<String>,
    pub is_operator: bool,
    pub must_change_password: bool,
    pub password_expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub last_login_at: Option<Timestamp>,
}

#[derive(Clone, Debug)]
pub struct AdminService {
    db: Database,
    hasher: Hasher,
    throttle: Throttle,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Operator,
    /// An admin of this tenant only.
    TenantAdmin(TenantId),
}

impl AdminService {
    pub fn new(db: Database, hasher: Hasher) -> Self {
        Self {
            throttle: Throttle::new(db.clone()),
            db,
            hasher,
        }
    }

    /// Creates an account. A tenant's admin also gets the membership row releases before
    /// tenant-scoped accounts read (see the migration `m20261206_100001`).
    pub async fn create(
        &self,
        email: AdminEmail,
        password: NewPassword,
        role: Role,
        must_change_password: bool,
    ) -> Result<Admin> {
        let hash = self.hasher.hash_password(password.into_secret()).await?;
        let now = self.db.clock().now();
        let expires = must_change_password.then(|| now.plus(ONE_TIME_PASSWORD_LIFETIME));
        let txn = self.db.begin_write().await?;
        let row =
            insert_account(&txn, &email, hash, role, must_change_password, expires, now).await;
        let row = match row {
            Ok(row) => row,
            Err(err) => {
                txn.rollback().await?;
                return Err(err);
            }
        };
        txn.commit().await?;
        Ok(row)
    }

    pub async fn count(&self) -> Result<u64> {
        Ok(store::count_admins(self.db.reader()).await?)
    }

    /// On a database without any admin, creates an operator with a one-time password
    /// (valid for [`ONE_TIME_PASSWORD_LIFETIME`]) and returns it, to be shown once.
    /// Returns `None` when an admin exists — including when another node created the
    /// operator a moment earlier.
    pub async fn bootstrap_operator(&self, email: AdminEmail) -> Result<Option<BootstrapOperator>> {
        if self.count().await? > 0 {
            return Ok(None);
        }
        let password = SecretString::from(crypto::readable_password());
        let new_password = NewPassword(password.clone());
        match self.create(email, new_password, Role::Operator, true).await {
            Ok(admin) => Ok(Some(OneTimePassword {
                email: admin.email,
                password,
                expires_at: self.db.clock().now().plus(ONE_TIME_PASSWORD_LIFETIME),
            })),
            Err(Error::Conflict(_)) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// The account `email` names among `scope`, if any.
    pub async fn find(&self, scope: &AccountScope, email: &AdminEmail) -> Result<Option<Admin>> {
        Ok(self.find_row(scope, email).await?.map(|row| row.admin))
    }

    async fn find_row(
        &self,
        scope: &AccountScope,
        email: &AdminEmail,
    ) -> Result<Option<AccountRow>> {
        Ok(store::account_by_email(self.db.reader(), scope, &email.lowercase()).await?)
    }

    /// The stored hash of an account, for checks such as the first-start test.
    pub async fn password_hash(
        &self,
        scope: &AccountScope,
        email: &AdminEmail,
    ) -> Result<Option<String>> {
        Ok(self
            .find_row(scope, email)
            .await?
            .map(|row| row.password_hash))
    }

    /// Gives an account a new one-time password (valid for
    /// [`ONE_TIME_PASSWORD_LIFETIME`], to be changed at the next sign-in), ends its
    /// sessions, forgets its trusted browsers and clears its throttles. `None` when no
    /// such account exists. The command line's `roster admin reset-password`.
    pub async fn reset_password(
        &self,
        scope: &AccountScope,
        email: &AdminEmail,
    ) -> Result<Option<OneTimePassword>> {
        let Some(row) = self.find_row(scope, email).await? else {
            return Ok(None);
        };
        let password = SecretString::from(crypto::readable_password());
        let hash = self.hasher.hash_password(password.clone()).await?;
        let now = self.db.clock().now();
        let expires_at = now.plus(ONE_TIME_PASSWORD_LIFETIME);
        let txn = self.db.begin_write().await?;
        let email_shown = row.admin.email.clone();
        let id = row.admin.id;
        store::set_password(&txn, id, hash, true, Some(expires_at)).await?;
        delete_sessions_of(&txn, id).await?;
        txn.commit().await?;
        let key = AccountKey::new(scope.organization(), email.as_str());
        self.throttle.forget_devices(&key).await?;
        self.throttle.unlock_account(&key).await?;
        Ok(Some(OneTimePassword {
            email: email_shown,
            password,
            expires_at,
        }))
    }

    /// Clears every sign-in throttle of one account (whether or not it exists: locks are
    /// kept for names without accounts too). Returns how many buckets were cleared.
    pub async fn unlock(&self, scope: &AccountScope, email: &AdminEmail) -> Result<u64> {
        self.throttle
            .unlock_account(&AccountKey::new(scope.organization(), email.as_str()))
            .await
    }

    /// Clears the sign-in throttle of one client address.
    pub async fn unlock_address(&self, address: std::net::IpAddr) -> Result<u64> {
        self.throttle
            .unlock_address(ClientAddress::new(address))
            .await
    }

    /// Deletes an account, its sessions and memberships with it. The last operator stays:
    /// without one, nobody could create tenants.
    pub async fn remove(&self, scope: &AccountScope, email: &AdminEmail) -> Result<()> {
        let found = match self.find_row(scope, email).await? {
            Some(row) => Some(row),
            // Among the operators' scope also: an account without a tenant that an older
            // release made during a rolling upgrade (it cannot sign in; `list` shows it).
            None if *scope == AccountScope::Operators => {
                store::tenantless_account_by_email(self.db.reader(), &email.lowercase()).await?
            }
            None => None,
        };
        let Some(AccountRow { admin: row, .. }) = found else {
            return Err(Error::NotFound);
        };
        let txn = self.db.begin_write().await?;
        // Counted inside the transaction that deletes, under a lock: two operators
        // removing each other at once leave one, never none.
        if row.is_operator && store::count_operators_locked((&self.db, &txn)).await? <= 1 {
            txn.rollback().await?;
            return Err(Error::invalid(
                "email",
                "is the last operator; create another operator first",
            ));
        }
        if store::delete_admin(&txn, row.id).await? == 0 {
            txn.rollback().await?;
            return Err(Error::NotFound);
        }
        crate::audit::record_for(
            &txn,
            self.db.clock().now(),
            row.tenant_id,
            &crate::audit::Actor::CommandLine,
            &crate::audit::Origin::default(),
            crate::audit::Change::new("admin.remove").target("admin", row.id.0, row.email.clone()),
        )
        .await?;
        txn.commit().await?;
        let key = AccountKey::new(scope.organization(), email.as_str());
        self.throttle.forget_devices(&key).await?;
        Ok(())
    }

    /// Every account (of one tenant, when given), operators first, then by tenant and
    /// email.
    pub async fn list(&self, tenant: Option<TenantId>) -> Result<Vec<AccountSummary>> {
        let rows = store::accounts(self.db.reader(), tenant).await?;
        let ids = rows
            .iter()
            .filter_map(|row| row.admin.tenant_id.map(|id| id.0));
        let ids: Vec<_> = ids
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let tenants = crate::store::tenants::slugs_of(self.db.reader(), ids).await?;
        Ok(rows
            .into_iter()
            .map(|row| AccountSummary {
                id: row.admin.id,
                organization: row
                    .admin
                    .tenant_id
                    .and_then(|id| tenants.get(&id.0).cloned()),
                email: row.admin.email,
                is_operator: row.admin.is_operator,
                must_change_password: row.admin.must_change_password,
                password_expires_at: row.password_expires_at,
                created_at: row.created_at,
                last_login_at: row.last_login_at,
            })
            .collect())
    }
}

/// Inserts an account (and, for a tenant's admin, its membership row) in `conn`.
pub(crate) async fn insert_account(
    conn: &impl ConnectionTrait,
    email: &AdminEmail,
    hash: String,
    role: Role,
    must_change_password: bool,
    password_expires_at: Option<Timestamp>,
    now: Timestamp,
) -> Result<Admin> {
    let tenant = match role {
        Role::Operator => None,
        Role::TenantAdmin(tenant) => Some(tenant),
    };
    let new = NewAccount {
        tenant,
        email: email.as_str(),
        email_lower: email.lowercase(),
        password_hash: hash,
        is_operator: role == Role::Operator,
        must_change_password,
        password_expires_at,
        created_at: now,
    };
    let row = match store::insert_admin(conn, new).await {
        Ok(row) => row,
        Err(err) if is_unique_violation(&err) => {
            return Err(Error::Conflict(format!(
                "an admin with the email {email} already exists"
            )));
        }
        Err(err) => return Err(err.into()),
    };
    if let Some(tenant) = tenant {
        // Read by releases before tenant-scoped accounts (expand/contract).
        store::insert_membership(conn, TenantScope::of_stored(tenant), row.id, "admin", now)
            .await?;
    }
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked() {
        assert!(AdminEmail::parse("it@example.com").is_ok());
        assert!(AdminEmail::parse("admin@localhost").is_ok());
        assert!(AdminEmail::parse("no-at-sign").is_err());
        assert!(AdminEmail::parse("a b@example.com").is_err());
        assert!(AdminEmail::parse("<script>@x.com").is_err());
        assert_eq!(
            AdminEmail::parse("It@Example.com").unwrap().lowercase(),
            "it@example.com"
        );
    }

    #[test]
    fn passwords_are_checked_and_never_printed() {
        assert!(NewPassword::parse(SecretString::from("short")).is_err());
        let password = NewPassword::parse(SecretString::from("long enough password")).unwrap();
        assert_eq!(format!("{password:?}"), "NewPassword(***)");
    }
}
