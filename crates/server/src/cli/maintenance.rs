//! `roster migrate --status`, `roster backup <file>`, `roster restore <file>`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use roster_core::Backend;
use roster_core::Services;
use roster_core::operations::{migration_status, restore_sqlite};

use super::output::{json, or_dash, table};
use super::{open, println_out};
use crate::config::Config;

#[derive(Debug, Args)]
pub(super) struct MigrateArgs {
    /// Show which migrations the database has, without applying any.
    #[arg(long)]
    status: bool,
    /// With --status: print JSON.
    #[arg(long, requires = "status")]
    json: bool,
}

#[derive(Debug, Args)]
pub(super) struct BackupArgs {
    /// The file to write (it must not exist). On PostgreSQL the pg_dump command that
    /// writes it is printed instead.
    file: PathBuf,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(super) struct RestoreArgs {
    /// A file `roster backup` wrote. Stop every node that uses the database first.
    file: PathBuf,
    #[arg(long)]
    json: bool,
}

pub(super) async fn migrate(config: &Config, args: MigrateArgs) -> anyhow::Result<ExitCode> {
    if !args.status {
        let db = open(config).await?;
        let applied = db.migrate().await.context("applying migrations failed");
        db.close().await;
        applied?;
        println_out("Migrations applied.");
        return Ok(ExitCode::SUCCESS);
    }
    // Reading the status changes nothing: no migration is applied.
    let db = open(config).await?;
    let status = migration_status(&db).await;
    db.close().await;
    let status = status?;
    if args.json {
        json(&status)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = status
        .migrations
        .iter()
        .map(|m| {
            vec![
                m.name.clone(),
                if m.applied_at.is_some() {
                    "applied"
                } else {
                    "pending"
                }
                .to_owned(),
                or_dash(m.applied_at.clone()),
            ]
        })
        .collect();
    table(&["MIGRATION", "STATE", "APPLIED AT"], &rows);
    let pending = status.pending();
    let mut summary = if pending == 0 {
        format!(
            "\nThe database is up to date ({} migrations).",
            status.migrations.len()
        )
    } else {
        format!(
            "\n{pending} migration(s) pending: `roster migrate` (or the next start) applies them."
        )
    };
    if !status.unknown_applied.is_empty() {
        summary.push_str(&format!(
            "\nThe database also has {} migration(s) this binary does not know ({}): a newer \
             version migrated it; this one still runs on it.",
            status.unknown_applied.len(),
            status.unknown_applied.join(", ")
        ));
    }
    println_out(&summary);
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn backup(config: &Config, args: BackupArgs) -> anyhow::Result<ExitCode> {
    let url = config.database_url()?;
    if url.backend() == Backend::Postgres {
        let file = shell_quote(&args.file.to_string_lossy());
        let schema = search_path(url.expose())
            .map(|schema| format!(" --schema={}", shell_quote(&schema)))
            .unwrap_or_default();
        // In a subshell with umask 077: the dump holds password hashes and sealed secrets.
        let dump = format!(
            "(umask 077 && pg_dump --format=custom{schema} --file={file} \"$ROSTER_DATABASE_URL\")"
        );
        let restore = format!("pg_restore --no-owner --dbname=\"$ROSTER_DATABASE_URL\" {file}");
        if args.json {
            json(&serde_json::json!({
                "backend": "postgres",
                "backed_up": false,
                "command": dump,
                "restore_command": restore,
            }))?;
        } else {
            println_out(&format!(
                "Roster does not copy PostgreSQL databases itself: pg_dump takes a consistent \
                 copy while the nodes keep serving. Run, with ROSTER_DATABASE_URL set as for \
                 the nodes ({url}):\n\n  {dump}\n\nTo restore into an empty database:\n\n  \
                 {restore}\n\nKeep ROSTER_SECRET_KEY apart from the dumps: it opens the webhook \
                 signing secrets in them."
            ));
        }
        return Ok(ExitCode::SUCCESS);
    }
    // No migration first: a backup is of the database as it is (taken before an upgrade,
    // it must be the old schema).
    let keyring = config.keyring(&url)?;
    let services = Services::new(open(config).await?, config.core_config(keyring)?);
    let key_id = services.config().keyring.current_id().to_owned();
    let report = services.operations().backup(&args.file).await;
    services.db().clone().close().await;
    let report = report?;
    if args.json {
        json(&serde_json::json!({
            "backend": "sqlite",
            "backed_up": true,
            "file": report.file,
            "bytes": report.bytes,
            "tenants": report.tenants,
            "users": report.users,
            "secret_key_id": key_id,
        }))?;
    } else {
        println_out(&format!(
            "Backed up {url} to {} ({} bytes: {} tenant(s), {} user(s)): a consistent copy, \
             which nodes may keep serving while it is taken.\nThe webhook signing secrets in it open only with the \
             secret key {key_id} (secret.key beside the database, or ROSTER_SECRET_KEY): keep a \
             copy of the key, apart from the backups.\nRestore with `roster restore {}` after \
             stopping the node.",
            report.file.display(),
            report.bytes,
            report.tenants,
            report.users,
            report.file.display(),
        ));
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn restore(config: &Config, args: RestoreArgs) -> anyhow::Result<ExitCode> {
    let url = config.database_url()?;
    if url.backend() == Backend::Postgres {
        bail!(
            "`roster restore` restores SQLite databases; restore a PostgreSQL dump into an empty \
             database with pg_restore --no-owner --dbname=\"$ROSTER_DATABASE_URL\" <file>"
        );
    }
    let report = restore_sqlite(&url, &args.file).await?;
    if args.json {
        json(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    let kept = report
        .previous
        .as_ref()
        .map_or_else(String::new, |previous| {
            format!(
                "\nThe database it replaced is kept as {}.",
                previous.display()
            )
        });
    println_out(&format!(
        "Restored {} from {} ({} tenant(s), {} user(s)).{kept}\nStart the node: it applies the \
         migrations an older backup lacks, and needs the secret key the backup's webhook secrets \
         were sealed with (it says so if the key does not match).",
        report.database.display(),
        args.file.display(),
        report.tenants,
        report.users,
    ));
    Ok(ExitCode::SUCCESS)
}

/// The `search_path` a PostgreSQL URL sets through `options=-c search_path=…`, so that
/// pg_dump copies that schema.
fn search_path(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    let options = url
        .query_pairs()
        .find(|(key, _)| key == "options")
        .map(|(_, value)| value.into_owned())?;
    let mut words = options.split_whitespace();
    while let Some(word) = words.next() {
        let setting = if word == "-c" {
            words.next()?
        } else {
            word.strip_prefix("-c")?
        };
        if let Some(schema) = setting.strip_prefix("search_path=") {
            return Some(schema.split(',').next()?.trim().to_owned());
        }
    }
    None
}

/// A word for a POSIX shell.
fn shell_quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+".contains(c))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn pg_dump_gets_the_schema_of_the_url() {
        assert_eq!(
            search_path(
                "postgres://u@h/db?options=-c%20search_path%3Dt_1%20-c%20application_name%3Dx"
            )
            .as_deref(),
            Some("t_1")
        );
        assert_eq!(search_path("postgres://u@h/db"), None);
        assert_eq!(shell_quote("backups/r.dump"), "backups/r.dump");
        assert_eq!(shell_quote("my file's"), "'my file'\\''s'");
    }
}
