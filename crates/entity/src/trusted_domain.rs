//! An email domain a tenant says it owns, and whether that has been proven.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "trusted_domains")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// Lower-case ASCII (IDNA) domain name, without a trailing dot.
    pub domain: String,
    pub include_subdomains: bool,
    /// The random part of the TXT record value `roster-verification=<token>`.
    pub verification_token: String,
    pub verified_at: Option<i64>,
    /// `dns`, or the email of the operator who marked it verified by hand.
    pub verified_by: Option<String>,
    /// `domain` once verified, else NULL; unique, so a verified domain has one tenant.
    pub verified_domain: Option<String>,
    pub last_checked_at: Option<i64>,
    /// Why the last DNS check failed, in a sentence for the admin.
    pub last_check_error: Option<String>,
    pub created_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
