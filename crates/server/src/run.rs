//! The `serve` and `token` commands, top to bottom. `serve` checks its
//! arguments, brings the database up, wires the server, waits for a reason
//! to stop, and stops in order; each step lives in the module it names.

use std::time::Duration;

use anyhow::{Context, Result};
use nova_api::JwtKeys;

use crate::cli::{ServeArgs, TokenArgs};
use crate::embedded_pg::EmbeddedPostgres;
use crate::{banner, config, database, fault, secrets, shutdown, wiring};

const ADMIN_TOKEN_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

pub fn print_token(args: &TokenArgs) -> Result<()> {
    let secret = secrets::jwt_secret(&args.data.data_dir)?;
    let token = JwtKeys::new(&secret).issue(args.user, Duration::from_secs(args.ttl_hours * 3600));
    #[allow(clippy::print_stdout)] // the token is this command's output
    {
        println!("{token}");
    }
    Ok(())
}

pub async fn serve(args: ServeArgs) -> Result<()> {
    config::validate(&args)?;
    fault::install(&args.test_faults)?;
    let data_dir = &args.data.data_dir;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating data directory {}", data_dir.display()))?;
    nova_packager::init_ffmpeg();

    let embedded = database::start_embedded(&args).await?;
    let result = serve_with_database(&args, embedded.as_ref()).await;
    if let Some(pg) = embedded {
        database::stop_embedded(pg).await?;
    }
    result
}

async fn serve_with_database(args: &ServeArgs, embedded: Option<&EmbeddedPostgres>) -> Result<()> {
    let pools = database::connect(args, embedded).await?;
    let result = serve_with_pools(args, pools.clone()).await;
    pools.close().await;
    result
}

async fn serve_with_pools(args: &ServeArgs, pools: database::Pools) -> Result<()> {
    let mut server = wiring::start(args, pools).await?;
    // A token printed at every start would sit in every log that keeps
    // stdout: only the first start prints one.
    let (admin, first_start) = secrets::admin_user(&args.data.data_dir)?;
    let admin = if first_start {
        banner::Admin::Token(server.jwt.issue(admin, ADMIN_TOKEN_TTL))
    } else {
        banner::Admin::HowToPrint {
            user: admin,
            data_dir: args.data.data_dir.clone(),
        }
    };
    banner::announce(
        &server.urls,
        server.rtmp_addr,
        server.http_addr,
        server.metrics_addr,
        &admin,
    );

    let reason = shutdown::reason_to_stop(&mut server).await;
    let timeout = Duration::from_secs_f64(args.shutdown_timeout);
    shutdown::in_order(server, &reason, timeout).await
}
