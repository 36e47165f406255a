//! `roster tenant list|show|update|suspend|resume`.

use std::process::ExitCode;

use anyhow::bail;
use clap::Subcommand;
use roster_core::Services;
use roster_core::operations::{TenantDetails, TenantSummary, TenantUpdate};
use roster_core::tenants::{TenantName, TenantStatus};

use super::output::{json, or_dash, table};
use super::{open_migrated, println_out, scim_base_url};
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub(super) enum TenantOps {
    /// List every tenant: slug, name, status, SCIM rate limit.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one tenant: its settings, users, groups, tokens and webhook backlog.
    Show {
        /// The tenant's slug.
        slug: String,
        #[arg(long)]
        json: bool,
    },
    /// Change a tenant's name or SCIM rate limit.
    Update {
        /// The tenant's slug.
        slug: String,
        /// The new display name.
        #[arg(long)]
        name: Option<String>,
        /// Requests per second per token: a number (0 = unlimited) or `default`
        /// (ROSTER_SCIM_RATE_LIMIT).
        #[arg(long)]
        scim_rate_limit: Option<String>,
    },
    /// Suspend a tenant: its SCIM endpoint and API answer 403 within a second on every
    /// node; its data and admins stay.
    Suspend {
        /// The tenant's slug.
        slug: String,
    },
    /// Resume a suspended tenant.
    Resume {
        /// The tenant's slug.
        slug: String,
    },
}

pub(super) async fn run(config: &Config, command: TenantOps) -> anyhow::Result<ExitCode> {
    let services = open_migrated(config).await?;
    let result = execute(config, &services, command).await;
    services.db().clone().close().await;
    result.map(|()| ExitCode::SUCCESS)
}

async fn execute(config: &Config, services: &Services, command: TenantOps) -> anyhow::Result<()> {
    let operations = services.operations();
    match command {
        TenantOps::List { json: as_json } => {
            let tenants = operations.tenants().await?;
            if as_json {
                return json(&tenants);
            }
            if tenants.is_empty() {
                println_out(
                    "No tenants yet. Create one with `roster tenant create --slug … --name …`.",
                );
                return Ok(());
            }
            let rows: Vec<Vec<String>> = tenants
                .iter()
                .map(|t| {
                    vec![
                        t.slug.clone(),
                        t.status.to_owned(),
                        rate(t.scim_rate_limit),
                        t.created_at.clone(),
                        t.name.clone(),
                    ]
                })
                .collect();
            table(&["SLUG", "STATUS", "RATE LIMIT", "CREATED", "NAME"], &rows);
        }
        TenantOps::Show {
            slug,
            json: as_json,
        } => {
            let details = operations.tenant(&slug).await?;
            if as_json {
                return json(&details);
            }
            println_out(&describe(
                &details,
                &scim_base_url(&config.public_url()?, &slug),
            ));
        }
        TenantOps::Update {
            slug,
            name,
            scim_rate_limit,
        } => {
            if name.is_none() && scim_rate_limit.is_none() {
                bail!("nothing to change: give --name or --scim-rate-limit");
            }
            let update = TenantUpdate {
                name: name.as_deref().map(TenantName::parse).transpose()?,
                scim_rate_limit: scim_rate_limit.as_deref().map(parse_rate).transpose()?,
                status: None,
            };
            let tenant = operations.update_tenant(&slug, update).await?;
            println_out(&format!(
                "Updated tenant {}: name \"{}\", SCIM rate limit {}.",
                tenant.slug,
                tenant.name,
                rate(tenant.scim_rate_limit)
            ));
        }
        TenantOps::Suspend { slug } => {
            let tenant = set_status(services, &slug, TenantStatus::Suspended).await?;
            println_out(&format!(
                "Suspended tenant {}: its SCIM endpoint and API refuse requests (403) within a \
                 second on every node. Resume it with `roster tenant resume {}`.",
                tenant.slug, tenant.slug
            ));
        }
        TenantOps::Resume { slug } => {
            let tenant = set_status(services, &slug, TenantStatus::Active).await?;
            println_out(&format!(
                "Resumed tenant {}: its SCIM endpoint and API accept requests again.",
                tenant.slug
            ));
        }
    }
    Ok(())
}

async fn set_status(
    services: &Services,
    slug: &str,
    status: TenantStatus,
) -> anyhow::Result<TenantSummary> {
    let update = TenantUpdate {
        status: Some(status),
        ..TenantUpdate::default()
    };
    Ok(services.operations().update_tenant(slug, update).await?)
}

/// `--scim-rate-limit`: a number, or `default` for the server's.
fn parse_rate(raw: &str) -> anyhow::Result<Option<u32>> {
    let raw = raw.trim();
    if raw.eq_ignore_ascii_case("default") {
        return Ok(None);
    }
    match raw.parse::<u32>() {
        Ok(n) => Ok(Some(n)),
        Err(_) => bail!(
            "--scim-rate-limit must be a number of requests per second (0 = unlimited) or \"default\", not \"{raw}\""
        ),
    }
}

fn rate(limit: Option<u32>) -> String {
    match limit {
        None => "default".to_owned(),
        Some(0) => "unlimited".to_owned(),
        Some(n) => format!("{n}/s"),
    }
}

fn describe(details: &TenantDetails, base_url: &str) -> String {
    let t = &details.tenant;
    [
        format!("Tenant {} ({})", t.slug, t.name),
        format!("  status:             {}", t.status),
        format!("  created:            {}", t.created_at),
        format!("  SCIM base URL:      {base_url}"),
        format!("  SCIM rate limit:    {}", rate(t.scim_rate_limit)),
        format!(
            "  users:              {} ({} active)",
            details.users, details.active_users
        ),
        format!("  groups:             {}", details.groups),
        format!("  live SCIM tokens:   {}", details.live_tokens),
        format!("  live API keys:      {}", details.live_api_keys),
        format!(
            "  last SCIM request:  {}",
            or_dash(details.last_scim_request.clone())
        ),
        format!("  webhook endpoints:  {}", details.webhook_endpoints),
        format!(
            "  deliveries:         {} pending, {} failed",
            details.pending_deliveries, details.failed_deliveries
        ),
    ]
    .join("\n")
}
