//! Reads back what manifests need from the fMP4 bytes themselves (ISO/IEC
//! 14496-12 boxes): a track's timescale and RFC 6381 codec string from the
//! init segment, a fragment's `tfdt` and sample count from a segment. The
//! manifests then describe exactly what players will find in the files.
//! The packager reads them once, where it writes the bytes, and they travel
//! with the segment (`InitSegment::track`, `MediaSegment::fragment`).

use crate::codec::{AacConfig, AvcConfig, HevcConfig};
use bytes::Bytes;

/// The one track of a CMAF init segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackInfo {
    /// `mdhd` timescale: ticks per second of `tfdt` and sample durations.
    pub timescale: u32,
    /// RFC 6381 `CODECS` value from the decoder configuration record.
    pub codec: String,
    pub kind: TrackKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrackKind {
    Video { width: u32, height: u32 },
    Audio { sample_rate: u32, channels: u8 },
}

/// What a media segment's fragments say about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FragmentInfo {
    /// `tfdt` baseMediaDecodeTime of the first fragment (§8.8.12).
    pub base_decode_time: u64,
    /// Samples in all of its `trun`s (§8.8.8).
    pub samples: u32,
}

/// The payloads of the boxes laid end to end in `data`, with their types.
/// Stops at the first malformed header.
fn boxes(mut data: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    std::iter::from_fn(move || {
        let header = data.get(..8)?;
        let size32 = u32::from_be_bytes(header[..4].try_into().ok()?);
        let kind: [u8; 4] = header[4..8].try_into().ok()?;
        let (size, skip) = match size32 {
            0 => (data.len(), 8),
            1 => {
                let large = u64::from_be_bytes(data.get(8..16)?.try_into().ok()?);
                (usize::try_from(large).ok()?, 16)
            }
            n => (n as usize, 8),
        };
        if size < skip || size > data.len() {
            return None;
        }
        let payload = &data[skip..size];
        data = &data[size..];
        Some((kind, payload))
    })
}

fn child<'a>(data: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    boxes(data).find(|(k, _)| k == kind).map(|(_, p)| p)
}

fn path<'a>(data: &'a [u8], kinds: &[&[u8; 4]]) -> Option<&'a [u8]> {
    kinds.iter().try_fold(data, |data, kind| child(data, kind))
}

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

fn u16_at(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(data.get(at..at + 2)?.try_into().ok()?))
}

/// Sample entries start with 8 bytes (reserved, data_reference_index), then
/// 70 more for visual entries and 20 more for audio ones (§12.1.3, §12.2.3).
const VISUAL_ENTRY_LEN: usize = 78;
const AUDIO_ENTRY_LEN: usize = 28;

impl TrackInfo {
    /// The first track of an init segment; `None` if it is not one we wrote.
    pub fn parse(init: &[u8]) -> Option<Self> {
        let trak = path(init, &[b"moov", b"trak"])?;
        let mdhd = path(trak, &[b"mdia", b"mdhd"])?;
        // Version 1 has 64-bit creation and modification times.
        let timescale = if mdhd.first() == Some(&1) {
            u32_at(mdhd, 20)?
        } else {
            u32_at(mdhd, 12)?
        };
        let stsd = path(trak, &[b"mdia", b"minf", b"stbl", b"stsd"])?;
        let (entry_kind, entry) = boxes(stsd.get(8..)?).next()?;
        let (codec, kind) = match &entry_kind {
            b"avc1" | b"avc3" => {
                let record = child(entry.get(VISUAL_ENTRY_LEN..)?, b"avcC")?;
                let config = AvcConfig::parse(Bytes::copy_from_slice(record)).ok()?;
                (config.rfc6381_codec(), visual(entry)?)
            }
            b"hvc1" | b"hev1" => {
                let record = child(entry.get(VISUAL_ENTRY_LEN..)?, b"hvcC")?;
                let config = HevcConfig::parse(Bytes::copy_from_slice(record)).ok()?;
                (config.rfc6381_codec(), visual(entry)?)
            }
            b"mp4a" => {
                let esds = child(entry.get(AUDIO_ENTRY_LEN..)?, b"esds")?;
                let config =
                    AacConfig::parse(Bytes::copy_from_slice(audio_specific_config(esds)?)).ok()?;
                // RFC 6381 §3.3: mp4a, the MPEG-4 audio OTI (0x40), then the
                // audio object type of the AudioSpecificConfig.
                let codec = format!("mp4a.40.{}", config.object_type);
                let kind = TrackKind::Audio {
                    sample_rate: config.sample_rate,
                    channels: config.channels,
                };
                (codec, kind)
            }
            _ => return None,
        };
        Some(Self {
            timescale,
            codec,
            kind,
        })
    }
}

fn visual(entry: &[u8]) -> Option<TrackKind> {
    Some(TrackKind::Video {
        width: u32::from(u16_at(entry, 24)?),
        height: u32::from(u16_at(entry, 26)?),
    })
}

/// The DecoderSpecificInfo inside an `esds` box's ES_Descriptor (ISO/IEC
/// 14496-1 §7.2.6.5): for AAC, the AudioSpecificConfig.
fn audio_specific_config(esds: &[u8]) -> Option<&[u8]> {
    // Version and flags, then the ES_Descriptor.
    let (tag, es) = descriptor(esds.get(4..)?)?;
    if tag != 0x03 {
        return None;
    }
    let flags = *es.get(2)?;
    let mut at = 3;
    if flags & 0x80 != 0 {
        at += 2; // dependsOn_ES_ID
    }
    if flags & 0x40 != 0 {
        at += 1 + usize::from(*es.get(at)?); // URL
    }
    if flags & 0x20 != 0 {
        at += 2; // OCR_ES_Id
    }
    let (tag, config) = descriptor(es.get(at..)?)?;
    if tag != 0x04 {
        return None;
    }
    // objectTypeIndication, streamType, bufferSizeDB, maxBitrate, avgBitrate.
    let (tag, specific) = descriptor(config.get(13..)?)?;
    (tag == 0x05).then_some(specific)
}

/// One descriptor: its tag and payload. Sizes use 7 bits per byte, with
/// the top bit saying another byte follows (§8.3.3).
fn descriptor(data: &[u8]) -> Option<(u8, &[u8])> {
    let tag = *data.first()?;
    let mut size = 0usize;
    let mut at = 1;
    loop {
        let byte = *data.get(at)?;
        at += 1;
        size = (size << 7) | usize::from(byte & 0x7f);
        if byte & 0x80 == 0 || at > 4 {
            break;
        }
    }
    Some((tag, data.get(at..at + size)?))
}

impl FragmentInfo {
    pub fn parse(segment: &[u8]) -> Option<Self> {
        let mut base_decode_time = None;
        let mut samples = 0u32;
        for moof in boxes(segment).filter(|(k, _)| k == b"moof").map(|(_, p)| p) {
            let traf = child(moof, b"traf")?;
            if base_decode_time.is_none() {
                let tfdt = child(traf, b"tfdt")?;
                base_decode_time = Some(if tfdt.first() == Some(&1) {
                    u64::from_be_bytes(tfdt.get(4..12)?.try_into().ok()?)
                } else {
                    u64::from(u32_at(tfdt, 4)?)
                });
            }
            // Checked: a hostile segment states counts that overflow u32.
            for (_, trun) in boxes(traf).filter(|(k, _)| k == b"trun") {
                if let Some(count) = u32_at(trun, 4) {
                    samples = samples.checked_add(count)?;
                }
            }
        }
        Some(Self {
            base_decode_time: base_decode_time?,
            samples,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut out = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(payload);
        out
    }

    fn fragment(tfdt: u64, samples: u32) -> Vec<u8> {
        let mut tfdt_box = vec![1, 0, 0, 0];
        tfdt_box.extend_from_slice(&tfdt.to_be_bytes());
        let mut trun = vec![0, 0, 0, 0];
        trun.extend_from_slice(&samples.to_be_bytes());
        let traf = [
            boxed(b"tfhd", &[0; 8]),
            boxed(b"tfdt", &tfdt_box),
            boxed(b"trun", &trun),
        ]
        .concat();
        [
            boxed(b"moof", &boxed(b"traf", &traf)),
            boxed(b"mdat", &[0; 3]),
        ]
        .concat()
    }

    #[test]
    fn reads_tfdt_and_sample_counts_of_every_fragment() {
        let segment = [fragment(96_000, 30), fragment(112_000, 15)].concat();
        assert_eq!(
            FragmentInfo::parse(&segment),
            Some(FragmentInfo {
                base_decode_time: 96_000,
                samples: 45
            })
        );
        assert_eq!(FragmentInfo::parse(&segment[..20]), None);
    }

    /// Found by the fmp4 fuzz target: `trun` sample counts whose sum
    /// overflows u32 (a panic in debug builds) are no real segment.
    #[test]
    fn sample_counts_that_overflow_are_refused() {
        let segment = [fragment(0, u32::MAX), fragment(1, 1)].concat();
        assert_eq!(FragmentInfo::parse(&segment), None);
        // The same within one fragment: two `trun`s in one `traf`.
        let mut trun = vec![0, 0, 0, 0];
        trun.extend_from_slice(&u32::MAX.to_be_bytes());
        let mut tfdt = vec![0; 4];
        tfdt.extend_from_slice(&[0; 4]);
        let traf = [
            boxed(b"tfdt", &tfdt),
            boxed(b"trun", &trun),
            boxed(b"trun", &trun),
        ]
        .concat();
        let segment = boxed(b"moof", &boxed(b"traf", &traf));
        assert_eq!(FragmentInfo::parse(&segment), None);
    }

    #[test]
    fn finds_the_audio_specific_config_in_an_esds() {
        // As FFmpeg writes it: ES_Descriptor(DecoderConfig(DecSpecificInfo), SLConfig).
        let esds = [
            0, 0, 0, 0, 0x03, 0x19, 0x00, 0x02, 0x00, 0x04, 0x11, 0x40, 0x15, 0x00, 0x00, 0x00,
            0x00, 0x01, 0xf4, 0x00, 0x00, 0x01, 0xf4, 0x00, 0x05, 0x02, 0x11, 0x90, 0x06, 0x01,
            0x02,
        ];
        assert_eq!(audio_specific_config(&esds), Some(&[0x11, 0x90][..]));
    }
}
