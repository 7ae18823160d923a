//! The two codec-context fields the ladder needs that ffmpeg-next 9 has no
//! safe accessor for: extradata in (decoder) and out (encoder).

use std::ffi::{c_int, c_void};

use ffmpeg_next::Error;
use ffmpeg_next::codec::Context;
use ffmpeg_sys_next as sys;

/// Gives a decoder context, before it opens, the source's decoder
/// configuration record as extradata.
///
/// FFmpeg frees `extradata` with `av_free` and its bitstream readers may read
/// `AV_INPUT_BUFFER_PADDING_SIZE` bytes past the end, so the copy comes from
/// `av_mallocz` with that much zeroed padding.
pub(crate) fn set_extradata(context: &mut Context, record: &[u8]) -> Result<(), Error> {
    let size = c_int::try_from(record.len()).map_err(|_| Error::InvalidData)?;
    let padded = record.len() + sys::AV_INPUT_BUFFER_PADDING_SIZE as usize;
    // SAFETY: `context` owns a valid, exclusively borrowed AVCodecContext that
    // is not open yet, so no codec reads extradata concurrently. `buffer` is a
    // fresh zeroed allocation of `padded >= record.len()` bytes, so the copy
    // stays in bounds. Any previous extradata came from FFmpeg's allocator and
    // goes back to it through `av_freep`, which also nulls the field.
    unsafe {
        let buffer = sys::av_mallocz(padded).cast::<u8>();
        if buffer.is_null() {
            return Err(Error::Other { errno: sys::ENOMEM });
        }
        std::ptr::copy_nonoverlapping(record.as_ptr(), buffer, record.len());
        let ctx = context.as_mut_ptr();
        sys::av_freep((&raw mut (*ctx).extradata).cast::<c_void>());
        (*ctx).extradata = buffer;
        (*ctx).extradata_size = size;
    }
    Ok(())
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
