//! Filters and sorts on any user attribute, through the attribute-value index
//! (`user_values`, see [`super::super::values`]).
//!
//! Every condition here is exact: it selects the users `roster_scim::filter::matches`
//! selects, because it asks the rows the same questions the evaluator asks the rendered
//! resource — is there a present value, does one of them compare, is an attribute without
//! a value matched (`ne`, `eq null`). A user-level condition is `users.id IN (SELECT
//! user_id FROM user_values WHERE tenant_id = ? AND attr = ? AND …)`, so a selective one
//! (`name.familyName eq "…"`) is an index lookup; a value filter selects element rows and
//! asks about the same element's sub-attributes by primary key.

use roster_entity::{user, user_value};
use roster_scim::AttrPath;
use roster_scim::filter::{CompValue, CompareOp, Filter};
use roster_scim::schema::{AttrType, AttributeDef, ROSTER_USER_URN, Resolved, ResourceKind};
use roster_scim::value::{fold_case, parse_datetime};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, LikeExpr, Order, Query, SelectStatement};

use super::{KeyType, SimpleExpr, SortKey, Translator, escape_like, truth};
use crate::Backend;
use crate::store::values::{ELEMENT, SORT_ELEM, Shape, key, path};
use crate::time::Timestamp;

fn c(alias: &str, column: &str) -> SimpleExpr {
    Expr::col((Alias::new(alias), Alias::new(column)))
}

fn user_id() -> SimpleExpr {
    Expr::col((user::Entity, user::Column::Id))
}

/// An attribute without a value matches `ne` and `eq null`, nothing else (as the
/// evaluator's `absent_result`).
fn absent_matches(op: CompareOp, value: &CompValue) -> bool {
    match op {
        CompareOp::Eq => matches!(value, CompValue::Null),
        CompareOp::Ne => !matches!(value, CompValue::Null),
        _ => false,
    }
}

fn text_of(value: &CompValue) -> Option<String> {
    match value {
        CompValue::String(s) => Some(s.clone()),
        CompValue::Number(n) => Some(n.to_string()),
        CompValue::Bool(b) => Some(b.to_string()),
        CompValue::Null => None,
    }
}

fn is_string(alias: &str) -> SimpleExpr {
    c(alias, "shape").is_in([Shape::String as i16, Shape::NanString as i16])
}

/// The leaf a path compares: its sub-attribute, a complex attribute's `value`, or the
/// attribute itself. `None`: a complex attribute without `value`.
fn leaf<'s>(attr: &'s AttributeDef, sub: Option<&'s AttributeDef>) -> Option<&'s AttributeDef> {
    match (sub, attr.is_complex()) {
        (Some(s), _) => Some(s),
        (None, true) => attr.sub_attr("value"),
        (None, false) => Some(attr),
    }
}

impl Translator<'_> {
    /// The attribute a path names, when the index holds it: a user attribute other than
    /// the server's own (`id`, `meta`, `groups`), the notification settings (kept in
    /// their own column) and binary values.
    fn indexed_attr<'s>(
        &'s self,
        path: &AttrPath,
    ) -> Option<(Option<&'s str>, &'s AttributeDef, Option<&'s AttributeDef>)> {
        if self.kind() != ResourceKind::User {
            return None;
        }
        let Some(Resolved::Attr {
            extension,
            attr,
            sub,
        }) = self.schema.resolve(path)
        else {
            return None;
        };
        let ext = extension.map(|e| e.id.as_str());
        if ext.is_none() && matches!(attr.name.as_str(), "id" | "meta" | "groups") {
            return None;
        }
        if ext == Some(ROSTER_USER_URN)
            && attr.name == crate::rules::NOTIFICATION_SETTINGS_ATTRIBUTE
        {
            return None;
        }
        if attr.ty == AttrType::Binary || sub.is_some_and(|s| s.ty == AttrType::Binary) {
            return None;
        }
        Some((ext, attr, sub))
    }

    /// `SELECT v.user_id FROM user_values v WHERE tenant = ? AND attr = ? AND elem >= 0
    /// [AND cond]`: the users with a value at this key (satisfying `cond`).
    fn holders(&self, attr: SimpleExpr, cond: Option<SimpleExpr>) -> SelectStatement {
        let mut select = Query::select();
        select
            .column((Alias::new("v"), Alias::new("user_id")))
            .from_as(user_value::Entity, Alias::new("v"))
            .and_where(c("v", "tenant_id").eq(self.tenant))
            .and_where(attr)
            .and_where(c("v", "elem").gte(0));
        if let Some(cond) = cond {
            select.and_where(cond);
        }
        select.to_owned()
    }

    /// Whether one row (alias `a`) of a leaf of type `def` satisfies the comparison, as
    /// the evaluator's `compare_scalar` decides for a present value.
    fn row_compares(
        &self,
        a: &str,
        def: &AttributeDef,
        op: CompareOp,
        value: &CompValue,
    ) -> SimpleExpr {
        if matches!(value, CompValue::Null) {
            return truth(op == CompareOp::Ne);
        }
        match def.ty {
            AttrType::Boolean => {
                let want = match value {
                    CompValue::Bool(b) => Some(*b),
                    CompValue::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
                    CompValue::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
                    _ => None,
                };
                match (op, want) {
                    (CompareOp::Eq, Some(w)) => c(a, "flag").eq(w),
                    (CompareOp::Ne, Some(w)) => c(a, "flag").eq(!w),
                    (CompareOp::Ne, None) => truth(true),
                    _ => truth(false),
                }
            }
            AttrType::Integer | AttrType::Decimal => {
                let want = match value {
                    CompValue::Number(n) => n.as_f64(),
                    CompValue::String(s) => s.trim().parse::<f64>().ok(),
                    _ => None,
                };
                // Not a number (an object, a word): only `ne` holds. A "NaN" string
                // compares false to everything.
                let not_number = c(a, "num")
                    .is_null()
                    .and(c(a, "shape").ne(Shape::NanString as i16));
                let otherwise = if op == CompareOp::Ne {
                    not_number
                } else {
                    truth(false)
                };
                match want {
                    Some(w) if !w.is_nan() => {
                        let n = c(a, "num");
                        let holds = match op {
                            CompareOp::Eq => n.clone().eq(w),
                            CompareOp::Ne => n.clone().ne(w),
                            CompareOp::Gt => n.clone().gt(w),
                            CompareOp::Ge => n.clone().gte(w),
                            CompareOp::Lt => n.clone().lt(w),
                            CompareOp::Le => n.clone().lte(w),
                            CompareOp::Co | CompareOp::Sw | CompareOp::Ew => truth(false),
                        };
                        n.is_not_null().and(holds).or(otherwise)
                    }
                    _ => otherwise,
                }
            }
            AttrType::DateTime => {
                let Some(want) = text_of(value) else {
                    return truth(false);
                };
                let not_string = if op == CompareOp::Ne {
                    is_string(a).not()
                } else {
                    truth(false)
                };
                // A string that is not a dateTime compares as text, case-exact.
                let as_text = is_string(a)
                    .and(c(a, "time").is_null())
                    .and(self.text_compares(c(a, "text"), op, &want));
                let as_time = match parse_datetime(&want) {
                    Some(at) => {
                        let w = Timestamp::from_datetime(at).as_micros();
                        let t = c(a, "time");
                        let holds = match op {
                            CompareOp::Eq => t.clone().eq(w),
                            CompareOp::Ne => t.clone().ne(w),
                            CompareOp::Gt => t.clone().gt(w),
                            CompareOp::Ge => t.clone().gte(w),
                            CompareOp::Lt => t.clone().lt(w),
                            CompareOp::Le => t.clone().lte(w),
                            CompareOp::Co | CompareOp::Sw | CompareOp::Ew => truth(false),
                        };
                        is_string(a).and(t.is_not_null()).and(holds)
                    }
                    // Both compare as text when the wanted value is no dateTime.
                    None => is_string(a)
                        .and(c(a, "time").is_not_null())
                        .and(self.text_compares(c(a, "text"), op, &want)),
                };
                as_time.or(as_text).or(not_string)
            }
            AttrType::Complex => truth(false),
            AttrType::String | AttrType::Reference | AttrType::Binary => {
                let Some(want) = text_of(value) else {
                    return truth(false);
                };
                let (column, want) = if def.case_exact {
                    (c(a, "text"), want)
                } else {
                    (c(a, "folded"), fold_case(&want))
                };
                column
                    .clone()
                    .is_not_null()
                    .and(self.text_compares(column, op, &want))
            }
        }
    }

    /// A text comparison by code point, as the evaluator's (on PostgreSQL the index's
    /// text columns use the `C` collation).
    fn text_compares(&self, column: SimpleExpr, op: CompareOp, want: &str) -> SimpleExpr {
        let substring = |how: CompareOp| -> SimpleExpr {
            if want.is_empty() {
                return truth(true);
            }
            if self.backend == Backend::Postgres {
                let pattern = match how {
                    CompareOp::Co => format!("%{}%", escape_like(want)),
                    CompareOp::Sw => format!("{}%", escape_like(want)),
                    _ => format!("%{}", escape_like(want)),
                };
                return column.clone().like(LikeExpr::new(pattern).escape('\\'));
            }
            // SQLite's LIKE ignores ASCII case: use case-sensitive functions.
            let chars = i64::try_from(want.chars().count()).unwrap_or(i64::MAX);
            match how {
                CompareOp::Co => Expr::expr(
                    Func::cust(Alias::new("instr"))
                        .arg(column.clone())
                        .arg(want.to_owned()),
                )
                .gt(0),
                CompareOp::Sw => Expr::expr(
                    Func::cust(Alias::new("substr"))
                        .arg(column.clone())
                        .arg(1)
                        .arg(chars),
                )
                .eq(want.to_owned()),
                _ => Expr::expr(
                    Func::cust(Alias::new("substr"))
                        .arg(column.clone())
                        .arg(-chars),
                )
                .eq(want.to_owned()),
            }
        };
        match op {
            CompareOp::Eq => column.eq(want.to_owned()),
            CompareOp::Ne => column.ne(want.to_owned()),
            CompareOp::Gt => column.gt(want.to_owned()),
            CompareOp::Ge => column.gte(want.to_owned()),
            CompareOp::Lt => column.lt(want.to_owned()),
            CompareOp::Le => column.lte(want.to_owned()),
            CompareOp::Co | CompareOp::Sw | CompareOp::Ew => substring(op),
        }
    }

    /// `path op value` through the index.
    pub(super) fn indexed_compare(
        &self,
        p: &AttrPath,
        op: CompareOp,
        value: &CompValue,
    ) -> Option<SimpleExpr> {
        let (ext, attr, sub) = self.indexed_attr(p)?;
        let Some(def) = leaf(attr, sub) else {
            return Some(truth(absent_matches(op, value)));
        };
        if def.ty == AttrType::Binary {
            return None;
        }
        let sub_name = (attr.is_complex()).then_some(def.name.as_str());
        let k = key(&path(ext, &attr.name, sub_name));
        let attr_is = c("v", "attr").eq(k);
        let hit = user_id().in_subquery(self.holders(
            attr_is.clone(),
            Some(self.row_compares("v", def, op, value)),
        ));
        Some(if absent_matches(op, value) {
            hit.or(user_id().not_in_subquery(self.holders(attr_is, None)))
        } else {
            hit
        })
    }

    /// `path pr` through the index.
    pub(super) fn indexed_present(&self, p: &AttrPath) -> Option<SimpleExpr> {
        let single_key = self.leaf_key(p);
        let (ext, attr, sub) = self.indexed_attr(p)?;
        let attr_is = match (sub, attr.is_complex()) {
            (Some(s), _) => c("v", "attr").eq(key(&path(ext, &attr.name, Some(&s.name)))),
            (None, false) => c("v", "attr").eq(key(&path(ext, &attr.name, None))),
            // A complex value is present when one of its sub-attributes is.
            (None, true) => {
                if attr.sub_attributes.iter().any(|s| s.ty == AttrType::Binary) {
                    return None;
                }
                c("v", "attr").is_in(
                    attr.sub_attributes
                        .iter()
                        .map(|s| key(&path(ext, &attr.name, Some(&s.name))))
                        .collect::<Vec<_>>(),
                )
            }
        };
        if let Some(k) = single_key
            && self.dense.contains(&k)
        {
            let mut probe = Query::select();
            probe
                .expr(Expr::val(1))
                .from_as(user_value::Entity, Alias::new("v"))
                .and_where(c("v", "user_id").equals((user::Entity, user::Column::Id)))
                .and_where(c("v", "attr").eq(k))
                .and_where(c("v", "elem").gte(0));
            return Some(Expr::exists(probe.to_owned()));
        }
        Some(user_id().in_subquery(self.holders(attr_is, None)))
    }

    /// The index keys of the `pr` conditions of a filter that the index answers with
    /// one key (a leaf, not a complex attribute as a whole).
    pub(crate) fn presence_keys(&self, f: &Filter) -> Vec<i64> {
        let mut out = Vec::new();
        self.collect_presence(f, &mut out);
        out.dedup();
        out
    }

    fn collect_presence(&self, f: &Filter, out: &mut Vec<i64>) {
        match f {
            Filter::And(a, b) | Filter::Or(a, b) => {
                self.collect_presence(a, out);
                self.collect_presence(b, out);
            }
            Filter::Not(a) => self.collect_presence(a, out),
            Filter::Present(p) if !matches!(self.present(p), super::Sql::Exact(_)) => {
                if let Some(k) = self.leaf_key(p) {
                    out.push(k);
                }
            }
            Filter::Present(_) | Filter::Compare { .. } | Filter::ValuePath { .. } => {}
        }
    }

    /// The index key of a path naming one leaf.
    fn leaf_key(&self, p: &AttrPath) -> Option<i64> {
        let (ext, attr, sub) = self.indexed_attr(p)?;
        if attr.is_complex() && sub.is_none() {
            return None;
        }
        let def = leaf(attr, sub)?;
        (def.ty != AttrType::Binary)
            .then(|| key(&path(ext, &attr.name, sub.map(|s| s.name.as_str()))))
    }

    /// Whether this tenant holds at least `at_least` values of key `k`: `SELECT
    /// COUNT(*)` over at most that many index entries.
    pub(crate) fn holders_probe(&self, k: i64, at_least: u64) -> SelectStatement {
        let mut inner = Query::select();
        inner
            .expr(Expr::val(1))
            .from_as(user_value::Entity, Alias::new("v"))
            .and_where(c("v", "tenant_id").eq(self.tenant))
            .and_where(c("v", "attr").eq(k))
            .limit(at_least);
        Query::select()
            .expr(Expr::col(sea_orm::sea_query::Asterisk).count())
            .from_subquery(inner.to_owned(), Alias::new("p"))
            .to_owned()
    }

    /// A cheaper count of the users a whole filter selects, when it is one condition on
    /// one leaf of the index that an absent value does not satisfy (`title pr`,
    /// `name.familyName sw "A"`): `COUNT(*)` of the matching value rows with `MAX(elem)`
    /// — the count is the users' when every match is at position 0, one row per user
    /// (the caller checks, and otherwise counts users). Both read one index range.
    pub(crate) fn value_count(&self, f: &Filter) -> Option<SelectStatement> {
        let (p, cond) = match f {
            Filter::Present(p) => {
                if matches!(self.present(p), super::Sql::Exact(_)) {
                    return None;
                }
                (p, None)
            }
            Filter::Compare { path: p, op, value } => {
                let column = self.target(p).map(|t| self.compare(t, *op, value));
                if matches!(column, Some(super::Sql::Exact(_))) || absent_matches(*op, value) {
                    return None;
                }
                let (_, attr, sub) = self.indexed_attr(p)?;
                let def = leaf(attr, sub)?;
                (p, Some(self.row_compares("v", def, *op, value)))
            }
            _ => return None,
        };
        let k = self.leaf_key(p)?;
        let mut select = Query::select();
        select
            .expr(Expr::col(sea_orm::sea_query::Asterisk).count())
            .expr(Expr::col((Alias::new("v"), Alias::new("elem"))).max())
            .from_as(user_value::Entity, Alias::new("v"))
            .and_where(c("v", "tenant_id").eq(self.tenant))
            .and_where(c("v", "attr").eq(k))
            .and_where(c("v", "elem").gte(0));
        if let Some(cond) = cond {
            select.and_where(cond);
        }
        Some(select.to_owned())
    }

    /// `path[filter]` through the index: a user with an element satisfying `filter`.
    ///
    /// The rows `m` it scans are the attribute's element rows — unless the filter requires
    /// `sub eq value` of the element (`emails[type eq "work" and value eq "x"]`, Entra's
    /// `emails[type eq "work"].value eq "x"`): then `m` are the rows of that leaf holding
    /// the value, an index lookup on `(tenant_id, attr, folded|text|num|time)`, each checked
    /// to be an element (same `user_id` and `elem`) and to satisfy the whole filter.
    pub(super) fn indexed_value_path(&self, p: &AttrPath, inner: &Filter) -> Option<SimpleExpr> {
        let (ext, attr, _) = self.indexed_attr(p)?;
        let cond = self.indexed_element(ext, attr, inner)?;
        let element = key(&format!("{}{ELEMENT}", path(ext, &attr.name, None)));
        let driver = required_equality(inner).and_then(|(name, value)| {
            let (def, k) = self.element_leaf(ext, attr, name)?;
            Some((k, self.row_compares("m", def, CompareOp::Eq, value)))
        });
        let mut select = Query::select();
        select
            .column((Alias::new("m"), Alias::new("user_id")))
            .from_as(user_value::Entity, Alias::new("m"))
            .and_where(c("m", "tenant_id").eq(self.tenant));
        match driver {
            Some((leaf_key, equals)) => {
                select
                    .and_where(c("m", "attr").eq(leaf_key))
                    .and_where(c("m", "elem").gte(0))
                    .and_where(equals)
                    .and_where(Expr::exists(self.same_element(element, None)));
            }
            None => {
                select.and_where(c("m", "attr").eq(element));
            }
        }
        select.and_where(cond);
        Some(user_id().in_subquery(select.to_owned()))
    }

    /// A value filter's body over one element row (alias `m`), as the evaluator's
    /// `eval_element`.
    fn indexed_element(
        &self,
        ext: Option<&str>,
        parent: &AttributeDef,
        f: &Filter,
    ) -> Option<SimpleExpr> {
        Some(match f {
            Filter::And(a, b) => self
                .indexed_element(ext, parent, a)?
                .and(self.indexed_element(ext, parent, b)?),
            Filter::Or(a, b) => self
                .indexed_element(ext, parent, a)?
                .or(self.indexed_element(ext, parent, b)?),
            Filter::Not(a) => self.indexed_element(ext, parent, a)?.not(),
            Filter::Present(p) => {
                let (_, k) = self.element_leaf(ext, parent, &p.name)?;
                Expr::exists(self.same_element(k, None))
            }
            Filter::Compare { path: p, op, value } => {
                let (def, k) = self.element_leaf(ext, parent, &p.name)?;
                let hit = Expr::exists(
                    self.same_element(k, Some(self.row_compares("s", def, *op, value))),
                );
                if absent_matches(*op, value) {
                    hit.or(Expr::exists(self.same_element(k, None)).not())
                } else {
                    hit
                }
            }
            Filter::ValuePath { .. } => return None,
        })
    }

    fn element_leaf<'s>(
        &self,
        ext: Option<&str>,
        parent: &'s AttributeDef,
        name: &str,
    ) -> Option<(&'s AttributeDef, i64)> {
        let (def, p) = if parent.is_complex() {
            let def = parent.sub_attr(name)?;
            (def, path(ext, &parent.name, Some(&def.name)))
        } else if name.eq_ignore_ascii_case("value") {
            (parent, path(ext, &parent.name, None))
        } else {
            return None;
        };
        (def.ty != AttrType::Binary).then(|| (def, key(&p)))
    }

    /// The rows of leaf `k` of the element `m` is (alias `s`).
    fn same_element(&self, k: i64, cond: Option<SimpleExpr>) -> SelectStatement {
        let mut select = Query::select();
        select
            .expr(Expr::val(1))
            .from_as(user_value::Entity, Alias::new("s"))
            .and_where(c("s", "user_id").equals((Alias::new("m"), Alias::new("user_id"))))
            .and_where(c("s", "attr").eq(k))
            .and_where(c("s", "elem").equals((Alias::new("m"), Alias::new("elem"))));
        if let Some(cond) = cond {
            select.and_where(cond);
        }
        select.to_owned()
    }

    /// The sort key of a path through the index: the value the evaluator's sort uses
    /// (the sort row, else the leaf at position 0), typed as the attribute is.
    pub(super) fn indexed_sort(&self, p: &AttrPath) -> Option<SortKey> {
        let (ext, attr, sub) = self.indexed_attr(p)?;
        let def = leaf(attr, sub)?;
        let (column, ty) = match def.ty {
            AttrType::String | AttrType::Reference if def.case_exact => ("text", KeyType::Text),
            AttrType::String | AttrType::Reference => ("folded", KeyType::Text),
            AttrType::Integer | AttrType::Decimal => ("num", KeyType::Num),
            AttrType::Boolean => ("flag", KeyType::Flag),
            AttrType::DateTime => ("time", KeyType::Int),
            AttrType::Complex | AttrType::Binary => return None,
        };
        let sub_name = attr.is_complex().then_some(def.name.as_str());
        let k = key(&path(ext, &attr.name, sub_name));
        let mut select = Query::select();
        select
            .column((Alias::new("o"), Alias::new(column)))
            .from_as(user_value::Entity, Alias::new("o"))
            .and_where(c("o", "user_id").equals((user::Entity, user::Column::Id)))
            .and_where(c("o", "attr").eq(k))
            .and_where(c("o", "elem").is_in([SORT_ELEM, 0]))
            .order_by((Alias::new("o"), Alias::new("elem")), Order::Asc)
            .limit(1);
        let mut sort = SortKey::new(
            Expr::SubQuery(None, Box::new(select.to_owned().into())),
            true,
            ty,
        );
        // Booleans have no index to walk.
        if column != "flag" {
            sort.indexed = Some(super::IndexedSort { key: k, column });
        }
        Some(sort)
    }
}

/// A `sub eq value` every element matching `f` must satisfy (a conjunct of `f`), whose
/// leaf rows can drive the search.
fn required_equality(f: &Filter) -> Option<(&str, &CompValue)> {
    match f {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } if !matches!(value, CompValue::Null) && path.sub_attr.is_none() && path.urn.is_none() => {
            Some((path.name.as_str(), value))
        }
        Filter::And(a, b) => required_equality(b).or_else(|| required_equality(a)),
        _ => None,
    }
}
