//! Admin accounts: operators (every tenant) and tenant admins.

use std::fmt;

use roster_entity::admin;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use crate::crypto;
use crate::error::is_unique_violation;
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
        self.0.to_lowercase()
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
    pub must_change_password: bool,
}

impl From<admin::Model> for Admin {
    fn from(row: admin::Model) -> Self {
        Self {
            id: AdminId(row.id),
            email: row.email,
            is_operator: row.is_operator,
            must_change_password: row.must_change_password,
        }
    }
}

/// The operator account created on the very first start, with its one-time password.
pub struct BootstrapOperator {
    pub email: String,
    pub password: SecretString,
}

#[derive(Clone, Debug)]
pub struct AdminService {
    db: Database,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Operator,
    TenantAdmin,
}

impl AdminService {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    pub async fn create(
        &self,
        email: AdminEmail,
        password: NewPassword,
        role: Role,
        must_change_password: bool,
    ) -> Result<Admin> {
        let hash = crypto::hash_secret(password.into_secret()).await?;
        let row = admin::ActiveModel {
            id: Set(Uuid::now_v7()),
            email: Set(email.as_str().to_owned()),
            email_lower: Set(email.lowercase()),
            password_hash: Set(hash),
            is_operator: Set(role == Role::Operator),
            must_change_password: Set(must_change_password),
            failed_logins: Set(0),
            locked_until: Set(None),
            created_at: Set(Timestamp::now().as_micros()),
            last_login_at: Set(None),
        };
        match row.insert(self.db.writer()).await {
            Ok(row) => Ok(row.into()),
            Err(err) if is_unique_violation(&err) => Err(Error::Conflict(format!(
                "an admin with the email {email} already exists"
            ))),
            Err(err) => Err(err.into()),
        }
    }

    pub async fn count(&self) -> Result<u64> {
        Ok(admin::Entity::find().count(self.db.reader()).await?)
    }

    /// On a database without any admin, creates an operator with a one-time password
    /// and returns it, to be shown once. Returns `None` when an admin exists — including
    /// when another node created the operator a moment earlier.
    pub async fn bootstrap_operator(&self, email: AdminEmail) -> Result<Option<BootstrapOperator>> {
        if self.count().await? > 0 {
            return Ok(None);
        }
        let password = SecretString::from(crypto::readable_password());
        let new_password = NewPassword(password.clone());
        match self.create(email, new_password, Role::Operator, true).await {
            Ok(admin) => Ok(Some(BootstrapOperator {
                email: admin.email,
                password,
            })),
            Err(Error::Conflict(_)) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// The admin who signs in with `email`, if any.
    pub async fn find_by_email(&self, email: &AdminEmail) -> Result<Option<Admin>> {
        Ok(admin::Entity::find()
            .filter(admin::Column::EmailLower.eq(email.lowercase()))
            .one(self.db.reader())
            .await?
            .map(Admin::from))
    }

    /// The stored hash of an admin, for checks such as the first-start test.
    pub async fn password_hash(&self, email: &AdminEmail) -> Result<Option<String>> {
        Ok(admin::Entity::find()
            .filter(admin::Column::EmailLower.eq(email.lowercase()))
            .one(self.db.reader())
            .await?
            .map(|row| row.password_hash))
    }
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
