//! Failed sign-in attempts per login name, for throttling and temporary lockout.
//!
//! Keyed by a digest of the lower-cased email rather than by admin, so that unknown emails
//! are throttled exactly like known ones: a lockout must not reveal which emails exist.
//! (`admins.failed_logins` / `admins.locked_until` from the initial migration cannot do
//! that and stay unused.)

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LoginThrottles {
    Table,
    Key,
    Failures,
    WindowStartedAt,
    LockedUntil,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LoginThrottles::Table)
                    .col(string(LoginThrottles::Key).primary_key())
                    .col(integer(LoginThrottles::Failures))
                    .col(big_integer(LoginThrottles::WindowStartedAt))
                    .col(big_integer_null(LoginThrottles::LockedUntil))
                    .to_owned(),
            )
            .await?;
        // Old rows are swept by age.
        manager
            .create_index(
                Index::create()
                    .name("ix_login_throttles_window")
                    .table(LoginThrottles::Table)
                    .col(LoginThrottles::WindowStartedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LoginThrottles::Table).to_owned())
            .await
    }
}
