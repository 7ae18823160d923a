//! The FFmpeg calls that ffmpeg-next 9 has no safe wrapper for.
//!
//! Every `unsafe` block of the crate's muxing lives here, each next to the
//! invariant it relies on, so the rest of the crate stays safe code.

use std::ffi::{c_int, c_void};

use ffmpeg_next::Error;
use ffmpeg_next::codec::Parameters;
use ffmpeg_next::format::context::Output;
use ffmpeg_sys_next as sys;

/// Sets a decoder configuration record (`avcC`/`hvcC` payload, AAC
/// AudioSpecificConfig) as the track's extradata, byte for byte.
pub(crate) fn set_extradata(params: &mut Parameters, record: &[u8]) -> Result<(), Error> {
    // SAFETY: `params` owns a valid, exclusively borrowed AVCodecParameters
    // whose extradata, if any, FFmpeg allocated.
    unsafe {
        let par = params.as_mut_ptr();
        replace_extradata(
            &raw mut (*par).extradata,
            &raw mut (*par).extradata_size,
            record,
        )
    }
}

/// Replaces an `extradata`/`extradata_size` pair (of codec parameters or a
/// codec context) with a copy of `record`.
///
/// FFmpeg frees `extradata` with `av_free`, and its bitstream readers may read
/// up to `AV_INPUT_BUFFER_PADDING_SIZE` bytes past the end, so the copy must
/// come from `av_mallocz` with that much zeroed padding: a Rust allocation
/// would be freed by the wrong allocator and overread.
///
/// # Safety
///
/// Both pointers point into one valid struct that nothing else uses
/// meanwhile, and its current `extradata` is null or FFmpeg's allocation.
pub(crate) unsafe fn replace_extradata(
    extradata: *mut *mut u8,
    extradata_size: *mut c_int,
    record: &[u8],
) -> Result<(), Error> {
    let size = c_int::try_from(record.len()).map_err(|_| Error::InvalidData)?;
    let padded = record.len() + sys::AV_INPUT_BUFFER_PADDING_SIZE as usize;
    // SAFETY: `buffer` is a fresh zeroed allocation of `padded >=
    // record.len()` bytes, so the copy stays in bounds and the padding stays
    // zero. The previous extradata goes back to FFmpeg's allocator through
    // `av_freep`, which nulls the field before it is replaced; the caller
    // vouches for the pointers.
    unsafe {
        let buffer = sys::av_mallocz(padded).cast::<u8>();
        if buffer.is_null() {
            return Err(Error::Other { errno: sys::ENOMEM });
        }
        std::ptr::copy_nonoverlapping(record.as_ptr(), buffer, record.len());
        sys::av_freep(extradata.cast::<c_void>());
        *extradata = buffer;
        *extradata_size = size;
    }
    Ok(())
}

/// Picture size and sample-entry fourcc: ffmpeg-next has no setters for them,
/// and the mp4 muxer refuses a video track without dimensions.
pub(crate) fn set_video_fields(
    params: &mut Parameters,
    width: u32,
    height: u32,
    tag: Option<[u8; 4]>,
) {
    // SAFETY: plain integer fields of a valid, exclusively borrowed
    // AVCodecParameters.
    unsafe {
        let par = params.as_mut_ptr();
        (*par).width = c_int::try_from(width).unwrap_or(0);
        (*par).height = c_int::try_from(height).unwrap_or(0);
        if let Some(tag) = tag {
            (*par).codec_tag = u32::from_le_bytes(tag);
        }
    }
}

/// Sample rate, channel layout and samples per frame of an audio track.
pub(crate) fn set_audio_fields(
    params: &mut Parameters,
    sample_rate: u32,
    channels: u8,
    frame_size: u32,
) {
    // SAFETY: integer fields of a valid, exclusively borrowed
    // AVCodecParameters; `ch_layout` is reset with FFmpeg's own functions,
    // which free whatever a custom layout may have allocated.
    unsafe {
        let par = params.as_mut_ptr();
        (*par).sample_rate = c_int::try_from(sample_rate).unwrap_or(0);
        (*par).frame_size = c_int::try_from(frame_size).unwrap_or(0);
        sys::av_channel_layout_uninit(&raw mut (*par).ch_layout);
        sys::av_channel_layout_default(&raw mut (*par).ch_layout, c_int::from(channels));
    }
}

/// Closes the muxer's current fragment (fMP4: one `moof`+`mdat`; MPEG-TS: the
/// pending PES packets) and pushes every byte out to the custom IO.
///
/// A NULL packet is `av_write_frame`'s documented flush request for muxers
/// with `AVFMT_ALLOW_FLUSH` (mp4 and mpegts both have it).
pub(crate) fn flush_fragment(output: &mut Output) -> Result<(), Error> {
    // SAFETY: `output` is a valid muxing context whose header was written;
    // a null packet is explicitly allowed by av_write_frame. `pb` is the
    // custom IO installed by `output_to_stream`, alive as long as `output`.
    unsafe {
        let ctx = output.as_mut_ptr();
        let ret = sys::av_write_frame(ctx, std::ptr::null_mut());
        if ret < 0 {
            return Err(Error::from(ret));
        }
        sys::avio_flush((*ctx).pb);
    }
    Ok(())
}

/// Pushes bytes buffered in the IO context (the header) out to our buffer.
pub(crate) fn flush_io(output: &mut Output) {
    // SAFETY: `pb` is the custom IO installed by `output_to_stream`, alive as
    // long as `output`.
    unsafe { sys::avio_flush((*output.as_mut_ptr()).pb) }
}

/// Asks the mpegts muxer to write PAT and PMT before its next packet, so a
/// segment that starts on an audio frame is decodable on its own (the muxer
/// only does this by itself before video keyframes).
pub(crate) fn resend_ts_headers(output: &mut Output) -> Result<(), Error> {
    // SAFETY: `priv_data` of an mpegts muxing context is its MpegTSWrite,
    // whose AVClass declares `mpegts_flags`; the strings are NUL-terminated.
    let ret = unsafe {
        sys::av_opt_set(
            (*output.as_mut_ptr()).priv_data,
            c"mpegts_flags".as_ptr(),
            c"+resend_headers".as_ptr(),
            0,
        )
    };
    if ret < 0 {
        Err(Error::from(ret))
    } else {
        Ok(())
    }
}
