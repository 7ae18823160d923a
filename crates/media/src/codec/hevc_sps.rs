//! The picture size of an HEVC stream, from the sequence parameter set in
//! its decoder configuration record (ITU-T H.265 §7.3.2.2): what an MP4
//! sample entry must state, and what master playlists and MPDs show.

use crate::bits::{BitReader, BitsExhausted, nal_to_rbsp};

/// `nal_unit_type` of a sequence parameter set (H.265 Table 7-1).
const SPS_NAL_TYPE: u8 = 33;

/// The displayed size (after the conformance window) of the first SPS in
/// an `hvcC` record (ISO/IEC 14496-15 §8.3.3.1); `None` if there is none or
/// it cannot be read.
pub(crate) fn picture_size(record: &[u8]) -> Option<(u32, u32)> {
    let sps =
        nal_units(record).find(|nal| nal.first().map(|h| (h >> 1) & 0x3f) == Some(SPS_NAL_TYPE))?;
    // Two bytes of NAL unit header precede the RBSP.
    let rbsp = nal_to_rbsp(sps.get(2..)?);
    read_size(&mut BitReader::new(&rbsp)).ok()
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

fn read_size(r: &mut BitReader<'_>) -> Result<(u32, u32), BitsExhausted> {
    r.skip(4, "sps_video_parameter_set_id")?;
    let max_sub_layers_minus1 = r.bits(3, "sps_max_sub_layers_minus1")?;
    r.skip(1, "sps_temporal_id_nesting_flag")?;
    skip_profile_tier_level(r, max_sub_layers_minus1)?;
    r.ue("sps_seq_parameter_set_id")?;
    let chroma_format_idc = r.ue("chroma_format_idc")?;
    if chroma_format_idc == 3 {
        r.skip(1, "separate_colour_plane_flag")?;
    }
    let width = r.ue("pic_width_in_luma_samples")?;
    let height = r.ue("pic_height_in_luma_samples")?;
    if !r.bit("conformance_window_flag")? {
        return Ok((width, height));
    }
    let (left, right) = (
        r.ue("conf_win_left_offset")?,
        r.ue("conf_win_right_offset")?,
    );
    let (top, bottom) = (
        r.ue("conf_win_top_offset")?,
        r.ue("conf_win_bottom_offset")?,
    );
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
