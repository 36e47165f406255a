//! The re-evaluation of one tenant's host assignments (locations and kiosks) after its
//! locations, kiosks or mapping rules changed: one row per tenant, resumed from `cursor`
//! by any node whose lease is current.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "host_jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Bumped by every change that starts the job again: a batch computed for an older
    /// generation is rolled back.
    pub generation: i64,
    /// The audit action that started it, e.g. `location.remove`.
    pub reason: String,
    /// `running` or `done`.
    pub state: String,
    /// The id of the last user checked (users are checked in id order); `None` = none.
    pub cursor: Option<Uuid>,
    pub checked: i64,
    pub changed: i64,
    pub requested_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}
