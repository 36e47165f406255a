//! Outbox events: what the product behind Roster learns of each change.
//!
//! An event's `data` carries the resource after the change — normalised fields that are
//! easy to consume, and the SCIM document as a client would read it. Membership events
//! carry the group and the user. Location events carry the location with its kiosks
//! (a kiosk added or removed is a `location.updated` of its location).

use serde_json::{Value, json};
use uuid::Uuid;

use crate::provisioning::RequestContext;
use crate::rules::Location;
use crate::store::TenantScope;
use crate::store::outbox::{self, EventInsert, EventRow};
use crate::tenants::TenantId;
use crate::time::Timestamp;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    UserCreated,
    UserUpdated,
    UserDeactivated,
    UserReactivated,
    UserDeleted,
    GroupCreated,
    GroupUpdated,
    GroupDeleted,
    GroupMemberAdded,
    GroupMemberRemoved,
    LocationCreated,
    LocationUpdated,
    LocationDeleted,
}

impl EventType {
    pub const ALL: [EventType; 13] = [
        Self::UserCreated,
        Self::UserUpdated,
        Self::UserDeactivated,
        Self::UserReactivated,
        Self::UserDeleted,
        Self::GroupCreated,
        Self::GroupUpdated,
        Self::GroupDeleted,
        Self::GroupMemberAdded,
        Self::GroupMemberRemoved,
        Self::LocationCreated,
        Self::LocationUpdated,
        Self::LocationDeleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserCreated => "user.created",
            Self::UserUpdated => "user.updated",
            Self::UserDeactivated => "user.deactivated",
            Self::UserReactivated => "user.reactivated",
            Self::UserDeleted => "user.deleted",
            Self::GroupCreated => "group.created",
            Self::GroupUpdated => "group.updated",
            Self::GroupDeleted => "group.deleted",
            Self::GroupMemberAdded => "group.member_added",
            Self::GroupMemberRemoved => "group.member_removed",
            Self::LocationCreated => "location.created",
            Self::LocationUpdated => "location.updated",
            Self::LocationDeleted => "location.deleted",
        }
    }

    /// The type named `raw` (e.g. `user.created`), if there is one.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == raw)
    }

    fn resource_type(self) -> &'static str {
        match self {
            Self::UserCreated
            | Self::UserUpdated
            | Self::UserDeactivated
            | Self::UserReactivated
            | Self::UserDeleted => "User",
            Self::LocationCreated | Self::LocationUpdated | Self::LocationDeleted => "Location",
            _ => "Group",
        }
    }

    /// The event for a user change, from its `active` before and after.
    pub fn for_user_change(was_active: bool, is_active: bool) -> Self {
        match (was_active, is_active) {
            (true, false) => Self::UserDeactivated,
            (false, true) => Self::UserReactivated,
            _ => Self::UserUpdated,
        }
    }
}

/// A user as events describe it.
#[derive(Clone, Debug)]
pub(crate) struct UserSummary {
    pub id: Uuid,
    pub user_name: String,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub active: bool,
    /// The product's own id for the user, when the product seeded it.
    pub product_ref: Option<String>,
}

impl UserSummary {
    pub(crate) fn from_row(row: &crate::store::provisioning::UserRow) -> Self {
        Self {
            id: row.id,
            user_name: row.user_name.clone(),
            external_id: row.external_id.clone(),
            display_name: row.display_name.clone(),
            email: row.primary_email_lower.clone(),
            active: row.active,
            product_ref: row.product_ref.clone(),
        }
    }

    pub(crate) fn to_json(&self) -> Value {
        json!({
            "id": self.id.to_string(),
            "userName": self.user_name,
            "externalId": self.external_id,
            "displayName": self.display_name,
            "email": self.email,
            "active": self.active,
            "productRef": self.product_ref,
        })
    }
}

pub(crate) fn group_summary(id: Uuid, display_name: &str, external_id: Option<&str>) -> Value {
    json!({
        "id": id.to_string(),
        "displayName": display_name,
        "externalId": external_id,
    })
}

/// A user event's data. `hosts` says where the user is a host (locations and kiosks);
/// the notification settings travel in the SCIM document's Roster extension.
pub(crate) fn user_data(
    summary: &UserSummary,
    mut scim: Option<Value>,
    hosts: Option<Value>,
) -> Value {
    // The product never gets a time zone or locale that no standard defines.
    if let Some(doc) = &mut scim {
        crate::formats::for_product(doc);
    }
    let mut data = json!({ "user": summary.to_json(), "scim": scim });
    if let Some(hosts) = hosts {
        data["hosts"] = hosts;
    }
    data
}

/// A location event's data: the location with its kiosks (as it was, for
/// `location.deleted`).
pub(crate) fn location_data(location: &Location) -> Value {
    json!({ "location": location_json(location) })
}

/// A location as events and the directory API show it.
pub(crate) fn location_json(location: &Location) -> Value {
    json!({
        "id": location.id.to_string(),
        "code": location.code,
        "name": location.name,
        "timeZone": location.time_zone,
        "kiosks": location
            .kiosks
            .iter()
            .map(|k| json!({ "id": k.id.to_string(), "name": k.name }))
            .collect::<Vec<_>>(),
    })
}

pub(crate) fn group_data(summary: Value, scim: Option<Value>) -> Value {
    json!({ "group": summary, "scim": scim })
}

pub(crate) fn membership_data(group: &Value, user: &UserSummary) -> Value {
    json!({ "group": group, "user": user.to_json() })
}

/// The insert of one event, to add to the write's own statements.
pub(crate) fn insert(
    at: Timestamp,
    ctx: &RequestContext,
    kind: EventType,
    resource_id: Uuid,
    data: &Value,
) -> EventInsert {
    outbox::insert_event(row(at, ctx, kind, resource_id, data))
}

pub(crate) fn row(
    at: Timestamp,
    ctx: &RequestContext,
    kind: EventType,
    resource_id: Uuid,
    data: &Value,
) -> EventRow {
    tenant_row(at, ctx.tenant_id, kind, resource_id, data)
}

/// An event of the tenant, outside any SCIM request (an admin's change of the rules).
pub(crate) fn tenant_row(
    at: Timestamp,
    tenant: TenantId,
    kind: EventType,
    resource_id: Uuid,
    data: &Value,
) -> EventRow {
    outbox::event_row(
        TenantScope::of_stored(tenant),
        at,
        kind.as_str(),
        kind.resource_type(),
        resource_id,
        data.to_string(),
    )
}
