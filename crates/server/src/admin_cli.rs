//! `roster admin …`: accounts from the server's command line, with the authority of
//! whoever holds the database anyway. The recovery path when nobody can sign in: a new
//! one-time password, locks cleared, a stray account removed.

use std::process::ExitCode;

use anyhow::bail;
use clap::Subcommand;
use roster_core::Services;
use roster_core::admins::{AccountScope, AccountSummary, AdminEmail, NewPassword, Role};
use roster_core::time::Timestamp;
use secrecy::ExposeSecret;

use crate::cli::{println_out, read_password};

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an admin; the password is prompted for, or read from stdin when piped.
    Create {
        #[arg(long)]
        email: String,
        /// The tenant (slug) whose admin this is; the account is for that tenant only.
        #[arg(long, conflicts_with = "operator")]
        tenant: Option<String>,
        /// Make the admin an operator (every tenant).
        #[arg(long)]
        operator: bool,
    },
    /// List the admin accounts: operators, then each tenant's.
    List {
        /// Only this tenant's admins.
        #[arg(long)]
        tenant: Option<String>,
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Give an account a new one-time password (printed once, valid for 24 hours); ends
    /// its sessions and clears its sign-in locks.
    ResetPassword {
        #[arg(long)]
        email: String,
        /// The tenant (slug) of a tenant's admin; without it, an operator.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Clear the sign-in locks of an account (from every address and browser), or of one
    /// client address.
    Unlock {
        #[arg(long, required_unless_present = "address")]
        email: Option<String>,
        /// The tenant (slug) of a tenant's admin; without it, an operator.
        #[arg(long, conflicts_with = "address")]
        tenant: Option<String>,
        /// A client address whose per-address lock to clear.
        #[arg(long, conflicts_with = "email")]
        address: Option<std::net::IpAddr>,
    },
    /// Delete an account (its sessions end). The last operator cannot be removed.
    Remove {
        #[arg(long)]
        email: String,
        /// The tenant (slug) of a tenant's admin; without it, an operator.
        #[arg(long)]
        tenant: Option<String>,
    },
}

pub async fn run(services: &Services, command: AdminCommand) -> anyhow::Result<ExitCode> {
    match command {
        AdminCommand::Create {
            email,
            tenant,
            operator,
        } => {
            let email = AdminEmail::parse(&email)?;
            let role = match (tenant, operator) {
                (Some(slug), _) => Role::TenantAdmin(find_tenant(services, &slug).await?.id),
                (None, true) => Role::Operator,
                (None, false) => bail!(
                    "say whose admin this is: --tenant <slug> for a tenant's admin, or --operator"
                ),
            };
            let password = NewPassword::parse(read_password()?)?;
            let admin = services
                .admins()
                .create(email, password, role, false)
                .await?;
            println_out(&format!("Created admin {}.", admin.email));
        }
        AdminCommand::List { tenant, json } => {
            let tenant = match tenant {
                Some(slug) => Some(find_tenant(services, &slug).await?.id),
                None => None,
            };
            let accounts = services.admins().list(tenant).await?;
            if json {
                let now = services.clock().now();
                let rows: Vec<serde_json::Value> =
                    accounts.iter().map(|a| account_json(a, now)).collect();
                println_out(&serde_json::to_string_pretty(&rows)?);
            } else {
                println_out(&account_table(&accounts, services.clock().now()));
            }
        }
        AdminCommand::ResetPassword { email, tenant } => {
            let scope = scope(services, tenant.as_deref()).await?;
            let email = AdminEmail::parse(&email)?;
            let Some(issued) = services.admins().reset_password(&scope, &email).await? else {
                bail!("{}", no_such_account(&scope, &email));
            };
            let organization = match &scope {
                AccountScope::Operators => "(empty: an operator)".to_owned(),
                AccountScope::Tenant(tenant) => tenant.slug.to_string(),
            };
            // Printed once, to stdout, never logged.
            println_out(&format!(
                "New one-time password for {}.\n  organization:       {organization}\n  one-time password:  {}\n  valid until:        {}\nSign in and choose a new password. This password is not shown again; the account's sessions have ended.",
                issued.email,
                issued.password.expose_secret(),
                issued.expires_at.to_rfc3339(),
            ));
        }
        AdminCommand::Unlock {
            email,
            tenant,
            address,
        } => match (email, address) {
            (_, Some(address)) => {
                let cleared = services.admins().unlock_address(address).await?;
                println_out(&format!(
                    "Cleared the sign-in lock of {address} ({cleared} record(s))."
                ));
            }
            (Some(email), None) => {
                let scope = scope(services, tenant.as_deref()).await?;
                let email = AdminEmail::parse(&email)?;
                let cleared = services.admins().unlock(&scope, &email).await?;
                println_out(&format!(
                    "Cleared the sign-in locks of {email} ({cleared} record(s))."
                ));
            }
            (None, None) => bail!("say what to unlock: --email (with --tenant) or --address"),
        },
        AdminCommand::Remove { email, tenant } => {
            let scope = scope(services, tenant.as_deref()).await?;
            let email = AdminEmail::parse(&email)?;
            match services.admins().remove(&scope, &email).await {
                Ok(()) => println_out(&format!("Removed {email}.")),
                Err(roster_core::Error::NotFound) => {
                    bail!("{}", no_such_account(&scope, &email))
                }
                Err(err) => return Err(err.into()),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn find_tenant(
    services: &Services,
    slug: &str,
) -> anyhow::Result<roster_core::tenants::Tenant> {
    match services.tenants().find_by_slug(slug).await? {
        Some(tenant) => Ok(tenant),
        None => bail!("there is no tenant with the slug \"{slug}\""),
    }
}

async fn scope(services: &Services, tenant: Option<&str>) -> anyhow::Result<AccountScope> {
    Ok(match tenant {
        Some(slug) => AccountScope::Tenant(find_tenant(services, slug).await?),
        None => AccountScope::Operators,
    })
}

fn no_such_account(scope: &AccountScope, email: &AdminEmail) -> String {
    match scope {
        AccountScope::Operators => format!(
            "there is no operator with the email {email} (a tenant's admin needs --tenant <slug>)"
        ),
        AccountScope::Tenant(tenant) => {
            format!(
                "tenant \"{}\" has no admin with the email {email}",
                tenant.slug
            )
        }
    }
}

fn status(account: &AccountSummary, now: Timestamp) -> &'static str {
    if account.must_change_password {
        match account.password_expires_at {
            Some(at) if at <= now => "one-time password expired",
            _ => "one-time password",
        }
    } else if !account.is_operator && account.organization.is_none() {
        // Made by an older release during a rolling upgrade: it cannot sign in.
        "no tenant (remove it)"
    } else {
        "active"
    }
}

fn account_json(account: &AccountSummary, now: Timestamp) -> serde_json::Value {
    serde_json::json!({
        "id": account.id.0,
        "email": account.email,
        "organization": account.organization,
        "role": if account.is_operator { "operator" } else { "tenant_admin" },
        "status": status(account, now),
        "must_change_password": account.must_change_password,
        "one_time_password_expires_at": account.password_expires_at.map(Timestamp::to_rfc3339),
        "created_at": account.created_at.to_rfc3339(),
        "last_login_at": account.last_login_at.map(Timestamp::to_rfc3339),
    })
}

fn account_table(accounts: &[AccountSummary], now: Timestamp) -> String {
    if accounts.is_empty() {
        return "No admin accounts.".to_owned();
    }
    let rows: Vec<[String; 5]> = accounts
        .iter()
        .map(|account| {
            [
                account
                    .organization
                    .clone()
                    .unwrap_or_else(|| "-".to_owned()),
                account.email.clone(),
                if account.is_operator {
                    "operator"
                } else {
                    "tenant admin"
                }
                .to_owned(),
                status(account, now).to_owned(),
                account
                    .last_login_at
                    .map_or_else(|| "never".to_owned(), Timestamp::to_rfc3339),
            ]
        })
        .collect();
    let header = ["ORGANIZATION", "EMAIL", "ROLE", "STATUS", "LAST SIGN-IN"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 5]| {
        cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    let mut out = vec![line(header)];
    for row in &rows {
        out.push(line([&row[0], &row[1], &row[2], &row[3], &row[4]]));
    }
    out.join("\n")
}
