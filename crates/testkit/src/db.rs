use roster_core::{Backend, Database, DatabaseOptions, DatabaseUrl};
use sea_orm::sqlx::postgres::PgConnection;
use sea_orm::sqlx::{AssertSqlSafe, Connection as _, Executor as _};
use tempfile::TempDir;

/// The environment variable through which the test command passes PostgreSQL.
pub const TEST_DATABASE_URL_ENV: &str = "ROSTER_TEST_DATABASE_URL";

/// A database of its own for one test, removed when dropped.
pub struct TestDatabase {
    url: String,
    backend: Backend,
    _dir: Option<TempDir>,
    schema: Option<(String, String)>,
}

impl TestDatabase {
    /// A fresh, empty database (not migrated).
    pub async fn new() -> Self {
        match std::env::var(TEST_DATABASE_URL_ENV) {
            Ok(base) if !base.trim().is_empty() => Self::postgres(base.trim()).await,
            _ => Self::sqlite(),
        }
    }

    fn sqlite() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("roster-test-")
            .tempdir()
            .unwrap();
        let url = format!("sqlite://{}/roster.db", dir.path().display());
        Self {
            url,
            backend: Backend::Sqlite,
            _dir: Some(dir),
            schema: None,
        }
    }

    async fn postgres(base: &str) -> Self {
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(base)
            .await
            .unwrap_or_else(|err| panic!("{TEST_DATABASE_URL_ENV} does not answer: {err}"));
        conn.execute(AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .await
            .unwrap();
        let _ = conn.close().await;
        let mut url = url::Url::parse(base).unwrap();
        // The schema's name is also the connections' application_name, so that clean-up
        // can find and end them.
        url.query_pairs_mut().append_pair(
            "options",
            &format!("-c search_path={schema} -c application_name={schema}"),
        );
        Self {
            url: url.to_string(),
            backend: Backend::Postgres,
            _dir: None,
            schema: Some((base.to_owned(), schema)),
        }
    }

    /// Another handle on this same database, for a second node. It removes nothing when
    /// dropped: the original owns the database and must outlive every handle.
    pub fn handle(&self) -> Self {
        Self {
            url: self.url.clone(),
            backend: self.backend,
            _dir: None,
            schema: None,
        }
    }

    /// The URL to give to `ROSTER_DATABASE_URL` or `Database::connect`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Opens (without migrating) this database.
    pub async fn connect(&self) -> Database {
        Database::connect(
            &DatabaseUrl::parse(&self.url).unwrap(),
            &DatabaseOptions {
                max_connections: 4,
                ..DatabaseOptions::default()
            },
        )
        .await
        .unwrap()
    }

    /// Opens and migrates this database.
    pub async fn migrated(&self) -> Database {
        let db = self.connect().await;
        db.migrate().await.unwrap();
        db
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((base, schema)) = self.schema.take() else {
            return;
        };
        // Drop runs inside the test's runtime; a thread with its own runtime does the
        // async clean-up without blocking that runtime on itself.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(mut conn) = PgConnection::connect(&base).await {
                    // A task of the test's runtime (a webhook worker, say) can be dropped
                    // in the middle of a transaction when the test ends, leaving its
                    // connection idle in transaction with locks that DROP SCHEMA would
                    // wait for forever. End the test's connections first.
                    let _ = conn
                        .execute(AssertSqlSafe(format!(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                             WHERE application_name = '{schema}' AND pid <> pg_backend_pid()"
                        )))
                        .await;
                    let _ = conn.execute("SET lock_timeout = '30s'").await;
                    let _ = conn
                        .execute(AssertSqlSafe(format!(
                            "DROP SCHEMA IF EXISTS {schema} CASCADE"
                        )))
                        .await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}
