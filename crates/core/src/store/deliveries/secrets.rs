//! The endpoints' sealed signing secrets, node-wide (an operator's concern): pages of
//! endpoints to seal or re-seal, compare-and-set writes, and the key ids in use.

use roster_entity::webhook_endpoint;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, ExprTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use super::EndpointRow;
use crate::store::Database;

/// Up to `limit` endpoints of every tenant after the id `after`, by id; with
/// `unsealed_unless_like`, only those with a secret or previous secret that is not
/// `LIKE` it (values stored in clear).
pub(crate) async fn endpoints_page(
    conn: &impl ConnectionTrait,
    unsealed_unless_like: Option<&str>,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<EndpointRow>, DbErr> {
    let mut query = webhook_endpoint::Entity::find();
    if let Some(prefix) = unsealed_unless_like {
        query = query.filter(
            webhook_endpoint::Column::Secret
                .not_like(prefix)
                .or(webhook_endpoint::Column::PreviousSecret.not_like(prefix)),
        );
    }
    let mut query = query
        .order_by_asc(webhook_endpoint::Column::Id)
        .limit(limit);
    if let Some(after) = after {
        query = query.filter(webhook_endpoint::Column::Id.gt(after));
    }
    Ok(query
        .all(conn)
        .await?
        .into_iter()
        .map(EndpointRow::from)
        .collect())
}

/// Writes the new secret (`Some`) and the new previous secret (`Some`; `Some(None)` drops
/// it and its expiry) if the endpoint still holds the values of `row`; whether it did.
pub(crate) async fn compare_and_set(
    conn: &impl ConnectionTrait,
    row: &EndpointRow,
    current: Option<String>,
    previous: Option<Option<String>>,
) -> Result<bool, DbErr> {
    let mut update = webhook_endpoint::Entity::update_many()
        .filter(webhook_endpoint::Column::Id.eq(row.id))
        .filter(webhook_endpoint::Column::Secret.eq(row.secret.as_str()));
    update = match &row.previous_secret {
        Some(value) => update.filter(webhook_endpoint::Column::PreviousSecret.eq(value.as_str())),
        None => update.filter(webhook_endpoint::Column::PreviousSecret.is_null()),
    };
    if let Some(value) = current {
        update = update.col_expr(webhook_endpoint::Column::Secret, Expr::value(value));
    }
    if let Some(value) = previous {
        let dropped = value.is_none();
        update = update.col_expr(webhook_endpoint::Column::PreviousSecret, Expr::value(value));
        if dropped {
            update = update.col_expr(
                webhook_endpoint::Column::PreviousSecretExpiresAt,
                Expr::value(Option::<i64>::None),
            );
        }
    }
    Ok(update.exec(conn).await?.rows_affected == 1)
}

/// The key ids of the stored sealed (`v1.`) values, current and previous, with how many
/// values each seals.
pub(crate) async fn key_ids(db: &Database) -> Result<Vec<(String, u64)>, DbErr> {
    // `substr` is the same on SQLite and PostgreSQL; `v1.` is 3 characters, the key id
    // the next 8.
    let statement = db.raw(
        "SELECT k, COUNT(*) AS n FROM (\
           SELECT substr(secret, 4, 8) AS k FROM webhook_endpoints \
             WHERE secret LIKE 'v1.%' \
           UNION ALL \
           SELECT substr(previous_secret, 4, 8) AS k FROM webhook_endpoints \
             WHERE previous_secret LIKE 'v1.%'\
         ) AS sealed GROUP BY k",
        [],
    );
    let rows = db.reader().query_all_raw(statement).await?;
    let mut ids = Vec::with_capacity(rows.len());
    for row in rows {
        let key_id: String = row.try_get("", "k")?;
        let count: i64 = row.try_get("", "n")?;
        ids.push((key_id, u64::try_from(count).unwrap_or(0)));
    }
    Ok(ids)
}
