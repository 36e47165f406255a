//! Group membership: reading members for rendering, and applying a PATCH's or PUT's
//! membership changes as rows and events (see [`MembershipWriter`]).

use std::collections::{HashMap, HashSet};

use roster_entity::{event, group_member, user};
use roster_scim::filter::Filter;
use roster_scim::resource::{Member, MemberKind};
use roster_scim::schema::ResourceSchema;
use roster_scim::{AttrPath, JsonObject, ScimError};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde_json::Value;
use uuid::Uuid;

use super::columns::parse_id;
use super::events::{self, EventType, UserSummary};
use super::scope::TenantScope;
use super::{ProvResult, RequestContext};
use crate::time::Timestamp;
use crate::writes::Writes;

/// Rows per statement for bulk inserts and `IN` lists: well under both backends'
/// parameter limits.
const CHUNK: usize = 500;

/// Members of some groups, for their `members` attribute: one query for a whole page,
/// on the membership table alone. (`display` is left out: it is read-only in RFC 7643,
/// clients send none, and echoing a server-chosen one back makes a group read differently
/// from what was written.)
pub(crate) async fn members_of(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    group_ids: &[Uuid],
) -> ProvResult<HashMap<Uuid, Vec<Member>>> {
    let mut out: HashMap<Uuid, Vec<Member>> = HashMap::new();
    for chunk in group_ids.chunks(CHUNK) {
        let rows: Vec<(Uuid, Uuid)> = scope
            .members()
            .select_only()
            .column(group_member::Column::GroupId)
            .column(group_member::Column::UserId)
            .filter(group_member::Column::GroupId.is_in(chunk.iter().copied()))
            .order_by_asc(group_member::Column::GroupId)
            .order_by_asc(group_member::Column::UserId)
            .into_tuple()
            .all(conn)
            .await?;
        for (group_id, user_id) in rows {
            out.entry(group_id).or_default().push(Member {
                value: user_id.to_string(),
                kind: MemberKind::User,
                display: None,
            });
        }
    }
    Ok(out)
}

type SummaryRow = (
    Uuid,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    bool,
);

/// The users among `ids` that exist in this tenant, as event summaries.
async fn user_summaries(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    ids: &[Uuid],
) -> ProvResult<HashMap<Uuid, UserSummary>> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<SummaryRow> = scope
            .users()
            .select_only()
            .column(user::Column::Id)
            .column(user::Column::UserName)
            .column(user::Column::ExternalId)
            .column(user::Column::DisplayName)
            .column(user::Column::PrimaryEmailLower)
            .column(user::Column::Active)
            .filter(user::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(conn)
            .await?;
        for (id, user_name, external_id, display_name, email, active) in rows {
            out.insert(
                id,
                UserSummary {
                    id,
                    user_name,
                    external_id,
                    display_name,
                    email,
                    active,
                },
            );
        }
    }
    Ok(out)
}

/// Member ids as given → user UUIDs of this tenant, or `invalidValue` naming the first
/// that is not one.
async fn resolve_members(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    ids: &[String],
) -> ProvResult<(Vec<Uuid>, HashMap<Uuid, UserSummary>)> {
    let mut uuids = Vec::with_capacity(ids.len());
    let mut seen = HashSet::with_capacity(ids.len());
    for id in ids {
        let uuid = parse_id(id).ok_or_else(|| unknown_member(id))?;
        if seen.insert(uuid) {
            uuids.push(uuid);
        }
    }
    let summaries = user_summaries(conn, scope, &uuids).await?;
    if let Some(missing) = uuids.iter().find(|id| !summaries.contains_key(id)) {
        return Err(unknown_member(&missing.to_string()).into());
    }
    Ok((uuids, summaries))
}

fn unknown_member(id: &str) -> ScimError {
    ScimError::invalid_value(format!(
        "members: \"{id}\" is not the id of a user of this tenant"
    ))
}

async fn current_members(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    group_id: Uuid,
    among: Option<&[Uuid]>,
) -> ProvResult<HashSet<Uuid>> {
    let mut out = HashSet::new();
    let fetch = |chunk: Option<&[Uuid]>| {
        let mut query = scope
            .members()
            .select_only()
            .column(group_member::Column::UserId)
            .filter(group_member::Column::GroupId.eq(group_id));
        if let Some(chunk) = chunk {
            query = query.filter(group_member::Column::UserId.is_in(chunk.iter().copied()));
        }
        query.into_tuple::<Uuid>()
    };
    match among {
        None => out.extend(fetch(None).all(conn).await?),
        Some(ids) => {
            for chunk in ids.chunks(CHUNK) {
                out.extend(fetch(Some(chunk)).all(conn).await?);
            }
        }
    }
    Ok(out)
}

/// Membership changes to one group within a transaction. Reads what it needs as the
/// operations go (so a PATCH's operations see each other's effects), keeps the result in
/// memory, and emits the row changes and one event per member added or removed into the
/// write's statements at the end.
pub(crate) struct MembershipWriter<'a> {
    txn: &'a DatabaseTransaction,
    ctx: &'a RequestContext,
    scope: TenantScope,
    group_id: Uuid,
    group_summary: Value,
    /// Membership as stored when first looked at.
    initial: HashMap<Uuid, bool>,
    /// Membership after the operations so far.
    current: HashMap<Uuid, bool>,
    all_loaded: bool,
    summaries: HashMap<Uuid, UserSummary>,
    events: Vec<(EventType, Uuid)>,
}

impl<'a> MembershipWriter<'a> {
    /// A writer for `group`; `new_group` means it has no members yet (nothing to read).
    pub(crate) fn new(
        txn: &'a DatabaseTransaction,
        ctx: &'a RequestContext,
        scope: TenantScope,
        group: &roster_entity::group::Model,
        new_group: bool,
    ) -> Self {
        Self {
            txn,
            ctx,
            scope,
            group_id: group.id,
            group_summary: events::group_summary(
                group.id,
                &group.display_name,
                group.external_id.as_deref(),
            ),
            initial: HashMap::new(),
            current: HashMap::new(),
            all_loaded: new_group,
            summaries: HashMap::new(),
            events: Vec::new(),
        }
    }

    /// A user met while resolving member ids.
    pub(crate) fn summary(&self, id: &Uuid) -> Option<&UserSummary> {
        self.summaries.get(id)
    }
    pub(crate) fn changed(&self) -> bool {
        !self.events.is_empty()
    }

    async fn know(&mut self, ids: &[Uuid]) -> ProvResult<()> {
        if self.all_loaded {
            return Ok(());
        }
        let unknown: Vec<Uuid> = ids
            .iter()
            .filter(|id| !self.initial.contains_key(id))
            .copied()
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        let present = current_members(self.txn, self.scope, self.group_id, Some(&unknown)).await?;
        for id in unknown {
            let member = present.contains(&id);
            self.initial.insert(id, member);
            self.current.entry(id).or_insert(member);
        }
        Ok(())
    }

    async fn know_all(&mut self) -> ProvResult<()> {
        if self.all_loaded {
            return Ok(());
        }
        // Ids already known keep their state; every stored member not yet known joins.
        let present = current_members(self.txn, self.scope, self.group_id, None).await?;
        for id in present {
            self.initial.entry(id).or_insert(true);
            self.current.entry(id).or_insert(true);
        }
        self.all_loaded = true;
        Ok(())
    }

    fn is_member(&self, id: &Uuid) -> bool {
        self.current.get(id).copied().unwrap_or(false)
    }

    /// Records a change of `id`'s membership; its stored state was read before (by
    /// `know` or `know_all`: once everything is loaded, an unknown id is a non-member).
    fn set(&mut self, id: Uuid, member: bool) {
        self.initial.entry(id).or_insert(false);
        self.current.insert(id, member);
        let kind = if member {
            EventType::GroupMemberAdded
        } else {
            EventType::GroupMemberRemoved
        };
        self.events.push((kind, id));
    }

    pub(crate) async fn add(&mut self, ids: &[String]) -> ProvResult<()> {
        let (uuids, summaries) = resolve_members(self.txn, self.scope, ids).await?;
        self.summaries.extend(summaries);
        self.know(&uuids).await?;
        for id in uuids {
            if !self.is_member(&id) {
                self.set(id, true);
            }
        }
        Ok(())
    }

    pub(crate) async fn remove_ids(&mut self, ids: &[String]) -> ProvResult<()> {
        // Removing someone who is not a member is not an error (Entra removes by value,
        // and may repeat itself).
        let uuids: Vec<Uuid> = ids.iter().filter_map(|id| parse_id(id)).collect();
        self.know(&uuids).await?;
        for id in uuids {
            if self.is_member(&id) {
                self.set(id, false);
            }
        }
        Ok(())
    }

    pub(crate) async fn remove_all(&mut self) -> ProvResult<()> {
        self.know_all().await?;
        let members: Vec<Uuid> = self
            .current
            .iter()
            .filter(|(_, member)| **member)
            .map(|(id, _)| *id)
            .collect();
        for id in members {
            self.set(id, false);
        }
        Ok(())
    }

    pub(crate) async fn replace(&mut self, ids: &[String]) -> ProvResult<()> {
        let (wanted, summaries) = resolve_members(self.txn, self.scope, ids).await?;
        self.summaries.extend(summaries);
        self.know_all().await?;
        let wanted_set: HashSet<Uuid> = wanted.iter().copied().collect();
        let gone: Vec<Uuid> = self
            .current
            .iter()
            .filter(|(id, member)| **member && !wanted_set.contains(id))
            .map(|(id, _)| *id)
            .collect();
        for id in gone {
            self.set(id, false);
        }
        for id in wanted {
            if !self.is_member(&id) {
                self.set(id, true);
            }
        }
        Ok(())
    }

    pub(crate) async fn remove_matching(
        &mut self,
        filter: &Filter,
        schema: &ResourceSchema,
        base: &str,
    ) -> ProvResult<()> {
        let members = members_of(self.txn, self.scope, &[self.group_id]).await?;
        let wrapped = Filter::ValuePath {
            path: AttrPath::new("members"),
            filter: Box::new(filter.clone()),
        };
        let mut gone = Vec::new();
        for member in members.get(&self.group_id).into_iter().flatten() {
            let Some(id) = parse_id(&member.value) else {
                continue;
            };
            if !self.current.get(&id).copied().unwrap_or(true) {
                continue;
            }
            let mut element = JsonObject::new();
            element.insert("value".into(), member.value.clone().into());
            element.insert("type".into(), "User".into());
            element.insert(
                "$ref".into(),
                format!("{base}/Users/{}", member.value).into(),
            );
            if let Some(display) = &member.display {
                element.insert("display".into(), display.clone().into());
            }
            let mut probe = JsonObject::new();
            probe.insert("members".into(), Value::Array(vec![Value::Object(element)]));
            if wrapped.matches(&probe, schema) {
                gone.push(id);
            }
        }
        if gone.is_empty() {
            return Err(ScimError::no_target("no member matches the filter").into());
        }
        self.know(&gone).await?;
        for id in gone {
            self.set(id, false);
        }
        Ok(())
    }

    /// Adds the membership rows and events to `writes`.
    pub(crate) async fn finish(mut self, writes: &mut Writes) -> ProvResult<()> {
        let added: Vec<Uuid> = self
            .current
            .iter()
            .filter(|(id, member)| **member && !self.initial.get(id).copied().unwrap_or(false))
            .map(|(id, _)| *id)
            .collect();
        let removed: Vec<Uuid> = self
            .current
            .iter()
            .filter(|(id, member)| !**member && self.initial.get(id).copied().unwrap_or(false))
            .map(|(id, _)| *id)
            .collect();
        let now = Timestamp::now().as_micros();
        for chunk in added.chunks(CHUNK) {
            let rows = chunk.iter().map(|user_id| group_member::ActiveModel {
                group_id: Set(self.group_id),
                user_id: Set(*user_id),
                tenant_id: Set(self.scope.tenant_uuid()),
                created_at: Set(now),
            });
            writes.push(
                &group_member::Entity::insert_many(rows).on_conflict(
                    OnConflict::columns([
                        group_member::Column::GroupId,
                        group_member::Column::UserId,
                    ])
                    .do_nothing()
                    .to_owned(),
                ),
            );
        }
        for chunk in removed.chunks(CHUNK) {
            writes.push(
                &self
                    .scope
                    .delete_members()
                    .filter(group_member::Column::GroupId.eq(self.group_id))
                    .filter(group_member::Column::UserId.is_in(chunk.iter().copied())),
            );
        }
        let missing: Vec<Uuid> = self
            .events
            .iter()
            .map(|(_, id)| *id)
            .filter(|id| !self.summaries.contains_key(id))
            .collect();
        if !missing.is_empty() {
            let found = user_summaries(self.txn, self.scope, &missing).await?;
            self.summaries.extend(found);
        }
        let rows: Vec<event::ActiveModel> = self
            .events
            .iter()
            .filter_map(|(kind, id)| {
                self.summaries.get(id).map(|summary| {
                    events::row(
                        self.ctx,
                        *kind,
                        self.group_id,
                        &events::membership_data(&self.group_summary, summary),
                    )
                })
            })
            .collect();
        for chunk in rows.chunks(CHUNK / 2) {
            writes.push(&event::Entity::insert_many(chunk.to_vec()));
        }
        Ok(())
    }
}
