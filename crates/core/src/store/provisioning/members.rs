//! Memberships, and the user summaries their events carry.

use roster_entity::{group_member, user};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::outbox::events::UserSummary;
use crate::store::TenantScope;
use crate::store::writes::Writes;

/// The memberships of some groups, `(group, user)`, by group then user.
pub(crate) async fn members_of_groups(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    group_ids: &[Uuid],
) -> Result<Vec<(Uuid, Uuid)>, DbErr> {
    scope
        .members()
        .select_only()
        .column(group_member::Column::GroupId)
        .column(group_member::Column::UserId)
        .filter(group_member::Column::GroupId.is_in(group_ids.iter().copied()))
        .order_by_asc(group_member::Column::GroupId)
        .order_by_asc(group_member::Column::UserId)
        .into_tuple()
        .all(conn)
        .await
}

/// The members of a group: all of them, or those among `among`.
pub(crate) async fn member_ids(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    group_id: Uuid,
    among: Option<&[Uuid]>,
) -> Result<Vec<Uuid>, DbErr> {
    let mut query = scope
        .members()
        .select_only()
        .column(group_member::Column::UserId)
        .filter(group_member::Column::GroupId.eq(group_id));
    if let Some(chunk) = among {
        query = query.filter(group_member::Column::UserId.is_in(chunk.iter().copied()));
    }
    query.into_tuple::<Uuid>().all(conn).await
}

type SummaryRow = (
    Uuid,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    bool,
    Option<String>,
);

/// The users among `ids` that exist in this tenant, as event summaries.
pub(crate) async fn user_summaries(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    ids: &[Uuid],
) -> Result<Vec<UserSummary>, DbErr> {
    let rows: Vec<SummaryRow> = scope
        .users()
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::UserName)
        .column(user::Column::ExternalId)
        .column(user::Column::DisplayName)
        .column(user::Column::PrimaryEmailLower)
        .column(user::Column::Active)
        .column(user::Column::ProductRef)
        .filter(user::Column::Id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, user_name, external_id, display_name, email, active, product_ref)| UserSummary {
                id,
                user_name,
                external_id,
                display_name,
                email,
                active,
                product_ref,
            },
        )
        .collect())
}

/// Pushes one insert of memberships of `group_id` (those that exist already are left
/// as they are).
pub(crate) fn insert_members(
    writes: &mut Writes,
    scope: TenantScope,
    group_id: Uuid,
    user_ids: &[Uuid],
    created_at: i64,
) {
    let rows = user_ids.iter().map(|user_id| group_member::ActiveModel {
        group_id: Set(group_id),
        user_id: Set(*user_id),
        tenant_id: Set(scope.tenant_uuid()),
        created_at: Set(created_at),
    });
    writes.push(
        &group_member::Entity::insert_many(rows).on_conflict(
            OnConflict::columns([group_member::Column::GroupId, group_member::Column::UserId])
                .do_nothing()
                .to_owned(),
        ),
    );
}

/// Pushes one deletion of memberships of `group_id`.
pub(crate) fn delete_members(
    writes: &mut Writes,
    scope: TenantScope,
    group_id: Uuid,
    user_ids: &[Uuid],
) {
    writes.push(
        &scope
            .delete_members()
            .filter(group_member::Column::GroupId.eq(group_id))
            .filter(group_member::Column::UserId.is_in(user_ids.iter().copied())),
    );
}
