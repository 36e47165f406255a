//! Tenants: the customer organisations Roster serves.

use std::fmt;

use uuid::Uuid;

use crate::admins::Admin;
use crate::audit::{self, Actor, Change, Origin};
use crate::error::is_unique_violation;
use crate::memberships::TenantAccess;
use crate::paging::{Page, PageSize};
use crate::rules::{TenantDefaultsService, store_settings};
use crate::store::tenants as store;
use crate::time::Timestamp;
use crate::{Database, Error, Result};

/// The names of the shared SCIM base URL's endpoints (`/scim/v2/Users`, …), compared
/// without case. A new tenant may not take one as its slug, so that `/scim/v2/{slug}`
/// never reads like one of them — to a person, or to a proxy that folds case. (Routing
/// alone would not collide: slugs are lowercase, the endpoints are not.)
pub const RESERVED_SLUGS: [&str; 8] = [
    "users",
    "groups",
    "bulk",
    "schemas",
    "resourcetypes",
    "serviceproviderconfig",
    "me",
    ".search",
];

/// The identifier in `/scim/v2/{slug}`: 2–63 characters of `a-z`, `0-9` and inner `-`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TenantSlug(String);

impl TenantSlug {
    pub fn parse(raw: &str) -> Result<Self> {
        let slug = raw.trim();
        let valid_chars = slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !(2..=63).contains(&slug.len()) {
            return Err(Error::invalid("slug", "must be 2 to 63 characters long"));
        }
        if !valid_chars {
            return Err(Error::invalid(
                "slug",
                "may contain only lowercase letters, digits and hyphens",
            ));
        }
        if slug.starts_with('-') || slug.ends_with('-') {
            return Err(Error::invalid(
                "slug",
                "must not start or end with a hyphen",
            ));
        }
        Ok(Self(slug.to_owned()))
    }

    /// A slug a new tenant may take: [`TenantSlug::parse`], and not one of the shared
    /// SCIM URL's endpoint names ([`RESERVED_SLUGS`]). Existing tenants are looked up
    /// with `parse`, so one created before the names were reserved keeps working.
    pub fn parse_new(raw: &str) -> Result<Self> {
        let slug = Self::parse(raw)?;
        if is_reserved_slug(slug.as_str()) {
            return Err(Error::invalid(
                "slug",
                format!(
                    "\"{slug}\" is reserved: the shared SCIM URL has an endpoint of that name \
                     (/scim/v2/Users, /Groups, /Bulk, /Schemas, /ResourceTypes, \
                     /ServiceProviderConfig, /Me); choose another slug"
                ),
            ));
        }
        Ok(slug)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A slug as stored: it was parsed on the way in.
    pub(crate) fn from_stored(slug: String) -> Self {
        Self(slug)
    }
}

/// Whether `name` is one of the shared SCIM URL's endpoint names, in any case.
pub fn is_reserved_slug(name: &str) -> bool {
    RESERVED_SLUGS
        .iter()
        .any(|reserved| reserved.eq_ignore_ascii_case(name.trim()))
}

impl fmt::Display for TenantSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A tenant's display name: 1–200 characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantName(String);

impl TenantName {
    pub fn parse(raw: &str) -> Result<Self> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(Error::invalid("name", "must not be empty"));
        }
        if name.chars().count() > 200 {
            return Err(Error::invalid(
                "name",
                "must be at most 200 characters long",
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(Error::invalid(
                "name",
                "must not contain control characters",
            ));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TenantId(pub Uuid);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TenantStatus {
    Active,
    Suspended,
}

impl TenantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
        }
    }

    pub(crate) fn from_column(value: &str) -> Self {
        // Anything but `active` is treated as suspended: fail closed.
        if value == "active" {
            Self::Active
        } else {
            Self::Suspended
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: TenantSlug,
    pub name: String,
    pub status: TenantStatus,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct TenantService {
    db: Database,
    defaults: TenantDefaultsService,
}

impl TenantService {
    /// Tenants created here start with `defaults`' settings.
    pub fn new(db: Database, defaults: TenantDefaultsService) -> Self {
        Self { db, defaults }
    }

    /// Creates a tenant (the command line's `roster tenant create`).
    pub async fn create(&self, slug: TenantSlug, name: TenantName) -> Result<Tenant> {
        self.insert(slug, name, &Actor::CommandLine, &Origin::default())
            .await
    }

    /// Inserts the tenant, its provisioning settings (a copy of the operator's defaults)
    /// and its audit row in one transaction.
    async fn insert(
        &self,
        slug: TenantSlug,
        name: TenantName,
        actor: &Actor,
        origin: &Origin,
    ) -> Result<Tenant> {
        let now = self.db.clock().now();
        let id = TenantId(Uuid::now_v7());
        let txn = self.db.begin_write().await?;
        let tenant = match store::insert(&txn, id, &slug, &name, now).await {
            Ok(tenant) => tenant,
            Err(err) => {
                txn.rollback().await?;
                return Err(if is_unique_violation(&err) {
                    Error::Conflict(format!("a tenant with the slug \"{slug}\" already exists"))
                } else {
                    err.into()
                });
            }
        };
        let settings = self.defaults.current_on(&txn).await?.settings;
        store_settings(&txn, self.db.clock().now(), tenant.id, settings).await?;
        audit::record_for(
            &txn,
            self.db.clock().now(),
            Some(tenant.id),
            actor,
            origin,
            Change::new("tenant.create")
                .target("tenant", tenant.id.0, tenant.slug.as_str())
                .after(serde_json::json!({
                    "slug": tenant.slug.as_str(),
                    "name": tenant.name,
                    "settings": settings.audit_json(),
                })),
        )
        .await?;
        txn.commit().await?;
        Ok(tenant)
    }

    /// Sets the SCIM requests per second allowed per token (`Some(0)` = unlimited,
    /// `None` = the server's default).
    pub async fn set_scim_rate_limit(&self, tenant: TenantId, limit: Option<u32>) -> Result<()> {
        let limit = limit.map(|l| i32::try_from(l).unwrap_or(i32::MAX));
        store::set_scim_rate_limit(self.db.writer(), tenant, limit, self.db.clock().now()).await?;
        Ok(())
    }

    pub async fn find_by_slug(&self, slug: &str) -> Result<Option<Tenant>> {
        Ok(store::find_by_slug(self.db.reader(), slug).await?)
    }
}

impl TenantService {
    /// Creates a tenant on behalf of an admin: operators only. For anyone else the
    /// answer is `NotFound`, as for every other page they may not see.
    pub async fn create_by(
        &self,
        acting: &Admin,
        slug: TenantSlug,
        name: TenantName,
    ) -> Result<TenantAccess> {
        self.create_in_request(acting, Origin::default(), slug, name)
            .await
    }

    /// [`Self::create_by`] within a request, whose id and client address the audit row
    /// keeps.
    pub async fn create_in_request(
        &self,
        acting: &Admin,
        origin: Origin,
        slug: TenantSlug,
        name: TenantName,
    ) -> Result<TenantAccess> {
        require_operator(acting)?;
        let actor = Actor::of_admin(acting);
        let tenant = self.insert(slug, name, &actor, &origin).await?;
        Ok(TenantAccess::new(tenant, actor).with_origin(origin))
    }

    /// Every tenant by slug, a page at a time (keyset on the unique slug).
    pub async fn list_page(
        &self,
        acting: &Admin,
        after: Option<&TenantSlug>,
        size: PageSize,
    ) -> Result<Page<Tenant, TenantSlug>> {
        require_operator(acting)?;
        let rows = store::page_by_slug(self.db.reader(), after, size.probe()).await?;
        Ok(Page::from_probe(rows, size, |tenant: &Tenant| {
            tenant.slug.clone()
        }))
    }

    /// Suspends or reactivates a tenant: operators only. A suspended tenant keeps its
    /// data and its admins can still sign in and look; its SCIM endpoint refuses requests.
    pub async fn set_status(
        &self,
        acting: &Admin,
        scope: &TenantAccess,
        status: TenantStatus,
    ) -> Result<Tenant> {
        require_operator(acting)?;
        let before = scope.tenant().status;
        let txn = self.db.begin_write().await?;
        let tenant = store::set_status(&txn, scope.id(), status, self.db.clock().now()).await?;
        let action = match status {
            TenantStatus::Active => "tenant.resume",
            TenantStatus::Suspended => "tenant.suspend",
        };
        audit::record(
            &txn,
            self.db.clock().now(),
            scope,
            Change::new(action)
                .target("tenant", scope.id().0, scope.slug().as_str())
                .before(serde_json::json!({ "status": before.as_str() }))
                .after(serde_json::json!({ "status": status.as_str() })),
        )
        .await?;
        txn.commit().await?;
        Ok(tenant)
    }
}

/// Operator-only actions answer `NotFound` to anyone else (404, never 403).
pub fn require_operator(acting: &Admin) -> Result<()> {
    if acting.is_operator {
        Ok(())
    } else {
        Err(Error::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_checked() {
        assert_eq!(
            TenantSlug::parse(" acme-corp ").unwrap().as_str(),
            "acme-corp"
        );
        assert!(TenantSlug::parse("a").is_err());
        assert!(TenantSlug::parse("Acme").is_err());
        assert!(TenantSlug::parse("-acme").is_err());
        assert!(TenantSlug::parse("acme/../x").is_err());
        assert!(TenantSlug::parse(&"a".repeat(64)).is_err());
    }

    #[test]
    fn new_slugs_avoid_the_shared_url_endpoints() {
        for name in ["users", "groups", "bulk", "schemas", "resourcetypes", "me"] {
            assert!(
                TenantSlug::parse(name).is_ok(),
                "{name} is a well-formed slug"
            );
            let err = TenantSlug::parse_new(name).unwrap_err().to_string();
            assert!(err.contains("reserved"), "{err}");
        }
        assert!(TenantSlug::parse_new("serviceproviderconfig").is_err());
        assert!(is_reserved_slug("Users") && is_reserved_slug("SERVICEPROVIDERCONFIG"));
        assert!(is_reserved_slug(".search"));
        assert!(TenantSlug::parse_new("users-eu").is_ok());
        assert!(TenantSlug::parse_new("acme").is_ok());
    }

    #[test]
    fn names_are_checked() {
        assert_eq!(TenantName::parse(" Acme ").unwrap().as_str(), "Acme");
        assert!(TenantName::parse("  ").is_err());
        assert!(TenantName::parse("a\u{0007}b").is_err());
    }
}
