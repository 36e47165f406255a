//! Sign-in throttling and trusted devices as stored (`login_throttles`,
//! `trusted_devices`: node-wide tables keyed by digests). The attempt counter is one
//! atomic upsert per bucket (`INSERT … ON CONFLICT … DO UPDATE … RETURNING`), so parallel
//! sign-ins cannot get past a lock; `crate::throttle` explains the rules it encodes.

use roster_entity::{login_throttle, trusted_device};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use crate::throttle::Limit;
use crate::time::Timestamp;
use crate::{Error, Result};

/// Counts one attempt in the bucket `key` (of `account`, if any) under `limit`,
/// atomically, and returns the count of its window and its lock (micros). Errors are
/// the crate's: building the statement can fail apart from the database.
pub(crate) async fn count_attempt(
    conn: &impl ConnectionTrait,
    key: &str,
    account: Option<&str>,
    limit: Limit,
    now: Timestamp,
) -> Result<(i32, Option<i64>)> {
    use login_throttle::Column;
    let now_us = now.as_micros();
    let window_start = now.minus(limit.window).as_micros();
    let lock_until = now.plus(limit.lockout).as_micros();
    let column = |c: Column| Expr::col((login_throttle::Entity, c));
    let unlocked = column(Column::LockedUntil)
        .is_null()
        .or(column(Column::LockedUntil).lte(now_us));
    let restart = unlocked
        .clone()
        .and(column(Column::WindowStartedAt).lte(window_start));
    let count: Expr = Expr::case(restart.clone(), 1)
        .finally(column(Column::Failures).add(1))
        .into();
    let insert_lock: Option<i64> = (limit.attempts <= 1).then_some(lock_until);
    let statement = Query::insert()
        .into_table(login_throttle::Entity)
        .columns([
            Column::Key,
            Column::Failures,
            Column::WindowStartedAt,
            Column::LockedUntil,
            Column::AccountKey,
        ])
        .values([
            key.to_owned().into(),
            1i32.into(),
            now_us.into(),
            insert_lock.into(),
            account.map(str::to_owned).into(),
        ])
        .map_err(|err| Error::internal("building the throttle statement", err))?
        .on_conflict(
            OnConflict::column(Column::Key)
                .value(Column::Failures, count.clone())
                .value(
                    Column::WindowStartedAt,
                    Expr::case(restart, now_us).finally(column(Column::WindowStartedAt)),
                )
                .value(
                    Column::LockedUntil,
                    Expr::case(unlocked.not(), column(Column::LockedUntil))
                        .case(count.gte(limit.attempts), Expr::val(lock_until))
                        .finally(Expr::val(Option::<i64>::None)),
                )
                .to_owned(),
        )
        .returning(Query::returning().columns([Column::Failures, Column::LockedUntil]))
        .to_owned();
    let row = conn
        .query_one(&statement)
        .await?
        .ok_or_else(|| Error::Internal("the throttle upsert returned no row".into()))?;
    let count: i32 = row.try_get("", "failures")?;
    let locked_until: Option<i64> = row.try_get("", "locked_until")?;
    Ok((count, locked_until))
}

/// Gives one attempt back to each of the buckets `keys` that are not locked at `now`.
pub(crate) async fn release(
    conn: &impl ConnectionTrait,
    keys: Vec<String>,
    now: Timestamp,
) -> std::result::Result<(), DbErr> {
    use login_throttle::Column;
    login_throttle::Entity::update_many()
        .col_expr(Column::Failures, Expr::col(Column::Failures).sub(1))
        .filter(Column::Key.is_in(keys))
        .filter(Column::Failures.gt(0))
        .filter(unlocked_at(now))
        .exec(conn)
        .await?;
    Ok(())
}

/// Whether the device (its cookie's digest) is trusted for the account at `now`.
pub(crate) async fn is_trusted(
    conn: &impl ConnectionTrait,
    device: &str,
    account: &str,
    now: Timestamp,
) -> std::result::Result<bool, DbErr> {
    let found = trusted_device::Entity::find_by_id((device.to_owned(), account.to_owned()))
        .filter(trusted_device::Column::ExpiresAt.gt(now.as_micros()))
        .one(conn)
        .await?;
    Ok(found.is_some())
}

/// Whether the device (its cookie's digest) is trusted for any account at `now`.
pub(crate) async fn is_known_device(
    conn: &impl ConnectionTrait,
    device: &str,
    now: Timestamp,
) -> std::result::Result<bool, DbErr> {
    Ok(trusted_device::Entity::find()
        .filter(trusted_device::Column::Device.eq(device))
        .filter(trusted_device::Column::ExpiresAt.gt(now.as_micros()))
        .one(conn)
        .await?
        .is_some())
}

/// Trusts the device for the account until `expires_at` (an upsert: trusting it again
/// extends the trust). Errors are the crate's, as for [`count_attempt`].
pub(crate) async fn trust(
    conn: &impl ConnectionTrait,
    device: String,
    account: &str,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<()> {
    let expires_at = expires_at.as_micros();
    use trusted_device::Column;
    let statement = Query::insert()
        .into_table(trusted_device::Entity)
        .columns([
            Column::Device,
            Column::AccountKey,
            Column::CreatedAt,
            Column::ExpiresAt,
        ])
        .values([
            device.into(),
            account.to_owned().into(),
            now.as_micros().into(),
            expires_at.into(),
        ])
        .map_err(|err| Error::internal("building the device statement", err))?
        .on_conflict(
            OnConflict::columns([Column::Device, Column::AccountKey])
                .value(Column::ExpiresAt, expires_at)
                .to_owned(),
        )
        .to_owned();
    conn.execute(&statement).await?;
    Ok(())
}

/// Deletes the buckets whose window started before `started_before` and that are not
/// locked at `now`.
pub(crate) async fn sweep_buckets(
    conn: &impl ConnectionTrait,
    started_before: Timestamp,
    now: Timestamp,
) -> std::result::Result<(), DbErr> {
    use login_throttle::Column;
    login_throttle::Entity::delete_many()
        .filter(Column::WindowStartedAt.lt(started_before.as_micros()))
        .filter(unlocked_at(now))
        .exec(conn)
        .await?;
    Ok(())
}

/// Deletes the devices whose trust has expired at `now`.
pub(crate) async fn sweep_devices(
    conn: &impl ConnectionTrait,
    now: Timestamp,
) -> std::result::Result<(), DbErr> {
    trusted_device::Entity::delete_many()
        .filter(trusted_device::Column::ExpiresAt.lte(now.as_micros()))
        .exec(conn)
        .await?;
    Ok(())
}

/// Deletes every bucket of an account; returns how many.
pub(crate) async fn delete_account_buckets(
    conn: &impl ConnectionTrait,
    account: &str,
) -> std::result::Result<u64, DbErr> {
    let deleted = login_throttle::Entity::delete_many()
        .filter(login_throttle::Column::AccountKey.eq(account))
        .exec(conn)
        .await?;
    Ok(deleted.rows_affected)
}

/// Deletes the bucket `key`; returns how many (0 or 1).
pub(crate) async fn delete_bucket(
    conn: &impl ConnectionTrait,
    key: String,
) -> std::result::Result<u64, DbErr> {
    let deleted = login_throttle::Entity::delete_by_id(key).exec(conn).await?;
    Ok(deleted.rows_affected)
}

/// Deletes the devices trusted for an account.
pub(crate) async fn forget_devices(
    conn: &impl ConnectionTrait,
    account: &str,
) -> std::result::Result<(), DbErr> {
    trusted_device::Entity::delete_many()
        .filter(trusted_device::Column::AccountKey.eq(account))
        .exec(conn)
        .await?;
    Ok(())
}

/// A bucket that is not locked at `now` (never was, or its lock has run out).
fn unlocked_at(now: Timestamp) -> sea_orm::sea_query::SimpleExpr {
    use login_throttle::Column;
    Column::LockedUntil
        .is_null()
        .or(Column::LockedUntil.lte(now.as_micros()))
}
