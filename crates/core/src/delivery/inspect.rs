//! What the endpoint page offers beyond one delivery at a time: the body of a delivery's
//! event as it is POSTed, and queuing every failed delivery of an endpoint again.

use super::event_json;
use super::webhooks::{EndpointId, WebhookService};
use crate::audit::{self, Change};
use crate::memberships::TenantAccess;
use crate::store::{TenantScope, deliveries, outbox};
use crate::{Error, Result};

impl WebhookService {
    /// The body Roster POSTs for this delivery's event (the same bytes the signature
    /// covers), for the admin to read.
    pub async fn delivery_payload(
        &self,
        scope: &TenantAccess,
        endpoint: EndpointId,
        delivery_id: i64,
    ) -> Result<String> {
        let tenant = TenantScope::from(scope);
        let reader = self.db.reader();
        let delivery = deliveries::delivery(reader, tenant, endpoint.0, delivery_id)
            .await?
            .ok_or(Error::NotFound)?;
        let event = outbox::event(reader, tenant, delivery.event_pk)
            .await?
            .ok_or(Error::NotFound)?;
        Ok(event_json(
            event.event_id,
            &event.event_type,
            scope.slug().as_str(),
            event.occurred_at,
            &event.payload,
        ))
    }

    /// Queues every failed delivery of the endpoint again, in one statement and one
    /// transaction with its audit row; how many were queued.
    pub async fn redeliver_failed(
        &self,
        scope: &TenantAccess,
        endpoint: EndpointId,
    ) -> Result<u64> {
        let found = self.find(scope, endpoint).await?;
        let txn = self.db.begin_write().await?;
        let queued = self.requeue(&txn, scope, endpoint, None).await?;
        if queued > 0 {
            audit::record(
                &txn,
                self.db.clock().now(),
                scope,
                Change::new("webhook.redeliver_failed")
                    .target("webhook", endpoint.0, found.url)
                    .after(serde_json::json!({ "queued": queued })),
            )
            .await?;
        }
        txn.commit().await?;
        Ok(queued)
    }
}
