//! `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas` — per tenant, because a
//! tenant's custom attributes are part of its User schema. Like every other request they
//! are refused while provisioning is turned off, so Okta's "Test API Credentials" shows why.

use roster_scim::ScimError;
use roster_scim::discovery;
use serde_json::Value;

use super::{Operation, ProvResult, Provisioning, RequestContext};

impl Provisioning {
    pub async fn service_provider_config(&self, ctx: &RequestContext) -> ProvResult<Value> {
        self.run(ctx, Operation::Discovery, None, |_| async {
            Ok(discovery::service_provider_config(
                &self.settings.capabilities,
                &self.base_url(ctx),
            ))
        })
        .await
    }

    pub async fn resource_types(&self, ctx: &RequestContext) -> ProvResult<Value> {
        self.run(ctx, Operation::Discovery, None, |rules| async move {
            let registry = &rules.registry;
            Ok(discovery::resource_types(registry, &self.base_url(ctx)))
        })
        .await
    }

    pub async fn resource_type(&self, ctx: &RequestContext, name: &str) -> ProvResult<Value> {
        self.run(ctx, Operation::Discovery, None, |rules| async move {
            let registry = &rules.registry;
            discovery::resource_type(registry, &self.base_url(ctx), name).ok_or_else(|| {
                ScimError::not_found(format!("there is no resource type {name}")).into()
            })
        })
        .await
    }

    pub async fn schemas(&self, ctx: &RequestContext) -> ProvResult<Value> {
        self.run(ctx, Operation::Discovery, None, |rules| async move {
            let registry = &rules.registry;
            Ok(discovery::schemas(registry, &self.base_url(ctx)))
        })
        .await
    }

    pub async fn schema(&self, ctx: &RequestContext, urn: &str) -> ProvResult<Value> {
        self.run(ctx, Operation::Discovery, None, |rules| async move {
            let registry = &rules.registry;
            discovery::schema(registry, &self.base_url(ctx), urn)
                .ok_or_else(|| ScimError::not_found(format!("there is no schema {urn}")).into())
        })
        .await
    }
}
