//! The read side of the events and directory API (`/api/v1`), for the product behind
//! Roster.
//!
//! Every query goes through [`TenantApi`], made only from an [`AuthenticatedToken`] of
//! kind [`TokenKind::Api`]: the API key decides the tenant, never a URL or a parameter,
//! so there is no function here that takes a bare tenant id.
//!
//! - Events are read in commit order: `WHERE tenant_id = ? AND seq > cursor ORDER BY seq`
//!   on `ix_events_tenant_seq`. The sequencer numbers events only after they committed
//!   and always after the highest number given, so a reader that resumes after the last
//!   `seq` it saw never skips an event and never sees one twice.
//! - Users, groups and members are keyset-paged on their UUIDv7 ids, like the admin
//!   directory. A page of users costs a fixed number of queries (users, their groups,
//!   their locations), never one per user.
//!
//! Cursors are opaque to clients: base64url of `<kind>:<key>`, checked on the way in.
//!
//! Users' stored host assignments may name a location or kiosk removed a moment ago
//! (the re-evaluation of a large tenant runs in the background): reads show only those
//! that exist, so the API never names one that does not.

mod locations;
mod params;
mod scope;

pub use locations::{ApiKiosk, ApiLocation};
pub use params::{
    CursorKind, DIRECTORY_DEFAULT_LIMIT, DIRECTORY_MAX_LIMIT, EVENTS_DEFAULT_LIMIT,
    EVENTS_MAX_LIMIT, encode_cursor, parse_audit_cursor, parse_event_types, parse_events_cursor,
    parse_id_cursor, parse_limit,
};
pub use scope::ApiScope;

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::delivery::event_json;
use crate::outbox::EventType;
use crate::rules::Hosts;
use crate::store::reads::{GroupRecord, Reads, UserRow, UserSelection};
use crate::tenants::TenantId;
use crate::time::Timestamp;
use crate::token_auth::AuthenticatedToken;
use crate::tokens::TokenKind;
use crate::{Database, Error, Result};

/// One page of events, each exactly the JSON a webhook delivers.
#[derive(Clone, Debug, PartialEq)]
pub struct EventsPage {
    pub events: Vec<Value>,
    /// Where the next request resumes: the last returned event's position, or the
    /// request's own position when nothing was returned.
    pub next_cursor: String,
    pub has_more: bool,
}

/// A user as the directory API shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiUser {
    pub id: Uuid,
    pub user_name: String,
    pub external_id: Option<String>,
    /// The product's own id for the user, when the product seeded it.
    pub product_ref: Option<String>,
    pub display_name: Option<String>,
    /// The SCIM `name` complex attribute as provisioned (`givenName`, `familyName`, …).
    pub name: Value,
    /// The SCIM `emails` as provisioned.
    pub emails: Value,
    pub primary_email: Option<String>,
    pub active: bool,
    pub groups: Vec<GroupRef>,
    /// Where the user is a host, from the tenant's mapping rules.
    pub locations: Vec<LocationRef>,
    pub kiosks: Vec<Uuid>,
    /// Notification settings (type key → enabled channels), or `null`.
    pub notifications: Value,
    pub created: String,
    pub last_modified: String,
    pub version: i64,
    /// The SCIM document as stored (never a password).
    pub scim: Value,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupRef {
    pub id: Uuid,
    pub display_name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LocationRef {
    pub id: Uuid,
    pub code: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiGroup {
    pub id: Uuid,
    pub display_name: String,
    pub external_id: Option<String>,
    pub members: u64,
    pub created: String,
    pub last_modified: String,
}

/// One page of a directory list.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiPage<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Filters of the users list; all optional, combined with AND.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// Any of the user's emails, case-insensitively.
    pub email: Option<String>,
    /// userName, case-insensitively.
    pub user_name: Option<String>,
    pub active: Option<bool>,
    /// Members of this group.
    pub group: Option<Uuid>,
    /// Hosts at this location: its id or its code.
    pub location: Option<String>,
    /// The user the product seeded with this reference (exact).
    pub product_ref: Option<String>,
}

#[derive(Clone, Debug)]
pub struct ApiService {
    db: Database,
}

impl ApiService {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// The API of the tenant an API key belongs to; `None` for any other kind of token.
    pub fn tenant<'a>(&'a self, key: &AuthenticatedToken) -> Option<TenantApi<'a>> {
        (key.kind() == TokenKind::Api).then(|| TenantApi {
            db: &self.db,
            tenant: key.tenant_id().0,
            slug: key.tenant_slug().as_str().to_owned(),
        })
    }
}

/// API queries bound to one tenant.
pub struct TenantApi<'a> {
    db: &'a Database,
    tenant: Uuid,
    slug: String,
}

impl TenantApi<'_> {
    /// The shared read model, bound to this key's tenant.
    pub(super) fn reads(&self) -> Reads<'_> {
        Reads::new(self.db, TenantId(self.tenant))
    }

    /// Sequenced events after `after` (a `seq`), oldest first.
    pub async fn events(&self, after: i64, limit: u64, types: &[EventType]) -> Result<EventsPage> {
        let mut rows = self
            .reads()
            .events(after, limit.saturating_add(1), types)
            .await?;
        let has_more = u64::try_from(rows.len()).unwrap_or(u64::MAX) > limit;
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let last = rows.last().and_then(|row| row.seq).unwrap_or(after);
        let events = rows
            .into_iter()
            .map(|row| {
                let json = event_json(
                    row.event_id,
                    &row.event_type,
                    &self.slug,
                    row.occurred_at,
                    &row.payload,
                );
                serde_json::from_str(&json)
                    .map_err(|err| Error::internal("stored event is not JSON", err))
            })
            .collect::<Result<Vec<Value>>>()?;
        Ok(EventsPage {
            events,
            next_cursor: encode_cursor(CursorKind::Events, &last.to_string()),
            has_more,
        })
    }

    pub async fn users(
        &self,
        filter: &UserFilter,
        after: Option<Uuid>,
        limit: u64,
    ) -> Result<ApiPage<ApiUser>> {
        let host_at = match &filter.location {
            None => None,
            Some(raw) => match self.location(raw).await? {
                Some(location) => Some(location),
                // An unknown location has no hosts.
                None => {
                    return Ok(ApiPage {
                        items: Vec::new(),
                        next_cursor: None,
                    });
                }
            },
        };
        let selection = UserSelection {
            after,
            active: filter.active,
            user_name: filter.user_name.as_deref(),
            email: filter.email.as_deref(),
            product_ref: filter.product_ref.as_deref(),
            group: filter.group,
            host_at,
            ..UserSelection::default()
        };
        let rows = self
            .reads()
            .users(&selection, limit.saturating_add(1))
            .await?;
        self.user_page(rows, limit, CursorKind::Users).await
    }

    pub async fn user(&self, id: Uuid) -> Result<Option<ApiUser>> {
        let Some(row) = self.reads().user(id).await? else {
            return Ok(None);
        };
        Ok(self.describe_users(vec![row]).await?.into_iter().next())
    }

    pub async fn groups(&self, after: Option<Uuid>, limit: u64) -> Result<ApiPage<ApiGroup>> {
        let mut rows = self
            .reads()
            .groups(after, None, limit.saturating_add(1))
            .await?;
        let next_cursor = cut(&mut rows, limit, |row| row.group.id, CursorKind::Groups);
        let items = rows
            .into_iter()
            .map(|GroupRecord { group, members }| ApiGroup {
                members,
                id: group.id,
                display_name: group.display_name,
                external_id: group.external_id,
                created: Timestamp::from_micros(group.created_at).to_rfc3339(),
                last_modified: Timestamp::from_micros(group.updated_at).to_rfc3339(),
            })
            .collect();
        Ok(ApiPage { items, next_cursor })
    }

    /// The members of one of the tenant's groups in user-id order; `None` when the
    /// tenant has no such group.
    pub async fn members(
        &self,
        group: Uuid,
        after: Option<Uuid>,
        limit: u64,
    ) -> Result<Option<ApiPage<ApiUser>>> {
        if !self.reads().group_exists(group).await? {
            return Ok(None);
        }
        let rows = self
            .reads()
            .members(group, after, limit.saturating_add(1))
            .await?;
        Ok(Some(
            self.user_page(rows, limit, CursorKind::Members).await?,
        ))
    }

    /// The tenant's location with this id or code.
    async fn location(&self, raw: &str) -> Result<Option<Uuid>> {
        Ok(self.reads().location_id(raw.trim()).await?)
    }

    async fn user_page(
        &self,
        mut rows: Vec<UserRow>,
        limit: u64,
        kind: CursorKind,
    ) -> Result<ApiPage<ApiUser>> {
        let next_cursor = cut(&mut rows, limit, |row| row.id, kind);
        Ok(ApiPage {
            items: self.describe_users(rows).await?,
            next_cursor,
        })
    }

    /// Users with their groups and locations: two more queries for the whole page.
    async fn describe_users(&self, rows: Vec<UserRow>) -> Result<Vec<ApiUser>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
        // Only defined custom attributes reach the product (a removed definition's
        // values are kept aside, see `rules::keep_undefined`).
        let defined = self.reads().attribute_names().await?;
        let defined: Vec<&str> = defined.iter().map(String::as_str).collect();
        let memberships = self.reads().memberships(ids).await?;
        let hosts: Vec<Hosts> = rows
            .iter()
            .map(|row| Hosts::from_stored(row.hosts.as_deref()))
            .collect();
        let location_ids: HashSet<Uuid> = hosts
            .iter()
            .flat_map(|h| h.locations.iter().copied())
            .collect();
        let kiosks = self
            .existing_kiosks(
                hosts
                    .iter()
                    .flat_map(|h| h.kiosks.iter().copied())
                    .collect(),
            )
            .await?;
        let locations: HashMap<Uuid, LocationRef> = self
            .reads()
            .location_refs(location_ids)
            .await?
            .into_iter()
            .map(|l| (l.id, l))
            .collect();
        Ok(rows
            .into_iter()
            .zip(hosts)
            .map(|(row, hosts)| {
                let doc: Value = serde_json::from_str(&row.doc).unwrap_or(Value::Null);
                let primary_email = primary_email(&doc).or_else(|| row.primary_email_lower.clone());
                ApiUser {
                    groups: memberships
                        .iter()
                        .filter(|(user, _, _)| *user == row.id)
                        .map(|(_, id, name)| GroupRef {
                            id: *id,
                            display_name: name.clone(),
                        })
                        .collect(),
                    locations: hosts
                        .locations
                        .iter()
                        .filter_map(|id| locations.get(id).cloned())
                        .collect(),
                    kiosks: hosts
                        .kiosks
                        .into_iter()
                        .filter(|id| kiosks.contains(id))
                        .collect(),
                    notifications: row
                        .notifications
                        .as_deref()
                        .and_then(|raw| serde_json::from_str(raw).ok())
                        .unwrap_or(Value::Null),
                    name: doc.get("name").cloned().unwrap_or(Value::Null),
                    emails: doc
                        .get("emails")
                        .cloned()
                        .unwrap_or(Value::Array(Vec::new())),
                    primary_email,
                    id: row.id,
                    user_name: row.user_name,
                    external_id: row.external_id,
                    product_ref: row.product_ref,
                    display_name: row.display_name,
                    active: row.active,
                    created: Timestamp::from_micros(row.created_at).to_rfc3339(),
                    last_modified: Timestamp::from_micros(row.updated_at).to_rfc3339(),
                    version: row.version,
                    scim: for_product(doc, &defined),
                }
            })
            .collect())
    }
}

/// Truncates a probe of `limit + 1` rows to `limit` and says where the next page starts.
fn cut<T>(
    rows: &mut Vec<T>,
    limit: u64,
    key: impl Fn(&T) -> Uuid,
    kind: CursorKind,
) -> Option<String> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() > limit {
        rows.truncate(limit);
        rows.last()
            .map(|row| encode_cursor(kind, &key(row).to_string()))
    } else {
        None
    }
}

/// The primary email as provisioned (its original case), else the first one.
fn primary_email(doc: &Value) -> Option<String> {
    let emails = doc.get("emails")?.as_array()?;
    emails
        .iter()
        .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true))
        .or_else(|| emails.first())
        .and_then(|e| e.get("value"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The stored document as the product sees it: never a password, only defined custom
/// attributes, and no time zone or locale that no standard defines (`null`).
fn for_product(mut doc: Value, defined: &[&str]) -> Value {
    if let Some(map) = doc.as_object_mut() {
        map.retain(|key, _| !key.eq_ignore_ascii_case("password"));
    }
    crate::rules::hide_undefined(defined, &mut doc);
    crate::formats::for_product(&mut doc);
    doc
}
