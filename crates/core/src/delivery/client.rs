//! The webhook HTTP client: one signed POST, its answer read within bounds, and the
//! outcome in words an admin can act on. The worker and "send test event" both use it.
//!
//! A receiver is chosen by a tenant admin, so its answer is hostile input: the body of
//! an answer is read only when it is an error, at most [`READ_LIMIT`] bytes and for at
//! most [`READ_TIME`], then the connection is dropped; of that, at most
//! [`EXCERPT_CHARS`] characters of text are kept for the admin to read. A receiver that
//! streams gigabytes, or trickles a byte a second, costs a node a few KiB and a few
//! seconds.

use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::egress::{self, EgressPolicy};
use super::signing::{
    SIGNATURE_HEADER, STANDARD_ID_HEADER, STANDARD_SIGNATURE_HEADER, STANDARD_TIMESTAMP_HEADER,
    header_value, standard_signature,
};
use super::{DeliverySettings, TestOutcome};
use crate::time::Timestamp;

/// The most of an answer's body that is read.
pub const READ_LIMIT: usize = 4 * 1024;
/// The longest an answer's body is read for (the request's own timeout bounds it too).
pub const READ_TIME: Duration = Duration::from_secs(2);
/// The most of an answer's text that is kept and shown.
pub const EXCERPT_CHARS: usize = 200;

/// One signed POST, ready to send: a delivery's attempt or a test event.
pub(crate) struct Request {
    pub url: String,
    pub body: String,
    /// The secrets to sign with, the current one first.
    pub secrets: Vec<SecretString>,
    pub event_id: Uuid,
    pub event_type: String,
    /// Which attempt this is, from 1.
    pub attempt: i32,
    /// When it is sent (the signature's `t`), from the node's clock.
    pub sent_at: Timestamp,
}

/// The HTTP client of webhook requests and the policy it obeys. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct WebhookClient {
    http: reqwest::Client,
    policy: Arc<EgressPolicy>,
}

impl WebhookClient {
    /// No redirects (a receiver's URL is exact), the configured timeout, TLS with the
    /// platform's roots, names resolved without the addresses the policy refuses.
    /// `idle_per_host` is how many kept-alive connections per receiver it pools.
    pub(crate) fn new(
        settings: &DeliverySettings,
        policy: Arc<EgressPolicy>,
        idle_per_host: usize,
    ) -> Self {
        super::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Roster-Webhooks/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(idle_per_host)
            .dns_resolver(egress::GuardedResolver::new(policy.clone()))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self { http, policy }
    }

    /// POSTs a request with its signature and event headers; 2xx is success, anything
    /// else an error in words an admin can act on.
    pub(crate) async fn post(&self, request: Request) -> TestOutcome {
        let allowed =
            url::Url::parse(&request.url).is_ok_and(|url| self.policy.allows_address_literal(&url));
        if !allowed {
            return TestOutcome {
                status_code: None,
                error: Some(egress::RefusedAddress.to_string()),
            };
        }
        let timestamp = request.sent_at.as_micros() / 1_000_000;
        let signature = header_value(
            request.secrets.iter().map(|secret| secret.expose_secret()),
            timestamp,
            request.body.as_bytes(),
        );
        let event_id = request.event_id.to_string();
        let standard = standard_signature(
            request.secrets.iter().map(|secret| secret.expose_secret()),
            &event_id,
            timestamp,
            request.body.as_bytes(),
        );
        let response = self
            .http
            .post(&request.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .header("Roster-Event-Id", request.event_id.to_string())
            .header("Roster-Event-Type", &request.event_type)
            .header("Roster-Delivery-Attempt", request.attempt.to_string())
            .header("Idempotency-Key", &event_id)
            .header(STANDARD_ID_HEADER, &event_id)
            .header(STANDARD_TIMESTAMP_HEADER, timestamp.to_string())
            .header(STANDARD_SIGNATURE_HEADER, standard)
            .body(request.body)
            .send()
            .await;
        match response {
            // The body of a success is never read: dropping the response closes the
            // connection if the receiver sent one.
            Ok(response) if response.status().is_success() => TestOutcome {
                status_code: Some(response.status().as_u16()),
                error: None,
            },
            Ok(response) => {
                let status = response.status();
                let detail = excerpt_of(response).await;
                TestOutcome {
                    status_code: Some(status.as_u16()),
                    error: Some(match detail {
                        Some(detail) => format!("the endpoint answered {status}: {detail}"),
                        None => format!("the endpoint answered {status}"),
                    }),
                }
            }
            Err(err) => TestOutcome {
                status_code: None,
                error: Some(describe_error(&err)),
            },
        }
    }
}

/// Reads at most [`READ_LIMIT`] bytes of an error answer for at most [`READ_TIME`],
/// drops the rest with the connection, and keeps a short text excerpt.
async fn excerpt_of(mut response: reqwest::Response) -> Option<String> {
    let textual = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_none_or(is_textual);
    if !textual {
        return None;
    }
    let mut read = Vec::with_capacity(READ_LIMIT.min(1024));
    let deadline = tokio::time::Instant::now() + READ_TIME;
    while read.len() < READ_LIMIT {
        match tokio::time::timeout_at(deadline, response.chunk()).await {
            Ok(Ok(Some(chunk))) => {
                let room = READ_LIMIT - read.len();
                read.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            // The end, a broken body, or time up: keep what arrived.
            Ok(Ok(None) | Err(_)) | Err(_) => break,
        }
    }
    drop(response);
    excerpt(&read)
}

/// Whether a `Content-Type` is text a person can read.
fn is_textual(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence.starts_with("text/")
        || matches!(
            essence.as_str(),
            "application/json" | "application/xml" | "application/x-www-form-urlencoded"
        )
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
}

/// At most [`EXCERPT_CHARS`] characters of `bytes` as one line of text; `None` when they
/// are empty or not UTF-8 text (a character cut off at the end of what was read is
/// dropped, anything else invalid means binary).
pub(crate) fn excerpt(bytes: &[u8]) -> Option<String> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) if err.error_len().is_none() => {
            std::str::from_utf8(&bytes[..err.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return None,
    };
    let mut line = String::new();
    let mut chars = 0;
    for word in text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|word| !word.is_empty())
    {
        if !line.is_empty() {
            line.push(' ');
            chars += 1;
        }
        for c in word.chars() {
            if chars >= EXCERPT_CHARS {
                line.push('…');
                return Some(line);
            }
            line.push(c);
            chars += 1;
        }
    }
    (!line.is_empty()).then_some(line)
}

/// A transport error in words an admin can act on (no URL: it may carry credentials).
fn describe_error(err: &reqwest::Error) -> String {
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<egress::RefusedAddress>() {
            return refused.to_string();
        }
        source = cause.source();
    }
    if err.is_timeout() {
        "the endpoint did not answer in time".to_owned()
    } else if err.is_connect() {
        "could not connect to the endpoint".to_owned()
    } else if err.is_redirect() {
        "the endpoint answered with a redirect; webhooks do not follow redirects".to_owned()
    } else {
        let mut text = err.to_string();
        if let Some(url) = err.url() {
            text = text.replace(url.as_str(), "the endpoint");
        }
        format!("the request failed: {text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_short_single_line_text() {
        assert_eq!(
            excerpt(b"{\"error\":\n\t\"nope\"}\r\n").as_deref(),
            Some("{\"error\": \"nope\"}")
        );
        assert_eq!(excerpt(b""), None);
        assert_eq!(excerpt(b" \n\t "), None);
        assert_eq!(excerpt(b"\x1b[31mred\x07"), Some("[31mred".to_owned()));
        assert_eq!(excerpt(&[0xff, 0xfe, 0x00, 0x01]), None, "binary");
        let long = "é".repeat(3000);
        let cut = excerpt(long.as_bytes()).unwrap_or_default();
        assert_eq!(cut.chars().count(), EXCERPT_CHARS + 1);
        assert!(cut.ends_with('…'));
        // A character cut in half at the end of what was read is dropped, not binary.
        let half = &"aé".as_bytes()[..2];
        assert_eq!(excerpt(half).as_deref(), Some("a"));
    }

    #[test]
    fn only_text_content_types_are_excerpted() {
        for textual in [
            "text/plain",
            "text/html; charset=utf-8",
            "application/json",
            "application/problem+json",
            "Application/JSON",
            "application/soap+xml",
        ] {
            assert!(is_textual(textual), "{textual}");
        }
        for binary in [
            "application/octet-stream",
            "image/png",
            "application/pdf",
            "",
        ] {
            assert!(!is_textual(binary), "{binary}");
        }
    }
}
