//! Renders the multivariant (master) playlist of an fMP4 run (RFC 8216bis
//! §4.4.6) with m3u8-rs: one `EXT-X-STREAM-INF` per video rendition, all
//! sharing one audio rendition group.

use bytes::Bytes;
use m3u8_rs::{AlternativeMedia, AlternativeMediaType, MasterPlaylist, Resolution, VariantStream};

/// The `GROUP-ID` of the audio renditions (§4.4.6.1).
pub(crate) const AUDIO_GROUP: &str = "audio";

/// One video rendition as its `EXT-X-STREAM-INF` describes it (§4.4.6.2).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Variant {
    /// Its media playlist, relative to the master playlist.
    pub uri: String,
    /// Peak segment bit rate of the video with the audio played with it.
    pub bandwidth: u64,
    pub average_bandwidth: u64,
    /// Video and audio codecs, e.g. `avc1.64001f,mp4a.40.2`.
    pub codecs: String,
    pub resolution: (u32, u32),
    pub frame_rate: Option<f64>,
}

/// The audio rendition (§4.4.6.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AudioRendition {
    pub uri: String,
    pub name: String,
    pub channels: u8,
}

pub(crate) fn render(variants: &[Variant], audio: Option<&AudioRendition>) -> Bytes {
    let alternatives = audio
        .map(|audio| AlternativeMedia {
            media_type: AlternativeMediaType::Audio,
            uri: Some(audio.uri.clone()),
            group_id: AUDIO_GROUP.to_owned(),
            name: audio.name.clone(),
            default: true,
            autoselect: true,
            channels: Some(audio.channels.to_string()),
            ..AlternativeMedia::default()
        })
        .into_iter()
        .collect();
    let variants = variants
        .iter()
        .map(|variant| VariantStream {
            uri: variant.uri.clone(),
            bandwidth: variant.bandwidth,
            average_bandwidth: Some(variant.average_bandwidth),
            codecs: Some(variant.codecs.clone()),
            resolution: Some(Resolution {
                width: u64::from(variant.resolution.0),
                height: u64::from(variant.resolution.1),
            }),
            // §4.4.6.2: three decimal places at most.
            frame_rate: variant
                .frame_rate
                .map(|rate| (rate * 1000.0).round() / 1000.0),
            audio: audio.map(|_| AUDIO_GROUP.to_owned()),
            ..VariantStream::default()
        })
        .collect();
    let playlist = MasterPlaylist {
        // §4.4.1.2 / §8: EXT-X-MAP in the media playlists asks for 6+; the
        // media playlists declare 7.
        version: Some(7),
        variants,
        alternatives,
        // Every segment starts on a keyframe (§4.4.2.1).
        independent_segments: true,
        ..MasterPlaylist::default()
    };
    let mut out = Vec::with_capacity(512);
    playlist
        .write_to(&mut out)
        .expect("writing to a Vec cannot fail");
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use m3u8_rs::Playlist;

    use super::*;

    #[test]
    fn renders_variants_with_an_audio_group_and_parses_back() {
        let variants = [Variant {
            uri: "source/index.m3u8".into(),
            bandwidth: 1_234_567,
            average_bandwidth: 1_000_000,
            codecs: "avc1.64001e,mp4a.40.2".into(),
            resolution: (640, 360),
            frame_rate: Some(29.97003),
        }];
        let audio = AudioRendition {
            uri: "audio/index.m3u8".into(),
            name: "audio".into(),
            channels: 2,
        };
        let rendered = render(&variants, Some(&audio));
        let text = std::str::from_utf8(&rendered).unwrap();
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
        let Ok(Playlist::MasterPlaylist(parsed)) = m3u8_rs::parse_playlist_res(&rendered) else {
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
}
