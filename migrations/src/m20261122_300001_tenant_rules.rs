//! Tenant rules: provisioning settings, trusted domains (and the domain scope of SCIM
//! tokens), custom attributes, the notification catalogue, locations with kiosks and
//! mapping rules, and per-user notification settings and host assignments.
//!
//! `tenants.rules_version` is bumped by every change to a tenant's rules, in the change's
//! own transaction: nodes cache a tenant's rules and re-read only this one integer to
//! notice that another node changed them.
//!
//! A verified domain belongs to at most one tenant: `trusted_domains.verified_domain`
//! holds the domain once verified and is unique (NULLs repeat on both backends).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    RulesVersion,
}

#[derive(DeriveIden)]
enum TenantSettings {
    Table,
    TenantId,
    ProvisioningEnabled,
    AllowCreateUsers,
    AllowUpdateUsers,
    AllowDeactivateUsers,
    AllowDeleteUsers,
    AllowPushGroups,
    DeleteMode,
    ExistingUser,
    AssignHosts,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TrustedDomains {
    Table,
    Id,
    TenantId,
    Domain,
    IncludeSubdomains,
    VerificationToken,
    VerifiedAt,
    VerifiedBy,
    VerifiedDomain,
    LastCheckedAt,
    LastCheckError,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ScimTokens {
    Table,
    DomainId,
}

#[derive(DeriveIden)]
enum CustomAttributes {
    Table,
    Id,
    TenantId,
    Name,
    NameLower,
    AttrType,
    MultiValued,
    Description,
    CreatedAt,
}

#[derive(DeriveIden)]
enum NotificationTypes {
    Table,
    Id,
    TenantId,
    Key,
    Label,
    DefaultChannels,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Locations {
    Table,
    Id,
    TenantId,
    Name,
    Code,
    CodeLower,
    TimeZone,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Kiosks {
    Table,
    Id,
    TenantId,
    LocationId,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LocationRules {
    Table,
    Id,
    TenantId,
    Position,
    Attribute,
    MatchKind,
    MatchValues,
    LocationIds,
    KioskIds,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Notifications,
    Hosts,
}

fn tenant_fk(table: impl IntoIden + 'static) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, Alias::new("tenant_id"))
        .to(Tenants::Table, Tenants::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn index(
    name: &str,
    table: impl IntoIden + 'static,
    columns: &[&'static str],
) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for column in columns {
        stmt.col(Alias::new(*column));
    }
    stmt.to_owned()
}

fn unique_index(
    name: &str,
    table: impl IntoIden + 'static,
    columns: &[&'static str],
) -> IndexCreateStatement {
    index(name, table, columns).unique().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        manager
            .alter_table(
                Table::alter()
                    .table(Tenants::Table)
                    .add_column(big_integer(Tenants::RulesVersion).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ScimTokens::Table)
                    .add_column(uuid_null(ScimTokens::DomainId))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(text_null(Users::Notifications))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(text_null(Users::Hosts))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(TenantSettings::Table)
                    .col(uuid(TenantSettings::TenantId).primary_key())
                    .col(boolean(TenantSettings::ProvisioningEnabled))
                    .col(boolean(TenantSettings::AllowCreateUsers))
                    .col(boolean(TenantSettings::AllowUpdateUsers))
                    .col(boolean(TenantSettings::AllowDeactivateUsers))
                    .col(boolean(TenantSettings::AllowDeleteUsers))
                    .col(boolean(TenantSettings::AllowPushGroups))
                    .col(string(TenantSettings::DeleteMode))
                    .col(string(TenantSettings::ExistingUser))
                    .col(boolean(TenantSettings::AssignHosts))
                    .col(big_integer(TenantSettings::UpdatedAt))
                    .foreign_key(&mut tenant_fk(TenantSettings::Table))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(TrustedDomains::Table)
                    .col(uuid(TrustedDomains::Id).primary_key())
                    .col(uuid(TrustedDomains::TenantId))
                    .col(string(TrustedDomains::Domain))
                    .col(boolean(TrustedDomains::IncludeSubdomains))
                    .col(string(TrustedDomains::VerificationToken))
                    .col(big_integer_null(TrustedDomains::VerifiedAt))
                    .col(string_null(TrustedDomains::VerifiedBy))
                    .col(string_null(TrustedDomains::VerifiedDomain))
                    .col(big_integer_null(TrustedDomains::LastCheckedAt))
                    .col(string_null(TrustedDomains::LastCheckError))
                    .col(big_integer(TrustedDomains::CreatedAt))
                    .foreign_key(&mut tenant_fk(TrustedDomains::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "ux_trusted_domains_tenant_domain",
                TrustedDomains::Table,
                &["tenant_id", "domain"],
            ))
            .await?;
        manager
            .create_index(unique_index(
                "ux_trusted_domains_verified",
                TrustedDomains::Table,
                &["verified_domain"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CustomAttributes::Table)
                    .col(uuid(CustomAttributes::Id).primary_key())
                    .col(uuid(CustomAttributes::TenantId))
                    .col(string(CustomAttributes::Name))
                    .col(string(CustomAttributes::NameLower))
                    .col(string(CustomAttributes::AttrType))
                    .col(boolean(CustomAttributes::MultiValued))
                    .col(string(CustomAttributes::Description))
                    .col(big_integer(CustomAttributes::CreatedAt))
                    .foreign_key(&mut tenant_fk(CustomAttributes::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "ux_custom_attributes_name",
                CustomAttributes::Table,
                &["tenant_id", "name_lower"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(NotificationTypes::Table)
                    .col(uuid(NotificationTypes::Id).primary_key())
                    .col(uuid(NotificationTypes::TenantId))
                    .col(string(NotificationTypes::Key))
                    .col(string(NotificationTypes::Label))
                    .col(string(NotificationTypes::DefaultChannels))
                    .col(big_integer(NotificationTypes::CreatedAt))
                    .foreign_key(&mut tenant_fk(NotificationTypes::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "ux_notification_types_key",
                NotificationTypes::Table,
                &["tenant_id", "key"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Locations::Table)
                    .col(uuid(Locations::Id).primary_key())
                    .col(uuid(Locations::TenantId))
                    .col(string(Locations::Name))
                    .col(string(Locations::Code))
                    .col(string(Locations::CodeLower))
                    .col(string(Locations::TimeZone))
                    .col(big_integer(Locations::CreatedAt))
                    .foreign_key(&mut tenant_fk(Locations::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "ux_locations_code",
                Locations::Table,
                &["tenant_id", "code_lower"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Kiosks::Table)
                    .col(uuid(Kiosks::Id).primary_key())
                    .col(uuid(Kiosks::TenantId))
                    .col(uuid(Kiosks::LocationId))
                    .col(string(Kiosks::Name))
                    .col(big_integer(Kiosks::CreatedAt))
                    .foreign_key(&mut tenant_fk(Kiosks::Table))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Kiosks::Table, Kiosks::LocationId)
                            .to(Locations::Table, Locations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("ix_kiosks_location", Kiosks::Table, &["location_id"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LocationRules::Table)
                    .col(uuid(LocationRules::Id).primary_key())
                    .col(uuid(LocationRules::TenantId))
                    .col(integer(LocationRules::Position))
                    .col(string(LocationRules::Attribute))
                    .col(string(LocationRules::MatchKind))
                    .col(text(LocationRules::MatchValues))
                    .col(text(LocationRules::LocationIds))
                    .col(text(LocationRules::KioskIds))
                    .col(big_integer(LocationRules::CreatedAt))
                    .foreign_key(&mut tenant_fk(LocationRules::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_location_rules_tenant",
                LocationRules::Table,
                &["tenant_id", "position"],
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            LocationRules::Table.into_iden(),
            Kiosks::Table.into_iden(),
            Locations::Table.into_iden(),
            NotificationTypes::Table.into_iden(),
            CustomAttributes::Table.into_iden(),
            TrustedDomains::Table.into_iden(),
            TenantSettings::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        for (table, column) in [
            (Users::Table.into_iden(), Users::Hosts.into_iden()),
            (Users::Table.into_iden(), Users::Notifications.into_iden()),
            (
                ScimTokens::Table.into_iden(),
                ScimTokens::DomainId.into_iden(),
            ),
            (
                Tenants::Table.into_iden(),
                Tenants::RulesVersion.into_iden(),
            ),
        ] {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
