//! Item 9: a tenant admin controls the webhook URL. Two attacks:
//!
//! - a receiver that answers with an enormous body, to make the node read it into memory
//!   (512 MiB added 1 GB RSS before the fix), through the worker and "Send test event";
//! - a URL aimed at the node's own network — loopback, private, unique-local, a name
//!   that resolves to loopback — to reach services only the node can reach and read
//!   their answers on the endpoint page.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use roster_core::delivery::client::EXCERPT_CHARS;
use roster_core::delivery::webhooks::{EndpointForm, EndpointId};
use roster_core::delivery::{DeliverySettings, DeliveryStatus};
use roster_core::memberships::TenantAccess;
use roster_core::paging::PageSize;
use roster_core::tokens::TokenLabel;
use roster_testkit::{Receiver, TestApp, spawn_app};
use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use secrecy::ExposeSecret;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::admin_support::*;
use crate::scim::support::Scim;

const WAIT: Duration = Duration::from_secs(30);
const MIB: u64 = 1024 * 1024;

/// A hostile receiver: answers every request `500` with a `body_len`-byte body of `A`s,
/// written 64 KiB at a time, and records per connection how many body bytes the socket
/// accepted before the client hung up.
struct FloodingReceiver {
    url: String,
    written: Arc<Mutex<Vec<u64>>>,
    task: tokio::task::JoinHandle<()>,
}

impl FloodingReceiver {
    async fn start(body_len: u64, content_type: &'static str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        let written = Arc::new(Mutex::new(Vec::new()));
        let record = written.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let record = record.clone();
                tokio::spawn(async move {
                    let count = flood(stream, body_len, content_type).await;
                    record.lock().unwrap().push(count);
                });
            }
        });
        Self { url, written, task }
    }

    /// The counts of the connections that ended, waiting for at least `n`.
    async fn finished(&self, n: usize) -> Vec<u64> {
        let started = std::time::Instant::now();
        loop {
            let written = self.written.lock().unwrap().clone();
            if written.len() >= n {
                return written;
            }
            assert!(started.elapsed() < WAIT, "{written:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for FloodingReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one request, then writes the head and as much of the body as the client takes.
async fn flood(mut stream: tokio::net::TcpStream, body_len: u64, content_type: &str) -> u64 {
    let mut request = Vec::new();
    let mut buffer = [0u8; 8192];
    let head_end = loop {
        let Ok(n) = stream.read(&mut buffer).await else {
            return 0;
        };
        if n == 0 {
            return 0;
        }
        request.extend_from_slice(&buffer[..n]);
        if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&request[..head_end]).to_ascii_lowercase();
    let body_len_in: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse().unwrap());
    while request.len() < head_end + body_len_in {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return 0,
            Ok(n) => request.extend_from_slice(&buffer[..n]),
        }
    }
    let response_head = format!(
        "HTTP/1.1 500 Internal Server Error\r\nContent-Type: {content_type}\r\nContent-Length: {body_len}\r\n\r\n"
    );
    if stream.write_all(response_head.as_bytes()).await.is_err() {
        return 0;
    }
    let chunk = vec![b'A'; 64 * 1024];
    let mut written = 0u64;
    while written < body_len {
        let len = (body_len - written).min(chunk.len() as u64) as usize;
        match stream.write(&chunk[..len]).await {
            Ok(0) | Err(_) => break,
            Ok(n) => written += n as u64,
        }
    }
    written
}

/// The resident memory of this process (the app runs in it), in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib * 1024
}

/// The highest RSS seen, sampled every millisecond on a thread of its own, while
/// `work` runs; returns (baseline, peak).
async fn peak_rss_during<F: std::future::Future>(work: F) -> (u64, u64, F::Output) {
    let baseline = rss();
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut peak = 0;
            while !stop.load(Ordering::Relaxed) {
                peak = peak.max(rss());
                std::thread::sleep(Duration::from_millis(1));
            }
            peak.max(rss())
        })
    };
    let output = work.await;
    stop.store(true, Ordering::Relaxed);
    let peak = sampler.join().unwrap();
    (baseline, peak, output)
}

/// The longest run of `A`s in `text`.
fn longest_run_of_a(text: &str) -> usize {
    text.split(|c| c != 'A').map(str::len).max().unwrap_or(0)
}

/// An app whose operator lets webhooks reach 127.0.0.1 (where the hostile receivers
/// listen; in real life they would be public), signed in as that operator, with tenant
/// `acme` and a SCIM token.
async fn app_with_tenant(
    settings: DeliverySettings,
) -> (Arc<TestApp>, Browserless, TenantAccess, Scim) {
    let app = Arc::new(
        TestApp::builder()
            .allow_local_receivers()
            .delivery(settings)
            .spawn()
            .await,
    );
    let (client, operator) = operator(&app).await;
    let scope = tenant(&app, &operator, "acme", "Acme").await;
    let token = app
        .services
        .tokens()
        .create_for(&scope, TokenLabel::parse("idp").unwrap(), None, None)
        .await
        .unwrap();
    let scim = Scim {
        app: app.clone(),
        base: app.url("/scim/v2/acme"),
        token: token.token.expose_secret().to_owned(),
        slug: "acme".to_owned(),
    };
    (app, client, scope, scim)
}

/// Creates an endpoint through the admin form; returns its page.
async fn create_through_the_form(
    app: &TestApp,
    client: &mut Browserless,
    scope: &TenantAccess,
    url: &str,
) -> (EndpointId, String) {
    let csrf = client.csrf().await;
    let response = client
        .post(
            "/admin/t/acme/webhooks",
            &[
                ("csrf", &csrf),
                ("url", url),
                ("events", "all"),
                ("enabled", "on"),
            ],
        )
        .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let endpoints = app.services.webhooks().list(scope).await.unwrap();
    let id = endpoints.last().unwrap().id;
    (id, format!("/admin/t/acme/webhooks/{}", id.0))
}

#[tokio::test]
async fn a_receiver_answering_512_mib_costs_the_node_a_few_kib_on_every_path() {
    const BODY: u64 = 512 * MIB;
    let (app, mut client, scope, scim) = app_with_tenant(DeliverySettings {
        poll_interval: Duration::from_millis(20),
        // One attempt during the test.
        retry_base: Duration::from_secs(600),
        ..DeliverySettings::default()
    })
    .await;
    let receiver = FloodingReceiver::start(BODY, "text/plain").await;
    let (id, page) = create_through_the_form(&app, &mut client, &scope, &receiver.url).await;

    // "Send test event": the answer shown to the tenant admin is a short excerpt.
    let csrf = client.csrf().await;
    let (baseline, peak, response) =
        peak_rss_during(client.post(&format!("{page}/test"), &[("csrf", &csrf)])).await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(
        html.contains(
            "The test event was not accepted: the endpoint answered 500 Internal Server Error: AAAA"
        ),
        "{html}"
    );
    assert!(longest_run_of_a(&html) <= EXCERPT_CHARS, "a short excerpt");
    let written = receiver.finished(1).await;
    assert!(
        written[0] < 64 * MIB,
        "the node stopped reading: the receiver could write {} of {} MiB",
        written[0] / MIB,
        BODY / MIB
    );
    assert!(
        peak.saturating_sub(baseline) < BODY / 2,
        "RSS grew by {} MiB while a {} MiB answer was sent",
        peak.saturating_sub(baseline) / MIB,
        BODY / MIB
    );

    // The worker: a real delivery gets the same answer.
    let (baseline, peak, delivery) = peak_rss_during(async {
        scim.create_user("ada@acme.test").await;
        let started = std::time::Instant::now();
        loop {
            let page = app
                .services
                .webhooks()
                .deliveries(&scope, id, None, None, PageSize::DEFAULT)
                .await
                .unwrap();
            if let Some(delivery) = page.items.into_iter().find(|d| d.attempts > 0) {
                break delivery;
            }
            assert!(started.elapsed() < WAIT, "no attempt recorded");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    })
    .await;
    assert_eq!(delivery.status, DeliveryStatus::Pending, "to be retried");
    assert_eq!(delivery.last_status_code, Some(500));
    let error = delivery.last_error.unwrap();
    assert!(error.starts_with("the endpoint answered 500"), "{error}");
    assert!(error.chars().count() <= 60 + EXCERPT_CHARS, "{error}");
    let written = receiver.finished(2).await;
    assert!(written[1] < 64 * MIB, "{} MiB written", written[1] / MIB);
    assert!(
        peak.saturating_sub(baseline) < BODY / 2,
        "RSS grew by {} MiB",
        peak.saturating_sub(baseline) / MIB
    );
}

#[tokio::test]
async fn a_binary_answer_is_neither_read_nor_shown() {
    let (app, mut client, scope, _) = app_with_tenant(DeliverySettings::default()).await;
    let receiver = FloodingReceiver::start(64 * MIB, "application/octet-stream").await;
    let (_, page) = create_through_the_form(&app, &mut client, &scope, &receiver.url).await;
    let csrf = client.csrf().await;
    let response = client
        .post(&format!("{page}/test"), &[("csrf", &csrf)])
        .await;
    let html = response.text().await.unwrap();
    assert!(
        html.contains(
            "The test event was not accepted: the endpoint answered 500 Internal Server Error."
        ),
        "{html}"
    );
    assert!(longest_run_of_a(&html) < 5, "nothing of the body is shown");
    assert!(receiver.finished(1).await[0] < 64 * MIB);
}

/// Every URL a tenant admin might aim at the node's own network.
fn internal_urls(port: u16) -> Vec<String> {
    [
        "http://127.0.0.1:{port}/hooks",
        "http://127.9.9.9:{port}/hooks",
        "http://10.0.0.5/hooks",
        "http://172.16.0.1/hooks",
        "http://192.168.1.1/hooks",
        "http://100.64.0.1/hooks",
        "http://[::1]:{port}/hooks",
        "http://[::ffff:127.0.0.1]:{port}/hooks",
        "http://[::ffff:a00:5]/hooks",
        "http://[fd12:3456::1]/hooks",
        "http://[fe80::1]/hooks",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0:{port}/hooks",
        "http://2130706433:{port}/hooks",
        "http://localhost:{port}/hooks",
    ]
    .iter()
    .map(|url| url.replace("{port}", &port.to_string()))
    .collect()
}

#[tokio::test]
async fn internal_addresses_are_refused_in_the_form_by_default() {
    let app = spawn_app().await;
    let (mut client, operator) = operator(&app).await;
    let scope = tenant(&app, &operator, "acme", "Acme").await;
    let receiver = Receiver::start().await;
    let port = url::Url::parse(&receiver.url).unwrap().port().unwrap();
    let public = EndpointForm::parse("https://hooks.example.com/roster", "", &[], true).unwrap();
    let (endpoint, _) = app
        .services
        .webhooks()
        .create(&scope, public)
        .await
        .unwrap();
    let page = format!("/admin/t/acme/webhooks/{}", endpoint.id.0);
    let csrf = client.csrf().await;
    for url in internal_urls(port) {
        let fields = [
            ("csrf", csrf.as_str()),
            ("url", url.as_str()),
            ("events", "all"),
        ];
        for (form, path) in [
            ("create", "/admin/t/acme/webhooks"),
            ("edit", page.as_str()),
        ] {
            let response = client.post(path, &fields).await;
            assert_eq!(response.status(), 422, "{form} {url}");
            let html = response.text().await.unwrap();
            assert!(html.contains("id=\"url-error\""), "{form} {url}: {html}");
            assert!(
                html.contains("loopback, private, link-local, multicast or cloud metadata"),
                "{form} {url}: {html}"
            );
        }
    }
    let endpoints = app.services.webhooks().list(&scope).await.unwrap();
    assert_eq!(endpoints.len(), 1, "nothing created");
    assert_eq!(
        endpoints[0].url, "https://hooks.example.com/roster",
        "nothing changed"
    );
    assert!(receiver.received().is_empty());
}

#[tokio::test]
async fn internal_urls_written_to_the_database_are_never_called() {
    let scim = Scim::on(
        Arc::new(
            TestApp::builder()
                .delivery(DeliverySettings {
                    poll_interval: Duration::from_millis(20),
                    retry_base: Duration::from_millis(200),
                    ..DeliverySettings::default()
                })
                .spawn()
                .await,
        ),
        "acme",
    )
    .await;
    let app = scim.app.clone();
    let (_, access) = crate::rules::support::access(&app, "acme").await;
    let receiver = Receiver::start().await;
    let form = EndpointForm::parse("https://hooks.example.com/roster", "", &[], true).unwrap();
    let (endpoint, _) = app.services.webhooks().create(&access, form).await.unwrap();
    let id = endpoint.id;
    let webhooks = app.services.webhooks();
    let write_url = |url: String| {
        let app = app.clone();
        async move {
            roster_entity::webhook_endpoint::ActiveModel {
                id: Set(id.0),
                url: Set(url),
                ..Default::default()
            }
            .update(app.services.db().writer())
            .await
            .unwrap();
        }
    };

    // Address literals are refused before the request; `localhost` by the resolver,
    // which drops every address the name resolves to.
    let loopback = receiver.url.clone();
    for url in [
        loopback.clone(),
        loopback.replace("127.0.0.1", "[::1]"),
        loopback.replace("127.0.0.1", "[::ffff:127.0.0.1]"),
        loopback.replace("127.0.0.1", "localhost"),
    ] {
        write_url(url.clone()).await;
        let outcome = webhooks.send_test(&access, id).await.unwrap();
        assert_eq!(outcome.status_code, None, "{url}");
        assert!(
            outcome
                .error
                .as_deref()
                .unwrap()
                .contains("webhooks are not sent there unless the operator allows its network"),
            "{url}: {outcome:?}"
        );
    }

    // The worker, with `localhost` stored: the delivery fails the same way.
    scim.create_user("ada@acme.test").await;
    let started = std::time::Instant::now();
    let delivery = loop {
        let page = webhooks
            .deliveries(&access, id, None, None, PageSize::DEFAULT)
            .await
            .unwrap();
        if let Some(delivery) = page.items.into_iter().find(|d| d.attempts > 0) {
            break delivery;
        }
        assert!(started.elapsed() < WAIT, "no attempt recorded");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_eq!(delivery.last_status_code, None);
    assert!(
        delivery
            .last_error
            .as_deref()
            .unwrap()
            .contains("unless the operator allows its network"),
        "{delivery:?}"
    );
    assert!(
        receiver.received().is_empty(),
        "the receiver was never called"
    );

    // The operator's allow-list opens 127.0.0.1 (and so `localhost`, through the same
    // resolver), not [::1]: a second node on the same database with the setting.
    let allowed = TestApp::builder()
        .database(app.database.handle())
        .allow_local_receivers()
        .spawn()
        .await;
    let outcome = allowed
        .services
        .webhooks()
        .send_test(&access, id)
        .await
        .unwrap();
    assert_eq!((outcome.status_code, outcome.error), (Some(200), None));
    assert_eq!(receiver.received().len(), 1);
    write_url(loopback.replace("127.0.0.1", "[::1]")).await;
    let outcome = allowed
        .services
        .webhooks()
        .send_test(&access, id)
        .await
        .unwrap();
    assert_eq!(outcome.status_code, None);
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn an_allow_list_never_opens_the_metadata_service_unless_it_names_it() {
    for list in ["0.0.0.0/0, ::/0", "169.254.0.0/15", "100.64.0.0/10"] {
        let app = TestApp::builder()
            .webhook_allowed_networks(list)
            .spawn()
            .await;
        crate::scim::support::create_tenant(&app, "acme").await;
        let (_, access) = crate::rules::support::access(&app, "acme").await;
        for url in [
            "http://169.254.169.254/latest/meta-data/",
            "http://[::ffff:169.254.169.254]/",
            "http://100.100.100.200/latest/meta-data/",
        ] {
            let form = EndpointForm::parse(url, "", &[], true).unwrap();
            let err = app
                .services
                .webhooks()
                .create(&access, form)
                .await
                .unwrap_err();
            assert!(
                err.to_string().contains("cloud metadata"),
                "{list} {url}: {err}"
            );
        }
    }
    // Named explicitly, it is the operator's decision.
    let app = TestApp::builder()
        .webhook_allowed_networks("169.254.169.254/32")
        .spawn()
        .await;
    crate::scim::support::create_tenant(&app, "acme").await;
    let (_, access) = crate::rules::support::access(&app, "acme").await;
    let form = EndpointForm::parse("http://169.254.169.254/hook", "", &[], true).unwrap();
    app.services.webhooks().create(&access, form).await.unwrap();
}
