//! Rendering a stored user, and writing a new or changed one with its emails, event and
//! log row as one `Writes` batch.

use roster_scim::JsonObject;
use roster_scim::projection::Projection;
use roster_scim::resource::{Member, StoredResource, render};
use roster_scim::schema::ROSTER_USER_URN;
use serde_json::{Value, json};
use uuid::Uuid;

use super::audit::{self, LogNote, Operation};
use super::plan::WritePlan;
use super::{ProvResult, Provisioning, RequestContext, Resource};
use crate::Error;
use crate::outbox::events::{self, EventType, UserSummary};
use crate::rules::{Hosts, NotificationMatrix, TenantRules};
use crate::store::columns::UserColumns;
use crate::store::provisioning::{self as store, UserRow};
use crate::store::values;
use crate::time::Timestamp;

/// Where a user is a host, as events carry it: ids with codes and names, so the product
/// need not look them up.
pub(super) fn hosts_json(rules: &TenantRules, stored: Option<&str>) -> Value {
    let hosts = Hosts::from_stored(stored);
    let locations: Vec<Value> = hosts
        .locations
        .iter()
        .filter_map(|id| rules.location(*id))
        .map(|l| json!({"id": l.id.to_string(), "code": l.code, "name": l.name, "timeZone": l.time_zone}))
        .collect();
    let kiosks: Vec<Value> = hosts
        .kiosks
        .iter()
        .filter_map(|id| rules.kiosk(*id))
        .map(|(l, k)| json!({"id": k.id.to_string(), "name": k.name, "location": l.code}))
        .collect();
    json!({ "locations": locations, "kiosks": kiosks })
}

/// A new version of an existing user, to store.
pub(super) struct UserChange<'a> {
    pub old: &'a UserRow,
    pub old_doc: &'a JsonObject,
    pub new_doc: JsonObject,
    pub cols: UserColumns,
    pub groups: Option<&'a [Member]>,
    /// `Some` when the host assignments were recomputed.
    pub hosts: Option<Hosts>,
    pub operation: Operation,
    pub status: u16,
}

impl Provisioning {
    /// Renders a stored user as the client sees it. The notification settings are the
    /// row's, shown read-only under the Roster extension when the tenant has a catalogue.
    pub(crate) fn render_user(
        &self,
        ctx: &RequestContext,
        rules: &TenantRules,
        row: &UserRow,
        doc: &JsonObject,
        groups: Option<&[Member]>,
        projection: &Projection,
    ) -> Resource {
        let schema = rules.registry.user();
        let version = row.version.to_string();
        let id = row.id.to_string();
        let with_settings;
        let document = if rules.catalogue.is_empty() {
            doc
        } else {
            let mut copy = doc.clone();
            let settings = NotificationMatrix::from_stored(row.notifications.as_deref())
                .to_scim(&rules.catalogue);
            match copy
                .entry(ROSTER_USER_URN)
                .or_insert_with(|| Value::Object(JsonObject::new()))
            {
                Value::Object(ext) => {
                    ext.insert(
                        crate::rules::NOTIFICATION_SETTINGS_ATTRIBUTE.into(),
                        settings,
                    );
                }
                other => {
                    *other = json!({ crate::rules::NOTIFICATION_SETTINGS_ATTRIBUTE: settings })
                }
            }
            with_settings = copy;
            &with_settings
        };
        let mut body = render(
            schema,
            &self.base_url(ctx),
            &StoredResource {
                id: &id,
                document,
                created: Timestamp::from_micros(row.created_at).to_datetime(),
                last_modified: Timestamp::from_micros(row.updated_at).to_datetime(),
                version: &version,
                members: None,
            },
            projection,
        );
        if let Some(groups) = groups.filter(|g| !g.is_empty())
            && projection.includes(schema, "groups")
        {
            let base = self.base_url(ctx);
            let list: Vec<Value> = groups
                .iter()
                .map(|g| {
                    json!({
                        "value": g.value,
                        "$ref": format!("{base}/Groups/{}", g.value),
                        "display": g.display,
                        "type": "direct",
                    })
                })
                .collect();
            body.insert("groups".into(), Value::Array(list));
        }
        Resource {
            id,
            body: Value::Object(body),
            version,
        }
    }

    /// Prepares a new version of an existing user with its event and log row: the
    /// update is guarded by the version it was computed from, so it applies only to
    /// that version. The notification settings are never touched: the identity
    /// provider does not own them.
    pub(super) fn prepare_user_change(
        &self,
        ctx: &RequestContext,
        rules: &TenantRules,
        change: UserChange<'_>,
        projection: &Projection,
    ) -> ProvResult<(WritePlan, Resource)> {
        let UserChange {
            old,
            old_doc,
            new_doc,
            cols,
            groups,
            hosts,
            operation,
            status,
        } = change;
        let scope = self.scope(ctx);
        let now = std::cmp::max(self.db.clock().now().as_micros(), old.updated_at + 1);
        let mut row = old.clone();
        row.doc = serde_json::to_string(&new_doc)
            .map_err(|e| Error::internal("serialising a user", e))?;
        row.version = old.version + 1;
        row.updated_at = now;
        row.user_name = cols.user_name.clone();
        row.user_name_lower = cols.user_name_lower.clone();
        row.external_id = cols.external_id.clone();
        row.display_name = cols.display_name.clone();
        row.display_name_lower = cols.display_name_lower.clone();
        row.primary_email_lower = cols.primary_email_lower.clone();
        row.active = cols.active;
        if let Some(hosts) = &hosts {
            row.hosts = hosts.to_stored();
        }

        let mut plan = WritePlan::new(self.db.writes(), "userName or externalId");
        plan.guard(store::update_user(&self.db, scope, old.version, &row));
        let writes = plan.writes_mut();
        let old_cols = UserColumns::from_doc(old_doc).ok();
        if old_cols.as_ref().map(|c| &c.emails) != Some(&cols.emails) {
            store::replace_user_emails(writes, scope, old.id, &cols);
        }
        let full = self.render_user(ctx, rules, &row, &new_doc, groups, &Projection::all());
        values::write(
            writes,
            scope,
            rules.registry.user(),
            row.id,
            &full.body,
            &new_doc,
            false,
        )?;
        let kind = EventType::for_user_change(old.active, row.active);
        let data = events::user_data(
            &UserSummary::from_row(&row),
            Some(full.body.clone()),
            Some(hosts_json(rules, row.hosts.as_deref())),
        );
        writes.push(&events::insert(
            self.db.clock().now(),
            ctx,
            kind,
            row.id,
            &data,
        ));
        writes.push(&audit::success(
            self.db.clock().now(),
            ctx,
            operation,
            Some(&full.id),
            status,
            LogNote::for_user(&row.user_name, &new_doc),
        ));
        let resource = if *projection == Projection::all() {
            full
        } else {
            self.render_user(ctx, rules, &row, &new_doc, groups, projection)
        };
        Ok((plan, resource))
    }

    /// Prepares a new user — with a copy of the tenant's notification defaults and its
    /// host assignments — and its emails, event and log row. Applying it fails with
    /// `uniqueness` when a unique index refuses it (another user took the name
    /// meanwhile).
    pub(super) fn prepare_user_insert(
        &self,
        ctx: &RequestContext,
        rules: &TenantRules,
        new: NewUser<'_>,
        projection: &Projection,
    ) -> ProvResult<(WritePlan, Resource)> {
        let NewUser {
            doc,
            cols,
            hosts,
            product_ref,
            operation,
        } = new;
        let now = self.db.clock().now().as_micros();
        let notifications =
            (!rules.catalogue.is_empty()).then(|| rules.default_notifications().to_stored());
        let row = UserRow {
            id: Uuid::now_v7(),
            tenant_id: ctx.tenant_id.0,
            user_name: cols.user_name.clone(),
            user_name_lower: cols.user_name_lower.clone(),
            external_id: cols.external_id.clone(),
            display_name: cols.display_name.clone(),
            display_name_lower: cols.display_name_lower.clone(),
            primary_email_lower: cols.primary_email_lower.clone(),
            active: cols.active,
            doc: serde_json::to_string(doc)
                .map_err(|e| Error::internal("serialising a user", e))?,
            version: 1,
            created_at: now,
            updated_at: now,
            notifications,
            hosts: hosts.to_stored(),
            product_ref: product_ref.map(str::to_owned),
        };
        let full = self.render_user(ctx, rules, &row, doc, None, &Projection::all());
        let data = events::user_data(
            &UserSummary::from_row(&row),
            Some(full.body.clone()),
            Some(hosts_json(rules, row.hosts.as_deref())),
        );

        let mut plan = WritePlan::new(self.db.writes(), "userName, externalId or productRef");
        let writes = plan.writes_mut();
        store::insert_user(writes, self.scope(ctx), &row, cols);
        values::write(
            writes,
            self.scope(ctx),
            rules.registry.user(),
            row.id,
            &full.body,
            doc,
            true,
        )?;
        writes.push(&events::insert(
            self.db.clock().now(),
            ctx,
            EventType::UserCreated,
            row.id,
            &data,
        ));
        writes.push(&audit::success(
            self.db.clock().now(),
            ctx,
            operation,
            Some(&full.id),
            201,
            LogNote::for_user(&row.user_name, doc),
        ));
        let resource = if *projection == Projection::all() {
            full
        } else {
            self.render_user(ctx, rules, &row, doc, None, projection)
        };
        Ok((plan, resource))
    }
}

/// A user to insert: its document and columns, where it is a host, the product's
/// reference (seeded users only) and the operation its log row names.
pub(super) struct NewUser<'a> {
    pub doc: &'a JsonObject,
    pub cols: &'a UserColumns,
    pub hosts: &'a Hosts,
    pub product_ref: Option<&'a str>,
    pub operation: Operation,
}

/// The document without `active`: whether anything but the activation changed.
pub(super) fn without_active(doc: &JsonObject) -> JsonObject {
    let mut copy = doc.clone();
    copy.remove("active");
    copy
}
