//! One row per audited change (a token created, a setting changed, an admin invited, a
//! tenant suspended…), written in the change's own transaction. `tenant_id` is NULL for
//! changes that belong to no tenant.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: Option<Uuid>,
    pub occurred_at: i64,
    /// `operator`, `admin`, `setup_link`, `command_line` or `system`.
    pub actor_kind: String,
    /// The account or setup link, when there is one (kept after it is removed).
    pub actor_id: Option<Uuid>,
    /// The actor's email or the setup link's label at the time.
    pub actor_name: String,
    /// What was done, e.g. `token.create`, `settings.update`, `tenant.suspend`.
    pub action: String,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub target_name: Option<String>,
    /// JSON of what changed, before and after, where it matters. Never a secret.
    #[sea_orm(column_type = "Text", nullable)]
    pub before: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub after: Option<String>,
    pub request_id: Option<String>,
    pub client_address: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
