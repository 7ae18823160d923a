//! Every process-wide series, described once at start so the exposition
//! carries `# HELP`/`# TYPE` for each. The names are declared next to the
//! code that records them; this only gathers the crates' descriptions.

use metrics::Unit;

const BUILD_INFO: &str = "nova_build_info";
/// Free bytes on the watched data filesystem closest to its watermark
/// (set by `disk_watch`, which runs while recording is on).
pub const DISK_FREE_BYTES: &str = "nova_disk_free_bytes";
/// `--min-free-disk` in bytes on that same filesystem.
pub const DISK_MIN_FREE_BYTES: &str = "nova_disk_min_free_bytes";

pub fn describe() {
    nova_api::metrics::describe();
    nova_rtmp_ingest::metrics::describe();
    nova_packager::metrics::describe();
    nova_origin::metrics::describe();
    nova_recorder::metrics::describe();
    metrics::describe_gauge!(
        BUILD_INFO,
        "Always 1; the labels say which nova-live build is running"
    );
    metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    metrics::describe_gauge!(
        DISK_FREE_BYTES,
        Unit::Bytes,
        "Bytes free on the data filesystem (recordings, spool, embedded database) closest to \
         its --min-free-disk watermark; recording pauses below nova_disk_min_free_bytes"
    );
    metrics::describe_gauge!(
        DISK_MIN_FREE_BYTES,
        Unit::Bytes,
        "The --min-free-disk watermark, in bytes, on the filesystem nova_disk_free_bytes measures"
    );
}
