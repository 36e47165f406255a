//! Per-token request rate limits: a token bucket per SCIM token, in this node's memory.
//!
//! The rate comes from the tenant (`tenants.scim_rate_limit`) or the server default; the
//! bucket holds two seconds' worth of requests so short bursts (Okta's imports) pass.
//! With several nodes each enforces the limit on the requests it sees; the load balancer
//! spreads a token's requests, so the effective limit is at most nodes × rate — an
//! accepted approximation for a safety valve, documented in docs/operations.md.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::tokens::TokenId;

const BURST_SECONDS: f64 = 2.0;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Decides whether a request may proceed now.
#[derive(Debug)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<TokenId, Bucket>>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl RateLimiter {
    pub fn new() -> Self {
        Self {
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from the token's bucket, refilled at `per_second`. `0` means
    /// unlimited. On refusal returns how long until a request would pass, rounded up
    /// to whole seconds (Okta honours an integer `Retry-After`).
    pub fn check(&self, token: TokenId, per_second: u32) -> Result<(), Duration> {
        if per_second == 0 {
            return Ok(());
        }
        let rate = f64::from(per_second);
        let capacity = (rate * BURST_SECONDS).max(1.0);
        let now = Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else {
            // A poisoned lock means a panic elsewhere; fail open rather than refuse all.
            return Ok(());
        };
        if buckets.len() > 100_000 {
            // Bounded memory: drop buckets that have refilled completely.
            buckets.retain(|_, b| now.duration_since(b.updated).as_secs_f64() < BURST_SECONDS);
        }
        let bucket = buckets.entry(token).or_insert(Bucket {
            tokens: capacity,
            updated: now,
        });
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - bucket.tokens) / rate).ceil().max(1.0);
            Err(Duration::from_secs_f64(wait))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_requests_wait_whole_seconds() {
        let limiter = RateLimiter::new();
        let token = TokenId(uuid::Uuid::nil());
        for _ in 0..4 {
            assert!(limiter.check(token, 2).is_ok());
        }
        let wait = limiter.check(token, 2).unwrap_err();
        assert_eq!(wait, Duration::from_secs(1));
        assert!(limiter.check(token, 0).is_ok(), "0 is unlimited");
    }
}
