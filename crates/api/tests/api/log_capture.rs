//! The log a test's own requests write, as the server's subscriber would
//! format it, captured through one subscriber installed for the whole test
//! binary.
//!
//! A subscriber scoped to the test (`tracing::subscriber::set_default`) is
//! not enough while other tests run on other threads of the same process.
//! tracing caches, per callsite and for the whole process, whether anything
//! wants it; while a scoped subscriber is the only one registered, a
//! callsite reached first on another test's thread is asked of *that*
//! thread's default (none) and cached as "never", and the capturing test
//! then never sees it, depending on which test got there first. Rebuilding
//! the cache after `set_default` does not help: the race is a callsite
//! registered later, elsewhere.
//!
//! So the subscriber here is the global default, installed once, and it
//! answers "sometimes" for every callsite: the cache then says the same on
//! every thread, and each event is decided when it happens, by whether its
//! thread is capturing. A `#[sqlx::test]` runs on one thread (a current-
//! thread runtime), so the requests it sends through `oneshot` log there.

use std::cell::RefCell;
use std::io;
use std::sync::{Arc, Mutex, Once};

use tracing::metadata::LevelFilter;
use tracing::subscriber::Interest;
use tracing::{Level, Metadata};
use tracing_subscriber::layer::{Context, Filter, Layer, SubscriberExt};

/// The most verbose level captured, as `with_max_level` would set it.
const MAX_LEVEL: Level = Level::DEBUG;

thread_local! {
    /// Where this thread's log goes while a test captures it.
    static CAPTURING: RefCell<Option<Log>> = const { RefCell::new(None) };
}

/// What has been logged on the capturing thread so far.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<u8>>>);

impl Log {
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// Captures this thread's log until dropped.
pub struct Capture {
    log: Log,
}

impl Capture {
    pub fn start() -> Self {
        static INSTALL: Once = Once::new();
        INSTALL.call_once(|| {
            let layer = tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(|| ThreadLog)
                .with_filter(OnCapturingThread);
            tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
                .expect("nothing else in the test binary installs a global subscriber");
        });
        let log = Log::default();
        CAPTURING.with(|current| {
            let previous = current.replace(Some(log.clone()));
            assert!(previous.is_none(), "one capture per thread at a time");
        });
        Self { log }
    }

    pub fn log(&self) -> &Log {
        &self.log
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        CAPTURING.with(|current| current.borrow_mut().take());
    }
}

fn capturing() -> bool {
    CAPTURING.with(|current| current.borrow().is_some())
}

/// Lets everything up to `MAX_LEVEL` through on a capturing thread, and
/// nothing elsewhere, deciding per event rather than per callsite.
struct OnCapturingThread;

impl<S> Filter<S> for OnCapturingThread {
    fn enabled(&self, metadata: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        *metadata.level() <= MAX_LEVEL && capturing()
    }

    fn callsite_enabled(&self, metadata: &'static Metadata<'static>) -> Interest {
        if *metadata.level() <= MAX_LEVEL {
            // Never "always" or "never": whether a thread captures changes.
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::from_level(MAX_LEVEL))
    }
}

/// Writes to the current thread's capture, if any.
struct ThreadLog;

impl io::Write for ThreadLog {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        CAPTURING.with(|current| {
            if let Some(log) = current.borrow().as_ref() {
                log.0.lock().unwrap().extend_from_slice(bytes);
            }
        });
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
