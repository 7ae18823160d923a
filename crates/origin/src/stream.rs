//! Everything one stream serves under `/live/{stream}/`: a live window per
//! rendition, and the manifests that combine the one-track renditions (the
//! master playlist and the DASH MPD).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use nova_media::{
    AUDIO_RENDITION, CachePolicy, InitSegment, LiveEdge, MUXED_RENDITION, MediaSegment,
    PartialSegment, PlaybackObject, SOURCE_RENDITION, SegmentContainer,
};
use tokio::sync::watch;

use crate::manifests::{self, PeriodOrigin};
use crate::rendition_window::{PLAYLIST_NAME, RenditionWindow, WindowConfig};
use nova_media::hls::rendition_report;

pub(crate) const MASTER_NAME: &str = "master.m3u8";
pub(crate) const MPD_NAME: &str = "manifest.mpd";
const PLAYLIST_TYPE: &str = "application/vnd.apple.mpegurl";
/// ISO/IEC 23009-1 Annex C.
const MPD_TYPE: &str = "application/dash+xml";

pub(crate) struct OriginStream {
    container: SegmentContainer,
    config: WindowConfig,
    renditions: BTreeMap<Arc<str>, RenditionWindow>,
    /// The one-track renditions of the current run.
    tracks: BTreeSet<Arc<str>>,
    /// Where each stretch of the run under one set of init segments began.
    periods: Vec<PeriodOrigin>,
    /// Wall-clock time of media time 0 of the run (the MPD's
    /// `availabilityStartTime`), fixed at its first segment.
    availability_start: Option<SystemTime>,
    clock_url: Option<Arc<str>>,
    master: Option<Bytes>,
    mpd: Option<Bytes>,
    ended_at: Option<Instant>,
    /// Segments of the muxed rendition (one per cut) since the run began.
    segments_cut: u64,
    /// Bumped at every change, for LL-HLS blocking reloads.
    changes: watch::Sender<()>,
}

impl OriginStream {
    pub(crate) fn new(
        container: SegmentContainer,
        config: WindowConfig,
        clock_url: Option<Arc<str>>,
    ) -> Self {
        Self {
            container,
            config,
            renditions: BTreeMap::new(),
            tracks: BTreeSet::new(),
            periods: Vec::new(),
            availability_start: None,
            clock_url,
            master: None,
            mpd: None,
            ended_at: None,
            segments_cut: 0,
            changes: watch::Sender::new(()),
        }
    }

    pub(crate) fn changes(&self) -> watch::Receiver<()> {
        self.changes.subscribe()
    }

    pub(crate) fn add_part(&mut self, part: &PartialSegment) {
        self.window(&part.rendition).add_part(part);
        self.changes.send_replace(());
    }

    pub(crate) fn live_edge(&self, rendition: &str) -> Option<LiveEdge> {
        self.renditions.get(rendition)?.live_edge()
    }

    /// A new packaging run: every rendition's playlist starts over (old
    /// segments stay fetchable for their grace period).
    pub(crate) fn restart(
        &mut self,
        container: SegmentContainer,
        config: WindowConfig,
        now: Instant,
    ) {
        for window in self.renditions.values_mut() {
            window.restart(container, config, now);
        }
        let fresh = Self::new(container, config, self.clock_url.clone());
        let changes = std::mem::replace(&mut self.changes, fresh.changes.clone());
        *self = Self {
            renditions: std::mem::take(&mut self.renditions),
            // Requests blocked on the old run see the new one begin.
            changes,
            ..fresh
        };
        self.changes.send_replace(());
    }

    pub(crate) fn add_init(&mut self, init: &InitSegment) {
        if init.rendition.as_ref() != MUXED_RENDITION {
            self.tracks.insert(init.rendition.clone());
        }
        self.window(&init.rendition).add_init(init);
    }

    pub(crate) fn segments_cut(&self) -> u64 {
        self.segments_cut
    }

    pub(crate) fn add_segment(&mut self, segment: &MediaSegment, now: Instant) {
        if segment.rendition.as_ref() == MUXED_RENDITION {
            self.segments_cut += 1;
        }
        if self.leads(&segment.rendition) {
            self.follow_periods(segment);
        }
        self.window(&segment.rendition).add_segment(segment, now);
        if segment.rendition.as_ref() != MUXED_RENDITION && self.tracks_aligned() {
            self.render_manifests();
        }
        self.changes.send_replace(());
    }

    /// A transcoded rendition stopped: new manifests leave it out (and no
    /// longer wait for its segments to line up); its playlist and segments
    /// stay served until they expire.
    pub(crate) fn drop_rendition(&mut self, rendition: &str) {
        if self.tracks.remove(rendition) {
            if self.tracks_aligned() {
                self.render_manifests();
            }
            self.changes.send_replace(());
        }
    }

    pub(crate) fn end(&mut self, now: Instant) {
        self.ended_at.get_or_insert(now);
        for window in self.renditions.values_mut() {
            window.end(now);
        }
        self.render_manifests();
        self.changes.send_replace(());
    }

    pub(crate) fn ended_at(&self) -> Option<Instant> {
        self.ended_at
    }

    pub(crate) fn expire(&mut self, now: Instant) {
        for window in self.renditions.values_mut() {
            window.expire(now);
        }
    }

    /// `path` under `/live/{stream}/`.
    pub(crate) fn object(&self, path: &str, now: Instant) -> Option<PlaybackObject> {
        let manifest = |body: &Option<Bytes>, content_type| {
            body.clone().map(|body| PlaybackObject {
                body,
                content_type,
                cache: if self.ended_at.is_some() {
                    CachePolicy::FinalPlaylist
                } else {
                    CachePolicy::LivePlaylist
                },
            })
        };
        match path.split_once('/') {
            None if path == MASTER_NAME => manifest(&self.master, PLAYLIST_TYPE),
            None if path == MPD_NAME => manifest(&self.mpd, MPD_TYPE),
            None => self.renditions.get(MUXED_RENDITION)?.object(path, now),
            Some((rendition, _)) if rendition == MUXED_RENDITION => None,
            Some((rendition, name)) => {
                let object = self.renditions.get(rendition)?.object(name, now)?;
                Some(if name == PLAYLIST_NAME {
                    self.with_rendition_reports(rendition, object)
                } else {
                    object
                })
            }
        }
    }

    /// RFC 8216bis §4.4.5.4: an LL-HLS playlist reports where the stream's
    /// other renditions stand, so a player switching to one can ask for its
    /// next part straight away.
    fn with_rendition_reports(&self, rendition: &str, object: PlaybackObject) -> PlaybackObject {
        if self.live_edge(rendition).is_none_or(|e| e.ended) {
            return object;
        }
        let mut body = object.body.to_vec();
        for other in self.tracks.iter().filter(|o| o.as_ref() != rendition) {
            let Some(edge) = self.live_edge(other) else {
                continue;
            };
            let (msn, part) = match (edge.open_parts, edge.last_segment) {
                (0, Some(last)) => (last, None),
                (0, None) => continue,
                (parts, _) => (edge.open_segment, Some(parts - 1)),
            };
            body.extend_from_slice(
                rendition_report(&format!("../{other}/{PLAYLIST_NAME}"), msn, part).as_bytes(),
            );
        }
        PlaybackObject {
            body: Bytes::from(body),
            ..object
        }
    }

    fn window(&mut self, rendition: &Arc<str>) -> &mut RenditionWindow {
        let (container, config) = (self.container, self.config);
        self.renditions
            .entry(rendition.clone())
            .or_insert_with(|| RenditionWindow::new(container, config))
    }

    /// The rendition whose segments start Periods: the source video, or the
    /// audio of an audio-only run.
    fn leads(&self, rendition: &str) -> bool {
        rendition == SOURCE_RENDITION
            || (rendition == AUDIO_RENDITION && !self.tracks.contains(SOURCE_RENDITION))
    }

    /// A new Period begins with the run and at every discontinuity (new
    /// init segments: ISO/IEC 23009-1 §5.3.2 lets a Period change them).
    fn follow_periods(&mut self, segment: &MediaSegment) {
        if self.periods.is_empty() || segment.discontinuity {
            let origin = PeriodOrigin {
                first_sequence: segment.sequence,
                media_start_ms: segment.start_ms,
                wall_start: segment.program_date_time,
            };
            self.availability_start.get_or_insert_with(|| {
                let offset = Duration::from_millis(segment.start_ms.max(0).unsigned_abs());
                segment
                    .program_date_time
                    .checked_sub(offset)
                    .unwrap_or(segment.program_date_time)
            });
            self.periods.push(origin);
        }
        // Periods whose segments all left the window leave the MPD.
        let oldest = self
            .renditions
            .get(segment.rendition.as_ref())
            .and_then(|w| w.live().next())
            .map_or(segment.sequence, |s| s.sequence);
        while self.periods.len() > 1 && self.periods[1].first_sequence <= oldest {
            self.periods.remove(0);
        }
    }

    /// Every one-track rendition has its newest segment: manifests never
    /// list segment N of one rendition without the others'.
    fn tracks_aligned(&self) -> bool {
        let newest = self.tracks.iter().map(|rendition| {
            self.renditions
                .get(rendition)
                .and_then(|w| w.live().next_back())
                .map(|s| s.sequence)
        });
        let mut newest = newest.peekable();
        let first = newest.peek().copied().flatten();
        first.is_some() && newest.all(|n| n == first)
    }

    fn render_manifests(&mut self) {
        if self.container != SegmentContainer::Fmp4 || self.tracks.is_empty() {
            return;
        }
        let tracks: Vec<(&str, &RenditionWindow)> = self
            .tracks
            .iter()
            .filter_map(|r| Some((r.as_ref(), self.renditions.get(r)?)))
            .collect();
        if let Some(master) = manifests::master(&tracks) {
            self.master = Some(master);
        }
        let (Some(availability_start), false) = (self.availability_start, self.periods.is_empty())
        else {
            return;
        };
        let context = manifests::MpdContext {
            availability_start,
            periods: &self.periods,
            ended: self.ended_at.is_some(),
            clock_url: self.clock_url.as_deref(),
            min_target_secs: self.config.min_target_secs,
        };
        if let Some(mpd) = manifests::mpd(&context, &tracks) {
            self.mpd = Some(mpd);
        }
    }
}
