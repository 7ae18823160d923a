//! The one H.264 decoder a ladder shares between its renditions.

use std::collections::BTreeSet;
use std::sync::Arc;

use ffmpeg_next::codec::{self, threading};
use ffmpeg_next::{Packet, Rational, decoder, frame};
use nova_media::codec::AvcConfig;
use nova_media::{Frame, TIMEBASE_HZ};

use super::error::LadderError;
use super::ffi;

/// A decoded source picture, shared (read-only) by every rendition's scaler.
pub(crate) struct Picture {
    pub image: Arc<frame::Video>,
    /// PTS in ms, the source frame's own.
    pub pts: i64,
    /// The source frame at this PTS was a keyframe: every rendition codes an
    /// IDR here.
    pub keyframe: bool,
}

pub(crate) struct SourceDecoder {
    decoder: decoder::Video,
    /// PTS of source keyframes pushed but not yet decoded. Keyframes are
    /// matched by PTS because the decoder hands pictures back in
    /// presentation order, later than their packets went in.
    pending_keyframes: BTreeSet<i64>,
}

impl SourceDecoder {
    /// `low_latency` decodes with slice threads instead of frame threads:
    /// frame threading holds back one picture per thread.
    pub(crate) fn open(
        config: &AvcConfig,
        threads: Option<usize>,
        low_latency: bool,
    ) -> Result<Self, LadderError> {
        let codec = decoder::find(codec::Id::H264).ok_or(LadderError::DecoderMissing)?;
        let mut context = codec::Context::new_with_codec(codec);
        ffi::set_extradata(&mut context, &config.record).map_err(LadderError::DecoderOpen)?;
        context.set_threading(threading::Config {
            kind: if low_latency {
                threading::Type::Slice
            } else {
                threading::Type::Frame
            },
            count: threads.unwrap_or(0),
            ..Default::default()
        });
        let mut opening = context.decoder();
        opening.set_packet_time_base(Rational::new(1, TIMEBASE_HZ as i32));
        let decoder = opening
            .open_as(codec)
            .and_then(|opened| opened.video())
            .map_err(LadderError::DecoderOpen)?;
        Ok(Self {
            decoder,
            pending_keyframes: BTreeSet::new(),
        })
    }

    /// Frame rate the bitstream declares (SPS VUI timing), once a picture
    /// has been decoded.
    pub(crate) fn declared_frame_rate(&self) -> Option<Rational> {
        self.decoder
            .frame_rate()
            .filter(|rate| rate.numerator() > 0 && rate.denominator() > 0)
    }

    /// Decodes one source frame; the pictures it completes (possibly none,
    /// possibly earlier frames') go to `out`. Returns how many decode errors
    /// happened: the frame is skipped, the decoder carries on.
    pub(crate) fn decode(&mut self, frame: &Frame, out: &mut Vec<Picture>) -> u64 {
        let mut packet = Packet::copy(&frame.data);
        packet.set_pts(Some(frame.pts));
        packet.set_dts(Some(frame.dts));
        if frame.keyframe {
            packet.set_flags(codec::packet::Flags::KEY);
            self.pending_keyframes.insert(frame.pts);
        }
        let mut errors = 0;
        if let Err(error) = self.decoder.send_packet(&packet) {
            tracing::debug!(pts = frame.pts, %error, "ladder: source frame rejected by the decoder");
            errors += 1;
        }
        errors + self.receive(out)
    }

    /// Drains the decoder at the end of the source.
    pub(crate) fn flush(&mut self, out: &mut Vec<Picture>) -> u64 {
        let errors = u64::from(self.decoder.send_eof().is_err());
        errors + self.receive(out)
    }

    fn receive(&mut self, out: &mut Vec<Picture>) -> u64 {
        let mut errors = 0;
        loop {
            let mut image = frame::Video::empty();
            match self.decoder.receive_frame(&mut image) {
                Ok(()) => {
                    let Some(pts) = image.pts().or_else(|| image.timestamp()) else {
                        errors += 1;
                        continue;
                    };
                    let keyframe = self.pending_keyframes.remove(&pts);
                    // Keyframes whose picture never came out (undecodable)
                    // must not turn a later picture into one.
                    self.pending_keyframes = self.pending_keyframes.split_off(&pts);
                    out.push(Picture {
                        image: Arc::new(image),
                        pts,
                        keyframe,
                    });
                }
                Err(ffmpeg_next::Error::Eof) => return errors,
                Err(ffmpeg_next::Error::Other { errno }) if errno == ffmpeg_next::error::EAGAIN => {
                    return errors;
                }
                Err(error) => {
                    tracing::debug!(%error, "ladder: the decoder failed a picture");
                    // One error per failed picture; the pictures after it
                    // come out of the next call.
                    return errors + 1;
                }
            }
        }
    }
}
