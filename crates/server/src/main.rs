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
use tracing::Instrument;

use crate::cli::{Cli, Command};

/// What the runtime's own tasks get once `serve` has returned.
const RUNTIME_EXIT: Duration = Duration::from_secs(2);

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log_format);
    let result = match cli.command {
        Command::Serve(args) => {
            let node = args.node_name.clone().unwrap_or_else(config::public_host);
            // Before the runtime: its threads enter the span as they start.
            let root = logging::start_node_span(&node);
            serve(*args, root)
        }
        Command::Token(args) => run::print_token(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            // A JSON log stays one object a line; the text log repeats the
            // error plainly for whoever ran the command.
            if cli.log_format == logging::LogFormat::Text {
                eprintln!("nova-live: {error:#}");
            }
            ExitCode::FAILURE
        }
    }
}

/// `serve` on a multi-threaded runtime whose threads all log in `root`.
fn serve(args: cli::ServeArgs, root: tracing::Span) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("nova-rt")
        .on_thread_start(logging::enter_node_span)
        .on_thread_stop(logging::leave_node_span)
        .build()?;
    let result = runtime.block_on(run::serve(args).instrument(root));
    // A thread the shutdown deadline gave up on must not hold
    // the exit: dropping the runtime would wait for it forever.
    runtime.shutdown_timeout(RUNTIME_EXIT);
    result
}
