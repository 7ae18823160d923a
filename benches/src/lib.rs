//! Helpers for the load harnesses (`src/bin/load.rs` for RTMP,
//! `src/bin/dvr_load.rs` for recording to S3, `src/bin/api_load.rs` for the
//! API, `src/bin/part_latency.rs` for LL-HLS parts): process CPU time from
//! `/proc`, child-process guards, starting nova-live, latency percentiles,
//! ffmpeg's `-progress` reports, and watching a live window against an
//! object store's directory. What they share with the tests (the ffmpeg
//! publisher launcher, s3s-fs, free ports, playlist reading) is in
//! `nova-testkit`. The Criterion micro-benchmarks live in `benches/`.

pub mod dvr_report;
pub mod dvr_watch;
pub mod host;
pub mod http;
pub mod interrupt;
pub mod latency;
pub mod nova;
pub mod playlist;
pub mod process;
pub mod procfs;
pub mod progress;
pub mod publish;
