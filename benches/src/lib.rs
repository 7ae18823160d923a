//! Helpers for the `load` harness (`src/bin/load.rs`): process CPU time from
//! `/proc` and HLS media playlist counting. The Criterion micro-benchmarks
//! live in `benches/`.

pub mod playlist;
pub mod procfs;
