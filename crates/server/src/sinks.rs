//! One packager output, several consumers: the live window and the recorder.

use std::sync::Arc;

use nova_media::{SegmentEvent, SegmentSink};

pub struct FanOut(pub Vec<Arc<dyn SegmentSink>>);

impl SegmentSink for FanOut {
    fn handle(&self, event: &SegmentEvent) {
        for sink in &self.0 {
            sink.handle(event);
        }
    }
}
