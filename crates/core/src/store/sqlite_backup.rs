//! SQLite backup and restore: `roster backup` copies a serving database consistently,
//! `roster restore` replaces a stopped node's database with such a copy, checked first.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sea_orm::sqlx::{Connection as _, Executor as _, Row as _};
use sea_orm::{ConnectionTrait, Statement};
use serde::Serialize;

use super::{Backend, Database, DatabaseUrl};
use crate::time::Clock;
use crate::{Error, Result};

/// What a backup wrote.
#[derive(Clone, Debug, Serialize)]
pub struct BackupReport {
    pub file: PathBuf,
    pub bytes: u64,
    pub tenants: u64,
    pub users: u64,
}

/// What a restore did.
#[derive(Clone, Debug, Serialize)]
pub struct RestoreReport {
    pub database: PathBuf,
    /// Where the database that was replaced was kept.
    pub previous: Option<PathBuf>,
    pub tenants: u64,
    pub users: u64,
}

/// A consistent copy of a SQLite database while the node keeps serving: `VACUUM
/// INTO` on a reading connection writes a snapshot of one read transaction into
/// `file`, created owner-only first (it holds password hashes and sealed secrets).
/// Refuses an existing file, and PostgreSQL (whose tool is `pg_dump`).
pub async fn backup(db: &Database, file: &Path) -> Result<BackupReport> {
    if db.backend() != Backend::Sqlite {
        return Err(Error::invalid(
            "backup",
            "`roster backup` copies SQLite databases; back PostgreSQL up with pg_dump",
        ));
    }
    if file.exists() {
        return Err(Error::invalid(
            "file",
            format!("{} already exists; choose a new file", file.display()),
        ));
    }
    if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
        crate::files::create_private_dir_all(parent)
            .map_err(|err| Error::Internal(format!("cannot create {}: {err}", parent.display())))?;
    }
    crate::files::create_private_file(file)
        .map_err(|err| Error::Internal(format!("cannot create {}: {err}", file.display())))?;
    let path = file.to_string_lossy().into_owned();
    let result = db
        .reader()
        .execute_raw(Statement::from_sql_and_values(
            sea_orm::DbBackend::Sqlite,
            "VACUUM INTO ?",
            [path.into()],
        ))
        .await;
    if let Err(err) = result {
        let _ = std::fs::remove_file(file);
        return Err(err.into());
    }
    let (tenants, users) = counts_of_file(file).await?;
    let bytes = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    Ok(BackupReport {
        file: file.to_path_buf(),
        bytes,
        tenants,
        users,
    })
}

/// Replaces a SQLite database with a backup `roster backup` made. The node must be
/// stopped: the database is opened exclusively first, which fails while any node (or
/// command) has it open. The backup is checked (SQLite's `quick_check`, Roster's tables)
/// before anything changes; the database it replaces is kept beside it as
/// `<name>.before-restore-<time>`; the copy is written beside the database and renamed
/// over it, so a crash leaves one or the other, never half of each. Migrations are not
/// applied here: the next start (or `roster migrate`) applies what an older backup lacks.
pub async fn restore_sqlite(database: &DatabaseUrl, backup: &Path) -> Result<RestoreReport> {
    let Some(target) = database.sqlite_file() else {
        return Err(Error::invalid(
            "restore",
            "`roster restore` restores SQLite databases; restore PostgreSQL with pg_restore",
        ));
    };
    if !backup.is_file() {
        return Err(Error::invalid(
            "file",
            format!("{} is not a file", backup.display()),
        ));
    }
    check_backup(backup).await?;
    let previous = if target.exists() {
        Some(set_aside(&target).await?)
    } else {
        None
    };
    if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        crate::files::create_private_dir_all(parent)
            .map_err(|err| Error::Internal(format!("cannot create {}: {err}", parent.display())))?;
    }
    let staging = sibling(&target, ".restoring");
    let _ = std::fs::remove_file(&staging);
    crate::files::create_private_file(&staging)
        .map_err(|err| Error::Internal(format!("cannot create {}: {err}", staging.display())))?;
    copy_durably(backup, &staging)?;
    std::fs::rename(&staging, &target)
        .map_err(|err| Error::internal("cannot move the copy into place", err))?;
    if let Some(dir) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        // The rename itself must survive a crash.
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    let (tenants, users) = counts_of_file(&target).await?;
    Ok(RestoreReport {
        database: target,
        previous,
        tenants,
        users,
    })
}

/// `path` with `suffix` appended to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn copy_durably(from: &Path, to: &Path) -> Result<()> {
    let io = |err: std::io::Error| Error::internal("copying the backup failed", err);
    let mut source = std::fs::File::open(from).map_err(io)?;
    let mut target = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(to)
        .map_err(io)?;
    std::io::copy(&mut source, &mut target).map_err(io)?;
    target.sync_all().map_err(io)
}

fn sqlite_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .busy_timeout(std::time::Duration::from_millis(200))
}

/// The backup opens, passes SQLite's `quick_check`, and is a Roster database.
async fn check_backup(path: &Path) -> Result<()> {
    let not_a_backup = |why: String| {
        Error::invalid(
            "file",
            format!("{} is not a Roster backup: {why}", path.display()),
        )
    };
    let mut conn =
        sea_orm::sqlx::SqliteConnection::connect_with(&sqlite_options(path).read_only(true))
            .await
            .map_err(|err| not_a_backup(err.to_string()))?;
    let check: String = conn
        .fetch_one("PRAGMA quick_check")
        .await
        .and_then(|row| row.try_get(0))
        .map_err(|err| not_a_backup(err.to_string()))?;
    if check != "ok" {
        let _ = conn.close().await;
        return Err(not_a_backup(format!("SQLite finds it damaged ({check})")));
    }
    let tables: i64 = conn
        .fetch_one(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' \
             AND name IN ('seaql_migrations', 'tenants', 'users')",
        )
        .await
        .and_then(|row| row.try_get(0))
        .map_err(|err| not_a_backup(err.to_string()))?;
    let _ = conn.close().await;
    if tables != 3 {
        return Err(not_a_backup("it has no Roster tables".to_owned()));
    }
    Ok(())
}

/// Takes the current database out of the way, refusing while anything has it open: an
/// exclusive lock on a database in WAL mode is granted only when no other connection
/// uses it. The WAL is folded into the file first, so the kept copy is whole.
async fn set_aside(target: &Path) -> Result<PathBuf> {
    let in_use = || {
        Error::invalid(
            "restore",
            format!(
                "{} is in use (a node or another command has it open); stop every node that \
                 uses it, then run the restore again",
                target.display()
            ),
        )
    };
    let options = sqlite_options(target)
        .journal_mode(SqliteJournalMode::Wal)
        .pragma("locking_mode", "EXCLUSIVE");
    let mut conn = sea_orm::sqlx::SqliteConnection::connect_with(&options)
        .await
        .map_err(|_| in_use())?;
    if conn.execute("BEGIN EXCLUSIVE").await.is_err() {
        let _ = conn.close().await;
        return Err(in_use());
    }
    let _ = conn.execute("COMMIT").await;
    let checkpoint = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").await;
    // Back to DELETE mode so the kept file needs no -wal beside it.
    let _ = conn.execute("PRAGMA journal_mode=DELETE").await;
    let _ = conn.close().await;
    checkpoint.map_err(|err| {
        Error::Internal(format!(
            "cannot fold the WAL into {}: {err}",
            target.display()
        ))
    })?;
    let stamp = Clock::system().now().to_rfc3339().replace(':', "");
    let kept = sibling(target, &format!(".before-restore-{stamp}"));
    std::fs::rename(target, &kept)
        .map_err(|err| Error::internal("cannot keep the current database", err))?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(sibling(target, suffix));
    }
    Ok(kept)
}

/// Tenants and users in a database file, to show what a backup or restore holds.
async fn counts_of_file(path: &Path) -> Result<(u64, u64)> {
    let url = format!("sqlite://{}?mode=ro", path.display());
    let options = SqliteConnectOptions::from_str(&url)
        .map(|o| o.busy_timeout(std::time::Duration::from_secs(5)))
        .map_err(|err| Error::internal("the database file's address", err))?;
    let mut conn = sea_orm::sqlx::SqliteConnection::connect_with(&options)
        .await
        .map_err(|err| Error::Internal(format!("cannot open {}: {err}", path.display())))?;
    let count = |row: sea_orm::sqlx::sqlite::SqliteRow| {
        row.try_get::<i64, _>(0)
            .map(|n| u64::try_from(n).unwrap_or(0))
    };
    let tenants = conn
        .fetch_one("SELECT COUNT(*) FROM tenants")
        .await
        .and_then(count)
        .map_err(|err| Error::internal("counting the tenants in the file", err))?;
    let users = conn
        .fetch_one("SELECT COUNT(*) FROM users")
        .await
        .and_then(count)
        .map_err(|err| Error::internal("counting the users in the file", err))?;
    let _ = conn.close().await;
    Ok((tenants, users))
}
