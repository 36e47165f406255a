//! `roster`: the SCIM provisioning gateway.
//!
//! `main` wires: it reads the configuration, opens the database, and hands over to the
//! subcommand. Errors at this edge become one sentence on stderr and a non-zero exit.

mod admin_cli;
mod cli;
mod config;
mod serve;
mod telemetry;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(args)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
