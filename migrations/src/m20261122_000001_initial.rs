//! Tenants, admins and sessions, SCIM tokens, users and groups, the provisioning log and
//! the events outbox.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    Slug,
    Name,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Admins {
    Table,
    Id,
    Email,
    EmailLower,
    PasswordHash,
    IsOperator,
    MustChangePassword,
    FailedLogins,
    LockedUntil,
    CreatedAt,
    LastLoginAt,
}

#[derive(DeriveIden)]
enum TenantMemberships {
    Table,
    TenantId,
    AdminId,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AdminSessions {
    Table,
    Id,
    AdminId,
    CsrfToken,
    CreatedAt,
    LastSeenAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum ScimTokens {
    Table,
    Id,
    TenantId,
    PublicId,
    SecretHash,
    Label,
    CreatedAt,
    CreatedBy,
    ExpiresAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    TenantId,
    UserName,
    UserNameLower,
    ExternalId,
    DisplayName,
    DisplayNameLower,
    PrimaryEmailLower,
    Active,
    Doc,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum UserEmails {
    Table,
    UserId,
    Position,
    TenantId,
    ValueLower,
    TypeLower,
    IsPrimary,
}

#[derive(DeriveIden)]
enum Groups {
    Table,
    Id,
    TenantId,
    DisplayName,
    DisplayNameLower,
    ExternalId,
    Doc,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum GroupMembers {
    Table,
    GroupId,
    UserId,
    TenantId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ProvisioningLog {
    Table,
    Id,
    TenantId,
    OccurredAt,
    RequestId,
    TokenId,
    Operation,
    ResourceType,
    ResourceId,
    Outcome,
    Status,
    ScimType,
    Detail,
    DurationUs,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    EventId,
    TenantId,
    EventType,
    ResourceType,
    ResourceId,
    OccurredAt,
    Payload,
}

/// A foreign key to `tenants(id)` that removes the row with its tenant.
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
        manager
            .create_table(
                Table::create()
                    .table(Tenants::Table)
                    .col(uuid(Tenants::Id).primary_key())
                    .col(string_uniq(Tenants::Slug))
                    .col(string(Tenants::Name))
                    .col(string(Tenants::Status))
                    .col(big_integer(Tenants::CreatedAt))
                    .col(big_integer(Tenants::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Admins::Table)
                    .col(uuid(Admins::Id).primary_key())
                    .col(string(Admins::Email))
                    .col(string_uniq(Admins::EmailLower))
                    .col(string(Admins::PasswordHash))
                    .col(boolean(Admins::IsOperator))
                    .col(boolean(Admins::MustChangePassword))
                    .col(integer(Admins::FailedLogins).default(0))
                    .col(big_integer_null(Admins::LockedUntil))
                    .col(big_integer(Admins::CreatedAt))
                    .col(big_integer_null(Admins::LastLoginAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(TenantMemberships::Table)
                    .col(uuid(TenantMemberships::TenantId))
                    .col(uuid(TenantMemberships::AdminId))
                    .col(string(TenantMemberships::Role))
                    .col(big_integer(TenantMemberships::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(TenantMemberships::TenantId)
                            .col(TenantMemberships::AdminId),
                    )
                    .foreign_key(&mut tenant_fk(TenantMemberships::Table))
                    .foreign_key(
                        ForeignKey::create()
                            .from(TenantMemberships::Table, TenantMemberships::AdminId)
                            .to(Admins::Table, Admins::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_tenant_memberships_admin",
                TenantMemberships::Table,
                &["admin_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AdminSessions::Table)
                    .col(string(AdminSessions::Id).primary_key())
                    .col(uuid(AdminSessions::AdminId))
                    .col(string(AdminSessions::CsrfToken))
                    .col(big_integer(AdminSessions::CreatedAt))
                    .col(big_integer(AdminSessions::LastSeenAt))
                    .col(big_integer(AdminSessions::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AdminSessions::Table, AdminSessions::AdminId)
                            .to(Admins::Table, Admins::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_admin_sessions_admin",
                AdminSessions::Table,
                &["admin_id"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_admin_sessions_expires",
                AdminSessions::Table,
                &["expires_at"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ScimTokens::Table)
                    .col(uuid(ScimTokens::Id).primary_key())
                    .col(uuid(ScimTokens::TenantId))
                    .col(string_uniq(ScimTokens::PublicId))
                    .col(string(ScimTokens::SecretHash))
                    .col(string(ScimTokens::Label))
                    .col(big_integer(ScimTokens::CreatedAt))
                    .col(uuid_null(ScimTokens::CreatedBy))
                    .col(big_integer_null(ScimTokens::ExpiresAt))
                    .col(big_integer_null(ScimTokens::LastUsedAt))
                    .col(big_integer_null(ScimTokens::RevokedAt))
                    .foreign_key(&mut tenant_fk(ScimTokens::Table))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ScimTokens::Table, ScimTokens::CreatedBy)
                            .to(Admins::Table, Admins::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_scim_tokens_tenant",
                ScimTokens::Table,
                &["tenant_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(uuid(Users::Id).primary_key())
                    .col(uuid(Users::TenantId))
                    .col(string(Users::UserName))
                    .col(string(Users::UserNameLower))
                    .col(string_null(Users::ExternalId))
                    .col(string_null(Users::DisplayName))
                    .col(string_null(Users::DisplayNameLower))
                    .col(string_null(Users::PrimaryEmailLower))
                    .col(boolean(Users::Active))
                    .col(text(Users::Doc))
                    .col(big_integer(Users::Version))
                    .col(big_integer(Users::CreatedAt))
                    .col(big_integer(Users::UpdatedAt))
                    .foreign_key(&mut tenant_fk(Users::Table))
                    .to_owned(),
            )
            .await?;
        // userName is unique per tenant without regard to case (RFC 7643 §4.1.1).
        manager
            .create_index(unique_index(
                "ux_users_tenant_user_name",
                Users::Table,
                &["tenant_id", "user_name_lower"],
            ))
            .await?;
        // Several NULL externalIds are allowed by both backends' unique semantics.
        manager
            .create_index(unique_index(
                "ux_users_tenant_external_id",
                Users::Table,
                &["tenant_id", "external_id"],
            ))
            .await?;
        // Stable paging order within a tenant.
        manager
            .create_index(index(
                "ix_users_tenant_id",
                Users::Table,
                &["tenant_id", "id"],
            ))
            .await?;
        for (name, column) in [
            ("ix_users_tenant_display_name", "display_name_lower"),
            ("ix_users_tenant_primary_email", "primary_email_lower"),
            ("ix_users_tenant_created", "created_at"),
            ("ix_users_tenant_updated", "updated_at"),
        ] {
            manager
                .create_index(index(name, Users::Table, &["tenant_id", column]))
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(UserEmails::Table)
                    .col(uuid(UserEmails::UserId))
                    .col(integer(UserEmails::Position))
                    .col(uuid(UserEmails::TenantId))
                    .col(string(UserEmails::ValueLower))
                    .col(string_null(UserEmails::TypeLower))
                    .col(boolean(UserEmails::IsPrimary))
                    .primary_key(
                        Index::create()
                            .col(UserEmails::UserId)
                            .col(UserEmails::Position),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(UserEmails::Table, UserEmails::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_user_emails_tenant_value",
                UserEmails::Table,
                &["tenant_id", "value_lower"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Groups::Table)
                    .col(uuid(Groups::Id).primary_key())
                    .col(uuid(Groups::TenantId))
                    .col(string(Groups::DisplayName))
                    .col(string(Groups::DisplayNameLower))
                    .col(string_null(Groups::ExternalId))
                    .col(text(Groups::Doc))
                    .col(big_integer(Groups::Version))
                    .col(big_integer(Groups::CreatedAt))
                    .col(big_integer(Groups::UpdatedAt))
                    .foreign_key(&mut tenant_fk(Groups::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "ux_groups_tenant_display_name",
                Groups::Table,
                &["tenant_id", "display_name_lower"],
            ))
            .await?;
        manager
            .create_index(unique_index(
                "ux_groups_tenant_external_id",
                Groups::Table,
                &["tenant_id", "external_id"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_groups_tenant_id",
                Groups::Table,
                &["tenant_id", "id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(GroupMembers::Table)
                    .col(uuid(GroupMembers::GroupId))
                    .col(uuid(GroupMembers::UserId))
                    .col(uuid(GroupMembers::TenantId))
                    .col(big_integer(GroupMembers::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(GroupMembers::GroupId)
                            .col(GroupMembers::UserId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(GroupMembers::Table, GroupMembers::GroupId)
                            .to(Groups::Table, Groups::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(GroupMembers::Table, GroupMembers::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Membership looked up from the user's side ("which groups is this user in").
        manager
            .create_index(index(
                "ix_group_members_user",
                GroupMembers::Table,
                &["user_id", "group_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ProvisioningLog::Table)
                    .col(big_pk_auto(ProvisioningLog::Id))
                    .col(uuid(ProvisioningLog::TenantId))
                    .col(big_integer(ProvisioningLog::OccurredAt))
                    .col(string(ProvisioningLog::RequestId))
                    .col(uuid_null(ProvisioningLog::TokenId))
                    .col(string(ProvisioningLog::Operation))
                    .col(string_null(ProvisioningLog::ResourceType))
                    .col(string_null(ProvisioningLog::ResourceId))
                    .col(string(ProvisioningLog::Outcome))
                    .col(integer(ProvisioningLog::Status))
                    .col(string_null(ProvisioningLog::ScimType))
                    .col(text_null(ProvisioningLog::Detail))
                    .col(big_integer(ProvisioningLog::DurationUs))
                    .foreign_key(&mut tenant_fk(ProvisioningLog::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_provisioning_log_tenant",
                ProvisioningLog::Table,
                &["tenant_id", "id"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_provisioning_log_resource",
                ProvisioningLog::Table,
                &["tenant_id", "resource_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Events::Table)
                    .col(big_pk_auto(Events::Id))
                    .col(uuid_uniq(Events::EventId))
                    .col(uuid(Events::TenantId))
                    .col(string(Events::EventType))
                    .col(string(Events::ResourceType))
                    .col(uuid(Events::ResourceId))
                    .col(big_integer(Events::OccurredAt))
                    .col(text(Events::Payload))
                    .foreign_key(&mut tenant_fk(Events::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_events_tenant",
                Events::Table,
                &["tenant_id", "id"],
            ))
            .await?;

        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Events::Table.into_iden(),
            ProvisioningLog::Table.into_iden(),
            GroupMembers::Table.into_iden(),
            Groups::Table.into_iden(),
            UserEmails::Table.into_iden(),
            Users::Table.into_iden(),
            ScimTokens::Table.into_iden(),
            AdminSessions::Table.into_iden(),
            TenantMemberships::Table.into_iden(),
            Admins::Table.into_iden(),
            Tenants::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
