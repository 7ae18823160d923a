//! What nova-live's tests and benches share: independent judges of its
//! output (ffprobe and ffmpeg for media, Python's XML parser for MPDs, a
//! player's reading of LL-HLS playlists), the real parts around it (the
//! ffmpeg CLI as a publisher, s3s-fs as the S3 server), free ports and a
//! TLS certificate.
//!
//! Dev-only: a `[dev-dependencies]` entry of the shipped crates (the benches,
//! which are not shipped, depend on it normally). Helpers that only one
//! crate's tests need stay in that crate's `tests/support`.

pub mod ffmpeg;
pub mod ll_hls;
pub mod mpd;
pub mod probe;
pub mod s3;
pub mod tls;

/// A loopback TCP port nobody listens on right now: bound, then released
/// for the process under test to bind.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}
