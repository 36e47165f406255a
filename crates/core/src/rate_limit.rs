//! Per-token request rate limits: a token bucket per SCIM token, in this node's memory.
//!
//! The rate comes from the tenant (`tenants.scim_rate_limit`) or the server default; the
//! bucket holds the configured burst (`ROSTER_SCIM_RATE_BURST`, 1,000 requests by
//! default), and never less than two seconds' worth of the rate, so that the bursts of
//! identity providers (an Okta import, Entra's first cycle) and of conformance suites
//! pass while a token that keeps sending faster than its rate is slowed down.
//! With several nodes each enforces the limit on the requests it sees; the load balancer
//! spreads a token's requests, so the effective limit is at most nodes × rate — an
//! accepted approximation for a safety valve, documented in docs/operations.md.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::tokens::TokenId;

/// The smallest bucket, in seconds of the rate.
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
    /// The bucket's size in requests (at least two seconds of the rate).
    burst: f64,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl RateLimiter {
    /// A limiter whose buckets hold two seconds of the rate.
    pub fn new() -> Self {
        Self::with_burst(0)
    }

    /// A limiter whose buckets hold `burst` requests, or two seconds of the rate when
    /// that is more.
    pub fn with_burst(burst: u32) -> Self {
        Self {
            buckets: Mutex::new(HashMap::new()),
            burst: f64::from(burst),
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
        let capacity = (rate * BURST_SECONDS).max(self.burst).max(1.0);
        let now = Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else {
            // A poisoned lock means a panic elsewhere; fail open rather than refuse all.
            return Ok(());
        };
        if buckets.len() > 100_000 {
            // Bounded memory: drop buckets that have refilled completely.
            // Drop buckets idle long enough to have refilled at any rate of 1/s or more.
            let full_after = capacity.max(BURST_SECONDS);
            buckets.retain(|_, b| now.duration_since(b.updated).as_secs_f64() < full_after);
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

    #[test]
    fn the_burst_is_the_configured_size_or_two_seconds_of_the_rate() {
        let limiter = RateLimiter::with_burst(10);
        let token = TokenId(uuid::Uuid::nil());
        for _ in 0..10 {
            assert!(limiter.check(token, 1).is_ok());
        }
        assert!(limiter.check(token, 1).is_err());
        let other = TokenId(uuid::Uuid::max());
        for _ in 0..40 {
            assert!(limiter.check(other, 20).is_ok(), "two seconds of 20/s");
        }
        assert!(limiter.check(other, 20).is_err());
    }
}
