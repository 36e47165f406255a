//! Group membership: reading members for rendering, and turning a PATCH's or PUT's
//! membership changes into rows and events (see [`MembershipPlan`]).

use std::collections::{HashMap, HashSet};

use roster_scim::filter::Filter;
use roster_scim::patch::MembersChange;
use roster_scim::resource::{Member, MemberKind};
use roster_scim::schema::ResourceSchema;
use roster_scim::{AttrPath, JsonObject, ScimError};
use sea_orm::ConnectionTrait;
use serde_json::Value;
use uuid::Uuid;

use super::plan::EVENT_ROWS_PER_STATEMENT;
use super::{ProvResult, RequestContext};
use crate::outbox::events::{self, EventType, UserSummary};
use crate::store::columns::parse_id;
use crate::store::provisioning as store;
use crate::store::scope::TenantScope;
use crate::store::writes::Writes;
use crate::time::Timestamp;

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
        let rows = store::members_of_groups(conn, scope, chunk).await?;
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

/// The users among `ids` that exist in this tenant, as event summaries.
async fn user_summaries(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    ids: &[Uuid],
) -> ProvResult<HashMap<Uuid, UserSummary>> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        for summary in store::user_summaries(conn, scope, chunk).await? {
            out.insert(summary.id, summary);
        }
    }
    Ok(out)
}

/// Member ids as given → user UUIDs of this tenant, or `invalidValue` naming the first
/// that is not one.
async fn resolve_members(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    ids: &[&str],
    lenient: bool,
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
    if lenient {
        uuids.retain(|id| summaries.contains_key(id));
    } else if let Some(missing) = uuids.iter().find(|id| !summaries.contains_key(*id)) {
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
    match among {
        None => out.extend(store::member_ids(conn, scope, group_id, None).await?),
        Some(ids) => {
            for chunk in ids.chunks(CHUNK) {
                out.extend(store::member_ids(conn, scope, group_id, Some(chunk)).await?);
            }
        }
    }
    Ok(out)
}

/// Membership changes one write job applies. A request that changes more (Okta pushing
/// a whole group with PUT, a PATCH adding thousands) is applied in steps of this many,
/// each its own write job guarded by the group's version, so no single job holds the
/// (on SQLite, shared) writer for long: other tenants' writes go between the steps.
pub(crate) const MEMBERSHIP_STEP: usize = 100;

/// How many filtered member removals a request may carry whose filter is not a plain
/// `value eq "…"` (each is evaluated against every member of the group).
pub(crate) const MAX_MEMBER_FILTERS: usize = 10;

/// A group's membership change, decided on a snapshot read on a reader: who joins, who
/// leaves, and their summaries for the events. Applying it is a few inserts and deletes;
/// the caller guards it with the group's version, which every membership change bumps.
#[derive(Debug, Default)]
pub(crate) struct MembershipPlan {
    pub added: Vec<Uuid>,
    pub removed: Vec<Uuid>,
    summaries: HashMap<Uuid, UserSummary>,
}

impl MembershipPlan {
    /// Folds `changes` (in order: later operations see earlier ones' effects) over the
    /// group's stored membership. Only the members the changes mention are read, unless a
    /// change needs them all (remove all, replace, a filtered removal). Linear in the
    /// changes and in what is read.
    pub(crate) async fn compute(
        conn: &impl ConnectionTrait,
        scope: TenantScope,
        group_id: Uuid,
        new_group: bool,
        changes: &[MembersChange],
        member_schema: (&ResourceSchema, &str),
    ) -> ProvResult<Self> {
        Self::compute_with(
            conn,
            scope,
            group_id,
            new_group,
            changes,
            member_schema,
            false,
        )
        .await
    }

    /// As [`MembershipPlan::compute`]; `lenient` drops additions of users that no longer
    /// exist instead of refusing them (for the later steps of a change already accepted,
    /// whose users may have been deleted since).
    pub(crate) async fn compute_with(
        conn: &impl ConnectionTrait,
        scope: TenantScope,
        group_id: Uuid,
        new_group: bool,
        changes: &[MembersChange],
        member_schema: (&ResourceSchema, &str),
        lenient: bool,
    ) -> ProvResult<Self> {
        if changes.is_empty() {
            return Ok(Self::default());
        }
        let filters = changes
            .iter()
            .filter(|c| matches!(c, MembersChange::RemoveMatching(_)))
            .count();
        if filters > MAX_MEMBER_FILTERS {
            return Err(ScimError::invalid_value(format!(
                "a request may remove members by at most {MAX_MEMBER_FILTERS} filters other than \
                 `value eq \"…\"`; this one has {filters}"
            ))
            .into());
        }
        // Every id a client wants in the group must be a user of this tenant.
        let mut wanted: Vec<&str> = Vec::new();
        for change in changes {
            if let MembersChange::Add(ids) | MembersChange::Replace(ids) = change {
                wanted.extend(ids.iter().map(String::as_str));
            }
        }
        let (_, mut summaries) = resolve_members(conn, scope, &wanted, lenient).await?;

        let needs_all = !new_group
            && changes.iter().any(|c| {
                matches!(
                    c,
                    MembersChange::RemoveAll
                        | MembersChange::Replace(_)
                        | MembersChange::RemoveMatching(_)
                )
            });
        let initial: HashSet<Uuid> = if new_group {
            HashSet::new()
        } else if needs_all {
            current_members(conn, scope, group_id, None).await?
        } else {
            let mut mentioned: HashSet<Uuid> = HashSet::new();
            for change in changes {
                if let MembersChange::Add(ids) | MembersChange::Remove(ids) = change {
                    mentioned.extend(ids.iter().filter_map(|id| parse_id(id)));
                }
            }
            let mentioned: Vec<Uuid> = mentioned.into_iter().collect();
            current_members(conn, scope, group_id, Some(&mentioned)).await?
        };

        let mut state = initial.clone();
        for change in changes {
            match change {
                MembersChange::Add(ids) => {
                    state.extend(
                        ids.iter()
                            .filter_map(|id| parse_id(id))
                            .filter(|id| summaries.contains_key(id)),
                    );
                }
                // Removing someone who is not a member is not an error (Entra removes by
                // value, and may repeat itself).
                MembersChange::Remove(ids) => {
                    for id in ids.iter().filter_map(|id| parse_id(id)) {
                        state.remove(&id);
                    }
                }
                MembersChange::RemoveAll => state.clear(),
                MembersChange::Replace(ids) => {
                    state = ids
                        .iter()
                        .filter_map(|id| parse_id(id))
                        .filter(|id| summaries.contains_key(id))
                        .collect();
                }
                MembersChange::RemoveMatching(filter) => {
                    let gone = matching(&state, filter, member_schema);
                    if gone.is_empty() {
                        return Err(ScimError::no_target("no member matches the filter").into());
                    }
                    for id in gone {
                        state.remove(&id);
                    }
                }
            }
        }
        let mut added: Vec<Uuid> = state.difference(&initial).copied().collect();
        let mut removed: Vec<Uuid> = initial.difference(&state).copied().collect();
        added.sort_unstable();
        removed.sort_unstable();
        let unknown: Vec<Uuid> = removed
            .iter()
            .filter(|id| !summaries.contains_key(id))
            .copied()
            .collect();
        summaries.extend(user_summaries(conn, scope, &unknown).await?);
        Ok(Self {
            added,
            removed,
            summaries,
        })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }

    /// Keeps the first `step` membership changes in this plan and returns the others as
    /// change lists of at most `step` members each, to be applied one write job at a
    /// time (see [`MEMBERSHIP_STEP`]).
    pub(crate) fn split_off(&mut self, step: usize) -> Vec<Vec<MembersChange>> {
        let ids = |v: &[Uuid]| v.iter().map(Uuid::to_string).collect::<Vec<_>>();
        let mut rest = Vec::new();
        if self.added.len() + self.removed.len() <= step {
            return rest;
        }
        let keep_added = self.added.len().min(step);
        let keep_removed = step - keep_added;
        let added = self.added.split_off(keep_added);
        let removed = self.removed.split_off(keep_removed.min(self.removed.len()));
        for chunk in added.chunks(step) {
            rest.push(vec![MembersChange::Add(ids(chunk))]);
        }
        for chunk in removed.chunks(step) {
            rest.push(vec![MembersChange::Remove(ids(chunk))]);
        }
        rest
    }

    /// The membership rows and one event per member added or removed.
    pub(crate) fn push_writes(
        &self,
        at: Timestamp,
        ctx: &RequestContext,
        scope: TenantScope,
        group_id: Uuid,
        group_summary: &Value,
        writes: &mut Writes,
    ) {
        let now = at.as_micros();
        for chunk in self.added.chunks(CHUNK) {
            store::insert_members(writes, scope, group_id, chunk, now);
        }
        for chunk in self.removed.chunks(CHUNK) {
            store::delete_members(writes, scope, group_id, chunk);
        }
        let added = self
            .added
            .iter()
            .map(|id| (EventType::GroupMemberAdded, id));
        let removed = self
            .removed
            .iter()
            .map(|id| (EventType::GroupMemberRemoved, id));
        let rows: Vec<_> = added
            .chain(removed)
            .filter_map(|(kind, id)| {
                self.summaries.get(id).map(|summary| {
                    events::row(
                        at,
                        ctx,
                        kind,
                        group_id,
                        &events::membership_data(group_summary, summary),
                    )
                })
            })
            .collect();
        for chunk in rows.chunks(EVENT_ROWS_PER_STATEMENT) {
            store::insert_events(writes, chunk);
        }
    }
}

/// The members among `state` that a filter over the member sub-attributes (`value`,
/// `type`, `display`, `$ref`) selects. Each member is probed once.
fn matching(
    state: &HashSet<Uuid>,
    filter: &Filter,
    (schema, base): (&ResourceSchema, &str),
) -> Vec<Uuid> {
    let wrapped = Filter::ValuePath {
        path: AttrPath::new("members"),
        filter: Box::new(filter.clone()),
    };
    let mut probe = JsonObject::new();
    let mut gone = Vec::new();
    for id in state {
        let value = id.to_string();
        let mut element = JsonObject::new();
        element.insert("$ref".into(), format!("{base}/Users/{value}").into());
        element.insert("value".into(), value.into());
        element.insert("type".into(), "User".into());
        probe.insert("members".into(), Value::Array(vec![Value::Object(element)]));
        if wrapped.matches(&probe, schema) {
            gone.push(*id);
        }
    }
    gone
}
