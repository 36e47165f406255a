//! Per-token request rate limits: a token bucket per SCIM token or API key, in this
//! node's memory. [`Admission`] applies them to an authenticated request, the same way
//! for the SCIM endpoint and the API.
//!
//! The rate comes from the tenant (`tenants.scim_rate_limit`) or the server default; the
//! bucket holds `ROSTER_SCIM_RATE_BURST_SECS` seconds of it (10 by default: 1,000
//! requests at the default rate), so that the bursts of identity providers (an Okta
//! import, Entra's first cycle) and of conformance suites pass, while a token that keeps
//! sending faster than its rate is slowed down to it.
//! With several nodes each enforces the limit on the requests it sees; the load balancer
//! spreads a token's requests, so the effective limit is at most nodes × rate — an
//! accepted approximation for a safety valve, documented in docs/operations.md.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::token_auth::AuthenticatedToken;
use crate::tokens::TokenId;

/// The bucket of [`RateLimiter::new`], in seconds of the rate.
const BURST_SECONDS: f64 = 2.0;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// How long a refused caller should wait before trying again, in whole seconds: the
/// `Retry-After` of the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryAfter(Duration);

impl RetryAfter {
    pub fn duration(self) -> Duration {
        self.0
    }
}

/// Whether an authenticated request may proceed now: one rule for every surface a token
/// opens (SCIM, the API), so their limits cannot diverge.
#[derive(Debug)]
pub struct Admission {
    limiter: RateLimiter,
    /// Requests per second of a token whose tenant sets no rate of its own.
    default_rate: u32,
}

impl Admission {
    pub fn new(limiter: RateLimiter, default_rate: u32) -> Self {
        Self {
            limiter,
            default_rate,
        }
    }

    /// Takes one request from the token's bucket, at its tenant's rate or the server's
    /// default; refused, says when to come back.
    pub fn admit(&self, token: &AuthenticatedToken) -> Result<(), RetryAfter> {
        let rate = token.rate_limit().unwrap_or(self.default_rate);
        self.limiter
            .check(token.token_id(), rate)
            .map_err(RetryAfter)
    }
}

/// Decides whether a request may proceed now.
#[derive(Debug)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<TokenId, Bucket>>,
    /// The bucket's size in seconds of the rate.
    burst_seconds: f64,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl RateLimiter {
    /// A limiter whose buckets hold two seconds of the rate.
    pub fn new() -> Self {
        Self::with_burst_seconds(BURST_SECONDS)
    }

    /// A limiter whose buckets hold `seconds` of the rate (at least one request).
    pub fn with_burst_seconds(seconds: f64) -> Self {
        Self {
            buckets: Mutex::new(HashMap::new()),
            burst_seconds: seconds.max(0.0),
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
        let capacity = (rate * self.burst_seconds).max(1.0);
        let now = Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else {
            // A poisoned lock means a panic elsewhere; fail open rather than refuse all.
            return Ok(());
        };
        if buckets.len() > 100_000 {
            // Bounded memory: drop buckets that have refilled completely.
            // Drop buckets idle long enough to have refilled completely.
            let full_after = self.burst_seconds.max(1.0);
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
    fn the_bucket_holds_the_configured_seconds_of_the_rate() {
        let limiter = RateLimiter::with_burst_seconds(10.0);
        let token = TokenId(uuid::Uuid::nil());
        for _ in 0..10 {
            assert!(limiter.check(token, 1).is_ok());
        }
        assert!(limiter.check(token, 1).is_err());
        let other = TokenId(uuid::Uuid::max());
        for _ in 0..200 {
            assert!(limiter.check(other, 20).is_ok(), "ten seconds of 20/s");
        }
        assert!(limiter.check(other, 20).is_err());
    }
}
