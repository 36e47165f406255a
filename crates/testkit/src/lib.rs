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

/// A plain HTTP client for tests (the process's TLS provider installed first).
pub fn http_client() -> reqwest::Client {
    roster_core::delivery::install_crypto_provider();
    reqwest::Client::new()
}
