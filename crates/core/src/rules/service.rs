//! Changing a tenant's rules (the admin UI's side). Every change runs in one write
//! transaction with the bump of `tenants.rules_version`, then drops this node's snapshot,
//! so this node applies it at once and the others within [`super::REVALIDATE_AFTER`].

use std::sync::Arc;

use sea_orm::{ConnectionTrait, DatabaseTransaction};
use uuid::Uuid;

use super::{
    DomainVerifier, EmailDomain, NewAttribute, ProvisioningSettings, RulesCache, TenantRules,
    TrustedDomain, VerifyOutcome, build_registry,
};
use crate::admins::Admin;
use crate::audit::{self, Change};
use crate::error::is_unique_violation;
use crate::memberships::TenantAccess;
use crate::provisioning::Provisioning;
use crate::store::TenantScope;
use crate::store::places::{self, DomainRow, RuleItem};
use crate::store::rules::{trusted_domain, trusted_domains};
use crate::time::Timestamp;
use crate::{Database, Error, Result, crypto};

/// What re-applying the notification defaults did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReapplyOutcome {
    /// Users whose settings differed from the defaults and now equal them.
    pub changed: u64,
}

#[derive(Clone, Debug)]
pub struct RulesService {
    pub(super) db: Database,
    pub(super) cache: RulesCache,
    verifier: DomainVerifier,
    /// Re-evaluates users' hosts when locations, kiosks or mapping rules change.
    pub(super) provisioning: Provisioning,
}

impl RulesService {
    pub fn new(
        db: Database,
        cache: RulesCache,
        verifier: DomainVerifier,
        provisioning: Provisioning,
    ) -> Self {
        Self {
            db,
            cache,
            verifier,
            provisioning,
        }
    }

    /// The tenant's rules as the provisioning service sees them.
    pub async fn rules(&self, scope: &TenantAccess) -> Result<Arc<TenantRules>> {
        self.cache.get(scope.id()).await
    }

    /// Runs `change` in a write job with the version bump, then forgets the snapshot.
    /// `entry` is the change's audit row, written in the same transaction.
    pub(super) async fn change<T, F>(
        &self,
        scope: &TenantAccess,
        entry: Change,
        change: F,
    ) -> Result<T>
    where
        F: for<'t> FnOnce(
                &'t DatabaseTransaction,
            ) -> std::pin::Pin<
                Box<dyn std::future::Future<Output = Result<T>> + Send + 't>,
            > + Send
            + 'static,
        T: Send + 'static,
    {
        let tenant = scope.id();
        let acting = scope.clone();
        let at = self.db.clock().now();
        let value = self
            .db
            .write(
                move |txn: &DatabaseTransaction| -> futures_util::future::BoxFuture<'_, Result<T>> {
                    Box::pin(async move {
                        let value = change(txn).await?;
                        places::bump_rules_version(txn, tenant).await?;
                        audit::record(txn, at, &acting, entry).await?;
                        Ok(value)
                    })
                },
            )
            .await?;
        self.cache.forget(tenant);
        Ok(value)
    }

    pub async fn update_settings(
        &self,
        scope: &TenantAccess,
        settings: ProvisioningSettings,
    ) -> Result<()> {
        let before = self.rules(scope).await?.settings;
        let entry = Change::new("settings.update")
            .target("settings", scope.id().0, "Provisioning settings")
            .before(before.audit_json())
            .after(settings.audit_json());
        let tenant = scope.id();
        let at = self.db.clock().now();
        self.change(scope, entry, move |txn| {
            Box::pin(async move { store_settings(txn, at, tenant, settings).await })
        })
        .await
    }

    /// Turns provisioning on or off and leaves every other setting as it is (the
    /// overview's "Turn provisioning on", as Tribeloo's "Enable User provisioning").
    pub async fn set_provisioning_enabled(
        &self,
        scope: &TenantAccess,
        enabled: bool,
    ) -> Result<()> {
        let settings = self.rules(scope).await?.settings;
        if settings.enabled == enabled {
            return Ok(());
        }
        self.update_settings(
            scope,
            ProvisioningSettings {
                enabled,
                ..settings
            },
        )
        .await
    }

    // -- Trusted domains ---------------------------------------------------------------

    pub async fn add_domain(
        &self,
        scope: &TenantAccess,
        domain: EmailDomain,
        include_subdomains: bool,
    ) -> Result<Uuid> {
        let id = Uuid::now_v7();
        let row = DomainRow {
            id,
            domain: domain.as_str().to_owned(),
            include_subdomains,
            verification_token: hex::encode(crypto::random_bytes::<16>()),
            created_at: self.db.clock().now(),
        };
        let tenant = TenantScope::from(scope);
        let entry = Change::new("domain.add")
            .target("domain", id, domain.as_str())
            .after(serde_json::json!({ "domain": domain.as_str(), "include_subdomains": include_subdomains }));
        let result = self
            .change(scope, entry, move |txn| {
                Box::pin(async move {
                    places::insert_domain(txn, tenant, row).await?;
                    Ok(())
                })
            })
            .await;
        match result {
            Err(Error::Database(err)) if is_unique_violation(&err) => Err(Error::invalid(
                "domain",
                format!("{domain} is already in the list"),
            )),
            other => other.map(|()| id),
        }
    }

    /// The tenant's domains as stored now, with the outcome of the last check (which
    /// does not change the rules, so the snapshot may not have it).
    pub async fn domains(&self, scope: &TenantAccess) -> Result<Vec<TrustedDomain>> {
        Ok(trusted_domains(self.db.reader(), TenantScope::from(scope)).await?)
    }

    pub async fn domain(&self, scope: &TenantAccess, id: Uuid) -> Result<TrustedDomain> {
        trusted_domain(self.db.reader(), TenantScope::from(scope), id)
            .await?
            .ok_or(Error::NotFound)
    }

    /// Looks the TXT record up and records the outcome. A domain verified by another
    /// tenant stays unverified here, with a sentence saying so.
    pub async fn verify_domain(&self, scope: &TenantAccess, id: Uuid) -> Result<VerifyOutcome> {
        let domain = self.domain(scope, id).await?;
        if domain.verified.is_some() {
            return Ok(VerifyOutcome::Verified);
        }
        let outcome = self
            .verifier
            .check(&domain.domain, &domain.verification_token)
            .await;
        match &outcome {
            VerifyOutcome::Verified => self.set_verified(scope, &domain, "dns").await,
            VerifyOutcome::NotYet(why) => {
                self.record_check(scope, id, Some(why.clone())).await?;
                Ok(outcome)
            }
        }
    }

    /// An operator's word instead of DNS: recorded with who and when. Tenant admins get
    /// `NotFound`, like every operator-only action.
    pub async fn mark_verified(
        &self,
        scope: &TenantAccess,
        id: Uuid,
        operator: &Admin,
    ) -> Result<VerifyOutcome> {
        if !operator.is_operator {
            return Err(Error::NotFound);
        }
        let domain = self.domain(scope, id).await?;
        if domain.verified.is_some() {
            return Ok(VerifyOutcome::Verified);
        }
        self.set_verified(scope, &domain, &operator.email).await
    }

    async fn set_verified(
        &self,
        scope: &TenantAccess,
        domain: &TrustedDomain,
        by: &str,
    ) -> Result<VerifyOutcome> {
        let now = self.db.clock().now().as_micros();
        let (id, name, by) = (domain.id, domain.domain.to_string(), by.to_owned());
        let tenant = TenantScope::from(scope);
        let entry = Change::new("domain.verify")
            .target("domain", id, name.clone())
            .before(serde_json::json!({ "verified": false }))
            .after(serde_json::json!({ "verified": true, "by": by }));
        let result = self
            .change(scope, entry, move |txn| {
                Box::pin(async move {
                    places::mark_domain_verified(txn, tenant, id, name, by, now).await?;
                    Ok(())
                })
            })
            .await;
        match result {
            Ok(()) => Ok(VerifyOutcome::Verified),
            Err(Error::Database(err)) if is_unique_violation(&err) => {
                let why = format!(
                    "{} is already verified by another tenant; a verified domain belongs to \
                     one tenant only (ask the Roster operator)",
                    domain.domain
                );
                self.record_check(scope, domain.id, Some(why.clone()))
                    .await?;
                Ok(VerifyOutcome::NotYet(why))
            }
            Err(err) => Err(err),
        }
    }

    /// Records a failed check. The verification state does not change, so the rules
    /// version does not either.
    async fn record_check(
        &self,
        scope: &TenantAccess,
        id: Uuid,
        error: Option<String>,
    ) -> Result<()> {
        places::record_domain_check(
            self.db.writer(),
            TenantScope::from(scope),
            id,
            self.db.clock().now(),
            error,
        )
        .await?;
        Ok(())
    }

    pub async fn set_include_subdomains(
        &self,
        scope: &TenantAccess,
        id: Uuid,
        include: bool,
    ) -> Result<()> {
        let domain = self.domain(scope, id).await?;
        let tenant = TenantScope::from(scope);
        let entry = Change::new("domain.subdomains")
            .target("domain", id, domain.domain.to_string())
            .before(serde_json::json!({ "include_subdomains": domain.include_subdomains }))
            .after(serde_json::json!({ "include_subdomains": include }));
        self.change(scope, entry, move |txn| {
            Box::pin(async move {
                places::set_include_subdomains(txn, tenant, id, include).await?;
                Ok(())
            })
        })
        .await
    }

    /// Removes a domain. Tokens limited to it are revoked in the same transaction: a
    /// token must never outlive its scope and become a tenant-wide one.
    pub async fn remove_domain(&self, scope: &TenantAccess, id: Uuid) -> Result<u64> {
        let domain = self.domain(scope, id).await?;
        let tenant = TenantScope::from(scope);
        let entry = Change::new("domain.remove")
            .target("domain", id, domain.domain.to_string())
            .before(serde_json::json!({ "domain": domain.domain.to_string() }));
        let now = self.db.clock().now();
        self.change(scope, entry, move |txn| {
            Box::pin(async move {
                let revoked = places::revoke_domain_tokens(txn, tenant, id, now).await?;
                places::remove_item(txn, tenant, RuleItem::Domain, id).await?;
                Ok(revoked)
            })
        })
        .await
    }

    // -- Custom attributes -------------------------------------------------------------

    pub async fn add_attribute(&self, scope: &TenantAccess, new: NewAttribute) -> Result<()> {
        let rules = self.rules(scope).await?;
        if rules
            .attributes
            .iter()
            .any(|a| a.name.eq_ignore_ascii_case(new.name.as_str()))
        {
            return Err(Error::invalid(
                "name",
                format!("{} is already defined", new.name.as_str()),
            ));
        }
        let mut attributes = rules.attributes.clone();
        let row = super::CustomAttributeDef {
            id: Uuid::now_v7(),
            name: new.name.as_str().to_owned(),
            ty: new.ty.get(),
            multi_valued: new.multi_valued,
            description: new.description.clone(),
        };
        let created_at = self.db.clock().now();
        let tenant = TenantScope::from(scope);
        attributes.push(super::CustomAttributeDef {
            id: Uuid::nil(),
            name: new.name.as_str().to_owned(),
            ty: new.ty.get(),
            multi_valued: new.multi_valued,
            description: new.description,
        });
        // The schema must still build (the engine's rules on names and shapes).
        build_registry(&attributes, !rules.catalogue.is_empty())
            .map_err(|_| Error::invalid("name", "cannot be used as a SCIM attribute name"))?;
        let entry = Change::new("attribute.add")
            .target("attribute", new.name.as_str(), new.name.as_str())
            .after(serde_json::json!({
                "name": new.name.as_str(),
                "type": new.ty.get().as_str(),
                "multi_valued": new.multi_valued,
            }));
        let result = self
            .change(scope, entry, move |txn| {
                Box::pin(async move {
                    places::insert_attribute(txn, tenant, row, created_at).await?;
                    Ok(())
                })
            })
            .await;
        match result {
            Err(Error::Database(err)) if is_unique_violation(&err) => {
                Err(Error::invalid("name", "is already defined"))
            }
            other => other,
        }
    }

    /// Removes a definition. Stored values stay in the users' documents but are no
    /// longer served or validated; defining the attribute again brings them back.
    pub async fn remove_attribute(&self, scope: &TenantAccess, id: Uuid) -> Result<()> {
        let tenant = TenantScope::from(scope);
        let name = self
            .rules(scope)
            .await?
            .attributes
            .iter()
            .find(|a| a.id == id)
            .map_or_else(|| id.to_string(), |a| a.name.clone());
        let entry = Change::new("attribute.remove").target("attribute", id, name);
        self.change(scope, entry, move |txn| {
            Box::pin(async move {
                let removed = places::remove_item(txn, tenant, RuleItem::Attribute, id).await?;
                if removed == 0 {
                    return Err(Error::NotFound);
                }
                Ok(())
            })
        })
        .await
    }
}

/// Writes a tenant's settings row (inserted, or replaced), in the caller's transaction.
pub(crate) async fn store_settings(
    conn: &impl ConnectionTrait,
    at: Timestamp,
    tenant: crate::tenants::TenantId,
    settings: ProvisioningSettings,
) -> Result<()> {
    places::store_settings(conn, TenantScope::of_stored(tenant), at, settings).await?;
    Ok(())
}
