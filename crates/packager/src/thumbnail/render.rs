//! One thumbnail from one segment: demux in memory, decode the first
//! picture (the segment's keyframe), scale it down, code it as JPEG.

use std::io::Cursor;

use bytes::Bytes;
use ffmpeg_next::codec::{self, threading};
use ffmpeg_next::format::{self, Pixel, context::StreamIo};
use ffmpeg_next::software::scaling;
use ffmpeg_next::{Packet, Rational, color, encoder, frame, media};
use ffmpeg_sys_next::FF_QP2LAMBDA;

use super::ffi;
use super::size::thumbnail_size;

/// JPEG quantiser, the scale `ffmpeg -q:v` uses (2 best … 31 worst): 5 keeps
/// text legible at about a tenth of a bit per pixel.
const JPEG_QSCALE: i32 = 5;

/// A coded thumbnail.
#[derive(Clone, Debug)]
pub struct Jpeg {
    pub data: Bytes,
    pub width: u32,
    pub height: u32,
}

/// Why a segment gave no thumbnail. The thumbnailer logs these at debug
/// and counts them: the next segment gets another try.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("the segment does not open as media: {0}")]
    Open(ffmpeg_next::Error),
    #[error("the segment has no video track")]
    NoVideo,
    #[error("no decoder for the video track: {0}")]
    Decoder(ffmpeg_next::Error),
    #[error("the first video frame does not decode: {0}")]
    Decode(ffmpeg_next::Error),
    #[error("the segment holds no decodable picture")]
    NoPicture,
    #[error("scaling the picture failed: {0}")]
    Scale(ffmpeg_next::Error),
    #[error("the JPEG encoder failed: {0}")]
    Encode(ffmpeg_next::Error),
}

/// Renders the first picture of `media` (an fMP4 init segment followed by a
/// media segment, or an MPEG-TS segment) as a JPEG at most `max_width` wide.
///
/// Only the first video packet is decoded: segments start on a keyframe,
/// so one packet is one whole picture, and the cost stays one intra decode
/// per thumbnail whatever the segment's length.
pub fn render(media: Vec<u8>, max_width: u32) -> Result<Jpeg, RenderError> {
    let picture = first_picture(media)?;
    let sar = picture.aspect_ratio();
    let (width, height) = thumbnail_size(
        picture.width(),
        picture.height(),
        (sar.numerator(), sar.denominator()),
        max_width,
    )
    .ok_or(RenderError::NoPicture)?;
    let scaled = scale(&picture, width, height)?;
    let data = encode_jpeg(scaled)?;
    Ok(Jpeg {
        data,
        width,
        height,
    })
}

fn first_picture(media: Vec<u8>) -> Result<frame::Video, RenderError> {
    let io = StreamIo::from_read_seek(Cursor::new(media)).map_err(RenderError::Open)?;
    let mut input = format::input_from_stream(io, None, None).map_err(RenderError::Open)?;
    let stream = input
        .streams()
        .best(media::Type::Video)
        .ok_or(RenderError::NoVideo)?;
    let index = stream.index();
    let mut context =
        codec::Context::from_parameters(stream.parameters()).map_err(RenderError::Decoder)?;
    // One picture: threads would only add start-up cost, and frame
    // threading would hold the picture back until more packets came.
    context.set_threading(threading::Config {
        kind: threading::Type::None,
        count: 1,
        ..Default::default()
    });
    let mut decoder = context.decoder().video().map_err(RenderError::Decoder)?;
    decoder.set_packet_time_base(stream.time_base());

    let packet = input
        .packets()
        .find_map(|(stream, packet)| (stream.index() == index).then_some(packet))
        .ok_or(RenderError::NoPicture)?;
    decoder.send_packet(&packet).map_err(RenderError::Decode)?;
    // End of input makes the decoder hand over the picture now instead of
    // waiting for reordering that a lone keyframe does not need.
    decoder.send_eof().map_err(RenderError::Decode)?;
    let mut picture = frame::Video::empty();
    match decoder.receive_frame(&mut picture) {
        Ok(()) => Ok(picture),
        Err(ffmpeg_next::Error::Eof) => Err(RenderError::NoPicture),
        Err(error) => Err(RenderError::Decode(error)),
    }
}

fn scale(picture: &frame::Video, width: u32, height: u32) -> Result<frame::Video, RenderError> {
    // Full-range 4:2:0, what baseline JPEG (JFIF) means by YCbCr; swscale
    // expands the source's limited range on the way.
    let mut scaler = scaling::Context::get(
        picture.format(),
        picture.width(),
        picture.height(),
        Pixel::YUV420P,
        width,
        height,
        scaling::Flags::BICUBIC,
    )
    .map_err(RenderError::Scale)?;
    if !ffi::full_range_output(&mut scaler) {
        return Err(RenderError::Scale(ffmpeg_next::Error::InvalidData));
    }
    let mut scaled = frame::Video::empty();
    scaler
        .run(picture, &mut scaled)
        .map_err(RenderError::Scale)?;
    scaled.set_color_range(color::Range::JPEG);
    Ok(scaled)
}

fn encode_jpeg(mut picture: frame::Video) -> Result<Bytes, RenderError> {
    let codec = encoder::find(codec::Id::MJPEG)
        .ok_or(RenderError::Encode(ffmpeg_next::Error::EncoderNotFound))?;
    let mut context = codec::Context::new_with_codec(codec);
    context.set_flags(codec::Flags::QSCALE);
    let mut opening = context.encoder().video().map_err(RenderError::Encode)?;
    opening.set_width(picture.width());
    opening.set_height(picture.height());
    opening.set_format(Pixel::YUV420P);
    opening.set_color_range(color::Range::JPEG);
    // One picture: any time base will do, but it must be valid.
    opening.set_time_base(Rational::new(1, 1));
    opening.set_global_quality(JPEG_QSCALE * FF_QP2LAMBDA);
    let mut jpeg = opening.open_as(codec).map_err(RenderError::Encode)?;

    ffi::set_quality(&mut picture, JPEG_QSCALE * FF_QP2LAMBDA);
    picture.set_pts(Some(0));
    jpeg.send_frame(&picture).map_err(RenderError::Encode)?;
    jpeg.send_eof().map_err(RenderError::Encode)?;
    let mut packet = Packet::empty();
    jpeg.receive_packet(&mut packet)
        .map_err(RenderError::Encode)?;
    let data = packet
        .data()
        .ok_or(RenderError::Encode(ffmpeg_next::Error::InvalidData))?;
    Ok(Bytes::copy_from_slice(data))
}
