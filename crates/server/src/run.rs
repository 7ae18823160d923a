//! Wiring: configuration in, running listeners out, and the orderly way down.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use nova_api::{
    ApiConfig, AppState, BackgroundConfig, JwtKeys, PgPublishAuthorizer, Readiness,
    WebhookDeliveryConfig,
};
use nova_media::{SegmentSink, StreamSettings};
use nova_origin::{Origin, OriginConfig};
use nova_packager::AbrConfig;
use nova_packager::thumbnail::{ThumbnailConfig, Thumbnailer, WithThumbnails};
use nova_rtmp_ingest::{Hub, HubConfig, IngestConfig};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Executor, PgPool};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::cli::{ServeArgs, TokenArgs};
use crate::embedded_pg::EmbeddedPostgres;
use crate::health::{self, HealthBoard};
use crate::live_control::HubControl;
use crate::observer::StreamObserver;
use crate::recording::Recording;
use crate::secrets;
use crate::shutdown;
use crate::sinks::FanOut;
use crate::status_writer::StatusWriter;
use crate::tls::{self, TlsListener};

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
    validate(&args)?;
    let data_dir = args.data.data_dir.clone();
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating data directory {}", data_dir.display()))?;
    nova_packager::init_ffmpeg();

    let embedded = match &args.database_url {
        Some(_) => None,
        None => {
            let dir = data_dir.clone();
            Some(tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&dir)).await??)
        }
    };
    let result = serve_with_database(&args, embedded.as_ref()).await;
    if let Some(pg) = embedded {
        tracing::info!("stopping the embedded PostgreSQL");
        if let Err(error) = tokio::task::spawn_blocking(move || pg.stop()).await? {
            tracing::error!("{error:#}");
        }
    }
    result
}

async fn serve_with_database(args: &ServeArgs, embedded: Option<&EmbeddedPostgres>) -> Result<()> {
    let database_url = match (embedded, &args.database_url) {
        (Some(pg), _) => {
            create_database_if_missing(&pg.admin_url(), pg.database_name()).await?;
            pg.database_url()
        }
        (None, Some(url)) => url.clone(),
        (None, None) => {
            unreachable!("serve starts the embedded PostgreSQL when DATABASE_URL is unset")
        }
    };
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(5))
        .connect(&database_url)
        .await
        .context("connecting to PostgreSQL")?;
    nova_api::MIGRATOR
        .run(&pool)
        .await
        .context("applying database migrations")?;
    let orphaned = nova_api::end_orphaned_live_streams(&pool).await?;
    if orphaned > 0 {
        tracing::warn!(
            orphaned,
            "streams left live by an unclean stop are now ended"
        );
    }

    let result = serve_with_pool(args, pool.clone()).await;
    pool.close().await;
    result
}

async fn serve_with_pool(args: &ServeArgs, pool: PgPool) -> Result<()> {
    let data_dir = &args.data.data_dir;
    let secret = secrets::jwt_secret(data_dir)?;
    let jwt = Arc::new(JwtKeys::new(&secret));
    let defaults = StreamSettings {
        container: args.hls_container,
        target_segment_duration: Duration::from_secs_f64(args.segment_duration),
        live_window_segments: args.live_window,
        part_target_duration: Duration::from_secs_f64(args.part_target),
        transcode: args.profile,
        low_latency: false,
    };

    let tls = match (&args.tls.tls_cert, &args.tls.tls_key) {
        (Some(cert), Some(key)) => Some(tls::server_config(cert, key)?),
        _ => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let rtmp_listener = TcpListener::bind(args.rtmp_addr)
        .await
        .with_context(|| format!("binding RTMP to {}", args.rtmp_addr))?;
    let http_listener = TcpListener::bind(args.http_addr)
        .await
        .with_context(|| format!("binding HTTP to {}", args.http_addr))?;
    let rtmp_addr = rtmp_listener.local_addr()?;
    let http_addr = http_listener.local_addr()?;
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("{scheme}://{}:{}", public_host(), http_addr.port()))
        .trim_end_matches('/')
        .to_owned();
    let public_rtmp_url = args
        .public_rtmp_url
        .clone()
        .unwrap_or_else(|| format!("rtmp://{}:{}/live", host_of(&public_url), rtmp_addr.port()));

    let api_config = ApiConfig {
        viewer_session_timeout: Duration::from_secs_f64(args.viewer_session_timeout),
        default_container: args.hls_container,
        dvr_window: Duration::from_secs(args.storage.dvr_window),
        ..ApiConfig::new(public_url.clone(), public_rtmp_url.clone())
    };
    let recording = Recording::start(&args.storage, data_dir, &pool, &api_config).await?;
    // DASH players synchronise to this server's clock (ISO/IEC 23009-1
    // §5.8.5.7): the MPD's times are its times.
    let windows = Arc::new(Origin::with_config(OriginConfig {
        clock_url: Some(format!("{public_url}/api/v1/clock").into()),
        ..OriginConfig::default()
    }));
    let health = Arc::new(HealthBoard::default());
    let (status, status_queue) = StatusWriter::new();
    let thumbnails = Arc::new(
        Thumbnailer::start(ThumbnailConfig {
            interval: Duration::from_secs_f64(args.thumbnail_interval),
            ..ThumbnailConfig::default()
        })
        .context("starting the thumbnail worker")?,
    );
    let mut sinks: Vec<Arc<dyn SegmentSink>> = vec![windows.clone(), thumbnails.clone()];
    if let Some(recording) = &recording {
        sinks.push(recording.recorder.clone());
    }
    let abr = AbrConfig {
        preset: args.abr_preset.clone(),
        // Live: the ladder sheds its top rendition rather than fall behind.
        ..AbrConfig::default()
    };
    let observer = Arc::new(StreamObserver::new(
        status,
        Arc::new(FanOut(sinks)),
        health.clone(),
        abr,
    ));
    let hub = Hub::new(
        HubConfig {
            reconnect_window: Duration::from_secs_f64(args.reconnect_window),
            ..HubConfig::default()
        },
        observer.clone(),
    );
    let authorizer = Arc::new(PgPublishAuthorizer::new(pool.clone(), defaults));
    let readiness = Arc::new(Readiness::default());
    let mut state = AppState::new(
        pool.clone(),
        jwt.clone(),
        api_config,
        Arc::new(WithThumbnails::new(windows.clone(), thumbnails)),
        readiness.clone(),
        Arc::new(HubControl::new(hub.clone(), health.clone())),
    );
    if let Some(recording) = &recording {
        state = state.with_recordings(recording.store.clone());
    }
    // The API's live event bus: status changes and health warnings from the
    // ingest side are announced there too.
    let events = state.events.clone();
    let feeds = state.events.clone();
    let status_task = status_queue.spawn(pool.clone(), events.clone());
    let health_monitor = health::spawn_monitor(health, events);

    let stop_accepting = CancellationToken::new();
    let rtmp_task = tokio::spawn(nova_rtmp_ingest::serve(
        rtmp_listener,
        hub.clone(),
        authorizer,
        IngestConfig {
            max_connections: args.max_connections,
            idle_timeout: Duration::from_secs_f64(args.rtmp_idle_timeout),
            ..IngestConfig::default()
        },
        stop_accepting.clone(),
    ));
    let stop_http = CancellationToken::new();
    let http_stopped = stop_http.clone();
    let stop_background = CancellationToken::new();
    let mut background_task = nova_api::spawn_background_tasks(
        &state,
        BackgroundConfig {
            viewer_sweep_interval: Duration::from_secs_f64(args.viewer_sweep_interval),
            webhooks: WebhookDeliveryConfig {
                timeout: Duration::from_secs_f64(args.webhook_timeout),
                ..WebhookDeliveryConfig::default()
            },
            ..BackgroundConfig::default()
        },
        stop_background.clone(),
    )
    .context("starting the viewer sweep and webhook delivery")?;
    let app = nova_api::app(state);
    let http_stopped = async move { http_stopped.cancelled().await };
    let http_task = match tls {
        Some(config) => {
            let listener = TlsListener::new(http_listener, config)?;
            tokio::spawn(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(http_stopped)
                    .await
            })
        }
        None => tokio::spawn(async move {
            axum::serve(http_listener, app)
                .with_graceful_shutdown(http_stopped)
                .await
        }),
    };
    readiness.set_listeners_bound(true);

    let admin = secrets::admin_user(data_dir)?;
    let admin_token = jwt.issue(admin, ADMIN_TOKEN_TTL);
    announce(
        &public_url,
        &public_rtmp_url,
        rtmp_addr,
        http_addr,
        &admin_token,
    );

    let reason = tokio::select! {
        signal = shutdown::signal_received() => signal.to_owned(),
        result = &mut Box::pin(watch_task("RTMP listener", rtmp_task)) => result,
    };
    tracing::info!("shutting down ({reason}): ending live streams");
    readiness.set_listeners_bound(false);
    stop_accepting.cancel();
    hub.shutdown();
    health_monitor.abort();
    let observer_for_join = observer.clone();
    tokio::task::spawn_blocking(move || observer_for_join.join_packagers()).await?;
    // The packagers' last segments are recorded and indexed (or spooled for
    // the next start) while players still reach the API.
    if let Some(recording) = recording {
        recording.shutdown().await;
    }
    // Players get a last look at the ended playlists while the API drains;
    // event feeds are closed first, or an open Server-Sent Events response
    // would hold the graceful drain until its timeout.
    feeds.close();
    stop_http.cancel();
    match tokio::time::timeout(Duration::from_secs(10), http_task).await {
        Ok(Ok(Err(error))) => tracing::error!("HTTP server: {error}"),
        Ok(Err(error)) => tracing::error!("HTTP server task: {error}"),
        Err(_) => tracing::warn!("HTTP connections still open after 10 s; closing them"),
        Ok(Ok(Ok(()))) => {}
    }
    // The background tasks hold the API state, and through it the hub: they
    // must be gone before the status writer can see its last sender go.
    // Webhooks queued from here on (stream.ended of this shutdown) stay in
    // the outbox for the next start.
    stop_background.cancel();
    if tokio::time::timeout(Duration::from_secs(10), &mut background_task)
        .await
        .is_err()
    {
        tracing::warn!("background tasks still running after 10 s; aborting them");
        background_task.abort();
    }
    // Dropping the last status sender lets the writer finish its queue.
    drop(hub);
    drop(observer);
    if tokio::time::timeout(Duration::from_secs(30), status_task)
        .await
        .is_err()
    {
        tracing::warn!("stream statuses still being written after 30 s; giving up");
    }
    tracing::info!("stopped");
    Ok(())
}

async fn watch_task(name: &str, task: tokio::task::JoinHandle<std::io::Result<()>>) -> String {
    match task.await {
        Ok(Ok(())) => format!("{name} stopped"),
        Ok(Err(error)) => format!("{name} failed: {error}"),
        Err(error) => format!("{name} panicked: {error}"),
    }
}

fn validate(args: &ServeArgs) -> Result<()> {
    anyhow::ensure!(
        (0.5..=30.0).contains(&args.segment_duration),
        "--segment-duration must be between 0.5 and 30 seconds"
    );
    anyhow::ensure!(
        (2..=100).contains(&args.live_window),
        "--live-window must be between 2 and 100 segments"
    );
    // RFC 8216bis §4.4.3.7: parts are a fraction of a segment; below 0.1 s
    // every frame would be a part.
    anyhow::ensure!(
        (0.1..=args.segment_duration).contains(&args.part_target),
        "--part-target must be between 0.1 seconds and --segment-duration"
    );
    anyhow::ensure!(
        (0.5..=600.0).contains(&args.thumbnail_interval),
        "--thumbnail-interval must be between 0.5 and 600 seconds"
    );
    anyhow::ensure!(
        (0.0..=600.0).contains(&args.reconnect_window),
        "--reconnect-window must be between 0 and 600 seconds"
    );
    anyhow::ensure!(
        args.max_connections > 0,
        "--max-connections must be at least 1"
    );
    anyhow::ensure!(
        args.rtmp_idle_timeout >= 1.0,
        "--rtmp-idle-timeout must be at least 1 second"
    );
    anyhow::ensure!(
        (3.0..=3600.0).contains(&args.viewer_session_timeout),
        "--viewer-session-timeout must be between 3 and 3600 seconds"
    );
    anyhow::ensure!(
        (0.1..=60.0).contains(&args.viewer_sweep_interval),
        "--viewer-sweep-interval must be between 0.1 and 60 seconds"
    );
    anyhow::ensure!(
        (1.0..=60.0).contains(&args.webhook_timeout),
        "--webhook-timeout must be between 1 and 60 seconds"
    );
    anyhow::ensure!(
        args.storage.dvr_window <= 86_400,
        "--dvr-window must be at most 86400 seconds (a day)"
    );
    anyhow::ensure!(
        args.storage.recording_retention_days <= 36_500,
        "--recording-retention-days must be at most 36500"
    );
    if let Some(url) = &args.public_url {
        anyhow::ensure!(
            url.starts_with("http://") || url.starts_with("https://"),
            "--public-url must start with http:// or https://"
        );
    }
    Ok(())
}

async fn create_database_if_missing(admin_url: &str, name: &str) -> Result<()> {
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(admin_url)
        .await
        .context("connecting to the embedded PostgreSQL")?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&admin)
            .await?;
    if !exists {
        admin
            .execute(format!("CREATE DATABASE \"{name}\"").as_str())
            .await
            .with_context(|| format!("creating database {name}"))?;
    }
    admin.close().await;
    Ok(())
}

/// The machine's host name, which other machines on the LAN can usually
/// resolve; `localhost` when there is none.
fn public_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or(rest);
    if authority.starts_with('[') {
        // An IPv6 literal keeps its brackets: it goes back into a URL.
        return authority
            .find(']')
            .map_or(authority, |end| &authority[..=end]);
    }
    authority.split(':').next().unwrap_or(authority)
}

fn announce(
    public_url: &str,
    rtmp_url: &str,
    rtmp: std::net::SocketAddr,
    http: std::net::SocketAddr,
    token: &str,
) {
    let banner = format!(
        "\n\
         nova-live is ready\n\
         \x20 RTMP ingest   {rtmp_url}/<stream key>   (listening on {rtmp})\n\
         \x20 HTTP          {public_url}   (listening on {http})\n\
         \x20 Health        {public_url}/healthz  {public_url}/readyz\n\
         \x20 Admin token   {token}\n\
         \n\
         Create a stream:\n\
         \x20 curl -s -X POST {public_url}/api/v1/streams -H 'Authorization: Bearer {token}' \\\n\
         \x20      -H 'Content-Type: application/json' -d '{{\"title\": \"My first stream\"}}'\n"
    );
    #[allow(clippy::print_stdout)] // the banner is for the person who started the server
    {
        println!("{banner}");
    }
}

#[cfg(test)]
mod tests {
    use super::host_of;

    #[test]
    fn finds_the_host_of_a_public_url() {
        assert_eq!(host_of("http://localhost:8080"), "localhost");
        assert_eq!(host_of("https://live.example.com/base"), "live.example.com");
        assert_eq!(host_of("http://[::1]:8080"), "[::1]");
    }
}
