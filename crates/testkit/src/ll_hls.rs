//! Reading HLS media playlists (RFC 8216 §4.3) and their LL-HLS parts
//! (RFC 8216bis §4.4.4.9, §4.4.5.3) the way a player does: the parts and
//! segments listed, by media sequence number, and the part hinted at next.
//! A plain playlist reads as one without parts.

/// One `EXT-X-PART`.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub msn: u64,
    pub index: u32,
    pub uri: String,
    pub duration_ms: u64,
}

/// One complete segment (`EXTINF` + URI).
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub msn: u64,
    pub uri: String,
    pub duration_ms: u64,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct LlPlaylist {
    pub media_sequence: u64,
    pub parts: Vec<Part>,
    pub segments: Vec<Segment>,
    /// The URI of `EXT-X-PRELOAD-HINT:TYPE=PART`.
    pub preload_hint: Option<String>,
    pub ended: bool,
}

impl LlPlaylist {
    pub fn parse(text: &str) -> Self {
        let mut playlist = Self::default();
        let mut msn = None;
        let mut index = 0;
        let mut pending_duration = None;
        for line in text.lines().map(str::trim) {
            if let Some(value) = line.strip_prefix("#EXT-X-MEDIA-SEQUENCE:") {
                playlist.media_sequence = value.parse().unwrap_or(0);
                msn = Some(playlist.media_sequence);
            } else if let Some(attributes) = line.strip_prefix("#EXT-X-PART:") {
                let current = *msn.get_or_insert(playlist.media_sequence);
                playlist.parts.push(Part {
                    msn: current,
                    index,
                    uri: attribute(attributes, "URI").unwrap_or_default(),
                    duration_ms: attribute(attributes, "DURATION").map_or(0, |d| seconds_to_ms(&d)),
                });
                index += 1;
            } else if let Some(attributes) = line.strip_prefix("#EXT-X-PRELOAD-HINT:") {
                if attribute(attributes, "TYPE").as_deref() == Some("PART") {
                    playlist.preload_hint = attribute(attributes, "URI");
                }
            } else if let Some(value) = line.strip_prefix("#EXTINF:") {
                pending_duration = Some(seconds_to_ms(value.split(',').next().unwrap_or("")));
            } else if line == "#EXT-X-ENDLIST" {
                playlist.ended = true;
            } else if !line.is_empty() && !line.starts_with('#') {
                let current = msn.get_or_insert(playlist.media_sequence);
                playlist.segments.push(Segment {
                    msn: *current,
                    uri: line.to_owned(),
                    duration_ms: pending_duration.take().unwrap_or(0),
                });
                *current += 1;
                index = 0;
            }
        }
        playlist
    }

    pub fn part(&self, msn: u64, index: u32) -> Option<&Part> {
        self.parts.iter().find(|p| p.msn == msn && p.index == index)
    }

    pub fn segment(&self, msn: u64) -> Option<&Segment> {
        self.segments.iter().find(|s| s.msn == msn)
    }

    /// Segments produced since the stream started: the sequence number one
    /// past the last segment listed (sequences start at 0, and an absent
    /// `EXT-X-MEDIA-SEQUENCE` means 0).
    pub fn segments_produced(&self) -> u64 {
        self.media_sequence + self.segments.len() as u64
    }
}

/// The part an LL-HLS playlist hints at next (`EXT-X-PRELOAD-HINT`), as
/// (media sequence number, part index, run prefix of the names): nova-live
/// names parts `{run}-{msn}.{part}.m4s`.
pub fn preload_hint(text: &str) -> (u64, u32, String) {
    let uri = LlPlaylist::parse(text)
        .preload_hint
        .unwrap_or_else(|| panic!("no preload hint:\n{text}"));
    let (run, rest) = uri.rsplit_once('-').unwrap();
    let mut numbers = rest.trim_end_matches(".m4s").split('.');
    let msn = numbers.next().unwrap().parse().unwrap();
    let part = numbers.next().unwrap().parse().unwrap();
    (msn, part, run.to_owned())
}

/// Whether `text` lists part `part` of segment `msn` (not merely hints at
/// it), or the whole segment, by nova-live's names for them.
pub fn lists(text: &str, run: &str, msn: u64, part: u32) -> bool {
    let playlist = LlPlaylist::parse(text);
    let part_uri = format!("{run}-{msn}.{part}.m4s");
    let segment_uri = format!("{run}-{msn}.m4s");
    playlist.parts.iter().any(|p| p.uri == part_uri)
        || playlist.segments.iter().any(|s| s.uri == segment_uri)
}

/// The quoted or bare value of `name` in an attribute list.
fn attribute(list: &str, name: &str) -> Option<String> {
    let start = list
        .split(',')
        .find_map(|pair| pair.trim().strip_prefix(name)?.strip_prefix('='))?;
    Some(start.trim_matches('"').to_owned())
}

/// Playlist durations are decimal seconds with at most millisecond
/// precision (nova-live's timeline is in ms), so this is exact.
fn seconds_to_ms(text: &str) -> u64 {
    text.trim()
        .parse::<f64>()
        .map_or(0, |s| (s * 1000.0).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::{LlPlaylist, Part, Segment, lists, preload_hint};

    const PLAYLIST: &str = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:4\n\
        #EXT-X-PART:DURATION=0.5,URI=\"a-4.0.m4s\",INDEPENDENT=YES\n\
        #EXT-X-PART:DURATION=1.5,URI=\"a-4.1.m4s\"\n\
        #EXTINF:2.000,\na-4.m4s\n\
        #EXT-X-PART:DURATION=0.533,URI=\"a-5.0.m4s\",INDEPENDENT=YES\n\
        #EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"a-5.1.m4s\"\n";

    #[test]
    fn numbers_parts_within_their_segment() {
        let playlist = LlPlaylist::parse(PLAYLIST);
        assert_eq!(
            playlist.segments,
            vec![Segment {
                msn: 4,
                uri: "a-4.m4s".to_owned(),
                duration_ms: 2000
            }]
        );
        assert_eq!(
            playlist.part(5, 0),
            Some(&Part {
                msn: 5,
                index: 0,
                uri: "a-5.0.m4s".to_owned(),
                duration_ms: 533
            })
        );
        assert_eq!(playlist.part(4, 1).unwrap().duration_ms, 1500);
        assert!(playlist.part(5, 1).is_none());
        assert!(!playlist.ended);
    }

    #[test]
    fn counts_segments_past_the_window() {
        let text = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:9\n#EXT-X-TARGETDURATION:2\n\
                    #EXTINF:2.000,\nk-9.ts\n#EXTINF:2.000,\nk-10.ts\n#EXTINF:0.051,\nk-11.ts\n";
        let playlist = LlPlaylist::parse(text);
        assert_eq!(playlist.media_sequence, 9);
        assert_eq!(playlist.segments_produced(), 12);
        assert_eq!(playlist.segments[2].duration_ms, 51);
        assert!(!playlist.ended);
    }

    #[test]
    fn reads_fmp4_playlists_with_a_map_and_an_end() {
        let text = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI=\"init.mp4\"\n\
                    #EXTINF:2.002,\n0.m4s\n#EXTINF:1.5,title\n1.m4s\n#EXT-X-ENDLIST\n";
        let playlist = LlPlaylist::parse(text);
        assert_eq!(playlist.media_sequence, 0);
        assert_eq!(playlist.segments_produced(), 2);
        let uris: Vec<&str> = playlist.segments.iter().map(|s| s.uri.as_str()).collect();
        assert_eq!(uris, ["0.m4s", "1.m4s"]);
        assert!(playlist.ended);
    }

    #[test]
    fn the_hinted_part_is_not_listed_yet() {
        assert_eq!(preload_hint(PLAYLIST), (5, 1, "a".to_owned()));
        assert!(lists(PLAYLIST, "a", 5, 0));
        assert!(!lists(PLAYLIST, "a", 5, 1));
        // A segment listed whole counts for each of its parts.
        assert!(lists(PLAYLIST, "a", 4, 3));
        assert!(!lists(PLAYLIST, "b", 4, 0));
    }
}
