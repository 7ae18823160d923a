//! Rewrites FLV files the way misbehaving encoders stamp their streams, so
//! the real ffmpeg CLI can publish what OBS never would.

use std::path::Path;

/// FLV signature, version, flags and header size, then `PreviousTagSize0`.
const FILE_HEADER: usize = 9 + 4;
const TAG_HEADER: usize = 11;
const AUDIO_TAG: u8 = 8;

/// Adds `lead_ms` to the timestamp of every audio tag of the FLV file at
/// `from` and writes it to `to`, keeping the tags in their order: an
/// encoder that sends frames as captured but stamps audio from a clock of
/// its own.
pub fn shift_audio(from: &Path, to: &Path, lead_ms: u32) {
    let mut flv = std::fs::read(from).expect("the FLV was written");
    assert_eq!(&flv[..3], b"FLV", "not an FLV file");
    let mut at = FILE_HEADER;
    while at + TAG_HEADER <= flv.len() {
        let tag = &mut flv[at..at + TAG_HEADER];
        let size = u32::from_be_bytes([0, tag[1], tag[2], tag[3]]) as usize;
        if tag[0] & 0x1f == AUDIO_TAG {
            // 24 bits, then the upper 8 bits in the fourth byte.
            let stamp = u32::from_be_bytes([tag[7], tag[4], tag[5], tag[6]]) + lead_ms;
            let [upper, high, middle, low] = stamp.to_be_bytes();
            tag[4..8].copy_from_slice(&[high, middle, low, upper]);
        }
        at += TAG_HEADER + size + 4;
    }
    std::fs::write(to, flv).expect("the rewritten FLV is written");
}

/// Moves every `every`-th audio tag of the FLV file at `from` `back_ms`
/// before the audio tag ahead of it and writes it to `to`: an encoder
/// whose audio clock jitters backwards now and then.
pub fn step_audio_back(from: &Path, to: &Path, every: usize, back_ms: u32) {
    let mut flv = std::fs::read(from).expect("the FLV was written");
    assert_eq!(&flv[..3], b"FLV", "not an FLV file");
    let mut at = FILE_HEADER;
    let (mut audio_tags, mut previous) = (0, 0);
    while at + TAG_HEADER <= flv.len() {
        let tag = &mut flv[at..at + TAG_HEADER];
        let size = u32::from_be_bytes([0, tag[1], tag[2], tag[3]]) as usize;
        if tag[0] & 0x1f == AUDIO_TAG {
            audio_tags += 1;
            let stamp = u32::from_be_bytes([tag[7], tag[4], tag[5], tag[6]]);
            if audio_tags % every == 0 && previous >= back_ms {
                let [upper, high, middle, low] = (previous - back_ms).to_be_bytes();
                tag[4..8].copy_from_slice(&[high, middle, low, upper]);
            }
            previous = stamp;
        }
        at += TAG_HEADER + size + 4;
    }
    std::fs::write(to, flv).expect("the rewritten FLV is written");
}
