//! `roster admin …` run as a process, as an operator recovering access would: list
//! (text and JSON), reset-password, unlock, remove — on the database under test.

use std::process::Stdio;

use roster_core::Services;
use roster_core::sessions::{LoginOutcome, SessionPolicy, SignIn};
use roster_core::throttle::{ClientAddress, PER_ACCOUNT_AND_ADDRESS};
use roster_testkit::TestDatabase;
use secrecy::SecretString;
use tokio::io::AsyncWriteExt;

use crate::binary::roster;

struct Cli {
    dir: tempfile::TempDir,
    url: String,
}

struct Output {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Cli {
    /// The command line on the database under test, with the tenant `acme` created.
    async fn with_acme(test_db: &TestDatabase) -> Self {
        let cli = Cli {
            dir: tempfile::tempdir().unwrap(),
            url: test_db.url().to_owned(),
        };
        assert!(
            cli.run(&["tenant", "create", "--slug", "acme", "--name", "Acme"])
                .await
                .ok
        );
        cli
    }

    async fn run(&self, args: &[&str]) -> Output {
        self.run_with_stdin(args, None).await
    }

    async fn run_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut command = roster(self.dir.path());
        command.env("ROSTER_DATABASE_URL", &self.url).args(args);
        if stdin.is_some() {
            command.stdin(Stdio::piped());
        }
        let mut child = command.spawn().unwrap();
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().unwrap();
            pipe.write_all(input.as_bytes()).await.unwrap();
        }
        let output = child.wait_with_output().await.unwrap();
        Output {
            ok: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

fn policy() -> SessionPolicy {
    SessionPolicy {
        ttl: std::time::Duration::from_secs(3600),
        idle_timeout: std::time::Duration::from_secs(3600),
    }
}

async fn sign_in(
    services: &Services,
    organization: &str,
    email: &str,
    password: &str,
) -> LoginOutcome {
    services
        .sessions()
        .login(
            SignIn {
                organization,
                email,
                password: SecretString::from(password.to_owned()),
                client: ClientAddress::new("198.51.100.7".parse().unwrap()),
                device: None,
                previous_session: None,
            },
            policy(),
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn accounts_are_listed_reset_unlocked_and_removed_from_the_command_line() {
    let test_db = TestDatabase::new().await;
    let cli = Cli::with_acme(&test_db).await;
    let created = cli
        .run_with_stdin(
            &["admin", "create", "--email", "Op@Roster.test", "--operator"],
            Some("operator password 1\n"),
        )
        .await;
    assert!(created.ok, "{}", created.stderr);
    let created = cli
        .run_with_stdin(
            &[
                "admin",
                "create",
                "--email",
                "it@acme.test",
                "--tenant",
                "acme",
            ],
            Some("tenant admin password\n"),
        )
        .await;
    assert!(created.ok, "{}", created.stderr);
    let unknown = cli
        .run_with_stdin(
            &[
                "admin",
                "create",
                "--email",
                "x@acme.test",
                "--tenant",
                "nope",
            ],
            Some("tenant admin password\n"),
        )
        .await;
    assert!(!unknown.ok && unknown.stderr.contains("no tenant with the slug \"nope\""));

    // list: a table, and JSON for scripts.
    let listed = cli.run(&["admin", "list"]).await;
    assert!(listed.ok, "{}", listed.stderr);
    assert!(
        listed.stdout.starts_with("ORGANIZATION"),
        "{}",
        listed.stdout
    );
    let operator_line = listed
        .stdout
        .lines()
        .find(|l| l.contains("Op@Roster.test"))
        .unwrap();
    assert!(operator_line.contains("operator") && operator_line.contains("never"));
    let tenant_line = listed
        .stdout
        .lines()
        .find(|l| l.contains("it@acme.test"))
        .unwrap();
    assert!(tenant_line.starts_with("acme") && tenant_line.contains("tenant admin"));
    let json = cli.run(&["admin", "list", "--json"]).await;
    let accounts: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let accounts = accounts.as_array().unwrap();
    assert_eq!(accounts.len(), 2);
    assert_eq!(accounts[0]["role"], "operator");
    assert_eq!(accounts[0]["organization"], serde_json::Value::Null);
    assert_eq!(accounts[1]["organization"], "acme");
    assert_eq!(accounts[1]["status"], "active");
    let only_acme = cli
        .run(&["admin", "list", "--tenant", "acme", "--json"])
        .await;
    let only_acme: serde_json::Value = serde_json::from_str(&only_acme.stdout).unwrap();
    assert_eq!(only_acme.as_array().unwrap().len(), 1);

    // unlock: a locked account signs in again at once.
    let services = Services::new(
        test_db.connect().await,
        roster_core::CoreConfig::new("http://127.0.0.1", roster_testkit::test_keyring()),
    );
    for n in 0..PER_ACCOUNT_AND_ADDRESS.attempts {
        sign_in(&services, "acme", "it@acme.test", &format!("wrong {n}")).await;
    }
    assert!(matches!(
        sign_in(&services, "acme", "it@acme.test", "tenant admin password").await,
        LoginOutcome::LockedOut { .. }
    ));
    let unlocked = cli
        .run(&[
            "admin",
            "unlock",
            "--email",
            "it@acme.test",
            "--tenant",
            "acme",
        ])
        .await;
    assert!(unlocked.ok, "{}", unlocked.stderr);
    assert!(
        unlocked.stdout.contains("Cleared the sign-in locks"),
        "{}",
        unlocked.stdout
    );
    assert!(matches!(
        sign_in(&services, "acme", "it@acme.test", "tenant admin password").await,
        LoginOutcome::SignedIn { .. }
    ));
    let by_address = cli
        .run(&["admin", "unlock", "--address", "198.51.100.7"])
        .await;
    assert!(by_address.ok && by_address.stdout.contains("198.51.100.7"));
    assert!(
        !cli.run(&["admin", "unlock"]).await.ok,
        "say what to unlock"
    );

    // reset-password: a one-time password, printed once, valid for 24 hours.
    let reset = cli
        .run(&[
            "admin",
            "reset-password",
            "--email",
            "it@acme.test",
            "--tenant",
            "acme",
        ])
        .await;
    assert!(reset.ok, "{}", reset.stderr);
    let password = reset
        .stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix("one-time password:"))
        .unwrap()
        .trim()
        .to_owned();
    assert!(reset.stdout.contains("valid until:"));
    assert!(!reset.stderr.contains(&password), "never in the logs");
    assert!(matches!(
        sign_in(&services, "acme", "it@acme.test", "tenant admin password").await,
        LoginOutcome::Rejected
    ));
    match sign_in(&services, "acme", "it@acme.test", &password).await {
        LoginOutcome::SignedIn { admin, .. } => assert!(admin.must_change_password),
        other => panic!("{other:?}"),
    }
    let json = cli
        .run(&["admin", "list", "--tenant", "acme", "--json"])
        .await;
    let listed: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(listed[0]["status"], "one-time password");
    assert!(listed[0]["one_time_password_expires_at"].is_string());
    let nobody = cli
        .run(&["admin", "reset-password", "--email", "it@acme.test"])
        .await;
    assert!(!nobody.ok);
    assert!(
        nobody
            .stderr
            .contains("no operator with the email it@acme.test"),
        "{}",
        nobody.stderr
    );
    let operator = cli
        .run(&["admin", "reset-password", "--email", "op@roster.test"])
        .await;
    assert!(operator.ok && operator.stdout.contains("(empty: an operator)"));

    // remove: the account goes; the last operator stays.
    let removed = cli
        .run(&[
            "admin",
            "remove",
            "--email",
            "it@acme.test",
            "--tenant",
            "acme",
        ])
        .await;
    assert!(removed.ok, "{}", removed.stderr);
    assert!(matches!(
        sign_in(&services, "acme", "it@acme.test", &password).await,
        LoginOutcome::Rejected
    ));
    let last = cli
        .run(&["admin", "remove", "--email", "op@roster.test"])
        .await;
    assert!(
        !last.ok && last.stderr.contains("last operator"),
        "{}",
        last.stderr
    );
    let listed = cli.run(&["admin", "list", "--json"]).await;
    let listed: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    services.db().clone().close().await;
}

/// A sign-in whose password is being checked while another node removes its account, or
/// gives it a new password, is refused — not an internal error (the session's foreign key),
/// not a session for a password the account no longer has. The check is held in the
/// hashing queue behind other hashes so that the change lands between the sign-in's read
/// of the account and its write; in the other order it is refused all the same.
#[tokio::test]
async fn a_sign_in_racing_the_removal_or_a_new_password_of_its_account_is_refused() {
    use roster_core::hashing::HashingSettings;
    use roster_entity::{admin, admin_session};
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

    let test_db = TestDatabase::new().await;
    let cli = Cli::with_acme(&test_db).await;
    for email in ["gone@acme.test", "moved@acme.test"] {
        let created = cli
            .run_with_stdin(
                &["admin", "create", "--email", email, "--tenant", "acme"],
                Some("tenant admin password\n"),
            )
            .await;
        assert!(created.ok, "{}", created.stderr);
    }
    let mut config =
        roster_core::CoreConfig::new("http://127.0.0.1", roster_testkit::test_keyring());
    config.hashing = HashingSettings {
        threads: 1,
        queue: 16,
    };
    let db = test_db.connect().await;
    let services = Services::new(db.clone(), config);
    let new_hash = roster_core::hashing::hash_password_blocking("another password").unwrap();

    for (email, change) in [
        ("gone@acme.test", "removed"),
        ("moved@acme.test", "new password"),
    ] {
        // Hashes ahead of the sign-in's check in the one hashing thread.
        let ahead: Vec<_> = (0..6)
            .map(|n| {
                let hasher = services.hasher().clone();
                tokio::spawn(async move {
                    hasher
                        .hash_password(SecretString::from(format!("ahead {n}")))
                        .await
                })
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        let signing_in = {
            let services = services.clone();
            tokio::spawn(async move {
                services
                    .sessions()
                    .login(
                        SignIn {
                            organization: "acme",
                            email,
                            password: SecretString::from("tenant admin password".to_owned()),
                            client: ClientAddress::new("198.51.100.8".parse().unwrap()),
                            device: None,
                            previous_session: None,
                        },
                        policy(),
                    )
                    .await
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(40)).await;
        let account = admin::Entity::find()
            .filter(admin::Column::EmailLower.eq(email))
            .one(db.reader())
            .await
            .unwrap()
            .unwrap();
        if change == "removed" {
            admin::Entity::delete_by_id(account.id)
                .exec(db.writer())
                .await
                .unwrap();
        } else {
            admin::Entity::update_many()
                .col_expr(
                    admin::Column::PasswordHash,
                    sea_orm::sea_query::Expr::value(new_hash.clone()),
                )
                .filter(admin::Column::Id.eq(account.id))
                .exec(db.writer())
                .await
                .unwrap();
        }
        let outcome = signing_in.await.unwrap();
        assert!(
            matches!(outcome, Ok(LoginOutcome::Rejected)),
            "{change}: {outcome:?}"
        );
        for hash in ahead {
            hash.await.unwrap().unwrap();
        }
        let sessions = admin_session::Entity::find()
            .filter(admin_session::Column::AdminId.eq(account.id))
            .count(db.reader())
            .await
            .unwrap();
        assert_eq!(sessions, 0, "{change}: no session");
    }
    // The new password signs in.
    assert!(matches!(
        sign_in(&services, "acme", "moved@acme.test", "another password").await,
        LoginOutcome::SignedIn { .. }
    ));
}

/// Two operators removed at once — each by the other, say — leave one: the count that
/// keeps the last operator is taken in the removal's own transaction, under a lock.
#[tokio::test]
async fn two_operators_removed_at_once_leave_one() {
    use roster_core::admins::{AccountScope, AdminEmail};
    use roster_entity::admin;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

    let test_db = TestDatabase::new().await;
    let cli = Cli {
        dir: tempfile::tempdir().unwrap(),
        url: test_db.url().to_owned(),
    };
    for email in ["one@roster.test", "two@roster.test"] {
        let created = cli
            .run_with_stdin(
                &["admin", "create", "--email", email, "--operator"],
                Some("operator password 1\n"),
            )
            .await;
        assert!(created.ok, "{}", created.stderr);
    }
    let db = test_db.connect().await;
    let operators = || async {
        admin::Entity::find()
            .filter(admin::Column::IsOperator.eq(true))
            .count(db.reader())
            .await
            .unwrap()
    };
    // The bootstrap operator, if the command line made one, goes first.
    let before = operators().await;
    let services = Services::new(
        db.clone(),
        roster_core::CoreConfig::new("http://127.0.0.1", roster_testkit::test_keyring()),
    );
    let others: Vec<String> = admin::Entity::find()
        .filter(admin::Column::IsOperator.eq(true))
        .all(db.reader())
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.email_lower)
        .filter(|email| !["one@roster.test", "two@roster.test"].contains(&email.as_str()))
        .collect();
    for email in &others {
        services
            .admins()
            .remove(&AccountScope::Operators, &AdminEmail::parse(email).unwrap())
            .await
            .unwrap();
    }
    assert_eq!(operators().await, before - others.len() as u64);
    assert_eq!(operators().await, 2);

    let one = AdminEmail::parse("one@roster.test").unwrap();
    let two = AdminEmail::parse("two@roster.test").unwrap();
    let admins = services.admins();
    let (first, second) = tokio::join!(
        admins.remove(&AccountScope::Operators, &one),
        admins.remove(&AccountScope::Operators, &two),
    );
    let refused = [&first, &second]
        .iter()
        .filter(|result| {
            result
                .as_ref()
                .is_err_and(|err| err.to_string().contains("last operator"))
        })
        .count();
    assert!(
        first.is_ok() != second.is_ok() && refused == 1,
        "{first:?} {second:?}"
    );
    assert_eq!(operators().await, 1, "one operator stays");
}
