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
//! - [`scope`]: [`TenantScope`], the tenant-scoped handle through which provisioning
//!   reaches users, groups, memberships and emails — every select, update and delete it
//!   builds carries the tenant.
//! - [`query`]: SCIM filters and sorts translated to SQL over the indexed columns and the
//!   value index; [`seek`]: keyset paging (cursors, remembered `startIndex`); [`list`]:
//!   the window of rows a page reads.
//! - [`reads`]: the one read model of users, groups and memberships that the admin
//!   directory and the API share.
//! - [`rules`]: a tenant's rule tables (version, rows) as the rules' own types.
//! - [`sqlite_backup`]: `roster backup` (`VACUUM INTO`) and `roster restore`.
//! - [`values`] and [`columns`]: a SCIM document's rows — the indexed columns of `users`
//!   and `groups`, the `user_emails` rows and the `user_values` index.
//!
//! Outside this module no code branches on the backend; `tests/layering.rs` checks it.

pub(crate) mod accounts;
pub(crate) mod audit;
pub(crate) mod backlog;
pub(crate) mod columns;
pub mod db;
pub(crate) mod deliveries;
mod group_commit;
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
