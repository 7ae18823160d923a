//! The flags for what an RTMP client may do before and after it publishes
//! (port 1935 is open to anyone before any key is checked), and how they
//! become the ingest's configuration.

use std::time::Duration;

use anyhow::Result;
use clap::Args;
use nova_rtmp_ingest::{IngestConfig, RtmpLimits};

#[derive(Args, Debug, Clone)]
pub struct RtmpLimitArgs {
    /// Seconds from accepting an RTMP connection to its `publish`; sending
    /// bytes meanwhile does not extend it.
    #[arg(long, env = "NOVA_RTMP_PUBLISH_TIMEOUT", default_value_t = 10.0)]
    pub rtmp_publish_timeout: f64,

    /// RTMP connections from one address (IPv6: one /64) that have not
    /// published yet; more are closed at once. 0: no limit.
    #[arg(long, env = "NOVA_RTMP_MAX_PENDING_PER_ADDRESS", default_value_t = 16)]
    pub rtmp_max_pending_per_address: usize,

    /// Largest chunk size an RTMP peer may announce, in bytes.
    #[arg(long, env = "NOVA_RTMP_MAX_CHUNK_SIZE", default_value_t = 64 * 1024)]
    pub rtmp_max_chunk_size: u32,

    /// Largest RTMP command, data or control message, and any message
    /// before the publish is accepted, in bytes.
    #[arg(long, env = "NOVA_RTMP_MAX_COMMAND_MESSAGE", default_value_t = 64 * 1024)]
    pub rtmp_max_command_message: u32,

    /// Largest RTMP audio or video message of an accepted publisher, in bytes.
    #[arg(long, env = "NOVA_RTMP_MAX_MEDIA_MESSAGE", default_value_t = 8 * 1024 * 1024)]
    pub rtmp_max_media_message: u32,

    /// Distinct RTMP chunk streams one connection may use.
    #[arg(long, env = "NOVA_RTMP_MAX_CHUNK_STREAMS", default_value_t = 64)]
    pub rtmp_max_chunk_streams: usize,

    /// Deepest nesting of AMF0 objects and arrays in an RTMP command or
    /// data message.
    #[arg(long, env = "NOVA_RTMP_MAX_AMF_DEPTH", default_value_t = 32)]
    pub rtmp_max_amf_depth: usize,

    /// `createStream` commands one RTMP connection may send.
    #[arg(long, env = "NOVA_RTMP_MAX_CREATE_STREAMS", default_value_t = 8)]
    pub rtmp_max_create_streams: u32,
}

/// rml_amf0 decodes recursively: deeper than this, a message could again
/// overflow a runtime thread's stack.
const AMF_DEPTH_CEILING: usize = 256;
/// RTMP messages declare their length in 24 bits.
const MESSAGE_CEILING: u32 = 0xff_ffff;

impl RtmpLimitArgs {
    pub fn validate(&self) -> Result<()> {
        anyhow::ensure!(
            self.rtmp_publish_timeout >= 1.0,
            "--rtmp-publish-timeout must be at least 1 second"
        );
        anyhow::ensure!(
            (128..=0x7fff_ffff).contains(&self.rtmp_max_chunk_size),
            "--rtmp-max-chunk-size must be between 128 and 2147483647 bytes"
        );
        anyhow::ensure!(
            (4096..=MESSAGE_CEILING).contains(&self.rtmp_max_command_message),
            "--rtmp-max-command-message must be between 4096 and {MESSAGE_CEILING} bytes"
        );
        anyhow::ensure!(
            (self.rtmp_max_command_message..=MESSAGE_CEILING)
                .contains(&self.rtmp_max_media_message),
            "--rtmp-max-media-message must be between --rtmp-max-command-message and {MESSAGE_CEILING} bytes"
        );
        anyhow::ensure!(
            self.rtmp_max_chunk_streams >= 4,
            "--rtmp-max-chunk-streams must be at least 4"
        );
        anyhow::ensure!(
            (4..=AMF_DEPTH_CEILING).contains(&self.rtmp_max_amf_depth),
            "--rtmp-max-amf-depth must be between 4 and {AMF_DEPTH_CEILING}"
        );
        anyhow::ensure!(
            self.rtmp_max_create_streams >= 1,
            "--rtmp-max-create-streams must be at least 1"
        );
        Ok(())
    }

    /// `base` with these limits.
    pub fn apply(&self, base: IngestConfig) -> IngestConfig {
        IngestConfig {
            publish_timeout: Duration::from_secs_f64(self.rtmp_publish_timeout),
            max_pending_per_address: self.rtmp_max_pending_per_address,
            limits: RtmpLimits {
                max_chunk_size: self.rtmp_max_chunk_size,
                max_command_message: self.rtmp_max_command_message,
                max_media_message: self.rtmp_max_media_message,
                max_chunk_streams: self.rtmp_max_chunk_streams,
                max_amf_depth: self.rtmp_max_amf_depth,
                max_create_streams: self.rtmp_max_create_streams,
            },
            ..base
        }
    }
}
