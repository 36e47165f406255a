//! Index rows for users written before the attribute-value index existed (or inserted
//! around the service, as the test fixtures do): run once at startup, before the node
//! serves, in batches by id so that memory stays one batch whatever the tenant's size.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use roster_scim::projection::Projection;
use roster_scim::resource::{StoredResource, render};
use serde_json::Value;
use uuid::Uuid;

use super::users::parse_doc;
use super::{ProvResult, Provisioning, TenantScope};
use crate::store::provisioning as store;
use crate::store::values;
use crate::tenants::TenantId;
use crate::time::Timestamp;

/// Users indexed per transaction.
const BATCH: u64 = 500;

impl Provisioning {
    /// Writes the index rows of every user that has none. Returns how many users it
    /// indexed. Idempotent; cheap when there is nothing to do (one anti-join).
    pub async fn index_unindexed_users(&self) -> ProvResult<u64> {
        let mut after: Option<Uuid> = None;
        let mut indexed = 0;
        loop {
            let rows = store::unindexed_users(self.db.writer(), after, BATCH).await?;
            let Some(last) = rows.last() else {
                return Ok(indexed);
            };
            after = Some(last.id);
            let mut rules = HashMap::new();
            let mut writes = self.db.writes();
            for row in &rows {
                let tenant = TenantId(row.tenant_id);
                let tenant_rules = match rules.entry(tenant) {
                    Entry::Occupied(entry) => entry.into_mut(),
                    Entry::Vacant(entry) => entry.insert(self.rules(tenant).await?),
                };
                let schema = tenant_rules.registry.user();
                let doc = parse_doc(&row.doc)?;
                let id = row.id.to_string();
                let version = row.version.to_string();
                let rendered = render(
                    schema,
                    "",
                    &StoredResource {
                        id: &id,
                        document: &doc,
                        created: Timestamp::from_micros(row.created_at).to_datetime(),
                        last_modified: Timestamp::from_micros(row.updated_at).to_datetime(),
                        version: &version,
                        members: None,
                    },
                    &Projection::all(),
                );
                if let Err(err) = values::write(
                    &mut writes,
                    TenantScope::of_stored(tenant),
                    schema,
                    row.id,
                    &Value::Object(rendered),
                    &doc,
                    true,
                ) {
                    // A value too long for the index (stored before the bound existed):
                    // the user stays findable by its columns; say so once per user.
                    tracing::warn!(user = %row.id, error = %err, "user not indexed");
                }
                indexed += 1;
            }
            writes.execute_alone(self.db.writer()).await?;
        }
    }
}
