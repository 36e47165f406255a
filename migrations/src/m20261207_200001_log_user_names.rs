//! The provisioning log names the user of each row (`user_name` as the request sent it,
//! `user_name_lower` for the search, indexed with the tenant), refused creates included,
//! and carries a `warning` for a write that was accepted with a value Roster keeps to
//! itself (a time zone or locale no standard defines). Nullable columns only: rows an
//! earlier release wrote, and rows it writes during a rolling upgrade, simply have none.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ProvisioningLog {
    Table,
    TenantId,
    UserName,
    UserNameLower,
    Warning,
    Id,
}

const INDEX: &str = "ix_provisioning_log_user_name";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        for column in [
            string_null(ProvisioningLog::UserName),
            string_null(ProvisioningLog::UserNameLower),
            text_null(ProvisioningLog::Warning),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ProvisioningLog::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(ProvisioningLog::Table)
                    .col(ProvisioningLog::TenantId)
                    .col(ProvisioningLog::UserNameLower)
                    .col(ProvisioningLog::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(INDEX)
                    .table(ProvisioningLog::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            ProvisioningLog::Warning,
            ProvisioningLog::UserNameLower,
            ProvisioningLog::UserName,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ProvisioningLog::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
