//! `nova-live`: the live-video origin server binary.

mod banner;
mod cli;
mod cluster_access;
mod config;
mod database;
mod disk_watch;
mod embedded_pg;
mod fault;
mod health;
mod http_server;
mod live_control;
mod logging;
mod metrics;
mod orphan_postmaster;
mod packager_supervisor;
mod packager_thread;
mod recording;
mod rtmp_limits;
mod run;
mod secrets;
mod shutdown;
mod sinks;
mod status_writer;
mod supervisor;
mod tls;
mod transcode_slots;
mod units;
mod wiring;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use crate::cli::{Cli, Command};

/// What the runtime's own tasks get once `serve` has returned.
const RUNTIME_EXIT: Duration = Duration::from_secs(2);

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init();
    let result = match cli.command {
        Command::Serve(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("nova-rt")
            .build()
            .map_err(anyhow::Error::from)
            .and_then(|runtime| {
                let result = runtime.block_on(run::serve(*args));
                // A thread the shutdown deadline gave up on must not hold
                // the exit: dropping the runtime would wait for it forever.
                runtime.shutdown_timeout(RUNTIME_EXIT);
                result
            }),
        Command::Token(args) => run::print_token(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("nova-live: {error:#}");
            ExitCode::FAILURE
        }
    }
}
