//! Renders a live window as an HLS media playlist (RFC 8216 §4.3) with m3u8-rs.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use m3u8_rs::{Map, MediaPlaylist, MediaSegment as PlaylistSegment};
use nova_media::{MediaSegment, SegmentContainer};

use crate::ll_hls::{LowLatency, header_lines, open_lines, part_tag};

/// `EXTINF` decimals: segment durations are whole milliseconds, so three
/// decimals state them exactly (RFC 8216 §4.3.2.1 allows decimal durations
/// from version 3).
const EXTINF_DECIMALS: usize = 3;

/// What the playlist says about the window as a whole.
pub(crate) struct PlaylistHeader {
    pub container: SegmentContainer,
    /// `EXT-X-TARGETDURATION` in seconds (RFC 8216 §4.3.3.1).
    pub target_duration: u64,
    /// `EXT-X-DISCONTINUITY-SEQUENCE` (RFC 8216 §4.3.3.3): discontinuities
    /// that slid out of the window.
    pub discontinuity_sequence: u64,
    /// `EXT-X-ENDLIST` (RFC 8216 §4.3.3.4).
    pub ended: bool,
}

/// Renders the media playlist of `segments`, oldest first, with their
/// LL-HLS parts when `low_latency` is given.
pub(crate) fn render(
    header: &PlaylistHeader,
    segments: &[MediaSegment],
    low_latency: Option<&LowLatency<'_>>,
) -> Bytes {
    // RFC 8216 §4.3.3.2: the sequence number of the first segment listed.
    let media_sequence = segments.first().map_or(0, |segment| segment.sequence);
    let mut previous_init: Option<&str> = None;
    let segments = segments
        .iter()
        .map(|segment| {
            // RFC 8216 §4.3.2.5: EXT-X-MAP applies to every segment after it
            // until the next one, so it is written on the first segment and
            // wherever the init segment changes.
            let init = segment.init_name.as_deref();
            let map = init
                .filter(|&name| previous_init != Some(name))
                .map(|name| Map {
                    uri: name.to_owned(),
                    ..Map::default()
                });
            previous_init = init;
            let parts = low_latency
                .map(|ll| {
                    ll.parts
                        .iter()
                        .filter(|p| p.sequence == segment.sequence)
                        .map(part_tag)
                        .collect()
                })
                .unwrap_or_default();
            PlaylistSegment {
                unknown_tags: parts,
                uri: segment.name.clone(),
                duration: segment.duration_ms as f32 / 1000.0,
                discontinuity: segment.discontinuity,
                map,
                program_date_time: Some(
                    DateTime::<Utc>::from(segment.program_date_time).fixed_offset(),
                ),
                ..PlaylistSegment::default()
            }
        })
        .collect::<Vec<_>>();
    let playlist = MediaPlaylist {
        // RFC 8216 §7: EXT-X-MAP in a media playlist needs version 6 (7 is
        // what fMP4 HLS is commonly declared as); decimal EXTINF needs 3.
        version: Some(match header.container {
            SegmentContainer::Fmp4 => 7,
            SegmentContainer::Ts => 3,
        }),
        target_duration: header.target_duration,
        media_sequence,
        discontinuity_sequence: header.discontinuity_sequence,
        end_list: header.ended,
        // RFC 8216 §4.3.5.1: every segment starts with a keyframe.
        independent_segments: true,
        segments,
        ..MediaPlaylist::default()
    };
    // m3u8-rs takes the precision from a process-wide setting; every
    // playlist in nova-live wants exact millisecond durations.
    m3u8_rs::WRITE_OPT_FLOAT_PRECISION.store(EXTINF_DECIMALS, Ordering::Relaxed);
    let mut out = Vec::with_capacity(256 + 160 * playlist.segments.len());
    playlist
        .write_to(&mut out)
        .expect("writing to a Vec cannot fail");
    let Some(low_latency) = low_latency else {
        return Bytes::from(out);
    };
    // m3u8-rs writes no playlist-level tags of its own choosing: the LL-HLS
    // ones go right after EXT-X-TARGETDURATION, the open segment's parts
    // after the last segment.
    let mut text = String::from_utf8(out).expect("m3u8-rs writes UTF-8");
    let target_line = format!("#EXT-X-TARGETDURATION:{}\n", header.target_duration);
    if let Some(at) = text.find(&target_line) {
        text.insert_str(
            at + target_line.len(),
            &header_lines(low_latency.part_target_ms),
        );
    }
    if !header.ended {
        text.push_str(&open_lines(low_latency));
    }
    Bytes::from(text)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use m3u8_rs::Playlist;
    use nova_media::{PartialSegment, StreamId};

    use super::*;

    fn segment(
        sequence: u64,
        init: Option<&str>,
        duration_ms: u64,
        discontinuity: bool,
    ) -> MediaSegment {
        let container = if init.is_some() {
            SegmentContainer::Fmp4
        } else {
            SegmentContainer::Ts
        };
        let extension = if init.is_some() { "m4s" } else { "ts" };
        MediaSegment {
            stream: StreamId::new_random(),
            rendition: nova_media::SOURCE_RENDITION.into(),
            sequence,
            name: format!("run-{sequence}.{extension}"),
            container,
            init_name: init.map(str::to_owned),
            start_ms: 0,
            duration_ms,
            discontinuity,
            program_date_time: SystemTime::UNIX_EPOCH
                + Duration::from_millis(1_700_000_000_000 + sequence * 2_000),
            data: Bytes::new(),
        }
    }

    #[test]
    fn renders_an_fmp4_window_exactly() {
        let header = PlaylistHeader {
            container: SegmentContainer::Fmp4,
            target_duration: 2,
            discontinuity_sequence: 1,
            ended: true,
        };
        let segments = [
            segment(5, Some("run-init1.mp4"), 2_000, false),
            segment(6, Some("run-init1.mp4"), 1_033, false),
            segment(7, Some("run-init2.mp4"), 1_967, true),
        ];
        let text = String::from_utf8(render(&header, &segments, None).to_vec()).unwrap();
        assert_eq!(
            text,
            "#EXTM3U
#EXT-X-VERSION:7
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:5
#EXT-X-DISCONTINUITY-SEQUENCE:1
#EXT-X-MAP:URI=\"run-init1.mp4\"
#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:30.000Z
#EXTINF:2.000,
run-5.m4s
#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:32.000Z
#EXTINF:1.033,
run-6.m4s
#EXT-X-MAP:URI=\"run-init2.mp4\"
#EXT-X-DISCONTINUITY
#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:34.000Z
#EXTINF:1.967,
run-7.m4s
#EXT-X-ENDLIST
"
        );
    }

    fn part(sequence: u64, index: u32, duration_ms: u64, independent: bool) -> PartialSegment {
        PartialSegment {
            stream: StreamId::new_random(),
            rendition: nova_media::SOURCE_RENDITION.into(),
            sequence,
            index,
            name: format!("run-{sequence}.{index}.m4s"),
            duration_ms,
            independent,
            data: Bytes::new(),
        }
    }

    #[test]
    fn renders_ll_hls_parts_exactly() {
        let header = PlaylistHeader {
            container: SegmentContainer::Fmp4,
            target_duration: 1,
            discontinuity_sequence: 0,
            ended: false,
        };
        let segments = [segment(6, Some("run-init1.mp4"), 1_000, false)];
        let parts = [
            part(6, 0, 500, true),
            part(6, 1, 500, false),
            part(7, 0, 467, true),
        ];
        let low_latency = LowLatency {
            part_target_ms: 500,
            parts: &parts,
            open_sequence: 7,
            next_part: Some("run-7.1.m4s".into()),
        };
        let rendered = render(&header, &segments, Some(&low_latency));
        let text = std::str::from_utf8(&rendered).unwrap();
        assert_eq!(
            text,
            "#EXTM3U
#EXT-X-VERSION:7
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-TARGETDURATION:1
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.500
#EXT-X-PART-INF:PART-TARGET=0.500
#EXT-X-MEDIA-SEQUENCE:6
#EXT-X-MAP:URI=\"run-init1.mp4\"
#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:32.000Z
#EXT-X-PART:DURATION=0.500,URI=\"run-6.0.m4s\",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.500,URI=\"run-6.1.m4s\"
#EXTINF:1.000,
run-6.m4s
#EXT-X-PART:DURATION=0.467,URI=\"run-7.0.m4s\",INDEPENDENT=YES
#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"run-7.1.m4s\"
"
        );
        let Ok(Playlist::MediaPlaylist(parsed)) = m3u8_rs::parse_playlist_res(&rendered) else {
            panic!("m3u8-rs cannot parse:\n{text}");
        };
        assert_eq!(parsed.segments.len(), 1);
        assert_eq!(parsed.media_sequence, 6);
        // Once ended, nothing is open and nothing is hinted.
        let ended = PlaylistHeader {
            ended: true,
            ..header
        };
        let text = render(&ended, &segments, Some(&low_latency));
        let text = std::str::from_utf8(&text).unwrap();
        assert!(text.ends_with("run-6.m4s\n#EXT-X-ENDLIST\n"), "{text}");
    }

    #[test]
    fn renders_a_live_ts_window_that_round_trips() {
        let header = PlaylistHeader {
            container: SegmentContainer::Ts,
            target_duration: 4,
            discontinuity_sequence: 0,
            ended: false,
        };
        let segments = [
            segment(0, None, 4_000, false),
            segment(1, None, 3_967, false),
        ];
        let rendered = render(&header, &segments, None);
        let text = std::str::from_utf8(&rendered).unwrap();
        assert!(text.starts_with("#EXTM3U\n#EXT-X-VERSION:3\n"), "{text}");
        assert!(
            !text.contains("EXT-X-MAP") && !text.contains("ENDLIST"),
            "{text}"
        );
        let Ok(Playlist::MediaPlaylist(parsed)) = m3u8_rs::parse_playlist_res(&rendered) else {
            panic!("m3u8-rs cannot parse:\n{text}");
        };
        assert_eq!(parsed.target_duration, 4);
        assert_eq!(parsed.media_sequence, 0);
        assert!(parsed.independent_segments && !parsed.end_list);
        let listed: Vec<(String, f32)> = parsed
            .segments
            .iter()
            .map(|s| (s.uri.clone(), s.duration))
            .collect();
        assert_eq!(
            listed,
            vec![("run-0.ts".into(), 4.0), ("run-1.ts".into(), 3.967)]
        );
        // Rendering what was parsed gives the same text back.
        let mut again = Vec::new();
        parsed.write_to(&mut again).unwrap();
        assert_eq!(again, rendered.to_vec());
    }
}
