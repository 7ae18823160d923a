//! One function per fuzz target, each feeding arbitrary bytes to a parser
//! of untrusted input the way the server does. A target passes an input if
//! it returns: errors are expected, panics, overflows, stack overflows and
//! unbounded allocations are findings.
//!
//! The cargo-fuzz crate in `fuzz/` calls these from `fuzz_target!`s (nightly,
//! libFuzzer); `tests/corpus.rs` runs every file of `fuzz/corpus/` through
//! them on stable, so `cargo test` replays the seeds and every past finding.

mod rtmp;
mod stack;

use bytes::Bytes;
use nova_media::codec::{AacConfig, AvcConfig, HevcConfig};
use nova_media::flv::{parse_audio_tag, parse_video_tag};
use nova_media::fmp4::{FragmentInfo, TrackInfo};
use rml_rtmp::rml_amf0;

pub use rtmp::{
    SessionOutcome, last_panic, remember_panics_instead_of_aborting, replay_session,
    rtmp_connection,
};
pub use stack::report_stack_overflows;

/// What a fuzz target does with one input.
pub type Target = fn(&[u8]);

/// Every target by its name in `fuzz/fuzz_targets/` and `fuzz/corpus/`.
pub const TARGETS: &[(&str, Target)] = &[
    ("rtmp_connection", rtmp_connection),
    ("flv_tag", flv_tag),
    ("codec_config", codec_config),
    ("hevc_sps", hevc_sps),
    ("fmp4", fmp4),
    ("amf0", amf0),
];

/// The body of an RTMP audio or video message (an FLV tag without its
/// 11-byte header), as both kinds: the first byte means something to each.
pub fn flv_tag(data: &[u8]) {
    let body = Bytes::copy_from_slice(data);
    if let Ok(nova_media::flv::VideoTag::Config(config)) = parse_video_tag(body.clone()) {
        // What manifests are written from.
        let _ = (config.rfc6381_codec(), config.dimensions());
    }
    if let Ok(nova_media::flv::AudioTag::Config(config)) = parse_audio_tag(body) {
        let _ = config.rfc6381_codec();
    }
}

/// A decoder configuration record as each codec: `avcC`, `hvcC`,
/// AudioSpecificConfig.
pub fn codec_config(data: &[u8]) {
    let record = Bytes::copy_from_slice(data);
    if let Ok(avc) = AvcConfig::parse(record.clone()) {
        let _ = avc.rfc6381_codec();
    }
    if let Ok(hevc) = HevcConfig::parse(record.clone()) {
        let _ = hevc.rfc6381_codec();
    }
    let _ = AacConfig::parse(record);
}

/// An H.265 SPS NAL unit (with its 2-byte NAL header), in an `hvcC` of its
/// own, so that the fuzzer spends its time in the SPS syntax.
pub fn hevc_sps(data: &[u8]) {
    let Ok(length) = u16::try_from(data.len()) else {
        return;
    };
    let mut record = vec![0u8; 23];
    record[0] = 1; // configurationVersion
    record[21] = 0x03; // lengthSizeMinusOne
    record[22] = 1; // numOfArrays
    record.push(33); // NAL_unit_type: SPS
    record.extend_from_slice(&1u16.to_be_bytes());
    record.extend_from_slice(&length.to_be_bytes());
    record.extend_from_slice(data);
    if let Ok(config) = HevcConfig::parse(record.into()) {
        let _ = config.rfc6381_codec();
    }
}

/// A CMAF init segment or media segment, read as the packager reads what
/// it wrote (and as a foreign fMP4 would be read).
pub fn fmp4(data: &[u8]) {
    let _ = TrackInfo::parse(data);
    let _ = FragmentInfo::parse(data);
}

/// An AMF0 command or data message body, as rml_rtmp decodes it after the
/// handshake (message types 18 and 20).
pub fn amf0(data: &[u8]) {
    let _ = rml_amf0::deserialize(&mut std::io::Cursor::new(data));
}
