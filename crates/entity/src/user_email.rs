//! One row per email of a user, so that `emails.value` and `emails[type eq "work"].value`
//! filters are index lookups.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user_emails")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// Position in the user's `emails` array.
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i32,
    pub tenant_id: Uuid,
    pub value_lower: String,
    pub type_lower: Option<String>,
    pub is_primary: bool,
}

impl ActiveModelBehavior for ActiveModel {}
