//! What one RTMP connection may ask of the server before and after its
//! publish is accepted. Checked by the chunk guard in front of rml_rtmp,
//! so nothing is allocated or parsed past these bounds.

/// Per-connection protocol limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtmpLimits {
    /// Largest chunk size the peer may announce (Set Chunk Size). ffmpeg
    /// and OBS announce 4,096.
    pub max_chunk_size: u32,
    /// Largest declared length of a command, data or control message, and
    /// of any message before the publish is accepted.
    pub max_command_message: u32,
    /// Largest declared length of an audio or video message once
    /// publishing (a keyframe of a high-bitrate 4K stream fits).
    pub max_media_message: u32,
    /// Distinct chunk stream ids one connection may use. Encoders use a
    /// handful.
    pub max_chunk_streams: usize,
    /// Deepest nesting of AMF0 objects and arrays in a command or data
    /// message. Real ones nest two or three deep.
    pub max_amf_depth: usize,
    /// `createStream` commands one connection may send. A publisher needs
    /// one.
    pub max_create_streams: u32,
}

impl Default for RtmpLimits {
    fn default() -> Self {
        Self {
            max_chunk_size: 64 * 1024,
            max_command_message: 64 * 1024,
            max_media_message: 8 * 1024 * 1024,
            max_chunk_streams: 64,
            max_amf_depth: 32,
            max_create_streams: 8,
        }
    }
}
