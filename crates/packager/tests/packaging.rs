//! The packager end to end with real media: FLV made by the ffmpeg CLI goes
//! in as hub events, and ffprobe, ffmpeg and m3u8-rs judge what comes out.

mod support;

use std::path::Path;
use std::sync::Arc;

use m3u8_rs::{MediaPlaylist, Playlist};
use nova_media::{
    CachePolicy, Frame, LivePlayback, MUXED_RENDITION, MediaSegment, SegmentContainer,
    SegmentEvent, StreamEvent, StreamId, StreamSettings, Track,
};
use nova_origin::{Origin, OriginConfig};
use nova_packager::{Packager, PackagerCounters};
use nova_testkit::probe::{Report, probe};
use support::{Recorder, Tee, flv, media, publish_started, settings};

struct Run {
    stream: StreamId,
    recorder: Arc<Recorder>,
    windows: Arc<Origin>,
    counters: PackagerCounters,
}

fn run(config: OriginConfig, events: Vec<StreamEvent>) -> Run {
    support::init_logging();
    let stream = StreamId::new_random();
    let recorder = Arc::new(Recorder::default());
    let windows = Arc::new(Origin::with_config(config));
    let sink = Arc::new(Tee(vec![recorder.clone(), windows.clone()]));
    let mut packager = Packager::new(stream, sink);
    for event in events {
        packager.handle(event);
    }
    let counters = packager.counters();
    Run {
        stream,
        recorder,
        windows,
        counters,
    }
}

impl Run {
    fn segments(&self) -> Vec<MediaSegment> {
        self.recorder.segments()
    }

    fn playlist(&self) -> (String, MediaPlaylist) {
        let object = self
            .windows
            .get(self.stream, "index.m3u8")
            .expect("a playlist");
        let text = String::from_utf8(object.body.to_vec()).unwrap();
        match m3u8_rs::parse_playlist_res(&object.body) {
            Ok(Playlist::MediaPlaylist(playlist)) => (text, playlist),
            other => panic!("not a media playlist ({other:?}):\n{text}"),
        }
    }

    /// A segment as a player fetches it: its init segment first, for fMP4.
    fn playable(&self, segment: &MediaSegment) -> Vec<u8> {
        let mut bytes = match &segment.init_name {
            Some(init) => self.recorder.init(init).to_vec(),
            None => Vec::new(),
        };
        bytes.extend_from_slice(&segment.data);
        bytes
    }

    fn probe_each(&self, dir: &Path) -> Vec<Report> {
        self.segments()
            .iter()
            .map(|segment| probe(dir, &segment.name, &self.playable(segment)))
            .collect()
    }
}

/// Every segment decodes cleanly, starts on a keyframe, carries audio, and
/// lasts what it claims.
fn assert_segments_play(run: &Run, reports: &[Report]) {
    for (segment, report) in run.segments().iter().zip(reports) {
        assert!(
            report.decode_errors.is_empty(),
            "{}: {}",
            segment.name,
            report.decode_errors
        );
        assert!(
            report.first_video_is_keyframe(),
            "{} does not start on a keyframe",
            segment.name
        );
        assert!(report.audio_packets() > 0, "{} has no audio", segment.name);
        let listed = segment.duration_ms as f64 / 1000.0;
        assert!(
            (report.video_duration() - listed).abs() < 0.05,
            "{}: listed {listed} s, its video lasts {} s",
            segment.name,
            report.video_duration()
        );
    }
}

fn session(
    id: u32,
    container: SegmentContainer,
    target_secs: u64,
    media: &[StreamEvent],
) -> Vec<StreamEvent> {
    let mut events = vec![publish_started(id, &settings(container, target_secs))];
    events.extend(media.iter().cloned());
    events.push(StreamEvent::PublishStopped { session: id });
    events
}

fn frame_of(event: &StreamEvent) -> Option<&Frame> {
    match event {
        StreamEvent::Frame(frame) => Some(frame),
        _ => None,
    }
}

/// Configs, and frames that decode before `end_ms`.
fn until(events: &[StreamEvent], end_ms: i64) -> Vec<StreamEvent> {
    events
        .iter()
        .filter(|e| frame_of(e).is_none_or(|f| f.dts < end_ms))
        .cloned()
        .collect()
}

fn shifted(events: &[StreamEvent], by_ms: i64) -> Vec<StreamEvent> {
    events
        .iter()
        .map(|event| match event {
            StreamEvent::Frame(frame) => StreamEvent::Frame(Frame {
                dts: frame.dts + by_ms,
                pts: frame.pts + by_ms,
                ..frame.clone()
            }),
            other => other.clone(),
        })
        .collect()
}

fn durations(run: &Run) -> Vec<u64> {
    run.segments().iter().map(|s| s.duration_ms).collect()
}

fn inits(run: &Run) -> Vec<String> {
    run.recorder
        .events()
        .into_iter()
        .filter_map(|e| match e {
            SegmentEvent::Init(init) if init.rendition.as_ref() == MUXED_RENDITION => {
                Some(init.name)
            }
            _ => None,
        })
        .collect()
}

/// Decode-order video (pts − first pts, dts − first dts) in milliseconds.
fn relative_video_times(times: impl Iterator<Item = (f64, f64)>) -> Vec<(f64, f64)> {
    let times: Vec<(f64, f64)> = times.collect();
    let Some(&(pts0, dts0)) = times.first() else {
        return Vec::new();
    };
    times
        .iter()
        .map(|&(pts, dts)| (pts - pts0, dts - dts0))
        .collect()
}

fn assert_b_frame_timing(source: &[StreamEvent], packaged: &Report) {
    let expected = relative_video_times(
        source
            .iter()
            .filter_map(frame_of)
            .filter(|f| f.track == Track::Video)
            .map(|f| (f.pts as f64, f.dts as f64)),
    );
    let actual = relative_video_times(
        packaged
            .video()
            .iter()
            .map(|p| (p.pts * 1000.0, p.dts * 1000.0)),
    );
    assert_eq!(
        actual.len(),
        expected.len(),
        "every video frame is packaged"
    );
    assert!(
        expected.iter().any(|(pts, dts)| pts < dts),
        "the source has B-frames (presentation before decode order)"
    );
    for (index, (got, want)) in actual.iter().zip(&expected).enumerate() {
        assert!(
            (got.0 - want.0).abs() < 1.5 && (got.1 - want.1).abs() < 1.5,
            "video frame {index}: pts/dts {got:?} ms, source {want:?} ms"
        );
    }
}

#[test]
fn fmp4_segments_decode_start_on_keyframes_and_keep_b_frame_timing() {
    let source = flv::stream_events(media::av_flv());
    let mut events = session(1, SegmentContainer::Fmp4, 2, &source);
    events.push(StreamEvent::StreamEnded);
    let run = run(OriginConfig::default(), events);

    let kinds: Vec<&str> = run
        .recorder
        .events()
        .iter()
        .filter(|e| match e {
            SegmentEvent::Init(i) => i.rendition.as_ref() == MUXED_RENDITION,
            SegmentEvent::Segment(s) => s.rendition.as_ref() == MUXED_RENDITION,
            _ => true,
        })
        .map(|e| match e {
            SegmentEvent::Started { settings, .. } => {
                assert_eq!(settings.container, SegmentContainer::Fmp4);
                "started"
            }
            SegmentEvent::Init(_) => "init",
            SegmentEvent::Segment(_) => "segment",
            SegmentEvent::Ended { .. } => "ended",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "started", "init", "segment", "segment", "segment", "segment", "ended"
        ]
    );
    assert_eq!(durations(&run), [2000, 2000, 2000, 1000]);
    let segments = run.segments();
    let starts: Vec<i64> = segments.iter().map(|s| s.start_ms).collect();
    assert_eq!(starts, [0, 2000, 4000, 6000]);
    assert!(
        segments
            .iter()
            .all(|s| !s.discontinuity && s.init_name.as_deref() == Some(inits(&run)[0].as_str()))
    );
    assert_eq!(
        segments.iter().map(|s| s.sequence).collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
    assert!(
        segments
            .windows(2)
            .all(|w| w[1].program_date_time > w[0].program_date_time)
    );
    assert_eq!(run.counters.mux_errors, 0);
    assert_eq!(run.counters.frames_skipped, 0);

    let dir = tempfile::tempdir().unwrap();
    let reports = run.probe_each(dir.path());
    assert_segments_play(&run, &reports);
    let video_frames: Vec<usize> = reports.iter().map(|r| r.video().len()).collect();
    assert_eq!(video_frames, [60, 60, 60, 30]);

    // The whole session as one file: composition offsets survive muxing.
    let mut whole = run.recorder.init(&inits(&run)[0]).to_vec();
    for segment in &segments {
        whole.extend_from_slice(&segment.data);
    }
    assert_b_frame_timing(&source, &probe(dir.path(), "whole.mp4", &whole));

    let (text, playlist) = run.playlist();
    assert!(playlist.end_list, "{text}");
    assert_eq!(playlist.version, Some(7), "{text}");
    assert_eq!(playlist.target_duration, 2, "{text}");
    assert_eq!(text.matches("#EXT-X-MAP:URI=").count(), 1, "{text}");
    assert_eq!(
        text.matches("#EXT-X-PROGRAM-DATE-TIME:").count(),
        4,
        "{text}"
    );
    let listed: Vec<(&str, f32)> = playlist
        .segments
        .iter()
        .map(|s| (s.uri.as_str(), s.duration))
        .collect();
    let expected: Vec<(&str, f32)> = segments
        .iter()
        .map(|s| (s.name.as_str(), s.duration_ms as f32 / 1000.0))
        .collect();
    assert_eq!(listed, expected);
    assert!(text.contains("#EXTINF:2.000,"), "{text}");

    let playlist_object = run.windows.get(run.stream, "index.m3u8").unwrap();
    assert_eq!(playlist_object.cache, CachePolicy::FinalPlaylist);
    let init = run
        .windows
        .get(run.stream, &playlist.segments[0].map.as_ref().unwrap().uri)
        .unwrap();
    assert_eq!(
        (init.content_type, init.cache),
        ("video/mp4", CachePolicy::Immutable)
    );
    let first = run.windows.get(run.stream, &segments[0].name).unwrap();
    assert_eq!(
        (first.content_type, first.cache),
        ("video/mp4", CachePolicy::Immutable)
    );
    assert_eq!(first.body, segments[0].data);
    assert!(run.windows.get(run.stream, "unknown.m4s").is_none());
    assert!(
        run.windows
            .get(StreamId::new_random(), "index.m3u8")
            .is_none()
    );
}

#[test]
fn ts_segments_probe_clean_on_their_own() {
    let source = flv::stream_events(media::av_flv());
    let mut events = session(1, SegmentContainer::Ts, 4, &source);
    events.push(StreamEvent::StreamEnded);
    let run = run(OriginConfig::default(), events);

    assert!(inits(&run).is_empty(), "MPEG-TS has no init segment");
    assert_eq!(durations(&run), [4000, 3000]);
    let segments = run.segments();
    for segment in &segments {
        assert!(segment.name.ends_with(".ts") && segment.init_name.is_none());
        // Each segment opens with PAT (PID 0) then PMT: decodable alone.
        let pids: Vec<u16> = segment.data[..188 * 3]
            .chunks(188)
            .map(|packet| {
                assert_eq!(packet[0], 0x47, "TS sync byte");
                u16::from_be_bytes([packet[1] & 0x1f, packet[2]])
            })
            .collect();
        assert!(
            pids.contains(&0),
            "{}: first packets {pids:?} carry no PAT",
            segment.name
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let reports = run.probe_each(dir.path());
    assert_segments_play(&run, &reports);
    let mut whole = Vec::new();
    for segment in &segments {
        whole.extend_from_slice(&segment.data);
    }
    assert_b_frame_timing(&source, &probe(dir.path(), "whole.ts", &whole));

    let (text, playlist) = run.playlist();
    assert_eq!(playlist.version, Some(3), "{text}");
    assert_eq!(playlist.target_duration, 4, "{text}");
    assert!(!text.contains("EXT-X-MAP"), "{text}");
    let first = run.windows.get(run.stream, &segments[0].name).unwrap();
    assert_eq!(first.content_type, "video/mp2t");
}

#[test]
fn a_takeover_continues_the_timeline_after_a_discontinuity() {
    let source = flv::stream_events(media::av_flv());
    for container in [SegmentContainer::Fmp4, SegmentContainer::Ts] {
        // The first publisher is cut off mid-GOP; the second one's clock
        // starts from zero again and arrives without a stop in between.
        let mut events = vec![publish_started(1, &settings(container, 2))];
        events.extend(until(&source, 3_500));
        events.push(publish_started(2, &settings(container, 2)));
        events.extend(source.iter().cloned());
        events.push(StreamEvent::StreamEnded);
        let run = run(OriginConfig::default(), events);

        assert_eq!(
            durations(&run),
            [2000, 1500, 2000, 2000, 2000, 1000],
            "{container:?}"
        );
        let segments = run.segments();
        let discontinuities: Vec<bool> = segments.iter().map(|s| s.discontinuity).collect();
        assert_eq!(
            discontinuities,
            [false, false, true, false, false, false],
            "{container:?}"
        );
        for pair in segments.windows(2) {
            let end = pair[0].start_ms + pair[0].duration_ms as i64;
            assert!(
                pair[1].start_ms >= end,
                "{container:?}: {} starts before {} ends",
                pair[1].name,
                pair[0].name
            );
        }
        assert!(
            segments[2].start_ms - (segments[1].start_ms + 1500) < 100,
            "the takeover leaves no long gap"
        );

        let (text, playlist) = run.playlist();
        assert_eq!(
            playlist.segments.iter().filter(|s| s.discontinuity).count(),
            1,
            "{text}"
        );
        let maps = text.matches("#EXT-X-MAP:").count();
        assert_eq!(
            maps,
            if container == SegmentContainer::Fmp4 {
                2
            } else {
                0
            },
            "{text}"
        );

        let dir = tempfile::tempdir().unwrap();
        let reports = run.probe_each(dir.path());
        assert_segments_play(&run, &reports);
        let starts: Vec<f64> = reports.iter().map(Report::video_start).collect();
        assert!(
            starts.windows(2).all(|w| w[1] > w[0]),
            "{container:?}: segment start times go backwards: {starts:?}"
        );
        // Media time matches what the segments claim.
        for (segment, start) in segments.iter().zip(&starts) {
            assert!(
                (start - segment.start_ms as f64 / 1000.0).abs() < 0.2,
                "{container:?}: {} claims {} ms, starts at {start} s",
                segment.name,
                segment.start_ms
            );
        }
    }
}

#[test]
fn the_window_slides_and_counts_discontinuities() {
    let source = flv::stream_events(media::av_flv());
    let mut events = session(1, SegmentContainer::Fmp4, 2, &source);
    events.extend(session(2, SegmentContainer::Fmp4, 2, &source));
    let three_segments = Arc::new(StreamSettings {
        live_window_segments: 3,
        ..StreamSettings::default()
    });
    for event in &mut events {
        if let StreamEvent::PublishStarted { settings, .. } = event {
            *settings = three_segments.clone();
        }
    }
    let run = run(OriginConfig::default(), events);
    let segments = run.segments();
    assert_eq!(segments.len(), 8);
    assert!(segments[4].discontinuity);

    // The packager was dropped without StreamEnded: the playlist still ends.
    let (text, playlist) = run.playlist();
    assert!(playlist.end_list, "{text}");
    assert_eq!(playlist.media_sequence, 5, "{text}");
    assert_eq!(playlist.discontinuity_sequence, 1, "{text}");
    let listed: Vec<&str> = playlist.segments.iter().map(|s| s.uri.as_str()).collect();
    let expected: Vec<&str> = segments[5..].iter().map(|s| s.name.as_str()).collect();
    assert_eq!(listed, expected);
    assert_eq!(
        playlist.segments[0].map.as_ref().map(|m| m.uri.as_str()),
        segments[5].init_name.as_deref(),
        "the window's first segment maps its init segment:\n{text}"
    );
    // Slid out moments ago: still served (RFC 8216 §6.2.2), with its init.
    for segment in &segments[..5] {
        let object = run
            .windows
            .get(run.stream, &segment.name)
            .expect("still in its grace period");
        assert_eq!(object.body, segment.data);
    }
    assert!(
        run.windows
            .get(run.stream, segments[0].init_name.as_deref().unwrap())
            .is_some()
    );
}

#[test]
fn frames_dropped_upstream_start_a_discontinuous_segment() {
    let source = flv::stream_events(media::av_flv());
    // Like the hub: a gap, then the next frame is a video keyframe (at 4 s).
    let resume = source
        .iter()
        .position(|e| {
            frame_of(e).is_some_and(|f| f.track == Track::Video && f.keyframe && f.dts >= 3_000)
        })
        .unwrap();
    let gap_start = source
        .iter()
        .position(|e| frame_of(e).is_some_and(|f| f.dts >= 3_000))
        .unwrap();
    let mut media: Vec<StreamEvent> = source[..gap_start].to_vec();
    media.push(StreamEvent::FramesDropped {
        count: (resume - gap_start) as u64,
    });
    media.extend(source[resume..].iter().cloned());
    let mut events = session(1, SegmentContainer::Fmp4, 2, &media);
    events.push(StreamEvent::StreamEnded);
    let run = run(OriginConfig::default(), events);

    assert_eq!(durations(&run), [2000, 1000, 2000, 1000]);
    let segments = run.segments();
    assert_eq!(
        segments
            .iter()
            .map(|s| (s.start_ms, s.discontinuity))
            .collect::<Vec<_>>(),
        [(0, false), (2000, false), (4000, true), (6000, false)]
    );
    assert_eq!(inits(&run).len(), 2, "the muxer restarts after the gap");
    assert_eq!(
        run.counters.frames_dropped_upstream,
        (resume - gap_start) as u64
    );
    let dir = tempfile::tempdir().unwrap();
    assert_segments_play(&run, &run.probe_each(dir.path()));
}

#[test]
fn a_new_codec_configuration_gets_a_new_init_segment() {
    let first = flv::stream_events(media::av_flv());
    let second = shifted(&flv::stream_events(media::small_av_flv()), 7_100);
    let mut media = first.clone();
    media.extend(second);
    let mut events = session(1, SegmentContainer::Fmp4, 2, &media);
    events.push(StreamEvent::StreamEnded);
    let run = run(OriginConfig::default(), events);

    assert_eq!(durations(&run), [2000, 2000, 2000, 1000, 2000, 2000]);
    let segments = run.segments();
    assert_eq!(segments[4].start_ms, 7_100);
    assert!(segments[4].discontinuity && !segments[3].discontinuity);
    assert_ne!(segments[3].init_name, segments[4].init_name);
    let (text, _) = run.playlist();
    assert_eq!(text.matches("#EXT-X-MAP:").count(), 2, "{text}");
    let dir = tempfile::tempdir().unwrap();
    assert_segments_play(&run, &run.probe_each(dir.path()));
}

#[test]
fn video_only_streams_package_in_both_containers() {
    let source: Vec<StreamEvent> = flv::stream_events(media::av_flv())
        .into_iter()
        .filter(|e| !matches!(e, StreamEvent::AudioConfig(_)))
        .filter(|e| frame_of(e).is_none_or(|f| f.track == Track::Video))
        .collect();
    for container in [SegmentContainer::Fmp4, SegmentContainer::Ts] {
        let run = run(OriginConfig::default(), session(1, container, 2, &source));
        assert_eq!(durations(&run), [2000, 2000, 2000, 1000], "{container:?}");
        let dir = tempfile::tempdir().unwrap();
        for (segment, report) in run.segments().iter().zip(run.probe_each(dir.path())) {
            assert!(
                report.decode_errors.is_empty(),
                "{}: {}",
                segment.name,
                report.decode_errors
            );
            assert!(report.first_video_is_keyframe() && report.audio_packets() == 0);
        }
    }
}

#[test]
fn hevc_is_passed_through_in_fmp4_with_its_picture_size() {
    let source = media::hevc_video_events();
    let run = run(
        OriginConfig::default(),
        session(1, SegmentContainer::Fmp4, 2, &source),
    );
    assert_eq!(run.counters.mux_errors, 0, "{:?}", run.counters);
    // Two GOPs of 2 s; the MP4's 1/15360 timestamps round to milliseconds.
    let lasted = durations(&run);
    assert_eq!(lasted.len(), 2, "{lasted:?}");
    assert!(
        lasted.iter().all(|d| (1_990..=2_010).contains(d)),
        "{lasted:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    for (segment, report) in run.segments().iter().zip(run.probe_each(dir.path())) {
        assert!(
            report.decode_errors.is_empty(),
            "{}: {}",
            segment.name,
            report.decode_errors
        );
        assert!(report.first_video_is_keyframe(), "{}", segment.name);
    }
    // The master playlist states the codec and size from the bitstream.
    let master = run
        .windows
        .get(run.stream, "master.m3u8")
        .expect("a master playlist");
    let text = String::from_utf8(master.body.to_vec()).unwrap();
    assert!(text.contains("RESOLUTION=640x360"), "{text}");
    assert!(text.contains("CODECS=\"hvc1."), "{text}");
}

#[test]
fn audio_only_streams_are_cut_on_time() {
    let source = flv::stream_events(media::audio_only_flv());
    let mut events = session(1, SegmentContainer::Fmp4, 2, &source);
    events.push(StreamEvent::StreamEnded);
    let run = run(OriginConfig::default(), events);
    let segments = run.segments();
    assert!(segments.len() >= 2, "{:?}", durations(&run));
    // Cut on the first audio frame (23 ms at 44.1 kHz) at the target, give
    // or take the cut tolerance.
    for segment in &segments[..segments.len() - 1] {
        assert!(
            (1990..2030).contains(&segment.duration_ms),
            "{} lasts {} ms",
            segment.name,
            segment.duration_ms
        );
    }
    let dir = tempfile::tempdir().unwrap();
    for (segment, report) in segments.iter().zip(run.probe_each(dir.path())) {
        assert!(
            report.decode_errors.is_empty(),
            "{}: {}",
            segment.name,
            report.decode_errors
        );
        assert!(report.video().is_empty() && report.audio_packets() > 0);
    }
}

#[test]
fn bad_input_is_counted_and_never_fatal() {
    let source = flv::stream_events(media::av_flv());
    let configs: Vec<StreamEvent> = source
        .iter()
        .filter(|e| frame_of(e).is_none())
        .cloned()
        .collect();
    let first_audio = source
        .iter()
        .filter_map(frame_of)
        .find(|f| f.track == Track::Audio)
        .unwrap()
        .clone();
    let garbage_keyframe = Frame {
        track: Track::Video,
        dts: 0,
        pts: 0,
        keyframe: true,
        // A NAL unit length far beyond the payload.
        data: bytes::Bytes::from_static(&[0xff, 0xff, 0xff, 0xff, 0x65, 0x88]),
    };
    let mut events = vec![
        StreamEvent::Frame(garbage_keyframe.clone()),
        configs[0].clone(),
        StreamEvent::PublishStopped { session: 9 },
        publish_started(1, &settings(SegmentContainer::Ts, 2)),
        StreamEvent::Frame(first_audio.clone()),
    ];
    events.extend(configs.iter().cloned());
    events.push(StreamEvent::Frame(Frame {
        data: bytes::Bytes::new(),
        ..first_audio.clone()
    }));
    events.push(StreamEvent::Frame(garbage_keyframe));
    // Timestamps that do not increase are the hub's to repair
    // (nova_rtmp_ingest's hub tests), before frames reach a packager.
    events.extend(shifted(&source, 100));
    events.push(StreamEvent::StreamEnded);
    events.push(StreamEvent::Frame(first_audio));
    let run = run(OriginConfig::default(), events);

    let counters = run.counters;
    assert_eq!(counters.mux_errors, 1, "{counters:?}");
    assert!(counters.frames_skipped >= 3, "{counters:?}");
    assert!(counters.events_ignored >= 2, "{counters:?}");
    assert_eq!(durations(&run), [2000, 2000, 2000, 1000]);
    assert!(
        run.segments().iter().all(|s| !s.discontinuity),
        "nothing played before the failure"
    );
    let dir = tempfile::tempdir().unwrap();
    let reports = run.probe_each(dir.path());
    for (segment, report) in run.segments().iter().zip(&reports) {
        assert!(
            report.decode_errors.is_empty(),
            "{}: {}",
            segment.name,
            report.decode_errors
        );
        assert!(report.first_video_is_keyframe(), "{}", segment.name);
    }
}

#[test]
fn a_configuration_no_muxer_accepts_is_refused_once() {
    // An HEVC record carries no picture size we can parse, and MP4 needs one.
    let mut record = vec![0u8; 23];
    record[0] = 1;
    record[1] = 0x01;
    record[12] = 93;
    record[21] = 0x03;
    let hevc = nova_media::codec::HevcConfig::parse(record.into()).unwrap();
    let mut events = vec![
        publish_started(1, &settings(SegmentContainer::Fmp4, 2)),
        StreamEvent::VideoConfig(nova_media::VideoConfig::Hevc(hevc)),
    ];
    for index in 0..300 {
        events.push(StreamEvent::Frame(Frame {
            track: Track::Video,
            dts: index * 33,
            pts: index * 33,
            keyframe: index % 60 == 0,
            data: bytes::Bytes::from_static(&[0, 0, 0, 2, 0x26, 0x01]),
        }));
    }
    events.push(StreamEvent::StreamEnded);
    let run = run(OriginConfig::default(), events);
    // Refused once by the muxed output and once by the source video rendition.
    assert_eq!(run.counters.mux_errors, 2, "{:?}", run.counters);
    assert!(run.segments().is_empty());
    assert!(run.windows.get(run.stream, "index.m3u8").is_none());
}

#[test]
fn the_server_can_move_and_share_them() {
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    send::<Packager>();
    send::<Origin>();
    sync::<Origin>();
}
