//! A sign-in kiosk at a location; removed with its location.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "kiosks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub location_id: Uuid,
    pub name: String,
    pub created_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
