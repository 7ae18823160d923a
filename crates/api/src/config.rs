/// What the API hands out to clients about where things are.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// Base of the playback URLs handed out, e.g. `http://localhost:8080`,
    /// without a trailing slash. Behind a CDN, the CDN's URL.
    pub public_url: String,
    /// The ingest URL handed out, e.g. `rtmp://localhost:1935/live`.
    pub rtmp_url: String,
}

impl ApiConfig {
    /// Where players find a stream's HLS playlist.
    pub(crate) fn hls_url(&self, stream: nova_media::StreamId) -> String {
        format!(
            "{}/live/{stream}/index.m3u8",
            self.public_url.trim_end_matches('/')
        )
    }
}
