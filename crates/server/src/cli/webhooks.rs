//! `roster webhook list|disable|enable`.

use std::process::ExitCode;

use clap::Subcommand;
use serde::Serialize;

use super::output::{json, table};
use super::{open_migrated, println_out};
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub(super) enum WebhookOps {
    /// List a tenant's webhook endpoints with their pending and failed deliveries.
    List {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        json: bool,
    },
    /// Stop creating deliveries for an endpoint (a receiver gone for long, or one that
    /// should get no more data); deliveries already queued are still attempted.
    Disable {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// The endpoint's id, as `list` shows it.
        endpoint: String,
    },
    /// Send events to a disabled endpoint again.
    Enable {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// The endpoint's id, as `list` shows it.
        endpoint: String,
    },
}

#[derive(Serialize)]
struct Listed {
    id: String,
    url: String,
    enabled: bool,
    /// `None` = every event type.
    event_types: Option<Vec<String>>,
    description: String,
    pending: u64,
    delivered: u64,
    failed: u64,
}

pub(super) async fn run(config: &Config, command: WebhookOps) -> anyhow::Result<ExitCode> {
    let services = open_migrated(config).await?;
    let operations = services.operations();
    let result = async {
        match command {
            WebhookOps::List {
                tenant,
                json: as_json,
            } => {
                let endpoints: Vec<Listed> = operations
                    .webhooks(&tenant)
                    .await?
                    .into_iter()
                    .map(|(endpoint, counts)| Listed {
                        id: endpoint.id.0.to_string(),
                        url: endpoint.url,
                        enabled: endpoint.enabled,
                        event_types: endpoint.event_types,
                        description: endpoint.description,
                        pending: counts.pending,
                        delivered: counts.delivered,
                        failed: counts.failed,
                    })
                    .collect();
                if as_json {
                    return json(&endpoints);
                }
                if endpoints.is_empty() {
                    println_out(&format!("The tenant {tenant} has no webhook endpoints."));
                    return Ok(());
                }
                let rows: Vec<Vec<String>> = endpoints
                    .into_iter()
                    .map(|e| {
                        vec![
                            e.id,
                            if e.enabled { "enabled" } else { "disabled" }.to_owned(),
                            e.pending.to_string(),
                            e.failed.to_string(),
                            e.event_types
                                .map_or_else(|| "all".to_owned(), |types| types.join(",")),
                            e.url,
                        ]
                    })
                    .collect();
                table(
                    &["ID", "STATE", "PENDING", "FAILED", "EVENTS", "URL"],
                    &rows,
                );
                Ok(())
            }
            WebhookOps::Disable { tenant, endpoint } => {
                let endpoint = operations
                    .set_webhook_enabled(&tenant, &endpoint, false)
                    .await?;
                println_out(&format!(
                    "Disabled webhook endpoint {} ({}): it gets no new deliveries (those already \
                     queued are still attempted). `roster webhook enable` turns it on again.",
                    endpoint.id.0, endpoint.url
                ));
                Ok(())
            }
            WebhookOps::Enable { tenant, endpoint } => {
                let endpoint = operations
                    .set_webhook_enabled(&tenant, &endpoint, true)
                    .await?;
                println_out(&format!(
                    "Enabled webhook endpoint {} ({}).",
                    endpoint.id.0, endpoint.url
                ));
                Ok(())
            }
        }
    }
    .await;
    services.db().clone().close().await;
    result.map(|()| ExitCode::SUCCESS)
}
