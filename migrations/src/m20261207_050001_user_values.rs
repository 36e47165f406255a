//! The attribute-value index of users (issue 13): one row per present leaf value of a
//! user's document, so that every SCIM filter and sort on any attribute path is answered
//! by SQL — an index lookup for the selective ones — instead of loading candidates and
//! evaluating them in memory.
//!
//! `attr` is a 64-bit hash of the canonical lower-case path (see
//! `roster_core::provisioning::values`); `elem` is the element's position in a
//! multi-valued attribute (0 for single values), `-1` marks an element's existence and
//! `-2` carries the value a sort uses. Text is kept as sent and case-folded; on
//! PostgreSQL both text columns use the `C` collation, so ordering and `LIKE` compare code
//! points exactly as the engine's evaluator does (SQLite's default is the same).

use sea_orm::DatabaseBackend;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum UserValues {
    Table,
    UserId,
    Attr,
    Elem,
    TenantId,
    Shape,
    Text,
    Folded,
    Num,
    Flag,
    Time,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let postgres = manager.get_database_backend() == DatabaseBackend::Postgres;
        let text_col = |name: UserValues| {
            let mut col = ColumnDef::new(name);
            col.text().null();
            if postgres {
                col.extra("COLLATE \"C\"");
            }
            col
        };
        manager
            .create_table(
                Table::create()
                    .table(UserValues::Table)
                    .col(uuid(UserValues::UserId))
                    .col(big_integer(UserValues::Attr))
                    .col(integer(UserValues::Elem))
                    .col(uuid(UserValues::TenantId))
                    .col(small_integer(UserValues::Shape))
                    .col(text_col(UserValues::Text))
                    .col(text_col(UserValues::Folded))
                    .col(double_null(UserValues::Num))
                    .col(boolean_null(UserValues::Flag))
                    .col(big_integer_null(UserValues::Time))
                    .primary_key(
                        Index::create()
                            .col(UserValues::UserId)
                            .col(UserValues::Attr)
                            .col(UserValues::Elem),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(UserValues::Table, UserValues::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Equality, prefix and range lookups on text (`eq`, `sw`, `gt` …) and the
        // element/presence probes of one path.
        manager
            .create_index(
                Index::create()
                    .name("ix_user_values_tenant_attr_folded")
                    .table(UserValues::Table)
                    .col(UserValues::TenantId)
                    .col(UserValues::Attr)
                    .col(UserValues::Folded)
                    .to_owned(),
            )
            .await?;
        // Exact-case text, numbers and times of one path.
        manager
            .create_index(
                Index::create()
                    .name("ix_user_values_tenant_attr_text")
                    .table(UserValues::Table)
                    .col(UserValues::TenantId)
                    .col(UserValues::Attr)
                    .col(UserValues::Text)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_user_values_tenant_attr_num")
                    .table(UserValues::Table)
                    .col(UserValues::TenantId)
                    .col(UserValues::Attr)
                    .col(UserValues::Num)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_user_values_tenant_attr_time")
                    .table(UserValues::Table)
                    .col(UserValues::TenantId)
                    .col(UserValues::Attr)
                    .col(UserValues::Time)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(UserValues::Table).to_owned())
            .await
    }
}
