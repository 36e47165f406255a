//! What only the events and directory API reads: the tenant's sequenced events in commit
//! order (`ix_events_tenant_seq`), the names of its custom attributes, and its locations
//! by id or code.

use std::collections::HashSet;

use roster_entity::{custom_attribute, event, location};
use roster_scim::value::fold_case;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::Reads;
use crate::api::LocationRef;
use crate::outbox::EventType;

/// A sequenced event as stored.
#[derive(Clone, Debug)]
pub(crate) struct EventRow {
    pub event_id: Uuid,
    pub event_type: String,
    /// Microseconds since the epoch.
    pub occurred_at: i64,
    /// The event's data (JSON).
    pub payload: String,
    pub seq: Option<i64>,
}

impl Reads<'_> {
    /// Up to `limit` sequenced events after `after` (a `seq`), oldest first; only of
    /// these types, unless none are given.
    pub(crate) async fn events(
        &self,
        after: i64,
        limit: u64,
        types: &[EventType],
    ) -> Result<Vec<EventRow>, DbErr> {
        let mut select = event::Entity::find()
            .filter(event::Column::TenantId.eq(self.scope.tenant_uuid()))
            .filter(event::Column::Seq.gt(after))
            .order_by_asc(event::Column::Seq)
            .limit(limit);
        if !types.is_empty() {
            select = select.filter(
                event::Column::EventType.is_in(types.iter().map(|t| t.as_str().to_owned())),
            );
        }
        let rows = select.all(self.db.reader()).await?;
        Ok(rows
            .into_iter()
            .map(|row| EventRow {
                event_id: row.event_id,
                event_type: row.event_type,
                occurred_at: row.occurred_at,
                payload: row.payload,
                seq: row.seq,
            })
            .collect())
    }

    /// The names of the tenant's custom attributes.
    pub(crate) async fn attribute_names(&self) -> Result<Vec<String>, DbErr> {
        custom_attribute::Entity::find()
            .select_only()
            .column(custom_attribute::Column::Name)
            .filter(custom_attribute::Column::TenantId.eq(self.scope.tenant_uuid()))
            .into_tuple()
            .all(self.db.reader())
            .await
    }

    /// The id of the tenant's location whose id (when `raw` is a UUID) or code
    /// (case-insensitively, otherwise) is `raw`.
    pub(crate) async fn location_id(&self, raw: &str) -> Result<Option<Uuid>, DbErr> {
        let mut select = location::Entity::find()
            .filter(location::Column::TenantId.eq(self.scope.tenant_uuid()));
        select = match Uuid::try_parse(raw) {
            Ok(id) => select.filter(location::Column::Id.eq(id)),
            Err(_) => select.filter(location::Column::CodeLower.eq(fold_case(raw))),
        };
        Ok(select.one(self.db.reader()).await?.map(|row| row.id))
    }

    /// These locations of the tenant (no query for none).
    pub(crate) async fn location_refs(
        &self,
        ids: HashSet<Uuid>,
    ) -> Result<Vec<LocationRef>, DbErr> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(location::Entity::find()
            .filter(location::Column::TenantId.eq(self.scope.tenant_uuid()))
            .filter(location::Column::Id.is_in(ids))
            .all(self.db.reader())
            .await?
            .into_iter()
            .map(|l| LocationRef {
                id: l.id,
                code: l.code,
                name: l.name,
            })
            .collect())
    }
}
