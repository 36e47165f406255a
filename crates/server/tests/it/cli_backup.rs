//! The operator's command line for the database itself, run as a process against the test
//! database: migration status without applying anything, and a backup taken while serving
//! restored (SQLite) or refused with the right tool named (PostgreSQL).

use std::path::Path;

use roster_testkit::TestDatabase;
use serde_json::json;

use crate::binary::{Node, cli_tenant_with_token};
use crate::cli::{Scim, json_of, ok, refused};

#[tokio::test]
async fn migrate_status_shows_what_the_database_has_without_applying_anything() {
    let dir = tempfile::tempdir().unwrap();
    let test_db = TestDatabase::new().await;
    let url = test_db.url().to_owned();
    // An empty database: everything pending, and still nothing applied afterwards.
    let status = json_of(dir.path(), &url, &["migrate", "--status", "--json"]).await;
    let migrations = status["migrations"].as_array().unwrap();
    assert!(migrations.len() >= 6);
    assert!(migrations.iter().all(|m| m["applied_at"].is_null()));
    let text = ok(dir.path(), &url, &["migrate", "--status"]).await;
    assert!(
        text.contains(&format!("{} migration(s) pending", migrations.len())),
        "{text}"
    );

    ok(dir.path(), &url, &["migrate"]).await;
    let status = json_of(dir.path(), &url, &["migrate", "--status", "--json"]).await;
    assert!(
        status["migrations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["applied_at"].is_string())
    );
    assert_eq!(status["unknown_applied"], json!([]));
    let text = ok(dir.path(), &url, &["migrate", "--status"]).await;
    assert!(text.contains("The database is up to date"), "{text}");
    let initial = text
        .lines()
        .find(|line| line.starts_with("m20261122_000001_initial "))
        .unwrap();
    assert!(initial.contains(" applied "), "{text}");
}

#[tokio::test]
async fn a_backup_taken_while_serving_restores_the_same_users() {
    let dir = tempfile::tempdir().unwrap();
    let test_db = TestDatabase::new().await;
    let url = test_db.url().to_owned();
    let token = cli_tenant_with_token(dir.path(), &url, "acme").await;
    let node = Node::start(dir.path(), &url).await;
    let scim = Scim::new(&node, &token);
    let ada = scim.create("ada@acme.test").await;
    scim.create("grace@acme.test").await;
    scim.create("hedy@acme.test").await;
    let before = scim.user_names().await;
    let backup = dir.path().join("backups/roster.db");
    let backup = backup.to_str().unwrap();

    if test_db.backend() == roster_core::Backend::Postgres {
        return postgres_backup(dir.path(), &url, node, &scim, before).await;
    }

    // Taken while the node serves (and writes).
    let out = ok(dir.path(), &url, &["backup", backup]).await;
    assert!(out.contains("1 tenant(s), 3 user(s)"), "{out}");
    assert!(
        out.contains("secret key"),
        "it says which key the backup needs: {out}"
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(backup).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "a backup is owner-only");
    }
    let stderr = refused(dir.path(), &url, &["backup", backup]).await;
    assert!(stderr.contains("already exists"), "{stderr}");

    // Life goes on after the backup.
    let client = roster_testkit::http_client();
    let deleted = client
        .delete(format!("{}/Users/{ada}", scim.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    scim.create("mallory@acme.test").await;
    assert_ne!(scim.user_names().await, before);

    // Not while the node has the database open.
    let stderr = refused(dir.path(), &url, &["restore", backup]).await;
    assert!(stderr.contains("is in use"), "{stderr}");
    node.stop().await;

    let stderr = refused(dir.path(), &url, &["restore", "/etc/hostname"]).await;
    assert!(stderr.contains("is not a Roster backup"), "{stderr}");
    let restored = json_of(dir.path(), &url, &["restore", backup, "--json"]).await;
    assert_eq!(restored["users"], 3);
    let kept = restored["previous"].as_str().unwrap();
    assert!(
        Path::new(kept).exists(),
        "the replaced database is kept: {kept}"
    );

    let node = Node::start(dir.path(), &url).await;
    let scim = Scim::new(&node, &token);
    assert_eq!(scim.user_names().await, before, "the users of the backup");
    node.stop().await;
}

/// PostgreSQL: `backup` prints the pg_dump command, and that command and the restore it
/// prints bring the same users back.
async fn postgres_backup(dir: &Path, url: &str, node: Node, scim: &Scim, before: Vec<String>) {
    let file = dir.join("roster.dump");
    let file = file.to_str().unwrap();
    let printed = json_of(dir, url, &["backup", file, "--json"]).await;
    assert_eq!(printed["backed_up"], false);
    let dump = printed["command"].as_str().unwrap();
    assert!(dump.contains("pg_dump --format=custom --schema="), "{dump}");
    let text = ok(dir, url, &["backup", file]).await;
    assert!(text.contains(dump), "{text}");
    assert!(!text.contains("s3cret"), "{text}");
    let stderr = refused(dir, url, &["restore", file]).await;
    assert!(stderr.contains("pg_restore"), "{stderr}");

    // The test database's URL spells spaces `+` in its query, which sqlx reads and libpq
    // does not; an operator's URL (`%20`) is the same to both.
    let libpq_url = url.replace('+', "%20");
    let shell = |command: &str| {
        let output = std::process::Command::new("sh")
            .args(["-c", command])
            .env("ROSTER_DATABASE_URL", &libpq_url)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{command}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let have = |tool: &str| {
        std::process::Command::new(tool)
            .arg("--version")
            .output()
            .is_ok()
    };
    if !have("pg_dump") || !have("psql") {
        eprintln!("pg_dump or psql is not installed: the printed commands were not run");
        node.stop().await;
        return;
    }
    shell(dump);
    node.stop().await;
    // The schema goes; pg_restore brings it back.
    let schema = dump
        .split("--schema=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let base = url.split('?').next().unwrap();
    let drop = format!("psql '{base}' -q -c 'DROP SCHEMA {schema} CASCADE'");
    shell(&drop);
    shell(printed["restore_command"].as_str().unwrap());
    let node = Node::start(dir, url).await;
    let scim = Scim {
        base: format!("http://127.0.0.1:{}/scim/v2/acme", node.port),
        token: scim.token.clone(),
        client: scim.client.clone(),
    };
    assert_eq!(scim.user_names().await, before);
    node.stop().await;
}
