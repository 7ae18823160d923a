//! A ladder thread that panics must not vanish: its rendition would stop
//! without a word, or (the decode thread) every rendition would. The panic
//! is caught on the thread, kept here, and raised again on the packager's
//! thread at its next call into the ladder, where the packager's own
//! supervision ends the stream with the reason.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use nova_media::panic_message;

/// The first panic of any of one ladder's threads.
#[derive(Clone, Debug, Default)]
pub(super) struct ThreadFailure {
    first: Arc<Mutex<Option<String>>>,
}

impl ThreadFailure {
    /// Starts `body` on a thread named `name`, keeping its panic, if any.
    pub fn spawn(
        &self,
        name: String,
        body: impl FnOnce() + Send + 'static,
    ) -> std::io::Result<JoinHandle<()>> {
        let failure = self.clone();
        let thread_name = name.clone();
        // Threads do not inherit spans: the rendition logs in its stream's.
        let span = tracing::Span::current();
        std::thread::Builder::new().name(name).spawn(move || {
            let _entered = span.enter();
            if let Err(payload) = catch_unwind(AssertUnwindSafe(body)) {
                let message = format!("{thread_name} panicked: {}", panic_message(&*payload));
                tracing::error!("ladder: {message}");
                failure
                    .first
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get_or_insert(message);
            }
        })
    }

    /// Panics with the first thread's panic message, if a thread panicked.
    pub fn raise(&self) {
        let first = self
            .first
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(message) = first {
            panic!("ladder thread {message}");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::panic::{AssertUnwindSafe, catch_unwind};

    use nova_media::panic_message;

    use super::ThreadFailure;

    #[test]
    fn a_thread_panic_is_raised_again_on_the_caller() {
        let failure = ThreadFailure::default();
        failure.raise();
        failure
            .spawn("ladder-fine".to_owned(), || {})
            .unwrap()
            .join()
            .unwrap();
        failure.raise();
        let thread = failure
            .spawn("ladder-360p".to_owned(), || panic!("encoder state lost"))
            .unwrap();
        assert!(thread.join().is_ok(), "the panic stays on its thread");
        let raised = catch_unwind(AssertUnwindSafe(|| failure.raise())).unwrap_err();
        assert_eq!(
            panic_message(&*raised),
            "ladder thread ladder-360p panicked: encoder state lost"
        );
    }
}
