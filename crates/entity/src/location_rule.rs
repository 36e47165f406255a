//! A mapping rule: a SCIM attribute, a match, and where a matching user becomes a host.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "location_rules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// Lower comes first; the first rule that matches decides.
    pub position: i32,
    /// A SCIM attribute path, e.g. `addresses[type eq "work"].locality`.
    pub attribute: String,
    /// `equals`, `one_of` or `starts_with` (all case-insensitive).
    pub match_kind: String,
    /// JSON array of strings.
    #[sea_orm(column_type = "Text")]
    pub match_values: String,
    /// JSON array of location ids.
    #[sea_orm(column_type = "Text")]
    pub location_ids: String,
    /// JSON array of kiosk ids.
    #[sea_orm(column_type = "Text")]
    pub kiosk_ids: String,
    pub created_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
