//! One packager output, several consumers: the live window and the recorder.

use std::sync::Arc;

use nova_media::{PartialSegment, SegmentEvent, SegmentSink, StreamId};

pub struct FanOut(pub Vec<Arc<dyn SegmentSink>>);

// Every method of the trait is forwarded: a default left in place here
// would silently swallow what a sink needs (LL-HLS parts, dropped renditions).
impl SegmentSink for FanOut {
    fn handle(&self, event: &SegmentEvent) {
        for sink in &self.0 {
            sink.handle(event);
        }
    }

    fn part(&self, part: &PartialSegment) {
        for sink in &self.0 {
            sink.part(part);
        }
    }

    fn rendition_dropped(&self, stream: StreamId, rendition: &str) {
        for sink in &self.0 {
            sink.rendition_dropped(stream, rendition);
        }
    }
}
