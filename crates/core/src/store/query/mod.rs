//! SCIM filters and sorts translated to SQL.
//!
//! A filter becomes [`Sql::Exact`] when SQL alone decides it exactly as
//! `roster_scim::filter::matches` would, [`Sql::Superset`] when SQL can narrow the rows but
//! the evaluator must decide, and [`Sql::Unknown`] when only the evaluator can. The list
//! code then pages in SQL (exact) or evaluates candidate rows in memory (the others), so
//! every valid filter answers exactly right and the common ones — `userName eq`,
//! `externalId eq`, `emails[type eq "work"].value eq` (through the attribute-value index), `meta.lastModified gt`,
//! `members.value eq` — are index lookups.
//!
//! Conditions are built never to be SQL NULL, so `NOT` keeps SCIM's meaning (an
//! unassigned attribute matches `ne`).
//!
//! Users' attributes without a column of their own go through the attribute-value index
//! ([`indexed`]), which is exact for every path it holds; a column translation that is
//! not exact falls back to it. What remains for the evaluator: a few server-made
//! attributes (`groups`, `meta.location`, the notification settings), binary values,
//! and groups' attributes beyond `displayName`, `externalId` and `members.value`.

mod indexed;

use roster_entity::{group, group_member};
use roster_scim::AttrPath;
use roster_scim::filter::{CompValue, CompareOp, Filter};
use roster_scim::schema::{Resolved, ResourceKind, ResourceSchema};
use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr, Query, SimpleExpr};
use uuid::Uuid;

use crate::Backend;
use crate::tenants::TenantId;
use crate::time::Timestamp;
use roster_scim::value::fold_case;

/// The SQL type of a sort key's values, so that a page boundary can be read back and
/// compared (the keyset of cursor and `startIndex` paging, see `provisioning::seek`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyType {
    Text,
    Id,
    Int,
    Num,
    Flag,
}

/// What a list is ordered by: an expression over the listed table's row (a column, or a
/// subquery into the attribute-value index), whether it can be NULL, and its type.
#[derive(Clone, Debug)]
pub(crate) struct SortKey {
    pub(crate) expr: SimpleExpr,
    pub(crate) nullable: bool,
    pub(crate) ty: KeyType,
    /// For a path of the attribute-value index: its key and the column holding the sort
    /// value, so that a page can be read by walking the index in order
    /// (`list::segments`) instead of computing `expr` for every user.
    pub(crate) indexed: Option<IndexedSort>,
}

/// A sort by a path of the attribute-value index.
#[derive(Clone, Copy, Debug)]
pub(crate) struct IndexedSort {
    pub(crate) key: i64,
    pub(crate) column: &'static str,
}

impl SortKey {
    pub(crate) fn new(expr: SimpleExpr, nullable: bool, ty: KeyType) -> Self {
        Self {
            expr,
            nullable,
            ty,
            indexed: None,
        }
    }
}

/// What SQL can say about a filter.
#[derive(Clone, Debug)]
pub(crate) enum Sql {
    Exact(SimpleExpr),
    Superset(SimpleExpr),
    Unknown,
}

impl Sql {
    fn and(a: Sql, b: Sql) -> Sql {
        match (a, b) {
            (Sql::Exact(a), Sql::Exact(b)) => Sql::Exact(a.and(b)),
            (Sql::Exact(a) | Sql::Superset(a), Sql::Exact(b) | Sql::Superset(b)) => {
                Sql::Superset(a.and(b))
            }
            (Sql::Unknown, Sql::Exact(x) | Sql::Superset(x))
            | (Sql::Exact(x) | Sql::Superset(x), Sql::Unknown) => Sql::Superset(x),
            (Sql::Unknown, Sql::Unknown) => Sql::Unknown,
        }
    }

    fn or(a: Sql, b: Sql) -> Sql {
        match (a, b) {
            (Sql::Exact(a), Sql::Exact(b)) => Sql::Exact(a.or(b)),
            (Sql::Exact(a) | Sql::Superset(a), Sql::Exact(b) | Sql::Superset(b)) => {
                Sql::Superset(a.or(b))
            }
            _ => Sql::Unknown,
        }
    }

    fn not(a: Sql) -> Sql {
        match a {
            Sql::Exact(a) => Sql::Exact(a.not()),
            _ => Sql::Unknown,
        }
    }
}

fn truth(value: bool) -> SimpleExpr {
    // `1 = 1` / `1 = 0`: portable booleans for both backends.
    Expr::val(1).eq(if value { 1 } else { 0 })
}

/// Where a filterable attribute lives.
#[derive(Clone, Copy)]
enum Target {
    /// A text column; `folded` columns hold the case-folded value.
    Text {
        col: (&'static str, &'static str),
        folded: bool,
        nullable: bool,
    },
    Id(&'static str),
    Bool(&'static str, &'static str),
    Time(&'static str, &'static str),
    /// A group's members (only `value`).
    MemberValue,
}

pub(crate) struct Translator<'a> {
    schema: &'a ResourceSchema,
    backend: Backend,
    tenant: Uuid,
    /// Index keys whose presence (`pr`) is common in this tenant: asked of each user in
    /// list order (`EXISTS`, a primary-key probe) rather than by collecting every holder
    /// (`IN`), so a page costs the page, not the number of holders.
    dense: Vec<i64>,
}

const USERS: &str = "users";
const GROUPS: &str = "groups";

fn col(table: &'static str, column: &'static str) -> SimpleExpr {
    Expr::col((
        sea_orm::sea_query::Alias::new(table),
        sea_orm::sea_query::Alias::new(column),
    ))
}

impl<'a> Translator<'a> {
    /// The translator of `schema`'s filters for `tenant` on `db`.
    pub(crate) fn of(schema: &'a ResourceSchema, db: &crate::Database, tenant: TenantId) -> Self {
        Self::new(schema, db.backend(), tenant)
    }

    pub(crate) fn new(schema: &'a ResourceSchema, backend: Backend, tenant: TenantId) -> Self {
        Self {
            schema,
            backend,
            tenant: tenant.0,
            dense: Vec::new(),
        }
    }

    /// The same translation, with `pr` on these index keys asked user by user.
    pub(crate) fn with_dense(mut self, keys: Vec<i64>) -> Self {
        self.dense = keys;
        self
    }

    /// A column translation, or the index's when that one is not exact.
    fn or_indexed(&self, sql: Sql, indexed: impl FnOnce() -> Option<SimpleExpr>) -> Sql {
        match sql {
            Sql::Exact(_) => sql,
            other => match indexed() {
                Some(exact) => Sql::Exact(exact),
                None => other,
            },
        }
    }

    fn kind(&self) -> ResourceKind {
        self.schema.kind()
    }

    fn table(&self) -> &'static str {
        match self.kind() {
            ResourceKind::User => USERS,
            ResourceKind::Group => GROUPS,
        }
    }

    /// Maps a path to a target, by canonical name.
    fn target(&self, path: &AttrPath) -> Option<Target> {
        let Some(Resolved::Attr {
            extension: None,
            attr,
            sub,
        }) = self.schema.resolve(path)
        else {
            return None;
        };
        let table = self.table();
        let sub = sub.map(|s| s.name.as_str());
        Some(match (self.kind(), attr.name.as_str(), sub) {
            (_, "id", None) => Target::Id(table),
            (_, "externalId", None) => Target::Text {
                col: (table, "external_id"),
                folded: false,
                nullable: true,
            },
            (_, "meta", Some("created")) => Target::Time(table, "created_at"),
            (_, "meta", Some("lastModified")) => Target::Time(table, "updated_at"),
            (ResourceKind::User, "userName", None) => Target::Text {
                col: (USERS, "user_name_lower"),
                folded: true,
                nullable: false,
            },
            (ResourceKind::User, "displayName", None) => Target::Text {
                col: (USERS, "display_name_lower"),
                folded: true,
                nullable: true,
            },
            (ResourceKind::User, "active", None) => Target::Bool(USERS, "active"),
            // Emails go through the attribute-value index: the `user_emails` columns
            // cannot tell an absent `primary` or `type` from `false` or a blank one.
            (ResourceKind::Group, "displayName", None) => Target::Text {
                col: (GROUPS, "display_name_lower"),
                folded: true,
                nullable: false,
            },
            (ResourceKind::Group, "members", None | Some("value")) => Target::MemberValue,
            _ => return None,
        })
    }

    pub(crate) fn translate(&self, filter: &Filter) -> Sql {
        match filter {
            Filter::And(a, b) => Sql::and(self.translate(a), self.translate(b)),
            Filter::Or(a, b) => Sql::or(self.translate(a), self.translate(b)),
            Filter::Not(a) => Sql::not(self.translate(a)),
            Filter::Present(path) => {
                self.or_indexed(self.present(path), || self.indexed_present(path))
            }
            Filter::Compare { path, op, value } => {
                let sql = match self.target(path) {
                    Some(target) => self.compare(target, *op, value),
                    None => Sql::Unknown,
                };
                self.or_indexed(sql, || self.indexed_compare(path, *op, value))
            }
            Filter::ValuePath { path, filter } => self
                .or_indexed(self.value_path(path, filter), || {
                    self.indexed_value_path(path, filter)
                }),
        }
    }

    fn present(&self, path: &AttrPath) -> Sql {
        match self.target(path) {
            Some(Target::Text {
                col: c, nullable, ..
            }) => Sql::Exact(if nullable {
                col(c.0, c.1).is_not_null()
            } else {
                truth(true)
            }),
            Some(Target::Id(_) | Target::Time(..)) => Sql::Exact(truth(true)),
            Some(Target::Bool(..)) => Sql::Unknown,
            Some(Target::MemberValue) => Sql::Exact(self.members_exist(None)),
            None => Sql::Unknown,
        }
    }

    fn compare(&self, target: Target, op: CompareOp, value: &CompValue) -> Sql {
        match target {
            Target::Text {
                col: c,
                folded,
                nullable,
            } => self.text(col(c.0, c.1), folded, nullable, op, value),
            Target::Id(table) => match (op, value) {
                (CompareOp::Eq | CompareOp::Ne, CompValue::String(s)) => {
                    let eq = match Uuid::try_parse(s.trim()) {
                        Ok(id) => col(table, "id").eq(id),
                        Err(_) => truth(false),
                    };
                    Sql::Exact(if op == CompareOp::Eq { eq } else { eq.not() })
                }
                _ => Sql::Unknown,
            },
            // The `active` column is `true` when the document has no `active` (nothing
            // deactivated the user), while the evaluator sees an unassigned attribute.
            // So `false` is exact, and `true` narrows for the evaluator to decide.
            Target::Bool(table, column) => match (op, value) {
                (CompareOp::Eq, CompValue::Bool(false)) => Sql::Exact(col(table, column).eq(false)),
                (CompareOp::Ne, CompValue::Bool(false)) => Sql::Exact(col(table, column).eq(true)),
                (CompareOp::Eq, CompValue::Bool(true)) => {
                    Sql::Superset(col(table, column).eq(true))
                }
                _ => Sql::Unknown,
            },
            Target::Time(table, column) => {
                let CompValue::String(s) = value else {
                    return Sql::Unknown;
                };
                let Some(at) = roster_scim::value::parse_datetime(s) else {
                    return Sql::Unknown;
                };
                let micros = Timestamp::from_datetime(at).as_micros();
                let c = col(table, column);
                Sql::Exact(match op {
                    CompareOp::Eq => c.eq(micros),
                    CompareOp::Ne => c.ne(micros),
                    CompareOp::Gt => c.gt(micros),
                    CompareOp::Ge => c.gte(micros),
                    CompareOp::Lt => c.lt(micros),
                    CompareOp::Le => c.lte(micros),
                    CompareOp::Co | CompareOp::Sw | CompareOp::Ew => return Sql::Unknown,
                })
            }
            Target::MemberValue => match (op, value) {
                (CompareOp::Eq, CompValue::String(s)) => {
                    Sql::Exact(match Uuid::try_parse(s.trim()) {
                        Ok(id) => self.members_exist(Some(col("group_members", "user_id").eq(id))),
                        Err(_) => truth(false),
                    })
                }
                _ => Sql::Unknown,
            },
        }
    }

    /// A comparison on one text column. Numbers and booleans compare by their JSON
    /// text, as the evaluator does for Entra's unquoted values.
    fn text(
        &self,
        c: SimpleExpr,
        folded: bool,
        nullable: bool,
        op: CompareOp,
        value: &CompValue,
    ) -> Sql {
        let raw = match value {
            CompValue::Null => {
                return Sql::Exact(match (op, nullable) {
                    (CompareOp::Eq, true) => c.is_null(),
                    (CompareOp::Ne, true) => c.is_not_null(),
                    (CompareOp::Eq, false) => truth(false),
                    (CompareOp::Ne, false) => truth(true),
                    _ => return Sql::Unknown,
                });
            }
            CompValue::String(s) => s.clone(),
            CompValue::Number(n) => n.to_string(),
            CompValue::Bool(b) => b.to_string(),
        };
        let v = if folded { fold_case(&raw) } else { raw };
        let guarded = |cond: SimpleExpr| {
            if nullable {
                c.clone().is_not_null().and(cond)
            } else {
                cond
            }
        };
        let like = |pattern: String| {
            // SQLite's LIKE ignores ASCII case; exact only on folded columns there.
            if folded || self.backend == Backend::Postgres {
                Sql::Exact(guarded(c.clone().like(LikeExpr::new(pattern).escape('\\'))))
            } else {
                Sql::Superset(guarded(c.clone().like(LikeExpr::new(pattern).escape('\\'))))
            }
        };
        match op {
            CompareOp::Eq => Sql::Exact(guarded(c.clone().eq(v))),
            CompareOp::Ne => Sql::Exact(if nullable {
                c.clone().is_null().or(c.clone().ne(v))
            } else {
                c.clone().ne(v)
            }),
            CompareOp::Co => like(format!("%{}%", escape_like(&v))),
            CompareOp::Sw => like(format!("{}%", escape_like(&v))),
            CompareOp::Ew => like(format!("%{}", escape_like(&v))),
            CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le => {
                // SQLite compares text by code point, as the evaluator does; PostgreSQL
                // uses the database's collation, which may differ.
                if self.backend != Backend::Sqlite {
                    return Sql::Unknown;
                }
                Sql::Exact(guarded(match op {
                    CompareOp::Gt => c.clone().gt(v),
                    CompareOp::Ge => c.clone().gte(v),
                    CompareOp::Lt => c.clone().lt(v),
                    _ => c.clone().lte(v),
                }))
            }
        }
    }

    /// `emails[...]` and `members[...]`: an element satisfying the inner filter.
    fn value_path(&self, path: &AttrPath, inner: &Filter) -> Sql {
        match self.target(path) {
            Some(Target::MemberValue) => match inner {
                Filter::Compare {
                    path,
                    op: CompareOp::Eq,
                    value: CompValue::String(s),
                } if path.name.eq_ignore_ascii_case("value") && path.sub_attr.is_none() => {
                    Sql::Exact(match Uuid::try_parse(s.trim()) {
                        Ok(id) => self.members_exist(Some(col("group_members", "user_id").eq(id))),
                        Err(_) => truth(false),
                    })
                }
                _ => Sql::Unknown,
            },
            _ => Sql::Unknown,
        }
    }

    fn members_exist(&self, cond: Option<SimpleExpr>) -> SimpleExpr {
        let mut select = Query::select();
        select
            .expr(Expr::val(1))
            .from(group_member::Entity)
            .and_where(col("group_members", "group_id").equals((group::Entity, group::Column::Id)));
        if let Some(cond) = cond {
            select.and_where(cond);
        }
        Expr::exists(select.to_owned())
    }

    /// The column to sort by, when SQL can sort: `(column, nullable)`.
    pub(crate) fn sort_column(&self, path: &AttrPath) -> Option<SortKey> {
        let Some(target) = self.target(path) else {
            return self.indexed_sort(path);
        };
        match target {
            Target::Text {
                col: c, nullable, ..
            } => Some(SortKey::new(col(c.0, c.1), nullable, KeyType::Text)),
            Target::Id(table) => Some(SortKey::new(col(table, "id"), false, KeyType::Id)),
            Target::Time(table, column) => {
                Some(SortKey::new(col(table, column), false, KeyType::Int))
            }
            // The column says `true` for a user whose document has no `active`, which
            // the evaluator sorts last.
            Target::Bool(..) => self.indexed_sort(path),
            Target::MemberValue => None,
        }
    }
}

/// `value` with LIKE's wildcards and its escape character escaped (by `\\`).
pub(crate) fn escape_like(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
