//! Real inputs and independent judges for the packager's tests.

#![allow(dead_code)] // each test binary uses a different part of this module

pub mod flv;
pub mod media;

use std::sync::{Arc, Mutex};

use nova_media::{
    MUXED_RENDITION, SegmentContainer, SegmentEvent, SegmentSink, StreamEvent, StreamSettings,
};
use nova_testkit::probe;

/// Our logs and FFmpeg's (routed through tracing) in the test output;
/// `RUST_LOG` widens them.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

/// A sink that keeps every event and part, to look at afterwards.
#[derive(Default)]
pub struct Recorder(
    Mutex<Vec<SegmentEvent>>,
    Mutex<Vec<nova_media::PartialSegment>>,
);

impl Recorder {
    pub fn parts_of(&self, rendition: &str) -> Vec<nova_media::PartialSegment> {
        let parts = self.1.lock().unwrap();
        parts
            .iter()
            .filter(|p| p.rendition.as_ref() == rendition)
            .cloned()
            .collect()
    }

    pub fn events(&self) -> Vec<SegmentEvent> {
        self.0.lock().unwrap().clone()
    }

    /// The muxed output's segments ([`MUXED_RENDITION`]).
    pub fn segments(&self) -> Vec<nova_media::MediaSegment> {
        self.segments_of(MUXED_RENDITION)
    }

    pub fn segments_of(&self, rendition: &str) -> Vec<nova_media::MediaSegment> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                SegmentEvent::Segment(s) if s.rendition.as_ref() == rendition => Some(s),
                _ => None,
            })
            .collect()
    }

    /// An init segment of the muxed output.
    pub fn init(&self, name: &str) -> bytes::Bytes {
        self.init_of(MUXED_RENDITION, name)
    }

    pub fn init_of(&self, rendition: &str, name: &str) -> bytes::Bytes {
        self.events()
            .into_iter()
            .find_map(|e| match e {
                SegmentEvent::Init(i) if i.name == name && i.rendition.as_ref() == rendition => {
                    Some(i.data)
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("no init segment {name} in {rendition}"))
    }

    /// Every fMP4 segment of `rendition` behind its init segment, as
    /// ffprobe and ffmpeg judge it.
    pub fn probe_each(&self, rendition: &str) -> Vec<(nova_media::MediaSegment, probe::Report)> {
        let dir = tempfile::tempdir().unwrap();
        self.segments_of(rendition)
            .into_iter()
            .map(|segment| {
                let init = segment
                    .init_name
                    .as_deref()
                    .expect("fMP4 segments have an init");
                let mut bytes = self.init_of(rendition, init).to_vec();
                bytes.extend_from_slice(&segment.data);
                let name = format!("{rendition}-{}", segment.name);
                let report = probe::probe(dir.path(), &name, &bytes);
                (segment, report)
            })
            .collect()
    }
}

impl SegmentSink for Recorder {
    fn handle(&self, event: &SegmentEvent) {
        self.0.lock().unwrap().push(event.clone());
    }

    fn part(&self, part: &nova_media::PartialSegment) {
        self.1.lock().unwrap().push(part.clone());
    }
}

/// Hands every event to several sinks, as the server hands them to the live
/// window and the recorder.
pub struct Tee(pub Vec<Arc<dyn SegmentSink>>);

impl SegmentSink for Tee {
    fn handle(&self, event: &SegmentEvent) {
        for sink in &self.0 {
            sink.handle(event);
        }
    }

    fn part(&self, part: &nova_media::PartialSegment) {
        for sink in &self.0 {
            sink.part(part);
        }
    }

    fn rendition_dropped(&self, stream: nova_media::StreamId, rendition: &str) {
        for sink in &self.0 {
            sink.rendition_dropped(stream, rendition);
        }
    }
}

pub fn settings(container: SegmentContainer, target_secs: u64) -> Arc<StreamSettings> {
    Arc::new(StreamSettings {
        container,
        target_segment_duration: std::time::Duration::from_secs(target_secs),
        live_window_segments: 6,
        ..StreamSettings::default()
    })
}

pub fn publish_started(session: u32, settings: &Arc<StreamSettings>) -> StreamEvent {
    StreamEvent::PublishStarted {
        session,
        settings: settings.clone(),
    }
}
