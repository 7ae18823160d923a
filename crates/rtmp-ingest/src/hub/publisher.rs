//! A publisher's handle on its stream.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use nova_media::StreamId;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

use super::budget::MediaLimitExceeded;
use super::stream::StreamState;
use super::{Hub, lock};
use crate::media::Media;

/// Held by the connection that publishes a stream.
///
/// Dropping it without [`Publisher::finish`] is an unclean disconnect: the
/// stream stays live for the hub's reconnect window.
pub struct Publisher {
    hub: Hub,
    stream: Arc<Mutex<StreamState>>,
    id: StreamId,
    session: u32,
    token: CancellationToken,
    finished: bool,
    /// The stream's count of bytes read from its publishers.
    bytes: Arc<AtomicU64>,
}

impl Publisher {
    pub(super) fn new(
        hub: Hub,
        stream: Arc<Mutex<StreamState>>,
        id: StreamId,
        session: u32,
        token: CancellationToken,
    ) -> Self {
        let bytes = lock(&stream).bytes();
        Self {
            bytes,
            hub,
            stream,
            id,
            session,
            token,
            finished: false,
        }
    }

    pub fn stream(&self) -> StreamId {
        self.id
    }

    /// This publisher's session number (the `session` of its
    /// `PublishStarted`).
    pub fn session(&self) -> u32 {
        self.session
    }

    /// Bytes this publisher's connection read from its socket (counted per
    /// read, without taking the stream's lock).
    pub fn received(&self, bytes: usize) {
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Hands media to every subscriber. Never waits. `false` once this
    /// publisher no longer owns the stream (taken over, the hub shut down,
    /// or its media broke a limit): the media is discarded.
    pub fn send(&self, media: Media) -> bool {
        let mut stream = lock(&self.stream);
        if !self.is_current(&stream) {
            if matches!(media, Media::Frame(_)) {
                metrics::counter!(
                    crate::metrics::INGEST_DROPPED_FRAMES,
                    "reason" => crate::metrics::DROPPED_SUPERSEDED
                )
                .increment(1);
            }
            return false;
        }
        stream.media(media);
        if stream.has_publisher() {
            return true;
        }
        // The media broke a limit and the stream let go of this publisher:
        // it waits for one to come back, as after an unclean disconnect.
        drop(stream);
        self.hub.expire_later(&self.stream, self.session);
        false
    }

    /// Resolves when the hub wants this publisher disconnected: another
    /// publisher took the stream over, [`Hub::disconnect`] was called, or
    /// the hub shut down.
    pub fn disconnect_requested(&self) -> WaitForCancellationFuture<'_> {
        self.token.cancelled()
    }

    /// Whether another publisher now owns the stream (as opposed to the
    /// stream having ended).
    pub fn taken_over(&self) -> bool {
        let stream = lock(&self.stream);
        !stream.ended && stream.session != self.session
    }

    /// The media limit this publisher broke, if that is why the hub
    /// disconnected it.
    pub fn limit_exceeded(&self) -> Option<MediaLimitExceeded> {
        lock(&self.stream).limit_exceeded(self.session)
    }

    /// Whether the hub shut down (as opposed to the stream having been
    /// ended or this publisher disconnected through [`Hub::disconnect`]).
    pub fn hub_shut_down(&self) -> bool {
        self.hub.is_shut_down()
    }

    /// A clean unpublish: the stream ends now, with no reconnect window.
    pub fn finish(mut self) {
        self.finished = true;
        let session = self.session;
        self.hub.end_if(&self.stream, |stream| {
            stream.session == session && stream.has_publisher()
        });
    }

    fn is_current(&self, stream: &StreamState) -> bool {
        !stream.ended && stream.session == self.session && stream.has_publisher()
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        {
            let mut stream = lock(&self.stream);
            if !self.is_current(&stream) {
                return;
            }
            stream.detach();
        }
        tracing::info!(stream = %self.id, session = self.session, "publisher disconnected; the stream waits for it to come back");
        self.hub.expire_later(&self.stream, self.session);
    }
}
