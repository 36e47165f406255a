//! The signatures of a delivery, in two forms side by side:
//!
//! - `Roster-Signature`: HMAC-SHA256 over `<timestamp>.<body>`, keyed with the whole
//!   secret text; `t=<unix seconds>,v1=<hex>`, one `v1=` per secret while a rotated secret
//!   overlaps, the current one first.
//! - Standard Webhooks (<https://www.standardwebhooks.com>): `webhook-id` (the event id),
//!   `webhook-timestamp` (unix seconds) and `webhook-signature`, `v1,<base64 HMAC-SHA256
//!   of "<id>.<timestamp>.<body>">` keyed with the bytes the secret's base64 encodes
//!   (after `whsec_`), space-separated per secret — what that specification's ready-made
//!   verifiers check.
//!
//! A receiver accepts the request when any signature matches a secret it holds and the
//! timestamp is recent (docs/webhooks.md has worked examples of both).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub const SIGNATURE_HEADER: &str = "Roster-Signature";
/// Standard Webhooks' headers.
pub const STANDARD_ID_HEADER: &str = "webhook-id";
pub const STANDARD_TIMESTAMP_HEADER: &str = "webhook-timestamp";
pub const STANDARD_SIGNATURE_HEADER: &str = "webhook-signature";

/// The key Standard Webhooks derives from a secret: the bytes its base64 (after
/// `whsec_`) encodes. Secrets made before Roster generated standard base64 are base64url
/// and decode as such; a secret that is no base64 at all (written by hand) keys with its
/// text.
pub fn standard_key(secret: &str) -> Vec<u8> {
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(encoded).ok())
        .unwrap_or_else(|| encoded.as_bytes().to_vec())
}

/// The `webhook-signature` value for `<id>.<timestamp>.<body>` under each secret.
pub fn standard_signature<'a>(
    secrets: impl IntoIterator<Item = &'a str>,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    let mut parts = Vec::new();
    for secret in secrets {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&standard_key(secret)) else {
            continue;
        };
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        parts.push(format!(
            "v1,{}",
            STANDARD.encode(mac.finalize().into_bytes())
        ));
    }
    parts.join(" ")
}

/// The hex HMAC-SHA256 of `<timestamp>.<body>` under `secret`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The header value for a body signed at `timestamp` with each of `secrets`.
pub fn header_value<'a>(
    secrets: impl IntoIterator<Item = &'a str>,
    timestamp: i64,
    body: &[u8],
) -> String {
    let mut value = format!("t={timestamp}");
    for secret in secrets {
        value.push_str(",v1=");
        value.push_str(&signature(secret, timestamp, body));
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of docs/webhooks.md (computed independently with Python's
    /// `hmac`); if this changes, the guide is wrong.
    #[test]
    fn documented_example() {
        let body = br#"{"id":"0193a0b2-7c1e-7f00-8000-000000000001","type":"user.created"}"#;
        assert_eq!(
            header_value(["whsec_example"], 1_767_225_600, body),
            "t=1767225600,v1=288fe466423a155533028ce7172578ce6a2e91005054d39705c893adf478fcca"
        );
        assert_eq!(
            signature("key", 1, b"x"),
            "fc4913c41a7bf793267e2a384f3261c9436ec2cd097bd745e7b0d99113f510ec"
        );
    }

    /// The Standard Webhooks example of docs/webhooks.md, checked against the
    /// specification's published test vector (its reference libraries verify it).
    #[test]
    fn standard_webhooks_test_vector() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            standard_signature([secret], id, 1_614_265_330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        // A base64url secret (older endpoints) keys with the same bytes.
        assert_eq!(
            standard_key("whsec_-_8"),
            standard_key("whsec_+/8"),
            "both alphabets decode"
        );
        assert_eq!(standard_key("whsec_not base64!"), b"not base64!".to_vec());
    }

    #[test]
    fn overlapping_secrets_sign_twice() {
        let header = header_value(["new", "old"], 5, b"{}");
        let parts: Vec<&str> = header.split(',').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[1], format!("v1={}", signature("new", 5, b"{}")));
        assert_eq!(parts[2], format!("v1={}", signature("old", 5, b"{}")));
    }
}
