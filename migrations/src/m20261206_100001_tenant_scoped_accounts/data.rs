//! The data step of `m20261206_100001`: existing accounts split one per tenant (`up`),
//! and merged back (`down`). Backend-neutral builders, run inside the migration's
//! transaction.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, QueryResult, Value};
use uuid::Uuid;

use super::{AdminSessions, Admins, ONE_TIME_PASSWORD_GRACE_MICROS, ScimTokens, TenantMemberships};

/// One account per (tenant admin, tenant): see the migration's module comment.
pub(super) async fn split_accounts(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let conn = manager.get_connection();
    let now = now_micros();
    let rows = conn
        .query_all(
            &Query::select()
                .column((TenantMemberships::Table, TenantMemberships::TenantId))
                .column((TenantMemberships::Table, TenantMemberships::AdminId))
                .column((TenantMemberships::Table, TenantMemberships::CreatedAt))
                .from(TenantMemberships::Table)
                .inner_join(
                    Admins::Table,
                    Expr::col((Admins::Table, Admins::Id))
                        .equals((TenantMemberships::Table, TenantMemberships::AdminId)),
                )
                .and_where(Expr::col((Admins::Table, Admins::IsOperator)).eq(false))
                .order_by(
                    (TenantMemberships::Table, TenantMemberships::AdminId),
                    Order::Asc,
                )
                .order_by(
                    (TenantMemberships::Table, TenantMemberships::CreatedAt),
                    Order::Asc,
                )
                .order_by(
                    (TenantMemberships::Table, TenantMemberships::TenantId),
                    Order::Asc,
                )
                .to_owned(),
        )
        .await?;
    let mut previous: Option<Uuid> = None;
    for row in rows {
        let tenant: Uuid = row.try_get("", "tenant_id")?;
        let admin: Uuid = row.try_get("", "admin_id")?;
        let joined_at: i64 = row.try_get("", "created_at")?;
        if previous != Some(admin) {
            // The oldest membership keeps the account (and, alone, its sessions).
            previous = Some(admin);
            conn.execute(
                &Query::update()
                    .table(Admins::Table)
                    .value(Admins::TenantId, tenant)
                    .and_where(Expr::col(Admins::Id).eq(admin))
                    .to_owned(),
            )
            .await?;
            continue;
        }
        let copy = new_account_for(conn, admin, tenant, joined_at).await?;
        conn.execute(
            &Query::update()
                .table(TenantMemberships::Table)
                .value(TenantMemberships::AdminId, copy)
                .and_where(Expr::col(TenantMemberships::TenantId).eq(tenant))
                .and_where(Expr::col(TenantMemberships::AdminId).eq(admin))
                .to_owned(),
        )
        .await?;
        // The account now stands for one tenant; a session of it that spanned several
        // would not know which. Its owner signs in again, naming the organization.
        conn.execute(
            &Query::delete()
                .from_table(AdminSessions::Table)
                .and_where(Expr::col(AdminSessions::AdminId).eq(admin))
                .to_owned(),
        )
        .await?;
    }

    // Tenant admins left without any tenant: delete them and what points at them
    // (explicitly: on SQLite the foreign keys are off during this step).
    let orphans = Query::select()
        .column(Admins::Id)
        .from(Admins::Table)
        .and_where(Expr::col(Admins::IsOperator).eq(false))
        .and_where(Expr::col(Admins::TenantId).is_null())
        .to_owned();
    conn.execute(
        &Query::delete()
            .from_table(AdminSessions::Table)
            .and_where(Expr::col(AdminSessions::AdminId).in_subquery(orphans.clone()))
            .to_owned(),
    )
    .await?;
    conn.execute(
        &Query::update()
            .table(ScimTokens::Table)
            .value(ScimTokens::CreatedBy, Value::Uuid(None))
            .and_where(Expr::col(ScimTokens::CreatedBy).in_subquery(orphans.clone()))
            .to_owned(),
    )
    .await?;
    conn.execute(
        &Query::delete()
            .from_table(TenantMemberships::Table)
            .and_where(Expr::col(TenantMemberships::AdminId).in_subquery(orphans.clone()))
            .to_owned(),
    )
    .await?;
    conn.execute(
        &Query::delete()
            .from_table(Admins::Table)
            .and_where(Expr::col(Admins::IsOperator).eq(false))
            .and_where(Expr::col(Admins::TenantId).is_null())
            .to_owned(),
    )
    .await?;

    // One-time passwords never changed stop working a day from now.
    conn.execute(
        &Query::update()
            .table(Admins::Table)
            .value(
                Admins::PasswordExpiresAt,
                now.saturating_add(ONE_TIME_PASSWORD_GRACE_MICROS),
            )
            .and_where(Expr::col(Admins::MustChangePassword).eq(true))
            .to_owned(),
    )
    .await?;
    Ok(())
}

/// A copy of account `admin` (same email and password hash) for `tenant`.
async fn new_account_for<C: ConnectionTrait>(
    conn: &C,
    admin: Uuid,
    tenant: Uuid,
    joined_at: i64,
) -> Result<Uuid, DbErr> {
    let original = conn
        .query_one(
            &Query::select()
                .columns([
                    Admins::Email,
                    Admins::EmailLower,
                    Admins::PasswordHash,
                    Admins::MustChangePassword,
                    Admins::LastLoginAt,
                ])
                .from(Admins::Table)
                .and_where(Expr::col(Admins::Id).eq(admin))
                .to_owned(),
        )
        .await?
        .ok_or_else(|| DbErr::Migration(format!("admin {admin} vanished during the split")))?;
    let field = |row: &QueryResult, name: &str| row.try_get::<String>("", name);
    let id = Uuid::now_v7();
    conn.execute(
        &Query::insert()
            .into_table(Admins::Table)
            .columns([
                Admins::Id,
                Admins::TenantId,
                Admins::Email,
                Admins::EmailLower,
                Admins::PasswordHash,
                Admins::IsOperator,
                Admins::MustChangePassword,
                Admins::FailedLogins,
                Admins::CreatedAt,
                Admins::LastLoginAt,
            ])
            .values([
                id.into(),
                tenant.into(),
                field(&original, "email")?.into(),
                field(&original, "email_lower")?.into(),
                field(&original, "password_hash")?.into(),
                false.into(),
                original.try_get::<bool>("", "must_change_password")?.into(),
                0i32.into(),
                joined_at.into(),
                original.try_get::<Option<i64>>("", "last_login_at")?.into(),
            ])
            .map_err(|err| DbErr::Migration(err.to_string()))?
            .to_owned(),
    )
    .await?;
    Ok(id)
}

/// `down`: the accounts of one email merge back into one (an operator's if there is
/// one, else the oldest), memberships moved to it, so the earlier unique email holds.
pub(super) async fn merge_accounts(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let conn = manager.get_connection();
    let rows = conn
        .query_all(
            &Query::select()
                .columns([Admins::Id, Admins::EmailLower])
                .from(Admins::Table)
                .order_by(Admins::EmailLower, Order::Asc)
                .order_by(Admins::IsOperator, Order::Desc)
                .order_by(Admins::CreatedAt, Order::Asc)
                .order_by(Admins::Id, Order::Asc)
                .to_owned(),
        )
        .await?;
    let mut kept: Option<(String, Uuid)> = None;
    for row in rows {
        let id: Uuid = row.try_get("", "id")?;
        let email: String = row.try_get("", "email_lower")?;
        let Some((_, keeper)) = kept.as_ref().filter(|(seen, _)| *seen == email) else {
            kept = Some((email, id));
            continue;
        };
        let keeper = *keeper;
        // Memberships the keeper lacks move to it; the rest go with the account.
        let tenants = conn
            .query_all(
                &Query::select()
                    .column(TenantMemberships::TenantId)
                    .from(TenantMemberships::Table)
                    .and_where(Expr::col(TenantMemberships::AdminId).eq(id))
                    .to_owned(),
            )
            .await?;
        for tenant_row in tenants {
            let tenant: Uuid = tenant_row.try_get("", "tenant_id")?;
            let has = conn
                .query_one(
                    &Query::select()
                        .column(TenantMemberships::TenantId)
                        .from(TenantMemberships::Table)
                        .and_where(Expr::col(TenantMemberships::AdminId).eq(keeper))
                        .and_where(Expr::col(TenantMemberships::TenantId).eq(tenant))
                        .to_owned(),
                )
                .await?
                .is_some();
            if has {
                conn.execute(
                    &Query::delete()
                        .from_table(TenantMemberships::Table)
                        .and_where(Expr::col(TenantMemberships::AdminId).eq(id))
                        .and_where(Expr::col(TenantMemberships::TenantId).eq(tenant))
                        .to_owned(),
                )
                .await?;
            } else {
                conn.execute(
                    &Query::update()
                        .table(TenantMemberships::Table)
                        .value(TenantMemberships::AdminId, keeper)
                        .and_where(Expr::col(TenantMemberships::AdminId).eq(id))
                        .and_where(Expr::col(TenantMemberships::TenantId).eq(tenant))
                        .to_owned(),
                )
                .await?;
            }
        }
        conn.execute(
            &Query::delete()
                .from_table(AdminSessions::Table)
                .and_where(Expr::col(AdminSessions::AdminId).eq(id))
                .to_owned(),
        )
        .await?;
        conn.execute(
            &Query::update()
                .table(ScimTokens::Table)
                .value(ScimTokens::CreatedBy, keeper)
                .and_where(Expr::col(ScimTokens::CreatedBy).eq(id))
                .to_owned(),
        )
        .await?;
        conn.execute(
            &Query::delete()
                .from_table(Admins::Table)
                .and_where(Expr::col(Admins::Id).eq(id))
                .to_owned(),
        )
        .await?;
    }
    Ok(())
}

fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| {
            <i64 as std::convert::TryFrom<u128>>::try_from(elapsed.as_micros()).unwrap_or(i64::MAX)
        })
        .unwrap_or(0)
}
