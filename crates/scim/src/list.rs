//! Queries: `GET` query parameters and `POST /.search` bodies (RFC 7644
//! §3.4.2, §3.4.3), paging, sorting and the `ListResponse` message.

use std::cmp::Ordering;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

use crate::error::ScimError;
use crate::filter::{Filter, FilterLimits, validate};
use crate::path::AttrPath;
use crate::projection::Projection;
use crate::schema::{AttrType, AttributeDef, Resolved, ResourceSchema};
use crate::value::{JsonObject, get_ci, parse_datetime, str_cmp};

/// URN of the ListResponse message.
pub const LIST_RESPONSE_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// URN of the SearchRequest message.
pub const SEARCH_REQUEST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// `sortOrder`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    /// `ascending` (the default).
    #[default]
    Ascending,
    /// `descending`.
    Descending,
}

/// A list/search request, from query parameters or a SearchRequest body.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListQuery {
    /// `filter`, parsed.
    pub filter: Option<Filter>,
    /// `sortBy`.
    pub sort_by: Option<AttrPath>,
    /// `sortOrder`.
    pub sort_order: SortOrder,
    /// `startIndex`, 1-based; values below 1 were raised to 1.
    pub start_index: u64,
    /// `count`; negative values were raised to 0; `None`: the server's default.
    pub count: Option<u64>,
    /// `attributes`.
    pub attributes: Vec<String>,
    /// `excludedAttributes`.
    pub excluded_attributes: Vec<String>,
    /// `cursor` (RFC 9865): `Some("")` asks for the first page of cursor-based paging,
    /// `Some(value)` for the page a previous `nextCursor`/`previousCursor` named; `None`:
    /// index-based paging with `startIndex`.
    pub cursor: Option<String>,
}

/// The slice of results to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Rows to skip (`startIndex - 1`).
    pub offset: u64,
    /// Rows to return at most.
    pub limit: u64,
    /// The `startIndex` to echo in the ListResponse.
    pub start_index: u64,
}

/// The longest `cursor` accepted; the ones Roster issues are far shorter.
pub const MAX_CURSOR_LEN: usize = 2048;

fn parse_int(name: &str, raw: &str) -> Result<i64, ScimError> {
    let t = raw.trim();
    t.parse::<i64>()
        .or_else(|_| {
            // Tolerate "10.0"; refuse anything not integral.
            t.parse::<f64>()
                .ok()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
                .ok_or(())
        })
        .map_err(|_| ScimError::invalid_value(format!("{name} must be an integer, got {raw:?}")))
}

fn parse_sort_order(raw: &str) -> Result<SortOrder, ScimError> {
    match raw.trim() {
        s if s.eq_ignore_ascii_case("ascending") => Ok(SortOrder::Ascending),
        s if s.eq_ignore_ascii_case("descending") => Ok(SortOrder::Descending),
        other => Err(ScimError::invalid_value(format!(
            "sortOrder must be \"ascending\" or \"descending\", got {other:?}"
        ))),
    }
}

fn split_list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl ListQuery {
    /// From URL-decoded query parameters. Parameter names are matched
    /// case-insensitively; unknown ones are ignored.
    pub fn from_query<'a>(
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, ScimError> {
        Self::from_query_with(params, FilterLimits::default())
    }

    /// Like [`ListQuery::from_query`] with explicit filter limits.
    pub fn from_query_with<'a>(
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
        limits: FilterLimits,
    ) -> Result<Self, ScimError> {
        let mut q = ListQuery {
            start_index: 1,
            ..Self::default()
        };
        let mut start_index_given = false;
        for (name, value) in params {
            let is = |n: &str| name.eq_ignore_ascii_case(n);
            if is("filter") {
                q.filter = Some(Filter::parse_with(value, limits)?);
            } else if is("sortBy") {
                q.sort_by =
                    Some(AttrPath::parse(value).map_err(|e| ScimError::invalid_value(e.detail()))?);
            } else if is("sortOrder") {
                q.sort_order = parse_sort_order(value)?;
            } else if is("startIndex") {
                q.start_index = parse_int("startIndex", value)?.max(1) as u64;
                start_index_given = true;
            } else if is("cursor") {
                if value.len() > MAX_CURSOR_LEN {
                    return Err(ScimError::invalid_cursor(
                        "this cursor is not one Roster issued; start again with an empty cursor",
                    ));
                }
                q.cursor = Some(value.trim().to_owned());
            } else if is("count") {
                q.count = Some(parse_int("count", value)?.max(0) as u64);
            } else if is("attributes") {
                q.attributes = split_list(value);
            } else if is("excludedAttributes") {
                q.excluded_attributes = split_list(value);
            }
        }
        if start_index_given && q.cursor.is_some() {
            return Err(ScimError::invalid_value(
                "use either startIndex (index-based paging) or cursor (cursor-based paging, \
                 RFC 9865), not both",
            ));
        }
        Ok(q)
    }

    /// From a `POST /.search` body (RFC 7644 §3.4.3). `schemas`, when
    /// present, must name the SearchRequest URN; names are case-insensitive.
    pub fn from_search_request(body: &Value) -> Result<Self, ScimError> {
        let obj = body
            .as_object()
            .ok_or_else(|| ScimError::invalid_syntax("the search request must be a JSON object"))?;
        if let Some(s) = get_ci(obj, "schemas") {
            let ok = s.as_array().is_some_and(|a| {
                a.iter().any(|u| {
                    u.as_str()
                        .is_some_and(|u| u.eq_ignore_ascii_case(SEARCH_REQUEST_URN))
                })
            });
            if !ok {
                return Err(ScimError::invalid_syntax(format!(
                    "\"schemas\" must contain {SEARCH_REQUEST_URN:?}"
                )));
            }
        }
        let mut pairs: Vec<(&str, String)> = Vec::new();
        for (k, v) in obj {
            let text = match v {
                Value::Null => continue,
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Array(items) => items
                    .iter()
                    .map(|i| {
                        i.as_str().map(str::to_owned).ok_or_else(|| {
                            ScimError::invalid_syntax(format!("{k:?} must be a list of strings"))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?
                    .join(","),
                _ if k.eq_ignore_ascii_case("schemas") => continue,
                _ => {
                    return Err(ScimError::invalid_syntax(format!(
                        "{k:?} has the wrong type"
                    )));
                }
            };
            if k.eq_ignore_ascii_case("schemas") {
                continue;
            }
            pairs.push((k.as_str(), text));
        }
        Self::from_query(pairs.iter().map(|(k, v)| (*k, v.as_str())))
    }

    /// Checks the filter and `sortBy` against the resource type's schema.
    pub fn validate(&self, schema: &ResourceSchema) -> Result<(), ScimError> {
        if let Some(f) = &self.filter {
            validate(f, schema)?;
        }
        if let Some(s) = &self.sort_by
            && !matches!(schema.resolve(s), Some(Resolved::Attr { .. }))
        {
            return Err(ScimError::invalid_value(format!(
                "sortBy: unknown attribute '{s}'"
            )));
        }
        Ok(())
    }

    /// The projection the query asks for.
    pub fn projection(&self, schema: &ResourceSchema) -> Result<Projection, ScimError> {
        Projection::from_lists(schema, &self.attributes, &self.excluded_attributes)
    }

    /// The page to fetch: `count` defaults to `default_count` and is capped
    /// at `max_count` (the advertised `filter.maxResults`).
    pub fn page(&self, default_count: u64, max_count: u64) -> Page {
        let start_index = self.start_index.max(1);
        Page {
            offset: start_index - 1,
            limit: self.count.unwrap_or(default_count).min(max_count),
            start_index,
        }
    }
}

/// A ListResponse. `itemsPerPage` is the number of resources in this page,
/// `totalResults` the number of matches overall.
#[derive(Debug, Clone, PartialEq)]
pub struct ListResponse {
    /// All matches, not just this page.
    pub total_results: u64,
    /// The 1-based index of the first resource in this page.
    pub start_index: u64,
    /// The resources of this page, already rendered.
    pub resources: Vec<Value>,
    /// Cursor-based paging (RFC 9865): `Some` when the request used `cursor`; then
    /// `startIndex` is left out and the cursors of the pages around this one are given.
    pub cursors: Option<PageCursors>,
}

/// `nextCursor` and `previousCursor` of one page (RFC 9865 §2.3): each absent when there
/// is no such page.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PageCursors {
    /// The page after this one.
    pub next: Option<String>,
    /// The page before this one.
    pub previous: Option<String>,
}

impl ListResponse {
    /// An index-paged response.
    pub fn indexed(total_results: u64, start_index: u64, resources: Vec<Value>) -> Self {
        Self {
            total_results,
            start_index,
            resources,
            cursors: None,
        }
    }

    /// The response as JSON.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl Serialize for ListResponse {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut m = serializer.serialize_map(None)?;
        m.serialize_entry("schemas", &[LIST_RESPONSE_URN])?;
        m.serialize_entry("totalResults", &self.total_results)?;
        m.serialize_entry("itemsPerPage", &self.resources.len())?;
        match &self.cursors {
            None => m.serialize_entry("startIndex", &self.start_index)?,
            Some(cursors) => {
                if let Some(next) = &cursors.next {
                    m.serialize_entry("nextCursor", next)?;
                }
                if let Some(previous) = &cursors.previous {
                    m.serialize_entry("previousCursor", previous)?;
                }
            }
        }
        m.serialize_entry("Resources", &self.resources)?;
        m.end()
    }
}

/// The value a resource sorts by (RFC 7644 §3.4.2.3): for multi-valued
/// attributes the primary value, else the first.
fn sort_value<'d>(
    doc: &'d JsonObject,
    schema: &ResourceSchema,
    path: &AttrPath,
) -> Option<(&'d Value, AttrType, bool)> {
    let Some(Resolved::Attr {
        extension,
        attr,
        sub,
    }) = schema.resolve(path)
    else {
        return None;
    };
    let container = match extension {
        Some(e) => get_ci(doc, &e.id)?.as_object()?,
        None => doc,
    };
    let mut v = get_ci(container, &attr.name)?;
    if let Value::Array(items) = v {
        let primary = items.iter().find(|i| {
            i.as_object()
                .and_then(|o| get_ci(o, "primary"))
                .and_then(Value::as_bool)
                == Some(true)
        });
        v = primary.or_else(|| items.first())?;
    }
    let leaf: &AttributeDef = match (sub, attr.is_complex()) {
        (Some(s), _) => s,
        (None, true) => attr.sub_attr("value")?,
        (None, false) => attr,
    };
    if attr.is_complex() {
        v = get_ci(v.as_object()?, &leaf.name)?;
    }
    (!v.is_null()).then_some((v, leaf.ty, leaf.case_exact))
}

/// Orders two resources by `sort_by`. Resources without a value sort after
/// those with one in ascending order (and before them in descending), like
/// SQL's `NULLS LAST` for ascending; the store should do the same.
pub fn compare_resources(
    a: &JsonObject,
    b: &JsonObject,
    schema: &ResourceSchema,
    sort_by: &AttrPath,
    order: SortOrder,
) -> Ordering {
    let ord = match (
        sort_value(a, schema, sort_by),
        sort_value(b, schema, sort_by),
    ) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some((x, ty, case_exact)), Some((y, _, _))) => compare_values(x, y, ty, case_exact),
    };
    match order {
        SortOrder::Ascending => ord,
        SortOrder::Descending => ord.reverse(),
    }
}

fn compare_values(x: &Value, y: &Value, ty: AttrType, case_exact: bool) -> Ordering {
    match (x, y) {
        (Value::Number(a), Value::Number(b)) => a
            .as_f64()
            .partial_cmp(&b.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
        (Value::String(a), Value::String(b)) if ty == AttrType::DateTime => {
            match (parse_datetime(a), parse_datetime(b)) {
                (Some(p), Some(q)) => p.cmp(&q),
                _ => a.cmp(b),
            }
        }
        (Value::String(a), Value::String(b)) => str_cmp(a, b, case_exact),
        _ => Ordering::Equal,
    }
}

/// Sorts resources in place (stable: equal keys keep their order, so the
/// store's tie-breaker, e.g. `id`, survives).
pub fn sort_resources(
    resources: &mut [JsonObject],
    schema: &ResourceSchema,
    sort_by: &AttrPath,
    order: SortOrder,
) {
    resources.sort_by(|a, b| compare_resources(a, b, schema, sort_by, order));
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ScimType;
    use crate::schema::SchemaRegistry;

    #[test]
    fn query_parameters_are_case_insensitive_and_paging_is_clamped() {
        let q = ListQuery::from_query([
            ("FILTER", "userName eq \"x\""),
            ("startindex", "0"),
            ("Count", "-5"),
            ("sortby", "name.familyName"),
            ("SORTORDER", "Descending"),
            ("Attributes", "userName, emails"),
            ("excludedattributes", "meta"),
            ("unknown", "ignored"),
        ])
        .unwrap();
        assert!(q.filter.is_some());
        assert_eq!(q.start_index, 1);
        assert_eq!(q.count, Some(0));
        assert_eq!(q.sort_order, SortOrder::Descending);
        assert_eq!(q.attributes, ["userName", "emails"]);
        assert_eq!(q.excluded_attributes, ["meta"]);
        assert_eq!(
            q.page(100, 200),
            Page {
                offset: 0,
                limit: 0,
                start_index: 1
            }
        );
        let q = ListQuery::from_query([("startIndex", "201"), ("count", "500")]).unwrap();
        assert_eq!(
            q.page(100, 200),
            Page {
                offset: 200,
                limit: 200,
                start_index: 201
            }
        );
        let q = ListQuery::from_query([]).unwrap();
        assert_eq!(
            q.page(100, 200),
            Page {
                offset: 0,
                limit: 100,
                start_index: 1
            }
        );
    }

    #[test]
    fn bad_parameters() {
        for (k, v, t) in [
            ("startIndex", "one", ScimType::InvalidValue),
            ("count", "1.5", ScimType::InvalidValue),
            ("sortOrder", "up", ScimType::InvalidValue),
            ("filter", "userName eq", ScimType::InvalidFilter),
            ("sortBy", "a..b", ScimType::InvalidValue),
        ] {
            assert_eq!(
                ListQuery::from_query([(k, v)]).unwrap_err().scim_type(),
                Some(t),
                "{k}={v}"
            );
        }
        let r = SchemaRegistry::standard();
        let q = ListQuery::from_query([("sortBy", "nope")]).unwrap();
        assert!(q.validate(r.user()).is_err());
        let q = ListQuery::from_query([("filter", "nope pr")]).unwrap();
        assert_eq!(
            q.validate(r.user()).unwrap_err().scim_type(),
            Some(ScimType::InvalidFilter)
        );
    }

    #[test]
    fn search_request_body() {
        let q = ListQuery::from_search_request(&json!({
            "schemas": [SEARCH_REQUEST_URN],
            "attributes": ["displayName", "userName"],
            "excludedAttributes": ["emails"],
            "filter": "displayName sw \"smith\"",
            "startIndex": 1, "count": 10, "sortBy": "userName", "sortOrder": "ascending"
        }))
        .unwrap();
        assert_eq!(q.attributes, ["displayName", "userName"]);
        assert_eq!(q.count, Some(10));
        assert!(q.filter.is_some());
        assert!(ListQuery::from_search_request(&json!({"schemas": ["urn:x"]})).is_err());
        assert!(ListQuery::from_search_request(&json!({"count": true})).is_err());
        assert!(ListQuery::from_search_request(&json!({"attributes": [1]})).is_err());
        assert!(ListQuery::from_search_request(&json!({})).is_ok());
    }

    #[test]
    fn cursor_is_parsed_and_not_mixed_with_start_index() {
        let q = ListQuery::from_query([("cursor", ""), ("count", "10")]).unwrap();
        assert_eq!(q.cursor.as_deref(), Some(""));
        let q = ListQuery::from_query([("Cursor", "abc")]).unwrap();
        assert_eq!(q.cursor.as_deref(), Some("abc"));
        assert_eq!(
            ListQuery::from_query([("count", "5")]).unwrap().cursor,
            None
        );
        let both = ListQuery::from_query([("cursor", ""), ("startIndex", "1")]).unwrap_err();
        assert_eq!(both.scim_type(), Some(crate::error::ScimType::InvalidValue));
        let long = "a".repeat(MAX_CURSOR_LEN + 1);
        let err = ListQuery::from_query([("cursor", long.as_str())]).unwrap_err();
        assert_eq!(err.scim_type(), Some(crate::error::ScimType::InvalidCursor));
        let body = json!({"cursor": "xyz", "count": 3});
        let q = ListQuery::from_search_request(&body).unwrap();
        assert_eq!(q.cursor.as_deref(), Some("xyz"));
    }

    #[test]
    fn list_response_shape() {
        let lr = ListResponse::indexed(3, 2, vec![json!({"id": "a"})]);
        let v = serde_json::to_value(&lr).unwrap();
        assert_eq!(v, lr.to_json());
        assert_eq!(
            v,
            json!({"schemas": [LIST_RESPONSE_URN], "totalResults": 3, "itemsPerPage": 1,
                   "startIndex": 2, "Resources": [{"id": "a"}]})
        );
        let empty = ListResponse::indexed(0, 1, vec![]);
        assert_eq!(empty.to_json()["Resources"], json!([]));
        let cursored = ListResponse {
            cursors: Some(PageCursors {
                next: Some("n".into()),
                previous: None,
            }),
            ..lr.clone()
        };
        assert_eq!(
            cursored.to_json(),
            json!({"schemas": [LIST_RESPONSE_URN], "totalResults": 3, "itemsPerPage": 1,
                   "nextCursor": "n", "Resources": [{"id": "a"}]})
        );
    }

    #[test]
    fn sorting_honours_case_rules_primary_and_missing_values() {
        let r = SchemaRegistry::standard();
        let mk = |v: Value| v.as_object().unwrap().clone();
        let mut docs = vec![
            mk(
                json!({"id": "1", "userName": "carol", "emails": [{"value": "z@x"}, {"value": "a@x", "primary": true}]}),
            ),
            mk(json!({"id": "2", "userName": "Bob", "emails": [{"value": "m@x"}]})),
            mk(json!({"id": "3", "userName": "alice"})),
            mk(json!({"id": "4", "userName": "bob"})),
        ];
        let ids = |d: &[JsonObject]| {
            d.iter()
                .map(|o| o["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        sort_resources(
            &mut docs,
            r.user(),
            &AttrPath::new("userName"),
            SortOrder::Ascending,
        );
        assert_eq!(ids(&docs), ["3", "2", "4", "1"]); // case-insensitive, stable
        sort_resources(
            &mut docs,
            r.user(),
            &AttrPath::new("emails"),
            SortOrder::Ascending,
        );
        assert_eq!(ids(&docs), ["1", "2", "3", "4"]); // primary value; missing last
        sort_resources(
            &mut docs,
            r.user(),
            &AttrPath::new("emails"),
            SortOrder::Descending,
        );
        assert_eq!(ids(&docs), ["3", "4", "2", "1"]);
        let mut by_id = vec![mk(json!({"id": "b"})), mk(json!({"id": "B"}))];
        sort_resources(
            &mut by_id,
            r.user(),
            &AttrPath::new("id"),
            SortOrder::Ascending,
        );
        assert_eq!(ids(&by_id), ["B", "b"]); // id is caseExact
    }
}
