//! One packager output, several consumers: the live window and the recorder.

use std::sync::Arc;

use nova_media::{SegmentEvent, SegmentSink, StreamId};

pub struct FanOut(pub Vec<Arc<dyn SegmentSink>>);

impl SegmentSink for FanOut {
    fn handle(&self, event: &SegmentEvent) {
        for sink in &self.0 {
            sink.handle(event);
        }
    }

    fn rendition_dropped(&self, stream: StreamId, rendition: &str) {
        for sink in &self.0 {
            sink.rendition_dropped(stream, rendition);
        }
    }
}
