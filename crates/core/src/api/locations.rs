//! The tenant's locations with their kiosks (`GET /api/v1/locations`), so that a product
//! can resolve what a user's `locations` and `kiosks` mean; and the check that keeps
//! users' kiosks to those that exist.

use std::collections::HashSet;

use roster_entity::{kiosk, location};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use uuid::Uuid;

use super::{ApiPage, CursorKind, TenantApi, cut};
use crate::Result;

/// A location as the directory API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiLocation {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    /// An IANA time zone name.
    pub time_zone: String,
    pub kiosks: Vec<ApiKiosk>,
    pub created: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiKiosk {
    pub id: Uuid,
    pub name: String,
}

impl TenantApi<'_> {
    /// The tenant's locations in id order, each with its kiosks (by name): two queries
    /// per page.
    pub async fn locations(&self, after: Option<Uuid>, limit: u64) -> Result<ApiPage<ApiLocation>> {
        let mut select = location::Entity::find()
            .filter(location::Column::TenantId.eq(self.tenant))
            .order_by_asc(location::Column::Id)
            .limit(limit.saturating_add(1));
        if let Some(after) = after {
            select = select.filter(location::Column::Id.gt(after));
        }
        let mut rows = select.all(self.db.reader()).await?;
        let next_cursor = cut(&mut rows, limit, |row| row.id, CursorKind::Locations);
        let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
        let kiosks = if ids.is_empty() {
            Vec::new()
        } else {
            kiosk::Entity::find()
                .filter(kiosk::Column::TenantId.eq(self.tenant))
                .filter(kiosk::Column::LocationId.is_in(ids))
                .order_by_asc(kiosk::Column::Name)
                .order_by_asc(kiosk::Column::Id)
                .all(self.db.reader())
                .await?
        };
        let items = rows
            .into_iter()
            .map(|row| ApiLocation {
                kiosks: kiosks
                    .iter()
                    .filter(|k| k.location_id == row.id)
                    .map(|k| ApiKiosk {
                        id: k.id,
                        name: k.name.clone(),
                    })
                    .collect(),
                id: row.id,
                code: row.code,
                name: row.name,
                time_zone: row.time_zone,
                created: crate::time::Timestamp::from_micros(row.created_at).to_rfc3339(),
            })
            .collect();
        Ok(ApiPage { items, next_cursor })
    }

    /// Which of `ids` are kiosks of this tenant now: a user's stored assignments may
    /// name a kiosk removed a moment ago, before the re-evaluation reached the user.
    pub(super) async fn existing_kiosks(&self, ids: HashSet<Uuid>) -> Result<HashSet<Uuid>> {
        if ids.is_empty() {
            return Ok(HashSet::new());
        }
        Ok(kiosk::Entity::find()
            .select_only()
            .column(kiosk::Column::Id)
            .filter(kiosk::Column::TenantId.eq(self.tenant))
            .filter(kiosk::Column::Id.is_in(ids))
            .into_tuple::<Uuid>()
            .all(self.db.reader())
            .await?
            .into_iter()
            .collect())
    }
}
