//! Provisioning's queries on users, groups, memberships, emails and their events: the
//! rows as the service sees them ([`UserRow`], [`GroupRow`]), the lookups it decides
//! from, and the statements of its writes — pushed onto the caller's [`Writes`] batch,
//! or returned as a [`Guard`] that proves the snapshot a write was computed from.
//! Every statement on a tenant's rows is built through its [`TenantScope`].
//!
//! - [`users`]: a user's reads, its insert, update, deletion and emails;
//! - [`groups`]: a group's reads, its insert, update and deletion;
//! - [`members`]: memberships, and the user summaries their events carry;
//! - [`batches`]: the admin's and Roster's own batches over many users (notification
//!   settings, users outside the verified domains, host re-evaluation, the index
//!   backfill).

mod batches;
mod groups;
mod members;
mod users;

pub(crate) use batches::*;
pub(crate) use groups::*;
pub(crate) use members::*;
pub(crate) use users::*;

use roster_entity::{event, group, user};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait};
use uuid::Uuid;

use super::BuildFor;
use super::writes::{Guard, Writes};

/// A stored user, as provisioning reads and writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UserRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub user_name: String,
    pub user_name_lower: String,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    pub display_name_lower: Option<String>,
    pub primary_email_lower: Option<String>,
    pub active: bool,
    /// The SCIM document as JSON, without `id`, `meta` or any password.
    pub doc: String,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// Notification settings as stored (JSON).
    pub notifications: Option<String>,
    /// Where the user is a host, as stored (JSON).
    pub hosts: Option<String>,
    pub product_ref: Option<String>,
}

impl From<user::Model> for UserRow {
    fn from(row: user::Model) -> Self {
        Self {
            id: row.id,
            tenant_id: row.tenant_id,
            user_name: row.user_name,
            user_name_lower: row.user_name_lower,
            external_id: row.external_id,
            display_name: row.display_name,
            display_name_lower: row.display_name_lower,
            primary_email_lower: row.primary_email_lower,
            active: row.active,
            doc: row.doc,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
            notifications: row.notifications,
            hosts: row.hosts,
            product_ref: row.product_ref,
        }
    }
}

/// A stored group, as provisioning reads and writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct GroupRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub display_name: String,
    pub display_name_lower: String,
    pub external_id: Option<String>,
    /// The SCIM document as JSON, without `id`, `meta` or `members`.
    pub doc: String,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<group::Model> for GroupRow {
    fn from(row: group::Model) -> Self {
        Self {
            id: row.id,
            tenant_id: row.tenant_id,
            display_name: row.display_name,
            display_name_lower: row.display_name_lower,
            external_id: row.external_id,
            doc: row.doc,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Users with their groups, as the entities came back from a join.
pub(crate) fn users_with_groups(
    rows: Vec<(user::Model, Vec<group::Model>)>,
) -> Vec<(UserRow, Vec<GroupRow>)> {
    rows.into_iter()
        .map(|(user, groups)| {
            (
                user.into(),
                groups.into_iter().map(GroupRow::from).collect(),
            )
        })
        .collect()
}

/// Pushes one insert of these event rows (built by `outbox::events::row`), all in one
/// statement; the rows carry their tenant.
pub(crate) fn insert_events(writes: &mut Writes, rows: &[event::ActiveModel]) {
    writes.push(&event::Entity::insert_many(rows.to_vec()));
}

/// Inserts these event rows at once, in one statement, outside any `Writes` batch.
pub(crate) async fn insert_events_now(
    conn: &impl ConnectionTrait,
    rows: Vec<event::ActiveModel>,
) -> Result<(), DbErr> {
    event::Entity::insert_many(rows)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// A guard that the statement changes exactly one row.
fn affects_one(db: &super::Database, query: &impl sea_orm::QueryTrait) -> Guard {
    Guard::AffectsOne(query.build_for(db))
}
