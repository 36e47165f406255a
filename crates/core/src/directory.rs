//! The read side of a tenant's directory for the admin UI: overview counts, users,
//! groups and their members, and the provisioning log. Nothing here writes; the SCIM
//! provisioning service owns the writes.
//!
//! Every query goes through [`TenantDirectory`], made from a [`TenantAccess`], and carries
//! its tenant id: there is no function here that takes a bare tenant id.
//! Lists are keyset-paged on indexed columns (`(tenant_id, id)` on users, groups and the
//! log; the primary key `(group_id, user_id)` on members), so page 1,000 costs what page
//! 1 does.

use uuid::Uuid;

use crate::memberships::TenantAccess;
use crate::paging::{Page, PageSize};
use crate::store::reads::{GroupRecord, Reads, UserRow, UserSelection};
use crate::tenants::TenantId;
use crate::time::Timestamp;
use crate::{Database, Result};

/// How many recent failures the overview shows.
const OVERVIEW_ERRORS: u64 = 5;
/// How much of a user's history its page shows.
const USER_HISTORY: u64 = 50;
/// How many groups a user's page lists.
const USER_GROUPS: u64 = 200;

/// A search term for users: trimmed, lower-cased, without control characters, at most
/// 200 characters. Empty input is no search at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchTerm(String);

impl SearchTerm {
    pub fn parse(raw: &str) -> Option<Self> {
        let cleaned = roster_scim::value::fold_case(
            raw.chars()
                .filter(|c| !c.is_control())
                .take(200)
                .collect::<String>()
                .trim(),
        );
        (!cleaned.is_empty()).then_some(Self(cleaned))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserStatus {
    Active,
    Inactive,
}

impl UserStatus {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "active" => Some(Self::Active),
            "inactive" => Some(Self::Inactive),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserQuery {
    pub search: Option<SearchTerm>,
    pub status: Option<UserStatus>,
    pub after: Option<Uuid>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "success" => Some(Self::Success),
            "failure" => Some(Self::Failure),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogQuery {
    pub outcome: Option<Outcome>,
    /// Entries older than this one (log ids grow with time).
    pub before: Option<i64>,
}

/// A user as lists show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSummary {
    pub id: Uuid,
    pub user_name: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub external_id: Option<String>,
    pub active: bool,
    pub updated_at: Timestamp,
}

impl From<UserRow> for UserSummary {
    fn from(row: UserRow) -> Self {
        Self {
            id: row.id,
            user_name: row.user_name,
            display_name: row.display_name,
            email: row.primary_email_lower,
            external_id: row.external_id,
            active: row.active,
            updated_at: Timestamp::from_micros(row.updated_at),
        }
    }
}

impl From<GroupRecord> for GroupSummary {
    fn from(GroupRecord { group, members }: GroupRecord) -> Self {
        Self {
            id: group.id,
            display_name: group.display_name,
            external_id: group.external_id,
            members,
            updated_at: Timestamp::from_micros(group.updated_at),
        }
    }
}

/// Everything the user page shows.
#[derive(Clone, Debug, PartialEq)]
pub struct UserDetail {
    pub summary: UserSummary,
    pub created_at: Timestamp,
    pub version: i64,
    /// The SCIM document flattened to `(path, value)` pairs, e.g. `("name.givenName",
    /// "Ada")`, sorted by attribute name (array items in their order).
    pub attributes: Vec<(String, String)>,
    pub groups: Vec<GroupSummary>,
    pub history: Vec<LogEntry>,
    /// The stored notification settings and host assignments, as the rules service
    /// describes them (`RulesService::user_view`).
    pub notifications: Option<String>,
    pub hosts: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupSummary {
    pub id: Uuid,
    pub display_name: String,
    pub external_id: Option<String>,
    pub members: u64,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    pub id: i64,
    pub occurred_at: Timestamp,
    pub request_id: String,
    pub operation: String,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub outcome: String,
    pub status: i32,
    pub scim_type: Option<String>,
    pub detail: Option<String>,
    pub duration_us: i64,
    /// The resource's userName or displayName, when it was looked up
    /// (`TenantDirectory::name_resources`).
    pub resource_name: Option<String>,
    /// The userName the row recorded (user operations, refused creates included).
    pub user_name: Option<String>,
    /// What an accepted write warns of (a value withheld from the product).
    pub warning: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Overview {
    pub active_users: u64,
    pub inactive_users: u64,
    pub groups: u64,
    /// When the last SCIM request reached this tenant.
    pub last_activity: Option<Timestamp>,
    pub recent_failures: Vec<LogEntry>,
}

#[derive(Clone, Debug)]
pub struct DirectoryService {
    db: Database,
}

impl DirectoryService {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// The directory of the one tenant `scope` names.
    pub fn tenant<'a>(&'a self, scope: &TenantAccess) -> TenantDirectory<'a> {
        TenantDirectory {
            db: &self.db,
            tenant: scope.id().0,
        }
    }
}

/// Read queries bound to one tenant.
pub struct TenantDirectory<'a> {
    pub(crate) db: &'a Database,
    pub(crate) tenant: Uuid,
}

impl TenantDirectory<'_> {
    pub async fn overview(&self) -> Result<Overview> {
        let (active_users, inactive_users, groups) = self.reads().counts().await?;
        let last_activity = self.reads().last_activity().await?;
        let recent_failures = self
            .log(
                &LogQuery {
                    outcome: Some(Outcome::Failure),
                    before: None,
                },
                PageSize::new(OVERVIEW_ERRORS),
            )
            .await?
            .items;
        Ok(Overview {
            active_users,
            inactive_users,
            groups,
            last_activity,
            recent_failures,
        })
    }

    /// Users, oldest first, matching a search on userName, display name or primary email.
    pub async fn users(
        &self,
        query: &UserQuery,
        size: PageSize,
    ) -> Result<Page<UserSummary, Uuid>> {
        let selection = UserSelection {
            after: query.after,
            active: query.status.map(|status| status == UserStatus::Active),
            contains: query.search.as_ref().map(SearchTerm::as_str),
            ..UserSelection::default()
        };
        let rows = self.reads().users(&selection, size.probe()).await?;
        Ok(Page::from_probe(
            rows.into_iter().map(UserSummary::from).collect(),
            size,
            |user: &UserSummary| user.id,
        ))
    }

    pub async fn user(&self, id: Uuid) -> Result<Option<UserDetail>> {
        let Some(row) = self.reads().user(id).await? else {
            return Ok(None);
        };
        let attributes = flatten_document(&row.doc);
        let (notifications, hosts) = (row.notifications.clone(), row.hosts.clone());
        let (created_at, version) = (Timestamp::from_micros(row.created_at), row.version);
        let group_ids = self.reads().group_ids_of(id, USER_GROUPS).await?;
        let groups = self.groups_by_id(group_ids).await?;
        let history = self.reads().history(id.to_string(), USER_HISTORY).await?;
        Ok(Some(UserDetail {
            summary: row.into(),
            created_at,
            version,
            attributes,
            groups,
            history,
            notifications,
            hosts,
        }))
    }

    /// Groups by display name is what people scan for, but id order is what pages
    /// cheaply; groups are listed oldest first.
    pub async fn groups(
        &self,
        after: Option<Uuid>,
        size: PageSize,
    ) -> Result<Page<GroupSummary, Uuid>> {
        let groups = self.reads().groups(after, None, size.probe()).await?;
        Ok(Page::from_probe(
            groups.into_iter().map(GroupSummary::from).collect(),
            size,
            |g: &GroupSummary| g.id,
        ))
    }

    pub async fn group(&self, id: Uuid) -> Result<Option<GroupSummary>> {
        Ok(self.groups_by_id(vec![id]).await?.into_iter().next())
    }

    /// Members of a group, a page at a time in user-id order (the primary key's order).
    pub async fn members(
        &self,
        group: Uuid,
        after: Option<Uuid>,
        size: PageSize,
    ) -> Result<Page<UserSummary, Uuid>> {
        let users = self.reads().members(group, after, size.probe()).await?;
        Ok(Page::from_probe(
            users.into_iter().map(UserSummary::from).collect(),
            size,
            |user: &UserSummary| user.id,
        ))
    }

    /// The provisioning log, newest first.
    pub async fn log(&self, query: &LogQuery, size: PageSize) -> Result<Page<LogEntry, i64>> {
        let entries = self.reads().log(query, None, size.probe()).await?;
        Ok(Page::from_probe(entries, size, |entry: &LogEntry| entry.id))
    }

    async fn groups_by_id(&self, ids: Vec<Uuid>) -> Result<Vec<GroupSummary>> {
        let groups = self.reads().groups_by_id(ids).await?;
        Ok(groups.into_iter().map(GroupSummary::from).collect())
    }

    /// The shared read model, bound to this directory's tenant.
    pub(crate) fn reads(&self) -> Reads<'_> {
        Reads::new(self.db, TenantId(self.tenant))
    }
}

/// Flattens a stored SCIM document into displayable `(path, value)` pairs. A document
/// that is not valid JSON shows as one raw entry rather than failing the page.
fn flatten_document(doc: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    match serde_json::from_str::<serde_json::Value>(doc) {
        Ok(value) => flatten_into("", &value, &mut out),
        Err(_) => out.push(("(document)".to_owned(), doc.to_owned())),
    }
    out
}

fn flatten_into(path: &str, value: &serde_json::Value, out: &mut Vec<(String, String)>) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                // Never shown, even if a document somehow carried one.
                if key.eq_ignore_ascii_case("password") || key == "schemas" {
                    continue;
                }
                let path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                flatten_into(&path, value, out);
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                flatten_into(&format!("{path}[{index}]"), item, out);
            }
        }
        Value::Null => {}
        Value::String(text) => out.push((path.to_owned(), text.clone())),
        other => out.push((path.to_owned(), other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_flatten_without_passwords() {
        let doc = r#"{"schemas":["x"],"name":{"givenName":"Ada"},"emails":[{"value":"a@x.test","primary":true}],"password":"p"}"#;
        assert_eq!(
            flatten_document(doc),
            vec![
                ("emails[0].primary".to_owned(), "true".to_owned()),
                ("emails[0].value".to_owned(), "a@x.test".to_owned()),
                ("name.givenName".to_owned(), "Ada".to_owned()),
            ]
        );
        assert_eq!(flatten_document("{oops").len(), 1);
    }

    #[test]
    fn search_terms_are_cleaned_and_escaped() {
        assert_eq!(SearchTerm::parse("  "), None);
        let term = SearchTerm::parse(" Ada_\u{0}% ").unwrap();
        assert_eq!(term.as_str(), "ada_%");
        assert_eq!(
            SearchTerm::parse(&"x".repeat(500)).unwrap().as_str().len(),
            200
        );
    }
}
