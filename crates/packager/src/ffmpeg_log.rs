//! One-time FFmpeg setup: its log lines go to `tracing` instead of stderr.

use std::sync::Once;

use ffmpeg_sys_next as sys;

/// Initialises FFmpeg once per process and routes its log to `tracing`
/// (target `ffmpeg`), at warning level and above: muxer warnings such as
/// non-monotonic timestamps are worth seeing next to our own logs, its
/// informational chatter is not. Safe to call more than once.
pub fn init_ffmpeg() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if let Err(error) = ffmpeg_next::init() {
            tracing::error!("FFmpeg failed to initialise: {error}");
        }
        ffmpeg_next::util::log::set_level(ffmpeg_next::util::log::Level::Warning);
        route_log_to_tracing();
    });
}

// The callback receives a C `va_list`, whose Rust type differs between ABIs;
// this one is the System V x86-64 form. Elsewhere FFmpeg keeps its own stderr
// logger, quietened to warnings above.
#[cfg(all(target_arch = "x86_64", unix))]
fn route_log_to_tracing() {
    // SAFETY: `forward` has exactly the signature FFmpeg calls and is
    // thread-safe (FFmpeg may log from any thread).
    unsafe { sys::av_log_set_callback(Some(forward)) }
}

#[cfg(not(all(target_arch = "x86_64", unix)))]
fn route_log_to_tracing() {}

#[cfg(all(target_arch = "x86_64", unix))]
unsafe extern "C" fn forward(
    class: *mut std::ffi::c_void,
    level: std::ffi::c_int,
    format: *const std::ffi::c_char,
    args: *mut sys::__va_list_tag,
) {
    // SAFETY: a plain global read; cheap, so filtered lines cost no formatting.
    if level > unsafe { sys::av_log_get_level() } {
        return;
    }
    let mut line = [0 as std::ffi::c_char; 1024];
    let mut print_prefix: std::ffi::c_int = 1;
    // SAFETY: FFmpeg's own formatter, given the arguments exactly as FFmpeg
    // passed them to us; it NUL-terminates within `line.len()` bytes.
    let written = unsafe {
        sys::av_log_format_line2(
            class,
            level,
            format,
            args,
            line.as_mut_ptr(),
            line.len() as std::ffi::c_int,
            &mut print_prefix,
        )
    };
    if written < 0 {
        return;
    }
    // SAFETY: `line` was NUL-terminated by av_log_format_line2.
    let text = unsafe { std::ffi::CStr::from_ptr(line.as_ptr()) }.to_string_lossy();
    let text = text.trim_end();
    if text.is_empty() {
        return;
    }
    match level {
        l if l <= sys::AV_LOG_ERROR => tracing::error!(target: "ffmpeg", "{text}"),
        l if l <= sys::AV_LOG_WARNING => tracing::warn!(target: "ffmpeg", "{text}"),
        l if l <= sys::AV_LOG_INFO => tracing::info!(target: "ffmpeg", "{text}"),
        _ => tracing::debug!(target: "ffmpeg", "{text}"),
    }
}
