//! The log: stderr, as text for people or one JSON object a line for log
//! shippers, and the node's root span that puts `node=<name>` in the lines.

use std::cell::RefCell;
use std::sync::OnceLock;

use tracing::Span;
use tracing::span::EnteredSpan;
use tracing_subscriber::EnvFilter;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event, spans before the message.
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `fields`, `target`,
    /// `span` (the innermost) and `spans` (all of them, outermost first).
    Json,
}

/// Logs go to stderr; `NOVA_LOG` (or `RUST_LOG`) filters them, `info` by default.
pub fn init(format: LogFormat) {
    let filter = std::env::var("NOVA_LOG")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| "info,sqlx=warn,tower_http=info".to_owned());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// The span every line of this node is logged in, made once at start.
static NODE_SPAN: OnceLock<Span> = OnceLock::new();

/// Makes the node's root span; call once, after [`init`] (a span made
/// before the subscriber exists is disabled for good).
pub fn start_node_span(node: &str) -> Span {
    // ERROR level: enabled under any filter that lets a line through, so
    // no filter leaves lines without their node.
    NODE_SPAN
        .get_or_init(|| tracing::error_span!("nova", node = %node))
        .clone()
}

/// The node's root span, for spans made away from the runtime's threads
/// (the packager threads) to hang under; disabled before it is started.
pub fn node_span() -> Span {
    NODE_SPAN.get().cloned().unwrap_or_else(Span::none)
}

thread_local! {
    static ENTERED: RefCell<Option<EnteredSpan>> = const { RefCell::new(None) };
}

/// Enters the node span on the calling thread until [`leave_node_span`]:
/// the runtime calls it as each worker and blocking thread starts, so a
/// task that has no span of its own (tokio tasks do not inherit their
/// spawner's) still logs its node, and the spans it makes hang under it.
pub fn enter_node_span() {
    let entered = node_span().entered();
    ENTERED.with(|slot| *slot.borrow_mut() = Some(entered));
}

/// Leaves the span [`enter_node_span`] entered on this thread.
pub fn leave_node_span() {
    ENTERED.with(|slot| drop(slot.borrow_mut().take()));
}
