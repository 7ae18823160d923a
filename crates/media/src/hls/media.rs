//! Media playlists (RFC 8216bis §4.4.3, §4.4.4): a live window with or
//! without LL-HLS parts, a VOD recording or clip, a DVR window.

use std::fmt::Write;

use chrono::{DateTime, SecondsFormat, Utc};

use super::seconds;

/// `EXT-X-PLAYLIST-TYPE` (§4.4.3.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlaylistType {
    /// The playlist will not change.
    Vod,
    /// Segments are only ever appended.
    Event,
}

/// A media playlist, rendered by [`MediaPlaylist::render`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MediaPlaylist {
    /// `EXT-X-VERSION` (§4.4.2.1): 7 for fMP4 (`EXT-X-MAP` needs 6), 3 for
    /// MPEG-TS (decimal `EXTINF`).
    pub version: u8,
    /// `EXT-X-TARGETDURATION` in seconds (§4.4.3.1).
    pub target_duration: u64,
    /// `EXT-X-MEDIA-SEQUENCE` (§4.4.3.2): the first listed segment's number.
    pub media_sequence: u64,
    /// `EXT-X-DISCONTINUITY-SEQUENCE` (§4.4.3.3): discontinuities before the
    /// first listed segment.
    pub discontinuity_sequence: u64,
    pub playlist_type: Option<PlaylistType>,
    /// `EXT-X-PART-INF:PART-TARGET` in ms, for an LL-HLS playlist: with it
    /// come `EXT-X-SERVER-CONTROL` and `EXT-X-PART-INF`.
    pub part_target_ms: Option<u64>,
    pub segments: Vec<Segment>,
    /// Parts of the segment being filled, after the last complete one
    /// (§4.4.4.9).
    pub open_parts: Vec<Part>,
    /// `EXT-X-PRELOAD-HINT` (§4.4.5.3): the open segment's next part, which
    /// the client may request before it exists.
    pub preload_hint: Option<String>,
    /// `EXT-X-ENDLIST` (§4.4.3.4).
    pub end_list: bool,
}

/// One media segment (§4.4.4).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Segment {
    pub uri: String,
    /// `EXTINF` (§4.4.4.1).
    pub duration_ms: u64,
    /// `EXT-X-DISCONTINUITY` (§4.4.4.3).
    pub discontinuity: bool,
    /// `EXT-X-MAP` (§4.4.4.5): the init segment's URI, written where it
    /// changes; it applies to every segment after it until the next one.
    pub map: Option<String>,
    /// `EXT-X-PROGRAM-DATE-TIME` (§4.4.4.6).
    pub program_date_time: Option<DateTime<Utc>>,
    /// Its LL-HLS parts (§4.4.4.9), listed before it.
    pub parts: Vec<Part>,
}

/// `EXT-X-PART` (§4.4.4.9).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Part {
    pub uri: String,
    pub duration_ms: u64,
    /// Starts with a sync sample: `INDEPENDENT=YES`.
    pub independent: bool,
}

impl MediaPlaylist {
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(256 + 160 * self.segments.len());
        out.push_str("#EXTM3U\n");
        let _ = writeln!(out, "#EXT-X-VERSION:{}", self.version);
        // §4.4.2.2: every segment nova-live cuts starts with a keyframe.
        out.push_str("#EXT-X-INDEPENDENT-SEGMENTS\n");
        let _ = writeln!(out, "#EXT-X-TARGETDURATION:{}", self.target_duration);
        if let Some(part_target_ms) = self.part_target_ms {
            // §4.4.3.8: PART-HOLD-BACK is at least three part targets;
            // §6.2.5.2: this server answers blocking playlist reloads.
            let _ = writeln!(
                out,
                "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK={}",
                seconds(part_target_ms * 3)
            );
            let _ = writeln!(
                out,
                "#EXT-X-PART-INF:PART-TARGET={}",
                seconds(part_target_ms)
            );
        }
        // Both default to 0 when absent (§4.4.3.2, §4.4.3.3).
        if self.media_sequence != 0 {
            let _ = writeln!(out, "#EXT-X-MEDIA-SEQUENCE:{}", self.media_sequence);
        }
        if self.discontinuity_sequence != 0 {
            let _ = writeln!(
                out,
                "#EXT-X-DISCONTINUITY-SEQUENCE:{}",
                self.discontinuity_sequence
            );
        }
        match self.playlist_type {
            Some(PlaylistType::Vod) => out.push_str("#EXT-X-PLAYLIST-TYPE:VOD\n"),
            Some(PlaylistType::Event) => out.push_str("#EXT-X-PLAYLIST-TYPE:EVENT\n"),
            None => {}
        }
        for segment in &self.segments {
            segment.write(&mut out);
        }
        for part in &self.open_parts {
            part.write(&mut out);
        }
        if let Some(uri) = &self.preload_hint {
            let _ = writeln!(out, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"{uri}\"");
        }
        if self.end_list {
            out.push_str("#EXT-X-ENDLIST\n");
        }
        out
    }
}

impl Segment {
    fn write(&self, out: &mut String) {
        if let Some(map) = &self.map {
            let _ = writeln!(out, "#EXT-X-MAP:URI=\"{map}\"");
        }
        if self.discontinuity {
            out.push_str("#EXT-X-DISCONTINUITY\n");
        }
        if let Some(time) = &self.program_date_time {
            let _ = writeln!(
                out,
                "#EXT-X-PROGRAM-DATE-TIME:{}",
                time.to_rfc3339_opts(SecondsFormat::Millis, true)
            );
        }
        for part in &self.parts {
            part.write(out);
        }
        let _ = writeln!(out, "#EXTINF:{},\n{}", seconds(self.duration_ms), self.uri);
    }
}

impl Part {
    fn write(&self, out: &mut String) {
        let _ = write!(
            out,
            "#EXT-X-PART:DURATION={},URI=\"{}\"",
            seconds(self.duration_ms),
            self.uri
        );
        out.push_str(if self.independent {
            ",INDEPENDENT=YES\n"
        } else {
            "\n"
        });
    }
}

/// `EXT-X-RENDITION-REPORT` (§4.4.5.4): where another rendition of the
/// stream stands, appended to an LL-HLS playlist when it is served.
pub fn rendition_report(uri: &str, last_msn: u64, last_part: Option<u32>) -> String {
    match last_part {
        Some(part) => {
            format!("#EXT-X-RENDITION-REPORT:URI=\"{uri}\",LAST-MSN={last_msn},LAST-PART={part}\n")
        }
        None => format!("#EXT-X-RENDITION-REPORT:URI=\"{uri}\",LAST-MSN={last_msn}\n"),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    fn at(seconds: u64) -> Option<DateTime<Utc>> {
        Some(DateTime::<Utc>::from(
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + seconds),
        ))
    }

    #[test]
    fn renders_a_vod_playlist_exactly() {
        let playlist = MediaPlaylist {
            version: 7,
            target_duration: 2,
            playlist_type: Some(PlaylistType::Vod),
            segments: vec![
                Segment {
                    uri: "a/0.m4s".into(),
                    duration_ms: 2_000,
                    map: Some("a/init.mp4".into()),
                    program_date_time: at(0),
                    ..Segment::default()
                },
                Segment {
                    uri: "a/1.m4s".into(),
                    duration_ms: 1_533,
                    discontinuity: true,
                    map: Some("a/init2.mp4".into()),
                    program_date_time: at(9),
                    ..Segment::default()
                },
            ],
            end_list: true,
            ..MediaPlaylist::default()
        };
        assert_eq!(
            playlist.render(),
            "#EXTM3U
#EXT-X-VERSION:7
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-TARGETDURATION:2
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-MAP:URI=\"a/init.mp4\"
#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:20.000Z
#EXTINF:2.000,
a/0.m4s
#EXT-X-MAP:URI=\"a/init2.mp4\"
#EXT-X-DISCONTINUITY
#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:29.000Z
#EXTINF:1.533,
a/1.m4s
#EXT-X-ENDLIST
"
        );
    }

    #[test]
    fn renders_a_sliding_ll_hls_window_exactly() {
        let playlist = MediaPlaylist {
            version: 7,
            target_duration: 1,
            media_sequence: 6,
            discontinuity_sequence: 2,
            part_target_ms: Some(333),
            segments: vec![Segment {
                uri: "6.m4s".into(),
                duration_ms: 1_000,
                parts: vec![Part {
                    uri: "6.0.m4s".into(),
                    duration_ms: 1_000,
                    independent: true,
                }],
                ..Segment::default()
            }],
            open_parts: vec![Part {
                uri: "7.0.m4s".into(),
                duration_ms: 333,
                independent: false,
            }],
            preload_hint: Some("7.1.m4s".into()),
            ..MediaPlaylist::default()
        };
        assert_eq!(
            playlist.render(),
            "#EXTM3U
#EXT-X-VERSION:7
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-TARGETDURATION:1
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.999
#EXT-X-PART-INF:PART-TARGET=0.333
#EXT-X-MEDIA-SEQUENCE:6
#EXT-X-DISCONTINUITY-SEQUENCE:2
#EXT-X-PART:DURATION=1.000,URI=\"6.0.m4s\",INDEPENDENT=YES
#EXTINF:1.000,
6.m4s
#EXT-X-PART:DURATION=0.333,URI=\"7.0.m4s\"
#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"7.1.m4s\"
"
        );
    }

    #[test]
    fn reports_other_renditions() {
        assert_eq!(
            rendition_report("../audio/index.m3u8", 7, Some(2)),
            "#EXT-X-RENDITION-REPORT:URI=\"../audio/index.m3u8\",LAST-MSN=7,LAST-PART=2\n"
        );
        assert_eq!(
            rendition_report("../720p/index.m3u8", 6, None),
            "#EXT-X-RENDITION-REPORT:URI=\"../720p/index.m3u8\",LAST-MSN=6\n"
        );
    }
}
