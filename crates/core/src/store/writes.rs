//! Several statements that a transaction runs together, sent to the database at once.
//!
//! On SQLite every statement is a round trip to the connection's worker thread, and the
//! write connection is the one resource all writers queue for: each hop inside a write
//! transaction is time every other writer waits. A [`Writes`] runs its statements as one
//! multi-statement query — one hop — binding the parameters of each statement in turn.
//!
//! PostgreSQL's extended protocol takes one statement per query; there the statements
//! become one statement of data-modifying CTEs (`WITH w0 AS (INSERT …), w1 AS (…)
//! SELECT 1`) — one round trip to the server. PostgreSQL runs the parts of such a
//! statement in no set order and on one snapshot, so the statements of a `Writes` must not
//! touch the same rows twice (an email list is replaced by an upsert and a delete of the
//! positions past its end, never by delete-then-insert).
//!
//! Writes are always executed inside a transaction the caller owns: if one statement
//! fails, the caller's transaction rolls back the ones before it.

use std::collections::HashSet;

use sea_orm::sea_query::Values;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, QueryResult, QueryTrait, Statement,
    TransactionTrait,
};

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

    /// Adds the statements of `other`, after these.
    pub fn append(&mut self, other: Writes) {
        self.statements.extend(other.statements);
    }

    /// What the batch costs the writer, roughly: its bound values plus one per statement.
    pub fn cost(&self) -> usize {
        self.statements
            .iter()
            .map(|s| 1 + s.values.as_ref().map_or(0, |v| v.0.len()))
            .sum()
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
            DbBackend::Postgres if self.statements.len() > 1 => {
                // One statement per round trip, each under PostgreSQL's limit of 65,535
                // bound parameters.
                let mut batch: Vec<Statement> = Vec::new();
                let mut params = 0;
                for statement in self.statements {
                    let n = statement.values.as_ref().map_or(0, |v| v.0.len());
                    if !batch.is_empty() && params + n > MAX_PG_PARAMS {
                        run_cte(conn, std::mem::take(&mut batch)).await?;
                        params = 0;
                    }
                    params += n;
                    batch.push(statement);
                }
                run_cte(conn, batch).await?;
                // The statement's own count is the final SELECT's; callers do not rely
                // on it.
                Ok(0)
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

impl Writes {
    /// Runs every statement in a transaction of its own on `conn`, and commits it.
    pub async fn execute_alone(self, conn: &DatabaseConnection) -> Result<u64, DbErr> {
        let txn = conn.begin().await?;
        let rows = self.execute(&txn).await?;
        txn.commit().await?;
        Ok(rows)
    }
}

/// What proves the snapshot a write was computed from still current, checked in the
/// write's transaction before its [`Writes`].
#[derive(Debug)]
pub(crate) enum Guard {
    /// The statement (an `UPDATE`/`DELETE` carrying `version = <read>`) changes exactly
    /// one row.
    AffectsOne(Statement),
    /// The statement (a `DELETE … RETURNING <id>`) returns exactly these ids, as text.
    Returns(Statement, HashSet<String>),
}

impl Guard {
    /// What the guard costs the writer: its bound values plus one.
    pub(crate) fn cost(&self) -> usize {
        match self {
            Guard::AffectsOne(s) | Guard::Returns(s, _) => {
                1 + s.values.as_ref().map_or(0, |v| v.0.len())
            }
        }
    }

    /// Runs the guard's statement: whether the snapshot still holds.
    pub(crate) async fn holds(self, conn: &impl ConnectionTrait) -> Result<bool, DbErr> {
        match self {
            Guard::AffectsOne(statement) => {
                Ok(conn.execute_raw(statement).await?.rows_affected() == 1)
            }
            Guard::Returns(statement, expected) => {
                let rows = conn.query_all_raw(statement).await?;
                let mut got = HashSet::with_capacity(rows.len());
                for row in rows {
                    got.insert(returned_id(&row)?);
                }
                Ok(got == expected)
            }
        }
    }
}

/// A SQLite write's guards and statements as one statement — one round trip on the
/// writer, after `opening` (the group commit's savepoint, see
/// [`super::group_commit::Opening`]). Each guard returns a row per row it changes, its
/// position in the first column (and a `Returns` guard its id in the second), so that
/// every guard is checked from the one answer ([`OneTrip::guards_held`]).
///
/// The writes run even when a guard does not hold: the caller then rolls back to the
/// savepoint. A statement that fails stops the rest: without guards its error is the
/// answer; with guards the caller rolls back and runs the plan again a statement at a
/// time, since a guard that did not hold (which is no error) must win over a later
/// write's error.
#[derive(Debug)]
pub(crate) struct OneTrip {
    statement: Statement,
}

impl OneTrip {
    /// `None` when the backend is not SQLite or a guard's statement cannot be tagged.
    pub(crate) fn build(opening: &str, guards: &[Guard], writes: &Writes) -> Option<Self> {
        if writes.backend != DbBackend::Sqlite {
            return None;
        }
        let mut sql = String::with_capacity(256);
        let mut values = Vec::new();
        sql.push_str(opening);
        sql.push_str(";\n");
        for (tag, guard) in guards.iter().enumerate() {
            let statement = match guard {
                Guard::AffectsOne(statement) => {
                    sql.push_str(&statement.sql);
                    sql.push_str(&format!(" RETURNING {tag}"));
                    statement
                }
                Guard::Returns(statement, _) => {
                    let at = statement.sql.rfind(" RETURNING ")? + " RETURNING ".len();
                    sql.push_str(&statement.sql[..at]);
                    sql.push_str(&format!("{tag}, "));
                    sql.push_str(&statement.sql[at..]);
                    statement
                }
            };
            sql.push_str(";\n");
            if let Some(Values(v)) = &statement.values {
                values.extend(v.iter().cloned());
            }
        }
        for statement in &writes.statements {
            sql.push_str(&statement.sql);
            sql.push_str(";\n");
            if let Some(Values(v)) = &statement.values {
                values.extend(v.iter().cloned());
            }
        }
        Some(Self {
            statement: Statement::from_sql_and_values(DbBackend::Sqlite, sql, values),
        })
    }

    /// Runs the statement: the rows the guards returned.
    pub(crate) async fn run(self, conn: &impl ConnectionTrait) -> Result<Vec<QueryResult>, DbErr> {
        conn.query_all_raw(self.statement).await
    }

    /// Whether every guard held, from the rows [`OneTrip::run`] returned.
    pub(crate) fn guards_held(guards: &[Guard], rows: &[QueryResult]) -> Result<bool, DbErr> {
        let mut changed = vec![0usize; guards.len()];
        let mut returned: Vec<HashSet<String>> = vec![HashSet::new(); guards.len()];
        for row in rows {
            let tag = row.try_get_by_index::<i64>(0)?;
            let tag = usize::try_from(tag)
                .ok()
                .filter(|&t| t < guards.len())
                .ok_or_else(|| DbErr::Custom(format!("a write returned an unknown row ({tag})")))?;
            match &guards[tag] {
                Guard::AffectsOne(_) => changed[tag] += 1,
                Guard::Returns(..) => {
                    returned[tag].insert(returned_id_at(row, 1)?);
                }
            }
        }
        Ok(guards.iter().enumerate().all(|(tag, guard)| match guard {
            Guard::AffectsOne(_) => changed[tag] == 1,
            Guard::Returns(_, expected) => &returned[tag] == expected,
        }))
    }
}

/// The first column of a `RETURNING` row as text (a UUID column reads as `Uuid` on
/// PostgreSQL and as text on SQLite).
fn returned_id(row: &QueryResult) -> Result<String, DbErr> {
    returned_id_at(row, 0)
}

fn returned_id_at(row: &QueryResult, index: usize) -> Result<String, DbErr> {
    if let Ok(id) = row.try_get_by_index::<uuid::Uuid>(index) {
        return Ok(id.to_string());
    }
    row.try_get_by_index::<String>(index)
}

/// Bound parameters per PostgreSQL round trip, well under the protocol's 65,535.
const MAX_PG_PARAMS: usize = 30_000;

/// Runs statements as one statement of data-modifying CTEs.
async fn run_cte(conn: &impl ConnectionTrait, statements: Vec<Statement>) -> Result<(), DbErr> {
    if let [_] = statements.as_slice() {
        for statement in statements {
            conn.execute_raw(statement).await?;
        }
        return Ok(());
    }
    let mut sql = String::from("WITH ");
    let mut values = Vec::new();
    for (i, statement) in statements.into_iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("w{i} AS ("));
        renumber_placeholders(&statement.sql, values.len(), &mut sql);
        sql.push(')');
        if let Some(Values(v)) = statement.values {
            values.extend(v);
        }
    }
    sql.push_str(" SELECT 1");
    let batch = Statement::from_sql_and_values(DbBackend::Postgres, sql, values);
    conn.execute_raw(batch).await?;
    Ok(())
}

/// Appends `sql` to `out` with every `$n` placeholder shifted by `offset`. Quoted
/// identifiers and string literals are copied as they are (sea-query binds every value,
/// so literals hold no user data, but a `$` inside one must not be touched).
fn renumber_placeholders(sql: &str, offset: usize, out: &mut String) {
    let mut chars = sql.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                out.push(c);
            }
            None if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    digits.push(d);
                    chars.next();
                }
                let n: usize = digits.parse().unwrap_or(0);
                out.push('$');
                out.push_str(&(n + offset).to_string());
            }
            None => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_shifted_outside_quotes_only() {
        let mut out = String::new();
        renumber_placeholders(
            r#"INSERT INTO "t$1" ("a") VALUES ($1, $12, '$3', 'it''s $4') RETURNING $2"#,
            10,
            &mut out,
        );
        assert_eq!(
            out,
            r#"INSERT INTO "t$1" ("a") VALUES ($11, $22, '$3', 'it''s $4') RETURNING $12"#
        );
    }
}
