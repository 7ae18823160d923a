use std::sync::Arc;
use std::time::{Instant, SystemTime};

use bytes::Bytes;

use crate::fmp4::{FragmentInfo, TrackInfo};
use crate::{SegmentContainer, StreamId, StreamSettings};

/// The rendition that is the publisher's own encode, passed through: in
/// fMP4 runs, its video track alone (one CMAF track per rendition, served
/// under `/live/{stream}/source/`).
pub const SOURCE_RENDITION: &str = "source";

/// The audio track of an fMP4 run on its own, cut at the same media times as
/// the video renditions (served under `/live/{stream}/audio/`).
pub const AUDIO_RENDITION: &str = "audio";

/// The publisher's audio and video muxed together, the playlist at
/// `/live/{stream}/index.m3u8`: what legacy players and MPEG-TS runs use.
pub const MUXED_RENDITION: &str = "main";

/// The CMAF initialization segment (`ftyp` + `moov`) of one publish session.
/// MPEG-TS has none.
#[derive(Clone, Debug)]
pub struct InitSegment {
    pub stream: StreamId,
    /// The rendition (quality) it belongs to, e.g. [`SOURCE_RENDITION`] or `720p`.
    pub rendition: Arc<str>,
    /// Unique within the rendition's packaging run; segments refer to it.
    pub name: String,
    pub data: Bytes,
    /// Its one track's codec, timescale and picture or channels, known once
    /// by the packager that wrote `data`, so no sink reads them back out of
    /// it. `None` when `data` is not one CMAF track nova-live describes.
    pub track: Option<TrackInfo>,
}

/// One media segment, closed and immutable.
#[derive(Clone, Debug)]
pub struct MediaSegment {
    pub stream: StreamId,
    /// The rendition (quality) it belongs to, e.g. [`SOURCE_RENDITION`] or `720p`.
    pub rendition: Arc<str>,
    /// Media sequence number (RFC 8216 §4.3.3.2): continues across reconnects.
    pub sequence: u64,
    /// File name, unique within its rendition for the life of the server:
    /// under `/live/{stream}/` for [`MUXED_RENDITION`], under
    /// `/live/{stream}/{rendition}/` for the others.
    pub name: String,
    pub container: SegmentContainer,
    /// The init segment this segment needs (`EXT-X-MAP`), for fMP4.
    pub init_name: Option<String>,
    /// Decode time of the segment's first video frame, in the stream's
    /// packaging timeline (ms). The fMP4 `tfdt` is its presentation time,
    /// later by that keyframe's composition offset.
    pub start_ms: i64,
    pub duration_ms: u64,
    /// The first segment after a publisher reconnect or dropped frames.
    pub discontinuity: bool,
    /// Wall-clock time of the first frame (`EXT-X-PROGRAM-DATE-TIME`).
    pub program_date_time: SystemTime,
    pub data: Bytes,
    /// An fMP4 segment's `tfdt` and sample count, known once by the
    /// packager that wrote `data`; `None` for MPEG-TS.
    pub fragment: Option<FragmentInfo>,
}

/// A part of a media segment not yet closed (LL-HLS partial segment, RFC
/// 8216bis §4.4.4.9): one CMAF chunk (`moof` + `mdat`). The segment, when it
/// closes, is its parts' bytes end to end.
#[derive(Clone, Debug)]
pub struct PartialSegment {
    pub stream: StreamId,
    pub rendition: Arc<str>,
    /// Media sequence number of the segment it belongs to.
    pub sequence: u64,
    /// Its place in the segment, from 0.
    pub index: u32,
    /// File name in the rendition's directory.
    pub name: String,
    pub duration_ms: u64,
    /// Starts with a sync sample (`INDEPENDENT=YES`).
    pub independent: bool,
    pub data: Bytes,
    /// When the packager received the part's last frame from the ingest
    /// hub: the live origin measures how long the part took to become
    /// servable from it. `None` when the frames were made by the packager
    /// itself (transcoded renditions, whose wait is the encoder's).
    pub last_frame_arrived: Option<Instant>,
}

/// What the packager emits, in order, for every stream it packages.
#[derive(Clone, Debug)]
pub enum SegmentEvent {
    /// A packaging run begins for the stream (its first publish after being
    /// idle or ended): a new playlist replaces whatever the stream had.
    Started {
        stream: StreamId,
        settings: Arc<StreamSettings>,
    },
    Init(InitSegment),
    Segment(MediaSegment),
    /// The stream ended: playlists get `#EXT-X-ENDLIST`.
    Ended {
        stream: StreamId,
    },
}

/// Receives packaged output: the in-memory live window, the DVR recorder.
///
/// Called from packager threads; implementations return quickly and hand
/// slow work (uploads) to their own tasks.
pub trait SegmentSink: Send + Sync + 'static {
    fn handle(&self, event: &SegmentEvent);

    /// A partial segment, ahead of the segment that will contain it. Only
    /// the live window serves parts; sinks that keep whole segments (the
    /// recorder) need not look at them.
    fn part(&self, _part: &PartialSegment) {}

    /// A transcoded rendition stopped for good during the run: manifests
    /// stop listing it; its segments already out expire as usual.
    fn rendition_dropped(&self, _stream: StreamId, _rendition: &str) {}
}
