//! Calls the [`HubObserver`] in the order streams started and ended, without
//! holding any hub lock while the observer runs.
//!
//! Notices are queued while the hub's registry is locked, so the queue order
//! is the order of the state changes. Whoever queued one then drains the
//! queue unless another thread already is; that thread delivers it. So an
//! observer can call back into the hub, and a stream that ends and restarts
//! at once is never reported as started-then-ended.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, TryLockError};

use nova_media::StreamId;

use super::lock;
use super::subscription::Subscription;
use crate::hub::HubObserver;

pub(super) enum Notice {
    Started(StreamId, Subscription),
    Ended(StreamId),
}

pub(super) struct Notifier {
    observer: Arc<dyn HubObserver>,
    queue: Mutex<VecDeque<Notice>>,
    dispatching: Mutex<()>,
}

impl Notifier {
    pub fn new(observer: Arc<dyn HubObserver>) -> Self {
        Self {
            observer,
            queue: Mutex::new(VecDeque::new()),
            dispatching: Mutex::new(()),
        }
    }

    /// Call with the registry locked.
    pub fn push(&self, notice: Notice) {
        lock(&self.queue).push_back(notice);
    }

    /// Call with no hub lock held.
    pub fn dispatch(&self) {
        loop {
            let guard = match self.dispatching.try_lock() {
                Ok(guard) => guard,
                // An observer panicked mid-call; the queue itself is intact.
                Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => return,
            };
            loop {
                // The queue lock is released before the observer runs.
                let next = lock(&self.queue).pop_front();
                match next {
                    Some(Notice::Started(stream, feed)) => {
                        self.observer.stream_started(stream, feed)
                    }
                    Some(Notice::Ended(stream)) => self.observer.stream_ended(stream),
                    None => break,
                }
            }
            drop(guard);
            // A notice queued after our last look, by a thread that found us
            // dispatching, is ours to deliver.
            if lock(&self.queue).is_empty() {
                return;
            }
        }
    }
}
