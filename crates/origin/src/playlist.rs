//! A live window as an HLS media playlist (RFC 8216bis §4.4.3), rendered by
//! the one HLS writer, [`nova_media::hls`].

use bytes::Bytes;
use chrono::{DateTime, Utc};
use nova_media::hls::{self, Segment};
use nova_media::{MediaSegment, SegmentContainer};

use crate::ll_hls::{LowLatency, part};

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
    let mut previous_init: Option<&str> = None;
    let listed = segments
        .iter()
        .map(|segment| {
            // RFC 8216 §4.3.2.5: EXT-X-MAP applies to every segment after it
            // until the next one, so it is written on the first segment and
            // wherever the init segment changes.
            let init = segment.init_name.as_deref();
            let map = init
                .filter(|&name| previous_init != Some(name))
                .map(str::to_owned);
            previous_init = init;
            let parts = low_latency
                .map(|ll| {
                    ll.parts
                        .iter()
                        .filter(|p| p.sequence == segment.sequence)
                        .map(part)
                        .collect()
                })
                .unwrap_or_default();
            Segment {
                uri: segment.name.clone(),
                duration_ms: segment.duration_ms,
                discontinuity: segment.discontinuity,
                map,
                program_date_time: Some(DateTime::<Utc>::from(segment.program_date_time)),
                parts,
            }
        })
        .collect();
    // The open segment's parts and the hint of its next one follow the
    // last complete segment; once ended, nothing is open.
    let open = low_latency.filter(|_| !header.ended);
    let playlist = hls::MediaPlaylist {
        // RFC 8216 §7: EXT-X-MAP in a media playlist needs version 6 (7 is
        // what fMP4 HLS is commonly declared as); decimal EXTINF needs 3.
        version: match header.container {
            SegmentContainer::Fmp4 => 7,
            SegmentContainer::Ts => 3,
        },
        target_duration: header.target_duration,
        // RFC 8216 §4.3.3.2: the sequence number of the first segment listed.
        media_sequence: segments.first().map_or(0, |segment| segment.sequence),
        discontinuity_sequence: header.discontinuity_sequence,
        playlist_type: None,
        part_target_ms: low_latency.map(|ll| ll.part_target_ms),
        segments: listed,
        open_parts: open.map(LowLatency::open_parts).unwrap_or_default(),
        preload_hint: open.and_then(|ll| ll.next_part.clone()),
        end_list: header.ended,
    };
    Bytes::from(playlist.render())
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
            fragment: None,
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
            last_frame_arrived: None,
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
        // Rendering what was parsed gives the same text back. m3u8-rs, the
        // independent parser here, takes its writer's precision from a
        // process-wide setting that nova-live's own writer does without.
        m3u8_rs::WRITE_OPT_FLOAT_PRECISION.store(3, std::sync::atomic::Ordering::Relaxed);
        let mut again = Vec::new();
        parsed.write_to(&mut again).unwrap();
        assert_eq!(again, rendered.to_vec());
    }
}
