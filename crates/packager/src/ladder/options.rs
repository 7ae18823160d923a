//! How the ladder encodes: x264 speed/latency trade-offs and the degrade
//! policy.

use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodeOptions {
    /// x264 preset (`ultrafast` … `veryslow`).
    pub preset: String,
    /// `tune=zerolatency`: no B-frames, no lookahead, sliced threads in
    /// x264, slice threads in the decoder. Output DTS then equals PTS.
    pub low_latency: bool,
    /// Threads per x264 encoder; `None` lets x264 choose from the core count
    /// (the ffmpeg CLI's `threads=auto`).
    pub encoder_threads: Option<usize>,
    /// Threads of the shared source decoder; `None` = FFmpeg's automatic
    /// frame threading, as the ffmpeg CLI does.
    pub decoder_threads: Option<usize>,
    /// Live degrade policy: when a rendition's encoder is this far behind
    /// the decoder (media time between the newest decoded frame and the
    /// frame that encoder is on), the top rendition still running is
    /// dropped: at most one per `max_lag` of media time, and never the last
    /// one running (if even that one cannot keep up, its queue fills and
    /// [`Ladder::push`] waits). `None` never drops: queues fill up and
    /// [`Ladder::push`] waits instead (files, benchmarks).
    ///
    /// [`Ladder::push`]: super::Ladder::push
    pub max_lag: Option<Duration>,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        Self {
            preset: "veryfast".to_owned(),
            low_latency: false,
            encoder_threads: None,
            decoder_threads: None,
            max_lag: Some(Duration::from_secs(1)),
        }
    }
}
