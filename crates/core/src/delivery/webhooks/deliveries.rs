//! The deliveries side of an endpoint: a test request sent now, the deliveries the
//! admin UI lists and counts, and redelivery of failed ones.

use sea_orm::ConnectionTrait;
use uuid::Uuid;

use super::super::client::Request;
use super::super::event_json;
use super::{CannotSign, EndpointId, WebhookService, open_secret};
use crate::audit::{self, Change};
use crate::memberships::TenantAccess;
use crate::paging::{Page, PageSize};
use crate::store::TenantScope;
use crate::store::deliveries::{self as stored, DeliveryRow};
use crate::store::outbox::{self, StoredEvent};
use crate::time::Timestamp;
use crate::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "pending" => Some(Self::Pending),
            "delivered" => Some(Self::Delivered),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// A delivery as the admin UI lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub endpoint_id: EndpointId,
    pub event_id: Uuid,
    pub event_type: String,
    pub resource_id: Uuid,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: Option<Timestamp>,
    pub last_attempt_at: Option<Timestamp>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

/// What a test request to an endpoint got back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestOutcome {
    pub status_code: Option<u16>,
    /// `None` when the endpoint answered 2xx.
    pub error: Option<String>,
}

/// Counts of an endpoint's deliveries by status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryCounts {
    pub pending: u64,
    pub delivered: u64,
    pub failed: u64,
}

impl WebhookService {
    /// Sends a `webhook.test` event to the endpoint now and reports the answer. Nothing
    /// is stored: the test event is not in the outbox.
    pub async fn send_test(&self, scope: &TenantAccess, id: EndpointId) -> Result<TestOutcome> {
        let row = self.row(scope, id).await?;
        let event_id = Uuid::now_v7();
        let now = self.db.clock().now();
        // The test event is signed with the current secret only.
        let secret = match open_secret(&self.keyring, &row.secret, row.id) {
            Ok(secret) => secret,
            Err(err) => {
                return Ok(TestOutcome {
                    status_code: None,
                    error: Some(CannotSign(err).to_string()),
                });
            }
        };
        let body = event_json(
            event_id,
            "webhook.test",
            scope.slug().as_str(),
            now.as_micros(),
            &serde_json::json!({ "endpoint": { "id": row.id.to_string(), "url": row.url } })
                .to_string(),
        );
        Ok(self
            .client
            .post(Request {
                url: row.url.clone(),
                body,
                secrets: vec![secret],
                event_id,
                event_type: "webhook.test".to_owned(),
                attempt: 1,
                sent_at: self.db.clock().now(),
            })
            .await)
    }

    /// An endpoint's deliveries, newest first, optionally of one status.
    pub async fn deliveries(
        &self,
        scope: &TenantAccess,
        endpoint: EndpointId,
        status: Option<DeliveryStatus>,
        before: Option<i64>,
        size: PageSize,
    ) -> Result<Page<Delivery, i64>> {
        let tenant = TenantScope::from(scope);
        let reader = self.db.reader();
        let status = status.map(DeliveryStatus::as_str);
        let rows =
            stored::deliveries(reader, tenant, endpoint.0, status, before, size.probe()).await?;
        let pks = rows.iter().map(|row| row.event_pk);
        let events = outbox::events_by_id(reader, Some(tenant), pks).await?;
        let deliveries = rows
            .into_iter()
            .map(|row| {
                let event = events.get(&row.event_pk);
                delivery(row, event)
            })
            .collect();
        Ok(Page::from_probe(deliveries, size, |d: &Delivery| d.id))
    }

    /// Counts of an endpoint's deliveries by status.
    pub async fn counts(
        &self,
        scope: &TenantAccess,
        endpoint: EndpointId,
    ) -> Result<DeliveryCounts> {
        let tenant = TenantScope::from(scope);
        let rows = stored::counts_by_status(self.db.reader(), tenant, endpoint.0).await?;
        let mut counts = DeliveryCounts::default();
        for (status, n) in rows {
            let n = u64::try_from(n).unwrap_or(0);
            match DeliveryStatus::parse(&status) {
                Some(DeliveryStatus::Pending) => counts.pending = n,
                Some(DeliveryStatus::Delivered) => counts.delivered = n,
                Some(DeliveryStatus::Failed) => counts.failed = n,
                None => {}
            }
        }
        Ok(counts)
    }

    /// Failed deliveries of all the tenant's endpoints, for the overview.
    pub async fn failed_count(&self, scope: &TenantAccess) -> Result<u64> {
        let tenant = TenantScope::from(scope);
        let failed = DeliveryStatus::Failed.as_str();
        Ok(stored::count_with_status(self.db.reader(), tenant, failed).await?)
    }

    /// Puts a delivery back in the queue to be sent at once (a failed one, or a
    /// delivered one the receiver lost). Its attempts so far are kept.
    pub async fn redeliver(
        &self,
        scope: &TenantAccess,
        endpoint: EndpointId,
        delivery_id: i64,
    ) -> Result<()> {
        let txn = self.db.begin_write().await?;
        let result = self.requeue(&txn, scope, endpoint, Some(delivery_id)).await;
        match result {
            Ok(queued) => {
                if queued > 0 {
                    audit::record(
                        &txn,
                        self.db.clock().now(),
                        scope,
                        Change::new("webhook.redeliver").target(
                            "webhook",
                            endpoint.0,
                            format!("delivery {delivery_id}"),
                        ),
                    )
                    .await?;
                }
                txn.commit().await?;
                Ok(())
            }
            Err(err) => {
                txn.rollback().await?;
                Err(err)
            }
        }
    }

    /// Queues again one delivery (`Some`) or every failed delivery of the endpoint
    /// (`None`), on `conn`; how many were queued. One delivery that is not the
    /// endpoint's is `NotFound`.
    pub(in crate::delivery) async fn requeue(
        &self,
        conn: &impl ConnectionTrait,
        scope: &TenantAccess,
        endpoint: EndpointId,
        delivery_id: Option<i64>,
    ) -> Result<u64> {
        let now = self.db.clock().now().as_micros();
        let tenant = TenantScope::from(scope);
        let queued = stored::requeue(conn, tenant, endpoint.0, delivery_id, now).await?;
        if queued == 0
            && let Some(id) = delivery_id
            && !stored::delivery_exists(conn, tenant, endpoint.0, id).await?
        {
            return Err(Error::NotFound);
        }
        Ok(queued)
    }
}

fn delivery(row: DeliveryRow, event: Option<&StoredEvent>) -> Delivery {
    let status = DeliveryStatus::parse(&row.status).unwrap_or(DeliveryStatus::Pending);
    Delivery {
        id: row.id,
        endpoint_id: EndpointId(row.endpoint_id),
        event_id: event.map(|e| e.event_id).unwrap_or_default(),
        event_type: event.map(|e| e.event_type.clone()).unwrap_or_default(),
        resource_id: row.resource_id,
        next_attempt_at: (status == DeliveryStatus::Pending)
            .then(|| Timestamp::from_micros(row.next_attempt_at)),
        status,
        attempts: row.attempts,
        last_attempt_at: row.last_attempt_at.map(Timestamp::from_micros),
        last_status_code: row.last_status_code,
        last_error: row.last_error,
        created_at: Timestamp::from_micros(row.created_at),
        finished_at: row.finished_at.map(Timestamp::from_micros),
    }
}
