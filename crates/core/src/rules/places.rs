//! Changing the notification catalogue, locations, kiosks and mapping rules.

use std::collections::BTreeSet;

use futures_util::future::BoxFuture;
use sea_orm::DatabaseTransaction;
use uuid::Uuid;

use super::mapping::uuid_json;
use super::notifications::format_channels;
use super::rehost::{PlaceEvents, Rehosted};
use super::{
    Channel, Kiosk, KioskName, LocationCode, LocationName, NewRule, NotificationKey,
    NotificationLabel, RulesService, TimeZoneName,
};
use crate::audit::Change;
use crate::error::is_unique_violation;
use crate::memberships::TenantAccess;
use crate::outbox::EventType;
use crate::store::TenantScope;
use crate::store::places::{
    self, LocationRow, MappingRuleRow, NotificationTypeRow, RuleItem, location_in,
};
use crate::{Error, Result};

/// Most notification types, locations, kiosks or rules a tenant may define: these are
/// read on every provisioning request, so they stay small by design.
pub const MAX_ITEMS: u64 = 200;

/// Removes one rule row: a removal that found nothing is `NotFound`, and rolls back
/// (with its audit row).
async fn remove(
    txn: &DatabaseTransaction,
    scope: TenantScope,
    item: RuleItem,
    id: Uuid,
) -> Result<()> {
    if places::remove_item(txn, scope, item, id).await? == 0 {
        Err(Error::NotFound)
    } else {
        Ok(())
    }
}

fn too_many(field: &'static str) -> Error {
    Error::invalid(field, format!("at most {MAX_ITEMS} may be defined"))
}

impl RulesService {
    // -- Notification catalogue --------------------------------------------------------

    pub async fn add_notification_type(
        &self,
        scope: &TenantAccess,
        key: NotificationKey,
        label: NotificationLabel,
        defaults: BTreeSet<Channel>,
    ) -> Result<()> {
        let rules = self.rules(scope).await?;
        if rules.catalogue.len() as u64 >= MAX_ITEMS {
            return Err(too_many("key"));
        }
        let row = NotificationTypeRow {
            id: Uuid::now_v7(),
            key: key.as_str().to_owned(),
            label: label.as_str().to_owned(),
            default_channels: format_channels(&defaults),
            created_at: self.db.clock().now(),
        };
        let tenant = TenantScope::from(scope);
        let entry = Change::new("notification_type.add")
            .target("notification_type", key.as_str(), label.as_str())
            .after(serde_json::json!({
                "key": key.as_str(),
                "label": label.as_str(),
                "defaults": format_channels(&defaults),
            }));
        let result = self
            .change(scope, entry, move |txn| {
                Box::pin(async move {
                    places::insert_notification_type(txn, tenant, row).await?;
                    Ok(())
                })
            })
            .await;
        match result {
            Err(Error::Database(err)) if is_unique_violation(&err) => Err(Error::invalid(
                "key",
                format!("{} is already in the catalogue", key.as_str()),
            )),
            other => other,
        }
    }

    /// Sets the default channels of every type at once (the grid is one form). Types not
    /// named keep their defaults.
    pub async fn set_notification_defaults(
        &self,
        scope: &TenantAccess,
        grid: Vec<(Uuid, BTreeSet<Channel>)>,
    ) -> Result<()> {
        let tenant = scope.id().0;
        let rules = self.rules(scope).await?;
        let scoped = TenantScope::from(scope);
        let describe = |id: Uuid, channels: &BTreeSet<Channel>| {
            let key = rules
                .catalogue
                .iter()
                .find(|t| t.id == id)
                .map_or_else(|| id.to_string(), |t| t.key.clone());
            (key, serde_json::Value::String(format_channels(channels)))
        };
        let before: serde_json::Map<String, serde_json::Value> = rules
            .catalogue
            .iter()
            .map(|t| describe(t.id, &t.defaults))
            .collect();
        let after: serde_json::Map<String, serde_json::Value> = grid
            .iter()
            .map(|(id, channels)| describe(*id, channels))
            .collect();
        let entry = Change::new("notification_defaults.update")
            .target(
                "notification_defaults",
                tenant,
                "Default notification settings",
            )
            .before(serde_json::Value::Object(before))
            .after(serde_json::Value::Object(after));
        self.change(scope, entry, move |txn| {
            Box::pin(async move {
                for (id, channels) in grid {
                    places::set_notification_channels(txn, scoped, id, format_channels(&channels))
                        .await?;
                }
                Ok(())
            })
        })
        .await
    }

    pub async fn remove_notification_type(&self, scope: &TenantAccess, id: Uuid) -> Result<()> {
        let tenant = TenantScope::from(scope);
        let name = self
            .rules(scope)
            .await?
            .catalogue
            .iter()
            .find(|t| t.id == id)
            .map_or_else(|| id.to_string(), |t| t.key.clone());
        let entry = Change::new("notification_type.remove").target("notification_type", id, name);
        self.change(scope, entry, move |txn| {
            Box::pin(async move { remove(txn, tenant, RuleItem::NotificationType, id).await })
        })
        .await
    }

    // -- Locations and kiosks -----------------------------------------------------------

    pub async fn add_location(
        &self,
        scope: &TenantAccess,
        name: LocationName,
        code: LocationCode,
        time_zone: TimeZoneName,
    ) -> Result<Uuid> {
        let tenant = TenantScope::from(scope);
        let count = places::location_count(self.db.reader(), tenant).await?;
        if count >= MAX_ITEMS {
            return Err(too_many("name"));
        }
        let id = Uuid::now_v7();
        let row = LocationRow {
            id,
            name: name.0.clone(),
            code: code.0.clone(),
            time_zone: time_zone.0.clone(),
            created_at: self.db.clock().now(),
        };
        let entry = Change::new("location.add")
            .target("location", id, format!("{} ({})", name.0, code.0))
            .after(serde_json::json!({ "name": name.0, "code": code.0, "time_zone": time_zone.0 }));
        // A new location is in no rule yet: nobody's hosts change.
        let result = self
            .change_places(scope, entry, false, move |txn| {
                Box::pin(async move {
                    places::insert_location(txn, tenant, row).await?;
                    let created = location_in(txn, tenant, id).await?;
                    Ok((
                        (),
                        created
                            .map(|l| (EventType::LocationCreated, l))
                            .into_iter()
                            .collect(),
                    ))
                })
            })
            .await;
        match result {
            Err(Error::Database(err)) if is_unique_violation(&err) => Err(Error::invalid(
                "code",
                format!("{} is the code of another location", code.0),
            )),
            other => other.map(|_| id),
        }
    }

    /// Removes a location with its kiosks; rules keep their other targets. Users who
    /// were hosts there are re-evaluated (see [`super::rehost`]).
    pub async fn remove_location(&self, scope: &TenantAccess, id: Uuid) -> Result<Rehosted> {
        let tenant = TenantScope::from(scope);
        let name = self
            .rules(scope)
            .await?
            .location(id)
            .map_or_else(|| id.to_string(), |l| format!("{} ({})", l.name, l.code));
        let entry = Change::new("location.remove").target("location", id, name);
        self.places(scope, entry, move |txn| {
            Box::pin(async move {
                let gone = location_in(txn, tenant, id).await?.ok_or(Error::NotFound)?;
                // Its kiosks go with it (explicitly, whatever the foreign keys do).
                places::remove_kiosks_of(txn, tenant, id).await?;
                remove(txn, tenant, RuleItem::Location, id).await?;
                Ok(vec![(EventType::LocationDeleted, gone)])
            })
        })
        .await
    }

    pub async fn add_kiosk(
        &self,
        scope: &TenantAccess,
        location_id: Uuid,
        name: KioskName,
    ) -> Result<()> {
        let rules = self.rules(scope).await?;
        let location = rules.location(location_id).ok_or(Error::NotFound)?;
        if location.kiosks.len() as u64 >= MAX_ITEMS {
            return Err(too_many("kiosk"));
        }
        let id = Uuid::now_v7();
        let entry = Change::new("kiosk.add")
            .target("kiosk", id, name.0.clone())
            .after(serde_json::json!({ "name": name.0, "location": location.code }));
        let row = Kiosk {
            id,
            location_id,
            name: name.0,
        };
        let created_at = self.db.clock().now();
        let tenant = TenantScope::from(scope);
        // A new kiosk is in no rule yet: nobody's hosts change.
        self.change_places(scope, entry, false, move |txn| {
            Box::pin(async move {
                places::insert_kiosk(txn, tenant, row, created_at).await?;
                let updated = location_in(txn, tenant, location_id)
                    .await?
                    .ok_or(Error::NotFound)?;
                Ok(((), vec![(EventType::LocationUpdated, updated)]))
            })
        })
        .await
        .map(|_| ())
    }

    /// Removes a kiosk; users who were hosts there are re-evaluated.
    pub async fn remove_kiosk(&self, scope: &TenantAccess, id: Uuid) -> Result<Rehosted> {
        let tenant = TenantScope::from(scope);
        let name = self
            .rules(scope)
            .await?
            .kiosk(id)
            .map_or_else(|| id.to_string(), |(_, k)| k.name.clone());
        let entry = Change::new("kiosk.remove").target("kiosk", id, name);
        self.places(scope, entry, move |txn| {
            Box::pin(async move {
                let location_id = places::kiosk_location(txn, tenant, id)
                    .await?
                    .ok_or(Error::NotFound)?;
                remove(txn, tenant, RuleItem::Kiosk, id).await?;
                let updated = location_in(txn, tenant, location_id).await?;
                Ok(updated
                    .map(|l| (EventType::LocationUpdated, l))
                    .into_iter()
                    .collect())
            })
        })
        .await
    }

    /// A change after which users' hosts are re-evaluated.
    async fn places<F>(&self, scope: &TenantAccess, entry: Change, change: F) -> Result<Rehosted>
    where
        F: for<'t> FnOnce(&'t DatabaseTransaction) -> BoxFuture<'t, Result<PlaceEvents>>
            + Send
            + 'static,
    {
        let (_, rehosted) = self
            .change_places(scope, entry, true, move |txn| {
                Box::pin(async move { Ok(((), change(txn).await?)) })
            })
            .await?;
        rehosted.ok_or_else(|| Error::Internal("a change without re-evaluation".to_owned()))
    }

    // -- Mapping rules ------------------------------------------------------------------

    /// Adds a rule at the lowest priority. Its targets must be this tenant's. Users it
    /// now matches first become hosts where it says.
    pub async fn add_rule(&self, scope: &TenantAccess, rule: NewRule) -> Result<Rehosted> {
        let rules = self.rules(scope).await?;
        if rules.mapping.len() as u64 >= MAX_ITEMS {
            return Err(too_many("attribute"));
        }
        if rule.locations.is_empty() && rule.kiosks.is_empty() {
            return Err(Error::invalid(
                "targets",
                "choose at least one location or kiosk",
            ));
        }
        if rule
            .locations
            .iter()
            .any(|id| rules.location(*id).is_none())
            || rule.kiosks.iter().any(|id| rules.kiosk(*id).is_none())
        {
            return Err(Error::invalid(
                "targets",
                "names a location or kiosk that no longer exists",
            ));
        }
        let position = rules.mapping.iter().map(|r| r.position).max().unwrap_or(0) + 1;
        let id = Uuid::now_v7();
        let entry = Change::new("rule.add")
            .target("rule", id, format!("Rule {position}: {}", rule.path.0))
            .after(serde_json::json!({
                "attribute": rule.path.0.to_string(),
                "match": rule.kind.as_str(),
                "values": rule.values.0,
                "locations": rule.locations,
                "kiosks": rule.kiosks,
            }));
        let row = MappingRuleRow {
            id,
            position,
            attribute: rule.path.0.to_string(),
            match_kind: rule.kind.as_str().to_owned(),
            match_values: serde_json::to_string(&rule.values.0)
                .map_err(|e| Error::Internal(e.to_string()))?,
            location_ids: uuid_json(&rule.locations),
            kiosk_ids: uuid_json(&rule.kiosks),
            created_at: self.db.clock().now(),
        };
        let tenant = TenantScope::from(scope);
        self.places(scope, entry, move |txn| {
            Box::pin(async move {
                places::insert_mapping_rule(txn, tenant, row).await?;
                Ok(Vec::new())
            })
        })
        .await
    }

    /// Removes a rule; the users it decided are re-evaluated (the next rule that
    /// matches, or nowhere).
    pub async fn remove_rule(&self, scope: &TenantAccess, id: Uuid) -> Result<Rehosted> {
        let tenant = TenantScope::from(scope);
        let entry = Change::new("rule.remove").target("rule", id, self.rule_name(scope, id).await?);
        self.places(scope, entry, move |txn| {
            Box::pin(async move {
                remove(txn, tenant, RuleItem::MappingRule, id).await?;
                Ok(Vec::new())
            })
        })
        .await
    }

    async fn rule_name(&self, scope: &TenantAccess, id: Uuid) -> Result<String> {
        Ok(self
            .rules(scope)
            .await?
            .mapping
            .iter()
            .find(|r| r.id == id)
            .map_or_else(
                || id.to_string(),
                |r| format!("Rule {}: {}", r.position, r.attribute),
            ))
    }

    /// Swaps a rule with its neighbour above (`up`) or below; users are re-evaluated
    /// (the first rule that matches decides).
    pub async fn move_rule(&self, scope: &TenantAccess, id: Uuid, up: bool) -> Result<Rehosted> {
        let tenant = TenantScope::from(scope);
        let entry = Change::new("rule.move")
            .target("rule", id, self.rule_name(scope, id).await?)
            .after(serde_json::json!({ "direction": if up { "up" } else { "down" } }));
        self.places(scope, entry, move |txn| {
            Box::pin(async move {
                let rows = places::mapping_rule_order(txn, tenant).await?;
                let index = rows
                    .iter()
                    .position(|(rule, _)| *rule == id)
                    .ok_or(Error::NotFound)?;
                let other = if up {
                    index.checked_sub(1)
                } else {
                    Some(index + 1).filter(|i| *i < rows.len())
                };
                let Some(other) = other else {
                    return Ok(Vec::new());
                };
                // Renumber densely, then swap: positions may have gaps or ties.
                let mut order: Vec<Uuid> = rows.iter().map(|(rule, _)| *rule).collect();
                order.swap(index, other);
                for (position, rule) in order.iter().enumerate() {
                    let position = i32::try_from(position + 1).unwrap_or(i32::MAX);
                    places::set_mapping_rule_position(txn, tenant, *rule, position).await?;
                }
                Ok(Vec::new())
            })
        })
        .await
    }

    /// "Test a user": the rules tried against a sample user, each against its own
    /// attribute (see [`super::preview`]).
    pub async fn preview_user(
        &self,
        scope: &TenantAccess,
        sample: &super::SampleUser,
    ) -> Result<super::UserPreview> {
        let rules = self.rules(scope).await?;
        Ok(super::preview::preview_user(&rules, sample))
    }
}
