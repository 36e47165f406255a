//! From a SCIM document to the indexed columns stored beside it.

use roster_entity::user_email;
use roster_scim::resource::{GroupView, UserView};
use roster_scim::{JsonObject, ScimError};
use sea_orm::ActiveValue::Set;
use uuid::Uuid;

use crate::tenants::TenantId;
use roster_scim::value::fold_case;

/// Longest indexed string accepted, in bytes. PostgreSQL refuses b-tree entries of more
/// than about 2,700 bytes; a clear 400 is better than a failed insert.
const MAX_INDEXED_BYTES: usize = 1024;

fn bounded<'a>(name: &str, value: Option<&'a str>) -> Result<Option<&'a str>, ScimError> {
    match value {
        Some(v) if v.len() > MAX_INDEXED_BYTES => Err(ScimError::invalid_value(format!(
            "{name} is {} bytes long; at most {MAX_INDEXED_BYTES} are accepted",
            v.len()
        ))),
        Some(v) if v.trim().is_empty() => Ok(None),
        other => Ok(other),
    }
}

/// Values one multi-valued attribute may hold (emails, phone numbers, addresses, roles,
/// entitlements, a custom attribute…). Real profiles hold a handful; a bound keeps one
/// user's write proportionate, and under every database driver's limits.
pub(crate) const MAX_VALUES: usize = 100;

/// Refuses a document with a multi-valued attribute (at any depth) of more than
/// [`MAX_VALUES`] values.
pub(crate) fn check_value_counts(doc: &JsonObject) -> Result<(), ScimError> {
    fn walk(name: &str, value: &serde_json::Value) -> Result<(), ScimError> {
        match value {
            serde_json::Value::Array(items) if items.len() > MAX_VALUES => {
                Err(ScimError::invalid_value(format!(
                    "{name} holds {} values; at most {MAX_VALUES} are accepted",
                    items.len()
                )))
            }
            serde_json::Value::Array(items) => items.iter().try_for_each(|x| walk(name, x)),
            serde_json::Value::Object(o) => o.iter().try_for_each(|(k, x)| walk(k, x)),
            _ => Ok(()),
        }
    }
    doc.iter().try_for_each(|(k, v)| walk(k, v))
}

/// The indexed columns of a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UserColumns {
    pub user_name: String,
    pub user_name_lower: String,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    pub display_name_lower: Option<String>,
    pub primary_email_lower: Option<String>,
    pub active: bool,
    pub emails: Vec<EmailColumns>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EmailColumns {
    pub value_lower: String,
    pub type_lower: Option<String>,
    pub primary: bool,
}

impl UserColumns {
    pub(crate) fn from_doc(doc: &JsonObject) -> Result<Self, ScimError> {
        check_value_counts(doc)?;
        let view = UserView::new(doc);
        let user_name = bounded("userName", view.user_name())?
            .ok_or_else(|| ScimError::invalid_value("userName is required"))?;
        let external_id = bounded("externalId", view.external_id())?;
        let display_name = bounded("displayName", view.display_name())?;
        let mut emails = Vec::new();
        for email in view.emails() {
            let Some(value) = bounded("emails.value", Some(email.value))? else {
                continue;
            };
            emails.push(EmailColumns {
                value_lower: fold_case(value),
                type_lower: email.kind.map(fold_case),
                primary: email.primary,
            });
        }
        Ok(Self {
            user_name: user_name.to_owned(),
            user_name_lower: fold_case(user_name),
            external_id: external_id.map(str::to_owned),
            display_name: display_name.map(str::to_owned),
            display_name_lower: display_name.map(fold_case),
            primary_email_lower: view.primary_email().map(fold_case),
            // No `active` means nothing deactivated the user.
            active: view.active().unwrap_or(true),
            emails,
        })
    }

    pub(crate) fn email_rows(
        &self,
        tenant: TenantId,
        user_id: Uuid,
    ) -> Vec<user_email::ActiveModel> {
        self.emails
            .iter()
            .enumerate()
            .map(|(position, email)| user_email::ActiveModel {
                user_id: Set(user_id),
                position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
                tenant_id: Set(tenant.0),
                value_lower: Set(email.value_lower.clone()),
                type_lower: Set(email.type_lower.clone()),
                is_primary: Set(email.primary),
            })
            .collect()
    }
}

/// A new user without `active` is created active, and says so. (Later, a client may
/// remove the attribute; the user then counts as active — nothing deactivated it — and
/// its `active` is unassigned, as the client asked.)
pub(crate) fn ensure_active(doc: &mut JsonObject) {
    if !matches!(doc.get("active"), Some(serde_json::Value::Bool(_))) {
        doc.insert("active".into(), serde_json::Value::Bool(true));
    }
}

/// The indexed columns of a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct GroupColumns {
    pub display_name: String,
    pub display_name_lower: String,
    pub external_id: Option<String>,
}

impl GroupColumns {
    pub(crate) fn from_doc(doc: &JsonObject) -> Result<Self, ScimError> {
        check_value_counts(doc)?;
        let view = GroupView::new(doc);
        let display_name = bounded("displayName", view.display_name())?
            .ok_or_else(|| ScimError::invalid_value("displayName is required"))?;
        Ok(Self {
            display_name: display_name.to_owned(),
            display_name_lower: fold_case(display_name),
            external_id: bounded("externalId", view.external_id())?.map(str::to_owned),
        })
    }
}

/// The ids Roster gives out are UUIDs; anything else names no resource.
pub(crate) fn parse_id(id: &str) -> Option<Uuid> {
    Uuid::try_parse(id.trim()).ok()
}
