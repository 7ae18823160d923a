use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// The parts of readiness the API cannot check by itself. The server flips
/// `listeners_bound` on once RTMP and HTTP accept connections, and off when
/// it starts shutting down, so load balancers stop sending new work first.
/// Its supervisor marks a long-lived task down while it waits to restart
/// it, so `/readyz` names the component and says why.
#[derive(Debug, Default)]
pub struct Readiness {
    listeners_bound: AtomicBool,
    /// Component name → why it is down. Names are the supervisor's, a
    /// handful at most.
    down: Mutex<BTreeMap<&'static str, String>>,
}

impl Readiness {
    pub fn set_listeners_bound(&self, bound: bool) {
        self.listeners_bound.store(bound, Ordering::Release);
    }

    pub fn listeners_bound(&self) -> bool {
        self.listeners_bound.load(Ordering::Acquire)
    }

    pub fn set_component_down(&self, component: &'static str, why: String) {
        self.lock_down().insert(component, why);
    }

    pub fn set_component_up(&self, component: &'static str) {
        self.lock_down().remove(component);
    }

    /// The components that are down, with why, in name order.
    pub fn components_down(&self) -> Vec<(&'static str, String)> {
        self.lock_down()
            .iter()
            .map(|(name, why)| (*name, why.clone()))
            .collect()
    }

    fn lock_down(&self) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, String>> {
        // Plain data: a panic elsewhere leaves the map valid.
        self.down
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
