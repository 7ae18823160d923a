//! The recording uploads' Prometheus series, recorded by the uploader's
//! scheduler and workers into the global recorder.

use metrics::Unit;

pub const UPLOAD_QUEUE_OBJECTS: &str = "nova_upload_queue_objects";
pub const UPLOAD_QUEUE_BYTES: &str = "nova_upload_queue_bytes";
pub const SPOOL_BYTES: &str = "nova_spool_bytes";
pub const UPLOAD_LATENCY: &str = "nova_upload_latency_seconds";
pub const UPLOADS: &str = "nova_uploads_total";
pub const UPLOAD_FAILURES: &str = "nova_upload_failures_total";

/// Describes the recording's series to the installed recorder.
pub fn describe() {
    metrics::describe_gauge!(
        UPLOAD_QUEUE_OBJECTS,
        "Recording objects not yet stored: waiting (in memory or in the spool) or being uploaded"
    );
    metrics::describe_gauge!(
        UPLOAD_QUEUE_BYTES,
        Unit::Bytes,
        "Bytes of the recording objects not yet stored, in memory or in the spool"
    );
    metrics::describe_gauge!(
        SPOOL_BYTES,
        Unit::Bytes,
        "Bytes of recording objects spooled to local disk while the store is down or memory is full"
    );
    metrics::describe_histogram!(
        UPLOAD_LATENCY,
        Unit::Seconds,
        "Time from a recording object being ready (a segment closed by the packager, a playlist written) to its being stored; objects left in the spool by a previous process are not measured"
    );
    metrics::describe_counter!(UPLOADS, "Recording objects stored");
    metrics::describe_counter!(
        UPLOAD_FAILURES,
        "Failed upload attempts (each retry counts), by cause: timeout, throttled, server_error, client_error, connect, io, misconfigured, other"
    );
}
