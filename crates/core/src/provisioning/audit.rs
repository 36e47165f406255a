//! The provisioning log: one row per SCIM write, and per failed request, never with a
//! body. A successful write records its row inside its own transaction; a failure is
//! recorded afterwards, on its own, once the failed transaction has rolled back.

use super::{ProvisioningError, RequestContext};
use crate::Database;
use crate::store::TenantScope;
use crate::store::log::{self, LogInsert, LogRow};
use crate::time::Timestamp;

/// What a log row says besides the request's outcome: the user it is about, and a
/// warning for a write that was accepted with a value kept from the product.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LogNote {
    pub user_name: Option<String>,
    pub warning: Option<String>,
}

impl LogNote {
    /// The note of a write of the user `user_name` whose document is `doc`: warns of
    /// the values the product will not get (see [`crate::formats::withheld`]).
    pub(crate) fn for_user(user_name: &str, doc: &roster_scim::JsonObject) -> Self {
        Self {
            user_name: Some(user_name.to_owned()),
            warning: crate::formats::withheld_warning(doc),
        }
    }

    pub(crate) fn named(user_name: Option<&str>) -> Self {
        Self {
            user_name: user_name.map(str::to_owned),
            warning: None,
        }
    }
}

/// What a request attempted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    UserCreate,
    /// A user the product seeded (directory API or CSV import): created or linked.
    UserSeed,
    UserRead,
    UserList,
    UserReplace,
    UserPatch,
    UserDelete,
    GroupCreate,
    GroupRead,
    GroupList,
    GroupReplace,
    GroupPatch,
    GroupDelete,
    Search,
    Bulk,
    Discovery,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserCreate => "user.create",
            Self::UserSeed => "user.seed",
            Self::UserRead => "user.read",
            Self::UserList => "user.list",
            Self::UserReplace => "user.replace",
            Self::UserPatch => "user.patch",
            Self::UserDelete => "user.delete",
            Self::GroupCreate => "group.create",
            Self::GroupRead => "group.read",
            Self::GroupList => "group.list",
            Self::GroupReplace => "group.replace",
            Self::GroupPatch => "group.patch",
            Self::GroupDelete => "group.delete",
            Self::Search => "search",
            Self::Bulk => "bulk",
            Self::Discovery => "discovery",
        }
    }

    pub fn resource_type(self) -> Option<&'static str> {
        match self {
            Self::UserCreate
            | Self::UserSeed
            | Self::UserRead
            | Self::UserList
            | Self::UserReplace
            | Self::UserPatch
            | Self::UserDelete => Some("User"),
            Self::GroupCreate
            | Self::GroupRead
            | Self::GroupList
            | Self::GroupReplace
            | Self::GroupPatch
            | Self::GroupDelete => Some("Group"),
            Self::Search | Self::Bulk | Self::Discovery => None,
        }
    }
}

fn row(
    at: Timestamp,
    ctx: &RequestContext,
    operation: Operation,
    resource_id: Option<&str>,
    status: u16,
    failure: Option<(&str, Option<&str>)>,
    note: LogNote,
) -> LogRow {
    let (outcome, scim_type, detail) = match failure {
        None => ("success", None, None),
        Some((detail, scim_type)) => (
            "failure",
            scim_type.map(str::to_owned),
            Some(detail.to_owned()),
        ),
    };
    LogRow {
        occurred_at: at,
        request_id: ctx.request_id.clone(),
        token_id: ctx.token_id.map(|t| t.0),
        operation: operation.as_str(),
        resource_type: operation.resource_type(),
        resource_id: resource_id.map(str::to_owned),
        outcome,
        status: i32::from(status),
        scim_type,
        detail,
        duration_us: ctx.elapsed_us(),
        user_name_lower: note
            .user_name
            .as_deref()
            .map(crate::provisioning::fold_case),
        user_name: note.user_name,
        warning: note.warning,
    }
}

/// The log row of a successful write, to add to the write's own statements.
pub(crate) fn success(
    at: Timestamp,
    ctx: &RequestContext,
    operation: Operation,
    resource_id: Option<&str>,
    status: u16,
    note: LogNote,
) -> LogInsert {
    log::insert(
        TenantScope::from(ctx),
        row(at, ctx, operation, resource_id, status, None, note),
    )
}

/// Records a failure. Best effort: a failure to record is logged, never returned (the
/// client gets the error of its request, not ours).
pub(crate) async fn record_failure(
    db: &Database,
    ctx: &RequestContext,
    operation: Operation,
    resource_id: Option<&str>,
    err: &ProvisioningError,
    user_name: Option<&str>,
) {
    let (status, scim_type, detail) = match err {
        ProvisioningError::Scim(err) => (
            err.status(),
            err.scim_type().map(|t| t.as_str()),
            truncate(err.detail(), 2000),
        ),
        ProvisioningError::Internal(err) => {
            tracing::error!(error = %crate::error::chain(err), request.id = %ctx.request_id, "provisioning failed");
            (
                500,
                None,
                format!("internal error (request {})", ctx.request_id),
            )
        }
        ProvisioningError::Stale => {
            tracing::error!(request.id = %ctx.request_id, "a stale write escaped its retries");
            (
                500,
                None,
                format!("internal error (request {})", ctx.request_id),
            )
        }
    };
    let row = row(
        db.clock().now(),
        ctx,
        operation,
        resource_id,
        status,
        Some((&detail, scim_type)),
        LogNote::named(user_name),
    );
    let result = log::record_read_back(db.writer(), TenantScope::from(ctx), row).await;
    if let Err(err) = result {
        tracing::warn!(error = %err, "recording a failed request in the provisioning log failed");
    }
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
