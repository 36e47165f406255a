//! A tenant's rule tables as the rules module reads them: the version that says whether a
//! cached snapshot is current, every rule row (six indexed queries) turned into the
//! rules' own types, and the trusted domains as stored now (the admin UI's list, with
//! the outcome of the last check). Rows that no longer parse (hand-edited) are left out
//! rather than failing every request of the tenant. The writes are in [`super::places`].

use roster_entity::{
    custom_attribute, kiosk, location, location_rule, notification_type, tenant, tenant_settings,
    trusted_domain,
};
use roster_scim::patch::PatchPath;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::rules::{
    AttributeType, CustomAttributeDef, DeactivateMode, DeleteMode, EmailDomain, ExistingUser,
    Kiosk, Location, MappingRule, MatchKind, NotificationType, ProvisioningSettings, TrustedDomain,
    Verification,
};
use crate::store::TenantScope;
use crate::tenants::TenantId;
use crate::time::Timestamp;

/// Every rule of one tenant, as stored.
pub(crate) struct RuleRows {
    pub settings: ProvisioningSettings,
    pub domains: Vec<TrustedDomain>,
    pub attributes: Vec<CustomAttributeDef>,
    pub catalogue: Vec<NotificationType>,
    pub locations: Vec<Location>,
    pub mapping: Vec<MappingRule>,
}

/// The tenant's rules version (bumped by every change of its rules).
pub(crate) async fn rules_version(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
) -> Result<i64, DbErr> {
    let version: Option<i64> = tenant::Entity::find_by_id(tenant.0)
        .select_only()
        .column(tenant::Column::RulesVersion)
        .into_tuple()
        .one(conn)
        .await?;
    Ok(version.unwrap_or_default())
}

/// Reads every rule table of one tenant.
pub(crate) async fn rule_rows(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
) -> Result<RuleRows, DbErr> {
    let settings = tenant_settings::Entity::find_by_id(tenant.0)
        .one(conn)
        .await?
        .map(settings_of)
        .unwrap_or_default();
    let domains = trusted_domains(conn, TenantScope::new(tenant)).await?;
    let attributes = custom_attribute::Entity::find()
        .filter(custom_attribute::Column::TenantId.eq(tenant.0))
        .order_by_asc(custom_attribute::Column::CreatedAt)
        .all(conn)
        .await?
        .into_iter()
        .filter_map(attribute_of)
        .collect();
    let catalogue = notification_type::Entity::find()
        .filter(notification_type::Column::TenantId.eq(tenant.0))
        .order_by_asc(notification_type::Column::CreatedAt)
        .all(conn)
        .await?
        .into_iter()
        .map(notification_type_of)
        .collect();
    let kiosks = kiosk::Entity::find()
        .filter(kiosk::Column::TenantId.eq(tenant.0))
        .order_by_asc(kiosk::Column::Name)
        .all(conn)
        .await?;
    let locations = Location::assemble(
        location::Entity::find()
            .filter(location::Column::TenantId.eq(tenant.0))
            .order_by_asc(location::Column::Name)
            .all(conn)
            .await?,
        kiosks,
    );
    let mapping = location_rule::Entity::find()
        .filter(location_rule::Column::TenantId.eq(tenant.0))
        .order_by_asc(location_rule::Column::Position)
        .order_by_asc(location_rule::Column::CreatedAt)
        .all(conn)
        .await?
        .into_iter()
        .filter_map(rule_of)
        .collect();
    Ok(RuleRows {
        settings,
        domains,
        attributes,
        catalogue,
        locations,
        mapping,
    })
}

/// The tenant's trusted domains by name, as stored now (with the outcome of the last
/// check).
pub(crate) async fn trusted_domains(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
) -> Result<Vec<TrustedDomain>, DbErr> {
    Ok(trusted_domain::Entity::find()
        .filter(trusted_domain::Column::TenantId.eq(scope.tenant_uuid()))
        .order_by_asc(trusted_domain::Column::Domain)
        .all(conn)
        .await?
        .into_iter()
        .filter_map(TrustedDomain::from_row)
        .collect())
}

/// One of the tenant's trusted domains, as stored now.
pub(crate) async fn trusted_domain(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    id: Uuid,
) -> Result<Option<TrustedDomain>, DbErr> {
    Ok(trusted_domain::Entity::find_by_id(id)
        .filter(trusted_domain::Column::TenantId.eq(scope.tenant_uuid()))
        .one(conn)
        .await?
        .and_then(TrustedDomain::from_row))
}

fn settings_of(row: tenant_settings::Model) -> ProvisioningSettings {
    ProvisioningSettings {
        enabled: row.provisioning_enabled,
        create_users: row.allow_create_users,
        update_users: row.allow_update_users,
        deactivate_users: row.allow_deactivate_users,
        delete_users: row.allow_delete_users,
        push_groups: row.allow_push_groups,
        delete_mode: DeleteMode::parse(&row.delete_mode).unwrap_or(DeleteMode::Delete),
        existing_user: ExistingUser::parse(&row.existing_user).unwrap_or(ExistingUser::Conflict),
        deactivate_mode: DeactivateMode::parse(&row.deactivate_mode)
            .unwrap_or(DeactivateMode::Keep),
        domains_only: row.domains_only,
        assign_hosts: row.assign_hosts,
    }
}

/// `None` for a row whose type is not one Roster offers (a hand-edited row): it is left
/// out of the schema rather than failing every request of the tenant.
fn attribute_of(row: custom_attribute::Model) -> Option<CustomAttributeDef> {
    let ty = AttributeType::parse(&row.attr_type).ok()?.get();
    Some(CustomAttributeDef {
        id: row.id,
        name: row.name,
        ty,
        multi_valued: row.multi_valued,
        description: row.description,
    })
}

fn notification_type_of(row: notification_type::Model) -> NotificationType {
    NotificationType {
        id: row.id,
        key: row.key,
        label: row.label,
        defaults: crate::rules::parse_channels(&row.default_channels),
    }
}

fn rule_of(row: location_rule::Model) -> Option<MappingRule> {
    Some(MappingRule {
        id: row.id,
        position: row.position,
        path: PatchPath::parse(&row.attribute).ok()?,
        attribute: row.attribute,
        kind: MatchKind::parse(&row.match_kind).ok()?,
        values: serde_json::from_str(&row.match_values).ok()?,
        locations: crate::rules::uuid_list(&row.location_ids),
        kiosks: crate::rules::uuid_list(&row.kiosk_ids),
    })
}

impl TrustedDomain {
    fn from_row(row: trusted_domain::Model) -> Option<Self> {
        Some(Self {
            id: row.id,
            domain: EmailDomain::parse(&row.domain).ok()?,
            include_subdomains: row.include_subdomains,
            verified: match (row.verified_at, row.verified_by) {
                (Some(at), Some(by)) => Some(Verification {
                    at: Timestamp::from_micros(at),
                    by,
                }),
                _ => None,
            },
            verification_token: row.verification_token,
            last_checked_at: row.last_checked_at.map(Timestamp::from_micros),
            last_check_error: row.last_check_error,
            created_at: Timestamp::from_micros(row.created_at),
        })
    }
}

impl Location {
    /// Locations with their kiosks, from their rows.
    pub(crate) fn assemble(rows: Vec<location::Model>, kiosks: Vec<kiosk::Model>) -> Vec<Self> {
        rows.into_iter()
            .map(|row| Self {
                kiosks: kiosks
                    .iter()
                    .filter(|k| k.location_id == row.id)
                    .map(|k| Kiosk {
                        id: k.id,
                        location_id: k.location_id,
                        name: k.name.clone(),
                    })
                    .collect(),
                id: row.id,
                name: row.name,
                code: row.code,
                time_zone: row.time_zone,
            })
            .collect()
    }
}
