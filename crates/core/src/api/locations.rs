//! The tenant's locations with their kiosks (`GET /api/v1/locations`), so that a product
//! can resolve what a user's `locations` and `kiosks` mean; and the check that keeps
//! users' kiosks to those that exist.

use std::collections::HashSet;

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
        let mut rows = self
            .reads()
            .locations(after, limit.saturating_add(1))
            .await?;
        let next_cursor = cut(&mut rows, limit, |row| row.id, CursorKind::Locations);
        let items = rows
            .into_iter()
            .map(|row| ApiLocation {
                kiosks: row
                    .kiosks
                    .into_iter()
                    .map(|(id, name)| ApiKiosk { id, name })
                    .collect(),
                id: row.id,
                code: row.code,
                name: row.name,
                time_zone: row.time_zone,
                created: row.created_at.to_rfc3339(),
            })
            .collect();
        Ok(ApiPage { items, next_cursor })
    }

    /// Which of `ids` are kiosks of this tenant now: a user's stored assignments may
    /// name a kiosk removed a moment ago, before the re-evaluation reached the user.
    pub(super) async fn existing_kiosks(&self, ids: HashSet<Uuid>) -> Result<HashSet<Uuid>> {
        Ok(self.reads().existing_kiosks(ids).await?)
    }
}
