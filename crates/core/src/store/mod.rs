//! The store: the one layer of `roster-core` that knows SQL, SeaORM and the two databases.
//!
//! - [`db`]: the [`Database`] handle — pools, migrations, readiness, and every statement
//!   whose text differs between SQLite and PostgreSQL (advisory and row locks, `SKIP
//!   LOCKED`, `VACUUM INTO`, pool statistics, placeholders).
//! - `raw`: what differs between the two in statements the services run, asked for by
//!   purpose (`Database::raw`, `skip_locked`, `lock_rows`, `try_advisory_xact_lock`,
//!   `pool_stats`).
//! - [`backlog`]: the outbox's and the deliveries' backlog, for `/metrics`.
//! - [`writes`]: a batch of statements that commit together (a change, its events and
//!   its log row); [`group_commit`] runs many requests' batches in one SQLite transaction.
//! - [`scope`]: [`TenantScope`], the tenant every store function on a tenant-owned table
//!   takes; every statement built from it carries the tenant.
//! - [`query`]: SCIM filters and sorts translated to SQL over the indexed columns and the
//!   value index; [`seek`]: keyset paging (cursors, remembered `startIndex`); [`list`]:
//!   the window of rows a page reads.
//! - [`reads`]: the one read model — [`reads::UserRow`] and [`reads::GroupRow`], what
//!   SCIM, the admin directory and the API read — with `Reads`, the directory's and the
//!   API's pages, and the memberships of a page.
//! - [`provisioning`]: provisioning's lookups and the statements of its writes, pushed
//!   onto a [`writes::Writes`] batch; [`outbox`] the event rows and the sequencer;
//!   [`log`] the provisioning log; [`audit`] the admin audit trail.
//! - [`rules`] (a tenant's rule tables read as the rules' types) and [`places`] (their
//!   writes: settings, defaults, domains, attributes, the catalogue, locations, kiosks,
//!   mapping rules, host jobs).
//! - [`accounts`] (admins, memberships, invitations, setup links), [`sessions`],
//!   [`tenants`], [`tokens`] (SCIM tokens and API keys), [`throttle`] (sign-in buckets
//!   and trusted devices), [`deliveries`] (webhook endpoints, deliveries, the worker's
//!   claims, sealed secrets), [`operations`] (what the command line reads).
//! - [`sqlite_backup`]: `roster backup` (`VACUUM INTO`) and `roster restore`.
//! - [`values`] and [`columns`]: a SCIM document's rows — the indexed columns of `users`
//!   and `groups`, the `user_emails` rows and the `user_values` index.
//!
//! Outside this module no code builds a query or branches on the backend, and every
//! statement on a tenant-owned table is built from a [`TenantScope`];
//! `tests/layering.rs` checks the first two.

pub(crate) mod accounts;
pub(crate) mod audit;
pub(crate) mod backlog;
pub(crate) mod columns;
pub mod db;
pub(crate) mod deliveries;
mod group_commit;
pub(crate) use group_commit::Opening;
pub(crate) mod list;
pub(crate) mod log;
pub(crate) mod operations;
pub(crate) mod outbox;
pub(crate) mod places;
pub(crate) mod provisioning;
pub(crate) mod query;
mod raw;
pub(crate) mod reads;
pub(crate) mod rules;
pub(crate) mod scope;
pub(crate) mod seek;
pub(crate) mod sessions;
pub mod sqlite_backup;
pub(crate) mod tenants;
pub(crate) mod throttle;
pub(crate) mod tokens;
pub(crate) mod values;
pub mod writes;

pub use db::{Backend, Database, DatabaseOptions, DatabaseUrl};
pub(crate) use raw::{BuildFor, built, raw_in, try_advisory_xact_lock};
pub use scope::TenantScope;
