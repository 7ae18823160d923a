//! Multivariant (master) playlists (RFC 8216bis §4.4.6): one
//! `EXT-X-STREAM-INF` per variant, and the audio rendition they share.

use std::fmt::Write;

/// A master playlist, rendered by [`MasterPlaylist::render`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MasterPlaylist {
    /// `EXT-X-VERSION`: that of the media playlists it lists (§4.4.1.2).
    pub version: u8,
    /// The audio the variants play with, as an `EXT-X-MEDIA` group.
    pub audio: Option<AudioRendition>,
    pub variants: Vec<Variant>,
}

/// One `EXT-X-STREAM-INF` (§4.4.6.2).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Variant {
    /// Its media playlist, relative to the master playlist.
    pub uri: String,
    /// Peak segment bit rate of everything played together.
    pub bandwidth: u64,
    pub average_bandwidth: Option<u64>,
    /// Every codec in the variant's segments, e.g. `avc1.64001f,mp4a.40.2`.
    pub codecs: Option<String>,
    /// Width × height of the video.
    pub resolution: Option<(u32, u32)>,
    /// Written with three decimal places at most.
    pub frame_rate: Option<f64>,
    /// The `GROUP-ID` of the audio it plays with.
    pub audio_group: Option<String>,
}

/// An `EXT-X-MEDIA` audio rendition (§4.4.6.1), the default of its group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AudioRendition {
    pub uri: String,
    pub group_id: String,
    pub name: String,
    pub channels: Option<u8>,
}

impl MasterPlaylist {
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(256 + 192 * self.variants.len());
        out.push_str("#EXTM3U\n");
        let _ = writeln!(out, "#EXT-X-VERSION:{}", self.version);
        // Every segment starts on a keyframe (§4.4.2.2).
        out.push_str("#EXT-X-INDEPENDENT-SEGMENTS\n");
        if let Some(audio) = &self.audio {
            audio.write(&mut out);
        }
        for variant in &self.variants {
            variant.write(&mut out);
        }
        out
    }
}

impl AudioRendition {
    fn write(&self, out: &mut String) {
        let _ = write!(
            out,
            "#EXT-X-MEDIA:TYPE=AUDIO,URI=\"{}\",GROUP-ID=\"{}\",NAME=\"{}\",DEFAULT=YES,AUTOSELECT=YES",
            self.uri, self.group_id, self.name
        );
        if let Some(channels) = self.channels {
            let _ = write!(out, ",CHANNELS=\"{channels}\"");
        }
        out.push('\n');
    }
}

impl Variant {
    fn write(&self, out: &mut String) {
        let _ = write!(out, "#EXT-X-STREAM-INF:BANDWIDTH={}", self.bandwidth);
        if let Some(average) = self.average_bandwidth {
            let _ = write!(out, ",AVERAGE-BANDWIDTH={average}");
        }
        if let Some(codecs) = &self.codecs {
            let _ = write!(out, ",CODECS=\"{codecs}\"");
        }
        if let Some((width, height)) = self.resolution {
            let _ = write!(out, ",RESOLUTION={width}x{height}");
        }
        if let Some(rate) = self.frame_rate {
            let _ = write!(out, ",FRAME-RATE={}", (rate * 1000.0).round() / 1000.0);
        }
        if let Some(group) = &self.audio_group {
            let _ = write!(out, ",AUDIO=\"{group}\"");
        }
        let _ = writeln!(out, "\n{}", self.uri);
    }
}

#[cfg(test)]
mod tests {
    use m3u8_rs::Playlist;

    use super::*;

    #[test]
    fn renders_variants_with_an_audio_group_and_parses_back() {
        let playlist = MasterPlaylist {
            version: 7,
            audio: Some(AudioRendition {
                uri: "audio/index.m3u8".into(),
                group_id: "audio".into(),
                name: "audio".into(),
                channels: Some(2),
            }),
            variants: vec![Variant {
                uri: "source/index.m3u8".into(),
                bandwidth: 1_234_567,
                average_bandwidth: Some(1_000_000),
                codecs: Some("avc1.64001e,mp4a.40.2".into()),
                resolution: Some((640, 360)),
                frame_rate: Some(29.97003),
                audio_group: Some("audio".into()),
            }],
        };
        let text = playlist.render();
        assert_eq!(
            text,
            "#EXTM3U
#EXT-X-VERSION:7
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,URI=\"audio/index.m3u8\",GROUP-ID=\"audio\",NAME=\"audio\",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"2\"
#EXT-X-STREAM-INF:BANDWIDTH=1234567,AVERAGE-BANDWIDTH=1000000,CODECS=\"avc1.64001e,mp4a.40.2\",RESOLUTION=640x360,FRAME-RATE=29.97,AUDIO=\"audio\"
source/index.m3u8
"
        );
        let Ok(Playlist::MasterPlaylist(parsed)) = m3u8_rs::parse_playlist_res(text.as_bytes())
        else {
            panic!("m3u8-rs cannot parse:\n{text}");
        };
        assert_eq!(parsed.variants.len(), 1);
        assert_eq!(parsed.variants[0].audio.as_deref(), Some("audio"));
        assert_eq!(
            parsed.alternatives[0].uri.as_deref(),
            Some("audio/index.m3u8")
        );
        assert!(parsed.alternatives[0].default && parsed.alternatives[0].autoselect);
    }

    #[test]
    fn writes_only_the_attributes_it_has() {
        let playlist = MasterPlaylist {
            version: 3,
            audio: Some(AudioRendition {
                uri: "audio/index.m3u8".into(),
                group_id: "audio".into(),
                name: "Audio".into(),
                channels: None,
            }),
            variants: vec![
                Variant {
                    uri: "source/index.m3u8".into(),
                    bandwidth: 3_000_000,
                    resolution: Some((1280, 720)),
                    frame_rate: Some(30.0),
                    audio_group: Some("audio".into()),
                    ..Variant::default()
                },
                Variant {
                    uri: "360p/index.m3u8".into(),
                    bandwidth: 800_000,
                    ..Variant::default()
                },
            ],
        };
        assert_eq!(
            playlist.render(),
            "#EXTM3U
#EXT-X-VERSION:3
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,URI=\"audio/index.m3u8\",GROUP-ID=\"audio\",NAME=\"Audio\",DEFAULT=YES,AUTOSELECT=YES
#EXT-X-STREAM-INF:BANDWIDTH=3000000,RESOLUTION=1280x720,FRAME-RATE=30,AUDIO=\"audio\"
source/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=800000
360p/index.m3u8
"
        );
    }
}
