//! Several statements that a transaction runs together, sent to the database at once.
//!
//! On SQLite every statement is a round trip to the connection's worker thread, and the
//! write connection is the one resource all writers queue for: each hop inside a write
//! transaction is time every other writer waits. A [`Writes`] runs its statements as one
//! multi-statement query — one hop — binding the parameters of each statement in turn.
//! On PostgreSQL the extended protocol takes one statement per query, so they run one
//! after another (PostgreSQL runs transactions side by side, and a hop there does not
//! hold up the others).
//!
//! Writes are always executed inside a transaction the caller owns: if one statement
//! fails, the caller's transaction rolls back the ones before it.

use sea_orm::sea_query::Values;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryTrait, Statement};

#[derive(Debug)]
pub struct Writes {
    backend: DbBackend,
    statements: Vec<Statement>,
}

impl Writes {
    pub fn new(backend: DbBackend) -> Self {
        Self {
            backend,
            statements: Vec::with_capacity(4),
        }
    }

    /// Adds a sea-orm query (an `Insert`, `UpdateMany`, `DeleteMany`…).
    pub fn push(&mut self, query: &impl QueryTrait) {
        self.statements.push(query.build(self.backend));
    }

    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// Runs every statement; returns the rows they changed, together.
    pub async fn execute(self, conn: &impl ConnectionTrait) -> Result<u64, DbErr> {
        match self.backend {
            DbBackend::Sqlite if self.statements.len() > 1 => {
                let mut sql = String::new();
                let mut values = Vec::new();
                for statement in self.statements {
                    sql.push_str(&statement.sql);
                    sql.push_str(";\n");
                    if let Some(Values(v)) = statement.values {
                        values.extend(v);
                    }
                }
                let batch = Statement::from_sql_and_values(DbBackend::Sqlite, sql, values);
                Ok(conn.execute_raw(batch).await?.rows_affected())
            }
            _ => {
                let mut rows = 0;
                for statement in self.statements {
                    rows += conn.execute_raw(statement).await?.rows_affected();
                }
                Ok(rows)
            }
        }
    }
}
