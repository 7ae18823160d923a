//! One CMAF track per rendition, with real media: the source video and the
//! audio each get segments of their own, cut at the same media times, that
//! ffprobe reads on their own, and the master playlist and the MPD describe
//! them as m3u8-rs and Python's XML parser read them.

mod support;

use std::sync::Arc;

use m3u8_rs::Playlist;
use nova_media::fmp4::{FragmentInfo, TrackInfo, TrackKind};
use nova_media::{
    AUDIO_RENDITION, InitSegment, LivePlayback, MUXED_RENDITION, MediaSegment, SOURCE_RENDITION,
    SegmentContainer, SegmentEvent, StreamEvent, StreamId,
};
use nova_origin::{Origin, OriginConfig};
use nova_packager::Packager;
use nova_testkit::mpd::mpd_summary;
use serde_json::Value;
use support::{Recorder, Tee, flv, media, publish_started, settings};

/// One AAC frame at 48 kHz, in ms (1024 samples), rounded up.
const AUDIO_FRAME_MS: i64 = 22;

struct Run {
    /// Kept alive: dropping it ends the stream.
    _packager: Packager,
    stream: StreamId,
    recorder: Arc<Recorder>,
    windows: Arc<Origin>,
}

fn run(events: Vec<StreamEvent>) -> Run {
    support::init_logging();
    let stream = StreamId::new_random();
    let recorder = Arc::new(Recorder::default());
    let windows = Arc::new(Origin::with_config(OriginConfig {
        clock_url: Some("http://127.0.0.1:1/api/v1/clock".into()),
        ..OriginConfig::default()
    }));
    let mut packager = Packager::new(
        stream,
        Arc::new(Tee(vec![recorder.clone(), windows.clone()])),
    );
    for event in events {
        packager.handle(event);
    }
    Run {
        _packager: packager,
        stream,
        recorder,
        windows,
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

fn sequences(segments: &[MediaSegment]) -> Vec<u64> {
    segments.iter().map(|s| s.sequence).collect()
}

fn av_session(id: u32) -> Vec<StreamEvent> {
    let mut events = vec![publish_started(id, &settings(SegmentContainer::Fmp4, 2))];
    events.extend(flv::stream_events(media::av_flv()));
    events
}

#[test]
fn video_and_audio_renditions_are_cut_at_the_same_media_times() {
    let mut events = av_session(1);
    events.push(StreamEvent::StreamEnded);
    let run = run(events);
    let muxed = run.recorder.segments_of(MUXED_RENDITION);
    let video = run.recorder.segments_of(SOURCE_RENDITION);
    let audio = run.recorder.segments_of(AUDIO_RENDITION);
    assert_eq!(muxed.len(), 4);
    assert_eq!(sequences(&video), sequences(&muxed));
    assert_eq!(sequences(&audio), sequences(&muxed));
    // The encoder's first audio frame comes a little after its first
    // keyframe: the audio rendition starts there, and after that at the
    // first audio frame at or after each video cut.
    let first_audio = flv::stream_events(media::av_flv())
        .iter()
        .find_map(|e| match e {
            StreamEvent::Frame(f) if f.track == nova_media::Track::Audio && f.dts >= 0 => {
                Some(f.dts)
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(audio[0].start_ms, first_audio);
    for ((m, v), a) in muxed.iter().zip(&video).zip(&audio).skip(1) {
        assert_eq!((v.start_ms, v.duration_ms), (m.start_ms, m.duration_ms));
        assert!(
            (v.start_ms..v.start_ms + AUDIO_FRAME_MS).contains(&a.start_ms),
            "audio {} starts at {} ms, video at {} ms",
            a.sequence,
            a.start_ms,
            v.start_ms
        );
    }

    for (segment, report) in run.recorder.probe_each(SOURCE_RENDITION) {
        assert!(
            report.decode_errors.is_empty(),
            "{}: {}",
            segment.name,
            report.decode_errors
        );
        assert_eq!(report.audio_packets(), 0, "{}: video only", segment.name);
        assert!(report.first_video_is_keyframe(), "{}", segment.name);
        let listed = segment.duration_ms as f64 / 1000.0;
        assert!(
            (report.video_duration() - listed).abs() < 0.05 && listed <= 2.05,
            "{}: listed {listed} s, lasts {} s",
            segment.name,
            report.video_duration()
        );
    }
    let audio_reports = run.recorder.probe_each(AUDIO_RENDITION);
    let mut previous_end: Option<f64> = None;
    for (segment, report) in &audio_reports {
        assert!(
            report.decode_errors.is_empty(),
            "{}: {}",
            segment.name,
            report.decode_errors
        );
        assert!(report.video().is_empty(), "{}: audio only", segment.name);
        let packets = &report.packets;
        let start = report.audio_start();
        let end = packets
            .iter()
            .map(|p| p.pts + p.duration)
            .fold(f64::MIN, f64::max);
        assert!(
            (start - segment.start_ms as f64 / 1000.0).abs() < 0.002,
            "{}",
            segment.name
        );
        assert!(
            (end - start - segment.duration_ms as f64 / 1000.0).abs() < 0.03,
            "{}",
            segment.name
        );
        // Continuous: each segment starts where the one before ended.
        if let Some(previous) = previous_end {
            assert!(
                (start - previous).abs() < 0.002,
                "{}: gap from {previous} to {start}",
                segment.name
            );
        }
        previous_end = Some(end);
    }
}

#[test]
fn the_master_playlist_describes_the_renditions_from_their_bitstreams() {
    let source = flv::stream_events(media::av_flv());
    let mut events = av_session(1);
    events.push(StreamEvent::StreamEnded);
    let run = run(events);
    let (video_config, audio_config) = source.iter().fold((None, None), |(v, a), e| match e {
        StreamEvent::VideoConfig(c) => (Some(c.clone()), a),
        StreamEvent::AudioConfig(c) => (v, Some(c.clone())),
        _ => (v, a),
    });
    let codecs = format!(
        "{},{}",
        video_config.unwrap().rfc6381_codec(),
        audio_config.unwrap().rfc6381_codec()
    );
    assert_eq!(
        codecs, "avc1.4d401e,mp4a.40.2",
        "libx264 main@3.0 and AAC-LC"
    );

    let body = run.get("master.m3u8");
    let text = String::from_utf8(body.to_vec()).unwrap();
    let Ok(Playlist::MasterPlaylist(master)) = m3u8_rs::parse_playlist_res(&body) else {
        panic!("not a master playlist:\n{text}");
    };
    assert!(master.independent_segments, "{text}");
    assert_eq!(master.variants.len(), 1, "{text}");
    let variant = &master.variants[0];
    assert_eq!(variant.uri, "source/index.m3u8");
    assert_eq!(variant.codecs.as_deref(), Some(codecs.as_str()));
    let resolution = variant.resolution.unwrap();
    assert_eq!((resolution.width, resolution.height), (640, 360));
    assert!((variant.frame_rate.unwrap() - 30.0).abs() < 0.5, "{text}");
    assert_eq!(variant.audio.as_deref(), Some("audio"));
    // Peak and average of video plus audio, as listed.
    let video = run.recorder.segments_of(SOURCE_RENDITION);
    let audio = run.recorder.segments_of(AUDIO_RENDITION);
    let bytes: usize = video.iter().chain(&audio).map(|s| s.data.len()).sum();
    let ms: u64 = video.iter().map(|s| s.duration_ms).sum();
    let average = (bytes as u64 * 8 * 1000) / ms;
    assert_eq!(variant.average_bandwidth, Some(average), "{text}");
    assert!(variant.bandwidth >= average, "{text}");
    let alternative = &master.alternatives[0];
    assert_eq!(alternative.uri.as_deref(), Some("audio/index.m3u8"));
    assert_eq!(alternative.group_id, "audio");

    for rendition in [SOURCE_RENDITION, AUDIO_RENDITION] {
        let body = run.get(&format!("{rendition}/index.m3u8"));
        let Ok(Playlist::MediaPlaylist(playlist)) = m3u8_rs::parse_playlist_res(&body) else {
            panic!("{rendition}: not a media playlist");
        };
        assert_eq!(playlist.segments.len(), 4, "{rendition}");
        assert!(playlist.end_list);
        for segment in &playlist.segments {
            assert!(
                run.windows
                    .get(run.stream, &format!("{rendition}/{}", segment.uri))
                    .is_some()
            );
        }
        let map = playlist.segments[0].map.as_ref().unwrap();
        assert!(
            run.windows
                .get(run.stream, &format!("{rendition}/{}", map.uri))
                .is_some()
        );
    }
    // The muxed output stays where it was, and the renditions do not leak
    // into its directory.
    assert!(run.windows.get(run.stream, "index.m3u8").is_some());
    assert!(run.windows.get(run.stream, "main/index.m3u8").is_none());
    assert!(
        run.windows
            .get(run.stream, &format!("audio/{}", video[0].name))
            .is_some()
    );
}

fn representation<'a>(period: &'a Value, content: &str) -> &'a Value {
    let set = period["adaptationSets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|set| set["contentType"] == content)
        .unwrap_or_else(|| panic!("no {content} adaptation set: {period}"));
    &set["representations"][0]
}

/// The `t` of every S element in `rep`, in seconds, checked against the
/// segments: one S per segment, durations summing to theirs.
fn check_timeline(rep: &Value, segments: &[MediaSegment]) {
    let timescale = rep["timescale"].as_u64().unwrap() as f64;
    let entries = rep["segments"].as_array().unwrap();
    assert_eq!(entries.len(), segments.len(), "{rep}");
    assert_eq!(
        rep["startNumber"].as_u64(),
        Some(segments[0].sequence),
        "{rep}"
    );
    let listed: f64 = entries.iter().map(|s| s[1].as_f64().unwrap()).sum::<f64>() / timescale;
    let actual: f64 = segments.iter().map(|s| s.duration_ms as f64).sum::<f64>() / 1000.0;
    assert!(
        (listed - actual).abs() < 0.03,
        "timeline {listed} s, segments {actual} s: {rep}"
    );
    for (entry, segment) in entries.iter().zip(segments) {
        let t = entry[0].as_f64().unwrap() / timescale;
        // t is the tfdt: the segment's first decode time.
        assert!(
            (t - segment.start_ms as f64 / 1000.0).abs() < 0.1,
            "S@t {t} for {}: {rep}",
            segment.start_ms
        );
    }
    // $Number$ and the init name resolve to what is served.
    let media = rep["media"].as_str().unwrap();
    assert_eq!(
        media.replace("$Number$", &segments[0].sequence.to_string()),
        format!("{}/{}", rep["id"].as_str().unwrap(), segments[0].name)
    );
}

#[test]
fn the_mpd_lists_every_segment_and_a_reconnect_starts_a_period() {
    let source = flv::stream_events(media::av_flv());
    let mut events = vec![publish_started(1, &settings(SegmentContainer::Fmp4, 2))];
    events.extend(
        source
            .iter()
            .filter(|e| match e {
                StreamEvent::Frame(f) => f.dts < 4_500,
                _ => true,
            })
            .cloned(),
    );
    events.push(StreamEvent::PublishStopped { session: 1 });
    events.extend(av_session(2));
    let live = {
        let run = run(events.clone());
        mpd_summary(&run.get("manifest.mpd"))
    };
    assert_eq!(live["type"], "dynamic");
    assert!(
        live["minimumUpdatePeriod"].as_f64().unwrap() >= 2.0,
        "{live}"
    );
    assert_eq!(live["utcTiming"][0], "http://127.0.0.1:1/api/v1/clock");

    events.push(StreamEvent::StreamEnded);
    let run = run(events);
    let mpd = mpd_summary(&run.get("manifest.mpd"));
    assert!(
        mpd["minimumUpdatePeriod"].is_null(),
        "an ended MPD is final: {mpd}"
    );
    let video = run.recorder.segments_of(SOURCE_RENDITION);
    let audio = run.recorder.segments_of(AUDIO_RENDITION);
    // The second publisher starts a discontinuity in every rendition, at
    // the same sequence number.
    let first_of_second: Vec<u64> = [&video, &audio]
        .iter()
        .map(|segments| segments.iter().find(|s| s.discontinuity).unwrap().sequence)
        .collect();
    assert_eq!(first_of_second[0], first_of_second[1]);
    let split = first_of_second[0];
    assert_eq!(
        sequences(&video),
        (0..video.len() as u64).collect::<Vec<_>>()
    );

    let periods = mpd["periods"].as_array().unwrap();
    assert_eq!(periods.len(), 2, "{mpd}");
    assert_eq!(periods[1]["id"], split.to_string());
    assert!(
        periods[1]["start"].as_f64() >= periods[0]["start"].as_f64(),
        "{mpd}"
    );
    let window = |segments: &[MediaSegment], from: u64, to: u64| -> Vec<MediaSegment> {
        // The live window holds the last 6 segments.
        let oldest = segments.len().saturating_sub(6) as u64;
        segments
            .iter()
            .filter(|s| s.sequence >= from.max(oldest) && s.sequence < to)
            .cloned()
            .collect()
    };
    for (index, (from, to)) in [(0, split), (split, u64::MAX)].into_iter().enumerate() {
        let period = &periods[index];
        let video_rep = representation(period, "video");
        let audio_rep = representation(period, "audio");
        assert_eq!(video_rep["codecs"], "avc1.4d401e");
        assert_eq!(audio_rep["codecs"], "mp4a.40.2");
        check_timeline(video_rep, &window(&video, from, to));
        check_timeline(audio_rep, &window(&audio, from, to));
        // presentationTimeOffset is the Period's first media time.
        let pto = video_rep["presentationTimeOffset"].as_f64().unwrap()
            / video_rep["timescale"].as_f64().unwrap();
        let first = video.iter().find(|s| s.sequence == from).unwrap();
        assert!(
            (pto - first.start_ms as f64 / 1000.0).abs() < 0.001,
            "{period}"
        );
        for set in period["adaptationSets"].as_array().unwrap() {
            assert_eq!(set["segmentAlignment"], "true");
            assert_eq!(set["startWithSAP"], "1");
        }
    }
}

/// A publisher whose timestamps jitter makes a GOP a few milliseconds
/// longer than four part targets (2.006 s): that segment's last part keeps
/// its last frame rather than leaving it alone in a part of its own. hls.js
/// counts a segment as buffered once all but 0.2 s of it is, never loads a
/// sliver part, and stalls at the segment's end (the cause of a stall in
/// `browser_playback`).
#[test]
fn jittered_timestamps_do_not_end_a_segment_with_a_sliver_of_a_part() {
    let mut events = vec![publish_started(1, &settings(SegmentContainer::Fmp4, 2))];
    let mut frames = flv::stream_events(media::av_flv());
    let second_keyframe = frames
        .iter()
        .filter_map(|e| match e {
            StreamEvent::Frame(f) if f.keyframe && f.track == nova_media::Track::Video => {
                Some(f.dts)
            }
            _ => None,
        })
        .nth(1)
        .expect("a second keyframe");
    for event in &mut frames {
        if let StreamEvent::Frame(frame) = event
            && frame.dts >= second_keyframe
        {
            frame.dts += 6;
            frame.pts += 6;
        }
    }
    events.extend(frames);
    events.push(StreamEvent::StreamEnded);
    let run = run(events);
    for rendition in [SOURCE_RENDITION, AUDIO_RENDITION] {
        let segments = run.recorder.segments_of(rendition);
        let parts = run.recorder.parts_of(rendition);
        let first = &segments[0];
        // Audio starts a little after the first keyframe.
        assert!(
            (1_900..2_050).contains(&first.duration_ms),
            "{rendition}: the first segment lasts {} ms",
            first.duration_ms
        );
        let own: Vec<u64> = parts
            .iter()
            .filter(|p| p.sequence == first.sequence)
            .map(|p| p.duration_ms)
            .collect();
        assert!(
            own.iter().all(|&d| (200..=550).contains(&d)),
            "{rendition}: parts of the 2.006 s segment: {own:?}"
        );
    }
}

#[test]
fn ll_hls_parts_make_up_the_segments_and_are_listed_while_live() {
    let run = run(av_session(1));
    let segments = run.recorder.segments_of(SOURCE_RENDITION);
    let parts = run.recorder.parts_of(SOURCE_RENDITION);
    assert_eq!(segments.len(), 3, "the fourth is still open");
    for segment in &segments {
        let own: Vec<_> = parts
            .iter()
            .filter(|p| p.sequence == segment.sequence)
            .collect();
        assert!(own.len() >= 4, "{} parts in 2 s", own.len());
        // RFC 8216bis §4.4.4.9: no part is longer than PART-TARGET.
        assert!(own.iter().all(|p| p.duration_ms <= 550), "{own:?}");
        assert_eq!(
            own.iter().map(|p| p.duration_ms).sum::<u64>(),
            segment.duration_ms
        );
        assert!(own[0].independent, "a segment starts on a keyframe");
        let joined: Vec<u8> = own.iter().flat_map(|p| p.data.to_vec()).collect();
        assert_eq!(joined, segment.data.to_vec(), "{}", segment.name);
        let indexes: Vec<u32> = own.iter().map(|p| p.index).collect();
        assert_eq!(indexes, (0..own.len() as u32).collect::<Vec<_>>());
    }

    let body = run.get("source/index.m3u8");
    let text = String::from_utf8(body.to_vec()).unwrap();
    let Ok(Playlist::MediaPlaylist(playlist)) = m3u8_rs::parse_playlist_res(&body) else {
        panic!("not a media playlist:\n{text}");
    };
    assert_eq!(playlist.segments.len(), 3, "{text}");
    assert!(
        text.contains("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.650\n#EXT-X-PART-INF:PART-TARGET=0.550\n"),
        "{text}"
    );
    // Every listed part is served; the open segment's parts come after the
    // last segment, then the hint of the next part.
    let open: Vec<_> = parts.iter().filter(|p| p.sequence == 3).collect();
    let tail: Vec<&str> = text.lines().rev().take(open.len() + 2).collect();
    let hint = format!(
        "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"{}\"",
        segments[0]
            .name
            .replace("-0.m4s", &format!("-3.{}.m4s", open.len()))
    );
    assert!(tail.contains(&hint.as_str()), "{hint}\n{text}");
    assert!(
        tail.iter()
            .any(|l| l.starts_with("#EXT-X-RENDITION-REPORT:URI=\"../audio/index.m3u8\",LAST-MSN=")),
        "{text}"
    );
    for line in text.lines().filter(|l| l.starts_with("#EXT-X-PART:")) {
        let uri = line
            .split("URI=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert!(
            run.windows
                .get(run.stream, &format!("source/{uri}"))
                .is_some(),
            "{uri} is listed but not served"
        );
    }
    let edge = run.windows.live_edge(run.stream, SOURCE_RENDITION).unwrap();
    assert_eq!(edge.last_segment, Some(2));
    assert_eq!((edge.open_segment, edge.open_parts), (3, open.len() as u32));
    assert_eq!(
        edge.next_part
            .map(|p| format!("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"{p}\"")),
        Some(hint)
    );
    assert!(!edge.ended);
    assert!(run.windows.live_edge(run.stream, MUXED_RENDITION).is_none());
}

#[test]
fn an_audio_only_stream_is_one_audio_rendition_in_the_master_and_the_mpd() {
    let mut events = vec![publish_started(1, &settings(SegmentContainer::Fmp4, 2))];
    events.extend(flv::stream_events(media::audio_only_flv()));
    events.push(StreamEvent::StreamEnded);
    let run = run(events);
    assert!(run.recorder.segments_of(SOURCE_RENDITION).is_empty());
    let audio = run.recorder.segments_of(AUDIO_RENDITION);
    assert_eq!(
        sequences(&audio),
        sequences(&run.recorder.segments_of(MUXED_RENDITION))
    );

    let body = run.get("master.m3u8");
    let text = String::from_utf8(body.to_vec()).unwrap();
    let Ok(Playlist::MasterPlaylist(master)) = m3u8_rs::parse_playlist_res(&body) else {
        panic!("not a master playlist:\n{text}");
    };
    assert_eq!(master.variants.len(), 1, "{text}");
    assert_eq!(master.variants[0].uri, "audio/index.m3u8");
    assert_eq!(master.variants[0].codecs.as_deref(), Some("mp4a.40.2"));

    let mpd = mpd_summary(&run.get("manifest.mpd"));
    let periods = mpd["periods"].as_array().unwrap();
    assert_eq!(periods.len(), 1, "{mpd}");
    let sets = periods[0]["adaptationSets"].as_array().unwrap();
    assert_eq!(sets.len(), 1, "{mpd}");
    check_timeline(representation(&periods[0], "audio"), &audio);
}

#[test]
fn segments_carry_what_the_packager_knows_about_their_bytes() {
    let mut events = av_session(1);
    events.push(StreamEvent::StreamEnded);
    let run = run(events);
    let inits: Vec<InitSegment> = run
        .recorder
        .events()
        .into_iter()
        .filter_map(|e| match e {
            SegmentEvent::Init(init) => Some(init),
            _ => None,
        })
        .collect();
    for init in &inits {
        if init.rendition.as_ref() == MUXED_RENDITION {
            // Two tracks: the first alone would misdescribe it.
            assert_eq!(init.track, None, "{}", init.name);
            continue;
        }
        // Exactly what reading the bytes back finds.
        let track = init.track.as_ref().expect("a one-track init is described");
        assert_eq!(Some(track), TrackInfo::parse(&init.data).as_ref());
        let video = init.rendition.as_ref() == SOURCE_RENDITION;
        assert_eq!(
            matches!(track.kind, TrackKind::Video { .. }),
            video,
            "{}",
            init.rendition
        );
    }
    assert!(inits.len() >= 3, "muxed, source and audio inits: {inits:?}");
    for rendition in [MUXED_RENDITION, SOURCE_RENDITION, AUDIO_RENDITION] {
        let segments = run.recorder.segments_of(rendition);
        assert!(!segments.is_empty(), "{rendition}");
        for segment in segments {
            let fragment = segment.fragment.expect("an fMP4 segment is described");
            assert_eq!(Some(fragment), FragmentInfo::parse(&segment.data));
            assert!(fragment.samples > 0, "{}", segment.name);
        }
    }
}

#[test]
fn mpeg_ts_segments_have_no_fragment() {
    let mut events = vec![publish_started(1, &settings(SegmentContainer::Ts, 2))];
    events.extend(flv::stream_events(media::av_flv()));
    events.push(StreamEvent::StreamEnded);
    let run = run(events);
    let segments = run.recorder.segments();
    assert!(!segments.is_empty());
    assert!(segments.iter().all(|s| s.fragment.is_none()));
}
