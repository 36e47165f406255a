//! Webhook endpoints of a tenant and their deliveries: what the admin UI and the CLI
//! manage. Every call takes a [`TenantAccess`], so one tenant never sees another's.

use std::time::Duration;

use roster_entity::{event, webhook_delivery, webhook_endpoint};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use secrecy::SecretString;
use uuid::Uuid;

use super::worker::{Request, http_client, post};
use super::{DeliverySettings, event_json};
use crate::crypto;
use crate::memberships::TenantAccess;
use crate::paging::{Page, PageSize};
use crate::provisioning::EventType;
use crate::time::Timestamp;
use crate::{Database, Error, Result};

/// How long the secret before a rotation keeps signing, so receivers can switch over.
pub const ROTATION_OVERLAP: Duration = Duration::from_secs(24 * 3600);
/// Signing secrets start with this, so they are recognisable in a receiver's settings.
pub const SECRET_PREFIX: &str = "whsec_";
/// Endpoints per tenant.
const MAX_ENDPOINTS: u64 = 20;
const MAX_URL_LEN: usize = 2_000;
const MAX_DESCRIPTION_LEN: usize = 200;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EndpointId(pub Uuid);

/// A checked endpoint form: the URL, a description, the event types wanted (`None` = all),
/// and whether it is enabled.
#[derive(Clone, Debug)]
pub struct EndpointForm {
    url: String,
    description: String,
    event_types: Option<Vec<EventType>>,
    enabled: bool,
}

impl EndpointForm {
    /// `event_types` empty means every type.
    pub fn parse(
        url: &str,
        description: &str,
        event_types: &[String],
        enabled: bool,
    ) -> Result<Self> {
        let url = url.trim();
        if url.is_empty() {
            return Err(Error::invalid(
                "url",
                "enter the URL that receives the events",
            ));
        }
        if url.len() > MAX_URL_LEN {
            return Err(Error::invalid("url", "must be at most 2000 characters"));
        }
        let parsed = url::Url::parse(url)
            .map_err(|_| Error::invalid("url", "must be an absolute http:// or https:// URL"))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(Error::invalid(
                "url",
                "must be an absolute http:// or https:// URL",
            ));
        }
        if parsed.fragment().is_some() {
            return Err(Error::invalid("url", "must not have a #fragment"));
        }
        if super::egress::url_is_refused(&parsed) {
            return Err(Error::invalid("url", super::egress::REFUSED));
        }
        let description = description.trim();
        if description.chars().count() > MAX_DESCRIPTION_LEN {
            return Err(Error::invalid(
                "description",
                "must be at most 200 characters",
            ));
        }
        if description.chars().any(char::is_control) {
            return Err(Error::invalid("description", "must be one line of text"));
        }
        let mut types = Vec::new();
        for raw in event_types {
            let raw = raw.trim();
            if raw.is_empty() || raw == "*" {
                continue;
            }
            let Some(kind) = EventType::ALL.into_iter().find(|k| k.as_str() == raw) else {
                return Err(Error::invalid(
                    "event_types",
                    format!("\"{raw}\" is not an event type"),
                ));
            };
            if !types.contains(&kind) {
                types.push(kind);
            }
        }
        let all = types.is_empty() || types.len() == EventType::ALL.len();
        Ok(Self {
            url: parsed.to_string(),
            description: description.to_owned(),
            event_types: (!all).then_some(types),
            enabled,
        })
    }

    fn stored_types(&self) -> String {
        match &self.event_types {
            None => "*".to_owned(),
            Some(types) => {
                let mut text = String::from(",");
                for kind in types {
                    text.push_str(kind.as_str());
                    text.push(',');
                }
                text
            }
        }
    }
}

/// An endpoint as shown; the secret is not part of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookEndpoint {
    pub id: EndpointId,
    pub url: String,
    pub description: String,
    /// `None` = every type.
    pub event_types: Option<Vec<String>>,
    pub enabled: bool,
    /// The start of the secret, to tell secrets apart (`whsec_ab12…`).
    pub secret_hint: String,
    /// Until when the secret before the last rotation still signs.
    pub previous_secret_until: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<webhook_endpoint::Model> for WebhookEndpoint {
    fn from(row: webhook_endpoint::Model) -> Self {
        let now = Timestamp::now();
        Self {
            id: EndpointId(row.id),
            event_types: (row.event_types != "*").then(|| {
                row.event_types
                    .split(',')
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect()
            }),
            secret_hint: row
                .secret
                .chars()
                .take(SECRET_PREFIX.len() + 4)
                .collect::<String>()
                + "…",
            previous_secret_until: row
                .previous_secret_expires_at
                .map(Timestamp::from_micros)
                .filter(|until| *until > now),
            url: row.url,
            description: row.description,
            enabled: row.enabled,
            created_at: Timestamp::from_micros(row.created_at),
            updated_at: Timestamp::from_micros(row.updated_at),
        }
    }
}

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

#[derive(Clone, Debug)]
pub struct WebhookService {
    db: Database,
    client: reqwest::Client,
}

impl WebhookService {
    pub fn new(db: Database, settings: &DeliverySettings) -> Self {
        Self {
            db,
            // A test event opens a fresh connection each time, so that its answer
            // describes the endpoint as it is now, not a kept-alive connection to what it
            // was a minute ago.
            client: http_client(settings, 0),
        }
    }

    /// Creates an endpoint; the signing secret is returned here and never again (a
    /// rotation makes a new one).
    pub async fn create(
        &self,
        scope: &TenantAccess,
        form: EndpointForm,
    ) -> Result<(WebhookEndpoint, SecretString)> {
        let existing = webhook_endpoint::Entity::find()
            .filter(webhook_endpoint::Column::TenantId.eq(scope.id().0))
            .count(self.db.reader())
            .await?;
        if existing >= MAX_ENDPOINTS {
            return Err(Error::invalid(
                "url",
                format!("a tenant can have at most {MAX_ENDPOINTS} webhook endpoints"),
            ));
        }
        let secret = new_secret();
        let now = Timestamp::now().as_micros();
        let row = webhook_endpoint::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(scope.id().0),
            event_types: Set(form.stored_types()),
            url: Set(form.url),
            description: Set(form.description),
            enabled: Set(form.enabled),
            secret: Set(secret.clone()),
            previous_secret: Set(None),
            previous_secret_expires_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(self.db.writer())
        .await?;
        Ok((row.into(), SecretString::from(secret)))
    }

    pub async fn list(&self, scope: &TenantAccess) -> Result<Vec<WebhookEndpoint>> {
        Ok(webhook_endpoint::Entity::find()
            .filter(webhook_endpoint::Column::TenantId.eq(scope.id().0))
            .order_by_asc(webhook_endpoint::Column::Id)
            .all(self.db.reader())
            .await?
            .into_iter()
            .map(WebhookEndpoint::from)
            .collect())
    }

    async fn row(&self, scope: &TenantAccess, id: EndpointId) -> Result<webhook_endpoint::Model> {
        webhook_endpoint::Entity::find_by_id(id.0)
            .filter(webhook_endpoint::Column::TenantId.eq(scope.id().0))
            .one(self.db.reader())
            .await?
            .ok_or(Error::NotFound)
    }

    pub async fn find(&self, scope: &TenantAccess, id: EndpointId) -> Result<WebhookEndpoint> {
        self.row(scope, id).await.map(WebhookEndpoint::from)
    }

    pub async fn update(
        &self,
        scope: &TenantAccess,
        id: EndpointId,
        form: EndpointForm,
    ) -> Result<WebhookEndpoint> {
        let row = self.row(scope, id).await?;
        let mut active: webhook_endpoint::ActiveModel = row.into();
        active.event_types = Set(form.stored_types());
        active.url = Set(form.url);
        active.description = Set(form.description);
        active.enabled = Set(form.enabled);
        active.updated_at = Set(Timestamp::now().as_micros());
        Ok(active.update(self.db.writer()).await?.into())
    }

    /// A new signing secret, returned once; the previous one keeps signing (as a second
    /// `v1=` in the header) for [`ROTATION_OVERLAP`].
    pub async fn rotate_secret(
        &self,
        scope: &TenantAccess,
        id: EndpointId,
    ) -> Result<(WebhookEndpoint, SecretString)> {
        let row = self.row(scope, id).await?;
        let now = Timestamp::now();
        let secret = new_secret();
        let mut active: webhook_endpoint::ActiveModel = row.clone().into();
        active.previous_secret = Set(Some(row.secret));
        active.previous_secret_expires_at = Set(Some(now.plus(ROTATION_OVERLAP).as_micros()));
        active.secret = Set(secret.clone());
        active.updated_at = Set(now.as_micros());
        let row = active.update(self.db.writer()).await?;
        Ok((row.into(), SecretString::from(secret)))
    }

    /// Deletes an endpoint and its deliveries.
    pub async fn delete(&self, scope: &TenantAccess, id: EndpointId) -> Result<()> {
        let deleted = webhook_endpoint::Entity::delete_many()
            .filter(webhook_endpoint::Column::Id.eq(id.0))
            .filter(webhook_endpoint::Column::TenantId.eq(scope.id().0))
            .exec(self.db.writer())
            .await?;
        if deleted.rows_affected == 0 {
            return Err(Error::NotFound);
        }
        Ok(())
    }

    /// Sends a `webhook.test` event to the endpoint now and reports the answer. Nothing
    /// is stored: the test event is not in the outbox.
    pub async fn send_test(&self, scope: &TenantAccess, id: EndpointId) -> Result<TestOutcome> {
        let row = self.row(scope, id).await?;
        let event_id = Uuid::now_v7();
        let now = Timestamp::now();
        let body = event_json(
            event_id,
            "webhook.test",
            scope.slug().as_str(),
            now.as_micros(),
            &serde_json::json!({ "endpoint": { "id": row.id.to_string(), "url": row.url } })
                .to_string(),
        );
        Ok(post(
            &self.client,
            Request {
                url: row.url.clone(),
                body,
                secrets: vec![row.secret],
                event_id,
                event_type: "webhook.test".to_owned(),
                attempt: 1,
            },
        )
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
        let mut query = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::EndpointId.eq(endpoint.0))
            .filter(webhook_delivery::Column::TenantId.eq(scope.id().0))
            .order_by_desc(webhook_delivery::Column::Id)
            .limit(size.probe());
        if let Some(status) = status {
            query = query.filter(webhook_delivery::Column::Status.eq(status.as_str()));
        }
        if let Some(before) = before {
            query = query.filter(webhook_delivery::Column::Id.lt(before));
        }
        let rows = query.all(self.db.reader()).await?;
        let events: std::collections::HashMap<i64, event::Model> = event::Entity::find()
            .filter(event::Column::Id.is_in(rows.iter().map(|row| row.event_pk)))
            .all(self.db.reader())
            .await?
            .into_iter()
            .map(|event| (event.id, event))
            .collect();
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
        let rows: Vec<(String, i64)> = webhook_delivery::Entity::find()
            .select_only()
            .column(webhook_delivery::Column::Status)
            .column_as(webhook_delivery::Column::Id.count(), "n")
            .filter(webhook_delivery::Column::EndpointId.eq(endpoint.0))
            .filter(webhook_delivery::Column::TenantId.eq(scope.id().0))
            .group_by(webhook_delivery::Column::Status)
            .into_tuple()
            .all(self.db.reader())
            .await?;
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
        Ok(webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::TenantId.eq(scope.id().0))
            .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Failed.as_str()))
            .count(self.db.reader())
            .await?)
    }

    /// Puts a delivery back in the queue to be sent at once (a failed one, or a
    /// delivered one the receiver lost). Its attempts so far are kept.
    pub async fn redeliver(
        &self,
        scope: &TenantAccess,
        endpoint: EndpointId,
        delivery_id: i64,
    ) -> Result<()> {
        let updated = webhook_delivery::Entity::update_many()
            .col_expr(webhook_delivery::Column::Status, Expr::value("pending"))
            .col_expr(
                webhook_delivery::Column::NextAttemptAt,
                Expr::value(Timestamp::now().as_micros()),
            )
            .col_expr(
                webhook_delivery::Column::CreatedAt,
                Expr::value(Timestamp::now().as_micros()),
            )
            .col_expr(
                webhook_delivery::Column::FinishedAt,
                Expr::value(Option::<i64>::None),
            )
            .col_expr(
                webhook_delivery::Column::LeaseUntil,
                Expr::value(Option::<i64>::None),
            )
            .filter(webhook_delivery::Column::Id.eq(delivery_id))
            .filter(webhook_delivery::Column::EndpointId.eq(endpoint.0))
            .filter(webhook_delivery::Column::TenantId.eq(scope.id().0))
            .filter(webhook_delivery::Column::Status.ne("pending"))
            .exec(self.db.writer())
            .await?;
        if updated.rows_affected == 0 {
            let exists = webhook_delivery::Entity::find_by_id(delivery_id)
                .filter(webhook_delivery::Column::EndpointId.eq(endpoint.0))
                .filter(webhook_delivery::Column::TenantId.eq(scope.id().0))
                .count(self.db.reader())
                .await?;
            if exists == 0 {
                return Err(Error::NotFound);
            }
        }
        Ok(())
    }
}

fn delivery(row: webhook_delivery::Model, event: Option<&event::Model>) -> Delivery {
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

fn new_secret() -> String {
    format!("{SECRET_PREFIX}{}", crypto::random_token::<32>())
}
