//! Opening the database, migrating it, and checking that it is ready.
//!
//! SQLite is opened in WAL mode with foreign keys on and a busy timeout, through two pools:
//! one connection for writes (SQLite admits one writer at a time, so queueing writers in
//! the pool instead of in SQLite's lock is what keeps "database is locked" away) and
//! several read-only connections, which WAL lets run beside the writer. PostgreSQL uses one
//! pool for both.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use std::collections::HashSet;

use roster_migration::{
    IntoSchemaManagerConnection, Migrator, MigratorTrait, SchemaManager, seaql_migrations,
};
use sea_orm::sqlx::Connection as _;
use sea_orm::sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sea_orm::sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait,
    SqliteTransactionMode, SqlxPostgresConnector, SqlxSqliteConnector, TransactionOptions,
    TransactionTrait,
};

use super::group_commit::{GroupCommitter, Opening};
use crate::metrics::WriteQueueMetrics;
use crate::time::Clock;
use crate::{Error, Result};
use futures_util::future::BoxFuture;

/// Which database engine a URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl From<Backend> for sea_orm::DbBackend {
    fn from(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => sea_orm::DbBackend::Sqlite,
            Backend::Postgres => sea_orm::DbBackend::Postgres,
        }
    }
}

/// A database URL, checked for a supported scheme. Its `Debug` and `Display` hide the
/// password so that it can be logged.
#[derive(Clone)]
pub struct DatabaseUrl {
    raw: String,
    backend: Backend,
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self> {
        let raw = raw.trim();
        let backend = if raw.starts_with("sqlite:") {
            Backend::Sqlite
        } else if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            url::Url::parse(raw).map_err(|err| {
                Error::invalid(
                    "database_url",
                    format!("is not a valid PostgreSQL URL ({err})"),
                )
            })?;
            Backend::Postgres
        } else {
            return Err(Error::invalid(
                "database_url",
                "must start with sqlite:// or postgres://",
            ));
        };
        Ok(Self {
            raw: raw.to_owned(),
            backend,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    fn is_sqlite_in_memory(&self) -> bool {
        self.backend == Backend::Sqlite
            && (self.raw.contains(":memory:") || self.raw.contains("mode=memory"))
    }

    /// The SQLite database's file; `None` for PostgreSQL and in-memory SQLite.
    pub fn sqlite_file(&self) -> Option<std::path::PathBuf> {
        if self.backend != Backend::Sqlite || self.is_sqlite_in_memory() {
            return None;
        }
        SqliteConnectOptions::from_str(&self.raw)
            .ok()
            .map(|options| options.get_filename().to_path_buf())
    }

    /// The URL with its secret in it, for the driver only.
    pub fn expose(&self) -> &str {
        &self.raw
    }

    fn redacted(&self) -> String {
        match url::Url::parse(&self.raw) {
            Ok(mut url) if url.password().is_some() => {
                let _ = url.set_password(Some("***"));
                url.to_string()
            }
            _ => self.raw.clone(),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DatabaseUrl")
            .field(&self.redacted())
            .finish()
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Reading connections for SQLite: more than the cores that run queries only adds
/// memory.
const SQLITE_MAX_READERS: u32 = 6;

/// Pool settings.
#[derive(Clone, Debug)]
pub struct DatabaseOptions {
    /// Connections for reads (SQLite) or for everything (PostgreSQL).
    pub max_connections: u32,
    /// How long startup waits for the database to answer.
    pub connect_timeout: Duration,
    /// How long a request waits for a free connection.
    pub acquire_timeout: Duration,
}

impl Default for DatabaseOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            connect_timeout: Duration::from_secs(10),
            acquire_timeout: Duration::from_secs(30),
        }
    }
}

/// The database, as the services use it.
#[derive(Clone, Debug)]
pub struct Database {
    write: DatabaseConnection,
    read: DatabaseConnection,
    backend: Backend,
    /// SQLite only: runs queued writes together (see [`super::group_commit`]).
    committer: Option<GroupCommitter>,
    /// The writes waiting, for `/metrics`.
    write_queue: WriteQueueMetrics,
    /// The node's clock, which stamps every row the services write.
    clock: Clock,
}

/// Why the database could not be opened, in one sentence for the operator.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("the database URL {url} is not usable: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("could not open the database at {url}: {reason}")]
    Unreachable { url: String, reason: String },
}

impl Database {
    pub async fn connect(
        url: &DatabaseUrl,
        options: &DatabaseOptions,
    ) -> std::result::Result<Self, ConnectError> {
        match url.backend() {
            Backend::Sqlite => Self::connect_sqlite(url, options).await,
            Backend::Postgres => Self::connect_postgres(url, options).await,
        }
    }

    async fn connect_sqlite(
        url: &DatabaseUrl,
        options: &DatabaseOptions,
    ) -> std::result::Result<Self, ConnectError> {
        let bad_url = |reason: String| ConnectError::BadUrl {
            url: url.to_string(),
            reason,
        };
        let unreachable = |reason: String| ConnectError::Unreachable {
            url: url.to_string(),
            reason,
        };
        let base = SqliteConnectOptions::from_str(url.expose())
            .map_err(|err| bad_url(err.to_string()))?
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL in WAL mode: a committed transaction survives a crash of the process
            // (it is in the WAL, in the OS's cache); only an OS crash may lose the last ones.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("temp_store", "memory");
        let in_memory = url.is_sqlite_in_memory();
        if !in_memory {
            prepare_sqlite_files(base.get_filename()).map_err(unreachable)?;
        }
        // Page caches are per connection: the writer gets 8 MiB, each reader SQLite's
        // default 2 MiB, and there are at most as many readers as can usefully run at once.
        // (16 MiB each across 17 connections was most of the memory a busy node used.)
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(
                base.clone()
                    .create_if_missing(true)
                    .pragma("cache_size", "-8000"),
            )
            .await
            .map_err(|err| unreachable(err.to_string()))?;
        let write = SqlxSqliteConnector::from_sqlx_sqlite_pool(writer);
        let read = if in_memory {
            write.clone()
        } else {
            let reader = SqlitePoolOptions::new()
                .max_connections(options.max_connections.clamp(1, SQLITE_MAX_READERS))
                .acquire_timeout(options.acquire_timeout)
                .connect_with(base.read_only(true))
                .await
                .map_err(|err| unreachable(err.to_string()))?;
            SqlxSqliteConnector::from_sqlx_sqlite_pool(reader)
        };
        let write_queue = WriteQueueMetrics::new();
        Ok(Self {
            committer: Some(GroupCommitter::start(write.clone(), write_queue.clone())),
            write_queue,
            write,
            read,
            backend: Backend::Sqlite,
            clock: Clock::system(),
        })
    }

    async fn connect_postgres(
        url: &DatabaseUrl,
        options: &DatabaseOptions,
    ) -> std::result::Result<Self, ConnectError> {
        let connect = PgConnectOptions::from_str(url.expose())
            .map_err(|err| ConnectError::BadUrl {
                url: url.to_string(),
                reason: err.to_string(),
            })?
            // No JIT compilation: Roster's queries are short index walks, which the
            // planner may still cost high enough to compile (15-20 ms a query at a
            // million users, more than the query itself).
            .options([("jit", "off")]);
        let unreachable = |reason: String| ConnectError::Unreachable {
            url: url.to_string(),
            reason,
        };
        // One direct connection first: the pool reports only "timed out", while this
        // says what went wrong (refused, unknown host, authentication failed...).
        match tokio::time::timeout(
            options.connect_timeout,
            PgConnection::connect_with(&connect),
        )
        .await
        {
            Ok(Ok(conn)) => {
                let _ = conn.close().await;
            }
            Ok(Err(err)) => return Err(unreachable(err.to_string())),
            Err(_) => {
                return Err(unreachable(format!(
                    "no answer within {} seconds",
                    options.connect_timeout.as_secs()
                )));
            }
        }
        // Every connection is opened here, at startup, on the main runtime, and kept: a
        // connection belongs to the Tokio runtime that opened it, and actix's workers
        // each run their own, which stop one after another at shutdown. A connection a
        // worker had opened then failed the requests still finishing on the others ("A
        // Tokio 1.x context was found, but it is being shutdown": a 500 while a node
        // stopped). Kept connections are never closed for idleness or age; one that
        // breaks is replaced by whichever request needs it.
        let size = options.max_connections.max(2);
        let pool = PgPoolOptions::new()
            .max_connections(size)
            .min_connections(size)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(|err| unreachable(err.to_string()))?;
        let mut opened = Vec::with_capacity(size as usize);
        for _ in 0..size {
            opened.push(
                pool.acquire()
                    .await
                    .map_err(|err| unreachable(err.to_string()))?,
            );
        }
        drop(opened);
        let conn = SqlxPostgresConnector::from_sqlx_postgres_pool(pool);
        Ok(Self {
            write: conn.clone(),
            read: conn,
            backend: Backend::Postgres,
            committer: None,
            write_queue: WriteQueueMetrics::new(),
            clock: Clock::system(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The node's clock (the system's unless a test set another).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// This handle with `clock` in place of the system's (tests move time with it).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The writes waiting for this database, for `/metrics`.
    pub fn write_queue(&self) -> &WriteQueueMetrics {
        &self.write_queue
    }

    /// A batch of statements for this database (see [`super::writes`]).
    pub fn writes(&self) -> super::writes::Writes {
        super::writes::Writes::new(self.backend.into())
    }

    /// The connection for reads. On SQLite it is read-only.
    pub fn reader(&self) -> &DatabaseConnection {
        &self.read
    }

    /// The connection for single-statement writes.
    pub fn writer(&self) -> &DatabaseConnection {
        &self.write
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`), so a transaction that reads before it writes never fails half-way
    /// because another process (the CLI, say) wrote in between.
    pub async fn begin_write(&self) -> Result<DatabaseTransaction, DbErr> {
        let options = TransactionOptions {
            sqlite_transaction_mode: (self.backend == Backend::Sqlite)
                .then_some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        };
        self.write.begin_with_options(options).await
    }

    /// Runs `f` in a write transaction and commits it: a transaction of its own on
    /// PostgreSQL; on SQLite a savepoint in the next group commit. Either way the result is
    /// returned only once the writes are committed, and an `Err` from `f` rolls back
    /// everything `f` wrote. `f` must use only the transaction it is given.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: for<'t> FnOnce(&'t DatabaseTransaction) -> BoxFuture<'t, Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<DbErr> + Send + 'static,
    {
        self.write_in_lane(None, 1, move |txn, opening: Opening| {
            Box::pin(async move {
                opening.run(txn).await.map_err(E::from)?;
                f(txn).await
            })
        })
        .await
    }

    /// [`Database::write`] for one tenant (`lane`) at an estimated `cost` (bound values):
    /// on SQLite, tenants' writes take turns in the group commit (see
    /// [`super::group_commit`]). `f` is handed the [`Opening`] of its savepoint, to send
    /// before any other statement — alone, or as the start of its first.
    pub(crate) async fn write_in_lane<T, E, F>(
        &self,
        lane: Option<uuid::Uuid>,
        cost: usize,
        f: F,
    ) -> Result<T, E>
    where
        F: for<'t> FnOnce(&'t DatabaseTransaction, Opening) -> BoxFuture<'t, Result<T, E>>
            + Send
            + 'static,
        T: Send + 'static,
        E: From<DbErr> + Send + 'static,
    {
        if let Some(committer) = &self.committer {
            return committer.write(lane, cost, f).await;
        }
        let _in_flight = self.write_queue.in_flight();
        let txn = self.begin_write().await.map_err(E::from)?;
        match f(&txn, Opening::none()).await {
            Ok(value) => {
                txn.commit().await.map_err(E::from)?;
                Ok(value)
            }
            Err(err) => {
                if let Err(rollback) = txn.rollback().await {
                    tracing::warn!(error = %rollback, "rolling back a failed write failed");
                }
                Err(err)
            }
        }
    }

    /// Applies every pending migration. On PostgreSQL an advisory lock serialises nodes
    /// that start at the same time; the second finds nothing left to do.
    ///
    /// A database that is ahead of this binary (a newer node migrated it during a rolling
    /// upgrade) is accepted as long as nothing this binary knows is missing: migrations
    /// are expand/contract, so older code keeps working on the newer schema.
    pub async fn migrate(&self) -> Result<(), DbErr> {
        if self.migration_state(&self.write).await?.pending.is_empty() {
            return Ok(());
        }
        match self.backend {
            Backend::Sqlite => Migrator::up(&self.write, None).await,
            Backend::Postgres => {
                let txn = self.write.begin().await?;
                txn.execute_unprepared("SELECT pg_advisory_xact_lock(7262727163)")
                    .await?;
                if !self.migration_state(&txn).await?.pending.is_empty() {
                    Migrator::up(&txn, None).await?;
                }
                txn.commit().await
            }
        }
    }

    /// How many migrations this binary knows that the database has not applied.
    pub async fn pending_migrations(&self) -> Result<usize, DbErr> {
        Ok(self.migration_state(&self.read).await?.pending.len())
    }

    async fn migration_state<'c, C>(&self, conn: &'c C) -> Result<MigrationState, DbErr>
    where
        C: ConnectionTrait,
        &'c C: IntoSchemaManagerConnection<'c>,
    {
        let table = Migrator::migration_table_name();
        let applied: HashSet<String> = if SchemaManager::new(conn)
            .has_table(table.to_string())
            .await?
        {
            seaql_migrations::Entity::find()
                .all(conn)
                .await?
                .into_iter()
                .map(|row| row.version)
                .collect()
        } else {
            HashSet::new()
        };
        let known: Vec<String> = Migrator::migrations()
            .iter()
            .map(|migration| migration.name().to_owned())
            .collect();
        let pending = known
            .iter()
            .filter(|name| !applied.contains(*name))
            .cloned()
            .collect();
        Ok(MigrationState { pending })
    }

    /// Ready to serve: the database answers and its schema is current.
    pub async fn check_ready(&self) -> Result<(), ReadinessError> {
        self.read
            .ping()
            .await
            .map_err(ReadinessError::Unreachable)?;
        if self.backend == Backend::Sqlite {
            self.write
                .ping()
                .await
                .map_err(ReadinessError::Unreachable)?;
        }
        match self.pending_migrations().await {
            Ok(0) => Ok(()),
            Ok(pending) => Err(ReadinessError::MigrationsPending(pending)),
            Err(err) => Err(ReadinessError::Unreachable(err)),
        }
    }

    /// Closes the pools, letting SQLite checkpoint its WAL.
    pub async fn close(self) {
        if let Err(err) = self.read.close_by_ref().await {
            tracing::warn!(error = %err, "closing the read pool failed");
        }
        if let Err(err) = self.write.close_by_ref().await {
            tracing::warn!(error = %err, "closing the write pool failed");
        }
    }
}

/// Makes the SQLite database's folder and files owner-only before SQLite opens them: a
/// new folder 0700, a new database file 0600 (SQLite gives `-wal` and `-shm` the main
/// file's mode), and existing files that group or others may read tightened to 0600, with
/// a warning. Existing folders are left as they are (see [`crate::files`]).
fn prepare_sqlite_files(path: &std::path::Path) -> std::result::Result<(), String> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        crate::files::create_private_dir_all(parent)
            .map_err(|err| format!("cannot create {}: {err}", parent.display()))?;
    }
    let mut companions = Vec::new();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        companions.push(std::path::PathBuf::from(name));
    }
    for file in &companions {
        match crate::files::make_owner_only(file) {
            Ok(true) => tracing::warn!(
                file = %file.display(),
                "the database file was readable by other users; made it owner-only (0600)"
            ),
            Ok(false) => {}
            Err(err) => {
                return Err(format!("cannot make {} owner-only: {err}", file.display()));
            }
        }
    }
    crate::files::create_private_file(path)
        .map_err(|err| format!("cannot create {}: {err}", path.display()))
}

struct MigrationState {
    pending: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReadinessError {
    #[error("the database does not answer")]
    Unreachable(#[source] DbErr),
    #[error("{0} migration(s) pending")]
    MigrationsPending(usize),
}

impl From<ConnectError> for Error {
    fn from(err: ConnectError) -> Self {
        Error::internal("connecting to the database", err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_backend_and_hide_passwords() {
        let pg = DatabaseUrl::parse("postgres://roster:hunter2@db:5432/roster").unwrap();
        assert_eq!(pg.backend(), Backend::Postgres);
        assert!(!format!("{pg:?} {pg}").contains("hunter2"));
        assert!(pg.to_string().contains("***"));
        let sqlite = DatabaseUrl::parse("sqlite://./data/roster.db").unwrap();
        assert_eq!(sqlite.backend(), Backend::Sqlite);
        let err = DatabaseUrl::parse("mysql://x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "database_url: must start with sqlite:// or postgres://"
        );
    }
}
