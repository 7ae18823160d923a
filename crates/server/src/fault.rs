//! Faults the server tests inject into a debug build, for failures no
//! input can cause: a packager that panics or hangs, a background task
//! that panics. The hidden `--test-faults` flag lists them:
//!
//! - `packager-panic:N`: the packager of the N-th stream to go live (from
//!   1) panics at its 100th event;
//! - `packager-stuck:N`: the packager of the N-th stream never returns
//!   from the stream's end;
//! - `background-panic`: the API's background tasks panic 5 s after each
//!   start.
//!
//! Release builds compile all of it out: there every function below is a
//! constant "no fault", and the flag is refused.

#[cfg(debug_assertions)]
static FAULTS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();

/// Arms the faults `--test-faults` lists (once, at start).
#[cfg(debug_assertions)]
pub fn install(faults: &[String]) -> anyhow::Result<()> {
    if !faults.is_empty() {
        tracing::warn!(?faults, "test faults armed");
    }
    let _ = FAULTS.set(faults.to_vec());
    Ok(())
}

#[cfg(not(debug_assertions))]
pub fn install(faults: &[String]) -> anyhow::Result<()> {
    anyhow::ensure!(
        faults.is_empty(),
        "--test-faults is for the test suite's debug builds; this is a release build"
    );
    Ok(())
}

/// What the packager of one stream is made to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(debug_assertions), allow(dead_code))] // never armed there
pub enum PackagerFault {
    /// Panic when this many events have been handled.
    PanicAtEvent(u64),
    /// Block forever on `StreamEnded`.
    StuckAtEnd,
}

/// Called once per stream that goes live, in order.
#[cfg(debug_assertions)]
pub fn packager_fault() -> Option<PackagerFault> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static STREAMS_STARTED: AtomicU64 = AtomicU64::new(0);
    let ordinal = STREAMS_STARTED.fetch_add(1, Ordering::Relaxed) + 1;
    faults().find_map(|fault| {
        let (name, n) = fault.split_once(':')?;
        if n.parse::<u64>().ok()? != ordinal {
            return None;
        }
        match name {
            "packager-panic" => Some(PackagerFault::PanicAtEvent(100)),
            "packager-stuck" => Some(PackagerFault::StuckAtEnd),
            _ => None,
        }
    })
}

#[cfg(not(debug_assertions))]
pub fn packager_fault() -> Option<PackagerFault> {
    None
}

#[cfg(debug_assertions)]
pub fn background_panics() -> bool {
    faults().any(|fault| fault == "background-panic")
}

#[cfg(not(debug_assertions))]
pub fn background_panics() -> bool {
    false
}

#[cfg(debug_assertions)]
fn faults() -> impl Iterator<Item = &'static str> {
    FAULTS.get().into_iter().flatten().map(String::as_str)
}
