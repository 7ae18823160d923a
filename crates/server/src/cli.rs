use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use nova_media::{SegmentContainer, TranscodeProfile};
use uuid::Uuid;

use crate::logging::LogFormat;
use crate::units::{self, FreeSpace};

/// nova-live: RTMP in, HLS out, with a management API over Postgres.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Log format on stderr: text (for people) or json (one object a line,
    /// for log shippers).
    #[arg(long, env = "NOVA_LOG_FORMAT", default_value = "text", global = true)]
    pub log_format: LogFormat,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: RTMP ingest, packaging, HTTP playback and API.
    Serve(Box<ServeArgs>),
    /// Print an API token (JWT) for a user, valid for this server's secret.
    Token(TokenArgs),
}

/// An address, or nothing (an empty value turns a listener off).
#[derive(Clone, Copy, Debug)]
pub struct OptionalAddr(pub Option<SocketAddr>);

fn parse_optional_addr(value: &str) -> Result<OptionalAddr, String> {
    if value.trim().is_empty() {
        return Ok(OptionalAddr(None));
    }
    value
        .parse()
        .map(|addr| OptionalAddr(Some(addr)))
        .map_err(|error| format!("{error} (an address like 127.0.0.1:9464, or empty for none)"))
}

fn parse_profile(value: &str) -> Result<TranscodeProfile, String> {
    match value {
        "passthrough" => Ok(TranscodeProfile::Passthrough),
        "abr" => Ok(TranscodeProfile::Abr),
        other => Err(format!("unknown profile {other:?}: use passthrough or abr")),
    }
}

fn default_max_transcoded_streams() -> usize {
    std::thread::available_parallelism().map_or(1, |cores| (cores.get() / 2).max(1))
}

#[derive(Debug, Args)]
pub struct DataDirArg {
    /// Directory for state: the JWT secret, the embedded PostgreSQL cluster.
    #[arg(long, env = "NOVA_DATA_DIR", default_value = "./var")]
    pub data_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to accept RTMP publishers on.
    #[arg(long, env = "NOVA_RTMP_ADDR", default_value = "0.0.0.0:1935")]
    pub rtmp_addr: SocketAddr,

    /// Address to serve the API, playlists and segments on.
    #[arg(long, env = "NOVA_HTTP_ADDR", default_value = "0.0.0.0:8080")]
    pub http_addr: SocketAddr,

    /// Address to serve Prometheus metrics (`GET /metrics`) on; keep it
    /// private. Empty: no metrics listener, nothing recorded.
    #[arg(long, env = "NOVA_METRICS_ADDR", default_value = "127.0.0.1:9464", value_parser = parse_optional_addr)]
    pub metrics_addr: OptionalAddr,

    /// This node's name in the log (`node` on every line). Default: the
    /// machine's host name.
    #[arg(long, env = "NOVA_NODE_NAME")]
    pub node_name: Option<String>,

    #[command(flatten)]
    pub data: DataDirArg,

    /// PostgreSQL URL. Unset: nova-live runs its own cluster under the data directory.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Directory of the embedded PostgreSQL cluster (e.g. a disk of its own,
    /// so recordings filling the data disk cannot stop the database).
    /// Default: <data dir>/postgres. Ignored with DATABASE_URL.
    #[arg(long, env = "NOVA_DATABASE_DIR")]
    pub database_dir: Option<PathBuf>,

    /// Base URL that playback URLs handed out by the API start with
    /// (e.g. https://live.example.com). Default: http://<this host's name>:<HTTP port>.
    #[arg(long, env = "NOVA_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// RTMP URL handed out for publishing. Default: rtmp://<public URL's host>:<RTMP port>/live.
    #[arg(long, env = "NOVA_PUBLIC_RTMP_URL")]
    pub public_rtmp_url: Option<String>,

    /// Container of HLS segments for streams that don't choose one: fmp4 (CMAF) or ts.
    #[arg(long, env = "NOVA_HLS_CONTAINER", default_value = "fmp4")]
    pub hls_container: SegmentContainer,

    /// Target segment duration in seconds; segments are cut on the first keyframe after it.
    #[arg(long, env = "NOVA_SEGMENT_DURATION", default_value_t = 2.0)]
    pub segment_duration: f64,

    /// Number of segments in a live playlist.
    #[arg(long, env = "NOVA_LIVE_WINDOW", default_value_t = 6)]
    pub live_window: usize,

    /// LL-HLS partial segments of the CMAF renditions are cut this long, in
    /// seconds; the playlist's PART-TARGET is 10 % more (nova_media::part_limit).
    #[arg(long, env = "NOVA_PART_TARGET", default_value_t = 0.5)]
    pub part_target: f64,

    /// Seconds of media between a live stream's thumbnails (`/live/{id}/thumbnail.jpg`).
    #[arg(long, env = "NOVA_THUMBNAIL_INTERVAL", default_value_t = 5.0)]
    pub thumbnail_interval: f64,

    /// Transcode profile of streams that don't choose one: passthrough (the
    /// publisher's encode only) or abr (plus the 720p/480p/360p ladder below
    /// the source, fMP4 only).
    #[arg(long, env = "NOVA_PROFILE", default_value = "passthrough", value_parser = parse_profile)]
    pub profile: TranscodeProfile,

    /// x264 preset of the ABR ladder's renditions (ultrafast … veryslow).
    #[arg(long, env = "NOVA_ABR_PRESET", default_value = "veryfast")]
    pub abr_preset: String,

    /// Most streams transcoded to the ABR ladder at once (each is a decoder
    /// and up to three x264 encoders). An `abr` stream that goes live over
    /// the limit is packaged passthrough, with a health warning saying why.
    /// Default: half the CPU cores, at least 1.
    #[arg(long, env = "NOVA_MAX_TRANSCODED_STREAMS", default_value_t = default_max_transcoded_streams())]
    pub max_transcoded_streams: usize,

    /// Seconds a shutdown may take, from the signal to the exit: past it,
    /// what did not stop is logged and the process exits non-zero.
    #[arg(long, env = "NOVA_SHUTDOWN_TIMEOUT", default_value_t = 30.0)]
    pub shutdown_timeout: f64,

    /// Seconds a stream stays live after its publisher drops, waiting for it to reconnect.
    #[arg(long, env = "NOVA_RECONNECT_WINDOW", default_value_t = 10.0)]
    pub reconnect_window: f64,

    /// Most RTMP connections served at once; more are refused.
    #[arg(long, env = "NOVA_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,

    /// Seconds an RTMP peer may stay silent before it is disconnected.
    #[arg(long, env = "NOVA_RTMP_IDLE_TIMEOUT", default_value_t = 30.0)]
    pub rtmp_idle_timeout: f64,

    /// Seconds a viewer session lasts without a heartbeat; players are told
    /// to send one every third of it.
    #[arg(long, env = "NOVA_VIEWER_SESSION_TIMEOUT", default_value_t = 45.0)]
    pub viewer_session_timeout: f64,

    /// Seconds between viewer sweeps (expiry and viewer statistics).
    #[arg(long, env = "NOVA_VIEWER_SWEEP_INTERVAL", default_value_t = 5.0)]
    pub viewer_sweep_interval: f64,

    /// Seconds a webhook receiver has to answer a delivery.
    #[arg(long, env = "NOVA_WEBHOOK_TIMEOUT", default_value_t = 10.0)]
    pub webhook_timeout: f64,

    /// Let webhooks reach loopback, private (RFC 1918, fc00::/7),
    /// shared (100.64.0.0/10) and link-local addresses, and plain http://
    /// to loopback: for a receiver on a developer's machine or network.
    /// Cloud metadata addresses stay refused.
    #[arg(long, env = "NOVA_WEBHOOKS_ALLOW_PRIVATE", default_value_t = false)]
    pub webhooks_allow_private: bool,

    /// Faults for the test suite to inject (debug builds only; see
    /// `fault.rs`). Not for operators: release builds refuse it.
    #[arg(long, hide = true, value_delimiter = ',')]
    pub test_faults: Vec<String>,

    #[command(flatten)]
    pub media_limits: MediaLimitArgs,

    #[command(flatten)]
    pub rtmp_limits: crate::rtmp_limits::RtmpLimitArgs,

    #[command(flatten)]
    pub storage: StorageArgs,

    #[command(flatten)]
    pub tls: TlsArgs,

    #[command(flatten)]
    pub http_limits: HttpLimitArgs,

    #[command(flatten)]
    pub database: DatabaseArgs,

    #[command(flatten)]
    pub admission: AdmissionArgs,
}

/// What one client, or all of them together, may hold of the HTTP side.
#[derive(Debug, Args)]
pub struct HttpLimitArgs {
    /// Most HTTP connections open at once (WebSocket and SSE feeds
    /// included); more are closed as soon as they are accepted.
    #[arg(long, env = "NOVA_HTTP_MAX_CONNECTIONS", default_value_t = 4096)]
    pub http_max_connections: usize,

    /// Seconds a client has to send a request's headers (and a new
    /// connection its first request); slower connections are closed.
    #[arg(long, env = "NOVA_HTTP_HEADER_TIMEOUT", default_value_t = 10.0)]
    pub http_header_timeout: f64,

    /// Seconds an ordinary request (API, recordings, health) may take,
    /// body included; then it is answered 503 with Retry-After. Event feeds
    /// and LL-HLS blocking reloads have bounds of their own.
    #[arg(long, env = "NOVA_HTTP_REQUEST_TIMEOUT", default_value_t = 30.0)]
    pub http_request_timeout: f64,

    /// Most TLS handshakes in progress at once; others wait their turn
    /// within the handshake timeout.
    #[arg(long, env = "NOVA_TLS_MAX_HANDSHAKES", default_value_t = 64)]
    pub tls_max_handshakes: usize,

    /// Seconds a client has to finish its TLS handshake, waiting included.
    #[arg(long, env = "NOVA_TLS_HANDSHAKE_TIMEOUT", default_value_t = 10.0)]
    pub tls_handshake_timeout: f64,

    /// Most live event feeds (WebSocket or SSE) one client address may
    /// hold open at once; more are answered 429.
    #[arg(long, env = "NOVA_MAX_EVENT_FEEDS_PER_ADDRESS", default_value_t = 32)]
    pub max_event_feeds_per_address: usize,

    /// Viewer sessions one client address may start per minute (in bursts
    /// of as many); more are answered 429 with Retry-After.
    #[arg(long, env = "NOVA_VIEWER_JOINS_PER_MINUTE", default_value_t = 30)]
    pub viewer_joins_per_minute: u32,
}

/// Connections to PostgreSQL, and how long a query may run.
#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// Connections of the pool the API, playback and background work share.
    #[arg(long, env = "NOVA_DATABASE_MAX_CONNECTIONS", default_value_t = 16)]
    pub database_max_connections: u32,

    /// Connections kept apart for the publish authorizer and the stream
    /// status writer, which anonymous traffic cannot take.
    #[arg(long, env = "NOVA_DATABASE_RESERVED_CONNECTIONS", default_value_t = 4)]
    pub database_reserved_connections: u32,

    /// Seconds any one SQL statement may run before PostgreSQL cancels it.
    #[arg(long, env = "NOVA_DATABASE_STATEMENT_TIMEOUT", default_value_t = 10.0)]
    pub database_statement_timeout: f64,
}

/// How many streams may be live at once.
#[derive(Debug, Args)]
pub struct AdmissionArgs {
    /// Most streams live on this server at once (waiting in their reconnect
    /// window included); a publish over it is refused. 0: no limit. The
    /// default matches the RTMP connection limit's order of magnitude: the
    /// CPU runs out first on most machines.
    #[arg(long, env = "NOVA_MAX_LIVE_STREAMS", default_value_t = 1000)]
    pub max_live_streams: usize,

    /// Most streams one owner may have live at once; a publish over it is
    /// refused. 0: no limit, the default: on a self-hosted server the
    /// operator often owns every stream. Set it where anyone can sign up.
    #[arg(long, env = "NOVA_MAX_LIVE_STREAMS_PER_OWNER", default_value_t = 0)]
    pub max_live_streams_per_owner: usize,
}

/// What one publisher may make the server hold; a publisher over a limit is
/// disconnected and its encoder told which limit in an `onStatus` error.
#[derive(Debug, Args)]
pub struct MediaLimitArgs {
    /// Most bits per second a publisher may send, averaged over 10 s (for
    /// example `20M`); 0 means no limit.
    #[arg(long, env = "NOVA_MAX_INGEST_BITRATE", default_value = "0", value_parser = units::parse_bitrate)]
    pub max_ingest_bitrate: u64,

    /// Most seconds of video between two keyframes. Segments end only on
    /// keyframes, so this bounds how long one segment can grow.
    #[arg(long, env = "NOVA_MAX_SEGMENT_DURATION", default_value_t = 30.0)]
    pub max_segment_duration: f64,

    /// Most bytes of media between two keyframes (for example `64MiB`): the
    /// bound on a segment in the making and on the GOP cache.
    #[arg(long, env = "NOVA_MAX_SEGMENT_BYTES", default_value = "64MiB", value_parser = units::parse_bytes)]
    pub max_segment_bytes: u64,
}

/// HTTPS on the HTTP address. Without it the address speaks plain HTTP/1.1
/// and HTTP/2 with prior knowledge (h2c), for a TLS proxy in front.
#[derive(Debug, Args)]
pub struct TlsArgs {
    /// PEM certificate chain (e.g. Let's Encrypt's fullchain.pem); with
    /// --tls-key, the HTTP address serves HTTPS with HTTP/2.
    #[arg(long, env = "NOVA_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of the certificate (e.g. privkey.pem).
    #[arg(long, env = "NOVA_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

/// Where recordings go, and how long they stay.
#[derive(Debug, Args)]
pub struct StorageArgs {
    /// `fs` (a local directory, the default), `s3` (any S3-compatible store),
    /// or `off` (nothing is recorded; live playback only).
    #[arg(long = "storage", env = "NOVA_STORAGE", default_value = "fs")]
    pub kind: StorageKind,

    /// The `fs` store's directory. Default: <data dir>/recordings.
    #[arg(long, env = "NOVA_STORAGE_DIR")]
    pub storage_dir: Option<PathBuf>,

    /// Where uploads wait while the store is unreachable. Default: <data dir>/spool.
    #[arg(long, env = "NOVA_SPOOL_DIR")]
    pub spool_dir: Option<PathBuf>,

    /// S3 endpoint URL (MinIO, Ceph, R2 …); unset: AWS for the region.
    #[arg(long, env = "NOVA_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,

    #[arg(long, env = "NOVA_S3_BUCKET")]
    pub s3_bucket: Option<String>,

    /// Prefix of every key nova-live writes, e.g. `nova/`.
    #[arg(long, env = "NOVA_S3_PREFIX", default_value = "")]
    pub s3_prefix: String,

    #[arg(long, env = "NOVA_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,

    /// Path-style addressing (`endpoint/bucket/key`), which MinIO and most
    /// self-hosted stores need.
    #[arg(long, env = "NOVA_S3_FORCE_PATH_STYLE", default_value_t = false)]
    pub s3_force_path_style: bool,

    /// Static S3 credentials; unset: the standard AWS chain (AWS_ACCESS_KEY_ID
    /// and AWS_SECRET_ACCESS_KEY, profile files, instance and container roles).
    #[arg(long, env = "NOVA_S3_ACCESS_KEY_ID", requires = "s3_secret_access_key")]
    pub s3_access_key_id: Option<String>,

    #[arg(
        long,
        env = "NOVA_S3_SECRET_ACCESS_KEY",
        hide_env_values = true,
        requires = "s3_access_key_id"
    )]
    pub s3_secret_access_key: Option<String>,

    /// Uploads in flight at once.
    #[arg(long, env = "NOVA_UPLOAD_CONCURRENCY", default_value_t = 4)]
    pub upload_concurrency: usize,

    /// Free space each data path must keep (the recordings directory, the
    /// upload spool, the embedded database): bytes (`2GiB`) or a share of
    /// the filesystem (`5%`). Below it recording pauses; live playback goes on.
    #[arg(long, env = "NOVA_MIN_FREE_DISK", default_value = "512MiB", value_parser = units::parse_free_space)]
    pub min_free_disk: FreeSpace,

    /// Bytes the upload spool may hold while the store is unreachable (e.g.
    /// `8GiB`); when full, recording pauses until it drains.
    #[arg(long, env = "NOVA_MAX_SPOOL_BYTES", default_value = "8GiB", value_parser = units::parse_bytes)]
    pub max_spool_bytes: u64,

    /// Days recordings are kept unless their stream says otherwise; 0 keeps
    /// them until deleted.
    #[arg(long, env = "NOVA_RECORDING_RETENTION_DAYS", default_value_t = 0)]
    pub recording_retention_days: u32,

    /// Seconds of a live stream viewers may seek back into, unless the stream
    /// sets its own `dvr_window_seconds`.
    #[arg(long, env = "NOVA_DVR_WINDOW", default_value_t = 7200)]
    pub dvr_window: u64,

    /// Seconds between retention passes.
    #[arg(long, env = "NOVA_RETENTION_INTERVAL", default_value_t = 60.0)]
    pub retention_interval: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StorageKind {
    Fs,
    S3,
    Off,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The user the token is for (its `sub` claim).
    #[arg(long)]
    pub user: Uuid,

    /// Hours until the token expires.
    #[arg(long, default_value_t = 24 * 30)]
    pub ttl_hours: u64,

    #[command(flatten)]
    pub data: DataDirArg,
}
