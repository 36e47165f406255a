//! Webhook endpoints of a tenant and their deliveries: what the admin UI and the CLI
//! manage. Every call takes a [`TenantAccess`], so one tenant never sees another's.

use std::sync::Arc;
use std::time::Duration;

use roster_entity::{event, webhook_delivery, webhook_endpoint};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::client::{Request, WebhookClient};
use super::egress::{self, EgressPolicy};
use super::{DeliverySettings, event_json};
use crate::audit::{self, Change};
use crate::crypto;
use crate::memberships::TenantAccess;
use crate::paging::{Page, PageSize};
use crate::provisioning::EventType;
use crate::secrets::{Keyring, OpenError};
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
    url: url::Url,
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
            url: parsed,
            description: description.to_owned(),
            event_types: (!all).then_some(types),
            enabled,
        })
    }

    /// The URL as it is stored and called.
    pub fn url(&self) -> &str {
        self.url.as_str()
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

impl WebhookEndpoint {
    /// The endpoint as shown; `keyring` opens the secret for its hint.
    fn of(row: webhook_endpoint::Model, keyring: &Keyring) -> Self {
        let now = Timestamp::now();
        let secret_hint = match open_secret(keyring, &row.secret, row.id) {
            Ok(secret) => {
                secret
                    .expose_secret()
                    .chars()
                    .take(SECRET_PREFIX.len() + 4)
                    .collect::<String>()
                    + "…"
            }
            Err(_) => "(cannot be decrypted)".to_owned(),
        };
        Self {
            id: EndpointId(row.id),
            event_types: (row.event_types != "*").then(|| {
                row.event_types
                    .split(',')
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect()
            }),
            secret_hint,
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

/// Opens a stored signing secret. A value in clear (`whsec_…`) is used as it is: rows that
/// a node of an earlier version wrote during a rolling upgrade, until the next start or
/// `roster secrets rotate` seals them (see [`super::at_rest`]).
pub(crate) fn open_secret(
    keyring: &Keyring,
    stored: &str,
    endpoint_id: Uuid,
) -> std::result::Result<SecretString, OpenError> {
    match keyring.open(stored, &secret_context(endpoint_id)) {
        Err(OpenError::Plaintext) if stored.starts_with(SECRET_PREFIX) => {
            Ok(SecretString::from(stored.to_owned()))
        }
        opened => opened,
    }
}

/// What a sealed signing secret is bound to: its endpoint, so that a value copied to
/// another row does not open there.
pub(crate) fn secret_context(endpoint_id: Uuid) -> Vec<u8> {
    let mut context = b"roster:webhook_endpoints:".to_vec();
    context.extend_from_slice(endpoint_id.as_bytes());
    context
}

/// The secrets an endpoint's requests are signed with at `now` (micros): the current one,
/// then the one before the last rotation while it overlaps.
pub(crate) fn signing_secrets(
    keyring: &Keyring,
    row: &webhook_endpoint::Model,
    now: i64,
) -> std::result::Result<Vec<SecretString>, CannotSign> {
    let mut secrets = vec![open_secret(keyring, &row.secret, row.id).map_err(CannotSign)?];
    if let (Some(previous), Some(until)) = (&row.previous_secret, row.previous_secret_expires_at)
        && until > now
    {
        secrets.push(open_secret(keyring, previous, row.id).map_err(CannotSign)?);
    }
    Ok(secrets)
}

/// An endpoint whose signing secret this node cannot open: nothing is sent unsigned.
#[derive(Debug, thiserror::Error)]
#[error("cannot sign the request: the endpoint's signing secret does not decrypt ({0})")]
pub(crate) struct CannotSign(OpenError);

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
    pub(super) db: Database,
    client: WebhookClient,
    policy: Arc<EgressPolicy>,
    keyring: Keyring,
}

impl WebhookService {
    pub fn new(
        db: Database,
        settings: &DeliverySettings,
        policy: Arc<EgressPolicy>,
        keyring: Keyring,
    ) -> Self {
        Self {
            db,
            // A test event opens a fresh connection each time, so that its answer
            // describes the endpoint as it is now, not a kept-alive connection to what it
            // was a minute ago.
            client: WebhookClient::new(settings, policy.clone(), 0),
            policy,
            keyring,
        }
    }

    /// Refuses a URL whose address the egress policy refuses (an address literal or
    /// `localhost`; names are checked when they are resolved, before each request).
    fn check_destination(&self, form: &EndpointForm) -> Result<()> {
        if self.policy.allows_url(&form.url) {
            Ok(())
        } else {
            Err(Error::invalid("url", egress::REFUSED))
        }
    }

    fn endpoint(&self, row: webhook_endpoint::Model) -> WebhookEndpoint {
        WebhookEndpoint::of(row, &self.keyring)
    }

    /// Creates an endpoint; the signing secret is returned here and never again (a
    /// rotation makes a new one).
    pub async fn create(
        &self,
        scope: &TenantAccess,
        form: EndpointForm,
    ) -> Result<(WebhookEndpoint, SecretString)> {
        self.check_destination(&form)?;
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
        let id = Uuid::now_v7();
        let row = webhook_endpoint::ActiveModel {
            id: Set(id),
            tenant_id: Set(scope.id().0),
            event_types: Set(form.stored_types()),
            url: Set(form.url.to_string()),
            description: Set(form.description),
            enabled: Set(form.enabled),
            secret: Set(self.keyring.seal(&secret, &secret_context(id))),
            previous_secret: Set(None),
            previous_secret_expires_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        };
        let txn = self.db.begin_write().await?;
        let row = row.insert(&txn).await?;
        audit::record(
            &txn,
            scope,
            Change::new("webhook.create")
                .target("webhook", row.id, row.url.clone())
                .after(endpoint_json(&row)),
        )
        .await?;
        txn.commit().await?;
        Ok((self.endpoint(row), SecretString::from(secret)))
    }

    pub async fn list(&self, scope: &TenantAccess) -> Result<Vec<WebhookEndpoint>> {
        Ok(webhook_endpoint::Entity::find()
            .filter(webhook_endpoint::Column::TenantId.eq(scope.id().0))
            .order_by_asc(webhook_endpoint::Column::Id)
            .all(self.db.reader())
            .await?
            .into_iter()
            .map(|row| self.endpoint(row))
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
        self.row(scope, id).await.map(|row| self.endpoint(row))
    }

    pub async fn update(
        &self,
        scope: &TenantAccess,
        id: EndpointId,
        form: EndpointForm,
    ) -> Result<WebhookEndpoint> {
        self.check_destination(&form)?;
        let row = self.row(scope, id).await?;
        let before = endpoint_json(&row);
        let mut active: webhook_endpoint::ActiveModel = row.into();
        active.event_types = Set(form.stored_types());
        active.url = Set(form.url.to_string());
        active.description = Set(form.description);
        active.enabled = Set(form.enabled);
        active.updated_at = Set(Timestamp::now().as_micros());
        let txn = self.db.begin_write().await?;
        let row = active.update(&txn).await?;
        audit::record(
            &txn,
            scope,
            Change::new("webhook.update")
                .target("webhook", row.id, row.url.clone())
                .before(before)
                .after(endpoint_json(&row)),
        )
        .await?;
        txn.commit().await?;
        Ok(self.endpoint(row))
    }

    /// Turns an endpoint on or off without touching anything else (the command line's
    /// `webhook disable`): the sequencer creates deliveries only for enabled endpoints.
    pub async fn set_enabled(
        &self,
        scope: &TenantAccess,
        id: EndpointId,
        enabled: bool,
    ) -> Result<WebhookEndpoint> {
        let row = self.row(scope, id).await?;
        let mut active: webhook_endpoint::ActiveModel = row.into();
        active.enabled = Set(enabled);
        active.updated_at = Set(Timestamp::now().as_micros());
        let row = active.update(self.db.writer()).await?;
        Ok(self.endpoint(row))
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
        let sealed = self.keyring.seal(&secret, &secret_context(row.id));
        let mut active: webhook_endpoint::ActiveModel = row.clone().into();
        // Sealed for the same endpoint, so the value moves between the columns as it is.
        active.previous_secret = Set(Some(row.secret));
        active.previous_secret_expires_at = Set(Some(now.plus(ROTATION_OVERLAP).as_micros()));
        active.secret = Set(sealed);
        active.updated_at = Set(now.as_micros());
        let txn = self.db.begin_write().await?;
        let row = active.update(&txn).await?;
        audit::record(
            &txn,
            scope,
            Change::new("webhook.rotate").target("webhook", row.id, row.url.clone()),
        )
        .await?;
        txn.commit().await?;
        Ok((self.endpoint(row), SecretString::from(secret)))
    }

    /// Deletes an endpoint and its deliveries.
    pub async fn delete(&self, scope: &TenantAccess, id: EndpointId) -> Result<()> {
        let row = self.row(scope, id).await?;
        let txn = self.db.begin_write().await?;
        let deleted = webhook_endpoint::Entity::delete_many()
            .filter(webhook_endpoint::Column::Id.eq(id.0))
            .filter(webhook_endpoint::Column::TenantId.eq(scope.id().0))
            .exec(&txn)
            .await?;
        if deleted.rows_affected == 0 {
            txn.rollback().await?;
            return Err(Error::NotFound);
        }
        audit::record(
            &txn,
            scope,
            Change::new("webhook.delete")
                .target("webhook", row.id, row.url.clone())
                .before(endpoint_json(&row)),
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Sends a `webhook.test` event to the endpoint now and reports the answer. Nothing
    /// is stored: the test event is not in the outbox.
    pub async fn send_test(&self, scope: &TenantAccess, id: EndpointId) -> Result<TestOutcome> {
        let row = self.row(scope, id).await?;
        let event_id = Uuid::now_v7();
        let now = Timestamp::now();
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
        let txn = self.db.begin_write().await?;
        let result = self.requeue(&txn, scope, endpoint, Some(delivery_id)).await;
        match result {
            Ok(queued) => {
                if queued > 0 {
                    audit::record(
                        &txn,
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
    pub(super) async fn requeue(
        &self,
        conn: &impl sea_orm::ConnectionTrait,
        scope: &TenantAccess,
        endpoint: EndpointId,
        delivery_id: Option<i64>,
    ) -> Result<u64> {
        let now = Timestamp::now().as_micros();
        let mut update = webhook_delivery::Entity::update_many()
            .col_expr(webhook_delivery::Column::Status, Expr::value("pending"))
            .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(now))
            .col_expr(webhook_delivery::Column::CreatedAt, Expr::value(now))
            .col_expr(
                webhook_delivery::Column::FinishedAt,
                Expr::value(Option::<i64>::None),
            )
            .col_expr(
                webhook_delivery::Column::LeaseUntil,
                Expr::value(Option::<i64>::None),
            )
            .filter(webhook_delivery::Column::EndpointId.eq(endpoint.0))
            .filter(webhook_delivery::Column::TenantId.eq(scope.id().0));
        update = match delivery_id {
            Some(id) => update
                .filter(webhook_delivery::Column::Id.eq(id))
                .filter(webhook_delivery::Column::Status.ne("pending")),
            None => update.filter(webhook_delivery::Column::Status.eq("failed")),
        };
        let queued = update.exec(conn).await?.rows_affected;
        if queued == 0
            && let Some(id) = delivery_id
        {
            let exists = webhook_delivery::Entity::find_by_id(id)
                .filter(webhook_delivery::Column::EndpointId.eq(endpoint.0))
                .filter(webhook_delivery::Column::TenantId.eq(scope.id().0))
                .count(conn)
                .await?;
            if exists == 0 {
                return Err(Error::NotFound);
            }
        }
        Ok(queued)
    }
}

/// An endpoint as the audit log shows it (never its secret).
pub(super) fn endpoint_json(row: &webhook_endpoint::Model) -> serde_json::Value {
    serde_json::json!({
        "url": row.url,
        "description": row.description,
        "event_types": row.event_types,
        "enabled": row.enabled,
    })
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

/// A new signing secret: `whsec_` and 32 random bytes in standard base64, the form
/// Standard Webhooks' verifiers take as they are (Roster's own signature keys with the
/// whole text, whatever its form).
pub(crate) fn new_secret() -> String {
    use base64::Engine as _;
    format!(
        "{SECRET_PREFIX}{}",
        base64::engine::general_purpose::STANDARD.encode(crypto::random_bytes::<32>())
    )
}
