//! The phases of a run. Each phase runs `count` operations on `concurrency` workers,
//! verifies every response, and records latencies.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use hdrhistogram::Histogram;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use crate::Args;
use crate::report::PhaseResult;

type OpFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

pub struct Context {
    client: Client,
    base: String,
    auth: String,
    prefix: String,
    users: Mutex<Vec<Option<String>>>,
    groups: Mutex<Vec<Option<String>>>,
}

impl Context {
    pub fn new(client: Client, args: &Args) -> Arc<Self> {
        Arc::new(Self {
            client,
            base: args.base_url.trim_end_matches('/').to_owned(),
            auth: format!("Bearer {}", args.token),
            prefix: args.prefix.clone(),
            users: Mutex::new(vec![None; args.users]),
            groups: Mutex::new(Vec::new()),
        })
    }

    /// Finds the users a previous run created, by paging through the tenant.
    async fn adopt_existing(&self, n: usize) -> Result<(), String> {
        let mut start = 1;
        loop {
            let (status, json) = self
                .send(
                    Method::GET,
                    &format!("/Users?startIndex={start}&count=100&attributes=userName"),
                    None,
                )
                .await?;
            expect(status, &[200], &json)?;
            let json = json.ok_or("empty body")?;
            let resources = json["Resources"].as_array().cloned().unwrap_or_default();
            let mut users = self.users.lock().map_err(|_| "lock")?;
            for r in &resources {
                let name = r["userName"].as_str().unwrap_or_default();
                let index = name
                    .strip_prefix(&format!("{}-", self.prefix))
                    .and_then(|rest| rest.split('@').next())
                    .and_then(|i| i.parse::<usize>().ok());
                if let (Some(i), Some(id)) = (index, r["id"].as_str())
                    && i < n
                {
                    users[i] = Some(id.to_owned());
                }
            }
            if resources.len() < 100 {
                break;
            }
            start += 100;
        }
        Ok(())
    }

    fn user_name(&self, i: usize) -> String {
        format!("{}-{i}@bench.example", self.prefix)
    }

    fn user_id(&self, i: usize) -> Result<String, String> {
        self.users
            .lock()
            .map_err(|_| "lock poisoned".to_owned())?
            .get(i)
            .cloned()
            .flatten()
            .ok_or_else(|| format!("user {i} was not created"))
    }

    fn group_id(&self, g: usize) -> Result<String, String> {
        self.groups
            .lock()
            .map_err(|_| "lock poisoned".to_owned())?
            .get(g)
            .cloned()
            .flatten()
            .ok_or_else(|| format!("group {g} was not created"))
    }

    fn user_body(&self, i: usize, display: &str) -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": self.user_name(i),
            "externalId": format!("ext-{}-{i}", self.prefix),
            "name": {"givenName": "Bench", "familyName": format!("User {i}")},
            "displayName": display,
            "emails": [{"value": self.user_name(i), "type": "work", "primary": true}],
            "locale": "en-US",
            "active": true
        })
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Option<Value>), String> {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("Authorization", &self.auth)
            .header("Accept", "application/scim+json");
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/scim+json")
                .body(body.to_string());
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| e.to_string())?;
        let json = if bytes.is_empty() {
            None
        } else {
            Some(
                serde_json::from_slice(&bytes)
                    .map_err(|e| format!("{status}: body is not JSON: {e}"))?,
            )
        };
        Ok((status, json))
    }
}

fn expect(status: StatusCode, wanted: &[u16], body: &Option<Value>) -> Result<(), String> {
    if wanted.contains(&status.as_u16()) {
        Ok(())
    } else {
        Err(format!(
            "status {status}, body {}",
            body.clone().unwrap_or(Value::Null)
        ))
    }
}

fn histogram() -> Result<Histogram<u64>, hdrhistogram::CreationError> {
    // 1 µs to 60 s at three significant digits.
    Histogram::new_with_bounds(1, 60_000_000, 3)
}

async fn run_phase<F>(
    name: &'static str,
    unit: &'static str,
    count: usize,
    concurrency: usize,
    op: F,
) -> anyhow::Result<PhaseResult>
where
    F: Fn(usize) -> OpFuture + Send + Sync + 'static,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let op = op.clone();
        let next = next.clone();
        workers.push(tokio::spawn(async move {
            let mut latency = histogram().ok();
            let mut errors = 0u64;
            let mut first_error = None;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                let t = Instant::now();
                let result = op(i).await;
                let us = u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX);
                if let Some(h) = latency.as_mut() {
                    let _ = h.record(us.max(1));
                }
                if let Err(err) = result {
                    errors += 1;
                    first_error.get_or_insert(err);
                }
            }
            (latency, errors, first_error)
        }));
    }
    let mut latency_us = histogram()?;
    let mut errors = 0;
    let mut first_error = None;
    for worker in workers {
        match worker.await {
            Ok((h, e, f)) => {
                if let Some(h) = h {
                    let _ = latency_us.add(h);
                }
                errors += e;
                if first_error.is_none() {
                    first_error = f;
                }
            }
            Err(err) => {
                errors += 1;
                first_error.get_or_insert(err.to_string());
            }
        }
    }
    Ok(PhaseResult {
        name,
        unit,
        ops: count as u64,
        errors,
        elapsed: started.elapsed(),
        latency_us,
        first_error,
    })
}

pub async fn run_all(ctx: &Arc<Context>, args: &Args) -> anyhow::Result<Vec<PhaseResult>> {
    let n = args.users;
    let c = args.concurrency;
    let batch = args.batch.max(1);
    let groups = n.div_ceil(batch);
    let mut results = Vec::new();

    let receiver = args
        .webhook_port
        .map(crate::receiver::Receiver::start)
        .transpose()?;
    if args.reuse {
        ctx.adopt_existing(n).await.map_err(anyhow::Error::msg)?;
    } else {
        let create_started = Instant::now();
        let x = ctx.clone();
        results.push(
            run_phase("create user (POST)", "ops", n, c, move |i| {
                let x = x.clone();
                Box::pin(async move {
                    let body = x.user_body(i, &format!("Bench User {i}"));
                    let (status, json) = x.send(Method::POST, "/Users", Some(&body)).await?;
                    expect(status, &[201], &json)?;
                    let json = json.ok_or("empty body")?;
                    if json["userName"] != body["userName"] {
                        return Err(format!("userName not echoed: {json}"));
                    }
                    let id = json["id"].as_str().ok_or("no id")?.to_owned();
                    x.users.lock().map_err(|_| "lock")?[i] = Some(id);
                    Ok(())
                })
            })
            .await?,
        );
        if let Some(receiver) = &receiver {
            let (received, last, delay_us) = receiver
                .wait_for(n as u64, std::time::Duration::from_secs(300))
                .await;
            let missing = (n as u64).saturating_sub(received);
            results.push(PhaseResult {
                name: "webhook delivered (user.created)",
                unit: "events",
                ops: received,
                errors: missing,
                // From the first create to the last event received: delivery keeps up
                // when this rate matches the create rate.
                elapsed: last.map_or(create_started.elapsed(), |at| at - create_started),
                latency_us: delay_us,
                first_error: (missing > 0).then(|| format!("{missing} events never arrived")),
            });
        }
        if stop_after(args, "create") {
            return Ok(results);
        }
    }

    if enabled(args, "get") {
        let x = ctx.clone();
        results.push(
            run_phase("get user (GET /Users/{id})", "ops", n, c, move |i| {
                let x = x.clone();
                Box::pin(async move {
                    let id = x.user_id(i)?;
                    let (status, json) = x.send(Method::GET, &format!("/Users/{id}"), None).await?;
                    expect(status, &[200], &json)?;
                    let json = json.ok_or("empty body")?;
                    (json["id"] == id.as_str())
                        .then_some(())
                        .ok_or_else(|| format!("wrong user: {json}"))
                })
            })
            .await?,
        );
    }
    if stop_after(args, "get") {
        return Ok(results);
    }

    if enabled(args, "filter") {
        let x = ctx.clone();
        results.push(
            run_phase("filter userName eq", "ops", n, c, move |i| {
                let x = x.clone();
                Box::pin(async move {
                    let id = x.user_id(i)?;
                    let filter = format!("userName eq \"{}\"", x.user_name(i).to_uppercase());
                    let path = format!("/Users?filter={}", encode(&filter));
                    let (status, json) = x.send(Method::GET, &path, None).await?;
                    expect(status, &[200], &json)?;
                    let json = json.ok_or("empty body")?;
                    if json["totalResults"] != 1 || json["Resources"][0]["id"] != id.as_str() {
                        return Err(format!("filter found {json}"));
                    }
                    Ok(())
                })
            })
            .await?,
        );
    }
    if stop_after(args, "filter") {
        return Ok(results);
    }

    if enabled(args, "put") {
        let x = ctx.clone();
        results.push(
            run_phase("replace user (PUT)", "ops", n, c, move |i| {
                let x = x.clone();
                Box::pin(async move {
                    let id = x.user_id(i)?;
                    let mut body = x.user_body(i, &format!("Renamed User {i}"));
                    body["id"] = json!(id);
                    let (status, json) = x
                        .send(Method::PUT, &format!("/Users/{id}"), Some(&body))
                        .await?;
                    expect(status, &[200], &json)?;
                    let json = json.ok_or("empty body")?;
                    (json["displayName"] == body["displayName"])
                        .then_some(())
                        .ok_or_else(|| format!("not replaced: {json}"))
                })
            })
            .await?,
        );
    }
    if stop_after(args, "put") {
        return Ok(results);
    }

    if enabled(args, "patch") {
        let x = ctx.clone();
        results.push(
            run_phase("deactivate user (PATCH)", "ops", n, c, move |i| {
                let x = x.clone();
                Box::pin(async move {
                    let id = x.user_id(i)?;
                    let body = json!({
                        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{"op": "replace", "value": {"active": false}}]
                    });
                    let (status, json) = x
                        .send(Method::PATCH, &format!("/Users/{id}"), Some(&body))
                        .await?;
                    expect(status, &[200, 204], &json)?;
                    match json {
                        Some(json) if json["active"] != false => {
                            Err(format!("still active: {json}"))
                        }
                        _ => Ok(()),
                    }
                })
            })
            .await?,
        );
    }
    if stop_after(args, "patch") {
        return Ok(results);
    }

    // Paging: learn the total first, then fetch every page once, concurrently.
    let (status, first) = ctx
        .send(Method::GET, "/Users?startIndex=1&count=1", None)
        .await
        .map_err(anyhow::Error::msg)?;
    anyhow::ensure!(status == 200, "listing users failed: {status}");
    let total = first
        .and_then(|j| j["totalResults"].as_u64())
        .ok_or_else(|| anyhow::anyhow!("no totalResults"))? as usize;
    let pages = total.div_ceil(100);
    let seen = Arc::new(Mutex::new(std::collections::HashSet::<String>::new()));
    let x = ctx.clone();
    let s = seen.clone();
    let mut listing = run_phase("list users, pages of 100", "pages", pages, c, move |p| {
        let x = x.clone();
        let s = s.clone();
        Box::pin(async move {
            let path = format!("/Users?startIndex={}&count=100", p * 100 + 1);
            let (status, json) = x.send(Method::GET, &path, None).await?;
            expect(status, &[200], &json)?;
            let json = json.ok_or("empty body")?;
            let resources = json["Resources"].as_array().cloned().unwrap_or_default();
            let expected = (total - p * 100).min(100);
            if resources.len() != expected || json["itemsPerPage"] != expected {
                return Err(format!(
                    "page {p}: {} items, expected {expected}",
                    resources.len()
                ));
            }
            let mut s = s.lock().map_err(|_| "lock")?;
            for r in resources {
                s.insert(r["id"].as_str().unwrap_or_default().to_owned());
            }
            Ok(())
        })
    })
    .await?;
    let seen_count = seen.lock().map(|s| s.len()).unwrap_or(0);
    if seen_count != total {
        listing.errors += 1;
        listing.first_error.get_or_insert(format!(
            "pages returned {seen_count} distinct users of {total}"
        ));
    }
    results.push(listing);
    if stop_after(args, "list") {
        return Ok(results);
    }

    ctx.groups
        .lock()
        .map_err(|_| anyhow::anyhow!("lock"))?
        .resize(groups, None);
    if enabled(args, "groups") {
        let x = ctx.clone();
        results.push(
            run_phase("create group (POST)", "ops", groups, c, move |g| {
                let x = x.clone();
                Box::pin(async move {
                    let body = json!({
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                        "displayName": format!("{}-group-{g}", x.prefix),
                        "members": []
                    });
                    let (status, json) = x.send(Method::POST, "/Groups", Some(&body)).await?;
                    expect(status, &[201], &json)?;
                    let id = json
                        .as_ref()
                        .and_then(|j| j["id"].as_str())
                        .ok_or("no id")?;
                    x.groups.lock().map_err(|_| "lock")?[g] = Some(id.to_owned());
                    Ok(())
                })
            })
            .await?,
        );
    }
    if stop_after(args, "groups") {
        return Ok(results);
    }

    if enabled(args, "groups") && enabled(args, "members") {
        let x = ctx.clone();
        results.push(
            run_phase("add 100 members (PATCH)", "patches", groups, c, move |g| {
                let x = x.clone();
                Box::pin(async move {
                    let gid = x.group_id(g)?;
                    let members: Result<Vec<Value>, String> = (g * batch..((g + 1) * batch).min(n))
                        .map(|i| x.user_id(i).map(|id| json!({"value": id})))
                        .collect();
                    let body = json!({
                        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{"op": "add", "path": "members", "value": members?}]
                    });
                    let (status, json) = x
                        .send(Method::PATCH, &format!("/Groups/{gid}"), Some(&body))
                        .await?;
                    expect(status, &[200, 204], &json)
                })
            })
            .await?,
        );
    }
    if stop_after(args, "members") {
        return Ok(results);
    }

    let group_pages = groups.div_ceil(100).max(1);
    let x = ctx.clone();
    results.push(
        run_phase(
            "list groups without members",
            "pages",
            group_pages,
            c,
            move |p| {
                let x = x.clone();
                Box::pin(async move {
                    let path = format!(
                        "/Groups?excludedAttributes=members&startIndex={}&count=100",
                        p * 100 + 1
                    );
                    let (status, json) = x.send(Method::GET, &path, None).await?;
                    expect(status, &[200], &json)?;
                    let json = json.ok_or("empty body")?;
                    let resources = json["Resources"].as_array().cloned().unwrap_or_default();
                    if resources.iter().any(|r| r.get("members").is_some()) {
                        return Err("members returned although excluded".into());
                    }
                    Ok(())
                })
            },
        )
        .await?,
    );
    if stop_after(args, "list-groups") {
        return Ok(results);
    }

    if enabled(args, "delete") {
        let x = ctx.clone();
        results.push(
            run_phase("delete user (DELETE)", "ops", n, c, move |i| {
                let x = x.clone();
                Box::pin(async move {
                    let id = x.user_id(i)?;
                    let (status, json) = x
                        .send(Method::DELETE, &format!("/Users/{id}"), None)
                        .await?;
                    expect(status, &[204], &json)
                })
            })
            .await?,
        );
    }
    if stop_after(args, "delete") {
        return Ok(results);
    }

    if enabled(args, "groups") {
        let x = ctx.clone();
        results.push(
            run_phase("delete group (DELETE)", "ops", groups, c, move |g| {
                let x = x.clone();
                Box::pin(async move {
                    let gid = x.group_id(g)?;
                    let (status, json) = x
                        .send(Method::DELETE, &format!("/Groups/{gid}"), None)
                        .await?;
                    expect(status, &[204], &json)
                })
            })
            .await?,
        );
    }

    Ok(results)
}

fn enabled(args: &Args, phase: &str) -> bool {
    args.only
        .as_deref()
        .is_none_or(|only| only.split(',').any(|p| p.trim() == phase))
}

fn stop_after(args: &Args, phase: &str) -> bool {
    args.stop_after.as_deref() == Some(phase)
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
