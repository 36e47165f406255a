//! The attribute-value index answers "which users hold this value" from its indexes
//! alone (issue 13): the count of `title pr` then reads one index range instead of one
//! table row per match, and `IN (holders)` gathers user ids without visiting the table.
//!
//! - SQLite: the table becomes `WITHOUT ROWID`, clustered by its primary key, so each
//!   secondary index carries `(user_id, elem)`; a write also maintains one b-tree fewer
//!   (the rowid table and its separate primary-key index become one). The rebuild copies
//!   every row once, in primary-key order — about two minutes per million users on a
//!   2-core machine, at this release's first start.
//! - PostgreSQL: the text indexes are rebuilt with `INCLUDE (user_id, elem)`, for
//!   index-only scans (which need the visibility map autovacuum keeps).

use sea_orm::DatabaseBackend;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMNS: &str = "user_id, attr, elem, tenant_id, shape, text, folded, num, flag, time";

fn table(name: &str, without_rowid: bool) -> String {
    format!(
        "CREATE TABLE \"{name}\" ( \"user_id\" uuid_text NOT NULL, \"attr\" integer NOT NULL, \
         \"elem\" integer NOT NULL, \"tenant_id\" uuid_text NOT NULL, \"shape\" smallint NOT NULL, \
         \"text\" text NULL, \"folded\" text NULL, \"num\" double NULL, \"flag\" boolean NULL, \
         \"time\" integer NULL, PRIMARY KEY (\"user_id\", \"attr\", \"elem\"), FOREIGN KEY \
         (\"user_id\") REFERENCES \"users\" (\"id\") ON DELETE CASCADE ){}",
        if without_rowid { " WITHOUT ROWID" } else { "" }
    )
}

const INDEXES: [&str; 4] = [
    "CREATE INDEX \"ix_user_values_tenant_attr_folded\" ON \"user_values\" (\"tenant_id\", \"attr\", \"folded\")",
    "CREATE INDEX \"ix_user_values_tenant_attr_text\" ON \"user_values\" (\"tenant_id\", \"attr\", \"text\")",
    "CREATE INDEX \"ix_user_values_tenant_attr_num\" ON \"user_values\" (\"tenant_id\", \"attr\", \"num\") WHERE \"num\" IS NOT NULL",
    "CREATE INDEX \"ix_user_values_tenant_attr_time\" ON \"user_values\" (\"tenant_id\", \"attr\", \"time\") WHERE \"time\" IS NOT NULL",
];

/// PostgreSQL: the two text indexes with (or without) the columns that make them cover.
async fn covering_indexes(manager: &SchemaManager<'_>, covering: bool) -> Result<(), DbErr> {
    let db = manager.get_connection();
    for column in ["folded", "text"] {
        let name = format!("ix_user_values_tenant_attr_{column}");
        db.execute_unprepared(&format!("DROP INDEX IF EXISTS \"{name}\""))
            .await?;
        db.execute_unprepared(&format!(
            "CREATE INDEX \"{name}\" ON \"user_values\" (\"tenant_id\", \"attr\", \"{column}\"){}",
            if covering {
                " INCLUDE (\"user_id\", \"elem\")"
            } else {
                ""
            }
        ))
        .await?;
    }
    Ok(())
}

async fn rebuild(manager: &SchemaManager<'_>, without_rowid: bool) -> Result<(), DbErr> {
    if manager.get_database_backend() == DatabaseBackend::Postgres {
        return covering_indexes(manager, without_rowid).await;
    }
    let db = manager.get_connection();
    db.execute_unprepared(&table("user_values_rebuilt", without_rowid))
        .await?;
    db.execute_unprepared(&format!(
        "INSERT INTO \"user_values_rebuilt\" ({COLUMNS}) SELECT {COLUMNS} FROM \"user_values\" \
         ORDER BY user_id, attr, elem"
    ))
    .await?;
    db.execute_unprepared("DROP TABLE \"user_values\"").await?;
    db.execute_unprepared("ALTER TABLE \"user_values_rebuilt\" RENAME TO \"user_values\"")
        .await?;
    for index in INDEXES {
        db.execute_unprepared(index).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rebuild(manager, true).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rebuild(manager, false).await
    }
}
