//! [`Ladder`]: the caller's side of the threads.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;
use std::time::Duration;

use ffmpeg_next::{Rational, encoder};
use nova_media::{Frame, Track, VideoConfig};

use super::decode::SourceDecoder;
use super::decode_thread::{DecodeThread, Lane};
use super::encode::{X264, open_x264};
use super::error::LadderError;
use super::options::EncodeOptions;
use super::output::LadderOutput;
use super::profile::LadderProfile;
use super::rendition_thread;
use super::stats::{LadderStats, RenditionCounters, SourceCounters};
use super::thread_failure::ThreadFailure;

/// Coded source frames waiting for the decoder (small: compressed data).
const INPUT_QUEUE_FRAMES: usize = 256;
/// Highest frame rate the per-rendition queues are sized for.
const QUEUE_SIZING_FPS: u64 = 60;
/// Rendition queue length without a lag policy: enough to smooth out
/// encoder jitter, and no more (each entry pins a decoded picture).
const UNPOLICED_QUEUE_FRAMES: usize = 16;

/// An ABR ladder for one source configuration: one H.264 decoder, and per
/// rendition a scaler and a libx264 encoder on its own thread.
///
/// A ladder serves exactly one source [`VideoConfig`]. When the publisher
/// reconnects or its sequence header changes (new resolution, new SPS),
/// [`finish`](Self::finish) this ladder and [`start`](Self::start) a new one:
/// the renditions' configurations change with it, and their keyframes follow
/// the new source's.
///
/// A panic on one of its threads is raised again by the next `push`,
/// `try_recv` or `recv_timeout`, on the caller's thread: the packager's
/// supervision then ends only this stream, with the reason in its health.
pub struct Ladder {
    input: Option<SyncSender<Frame>>,
    output: Receiver<LadderOutput>,
    threads: Vec<JoinHandle<()>>,
    source: Arc<SourceCounters>,
    renditions: Arc<[Arc<RenditionCounters>]>,
    /// A panic on any of the threads, raised again at the next call.
    failure: ThreadFailure,
}

impl Ladder {
    /// Plans the renditions for `source` with `profile`, opens the decoder,
    /// checks that libx264 accepts `options`, and starts the threads. The
    /// renditions' configurations come out before their first frames.
    pub fn start(
        source: &VideoConfig,
        profile: &LadderProfile,
        options: EncodeOptions,
    ) -> Result<Ladder, LadderError> {
        crate::init_ffmpeg();
        let VideoConfig::Avc(avc) = source else {
            return Err(LadderError::UnsupportedSource(source.codec()));
        };
        if encoder::find_by_name(X264).is_none() {
            return Err(LadderError::EncoderMissing(X264));
        }
        let renditions = profile.select_for(avc.width, avc.height);
        let Some(smallest) = renditions.last() else {
            return Err(LadderError::NoRenditions {
                width: avc.width,
                height: avc.height,
            });
        };
        // The real encoders open on their threads once the source frame rate
        // is known; a one-thread trial of the smallest rung catches a bad
        // preset here, where the caller can still act on it.
        let trial = EncodeOptions {
            encoder_threads: Some(1),
            ..options.clone()
        };
        open_x264(smallest, &trial, Rational::new(30, 1)).map_err(|source| {
            LadderError::EncoderOptions {
                rendition: smallest.name.to_string(),
                preset: options.preset.clone(),
                source,
            }
        })?;
        let decoder = SourceDecoder::open(avc, options.decoder_threads, options.low_latency)?;

        let queue_frames = match options.max_lag {
            // Room for the lag limit and as much again, so the policy sees a
            // backlog before the queue is full and the decoder has to wait.
            Some(max_lag) => {
                let frames = 2 * max_lag.as_millis() as u64 * QUEUE_SIZING_FPS / 1000;
                usize::try_from(frames).unwrap_or(usize::MAX).max(8)
            }
            None => UNPOLICED_QUEUE_FRAMES,
        };
        let (output_tx, output) = mpsc::channel();
        let failure = ThreadFailure::default();
        let source_counters = Arc::new(SourceCounters::default());
        let mut threads = Vec::new();
        let mut lanes = Vec::new();
        let mut counters_all = Vec::new();
        for rendition in renditions {
            let counters = Arc::new(RenditionCounters::new(rendition.clone()));
            let (queue, work) = mpsc::sync_channel(queue_frames);
            let name = format!("ladder-{}", rendition.name);
            let thread = {
                let (options, counters, output_tx) =
                    (options.clone(), counters.clone(), output_tx.clone());
                failure
                    .spawn(name.clone(), move || {
                        rendition_thread::run(rendition, options, work, counters, output_tx);
                    })
                    .map_err(|error| LadderError::Thread(name, error))?
            };
            threads.push(thread);
            lanes.push(Lane::new(queue, counters.clone()));
            counters_all.push(counters);
        }
        drop(output_tx);

        let (input, frames) = mpsc::sync_channel(INPUT_QUEUE_FRAMES);
        let decode = DecodeThread::new(decoder, lanes, source_counters.clone(), options.max_lag);
        let thread = failure
            .spawn("ladder-decode".to_owned(), move || decode.run(frames))
            .map_err(|error| LadderError::Thread("ladder-decode".to_owned(), error))?;
        threads.insert(0, thread);

        let renditions: Arc<[Arc<RenditionCounters>]> = counters_all.into();
        crate::metrics::register_ladder(&renditions);
        Ok(Ladder {
            input: Some(input),
            output,
            threads,
            source: source_counters,
            renditions,
            failure,
        })
    }

    /// Feeds one source frame, in decode order. Audio frames are ignored
    /// (audio is shared passthrough, not transcoded).
    ///
    /// Returns at once unless the decoder is 256 frames behind, which
    /// happens only when the last rendition standing cannot keep up (or the
    /// ladder has no lag policy): then it waits for room, and the caller's
    /// own slow-consumer policy applies.
    pub fn push(&self, frame: Frame) {
        self.failure.raise();
        if frame.track != Track::Video {
            return;
        }
        self.source.pushed.fetch_add(1, Ordering::Relaxed);
        if let Some(input) = &self.input {
            // Fails only if the decode thread is gone, i.e. panicked: the
            // next call raises its panic.
            let _ = input.send(frame);
        }
    }

    /// The next output, if one is ready.
    pub fn try_recv(&self) -> Option<LadderOutput> {
        self.failure.raise();
        self.output.try_recv().ok()
    }

    /// The next output, waiting up to `timeout` for it.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<LadderOutput> {
        self.failure.raise();
        self.output.recv_timeout(timeout).ok()
    }

    /// Ends the source: decodes and encodes everything pushed, flushes the
    /// encoders, and returns the outputs not received yet.
    pub fn finish(self) -> Vec<LadderOutput> {
        self.finish_with_stats().0
    }

    /// [`finish`](Self::finish), plus the final counters (for the session's
    /// closing log line or metrics).
    pub fn finish_with_stats(mut self) -> (Vec<LadderOutput>, LadderStats) {
        self.input = None;
        for thread in std::mem::take(&mut self.threads) {
            // A panic was caught on its thread, logged, and kept in `failure`.
            let _ = thread.join();
        }
        (self.output.try_iter().collect(), self.stats())
    }

    pub fn stats(&self) -> LadderStats {
        LadderStats {
            frames_pushed: self.source.pushed.load(Ordering::Relaxed),
            frames_decoded: self.source.decoded.load(Ordering::Relaxed),
            decode_errors: self.source.decode_errors.load(Ordering::Relaxed),
            renditions: self.renditions.iter().map(|r| r.snapshot()).collect(),
        }
    }
}

impl Drop for Ladder {
    /// Dropped without [`finish`](Self::finish) (the session ended
    /// abruptly): the encoders stop without flushing and the threads wind
    /// down on their own.
    fn drop(&mut self) {
        if self.threads.is_empty() {
            return;
        }
        for rendition in self.renditions.iter() {
            if !rendition.is_dropped() {
                rendition.mark_dropped("the ladder was dropped");
            }
        }
        self.input = None;
    }
}
