//! Webhook endpoints of a tenant and their deliveries: what the admin UI and the CLI
//! manage. Every call takes a [`TenantAccess`], so one tenant never sees another's.

mod deliveries;

pub use deliveries::{Delivery, DeliveryCounts, DeliveryStatus, TestOutcome};

use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::DeliverySettings;
use super::client::WebhookClient;
use super::egress::{self, EgressPolicy};
use crate::audit::{self, Change};
use crate::crypto;
use crate::memberships::TenantAccess;
use crate::outbox::EventType;
use crate::secrets::{Keyring, OpenError};
use crate::store::TenantScope;
use crate::store::deliveries::{self as stored, EndpointChanges, EndpointRow, NewEndpoint};
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
    fn of(row: EndpointRow, keyring: &Keyring, now: Timestamp) -> Self {
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
    row: &EndpointRow,
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

    fn endpoint(&self, row: EndpointRow) -> WebhookEndpoint {
        WebhookEndpoint::of(row, &self.keyring, self.db.clock().now())
    }

    /// Creates an endpoint; the signing secret is returned here and never again (a
    /// rotation makes a new one).
    pub async fn create(
        &self,
        scope: &TenantAccess,
        form: EndpointForm,
    ) -> Result<(WebhookEndpoint, SecretString)> {
        self.check_destination(&form)?;
        let tenant = TenantScope::from(scope);
        let existing = stored::count_endpoints(self.db.reader(), tenant).await?;
        if existing >= MAX_ENDPOINTS {
            return Err(Error::invalid(
                "url",
                format!("a tenant can have at most {MAX_ENDPOINTS} webhook endpoints"),
            ));
        }
        let secret = new_secret();
        let now = self.db.clock().now().as_micros();
        let id = Uuid::now_v7();
        let new = NewEndpoint {
            id,
            event_types: form.stored_types(),
            url: form.url.to_string(),
            description: form.description,
            enabled: form.enabled,
            secret: self.keyring.seal(&secret, &secret_context(id)),
            created_at: now,
        };
        let txn = self.db.begin_write().await?;
        let row = stored::insert_endpoint(&txn, tenant, new).await?;
        audit::record(
            &txn,
            self.db.clock().now(),
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
        Ok(
            stored::endpoints(self.db.reader(), TenantScope::from(scope))
                .await?
                .into_iter()
                .map(|row| self.endpoint(row))
                .collect(),
        )
    }

    async fn row(&self, scope: &TenantAccess, id: EndpointId) -> Result<EndpointRow> {
        stored::endpoint(self.db.reader(), TenantScope::from(scope), id.0)
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
        let changes = EndpointChanges {
            event_types: Some(form.stored_types()),
            url: Some(form.url.to_string()),
            description: Some(form.description),
            enabled: Some(form.enabled),
            ..EndpointChanges::at(self.db.clock().now().as_micros())
        };
        let txn = self.db.begin_write().await?;
        let row = stored::update_endpoint(&txn, TenantScope::from(scope), row.id, changes).await?;
        audit::record(
            &txn,
            self.db.clock().now(),
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
        let changes = EndpointChanges {
            enabled: Some(enabled),
            ..EndpointChanges::at(self.db.clock().now().as_micros())
        };
        let tenant = TenantScope::from(scope);
        let row = stored::update_endpoint(self.db.writer(), tenant, row.id, changes).await?;
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
        let now = self.db.clock().now();
        let secret = new_secret();
        let sealed = self.keyring.seal(&secret, &secret_context(row.id));
        let changes = EndpointChanges {
            // Sealed for the same endpoint, so the value moves between the columns as it is.
            previous_secret: Some(Some(row.secret.clone())),
            previous_secret_expires_at: Some(Some(now.plus(ROTATION_OVERLAP).as_micros())),
            secret: Some(sealed),
            ..EndpointChanges::at(now.as_micros())
        };
        let txn = self.db.begin_write().await?;
        let row = stored::update_endpoint(&txn, TenantScope::from(scope), row.id, changes).await?;
        audit::record(
            &txn,
            self.db.clock().now(),
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
        let deleted = stored::delete_endpoint(&txn, TenantScope::from(scope), id.0).await?;
        if deleted == 0 {
            txn.rollback().await?;
            return Err(Error::NotFound);
        }
        audit::record(
            &txn,
            self.db.clock().now(),
            scope,
            Change::new("webhook.delete")
                .target("webhook", row.id, row.url.clone())
                .before(endpoint_json(&row)),
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }
}

/// An endpoint as the audit log shows it (never its secret).
pub(super) fn endpoint_json(row: &EndpointRow) -> serde_json::Value {
    serde_json::json!({
        "url": row.url,
        "description": row.description,
        "event_types": row.event_types,
        "enabled": row.enabled,
    })
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
