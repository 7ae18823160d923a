//! What the `serve` arguments mean beyond their parsing: the bounds clap
//! does not check, and the values the server derives from them.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Result;
use nova_media::StreamSettings;
use nova_rtmp_ingest::MediaLimits;

use crate::cli::{MediaLimitArgs, ServeArgs};

pub fn validate(args: &ServeArgs) -> Result<()> {
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
        (1.0..=3600.0).contains(&args.shutdown_timeout),
        "--shutdown-timeout must be between 1 and 3600 seconds"
    );
    anyhow::ensure!(
        args.max_connections > 0,
        "--max-connections must be at least 1"
    );
    anyhow::ensure!(
        args.rtmp_idle_timeout >= 1.0,
        "--rtmp-idle-timeout must be at least 1 second"
    );
    args.rtmp_limits.validate()?;
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
    let limits = &args.media_limits;
    anyhow::ensure!(
        limits.max_ingest_bitrate == 0 || limits.max_ingest_bitrate >= 100_000,
        "--max-ingest-bitrate must be 0 (no limit) or at least 100k"
    );
    anyhow::ensure!(
        (args.segment_duration..=3600.0).contains(&limits.max_segment_duration),
        "--max-segment-duration must be between --segment-duration and 3600 seconds"
    );
    anyhow::ensure!(
        (1 << 20..=4 << 30).contains(&limits.max_segment_bytes),
        "--max-segment-bytes must be between 1Mi and 4Gi"
    );
    anyhow::ensure!(
        args.storage.max_spool_bytes >= 1 << 20,
        "--max-spool-bytes must be at least 1MiB (a few segments)"
    );
    validate_limits(args)?;
    if let Some(url) = &args.public_url {
        anyhow::ensure!(
            url.starts_with("http://") || url.starts_with("https://"),
            "--public-url must start with http:// or https://"
        );
    }
    Ok(())
}

/// What a publisher may send before it is disconnected.
pub fn media_limits(args: &MediaLimitArgs) -> MediaLimits {
    MediaLimits {
        max_keyframe_interval: Duration::from_secs_f64(args.max_segment_duration),
        max_gop_bytes: usize::try_from(args.max_segment_bytes).unwrap_or(usize::MAX),
        max_bitrate: (args.max_ingest_bitrate > 0).then_some(args.max_ingest_bitrate),
    }
}

fn validate_limits(args: &ServeArgs) -> Result<()> {
    let http = &args.http_limits;
    anyhow::ensure!(
        http.http_max_connections > 0,
        "--http-max-connections must be at least 1"
    );
    anyhow::ensure!(
        (1.0..=300.0).contains(&http.http_header_timeout),
        "--http-header-timeout must be between 1 and 300 seconds"
    );
    anyhow::ensure!(
        (1.0..=3600.0).contains(&http.http_request_timeout),
        "--http-request-timeout must be between 1 and 3600 seconds"
    );
    anyhow::ensure!(
        http.tls_max_handshakes > 0,
        "--tls-max-handshakes must be at least 1"
    );
    anyhow::ensure!(
        (1.0..=300.0).contains(&http.tls_handshake_timeout),
        "--tls-handshake-timeout must be between 1 and 300 seconds"
    );
    anyhow::ensure!(
        http.max_event_feeds_per_address > 0,
        "--max-event-feeds-per-address must be at least 1"
    );
    anyhow::ensure!(
        http.viewer_joins_per_minute > 0,
        "--viewer-joins-per-minute must be at least 1"
    );
    let database = &args.database;
    anyhow::ensure!(
        database.database_max_connections > 0,
        "--database-max-connections must be at least 1"
    );
    anyhow::ensure!(
        database.database_reserved_connections > 0,
        "--database-reserved-connections must be at least 1"
    );
    anyhow::ensure!(
        (0.1..=3600.0).contains(&database.database_statement_timeout),
        "--database-statement-timeout must be between 0.1 and 3600 seconds"
    );
    Ok(())
}

/// The settings a stream has until its owner changes them.
pub fn stream_defaults(args: &ServeArgs) -> StreamSettings {
    StreamSettings {
        container: args.hls_container,
        target_segment_duration: Duration::from_secs_f64(args.segment_duration),
        live_window_segments: args.live_window,
        part_target_duration: Duration::from_secs_f64(args.part_target),
        transcode: args.profile,
        low_latency: false,
    }
}

/// The addresses the API hands out to players and publishers.
#[derive(Clone, Debug)]
pub struct PublicUrls {
    /// Playback and API URLs start with this (no trailing slash).
    pub http: String,
    /// Publishers append `/<stream key>`.
    pub rtmp: String,
}

impl PublicUrls {
    /// From `--public-url` and `--public-rtmp-url`, or else from this
    /// machine's name and the ports the listeners are bound to.
    pub fn resolve(args: &ServeArgs, scheme: &str, rtmp: SocketAddr, http: SocketAddr) -> Self {
        let public_url = args
            .public_url
            .clone()
            .unwrap_or_else(|| format!("{scheme}://{}:{}", public_host(), http.port()))
            .trim_end_matches('/')
            .to_owned();
        let public_rtmp_url = args
            .public_rtmp_url
            .clone()
            .unwrap_or_else(|| format!("rtmp://{}:{}/live", host_of(&public_url), rtmp.port()));
        Self {
            http: public_url,
            rtmp: public_rtmp_url,
        }
    }
}

/// The machine's host name, which other machines on the LAN can usually
/// resolve; `localhost` when there is none. Also the default node name.
pub fn public_host() -> String {
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
