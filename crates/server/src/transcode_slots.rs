//! `--max-transcoded-streams`: how many streams may run the ABR ladder at
//! once. Each ladder is a decoder and up to three x264 encoders, so this
//! bounds the CPU that stream owners can claim by choosing `profile: abr`.
//! A stream over the limit is packaged passthrough (not refused), and keeps
//! that for its life: a slot that frees goes to the next stream to go live.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct TranscodeSlots {
    limit: usize,
    taken: AtomicUsize,
}

/// A stream's hold on a slot, given back when dropped.
pub struct TranscodeSlot(Arc<TranscodeSlots>);

impl TranscodeSlots {
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            limit,
            taken: AtomicUsize::new(0),
        })
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// A slot, if one is free.
    pub fn try_take(self: &Arc<Self>) -> Option<TranscodeSlot> {
        self.taken
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |taken| {
                (taken < self.limit).then_some(taken + 1)
            })
            .ok()
            .map(|_| TranscodeSlot(self.clone()))
    }
}

impl Drop for TranscodeSlot {
    fn drop(&mut self) {
        self.0.taken.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_taken_up_to_the_limit_and_given_back() {
        let slots = TranscodeSlots::new(2);
        let first = slots.try_take().expect("a free slot");
        let second = slots.try_take().expect("a free slot");
        assert!(slots.try_take().is_none());
        drop(first);
        let third = slots.try_take().expect("the freed slot");
        assert!(slots.try_take().is_none());
        drop((second, third));
        assert!(TranscodeSlots::new(0).try_take().is_none());
    }
}
