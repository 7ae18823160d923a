//! `abr` streams, with real media: a 720p source packaged with the ladder's
//! 480p and 360p beside it, every rendition's segments decodable on their
//! own and cut at the same media times, listed together in the master
//! playlist and the MPD, and continued after a publisher reconnects; a
//! ladder that cannot keep up drops its top rendition and goes on; the
//! low-latency mode encodes without B-frames.

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use m3u8_rs::Playlist;
use nova_media::{
    LivePlayback, MediaSegment, SOURCE_RENDITION, SegmentContainer, SegmentEvent, SegmentSink,
    StreamEvent, StreamId, StreamSettings, TranscodeProfile,
};
use nova_origin::Origin;
use nova_packager::{AbrConfig, Packager};
use nova_testkit::mpd::mpd_summary;
use nova_testkit::probe::Report;
use support::{Recorder, Tee, flv, media, publish_started};

const VIDEO_RENDITIONS: [&str; 3] = [SOURCE_RENDITION, "480p", "360p"];
/// One frame at 30 fps on the millisecond timeline (33 or 34 ms), in
/// seconds: ffprobe places a source keyframe that B-frames follow a frame
/// later than the same picture in a rendition without B-frames.
const FRAME_SECS: f64 = 0.034 + 1e-6;

/// The packager's sink, plus the renditions it was told were dropped.
#[derive(Default)]
struct Dropped(Mutex<Vec<String>>);

impl SegmentSink for Dropped {
    fn handle(&self, _event: &SegmentEvent) {}

    fn rendition_dropped(&self, _stream: StreamId, rendition: &str) {
        self.0.lock().unwrap().push(rendition.to_owned());
    }
}

struct Run {
    stream: StreamId,
    recorder: Arc<Recorder>,
    windows: Arc<Origin>,
    dropped: Arc<Dropped>,
}

fn abr_settings(low_latency: bool) -> Arc<StreamSettings> {
    Arc::new(StreamSettings {
        container: SegmentContainer::Fmp4,
        target_segment_duration: std::time::Duration::from_secs(2),
        live_window_segments: 6,
        transcode: TranscodeProfile::Abr,
        low_latency,
        ..StreamSettings::default()
    })
}

/// Two publish sessions of the 720p source, then the end of the stream.
fn two_sessions() -> Run {
    // The file is fed far faster than real time: no lag policy, or the
    // ladder would shed renditions it has all the time in the world for.
    let abr = AbrConfig {
        preset: "ultrafast".to_owned(),
        max_lag: None,
        ..AbrConfig::default()
    };
    package(&[1, 2], &abr_settings(false), abr)
}

/// Publish `sessions` of the 720p source with `settings`, then the end
/// of the stream.
fn package(sessions: &[u32], settings: &Arc<StreamSettings>, abr: AbrConfig) -> Run {
    support::init_logging();
    let mut events = Vec::new();
    for &session in sessions {
        events.push(publish_started(session, settings));
        events.extend(flv::stream_events(media::hd_av_flv()));
        events.push(StreamEvent::PublishStopped { session });
    }
    events.push(StreamEvent::StreamEnded);

    let stream = StreamId::new_random();
    let recorder = Arc::new(Recorder::default());
    let windows = Arc::new(Origin::new());
    let dropped = Arc::new(Dropped::default());
    let sink = Tee(vec![recorder.clone(), windows.clone(), dropped.clone()]);
    let mut packager = Packager::new(stream, Arc::new(sink)).with_abr(abr);
    for event in events {
        packager.handle(event);
    }
    Run {
        stream,
        recorder,
        windows,
        dropped,
    }
}

impl Run {
    fn get(&self, path: &str) -> bytes::Bytes {
        self.windows
            .get(self.stream, path)
            .unwrap_or_else(|| panic!("{path} is not served"))
            .body
    }
}

#[test]
fn a_720p_source_is_packaged_with_aligned_480p_and_360p_renditions() {
    let run = two_sessions();
    assert!(
        run.dropped.0.lock().unwrap().is_empty(),
        "nothing is dropped without a lag policy"
    );

    // The master playlist lists every video rendition, as m3u8-rs reads it.
    let master = run.get("master.m3u8");
    let Ok(Playlist::MasterPlaylist(master)) = m3u8_rs::parse_playlist_res(&master) else {
        panic!(
            "not a master playlist: {}",
            String::from_utf8_lossy(&master)
        );
    };
    let variants: BTreeMap<&str, (u64, u64, &str, u64)> = master
        .variants
        .iter()
        .map(|v| {
            let resolution = v.resolution.unwrap();
            let name = v.uri.split('/').next().unwrap();
            let codecs = v.codecs.as_deref().unwrap();
            (
                name,
                (resolution.width, resolution.height, codecs, v.bandwidth),
            )
        })
        .collect();
    assert_eq!(
        variants.keys().copied().collect::<Vec<_>>(),
        ["360p", "480p", "source"],
        "{master:?}"
    );
    assert_eq!([variants["source"].0, variants["source"].1], [1280, 720]);
    assert_eq!([variants["480p"].0, variants["480p"].1], [854, 480]);
    assert_eq!([variants["360p"].0, variants["360p"].1], [640, 360]);
    for (name, (_, _, codecs, bandwidth)) in &variants {
        assert!(
            codecs.starts_with("avc1.") && codecs.ends_with(",mp4a.40.2"),
            "{name}: {codecs}"
        );
        assert!(*bandwidth > 1, "{name}: measured, not a placeholder");
    }
    // A smaller picture costs fewer bits.
    assert!(variants["360p"].3 < variants["480p"].3);

    // Every segment of every rendition decodes on its own, from a keyframe,
    // and lasts no longer than the target (a 2 s GOP).
    let probed: BTreeMap<&str, Vec<(MediaSegment, Report)>> = VIDEO_RENDITIONS
        .iter()
        .map(|&rendition| (rendition, run.recorder.probe_each(rendition)))
        .collect();
    for (rendition, segments) in &probed {
        assert_eq!(
            segments.len(),
            4,
            "{rendition}: two 2 s segments per session"
        );
        for (segment, report) in segments {
            assert!(
                report.first_video_is_keyframe(),
                "{rendition} {}",
                segment.name
            );
            assert!(
                report.decode_errors.is_empty(),
                "{rendition} {}: {}",
                segment.name,
                report.decode_errors
            );
            assert!(
                report.video_duration() <= 2.0 + FRAME_SECS,
                "{rendition} {} lasts {} s",
                segment.name,
                report.video_duration()
            );
        }
    }

    // Segment N is the same media time in every rendition, and the second
    // publisher starts a discontinuity at the same sequence in each.
    let source = &probed[SOURCE_RENDITION];
    for rendition in ["480p", "360p"] {
        let rung = &probed[rendition];
        for ((s, s_report), (r, r_report)) in source.iter().zip(rung) {
            assert_eq!(s.sequence, r.sequence, "{rendition}");
            assert_eq!(s.discontinuity, r.discontinuity, "{rendition} {}", r.name);
            assert!(
                (s_report.video_start() - r_report.video_start()).abs() <= FRAME_SECS,
                "{rendition} {} starts at {} s, the source's at {} s",
                r.name,
                r_report.video_start(),
                s_report.video_start()
            );
        }
        let discontinuities: Vec<u64> = rung
            .iter()
            .filter(|(s, _)| s.discontinuity)
            .map(|(s, _)| s.sequence)
            .collect();
        assert_eq!(discontinuities, [2], "{rendition}");
    }

    // The MPD has the three video Representations in each of its Periods.
    let mpd = mpd_summary(&run.get("manifest.mpd"));
    let periods = mpd["periods"].as_array().unwrap();
    assert_eq!(periods.len(), 2, "{mpd}");
    for period in periods {
        let text = period.to_string();
        for rendition in VIDEO_RENDITIONS {
            assert!(
                text.contains(&format!("\"{rendition}\"")),
                "{rendition}: {period}"
            );
        }
    }
}

/// The live degrade policy with real encoders: the file reaches the ladder
/// far faster than real time, as if the machine could not keep up, and the
/// lag limit is 100 ms. The top transcoded rendition is dropped (and the
/// sink told), the manifests leave it out, and the one below it runs to
/// the end of the stream.
#[test]
fn a_ladder_that_cannot_keep_up_drops_its_top_rendition_and_goes_on() {
    let abr = AbrConfig {
        // Slow enough that no machine encodes as fast as it decodes.
        preset: "medium".to_owned(),
        max_lag: Some(std::time::Duration::from_millis(100)),
        ..AbrConfig::default()
    };
    let run = package(&[1], &abr_settings(false), abr);
    assert_eq!(*run.dropped.0.lock().unwrap(), ["480p"]);

    let master = String::from_utf8(run.get("master.m3u8").to_vec()).unwrap();
    assert!(master.contains("360p/index.m3u8"), "{master}");
    assert!(master.contains("source/index.m3u8"), "{master}");
    assert!(!master.contains("480p"), "{master}");
    let mpd = mpd_summary(&run.get("manifest.mpd")).to_string();
    assert!(
        mpd.contains("\"360p\"") && !mpd.contains("\"480p\""),
        "{mpd}"
    );

    // The rendition left covers the whole stream, every segment whole.
    let segments = run.recorder.probe_each("360p");
    assert_eq!(segments.len(), 2, "4 s of 2 s segments");
    for (segment, report) in &segments {
        assert!(report.first_video_is_keyframe(), "{}", segment.name);
        assert!(report.decode_errors.is_empty(), "{}", segment.name);
    }
}

/// `latency_mode: low` reaches the encoders: x264 with `zerolatency` sends
/// no B-frames, so every picture decodes in the order it arrives (DTS =
/// PTS) and a player can show a frame as soon as it has it. The default
/// mode does use B-frames at the same preset.
#[test]
fn low_latency_streams_are_encoded_without_b_frames() {
    for low_latency in [true, false] {
        let abr = AbrConfig {
            // veryfast (the default) uses B-frames unless told not to.
            preset: "veryfast".to_owned(),
            max_lag: None,
            ..AbrConfig::default()
        };
        let run = package(&[1], &abr_settings(low_latency), abr);
        let reordered = run
            .recorder
            .probe_each("480p")
            .iter()
            .flat_map(|(_, report)| report.video().into_iter().cloned().collect::<Vec<_>>())
            .filter(|packet| (packet.pts - packet.dts).abs() > 1e-6)
            .count();
        if low_latency {
            assert_eq!(reordered, 0, "no frame is shown out of decode order");
        } else {
            assert!(reordered > 0, "B-frames at the default latency");
        }
    }
}
