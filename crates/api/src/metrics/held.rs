//! Gauges of things held open (a blocked request, a feed): one up while a
//! [`Held`] lives, one down when it is dropped, however its owner ends —
//! answered, failed, or cancelled because the client went away (axum drops
//! a request's future when its connection closes).

/// Counts itself in the gauge `name` for as long as it lives.
pub(crate) struct Held {
    name: &'static str,
}

impl Held {
    pub(crate) fn new(name: &'static str) -> Self {
        metrics::gauge!(name).increment(1.0);
        Self { name }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        metrics::gauge!(self.name).decrement(1.0);
    }
}
