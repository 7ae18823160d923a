use tracing_subscriber::EnvFilter;

/// Logs go to stderr; `RUST_LOG` (or `NOVA_LOG`) filters them, `info` by default.
pub fn init() {
    let filter = std::env::var("NOVA_LOG")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| "info,sqlx=warn,tower_http=info".to_owned());
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .init();
}
