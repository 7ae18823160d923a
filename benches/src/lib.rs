//! Helpers for the `load` harness (`src/bin/load.rs`): process CPU time from
//! `/proc`, HLS media playlist counting and ffmpeg's `-progress` reports. The Criterion micro-benchmarks
//! live in `benches/`.

pub mod playlist;
pub mod procfs;
pub mod progress;
