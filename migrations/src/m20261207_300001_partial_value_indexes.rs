//! The attribute-value index's number and dateTime indexes become partial (issue 13, item
//! 7): most values are strings, so `num` and `time` are NULL in most rows, and full
//! indexes on them held one entry per row for nothing — about 850 bytes per user on SQLite
//! and two index insertions per value row on every write. A comparison on `num` or `time`
//! implies `IS NOT NULL`, so both databases still use these indexes for it.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum UserValues {
    Table,
    TenantId,
    Attr,
    Num,
    Time,
}

const NUM: &str = "ix_user_values_tenant_attr_num";
const TIME: &str = "ix_user_values_tenant_attr_time";

fn index(name: &str, column: UserValues, partial: bool) -> IndexCreateStatement {
    let mut index = Index::create();
    index
        .name(name)
        .table(UserValues::Table)
        .col(UserValues::TenantId)
        .col(UserValues::Attr);
    if partial {
        let condition = Expr::col(column).is_not_null();
        index.col(column).and_where(condition);
    } else {
        index.col(column);
    }
    index.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, column) in [(NUM, UserValues::Num), (TIME, UserValues::Time)] {
            manager
                .drop_index(Index::drop().name(name).table(UserValues::Table).to_owned())
                .await?;
            manager.create_index(index(name, column, true)).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, column) in [(NUM, UserValues::Num), (TIME, UserValues::Time)] {
            manager
                .drop_index(Index::drop().name(name).table(UserValues::Table).to_owned())
                .await?;
            manager.create_index(index(name, column, false)).await?;
        }
        Ok(())
    }
}
