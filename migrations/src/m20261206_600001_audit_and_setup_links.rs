//! The audit log (who changed what, written in the change's own transaction), setup
//! links (an expiring, revocable link that lets a tenant's IT admin set up provisioning
//! without an account) with the sessions they open, and two indexes of the provisioning
//! log: by request id (search), and by operation (the connection check's latest refusal
//! and test).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Admins {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    TenantId,
    OccurredAt,
    ActorKind,
    ActorId,
    ActorName,
    Action,
    TargetKind,
    TargetId,
    TargetName,
    Before,
    After,
    RequestId,
    ClientAddress,
}

#[derive(DeriveIden)]
enum SetupLinks {
    Table,
    Id,
    TenantId,
    Label,
    SecretDigest,
    Abilities,
    CreatedBy,
    CreatedByName,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
    LastUsedAt,
    Uses,
}

#[derive(DeriveIden)]
enum SetupSessions {
    Table,
    Id,
    LinkId,
    TenantId,
    CsrfToken,
    CreatedAt,
    ExpiresAt,
    LastSeenAt,
}

fn index(name: &str, table: impl IntoIden, columns: &[&str]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(Alias::new(*column));
    }
    index.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(big_pk_auto(AuditLog::Id))
                    .col(uuid_null(AuditLog::TenantId))
                    .col(big_integer(AuditLog::OccurredAt))
                    .col(string(AuditLog::ActorKind))
                    .col(uuid_null(AuditLog::ActorId))
                    .col(string(AuditLog::ActorName))
                    .col(string(AuditLog::Action))
                    .col(string_null(AuditLog::TargetKind))
                    .col(string_null(AuditLog::TargetId))
                    .col(string_null(AuditLog::TargetName))
                    .col(text_null(AuditLog::Before))
                    .col(text_null(AuditLog::After))
                    .col(string_null(AuditLog::RequestId))
                    .col(string_null(AuditLog::ClientAddress))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AuditLog::Table, AuditLog::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_audit_log_tenant",
                AuditLog::Table,
                &["tenant_id", "id"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_audit_log_tenant_action",
                AuditLog::Table,
                &["tenant_id", "action", "id"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_audit_log_action",
                AuditLog::Table,
                &["action", "id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SetupLinks::Table)
                    .col(uuid(SetupLinks::Id).primary_key())
                    .col(uuid(SetupLinks::TenantId))
                    .col(string(SetupLinks::Label))
                    .col(string_uniq(SetupLinks::SecretDigest))
                    .col(string(SetupLinks::Abilities))
                    .col(uuid_null(SetupLinks::CreatedBy))
                    .col(string(SetupLinks::CreatedByName))
                    .col(big_integer(SetupLinks::CreatedAt))
                    .col(big_integer(SetupLinks::ExpiresAt))
                    .col(big_integer_null(SetupLinks::RevokedAt))
                    .col(big_integer_null(SetupLinks::LastUsedAt))
                    .col(big_integer(SetupLinks::Uses).default(0))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SetupLinks::Table, SetupLinks::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SetupLinks::Table, SetupLinks::CreatedBy)
                            .to(Admins::Table, Admins::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_setup_links_tenant",
                SetupLinks::Table,
                &["tenant_id", "id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SetupSessions::Table)
                    .col(string(SetupSessions::Id).primary_key())
                    .col(uuid(SetupSessions::LinkId))
                    .col(uuid(SetupSessions::TenantId))
                    .col(string(SetupSessions::CsrfToken))
                    .col(big_integer(SetupSessions::CreatedAt))
                    .col(big_integer(SetupSessions::ExpiresAt))
                    .col(big_integer(SetupSessions::LastSeenAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SetupSessions::Table, SetupSessions::LinkId)
                            .to(SetupLinks::Table, SetupLinks::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SetupSessions::Table, SetupSessions::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_setup_sessions_link",
                SetupSessions::Table,
                &["link_id"],
            ))
            .await?;

        manager
            .create_index(index(
                "ix_provisioning_log_request",
                Alias::new("provisioning_log"),
                &["tenant_id", "request_id"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_provisioning_log_operation",
                Alias::new("provisioning_log"),
                &["tenant_id", "operation", "id"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_provisioning_log_operation")
                    .table(Alias::new("provisioning_log"))
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ix_provisioning_log_request")
                    .table(Alias::new("provisioning_log"))
                    .to_owned(),
            )
            .await?;
        for table in [
            SetupSessions::Table.into_iden(),
            SetupLinks::Table.into_iden(),
            AuditLog::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
