//! `nova-live`: the live-video origin server binary.

mod banner;
mod cli;
mod config;
mod database;
mod embedded_pg;
mod health;
mod http_server;
mod live_control;
mod logging;
mod packager_supervisor;
mod recording;
mod run;
mod secrets;
mod shutdown;
mod sinks;
mod status_writer;
mod tls;
mod wiring;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init();
    let result = match cli.command {
        Command::Serve(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("nova-rt")
            .build()
            .map_err(anyhow::Error::from)
            .and_then(|runtime| runtime.block_on(run::serve(*args))),
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
