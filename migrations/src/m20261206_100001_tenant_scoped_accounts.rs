//! Admin accounts scoped to the tenant that invited them; invitation links; trusted devices
//! and per-account throttle rows (issue 11, items 1–3).
//!
//! Before, an account was global and keyed by its email, so whoever first claimed an
//! address held every tenant later granted to it. Now a tenant admin's account belongs to
//! one tenant (`admins.tenant_id`) and is unique by `(tenant_id, email_lower)`; operators
//! (`tenant_id` NULL) are unique by email among themselves. One person who administers two
//! tenants has two accounts.
//!
//! Existing data: a tenant admin with memberships in several tenants becomes one account
//! per tenant, each with the same password hash; the oldest membership keeps the account's
//! id (its sessions keep working when it had only that tenant) and the others get new
//! accounts, their memberships moved; the sessions of split accounts are ended (their
//! owner signs in again, naming the organization). A non-operator account without any
//! tenant (removed everywhere) is deleted: it could do nothing, and it is exactly what the
//! attack kept. One-time passwords still unchanged expire 24 hours after this migration.
//!
//! Expand/contract: this is the expand step. Columns are added NULL-able, nothing an older
//! release reads is removed (`tenant_memberships` stays and new code keeps writing it), so
//! old and new nodes can run side by side during a rolling upgrade. The unique index on
//! `admins.email_lower` must go (two tenants' accounts share an email); SQLite cannot drop
//! a column's UNIQUE constraint, so there the table is rebuilt with the foreign keys off,
//! in one transaction — the one place this migration needs backend-specific statements.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

mod data;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Admins {
    Table,
    Id,
    TenantId,
    Email,
    EmailLower,
    PasswordHash,
    IsOperator,
    MustChangePassword,
    PasswordExpiresAt,
    FailedLogins,
    LockedUntil,
    CreatedAt,
    LastLoginAt,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum TenantMemberships {
    Table,
    TenantId,
    AdminId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AdminSessions {
    Table,
    AdminId,
}

#[derive(DeriveIden)]
enum ScimTokens {
    Table,
    CreatedBy,
}

#[derive(DeriveIden)]
enum AdminInvitations {
    Table,
    Id,
    TenantId,
    Email,
    EmailLower,
    SecretDigest,
    CreatedBy,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum TrustedDevices {
    Table,
    Device,
    AccountKey,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum LoginThrottles {
    Table,
    AccountKey,
}

/// The table SQLite builds while it rebuilds `admins`.
const REBUILT: &str = "admins_rebuilt";
/// How long a one-time password left unchanged still works after this migration.
const ONE_TIME_PASSWORD_GRACE_MICROS: i64 = 24 * 3600 * 1_000_000;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Sqlite => with_sqlite_foreign_keys_off(manager, Direction::Up).await,
            _ => {
                // One transaction already (the migrator's), so a failure leaves nothing.
                manager
                    .alter_table(
                        Table::alter()
                            .table(Admins::Table)
                            .add_column(uuid_null(Admins::TenantId))
                            .to_owned(),
                    )
                    .await?;
                manager
                    .alter_table(
                        Table::alter()
                            .table(Admins::Table)
                            .add_column(big_integer_null(Admins::PasswordExpiresAt))
                            .to_owned(),
                    )
                    .await?;
                manager
                    .create_foreign_key(
                        ForeignKey::create()
                            .name("fk_admins_tenant")
                            .from(Admins::Table, Admins::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade)
                            .to_owned(),
                    )
                    .await?;
                drop_postgres_email_unique(manager).await?;
                expand(manager).await
            }
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Sqlite => with_sqlite_foreign_keys_off(manager, Direction::Down).await,
            _ => {
                contract(manager).await?;
                manager
                    .drop_foreign_key(
                        ForeignKey::drop()
                            .name("fk_admins_tenant")
                            .table(Admins::Table)
                            .to_owned(),
                    )
                    .await?;
                for column in [Admins::TenantId, Admins::PasswordExpiresAt] {
                    manager
                        .alter_table(
                            Table::alter()
                                .table(Admins::Table)
                                .drop_column(column)
                                .to_owned(),
                        )
                        .await?;
                }
                manager
                    .get_connection()
                    .execute_unprepared(
                        "ALTER TABLE admins ADD CONSTRAINT admins_email_lower_key UNIQUE (email_lower)",
                    )
                    .await?;
                Ok(())
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Direction {
    Up,
    Down,
}

/// Runs the step in one transaction with SQLite's foreign keys off (SQLite's documented way
/// to change a table other tables reference), checks every reference afterwards, and
/// turns the foreign keys back on whatever happened. The pragma is per connection and a
/// no-op inside a transaction; the writer pool has one connection, and the step checks
/// that the pragma took.
async fn with_sqlite_foreign_keys_off(
    manager: &SchemaManager<'_>,
    direction: Direction,
) -> Result<(), DbErr> {
    let conn = manager.get_connection();
    conn.execute_unprepared("PRAGMA foreign_keys = OFF").await?;
    let outcome = async {
        let txn = manager.begin().await?;
        let on = txn
            .get_connection()
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                "PRAGMA foreign_keys",
            ))
            .await?
            .and_then(|row| row.try_get_by_index::<i32>(0).ok())
            .unwrap_or(1);
        if on != 0 {
            return Err(DbErr::Migration(
                "SQLite foreign keys could not be turned off for the rebuild of admins".into(),
            ));
        }
        match direction {
            Direction::Up => {
                rebuild_admins(&txn, true).await?;
                expand(&txn).await?;
            }
            Direction::Down => {
                contract(&txn).await?;
                rebuild_admins(&txn, false).await?;
            }
        }
        let dangling = txn
            .get_connection()
            .query_all_raw(Statement::from_string(
                DbBackend::Sqlite,
                "PRAGMA foreign_key_check",
            ))
            .await?;
        if !dangling.is_empty() {
            return Err(DbErr::Migration(format!(
                "{} row(s) would reference missing rows after the rebuild of admins",
                dangling.len()
            )));
        }
        txn.commit().await
    }
    .await;
    conn.execute_unprepared("PRAGMA foreign_keys = ON").await?;
    outcome
}

/// The columns both shapes of `admins` have.
const COMMON: [Admins; 10] = [
    Admins::Id,
    Admins::Email,
    Admins::EmailLower,
    Admins::PasswordHash,
    Admins::IsOperator,
    Admins::MustChangePassword,
    Admins::FailedLogins,
    Admins::LockedUntil,
    Admins::CreatedAt,
    Admins::LastLoginAt,
];

/// SQLite: `admins` again, scoped (`tenant_id`, `password_expires_at`, no unique email) or
/// in its earlier shape, with the rows of the common columns copied over.
async fn rebuild_admins(manager: &SchemaManager<'_>, scoped: bool) -> Result<(), DbErr> {
    let rebuilt = Alias::new(REBUILT);
    let mut table = Table::create();
    table
        .table(rebuilt.clone())
        .col(uuid(Admins::Id).primary_key())
        .col(string(Admins::Email));
    if scoped {
        table
            .col(uuid_null(Admins::TenantId))
            .col(string(Admins::EmailLower))
            .col(big_integer_null(Admins::PasswordExpiresAt))
            .foreign_key(
                ForeignKey::create()
                    .from(rebuilt.clone(), Admins::TenantId)
                    .to(Tenants::Table, Tenants::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            );
    } else {
        table.col(string_uniq(Admins::EmailLower));
    }
    table
        .col(string(Admins::PasswordHash))
        .col(boolean(Admins::IsOperator))
        .col(boolean(Admins::MustChangePassword))
        .col(integer(Admins::FailedLogins).default(0))
        .col(big_integer_null(Admins::LockedUntil))
        .col(big_integer(Admins::CreatedAt))
        .col(big_integer_null(Admins::LastLoginAt));
    manager.create_table(table.to_owned()).await?;
    let copy = Query::insert()
        .into_table(rebuilt.clone())
        .columns(COMMON)
        .select_from(
            Query::select()
                .columns(COMMON)
                .from(Admins::Table)
                .to_owned(),
        )
        .map_err(|err| DbErr::Migration(err.to_string()))?
        .to_owned();
    manager.get_connection().execute(&copy).await?;
    manager
        .drop_table(Table::drop().table(Admins::Table).to_owned())
        .await?;
    manager
        .rename_table(Table::rename().table(rebuilt, Admins::Table).to_owned())
        .await
}

/// PostgreSQL: drops the unique constraint on `admins.email_lower`, whatever it was named.
async fn drop_postgres_email_unique(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let rows = manager
        .get_connection()
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT c.conname FROM pg_constraint c \
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) \
             WHERE c.conrelid = 'admins'::regclass AND c.contype = 'u' \
             AND a.attname = 'email_lower' AND cardinality(c.conkey) = 1",
        ))
        .await?;
    for row in rows {
        let name: String = row.try_get_by_index(0)?;
        let quoted = name.replace('"', "\"\"");
        manager
            .get_connection()
            .execute_unprepared(&format!("ALTER TABLE admins DROP CONSTRAINT \"{quoted}\""))
            .await?;
    }
    Ok(())
}

/// What both backends add once `admins` has its new columns: the tables, the indexes,
/// then the existing accounts split by tenant.
async fn expand(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(AdminInvitations::Table)
                .col(uuid(AdminInvitations::Id).primary_key())
                .col(uuid(AdminInvitations::TenantId))
                .col(string(AdminInvitations::Email))
                .col(string(AdminInvitations::EmailLower))
                .col(string_uniq(AdminInvitations::SecretDigest))
                .col(uuid_null(AdminInvitations::CreatedBy))
                .col(big_integer(AdminInvitations::CreatedAt))
                .col(big_integer(AdminInvitations::ExpiresAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(AdminInvitations::Table, AdminInvitations::TenantId)
                        .to(Tenants::Table, Tenants::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(AdminInvitations::Table, AdminInvitations::CreatedBy)
                        .to(Admins::Table, Admins::Id)
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("ux_admin_invitations_tenant_email")
                .table(AdminInvitations::Table)
                .col(AdminInvitations::TenantId)
                .col(AdminInvitations::EmailLower)
                .unique()
                .to_owned(),
        )
        .await?;
    manager
        .create_table(
            Table::create()
                .table(TrustedDevices::Table)
                .col(string(TrustedDevices::Device))
                .col(string(TrustedDevices::AccountKey))
                .col(big_integer(TrustedDevices::CreatedAt))
                .col(big_integer(TrustedDevices::ExpiresAt))
                .primary_key(
                    Index::create()
                        .col(TrustedDevices::Device)
                        .col(TrustedDevices::AccountKey),
                )
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("ix_trusted_devices_account")
                .table(TrustedDevices::Table)
                .col(TrustedDevices::AccountKey)
                .to_owned(),
        )
        .await?;
    manager
        .alter_table(
            Table::alter()
                .table(LoginThrottles::Table)
                .add_column(string_null(LoginThrottles::AccountKey))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("ix_login_throttles_account")
                .table(LoginThrottles::Table)
                .col(LoginThrottles::AccountKey)
                .to_owned(),
        )
        .await?;

    data::split_accounts(manager).await?;

    // Tenant admins: unique per tenant. Operators (tenant_id NULL): unique among
    // themselves — a partial index, since NULLs never collide in the first one.
    manager
        .create_index(
            Index::create()
                .name("ux_admins_tenant_email")
                .table(Admins::Table)
                .col(Admins::TenantId)
                .col(Admins::EmailLower)
                .unique()
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("ux_admins_operator_email")
                .table(Admins::Table)
                .col(Admins::EmailLower)
                .unique()
                .and_where(Expr::col(Admins::TenantId).is_null())
                .to_owned(),
        )
        .await
}

/// `down`: the tables and indexes go, and the accounts of one email merge back into one
/// (see `data::merge_accounts`).
async fn contract(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    for (name, table) in [
        ("ux_admins_operator_email", Admins::Table.into_iden()),
        ("ux_admins_tenant_email", Admins::Table.into_iden()),
        (
            "ix_login_throttles_account",
            LoginThrottles::Table.into_iden(),
        ),
    ] {
        manager
            .drop_index(Index::drop().name(name).table(table).to_owned())
            .await?;
    }
    manager
        .alter_table(
            Table::alter()
                .table(LoginThrottles::Table)
                .drop_column(LoginThrottles::AccountKey)
                .to_owned(),
        )
        .await?;
    manager
        .drop_table(Table::drop().table(TrustedDevices::Table).to_owned())
        .await?;
    manager
        .drop_table(Table::drop().table(AdminInvitations::Table).to_owned())
        .await?;

    data::merge_accounts(manager).await
}
