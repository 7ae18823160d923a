use std::sync::atomic::{AtomicBool, Ordering};

/// The parts of readiness the API cannot check by itself. The server flips
/// `listeners_bound` on once RTMP and HTTP accept connections, and off when
/// it starts shutting down, so load balancers stop sending new work first.
#[derive(Debug, Default)]
pub struct Readiness {
    listeners_bound: AtomicBool,
}

impl Readiness {
    pub fn set_listeners_bound(&self, bound: bool) {
        self.listeners_bound.store(bound, Ordering::Release);
    }

    pub fn listeners_bound(&self) -> bool {
        self.listeners_bound.load(Ordering::Acquire)
    }
}
