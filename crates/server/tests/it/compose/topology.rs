//! The docker-compose topology, run without Docker: PostgreSQL (the test database), two
//! `roster serve` processes and Debian's nginx with `deploy/nginx.conf` — the file the
//! compose `lb` mounts — with its upstream host names rewritten to the nodes' loopback
//! ports. Everything goes through nginx: a SCIM lifecycle, an admin sign-in, a webhook
//! endpoint created in the admin UI and its delivery; then one node is stopped in the
//! middle of a write load: no acknowledged write is lost, the other node keeps serving,
//! and the admin session survives.
//!
//! It needs PostgreSQL (compose runs on it), so it runs in the PostgreSQL pass of the
//! test command and is skipped on SQLite; and it needs nginx (`scripts/test` installs it).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use roster_testkit::{Receiver, TestDatabase};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::binary::{Node, cli_tenant_with_token, roster};

const OPERATOR: &str = "ops@roster.test";
const OPERATOR_PASSWORD: &str = "operator password for compose";

fn nginx_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("nginx"))
        .find(|candidate| candidate.is_file())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `deploy/nginx.conf` as the compose `lb` runs it, pointed at loopback: the replicas'
/// names become the nodes' ports, port 80 the balancer's, and the files nginx writes go
/// to `dir`. Nothing else changes.
fn loopback_conf(dir: &Path, lb_port: u16, node_ports: [u16; 2]) -> String {
    let conf = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/nginx.conf"
    ))
    .unwrap();
    for needle in ["roster-1:8080", "roster-2:8080", "listen 80;", "http {"] {
        assert_eq!(
            conf.matches(needle).count(),
            1,
            "deploy/nginx.conf: {needle}"
        );
    }
    let d = dir.display();
    conf.replace("roster-1:8080", &format!("127.0.0.1:{}", node_ports[0]))
        .replace("roster-2:8080", &format!("127.0.0.1:{}", node_ports[1]))
        .replace("listen 80;", &format!("listen 127.0.0.1:{lb_port};"))
        .replace(
            "http {",
            &format!(
                "http {{\n    access_log {d}/access.log;\n    client_body_temp_path {d}/tmp/body;\n    \
                 proxy_temp_path {d}/tmp/proxy;\n    fastcgi_temp_path {d}/tmp/fastcgi;\n    \
                 uwsgi_temp_path {d}/tmp/uwsgi;\n    scgi_temp_path {d}/tmp/scgi;\n"
            ),
        )
}

/// nginx in the foreground, stopped when dropped.
struct Nginx {
    child: std::process::Child,
    dir: PathBuf,
}

impl Nginx {
    fn start(binary: &Path, dir: &Path, conf: &str) -> Self {
        let tmp = dir.join("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        // Worker processes may run as another user than the master (root in CI).
        for path in [dir, tmp.as_path()] {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o777)).unwrap();
        }
        let conf_path = dir.join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = std::process::Command::new(binary)
            .arg("-p")
            .arg(dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(&conf_path)
            .arg("-g")
            .arg(format!(
                "daemon off; pid {}; error_log {} warn;",
                dir.join("nginx.pid").display(),
                dir.join("error.log").display()
            ))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        Self {
            child,
            dir: dir.to_owned(),
        }
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A cookie-keeping client of the admin UI through the balancer.
struct Browser {
    base: String,
    client: reqwest::Client,
    cookies: Vec<(String, String)>,
}

impl Browser {
    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all("set-cookie") {
            let raw = value.to_str().unwrap();
            let (name, value) = raw.split(';').next().unwrap().split_once('=').unwrap();
            self.cookies.retain(|(k, _)| k != name);
            if !value.is_empty() {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    async fn get(&mut self, path: &str) -> (StatusCode, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep(&response);
        (response.status(), response.text().await.unwrap())
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("origin", &self.base)
            .header("content-type", "application/x-www-form-urlencoded")
            .body({
                let mut body = url::form_urlencoded::Serializer::new(String::new());
                for (name, value) in form {
                    body.append_pair(name, value);
                }
                body.finish()
            })
            .send()
            .await
            .unwrap();
        self.keep(&response);
        response
    }
}

fn csrf_in(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a CSRF field") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

fn scim_user(user_name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "name": { "givenName": "Load", "familyName": "Test" },
        "emails": [{ "value": user_name, "type": "work", "primary": true }],
        "active": true
    })
}

#[tokio::test]
async fn the_compose_topology_serves_through_nginx_and_survives_a_node_stopping() {
    if std::env::var("ROSTER_TEST_DATABASE_URL").map_or(true, |url| url.trim().is_empty()) {
        eprintln!("skipped: the compose topology runs on PostgreSQL (ROSTER_TEST_DATABASE_URL)");
        return;
    }
    let nginx = nginx_binary().expect(
        "nginx is needed for the compose topology test: apt-get install nginx (scripts/test does)",
    );
    let dir = tempfile::tempdir().unwrap();
    let test_db = TestDatabase::new().await;
    let url = test_db.url().to_owned();

    // What an operator does once: a tenant with a token, an operator account.
    let token = cli_tenant_with_token(dir.path(), &url, "acme").await;
    let mut admin = roster(dir.path());
    admin
        .env("ROSTER_DATABASE_URL", &url)
        .args(["admin", "create", "--email", OPERATOR, "--operator"])
        .stdin(std::process::Stdio::piped());
    let mut child = admin.spawn().unwrap();
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(format!("{OPERATOR_PASSWORD}\n").as_bytes())
            .await
            .unwrap();
    }
    assert!(child.wait_with_output().await.unwrap().status.success());

    // Two nodes, as roster-1 and roster-2, with the balancer's address as public URL.
    let lb_port = free_port();
    let public = format!("http://127.0.0.1:{lb_port}");
    let env = [
        ("ROSTER_PUBLIC_URL", public.as_str()),
        (
            "ROSTER_WEBHOOK_ALLOWED_NETWORKS",
            roster_testkit::LOCAL_RECEIVERS,
        ),
        ("ROSTER_WEBHOOK_POLL_INTERVAL_MS", "50"),
        ("ROSTER_SHUTDOWN_TIMEOUT_SECS", "10"),
    ];
    let node_1 = Node::start_with(dir.path(), &url, &env).await;
    let node_2 = Node::start_with(dir.path(), &url, &env).await;
    let nginx_dir = dir.path().join("nginx");
    std::fs::create_dir_all(&nginx_dir).unwrap();
    let lb = Nginx::start(
        &nginx,
        &nginx_dir,
        &loopback_conf(&nginx_dir, lb_port, [node_1.port, node_2.port]),
    );
    roster_core::delivery::install_crypto_provider();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut up = false;
    for _ in 0..100 {
        if let Ok(response) = client.get(format!("{public}/healthz")).send().await
            && response.status() == 200
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "nginx did not come up: {}", lb.error_log());

    // Probes and metrics are for each node, not for the public address.
    for path in ["/metrics", "/readyz"] {
        let response = client.get(format!("{public}{path}")).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path} through nginx");
        let direct = client
            .get(format!("http://127.0.0.1:{}{path}", node_1.port))
            .send()
            .await
            .unwrap();
        assert_eq!(direct.status(), 200, "{path} on the node");
    }

    // A SCIM lifecycle through the balancer.
    let scim = format!("{public}/scim/v2/acme");
    let send = |method: reqwest::Method, path: String, body: Option<Value>| {
        let request = client
            .request(method, format!("{scim}{path}"))
            .bearer_auth(&token)
            .header("content-type", "application/scim+json");
        async move {
            let request = match body {
                Some(body) => request.body(body.to_string()),
                None => request,
            };
            let response = request.send().await.unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            (status, body)
        }
    };
    let (status, created) = send(
        reqwest::Method::POST,
        "/Users".into(),
        Some(scim_user("ada@acme.test")),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, found) = send(
        reqwest::Method::GET,
        "/Users?filter=userName%20eq%20%22ada@acme.test%22".into(),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(found["totalResults"], 1);
    let (status, patched) = send(
        reqwest::Method::PATCH,
        format!("/Users/{id}"),
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{ "op": "replace", "value": { "active": false } }]
        })),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["active"], false);
    let (status, group) = send(
        reqwest::Method::POST,
        "/Groups".into(),
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Engineering",
            "members": [{ "value": id }]
        })),
    )
    .await;
    assert_eq!(status, 201, "{group}");
    let (status, _) = send(reqwest::Method::DELETE, format!("/Users/{id}"), None).await;
    assert_eq!(status, 204);

    // An admin signs in through the balancer and adds a webhook endpoint.
    let mut browser = Browser {
        base: public.clone(),
        client: client.clone(),
        cookies: Vec::new(),
    };
    let (status, _) = browser.get("/admin/login").await;
    assert_eq!(status, 200);
    let response = browser
        .post(
            "/admin/login",
            &[("email", OPERATOR), ("password", OPERATOR_PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), 303, "{:?}", response.text().await);
    let (status, page) = browser.get("/admin/t/acme/webhooks").await;
    assert_eq!(status, 200);
    let receiver = Receiver::start().await;
    let csrf = csrf_in(&page);
    let hook = format!("{}/hooks", receiver.url);
    let response = browser
        .post(
            "/admin/t/acme/webhooks",
            &[
                ("csrf", &csrf),
                ("url", &hook),
                ("description", "compose"),
                ("events", "all"),
                ("enabled", "on"),
            ],
        )
        .await;
    assert_eq!(response.status(), 200, "the secret is shown once");
    let (status, _) = send(
        reqwest::Method::POST,
        "/Users".into(),
        Some(scim_user("grace@acme.test")),
    )
    .await;
    assert_eq!(status, 201);
    let delivered = receiver.wait_for_accepted(1, Duration::from_secs(20)).await;
    assert!(
        delivered.iter().any(|d| d.json()["type"] == "user.created"
            && d.json()["data"]["scim"]["userName"] == "grace@acme.test"),
        "{delivered:?}"
    );

    // A write load through the balancer; node 1 stops in the middle of it.
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let refused = Arc::new(Mutex::new(Vec::<(StatusCode, bool, String)>::new()));
    let stopped = Arc::new(AtomicBool::new(false));
    let running = Arc::new(AtomicBool::new(true));
    let mut workers = Vec::new();
    for worker in 0..4 {
        let (client, scim, token) = (client.clone(), scim.clone(), token.clone());
        let (acknowledged, refused) = (acknowledged.clone(), refused.clone());
        let (stopped, running) = (stopped.clone(), running.clone());
        workers.push(tokio::spawn(async move {
            let mut n = 0;
            while running.load(Ordering::SeqCst) {
                n += 1;
                let user_name = format!("load-{worker}-{n}@acme.test");
                let after_stop = stopped.load(Ordering::SeqCst);
                let response = client
                    .post(format!("{scim}/Users"))
                    .bearer_auth(&token)
                    .header("content-type", "application/scim+json")
                    .body(scim_user(&user_name).to_string())
                    .send()
                    .await;
                match response {
                    Ok(response) if response.status() == 201 => {
                        acknowledged.lock().await.push(user_name)
                    }
                    Ok(response) => {
                        let status = response.status();
                        // The body says which part refused (nginx or a node, and why).
                        let body = response.text().await.unwrap_or_default();
                        refused.lock().await.push((status, after_stop, body))
                    }
                    Err(err) => refused.lock().await.push((
                        StatusCode::BAD_GATEWAY,
                        after_stop,
                        err.to_string(),
                    )),
                }
            }
        }));
    }
    let wait_for = |count: usize| {
        let acknowledged = acknowledged.clone();
        async move {
            for _ in 0..400 {
                if acknowledged.lock().await.len() >= count {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            panic!("the load did not reach {count} acknowledged writes");
        }
    };
    wait_for(40).await;
    let (_, stderr_1) = node_1.stop().await;
    assert!(stderr_1.contains("\"message\":\"stopped\""), "{stderr_1}");
    assert!(
        stderr_1.contains("\"http.route\":\"/scim/v2/{tenant}/Users\""),
        "node 1 served part of the load"
    );
    stopped.store(true, Ordering::SeqCst);
    let before = acknowledged.lock().await.len();
    wait_for(before + 40).await;
    running.store(false, Ordering::SeqCst);
    for worker in workers {
        worker.await.unwrap();
    }

    // Only a request caught on a connection node 1 was closing may have failed (502,
    // never acknowledged); once it had stopped, node 2 answered everything.
    let refused = refused.lock().await.clone();
    eprintln!(
        "{} writes acknowledged, {} refused while node 1 stopped",
        acknowledged.lock().await.len(),
        refused.len()
    );
    assert!(
        refused
            .iter()
            .all(|(status, after_stop, _)| *status == StatusCode::BAD_GATEWAY && !*after_stop),
        "{refused:?}\nnode 1's log:\n{}",
        stderr_1
            .lines()
            .filter(
                |line| line.contains("\"level\":\"ERROR\"") || line.contains("\"level\":\"WARN\"")
            )
            .collect::<Vec<_>>()
            .join("\n")
    );

    // Every acknowledged write is there, read through the balancer (node 2 alone).
    let acknowledged = acknowledged.lock().await.clone();
    let mut stored = std::collections::HashSet::new();
    let mut start = 1;
    loop {
        let (status, page) = send(
            reqwest::Method::GET,
            format!("/Users?startIndex={start}&count=200&attributes=userName"),
            None,
        )
        .await;
        assert_eq!(status, 200, "{page}");
        let resources = page["Resources"].as_array().cloned().unwrap_or_default();
        if resources.is_empty() {
            break;
        }
        start += resources.len();
        stored.extend(
            resources
                .iter()
                .filter_map(|r| r["userName"].as_str().map(str::to_owned)),
        );
    }
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|name| !stored.contains(*name))
        .collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    assert!(acknowledged.len() >= 80);

    // The admin session lives in the database: node 2 knows it.
    let (status, page) = browser.get("/admin/tenants").await;
    assert_eq!(status, 200);
    assert!(page.contains("acme"));

    drop(lb);
    node_2.stop().await;
}
