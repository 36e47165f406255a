//! The attribute-value index of users: every present leaf value of a user's rendered
//! document as one `user_values` row, written in the same transaction as the user, so
//! that SQL answers any SCIM filter and sort on any attribute path (issue 13).
//!
//! The rows mirror what `roster_scim::filter::matches` looks at — the resource as
//! rendered for a full projection, without `id`, `meta`, `schemas`, `groups` and the
//! notification settings (those come from columns, memberships and the rules):
//! - a **leaf** row `(path, elem ≥ 0)` for each value the evaluator would compare:
//!   `title` at 0, `emails.value` at each element's position, the items of a simple
//!   multi-valued attribute at theirs — only for values the evaluator calls present (not
//!   `null`, not `""`, not an empty array or object);
//! - an **element** row `(path[], elem)` for each element of a multi-valued or complex
//!   attribute, so a value filter (`emails[type eq "work" and value co "x"]`) can ask
//!   about one element, including elements that lack the sub-attribute;
//! - a **sort** row `(path, -2)` where the value a sort uses is not the leaf at position
//!   0 (the `primary` element of a multi-valued attribute, or an empty string).
//!
//! Each row carries the value typed every way a comparison may read it (text as sent,
//! case-folded text, number, boolean, dateTime), so the filter translation
//! ([`super::query`]) picks the column the attribute's type calls for.

use roster_entity::user_value;
use roster_scim::filter::is_present;
use roster_scim::schema::{AttrType, AttributeDef, ROSTER_USER_URN, ResourceSchema};
use roster_scim::value::{fold_case, get_ci, parse_datetime};
use roster_scim::{JsonObject, ScimError};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;
use uuid::Uuid;

use super::TenantScope;
use super::writes::Writes;
use crate::tenants::TenantId;
use crate::time::Timestamp;

/// Position of an element row.
pub(crate) const ELEMENT: &str = "[]";
/// `elem` of a sort row.
pub(crate) const SORT_ELEM: i32 = -2;

/// What kind of JSON value a row holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i16)]
pub(crate) enum Shape {
    /// A sort row for an element without the value.
    Missing = 0,
    String = 1,
    Number = 2,
    Bool = 3,
    /// An object or an array where a scalar was expected.
    Other = 4,
    /// A string that parses as a floating-point NaN (`"NaN"`): the evaluator's numeric
    /// comparisons are all false for it, while other strings that are not numbers match
    /// `ne`.
    NanString = 5,
}

/// Longest string value the index holds, in bytes. PostgreSQL refuses b-tree entries of
/// more than about 2,700 bytes; values of binary attributes (certificates) are not
/// indexed and not bounded here.
pub(crate) const MAX_INDEXED_BYTES: usize = 1024;

/// The 64-bit key of a canonical path: FNV-1a of its lower-case text. Paths are a few
/// hundred per tenant, so a collision is out of practical reach.
pub(crate) fn key(path: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in path.bytes() {
        hash ^= u64::from(byte.to_ascii_lowercase());
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(hash.to_ne_bytes())
}

/// The canonical path of an attribute (and sub-attribute): `name.givenname`,
/// `urn:…:enterprise:2.0:user:department`, `urn:…:enterprise:2.0:user:manager.value`.
pub(crate) fn path(extension: Option<&str>, attr: &str, sub: Option<&str>) -> String {
    let mut out = String::new();
    if let Some(urn) = extension {
        out.push_str(urn);
        out.push(':');
    }
    out.push_str(attr);
    if let Some(sub) = sub {
        out.push('.');
        out.push_str(sub);
    }
    out.make_ascii_lowercase();
    out
}

/// Collects the index rows of one user.
pub(crate) struct Rows {
    tenant: Uuid,
    user: Uuid,
    out: Vec<user_value::ActiveModel>,
}

impl Rows {
    /// The rows of a user's rendered resource (full projection). Fails with
    /// `invalidValue` when a string the index would hold is longer than
    /// [`MAX_INDEXED_BYTES`].
    ///
    /// The tenant's custom attributes are taken from the stored document instead, all of
    /// them: a value whose definition was removed is kept aside there (hidden, see
    /// `rules::custom`), and indexed, so that it is found again the moment the
    /// definition is re-added (a custom attribute is never complex, so its rendering is
    /// its stored value).
    pub(crate) fn of(
        schema: &ResourceSchema,
        tenant: TenantId,
        user: Uuid,
        rendered: &JsonObject,
        stored: &JsonObject,
    ) -> Result<Vec<user_value::ActiveModel>, ScimError> {
        let mut rows = Rows {
            tenant: tenant.0,
            user,
            out: Vec::new(),
        };
        if let Some(Value::Object(custom)) = get_ci(stored, ROSTER_USER_URN) {
            let ext = schema.extension(ROSTER_USER_URN);
            for (name, v) in custom {
                if name.eq_ignore_ascii_case(crate::rules::NOTIFICATION_SETTINGS_ATTRIBUTE) {
                    continue;
                }
                let undefined;
                let attr = match ext.and_then(|e| e.attr(name)) {
                    Some(attr) => attr,
                    None => {
                        undefined = AttributeDef::new(name.clone(), AttrType::String);
                        &undefined
                    }
                };
                rows.attribute(Some(ROSTER_USER_URN), attr, v)?;
            }
        }
        for (key, value) in rendered {
            if key.eq_ignore_ascii_case(ROSTER_USER_URN) {
                continue;
            }
            if let Some(ext) = schema.extension(key) {
                let Some(obj) = value.as_object() else {
                    continue;
                };
                for (name, v) in obj {
                    let Some(attr) = ext.attr(name) else { continue };
                    rows.attribute(Some(&ext.id), attr, v)?;
                }
                continue;
            }
            let Some(attr) = schema.core_attr(key) else {
                continue;
            };
            if matches!(attr.name.as_str(), "id" | "meta" | "schemas" | "groups") {
                continue;
            }
            rows.attribute(None, attr, value)?;
        }
        Ok(rows.out)
    }

    fn attribute(
        &mut self,
        ext: Option<&str>,
        attr: &AttributeDef,
        value: &Value,
    ) -> Result<(), ScimError> {
        if attr.ty == AttrType::Binary {
            return Ok(());
        }
        let element = key(&format!("{}{ELEMENT}", path(ext, &attr.name, None)));
        let items: Option<&Vec<Value>> = value.as_array();
        if attr.is_complex() {
            match value {
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        let i = position(i);
                        self.marker(element, i);
                        if let Some(obj) = item.as_object() {
                            self.subs(ext, attr, obj, i)?;
                        }
                    }
                }
                Value::Object(obj) => {
                    self.marker(element, 0);
                    self.subs(ext, attr, obj, 0)?;
                }
                _ => {}
            }
            for sub in &attr.sub_attributes {
                if sub.ty == AttrType::Binary {
                    continue;
                }
                let k = key(&path(ext, &attr.name, Some(&sub.name)));
                self.sort_row(k, value, items, Some(&sub.name))?;
            }
            return Ok(());
        }
        let k = key(&path(ext, &attr.name, None));
        match value {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let i = position(i);
                    self.marker(element, i);
                    if is_present(item) {
                        self.leaf(k, i, item)?;
                    }
                }
            }
            other if is_present(other) => self.leaf(k, 0, other)?,
            _ => {}
        }
        self.sort_row(k, value, items, None)
    }

    fn subs(
        &mut self,
        ext: Option<&str>,
        attr: &AttributeDef,
        obj: &JsonObject,
        elem: i32,
    ) -> Result<(), ScimError> {
        for (name, v) in obj {
            let Some(sub) = attr.sub_attr(name) else {
                continue;
            };
            if sub.ty == AttrType::Binary || !is_present(v) {
                continue;
            }
            self.leaf(key(&path(ext, &attr.name, Some(&sub.name))), elem, v)?;
        }
        Ok(())
    }

    /// The value a sort by this path uses (`roster_scim::list` `sort_value`): in an
    /// array the `primary` element, else the first; a row at [`SORT_ELEM`] only where it
    /// is not already the leaf at position 0.
    fn sort_row(
        &mut self,
        k: i64,
        value: &Value,
        items: Option<&Vec<Value>>,
        sub: Option<&str>,
    ) -> Result<(), ScimError> {
        let (chosen_at, chosen) = match items {
            Some(items) => {
                let primary = items.iter().position(|i| {
                    i.as_object()
                        .and_then(|o| get_ci(o, "primary"))
                        .and_then(Value::as_bool)
                        == Some(true)
                });
                match primary.or(if items.is_empty() { None } else { Some(0) }) {
                    Some(at) => (at, &items[at]),
                    None => return Ok(()),
                }
            }
            None => (0, value),
        };
        let leaf = match sub {
            Some(name) => chosen.as_object().and_then(|o| get_ci(o, name)),
            None => Some(chosen),
        };
        match leaf {
            // The leaf at position 0 already is the sort value.
            Some(v) if !v.is_null() && chosen_at == 0 && is_present(v) => {}
            Some(v) if !v.is_null() => self.leaf(k, SORT_ELEM, v)?,
            _ if chosen_at != 0 => self.out.push(self.row(k, SORT_ELEM, Shape::Missing)),
            _ => {}
        }
        Ok(())
    }

    fn marker(&mut self, k: i64, elem: i32) {
        self.out.push(self.row(k, elem, Shape::Missing));
    }

    fn row(&self, attr: i64, elem: i32, shape: Shape) -> user_value::ActiveModel {
        user_value::ActiveModel {
            user_id: Set(self.user),
            attr: Set(attr),
            elem: Set(elem),
            tenant_id: Set(self.tenant),
            shape: Set(shape as i16),
            text: Set(None),
            folded: Set(None),
            num: Set(None),
            flag: Set(None),
            time: Set(None),
        }
    }

    fn leaf(&mut self, k: i64, elem: i32, v: &Value) -> Result<(), ScimError> {
        let mut row = self.row(k, elem, Shape::Other);
        match v {
            Value::String(s) => {
                if s.len() > MAX_INDEXED_BYTES {
                    return Err(ScimError::invalid_value(format!(
                        "a value is {} bytes long; at most {MAX_INDEXED_BYTES} are accepted",
                        s.len()
                    )));
                }
                let number = s.trim().parse::<f64>().ok();
                let nan = number.is_some_and(f64::is_nan);
                row.shape = Set(if nan { Shape::NanString } else { Shape::String } as i16);
                row.num = Set(number.filter(|n| !n.is_nan()));
                row.flag = Set(if s.eq_ignore_ascii_case("true") {
                    Some(true)
                } else if s.eq_ignore_ascii_case("false") {
                    Some(false)
                } else {
                    None
                });
                row.time = Set(parse_datetime(s).map(|t| Timestamp::from_datetime(t).as_micros()));
                row.folded = Set(Some(fold_case(s)));
                row.text = Set(Some(s.clone()));
            }
            Value::Number(n) => {
                let text = n.to_string();
                row.shape = Set(Shape::Number as i16);
                row.num = Set(n.as_f64());
                row.folded = Set(Some(fold_case(&text)));
                row.text = Set(Some(text));
            }
            Value::Bool(b) => {
                let text = b.to_string();
                row.shape = Set(Shape::Bool as i16);
                row.flag = Set(Some(*b));
                row.folded = Set(Some(text.clone()));
                row.text = Set(Some(text));
            }
            Value::Null => row.shape = Set(Shape::Missing as i16),
            Value::Array(_) | Value::Object(_) => {}
        }
        self.out.push(row);
        Ok(())
    }
}

/// Rows per `INSERT`: ten columns each, well under every driver's variable limit.
const ROWS_PER_STATEMENT: usize = 500;

/// Queues the statements that make a user's index rows those of `rendered` (its full
/// rendering): the old rows go unless the user is new.
pub(crate) fn write(
    writes: &mut Writes,
    scope: TenantScope,
    schema: &ResourceSchema,
    user: Uuid,
    rendered: &Value,
    stored: &JsonObject,
    new_user: bool,
) -> Result<(), ScimError> {
    let rows = match rendered {
        Value::Object(object) => Rows::of(schema, scope.tenant(), user, object, stored)?,
        _ => Vec::new(),
    };
    if new_user {
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            writes.push(&user_value::Entity::insert_many(chunk.to_vec()));
        }
        return Ok(());
    }
    // Upsert the new rows and delete the others: the two touch different rows, so they
    // may share one statement (on PostgreSQL a batch of writes is one statement of CTEs,
    // whose parts run in no set order and see the same snapshot).
    let keys: Vec<Expr> = rows
        .iter()
        .filter_map(|row| match (&row.attr, &row.elem) {
            (Set(attr), Set(elem)) => Some(Expr::tuple([Expr::val(*attr), Expr::val(*elem)])),
            _ => None,
        })
        .collect();
    // By primary key alone: with the tenant in the condition too, SQLite's planner may
    // walk a `(tenant_id, attr, …)` index over every row of the tenant (a PUT at 10,000
    // users took 60 ms). The user id came from the tenant-scoped read of the user.
    let mut stale = user_value::Entity::delete_many().filter(user_value::Column::UserId.eq(user));
    if !keys.is_empty() {
        stale = stale.filter(
            Expr::tuple([
                Expr::col(user_value::Column::Attr),
                Expr::col(user_value::Column::Elem),
            ])
            .is_in(keys)
            .not(),
        );
    }
    writes.push(&stale);
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        writes.push(
            &user_value::Entity::insert_many(chunk.to_vec()).on_conflict(
                OnConflict::columns([
                    user_value::Column::UserId,
                    user_value::Column::Attr,
                    user_value::Column::Elem,
                ])
                .update_columns(VALUE_COLUMNS)
                .action_and_where(changed())
                .to_owned(),
            ),
        );
    }
    Ok(())
}

/// The columns of a value row that an update rewrites.
const VALUE_COLUMNS: [user_value::Column; 6] = [
    user_value::Column::Shape,
    user_value::Column::Text,
    user_value::Column::Folded,
    user_value::Column::Num,
    user_value::Column::Flag,
    user_value::Column::Time,
];

/// "The row differs from the one being upserted", NULL-safe and portable: an upsert of
/// an unchanged row is then no write at all (a PUT that changes one attribute rewrites
/// one value row, not every row and its four index entries).
fn changed() -> Expr {
    use sea_orm::Iden;
    let mut any: Option<Expr> = None;
    for column in VALUE_COLUMNS {
        let name = column.to_string();
        let stored = Expr::col((user_value::Entity, column));
        let incoming = Expr::cust(format!("excluded.\"{name}\""));
        let differs = stored
            .clone()
            .ne(incoming.clone())
            .or(stored.clone().is_null().and(incoming.clone().is_not_null()))
            .or(stored.is_not_null().and(incoming.is_null()));
        any = Some(match any {
            Some(any) => any.or(differs),
            None => differs,
        });
    }
    any.unwrap_or_else(|| Expr::val(true))
}

fn position(i: usize) -> i32 {
    i32::try_from(i).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_ignore_ascii_case_and_differ_between_paths() {
        assert_eq!(key("name.givenname"), key("Name.GivenName"));
        assert_ne!(key("name.givenname"), key("name.familyname"));
        assert_eq!(
            path(Some("urn:X:Enterprise"), "Manager", Some("value")),
            "urn:x:enterprise:manager.value"
        );
    }
}
