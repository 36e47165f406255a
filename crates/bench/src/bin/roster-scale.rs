//! `roster-scale`: how does one tenant behave as it grows? Loads a tenant to the given
//! size by SCIM (creates at the given concurrency, counted as the create rate), then
//! measures at that size: GET, filter, PUT, PATCH and DELETE rates over a sample, the
//! latency (median of several runs) of the first and the last `startIndex` page, and of
//! the filters and sorts IdPs and admins send — indexed or not. Run it again with a
//! larger `--users` and the same `--prefix` to grow the same tenant (`--from`).
//!
//! ```sh
//! roster-scale --base-url http://127.0.0.1:8080/scim/v2/acme --token rst_… --from 0 --users 10000
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use reqwest::Method;
use serde_json::{Value, json};

#[derive(Debug, Parser)]
#[command(name = "roster-scale")]
struct Args {
    /// The tenant's SCIM base URL, e.g. http://127.0.0.1:8080/scim/v2/acme
    #[arg(long)]
    base_url: String,
    #[arg(long, env = "ROSTER_BENCH_TOKEN")]
    token: String,
    /// Users the tenant already has from an earlier run (same prefix).
    #[arg(long, default_value_t = 0)]
    from: usize,
    /// Users the tenant has after loading.
    #[arg(long)]
    users: usize,
    /// Requests in flight while loading and in the rate samples.
    #[arg(short = 'c', long, default_value_t = 16)]
    concurrency: usize,
    /// Requests per rate sample (GET, filter, PUT, PATCH, DELETE).
    #[arg(long, default_value_t = 2000)]
    sample: usize,
    /// Runs per latency probe (the median is printed).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Also time a full `startIndex` import (pages of 100, one client).
    #[arg(long)]
    import: bool,
    #[arg(long, default_value = "scale")]
    prefix: String,
}

#[path = "../client.rs"]
mod client;
use client::Client;

fn user(prefix: &str, i: usize) -> Value {
    let mut body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": format!("{prefix}{i}@scale.test"),
        "externalId": format!("{prefix}-ext-{i}"),
        "name": {"givenName": format!("Given{i}"), "familyName": format!("Family{i}")},
        "displayName": format!("Scale User {i}"),
        "emails": [{"value": format!("{prefix}{i}@scale.test"), "type": "work", "primary": true}],
        "active": true
    });
    if i.is_multiple_of(10) {
        body["title"] = json!("Engineer");
    }
    body
}

/// Runs `count` requests, `concurrency` at a time; returns requests per second.
async fn rate<F, Fut>(count: usize, concurrency: usize, job: F) -> anyhow::Result<f64>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let job = Arc::new(job);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (job, next) = (job.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return anyhow::Ok(());
                }
                job(i).await?;
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

/// Median latency in ms of `runs` sequential GETs, checking the status and, when given,
/// `totalResults`.
async fn probe(
    client: &Client,
    path: &str,
    runs: usize,
    total: Option<u64>,
) -> anyhow::Result<f64> {
    probe_after(client, None, path, runs, total).await
}

/// Like [`probe`], each timed GET preceded by an untimed GET of `before` (the page an
/// import reads just before this one).
async fn probe_after(
    client: &Client,
    before: Option<&str>,
    path: &str,
    runs: usize,
    total: Option<u64>,
) -> anyhow::Result<f64> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        if let Some(before) = before {
            let (status, body) = client.send(Method::GET, before, None).await?;
            if status != 200 {
                bail!("GET {before}: {status} {body}");
            }
        }
        let started = Instant::now();
        let (status, body) = client.send(Method::GET, path, None).await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        if status != 200 {
            bail!("GET {path}: {status} {body}");
        }
        if let Some(total) = total
            && body["totalResults"].as_u64() != Some(total)
        {
            bail!(
                "GET {path}: expected totalResults {total}, got {}",
                body["totalResults"]
            );
        }
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::main]
#[allow(clippy::disallowed_methods)] // a measuring tool, outside the services' clock
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // reqwest needs a process-wide TLS provider even for plain HTTP.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = args.concurrency.max(1);
    let client = Arc::new(Client {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(c)
            .timeout(Duration::from_secs(600))
            .build()?,
        base: args.base_url.trim_end_matches('/').to_owned(),
        token: args.token.clone(),
    });
    let n = args.users;
    let from = args.from;
    if n <= from {
        bail!("--users must be larger than --from");
    }

    // Load.
    let (cl, prefix) = (client.clone(), args.prefix.clone());
    let create = rate(n - from, c, move |k| {
        let (cl, prefix) = (cl.clone(), prefix.clone());
        async move {
            let (status, body) = cl
                .send(Method::POST, "/Users", Some(&user(&prefix, from + k)))
                .await?;
            if status != 201 {
                bail!("create: {status} {body}");
            }
            Ok(())
        }
    })
    .await
    .context("loading the tenant")?;

    // Ids of a sample, by userName.
    let sample = args.sample.min((n - from) / 2).max(1);
    let mut ids = Vec::with_capacity(sample);
    for k in 0..sample {
        // Users of this run only: earlier runs deleted their samples.
        let i = n - 1 - k * ((n - from) / sample).max(1) % (n - from);
        let path = format!(
            "/Users?filter={}&attributes=id",
            encode(&format!("userName eq \"{}{i}@scale.test\"", args.prefix))
        );
        let (status, body) = client.send(Method::GET, &path, None).await?;
        let id = body["Resources"][0]["id"].as_str().map(str::to_owned);
        match (status, id) {
            (200, Some(id)) => ids.push((i, id)),
            _ => bail!("finding user {i}: {status} {body}"),
        }
    }
    let ids = Arc::new(ids);

    let (cl, list) = (client.clone(), ids.clone());
    let get = rate(sample, c, move |k| {
        let (cl, list) = (cl.clone(), list.clone());
        async move {
            let (status, _) = cl
                .send(Method::GET, &format!("/Users/{}", list[k].1), None)
                .await?;
            if status != 200 {
                bail!("get: {status}");
            }
            Ok(())
        }
    })
    .await?;
    let (cl, list, prefix) = (client.clone(), ids.clone(), args.prefix.clone());
    let filter = rate(sample, c, move |k| {
        let (cl, list, prefix) = (cl.clone(), list.clone(), prefix.clone());
        async move {
            let path = format!(
                "/Users?filter={}",
                encode(&format!("userName eq \"{prefix}{}@scale.test\"", list[k].0))
            );
            let (status, body) = cl.send(Method::GET, &path, None).await?;
            if status != 200 || body["totalResults"] != 1 {
                bail!("filter: {status} {body}");
            }
            Ok(())
        }
    })
    .await?;
    let (cl, list, prefix) = (client.clone(), ids.clone(), args.prefix.clone());
    let put = rate(sample, c, move |k| {
        let (cl, list, prefix) = (cl.clone(), list.clone(), prefix.clone());
        async move {
            let (i, id) = &list[k];
            let mut body = user(&prefix, *i);
            body["displayName"] = json!(format!("Scale User {i} (put)"));
            let (status, body) = cl
                .send(Method::PUT, &format!("/Users/{id}"), Some(&body))
                .await?;
            if status != 200 {
                bail!("put: {status} {body}");
            }
            Ok(())
        }
    })
    .await?;
    let (cl, list) = (client.clone(), ids.clone());
    let patch = rate(sample, c, move |k| {
        let (cl, list) = (cl.clone(), list.clone());
        async move {
            let body = json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "title", "value": format!("Title {k}")}]
            });
            let (status, body) = cl
                .send(Method::PATCH, &format!("/Users/{}", list[k].1), Some(&body))
                .await?;
            if !(status == 200 || status == 204) {
                bail!("patch: {status} {body}");
            }
            Ok(())
        }
    })
    .await?;

    // Latencies, before the deletions change the size.
    let runs = args.runs.max(1);
    let p = &args.prefix;
    // Earlier runs' samples were deleted: the tenant holds fewer than `n`.
    let (status, body) = client.send(Method::GET, "/Users?count=0", None).await?;
    let held = match (status, body["totalResults"].as_u64()) {
        (200, Some(total)) => total,
        _ => bail!("counting users: {status} {body}"),
    };
    let last_start = held.saturating_sub(99).max(1);
    let probe_at = |part: usize| from + (n - from) / part;
    let mut probes: Vec<(String, f64)> = Vec::new();
    for (name, path, total) in [
        (
            "first page (startIndex=1, count=100)".to_owned(),
            "/Users?startIndex=1&count=100".to_owned(),
            Some(held),
        ),
        (
            format!("last page, jumped to (startIndex={last_start}, OFFSET)"),
            format!("/Users?startIndex={last_start}&count=100"),
            Some(held),
        ),
        (
            "name.familyName eq (no index of its own)".to_owned(),
            format!(
                "/Users?filter={}",
                encode(&format!("name.familyName eq \"Family{}\"", probe_at(3)))
            ),
            Some(1),
        ),
        (
            "title pr (count=100)".to_owned(),
            format!("/Users?count=100&filter={}", encode("title pr")),
            None,
        ),
        (
            "sortBy=name.familyName descending (count=100)".to_owned(),
            "/Users?count=100&sortBy=name.familyName&sortOrder=descending".to_owned(),
            Some(held),
        ),
        (
            "emails.value eq".to_owned(),
            format!(
                "/Users?filter={}",
                encode(&format!(
                    "emails.value eq \"{p}{}@scale.test\"",
                    probe_at(2)
                ))
            ),
            Some(1),
        ),
        (
            "emails[type eq \"work\"].value eq".to_owned(),
            format!(
                "/Users?filter={}",
                encode(&format!(
                    "emails[type eq \"work\"].value eq \"{p}{}@scale.test\"",
                    probe_at(4)
                ))
            ),
            Some(1),
        ),
        (
            "meta.lastModified gt (last minute, count=100)".to_owned(),
            format!(
                "/Users?count=100&filter={}",
                encode(&format!(
                    "meta.lastModified gt \"{}\"",
                    time::OffsetDateTime::now_utc()
                        .saturating_sub(time::Duration::minutes(1))
                        .format(&time::format_description::well_known::Rfc3339)?
                ))
            ),
            None,
        ),
    ] {
        probes.push((name, probe(&client, &path, runs, total).await?));
    }
    // The end of an import: the page read right after the one before it seeks from where
    // that one ended.
    let before_last = last_start.saturating_sub(100).max(1);
    probes.push((
        format!("last page of an import (startIndex={last_start} after {before_last})"),
        probe_after(
            &client,
            Some(&format!("/Users?startIndex={before_last}&count=100")),
            &format!("/Users?startIndex={last_start}&count=100"),
            runs,
            Some(held),
        )
        .await?,
    ));

    let import = if args.import {
        let started = Instant::now();
        let mut start = 1;
        loop {
            let (status, body) = client
                .send(
                    Method::GET,
                    &format!("/Users?startIndex={start}&count=100"),
                    None,
                )
                .await?;
            if status != 200 {
                bail!("import page {start}: {status} {body}");
            }
            let got = body["Resources"].as_array().map_or(0, Vec::len);
            if got == 0 {
                break;
            }
            start += got;
        }
        Some(started.elapsed().as_secs_f64())
    } else {
        None
    };

    let (cl, list) = (client.clone(), ids.clone());
    let delete = rate(sample, c, move |k| {
        let (cl, list) = (cl.clone(), list.clone());
        async move {
            let (status, body) = cl
                .send(Method::DELETE, &format!("/Users/{}", list[k].1), None)
                .await?;
            if status != 204 {
                bail!("delete: {status} {body}");
            }
            Ok(())
        }
    })
    .await?;

    report(
        n,
        from,
        [create, get, filter, put, patch, delete],
        &probes,
        import,
    );
    Ok(())
}

#[allow(clippy::print_stdout)] // the report is the program's output
fn report(n: usize, from: usize, rates: [f64; 6], probes: &[(String, f64)], import: Option<f64>) {
    let [create, get, filter, put, patch, delete] = rates;
    println!("users: {n}");
    println!("create/s (loading {from}..{n}): {create:.0}");
    println!(
        "get/s: {get:.0}  filter userName eq/s: {filter:.0}  put/s: {put:.0}  patch/s: {patch:.0}  delete/s: {delete:.0}"
    );
    for (name, ms) in probes {
        println!("{name}: {ms:.1} ms");
    }
    if let Some(secs) = import {
        println!("full startIndex import (pages of 100): {secs:.1} s");
    }
}
