//! `roster-bench`: drives any SCIM 2.0 base URL through the provisioning lifecycle at a
//! given concurrency, verifies every response, and prints throughput and latency per
//! phase (and the server's peak memory when given its PID).
//!
//! ```sh
//! roster-bench --base-url http://127.0.0.1:8080/scim/v2/acme --token rst_… -n 5000 -c 16
//! ```

mod phases;
mod receiver;
mod report;

use std::time::Duration;

use anyhow::Context;
use clap::Parser;

#[derive(Debug, Parser)]
#[command(name = "roster-bench", about = "SCIM load generator and checker")]
pub struct Args {
    /// The SCIM base URL, e.g. http://127.0.0.1:8080/scim/v2/acme
    #[arg(long)]
    base_url: String,
    /// Bearer token.
    #[arg(long, env = "ROSTER_BENCH_TOKEN")]
    token: String,
    /// Number of users.
    #[arg(short = 'n', long, default_value_t = 5000)]
    users: usize,
    /// Requests in flight at once.
    #[arg(short = 'c', long, default_value_t = 16)]
    concurrency: usize,
    /// Members added per PATCH in the group phase.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// PID of the server, to report its peak resident memory (Linux).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Prefix for user names, so runs against one tenant do not collide.
    #[arg(long, default_value = "bench")]
    prefix: String,
    /// Print the table as Markdown.
    #[arg(long)]
    markdown: bool,
    /// Use the users an earlier run created (same prefix) instead of creating them;
    /// starts with the `get` phase.
    #[arg(long)]
    reuse: bool,
    /// Run only these phases (comma-separated keys as for --stop-after); with --reuse,
    /// to profile one phase alone. Creating users and listing them always run; without
    /// `groups` no group is made (so `--only create,delete` deletes users who belong to
    /// no group), without `members` none is filled.
    #[arg(long)]
    only: Option<String>,
    /// Receive the server's webhooks on this local port and report how fast the
    /// `user.created` events of the create phase arrive (the tenant needs an endpoint
    /// pointing here: `roster webhook create --url http://127.0.0.1:PORT/hooks`).
    #[arg(long)]
    webhook_port: Option<u16>,
    /// Stop after this phase: create, get, filter, put, patch, list, groups, members,
    /// list-groups, delete (for profiling one phase).
    #[arg(long)]
    stop_after: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // HTTPS is never used here, but reqwest wants a provider before building a client.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .timeout(Duration::from_secs(60))
        .build()
        .context("building the HTTP client")?;
    let ctx = phases::Context::new(client, &args);
    let results = phases::run_all(&ctx, &args).await?;
    let peak = args.server_pid.and_then(report::peak_rss_kib);
    report::print(&results, peak, &args);
    let failures: u64 = results.iter().map(|r| r.errors).sum();
    if failures > 0 {
        anyhow::bail!("{failures} request(s) failed verification");
    }
    Ok(())
}
