//! Users, groups and the provisioning log of a tenant: read-only pages, keyset-paged,
//! searchable, and exported as CSV with the same filters. A setup link that allows it
//! sees them too. Query-string values that do not parse (a hand-edited cursor, an unknown
//! filter) are ignored rather than refused: the page shows its first page, unfiltered.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use roster_core::directory::{
    GroupSummary, LogEntry, LogQuery, Outcome, SearchTerm, UserQuery, UserStatus, UserSummary,
};
use roster_core::paging::PageSize;
use serde::Deserialize;
use uuid::Uuid;

use roster_core::rules::Channel;

use super::error::AdminError;
use super::export::{self, EXPORT_PAGE};
use super::notifications::{GridRow as NotificationGridRow, user_grid};
use super::page::{Layout, ok, when};
use super::session::{Log, TenantView, Users};
use crate::AppState;

/// One provisioning-log entry as tables show it.
pub(crate) struct LogRow {
    pub(crate) time: String,
    pub(crate) operation: String,
    /// What kind of entry: `test` (an identity provider's connection test), `refused`
    /// (refused at authentication) or `request`.
    pub(crate) kind: &'static str,
    pub(crate) resource: String,
    /// The user's page, when the entry is about a user that can be linked.
    pub(crate) user_id: Option<String>,
    pub(crate) failed: bool,
    pub(crate) outcome: String,
    pub(crate) status: i32,
    pub(crate) scim_type: String,
    pub(crate) detail: String,
    pub(crate) request_id: String,
    pub(crate) duration_ms: String,
    /// What an accepted write warns of, or empty.
    pub(crate) warning: String,
}

impl From<LogEntry> for LogRow {
    fn from(entry: LogEntry) -> Self {
        let is_user = entry
            .resource_type
            .as_deref()
            .is_some_and(|kind| kind.eq_ignore_ascii_case("user"));
        let user_id = entry
            .resource_id
            .as_deref()
            .filter(|_| is_user)
            .and_then(|id| Uuid::parse_str(id).ok())
            .map(|id| id.to_string());
        let name = entry.resource_name.as_ref().or(entry.user_name.as_ref());
        let resource = match (&entry.resource_type, &entry.resource_id, name) {
            (Some(kind), _, Some(name)) => format!("{kind} {name}"),
            (Some(kind), Some(id), None) => format!("{kind} {id}"),
            (Some(kind), None, None) => kind.clone(),
            (None, Some(id), _) => id.clone(),
            (None, None, _) => "—".to_owned(),
        };
        let kind = match entry.operation.as_str() {
            roster_core::connection_log::CONNECTION_TEST => "test",
            roster_core::connection_log::AUTH_REJECTED => "refused",
            _ => "request",
        };
        Self {
            time: when(entry.occurred_at),
            kind,
            operation: entry.operation,
            resource,
            user_id,
            failed: entry.outcome != "success",
            outcome: entry.outcome,
            status: entry.status,
            scim_type: entry.scim_type.unwrap_or_default(),
            detail: entry.detail.unwrap_or_default(),
            request_id: entry.request_id,
            duration_ms: format!("{:.1}", entry.duration_us as f64 / 1000.0),
            warning: entry.warning.unwrap_or_default(),
        }
    }
}

pub(crate) struct UserRow {
    id: String,
    user_name: String,
    display_name: String,
    email: String,
    external_id: String,
    active: bool,
    updated: String,
}

impl From<UserSummary> for UserRow {
    fn from(user: UserSummary) -> Self {
        Self {
            id: user.id.to_string(),
            user_name: user.user_name,
            display_name: user.display_name.unwrap_or_default(),
            email: user.email.unwrap_or_default(),
            external_id: user.external_id.unwrap_or_default(),
            active: user.active,
            updated: when(user.updated_at),
        }
    }
}

pub(crate) struct GroupRow {
    id: String,
    display_name: String,
    external_id: String,
    members: u64,
    updated: String,
}

impl From<GroupSummary> for GroupRow {
    fn from(group: GroupSummary) -> Self {
        Self {
            id: group.id.to_string(),
            display_name: group.display_name,
            external_id: group.external_id.unwrap_or_default(),
            members: group.members,
            updated: when(group.updated_at),
        }
    }
}

fn uuid_param(raw: Option<&str>) -> Option<Uuid> {
    raw.and_then(|raw| Uuid::parse_str(raw).ok())
}

#[derive(Deserialize)]
pub(crate) struct UsersQuery {
    q: Option<String>,
    status: Option<String>,
    after: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    l: Layout,
    q: String,
    status: String,
    users: Vec<UserRow>,
    /// The query string of the next page, when there is one.
    next: Option<String>,
    filtered: bool,
}

pub(crate) async fn users(
    req: HttpRequest,
    page: TenantView<Users>,
    state: web::Data<AppState>,
    query: web::Query<UsersQuery>,
) -> Result<HttpResponse, AdminError> {
    let l = Layout::view(&req, &page, "users");
    let scope = page.scope;
    let search = query.q.as_deref().and_then(SearchTerm::parse);
    let status = query.status.as_deref().and_then(UserStatus::parse);
    let user_query = UserQuery {
        search: search.clone(),
        status,
        after: uuid_param(query.after.as_deref()),
    };
    let result = state
        .services
        .directory()
        .tenant(&scope)
        .users(&user_query, PageSize::DEFAULT)
        .await?;
    let q = search
        .map(|term| term.as_str().to_owned())
        .unwrap_or_default();
    let status = match status {
        Some(UserStatus::Active) => "active",
        Some(UserStatus::Inactive) => "inactive",
        None => "",
    };
    let next = result.next.map(|after| {
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        url.append_pair("q", &q).append_pair("status", status);
        url.append_pair("after", &after.to_string());
        url.finish()
    });
    ok(&UsersPage {
        filtered: !q.is_empty() || !status.is_empty(),
        status: status.to_owned(),
        q,
        users: result.items.into_iter().map(UserRow::from).collect(),
        next,
        l,
    })
}

/// `users.csv`: every user the page's search and status filter find.
pub(crate) async fn users_csv(
    page: TenantView<Users>,
    state: web::Data<AppState>,
    query: web::Query<UsersQuery>,
) -> HttpResponse {
    let search = query.q.as_deref().and_then(SearchTerm::parse);
    let status = query.status.as_deref().and_then(UserStatus::parse);
    let scope = page.scope;
    export::csv(
        &format!("{}-users.csv", scope.slug()),
        &[
            "id",
            "userName",
            "displayName",
            "email",
            "externalId",
            "active",
            "updated",
        ],
        move |after: Option<Uuid>| {
            let (state, scope, search) = (state.clone(), scope.clone(), search.clone());
            async move {
                let query = UserQuery {
                    search,
                    status,
                    after,
                };
                let result = state
                    .services
                    .directory()
                    .tenant(&scope)
                    .users(&query, PageSize::new(EXPORT_PAGE))
                    .await?;
                let rows = result
                    .items
                    .into_iter()
                    .map(|u| {
                        vec![
                            u.id.to_string(),
                            u.user_name,
                            u.display_name.unwrap_or_default(),
                            u.email.unwrap_or_default(),
                            u.external_id.unwrap_or_default(),
                            u.active.to_string(),
                            u.updated_at.to_rfc3339(),
                        ]
                    })
                    .collect();
                Ok((rows, result.next))
            }
        },
    )
}

#[derive(Template)]
#[template(path = "admin/user.html")]
struct UserPage {
    l: Layout,
    user: UserRow,
    created: String,
    version: i64,
    attributes: Vec<(String, String)>,
    groups: Vec<GroupRow>,
    entries: Vec<LogRow>,
    locations: Vec<String>,
    kiosks: Vec<String>,
    channels: Vec<&'static str>,
    notifications: Vec<NotificationGridRow>,
    custom: Vec<(String, String)>,
}

pub(crate) async fn user(
    req: HttpRequest,
    page: TenantView<Users>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let l = Layout::view(&req, &page, "users");
    let scope = page.scope;
    let id = uuid_param(Some(&path.1)).ok_or(AdminError::NotFound)?;
    let detail = state
        .services
        .directory()
        .tenant(&scope)
        .user(id)
        .await?
        .ok_or(AdminError::NotFound)?;
    let view = state.services.rules().user_view(&scope, &detail).await?;
    ok(&UserPage {
        locations: view.locations,
        kiosks: view.kiosks,
        channels: Channel::ALL.iter().map(|c| c.label()).collect(),
        notifications: user_grid(&view.notifications),
        custom: view.custom,
        user: detail.summary.into(),
        created: when(detail.created_at),
        version: detail.version,
        attributes: detail.attributes,
        groups: detail.groups.into_iter().map(GroupRow::from).collect(),
        entries: detail.history.into_iter().map(LogRow::from).collect(),
        l,
    })
}

#[derive(Deserialize)]
pub(crate) struct AfterQuery {
    after: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/groups.html")]
struct GroupsPage {
    l: Layout,
    q: String,
    groups: Vec<GroupRow>,
    next: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct GroupsQuery {
    q: Option<String>,
    after: Option<String>,
}

pub(crate) async fn groups(
    req: HttpRequest,
    page: TenantView<Users>,
    state: web::Data<AppState>,
    query: web::Query<GroupsQuery>,
) -> Result<HttpResponse, AdminError> {
    let l = Layout::view(&req, &page, "groups");
    let search = query.q.as_deref().and_then(SearchTerm::parse);
    let result = state
        .services
        .directory()
        .tenant(&page.scope)
        .groups_matching(
            search.as_ref(),
            uuid_param(query.after.as_deref()),
            PageSize::DEFAULT,
        )
        .await?;
    let q = search
        .map(|term| term.as_str().to_owned())
        .unwrap_or_default();
    ok(&GroupsPage {
        groups: result.items.into_iter().map(GroupRow::from).collect(),
        next: result.next.map(|id| {
            let mut url = url::form_urlencoded::Serializer::new(String::new());
            url.append_pair("q", &q)
                .append_pair("after", &id.to_string());
            url.finish()
        }),
        q,
        l,
    })
}

/// `groups.csv`: every group the page's search finds.
pub(crate) async fn groups_csv(
    page: TenantView<Users>,
    state: web::Data<AppState>,
    query: web::Query<GroupsQuery>,
) -> HttpResponse {
    let search = query.q.as_deref().and_then(SearchTerm::parse);
    let scope = page.scope;
    export::csv(
        &format!("{}-groups.csv", scope.slug()),
        &["id", "displayName", "externalId", "members", "updated"],
        move |after: Option<Uuid>| {
            let (state, scope, search) = (state.clone(), scope.clone(), search.clone());
            async move {
                let result = state
                    .services
                    .directory()
                    .tenant(&scope)
                    .groups_matching(search.as_ref(), after, PageSize::new(EXPORT_PAGE))
                    .await?;
                let rows = result
                    .items
                    .into_iter()
                    .map(|g| {
                        vec![
                            g.id.to_string(),
                            g.display_name,
                            g.external_id.unwrap_or_default(),
                            g.members.to_string(),
                            g.updated_at.to_rfc3339(),
                        ]
                    })
                    .collect();
                Ok((rows, result.next))
            }
        },
    )
}

#[derive(Template)]
#[template(path = "admin/group.html")]
struct GroupPage {
    l: Layout,
    group: GroupRow,
    members: Vec<UserRow>,
    next: Option<String>,
}

pub(crate) async fn group(
    req: HttpRequest,
    page: TenantView<Users>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: web::Query<AfterQuery>,
) -> Result<HttpResponse, AdminError> {
    let l = Layout::view(&req, &page, "groups");
    let scope = page.scope;
    let id = uuid_param(Some(&path.1)).ok_or(AdminError::NotFound)?;
    let directory = state.services.directory();
    let directory = directory.tenant(&scope);
    let group = directory.group(id).await?.ok_or(AdminError::NotFound)?;
    let members = directory
        .members(id, uuid_param(query.after.as_deref()), PageSize::DEFAULT)
        .await?;
    ok(&GroupPage {
        group: group.into(),
        members: members.items.into_iter().map(UserRow::from).collect(),
        next: members.next.map(|id| id.to_string()),
        l,
    })
}

#[derive(Deserialize)]
pub(crate) struct LogParams {
    outcome: Option<String>,
    q: Option<String>,
    before: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/log.html")]
struct LogPage {
    l: Layout,
    outcome: String,
    q: String,
    entries: Vec<LogRow>,
    next: Option<String>,
}

pub(crate) async fn log(
    req: HttpRequest,
    page: TenantView<Log>,
    state: web::Data<AppState>,
    query: web::Query<LogParams>,
) -> Result<HttpResponse, AdminError> {
    let l = Layout::view(&req, &page, "log");
    let outcome = query.outcome.as_deref().and_then(Outcome::parse);
    let search = query.q.as_deref().and_then(SearchTerm::parse);
    let log_query = LogQuery {
        outcome,
        before: query.before.as_deref().and_then(|raw| raw.parse().ok()),
    };
    let result = state
        .services
        .directory()
        .tenant(&page.scope)
        .log_matching(&log_query, search.as_ref(), PageSize::DEFAULT)
        .await?;
    let outcome = outcome.map_or("", Outcome::as_str);
    let q = search
        .map(|term| term.as_str().to_owned())
        .unwrap_or_default();
    ok(&LogPage {
        next: result.next.map(|before| {
            let mut url = url::form_urlencoded::Serializer::new(String::new());
            url.append_pair("outcome", outcome)
                .append_pair("q", &q)
                .append_pair("before", &before.to_string());
            url.finish()
        }),
        outcome: outcome.to_owned(),
        q,
        entries: result.items.into_iter().map(LogRow::from).collect(),
        l,
    })
}

/// `log.csv`: every entry the page's filters find, newest first.
pub(crate) async fn log_csv(
    page: TenantView<Log>,
    state: web::Data<AppState>,
    query: web::Query<LogParams>,
) -> HttpResponse {
    let outcome = query.outcome.as_deref().and_then(Outcome::parse);
    let search = query.q.as_deref().and_then(SearchTerm::parse);
    let scope = page.scope;
    export::csv(
        &format!("{}-provisioning-log.csv", scope.slug()),
        &[
            "time",
            "operation",
            "resource_type",
            "resource_id",
            "resource",
            "outcome",
            "status",
            "scim_type",
            "detail",
            "request_id",
            "duration_ms",
            "user_name",
            "warning",
        ],
        move |before: Option<i64>| {
            let (state, scope, search) = (state.clone(), scope.clone(), search.clone());
            async move {
                let query = LogQuery { outcome, before };
                let result = state
                    .services
                    .directory()
                    .tenant(&scope)
                    .log_matching(&query, search.as_ref(), PageSize::new(EXPORT_PAGE))
                    .await?;
                let rows = result
                    .items
                    .into_iter()
                    .map(|e| {
                        vec![
                            e.occurred_at.to_rfc3339(),
                            e.operation,
                            e.resource_type.unwrap_or_default(),
                            e.resource_id.unwrap_or_default(),
                            e.resource_name.unwrap_or_default(),
                            e.outcome,
                            e.status.to_string(),
                            e.scim_type.unwrap_or_default(),
                            e.detail.unwrap_or_default(),
                            e.request_id,
                            format!("{:.1}", e.duration_us as f64 / 1000.0),
                            e.user_name.unwrap_or_default(),
                            e.warning.unwrap_or_default(),
                        ]
                    })
                    .collect();
                Ok((rows, result.next))
            }
        },
    )
}
