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

use super::BuildFor;
pub(crate) use super::reads::{GroupRow, UserRow};
use super::writes::{Guard, Writes};

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
