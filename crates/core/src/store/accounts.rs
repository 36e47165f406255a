//! Admin accounts as stored (`admins`, node-wide: operators and the admins of one tenant
//! each), the `tenant_memberships` rows still written for older releases, and the tenant
//! lookups that sign-in, access checks and links start from. Invitations and setup links
//! are in the submodules.

pub(crate) mod invitations;
pub(crate) mod setup_links;

use roster_entity::{admin, tenant_membership};
use sea_orm::ActiveValue::{Set, Unchanged};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::{Database, TenantScope};
use crate::admins::{AccountScope, Admin, AdminId};
use crate::tenants::TenantId;
use crate::time::Timestamp;

/// An account as stored: the admin, and what only sign-in and the lists read.
pub(crate) struct AccountRow {
    pub admin: Admin,
    pub password_hash: String,
    pub password_expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub last_login_at: Option<Timestamp>,
}

/// An account to create.
pub(crate) struct NewAccount<'a> {
    pub tenant: Option<TenantId>,
    pub email: &'a str,
    pub email_lower: String,
    pub password_hash: String,
    pub is_operator: bool,
    pub must_change_password: bool,
    pub password_expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

fn admin_of(row: &admin::Model) -> Admin {
    Admin {
        id: AdminId(row.id),
        email: row.email.clone(),
        is_operator: row.is_operator,
        tenant_id: row.tenant_id.map(TenantId),
        must_change_password: row.must_change_password,
    }
}

fn account_of(row: admin::Model) -> AccountRow {
    AccountRow {
        admin: admin_of(&row),
        password_hash: row.password_hash,
        password_expires_at: row.password_expires_at.map(Timestamp::from_micros),
        created_at: Timestamp::from_micros(row.created_at),
        last_login_at: row.last_login_at.map(Timestamp::from_micros),
    }
}

/// How many accounts exist.
pub(crate) async fn count_admins(conn: &impl ConnectionTrait) -> Result<u64, DbErr> {
    admin::Entity::find().count(conn).await
}

/// How many operators there are, their rows locked until the transaction ends where
/// another connection could remove one meanwhile (PostgreSQL; SQLite's write transaction
/// has the database to itself): two removals at once cannot both see two operators.
pub(crate) async fn count_operators_locked(
    (db, conn): (&Database, &impl ConnectionTrait),
) -> Result<u64, DbErr> {
    let ids: Vec<Uuid> = db
        .lock_rows(admin::Entity::find().filter(admin::Column::IsOperator.eq(true)))
        .select_only()
        .column(admin::Column::Id)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(u64::try_from(ids.len()).unwrap_or(u64::MAX))
}

/// The account with this (lower-cased) email among the operators or one tenant's admins.
pub(crate) async fn account_by_email(
    conn: &impl ConnectionTrait,
    among: &AccountScope,
    email_lower: &str,
) -> Result<Option<AccountRow>, DbErr> {
    let query = admin::Entity::find().filter(admin::Column::EmailLower.eq(email_lower));
    let query = match among {
        AccountScope::Operators => query
            .filter(admin::Column::TenantId.is_null())
            .filter(admin::Column::IsOperator.eq(true)),
        AccountScope::Tenant(tenant) => query
            .filter(admin::Column::TenantId.eq(tenant.id.0))
            .filter(admin::Column::IsOperator.eq(false)),
    };
    Ok(query.one(conn).await?.map(account_of))
}

/// The account with this (lower-cased) email that has neither a tenant nor the operator
/// role (made by an older release during a rolling upgrade).
pub(crate) async fn tenantless_account_by_email(
    conn: &impl ConnectionTrait,
    email_lower: &str,
) -> Result<Option<AccountRow>, DbErr> {
    Ok(admin::Entity::find()
        .filter(admin::Column::EmailLower.eq(email_lower))
        .filter(admin::Column::TenantId.is_null())
        .filter(admin::Column::IsOperator.eq(false))
        .one(conn)
        .await?
        .map(account_of))
}

/// The account with this id, if any.
pub(crate) async fn account(
    conn: &impl ConnectionTrait,
    id: AdminId,
) -> Result<Option<AccountRow>, DbErr> {
    Ok(admin::Entity::find_by_id(id.0)
        .one(conn)
        .await?
        .map(account_of))
}

/// Every account (of one tenant, when given), operators first, then by tenant and email.
pub(crate) async fn accounts(
    conn: &impl ConnectionTrait,
    tenant: Option<TenantId>,
) -> Result<Vec<AccountRow>, DbErr> {
    let mut query = admin::Entity::find()
        .order_by_desc(admin::Column::IsOperator)
        .order_by_asc(admin::Column::TenantId)
        .order_by_asc(admin::Column::EmailLower);
    if let Some(tenant) = tenant {
        query = query.filter(admin::Column::TenantId.eq(tenant.0));
    }
    Ok(query.all(conn).await?.into_iter().map(account_of).collect())
}

/// The admin accounts of one tenant (operators aside), by id, at most `limit` after
/// `after`.
pub(crate) async fn tenant_admins(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    after: Option<AdminId>,
    limit: u64,
) -> Result<Vec<AccountRow>, DbErr> {
    let mut query = admin::Entity::find()
        .filter(admin::Column::TenantId.eq(scope.tenant_uuid()))
        .filter(admin::Column::IsOperator.eq(false))
        .order_by_asc(admin::Column::Id)
        .limit(limit);
    if let Some(after) = after {
        query = query.filter(admin::Column::Id.gt(after.0));
    }
    Ok(query.all(conn).await?.into_iter().map(account_of).collect())
}

/// One admin account of this tenant (operators aside), if any.
pub(crate) async fn tenant_admin(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    id: AdminId,
) -> Result<Option<AccountRow>, DbErr> {
    Ok(admin::Entity::find_by_id(id.0)
        .filter(admin::Column::TenantId.eq(scope.tenant_uuid()))
        .filter(admin::Column::IsOperator.eq(false))
        .one(conn)
        .await?
        .map(account_of))
}

/// Which of `ids` still exist, their rows locked until the transaction ends where another
/// connection could delete them meanwhile (PostgreSQL; SQLite's write transaction has the
/// database to itself) — in id order, so that two transactions locking the same accounts
/// never wait for each other in a circle.
pub(crate) async fn lock_accounts(
    (db, conn): (&Database, &impl ConnectionTrait),
    ids: &[AdminId],
) -> Result<Vec<AdminId>, DbErr> {
    let rows: Vec<Uuid> = db
        .lock_rows(
            admin::Entity::find()
                .filter(admin::Column::Id.is_in(ids.iter().map(|id| id.0)))
                .order_by_asc(admin::Column::Id),
        )
        .select_only()
        .column(admin::Column::Id)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(AdminId).collect())
}

/// Inserts an account (a unique violation when the email is taken in its scope).
pub(crate) async fn insert_admin(
    conn: &impl ConnectionTrait,
    new: NewAccount<'_>,
) -> Result<Admin, DbErr> {
    let row = admin::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(new.tenant.map(|tenant| tenant.0)),
        email: Set(new.email.to_owned()),
        email_lower: Set(new.email_lower),
        password_hash: Set(new.password_hash),
        is_operator: Set(new.is_operator),
        must_change_password: Set(new.must_change_password),
        password_expires_at: Set(new.password_expires_at.map(Timestamp::as_micros)),
        failed_logins: Set(0),
        locked_until: Set(None),
        created_at: Set(new.created_at.as_micros()),
        last_login_at: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(admin_of(&row))
}

/// Inserts the membership row of a tenant's admin (read by releases before tenant-scoped
/// accounts).
pub(crate) async fn insert_membership(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    admin: AdminId,
    role: &str,
    now: Timestamp,
) -> Result<(), DbErr> {
    tenant_membership::ActiveModel {
        tenant_id: Set(scope.tenant_uuid()),
        admin_id: Set(admin.0),
        role: Set(role.to_owned()),
        created_at: Set(now.as_micros()),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Replaces an account's password (`RecordNotUpdated` when the account is gone).
pub(crate) async fn set_password(
    conn: &impl ConnectionTrait,
    id: AdminId,
    password_hash: String,
    must_change_password: bool,
    password_expires_at: Option<Timestamp>,
) -> Result<(), DbErr> {
    admin::ActiveModel {
        id: Unchanged(id.0),
        password_hash: Set(password_hash),
        must_change_password: Set(must_change_password),
        password_expires_at: Set(password_expires_at.map(Timestamp::as_micros)),
        ..Default::default()
    }
    .update(conn)
    .await?;
    Ok(())
}

/// Records a sign-in at `now` — if the account still exists and still holds the password
/// hash the sign-in was checked against (it may have been removed, or its password
/// changed, while the hash was computed); returns the account as updated, or `None`.
pub(crate) async fn record_login(
    conn: &impl ConnectionTrait,
    id: AdminId,
    checked_hash: &str,
    now: Timestamp,
) -> Result<Option<Admin>, DbErr> {
    let rows = admin::Entity::update_many()
        .col_expr(
            admin::Column::LastLoginAt,
            sea_orm::sea_query::Expr::value(now.as_micros()),
        )
        .filter(admin::Column::Id.eq(id.0))
        .filter(admin::Column::PasswordHash.eq(checked_hash))
        .exec_with_returning(conn)
        .await?;
    Ok(rows.first().map(admin_of))
}

/// Deletes an account (its sessions and memberships go with it); returns the rows deleted.
pub(crate) async fn delete_admin(conn: &impl ConnectionTrait, id: AdminId) -> Result<u64, DbErr> {
    Ok(admin::Entity::delete_by_id(id.0)
        .exec(conn)
        .await?
        .rows_affected)
}
