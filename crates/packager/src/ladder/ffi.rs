//! The two codec-context fields the ladder needs that ffmpeg-next 9 has no
//! safe accessor for: extradata in (decoder) and out (encoder).

use ffmpeg_next::Error;
use ffmpeg_next::codec::Context;

/// Gives a decoder context, before it opens, the source's decoder
/// configuration record as extradata.
pub(crate) fn set_extradata(context: &mut Context, record: &[u8]) -> Result<(), Error> {
    // SAFETY: `context` owns a valid, exclusively borrowed AVCodecContext
    // that is not open yet, so no codec reads its extradata meanwhile; any
    // previous extradata came from FFmpeg's allocator.
    unsafe {
        let ctx = context.as_mut_ptr();
        crate::ffi::replace_extradata(
            &raw mut (*ctx).extradata,
            &raw mut (*ctx).extradata_size,
            record,
        )
    }
}

/// A copy of an opened encoder's extradata (libx264 with
/// `AV_CODEC_FLAG_GLOBAL_HEADER`: its SPS and PPS in Annex B form).
pub(crate) fn extradata(context: &Context) -> Vec<u8> {
    // SAFETY: `context` is a valid AVCodecContext borrowed for the duration
    // of the copy; FFmpeg keeps `extradata` either null or pointing at
    // `extradata_size` readable bytes, and nothing mutates it while an
    // opened encoder is idle.
    unsafe {
        let ctx = context.as_ptr();
        let size = usize::try_from((*ctx).extradata_size).unwrap_or(0);
        if (*ctx).extradata.is_null() || size == 0 {
            return Vec::new();
        }
        std::slice::from_raw_parts((*ctx).extradata, size).to_vec()
    }
}
