//! Results: a table per phase, and the server's peak memory.

use std::time::Duration;

use hdrhistogram::Histogram;

use crate::Args;

pub struct PhaseResult {
    pub name: &'static str,
    pub unit: &'static str,
    pub ops: u64,
    pub errors: u64,
    pub elapsed: Duration,
    pub latency_us: Histogram<u64>,
    pub first_error: Option<String>,
}

impl PhaseResult {
    pub fn rate(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn percentile_ms(&self, q: f64) -> f64 {
        self.latency_us.value_at_quantile(q) as f64 / 1000.0
    }
}

/// `VmHWM` of a process: its peak resident set, in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

#[allow(clippy::print_stdout)]
pub fn print(results: &[PhaseResult], peak_kib: Option<u64>, args: &Args) {
    println!(
        "\nroster-bench: {} users, concurrency {}, batch {}",
        args.users, args.concurrency, args.batch
    );
    if args.markdown {
        println!("\n| phase | ops | rate | p50 ms | p99 ms | errors |");
        println!("|---|---:|---:|---:|---:|---:|");
    } else {
        println!(
            "\n{:<34} {:>7} {:>14} {:>8} {:>8} {:>7}",
            "phase", "ops", "rate", "p50 ms", "p99 ms", "errors"
        );
    }
    for r in results {
        let rate = format!("{:.0} {}/s", r.rate(), r.unit);
        if args.markdown {
            println!(
                "| {} | {} | {} | {:.2} | {:.2} | {} |",
                r.name,
                r.ops,
                rate,
                r.percentile_ms(0.5),
                r.percentile_ms(0.99),
                r.errors
            );
        } else {
            println!(
                "{:<34} {:>7} {:>14} {:>8.2} {:>8.2} {:>7}",
                r.name,
                r.ops,
                rate,
                r.percentile_ms(0.5),
                r.percentile_ms(0.99),
                r.errors
            );
        }
    }
    for r in results {
        if let Some(err) = &r.first_error {
            println!("first error in {}: {err}", r.name);
        }
    }
    match peak_kib {
        Some(kib) => println!(
            "\nserver peak memory (VmHWM): {:.1} MB",
            kib as f64 / 1024.0
        ),
        None => println!("\nserver peak memory: not measured (pass --server-pid)"),
    }
}
