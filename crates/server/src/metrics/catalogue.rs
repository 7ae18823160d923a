//! Every process-wide series, described once at start so the exposition
//! carries `# HELP`/`# TYPE` for each. The names are declared next to the
//! code that records them; this only gathers the crates' descriptions.

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
}

const BUILD_INFO: &str = "nova_build_info";
