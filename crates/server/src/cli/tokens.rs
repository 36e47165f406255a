//! `roster token list|revoke` (and the same for `roster api-key`).

use std::process::ExitCode;

use clap::Subcommand;
use roster_core::time::Timestamp;
use roster_core::tokens::{TokenInfo, TokenKind};
use serde::Serialize;

use super::output::{json, or_dash, table};
use super::{open_migrated, println_out};
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub(super) enum TokenOps {
    /// List a tenant's tokens, newest first (revoked and expired ones too), by prefix.
    List {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token: every node refuses it within a second.
    Revoke {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// The token's prefix as `list` shows it (rst_<16 hex>, rak_… for an API key) or
        /// its id.
        token: String,
    },
}

/// A token as listed: never its secret, which is not stored.
#[derive(Serialize)]
struct Listed {
    id: String,
    prefix: String,
    label: String,
    status: &'static str,
    created_at: String,
    expires_at: Option<String>,
    last_used_at: Option<String>,
    revoked_at: Option<String>,
    domain_limited: bool,
}

impl Listed {
    fn of(token: TokenInfo, now: Timestamp) -> Self {
        let status = if token.revoked_at.is_some() {
            "revoked"
        } else if token.is_live(now) {
            "live"
        } else {
            "expired"
        };
        Self {
            id: token.id.0.to_string(),
            prefix: token.display_prefix,
            label: token.label,
            status,
            created_at: token.created_at.to_rfc3339(),
            expires_at: token.expires_at.map(Timestamp::to_rfc3339),
            last_used_at: token.last_used_at.map(Timestamp::to_rfc3339),
            revoked_at: token.revoked_at.map(Timestamp::to_rfc3339),
            domain_limited: token.domain_id.is_some(),
        }
    }
}

pub(super) async fn run(
    config: &Config,
    kind: TokenKind,
    command: TokenOps,
) -> anyhow::Result<ExitCode> {
    let services = open_migrated(config).await?;
    let operations = services.operations();
    let what = match kind {
        TokenKind::Scim => "token",
        TokenKind::Api => "API key",
    };
    let result = async {
        match command {
            TokenOps::List {
                tenant,
                json: as_json,
            } => {
                let now = services.clock().now();
                let tokens: Vec<Listed> = operations
                    .tokens(&tenant, kind)
                    .await?
                    .into_iter()
                    .map(|token| Listed::of(token, now))
                    .collect();
                if as_json {
                    return json(&tokens);
                }
                if tokens.is_empty() {
                    println_out(&format!("The tenant {tenant} has no {what}s."));
                    return Ok(());
                }
                let rows: Vec<Vec<String>> = tokens
                    .into_iter()
                    .map(|t| {
                        vec![
                            t.prefix,
                            t.status.to_owned(),
                            t.created_at,
                            or_dash(t.expires_at),
                            or_dash(t.last_used_at),
                            t.label,
                        ]
                    })
                    .collect();
                table(
                    &["PREFIX", "STATUS", "CREATED", "EXPIRES", "LAST USED", "LABEL"],
                    &rows,
                );
                Ok(())
            }
            TokenOps::Revoke { tenant, token } => {
                let revoked = operations.revoke_token(&tenant, kind, &token).await?;
                println_out(&format!(
                    "Revoked {what} {} (\"{}\") of tenant {tenant}; every node refuses it within a second.",
                    revoked.display_prefix, revoked.label
                ));
                Ok(())
            }
        }
    }
    .await;
    services.db().clone().close().await;
    result.map(|()| ExitCode::SUCCESS)
}
