use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use nova_media::SegmentContainer;
use uuid::Uuid;

/// nova-live: RTMP in, HLS out, with a management API over Postgres.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: RTMP ingest, packaging, HTTP playback and API.
    Serve(Box<ServeArgs>),
    /// Print an API token (JWT) for a user, valid for this server's secret.
    Token(TokenArgs),
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

    #[command(flatten)]
    pub data: DataDirArg,

    /// PostgreSQL URL. Unset: nova-live runs its own cluster under the data directory.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

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

    /// Longest LL-HLS partial segment of the CMAF renditions, in seconds.
    #[arg(long, env = "NOVA_PART_TARGET", default_value_t = 0.5)]
    pub part_target: f64,

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
