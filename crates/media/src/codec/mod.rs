//! Codec configurations as they arrive in RTMP sequence headers, parsed
//! enough to describe the stream (dimensions, profile, level) and passed on
//! verbatim as container extradata.

mod aac;
mod avc;
mod hevc;
mod hevc_sps;

pub use aac::{AacConfig, AacConfigError};
pub use avc::{AvcConfig, AvcConfigError};
pub use hevc::{HevcConfig, HevcConfigError};

use bytes::Bytes;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VideoCodec {
    H264,
    H265,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VideoConfig {
    Avc(AvcConfig),
    Hevc(HevcConfig),
}

impl VideoConfig {
    pub fn codec(&self) -> VideoCodec {
        match self {
            Self::Avc(_) => VideoCodec::H264,
            Self::Hevc(_) => VideoCodec::H265,
        }
    }

    /// The decoder configuration record (`avcC`/`hvcC` box payload).
    pub fn record(&self) -> &Bytes {
        match self {
            Self::Avc(c) => &c.record,
            Self::Hevc(c) => &c.record,
        }
    }

    /// Coded picture size, when the parameter sets tell it.
    pub fn dimensions(&self) -> Option<(u32, u32)> {
        match self {
            Self::Avc(c) => Some((c.width, c.height)),
            Self::Hevc(c) => c.dimensions,
        }
    }

    /// RFC 6381 `CODECS` value, e.g. `avc1.64001f`.
    pub fn rfc6381_codec(&self) -> String {
        match self {
            Self::Avc(c) => c.rfc6381_codec(),
            Self::Hevc(c) => c.rfc6381_codec(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AudioCodec {
    Aac,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AudioConfig {
    Aac(AacConfig),
}

impl AudioConfig {
    pub fn codec(&self) -> AudioCodec {
        match self {
            Self::Aac(_) => AudioCodec::Aac,
        }
    }

    /// The AudioSpecificConfig, verbatim (`esds` payload / decoder extradata).
    pub fn record(&self) -> &Bytes {
        match self {
            Self::Aac(c) => &c.record,
        }
    }

    pub fn sample_rate(&self) -> u32 {
        match self {
            Self::Aac(c) => c.sample_rate,
        }
    }

    pub fn channels(&self) -> u8 {
        match self {
            Self::Aac(c) => c.channels,
        }
    }

    pub fn rfc6381_codec(&self) -> String {
        match self {
            Self::Aac(c) => format!("mp4a.40.{}", c.object_type),
        }
    }
}
