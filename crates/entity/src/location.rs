//! A place where users can be hosts (an office, a site).
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "locations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub code: String,
    /// Lower case of `code`; unique per tenant.
    pub code_lower: String,
    /// An IANA time zone name, e.g. `Europe/Paris`.
    pub time_zone: String,
    pub created_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
