//! The rules' write paths (the admin UI's changes of a tenant's rules): provisioning
//! settings and the operator's defaults for new tenants, trusted domains, custom
//! attributes, the notification catalogue, locations, kiosks and mapping rules
//! ([`items`]), the removal of any of them, the bump of `tenants.rules_version` that
//! every change commits with, and the durable re-evaluation of users' hosts
//! ([`host_jobs`]). The reads of the rule tables are in [`super::rules`].

mod host_jobs;
mod items;

pub(crate) use host_jobs::{
    HostJobRow, JobProgress, JobStart, advance_host_job, claim_host_job, due_host_jobs, host_job,
    start_host_job,
};
pub(crate) use items::{
    LocationRow, MappingRuleRow, NotificationTypeRow, insert_attribute, insert_kiosk,
    insert_location, insert_location_events, insert_mapping_rule, insert_notification_type,
    kiosk_location, location_count, location_in, mapping_rule_order, remove_kiosks_of,
    set_mapping_rule_position, set_notification_channels,
};

use roster_entity::{
    custom_attribute, kiosk, location, location_rule, notification_type, scim_token, tenant,
    tenant_defaults, tenant_settings, trusted_domain,
};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::TenantScope;
use crate::rules::{DeactivateMode, ExistingUser, ProvisioningSettings};
use crate::tenants::TenantId;
use crate::time::Timestamp;

/// The kinds of rule rows an admin removes one at a time, by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RuleItem {
    Domain,
    Attribute,
    NotificationType,
    Location,
    Kiosk,
    MappingRule,
}

/// Deletes one rule row of the tenant by id; how many rows went (0 or 1).
pub(crate) async fn remove_item(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    item: RuleItem,
    id: Uuid,
) -> Result<u64, DbErr> {
    use RuleItem as I;
    let tenant = scope.tenant_uuid();
    macro_rules! delete {
        ($table:ident) => {
            delete_owned::<$table::Entity>(
                conn,
                ($table::Column::Id, $table::Column::TenantId),
                tenant,
                id,
            )
            .await
        };
    }
    match item {
        I::Domain => delete!(trusted_domain),
        I::Attribute => delete!(custom_attribute),
        I::NotificationType => delete!(notification_type),
        I::Location => delete!(location),
        I::Kiosk => delete!(kiosk),
        I::MappingRule => delete!(location_rule),
    }
}

/// Deletes the row `id` of a rule table if it belongs to `tenant`; the rows deleted.
async fn delete_owned<E: EntityTrait>(
    conn: &impl ConnectionTrait,
    (id_column, tenant_column): (E::Column, E::Column),
    tenant: Uuid,
    id: Uuid,
) -> Result<u64, DbErr> {
    Ok(E::delete_many()
        .filter(id_column.eq(id))
        .filter(tenant_column.eq(tenant))
        .exec(conn)
        .await?
        .rows_affected)
}

/// Bumps the tenant's `rules_version`, so every node reloads its snapshot.
pub(crate) async fn bump_rules_version(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
) -> Result<(), DbErr> {
    tenant::Entity::update_many()
        .col_expr(
            tenant::Column::RulesVersion,
            Expr::col(tenant::Column::RulesVersion).add(1),
        )
        .filter(tenant::Column::Id.eq(tenant.0))
        .exec(conn)
        .await?;
    Ok(())
}

// -- Settings ---------------------------------------------------------------------------

/// Writes the tenant's settings row (inserted, or replaced).
pub(crate) async fn store_settings(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    at: Timestamp,
    settings: ProvisioningSettings,
) -> Result<(), DbErr> {
    use tenant_settings::Column as C;
    let row = tenant_settings::ActiveModel {
        tenant_id: Set(scope.tenant_uuid()),
        provisioning_enabled: Set(settings.enabled),
        allow_create_users: Set(settings.create_users),
        allow_update_users: Set(settings.update_users),
        allow_deactivate_users: Set(settings.deactivate_users),
        allow_delete_users: Set(settings.delete_users),
        allow_push_groups: Set(settings.push_groups),
        delete_mode: Set(settings.delete_mode.as_str().to_owned()),
        existing_user: Set(settings.existing_user.as_str().to_owned()),
        assign_hosts: Set(settings.assign_hosts),
        deactivate_mode: Set(settings.deactivate_mode.as_str().to_owned()),
        domains_only: Set(settings.domains_only),
        updated_at: Set(at.as_micros()),
    };
    tenant_settings::Entity::insert(row)
        .on_conflict(
            OnConflict::column(C::TenantId)
                .update_columns([
                    C::ProvisioningEnabled,
                    C::AllowCreateUsers,
                    C::AllowUpdateUsers,
                    C::AllowDeactivateUsers,
                    C::AllowDeleteUsers,
                    C::AllowPushGroups,
                    C::DeleteMode,
                    C::ExistingUser,
                    C::AssignHosts,
                    C::DeactivateMode,
                    C::DomainsOnly,
                    C::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec(conn)
        .await?;
    Ok(())
}

/// The one row of the operator's defaults for new tenants.
const DEFAULTS_ROW: i32 = 1;

/// The operator's saved defaults: who saved them and when.
pub(crate) struct SavedDefaults {
    pub settings: ProvisioningSettings,
    pub by: String,
    pub at: Timestamp,
}

/// The operator's saved defaults, if any; what they do not set (and a stored value that
/// no longer parses) comes from `configured`.
pub(crate) async fn saved_defaults(
    conn: &impl ConnectionTrait,
    configured: ProvisioningSettings,
) -> Result<Option<SavedDefaults>, DbErr> {
    let row = tenant_defaults::Entity::find_by_id(DEFAULTS_ROW)
        .one(conn)
        .await?;
    Ok(row.map(|row| SavedDefaults {
        settings: ProvisioningSettings {
            enabled: row.provisioning_enabled,
            create_users: row.allow_create_users,
            update_users: row.allow_update_users,
            deactivate_users: row.allow_deactivate_users,
            delete_users: row.allow_delete_users,
            push_groups: row.allow_push_groups,
            existing_user: ExistingUser::parse(&row.existing_user)
                .unwrap_or(configured.existing_user),
            deactivate_mode: DeactivateMode::parse(&row.deactivate_mode)
                .unwrap_or(configured.deactivate_mode),
            domains_only: row.domains_only,
            ..configured
        },
        by: row.updated_by,
        at: Timestamp::from_micros(row.updated_at),
    }))
}

/// Saves the operator's defaults for new tenants (inserted, or replaced).
pub(crate) async fn save_defaults(
    conn: &impl ConnectionTrait,
    settings: ProvisioningSettings,
    at: Timestamp,
    by: String,
) -> Result<(), DbErr> {
    let row = tenant_defaults::ActiveModel {
        id: Set(DEFAULTS_ROW),
        provisioning_enabled: Set(settings.enabled),
        allow_create_users: Set(settings.create_users),
        allow_update_users: Set(settings.update_users),
        allow_deactivate_users: Set(settings.deactivate_users),
        allow_delete_users: Set(settings.delete_users),
        allow_push_groups: Set(settings.push_groups),
        existing_user: Set(settings.existing_user.as_str().to_owned()),
        deactivate_mode: Set(settings.deactivate_mode.as_str().to_owned()),
        domains_only: Set(settings.domains_only),
        updated_at: Set(at.as_micros()),
        updated_by: Set(by),
    };
    use tenant_defaults::Column as C;
    tenant_defaults::Entity::insert(row)
        .on_conflict(
            OnConflict::column(C::Id)
                .update_columns([
                    C::ProvisioningEnabled,
                    C::AllowCreateUsers,
                    C::AllowUpdateUsers,
                    C::AllowDeactivateUsers,
                    C::AllowDeleteUsers,
                    C::AllowPushGroups,
                    C::ExistingUser,
                    C::DeactivateMode,
                    C::DomainsOnly,
                    C::UpdatedAt,
                    C::UpdatedBy,
                ])
                .to_owned(),
        )
        .exec(conn)
        .await?;
    Ok(())
}

/// Forgets the operator's saved defaults (the configuration's apply again).
pub(crate) async fn reset_defaults(conn: &impl ConnectionTrait) -> Result<(), DbErr> {
    tenant_defaults::Entity::delete_by_id(DEFAULTS_ROW)
        .exec(conn)
        .await?;
    Ok(())
}

// -- Trusted domains --------------------------------------------------------------------

/// A new trusted domain, unverified.
pub(crate) struct DomainRow {
    pub id: Uuid,
    /// The domain as `EmailDomain` spells it.
    pub domain: String,
    pub include_subdomains: bool,
    pub verification_token: String,
    pub created_at: Timestamp,
}

/// Inserts a trusted domain of the tenant (a unique violation if it is already listed).
pub(crate) async fn insert_domain(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    row: DomainRow,
) -> Result<(), DbErr> {
    let row = trusted_domain::ActiveModel {
        id: Set(row.id),
        tenant_id: Set(scope.tenant_uuid()),
        domain: Set(row.domain),
        include_subdomains: Set(row.include_subdomains),
        verification_token: Set(row.verification_token),
        verified_at: Set(None),
        verified_by: Set(None),
        verified_domain: Set(None),
        last_checked_at: Set(None),
        last_check_error: Set(None),
        created_at: Set(row.created_at.as_micros()),
    };
    trusted_domain::Entity::insert(row).exec(conn).await?;
    Ok(())
}

/// Records a domain as verified by `by` at `at` (a unique violation when another tenant
/// verified `name` first).
pub(crate) async fn mark_domain_verified(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    id: Uuid,
    name: String,
    by: String,
    at: i64,
) -> Result<(), DbErr> {
    trusted_domain::Entity::update_many()
        .col_expr(trusted_domain::Column::VerifiedAt, Expr::value(at))
        .col_expr(trusted_domain::Column::VerifiedBy, Expr::value(by))
        .col_expr(trusted_domain::Column::VerifiedDomain, Expr::value(name))
        .col_expr(trusted_domain::Column::LastCheckedAt, Expr::value(at))
        .col_expr(
            trusted_domain::Column::LastCheckError,
            Expr::value(Option::<String>::None),
        )
        .filter(trusted_domain::Column::Id.eq(id))
        .filter(trusted_domain::Column::TenantId.eq(scope.tenant_uuid()))
        .exec(conn)
        .await?;
    Ok(())
}

/// Records the outcome of a domain's check (`error` when it failed).
pub(crate) async fn record_domain_check(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    id: Uuid,
    at: Timestamp,
    error: Option<String>,
) -> Result<(), DbErr> {
    trusted_domain::Entity::update_many()
        .col_expr(
            trusted_domain::Column::LastCheckedAt,
            Expr::value(at.as_micros()),
        )
        .col_expr(trusted_domain::Column::LastCheckError, Expr::value(error))
        .filter(trusted_domain::Column::Id.eq(id))
        .filter(trusted_domain::Column::TenantId.eq(scope.tenant_uuid()))
        .exec(conn)
        .await?;
    Ok(())
}

/// Sets whether a domain's subdomains are trusted too.
pub(crate) async fn set_include_subdomains(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    id: Uuid,
    include: bool,
) -> Result<(), DbErr> {
    trusted_domain::Entity::update_many()
        .col_expr(
            trusted_domain::Column::IncludeSubdomains,
            Expr::value(include),
        )
        .filter(trusted_domain::Column::Id.eq(id))
        .filter(trusted_domain::Column::TenantId.eq(scope.tenant_uuid()))
        .exec(conn)
        .await?;
    Ok(())
}

/// Revokes the tenant's live tokens limited to this domain; how many.
pub(crate) async fn revoke_domain_tokens(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    domain: Uuid,
    at: Timestamp,
) -> Result<u64, DbErr> {
    Ok(scim_token::Entity::update_many()
        .col_expr(scim_token::Column::RevokedAt, Expr::value(at.as_micros()))
        .filter(scim_token::Column::TenantId.eq(scope.tenant_uuid()))
        .filter(scim_token::Column::DomainId.eq(domain))
        .filter(scim_token::Column::RevokedAt.is_null())
        .exec(conn)
        .await?
        .rows_affected)
}
