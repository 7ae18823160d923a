//! The one field the JPEG encode needs that ffmpeg-next 9 has no setter for.

use ffmpeg_next::frame;

/// Sets a picture's `quality` (a lambda, `FF_QP2LAMBDA` × qscale).
///
/// With `AV_CODEC_FLAG_QSCALE` the mjpeg encoder takes its quantiser from
/// each picture's `quality`, not from the context: left at 0 it would code
/// at the best quantiser and make thumbnails many times their useful size.
pub(crate) fn set_quality(picture: &mut frame::Video, lambda: i32) {
    // SAFETY: an integer field of a valid AVFrame that this thread owns.
    unsafe { (*picture.as_mut_ptr()).quality = lambda }
}
