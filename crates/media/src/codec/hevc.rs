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
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HevcConfigError {
    #[error("HEVC decoder configuration record is {0} bytes, shorter than its 23-byte header")]
    TooShort(usize),
    #[error("HEVC decoder configuration record has version {0}, expected 1")]
    Version(u8),
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

    #[test]
    fn rejects_short_records() {
        assert_eq!(
            HevcConfig::parse(Bytes::from_static(&[1, 2, 3])),
            Err(HevcConfigError::TooShort(3))
        );
    }
}
