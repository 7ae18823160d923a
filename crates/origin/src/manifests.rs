//! Describes the one-track renditions' live windows for the master playlist
//! and the MPD: codecs and timescales of the init segments and each
//! fragment's `tfdt` and sample count as the packager described them, bit
//! rates and frame rates measured on the listed segments.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use nova_media::MediaSegment;
use nova_media::hls::{AudioRendition, MasterPlaylist, Variant};

use crate::rendition_window::{PLAYLIST_NAME, RenditionWindow};
use nova_media::fmp4::{TrackInfo, TrackKind};
use nova_media::mpd::{self, Mpd, Period, Representation, RepresentationKind, TimelineEntry};

/// Where one Period begins: the first segment of a muxer (a new publish
/// session, codec configuration or a gap in the frames).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PeriodOrigin {
    pub first_sequence: u64,
    /// The run's media time at the Period's start.
    pub media_start_ms: i64,
    /// When that media time was live.
    pub wall_start: SystemTime,
}

pub(crate) struct MpdContext<'a> {
    pub availability_start: SystemTime,
    pub periods: &'a [PeriodOrigin],
    pub ended: bool,
    pub clock_url: Option<&'a str>,
    pub min_target_secs: u64,
}

/// The `GROUP-ID` of the audio renditions (RFC 8216bis §4.4.6.1).
const AUDIO_GROUP: &str = "audio";

/// A rendition's newest track description.
fn newest_track(window: &RenditionWindow) -> Option<&TrackInfo> {
    let init = window.live().next_back()?.init_name.as_deref()?;
    window.track(init)
}

fn is_video(track: &TrackInfo) -> bool {
    matches!(track.kind, TrackKind::Video { .. })
}

/// Bits per second of `bytes` over `ms`.
fn rate(bytes: u64, ms: u64) -> u64 {
    (bytes * 8 * 1000).checked_div(ms).unwrap_or(0)
}

/// The master playlist of the one-track renditions (RFC 8216bis §4.4.6).
pub(crate) fn master(tracks: &[(&str, &RenditionWindow)]) -> Option<Bytes> {
    let audio = tracks
        .iter()
        .find(|(_, w)| newest_track(w).is_some_and(|t| !is_video(t)));
    let audio_sizes: HashMap<u64, u64> = audio
        .map(|(_, w)| {
            w.live()
                .map(|s| (s.sequence, s.data.len() as u64))
                .collect()
        })
        .unwrap_or_default();
    let audio_track = audio.and_then(|(_, w)| newest_track(w));
    let audio_rendition = audio.zip(audio_track).and_then(|((rendition, _), track)| {
        let TrackKind::Audio { channels, .. } = track.kind else {
            return None;
        };
        Some(AudioRendition {
            uri: format!("{rendition}/{PLAYLIST_NAME}"),
            group_id: AUDIO_GROUP.to_owned(),
            name: (*rendition).to_owned(),
            channels: Some(channels),
        })
    });
    let mut variants = Vec::new();
    for (rendition, window) in tracks {
        let Some(track) = newest_track(window).filter(|t| is_video(t)) else {
            continue;
        };
        let TrackKind::Video { width, height } = track.kind else {
            continue;
        };
        // §4.4.6.2: BANDWIDTH is the peak segment bit rate of everything
        // played together, so each video segment counts with its audio.
        let (mut peak, mut bytes, mut ms, mut samples) = (0, 0, 0, 0u64);
        for segment in window.live() {
            let size = segment.data.len() as u64 + audio_sizes.get(&segment.sequence).unwrap_or(&0);
            peak = peak.max(rate(size, segment.duration_ms));
            bytes += size;
            ms += segment.duration_ms;
            samples += u64::from(segment.fragment.map_or(0, |f| f.samples));
        }
        let codecs = match audio_track {
            Some(audio) => format!("{},{}", track.codec, audio.codec),
            None => track.codec.clone(),
        };
        variants.push(Variant {
            uri: format!("{rendition}/{PLAYLIST_NAME}"),
            bandwidth: peak.max(1),
            average_bandwidth: Some(rate(bytes, ms).max(1)),
            codecs: Some(codecs),
            resolution: Some((width, height)),
            frame_rate: (ms > 0 && samples > 0).then(|| samples as f64 * 1000.0 / ms as f64),
            audio_group: audio_rendition.as_ref().map(|a| a.group_id.clone()),
        });
    }
    if variants.is_empty() {
        // An audio-only run: its one rendition is the only variant, with
        // nothing to add to it (§4.4.6.2 allows audio-only variants).
        let ((rendition, window), track) = audio.zip(audio_track)?;
        let (bytes, ms, peak) = window.live().fold((0, 0, 0), |(b, m, p), s| {
            let size = s.data.len() as u64;
            (
                b + size,
                m + s.duration_ms,
                p.max(rate(size, s.duration_ms)),
            )
        });
        let only = Variant {
            uri: format!("{rendition}/{PLAYLIST_NAME}"),
            bandwidth: peak.max(1),
            average_bandwidth: Some(rate(bytes, ms).max(1)),
            codecs: Some(track.codec.clone()),
            ..Variant::default()
        };
        return Some(render_master(None, vec![only]));
    }
    Some(render_master(audio_rendition, variants))
}

fn render_master(audio: Option<AudioRendition>, variants: Vec<Variant>) -> Bytes {
    let playlist = MasterPlaylist {
        // §4.4.1.2 / §8: EXT-X-MAP in the media playlists asks for 6+; the
        // media playlists declare 7.
        version: 7,
        audio,
        variants,
    };
    Bytes::from(playlist.render())
}

/// The live MPD (ISO/IEC 23009-1 §5.3, dynamic presentations §5.4).
pub(crate) fn mpd(context: &MpdContext<'_>, tracks: &[(&str, &RenditionWindow)]) -> Option<Bytes> {
    let lead = tracks
        .iter()
        .find(|(_, w)| newest_track(w).is_some_and(is_video))
        .or_else(|| tracks.first())?
        .1;
    let window_ms: u64 = lead.live().map(|s| s.duration_ms).sum();
    let longest_ms = lead.live().map(|s| s.duration_ms).max().unwrap_or(0);
    let target = Duration::from_secs(lead.target_duration().max(context.min_target_secs).max(1));
    let ast_ms = millis_since_epoch(context.availability_start);
    let mut periods = Vec::new();
    let mut previous_start = Duration::ZERO;
    for (index, origin) in context.periods.iter().enumerate() {
        let next = context.periods.get(index + 1).map(|p| p.first_sequence);
        let in_period = |s: &&MediaSegment| {
            s.sequence >= origin.first_sequence && next.is_none_or(|n| s.sequence < n)
        };
        // Period@start: when the Period's first media time was live,
        // from availabilityStartTime (§5.3.2.1); never before the last.
        let start_ms = millis_since_epoch(origin.wall_start).saturating_sub(ast_ms);
        let start = Duration::from_millis(start_ms).max(previous_start);
        previous_start = start;
        let (mut video, mut audio) = (Vec::new(), Vec::new());
        for (rendition, window) in tracks {
            let segments: Vec<&MediaSegment> = window.live().filter(in_period).collect();
            let Some(representation) = representation(rendition, window, &segments, origin) else {
                continue;
            };
            match representation.kind {
                RepresentationKind::Video { .. } => video.push(representation),
                RepresentationKind::Audio { .. } => audio.push(representation),
            }
        }
        if video.is_empty() && audio.is_empty() {
            continue;
        }
        periods.push(Period {
            id: origin.first_sequence.to_string(),
            start,
            video,
            audio,
        });
    }
    if periods.is_empty() {
        return None;
    }
    let document = Mpd {
        presentation_duration: None,
        availability_start: context.availability_start,
        publish_time: SystemTime::now(),
        // Players reload about once a segment; once ended, never (§5.4.1).
        minimum_update_period: (!context.ended).then_some(target),
        min_buffer_time: target,
        time_shift_buffer_depth: Duration::from_millis(window_ms),
        // Three segments behind the live edge, as HLS players start
        // (RFC 8216bis §6.3.3).
        suggested_presentation_delay: target * 3,
        max_segment_duration: Duration::from_millis(longest_ms).max(target),
        clock_url: context.clock_url.map(str::to_owned),
        periods,
    };
    Some(Bytes::from(mpd::render(&document)))
}

fn representation(
    rendition: &str,
    window: &RenditionWindow,
    segments: &[&MediaSegment],
    origin: &PeriodOrigin,
) -> Option<Representation> {
    let first = segments.first()?;
    let init = first.init_name.as_deref()?;
    let track = window.track(init)?;
    let scale = |ms: i64| -> u64 {
        u64::try_from(i128::from(ms) * i128::from(track.timescale) / 1000).unwrap_or(0)
    };
    // `{run}-{sequence}.m4s` → `{run}-$Number$.m4s`.
    let suffix = format!("{}.m4s", first.sequence);
    let media = format!(
        "{rendition}/{}$Number$.m4s",
        first.name.strip_suffix(&suffix)?
    );
    let mut timeline: Vec<TimelineEntry> = Vec::with_capacity(segments.len());
    let (mut ms, mut peak, mut samples) = (0u64, 0u64, 0u64);
    for segment in segments {
        let fragment = segment.fragment;
        let t = fragment.map_or_else(|| scale(segment.start_ms), |f| f.base_decode_time);
        // The previous segment lasts until this one starts: no gaps or
        // overlaps from rounding milliseconds to the timescale.
        if let Some(previous) = timeline.last_mut()
            && t > previous.t
        {
            previous.d = t - previous.t;
        }
        timeline.push(TimelineEntry {
            t,
            d: scale(i64::try_from(segment.duration_ms).unwrap_or(0)).max(1),
        });
        ms += segment.duration_ms;
        peak = peak.max(rate(segment.data.len() as u64, segment.duration_ms));
        samples += u64::from(fragment.map_or(0, |f| f.samples));
    }
    let kind = match track.kind {
        TrackKind::Video { width, height } => RepresentationKind::Video {
            width,
            height,
            frame_rate: (ms > 0 && samples > 0).then(|| samples as f64 * 1000.0 / ms as f64),
        },
        TrackKind::Audio {
            sample_rate,
            channels,
        } => RepresentationKind::Audio {
            sample_rate,
            channels,
        },
    };
    Some(Representation {
        id: rendition.to_owned(),
        codecs: track.codec.clone(),
        bandwidth: peak,
        kind,
        timescale: track.timescale,
        presentation_time_offset: scale(origin.media_start_ms),
        initialization: format!("{rendition}/{init}"),
        media,
        start_number: first.sequence,
        timeline,
    })
}

fn millis_since_epoch(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
