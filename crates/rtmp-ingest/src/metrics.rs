//! The ingest's Prometheus series. Process-wide ones go to the global
//! recorder through handles taken once (per listener, per hub), so the
//! per-frame cost is an atomic add; per-stream ones are recorded at scrape
//! time by [`collect_streams`] from the hub's live streams only, so a stream
//! that ended leaves the output.

use metrics::{Counter, Gauge, Unit};
use nova_media::{PublishRejection, Track};

use crate::connection::CloseReason;
use crate::hub::Hub;

pub const RTMP_CONNECTIONS: &str = "nova_rtmp_connections";
pub const PUBLISH_REFUSALS: &str = "nova_publish_refusals_total";
pub const LIVE_STREAMS: &str = "nova_live_streams";
pub const INGEST_BYTES: &str = "nova_ingest_bytes_total";
pub const INGEST_FRAMES: &str = "nova_ingest_frames_total";
pub const INGEST_DROPPED_FRAMES: &str = "nova_ingest_dropped_frames_total";
pub const TIMESTAMP_REPAIRS: &str = "nova_timestamp_repairs_total";

pub const STREAM_INGEST_BYTES: &str = "nova_stream_ingest_bytes_total";
pub const STREAM_FRAMES: &str = "nova_stream_frames_total";
pub const STREAM_BEHIND: &str = "nova_stream_behind_seconds";

/// Why frames a publisher sent never reached a consumer (`reason` label).
pub(crate) const DROPPED_SLOW_SUBSCRIBER: &str = "slow_subscriber";
pub(crate) const DROPPED_MALFORMED: &str = "malformed";
pub(crate) const DROPPED_SUPERSEDED: &str = "superseded";

/// Describes the ingest's process-wide series to the installed recorder.
pub fn describe() {
    metrics::describe_gauge!(
        RTMP_CONNECTIONS,
        "Open RTMP connections by state: handshaking (RTMP handshake not done), connected (handshake done, not publishing: connect, createStream, waiting for the stream key's check), publishing"
    );
    metrics::describe_counter!(
        PUBLISH_REFUSALS,
        "RTMP clients refused, by reason: a stream key problem (bad_key, disabled, unknown_app), admission (server or owner limit), unavailable (key check failed or timed out), media_limit (media over a limit), or a protocol limit (chunk_size, message_too_large, chunk_streams, malformed_chunks, amf_too_deep, malformed_amf, create_streams, publish_timeout, pending_per_address, connections, handshake, protocol)"
    );
    metrics::describe_gauge!(
        LIVE_STREAMS,
        "Streams live on this node (publishing, or waiting for their publisher within the reconnect window)"
    );
    metrics::describe_counter!(
        INGEST_BYTES,
        Unit::Bytes,
        "Bytes read from RTMP sockets, every connection and state included"
    );
    metrics::describe_counter!(
        INGEST_FRAMES,
        "Audio and video frames accepted from publishers, by kind"
    );
    metrics::describe_counter!(
        INGEST_DROPPED_FRAMES,
        "Frames that did not reach a consumer, by reason: slow_subscriber (a consumer's queue was full; counted once per consumer), malformed (an FLV tag that does not parse), superseded (sent by a publisher another one took the stream from)"
    );
    metrics::describe_counter!(
        TIMESTAMP_REPAIRS,
        "Frames whose decode timestamp did not increase and was moved just past the previous one"
    );
}

/// Describes the per-stream series; called by [`collect_streams`] into the
/// scrape's own recorder.
fn describe_streams() {
    metrics::describe_counter!(
        STREAM_INGEST_BYTES,
        Unit::Bytes,
        "Bytes read from the stream's publishers since it went live (label stream: a live stream of this node)"
    );
    metrics::describe_counter!(
        STREAM_FRAMES,
        "Frames the stream's publishers sent since it went live, by kind"
    );
    metrics::describe_gauge!(
        STREAM_BEHIND,
        Unit::Seconds,
        "Wall time since the publisher's first frame minus the media time it has sent since: grows when the publisher cannot keep up with real time (only while a publisher is attached)"
    );
}

/// A ScrapeCollector body: records the per-stream ingest series of every
/// stream live in `hub` now.
pub fn collect_streams(hub: &Hub) {
    describe_streams();
    for (stream, stats) in hub.stream_stats() {
        let id = stream.to_string();
        metrics::counter!(STREAM_INGEST_BYTES, "stream" => id.clone()).absolute(stats.bytes);
        metrics::counter!(STREAM_FRAMES, "stream" => id.clone(), "kind" => "video")
            .absolute(stats.video_frames);
        metrics::counter!(STREAM_FRAMES, "stream" => id.clone(), "kind" => "audio")
            .absolute(stats.audio_frames);
        if let Some(behind) = stats.behind_seconds {
            metrics::gauge!(STREAM_BEHIND, "stream" => id).set(behind);
        }
    }
}

/// The `kind` label of a frame.
pub(crate) fn kind(track: Track) -> &'static str {
    match track {
        Track::Video => "video",
        Track::Audio => "audio",
    }
}

/// Counts a refused client under a reason from a bounded set.
pub(crate) fn count_refusal(reason: &'static str) {
    metrics::counter!(PUBLISH_REFUSALS, "reason" => reason).increment(1);
}

/// The refusal a connection's end stands for, for the reasons the
/// [`RefusalCounters`](crate::RefusalCounters) do not count already.
pub(crate) fn refusal_of(reason: &CloseReason) -> Option<&'static str> {
    match reason {
        CloseReason::PublishRejected(rejection) => Some(rejection_reason(rejection)),
        CloseReason::UnknownApp(_) => Some("unknown_app"),
        CloseReason::MediaLimit(_) => Some("media_limit"),
        _ => None,
    }
}

fn rejection_reason(rejection: &PublishRejection) -> &'static str {
    match rejection {
        PublishRejection::UnknownApp(_) => "unknown_app",
        PublishRejection::InvalidKey => "bad_key",
        PublishRejection::Disabled => "disabled",
        PublishRejection::Unavailable => "unavailable",
        PublishRejection::ServerFull(_) | PublishRejection::OwnerQuota(_) => "admission",
    }
}

/// One handle per connection state, taken once per listener.
#[derive(Clone)]
pub(crate) struct ConnectionGauges {
    handshaking: Gauge,
    connected: Gauge,
    publishing: Gauge,
    bytes: Counter,
}

impl ConnectionGauges {
    pub fn new() -> Self {
        let state = |state: &'static str| metrics::gauge!(RTMP_CONNECTIONS, "state" => state);
        Self {
            handshaking: state("handshaking"),
            connected: state("connected"),
            publishing: state("publishing"),
            bytes: metrics::counter!(INGEST_BYTES),
        }
    }

    /// Counts a new connection as handshaking until it says otherwise, and
    /// uncounts it when the returned guard is dropped, whatever way the
    /// connection's task ends.
    pub fn enter(&self) -> ConnectionState {
        self.handshaking.increment(1.0);
        ConnectionState {
            gauges: self.clone(),
            state: State::Handshaking,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    Handshaking,
    Connected,
    Publishing,
}

/// One connection's place in [`RTMP_CONNECTIONS`]; dropping it takes the
/// connection out.
pub(crate) struct ConnectionState {
    gauges: ConnectionGauges,
    state: State,
}

impl ConnectionState {
    pub fn set(&mut self, state: State) {
        if state != self.state {
            self.gauge(self.state).decrement(1.0);
            self.gauge(state).increment(1.0);
            self.state = state;
        }
    }

    /// Bytes read from the socket: counted once per read, not per message.
    pub fn read(&self, bytes: usize) {
        self.gauges.bytes.increment(bytes as u64);
    }

    fn gauge(&self, state: State) -> &Gauge {
        match state {
            State::Handshaking => &self.gauges.handshaking,
            State::Connected => &self.gauges.connected,
            State::Publishing => &self.gauges.publishing,
        }
    }
}

impl Drop for ConnectionState {
    fn drop(&mut self) {
        self.gauge(self.state).decrement(1.0);
    }
}
