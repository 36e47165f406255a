//! What differs between SQLite and PostgreSQL in the statements the services run: the
//! placeholders of raw SQL, row locks, `SKIP LOCKED`, advisory locks and the pools.
//! Everything above the store asks for these by purpose and never names a backend.

use sea_orm::{
    ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, EntityTrait, QuerySelect, QueryTrait,
    Select, Statement, StatementBuilder, Value,
};

use super::{Backend, Database};
use crate::metrics::PoolStats;

/// Raw SQL is written with PostgreSQL's `$n`; SQLite takes the same numbers as `?n`.
fn placeholders(backend: DbBackend, text: &str) -> String {
    match backend {
        DbBackend::Sqlite => text.replace('$', "?"),
        _ => text.to_owned(),
    }
}

/// `text` (written with PostgreSQL's `$n` placeholders) as a statement for `conn`.
pub(crate) fn raw_in<C: ConnectionTrait>(
    conn: &C,
    text: &str,
    values: impl IntoIterator<Item = Value>,
) -> Statement {
    let backend = conn.get_database_backend();
    Statement::from_sql_and_values(backend, placeholders(backend, text), values)
}

/// A query built by sea-query, for `conn`'s backend.
pub(crate) fn built<C: ConnectionTrait, S: StatementBuilder>(conn: &C, statement: &S) -> Statement {
    conn.get_database_backend().build(statement)
}

/// A SeaORM query (select, update, delete) as a statement for `db`, to run later in a
/// batch of writes.
pub(crate) trait BuildFor: QueryTrait {
    fn build_for(&self, db: &Database) -> Statement {
        self.build(db.backend().into())
    }
}

impl<T: QueryTrait> BuildFor for T {}

/// Takes the transaction-scoped advisory lock `key` if no other transaction holds it.
/// SQLite has one writer at a time, so its transaction always has it.
pub(crate) async fn try_advisory_xact_lock(
    txn: &DatabaseTransaction,
    key: i64,
) -> Result<bool, DbErr> {
    if txn.get_database_backend() != DbBackend::Postgres {
        return Ok(true);
    }
    Ok(txn
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_try_advisory_xact_lock($1) AS locked",
            [Value::from(key)],
        ))
        .await?
        .map(|row| row.try_get::<bool>("", "locked"))
        .transpose()?
        .unwrap_or(false))
}

impl Database {
    /// `text` (written with PostgreSQL's `$n` placeholders) as a statement for this
    /// database.
    pub(crate) fn raw(&self, text: &str, values: impl IntoIterator<Item = Value>) -> Statement {
        let backend = self.backend().into();
        Statement::from_sql_and_values(backend, placeholders(backend, text), values)
    }

    /// A statement built by sea-query, for this database (to run later in a batch).
    pub(crate) fn build<S: StatementBuilder>(&self, statement: &S) -> Statement {
        DbBackend::from(self.backend()).build(statement)
    }

    /// The clause that makes a claiming `SELECT` pass over rows another node has locked:
    /// `FOR UPDATE SKIP LOCKED` on PostgreSQL; nothing on SQLite, whose one writer
    /// cannot meet another.
    pub(crate) fn skip_locked(&self) -> &'static str {
        match self.backend() {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        }
    }

    /// `query` locking the rows it reads until the transaction ends, where a write of
    /// another connection could commit between the read and the transaction's own write
    /// (PostgreSQL); SQLite has one writer at a time and needs no lock.
    pub(crate) fn lock_rows<E: EntityTrait>(&self, query: Select<E>) -> Select<E> {
        match self.backend() {
            Backend::Postgres => query.lock_exclusive(),
            Backend::Sqlite => query,
        }
    }

    /// The connection pools: on SQLite the writer and the readers, on PostgreSQL the one
    /// pool.
    pub fn pool_stats(&self) -> Vec<PoolStats> {
        fn stats<D: sea_orm::sqlx::Database>(
            pool: &'static str,
            of: &sea_orm::sqlx::Pool<D>,
        ) -> PoolStats {
            PoolStats {
                pool,
                open: of.size(),
                idle: u32::try_from(of.num_idle()).unwrap_or(u32::MAX),
                max: of.options().get_max_connections(),
            }
        }
        match self.backend() {
            Backend::Sqlite => vec![
                stats("write", self.writer().get_sqlite_connection_pool()),
                stats("read", self.reader().get_sqlite_connection_pool()),
            ],
            Backend::Postgres => vec![stats("main", self.writer().get_postgres_connection_pool())],
        }
    }
}
