//! Setup sessions past their end are deleted (a few at each new setup session, as admin
//! sessions are at each sign-in): an index on `setup_sessions.expires_at` finds them
//! without reading the table.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SetupSessions {
    Table,
    ExpiresAt,
}

const INDEX: &str = "ix_setup_sessions_expires_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(SetupSessions::Table)
                    .col(SetupSessions::ExpiresAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(INDEX)
                    .table(SetupSessions::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}
