//! One packager output, several consumers: the live window and the recorder.

use std::sync::Arc;

use nova_media::{PartialSegment, SegmentEvent, SegmentSink};

pub struct FanOut(pub Vec<Arc<dyn SegmentSink>>);

impl SegmentSink for FanOut {
    fn handle(&self, event: &SegmentEvent) {
        for sink in &self.0 {
            sink.handle(event);
        }
    }

    // Every method of the trait is forwarded: a default left in place here
    // would silently swallow what the live window needs (LL-HLS parts).
    fn part(&self, part: &PartialSegment) {
        for sink in &self.0 {
            sink.part(part);
        }
    }
}
