//! The subcommands. Each group beyond `create` lives in its own module under `cli/`.

mod maintenance;
mod output;
mod tenant;
mod tokens;
mod webhooks;

use std::io::{BufRead, IsTerminal, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use roster_core::delivery::EndpointForm;
use roster_core::tenants::{TenantName, TenantSlug};
use roster_core::tokens::TokenLabel;
use roster_core::{Database, Services};
use secrecy::{ExposeSecret, SecretString};

use crate::admin_cli::{self, AdminCommand};
use crate::config::Config;
use crate::{serve, telemetry};

#[derive(Debug, Parser)]
#[command(
    name = "roster",
    version,
    about = "Multi-tenant SCIM 2.0 provisioning gateway"
)]
pub struct Args {
    /// A TOML configuration file (settings in ROSTER_* variables override it).
    #[arg(long, global = true, env = "ROSTER_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply pending database migrations and exit (--status: only show them).
    Migrate(maintenance::MigrateArgs),
    /// Copy the SQLite database consistently while it serves (PostgreSQL: print the
    /// pg_dump command).
    Backup(maintenance::BackupArgs),
    /// Replace the SQLite database with a backup (stop the node first).
    Restore(maintenance::RestoreArgs),
    /// Manage admin accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Manage tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Manage SCIM tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Manage webhook endpoints.
    Webhook {
        #[command(subcommand)]
        command: WebhookCommand,
    },
    /// Manage API keys (events and directory API).
    ApiKey {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Manage the encryption of secrets stored in the database.
    Secrets {
        #[command(subcommand)]
        command: SecretsCommand,
    },
    /// Exit 0 when the local node answers /readyz with 200 (for container health checks).
    Healthcheck {
        /// Address to check; defaults to the configured listen address.
        #[arg(long)]
        addr: Option<SocketAddr>,
    },
}

#[derive(Debug, Subcommand)]
enum TenantCommand {
    /// Create a tenant.
    Create {
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        /// SCIM requests per second per token (0 = unlimited); default: ROSTER_SCIM_RATE_LIMIT.
        #[arg(long)]
        scim_rate_limit: Option<u32>,
    },
    #[command(flatten)]
    Manage(tenant::TenantOps),
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token (or API key) for a tenant and print it once.
    Create {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        label: String,
        /// Days until the token expires; without it, it does not expire.
        #[arg(long)]
        expires_in_days: Option<u64>,
        /// API keys only: the key may also seed users (`POST /api/v1/users`); without
        /// it, the key reads only.
        #[arg(long)]
        write: bool,
    },
    #[command(flatten)]
    Manage(tokens::TokenOps),
}

#[derive(Debug, Subcommand)]
enum WebhookCommand {
    /// Add a webhook endpoint to a tenant and print its signing secret once.
    Create {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// The URL that receives the events.
        #[arg(long)]
        url: String,
        #[arg(long, default_value = "")]
        description: String,
        /// Event types, comma-separated (e.g. user.created,user.deleted); default: all.
        #[arg(long, value_delimiter = ',')]
        events: Vec<String>,
    },
    #[command(flatten)]
    Manage(webhooks::WebhookOps),
}

#[derive(Debug, Subcommand)]
enum SecretsCommand {
    /// Re-encrypt every stored webhook signing secret with ROSTER_SECRET_KEY (after
    /// setting a new key, with the old one as ROSTER_SECRET_KEY_PREVIOUS).
    Rotate {
        /// Replace secrets that no configured key decrypts (a lost key) with new ones;
        /// their tenant admins must then rotate the secret and update their receivers.
        #[arg(long)]
        replace_undecryptable: bool,
    },
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = Config::load(args.config.as_deref())?;
    telemetry::init(config.log_format, &config.log_level);
    match args.command.unwrap_or(Command::Serve) {
        Command::Serve => serve::serve(config).await,
        Command::Migrate(args) => maintenance::migrate(&config, args).await,
        Command::Backup(args) => maintenance::backup(&config, args).await,
        Command::Restore(args) => maintenance::restore(&config, args).await,
        Command::Tenant {
            command: TenantCommand::Manage(command),
        } => tenant::run(&config, command).await,
        Command::Token {
            command: TokenCommand::Manage(command),
        } => tokens::run(&config, roster_core::tokens::TokenKind::Scim, command).await,
        Command::ApiKey {
            command: TokenCommand::Manage(command),
        } => tokens::run(&config, roster_core::tokens::TokenKind::Api, command).await,
        Command::Webhook {
            command: WebhookCommand::Manage(command),
        } => webhooks::run(&config, command).await,
        Command::Admin { command } => {
            let services = open_migrated(&config).await?;
            let outcome = admin_cli::run(&services, command).await;
            services.db().clone().close().await;
            outcome
        }
        Command::Tenant {
            command:
                TenantCommand::Create {
                    slug,
                    name,
                    scim_rate_limit,
                },
        } => {
            let services = open_migrated(&config).await?;
            let tenant = services
                .tenants()
                .create(TenantSlug::parse_new(&slug)?, TenantName::parse(&name)?)
                .await?;
            if scim_rate_limit.is_some() {
                services
                    .tenants()
                    .set_scim_rate_limit(tenant.id, scim_rate_limit)
                    .await?;
            }
            let base = config.public_url()?;
            println_out(&format!(
                "Created tenant {} ({}).\nSCIM base URL: {}",
                tenant.slug,
                tenant.name,
                scim_base_url(&base, tenant.slug.as_str())
            ));
            services.db().clone().close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Token {
            command:
                TokenCommand::Create {
                    tenant,
                    label,
                    expires_in_days,
                    write,
                },
        } => {
            if write {
                bail!(
                    "--write is for API keys (roster api-key create); a SCIM token's endpoint decides what it may do"
                );
            }
            let services = open_migrated(&config).await?;
            let (created, slug) = create_secret(
                &services,
                services.tokens(),
                &tenant,
                &label,
                (expires_in_days, roster_core::tokens::ApiScope::Read),
            )
            .await?;
            let shared = if config.scim_shared_url {
                format!(
                    "\nShared SCIM base URL (the token decides the tenant): {}",
                    scim_shared_url(&config.public_url()?)
                )
            } else {
                String::new()
            };
            println_out(&format!(
                "{}\n\nThis token is shown once. SCIM base URL: {}{shared}",
                created.token.expose_secret(),
                scim_base_url(&config.public_url()?, slug.as_str())
            ));
            services.db().clone().close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Webhook {
            command:
                WebhookCommand::Create {
                    tenant,
                    url,
                    description,
                    events,
                },
        } => {
            let services = open_migrated(&config).await?;
            let Some(access) = services.memberships().command_line_access(&tenant).await? else {
                bail!("there is no tenant with the slug \"{tenant}\"");
            };
            let form = EndpointForm::parse(&url, &description, &events, true)?;
            let (endpoint, secret) = services.webhooks().create(&access, form).await?;
            println_out(&format!(
                "{}\n\nThis signing secret is shown once. Endpoint {} receives {} events.",
                secret.expose_secret(),
                endpoint.id.0,
                endpoint
                    .event_types
                    .map_or_else(|| "all".to_owned(), |types| types.join(", ")),
            ));
            services.db().clone().close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::ApiKey {
            command:
                TokenCommand::Create {
                    tenant,
                    label,
                    expires_in_days,
                    write,
                },
        } => {
            let services = open_migrated(&config).await?;
            let scope = if write {
                roster_core::tokens::ApiScope::Write
            } else {
                roster_core::tokens::ApiScope::Read
            };
            let (created, _) = create_secret(
                &services,
                services.api_keys(),
                &tenant,
                &label,
                (expires_in_days, scope),
            )
            .await?;
            println_out(&format!(
                "{}\n\nThis API key is shown once. API base URL: {}/api/v1",
                created.token.expose_secret(),
                config.public_url()?.as_str().trim_end_matches('/')
            ));
            services.db().clone().close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Secrets {
            command: SecretsCommand::Rotate {
                replace_undecryptable,
            },
        } => {
            let services = open_services(&config).await?;
            let keyring = services.config().keyring.clone();
            let rotation = services
                .secrets_at_rest()
                .rotate(replace_undecryptable)
                .await;
            services.db().clone().close().await;
            let rotation = rotation?;
            let mut text = format!(
                "Re-encrypted {} webhook signing secret(s) with key {}; every stored secret is now encrypted with ROSTER_SECRET_KEY.",
                rotation.resealed,
                keyring.current_id()
            );
            if rotation.replaced > 0 {
                text.push_str(&format!(
                    "\nReplaced {} secret(s) that no key decrypted. Their tenant admins must rotate the signing secret of these endpoints and give the new one to their receivers:",
                    rotation.replaced
                ));
                for endpoint in &rotation.replaced_endpoints {
                    text.push_str(&format!("\n  {endpoint}"));
                }
            }
            if keyring.previous_id().is_some() {
                text.push_str("\nROSTER_SECRET_KEY_PREVIOUS is no longer needed once every node runs with this key.");
            }
            println_out(&text);
            Ok(ExitCode::SUCCESS)
        }
        Command::Healthcheck { addr } => healthcheck(addr.unwrap_or(config.listen)),
    }
}

/// Creates a SCIM token or an API key (`kind` is the service of either) for a tenant.
async fn create_secret(
    services: &Services,
    kind: &roster_core::tokens::TokenService,
    tenant: &str,
    label: &str,
    (expires_in_days, scope): (Option<u64>, roster_core::tokens::ApiScope),
) -> anyhow::Result<(roster_core::tokens::CreatedToken, TenantSlug)> {
    // The operator's authority over the tenant: the same proof an admin's request
    // carries, audited as the command line.
    let Some(access) = services.memberships().command_line_access(tenant).await? else {
        bail!("there is no tenant with the slug \"{tenant}\"");
    };
    let expires_at = expires_in_days.map(|days| {
        services
            .clock()
            .now()
            .plus(Duration::from_secs(days.saturating_mul(86_400)))
    });
    let created = kind
        .create_api_key(&access, TokenLabel::parse(label)?, expires_at, scope)
        .await?;
    Ok((created, access.slug().clone()))
}

/// `{public_url}/scim/v2`, where every tenant's token works (`ROSTER_SCIM_SHARED_URL`).
pub fn scim_shared_url(public_url: &url::Url) -> String {
    format!("{}/scim/v2", public_url.as_str().trim_end_matches('/'))
}

pub fn scim_base_url(public_url: &url::Url, slug: &str) -> String {
    format!(
        "{}/scim/v2/{slug}",
        public_url.as_str().trim_end_matches('/')
    )
}

async fn open(config: &Config) -> anyhow::Result<Database> {
    Ok(Database::connect(&config.database_url()?, &config.database_options()).await?)
}

/// The services on the migrated database, with the stored secrets checked as `serve`
/// checks them.
async fn open_migrated(config: &Config) -> anyhow::Result<Services> {
    let services = open_services(config).await?;
    if let Err(err) = services.secrets_at_rest().prepare().await {
        services.db().clone().close().await;
        return Err(err.into());
    }
    Ok(services)
}

/// The services on the migrated database, with this deployment's keys.
async fn open_services(config: &Config) -> anyhow::Result<Services> {
    let url = config.database_url()?;
    let keyring = config.keyring(&url)?;
    let db = open(config).await?;
    db.migrate().await.context("applying migrations failed")?;
    Ok(Services::new(db, config.core_config(keyring)?))
}

/// What a command prints for its user goes to stdout, apart from the logs.
#[allow(clippy::print_stdout)]
pub fn println_out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}");
    let _ = stdout.flush();
}

pub fn read_password() -> anyhow::Result<SecretString> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let second = rpassword::prompt_password("Repeat the password: ")?;
        if first != second {
            bail!("the two passwords differ");
        }
        Ok(SecretString::from(first))
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(SecretString::from(
            line.trim_end_matches(['\r', '\n']).to_owned(),
        ))
    }
}

/// A minimal HTTP/1.0 GET of `/readyz`, so the check needs nothing but the binary.
fn healthcheck(addr: SocketAddr) -> anyhow::Result<ExitCode> {
    let target = if addr.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], addr.port()))
    } else {
        addr
    };
    let mut stream = TcpStream::connect_timeout(&target, Duration::from_secs(3))
        .with_context(|| format!("nothing answers at {target}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(stream, "GET /readyz HTTP/1.0\r\nHost: {target}\r\n\r\n")?;
    let mut response = String::new();
    stream.take(4096).read_to_string(&mut response)?;
    let status_ok = response
        .lines()
        .next()
        .is_some_and(|line| line.split_whitespace().nth(1) == Some("200"));
    if status_ok {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "not ready: {}",
            response.lines().next().unwrap_or("no answer")
        );
        Ok(ExitCode::FAILURE)
    }
}
