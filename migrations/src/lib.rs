//! The one set of schema migrations, run unchanged on SQLite and PostgreSQL.
//!
//! Rules: builders only (backend-specific SQL only where a backend cannot do otherwise,
//! as SQLite's table rebuild in `m20261206_100001`); a migration that has been released is
//! never edited, a change is a new file; on PostgreSQL deployments with several nodes,
//! changes are expand/contract so old and new binaries can run side by side.

// Migrations run before any service (and a released one is never edited): they stamp rows
// with the system time, not the services' clock.
#![allow(clippy::disallowed_methods)]

pub use sea_orm_migration::prelude::*;
pub use sea_orm_migration::{IntoSchemaManagerConnection, seaql_migrations};

mod m20261122_000001_initial;
mod m20261122_000002_tenant_rate_limit;
mod m20261122_100001_login_throttles;
mod m20261122_300001_tenant_rules;
mod m20261122_400001_delivery;
mod m20261122_400002_delivery_retention;
mod m20261206_100001_tenant_scoped_accounts;
mod m20261206_600001_audit_and_setup_links;
mod m20261206_710001_tenant_policy;
mod m20261206_800001_host_jobs;
mod m20261207_050001_user_values;
mod m20261207_100001_seeded_users;
mod m20261207_200001_log_user_names;
mod m20261207_300001_partial_value_indexes;
mod m20261208_100001_clustered_user_values;
mod m20261208_200001_setup_session_expiry;

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_initial::Migration),
            Box::new(m20261122_000002_tenant_rate_limit::Migration),
            Box::new(m20261122_100001_login_throttles::Migration),
            Box::new(m20261122_300001_tenant_rules::Migration),
            Box::new(m20261122_400001_delivery::Migration),
            Box::new(m20261122_400002_delivery_retention::Migration),
            Box::new(m20261206_100001_tenant_scoped_accounts::Migration),
            Box::new(m20261206_600001_audit_and_setup_links::Migration),
            Box::new(m20261206_710001_tenant_policy::Migration),
            Box::new(m20261206_800001_host_jobs::Migration),
            Box::new(m20261207_050001_user_values::Migration),
            Box::new(m20261207_100001_seeded_users::Migration),
            Box::new(m20261207_200001_log_user_names::Migration),
            Box::new(m20261207_300001_partial_value_indexes::Migration),
            Box::new(m20261208_100001_clustered_user_values::Migration),
            Box::new(m20261208_200001_setup_session_expiry::Migration),
        ]
    }
}
