//! The tenant's rules as the provisioning service applies them: the on/off switch and
//! allowed actions, trusted domains, domain-scoped tokens and the location mapping.
//!
//! Every refusal is a SCIM error whose `detail` the identity provider's admin can act on
//! (Okta shows it in its task list, Entra in its provisioning logs): what was refused,
//! which setting or value decided it, and where in Roster or in the identity provider to
//! change that — naming the provider when the request says which it is, and "your
//! identity provider" otherwise.

use roster_scim::schema::ResourceSchema;
use roster_scim::{JsonObject, ScimError};

use super::{Operation, RequestContext};
use crate::rules::{Hosts, TenantRules};
use crate::store::columns::UserColumns;

/// Refuses what the tenant's settings do not allow before any work is done.
pub(super) fn admit(
    rules: &TenantRules,
    ctx: &RequestContext,
    operation: Operation,
) -> Result<(), ScimError> {
    let settings = &rules.settings;
    if !settings.enabled {
        return Err(ScimError::new(
            403,
            None,
            format!(
                "provisioning is turned off for the tenant \"{}\" in Roster, so every SCIM \
                 request is refused; a Roster admin can turn it on under Provisioning settings",
                ctx.tenant_slug
            ),
        ));
    }
    let refused = match operation {
        Operation::UserCreate if !settings.create_users => Some("Create users"),
        Operation::UserDelete if !settings.delete_users => Some("Delete users"),
        Operation::GroupCreate
        | Operation::GroupReplace
        | Operation::GroupPatch
        | Operation::GroupDelete
            if !settings.push_groups =>
        {
            Some("Push groups")
        }
        _ => None,
    };
    match refused {
        Some(action) => Err(action_refused(action, ctx)),
        None => Ok(()),
    }
}

fn action_refused(action: &str, ctx: &RequestContext) -> ScimError {
    ScimError::new(
        403,
        None,
        format!(
            "\"{action}\" is turned off for this tenant in Roster (Provisioning settings), so \
             this request is refused; turn it on in Roster, or turn the matching provisioning \
             action off in {}",
            ctx.idp.name()
        ),
    )
}

/// A PUT or PATCH: deactivation and reactivation need "Deactivate users" (as Okta's and
/// Tribeloo's "Deactivate users" covers both), any other change needs "Update users".
pub(super) fn check_update(
    rules: &TenantRules,
    ctx: &RequestContext,
    changes_active: bool,
    other_changes: bool,
) -> Result<(), ScimError> {
    if changes_active && !rules.settings.deactivate_users {
        return Err(action_refused("Deactivate users", ctx));
    }
    if other_changes && !rules.settings.update_users {
        return Err(action_refused("Update users", ctx));
    }
    Ok(())
}

/// The lower-cased domain of an email-shaped value.
fn domain_of(value: &str) -> Option<String> {
    let (local, domain) = value.rsplit_once('@')?;
    let domain = domain.trim().trim_end_matches('.');
    (!local.is_empty() && !domain.is_empty()).then(|| super::fold_case(domain))
}

/// The user's email-shaped identities: `userName` when it is an address, and the
/// primary email.
fn identities(cols: &UserColumns) -> Vec<(&'static str, String, String)> {
    let mut out = Vec::with_capacity(2);
    if let Some(domain) = domain_of(&cols.user_name) {
        out.push(("userName", cols.user_name.clone(), domain));
    }
    if let Some(email) = &cols.primary_email_lower
        && let Some(domain) = domain_of(email)
    {
        out.push(("the primary email", email.clone(), domain));
    }
    out
}

/// With at least one verified domain, the user's userName and primary email must be in
/// one. With "Only users in verified domains" on and no verified domain, nobody passes.
/// `creating` words the refusal ("add" or "update").
pub(super) fn check_domains(
    rules: &TenantRules,
    ctx: &RequestContext,
    cols: &UserColumns,
    creating: bool,
) -> Result<(), ScimError> {
    let verified: Vec<_> = rules.verified_domains().collect();
    if verified.is_empty() {
        if rules.settings.domains_only {
            return Err(no_verified_domain(cols, creating));
        }
        return Ok(());
    }
    let allowed = verified
        .iter()
        .map(|d| d.describe())
        .collect::<Vec<_>>()
        .join(", ");
    let identities = identities(cols);
    if identities.is_empty() {
        return Err(ScimError::invalid_value(format!(
            "userName \"{}\" is not an email address and the user has no primary email, so \
             Roster cannot check it against this tenant's trusted domains ({allowed}); send \
             the user's email as userName or as a primary email",
            cols.user_name
        )));
    }
    for (what, value, domain) in identities {
        if !verified.iter().any(|d| d.covers(&domain)) {
            return Err(ScimError::invalid_value(format!(
                "{what} \"{value}\" is in the domain \"{domain}\", which is not a trusted \
                 domain of this tenant (allowed: {allowed}); add and verify {domain} in Roster \
                 under Trusted domains, or give the user an address in an allowed domain in {}",
                ctx.idp.name()
            )));
        }
    }
    Ok(())
}

/// "Only users in verified domains" is on, and the tenant has not verified a domain yet:
/// 403, saying what to verify.
fn no_verified_domain(cols: &UserColumns, creating: bool) -> ScimError {
    let verb = if creating { "add" } else { "update" };
    ScimError::new(
        403,
        None,
        format!(
            "\"Only users in verified domains\" is on for this tenant in Roster and no domain \
             is verified yet, so Roster does not {verb} \"{}\"; verify your email domain in \
             Roster under Trusted domains (publish its DNS TXT record, then press Verify), or \
             turn \"Only users in verified domains\" off under Provisioning settings",
            cols.user_name
        ),
    )
}

/// A token limited to one domain may only create or change users of that domain.
pub(super) fn check_token_scope(
    rules: &TenantRules,
    ctx: &RequestContext,
    cols: &UserColumns,
) -> Result<(), ScimError> {
    let Some(domain_id) = ctx.token_domain else {
        return Ok(());
    };
    let refuse = |scope: &str| {
        ScimError::new(
            403,
            None,
            format!(
                "this SCIM token is limited to the domain {scope}, and the user \"{}\" is not \
                 in it; use this domain's users only, or a token without a domain scope",
                cols.user_name
            ),
        )
    };
    let Some(domain) = rules.domain(domain_id) else {
        // The domain was removed (its tokens are revoked with it); refuse in between.
        return Err(refuse("that no longer exists"));
    };
    let identities = identities(cols);
    if identities.is_empty() || !identities.iter().all(|(_, _, d)| domain.covers(d)) {
        return Err(refuse(&domain.describe()));
    }
    Ok(())
}

/// The values the mapping rules look at, for comparing a user before and after a change.
pub(super) fn mapping_inputs(
    rules: &TenantRules,
    schema: &ResourceSchema,
    doc: &JsonObject,
) -> Vec<Vec<String>> {
    rules
        .mapping
        .iter()
        .map(|rule| rule.values_in(schema, doc))
        .collect()
}

/// What a write that needs the user's hosts is doing, for the words of a refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum HostsFor {
    Create,
    Update,
    Reactivation,
}

/// Where the user becomes a host: the first rule that matches. With "assign users to
/// locations and kiosks as host" on, a user who matches no rule is refused, with the
/// values that matched nothing.
pub(super) fn hosts_for(
    rules: &TenantRules,
    ctx: &RequestContext,
    schema: &ResourceSchema,
    doc: &JsonObject,
    write: HostsFor,
) -> Result<Hosts, ScimError> {
    let inputs = mapping_inputs(rules, schema, doc);
    if let Some(rule) = rules
        .mapping
        .iter()
        .zip(&inputs)
        .find(|(rule, values)| rule.matches(values))
        .map(|(rule, _)| rule)
    {
        let mut hosts = Hosts::of_rule(rule);
        // Targets removed since the rule was written are simply gone.
        hosts.locations.retain(|id| rules.location(*id).is_some());
        hosts.kiosks.retain(|id| rules.kiosk(*id).is_some());
        return Ok(hosts);
    }
    if !rules.settings.assign_hosts {
        return Ok(Hosts::default());
    }
    let mut seen: Vec<String> = Vec::new();
    for (rule, values) in rules.mapping.iter().zip(&inputs) {
        let text = match values.as_slice() {
            [] => format!("{} has no value", rule.attribute),
            [one] => format!("{} is \"{one}\"", rule.attribute),
            many => format!(
                "{} is {}",
                rule.attribute,
                many.iter()
                    .map(|v| format!("\"{v}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        if !seen.contains(&text) {
            seen.push(text);
        }
    }
    let found = if seen.is_empty() {
        "no mapping rules are defined yet".to_owned()
    } else {
        seen.join("; ")
    };
    let refused = match write {
        HostsFor::Create => "does not add it",
        HostsFor::Update => "does not apply this update (the user keeps its current values)",
        HostsFor::Reactivation => "does not reactivate it",
    };
    Err(ScimError::invalid_value(format!(
        "no location mapping rule matches this user, so Roster {refused} (\"Assign users to \
         locations and kiosks as host\" is on): {found}. Add a mapping rule for this value in \
         Roster under Locations, or change the user's attribute in {}",
        ctx.idp.name()
    )))
}
