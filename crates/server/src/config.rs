//! Configuration: defaults, then an optional TOML file, then `ROSTER_*` environment
//! variables. An unknown key in either place is an error that names it.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use roster_core::delivery::{DeliverySettings, EgressPolicy};
use roster_core::hashing::HashingSettings;
use roster_core::rules::DnsSettings;
use roster_core::secrets::{self, Keyring, SecretKey};
use roster_core::{Backend, CoreConfig, DatabaseOptions, DatabaseUrl};
use roster_web::{CookieSecure, TrustedProxies, WebConfig};
use serde::{Deserialize, Serialize};
use url::Url;

mod tenant_defaults;

/// Environment variables that belong to the test suite, not to a running node.
const RESERVED_ENV_PREFIX: &str = "test_";

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum CookieSecureSetting {
    Auto,
    Always,
    Never,
}

/// Every setting, as read. See the README's configuration table.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub listen: SocketAddr,
    /// Defaults to `http://<listen>`.
    pub public_url: Option<String>,
    pub database_url: String,
    pub database_max_connections: u32,
    pub database_connect_timeout_secs: u64,
    pub log_format: LogFormat,
    /// A tracing filter, e.g. `info` or `roster_web=debug,info`; `RUST_LOG` wins if set.
    pub log_level: String,
    pub session_ttl_hours: u64,
    pub session_idle_timeout_minutes: u64,
    pub cookie_secure: CookieSecureSetting,
    pub shutdown_timeout_secs: u64,
    /// The email of the operator account created on the very first start.
    pub bootstrap_email: String,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// SCIM requests per second per token when the tenant sets none; 0 = unlimited.
    pub scim_rate_limit: u32,
    /// Seconds of its rate a token may spend at once (its burst).
    pub scim_rate_burst_secs: u32,
    /// Whether `/scim/v2` itself is a SCIM base URL for every tenant, the token deciding
    /// which (the per-tenant `/scim/v2/{slug}` always works).
    pub scim_shared_url: bool,
    /// Seconds between SIGTERM and closing the listener, during which `/readyz` answers
    /// 503 so that a load balancer stops sending new requests first.
    pub shutdown_drain_secs: u64,
    /// Whether metrics carry a `tenant` label (one series per tenant).
    pub metrics_tenant_labels: bool,
    /// The nameserver (`ip` or `ip:port`) trusted-domain verification asks; unset = the
    /// system's resolvers.
    pub dns_nameserver: Option<String>,
    /// How long one verification lookup may take.
    pub dns_timeout_secs: u64,
    /// Whether this node runs the webhook delivery worker.
    pub webhooks_enabled: bool,
    /// How often an idle delivery worker looks for new events.
    pub webhook_poll_interval_ms: u64,
    /// One webhook request's time limit.
    pub webhook_timeout_secs: u64,
    /// The first retry's delay; later retries double it (±20% jitter).
    pub webhook_retry_base_ms: u64,
    /// The longest delay between two attempts.
    pub webhook_retry_max_secs: u64,
    /// How long a delivery is retried before it is marked failed.
    pub webhook_give_up_hours: u64,
    /// Webhook requests in flight at once per node.
    pub webhook_concurrency: usize,
    /// Days finished deliveries stay in the history; 0 = forever.
    pub webhook_retention_days: u64,
    /// Networks webhooks may reach besides public addresses: CIDR networks or addresses,
    /// separated by commas or spaces. Empty = public addresses only.
    pub webhook_allowed_networks: String,
    /// The key that encrypts secrets stored in the database (32 bytes, base64).
    pub secret_key: Option<String>,
    /// A file holding `secret_key` (a Docker or Kubernetes secret).
    pub secret_key_file: Option<String>,
    /// The key before a rotation: still decrypts, never encrypts.
    pub secret_key_previous: Option<String>,
    /// A file holding `secret_key_previous`.
    pub secret_key_previous_file: Option<String>,
    /// Proxies (comma-separated networks or addresses) whose `X-Forwarded-For` names the
    /// client, for sign-in throttling; empty = use the peer's address.
    pub trusted_proxies: String,
    /// How long an admin invitation link works.
    pub invitation_ttl_hours: u64,
    /// Threads that compute argon2 (each holds 19 MiB while hashing passwords); 0 = one
    /// per core, at most 4.
    pub hashing_threads: usize,
    /// Password checks that may wait for a hashing thread; beyond them, "try again" (503).
    pub hashing_queue: usize,
    /// New tenants: whether provisioning starts on.
    pub tenant_provisioning_enabled: bool,
    /// New tenants: the identity provider's allowed actions, comma-separated, from
    /// `create`, `update`, `deactivate`, `delete`, `groups` (empty = none).
    pub tenant_allowed_actions: String,
    /// New tenants: what a POST for an existing user does, `conflict` or `override`.
    pub tenant_existing_user: String,
    /// New tenants: what an identity provider's deactivation does, `keep` or `delete`.
    pub tenant_deactivation: String,
    /// New tenants: "Only users in verified domains".
    pub tenant_domains_only: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            database_url: "sqlite://./data/roster.db".to_owned(),
            database_max_connections: 16,
            database_connect_timeout_secs: 10,
            log_format: LogFormat::Text,
            log_level: "info".to_owned(),
            session_ttl_hours: 12,
            session_idle_timeout_minutes: 60,
            cookie_secure: CookieSecureSetting::Auto,
            shutdown_timeout_secs: 30,
            bootstrap_email: "admin@localhost".to_owned(),
            workers: 0,
            scim_rate_limit: roster_core::services::DEFAULT_SCIM_RATE_LIMIT,
            scim_rate_burst_secs: roster_core::services::DEFAULT_SCIM_RATE_BURST_SECS,
            scim_shared_url: true,
            shutdown_drain_secs: 0,
            metrics_tenant_labels: false,
            dns_nameserver: None,
            dns_timeout_secs: 5,
            webhooks_enabled: true,
            webhook_poll_interval_ms: 200,
            webhook_timeout_secs: 10,
            webhook_retry_base_ms: 10_000,
            webhook_retry_max_secs: 3_600,
            webhook_give_up_hours: 24,
            webhook_concurrency: 64,
            webhook_retention_days: 30,
            webhook_allowed_networks: String::new(),
            secret_key: None,
            secret_key_file: None,
            secret_key_previous: None,
            secret_key_previous_file: None,
            trusted_proxies: String::new(),
            invitation_ttl_hours: 72,
            hashing_threads: 0,
            hashing_queue: 32,
            tenant_provisioning_enabled: true,
            tenant_allowed_actions: tenant_defaults::ALL_ACTIONS.join(","),
            tenant_existing_user: "conflict".to_owned(),
            tenant_deactivation: "keep".to_owned(),
            tenant_domains_only: false,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let database_url = DatabaseUrl::parse(&self.database_url)
            .map(|url| url.to_string())
            .unwrap_or_else(|_| "<invalid>".to_owned());
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("public_url", &self.public_url)
            .field("database_url", &database_url)
            .field("database_max_connections", &self.database_max_connections)
            .field("log_format", &self.log_format)
            .field("log_level", &self.log_level)
            .field("cookie_secure", &self.cookie_secure)
            .field("webhook_allowed_networks", &self.webhook_allowed_networks)
            .finish_non_exhaustive()
    }
}

/// Why the configuration was refused, in one sentence.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

impl Config {
    /// Reads defaults, the file (if given; it must exist) and the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError(format!(
                    "the configuration file {} does not exist",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        figment = figment.merge(Env::prefixed("ROSTER_").filter(|key| {
            let key = key.as_str().to_ascii_lowercase();
            key != "config" && !key.starts_with(RESERVED_ENV_PREFIX)
        }));
        let config: Config = figment.extract().map_err(describe)?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        DatabaseUrl::parse(&self.database_url).map_err(|err| {
            ConfigError(format!("ROSTER_DATABASE_URL {err}").replace("database_url: ", ""))
        })?;
        self.public_url()?;
        self.dns_settings()?;
        self.egress_policy()?;
        for (name, inline, file) in [
            ("ROSTER_SECRET_KEY", &self.secret_key, &self.secret_key_file),
            (
                "ROSTER_SECRET_KEY_PREVIOUS",
                &self.secret_key_previous,
                &self.secret_key_previous_file,
            ),
        ] {
            if set(inline).is_some() && set(file).is_some() {
                return Err(ConfigError(format!("set {name} or {name}_FILE, not both")));
            }
            if let Some(text) = set(inline) {
                SecretKey::parse(text).map_err(|err| ConfigError(format!("{name} {err}")))?;
            }
        }
        self.trusted_proxies()?;
        self.tenant_defaults()?;
        if self.invitation_ttl_hours == 0 {
            return Err(ConfigError(
                "ROSTER_INVITATION_TTL_HOURS must be greater than 0".to_owned(),
            ));
        }
        Ok(())
    }

    /// `ROSTER_WEBHOOK_ALLOWED_NETWORKS`.
    pub fn egress_policy(&self) -> Result<EgressPolicy, ConfigError> {
        EgressPolicy::parse(&self.webhook_allowed_networks)
            .map_err(|err| ConfigError(format!("ROSTER_WEBHOOK_ALLOWED_NETWORKS: {err}")))
    }

    /// The keys that seal stored secrets: `ROSTER_SECRET_KEY` (or its file) and
    /// `ROSTER_SECRET_KEY_PREVIOUS` (or its file). Without a key, a SQLite database gets
    /// one generated beside it (`secret.key`, owner-only) on first use, an in-memory one a
    /// key for the life of the process; PostgreSQL requires one, since nodes that share
    /// a database must share its key.
    pub fn keyring(&self, database: &DatabaseUrl) -> Result<Keyring, ConfigError> {
        let current = match self.key(
            "ROSTER_SECRET_KEY",
            &self.secret_key,
            &self.secret_key_file,
        )? {
            Some(key) => key,
            None => match (database.backend(), database.sqlite_file()) {
                (Backend::Postgres, _) => {
                    return Err(ConfigError(
                        "ROSTER_SECRET_KEY (or ROSTER_SECRET_KEY_FILE) must be set for a PostgreSQL \
                         database: it encrypts the webhook signing secrets stored there, and \
                         every node needs the same one (make one with `openssl rand -base64 32`)"
                            .to_owned(),
                    ));
                }
                (Backend::Sqlite, Some(file)) => {
                    let path = file.parent().map_or_else(
                        || PathBuf::from(KEY_FILE_NAME),
                        |dir| dir.join(KEY_FILE_NAME),
                    );
                    let found = secrets::read_or_create_key_file(&path)
                        .map_err(|err| ConfigError(err.to_string()))?;
                    if found.created {
                        tracing::info!(
                            path = %path.display(),
                            key = found.key.id(),
                            "generated the secret key that encrypts stored webhook secrets; back it up \
                             with the database"
                        );
                    }
                    warn_if_tightened(&path, found.tightened);
                    found.key
                }
                (Backend::Sqlite, None) => SecretKey::generate(),
            },
        };
        let previous = self.key(
            "ROSTER_SECRET_KEY_PREVIOUS",
            &self.secret_key_previous,
            &self.secret_key_previous_file,
        )?;
        Ok(Keyring::new(current, previous))
    }

    fn key(
        &self,
        name: &str,
        inline: &Option<String>,
        file: &Option<String>,
    ) -> Result<Option<SecretKey>, ConfigError> {
        if let Some(text) = set(inline) {
            return SecretKey::parse(text)
                .map(Some)
                .map_err(|err| ConfigError(format!("{name} {err}")));
        }
        let Some(path) = set(file) else {
            return Ok(None);
        };
        let path = Path::new(path);
        let found = secrets::read_key_file(path)
            .map_err(|err| ConfigError(format!("{name}_FILE: {err}")))?;
        warn_if_tightened(path, found.tightened);
        Ok(Some(found.key))
    }

    /// `ROSTER_TRUSTED_PROXIES`: networks (`10.0.0.0/8`) or addresses, comma-separated.
    pub fn trusted_proxies(&self) -> Result<TrustedProxies, ConfigError> {
        TrustedProxies::parse(&self.trusted_proxies).map_err(|entry| {
            ConfigError(format!(
                "ROSTER_TRUSTED_PROXIES: \"{entry}\" is neither an IP address nor a network \
                 (like 10.0.0.0/8)"
            ))
        })
    }

    fn hashing(&self) -> HashingSettings {
        let default = HashingSettings::default();
        HashingSettings {
            threads: if self.hashing_threads == 0 {
                default.threads
            } else {
                self.hashing_threads
            },
            queue: self.hashing_queue,
        }
    }

    pub fn database_url(&self) -> Result<DatabaseUrl, ConfigError> {
        DatabaseUrl::parse(&self.database_url).map_err(|err| ConfigError(err.to_string()))
    }

    pub fn database_options(&self) -> DatabaseOptions {
        DatabaseOptions {
            max_connections: self.database_max_connections,
            connect_timeout: Duration::from_secs(self.database_connect_timeout_secs),
            ..DatabaseOptions::default()
        }
    }

    pub fn public_url(&self) -> Result<Url, ConfigError> {
        let raw = match &self.public_url {
            Some(url) => url.clone(),
            None => format!("http://{}", self.listen),
        };
        let url = Url::parse(&raw).map_err(|err| {
            ConfigError(format!("ROSTER_PUBLIC_URL \"{raw}\" is not a URL ({err})"))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ConfigError(format!(
                "ROSTER_PUBLIC_URL \"{raw}\" must start with http:// or https://"
            )));
        }
        Ok(url)
    }

    /// `ROSTER_DNS_NAMESERVER`: an IP address, with an optional port (53 by default).
    pub fn dns_settings(&self) -> Result<DnsSettings, ConfigError> {
        let nameserver = match self.dns_nameserver.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => Some(
                raw.parse::<SocketAddr>()
                    .or_else(|_| raw.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
                    .map_err(|_| {
                        ConfigError(format!(
                            "ROSTER_DNS_NAMESERVER \"{raw}\" must be an IP address, optionally \
                             with a port (10.0.0.2 or 10.0.0.2:53)"
                        ))
                    })?,
            ),
        };
        if self.dns_timeout_secs == 0 {
            return Err(ConfigError(
                "ROSTER_DNS_TIMEOUT_SECS must be greater than 0".to_owned(),
            ));
        }
        Ok(DnsSettings {
            nameserver,
            timeout: Some(Duration::from_secs(self.dns_timeout_secs)),
        })
    }

    pub fn core_config(&self, keyring: Keyring) -> Result<CoreConfig, ConfigError> {
        Ok(CoreConfig {
            public_url: self.public_url()?.as_str().trim_end_matches('/').to_owned(),
            default_scim_rate_limit: self.scim_rate_limit,
            dns: self.dns_settings()?,
            delivery: DeliverySettings {
                enabled: self.webhooks_enabled,
                poll_interval: Duration::from_millis(self.webhook_poll_interval_ms.max(10)),
                timeout: Duration::from_secs(self.webhook_timeout_secs.max(1)),
                retry_base: Duration::from_millis(self.webhook_retry_base_ms.max(10)),
                retry_max: Duration::from_secs(self.webhook_retry_max_secs.max(1)),
                give_up_after: Duration::from_secs(self.webhook_give_up_hours.saturating_mul(3600)),
                concurrency: self.webhook_concurrency.max(1),
                retention: (self.webhook_retention_days > 0).then(|| {
                    Duration::from_secs(self.webhook_retention_days.saturating_mul(86_400))
                }),
                ..DeliverySettings::default()
            },
            egress: self.egress_policy()?,
            keyring,
            invitation_ttl: Duration::from_secs(self.invitation_ttl_hours.saturating_mul(3600)),
            hashing: self.hashing(),
            scim_rate_burst_secs: self.scim_rate_burst_secs,
            tenant_metrics: self.metrics_tenant_labels,
            tenant_defaults: self.tenant_defaults()?,
        })
    }

    /// How long a stopping node stays up, not ready, before it closes its listener.
    pub fn shutdown_drain(&self) -> Duration {
        Duration::from_secs(self.shutdown_drain_secs)
    }

    pub fn web_config(&self) -> Result<WebConfig, ConfigError> {
        Ok(WebConfig {
            listen: self.listen,
            public_url: self.public_url()?,
            cookie_secure: match self.cookie_secure {
                CookieSecureSetting::Auto => CookieSecure::Auto,
                CookieSecureSetting::Always => CookieSecure::Always,
                CookieSecureSetting::Never => CookieSecure::Never,
            },
            session_ttl: Duration::from_secs(self.session_ttl_hours * 3600),
            session_idle_timeout: Duration::from_secs(self.session_idle_timeout_minutes * 60),
            shutdown_timeout: Duration::from_secs(self.shutdown_timeout_secs),
            workers: (self.workers > 0).then_some(self.workers),
            trusted_proxies: self.trusted_proxies()?,
            scim_shared_url: self.scim_shared_url,
        })
    }
}

/// The key file generated beside a SQLite database.
const KEY_FILE_NAME: &str = "secret.key";

/// An optional setting, with an empty value counted as unset.
fn set(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn warn_if_tightened(path: &Path, tightened: bool) {
    if tightened {
        tracing::warn!(
            path = %path.display(),
            "the secret key file was readable by other users; made it owner-only (0600)"
        );
    }
}

/// Turns figment's error into one sentence that names the key and where it came from.
fn describe(err: figment::Error) -> ConfigError {
    let source = err
        .metadata
        .as_ref()
        .map(|meta| meta.name.to_string())
        .unwrap_or_else(|| "configuration".to_owned());
    let message = match &err.kind {
        figment::error::Kind::UnknownField(field, _) => {
            format!(
                "unknown configuration key \"{field}\" (from {source}; ROSTER_{} is not a setting)",
                field.to_uppercase()
            )
        }
        _ => {
            let key = err.path.join(".");
            if key.is_empty() {
                format!("invalid configuration (from {source}): {}", err.kind)
            } else {
                format!("invalid value for \"{key}\" (from {source}): {}", err.kind)
            }
        }
    };
    ConfigError(message)
}

#[cfg(test)]
mod tests;
