//! The picture size of an HEVC stream, from the sequence parameter set in
//! its decoder configuration record (ITU-T H.265 §7.3.2.2): what an MP4
//! sample entry must state, and what master playlists and MPDs show.

use super::HevcConfigError;
use crate::bits::{BitReader, BitsExhausted, nal_to_rbsp};

/// `nal_unit_type` of a sequence parameter set (H.265 Table 7-1).
const SPS_NAL_TYPE: u8 = 33;

/// The largest width or height accepted, as for H.264: what the levels
/// allow (H.265 Table A.8 gives sqrt(8 × MaxLumaPs) = 16888 at level 6.2),
/// rounded to what encoders produce; anything larger is an attack on
/// whoever allocates a picture from it.
const MAX_DIMENSION: u64 = 16_384;

/// The displayed size (after the conformance window) of the first SPS in
/// an `hvcC` record (ISO/IEC 14496-15 §8.3.3.1); `Ok(None)` if there is
/// none or it cannot be read, an error if it states an impossible size.
pub(crate) fn picture_size(record: &[u8]) -> Result<Option<(u32, u32)>, HevcConfigError> {
    let Some(sps) =
        nal_units(record).find(|nal| nal.first().map(|h| (h >> 1) & 0x3f) == Some(SPS_NAL_TYPE))
    else {
        return Ok(None);
    };
    // Two bytes of NAL unit header precede the RBSP.
    let Some(payload) = sps.get(2..) else {
        return Ok(None);
    };
    let Ok((width, height)) = read_size(&mut BitReader::new(&nal_to_rbsp(payload))) else {
        return Ok(None);
    };
    let in_range = |side: u64| (1..=MAX_DIMENSION).contains(&side);
    if !in_range(width) || !in_range(height) {
        return Err(HevcConfigError::PictureSize { width, height });
    }
    // Both fit: they are at most MAX_DIMENSION.
    Ok(Some((width as u32, height as u32)))
}

/// The NAL units of the record's parameter set arrays.
fn nal_units(record: &[u8]) -> impl Iterator<Item = &[u8]> {
    let arrays = record.get(22).copied().unwrap_or(0);
    let mut at = 23;
    let mut remaining_in_array = 0u16;
    let mut arrays_left = arrays;
    std::iter::from_fn(move || {
        while remaining_in_array == 0 {
            if arrays_left == 0 {
                return None;
            }
            arrays_left -= 1;
            // array_completeness, reserved, NAL_unit_type; then numNalus.
            let count = record.get(at + 1..at + 3)?;
            remaining_in_array = u16::from_be_bytes([count[0], count[1]]);
            at += 3;
        }
        remaining_in_array -= 1;
        let length = record.get(at..at + 2)?;
        let length = usize::from(u16::from_be_bytes([length[0], length[1]]));
        let nal = record.get(at + 2..at + 2 + length)?;
        at += 2 + length;
        Some(nal)
    })
}

/// The displayed size, in u64 so that no offsets an SPS can state
/// overflow (each `ue(v)` is below 2^32); 0 when the window covers it all.
fn read_size(r: &mut BitReader<'_>) -> Result<(u64, u64), BitsExhausted> {
    r.skip(4, "sps_video_parameter_set_id")?;
    let max_sub_layers_minus1 = r.bits(3, "sps_max_sub_layers_minus1")?;
    r.skip(1, "sps_temporal_id_nesting_flag")?;
    skip_profile_tier_level(r, max_sub_layers_minus1)?;
    r.ue("sps_seq_parameter_set_id")?;
    let chroma_format_idc = r.ue("chroma_format_idc")?;
    if chroma_format_idc == 3 {
        r.skip(1, "separate_colour_plane_flag")?;
    }
    let width = u64::from(r.ue("pic_width_in_luma_samples")?);
    let height = u64::from(r.ue("pic_height_in_luma_samples")?);
    if !r.bit("conformance_window_flag")? {
        return Ok((width, height));
    }
    let left = u64::from(r.ue("conf_win_left_offset")?);
    let right = u64::from(r.ue("conf_win_right_offset")?);
    let top = u64::from(r.ue("conf_win_top_offset")?);
    let bottom = u64::from(r.ue("conf_win_bottom_offset")?);
    // Offsets are in chroma samples (H.265 Table 6-1: SubWidthC, SubHeightC).
    let (sub_width, sub_height) = match chroma_format_idc {
        1 => (2, 2),
        2 => (2, 1),
        _ => (1, 1),
    };
    Ok((
        width.saturating_sub(sub_width * (left + right)),
        height.saturating_sub(sub_height * (top + bottom)),
    ))
}

/// H.265 §7.3.3 with `profilePresentFlag` = 1.
fn skip_profile_tier_level(
    r: &mut BitReader<'_>,
    max_sub_layers_minus1: u32,
) -> Result<(), BitsExhausted> {
    // general_profile_space … general_level_idc: 2+1+5+32+4+43+1+8 bits.
    r.skip(96, "general profile, tier and level")?;
    let mut profile_present = Vec::new();
    let mut level_present = Vec::new();
    for _ in 0..max_sub_layers_minus1 {
        profile_present.push(r.bit("sub_layer_profile_present_flag")?);
        level_present.push(r.bit("sub_layer_level_present_flag")?);
    }
    if max_sub_layers_minus1 > 0 {
        for _ in max_sub_layers_minus1..8 {
            r.skip(2, "reserved_zero_2bits")?;
        }
    }
    for (profile, level) in profile_present.into_iter().zip(level_present) {
        if profile {
            r.skip(88, "sub-layer profile")?;
        }
        if level {
            r.skip(8, "sub_layer_level_idc")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes RBSP syntax MSB first, for SPSs no encoder would produce.
    #[derive(Default)]
    struct BitWriter {
        bits: Vec<bool>,
    }

    impl BitWriter {
        fn bits(&mut self, count: u32, value: u64) {
            for i in (0..count).rev() {
                self.bits.push(value.checked_shr(i).unwrap_or(0) & 1 == 1);
            }
        }

        /// `ue(v)`: `leading_zeros` zeros, a one, then the suffix.
        fn ue(&mut self, value: u32) {
            let code = u64::from(value) + 1;
            let length = 64 - code.leading_zeros();
            self.bits(length - 1, 0);
            self.bits(length, code);
        }

        /// The RBSP with a stop bit, as an `hvcC` with one SPS NAL unit.
        fn into_record(mut self) -> Vec<u8> {
            self.bits.push(true);
            while !self.bits.len().is_multiple_of(8) {
                self.bits.push(false);
            }
            let rbsp: Vec<u8> = self
                .bits
                .chunks(8)
                .map(|byte| byte.iter().fold(0u8, |acc, &b| (acc << 1) | u8::from(b)))
                .collect();
            // NAL unit header (type 33), then the RBSP with emulation prevention.
            let mut nal = vec![SPS_NAL_TYPE << 1, 0x01];
            let mut zeros = 0;
            for byte in rbsp {
                if zeros >= 2 && byte <= 3 {
                    nal.push(3);
                    zeros = 0;
                }
                zeros = if byte == 0 { zeros + 1 } else { 0 };
                nal.push(byte);
            }
            let mut record = vec![0u8; 23];
            record[0] = 1;
            record[22] = 1; // one array
            record.push(SPS_NAL_TYPE);
            record.extend_from_slice(&1u16.to_be_bytes());
            record.extend_from_slice(&(nal.len() as u16).to_be_bytes());
            record.extend_from_slice(&nal);
            record
        }
    }

    /// An SPS up to its conformance window, 4:2:0.
    fn sps(width: u32, height: u32, window: Option<[u32; 4]>) -> Vec<u8> {
        let mut w = BitWriter::default();
        w.bits(4, 0); // sps_video_parameter_set_id
        w.bits(3, 0); // sps_max_sub_layers_minus1
        w.bits(1, 1); // sps_temporal_id_nesting_flag
        w.bits(96, 0); // profile_tier_level
        w.ue(0); // sps_seq_parameter_set_id
        w.ue(1); // chroma_format_idc
        w.ue(width);
        w.ue(height);
        w.bits(1, u64::from(window.is_some()));
        for offset in window.into_iter().flatten() {
            w.ue(offset);
        }
        w.into_record()
    }

    #[test]
    fn reads_a_written_sps() {
        assert_eq!(picture_size(&sps(1280, 720, None)), Ok(Some((1280, 720))));
        assert_eq!(
            picture_size(&sps(1920, 1080, Some([0, 1, 0, 1]))),
            Ok(Some((1918, 1078)))
        );
    }

    #[test]
    fn a_conformance_window_that_overflows_is_refused_not_a_panic() {
        // SubWidthC × (left + right) overflows u32 twice over.
        let huge = u32::MAX - 1;
        let record = sps(1280, 720, Some([huge, huge, huge, huge]));
        assert!(matches!(
            picture_size(&record),
            Err(HevcConfigError::PictureSize { .. })
        ));
    }

    #[test]
    fn a_window_as_large_as_the_picture_is_refused() {
        let record = sps(1280, 720, Some([320, 320, 0, 0]));
        assert_eq!(
            picture_size(&record),
            Err(HevcConfigError::PictureSize {
                width: 0,
                height: 720
            })
        );
    }

    #[test]
    fn picture_sizes_over_16384_are_refused_as_for_avc() {
        assert_eq!(
            picture_size(&sps(16_384, 16_384, None)),
            Ok(Some((16_384, 16_384)))
        );
        assert_eq!(
            picture_size(&sps(16_392, 720, None)),
            Err(HevcConfigError::PictureSize {
                width: 16_392,
                height: 720
            })
        );
        assert_eq!(
            picture_size(&sps(1280, 1 << 30, None)),
            Err(HevcConfigError::PictureSize {
                width: 1280,
                height: 1 << 30
            })
        );
        // The config as a whole is refused, as an oversized H.264 one is.
        assert!(super::super::HevcConfig::parse(sps(1280, 1 << 30, None).into()).is_err());
    }

    proptest::proptest! {
        /// Any size and window an SPS can state (each `ue(v)` below 2^32):
        /// the displayed size when it is 1..=16384 on both sides, refused
        /// otherwise, never a panic.
        #[test]
        fn the_displayed_size_is_the_coded_size_less_the_window(
            width in proptest::prop_oneof![1..20_000u32, proptest::num::u32::ANY],
            height in proptest::prop_oneof![1..20_000u32, proptest::num::u32::ANY],
            window in proptest::option::of(proptest::array::uniform4(
                proptest::prop_oneof![0..600u32, proptest::num::u32::ANY],
            )),
        ) {
            // u32::MAX is not a ue(v) of 32 leading zeros at most.
            let (width, height) = (width.min(u32::MAX - 1), height.min(u32::MAX - 1));
            let window = window.map(|w| w.map(|o| o.min(u32::MAX - 1)));
            let [left, right, top, bottom] = window.unwrap_or_default().map(u64::from);
            let shown_width = u64::from(width).saturating_sub(2 * (left + right));
            let shown_height = u64::from(height).saturating_sub(2 * (top + bottom));
            let expected = if (1..=16_384).contains(&shown_width) && (1..=16_384).contains(&shown_height) {
                Ok(Some((shown_width as u32, shown_height as u32)))
            } else {
                Err(HevcConfigError::PictureSize { width: shown_width, height: shown_height })
            };
            proptest::prop_assert_eq!(picture_size(&sps(width, height, window)), expected);
        }
    }
}
