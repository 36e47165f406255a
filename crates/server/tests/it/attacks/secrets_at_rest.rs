//! Item 13: a local user who can read the data folder, or anyone holding a copy of the
//! database (a backup, a replica, a dump), used to read every webhook signing secret in
//! clear and so forge events to every tenant's product. Now the folder and files are
//! owner-only and the secrets are sealed with a key that is not in the database.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use roster_core::delivery::signing::signature;
use roster_core::delivery::webhooks::EndpointForm;
use roster_core::delivery::{DeliverySettings, EgressPolicy};
use roster_core::secrets::{self, Keyring, SecretKey};
use roster_core::{CoreConfig, Services};
use roster_entity::webhook_endpoint;
use roster_testkit::{LOCAL_RECEIVERS, Received, Receiver, TEST_SECRET_KEY, TestApp, TestDatabase};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use secrecy::ExposeSecret;

use crate::binary::{Node, cli_tenant_with_token, roster};
use crate::rules::support::access;
use crate::scim::support::{Scim, okta_user};

const WAIT: Duration = Duration::from_secs(30);

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|err| panic!("{}: {err}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// The `v1=` signatures of a request, checked against `secrets` in order.
fn assert_signed_with(request: &Received, secrets: &[&str]) {
    let header = request.header("roster-signature").unwrap();
    let mut parts = header.split(',');
    let timestamp: i64 = parts.next().unwrap()[2..].parse().unwrap();
    let given: Vec<&str> = parts.map(|p| p.strip_prefix("v1=").unwrap()).collect();
    let expected: Vec<String> = secrets
        .iter()
        .map(|secret| signature(secret, timestamp, request.body.as_bytes()))
        .collect();
    assert_eq!(given, expected, "{header}");
}

async fn endpoint_rows(db: &roster_core::Database) -> Vec<webhook_endpoint::Model> {
    webhook_endpoint::Entity::find()
        .all(db.reader())
        .await
        .unwrap()
}

/// Runs `roster <args>` expecting failure; returns its one-sentence stderr.
async fn failing(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut command = roster(dir);
    command.args(args);
    for (key, value) in env {
        command.env(key, value);
    }
    let output = tokio::time::timeout(WAIT, command.output())
        .await
        .expect("the command stops by itself")
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "one sentence: {stderr}");
    errors[0].to_owned()
}

/// Runs `roster <args>` expecting success; returns its stdout.
async fn succeeding(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut command = roster(dir);
    command.args(args);
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().await.unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn the_data_folder_database_files_and_key_are_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    // The test process's umask lets others read what it creates: the node must not.
    let probe = dir.path().join("probe");
    std::fs::write(&probe, b"").unwrap();
    assert_ne!(
        mode(&probe) & 0o044,
        0,
        "this test needs a permissive umask"
    );

    // No key set: a SQLite node generates one beside its database.
    let no_key = [("ROSTER_SECRET_KEY", "")];
    let node = Node::start_with(dir.path(), "sqlite://./data/roster.db", &no_key).await;
    let data = dir.path().join("data");
    assert_eq!(mode(&data), 0o700, "data/");
    for file in ["roster.db", "roster.db-wal", "roster.db-shm", "secret.key"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    let (stdout, stderr) = node.stop().await;
    assert!(stderr.contains("generated the secret key"), "{stderr}");
    let key = std::fs::read_to_string(data.join("secret.key")).unwrap();
    let key = SecretKey::parse(&key).unwrap();
    assert!(!stdout.contains(key.encode().expose_secret()));
    assert!(
        !stderr.contains(key.encode().expose_secret()),
        "the key is never logged"
    );

    // Files found readable by others (an old version, a careless copy) are tightened,
    // with a warning; the key stays the same.
    for file in ["roster.db", "secret.key"] {
        std::fs::set_permissions(data.join(file), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let node = Node::start_with(dir.path(), "sqlite://./data/roster.db", &no_key).await;
    for file in ["roster.db", "roster.db-wal", "roster.db-shm", "secret.key"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file} after a restart");
    }
    let (_, stderr) = node.stop().await;
    assert!(
        stderr.contains("the database file was readable by other users"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the secret key file was readable by other users"),
        "{stderr}"
    );
    assert!(!stderr.contains("generated the secret key"), "{stderr}");
    let again = std::fs::read_to_string(data.join("secret.key")).unwrap();
    assert_eq!(SecretKey::parse(&again).unwrap().id(), key.id());
}

#[tokio::test]
async fn the_stored_signing_secret_is_sealed_and_still_signs() {
    let app = TestApp::builder()
        .allow_local_receivers()
        .delivery(DeliverySettings {
            poll_interval: Duration::from_millis(20),
            ..DeliverySettings::default()
        })
        .spawn()
        .await;
    let scim = Scim::on(Arc::new(app), "acme").await;
    let app = scim.app.clone();
    let (_, scope) = access(&app, "acme").await;
    let receiver = Receiver::start().await;
    let webhooks = app.services.webhooks();
    let form = EndpointForm::parse(&receiver.url, "", &["user.created".into()], true).unwrap();
    let (endpoint, secret) = webhooks.create(&scope, form).await.unwrap();
    let secret = secret.expose_secret().to_owned();

    // What a copy of the database shows: no secret.
    let rows = endpoint_rows(app.services.db()).await;
    let stored = &rows[0].secret;
    let key_id = roster_testkit::test_keyring().current_id().to_owned();
    assert!(stored.starts_with(&format!("v1.{key_id}.")), "{stored}");
    assert!(
        !stored.contains(&secret) && !stored.contains(&secret[6..]),
        "{stored}"
    );
    assert!(
        endpoint.secret_hint.starts_with(&secret[..10]),
        "the page's hint still works"
    );

    // The receiver verifies the signature with the secret it was given.
    scim.create_user("ada@acme.test").await;
    let got = receiver.wait_for(1, WAIT).await;
    assert_signed_with(&got[0], &[&secret]);

    // A rotation seals both: the new secret and the previous one, which keeps signing.
    let (_, rotated) = webhooks.rotate_secret(&scope, endpoint.id).await.unwrap();
    let rotated = rotated.expose_secret().to_owned();
    let row = endpoint_rows(app.services.db()).await.remove(0);
    for value in [&row.secret, row.previous_secret.as_ref().unwrap()] {
        assert!(value.starts_with("v1."), "{value}");
        assert!(!value.contains(&secret[6..]) && !value.contains(&rotated[6..]));
    }
    scim.create_user("bob@acme.test").await;
    let got = receiver.wait_for(2, WAIT).await;
    assert_signed_with(&got[1], &[&rotated, &secret]);

    // A sealed value copied into another endpoint's row (write access to the database,
    // no key) does not sign there: nothing is sent unsigned.
    let form = EndpointForm::parse(&receiver.url, "", &["group.created".into()], true).unwrap();
    let (other, _) = webhooks.create(&scope, form).await.unwrap();
    webhook_endpoint::ActiveModel {
        id: Set(other.id.0),
        secret: Set(row.secret.clone()),
        ..Default::default()
    }
    .update(app.services.db().writer())
    .await
    .unwrap();
    let outcome = webhooks.send_test(&scope, other.id).await.unwrap();
    assert_eq!(outcome.status_code, None);
    assert!(outcome.error.unwrap().contains("cannot sign"));
    assert_eq!(
        webhooks.find(&scope, other.id).await.unwrap().secret_hint,
        "(cannot be decrypted)"
    );
    assert_eq!(receiver.received().len(), 2);

    // A secret in clear, as a node of the previous version writes it during a rolling
    // upgrade, is used as it is (the next start seals it).
    webhook_endpoint::ActiveModel {
        id: Set(other.id.0),
        secret: Set("whsec_written_by_an_older_node".into()),
        ..Default::default()
    }
    .update(app.services.db().writer())
    .await
    .unwrap();
    let outcome = webhooks.send_test(&scope, other.id).await.unwrap();
    assert_eq!((outcome.status_code, outcome.error), (Some(200), None));
    let got = receiver.wait_for(3, WAIT).await;
    assert_signed_with(&got[2], &["whsec_written_by_an_older_node"]);
}

/// The services of a test on `db` with `keyring`, allowed to reach the test receivers.
fn services(db: roster_core::Database, keyring: Keyring) -> Services {
    Services::new(
        db,
        CoreConfig {
            egress: EgressPolicy::parse(LOCAL_RECEIVERS).unwrap(),
            ..CoreConfig::new("http://127.0.0.1", keyring)
        },
    )
}

const FAST: [(&str, &str); 3] = [
    ("ROSTER_WEBHOOK_POLL_INTERVAL_MS", "20"),
    ("ROSTER_WEBHOOK_ALLOWED_NETWORKS", LOCAL_RECEIVERS),
    ("ROSTER_WEBHOOK_RETRY_BASE_MS", "100"),
];

async fn create_user_on(node: &Node, token: &str, user_name: &str) {
    let response = roster_testkit::http_client()
        .post(format!("http://127.0.0.1:{}/scim/v2/acme/Users", node.port))
        .bearer_auth(token)
        .header("Content-Type", "application/scim+json")
        .body(okta_user(user_name).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn plaintext_secrets_of_an_earlier_version_are_sealed_at_startup() {
    let dir = tempfile::tempdir().unwrap();
    let test_db = TestDatabase::new().await;
    let url = test_db.url().to_owned();
    let token = cli_tenant_with_token(dir.path(), &url, "acme").await;
    let db = test_db.connect().await;
    let services = services(db.clone(), roster_testkit::test_keyring());
    let (_, scope) = access_on(&services, "acme").await;
    let receiver = Receiver::start().await;
    let form = EndpointForm::parse(&receiver.url, "", &["user.created".into()], true).unwrap();
    let (endpoint, _) = services.webhooks().create(&scope, form).await.unwrap();

    // As an earlier version stored them: in clear, with a rotation's overlap running.
    let (current, previous) = ("whsec_current_from_before", "whsec_previous_from_before");
    webhook_endpoint::ActiveModel {
        id: Set(endpoint.id.0),
        secret: Set(current.into()),
        previous_secret: Set(Some(previous.into())),
        previous_secret_expires_at: Set(Some(i64::MAX)),
        ..Default::default()
    }
    .update(db.writer())
    .await
    .unwrap();

    let node = Node::start_with(dir.path(), &url, &FAST).await;
    let row = endpoint_rows(&db).await.remove(0);
    let keyring = roster_testkit::test_keyring();
    let context = {
        let mut context = b"roster:webhook_endpoints:".to_vec();
        context.extend_from_slice(endpoint.id.0.as_bytes());
        context
    };
    assert!(keyring.is_current(&row.secret), "{}", row.secret);
    let sealed_previous = row.previous_secret.unwrap();
    assert!(keyring.is_current(&sealed_previous), "{sealed_previous}");
    assert_eq!(
        keyring.open(&row.secret, &context).unwrap().expose_secret(),
        current
    );
    assert_eq!(
        keyring
            .open(&sealed_previous, &context)
            .unwrap()
            .expose_secret(),
        previous
    );

    create_user_on(&node, &token, "ada@acme.test").await;
    let got = receiver.wait_for(1, WAIT).await;
    assert_signed_with(&got[0], &[current, previous]);
    let (stdout, stderr) = node.stop().await;
    assert!(
        stderr.contains("encrypted webhook signing secrets stored in clear"),
        "{stderr}"
    );
    for secret in [current, previous] {
        assert!(!stdout.contains(secret) && !stderr.contains(secret));
    }
    db.close().await;
}

async fn access_on(
    services: &Services,
    slug: &str,
) -> (
    roster_core::admins::Admin,
    roster_core::memberships::TenantAccess,
) {
    let operator = services
        .admins()
        .create(
            roster_core::admins::AdminEmail::parse("op@roster.test").unwrap(),
            roster_core::admins::NewPassword::parse(secrecy::SecretString::from(
                "a long operator password",
            ))
            .unwrap(),
            roster_core::admins::Role::Operator,
            false,
        )
        .await
        .unwrap();
    let scope = services
        .memberships()
        .access(&operator, slug)
        .await
        .unwrap()
        .unwrap();
    (operator, scope)
}

#[tokio::test]
async fn the_key_is_rotated_with_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let test_db = TestDatabase::new().await;
    let url = test_db.url().to_owned();
    let token = cli_tenant_with_token(dir.path(), &url, "acme").await;
    let receiver = Receiver::start().await;
    let old_key = TEST_SECRET_KEY;
    let new_key = SecretKey::generate();
    let new_key_file = dir.path().join("new.key");
    std::fs::write(&new_key_file, new_key.encode().expose_secret()).unwrap();
    std::fs::set_permissions(&new_key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let new_key_file = new_key_file.to_str().unwrap();
    let database = [("ROSTER_DATABASE_URL", url.as_str())];

    // An endpoint made with the command line under the old key, then rotated once, so
    // that both columns hold a sealed secret.
    let stdout = succeeding(
        dir.path(),
        &[
            "webhook",
            "create",
            "--tenant",
            "acme",
            "--url",
            &receiver.url,
            "--events",
            "user.created",
        ],
        &[
            database[0],
            ("ROSTER_WEBHOOK_ALLOWED_NETWORKS", LOCAL_RECEIVERS),
        ],
    )
    .await;
    let first = stdout.lines().next().unwrap().to_owned();
    assert!(first.starts_with("whsec_"), "{stdout}");
    let db = test_db.connect().await;
    let old_services = services(db.clone(), roster_testkit::test_keyring());
    let (_, scope) = access_on(&old_services, "acme").await;
    let id = old_services.webhooks().list(&scope).await.unwrap()[0].id;
    let (_, second) = old_services
        .webhooks()
        .rotate_secret(&scope, id)
        .await
        .unwrap();
    let second = second.expose_secret().to_owned();

    // The new key as ROSTER_SECRET_KEY (from a file), the old one as previous.
    let rotating = [
        database[0],
        ("ROSTER_SECRET_KEY", ""),
        ("ROSTER_SECRET_KEY_FILE", new_key_file),
        ("ROSTER_SECRET_KEY_PREVIOUS", old_key),
    ];
    let stdout = succeeding(dir.path(), &["secrets", "rotate"], &rotating).await;
    assert!(
        stdout.contains(&format!(
            "Re-encrypted 2 webhook signing secret(s) with key {}",
            new_key.id()
        )),
        "{stdout}"
    );
    let row = endpoint_rows(&db).await.remove(0);
    for value in [&row.secret, row.previous_secret.as_ref().unwrap()] {
        assert_eq!(secrets::key_id(value), Some(new_key.id()), "{value}");
    }
    let stdout = succeeding(dir.path(), &["secrets", "rotate"], &rotating).await;
    assert!(stdout.contains("Re-encrypted 0"), "{stdout}");

    // The old key alone no longer opens them: the node refuses to start, naming the key.
    let error = failing(
        dir.path(),
        &["serve"],
        &[database[0], ("ROSTER_LISTEN", "127.0.0.1:0")],
    )
    .await;
    assert!(error.contains(new_key.id()), "{error}");
    assert!(error.contains("ROSTER_SECRET_KEY"), "{error}");

    // The new key alone does, and both secrets still sign.
    let mut env = vec![
        ("ROSTER_SECRET_KEY", ""),
        ("ROSTER_SECRET_KEY_FILE", new_key_file),
    ];
    env.extend(FAST);
    let node = Node::start_with(dir.path(), &url, &env).await;
    create_user_on(&node, &token, "ada@acme.test").await;
    let got = receiver.wait_for(1, WAIT).await;
    assert_signed_with(&got[0], &[&second, &first]);
    let (stdout, stderr) = node.stop().await;
    for secret in [new_key.encode().expose_secret(), &first, &second] {
        assert!(!stdout.contains(secret) && !stderr.contains(secret));
    }

    // A lost key: nothing opens the secrets. The rotation says so and changes nothing;
    // with --replace-undecryptable it replaces them and names the endpoint.
    let lost = SecretKey::generate();
    let lost = lost.encode();
    let with_lost = [database[0], ("ROSTER_SECRET_KEY", lost.expose_secret())];
    let error = failing(dir.path(), &["secrets", "rotate"], &with_lost).await;
    assert!(
        error.contains("2 webhook signing secret(s) do not decrypt"),
        "{error}"
    );
    assert!(error.contains("--replace-undecryptable"), "{error}");
    assert_eq!(endpoint_rows(&db).await.remove(0), row, "nothing changed");
    let stdout = succeeding(
        dir.path(),
        &["secrets", "rotate", "--replace-undecryptable"],
        &with_lost,
    )
    .await;
    assert!(stdout.contains("Replaced 2 secret(s)"), "{stdout}");
    assert!(stdout.contains(&id.0.to_string()), "{stdout}");
    let replaced = endpoint_rows(&db).await.remove(0);
    assert!(replaced.previous_secret.is_none());
    let node = Node::start_with(dir.path(), &url, &with_lost).await;
    node.stop().await;
    db.close().await;
}

#[tokio::test]
async fn postgresql_without_a_key_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let test_db = TestDatabase::new().await;
    // Without PostgreSQL in this run, an address where none listens: the key is checked
    // before the database is opened, so the answer is the same.
    let url = match test_db.backend() {
        roster_core::Backend::Postgres => test_db.url().to_owned(),
        roster_core::Backend::Sqlite => "postgres://roster@127.0.0.1:1/roster".to_owned(),
    };
    for command in [
        &["serve"][..],
        &["tenant", "create", "--slug", "a", "--name", "A"],
    ] {
        let error = failing(
            dir.path(),
            command,
            &[("ROSTER_DATABASE_URL", &url), ("ROSTER_SECRET_KEY", "")],
        )
        .await;
        assert!(
            error.starts_with(
                "error: ROSTER_SECRET_KEY (or ROSTER_SECRET_KEY_FILE) must be set for a PostgreSQL database"
            ),
            "{error}"
        );
    }
    if test_db.backend() == roster_core::Backend::Postgres {
        let db = test_db.connect().await;
        assert!(
            db.pending_migrations().await.unwrap() > 0,
            "nothing was written to the database"
        );
        db.close().await;
    }

    // A key that is not one, or two ways of giving it: one sentence each.
    for (env, expected) in [
        (
            vec![("ROSTER_SECRET_KEY", "hunter2")],
            "ROSTER_SECRET_KEY must be 32 random bytes in base64",
        ),
        (
            vec![("ROSTER_SECRET_KEY_FILE", "/nonexistent/roster.key")],
            "set ROSTER_SECRET_KEY or ROSTER_SECRET_KEY_FILE, not both",
        ),
        (
            vec![
                ("ROSTER_SECRET_KEY", ""),
                ("ROSTER_SECRET_KEY_FILE", "/nonexistent/roster.key"),
            ],
            "ROSTER_SECRET_KEY_FILE: cannot read the secret key file /nonexistent/roster.key",
        ),
    ] {
        let mut env = env;
        env.push(("ROSTER_DATABASE_URL", &url));
        let error = failing(dir.path(), &["serve"], &env).await;
        assert!(error.contains(expected), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
    }
}
