//! One rendition: scale the shared decoded pictures, encode them with
//! libx264, hand out AVCC frames.

use ffmpeg_next::codec::{self, encoder};
use ffmpeg_next::format::Pixel;
use ffmpeg_next::software::scaling;
use ffmpeg_next::{Dictionary, Packet, Rational, frame, picture};
use nova_media::codec::AvcConfig;
use nova_media::{Frame, TIMEBASE_HZ, Track, VideoConfig};

use super::avcc;
use super::decode::Picture;
use super::ffi;
use super::options::EncodeOptions;
use super::profile::Rendition;

pub(crate) const X264: &str = "libx264";

/// libx264 configured for a ladder rung. Keyframes come only from the
/// source: x264's own periodic (`keyint=infinite`) and scene-cut
/// (`scenecut=0`) decisions are off, and a picture typed I becomes an IDR
/// (`forced-idr`).
pub(crate) fn open_x264(
    rendition: &Rendition,
    options: &EncodeOptions,
    frame_rate: Rational,
) -> Result<encoder::video::Encoder, ffmpeg_next::Error> {
    let codec = encoder::find_by_name(X264).ok_or(ffmpeg_next::Error::EncoderNotFound)?;
    let mut context = codec::Context::new_with_codec(codec);
    // The SPS/PPS go to extradata (our avcC), not in front of each IDR.
    context.set_flags(codec::Flags::GLOBAL_HEADER);
    context.set_time_base(Rational::new(1, TIMEBASE_HZ as i32));
    context.set_frame_rate(Some(frame_rate));
    let mut video = context.encoder().video()?;
    video.set_width(rendition.width);
    video.set_height(rendition.height);
    video.set_format(Pixel::YUV420P);
    let bitrate = rendition.video_bitrate_bps as usize;
    video.set_bit_rate(bitrate);
    video.set_max_bit_rate(bitrate);

    let mut settings = Dictionary::new();
    settings.set("preset", &options.preset);
    if options.low_latency {
        settings.set("tune", "zerolatency");
    }
    settings.set(
        "bufsize",
        &(2 * u64::from(rendition.video_bitrate_bps)).to_string(),
    );
    settings.set("forced-idr", "1");
    settings.set("x264-params", "keyint=infinite:scenecut=0");
    match options.encoder_threads {
        Some(threads) => settings.set("threads", &threads.to_string()),
        None => settings.set("threads", "auto"),
    }
    video.open_as_with(codec, settings)
}

/// What the encode thread does with each picture.
pub(crate) struct RenditionEncoder {
    rendition: Rendition,
    encoder: encoder::video::Encoder,
    scaler: Option<scaling::Context>,
    /// Reused for every picture: libx264 copies the pixels in at
    /// `send_frame`, so the buffer is free again when it returns.
    scaled: frame::Video,
    packet: Packet,
}

impl RenditionEncoder {
    /// Opens the encoder and returns it with the rendition's codec
    /// configuration, parsed from what libx264 really wrote.
    pub(crate) fn open(
        rendition: Rendition,
        options: &EncodeOptions,
        frame_rate: Rational,
    ) -> Result<(Self, VideoConfig), String> {
        let encoder = open_x264(&rendition, options, frame_rate)
            .map_err(|error| format!("{X264} did not open: {error}"))?;
        let header = ffi::extradata(&encoder);
        let record = avcc::avc_record_from_annex_b(&header)
            .ok_or_else(|| format!("{X264} wrote no SPS/PPS header ({} bytes)", header.len()))?;
        let config = AvcConfig::parse(record)
            .map_err(|error| format!("{X264} wrote an unreadable SPS: {error}"))?;
        Ok((
            Self {
                rendition,
                encoder,
                scaler: None,
                scaled: frame::Video::empty(),
                packet: Packet::empty(),
            },
            VideoConfig::Avc(config),
        ))
    }

    /// Scales and encodes one picture; completed frames go to `out`.
    pub(crate) fn encode(
        &mut self,
        picture: &Picture,
        out: &mut Vec<Frame>,
    ) -> Result<(), ffmpeg_next::Error> {
        let image = &*picture.image;
        let stale = self.scaler.as_ref().is_none_or(|scaler| {
            let input = scaler.input();
            (input.format, input.width, input.height)
                != (image.format(), image.width(), image.height())
        });
        if stale {
            // Bicubic, as the ffmpeg CLI's scale filter does by default.
            self.scaler = Some(scaling::Context::get(
                image.format(),
                image.width(),
                image.height(),
                Pixel::YUV420P,
                self.rendition.width,
                self.rendition.height,
                scaling::Flags::BICUBIC,
            )?);
        }
        if let Some(scaler) = self.scaler.as_mut() {
            scaler.run(image, &mut self.scaled)?;
        }
        self.scaled.set_pts(Some(picture.pts));
        self.scaled.set_kind(if picture.keyframe {
            picture::Type::I
        } else {
            picture::Type::None
        });
        self.encoder.send_frame(&self.scaled)?;
        self.receive(out)
    }

    /// Drains the encoder's delayed frames at the end of the source.
    pub(crate) fn flush(&mut self, out: &mut Vec<Frame>) -> Result<(), ffmpeg_next::Error> {
        self.encoder.send_eof()?;
        self.receive(out)
    }

    fn receive(&mut self, out: &mut Vec<Frame>) -> Result<(), ffmpeg_next::Error> {
        loop {
            match self.encoder.receive_packet(&mut self.packet) {
                Ok(()) => {
                    let (Some(pts), Some(data)) = (self.packet.pts(), self.packet.data()) else {
                        continue;
                    };
                    out.push(Frame {
                        track: Track::Video,
                        dts: self.packet.dts().unwrap_or(pts),
                        pts,
                        keyframe: self.packet.is_key(),
                        data: avcc::annex_b_to_avcc(data),
                    });
                }
                Err(ffmpeg_next::Error::Eof) => return Ok(()),
                Err(ffmpeg_next::Error::Other { errno }) if errno == ffmpeg_next::error::EAGAIN => {
                    return Ok(());
                }
                Err(error) => return Err(error),
            }
        }
    }
}
