//! Sign-in throttling and trusted devices as stored.
