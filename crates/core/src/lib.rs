//! Roster's services: tenants, admins, tokens, provisioning — everything the SCIM
//! endpoint, the admin UI and the API call.
//!
//! Architecture invariant: this crate knows nothing of HTTP. It takes parsed domain values
//! (newtypes with one fallible constructor), applies the rules, and talks to the database
//! through SeaORM; what differs between SQLite and PostgreSQL lives in [`store`] only
//! (`tests/layering.rs` checks it). Handlers in `roster-web` are thin wrappers around
//! these calls.

pub mod admins;
pub mod api;
pub mod audit;
pub mod connection_log;
pub mod cpu;
pub mod crypto;
pub mod delivery;
pub mod directory;
mod directory_search;
pub mod error;
pub mod files;
pub mod formats;
pub mod hashing;
pub mod idp;
pub mod invitations;
pub mod memberships;
pub mod metrics;
pub mod operations;
pub mod outbox;
pub mod paging;
pub mod provisioning;
pub mod rate_limit;
pub mod rules;
pub mod secrets;
pub mod services;
pub mod sessions;
pub mod setup_links;
pub mod store;
pub mod tenants;
pub mod throttle;
pub mod time;
pub mod token_auth;
pub mod tokens;

pub use error::{Error, Result};
pub use services::{CoreConfig, Services};
pub use store::{Backend, Database, DatabaseOptions, DatabaseUrl};
