//! `roster-fairness`: does one tenant's heaviest legal traffic slow another tenant down?
//!
//! Tenant B creates users at a steady concurrency, first alone, then while tenant A
//! sends its heaviest legal requests in a loop; the tool prints B's latency percentiles
//! in both windows, side by side, and the ratio of the p99s.
//!
//! ```sh
//! roster-fairness --base-url http://127.0.0.1:8080/scim/v2 --victim b --victim-token rst_… \
//!     --attacker a --attacker-token rst_… --attack members --seconds 10
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum Attack {
    /// PATCH /Groups adding as many members as a 1 MiB body holds, then removing them.
    Members,
    /// POST /Bulk with 1,000 user creations.
    Bulk,
    /// PATCH /Users with 1,000 operations.
    Patch,
    /// GET /Users with a filter SQL does not decide, over 5,000 users.
    Filter,
}

#[derive(Debug, Parser)]
#[command(name = "roster-fairness")]
struct Args {
    /// The SCIM root without the tenant, e.g. http://127.0.0.1:8080/scim/v2
    #[arg(long)]
    base_url: String,
    #[arg(long)]
    victim: String,
    #[arg(long, env = "ROSTER_FAIRNESS_VICTIM_TOKEN")]
    victim_token: String,
    #[arg(long)]
    attacker: String,
    #[arg(long, env = "ROSTER_FAIRNESS_ATTACKER_TOKEN")]
    attacker_token: String,
    #[arg(long, value_enum, default_value = "members")]
    attack: Attack,
    /// Seconds per window (alone, then under attack).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// The victim's requests in flight.
    #[arg(long, default_value_t = 4)]
    victim_concurrency: usize,
    /// The attacker's requests in flight.
    #[arg(long, default_value_t = 4)]
    attacker_concurrency: usize,
    /// Print a Markdown table row.
    #[arg(long)]
    markdown: bool,
}

#[path = "../client.rs"]
mod client;
use client::Client;

fn user(name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"primary": true, "value": name, "type": "work"}],
        "displayName": "Ada Lovelace",
        "externalId": format!("ext-{name}"),
        "title": "Engineer",
        "active": true
    })
}

fn patch(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

/// Creates users as the victim until `stop`; returns the latency histogram (µs).
async fn victim_window(
    victim: Arc<Client>,
    concurrency: usize,
    seconds: u64,
    tag: &'static str,
    counter: Arc<AtomicU64>,
) -> anyhow::Result<Histogram<u64>> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let victim = victim.clone();
        let counter = counter.clone();
        tasks.push(tokio::spawn(async move {
            let mut histogram = Histogram::<u64>::new(3)?;
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let started = Instant::now();
                let (status, body) = victim
                    .send(
                        reqwest::Method::POST,
                        "/Users",
                        Some(&user(&format!("{tag}-{worker}-{n}@victim.test"))),
                    )
                    .await?;
                if status != 201 {
                    bail!("victim create answered {status}: {body}");
                }
                histogram.record(started.elapsed().as_micros() as u64)?;
            }
            Ok::<_, anyhow::Error>(histogram)
        }));
    }
    let mut all = Histogram::<u64>::new(3)?;
    for task in tasks {
        all.add(task.await??)?;
    }
    Ok(all)
}

type Request = (reqwest::Method, String, Option<Value>);

/// Prepares what the attack needs (users, groups) and returns, for each attacking
/// worker, the requests it loops over — each worker on a resource of its own, so that
/// the attack is not serialised on one resource.
async fn prepare(
    attacker: &Client,
    attack: Attack,
    workers: usize,
) -> anyhow::Result<Vec<Vec<Request>>> {
    let mut out = Vec::new();
    let ids = seed(attacker, attack).await?;
    for worker in 0..workers {
        out.push(requests(attacker, attack, &ids, worker).await?);
    }
    Ok(out)
}

async fn seed(attacker: &Client, attack: Attack) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::new();
    let wanted = match attack {
        Attack::Members => 18_000,
        Attack::Filter => 5_000,
        Attack::Patch => 16,
        Attack::Bulk => 0,
    };
    // Seed in bulk requests of 1,000 creations.
    let mut made = 0;
    while made < wanted {
        let ops: Vec<Value> = (made..(made + 1000).min(wanted))
            .map(|i| json!({"method": "POST", "path": "/Users", "bulkId": format!("u{i}"), "data": user(&format!("seed{i}@attacker.test"))}))
            .collect();
        let (status, body) = attacker
            .send(reqwest::Method::POST, "/Bulk", Some(&json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops})))
            .await?;
        if status != 200 {
            bail!("seeding answered {status}: {body}");
        }
        for op in body["Operations"].as_array().into_iter().flatten() {
            if let Some(location) = op["location"].as_str() {
                ids.push(location.rsplit('/').next().unwrap_or_default().to_owned());
            }
        }
        made += 1000;
    }
    Ok(ids)
}

async fn requests(
    attacker: &Client,
    attack: Attack,
    ids: &[String],
    worker: usize,
) -> anyhow::Result<Vec<Request>> {
    Ok(match attack {
        Attack::Members => {
            let (status, group) = attacker
                .send(
                    reqwest::Method::POST,
                    "/Groups",
                    Some(&json!({"displayName": format!("Everyone {worker}"), "members": []})),
                )
                .await?;
            if status != 201 {
                bail!("group create answered {status}");
            }
            let path = format!("/Groups/{}", group["id"].as_str().context("group id")?);
            let members: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
            let add = patch(json!([{"op": "add", "path": "members", "value": members}]));
            let size = add.to_string().len();
            eprintln!(
                "members attack: {} members per PATCH, {size} bytes",
                ids.len()
            );
            let remove = patch(json!([{"op": "replace", "path": "members", "value": []}]));
            vec![
                (reqwest::Method::PATCH, path.clone(), Some(add)),
                (reqwest::Method::PATCH, path, Some(remove)),
            ]
        }
        Attack::Bulk => {
            let counter = AtomicU64::new(0);
            let ops: Vec<Value> = (0..1000)
                .map(|i| {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    json!({"method": "POST", "path": "/Users", "bulkId": format!("b{i}"), "data": user(&format!("bulk{n}-{{}}@attacker.test"))})
                })
                .collect();
            vec![(
                reqwest::Method::POST,
                "/Bulk".to_owned(),
                Some(
                    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops}),
                ),
            )]
        }
        Attack::Patch => {
            let path = format!("/Users/{}", ids.get(worker).context("a user")?);
            let ops: Vec<Value> = (0..1000)
                .map(|i| json!({"op": "replace", "path": "title", "value": format!("T{i}")}))
                .collect();
            vec![(reqwest::Method::PATCH, path, Some(patch(Value::Array(ops))))]
        }
        Attack::Filter => vec![(
            reqwest::Method::GET,
            "/Users?filter=name.familyName%20eq%20%22Nobody%22".to_owned(),
            None,
        )],
    })
}

fn row(h: &Histogram<u64>) -> (f64, f64, f64, u64) {
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    (ms(0.5), ms(0.99), h.max() as f64 / 1000.0, h.len())
}

#[tokio::main]
#[allow(clippy::print_stdout)] // the table is the program's output
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(32)
        .timeout(Duration::from_secs(120))
        .build()?;
    let root = args.base_url.trim_end_matches('/');
    let victim = Arc::new(Client {
        http: http.clone(),
        base: format!("{root}/{}", args.victim),
        token: args.victim_token.clone(),
    });
    let attacker = Arc::new(Client {
        http,
        base: format!("{root}/{}", args.attacker),
        token: args.attacker_token.clone(),
    });
    let requests = Arc::new(prepare(&attacker, args.attack, args.attacker_concurrency).await?);
    let counter = Arc::new(AtomicU64::new(0));

    // Warm up, then B alone.
    victim_window(
        victim.clone(),
        args.victim_concurrency,
        1,
        "warm",
        counter.clone(),
    )
    .await?;
    let alone = victim_window(
        victim.clone(),
        args.victim_concurrency,
        args.seconds,
        "alone",
        counter.clone(),
    )
    .await?;

    // B while A attacks.
    let stop = Arc::new(AtomicBool::new(false));
    let attacks = Arc::new(AtomicU64::new(0));
    let mut attackers = Vec::new();
    for worker in 0..args.attacker_concurrency {
        let (attacker, requests, stop, attacks) = (
            attacker.clone(),
            requests.clone(),
            stop.clone(),
            attacks.clone(),
        );
        attackers.push(tokio::spawn(async move {
            let mut i = worker;
            while !stop.load(Ordering::Relaxed) {
                let mine = &requests[worker];
                let (method, path, body) = &mine[i % mine.len()];
                let body = body.as_ref().map(|b| {
                    // Bulk creations need fresh names every time.
                    let text = b.to_string().replace("{}", &format!("{worker}-{i}"));
                    serde_json::from_str::<Value>(&text).unwrap_or(Value::Null)
                });
                let (status, answer) = attacker.send(method.clone(), path, body.as_ref()).await?;
                if status >= 500 {
                    bail!("attack request answered {status}: {answer}");
                }
                attacks.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let under = victim_window(
        victim.clone(),
        args.victim_concurrency,
        args.seconds,
        "under",
        counter.clone(),
    )
    .await?;
    stop.store(true, Ordering::Relaxed);
    for task in attackers {
        task.await??;
    }

    let (a50, a99, amax, an) = row(&alone);
    let (u50, u99, umax, un) = row(&under);
    let ratio = u99 / a99.max(0.001);
    if args.markdown {
        println!(
            "| {:?} | {a50:.2} / {a99:.2} / {amax:.1} ({an}) | {u50:.2} / {u99:.2} / {umax:.1} ({un}) | {:.1}× | {} |",
            args.attack,
            ratio,
            attacks.load(Ordering::Relaxed)
        );
    } else {
        println!(
            "victim alone:        p50 {a50:.2} ms  p99 {a99:.2} ms  max {amax:.1} ms  ({an} creates)"
        );
        println!(
            "victim under attack: p50 {u50:.2} ms  p99 {u99:.2} ms  max {umax:.1} ms  ({un} creates)"
        );
        println!(
            "p99 ratio: {ratio:.1}×   attack requests completed: {}",
            attacks.load(Ordering::Relaxed)
        );
    }
    Ok(())
}
