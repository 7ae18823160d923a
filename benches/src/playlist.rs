//! Just enough of an HLS media playlist (RFC 8216 §4.3) to tell how much a
//! server has segmented: the media sequence number of the first segment
//! listed, and the segments listed after it.

#[derive(Debug, Clone, Default, PartialEq)]
pub struct MediaPlaylist {
    /// `#EXT-X-MEDIA-SEQUENCE` (0 when absent, as the RFC says).
    pub media_sequence: u64,
    /// `#EXTINF` durations, in order.
    pub durations: Vec<f64>,
    /// Segment URIs (the lines that are not tags), in order.
    pub uris: Vec<String>,
    /// `#EXT-X-ENDLIST` seen.
    pub ended: bool,
}

impl MediaPlaylist {
    pub fn parse(text: &str) -> Self {
        let mut playlist = Self::default();
        for line in text.lines().map(str::trim) {
            if let Some(value) = line.strip_prefix("#EXT-X-MEDIA-SEQUENCE:") {
                playlist.media_sequence = value.trim().parse().unwrap_or(0);
            } else if let Some(value) = line.strip_prefix("#EXTINF:") {
                let duration = value.split(',').next().unwrap_or("").trim();
                playlist.durations.push(duration.parse().unwrap_or(0.0));
            } else if line == "#EXT-X-ENDLIST" {
                playlist.ended = true;
            } else if !line.is_empty() && !line.starts_with('#') {
                playlist.uris.push(line.to_owned());
            }
        }
        playlist
    }

    /// Segments produced since the stream started: the sequence number one
    /// past the last segment listed (sequences start at 0).
    pub fn segments_produced(&self) -> u64 {
        self.media_sequence + self.durations.len() as u64
    }

    /// Media seconds the segments listed cover.
    pub fn listed_seconds(&self) -> f64 {
        self.durations.iter().sum()
    }
}

/// How many segments a stream of `media_seconds` should have produced, with
/// segments of `segment_seconds`, and how many may be missing at the end (the
/// last, partial one is cut only when the publisher leaves, and a server may
/// still be writing one more).
pub fn expected_segments(media_seconds: f64, segment_seconds: f64) -> (u64, u64) {
    let expected = (media_seconds / segment_seconds).floor().max(0.0) as u64;
    let allowed_missing = (expected / 4).clamp(1, 2);
    (expected, allowed_missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_segments_past_the_window() {
        let text = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:9\n#EXT-X-TARGETDURATION:2\n\
                    #EXTINF:2.000,\nk-9.ts\n#EXTINF:2.000,\nk-10.ts\n#EXTINF:0.051,\nk-11.ts\n";
        let playlist = MediaPlaylist::parse(text);
        assert_eq!(playlist.media_sequence, 9);
        assert_eq!(playlist.segments_produced(), 12);
        assert!((playlist.listed_seconds() - 4.051).abs() < 1e-9);
        assert!(!playlist.ended);
    }

    #[test]
    fn reads_fmp4_playlists_with_a_map_and_an_end() {
        let text = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI=\"init.mp4\"\n\
                    #EXTINF:2.002,\n0.m4s\n#EXTINF:1.5,title\n1.m4s\n#EXT-X-ENDLIST\n";
        let playlist = MediaPlaylist::parse(text);
        assert_eq!(playlist.media_sequence, 0);
        assert_eq!(playlist.segments_produced(), 2);
        assert_eq!(playlist.uris, ["0.m4s", "1.m4s"]);
        assert!(playlist.ended);
    }

    #[test]
    fn tolerates_one_or_two_missing_segments() {
        assert_eq!(expected_segments(30.0, 2.0), (15, 2));
        assert_eq!(expected_segments(20.0, 2.0), (10, 2));
        assert_eq!(expected_segments(6.0, 2.0), (3, 1));
        assert_eq!(expected_segments(1.0, 2.0), (0, 1));
    }
}
