//! The attribute-value index of users: one row per present leaf value of a user's
//! document (see `roster_core::provisioning::values`), so that any SCIM filter or sort is
//! answered by SQL.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "user_values")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// Hash of the canonical lower-case attribute path.
    #[sea_orm(primary_key, auto_increment = false)]
    pub attr: i64,
    /// Element position; `-1` marks an element, `-2` holds the sort value.
    #[sea_orm(primary_key, auto_increment = false)]
    pub elem: i32,
    pub tenant_id: Uuid,
    /// The JSON type of the value (see `roster_core::provisioning::values::Shape`).
    pub shape: i16,
    /// The value as text (strings, and numbers and booleans as their JSON text).
    pub text: Option<String>,
    /// `text` case-folded.
    pub folded: Option<String>,
    pub num: Option<f64>,
    pub flag: Option<bool>,
    /// A string that parses as a SCIM dateTime, in microseconds since the epoch.
    pub time: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}
