//! Keyset paging of SCIM lists: a page starts *after a key* (the sort value and id of the
//! row before it) instead of skipping rows with `OFFSET`, so the last page of a million
//! users costs what the first does, and a user added or removed while a client pages does
//! not make it skip or repeat another.
//!
//! Two ways in:
//! - **Cursors** (RFC 9865). `nextCursor`/`previousCursor` carry the boundary key, the
//!   position and the total, encoded (base64url JSON) with a fingerprint of the tenant
//!   and the query, so a cursor only works for the query that issued it. They hold no
//!   server state and do not expire.
//! - **`startIndex`** (RFC 7644, what Okta and Entra send). Each full page leaves the key
//!   of its last row in [`SeekCache`] under (tenant, query, next index); the request for
//!   that index — the same client's next page — seeks from it. A miss (another node, an
//!   evicted or expired entry, a client jumping) pages with `OFFSET`, exactly as before.
//!
//! Either way the total is counted once per listing (the first page) and then carried
//! along, so `totalResults` does not cost a `COUNT` per page; a page that reaches the end
//! gives the exact total.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use roster_scim::ScimError;
use roster_scim::list::{ListQuery, SortOrder};
use roster_scim::schema::ResourceKind;
use sea_orm::sea_query::{Expr, ExprTrait, SimpleExpr};
use sea_orm::{ConnectionTrait, QueryFilter, QuerySelect, QueryTrait, Select};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::query::{KeyType, SortKey};
use crate::tenants::TenantId;

/// A sort value read back from a row, typed as its [`KeyType`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "v")]
pub(crate) enum KeyValue {
    #[serde(rename = "n")]
    Null,
    #[serde(rename = "s")]
    Text(String),
    #[serde(rename = "u")]
    Id(Uuid),
    #[serde(rename = "i")]
    Int(i64),
    #[serde(rename = "f")]
    Num(f64),
    #[serde(rename = "b")]
    Flag(bool),
}

impl KeyValue {
    /// Whether this value can be compared with a key of type `ty`.
    fn fits(&self, ty: KeyType) -> bool {
        matches!(
            (self, ty),
            (KeyValue::Null, _)
                | (KeyValue::Text(_), KeyType::Text)
                | (KeyValue::Id(_), KeyType::Id)
                | (KeyValue::Int(_), KeyType::Int)
                | (KeyValue::Num(_), KeyType::Num)
                | (KeyValue::Flag(_), KeyType::Flag)
        )
    }

    pub(crate) fn expr(&self) -> SimpleExpr {
        match self {
            KeyValue::Null => Expr::value(sea_orm::Value::String(None)),
            KeyValue::Text(s) => Expr::val(s.clone()),
            KeyValue::Id(id) => Expr::val(*id),
            KeyValue::Int(i) => Expr::val(*i),
            KeyValue::Num(f) => Expr::val(*f),
            KeyValue::Flag(b) => Expr::val(*b),
        }
    }
}

/// A position in a list's order: the sort value and id of one row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Boundary {
    #[serde(rename = "k")]
    pub(crate) key: KeyValue,
    #[serde(rename = "i")]
    pub(crate) id: Uuid,
}

/// Which side of a boundary a page lies on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Direction {
    /// The rows after the boundary, in the list's order.
    #[serde(rename = "a")]
    After,
    /// The rows before it (a previous page).
    #[serde(rename = "b")]
    Before,
}

/// Where a page starts.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Start {
    /// Skip this many rows (`startIndex - 1`, or a cursor's position when the list is
    /// evaluated in memory).
    Offset(u64),
    /// Seek from a boundary; `position` is the 0-based index the page's first row has
    /// (after) or the one after its last row (before), as far as it is known.
    Seek {
        boundary: Boundary,
        direction: Direction,
        position: u64,
    },
}

/// How a list request pages: its start and the total already known from an earlier
/// page of the same listing.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PagePlan {
    pub(crate) start: Start,
    pub(crate) known_total: Option<u64>,
    /// The request pages with cursors (RFC 9865) rather than `startIndex`.
    pub(crate) cursored: bool,
}

/// A cursor as issued in `nextCursor`/`previousCursor`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Cursor {
    /// Format version.
    v: u8,
    /// Fingerprint of tenant and query (see [`fingerprint`]).
    f: u64,
    /// The boundary; `None` for a list paged in memory, where `p` alone says where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    b: Option<Boundary>,
    d: Direction,
    /// Position, as in [`Start::Seek`].
    p: u64,
    /// The total when the cursor was issued.
    t: u64,
}

const CURSOR_VERSION: u8 = 1;

fn invalid_cursor() -> ScimError {
    ScimError::invalid_cursor(
        "this cursor was not issued for this query; send an empty cursor to start again",
    )
}

/// 64-bit FNV-1a of the tenant, the resource type and everything in the query that
/// decides the order and the rows: a cursor is only honoured for the query it came from.
pub(crate) fn fingerprint(tenant: TenantId, kind: ResourceKind, query: &ListQuery) -> u64 {
    let text = format!(
        "{}|{}|{}|{}|{}",
        tenant.0,
        kind.name(),
        query
            .filter
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        query
            .sort_by
            .as_ref()
            .map(|p| p.to_string().to_ascii_lowercase())
            .unwrap_or_default(),
        matches!(query.sort_order, SortOrder::Descending),
    );
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// The cursor naming the page on `direction`'s side of `boundary` (or at `position`,
/// for a list paged in memory).
pub(crate) fn encode_cursor(
    fingerprint: u64,
    boundary: Option<Boundary>,
    direction: Direction,
    position: u64,
    total: u64,
) -> String {
    let cursor = Cursor {
        v: CURSOR_VERSION,
        f: fingerprint,
        b: boundary,
        d: direction,
        p: position,
        t: total,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).unwrap_or_default())
}

/// Decodes a cursor for this query and sort key type; `invalidCursor` for anything else.
fn decode_cursor(raw: &str, fingerprint: u64, ty: Option<KeyType>) -> Result<Cursor, ScimError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(raw.trim_end_matches('='))
        .map_err(|_| invalid_cursor())?;
    let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| invalid_cursor())?;
    if cursor.v != CURSOR_VERSION || cursor.f != fingerprint {
        return Err(invalid_cursor());
    }
    match (&cursor.b, ty) {
        (Some(b), Some(ty)) if b.key.fits(ty) => Ok(cursor),
        (None, None) => Ok(cursor),
        _ => Err(invalid_cursor()),
    }
}

/// How a request pages. `ty` is the sort key's type when SQL orders the list, `None` when
/// it is evaluated in memory (then cursors carry a position only, and `startIndex` is an
/// offset).
pub(crate) fn plan_page(
    query: &ListQuery,
    offset: u64,
    fingerprint: u64,
    ty: Option<KeyType>,
    cache: &SeekCache,
    tenant: TenantId,
) -> Result<PagePlan, ScimError> {
    match query.cursor.as_deref() {
        Some("") => Ok(PagePlan {
            start: Start::Offset(0),
            known_total: None,
            cursored: true,
        }),
        Some(raw) => {
            let cursor = decode_cursor(raw, fingerprint, ty)?;
            let start = match cursor.b {
                Some(boundary) => Start::Seek {
                    boundary,
                    direction: cursor.d,
                    position: cursor.p,
                },
                None => Start::Offset(cursor.p),
            };
            Ok(PagePlan {
                start,
                known_total: Some(cursor.t),
                cursored: true,
            })
        }
        None => {
            let hit = (offset > 0 && ty.is_some())
                .then(|| cache.get(tenant, fingerprint, offset))
                .flatten();
            Ok(match hit {
                Some((boundary, total)) => PagePlan {
                    start: Start::Seek {
                        boundary,
                        direction: Direction::After,
                        position: offset,
                    },
                    known_total: Some(total),
                    cursored: false,
                },
                None => PagePlan {
                    start: Start::Offset(offset),
                    known_total: None,
                    cursored: false,
                },
            })
        }
    }
}

/// The condition "comes after (or before) `boundary`" in the order `ordered` sorts by:
/// non-NULL keys first when ascending (NULLs last), NULLs first when descending, the id
/// ascending among equal keys. Written as `key >= v AND (key > v OR id > i)` rather than
/// a plain `OR`, so the (tenant, key) index gives a range.
pub(crate) fn seek_condition(
    sort: &SortKey,
    order: SortOrder,
    boundary: &Boundary,
    direction: Direction,
    id: SimpleExpr,
) -> SimpleExpr {
    let key = sort.expr.clone();
    let v = boundary.key.expr();
    let id_after = id.clone().gt(boundary.id);
    let id_before = id.lt(boundary.id);
    let ascending = matches!(order, SortOrder::Ascending);
    // "after" in ascending order of the key means a greater key.
    let greater = ascending == (direction == Direction::After);
    let id_side = match direction {
        Direction::After => id_after,
        Direction::Before => id_before,
    };
    let null = key.clone().is_null();
    let not_null = key.clone().is_not_null();
    // NULL keys sit after the others when ascending, before them when descending.
    let nulls_on_our_side = ascending == (direction == Direction::After);
    match &boundary.key {
        KeyValue::Null => {
            let among_nulls = null.and(id_side);
            if nulls_on_our_side {
                among_nulls
            } else {
                among_nulls.or(not_null)
            }
        }
        _ => {
            let beyond = if greater {
                key.clone().gte(v.clone()).and(key.gt(v).or(id_side))
            } else {
                key.clone().lte(v.clone()).and(key.lt(v).or(id_side))
            };
            if sort.nullable && nulls_on_our_side {
                beyond.or(null)
            } else {
                beyond
            }
        }
    }
}

/// Reads the sort value of one row of the tenant (the last or first of a page).
pub(crate) async fn boundary_of<E>(
    rows: Select<E>,
    sort: &SortKey,
    id_col: SimpleExpr,
    id: Uuid,
    conn: &impl ConnectionTrait,
) -> Result<Boundary, sea_orm::DbErr>
where
    E: sea_orm::EntityTrait,
{
    let statement = rows
        .filter(id_col.eq(id))
        .select_only()
        .expr_as(sort.expr.clone(), "sort_key")
        .build(conn.get_database_backend());
    let row = conn.query_one_raw(statement).await?;
    let key = match row {
        None => KeyValue::Null,
        Some(row) => match sort.ty {
            KeyType::Text => row
                .try_get::<Option<String>>("", "sort_key")?
                .map_or(KeyValue::Null, KeyValue::Text),
            KeyType::Id => row
                .try_get::<Option<Uuid>>("", "sort_key")?
                .map_or(KeyValue::Null, KeyValue::Id),
            KeyType::Int => row
                .try_get::<Option<i64>>("", "sort_key")?
                .map_or(KeyValue::Null, KeyValue::Int),
            KeyType::Num => row
                .try_get::<Option<f64>>("", "sort_key")?
                .map_or(KeyValue::Null, KeyValue::Num),
            KeyType::Flag => row
                .try_get::<Option<bool>>("", "sort_key")?
                .map_or(KeyValue::Null, KeyValue::Flag),
        },
    };
    Ok(Boundary { key, id })
}

/// How long a `startIndex` boundary is used: an import asks for its next page within
/// seconds; a client asking for the same index much later gets `OFFSET`'s answer.
const ENTRY_TTL: Duration = Duration::from_secs(600);

/// Boundaries this node remembers, for all tenants together.
pub(crate) const SEEK_CACHE_CAPACITY: usize = 20_000;

type SeekKeyId = (TenantId, u64, u64);

#[derive(Debug)]
struct Entry {
    boundary: Boundary,
    total: u64,
    at: Instant,
}

#[derive(Debug, Default)]
struct Entries {
    map: HashMap<SeekKeyId, Entry>,
    order: VecDeque<SeekKeyId>,
}

/// Where the pages of recent `startIndex` listings ended, per node, bounded: at most
/// [`SEEK_CACHE_CAPACITY`] entries (about 200 bytes each), the oldest dropped first. A
/// tenant that pages a lot only pushes other tenants' entries out, which costs them
/// `OFFSET` paging, never a wrong answer.
#[derive(Debug, Default)]
pub struct SeekCache {
    entries: Mutex<Entries>,
    hits: AtomicU64,
}

impl SeekCache {
    fn get(&self, tenant: TenantId, fingerprint: u64, index: u64) -> Option<(Boundary, u64)> {
        let entries = self.entries.lock().ok()?;
        let entry = entries.map.get(&(tenant, fingerprint, index))?;
        let hit = (entry.at.elapsed() < ENTRY_TTL).then(|| (entry.boundary.clone(), entry.total));
        if hit.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        hit
    }

    /// `startIndex` pages answered by seeking from a remembered boundary.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Remembers that the row at 0-based `index` of this listing follows `boundary`.
    pub(crate) fn put(
        &self,
        tenant: TenantId,
        fingerprint: u64,
        index: u64,
        boundary: Boundary,
        total: u64,
    ) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        let id = (tenant, fingerprint, index);
        let entry = Entry {
            boundary,
            total,
            at: Instant::now(),
        };
        if entries.map.insert(id, entry).is_none() {
            entries.order.push_back(id);
        }
        while entries.map.len() > SEEK_CACHE_CAPACITY {
            match entries.order.pop_front() {
                Some(old) => {
                    entries.map.remove(&old);
                }
                None => break,
            }
        }
    }

    /// How many boundaries are remembered (for tests of the bound).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().map(|e| e.map.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boundary(n: i64) -> Boundary {
        Boundary {
            key: KeyValue::Int(n),
            id: Uuid::nil(),
        }
    }

    #[test]
    fn a_cursor_only_opens_its_own_query() {
        let raw = encode_cursor(42, Some(boundary(7)), Direction::After, 100, 1000);
        assert!(raw.len() < 200);
        assert!(
            raw.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        let back = decode_cursor(&raw, 42, Some(KeyType::Int)).unwrap();
        assert_eq!(back.b, Some(boundary(7)));
        assert_eq!((back.p, back.t, back.d), (100, 1000, Direction::After));
        // Another query, another key type, a list paged in memory, garbage: refused.
        assert!(decode_cursor(&raw, 43, Some(KeyType::Int)).is_err());
        assert!(decode_cursor(&raw, 42, Some(KeyType::Text)).is_err());
        assert!(decode_cursor(&raw, 42, None).is_err());
        for junk in ["", "!!!", "e30", "bm90IGpzb24"] {
            assert!(
                decode_cursor(junk, 42, Some(KeyType::Int)).is_err(),
                "{junk}"
            );
        }
    }

    #[test]
    fn the_cache_is_bounded_and_forgets_the_oldest() {
        let cache = SeekCache::default();
        let tenant = TenantId(Uuid::nil());
        for i in 0..(SEEK_CACHE_CAPACITY as u64 + 10) {
            cache.put(tenant, 1, i, boundary(i as i64), 5);
        }
        assert_eq!(cache.len(), SEEK_CACHE_CAPACITY);
        assert!(cache.get(tenant, 1, 0).is_none());
        assert_eq!(
            cache.get(tenant, 1, SEEK_CACHE_CAPACITY as u64 + 9),
            Some((boundary(SEEK_CACHE_CAPACITY as i64 + 9), 5))
        );
        let other = TenantId(Uuid::from_u128(1));
        assert!(
            cache
                .get(other, 1, SEEK_CACHE_CAPACITY as u64 + 9)
                .is_none()
        );
    }
}
