//! Groups. Members are rows of `group_members`: adding or removing one member of a
//! 50,000-member group touches one row, and `excludedAttributes=members` never loads
//! them.

use std::collections::{HashMap, HashSet};

use roster_entity::{event, group, group_member, user};
use roster_scim::filter::Filter;
use roster_scim::list::ListQuery;
use roster_scim::patch::{MembersChange, PatchRequest, apply_patch};
use roster_scim::projection::Projection;
use roster_scim::resource::{
    Member, MemberKind, ParseOptions, StoredResource, etag_matches, parse_group, parse_replacement,
    render,
};
use roster_scim::schema::ResourceSchema;
use roster_scim::{AttrPath, JsonObject, ScimError};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde_json::Value;
use uuid::Uuid;

use super::audit::{self, Operation};
use super::columns::{GroupColumns, parse_id};
use super::events::{self, EventType, UserSummary};
use super::scope::TenantScope;
use super::users::{
    ProjectionParams, not_found, parse_doc, precondition_failed, uniqueness_conflict,
};
use super::{ProvResult, Provisioning, ProvisioningError, RequestContext, Resource, Written};
use crate::time::Timestamp;
use crate::writes::Writes;
use crate::{Backend, Error};

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
struct MembershipWriter<'a> {
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

impl MembershipWriter<'_> {
    fn changed(&self) -> bool {
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

    async fn add(&mut self, ids: &[String]) -> ProvResult<()> {
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

    async fn remove_ids(&mut self, ids: &[String]) -> ProvResult<()> {
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

    async fn remove_all(&mut self) -> ProvResult<()> {
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

    async fn replace(&mut self, ids: &[String]) -> ProvResult<()> {
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

    async fn remove_matching(
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
    async fn finish(mut self, writes: &mut Writes) -> ProvResult<()> {
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

impl Provisioning {
    pub(crate) fn render_group(
        &self,
        ctx: &RequestContext,
        schema: &ResourceSchema,
        row: &group::Model,
        doc: &JsonObject,
        members: Option<&[Member]>,
        projection: &Projection,
    ) -> Resource {
        let version = row.version.to_string();
        let id = row.id.to_string();
        let body = render(
            schema,
            &self.base_url(ctx),
            &StoredResource {
                id: &id,
                document: doc,
                created: Timestamp::from_micros(row.created_at).to_datetime(),
                last_modified: Timestamp::from_micros(row.updated_at).to_datetime(),
                version: &version,
                members,
            },
            projection,
        );
        Resource {
            id,
            body: Value::Object(body),
            version,
        }
    }

    async fn group_conflict(
        &self,
        txn: &DatabaseTransaction,
        scope: TenantScope,
        cols: &GroupColumns,
        except: Option<Uuid>,
    ) -> ProvResult<Option<ScimError>> {
        let mut same = group::Column::DisplayNameLower.eq(cols.display_name_lower.clone());
        if let Some(external_id) = &cols.external_id {
            same = same.or(group::Column::ExternalId.eq(external_id.clone()));
        }
        let mut query = scope.groups().filter(same);
        if let Some(except) = except {
            query = query.filter(group::Column::Id.ne(except));
        }
        Ok(query.one(txn).await?.map(|other| {
            if other.display_name_lower == cols.display_name_lower {
                ScimError::uniqueness(format!(
                    "a group named \"{}\" already exists ({})",
                    cols.display_name, other.id
                ))
            } else {
                ScimError::uniqueness(format!(
                    "externalId \"{}\" is already taken by group {}",
                    cols.external_id.as_deref().unwrap_or_default(),
                    other.id
                ))
            }
        }))
    }

    async fn load_group_for_update(
        &self,
        txn: &DatabaseTransaction,
        scope: TenantScope,
        id: Uuid,
    ) -> ProvResult<Option<group::Model>> {
        let mut query = scope.group(id);
        if self.db.backend() == Backend::Postgres {
            query = query.lock_exclusive();
        }
        Ok(query.one(txn).await?)
    }

    /// A membership writer for `row`; `new_group` means it has no members yet (nothing
    /// to read).
    fn writer<'a>(
        &self,
        txn: &'a DatabaseTransaction,
        ctx: &'a RequestContext,
        row: &group::Model,
        new_group: bool,
    ) -> MembershipWriter<'a> {
        MembershipWriter {
            txn,
            ctx,
            scope: self.scope(ctx),
            group_id: row.id,
            group_summary: events::group_summary(
                row.id,
                &row.display_name,
                row.external_id.as_deref(),
            ),
            initial: HashMap::new(),
            current: HashMap::new(),
            all_loaded: new_group,
            summaries: HashMap::new(),
            events: Vec::new(),
        }
    }

    pub async fn create_group(
        &self,
        ctx: &RequestContext,
        body: &Value,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Written> {
        self.run(
            ctx,
            Operation::GroupCreate,
            None,
            self.create_group_inner(ctx, body, params),
        )
        .await
    }

    async fn create_group_inner(
        &self,
        ctx: &RequestContext,
        body: &Value,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Written> {
        let registry = self.registry(ctx.tenant_id).await?;
        let schema = registry.group();
        let projection = Projection::parse(schema, params.attributes, params.excluded_attributes)?;
        let (doc, member_ids) = parse_group(schema, body)?;
        let cols = GroupColumns::from_doc(&doc)?;
        let scope = self.scope(ctx);
        let txn = self.db.begin_write().await?;
        if let Some(conflict) = self.group_conflict(&txn, scope, &cols, None).await? {
            return Err(conflict.into());
        }
        let now = Timestamp::now().as_micros();
        let row = group::Model {
            id: Uuid::now_v7(),
            tenant_id: ctx.tenant_id.0,
            display_name: cols.display_name.clone(),
            display_name_lower: cols.display_name_lower.clone(),
            external_id: cols.external_id.clone(),
            doc: serde_json::to_string(&doc).map_err(|e| Error::Internal(e.to_string()))?,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let full = self.render_group(ctx, schema, &row, &doc, Some(&[]), &Projection::all());
        let mut writes = self.db.writes();
        writes.push(&group::Entity::insert(group::ActiveModel {
            id: Set(row.id),
            tenant_id: Set(row.tenant_id),
            display_name: Set(row.display_name.clone()),
            display_name_lower: Set(row.display_name_lower.clone()),
            external_id: Set(row.external_id.clone()),
            doc: Set(row.doc.clone()),
            version: Set(row.version),
            created_at: Set(row.created_at),
            updated_at: Set(row.updated_at),
        }));
        writes.push(&events::insert(
            ctx,
            EventType::GroupCreated,
            row.id,
            &events::group_data(
                events::group_summary(row.id, &row.display_name, row.external_id.as_deref()),
                Some(full.body.clone()),
            ),
        ));
        let mut writer = self.writer(&txn, ctx, &row, true);
        writer.add(&member_ids).await?;
        let members: Vec<Member> = member_ids
            .iter()
            .filter_map(|id| parse_id(id))
            .filter_map(|id| writer.summaries.get(&id))
            .map(|summary| Member {
                value: summary.id.to_string(),
                kind: MemberKind::User,
                display: None,
            })
            .collect();
        writer.finish(&mut writes).await?;
        writes.push(&audit::success(
            ctx,
            Operation::GroupCreate,
            Some(&full.id),
            201,
        ));
        if let Err(err) = writes.execute(&txn).await {
            return Err(
                match uniqueness_conflict(&err, "the group's displayName or externalId") {
                    Some(scim) => scim.into(),
                    None => err.into(),
                },
            );
        }
        let resource = self.render_group(ctx, schema, &row, &doc, Some(&members), &projection);
        txn.commit().await.map_err(|err| {
            match uniqueness_conflict(&err, "the group's displayName or externalId") {
                Some(scim) => ProvisioningError::from(scim),
                None => ProvisioningError::from(err),
            }
        })?;
        Ok(Written {
            resource,
            created: true,
        })
    }

    pub async fn get_group(
        &self,
        ctx: &RequestContext,
        id: &str,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Resource> {
        self.run(
            ctx,
            Operation::GroupRead,
            Some(id),
            self.get_group_inner(ctx, id, params),
        )
        .await
    }

    async fn get_group_inner(
        &self,
        ctx: &RequestContext,
        id: &str,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Resource> {
        let registry = self.registry(ctx.tenant_id).await?;
        let schema = registry.group();
        let projection = Projection::parse(schema, params.attributes, params.excluded_attributes)?;
        let uuid = parse_id(id).ok_or_else(|| not_found("Group", id))?;
        let scope = self.scope(ctx);
        let reader = self.db.reader();
        let row = scope
            .group(uuid)
            .one(reader)
            .await?
            .ok_or_else(|| not_found("Group", id))?;
        let doc = parse_doc(&row.doc)?;
        let members = if projection.includes(schema, "members") {
            Some(
                members_of(reader, scope, &[uuid])
                    .await?
                    .remove(&uuid)
                    .unwrap_or_default(),
            )
        } else {
            None
        };
        Ok(self.render_group(ctx, schema, &row, &doc, members.as_deref(), &projection))
    }

    pub async fn replace_group(
        &self,
        ctx: &RequestContext,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Resource> {
        self.run(
            ctx,
            Operation::GroupReplace,
            Some(id),
            self.replace_group_inner(ctx, id, body, if_match, params),
        )
        .await
    }

    async fn replace_group_inner(
        &self,
        ctx: &RequestContext,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Resource> {
        let registry = self.registry(ctx.tenant_id).await?;
        let schema = registry.group();
        let projection = Projection::parse(schema, params.attributes, params.excluded_attributes)?;
        let uuid = parse_id(id).ok_or_else(|| not_found("Group", id))?;
        let txn = self.db.begin_write().await?;
        let old = self
            .load_group_for_update(&txn, self.scope(ctx), uuid)
            .await?
            .ok_or_else(|| not_found("Group", id))?;
        if let Some(header) = if_match
            && !etag_matches(header, &old.version.to_string())
        {
            return Err(precondition_failed("group").into());
        }
        let old_doc = parse_doc(&old.doc)?;
        let parsed = parse_replacement(schema, body, &old_doc, ParseOptions::default())?;
        let changes = vec![MembersChange::Replace(parsed.members)];
        let resource = self
            .apply_group_update(
                &txn,
                ctx,
                schema,
                &old,
                &old_doc,
                parsed.document,
                &changes,
                Operation::GroupReplace,
                &projection,
                true,
            )
            .await?;
        txn.commit().await?;
        Ok(resource.unwrap_or_else(|| unreachable_resource(&old)))
    }

    /// Writes a group's new document and membership changes with their events.
    /// Returns the resource when `render` is set.
    #[allow(clippy::too_many_arguments)]
    async fn apply_group_update(
        &self,
        txn: &DatabaseTransaction,
        ctx: &RequestContext,
        schema: &ResourceSchema,
        old: &group::Model,
        old_doc: &JsonObject,
        new_doc: JsonObject,
        changes: &[MembersChange],
        operation: Operation,
        projection: &Projection,
        render: bool,
    ) -> ProvResult<Option<Resource>> {
        let scope = self.scope(ctx);
        let doc_changed = &new_doc != old_doc;
        let mut row = old.clone();
        if doc_changed {
            let cols = GroupColumns::from_doc(&new_doc)?;
            if (cols.display_name_lower != old.display_name_lower
                || cols.external_id != old.external_id)
                && let Some(conflict) = self.group_conflict(txn, scope, &cols, Some(old.id)).await?
            {
                return Err(conflict.into());
            }
            row.display_name = cols.display_name;
            row.display_name_lower = cols.display_name_lower;
            row.external_id = cols.external_id;
            row.doc =
                serde_json::to_string(&new_doc).map_err(|e| Error::Internal(e.to_string()))?;
        }
        let mut writer = self.writer(txn, ctx, &row, false);
        let base = self.base_url(ctx);
        for change in changes {
            match change {
                MembersChange::Add(ids) => writer.add(ids).await?,
                MembersChange::Remove(ids) => writer.remove_ids(ids).await?,
                MembersChange::RemoveAll => writer.remove_all().await?,
                MembersChange::Replace(ids) => writer.replace(ids).await?,
                MembersChange::RemoveMatching(filter) => {
                    writer.remove_matching(filter, schema, &base).await?
                }
            }
        }
        let mut writes = self.db.writes();
        if doc_changed || writer.changed() {
            row.version = old.version + 1;
            row.updated_at = std::cmp::max(Timestamp::now().as_micros(), old.updated_at + 1);
            writes.push(
                &scope
                    .update_groups()
                    .filter(group::Column::Id.eq(old.id))
                    .col_expr(group::Column::Doc, Expr::value(row.doc.clone()))
                    .col_expr(
                        group::Column::DisplayName,
                        Expr::value(row.display_name.clone()),
                    )
                    .col_expr(
                        group::Column::DisplayNameLower,
                        Expr::value(row.display_name_lower.clone()),
                    )
                    .col_expr(
                        group::Column::ExternalId,
                        Expr::value(row.external_id.clone()),
                    )
                    .col_expr(group::Column::Version, Expr::value(row.version))
                    .col_expr(group::Column::UpdatedAt, Expr::value(row.updated_at)),
            );
        }
        if doc_changed {
            let full = self.render_group(ctx, schema, &row, &new_doc, None, &Projection::all());
            writes.push(&events::insert(
                ctx,
                EventType::GroupUpdated,
                row.id,
                &events::group_data(
                    events::group_summary(row.id, &row.display_name, row.external_id.as_deref()),
                    Some(full.body),
                ),
            ));
        }
        writer.finish(&mut writes).await?;
        let status = if render { 200 } else { 204 };
        writes.push(&audit::success(
            ctx,
            operation,
            Some(&row.id.to_string()),
            status,
        ));
        if let Err(err) = writes.execute(txn).await {
            return Err(
                match uniqueness_conflict(&err, "the group's displayName or externalId") {
                    Some(scim) => scim.into(),
                    None => err.into(),
                },
            );
        }
        if !render {
            return Ok(None);
        }
        let members = if projection.includes(schema, "members") {
            Some(
                members_of(txn, scope, &[row.id])
                    .await?
                    .remove(&row.id)
                    .unwrap_or_default(),
            )
        } else {
            None
        };
        Ok(Some(self.render_group(
            ctx,
            schema,
            &row,
            &new_doc,
            members.as_deref(),
            projection,
        )))
    }

    /// PATCH a group. Answers with the resource only when the client asked for
    /// attributes; otherwise 204 (a 50,000-member group is not sent back for each change).
    pub async fn patch_group(
        &self,
        ctx: &RequestContext,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Option<Resource>> {
        self.run(
            ctx,
            Operation::GroupPatch,
            Some(id),
            self.patch_group_inner(ctx, id, body, if_match, params),
        )
        .await
    }

    async fn patch_group_inner(
        &self,
        ctx: &RequestContext,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        params: ProjectionParams<'_>,
    ) -> ProvResult<Option<Resource>> {
        let registry = self.registry(ctx.tenant_id).await?;
        let schema = registry.group();
        let projection = Projection::parse(schema, params.attributes, params.excluded_attributes)?;
        let render = params.attributes.is_some() || params.excluded_attributes.is_some();
        let request = PatchRequest::parse(body)?;
        let uuid = parse_id(id).ok_or_else(|| not_found("Group", id))?;
        let txn = self.db.begin_write().await?;
        let old = self
            .load_group_for_update(&txn, self.scope(ctx), uuid)
            .await?
            .ok_or_else(|| not_found("Group", id))?;
        if let Some(header) = if_match
            && !etag_matches(header, &old.version.to_string())
        {
            return Err(precondition_failed("group").into());
        }
        let old_doc = parse_doc(&old.doc)?;
        let outcome = apply_patch(schema, id, &old_doc, &request)?;
        let resource = self
            .apply_group_update(
                &txn,
                ctx,
                schema,
                &old,
                &old_doc,
                outcome.document,
                &outcome.members,
                Operation::GroupPatch,
                &projection,
                render,
            )
            .await?;
        txn.commit().await?;
        Ok(resource)
    }

    pub async fn delete_group(
        &self,
        ctx: &RequestContext,
        id: &str,
        if_match: Option<&str>,
    ) -> ProvResult<()> {
        self.run(
            ctx,
            Operation::GroupDelete,
            Some(id),
            self.delete_group_inner(ctx, id, if_match),
        )
        .await
    }

    async fn delete_group_inner(
        &self,
        ctx: &RequestContext,
        id: &str,
        if_match: Option<&str>,
    ) -> ProvResult<()> {
        let uuid = parse_id(id).ok_or_else(|| not_found("Group", id))?;
        let scope = self.scope(ctx);
        let txn = self.db.begin_write().await?;
        let old = self
            .load_group_for_update(&txn, scope, uuid)
            .await?
            .ok_or_else(|| not_found("Group", id))?;
        if let Some(header) = if_match
            && !etag_matches(header, &old.version.to_string())
        {
            return Err(precondition_failed("group").into());
        }
        // Its memberships go with it (foreign key cascade); `group.deleted` says so, without
        // one member_removed event per member.
        let mut writes = self.db.writes();
        writes.push(&scope.delete_groups().filter(group::Column::Id.eq(uuid)));
        writes.push(&events::insert(
            ctx,
            EventType::GroupDeleted,
            uuid,
            &events::group_data(
                events::group_summary(uuid, &old.display_name, old.external_id.as_deref()),
                None,
            ),
        ));
        writes.push(&audit::success(ctx, Operation::GroupDelete, Some(id), 204));
        writes.execute(&txn).await?;
        txn.commit().await?;
        Ok(())
    }

    pub async fn list_groups(&self, ctx: &RequestContext, query: &ListQuery) -> ProvResult<Value> {
        self.run(
            ctx,
            Operation::GroupList,
            None,
            self.list_groups_inner(ctx, query),
        )
        .await
    }
}

/// `apply_group_update` with `render` set always returns a resource; this keeps the
/// types honest without an `expect`.
fn unreachable_resource(old: &group::Model) -> Resource {
    Resource {
        id: old.id.to_string(),
        body: Value::Null,
        version: old.version.to_string(),
    }
}
