//! Integration tests: the real application on port 0 against a fresh database — SQLite,
//! or PostgreSQL when the test command sets `ROSTER_TEST_DATABASE_URL`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod account_upgrade;
mod admin_api_keys;
mod admin_audit;
mod admin_browser;
mod admin_browser_rules;
mod admin_browser_setup;
mod admin_browser_webhooks;
mod admin_cli;
mod admin_diagnostics;
mod admin_forms;
mod admin_http;
mod admin_import;
mod admin_pages;
mod admin_policy;
mod admin_rules;
mod admin_setup;
mod admin_support;
mod admin_webhook_extras;
mod admin_webhooks;
mod api;
mod api_directory;
mod api_seed;
mod attacks;
mod binary;
mod cli;
mod cli_backup;
mod compose;
mod health;
mod observability;
mod observability_metrics;
mod rules;
mod scim;
mod storage;
mod webhooks;
mod webhooks_nodes;
mod wire_format;
