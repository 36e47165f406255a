//! The `roster` binary as an operator runs it: first start, subcommands, configuration
//! errors, graceful shutdown.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use roster_core::Services;
use roster_core::admins::{AccountScope, AdminEmail};
use roster_core::hashing::verify_blocking as verify_secret_blocking;
use roster_testkit::TestDatabase;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub(crate) fn roster(dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_roster"));
    command
        .env_clear()
        // The key an operator provides; tests of the generated key remove it.
        .env("ROSTER_SECRET_KEY", roster_testkit::TEST_SECRET_KEY)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// A running node and what it has printed so far.
pub(crate) struct Node {
    child: Child,
    pub(crate) port: u16,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

/// Creates a tenant without a rate limit and a SCIM token through the `roster` command
/// line on `database_url`; returns the token.
pub(crate) async fn cli_tenant_with_token(
    dir: &std::path::Path,
    database_url: &str,
    slug: &str,
) -> String {
    let cli = |args: &[&str]| {
        let mut command = roster(dir);
        command.env("ROSTER_DATABASE_URL", database_url).args(args);
        command
    };
    let out = cli(&[
        "tenant",
        "create",
        "--slug",
        slug,
        "--name",
        slug,
        "--scim-rate-limit",
        "0",
    ])
    .output()
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli(&["token", "create", "--tenant", slug, "--label", "load"])
        .output()
        .await
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap()
        .to_owned()
}

impl Node {
    pub(crate) async fn start(dir: &std::path::Path, database_url: &str) -> Node {
        Self::start_with(dir, database_url, &[]).await
    }

    /// Starts a node with extra `ROSTER_*` settings.
    pub(crate) async fn start_with(
        dir: &std::path::Path,
        database_url: &str,
        env: &[(&str, &str)],
    ) -> Node {
        Self::start_within(dir, database_url, env, Duration::from_secs(60)).await
    }

    /// Starts a node that has work to do before it serves (indexing a large tenant),
    /// waiting up to `patience` for it.
    pub(crate) async fn start_within(
        dir: &std::path::Path,
        database_url: &str,
        env: &[(&str, &str)],
        patience: Duration,
    ) -> Node {
        let mut command = roster(dir);
        command
            .env("ROSTER_DATABASE_URL", database_url)
            .env("ROSTER_LISTEN", "127.0.0.1:0")
            .env("ROSTER_LOG_FORMAT", "json");
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().unwrap();
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (port_tx, mut port_rx) = tokio::sync::mpsc::channel::<u16>(1);
        let mut out_lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let out = stdout.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = out_lines.next_line().await {
                let mut out = out.lock().unwrap();
                out.push_str(&line);
                out.push('\n');
            }
        });
        let mut err_lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let err = stderr.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = err_lines.next_line().await {
                if let Ok(json) = serde_json::from_str::<serde_json::Value>(&line)
                    && json["message"] == "roster is serving"
                {
                    let _ = port_tx.send(json["port"].as_u64().unwrap() as u16).await;
                }
                let mut err = err.lock().unwrap();
                err.push_str(&line);
                err.push('\n');
            }
        });
        let port = tokio::time::timeout(patience, port_rx.recv())
            .await
            .unwrap_or_else(|_| panic!("the node did not start: {}", stderr.lock().unwrap()))
            .unwrap_or_else(|| panic!("the node exited: {}", stderr.lock().unwrap()));
        Node {
            child,
            port,
            stdout,
            stderr,
        }
    }

    /// The node's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id().unwrap()
    }

    /// SIGKILL: the process dies at once, mid-request, as in a crash.
    pub(crate) async fn kill(mut self) {
        let pid = self.child.id().unwrap();
        let status = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let _ = self.child.wait().await;
    }

    /// SIGTERM without waiting: the node begins its shutdown (see `stop`).
    pub(crate) fn terminate(&self) {
        let pid = self.child.id().unwrap();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// SIGTERM, then wait for a clean exit.
    pub(crate) async fn stop(mut self) -> (String, String) {
        let pid = self.child.id().unwrap();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("the node did not stop within 20 s of SIGTERM")
            .unwrap();
        assert!(exit.success(), "exit status {exit:?}");
        // Let the readers drain.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let stdout = self.stdout.lock().unwrap().clone();
        let stderr = self.stderr.lock().unwrap().clone();
        (stdout, stderr)
    }
}

fn one_time_password(stdout: &str) -> Option<String> {
    stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix("one-time password:"))
        .map(|rest| rest.trim().to_owned())
}

#[tokio::test]
async fn first_start_creates_the_operator_once_serves_and_stops_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let test_db = TestDatabase::new().await;

    let node = Node::start(dir.path(), test_db.url()).await;
    let client = roster_testkit::http_client();
    let ready = client
        .get(format!("http://127.0.0.1:{}/readyz", node.port))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);

    let health = roster(dir.path())
        .args(["healthcheck", "--addr", &format!("127.0.0.1:{}", node.port)])
        .status()
        .await
        .unwrap();
    assert!(health.success());

    let (stdout, stderr) = node.stop().await;
    let password = one_time_password(&stdout).expect("the one-time password is printed");
    assert!(stdout.contains("admin@localhost"));
    assert!(
        !stderr.contains(&password),
        "the password must not reach the logs"
    );
    assert!(stderr.contains("\"message\":\"stopped\""), "{stderr}");

    // The stored hash is argon2id and verifies the printed password.
    let services = Services::new(
        test_db.connect().await,
        roster_core::CoreConfig::new("http://127.0.0.1", roster_testkit::test_keyring()),
    );
    let hash = services
        .admins()
        .password_hash(
            &AccountScope::Operators,
            &AdminEmail::parse("admin@localhost").unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(hash.starts_with("$argon2id$"));
    assert!(verify_secret_blocking(&password, &hash));

    // Never again.
    let node = Node::start(dir.path(), test_db.url()).await;
    let (stdout, _) = node.stop().await;
    assert!(one_time_password(&stdout).is_none(), "{stdout}");
}

#[tokio::test]
async fn with_no_configuration_the_database_is_sqlite_under_data() {
    let dir = tempfile::tempdir().unwrap();
    let output = roster(dir.path()).arg("migrate").output().await.unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(dir.path().join("data/roster.db").exists());
}

async fn failing_start(dir: &std::path::Path, env: &[(&str, &str)]) -> String {
    let mut command = roster(dir);
    command.arg("migrate");
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().await.unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one sentence: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

#[tokio::test]
async fn configuration_errors_stop_startup_with_one_sentence() {
    let dir = tempfile::tempdir().unwrap();

    let stderr = failing_start(dir.path(), &[("ROSTER_DATABSE_URL", "sqlite://x.db")]).await;
    assert!(stderr.contains("databse_url"), "{stderr}");

    let toml = dir.path().join("roster.toml");
    std::fs::write(&toml, "listen = \"127.0.0.1:9999\"\nlisten_port = 3\n").unwrap();
    let stderr = failing_start(dir.path(), &[("ROSTER_CONFIG", toml.to_str().unwrap())]).await;
    assert!(stderr.contains("listen_port"), "{stderr}");

    let stderr = failing_start(dir.path(), &[("ROSTER_DATABASE_URL", "mysql://db/roster")]).await;
    assert!(
        stderr.contains("must start with sqlite:// or postgres://"),
        "{stderr}"
    );

    let stderr = failing_start(
        dir.path(),
        &[
            (
                "ROSTER_DATABASE_URL",
                "postgres://roster:s3cret@127.0.0.1:1/roster",
            ),
            ("ROSTER_DATABASE_CONNECT_TIMEOUT_SECS", "3"),
        ],
    )
    .await;
    assert!(stderr.contains("could not open the database"), "{stderr}");
    assert!(
        !stderr.contains("s3cret"),
        "the password is redacted: {stderr}"
    );

    let stderr = failing_start(dir.path(), &[("ROSTER_LOG_FORMAT", "xml")]).await;
    assert!(stderr.contains("log_format"), "{stderr}");

    let stderr = failing_start(
        dir.path(),
        &[("ROSTER_TRUSTED_PROXIES", "10.0.0.0/8,nginx")],
    )
    .await;
    assert!(
        stderr.contains("ROSTER_TRUSTED_PROXIES") && stderr.contains("nginx"),
        "{stderr}"
    );
}

#[tokio::test]
async fn tenants_tokens_and_admins_can_be_created_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let test_db = TestDatabase::new().await;
    let url = test_db.url().to_owned();
    let run = |args: &[&str]| {
        let mut command = roster(dir.path());
        command
            .env("ROSTER_DATABASE_URL", &url)
            .env("ROSTER_PUBLIC_URL", "https://roster.example.com")
            .args(args);
        command
    };

    let output = run(&["tenant", "create", "--slug", "acme", "--name", "Acme Inc."])
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("https://roster.example.com/scim/v2/acme"),
        "{stdout}"
    );

    let output = run(&["tenant", "create", "--slug", "acme", "--name", "Again"])
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("already exists"));

    let output = run(&["token", "create", "--tenant", "acme", "--label", "Okta"])
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let token = stdout.lines().next().unwrap();
    assert!(
        token.starts_with("rst_") && token.len() == 4 + 16 + 1 + 43,
        "{token}"
    );

    let output = run(&[
        "api-key", "create", "--tenant", "acme", "--label", "Billing",
    ])
    .output()
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let key = stdout.lines().next().unwrap();
    assert!(
        key.starts_with("rak_") && key.len() == 4 + 16 + 1 + 43,
        "{key}"
    );
    assert!(
        stdout.contains("https://roster.example.com/api/v1"),
        "{stdout}"
    );

    let output = run(&["token", "create", "--tenant", "nope", "--label", "Okta"])
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no tenant with the slug \"nope\""));

    // A tenant's admin needs the tenant; without it (or --operator) nothing is created.
    let output = run(&["admin", "create", "--email", "it@acme.test"])
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--tenant"));
    let mut child = run(&[
        "admin",
        "create",
        "--email",
        "it@acme.test",
        "--tenant",
        "acme",
    ])
    .stdin(Stdio::piped())
    .spawn()
    .unwrap();
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"a long enough password\n").await.unwrap();
    }
    let output = child.wait_with_output().await.unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let services = Services::new(
        test_db.connect().await,
        roster_core::CoreConfig::new("http://127.0.0.1", roster_testkit::test_keyring()),
    );
    let acme = services
        .tenants()
        .find_by_slug("acme")
        .await
        .unwrap()
        .unwrap();
    let hash = services
        .admins()
        .password_hash(
            &AccountScope::Tenant(acme),
            &AdminEmail::parse("IT@acme.test").unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(verify_secret_blocking("a long enough password", &hash));
}

#[tokio::test]
async fn healthcheck_fails_when_nothing_answers() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = roster(dir.path())
        .args(["healthcheck", "--addr", &format!("127.0.0.1:{port}")])
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
}
