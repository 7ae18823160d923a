//! A running server with a database of its own and a user token: what
//! most end-to-end tests start from.

use std::time::Duration;

use m3u8_rs::{MasterPlaylist, MediaPlaylist, Playlist};
use serde_json::Value;
use uuid::Uuid;

use nova_testkit::mpd::mpd_summary;
use nova_testkit::probe::probe_segment;
use nova_testkit::tls::TestCertificate;

use super::server::{Server, ServerOptions, TestDatabase};
use super::wait_for;

pub const LIMIT: Duration = Duration::from_secs(90);

pub struct Fixture {
    pub server: Server,
    pub database: TestDatabase,
    pub token: String,
}

impl Fixture {
    pub async fn start(extra_args: &[&str]) -> Self {
        Self::start_logging(extra_args, None).await
    }

    /// With the server's log limited to `log_filter` (a `NOVA_LOG` value),
    /// for tests that send too many requests to log each one.
    pub async fn start_logging(extra_args: &[&str], log_filter: Option<&str>) -> Self {
        Self::start_with(extra_args, log_filter, None).await
    }

    /// Serving HTTPS with `certificate`; `server.client` trusts it.
    pub async fn start_https(extra_args: &[&str], certificate: &TestCertificate) -> Self {
        Self::start_with(extra_args, None, Some(certificate)).await
    }

    async fn start_with(
        extra_args: &[&str],
        log_filter: Option<&str>,
        tls: Option<&TestCertificate>,
    ) -> Self {
        let database = TestDatabase::create().await;
        let server = Server::start(ServerOptions {
            database_url: Some(&database.url),
            extra_args,
            log_filter,
            tls,
        })
        .await;
        let token = server.token_for(Uuid::new_v4());
        Self {
            server,
            database,
            token,
        }
    }

    pub async fn finish(self) {
        let (status, _dir) = self.server.terminate().await;
        assert!(status.success(), "server exited with {status}");
        self.database.drop_database().await;
    }

    pub fn playlist_url(&self, stream: &serde_json::Value) -> String {
        stream["playback"]["hls_url"].as_str().unwrap().to_owned()
    }

    pub async fn playlist(&self, url: &str) -> Option<(String, MediaPlaylist)> {
        let text = self.server.fetch_text(url).await?;
        match m3u8_rs::parse_playlist_res(text.as_bytes()) {
            Ok(Playlist::MediaPlaylist(playlist)) => Some((text, playlist)),
            Ok(Playlist::MasterPlaylist(_)) => panic!("expected a media playlist at {url}"),
            Err(e) => panic!("invalid playlist at {url}: {e:?}\n{text}"),
        }
    }

    pub async fn master(&self, url: &str) -> (String, MasterPlaylist) {
        let text = self
            .server
            .fetch_text(url)
            .await
            .expect("a master playlist");
        match m3u8_rs::parse_playlist_res(text.as_bytes()) {
            Ok(Playlist::MasterPlaylist(playlist)) => (text, playlist),
            other => panic!("expected a master playlist at {url}: {other:?}\n{text}"),
        }
    }

    /// The MPD at `url`, as the test kit's `mpd_summary.py` reads it.
    pub async fn mpd(&self, url: &str) -> Value {
        let response = self.server.fetch(url).await.expect("an MPD");
        assert_eq!(response.headers()["content-type"], "application/dash+xml");
        mpd_summary(&response.bytes().await.unwrap())
    }

    /// A new stream titled `title`, the sample published to it looped (for
    /// up to two minutes) until `segments` segments are in its playlist:
    /// the stream and its publisher, which the caller stops.
    pub async fn go_live(&self, title: &str, segments: usize) -> (Value, tokio::process::Child) {
        let stream = self
            .server
            .create_stream(&self.token, serde_json::json!({ "title": title }))
            .await;
        let publisher = super::publish(
            &super::server::stream_key_url(&self.server, &stream),
            &["-stream_loop", "-1"],
            120.0,
        );
        self.wait_for_segments(&self.playlist_url(&stream), segments)
            .await;
        (stream, publisher)
    }

    pub async fn wait_for_segments(&self, url: &str, count: usize) -> MediaPlaylist {
        wait_for(&format!("{count} segments in {url}"), LIMIT, || async {
            let (_, playlist) = self.playlist(url).await?;
            (playlist.segments.len() >= count).then_some(playlist)
        })
        .await
    }

    /// Fetches and probes every segment of an ended muxed playlist: each
    /// decodes, starts on a keyframe, lasts what EXTINF says, and starts
    /// after the one before it (across discontinuities too).
    pub async fn check_every_segment(&self, playlist_url: &str, playlist: &MediaPlaylist) {
        self.check_segments(playlist_url, playlist, Tracks::Both)
            .await;
    }

    /// Like [`Fixture::check_every_segment`], for a playlist whose segments
    /// carry `tracks`. Audio-only segments are judged by their audio.
    pub async fn check_segments(
        &self,
        playlist_url: &str,
        playlist: &MediaPlaylist,
        tracks: Tracks,
    ) {
        let base = reqwest::Url::parse(playlist_url).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut init: Option<Vec<u8>> = None;
        let mut starts = Vec::new();
        for (index, segment) in playlist.segments.iter().enumerate() {
            if let Some(map) = &segment.map {
                let response = self
                    .server
                    .fetch(base.join(&map.uri).unwrap().as_str())
                    .await
                    .unwrap();
                assert_eq!(response.headers()["content-type"], tracks.mp4_type());
                init = Some(response.bytes().await.unwrap().to_vec());
            }
            let response = self
                .server
                .fetch(base.join(&segment.uri).unwrap().as_str())
                .await
                .unwrap_or_else(|| panic!("segment {} is listed but not served", segment.uri));
            if init.is_some() {
                assert_eq!(response.headers()["content-type"], tracks.mp4_type());
            }
            let cache = response.headers()["cache-control"]
                .to_str()
                .unwrap()
                .to_owned();
            assert!(
                cache.contains("max-age=31536000"),
                "segment Cache-Control: {cache}"
            );
            let body = response.bytes().await.unwrap();
            let report = probe_segment(
                dir.path(),
                &format!(
                    "{index}-{}",
                    segment.uri.rsplit('/').next().unwrap_or_default()
                ),
                init.as_deref(),
                &body,
            );
            assert!(
                report.decode_errors.is_empty(),
                "{}: {}",
                segment.uri,
                report.decode_errors
            );
            let listed = f64::from(segment.duration);
            assert_eq!(
                report.audio_packets() > 0,
                tracks != Tracks::Video,
                "{}: audio packets {}",
                segment.uri,
                report.audio_packets()
            );
            assert_eq!(
                report.video_packets() > 0,
                tracks != Tracks::Audio,
                "{}: video packets {}",
                segment.uri,
                report.video_packets()
            );
            if tracks == Tracks::Audio {
                assert!(
                    (report.audio_duration() - listed).abs() < 0.05,
                    "{}: EXTINF {listed} but the audio lasts {}",
                    segment.uri,
                    report.audio_duration()
                );
                starts.push(report.audio_start());
                continue;
            }
            assert!(
                report.first_video_is_keyframe(),
                "{} does not start on a keyframe",
                segment.uri
            );
            assert!(
                (report.video_duration() - listed).abs() < 0.1,
                "{}: EXTINF {listed} but the video lasts {}",
                segment.uri,
                report.video_duration()
            );
            assert!(
                listed.round() as u64 <= playlist.target_duration,
                "{}: EXTINF {listed} exceeds the target duration {}",
                segment.uri,
                playlist.target_duration
            );
            starts.push(report.video_start());
        }
        assert!(
            starts.windows(2).all(|w| w[1] > w[0]),
            "segment start times go backwards: {starts:?}"
        );
    }
}

/// Which tracks a playlist's segments carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tracks {
    Both,
    Video,
    Audio,
}

impl Tracks {
    /// The `Content-Type` their fMP4 segments are served with.
    pub fn mp4_type(self) -> &'static str {
        match self {
            Self::Audio => "audio/mp4",
            Self::Both | Self::Video => "video/mp4",
        }
    }
}
