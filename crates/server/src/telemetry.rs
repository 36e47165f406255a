//! Logging: human-readable text on a terminal, one JSON object per line with
//! `ROSTER_LOG_FORMAT=json`. Logs go to stderr; stdout carries only what a command prints
//! for its user (a one-time password, a new token).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

use crate::config::LogFormat;

pub fn init(format: LogFormat, level: &str) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(with_quiet_dependencies(level)))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_span_events(FmtSpan::NONE);
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
    // A subscriber may already be set (tests); keep it.
    let _ = result;
}

/// The database driver reports every `CREATE ... IF NOT EXISTS` notice at info level;
/// below warn it is noise unless asked for explicitly.
fn with_quiet_dependencies(level: &str) -> String {
    if level.contains("sqlx") {
        level.to_owned()
    } else {
        format!("{level},sqlx=warn")
    }
}
