//! Test support: a fresh database per test and the real application on port 0.
//!
//! The database is SQLite in a temporary directory, or — when `ROSTER_TEST_DATABASE_URL`
//! names a PostgreSQL database — a new schema in it, reached through `search_path`, so
//! tests run side by side without seeing each other's rows.
//!
//! This is test code: failing to set up the environment is a test failure, so it panics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod app;
mod db;
mod receiver;

pub use app::{TestApp, TestAppBuilder, spawn_app};
pub use db::TestDatabase;
pub use receiver::{Received, Receiver};

/// The secret key of every test node (`ROSTER_SECRET_KEY` of the binary in tests, the
/// keyring of [`TestApp`]), so that nodes and command-line runs on one database agree.
pub const TEST_SECRET_KEY: &str = "cm9zdGVyLXRlc3Qtc2VjcmV0LWtleS0zMi1ieXRlcyE=";

/// The allow-list that lets webhooks reach [`Receiver`]s (they listen on 127.0.0.1).
pub const LOCAL_RECEIVERS: &str = "127.0.0.1/32";

/// The keyring of [`TEST_SECRET_KEY`].
pub fn test_keyring() -> roster_core::secrets::Keyring {
    roster_core::secrets::Keyring::new(
        roster_core::secrets::SecretKey::parse(TEST_SECRET_KEY).unwrap(),
        None,
    )
}

/// A plain HTTP client for tests (the process's TLS provider installed first).
pub fn http_client() -> reqwest::Client {
    roster_core::delivery::install_crypto_provider();
    reqwest::Client::new()
}
