//! What the thumbnail render needs that ffmpeg-next 9 has no safe API for.

use std::os::raw::c_int;
use std::ptr;

use ffmpeg_next::frame;
use ffmpeg_next::software::scaling;
use ffmpeg_sys_next::{sws_getColorspaceDetails, sws_setColorspaceDetails};

/// Sets a picture's `quality` (a lambda, `FF_QP2LAMBDA` × qscale).
///
/// With `AV_CODEC_FLAG_QSCALE` the mjpeg encoder takes its quantiser from
/// each picture's `quality`, not from the context: left at 0 it would code
/// at the best quantiser and make thumbnails many times their useful size.
pub(crate) fn set_quality(picture: &mut frame::Video, lambda: i32) {
    // SAFETY: an integer field of a valid AVFrame that this thread owns.
    unsafe { (*picture.as_mut_ptr()).quality = lambda }
}

/// Makes `scaler` write full-range YUV (what JPEG means by YCbCr), keeping
/// the matrices and input range it chose. The `yuvj420p` format says the
/// same but is deprecated, and swscale logs a warning for every context
/// made with it. Returns false if swscale refused.
pub(crate) fn full_range_output(scaler: &mut scaling::Context) -> bool {
    let (mut inverse, mut table) = (ptr::null_mut(), ptr::null_mut());
    let (mut source_range, mut destination_range): (c_int, c_int) = (0, 0);
    let (mut brightness, mut contrast, mut saturation): (c_int, c_int, c_int) = (0, 0, 0);
    // SAFETY: a valid context this thread owns; the getter fills the
    // pointers with the context's own tables, which the setter copies.
    unsafe {
        let context = scaler.as_mut_ptr();
        if sws_getColorspaceDetails(
            context,
            &mut inverse,
            &mut source_range,
            &mut table,
            &mut destination_range,
            &mut brightness,
            &mut contrast,
            &mut saturation,
        ) < 0
        {
            return false;
        }
        sws_setColorspaceDetails(
            context,
            inverse,
            source_range,
            table,
            1,
            brightness,
            contrast,
            saturation,
        ) >= 0
    }
}
