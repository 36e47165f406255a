//! Seeding: the users a product already had before its customer connected an identity
//! provider. The product sends each user's userName, emails, name and its own id (the
//! *product reference*) through the directory API (`POST /api/v1/users`) or the admin's
//! CSV import; Roster stores them exactly as a SCIM create would — the same document
//! (parsed by the tenant's schema), columns, emails, host assignments, notification
//! defaults, `user.created` event and provisioning-log row — so the identity provider's
//! `userName eq "…"` lookup finds them, and its create does what the tenant's
//! existing-user setting says (409, or override with 201 and the same id).
//!
//! Semantics, per user, decided on a reader before anything is written:
//! - no user has the userName → **created** (`user.created`);
//! - a user has it, without a product reference → **linked**: the reference is set, the
//!   profile is kept (`user.updated`). The identity provider owns the profile of a user
//!   it provisioned; the seed only says which product user it is;
//! - a user has it with the same reference, or the seed gives none → **unchanged**
//!   (nothing written: re-running a seed is harmless);
//! - a user has it with another reference, or the reference belongs to another user,
//!   or two users of the request share a userName or reference → an error for that user.
//!
//! A request with any invalid or conflicting user writes nothing (all errors are
//! returned at once). The rest is written [`WRITE_CHUNK`] users per write job, each job
//! in the tenant's lane of the group commit, so a large seed never holds the writer for
//! long and other tenants' writes pass between its jobs. The identity provider's
//! switches and rules (provisioning on, "Create users", trusted domains, "assign users
//! as host") do not apply: they decide what the identity provider may do, and these
//! users exist in the product whatever they say. The mapping rules still give a seeded
//! user its hosts, as they would a created one.

use std::collections::HashMap;

use roster_scim::ScimError;
use roster_scim::projection::Projection;
use roster_scim::resource::parse_user;
use serde_json::{Value, json};
use uuid::Uuid;

use super::audit::{self, LogNote, Operation};
use super::plan::WritePlan;
use super::user_store::{NewUser, hosts_json};
use super::users::{groups_of, parse_doc};
use super::{ProvResult, Provisioning, ProvisioningError, RequestContext};
use crate::memberships::TenantAccess;
use crate::outbox::events::{self, EventType, UserSummary};
use crate::rules::{Hosts, TenantRules};
use crate::store::columns::UserColumns;
use crate::store::provisioning::{self as store, UserRow};

pub use super::seed_input::{ItemError, SeedInput, SeedUser};

/// Users per request of the directory API (and per planning step of the CSV import).
pub const MAX_SEED_BATCH: usize = 1000;
/// Users per write job.
const WRITE_CHUNK: usize = 50;
/// Values per `IN (…)` lookup.
const LOOKUP_CHUNK: usize = 500;

/// What seeding did (or, in a preview, would do) to one user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeedOutcome {
    Created,
    Linked,
    Unchanged,
}

impl SeedOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Linked => "linked",
            Self::Unchanged => "unchanged",
        }
    }
}

/// One user's result, in the order given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seeded {
    pub index: usize,
    pub user_name: String,
    pub product_ref: Option<String>,
    pub outcome: SeedOutcome,
    /// The user's id; `None` in a preview of a user to create.
    pub id: Option<Uuid>,
}

/// Why a seed wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// Users that cannot be seeded as given, each with what to fix.
    #[error("{} user(s) cannot be seeded", .0.len())]
    Refused(Vec<ItemError>),
    #[error(transparent)]
    Internal(#[from] crate::Error),
}

impl From<ProvisioningError> for SeedError {
    fn from(err: ProvisioningError) -> Self {
        match err {
            ProvisioningError::Internal(err) => Self::Internal(err),
            other => Self::Internal(crate::Error::Internal(other.to_string())),
        }
    }
}

/// What to do with one user, decided from a snapshot.
enum Decision {
    Create,
    Link(Box<UserRow>),
    Unchanged(Uuid),
}

impl Provisioning {
    /// What seeding `users` would do, writing nothing.
    pub async fn preview_seed(
        &self,
        ctx: &RequestContext,
        users: &[SeedUser],
    ) -> Result<Vec<Seeded>, SeedError> {
        let decisions = self.decide(ctx, users).await?;
        Ok(users
            .iter()
            .zip(&decisions)
            .enumerate()
            .map(|(index, (seed, decision))| seeded(index, seed, decision))
            .collect())
    }

    /// Seeds `users` (at most [`MAX_SEED_BATCH`]): all of them, or — when any cannot be
    /// seeded — none, with every user's error.
    pub async fn seed_users(
        &self,
        ctx: &RequestContext,
        users: &[SeedUser],
    ) -> Result<Vec<Seeded>, SeedError> {
        if users.len() > MAX_SEED_BATCH {
            return Err(SeedError::Refused(vec![ItemError::request(format!(
                "{} users in one request; at most {MAX_SEED_BATCH} are accepted",
                users.len()
            ))]));
        }
        // Every user is checked before anything is written.
        self.decide(ctx, users).await?;
        let rules = self.rules(ctx.tenant_id).await?;
        let mut out = Vec::with_capacity(users.len());
        for (n, chunk) in users.chunks(WRITE_CHUNK).enumerate() {
            let offset = n * WRITE_CHUNK;
            // Each chunk is decided again from a fresh snapshot (a stale guard or a
            // name taken meanwhile starts it over). A refusal here means another writer
            // got there since the check: the chunks before are written, and running the
            // seed again finishes it.
            let done = self
                .retry_stale("user", || async {
                    let decisions = self.decide(ctx, chunk).await.map_err(|err| match err {
                        SeedError::Internal(err) => ProvisioningError::Internal(err),
                        SeedError::Refused(errors) => ScimError::uniqueness(
                            errors
                                .iter()
                                .map(ItemError::sentence)
                                .collect::<Vec<_>>()
                                .join("; "),
                        )
                        .into(),
                    })?;
                    self.write_chunk(ctx, &rules, chunk, &decisions).await
                })
                .await;
            let ids = match done {
                Ok(ids) => ids,
                Err(ProvisioningError::Scim(err)) => {
                    return Err(SeedError::Refused(vec![ItemError::request(format!(
                        "users from #{offset} on were changed by another writer while this \
                         seed ran ({}); the users before them are seeded, send the request \
                         again to finish",
                        err.detail()
                    ))]));
                }
                Err(err) => return Err(err.into()),
            };
            for (i, (seed, (outcome, id))) in chunk.iter().zip(ids).enumerate() {
                out.push(Seeded {
                    index: offset + i,
                    user_name: seed.user_name().to_owned(),
                    product_ref: seed.product_ref().map(str::to_owned),
                    outcome,
                    id: Some(id),
                });
            }
        }
        Ok(out)
    }

    /// An admin's import of the product's users (the CSV): every user checked first,
    /// then seeded [`MAX_SEED_BATCH`] at a time, and one audit row (`users.import`) with
    /// the counts. Errors' indexes are positions in `users`.
    pub async fn import_users(
        &self,
        access: &TenantAccess,
        request_id: &str,
        users: &[SeedUser],
    ) -> Result<Vec<Seeded>, SeedError> {
        let ctx = RequestContext::for_admin(access, request_id);
        self.decide(&ctx, users).await?;
        let mut out = Vec::with_capacity(users.len());
        for (n, chunk) in users.chunks(MAX_SEED_BATCH).enumerate() {
            let offset = n * MAX_SEED_BATCH;
            match self.seed_users(&ctx, chunk).await {
                Ok(seeded) => out.extend(seeded.into_iter().map(|mut s| {
                    s.index += offset;
                    s
                })),
                Err(SeedError::Refused(errors)) => {
                    return Err(SeedError::Refused(
                        errors
                            .into_iter()
                            .map(|mut e| {
                                e.index = e.index.map(|i| i + offset);
                                e.same_as = e.same_as.map(|i| i + offset);
                                e
                            })
                            .collect(),
                    ));
                }
                Err(err) => return Err(err),
            }
        }
        let count = |outcome| {
            out.iter()
                .filter(|s: &&Seeded| s.outcome == outcome)
                .count()
        };
        let txn = self
            .db
            .begin_write()
            .await
            .map_err(crate::Error::Database)?;
        crate::audit::record(
            &txn,
            self.db.clock().now(),
            access,
            crate::audit::Change::new("users.import").after(json!({
                "lines": users.len(),
                "created": count(SeedOutcome::Created),
                "linked": count(SeedOutcome::Linked),
                "unchanged": count(SeedOutcome::Unchanged),
            })),
        )
        .await?;
        txn.commit().await.map_err(crate::Error::Database)?;
        Ok(out)
    }

    /// Decides every user from one snapshot, or every user's error.
    async fn decide(
        &self,
        ctx: &RequestContext,
        users: &[SeedUser],
    ) -> Result<Vec<Decision>, SeedError> {
        let mut errors = Vec::new();
        let mut names: HashMap<&str, usize> = HashMap::new();
        let mut refs: HashMap<&str, usize> = HashMap::new();
        for (index, seed) in users.iter().enumerate() {
            if let Some(first) = names.insert(seed.user_name_lower(), index) {
                errors.push(ItemError::repeats(index, seed, "userName", first));
            }
            if let Some(reference) = seed.product_ref()
                && let Some(first) = refs.insert(reference, index)
            {
                errors.push(ItemError::repeats(index, seed, "productRef", first));
            }
        }
        let scope = self.scope(ctx);
        let mut by_name: HashMap<String, UserRow> = HashMap::new();
        let mut by_ref: HashMap<String, UserRow> = HashMap::new();
        let lower: Vec<String> = names.keys().map(|n| (*n).to_owned()).collect();
        for chunk in lower.chunks(LOOKUP_CHUNK) {
            let rows = store::users_named(self.db.reader(), scope, chunk)
                .await
                .map_err(crate::Error::Database)?;
            by_name.extend(rows.into_iter().map(|r| (r.user_name_lower.clone(), r)));
        }
        let wanted: Vec<String> = refs.keys().map(|r| (*r).to_owned()).collect();
        for chunk in wanted.chunks(LOOKUP_CHUNK) {
            let rows = store::users_with_refs(self.db.reader(), scope, chunk)
                .await
                .map_err(crate::Error::Database)?;
            for row in rows {
                if let Some(reference) = row.product_ref.clone() {
                    by_ref.insert(reference, row);
                }
            }
        }
        let mut decisions = Vec::with_capacity(users.len());
        for (index, seed) in users.iter().enumerate() {
            let existing = by_name.get(seed.user_name_lower());
            let owner = seed.product_ref().and_then(|r| by_ref.get(r));
            if let Some(owner) = owner
                && existing.is_none_or(|e| e.id != owner.id)
            {
                errors.push(ItemError::of(
                    index,
                    seed,
                    "productRef",
                    format!(
                        "already belongs to the user \"{}\" ({})",
                        owner.user_name, owner.id
                    ),
                ));
                continue;
            }
            decisions.push(match (existing, seed.product_ref()) {
                (None, _) => Decision::Create,
                (Some(row), Some(reference)) => match row.product_ref.as_deref() {
                    None => Decision::Link(Box::new(row.clone())),
                    Some(same) if same == reference => Decision::Unchanged(row.id),
                    Some(other) => {
                        errors.push(ItemError::of(
                            index,
                            seed,
                            "productRef",
                            format!(
                                "the user \"{}\" ({}) is already linked to productRef \"{other}\"",
                                row.user_name, row.id
                            ),
                        ));
                        continue;
                    }
                },
                (Some(row), None) => Decision::Unchanged(row.id),
            });
        }
        if errors.is_empty() {
            Ok(decisions)
        } else {
            errors.sort_by_key(|e| e.index);
            Err(SeedError::Refused(errors))
        }
    }

    /// Writes one chunk in one write job; the outcome and id of each user.
    async fn write_chunk(
        &self,
        ctx: &RequestContext,
        rules: &TenantRules,
        chunk: &[SeedUser],
        decisions: &[Decision],
    ) -> ProvResult<Vec<(SeedOutcome, Uuid)>> {
        let schema = rules.registry.user();
        let mut plan = WritePlan::new(self.db.writes(), "userName, externalId or productRef");
        let mut out = Vec::with_capacity(chunk.len());
        for (seed, decision) in chunk.iter().zip(decisions) {
            match decision {
                Decision::Create => {
                    let doc = parse_user(schema, &seed.scim_body())?.document;
                    let cols = UserColumns::from_doc(&doc)?;
                    let hosts = hosts_of(rules, schema, &doc);
                    let (one, resource) = self.prepare_user_insert(
                        ctx,
                        rules,
                        NewUser {
                            doc: &doc,
                            cols: &cols,
                            hosts: &hosts,
                            product_ref: seed.product_ref(),
                            operation: Operation::UserSeed,
                        },
                        &Projection::all(),
                    )?;
                    plan.absorb(one);
                    let id = Uuid::try_parse(&resource.id)
                        .map_err(|e| crate::Error::internal("a new user's id", e))?;
                    out.push((SeedOutcome::Created, id));
                }
                Decision::Link(row) => {
                    plan.absorb(self.prepare_link(ctx, rules, row, seed).await?);
                    out.push((SeedOutcome::Linked, row.id));
                }
                Decision::Unchanged(id) => out.push((SeedOutcome::Unchanged, *id)),
            }
        }
        if !plan.is_empty() {
            match self.apply_for(ctx.tenant_id, plan).await {
                // Taken meanwhile (a userName or reference): decide again.
                Err(ProvisioningError::Scim(err))
                    if err.scim_type() == Some(roster_scim::ScimType::Uniqueness) =>
                {
                    return Err(ProvisioningError::Stale);
                }
                other => other?,
            }
        }
        Ok(out)
    }

    /// Sets the product reference of an existing user, guarded by its version, with a
    /// `user.updated` event and a log row.
    async fn prepare_link(
        &self,
        ctx: &RequestContext,
        rules: &TenantRules,
        old: &UserRow,
        seed: &SeedUser,
    ) -> ProvResult<WritePlan> {
        let scope = self.scope(ctx);
        let mut row = old.clone();
        row.product_ref = seed.product_ref().map(str::to_owned);
        row.version = old.version + 1;
        row.updated_at = std::cmp::max(self.db.clock().now().as_micros(), old.updated_at + 1);
        let mut plan = WritePlan::new(self.db.writes(), "productRef");
        plan.guard(store::link_user(&self.db, scope, old.version, &row));
        let doc = parse_doc(&old.doc)?;
        let groups = groups_of(self.db.reader(), scope, &[old.id]).await?;
        let full = self.render_user(
            ctx,
            rules,
            &row,
            &doc,
            groups.get(&old.id).map(Vec::as_slice),
            &Projection::all(),
        );
        let data = events::user_data(
            &UserSummary::from_row(&row),
            Some(full.body),
            Some(hosts_json(rules, row.hosts.as_deref())),
        );
        let writes = plan.writes_mut();
        writes.push(&events::insert(
            self.db.clock().now(),
            ctx,
            EventType::UserUpdated,
            row.id,
            &data,
        ));
        writes.push(&audit::success(
            self.db.clock().now(),
            ctx,
            Operation::UserSeed,
            Some(&row.id.to_string()),
            200,
            LogNote::named(Some(&row.user_name)),
        ));
        Ok(plan)
    }
}

/// Where a seeded user is a host: the first mapping rule that matches, else nowhere
/// (never a refusal: the user exists in the product either way).
fn hosts_of(
    rules: &TenantRules,
    schema: &roster_scim::schema::ResourceSchema,
    doc: &roster_scim::JsonObject,
) -> Hosts {
    let inputs = super::policy::mapping_inputs(rules, schema, doc);
    rules
        .mapping
        .iter()
        .zip(&inputs)
        .find(|(rule, values)| rule.matches(values))
        .map(|(rule, _)| {
            let mut hosts = Hosts::of_rule(rule);
            hosts.locations.retain(|id| rules.location(*id).is_some());
            hosts.kiosks.retain(|id| rules.kiosk(*id).is_some());
            hosts
        })
        .unwrap_or_default()
}

fn seeded(index: usize, seed: &SeedUser, decision: &Decision) -> Seeded {
    let (outcome, id) = match decision {
        Decision::Create => (SeedOutcome::Created, None),
        Decision::Link(row) => (SeedOutcome::Linked, Some(row.id)),
        Decision::Unchanged(id) => (SeedOutcome::Unchanged, Some(*id)),
    };
    Seeded {
        index,
        user_name: seed.user_name().to_owned(),
        product_ref: seed.product_ref().map(str::to_owned),
        outcome,
        id,
    }
}

/// The JSON an API answer gives for one seeded user.
pub fn seeded_json(seeded: &Seeded) -> Value {
    json!({
        "index": seeded.index,
        "userName": seeded.user_name,
        "productRef": seeded.product_ref,
        "outcome": seeded.outcome.as_str(),
        "id": seeded.id,
    })
}
