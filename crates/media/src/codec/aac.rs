//! AAC `AudioSpecificConfig` (ISO/IEC 14496-3 §1.6.2.1).

use bytes::Bytes;

use crate::bits::{BitReader, BitsExhausted};

const SAMPLE_RATES: [u32; 13] = [
    96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8_000,
    7_350,
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AacConfig {
    /// The AudioSpecificConfig verbatim.
    pub record: Bytes,
    /// Audio object type: 2 = AAC-LC, 5 = HE-AAC (SBR), 29 = HE-AACv2.
    pub object_type: u8,
    pub sample_rate: u32,
    pub channels: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AacConfigError {
    #[error("AAC AudioSpecificConfig is invalid: {0}")]
    Truncated(#[from] BitsExhausted),
    #[error("AAC AudioSpecificConfig uses reserved sampling frequency index {0}")]
    SampleRateIndex(u32),
    #[error(
        "AAC AudioSpecificConfig has channel configuration 0 (program config element), which is not supported"
    )]
    ChannelLayout,
}

impl AacConfig {
    pub fn parse(record: Bytes) -> Result<Self, AacConfigError> {
        let mut r = BitReader::new(&record);
        let mut object_type = r.bits(5, "audioObjectType")?;
        if object_type == 31 {
            object_type = 32 + r.bits(6, "audioObjectTypeExt")?;
        }
        let index = r.bits(4, "samplingFrequencyIndex")?;
        let sample_rate = match index {
            15 => r.bits(24, "samplingFrequency")?,
            i => *SAMPLE_RATES
                .get(i as usize)
                .ok_or(AacConfigError::SampleRateIndex(i))?,
        };
        let channel_config = r.bits(4, "channelConfiguration")?;
        let channels = match channel_config {
            0 => return Err(AacConfigError::ChannelLayout),
            7 => 8,
            c @ 1..=6 => c as u8,
            _ => return Err(AacConfigError::ChannelLayout),
        };
        Ok(Self {
            object_type: object_type as u8,
            sample_rate,
            channels,
            record,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lc_stereo_44100() {
        // 00010 0100 0010 000: AAC-LC, index 4 (44.1 kHz), 2 channels.
        let config = AacConfig::parse(Bytes::from_static(&[0x12, 0x10])).unwrap();
        assert_eq!(config.object_type, 2);
        assert_eq!(config.sample_rate, 44_100);
        assert_eq!(config.channels, 2);
    }

    #[test]
    fn parses_lc_mono_48000() {
        let config = AacConfig::parse(Bytes::from_static(&[0x11, 0x88])).unwrap();
        assert_eq!((config.sample_rate, config.channels), (48_000, 1));
    }

    #[test]
    fn rejects_reserved_and_truncated_configs() {
        assert_eq!(
            AacConfig::parse(Bytes::from_static(&[0x16, 0x90])),
            Err(AacConfigError::SampleRateIndex(13))
        );
        assert!(matches!(
            AacConfig::parse(Bytes::from_static(&[0x12])),
            Err(AacConfigError::Truncated(_))
        ));
    }
}
