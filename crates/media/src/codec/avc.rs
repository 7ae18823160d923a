//! H.264 decoder configuration: the `AVCDecoderConfigurationRecord`
//! (ISO/IEC 14496-15 §5.3.3.1) and the SPS fields that describe the picture
//! (ITU-T H.264 §7.3.2.1.1).

use bytes::Bytes;

use crate::bits::{BitReader, BitsExhausted, nal_to_rbsp};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvcConfig {
    /// The record verbatim, for `avcC` and decoder extradata.
    pub record: Bytes,
    pub profile: u8,
    pub compatibility: u8,
    pub level: u8,
    /// Bytes in each NAL unit length prefix (1, 2 or 4).
    pub nal_length_size: u8,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AvcConfigError {
    #[error("AVC decoder configuration record is {0} bytes, shorter than its 7-byte header")]
    TooShort(usize),
    #[error("AVC decoder configuration record has version {0}, expected 1")]
    Version(u8),
    #[error("AVC decoder configuration record has no SPS")]
    NoSps,
    #[error("AVC decoder configuration record is truncated at byte {0}")]
    Truncated(usize),
    #[error("H.264 SPS is invalid: {0}")]
    Sps(#[from] BitsExhausted),
    #[error("H.264 SPS gives an impossible picture size {width}x{height}")]
    PictureSize { width: i64, height: i64 },
}

impl AvcConfig {
    pub fn parse(record: Bytes) -> Result<Self, AvcConfigError> {
        if record.len() < 7 {
            return Err(AvcConfigError::TooShort(record.len()));
        }
        if record[0] != 1 {
            return Err(AvcConfigError::Version(record[0]));
        }
        let nal_length_size = (record[4] & 0b11) + 1;
        let sps_count = record[5] & 0b1_1111;
        if sps_count == 0 {
            return Err(AvcConfigError::NoSps);
        }
        if record.len() < 8 {
            return Err(AvcConfigError::Truncated(record.len()));
        }
        let sps_len = usize::from(u16::from_be_bytes([record[6], record[7]]));
        if record.len() < 8 + sps_len {
            return Err(AvcConfigError::Truncated(record.len()));
        }
        let sps = Sps::parse(&record[8..8 + sps_len])?;
        Ok(Self {
            profile: record[1],
            compatibility: record[2],
            level: record[3],
            nal_length_size,
            width: sps.width,
            height: sps.height,
            record,
        })
    }

    /// RFC 6381 codec string: `avc1.` + profile, constraint flags and level in hex.
    pub fn rfc6381_codec(&self) -> String {
        format!(
            "avc1.{:02x}{:02x}{:02x}",
            self.profile, self.compatibility, self.level
        )
    }
}

struct Sps {
    width: u32,
    height: u32,
}

impl Sps {
    /// `nal` starts with the NAL header byte.
    fn parse(nal: &[u8]) -> Result<Self, AvcConfigError> {
        let rbsp = nal_to_rbsp(nal.get(1..).unwrap_or_default());
        let mut r = BitReader::new(&rbsp);
        let profile_idc = r.bits(8, "profile_idc")?;
        r.skip(16, "constraint flags and level_idc")?;
        r.ue("seq_parameter_set_id")?;
        let mut chroma_format_idc = 1;
        let mut separate_colour_plane = false;
        if matches!(
            profile_idc,
            100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
        ) {
            chroma_format_idc = r.ue("chroma_format_idc")?;
            if chroma_format_idc == 3 {
                separate_colour_plane = r.bit("separate_colour_plane_flag")?;
            }
            r.ue("bit_depth_luma_minus8")?;
            r.ue("bit_depth_chroma_minus8")?;
            r.bit("qpprime_y_zero_transform_bypass_flag")?;
            if r.bit("seq_scaling_matrix_present_flag")? {
                let lists = if chroma_format_idc == 3 { 12 } else { 8 };
                for i in 0..lists {
                    if r.bit("seq_scaling_list_present_flag")? {
                        skip_scaling_list(&mut r, if i < 6 { 16 } else { 64 })?;
                    }
                }
            }
        }
        r.ue("log2_max_frame_num_minus4")?;
        match r.ue("pic_order_cnt_type")? {
            0 => {
                r.ue("log2_max_pic_order_cnt_lsb_minus4")?;
            }
            1 => {
                r.bit("delta_pic_order_always_zero_flag")?;
                r.se("offset_for_non_ref_pic")?;
                r.se("offset_for_top_to_bottom_field")?;
                for _ in 0..r.ue("num_ref_frames_in_pic_order_cnt_cycle")? {
                    r.se("offset_for_ref_frame")?;
                }
            }
            _ => {}
        }
        r.ue("max_num_ref_frames")?;
        r.bit("gaps_in_frame_num_value_allowed_flag")?;
        let width_mbs = i64::from(r.ue("pic_width_in_mbs_minus1")?) + 1;
        let height_map_units = i64::from(r.ue("pic_height_in_map_units_minus1")?) + 1;
        let frame_mbs_only = i64::from(r.bit("frame_mbs_only_flag")?);
        if frame_mbs_only == 0 {
            r.bit("mb_adaptive_frame_field_flag")?;
        }
        r.bit("direct_8x8_inference_flag")?;
        let (mut crop_x, mut crop_y) = (0i64, 0i64);
        if r.bit("frame_cropping_flag")? {
            let left = i64::from(r.ue("frame_crop_left_offset")?);
            let right = i64::from(r.ue("frame_crop_right_offset")?);
            let top = i64::from(r.ue("frame_crop_top_offset")?);
            let bottom = i64::from(r.ue("frame_crop_bottom_offset")?);
            // H.264 §7.4.2.1.1: crop units depend on chroma subsampling.
            let chroma_array_type = if separate_colour_plane {
                0
            } else {
                chroma_format_idc
            };
            let (unit_x, unit_y) = match chroma_array_type {
                0 => (1, 2 - frame_mbs_only),
                1 => (2, 2 * (2 - frame_mbs_only)),
                2 => (2, 2 - frame_mbs_only),
                _ => (1, 2 - frame_mbs_only),
            };
            crop_x = unit_x * (left + right);
            crop_y = unit_y * (top + bottom);
        }
        let width = width_mbs * 16 - crop_x;
        let height = (2 - frame_mbs_only) * height_map_units * 16 - crop_y;
        if width <= 0 || height <= 0 || width > 16_384 || height > 16_384 {
            return Err(AvcConfigError::PictureSize { width, height });
        }
        Ok(Self {
            width: width as u32,
            height: height as u32,
        })
    }
}

/// H.264 §7.3.2.1.1.1: only the syntax, the values are not needed here.
fn skip_scaling_list(r: &mut BitReader<'_>, size: usize) -> Result<(), BitsExhausted> {
    // i64 and rem_euclid: `delta_scale` is -128..=127 in a valid stream,
    // but a hostile one states anything up to ±2^31.
    let mut last_scale = 8i64;
    let mut next_scale = 8i64;
    for _ in 0..size {
        if next_scale != 0 {
            let delta = i64::from(r.se("delta_scale")?);
            next_scale = (last_scale + delta).rem_euclid(256);
        }
        if next_scale != 0 {
            last_scale = next_scale;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(hex: &str) -> Bytes {
        Bytes::from(
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect::<Vec<_>>(),
        )
    }

    // Both records were written by ffmpeg's libx264 into MP4 `avcC` boxes.
    const HIGH_720P: &str = "0164001fffe1001a6764001facd9405005bb0110000003001000000303c0f183196001000668ebe3cb22c0fdf8f800";
    const BASELINE_642X362: &str =
        "0142c01effe1001a6742c01ed900a42fe224c044000003000400000300f03c58b92001000568cb83cb20";

    #[test]
    fn parses_high_profile_720p() {
        let config = AvcConfig::parse(record(HIGH_720P)).unwrap();
        assert_eq!((config.width, config.height), (1280, 720));
        assert_eq!(config.nal_length_size, 4);
        assert_eq!(config.rfc6381_codec(), "avc1.64001f");
    }

    #[test]
    fn applies_frame_cropping() {
        // 642x362 is coded as 41x23 macroblocks and cropped back.
        let config = AvcConfig::parse(record(BASELINE_642X362)).unwrap();
        assert_eq!((config.width, config.height), (642, 362));
        assert_eq!(config.rfc6381_codec(), "avc1.42c01e");
    }

    #[test]
    fn rejects_truncated_records() {
        let full = record(HIGH_720P);
        assert_eq!(
            AvcConfig::parse(full.slice(..4)),
            Err(AvcConfigError::TooShort(4))
        );
        assert_eq!(
            AvcConfig::parse(full.slice(..20)),
            Err(AvcConfigError::Truncated(20))
        );
        let mut no_sps = full.to_vec();
        no_sps[5] = 0xe0;
        assert_eq!(AvcConfig::parse(no_sps.into()), Err(AvcConfigError::NoSps));
    }

    /// Found by the codec_config fuzz target: a High-profile SPS whose
    /// scaling list states a `delta_scale` near -2^31 (the spec allows
    /// -128..=127). Summing it overflowed i32: a panic in debug builds.
    #[test]
    fn a_delta_scale_out_of_range_is_no_overflow() {
        let sps = "676400abab410000000f03a00000000000ffffff1c0000000000";
        let config = AvcConfig::parse(record(&format!("0164001fffe1001a{sps}00")));
        assert!(matches!(config, Err(AvcConfigError::Sps(_))), "{config:?}");
    }

    #[test]
    fn rejects_an_sps_that_ends_early() {
        // Claims an SPS of 4 bytes: profile, flags, level, and nothing after.
        let bytes = record("0164001fffe100046764001f");
        assert!(matches!(
            AvcConfig::parse(bytes),
            Err(AvcConfigError::Sps(BitsExhausted { .. }))
        ));
    }
}
