//! The `Roster-Signature` header: HMAC-SHA256 over `<timestamp>.<body>`.
//!
//! `t=<unix seconds>,v1=<hex>`; while a rotated secret overlaps, one `v1=` per secret,
//! the current one first. A receiver accepts the request when any `v1` matches a secret
//! it holds and `t` is recent (docs/webhooks.md has a worked example).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub const SIGNATURE_HEADER: &str = "Roster-Signature";

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

    #[test]
    fn overlapping_secrets_sign_twice() {
        let header = header_value(["new", "old"], 5, b"{}");
        let parts: Vec<&str> = header.split(',').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[1], format!("v1={}", signature("new", 5, b"{}")));
        assert_eq!(parts[2], format!("v1={}", signature("old", 5, b"{}")));
    }
}
