//! The RTMP accept loop: a bounded number of connections, each on its own
//! task, with backoff when accepting fails.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use nova_media::PublishAuthorizer;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::config::IngestConfig;
use crate::connection::Refusal;
use crate::driver::{self, Shared};
use crate::hub::Hub;
use crate::metrics::ConnectionGauges;
use crate::pending_by_address::PendingByAddress;

const MIN_ACCEPT_BACKOFF: Duration = Duration::from_millis(5);
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// Accepts RTMP connections until `shutdown` is cancelled, then closes every
/// connection and returns once they are all gone.
///
/// Publishes are checked with `authorizer` and fed into `hub`.
pub async fn serve(
    listener: TcpListener,
    hub: Hub,
    authorizer: Arc<dyn PublishAuthorizer>,
    config: IngestConfig,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let local = listener.local_addr()?;
    // acquire_many takes a u32; nobody needs more connections than that.
    let limit = config
        .max_connections
        .clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
    let permits = Arc::new(Semaphore::new(limit));
    let pending = PendingByAddress::new(config.max_pending_per_address);
    let refusals = config.refusals.clone();
    let shared = Arc::new(Shared {
        hub,
        authorizer,
        config,
        shutdown: shutdown.clone(),
        gauges: ConnectionGauges::new(),
    });
    tracing::info!(%local, app = %shared.config.app, max_connections = limit, "RTMP ingest listening");
    let mut next_id: u64 = 0;
    let mut backoff = MIN_ACCEPT_BACKOFF;
    loop {
        let accepted = tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((socket, peer)) => {
                backoff = MIN_ACCEPT_BACKOFF;
                let Ok(permit) = permits.clone().try_acquire_owned() else {
                    refusals.refuse(
                        Refusal::Connections,
                        &format_args!("{peer}: {limit} connections already; closing the new one"),
                    );
                    drop(socket);
                    continue;
                };
                let Some(pending_slot) = pending.enter(peer.ip()) else {
                    refusals.refuse(
                        Refusal::PendingPerAddress,
                        &format_args!(
                            "{peer}: {} connections from this address have not published yet; closing the new one",
                            shared.config.max_pending_per_address
                        ),
                    );
                    drop(socket);
                    continue;
                };
                next_id += 1;
                let shared = shared.clone();
                let id = next_id;
                tokio::spawn(async move {
                    driver::run(socket, peer, id, shared, pending_slot).await;
                    drop(permit);
                });
            }
            Err(error) if is_connection_error(&error) => {
                // The peer gave up between SYN and accept: nothing to back off from.
                tracing::debug!("accept: {error}");
            }
            Err(error) => {
                // Out of file descriptors (EMFILE/ENFILE) or memory: retrying
                // at once would spin. Existing connections keep running.
                tracing::warn!(
                    "accepting RTMP connections failed, retrying in {backoff:?}: {error}"
                );
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_ACCEPT_BACKOFF);
            }
        }
    }
    drop(listener);
    tracing::info!(%local, "RTMP ingest stopped accepting; closing connections");
    // Every connection task watches `shutdown` and releases its permit when
    // it is gone; holding all permits means they all are.
    let _all = permits.acquire_many(limit as u32).await;
    tracing::info!(%local, "RTMP ingest stopped");
    Ok(())
}

fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    )
}
