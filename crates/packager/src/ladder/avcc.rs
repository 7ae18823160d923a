//! libx264 speaks Annex B (start codes); nova speaks AVCC (ISO/IEC 14496-15
//! §5.3: 4-byte length prefixes and an `AVCDecoderConfigurationRecord`).

use bytes::{BufMut, Bytes, BytesMut};

const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;
const NAL_AUD: u8 = 9;

/// The NAL units of an Annex B byte stream (ITU-T H.264 Annex B.1), without
/// their start codes. Trailing zero bytes before a start code belong to it.
pub(crate) fn annex_b_units(stream: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= stream.len() {
        if stream[i] == 0 && stream[i + 1] == 0 && stream[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut units = Vec::with_capacity(starts.len());
    for (n, &start) in starts.iter().enumerate() {
        let mut end = starts.get(n + 1).map_or(stream.len(), |next| next - 3);
        while end > start && stream[end - 1] == 0 {
            end -= 1;
        }
        if end > start {
            units.push(&stream[start..end]);
        }
    }
    units
}

/// One access unit from Annex B to 4-byte length-prefixed NAL units.
/// Access unit delimiters are dropped: FLV and MP4 samples do not carry them.
pub(crate) fn annex_b_to_avcc(access_unit: &[u8]) -> Bytes {
    let units = annex_b_units(access_unit);
    let mut out = BytesMut::with_capacity(access_unit.len() + 4 * units.len());
    for unit in units {
        if unit[0] & 0x1f == NAL_AUD {
            continue;
        }
        out.put_u32(unit.len() as u32);
        out.put_slice(unit);
    }
    out.freeze()
}

/// Builds an `AVCDecoderConfigurationRecord` (4-byte NAL lengths) from the
/// SPS and PPS of an Annex B header, as libx264 writes it into extradata with
/// `AV_CODEC_FLAG_GLOBAL_HEADER`. `None` without an SPS and a PPS.
///
/// The High-profile extension (§5.3.3.1.2) states 4:2:0 at 8 bits: the ladder
/// always encodes `yuv420p`.
pub(crate) fn avc_record_from_annex_b(header: &[u8]) -> Option<Bytes> {
    let units = annex_b_units(header);
    let sps: Vec<&[u8]> = units
        .iter()
        .copied()
        .filter(|u| u[0] & 0x1f == NAL_SPS && u.len() >= 4)
        .collect();
    let pps: Vec<&[u8]> = units
        .iter()
        .copied()
        .filter(|u| u[0] & 0x1f == NAL_PPS)
        .collect();
    let first = sps.first()?;
    if pps.is_empty() || sps.len() > 31 || pps.len() > 255 {
        return None;
    }
    let mut record = BytesMut::new();
    record.put_u8(1); // configurationVersion
    record.put_slice(&first[1..4]); // profile, compatibility, level
    record.put_u8(0xfc | 3); // reserved + lengthSizeMinusOne = 3
    record.put_u8(0xe0 | sps.len() as u8);
    for unit in &sps {
        record.put_u16(u16::try_from(unit.len()).ok()?);
        record.put_slice(unit);
    }
    record.put_u8(pps.len() as u8);
    for unit in &pps {
        record.put_u16(u16::try_from(unit.len()).ok()?);
        record.put_slice(unit);
    }
    if matches!(first[1], 100 | 110 | 122 | 144) {
        record.put_u8(0xfc | 1); // chroma_format_idc = 1 (4:2:0)
        record.put_u8(0xf8); // bit_depth_luma_minus8 = 0
        record.put_u8(0xf8); // bit_depth_chroma_minus8 = 0
        record.put_u8(0); // numOfSequenceParameterSetExt
    }
    Some(record.freeze())
}

#[cfg(test)]
mod tests {
    use nova_media::codec::AvcConfig;

    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    // SPS and PPS of a 1280x720 High-profile libx264 stream (the same
    // parameter sets as nova-media's AVC config test record).
    const SPS: &str = "6764001facd9405005bb0110000003001000000303c0f1831960";
    const PPS: &str = "68ebe3cb22c0";

    #[test]
    fn record_from_a_libx264_header_parses_back() {
        let mut header = vec![0, 0, 0, 1];
        header.extend(hex(SPS));
        header.extend([0, 0, 1]);
        header.extend(hex(PPS));
        let record = avc_record_from_annex_b(&header).expect("a record");
        let config = AvcConfig::parse(record.clone()).unwrap();
        assert_eq!((config.width, config.height), (1280, 720));
        assert_eq!(config.nal_length_size, 4);
        assert_eq!(config.rfc6381_codec(), "avc1.64001f");
        assert_eq!(
            record.to_vec(),
            hex(&format!("0164001fffe1001a{SPS}010006{PPS}fdf8f800"))
        );
    }

    #[test]
    fn no_record_without_both_parameter_sets() {
        let mut header = vec![0, 0, 0, 1];
        header.extend(hex(SPS));
        assert_eq!(avc_record_from_annex_b(&header), None);
        assert_eq!(avc_record_from_annex_b(&[]), None);
    }

    #[test]
    fn access_units_become_length_prefixed_without_delimiters() {
        let annex_b = [
            0, 0, 0, 1, 0x09, 0xf0, // AUD
            0, 0, 0, 1, 0x06, 5, 1, 0x80, // SEI
            0, 0, 1, 0x65, 0x88, 0x84, 0x00, 0x00, // IDR slice, trailing zeros
            0, 0, 1, 0x65, 0x11, // second slice
        ];
        let avcc = annex_b_to_avcc(&annex_b);
        assert_eq!(
            avcc.to_vec(),
            [
                0, 0, 0, 4, 0x06, 5, 1, 0x80, //
                0, 0, 0, 3, 0x65, 0x88, 0x84, //
                0, 0, 0, 2, 0x65, 0x11,
            ]
            .to_vec()
        );
    }
}
