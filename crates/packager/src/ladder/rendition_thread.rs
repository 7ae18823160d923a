//! The thread that owns one rendition's scaler and encoder.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender};

use ffmpeg_next::Rational;
use nova_media::Frame;

use super::decode::Picture;
use super::encode::RenditionEncoder;
use super::options::EncodeOptions;
use super::output::LadderOutput;
use super::profile::Rendition;
use super::stats::{RenditionCounters, lock};

/// One decoded picture on its way to a rendition.
pub(crate) struct Work {
    pub picture: Picture,
    /// The source frame rate, as the decode thread established it.
    pub frame_rate: Rational,
}

pub(crate) fn run(
    rendition: Rendition,
    options: EncodeOptions,
    work: Receiver<Work>,
    counters: Arc<RenditionCounters>,
    out: Sender<LadderOutput>,
) {
    let name = rendition.name.clone();
    let min_interval_ms = rendition
        .max_frame_rate
        .filter(|&fps| fps > 0)
        .map(|fps| 1000 / i64::from(fps));
    let mut encoder: Option<RenditionEncoder> = None;
    let mut last_kept: Option<i64> = None;
    let mut frames = Vec::new();
    let emit = |frames: &mut Vec<Frame>| {
        for frame in frames.drain(..) {
            counters.note_output(frame.pts);
            let _ = out.send(LadderOutput::Frame {
                rendition: name.clone(),
                frame,
            });
        }
    };

    let failure = loop {
        let Ok(item) = work.recv() else {
            if counters.is_dropped() {
                break None;
            }
            // End of the source: drain what the encoder still holds.
            if let Some(encoder) = encoder.as_mut() {
                if let Err(error) = encoder.flush(&mut frames) {
                    break Some(format!("flushing the encoder failed: {error}"));
                }
                emit(&mut frames);
            }
            return;
        };
        if counters.is_dropped() {
            break None;
        }
        let picture = &item.picture;
        counters.note_taken(picture.pts);
        // Frame-rate cap: skip pictures that come too soon after the last
        // one kept (a quarter interval of slack absorbs ms rounding), but
        // never a keyframe, which every rendition must code at that PTS.
        if let (Some(interval), Some(last)) = (min_interval_ms, last_kept)
            && !picture.keyframe
            && picture.pts - last < interval - interval / 4
        {
            continue;
        }
        last_kept = Some(picture.pts);

        if encoder.is_none() {
            let frame_rate = capped_rate(item.frame_rate, rendition.max_frame_rate);
            match RenditionEncoder::open(rendition.clone(), &options, frame_rate) {
                Ok((opened, config)) => {
                    let _ = out.send(LadderOutput::Config {
                        rendition: name.clone(),
                        config,
                    });
                    encoder = Some(opened);
                }
                Err(reason) => break Some(reason),
            }
        }
        let Some(encoder) = encoder.as_mut() else {
            continue;
        };
        if let Err(error) = encoder.encode(picture, &mut frames) {
            break Some(format!(
                "encoding the picture at {} ms failed: {error}",
                picture.pts
            ));
        }
        emit(&mut frames);
    };

    let reason = match failure {
        Some(reason) => {
            counters.mark_dropped(&reason);
            tracing::error!(rendition = %name, "ladder: rendition stopped: {reason}");
            reason
        }
        None => lock(&counters.drop_reason)
            .clone()
            .unwrap_or_else(|| "dropped".to_owned()),
    };
    let _ = out.send(LadderOutput::RenditionDropped {
        rendition: name,
        reason,
    });
}

fn capped_rate(source: Rational, max_frame_rate: Option<u32>) -> Rational {
    match max_frame_rate {
        Some(max) if max > 0 && f64::from(source) > f64::from(max) => {
            Rational::new(i32::try_from(max).unwrap_or(i32::MAX), 1)
        }
        _ => source,
    }
}
