//! The one read model of a tenant's users, groups, memberships and locations that the
//! admin directory (`directory.rs`) and the events and directory API (`api.rs`) share:
//! keyset pages in id order on `(tenant_id, id)`, the lookups by id, and the per-page
//! aggregates (member counts, a page's memberships, kiosks) — one query each, never one
//! per row.
//! SCIM lists read the same tables through [`super::query`] and [`super::list`], whose
//! filters and sorts are SCIM's.
//!
//! The provisioning log as the directory reads and searches it is in [`log`]; what only
//! the API reads (events, custom attributes' names, locations by id or code) in [`api`].
//!
//! [`Reads`] is bound to one tenant and every statement it builds carries it; it is made
//! by `TenantDirectory` (from a `TenantAccess`) and `TenantApi` (from an API key).

mod api;
mod log;

pub(crate) use log::LogSearch;

use std::collections::HashSet;

use roster_entity::{group, group_member, kiosk, location, user, user_email};
use roster_scim::value::fold_case;
use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select,
};
use uuid::Uuid;

use super::{Database, TenantScope};
use crate::directory::SearchTerm;
use crate::tenants::TenantId;
use crate::time::Timestamp;

/// A stored user: what SCIM, the admin directory and the API read, and what
/// provisioning writes back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UserRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub user_name: String,
    pub user_name_lower: String,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    pub display_name_lower: Option<String>,
    pub primary_email_lower: Option<String>,
    pub active: bool,
    /// The SCIM document as JSON, without `id`, `meta` or any password.
    pub doc: String,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// Notification settings as stored (JSON).
    pub notifications: Option<String>,
    /// Where the user is a host, as stored (JSON).
    pub hosts: Option<String>,
    pub product_ref: Option<String>,
}

impl From<user::Model> for UserRow {
    fn from(row: user::Model) -> Self {
        Self {
            id: row.id,
            tenant_id: row.tenant_id,
            user_name: row.user_name,
            user_name_lower: row.user_name_lower,
            external_id: row.external_id,
            display_name: row.display_name,
            display_name_lower: row.display_name_lower,
            primary_email_lower: row.primary_email_lower,
            active: row.active,
            doc: row.doc,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
            notifications: row.notifications,
            hosts: row.hosts,
            product_ref: row.product_ref,
        }
    }
}

/// A stored group (without its members).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct GroupRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub display_name: String,
    pub display_name_lower: String,
    pub external_id: Option<String>,
    /// The SCIM document as JSON, without `id`, `meta` or `members`.
    pub doc: String,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<group::Model> for GroupRow {
    fn from(row: group::Model) -> Self {
        Self {
            id: row.id,
            tenant_id: row.tenant_id,
            display_name: row.display_name,
            display_name_lower: row.display_name_lower,
            external_id: row.external_id,
            doc: row.doc,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A stored group with its number of members (the directory's and the API's group
/// pages).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct GroupRecord {
    pub group: GroupRow,
    pub members: u64,
}

/// A stored location with its kiosks (by name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LocationRecord {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub time_zone: String,
    pub created_at: Timestamp,
    /// `(id, name)` of each kiosk, by name.
    pub kiosks: Vec<(Uuid, String)>,
}

/// Which users a page holds; every part optional, combined with AND.
#[derive(Clone, Debug, Default)]
pub(crate) struct UserSelection<'s> {
    /// Users after this id (the previous page's last).
    pub after: Option<Uuid>,
    pub active: Option<bool>,
    /// Folded text found anywhere in the userName, the display name or the primary
    /// email (LIKE's wildcards in it match themselves).
    pub contains: Option<&'s str>,
    /// The userName, case-insensitively.
    pub user_name: Option<&'s str>,
    /// Any of the user's emails, case-insensitively.
    pub email: Option<&'s str>,
    /// The product's reference, exactly.
    pub product_ref: Option<&'s str>,
    /// Members of this group.
    pub group: Option<Uuid>,
    /// Hosts at this location.
    pub host_at: Option<Uuid>,
}

/// `%text%` with LIKE's wildcards escaped, so `_` and `%` match themselves.
pub(crate) fn like_contains(text: &str) -> LikeExpr {
    LikeExpr::new(format!("%{}%", super::query::escape_like(text))).escape('\\')
}

impl SearchTerm {
    /// `%term%` with LIKE's wildcards escaped, so `_` and `%` match themselves.
    pub(crate) fn like_pattern(&self) -> LikeExpr {
        like_contains(self.as_str())
    }
}

/// Read queries bound to one tenant.
#[derive(Clone, Copy)]
pub(crate) struct Reads<'a> {
    db: &'a Database,
    scope: TenantScope,
}

impl<'a> Reads<'a> {
    pub(crate) fn new(db: &'a Database, tenant: TenantId) -> Self {
        Self {
            db,
            scope: TenantScope::new(tenant),
        }
    }

    fn users_of_tenant(&self) -> Select<user::Entity> {
        self.scope.users()
    }

    fn groups_of_tenant(&self) -> Select<group::Entity> {
        self.scope.groups()
    }

    /// Up to `limit` users in id order.
    pub(crate) async fn users(
        &self,
        selection: &UserSelection<'_>,
        limit: u64,
    ) -> Result<Vec<UserRow>, DbErr> {
        let mut select = self
            .users_of_tenant()
            .order_by_asc(user::Column::Id)
            .limit(limit);
        if let Some(after) = selection.after {
            select = select.filter(user::Column::Id.gt(after));
        }
        if let Some(active) = selection.active {
            select = select.filter(user::Column::Active.eq(active));
        }
        if let Some(text) = selection.contains {
            let pattern = like_contains(text);
            select = select.filter(
                Condition::any()
                    .add(Expr::col(user::Column::UserNameLower).like(pattern.clone()))
                    .add(Expr::col(user::Column::DisplayNameLower).like(pattern.clone()))
                    .add(Expr::col(user::Column::PrimaryEmailLower).like(pattern)),
            );
        }
        if let Some(name) = selection.user_name {
            select = select.filter(user::Column::UserNameLower.eq(fold_case(name.trim())));
        }
        if let Some(reference) = selection.product_ref {
            select = select.filter(user::Column::ProductRef.eq(reference.trim()));
        }
        if let Some(email) = selection.email {
            select = select.filter(
                user::Column::Id.in_subquery(
                    Query::select()
                        .column(user_email::Column::UserId)
                        .from(user_email::Entity)
                        .and_where(user_email::Column::TenantId.eq(self.scope.tenant_uuid()))
                        .and_where(user_email::Column::ValueLower.eq(fold_case(email.trim())))
                        .to_owned(),
                ),
            );
        }
        if let Some(group) = selection.group {
            select = select.filter(
                user::Column::Id.in_subquery(
                    Query::select()
                        .column(group_member::Column::UserId)
                        .from(group_member::Entity)
                        .and_where(group_member::Column::TenantId.eq(self.scope.tenant_uuid()))
                        .and_where(group_member::Column::GroupId.eq(group))
                        .to_owned(),
                ),
            );
        }
        if let Some(location) = selection.host_at {
            // `hosts` is JSON with the location ids as strings; ids are UUIDs, so the
            // quoted id matches only that location.
            let pattern = LikeExpr::new(format!("%\"{location}\"%"));
            select = select.filter(Expr::col(user::Column::Hosts).like(pattern));
        }
        let rows = select.all(self.db.reader()).await?;
        Ok(rows.into_iter().map(UserRow::from).collect())
    }

    pub(crate) async fn user(&self, id: Uuid) -> Result<Option<UserRow>, DbErr> {
        Ok(self
            .users_of_tenant()
            .filter(user::Column::Id.eq(id))
            .one(self.db.reader())
            .await?
            .map(UserRow::from))
    }

    /// How many users are active and inactive, and how many groups there are.
    pub(crate) async fn counts(&self) -> Result<(u64, u64, u64), DbErr> {
        let reader = self.db.reader();
        let active = self
            .users_of_tenant()
            .filter(user::Column::Active.eq(true))
            .count(reader)
            .await?;
        let inactive = self
            .users_of_tenant()
            .filter(user::Column::Active.eq(false))
            .count(reader)
            .await?;
        let groups = self.groups_of_tenant().count(reader).await?;
        Ok((active, inactive, groups))
    }

    /// Up to `limit` groups in id order, after `after`, with their member counts; only
    /// those whose folded display name contains `contains`, when given.
    pub(crate) async fn groups(
        &self,
        after: Option<Uuid>,
        contains: Option<&str>,
        limit: u64,
    ) -> Result<Vec<GroupRecord>, DbErr> {
        let mut select = self
            .groups_of_tenant()
            .order_by_asc(group::Column::Id)
            .limit(limit);
        if let Some(after) = after {
            select = select.filter(group::Column::Id.gt(after));
        }
        if let Some(text) = contains {
            select =
                select.filter(Expr::col(group::Column::DisplayNameLower).like(like_contains(text)));
        }
        let rows = select.all(self.db.reader()).await?;
        self.with_member_counts(rows).await
    }

    /// These groups of the tenant by display name, with their member counts.
    pub(crate) async fn groups_by_id(&self, ids: Vec<Uuid>) -> Result<Vec<GroupRecord>, DbErr> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self
            .groups_of_tenant()
            .filter(group::Column::Id.is_in(ids))
            .order_by_asc(group::Column::DisplayNameLower)
            .all(self.db.reader())
            .await?;
        self.with_member_counts(rows).await
    }

    /// One grouped count for the whole page, not one query per group.
    async fn with_member_counts(&self, rows: Vec<group::Model>) -> Result<Vec<GroupRecord>, DbErr> {
        let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
        let counts: Vec<(Uuid, i64)> = if ids.is_empty() {
            Vec::new()
        } else {
            group_member::Entity::find()
                .select_only()
                .column(group_member::Column::GroupId)
                .column_as(group_member::Column::UserId.count(), "members")
                .filter(group_member::Column::TenantId.eq(self.scope.tenant_uuid()))
                .filter(group_member::Column::GroupId.is_in(ids))
                .group_by(group_member::Column::GroupId)
                .into_tuple()
                .all(self.db.reader())
                .await?
        };
        Ok(rows
            .into_iter()
            .map(|row| GroupRecord {
                members: counts
                    .iter()
                    .find(|(id, _)| *id == row.id)
                    .map_or(0, |(_, count)| u64::try_from(*count).unwrap_or(0)),
                group: GroupRow::from(row),
            })
            .collect())
    }

    pub(crate) async fn group_exists(&self, id: Uuid) -> Result<bool, DbErr> {
        Ok(self
            .groups_of_tenant()
            .filter(group::Column::Id.eq(id))
            .count(self.db.reader())
            .await?
            > 0)
    }

    /// Up to `limit` members of a group in user-id order (the primary key's order).
    pub(crate) async fn members(
        &self,
        group: Uuid,
        after: Option<Uuid>,
        limit: u64,
    ) -> Result<Vec<UserRow>, DbErr> {
        let mut select = group_member::Entity::find()
            .select_only()
            .column(group_member::Column::UserId)
            .filter(group_member::Column::GroupId.eq(group))
            .filter(group_member::Column::TenantId.eq(self.scope.tenant_uuid()))
            .order_by_asc(group_member::Column::UserId)
            .limit(limit);
        if let Some(after) = after {
            select = select.filter(group_member::Column::UserId.gt(after));
        }
        let ids: Vec<Uuid> = select.into_tuple().all(self.db.reader()).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self
            .users_of_tenant()
            .filter(user::Column::Id.is_in(ids))
            .order_by_asc(user::Column::Id)
            .all(self.db.reader())
            .await?;
        Ok(rows.into_iter().map(UserRow::from).collect())
    }

    /// The ids of up to `limit` groups `user` belongs to.
    pub(crate) async fn group_ids_of(&self, user: Uuid, limit: u64) -> Result<Vec<Uuid>, DbErr> {
        group_member::Entity::find()
            .select_only()
            .column(group_member::Column::GroupId)
            .filter(group_member::Column::UserId.eq(user))
            .filter(group_member::Column::TenantId.eq(self.scope.tenant_uuid()))
            .limit(limit)
            .into_tuple()
            .all(self.db.reader())
            .await
    }

    /// The groups of these users as `(user, group, display name)`, by display name.
    pub(crate) async fn memberships(
        &self,
        users: Vec<Uuid>,
    ) -> Result<Vec<(Uuid, Uuid, String)>, DbErr> {
        memberships(self.db.reader(), self.scope, &users).await
    }

    /// Up to `limit` locations in id order after `after`, each with its kiosks: two
    /// queries per page.
    pub(crate) async fn locations(
        &self,
        after: Option<Uuid>,
        limit: u64,
    ) -> Result<Vec<LocationRecord>, DbErr> {
        let mut select = location::Entity::find()
            .filter(location::Column::TenantId.eq(self.scope.tenant_uuid()))
            .order_by_asc(location::Column::Id)
            .limit(limit);
        if let Some(after) = after {
            select = select.filter(location::Column::Id.gt(after));
        }
        let rows = select.all(self.db.reader()).await?;
        let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
        let kiosks = if ids.is_empty() {
            Vec::new()
        } else {
            kiosk::Entity::find()
                .filter(kiosk::Column::TenantId.eq(self.scope.tenant_uuid()))
                .filter(kiosk::Column::LocationId.is_in(ids))
                .order_by_asc(kiosk::Column::Name)
                .order_by_asc(kiosk::Column::Id)
                .all(self.db.reader())
                .await?
        };
        Ok(rows
            .into_iter()
            .map(|row| LocationRecord {
                kiosks: kiosks
                    .iter()
                    .filter(|k| k.location_id == row.id)
                    .map(|k| (k.id, k.name.clone()))
                    .collect(),
                id: row.id,
                code: row.code,
                name: row.name,
                time_zone: row.time_zone,
                created_at: Timestamp::from_micros(row.created_at),
            })
            .collect())
    }

    /// Which of `ids` are kiosks of this tenant now.
    pub(crate) async fn existing_kiosks(&self, ids: HashSet<Uuid>) -> Result<HashSet<Uuid>, DbErr> {
        if ids.is_empty() {
            return Ok(HashSet::new());
        }
        Ok(kiosk::Entity::find()
            .select_only()
            .column(kiosk::Column::Id)
            .filter(kiosk::Column::TenantId.eq(self.scope.tenant_uuid()))
            .filter(kiosk::Column::Id.is_in(ids))
            .into_tuple::<Uuid>()
            .all(self.db.reader())
            .await?
            .into_iter()
            .collect())
    }
}

/// The groups of these users as `(user, group, display name)`, by display name: one
/// query for a page of users (a SCIM page's `groups`, the API's users).
pub(crate) async fn memberships(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    users: &[Uuid],
) -> Result<Vec<(Uuid, Uuid, String)>, DbErr> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    scope
        .members()
        .select_only()
        .column(group_member::Column::UserId)
        .column(group_member::Column::GroupId)
        .column_as(group::Column::DisplayName, "display_name")
        .inner_join(group::Entity)
        .filter(group_member::Column::UserId.is_in(users.iter().copied()))
        .order_by_asc(group::Column::DisplayNameLower)
        .into_tuple()
        .all(conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        let pattern = like_contains("a_%\\");
        let expr = Expr::col(user::Column::UserNameLower).like(pattern);
        let sql = sea_orm::sea_query::Query::select()
            .expr(expr)
            .to_string(sea_orm::sea_query::SqliteQueryBuilder);
        assert!(sql.contains(r"'%a\_\%\\%'"), "{sql}");
    }
}
