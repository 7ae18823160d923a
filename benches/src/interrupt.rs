//! Ctrl-C / SIGTERM / SIGHUP handling shared by the harnesses: a flag that
//! the long waits check, so an interrupted run still stops its servers and
//! publishers (through their guards' `Drop`) instead of leaving them behind.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Watches for the signals on `rt`; `name` prefixes the message printed when
/// one arrives.
pub fn watch(rt: &tokio::runtime::Runtime, name: &'static str) {
    rt.spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            return;
        };
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
            _ = hup.recv() => {}
        }
        INTERRUPTED.store(true, Ordering::SeqCst);
        eprintln!("{name}: interrupted, stopping servers and publishers");
    });
}

pub fn is_set() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

pub fn check() -> Result<()> {
    if is_set() {
        bail!("interrupted");
    }
    Ok(())
}

/// Sleeps, waking early with an error on SIGINT/SIGTERM.
pub fn pause(duration: Duration) -> Result<()> {
    let until = Instant::now() + duration;
    loop {
        check()?;
        let now = Instant::now();
        if now >= until {
            return Ok(());
        }
        std::thread::sleep((until - now).min(Duration::from_millis(100)));
    }
}
