//! H.265 decoder configuration: the `HEVCDecoderConfigurationRecord`
//! (ISO/IEC 14496-15 §8.3.3.1), as Enhanced RTMP carries it.

use bytes::Bytes;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HevcConfig {
    pub record: Bytes,
    pub profile_space: u8,
    pub tier_flag: bool,
    pub profile_idc: u8,
    pub compatibility_flags: u32,
    pub level_idc: u8,
    pub nal_length_size: u8,
    /// Displayed picture size from the record's SPS, if it has one that
    /// reads (MP4 sample entries and manifests need it).
    pub dimensions: Option<(u32, u32)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HevcConfigError {
    #[error("HEVC decoder configuration record is {0} bytes, shorter than its 23-byte header")]
    TooShort(usize),
    #[error("HEVC decoder configuration record has version {0}, expected 1")]
    Version(u8),
    #[error("H.265 SPS gives an impossible picture size {width}x{height}")]
    PictureSize { width: u64, height: u64 },
}

impl HevcConfig {
    pub fn parse(record: Bytes) -> Result<Self, HevcConfigError> {
        if record.len() < 23 {
            return Err(HevcConfigError::TooShort(record.len()));
        }
        if record[0] != 1 {
            return Err(HevcConfigError::Version(record[0]));
        }
        Ok(Self {
            profile_space: record[1] >> 6,
            tier_flag: record[1] & 0x20 != 0,
            profile_idc: record[1] & 0x1f,
            compatibility_flags: u32::from_be_bytes([record[2], record[3], record[4], record[5]]),
            level_idc: record[12],
            nal_length_size: (record[21] & 0b11) + 1,
            dimensions: super::hevc_sps::picture_size(&record)?,
            record,
        })
    }

    /// RFC 6381 / ISO/IEC 14496-15 Annex E codec string, e.g. `hvc1.1.6.L93.B0`.
    pub fn rfc6381_codec(&self) -> String {
        let space = match self.profile_space {
            1 => "A",
            2 => "B",
            3 => "C",
            _ => "",
        };
        // The compatibility flags are written bit-reversed, in hex.
        let compat = self.compatibility_flags.reverse_bits();
        let tier = if self.tier_flag { 'H' } else { 'L' };
        let constraints = &self.record[6..12];
        let last = constraints
            .iter()
            .rposition(|&b| b != 0)
            .map_or(1, |i| i + 1);
        let constraint_text: Vec<String> = constraints[..last]
            .iter()
            .map(|b| format!("{b:X}"))
            .collect();
        format!(
            "hvc1.{space}{}.{compat:X}.{tier}{}.{}",
            self.profile_idc,
            self.level_idc,
            constraint_text.join(".")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_main_profile_level_3_1() {
        let mut record = vec![0u8; 23];
        record[0] = 1;
        record[1] = 0x01; // space 0, tier main, profile 1
        record[2..6].copy_from_slice(&0x6000_0000u32.to_be_bytes());
        record[6] = 0xb0;
        record[12] = 93;
        record[21] = 0x03;
        let config = HevcConfig::parse(record.into()).unwrap();
        assert_eq!(config.nal_length_size, 4);
        assert_eq!(config.rfc6381_codec(), "hvc1.1.6.L93.B0");
    }

    /// `hvcC` records written by x265 (via the ffmpeg CLI) for 1280x720
    /// and for 1918x1078, which x265 codes as 1920x1080 with a conformance
    /// window; their SEI arrays are left out.
    const X265_720P: &str = "0101600000009000000000005df000fcfdf8f800000f03a00001001840010c01ffff01600000030090000003000003005d959809a10001002b42010101600000030090000003000003005da00280802d165959a4932bc05a020000030002000003003c10a2000100074401c172b46240";
    const X265_1918X1078: &str = "01016000000090000000000078f000fcfdf8f800000f03a00001001840010c01ffff016000000300900000030000030078959809a10001002b420101016000000300900000030000030078a003c08010e75596566924caf0168080000003008000000f04a2000100074401c172b46240";

    fn record(hex: &str) -> Bytes {
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect::<Vec<u8>>()
            .into()
    }

    #[test]
    fn reads_the_picture_size_from_the_sps() {
        let config = HevcConfig::parse(record(X265_720P)).unwrap();
        assert_eq!(config.dimensions, Some((1280, 720)));
        assert_eq!(config.rfc6381_codec(), "hvc1.1.6.L93.90");
        let cropped = HevcConfig::parse(record(X265_1918X1078)).unwrap();
        assert_eq!(cropped.dimensions, Some((1918, 1078)));
        // A record without parameter sets still parses, without a size.
        let mut bare = record(X265_720P).to_vec();
        bare.truncate(23);
        bare[22] = 0;
        assert_eq!(HevcConfig::parse(bare.into()).unwrap().dimensions, None);
    }

    #[test]
    fn rejects_short_records() {
        assert_eq!(
            HevcConfig::parse(Bytes::from_static(&[1, 2, 3])),
            Err(HevcConfigError::TooShort(3))
        );
    }
}
