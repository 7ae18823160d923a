//! HLS playlists from index rows (RFC 8216bis).

use std::sync::atomic::Ordering;

use bytes::Bytes;
use m3u8_rs::{
    AlternativeMedia, AlternativeMediaType, Map, MasterPlaylist, MediaPlaylist, MediaPlaylistType,
    MediaSegment, VariantStream,
};

use crate::index::{RenditionSummary, SegmentRow};
use crate::keys::file_name;
use nova_media::{AUDIO_RENDITION, MUXED_RENDITION};

/// `EXTINF` decimals: durations are whole milliseconds.
const EXTINF_DECIMALS: usize = 3;

/// What a media playlist is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaPlaylistKind {
    /// A finished recording or clip: `EXT-X-PLAYLIST-TYPE:VOD`, `EXT-X-ENDLIST`.
    Vod,
    /// The DVR window of a live stream: slides, no end yet. `discontinuities_before`
    /// is the number of discontinuities earlier in the recording than the
    /// first listed segment (`EXT-X-DISCONTINUITY-SEQUENCE`, §4.3.3.3).
    Window { discontinuities_before: u64 },
}

/// The media playlist of `rows` (one rendition, in order). Segment and init
/// URIs are `{uri_prefix}{file name}`.
pub fn media_playlist(rows: &[SegmentRow], kind: MediaPlaylistKind, uri_prefix: &str) -> Bytes {
    let mut previous_init: Option<&str> = None;
    let segments = rows
        .iter()
        .enumerate()
        .map(|(index, row)| {
            // §4.3.2.5: EXT-X-MAP applies until the next one.
            let init = row.init_object_key.as_deref();
            let map = init
                .filter(|&key| previous_init != Some(key))
                .map(|key| Map {
                    uri: format!("{uri_prefix}{}", file_name(key)),
                    ..Map::default()
                });
            previous_init = init;
            MediaSegment {
                uri: format!("{uri_prefix}{}", file_name(&row.object_key)),
                duration: row.duration_ms as f32 / 1000.0,
                // The first listed segment needs no tag: nothing precedes it.
                discontinuity: row.discontinuity && index > 0,
                map,
                program_date_time: Some(row.program_date_time.fixed_offset()),
                ..MediaSegment::default()
            }
        })
        .collect::<Vec<_>>();
    let target_duration = rows
        .iter()
        .map(|row| (row.duration_ms.max(0) as u64 + 500) / 1000)
        .max()
        .unwrap_or(1)
        .max(1);
    let fmp4 = rows.iter().any(|row| row.init_object_key.is_some());
    let (playlist_type, end_list, discontinuity_sequence) = match kind {
        MediaPlaylistKind::Vod => (Some(MediaPlaylistType::Vod), true, 0),
        MediaPlaylistKind::Window {
            discontinuities_before,
        } => (None, false, discontinuities_before),
    };
    let playlist = MediaPlaylist {
        version: Some(if fmp4 { 7 } else { 3 }),
        target_duration,
        media_sequence: rows.first().map_or(0, |row| row.sequence.max(0) as u64),
        discontinuity_sequence,
        end_list,
        playlist_type,
        independent_segments: true,
        segments,
        ..MediaPlaylist::default()
    };
    m3u8_rs::WRITE_OPT_FLOAT_PRECISION.store(EXTINF_DECIMALS, Ordering::Relaxed);
    let mut out = Vec::with_capacity(256 + 160 * playlist.segments.len());
    playlist
        .write_to(&mut out)
        .expect("writing to a Vec cannot fail");
    Bytes::from(out)
}

/// The master playlist of a recording's renditions. CMAF recordings have
/// video-only renditions and an `audio` one, which becomes an audio group;
/// otherwise every rendition is a variant with its own audio.
/// Rendition playlists are at `{rendition}/index.m3u8`.
pub fn master_playlist(renditions: &[RenditionSummary]) -> Bytes {
    let audio = renditions.iter().find(|r| r.rendition == AUDIO_RENDITION);
    let audio_bps = audio.map_or(0, |a| a.peak_bps.max(0) as u64);
    let audio_average = audio.map_or(0, average_bps);
    let video = renditions
        .iter()
        .filter(|r| r.rendition != AUDIO_RENDITION)
        // The muxed output duplicates the separate tracks when both exist.
        .filter(|r| audio.is_none() || r.rendition != MUXED_RENDITION);
    let variants = video
        .map(|r| VariantStream {
            uri: format!("{}/index.m3u8", r.rendition),
            bandwidth: r.peak_bps.max(0) as u64 + audio_bps,
            average_bandwidth: Some(average_bps(r) + audio_average),
            audio: audio.map(|_| AUDIO_RENDITION.to_owned()),
            ..VariantStream::default()
        })
        .collect();
    let alternatives = audio
        .map(|a| {
            vec![AlternativeMedia {
                media_type: AlternativeMediaType::Audio,
                uri: Some(format!("{}/index.m3u8", a.rendition)),
                group_id: AUDIO_RENDITION.to_owned(),
                name: "Audio".to_owned(),
                default: true,
                autoselect: true,
                ..AlternativeMedia::default()
            }]
        })
        .unwrap_or_default();
    let playlist = MasterPlaylist {
        version: Some(if renditions.iter().any(|r| r.container == "fmp4") {
            7
        } else {
            3
        }),
        independent_segments: true,
        variants,
        alternatives,
        ..MasterPlaylist::default()
    };
    let mut out = Vec::new();
    playlist
        .write_to(&mut out)
        .expect("writing to a Vec cannot fail");
    Bytes::from(out)
}

fn average_bps(r: &RenditionSummary) -> u64 {
    if r.duration_ms <= 0 {
        return 0;
    }
    (r.byte_size.max(0) as u64 * 8000) / r.duration_ms as u64
}
