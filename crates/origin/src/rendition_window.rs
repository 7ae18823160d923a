//! One rendition's live window: the segments its playlist lists, those that
//! recently slid out, and the init segments they need (RFC 8216 §6.2.2).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use nova_media::{
    CachePolicy, InitSegment, LiveEdge, MediaSegment, PartialSegment, PlaybackObject,
    SegmentContainer,
};

use crate::ll_hls::{LowLatency, PART_SEGMENTS};
use crate::playlist::{PlaylistHeader, render};
use nova_media::fmp4::TrackInfo;

pub(crate) const PLAYLIST_NAME: &str = "index.m3u8";
const PLAYLIST_TYPE: &str = "application/vnd.apple.mpegurl";

#[derive(Clone, Copy, Debug)]
pub(crate) struct WindowConfig {
    /// Segments the playlist lists.
    pub segments: usize,
    /// The smallest `EXT-X-TARGETDURATION`, in seconds.
    pub min_target_secs: u64,
    /// `EXT-X-PART-INF:PART-TARGET` of windows that receive parts.
    pub part_target_ms: u64,
}

struct Retired {
    segment: MediaSegment,
    until: Instant,
}

/// A part no longer listed, still served until `until` (as segments are).
struct RetiredPart {
    part: PartialSegment,
    until: Instant,
}

pub(crate) struct RenditionWindow {
    config: WindowConfig,
    container: SegmentContainer,
    live: VecDeque<MediaSegment>,
    retired: VecDeque<Retired>,
    /// Init segments still referenced, newest last.
    inits: Vec<InitSegment>,
    removed_discontinuities: u64,
    target_duration: u64,
    ended_at: Option<Instant>,
    playlist: Option<Bytes>,
    /// LL-HLS parts of the newest segments and of the open one; only
    /// windows that receive parts have an LL-HLS playlist.
    parts: VecDeque<PartialSegment>,
    retired_parts: VecDeque<RetiredPart>,
    has_parts: bool,
}

impl RenditionWindow {
    pub(crate) fn new(container: SegmentContainer, config: WindowConfig) -> Self {
        Self {
            config,
            container,
            live: VecDeque::new(),
            retired: VecDeque::new(),
            inits: Vec::new(),
            removed_discontinuities: 0,
            target_duration: config.min_target_secs.max(1),
            ended_at: None,
            playlist: None,
            parts: VecDeque::new(),
            retired_parts: VecDeque::new(),
            has_parts: false,
        }
    }

    /// A part of the segment being filled: listed at once (RFC 8216bis
    /// §4.4.4.9), so players can fetch it well before the segment closes.
    pub(crate) fn add_part(&mut self, part: &PartialSegment) {
        self.has_parts = true;
        self.parts.push_back(part.clone());
        self.render();
    }

    /// Where the LL-HLS playlist stands; `None` for windows without parts.
    pub(crate) fn live_edge(&self) -> Option<LiveEdge> {
        if !self.has_parts {
            return None;
        }
        let last_segment = self.live.back().map(|s| s.sequence);
        let open_segment = last_segment.map_or(0, |n| n + 1);
        let open_parts = self
            .parts
            .iter()
            .filter(|p| p.sequence == open_segment)
            .count();
        Some(LiveEdge {
            last_segment,
            open_segment,
            open_parts: u32::try_from(open_parts).unwrap_or(u32::MAX),
            target_duration: self.target_duration,
            ended: self.ended_at.is_some(),
            next_part: next_part_name(self.live.back(), &self.parts, open_segment)
                .filter(|_| self.ended_at.is_none()),
        })
    }

    /// A new packaging run replaces the playlist. The old run's segments stay
    /// fetchable for their grace period: players may hold the old playlist.
    pub(crate) fn restart(
        &mut self,
        container: SegmentContainer,
        config: WindowConfig,
        now: Instant,
    ) {
        let listed_ms = self.listed_ms();
        while !self.live.is_empty() {
            self.retire_oldest(now, listed_ms);
        }
        while let Some(part) = self.parts.pop_front() {
            self.retire_part(part, now, listed_ms);
        }
        *self = Self {
            retired: std::mem::take(&mut self.retired),
            retired_parts: std::mem::take(&mut self.retired_parts),
            inits: std::mem::take(&mut self.inits),
            ..Self::new(container, config)
        };
        self.prune_inits();
    }

    pub(crate) fn add_init(&mut self, init: &InitSegment) {
        self.inits.retain(|known| known.name != init.name);
        self.inits.push(init.clone());
    }

    /// Segments the playlist lists, oldest first.
    pub(crate) fn live(&self) -> impl DoubleEndedIterator<Item = &MediaSegment> {
        self.live.iter()
    }

    /// The track an init segment of a one-track rendition holds, as the
    /// packager described it: for the master playlist and the MPD.
    pub(crate) fn track(&self, init_name: &str) -> Option<&TrackInfo> {
        self.inits
            .iter()
            .find(|init| init.name == init_name)
            .filter(|init| init.rendition.as_ref() != nova_media::MUXED_RENDITION)
            .and_then(|init| init.track.as_ref())
    }

    pub(crate) fn target_duration(&self) -> u64 {
        self.target_duration
    }

    pub(crate) fn add_segment(&mut self, segment: &MediaSegment, now: Instant) {
        // The playlist served until now is the longest that listed the
        // segments about to slide out.
        let listed_ms = self.listed_ms();
        self.live.push_back(segment.clone());
        // RFC 8216 §4.3.3.1: each EXTINF, rounded to the nearest integer, is
        // at most the target duration. It only ever grows during a run, as
        // players pace their reloads by it (§6.3.4).
        let rounded = (segment.duration_ms + 500) / 1000;
        self.target_duration = self.target_duration.max(rounded);
        while self.live.len() > self.config.segments.max(1) {
            self.retire_oldest(now, listed_ms);
        }
        self.expire(now);
        // Parts are listed for the newest few segments only (§4.4.4.9); the
        // older ones stay fetchable as part of their whole segments, and by
        // their own names for as long as a playlist that listed them may
        // be in a player's hands (§6.2.2).
        let oldest_listed = segment.sequence.saturating_sub(PART_SEGMENTS as u64 - 1);
        while self
            .parts
            .front()
            .is_some_and(|p| p.sequence < oldest_listed)
        {
            if let Some(part) = self.parts.pop_front() {
                self.retire_part(part, now, listed_ms);
            }
        }
        self.render();
    }

    pub(crate) fn end(&mut self, now: Instant) {
        self.ended_at.get_or_insert(now);
        self.render();
    }

    /// Forgets segments whose grace period is over, and inits nothing needs.
    pub(crate) fn expire(&mut self, now: Instant) {
        while self.retired.front().is_some_and(|r| r.until <= now) {
            self.retired.pop_front();
        }
        while self.retired_parts.front().is_some_and(|r| r.until <= now) {
            self.retired_parts.pop_front();
        }
        self.prune_inits();
    }

    /// `index.m3u8`, a segment or an init segment, by name.
    pub(crate) fn object(&self, name: &str, now: Instant) -> Option<PlaybackObject> {
        if name == PLAYLIST_NAME {
            return self.playlist.clone().map(|body| PlaybackObject {
                body,
                content_type: PLAYLIST_TYPE,
                cache: if self.ended_at.is_some() {
                    CachePolicy::FinalPlaylist
                } else {
                    CachePolicy::LivePlaylist
                },
            });
        }
        let live = self.live.iter();
        let retired = self
            .retired
            .iter()
            .filter(|r| r.until > now)
            .map(|r| &r.segment);
        let retired_parts = self
            .retired_parts
            .iter()
            .filter(|r| r.until > now)
            .map(|r| &r.part);
        if let Some(part) = self
            .parts
            .iter()
            .chain(retired_parts)
            .find(|p| p.name == name)
        {
            return Some(PlaybackObject {
                body: part.data.clone(),
                content_type: SegmentContainer::Fmp4.media_type(&part.rendition),
                cache: CachePolicy::Immutable,
            });
        }
        if let Some(segment) = live.chain(retired).find(|s| s.name == name) {
            return Some(PlaybackObject {
                body: segment.data.clone(),
                content_type: segment.container.media_type(&segment.rendition),
                cache: CachePolicy::Immutable,
            });
        }
        self.inits
            .iter()
            .find(|i| i.name == name)
            .map(|init| PlaybackObject {
                body: init.data.clone(),
                content_type: SegmentContainer::Fmp4.media_type(&init.rendition),
                cache: CachePolicy::Immutable,
            })
    }

    fn listed_ms(&self) -> u64 {
        self.live.iter().map(|s| s.duration_ms).sum()
    }

    /// RFC 8216 §6.2.2: a segment removed from the playlist stays available
    /// for its own duration plus that of the longest playlist that listed it
    /// (`listed_ms`: windows only grow to their size, then keep it).
    fn retire_oldest(&mut self, now: Instant, listed_ms: u64) {
        let Some(segment) = self.live.pop_front() else {
            return;
        };
        if segment.discontinuity {
            // §6.2.2: keep the discontinuity sequence numbers of the
            // remaining segments unchanged.
            self.removed_discontinuities += 1;
        }
        let until = now + Duration::from_millis(segment.duration_ms + listed_ms);
        self.retired.push_back(Retired { segment, until });
    }

    /// §6.2.2: a part removed from the playlist stays available for its
    /// duration plus that of the longest playlist that listed it.
    fn retire_part(&mut self, part: PartialSegment, now: Instant, listed_ms: u64) {
        let until = now + Duration::from_millis(part.duration_ms + listed_ms);
        self.retired_parts.push_back(RetiredPart { part, until });
    }

    fn prune_inits(&mut self) {
        let Some(newest) = self.inits.last().map(|i| i.name.clone()) else {
            return;
        };
        let referenced = |name: &str| {
            self.live
                .iter()
                .chain(self.retired.iter().map(|r| &r.segment))
                .any(|s| s.init_name.as_deref() == Some(name))
        };
        let keep: Vec<bool> = self
            .inits
            .iter()
            .map(|i| i.name == newest || referenced(&i.name))
            .collect();
        let mut keep = keep.into_iter();
        self.inits.retain(|_| keep.next().unwrap_or(true));
    }

    fn render(&mut self) {
        // Players need one complete segment to start from (§6.2.5.1).
        if self.live.is_empty() {
            return;
        }
        let header = PlaylistHeader {
            container: self.container,
            target_duration: self.target_duration,
            discontinuity_sequence: self.removed_discontinuities,
            ended: self.ended_at.is_some(),
        };
        self.live.make_contiguous();
        self.parts.make_contiguous();
        let (segments, _) = self.live.as_slices();
        let low_latency = self.has_parts.then(|| {
            let open_sequence = segments.last().map_or(0, |s| s.sequence + 1);
            LowLatency {
                part_target_ms: self.config.part_target_ms,
                parts: self.parts.as_slices().0,
                open_sequence,
                next_part: next_part_name(segments.last(), &self.parts, open_sequence),
            }
        });
        self.playlist = Some(render(&header, segments, low_latency.as_ref()));
    }
}

/// The name the open segment's next part will have: its parts are named
/// `{run}-{sequence}.{index}.m4s`, its segments `{run}-{sequence}.m4s`.
fn next_part_name(
    newest: Option<&MediaSegment>,
    parts: &VecDeque<PartialSegment>,
    open_sequence: u64,
) -> Option<String> {
    let newest = newest?;
    let run = newest
        .name
        .strip_suffix(&format!("{}.m4s", newest.sequence))?;
    let index = parts.iter().filter(|p| p.sequence == open_sequence).count();
    Some(format!("{run}{open_sequence}.{index}.m4s"))
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use m3u8_rs::Playlist;
    use nova_media::StreamId;

    use super::*;

    const CONFIG: WindowConfig = WindowConfig {
        segments: 3,
        min_target_secs: 2,
        part_target_ms: 500,
    };

    fn init(name: &str) -> InitSegment {
        InitSegment {
            stream: StreamId(uuid::Uuid::nil()),
            rendition: nova_media::SOURCE_RENDITION.into(),
            name: name.into(),
            data: Bytes::from(name.to_owned()),
            track: None,
        }
    }

    fn segment(sequence: u64, init: &str, duration_ms: u64, discontinuity: bool) -> MediaSegment {
        MediaSegment {
            stream: StreamId(uuid::Uuid::nil()),
            rendition: nova_media::SOURCE_RENDITION.into(),
            sequence,
            name: format!("r-{sequence}.m4s"),
            container: SegmentContainer::Fmp4,
            init_name: Some(init.into()),
            start_ms: 0,
            duration_ms,
            discontinuity,
            program_date_time: SystemTime::UNIX_EPOCH,
            data: Bytes::from(format!("segment {sequence}")),
            fragment: None,
        }
    }

    fn playlist(window: &RenditionWindow, now: Instant) -> m3u8_rs::MediaPlaylist {
        let object = window.object(PLAYLIST_NAME, now).expect("a playlist");
        match m3u8_rs::parse_playlist_res(&object.body) {
            Ok(Playlist::MediaPlaylist(playlist)) => playlist,
            other => panic!("not a media playlist: {other:?}"),
        }
    }

    #[test]
    fn has_no_playlist_before_the_first_segment() {
        let mut window = RenditionWindow::new(SegmentContainer::Fmp4, CONFIG);
        window.add_init(&init("r-init1.mp4"));
        let now = Instant::now();
        assert!(window.object(PLAYLIST_NAME, now).is_none());
        assert_eq!(
            window.object("r-init1.mp4", now).unwrap().content_type,
            "video/mp4"
        );
        assert!(window.object("nope.m4s", now).is_none());
    }

    #[test]
    fn audio_renditions_are_served_as_audio() {
        let mut window = RenditionWindow::new(SegmentContainer::Fmp4, CONFIG);
        let mut audio_init = init("a-init1.mp4");
        audio_init.rendition = nova_media::AUDIO_RENDITION.into();
        window.add_init(&audio_init);
        let mut audio_segment = segment(0, "a-init1.mp4", 2_000, false);
        audio_segment.rendition = nova_media::AUDIO_RENDITION.into();
        audio_segment.name = "a-0.m4s".into();
        window.add_segment(&audio_segment, Instant::now());
        for name in ["a-init1.mp4", "a-0.m4s"] {
            let object = window.object(name, Instant::now()).unwrap();
            assert_eq!(object.content_type, "audio/mp4", "{name}");
        }
    }

    #[test]
    fn slides_counts_discontinuities_and_keeps_removed_segments_for_a_grace_period() {
        let start = Instant::now();
        let mut window = RenditionWindow::new(SegmentContainer::Fmp4, CONFIG);
        window.add_init(&init("r-init1.mp4"));
        window.add_segment(&segment(0, "r-init1.mp4", 2_000, false), start);
        window.add_segment(&segment(1, "r-init1.mp4", 2_000, false), start);
        window.add_init(&init("r-init2.mp4"));
        window.add_segment(&segment(2, "r-init2.mp4", 2_000, true), start);
        window.add_segment(&segment(3, "r-init2.mp4", 2_000, false), start);
        let live = playlist(&window, start);
        assert_eq!((live.media_sequence, live.discontinuity_sequence), (1, 0));
        assert_eq!(live.segments.len(), 3);
        assert_eq!(live.segments[0].map.as_ref().unwrap().uri, "r-init1.mp4");
        assert!(live.segments[1].discontinuity);
        assert_eq!(live.segments[1].map.as_ref().unwrap().uri, "r-init2.mp4");

        // Segment 0 slid out at `start` with a 6 s playlist: 2 + 6 s of grace.
        let later = start + Duration::from_millis(7_999);
        let served = window.object("r-0.m4s", later).unwrap();
        assert_eq!(served.body, Bytes::from("segment 0"));
        assert_eq!(served.cache, CachePolicy::Immutable);
        assert!(
            window
                .object("r-0.m4s", start + Duration::from_secs(8))
                .is_none()
        );

        // The discontinuity slides out: the sequence counts it (§6.2.2).
        let t = start + Duration::from_secs(9);
        window.add_segment(&segment(4, "r-init2.mp4", 2_600, false), t);
        window.add_segment(&segment(5, "r-init2.mp4", 2_000, false), t);
        let live = playlist(&window, t);
        assert_eq!((live.media_sequence, live.discontinuity_sequence), (3, 1));
        assert!(live.segments.iter().all(|s| !s.discontinuity));
        assert_eq!(live.segments[0].map.as_ref().unwrap().uri, "r-init2.mp4");
        // 2.6 s rounds to 3 (§4.3.3.1).
        assert_eq!(live.target_duration, 3);
        // Expired segments are forgotten, and with them the first init.
        assert!(window.object("r-0.m4s", t).is_none());
        assert!(
            window.object("r-2.m4s", t).is_some(),
            "still in its grace period"
        );
        assert!(
            window.object("r-init1.mp4", t).is_some(),
            "r-1 still needs it"
        );
        window.expire(t + Duration::from_secs(60));
        assert!(window.object("r-init1.mp4", t).is_none());
        assert!(window.object("r-init2.mp4", t).is_some());
    }

    fn part(sequence: u64, index: u32) -> PartialSegment {
        PartialSegment {
            stream: StreamId(uuid::Uuid::nil()),
            rendition: nova_media::SOURCE_RENDITION.into(),
            sequence,
            index,
            name: format!("r-{sequence}.{index}.m4s"),
            duration_ms: 500,
            independent: index == 0,
            data: Bytes::from(format!("part {sequence}.{index}")),
            last_frame_arrived: None,
        }
    }

    /// A player that read a playlist listing a part may ask for it after
    /// the part left the playlist: it stays served as long as a removed
    /// segment would be (RFC 8216bis §6.2.2).
    #[test]
    fn parts_that_leave_the_playlist_are_served_for_a_grace_period() {
        let start = Instant::now();
        let mut window = RenditionWindow::new(SegmentContainer::Fmp4, CONFIG);
        window.add_init(&init("r-init1.mp4"));
        for sequence in 0..=PART_SEGMENTS as u64 {
            for index in 0..4 {
                window.add_part(&part(sequence, index));
            }
            window.add_segment(&segment(sequence, "r-init1.mp4", 2_000, false), start);
        }
        let listed = window.object(PLAYLIST_NAME, start).unwrap().body;
        let listed = String::from_utf8_lossy(&listed);
        assert!(listed.contains("r-1.3.m4s"), "{listed}");
        assert!(
            !listed.contains("r-0."),
            "segment 0 and its parts are gone: {listed}"
        );
        // Removed at `start` from a 6 s playlist: 0.5 + 6 s of grace.
        let served = window.object("r-0.3.m4s", start + Duration::from_millis(6_499));
        assert_eq!(served.unwrap().body, Bytes::from("part 0.3"));
        window.expire(start + Duration::from_millis(6_500));
        assert!(
            window
                .object("r-0.3.m4s", start + Duration::from_millis(6_500))
                .is_none()
        );
        assert!(window.object("r-1.0.m4s", start).is_some(), "still listed");
    }

    #[test]
    fn ends_with_endlist_and_a_final_cache_policy() {
        let now = Instant::now();
        let mut window = RenditionWindow::new(SegmentContainer::Fmp4, CONFIG);
        window.add_segment(&segment(0, "r-init1.mp4", 1_500, false), now);
        assert_eq!(
            window.object(PLAYLIST_NAME, now).unwrap().cache,
            CachePolicy::LivePlaylist
        );
        window.end(now);
        let object = window.object(PLAYLIST_NAME, now).unwrap();
        assert_eq!(object.cache, CachePolicy::FinalPlaylist);
        assert_eq!(object.content_type, "application/vnd.apple.mpegurl");
        assert!(playlist(&window, now).end_list);
        // The configured minimum holds even for short segments.
        assert_eq!(playlist(&window, now).target_duration, 2);
    }

    #[test]
    fn a_new_run_replaces_the_playlist_but_serves_old_segments_a_while() {
        let now = Instant::now();
        let mut window = RenditionWindow::new(SegmentContainer::Fmp4, CONFIG);
        window.add_init(&init("r-init1.mp4"));
        window.add_segment(&segment(0, "r-init1.mp4", 2_000, false), now);
        window.end(now);
        window.restart(SegmentContainer::Ts, CONFIG, now);
        assert!(window.object(PLAYLIST_NAME, now).is_none());
        assert!(window.object("r-0.m4s", now).is_some());
        assert!(window.object("r-init1.mp4", now).is_some());
    }
}
