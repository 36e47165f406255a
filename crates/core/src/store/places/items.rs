//! The rules' items: custom attributes, notification types, locations with their kiosks
//! and mapping rules — inserts, the updates the admin UI makes, and the location events
//! a change of places commits with.

use roster_entity::{custom_attribute, event, kiosk, location, location_rule, notification_type};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::outbox::EventType;
use crate::outbox::events::{location_data, tenant_row};
use crate::rules::{CustomAttributeDef, Kiosk, Location};
use crate::store::TenantScope;
use crate::time::Timestamp;

/// Inserts a custom attribute's definition (a unique violation if the name is taken).
pub(crate) async fn insert_attribute(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    def: CustomAttributeDef,
    created_at: Timestamp,
) -> Result<(), DbErr> {
    let row = custom_attribute::ActiveModel {
        id: Set(def.id),
        tenant_id: Set(scope.tenant_uuid()),
        name_lower: Set(def.name.to_ascii_lowercase()),
        name: Set(def.name),
        attr_type: Set(def.ty.as_str().to_owned()),
        multi_valued: Set(def.multi_valued),
        description: Set(def.description),
        created_at: Set(created_at.as_micros()),
    };
    custom_attribute::Entity::insert(row).exec(conn).await?;
    Ok(())
}

/// A new notification type, its default channels as stored (comma-separated).
pub(crate) struct NotificationTypeRow {
    pub id: Uuid,
    pub key: String,
    pub label: String,
    pub default_channels: String,
    pub created_at: Timestamp,
}

/// Inserts a notification type (a unique violation if the key is taken).
pub(crate) async fn insert_notification_type(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    row: NotificationTypeRow,
) -> Result<(), DbErr> {
    let row = notification_type::ActiveModel {
        id: Set(row.id),
        tenant_id: Set(scope.tenant_uuid()),
        key: Set(row.key),
        label: Set(row.label),
        default_channels: Set(row.default_channels),
        created_at: Set(row.created_at.as_micros()),
    };
    notification_type::Entity::insert(row).exec(conn).await?;
    Ok(())
}

/// Sets the default channels (as stored, comma-separated) of one notification type.
pub(crate) async fn set_notification_channels(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    id: Uuid,
    default_channels: String,
) -> Result<(), DbErr> {
    notification_type::Entity::update_many()
        .col_expr(
            notification_type::Column::DefaultChannels,
            Expr::value(default_channels),
        )
        .filter(notification_type::Column::Id.eq(id))
        .filter(notification_type::Column::TenantId.eq(scope.tenant_uuid()))
        .exec(conn)
        .await?;
    Ok(())
}

/// How many locations the tenant has.
pub(crate) async fn location_count(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
) -> Result<u64, DbErr> {
    location::Entity::find()
        .filter(location::Column::TenantId.eq(scope.tenant_uuid()))
        .count(conn)
        .await
}

/// A new location.
pub(crate) struct LocationRow {
    pub id: Uuid,
    pub name: String,
    /// The code as given; its folded form is stored beside it.
    pub code: String,
    pub time_zone: String,
    pub created_at: Timestamp,
}

/// Inserts a location (a unique violation if its code is another location's).
pub(crate) async fn insert_location(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    row: LocationRow,
) -> Result<(), DbErr> {
    let row = location::ActiveModel {
        id: Set(row.id),
        tenant_id: Set(scope.tenant_uuid()),
        name: Set(row.name),
        code_lower: Set(roster_scim::value::fold_case(&row.code)),
        code: Set(row.code),
        time_zone: Set(row.time_zone),
        created_at: Set(row.created_at.as_micros()),
    };
    location::Entity::insert(row).exec(conn).await?;
    Ok(())
}

/// A location of the tenant with its kiosks (by name), as `conn` sees it.
pub(crate) async fn location_in(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    id: Uuid,
) -> Result<Option<Location>, DbErr> {
    let Some(row) = location::Entity::find_by_id(id)
        .filter(location::Column::TenantId.eq(scope.tenant_uuid()))
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let kiosks = kiosk::Entity::find()
        .filter(kiosk::Column::TenantId.eq(scope.tenant_uuid()))
        .filter(kiosk::Column::LocationId.eq(id))
        .order_by_asc(kiosk::Column::Name)
        .all(conn)
        .await?;
    Ok(Location::assemble(vec![row], kiosks).pop())
}

/// Deletes the kiosks of a location.
pub(crate) async fn remove_kiosks_of(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    location: Uuid,
) -> Result<(), DbErr> {
    kiosk::Entity::delete_many()
        .filter(kiosk::Column::LocationId.eq(location))
        .filter(kiosk::Column::TenantId.eq(scope.tenant_uuid()))
        .exec(conn)
        .await?;
    Ok(())
}

/// Inserts a kiosk.
pub(crate) async fn insert_kiosk(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    kiosk: Kiosk,
    created_at: Timestamp,
) -> Result<(), DbErr> {
    let row = kiosk::ActiveModel {
        id: Set(kiosk.id),
        tenant_id: Set(scope.tenant_uuid()),
        location_id: Set(kiosk.location_id),
        name: Set(kiosk.name),
        created_at: Set(created_at.as_micros()),
    };
    kiosk::Entity::insert(row).exec(conn).await?;
    Ok(())
}

/// The location of one of the tenant's kiosks; `None` when there is no such kiosk.
pub(crate) async fn kiosk_location(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    id: Uuid,
) -> Result<Option<Uuid>, DbErr> {
    Ok(kiosk::Entity::find_by_id(id)
        .filter(kiosk::Column::TenantId.eq(scope.tenant_uuid()))
        .one(conn)
        .await?
        .map(|row| row.location_id))
}

/// A new mapping rule as stored: the match values and the targets as JSON.
pub(crate) struct MappingRuleRow {
    pub id: Uuid,
    pub position: i32,
    pub attribute: String,
    pub match_kind: String,
    pub match_values: String,
    pub location_ids: String,
    pub kiosk_ids: String,
    pub created_at: Timestamp,
}

/// Inserts a mapping rule.
pub(crate) async fn insert_mapping_rule(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    row: MappingRuleRow,
) -> Result<(), DbErr> {
    let row = location_rule::ActiveModel {
        id: Set(row.id),
        tenant_id: Set(scope.tenant_uuid()),
        position: Set(row.position),
        attribute: Set(row.attribute),
        match_kind: Set(row.match_kind),
        match_values: Set(row.match_values),
        location_ids: Set(row.location_ids),
        kiosk_ids: Set(row.kiosk_ids),
        created_at: Set(row.created_at.as_micros()),
    };
    location_rule::Entity::insert(row).exec(conn).await?;
    Ok(())
}

/// The tenant's mapping rules as `(id, position)`, in the order they apply.
pub(crate) async fn mapping_rule_order(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
) -> Result<Vec<(Uuid, i32)>, DbErr> {
    location_rule::Entity::find()
        .select_only()
        .column(location_rule::Column::Id)
        .column(location_rule::Column::Position)
        .filter(location_rule::Column::TenantId.eq(scope.tenant_uuid()))
        .order_by_asc(location_rule::Column::Position)
        .order_by_asc(location_rule::Column::CreatedAt)
        .into_tuple()
        .all(conn)
        .await
}

/// Sets one mapping rule's position.
pub(crate) async fn set_mapping_rule_position(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    id: Uuid,
    position: i32,
) -> Result<(), DbErr> {
    location_rule::Entity::update_many()
        .col_expr(location_rule::Column::Position, Expr::value(position))
        .filter(location_rule::Column::Id.eq(id))
        .filter(location_rule::Column::TenantId.eq(scope.tenant_uuid()))
        .exec(conn)
        .await?;
    Ok(())
}

/// Inserts the location events of a change (none for an empty list), at `at`.
pub(crate) async fn insert_location_events(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    at: Timestamp,
    events: &[(EventType, Location)],
) -> Result<(), DbErr> {
    if events.is_empty() {
        return Ok(());
    }
    let rows = events.iter().map(|(kind, place)| {
        tenant_row(at, scope.tenant(), *kind, place.id, &location_data(place))
    });
    event::Entity::insert_many(rows)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}
