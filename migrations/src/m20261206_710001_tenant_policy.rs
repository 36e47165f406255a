//! Tenant policy: what an identity provider's deactivation does (`deactivate_mode`:
//! keep the user inactive, or delete it), "Only users in verified domains"
//! (`domains_only`), and the operator's defaults for new tenants (`tenant_defaults`, at
//! most one row; without it the configuration's defaults apply).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum TenantSettings {
    Table,
    DeactivateMode,
    DomainsOnly,
}

#[derive(DeriveIden)]
enum TenantDefaults {
    Table,
    Id,
    ProvisioningEnabled,
    AllowCreateUsers,
    AllowUpdateUsers,
    AllowDeactivateUsers,
    AllowDeleteUsers,
    AllowPushGroups,
    ExistingUser,
    DeactivateMode,
    DomainsOnly,
    UpdatedAt,
    UpdatedBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(TenantSettings::Table)
                    .add_column(string(TenantSettings::DeactivateMode).default("keep"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(TenantSettings::Table)
                    .add_column(boolean(TenantSettings::DomainsOnly).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TenantDefaults::Table)
                    .col(integer(TenantDefaults::Id).primary_key())
                    .col(boolean(TenantDefaults::ProvisioningEnabled))
                    .col(boolean(TenantDefaults::AllowCreateUsers))
                    .col(boolean(TenantDefaults::AllowUpdateUsers))
                    .col(boolean(TenantDefaults::AllowDeactivateUsers))
                    .col(boolean(TenantDefaults::AllowDeleteUsers))
                    .col(boolean(TenantDefaults::AllowPushGroups))
                    .col(string(TenantDefaults::ExistingUser))
                    .col(string(TenantDefaults::DeactivateMode))
                    .col(boolean(TenantDefaults::DomainsOnly))
                    .col(big_integer(TenantDefaults::UpdatedAt))
                    .col(string(TenantDefaults::UpdatedBy))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TenantDefaults::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(TenantSettings::Table)
                    .drop_column(TenantSettings::DomainsOnly)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(TenantSettings::Table)
                    .drop_column(TenantSettings::DeactivateMode)
                    .to_owned(),
            )
            .await
    }
}
