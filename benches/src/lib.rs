//! Helpers for the load harnesses (`src/bin/load.rs` for RTMP,
//! `src/bin/api_load.rs` for the API): process CPU time from `/proc`,
//! latency percentiles, HLS media playlist counting and ffmpeg's `-progress` reports. The Criterion micro-benchmarks
//! live in `benches/`.

pub mod latency;
pub mod ll_playlist;
pub mod playlist;
pub mod procfs;
pub mod progress;
