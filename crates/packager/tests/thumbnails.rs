//! Thumbnails from real packaged media: FLV made by the ffmpeg CLI goes
//! through the real packager into the thumbnailer, and ffprobe and ffmpeg
//! judge the JPEG that `thumbnail.jpg` serves.

mod support;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use nova_media::{
    CachePolicy, LivePlayback, MUXED_RENDITION, MediaSegment, SegmentContainer, SegmentEvent,
    SegmentSink, StreamEvent, StreamId,
};
use nova_origin::Origin;
use nova_packager::Packager;
use nova_packager::thumbnail::{
    THUMBNAIL_NAME, ThumbnailConfig, ThumbnailStats, Thumbnailer, WithThumbnails, render,
};
use nova_testkit::probe::{ImageReport, probe_image};
use support::{Recorder, Tee, flv, media, publish_started, settings};

struct Run {
    stream: StreamId,
    playback: WithThumbnails,
    thumbnails: Arc<Thumbnailer>,
    recorder: Arc<Recorder>,
}

/// One publish session of `file` through the packager, the live window and
/// the thumbnailer, with the thumbnail worker drained afterwards.
fn package(file: &[u8], container: SegmentContainer, config: ThumbnailConfig) -> Run {
    support::init_logging();
    nova_packager::init_ffmpeg();
    let stream = StreamId::new_random();
    let windows = Arc::new(Origin::new());
    let thumbnails = Arc::new(Thumbnailer::start(config).unwrap());
    let recorder = Arc::new(Recorder::default());
    let sink = Arc::new(Tee(vec![
        windows.clone(),
        thumbnails.clone(),
        recorder.clone(),
    ]));
    let mut packager = Packager::new(stream, sink);
    packager.handle(publish_started(1, &settings(container, 2)));
    for event in flv::stream_events(file) {
        packager.handle(event);
    }
    packager.handle(StreamEvent::PublishStopped { session: 1 });
    thumbnails.wait_idle();
    Run {
        stream,
        playback: WithThumbnails::new(windows, thumbnails.clone()),
        thumbnails,
        recorder,
    }
}

impl Run {
    fn thumbnail(&self) -> (Bytes, CachePolicy) {
        let object = self
            .playback
            .get(self.stream, THUMBNAIL_NAME)
            .expect("a thumbnail once segments were packaged");
        assert_eq!(object.content_type, "image/jpeg");
        (object.body, object.cache)
    }
}

fn judge(name: &str, jpeg: &[u8]) -> ImageReport {
    let dir = tempfile::tempdir().unwrap();
    let report = probe_image(dir.path(), name, jpeg);
    assert_eq!(report.codec, "mjpeg", "{report:?}");
    assert!(report.decode_errors.is_empty(), "{report:?}");
    // Full range, as JFIF means it, and the source's limited-range levels
    // stretched to it: testsrc2's darkest luma is 27 as H.264 codes it
    // (16 = black), about 12 once stretched (0 = black).
    assert_eq!(report.color_range, "pc", "{report:?}");
    assert!(
        report.luma.0 <= 20,
        "not stretched to full range: {report:?}"
    );
    report
}

#[test]
fn an_fmp4_stream_gets_a_jpeg_of_its_source_track() {
    let run = package(
        media::av_flv(),
        SegmentContainer::Fmp4,
        ThumbnailConfig::default(),
    );
    let (jpeg, cache) = run.thumbnail();
    let report = judge("fmp4.jpg", &jpeg);
    // 640x360 fits the bound: unscaled.
    assert_eq!((report.width, report.height), (640, 360), "{report:?}");
    let CachePolicy::Refreshed {
        max_age_secs,
        modified,
    } = cache
    else {
        panic!("a thumbnail is refreshed in place: {cache:?}");
    };
    assert_eq!(max_age_secs, 5, "cacheable for one interval");
    // Captured at the pictured segment's program date time.
    let segments = run.recorder.segments_of("source");
    assert!(
        segments.iter().any(|s| s.program_date_time == modified),
        "{modified:?} is no source segment's time"
    );
    let stats = run.thumbnails.stats();
    assert!(stats.rendered >= 1, "{stats:?}");
    assert_eq!(stats.failed, 0, "{stats:?}");
    // Everything else is still the live window's.
    assert!(run.playback.get(run.stream, "index.m3u8").is_some());
    assert!(run.playback.get(run.stream, "source/index.m3u8").is_some());
}

#[test]
fn an_mpeg_ts_stream_gets_a_jpeg_of_its_muxed_output() {
    let run = package(
        media::av_flv(),
        SegmentContainer::Ts,
        ThumbnailConfig::default(),
    );
    let (jpeg, _) = run.thumbnail();
    let report = judge("ts.jpg", &jpeg);
    assert_eq!((report.width, report.height), (640, 360), "{report:?}");
    assert!(!run.recorder.segments_of(MUXED_RENDITION).is_empty());
}

#[test]
fn wide_pictures_are_scaled_to_the_bound_keeping_their_aspect() {
    let run = package(
        media::hd_av_flv(),
        SegmentContainer::Fmp4,
        ThumbnailConfig {
            max_width: 480,
            ..ThumbnailConfig::default()
        },
    );
    let (jpeg, _) = run.thumbnail();
    let report = judge("hd.jpg", &jpeg);
    assert_eq!((report.width, report.height), (480, 270), "{report:?}");
}

#[test]
fn every_segment_renders_on_its_own() {
    // Each source segment, as the worker gets it, gives the same picture
    // size: the first decodable picture is the segment's first.
    let run = package(
        media::av_flv(),
        SegmentContainer::Fmp4,
        ThumbnailConfig::default(),
    );
    let segments = run.recorder.segments_of("source");
    assert!(segments.len() >= 3, "{} segments", segments.len());
    for segment in &segments {
        let mut media = run
            .recorder
            .init_of("source", segment.init_name.as_deref().unwrap())
            .to_vec();
        media.extend_from_slice(&segment.data);
        let jpeg = render(media, 320).unwrap();
        assert_eq!((jpeg.width, jpeg.height), (320, 180), "{}", segment.name);
        let report = judge(&format!("{}.jpg", segment.name), &jpeg.data);
        assert_eq!((report.width, report.height), (320, 180));
    }
}

#[test]
fn a_segment_that_does_not_decode_is_counted_and_serves_nothing() {
    nova_packager::init_ffmpeg();
    let thumbnails = Arc::new(Thumbnailer::start(ThumbnailConfig::default()).unwrap());
    let stream = StreamId::new_random();
    let garbage = |start_ms: i64, data: &'static [u8]| {
        SegmentEvent::Segment(MediaSegment {
            stream,
            rendition: Arc::from(MUXED_RENDITION),
            sequence: 1,
            name: format!("seg-{start_ms}.ts"),
            container: SegmentContainer::Ts,
            init_name: None,
            start_ms,
            duration_ms: 2000,
            discontinuity: false,
            program_date_time: SystemTime::now(),
            data: Bytes::from_static(data),
            fragment: None,
        })
    };
    thumbnails.handle(&SegmentEvent::Started {
        stream,
        settings: settings(SegmentContainer::Ts, 2),
    });
    thumbnails.handle(&garbage(0, b"not a transport stream"));
    thumbnails.wait_idle();
    thumbnails.handle(&garbage(10_000, &[0x47; 188 * 4]));
    thumbnails.wait_idle();
    assert_eq!(
        thumbnails.stats(),
        ThumbnailStats {
            rendered: 0,
            failed: 2,
            skipped_busy: 0,
        }
    );
    let playback = WithThumbnails::new(Arc::new(Origin::new()), thumbnails);
    assert!(playback.get(stream, THUMBNAIL_NAME).is_none());
    assert!(render(Vec::new(), 640).is_err());
}

#[test]
fn an_ended_stream_keeps_its_thumbnail_for_the_retention_only() {
    let run = package(
        media::small_av_flv(),
        SegmentContainer::Fmp4,
        ThumbnailConfig {
            ended_retention: Duration::ZERO,
            ..ThumbnailConfig::default()
        },
    );
    assert!(run.thumbnails.stats().rendered >= 1);
    assert!(
        run.playback.get(run.stream, THUMBNAIL_NAME).is_none(),
        "ended, and no retention"
    );
}
