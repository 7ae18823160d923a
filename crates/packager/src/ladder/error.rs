use nova_media::VideoCodec;

/// Why a [`Ladder`](super::Ladder) could not start. Once started, a ladder
/// never fails as a whole: bad input frames are counted and skipped, and a
/// rendition that breaks is dropped with a
/// [`LadderOutput::RenditionDropped`](super::LadderOutput::RenditionDropped).
#[derive(Debug, thiserror::Error)]
pub enum LadderError {
    #[error("the transcoding ladder decodes H.264 sources only, this one is {0:?}")]
    UnsupportedSource(VideoCodec),
    #[error(
        "a {width}x{height} source is at or below every rendition of the ladder: nothing to transcode, serve the source rendition alone"
    )]
    NoRenditions { width: u32, height: u32 },
    #[error(
        "FFmpeg has no {0} encoder: install an FFmpeg built with libx264 (Debian: the `libavcodec59` package from the main archive) to transcode"
    )]
    EncoderMissing(&'static str),
    #[error("FFmpeg has no H.264 decoder")]
    DecoderMissing,
    #[error("opening the H.264 decoder with the source configuration failed: {0}")]
    DecoderOpen(#[source] ffmpeg_next::Error),
    #[error("libx264 refused the options for rendition {rendition} (preset {preset:?}): {source}")]
    EncoderOptions {
        rendition: String,
        preset: String,
        #[source]
        source: ffmpeg_next::Error,
    },
    #[error("starting the ladder's {0} thread failed: {1}")]
    Thread(String, #[source] std::io::Error),
}
