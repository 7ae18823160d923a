//! HLS playlists from index rows (RFC 8216bis), rendered by the one HLS
//! writer, [`nova_media::hls`].

use bytes::Bytes;
use nova_media::hls::{self, AudioRendition, MasterPlaylist, PlaylistType, Segment, Variant};

use crate::index::{InitRow, RenditionSummary, SegmentRow};
use crate::keys::file_name;
use nova_media::{AUDIO_RENDITION, MUXED_RENDITION};

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
                .map(|key| format!("{uri_prefix}{}", file_name(key)));
            previous_init = init;
            Segment {
                uri: format!("{uri_prefix}{}", file_name(&row.object_key)),
                duration_ms: u64::try_from(row.duration_ms).unwrap_or(0),
                // The first listed segment needs no tag: nothing precedes it.
                discontinuity: row.discontinuity && index > 0,
                map,
                program_date_time: Some(row.program_date_time),
                parts: Vec::new(),
            }
        })
        .collect();
    let target_duration = rows
        .iter()
        .map(|row| (row.duration_ms.max(0) as u64 + 500) / 1000)
        .max()
        .unwrap_or(1)
        .max(1);
    let fmp4 = rows.iter().any(|row| row.init_object_key.is_some());
    let (playlist_type, end_list, discontinuity_sequence) = match kind {
        MediaPlaylistKind::Vod => (Some(PlaylistType::Vod), true, 0),
        MediaPlaylistKind::Window {
            discontinuities_before,
        } => (None, false, discontinuities_before),
    };
    let playlist = hls::MediaPlaylist {
        version: if fmp4 { 7 } else { 3 },
        target_duration,
        media_sequence: rows.first().map_or(0, |row| row.sequence.max(0) as u64),
        discontinuity_sequence,
        playlist_type,
        segments,
        end_list,
        ..hls::MediaPlaylist::default()
    };
    Bytes::from(playlist.render())
}

/// The master playlist of a recording's renditions. CMAF recordings have
/// video-only renditions and an `audio` one, which becomes an audio group;
/// otherwise every rendition is a variant with its own audio.
/// Rendition playlists are at `{rendition}/index.m3u8`. `inits` are the
/// recording's described init segments: CMAF variants get the `CODECS` and
/// `RESOLUTION` they describe (§4.4.6.2), as the live master playlist has.
pub fn master_playlist(renditions: &[RenditionSummary], inits: &[InitRow]) -> Bytes {
    let audio = renditions.iter().find(|r| r.rendition == AUDIO_RENDITION);
    let audio_bps = audio.map_or(0, |a| a.peak_bps.max(0) as u64);
    let audio_average = audio.map_or(0, average_bps);
    // A partial CODECS would mislead players: with an audio group, the
    // audio's codecs must be known too.
    let audio_codecs = match audio {
        Some(audio) => codecs(inits, &audio.rendition).map(Some),
        None => Some(None),
    };
    let video = renditions
        .iter()
        .filter(|r| r.rendition != AUDIO_RENDITION)
        // The muxed output duplicates the separate tracks when both exist.
        .filter(|r| audio.is_none() || r.rendition != MUXED_RENDITION);
    let variants = video
        .map(|r| Variant {
            uri: format!("{}/index.m3u8", r.rendition),
            bandwidth: r.peak_bps.max(0) as u64 + audio_bps,
            average_bandwidth: Some(average_bps(r) + audio_average),
            codecs: codecs(inits, &r.rendition)
                .zip(audio_codecs.clone())
                .map(|(video, audio)| match audio {
                    Some(audio) => format!("{video},{audio}"),
                    None => video,
                }),
            resolution: resolution(inits, &r.rendition),
            frame_rate: None,
            audio_group: audio.map(|_| AUDIO_RENDITION.to_owned()),
        })
        .collect();
    let playlist = MasterPlaylist {
        version: if renditions.iter().any(|r| r.container == "fmp4") {
            7
        } else {
            3
        },
        audio: audio.map(|a| AudioRendition {
            uri: format!("{}/index.m3u8", a.rendition),
            group_id: AUDIO_RENDITION.to_owned(),
            name: "Audio".to_owned(),
            channels: None,
        }),
        variants,
    };
    Bytes::from(playlist.render())
}

fn average_bps(r: &RenditionSummary) -> u64 {
    if r.duration_ms <= 0 {
        return 0;
    }
    (r.byte_size.max(0) as u64 * 8000) / r.duration_ms as u64
}

/// Every codec of the rendition's init segments (a recording may change
/// codec configuration at a discontinuity); `None` if none is described.
fn codecs(inits: &[InitRow], rendition: &str) -> Option<String> {
    let mut codecs: Vec<&str> = inits
        .iter()
        .filter(|init| init.rendition == rendition)
        .map(|init| init.codecs.as_str())
        .collect();
    codecs.sort_unstable();
    codecs.dedup();
    (!codecs.is_empty()).then(|| codecs.join(","))
}

/// The largest picture of the rendition's init segments.
fn resolution(inits: &[InitRow], rendition: &str) -> Option<(u32, u32)> {
    inits
        .iter()
        .filter(|init| init.rendition == rendition)
        .filter_map(|init| {
            let width = u32::try_from(init.width?).ok()?;
            let height = u32::try_from(init.height?).ok()?;
            Some((width, height))
        })
        .max_by_key(|&(width, height)| u64::from(width) * u64::from(height))
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn summary(rendition: &str, peak_bps: i64, container: &str) -> RenditionSummary {
        RenditionSummary {
            rendition: rendition.to_owned(),
            segments: 5,
            duration_ms: 10_000,
            byte_size: peak_bps * 10 / 8,
            peak_bps,
            container: container.to_owned(),
        }
    }

    fn init(rendition: &str, codecs: &str, size: Option<(i32, i32)>) -> InitRow {
        InitRow {
            recording_id: Uuid::nil(),
            object_key: format!("recordings/s/r/{rendition}/{codecs}-init.mp4"),
            rendition: rendition.to_owned(),
            codecs: codecs.to_owned(),
            timescale: if size.is_some() { 90_000 } else { 48_000 },
            width: size.map(|(w, _)| w),
            height: size.map(|(_, h)| h),
            sample_rate: size.is_none().then_some(48_000),
            channels: size.is_none().then_some(2),
        }
    }

    #[test]
    fn the_vod_master_playlist_names_codecs_and_resolution_like_the_live_one() {
        let renditions = [
            summary("source", 3_000_000, "fmp4"),
            summary("360p", 800_000, "fmp4"),
            summary("audio", 128_000, "fmp4"),
        ];
        let inits = [
            init("source", "avc1.64001f", Some((1280, 720))),
            // A reconnect with a bigger picture and another profile.
            init("source", "avc1.640028", Some((1920, 1080))),
            init("360p", "avc1.64001e", Some((640, 360))),
            init("audio", "mp4a.40.2", None),
        ];
        let text = String::from_utf8(master_playlist(&renditions, &inits).to_vec()).unwrap();
        assert_eq!(
            text,
            "#EXTM3U
#EXT-X-VERSION:7
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,URI=\"audio/index.m3u8\",GROUP-ID=\"audio\",NAME=\"Audio\",DEFAULT=YES,AUTOSELECT=YES
#EXT-X-STREAM-INF:BANDWIDTH=3128000,AVERAGE-BANDWIDTH=3128000,CODECS=\"avc1.64001f,avc1.640028,mp4a.40.2\",RESOLUTION=1920x1080,AUDIO=\"audio\"
source/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=928000,AVERAGE-BANDWIDTH=928000,CODECS=\"avc1.64001e,mp4a.40.2\",RESOLUTION=640x360,AUDIO=\"audio\"
360p/index.m3u8
"
        );
        // An independent parser reads the same.
        let Ok(m3u8_rs::Playlist::MasterPlaylist(parsed)) =
            m3u8_rs::parse_playlist_res(text.as_bytes())
        else {
            panic!("m3u8-rs cannot parse:\n{text}");
        };
        assert_eq!(parsed.variants.len(), 2);
        assert_eq!(
            parsed.variants[1].codecs.as_deref(),
            Some("avc1.64001e,mp4a.40.2")
        );
        let resolution = parsed.variants[1].resolution.unwrap();
        assert_eq!((resolution.width, resolution.height), (640, 360));
    }

    #[test]
    fn without_described_inits_the_vod_master_playlist_names_no_codecs() {
        // MPEG-TS recordings have no init segments; a CMAF recording whose
        // audio init was not described gets no partial CODECS.
        let ts = [summary("main", 2_000_000, "ts")];
        let text = String::from_utf8(master_playlist(&ts, &[]).to_vec()).unwrap();
        assert_eq!(
            text,
            "#EXTM3U
#EXT-X-VERSION:3
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-STREAM-INF:BANDWIDTH=2000000,AVERAGE-BANDWIDTH=2000000
main/index.m3u8
"
        );
        let cmaf = [
            summary("source", 3_000_000, "fmp4"),
            summary("audio", 128_000, "fmp4"),
        ];
        let inits = [init("source", "avc1.64001f", Some((1280, 720)))];
        let text = String::from_utf8(master_playlist(&cmaf, &inits).to_vec()).unwrap();
        assert!(
            text.contains("#EXT-X-STREAM-INF:BANDWIDTH=3128000,AVERAGE-BANDWIDTH=3128000,RESOLUTION=1280x720,AUDIO=\"audio\"\n"),
            "{text}"
        );
    }
}
