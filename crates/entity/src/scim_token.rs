//! A bearer secret of one tenant: a SCIM token an identity provider uses (`kind = scim`)
//! or an API key the product behind Roster uses for the events and directory API
//! (`kind = api`).
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scim_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// The public part of the token (after its prefix); unique, used to find the row.
    #[sea_orm(unique)]
    pub public_id: String,
    /// argon2id PHC string of the secret part.
    pub secret_hash: String,
    pub label: String,
    pub created_at: i64,
    pub created_by: Option<Uuid>,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// The trusted domain this token is limited to, if any.
    pub domain_id: Option<Uuid>,
    /// `scim` for a SCIM token, `api` for an events/directory API key.
    pub kind: String,
    /// What an API key may do: `read` (events, directory) or `write` (that, and seeding
    /// users). Always `read` for SCIM tokens, whose endpoint decides.
    pub api_scope: String,
}

impl ActiveModelBehavior for ActiveModel {}
