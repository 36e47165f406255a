//! Downstream delivery: what the product behind Roster learns of each change.
//!
//! - the outbox's sequencer ([`crate::outbox::sequencer`]) numbers committed events and
//!   creates their deliveries; the worker runs it each round.
//! - [`worker`] runs in every node: claims due deliveries under a lease (`FOR UPDATE SKIP
//!   LOCKED` on PostgreSQL, from the store), POSTs them signed, and records the outcome with retries and
//!   exponential backoff; a resource's deliveries go to an endpoint in order.
//! - [`webhooks`] is the admin side: endpoints, secrets, deliveries, redelivery.
//! - [`client`] sends one signed request and reads its answer within bounds.
//! - [`signing`] is the `Roster-Signature` header.
//! - [`egress`] is where webhooks may go: public addresses and the operator's allowed
//!   networks, never loopback, private, link-local or metadata addresses by default.
//! - [`at_rest`] seals signing secrets stored in clear, checks the keys at startup and
//!   re-seals everything under a new key.

pub mod at_rest;
pub mod client;
pub mod egress;
mod inspect;
pub mod signing;
pub mod webhooks;
pub mod worker;

use std::time::Duration;

use crate::time::Timestamp;

pub use at_rest::{AtRestError, Rotation, SecretsAtRest};
pub use egress::EgressPolicy;
pub use webhooks::{
    Delivery, DeliveryStatus, EndpointForm, EndpointId, TestOutcome, WebhookEndpoint,
    WebhookService,
};
pub use worker::DeliveryWorker;

/// How the worker delivers; the defaults suit production, tests shorten the delays.
#[derive(Clone, Debug)]
pub struct DeliverySettings {
    /// Whether this node runs the worker at all.
    pub enabled: bool,
    /// How often an idle worker looks for new events.
    pub poll_interval: Duration,
    /// Deliveries claimed at a time.
    pub batch: u32,
    /// Requests in flight at once per node.
    pub concurrency: usize,
    /// One request's time limit (connect, send, response).
    pub timeout: Duration,
    /// The first retry's delay; each later retry doubles it, with ±20% jitter.
    pub retry_base: Duration,
    /// The longest delay between two attempts.
    pub retry_max: Duration,
    /// How long after the event a delivery is retried before it is marked failed.
    pub give_up_after: Duration,
    /// How long finished (delivered or failed) deliveries stay in the history; `None` =
    /// forever.
    pub retention: Option<Duration>,
    /// How often a worker removes finished deliveries older than `retention`.
    pub prune_interval: Duration,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            enabled: true,
            poll_interval: Duration::from_millis(200),
            batch: 500,
            concurrency: 64,
            timeout: Duration::from_secs(10),
            retry_base: Duration::from_secs(10),
            retry_max: Duration::from_secs(3600),
            give_up_after: Duration::from_secs(24 * 3600),
            retention: Some(Duration::from_secs(30 * 24 * 3600)),
            prune_interval: Duration::from_secs(600),
        }
    }
}

impl DeliverySettings {
    /// The delay before attempt `attempts + 1`, after `attempts` failures, with jitter
    /// `jitter` in [0, 1) spreading it over ±20%.
    pub fn backoff(&self, attempts: u32, jitter: f64) -> Duration {
        let exponent = attempts.saturating_sub(1).min(30);
        let base = self
            .retry_base
            .saturating_mul(1u32 << exponent)
            .min(self.retry_max);
        base.mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0))
    }

    /// How long a claimed delivery stays with its worker before another may take it.
    fn lease(&self) -> Duration {
        self.timeout.saturating_mul(3).max(Duration::from_secs(30))
    }
}

/// The JSON an event is delivered and listed as.
pub fn event_json(
    event_id: uuid::Uuid,
    event_type: &str,
    tenant_slug: &str,
    occurred_at: i64,
    payload: &str,
) -> String {
    // `payload` is JSON written by Roster itself; the rest is escaped here.
    format!(
        r#"{{"id":"{event_id}","type":{},"tenant":{},"occurred_at":"{}","data":{payload}}}"#,
        json_string(event_type),
        json_string(tenant_slug),
        Timestamp::from_micros(occurred_at).to_rfc3339(),
    )
}

fn json_string(value: &str) -> String {
    serde_json::Value::from(value).to_string()
}

/// Installs the process's TLS crypto provider (ring) for outgoing HTTPS, once; every
/// `reqwest` client in the process needs it before it is built.
pub fn install_crypto_provider() {
    // Fails only when a provider is installed already, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_bounded_jitter() {
        let settings = DeliverySettings {
            retry_base: Duration::from_secs(10),
            retry_max: Duration::from_secs(60),
            ..DeliverySettings::default()
        };
        assert_eq!(settings.backoff(1, 0.5), Duration::from_secs(10));
        assert_eq!(settings.backoff(2, 0.5), Duration::from_secs(20));
        assert_eq!(settings.backoff(3, 0.5), Duration::from_secs(40));
        assert_eq!(settings.backoff(4, 0.5), Duration::from_secs(60));
        assert_eq!(settings.backoff(40, 0.5), Duration::from_secs(60));
        assert_eq!(settings.backoff(1, 0.0), Duration::from_secs(8));
    }

    #[test]
    fn event_json_is_valid_json_with_escaped_fields() {
        let id = uuid::Uuid::nil();
        let text = event_json(id, "user.created", "ac\"me", 0, r#"{"user":{"id":"x"}}"#);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["tenant"], "ac\"me");
        assert_eq!(value["type"], "user.created");
        assert_eq!(value["occurred_at"], "1970-01-01T00:00:00Z");
        assert_eq!(value["data"]["user"]["id"], "x");
    }
}
