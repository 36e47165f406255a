//! `roster serve`: load the secret key, open and migrate the database, seal any signing
//! secret stored in clear, create the first operator if there is none, serve until SIGTERM/SIGINT, then stop in order: the listener, in-flight requests
//! (bounded by the shutdown timeout), background workers, the pool.

use std::process::ExitCode;

use anyhow::Context;
use roster_core::admins::AdminEmail;
use roster_core::{Database, Services};
use roster_web::Application;
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;

use crate::cli::println_out;
use crate::config::Config;

pub async fn serve(config: Config) -> anyhow::Result<ExitCode> {
    // Registered first, so a signal that arrives during startup is not lost (nor
    // handled by the default action, which would kill the process mid-migration).
    let shutdown_signal = ShutdownSignal::register()?;
    let web_config = config.web_config()?;
    let url = config.database_url()?;
    // Before the database: a PostgreSQL deployment without a key stops here.
    let keyring = config.keyring(&url)?;
    tracing::info!(database = %url, key = keyring.current_id(), "opening the database");
    let db = Database::connect(&url, &config.database_options()).await?;
    db.migrate().await.context("applying migrations failed")?;
    let services = Services::new(db.clone(), config.core_config(keyring)?);
    // No signing secret stays in clear, and none is under a key this node lacks.
    services.secrets_at_rest().prepare().await?;
    // Users written before the attribute-value index (issue 13) get their rows before
    // any filter can miss them.
    let indexed = services
        .provisioning()
        .index_unindexed_users()
        .await
        .map_err(|err| {
            anyhow::anyhow!("indexing users failed: {}", roster_core::error::chain(&err))
        })?;
    if indexed > 0 {
        tracing::info!(users = indexed, "indexed users' attribute values");
    }

    let bootstrap_email = AdminEmail::parse(&config.bootstrap_email)
        .context("ROSTER_BOOTSTRAP_EMAIL is not an email address")?;
    if let Some(operator) = services
        .admins()
        .bootstrap_operator(bootstrap_email)
        .await?
    {
        // Printed once, to stdout, never logged: the operator changes it at first login.
        println_out(&format!(
            "\nFirst start: created the operator account.\n  email:              {}\n  one-time password:  {}\n  valid until:        {}\nSign in at {}/admin (leave Organization empty) and choose a new password. This password is not shown again; if it expires, `roster admin reset-password --email {}` issues a new one.\n",
            operator.email,
            operator.password.expose_secret(),
            operator.expires_at.to_rfc3339(),
            web_config.public_url.as_str().trim_end_matches('/'),
            operator.email,
        ));
    }

    let workers = CancellationToken::new();
    let delivery = services
        .config()
        .delivery
        .enabled
        .then(|| tokio::spawn(services.delivery_worker().run(workers.child_token())));
    // Every node runs one: a job is held under a lease, so nodes never run the same
    // tenant's re-evaluation twice, and a job left by a stopped node resumes.
    let host_jobs = tokio::spawn(services.host_job_worker().run(workers.child_token()));
    let application = Application::build(web_config.clone(), services)
        .with_context(|| format!("cannot listen on {}", web_config.listen))?;
    tracing::info!(
        listen = %web_config.listen,
        port = application.port(),
        public_url = %web_config.public_url,
        "roster is serving"
    );

    let handle = application.handle();
    let readiness = application.readiness();
    let drain = config.shutdown_drain();
    let signal_task = tokio::spawn(async move {
        shutdown_signal.recv().await;
        // Not ready first, so that a load balancer polling /readyz stops sending new
        // requests before the listener closes.
        readiness.drain();
        if !drain.is_zero() {
            tracing::info!(
                drain_secs = drain.as_secs(),
                "shutdown signal received; /readyz answers 503 while load balancers drain this node"
            );
            tokio::time::sleep(drain).await;
        }
        tracing::info!("shutdown signal received; finishing in-flight requests");
        handle.stop(true).await;
    });

    application.run_until_stopped().await?;
    signal_task.abort();
    workers.cancel();
    if let Some(delivery) = delivery {
        // A round in flight finishes (its requests are bounded by the webhook timeout);
        // whatever it does not record is delivered again after the lease expires.
        let bound = web_config.shutdown_timeout;
        if tokio::time::timeout(bound, delivery).await.is_err() {
            tracing::warn!("the webhook worker did not stop in time; its leases will expire");
        }
    }
    // A batch in flight finishes or rolls back; the job resumes from its cursor.
    if tokio::time::timeout(web_config.shutdown_timeout, host_jobs)
        .await
        .is_err()
    {
        tracing::warn!("the host re-evaluation worker did not stop in time; its lease will expire");
    }
    db.close().await;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// SIGTERM (container stop) or SIGINT (Ctrl-C).
struct ShutdownSignal {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl ShutdownSignal {
    fn register() -> anyhow::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                terminate: signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?,
                interrupt: signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Self {})
        }
    }

    async fn recv(mut self) {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.terminate.recv() => {}
                _ = self.interrupt.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
