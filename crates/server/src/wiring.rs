//! Builds the server from its arguments and database: the packaging side
//! (live origin, thumbnails, recording, one packager thread per stream),
//! the ingest hub and its RTMP listener, the API and its background tasks,
//! and the HTTP listener. What it returns is what shutdown takes apart.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use nova_api::{
    AdmissionLimits, ApiConfig, AppState, BackgroundConfig, ClientLimits, EventBus, JwtKeys,
    PgPublishAuthorizer, Readiness, WebhookDeliveryConfig,
};
use nova_media::SegmentSink;
use nova_origin::{Origin, OriginConfig};
use nova_packager::AbrConfig;
use nova_packager::thumbnail::{ThumbnailConfig, Thumbnailer, WithThumbnails};
use nova_rtmp_ingest::{Hub, HubConfig, IngestConfig};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::cli::ServeArgs;
use crate::config::{self, PublicUrls};
use crate::database::{self, Pools};
use crate::fault;
use crate::health::{self, HealthBoard};
use crate::http_server::{self, HttpLimits};
use crate::live_control::HubControl;
use crate::metrics::{self, Metrics};
use crate::packager_supervisor::PackagerSupervisor;
use crate::recording::Recording;
use crate::secrets;
use crate::sinks::FanOut;
use crate::status_writer::StatusWriter;
use crate::supervisor::{self, Restarts};
use crate::tls;
use crate::transcode_slots::TranscodeSlots;

/// The running server: its addresses, and every part shutdown stops, with
/// the token or handle that stops or awaits it.
pub struct Server {
    pub urls: PublicUrls,
    pub rtmp_addr: SocketAddr,
    pub http_addr: SocketAddr,
    /// Where Prometheus scrapes `/metrics`, if anywhere.
    pub metrics_addr: Option<SocketAddr>,
    pub jwt: Arc<JwtKeys>,
    pub readiness: Arc<Readiness>,
    /// The RTMP listener; it stops accepting on `stop_accepting`.
    pub rtmp_task: JoinHandle<io::Result<()>>,
    pub stop_accepting: CancellationToken,
    pub hub: Hub,
    pub supervisor: Arc<PackagerSupervisor>,
    pub health_monitor: JoinHandle<()>,
    pub recording: Option<Recording>,
    /// The API's live event bus, closed before the HTTP drain.
    pub feeds: Arc<EventBus>,
    pub http_task: JoinHandle<io::Result<()>>,
    pub stop_http: CancellationToken,
    pub background_task: JoinHandle<()>,
    pub stop_background: CancellationToken,
    /// Writes stream statuses to Postgres until its last sender is gone.
    pub status_task: JoinHandle<()>,
    /// Cancelled as shutdown starts: no supervised task is restarted after.
    pub stop_restarts: CancellationToken,
}

pub async fn start(args: &ServeArgs, pools: Pools) -> Result<Server> {
    let scraped_pools = pools.clone();
    let Pools {
        shared: pool,
        reserved,
    } = pools;
    let data_dir = &args.data.data_dir;
    let secret = secrets::jwt_secret(data_dir)?;
    let jwt = Arc::new(JwtKeys::new(&secret));
    let defaults = config::stream_defaults(args);

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
    let metrics_listener = match args.metrics_addr.0 {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding metrics to {addr} (--metrics-addr)"))?,
        ),
        None => None,
    };
    let metrics_handle = metrics_listener
        .as_ref()
        .map(|_| Metrics::install())
        .transpose()?;
    let rtmp_addr = rtmp_listener.local_addr()?;
    let http_addr = http_listener.local_addr()?;
    let urls = PublicUrls::resolve(args, scheme, rtmp_addr, http_addr);
    let public_url = &urls.http;

    let api_config = ApiConfig {
        viewer_session_timeout: Duration::from_secs_f64(args.viewer_session_timeout),
        default_container: args.hls_container,
        dvr_window: Duration::from_secs(args.storage.dvr_window),
        limits: client_limits(args),
        webhooks_allow_private: args.webhooks_allow_private,
        ..ApiConfig::new(public_url.clone(), urls.rtmp.clone())
    };
    let health = Arc::new(HealthBoard::default());
    let recording = Recording::start(
        &args.storage,
        data_dir,
        database::embedded_dir(args),
        &pool,
        &api_config,
        health.clone(),
    )
    .await?;
    // DASH players synchronise to this server's clock (ISO/IEC 23009-1
    // §5.8.5.7): the MPD's times are its times.
    let origin = Arc::new(Origin::with_config(OriginConfig {
        clock_url: Some(format!("{public_url}/api/v1/clock").into()),
        ..OriginConfig::default()
    }));
    let (status, status_queue) = StatusWriter::new();
    let thumbnails = Arc::new(
        Thumbnailer::start(ThumbnailConfig {
            interval: Duration::from_secs_f64(args.thumbnail_interval),
            ..ThumbnailConfig::default()
        })
        .context("starting the thumbnail worker")?,
    );
    let mut sinks: Vec<Arc<dyn SegmentSink>> = vec![origin.clone(), thumbnails.clone()];
    if let Some(recording) = &recording {
        sinks.push(recording.recorder.clone());
    }
    let abr = AbrConfig {
        preset: args.abr_preset.clone(),
        // Live: the ladder sheds its top rendition rather than fall behind.
        ..AbrConfig::default()
    };
    let supervisor = Arc::new(PackagerSupervisor::new(
        status,
        Arc::new(FanOut(sinks)),
        health.clone(),
        abr,
        TranscodeSlots::new(args.max_transcoded_streams),
    ));
    let media_limits = config::media_limits(&args.media_limits);
    let hub = Hub::new(
        HubConfig {
            reconnect_window: Duration::from_secs_f64(args.reconnect_window),
            media_limits,
            // A subscriber can take the whole GOP cache, and no more.
            subscriber_queue_bytes: media_limits.max_gop_bytes,
            ..HubConfig::default()
        },
        supervisor.clone(),
    );
    supervisor.attach_hub(hub.clone());
    let hub_control = Arc::new(HubControl::new(hub.clone(), health.clone()));
    // On the reserved pool: a flood of anonymous requests cannot keep a
    // broadcaster from going live.
    let authorizer = Arc::new(
        PgPublishAuthorizer::new(reserved.clone(), defaults).with_admission(
            AdmissionLimits {
                max_live_streams: args.admission.max_live_streams,
                max_live_streams_per_owner: args.admission.max_live_streams_per_owner,
            },
            hub_control.clone(),
        ),
    );
    let readiness = Arc::new(Readiness::default());
    let mut state = AppState::new(
        pool.clone(),
        jwt.clone(),
        api_config,
        Arc::new(WithThumbnails::new(origin.clone(), thumbnails)),
        readiness.clone(),
        hub_control,
    );
    if let Some(recording) = &recording {
        state = state.with_recordings(recording.store.clone());
    }
    // The API's live event bus: status changes and health warnings from the
    // ingest side are announced there too.
    let events = state.events.clone();
    let feeds = state.events.clone();
    // Supervision: see `supervisor` for each component's policy.
    let restarts = Restarts {
        readiness: readiness.clone(),
        stop: CancellationToken::new(),
    };
    let mut start_status_writer = status_queue.restartable(reserved, events.clone());
    let status_task = supervisor::restart_on_panic(
        supervisor::STATUS_WRITER,
        restarts.clone(),
        start_status_writer(),
        start_status_writer,
    );
    let start_health_monitor = move || health::spawn_monitor(health.clone(), events.clone());
    let health_monitor = supervisor::restart_on_panic(
        supervisor::HEALTH_MONITOR,
        restarts.clone(),
        start_health_monitor(),
        start_health_monitor,
    );

    let stop_accepting = CancellationToken::new();
    let rtmp_task = tokio::spawn(nova_rtmp_ingest::serve(
        rtmp_listener,
        hub.clone(),
        authorizer,
        args.rtmp_limits.apply(IngestConfig {
            max_connections: args.max_connections,
            idle_timeout: Duration::from_secs_f64(args.rtmp_idle_timeout),
            ..IngestConfig::default()
        }),
        stop_accepting.clone(),
    ));
    let stop_http = CancellationToken::new();
    let http_stopped = stop_http.clone();
    let stop_background = CancellationToken::new();
    let background_config = BackgroundConfig {
        viewer_sweep_interval: Duration::from_secs_f64(args.viewer_sweep_interval),
        webhooks: WebhookDeliveryConfig {
            timeout: Duration::from_secs_f64(args.webhook_timeout),
            allow_private: args.webhooks_allow_private,
            ..WebhookDeliveryConfig::default()
        },
        ..BackgroundConfig::default()
    };
    let first_background = start_background(&state, &background_config, &stop_background)
        .context("starting the viewer sweep and webhook delivery")?;
    let background_task = {
        let (state, stop) = (state.clone(), stop_background.clone());
        supervisor::restart_on_panic(
            supervisor::BACKGROUND_TASKS,
            restarts.clone(),
            first_background,
            move || match start_background(&state, &background_config, &stop) {
                Ok(task) => task,
                // Counted as a failure: tried again after the next backoff.
                Err(error) => {
                    tokio::spawn(
                        async move { panic!("cannot start the background tasks: {error}") },
                    )
                }
            },
        )
    };
    let app = nova_api::app(state);
    let http_task = http_server::spawn(http_listener, tls, app, http_limits(args), http_stopped);
    let metrics_addr = match (metrics_listener, metrics_handle) {
        (Some(listener), Some(handle)) => {
            let addr = listener.local_addr()?;
            let mut collectors = media_collectors(&hub, &origin);
            collectors.extend([metrics::database_pools(scraped_pools), metrics::process()]);
            let metrics = Metrics::new(handle, collectors);
            metrics::spawn_listener(listener, metrics, stop_http.clone());
            Some(addr)
        }
        _ => None,
    };
    readiness.set_listeners_bound(true);

    Ok(Server {
        urls,
        rtmp_addr,
        http_addr,
        metrics_addr,
        jwt,
        readiness,
        rtmp_task,
        stop_accepting,
        hub,
        supervisor,
        health_monitor,
        recording,
        feeds,
        http_task,
        stop_http,
        background_task,
        stop_background,
        status_task,
        stop_restarts: restarts.stop,
    })
}

/// The per-stream series of the media path (and the ladders' speeds),
/// read at each scrape from what is live then.
fn media_collectors(hub: &Hub, origin: &Arc<Origin>) -> Vec<metrics::ScrapeCollector> {
    let (hub, origin) = (hub.clone(), origin.clone());
    vec![
        Arc::new(move || nova_rtmp_ingest::metrics::collect_streams(&hub)),
        Arc::new(move || nova_origin::metrics::collect_streams(&origin)),
        Arc::new(nova_packager::metrics::collect_ladders),
    ]
}

/// The API's background tasks (viewer sweep, webhook delivery, event
/// pruning); in debug builds, `NOVA_TEST_FAULTS=background-panic` makes
/// them panic instead (see `fault`).
fn start_background(
    state: &AppState,
    config: &BackgroundConfig,
    stop: &CancellationToken,
) -> Result<JoinHandle<()>> {
    let task = nova_api::spawn_background_tasks(state, config.clone(), stop.clone())?;
    if fault::background_panics() {
        return Ok(tokio::spawn(async move {
            // The faulty task takes the real one down with it.
            let _stops_with_this = supervisor::AbortOnDrop(task);
            tokio::time::sleep(Duration::from_secs(5)).await;
            panic!("injected fault: background-panic")
        }));
    }
    Ok(task)
}

fn client_limits(args: &ServeArgs) -> ClientLimits {
    let http = &args.http_limits;
    ClientLimits {
        request_timeout: Duration::from_secs_f64(http.http_request_timeout),
        event_feeds_per_address: http.max_event_feeds_per_address,
        viewer_joins_per_minute: http.viewer_joins_per_minute,
    }
}

fn http_limits(args: &ServeArgs) -> HttpLimits {
    let http = &args.http_limits;
    HttpLimits {
        max_connections: http.http_max_connections,
        header_timeout: Duration::from_secs_f64(http.http_header_timeout),
        max_tls_handshakes: http.tls_max_handshakes,
        tls_handshake_timeout: Duration::from_secs_f64(http.tls_handshake_timeout),
    }
}
