//! The tenants' re-evaluation jobs (`host_jobs`, one row per tenant): started or started
//! again by a change, claimed under a lease by a node's worker, advanced batch by batch
//! with the cursor and the counts. A job's `state` is `running` or `done`.

use roster_entity::host_job;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    QueryOrder,
};
use uuid::Uuid;

use crate::store::TenantScope;
use crate::tenants::TenantId;
use crate::time::Timestamp;

const RUNNING: &str = "running";
const DONE: &str = "done";

/// A tenant's re-evaluation job as stored.
#[derive(Clone, Debug)]
pub(crate) struct HostJobRow {
    pub tenant: TenantId,
    pub generation: i64,
    /// The change that started it (an audit action).
    pub reason: String,
    pub running: bool,
    /// The last user checked.
    pub cursor: Option<Uuid>,
    pub checked: i64,
    pub changed: i64,
    pub requested_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    /// The node holding the lease.
    pub lease_owner: Option<String>,
}

impl From<host_job::Model> for HostJobRow {
    fn from(row: host_job::Model) -> Self {
        Self {
            tenant: TenantId(row.tenant_id),
            generation: row.generation,
            reason: row.reason,
            running: row.state == RUNNING,
            cursor: row.cursor,
            checked: row.checked,
            changed: row.changed,
            requested_at: Timestamp::from_micros(row.requested_at),
            finished_at: row.finished_at.map(Timestamp::from_micros),
            lease_owner: row.lease_owner,
        }
    }
}

/// The tenant's job, if it ever had one.
pub(crate) async fn host_job(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
) -> Result<Option<HostJobRow>, DbErr> {
    Ok(host_job::Entity::find_by_id(scope.tenant_uuid())
        .one(conn)
        .await?
        .map(HostJobRow::from))
}

/// Every tenant's running job whose lease expired before `now` (or that has none),
/// least recently updated first.
pub(crate) async fn due_host_jobs(
    conn: &impl ConnectionTrait,
    now: i64,
) -> Result<Vec<HostJobRow>, DbErr> {
    Ok(host_job::Entity::find()
        .filter(host_job::Column::State.eq(RUNNING))
        .filter(
            Condition::any()
                .add(host_job::Column::LeaseUntil.is_null())
                .add(host_job::Column::LeaseUntil.lt(now)),
        )
        .order_by_asc(host_job::Column::UpdatedAt)
        .all(conn)
        .await?
        .into_iter()
        .map(HostJobRow::from)
        .collect())
}

/// Takes the lease of the tenant's job for `node` until `until`, if it is still this
/// generation's, running, and its lease expired before `now`; how many rows it took
/// (0 or 1).
pub(crate) async fn claim_host_job(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    generation: i64,
    node: String,
    until: i64,
    now: i64,
) -> Result<u64, DbErr> {
    Ok(host_job::Entity::update_many()
        .col_expr(host_job::Column::LeaseOwner, Expr::value(node))
        .col_expr(host_job::Column::LeaseUntil, Expr::value(until))
        .filter(host_job::Column::TenantId.eq(scope.tenant_uuid()))
        .filter(host_job::Column::Generation.eq(generation))
        .filter(host_job::Column::State.eq(RUNNING))
        .filter(
            Condition::any()
                .add(host_job::Column::LeaseUntil.is_null())
                .add(host_job::Column::LeaseUntil.lt(now)),
        )
        .exec(conn)
        .await?
        .rows_affected)
}

/// A job as a change starts it, after the users re-evaluated in the change itself.
pub(crate) struct JobStart<'r> {
    pub reason: &'r str,
    /// Whether those were all the users.
    pub done: bool,
    pub cursor: Option<Uuid>,
    pub checked: i64,
    pub changed: i64,
    pub now: i64,
}

/// Records the tenant's job as `start` says, in a new generation (the first, or the one
/// after the stored job's), without a lease.
pub(crate) async fn start_host_job(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    start: JobStart<'_>,
) -> Result<(), DbErr> {
    let now = start.now;
    use host_job::Column as C;
    host_job::Entity::insert(host_job::ActiveModel {
        tenant_id: Set(scope.tenant_uuid()),
        generation: Set(1),
        reason: Set(start.reason.to_owned()),
        state: Set(if start.done { DONE } else { RUNNING }.to_owned()),
        cursor: Set(start.cursor),
        checked: Set(start.checked),
        changed: Set(start.changed),
        requested_at: Set(now),
        updated_at: Set(now),
        finished_at: Set(start.done.then_some(now)),
        lease_owner: Set(None),
        lease_until: Set(None),
    })
    .on_conflict(
        OnConflict::column(C::TenantId)
            .value(
                C::Generation,
                Expr::col((host_job::Entity, C::Generation)).add(1),
            )
            .update_columns([
                C::Reason,
                C::State,
                C::Cursor,
                C::Checked,
                C::Changed,
                C::RequestedAt,
                C::UpdatedAt,
                C::FinishedAt,
                C::LeaseOwner,
                C::LeaseUntil,
            ])
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// What one batch of a job did.
pub(crate) struct JobProgress {
    /// The last user checked, when the batch checked any.
    pub last: Option<Uuid>,
    pub checked: i64,
    pub changed: i64,
    pub now: i64,
    /// `None` when the job is done (the lease is given up); else the renewed lease.
    pub lease_until: Option<i64>,
}

/// Adds a batch's progress to the tenant's job of `generation` leased by `node`; how
/// many rows it updated (0 when the job was started again or taken over).
pub(crate) async fn advance_host_job(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    generation: i64,
    node: &str,
    progress: JobProgress,
) -> Result<u64, DbErr> {
    let now = progress.now;
    let mut update = host_job::Entity::update_many()
        .col_expr(
            host_job::Column::Checked,
            Expr::col(host_job::Column::Checked).add(progress.checked),
        )
        .col_expr(
            host_job::Column::Changed,
            Expr::col(host_job::Column::Changed).add(progress.changed),
        )
        .col_expr(host_job::Column::UpdatedAt, Expr::value(now))
        .filter(host_job::Column::TenantId.eq(scope.tenant_uuid()))
        .filter(host_job::Column::Generation.eq(generation))
        .filter(host_job::Column::LeaseOwner.eq(node));
    if let Some(last) = progress.last {
        update = update.col_expr(host_job::Column::Cursor, Expr::value(Some(last)));
    }
    update = match progress.lease_until {
        None => update
            .col_expr(host_job::Column::State, Expr::value(DONE))
            .col_expr(host_job::Column::FinishedAt, Expr::value(Some(now)))
            .col_expr(
                host_job::Column::LeaseOwner,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                host_job::Column::LeaseUntil,
                Expr::value(Option::<i64>::None),
            ),
        Some(until) => update.col_expr(host_job::Column::LeaseUntil, Expr::value(Some(until))),
    };
    Ok(update.exec(conn).await?.rows_affected)
}
