//! Hub behaviour on paused tokio time: nothing here sleeps for real.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use nova_media::codec::{AacConfig, AvcConfig};
use nova_media::{
    AudioConfig, Frame, PublishGrant, StreamEvent, StreamId, StreamSettings, Track, VideoConfig,
};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::subscription::{BATCH_FRAMES, BATCH_SPAN_MS};
use super::*;
use crate::media::Media;

const WINDOW: Duration = Duration::from_secs(10);

enum Note {
    Started(StreamId, Subscription),
    Ended(StreamId),
}

/// Reports observer calls on a channel; optionally calls back into the hub
/// from `stream_started`, as an observer is allowed to.
struct Recorder {
    notes: mpsc::UnboundedSender<Note>,
    hub: OnceLock<Hub>,
    reentrant_subscriptions: mpsc::UnboundedSender<Option<Subscription>>,
}

impl HubObserver for Recorder {
    fn stream_started(&self, stream: StreamId, feed: Subscription) {
        if let Some(hub) = self.hub.get() {
            let _ = self.reentrant_subscriptions.send(hub.subscribe(stream));
        }
        let _ = self.notes.send(Note::Started(stream, feed));
    }

    fn stream_ended(&self, stream: StreamId) {
        let _ = self.notes.send(Note::Ended(stream));
    }
}

struct Fixture {
    hub: Hub,
    notes: mpsc::UnboundedReceiver<Note>,
    recorder: Arc<Recorder>,
    reentrant: mpsc::UnboundedReceiver<Option<Subscription>>,
}

fn fixture(config: HubConfig) -> Fixture {
    let (notes_tx, notes) = mpsc::unbounded_channel();
    let (reentrant_tx, reentrant) = mpsc::unbounded_channel();
    let recorder = Arc::new(Recorder {
        notes: notes_tx,
        hub: OnceLock::new(),
        reentrant_subscriptions: reentrant_tx,
    });
    Fixture {
        hub: Hub::new(config, recorder.clone()),
        notes,
        recorder,
        reentrant,
    }
}

fn config() -> HubConfig {
    HubConfig {
        reconnect_window: WINDOW,
        ..HubConfig::default()
    }
}

impl Fixture {
    async fn started(&mut self) -> (StreamId, Subscription) {
        match self.notes.recv().await {
            Some(Note::Started(stream, feed)) => (stream, feed),
            Some(Note::Ended(stream)) => panic!("expected a start, {stream} ended"),
            None => panic!("observer gone"),
        }
    }

    async fn ended(&mut self) -> StreamId {
        match self.notes.recv().await {
            Some(Note::Ended(stream)) => stream,
            Some(Note::Started(stream, _)) => panic!("expected an end, {stream} started"),
            None => panic!("observer gone"),
        }
    }

    fn no_notes(&mut self) -> bool {
        self.notes.try_recv().is_err()
    }
}

fn grant(stream: StreamId) -> PublishGrant {
    PublishGrant {
        stream_id: stream,
        settings: StreamSettings {
            live_window_segments: 4,
            ..StreamSettings::default()
        },
    }
}

fn video_config() -> VideoConfig {
    let record = "0164001fffe1001a6764001facd9405005bb0110000003001000000303c0f183196001000668ebe3cb22c0fdf8f800";
    let bytes: Vec<u8> = (0..record.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&record[i..i + 2], 16).unwrap())
        .collect();
    VideoConfig::Avc(AvcConfig::parse(Bytes::from(bytes)).unwrap())
}

fn audio_config() -> AudioConfig {
    AudioConfig::Aac(AacConfig::parse(Bytes::from_static(&[0x12, 0x10])).unwrap())
}

fn video(dts: i64, keyframe: bool) -> Frame {
    Frame {
        track: Track::Video,
        dts,
        pts: dts,
        keyframe,
        data: Bytes::from(dts.to_be_bytes().to_vec()),
    }
}

fn audio(dts: i64) -> Frame {
    Frame {
        track: Track::Audio,
        dts,
        pts: dts,
        keyframe: true,
        data: Bytes::from(dts.to_be_bytes().to_vec()),
    }
}

/// A short, stable description of an event, to compare sequences.
fn describe(event: &StreamEvent) -> String {
    match event {
        StreamEvent::PublishStarted { session, .. } => format!("start {session}"),
        StreamEvent::VideoConfig(_) => "video config".to_owned(),
        StreamEvent::AudioConfig(_) => "audio config".to_owned(),
        StreamEvent::Frame(f) => {
            let kind = match (f.track, f.keyframe) {
                (Track::Video, true) => "K",
                (Track::Video, false) => "P",
                (Track::Audio, _) => "A",
            };
            format!("{kind}{}", f.dts)
        }
        StreamEvent::FramesDropped { count } => format!("dropped {count}"),
        StreamEvent::PublishStopped { session } => format!("stop {session}"),
        StreamEvent::StreamEnded => "ended".to_owned(),
    }
}

/// Everything queued now, without waiting.
fn drain(subscription: &mut Subscription) -> Vec<String> {
    std::iter::from_fn(|| subscription.try_recv())
        .map(|event| describe(&event))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn the_feed_sees_the_whole_publish_and_a_clean_unpublish_ends_the_stream_at_once() {
    let mut f = fixture(config());
    let id = StreamId::new_random();
    let publisher = f.hub.publish(&grant(id)).unwrap();
    let (started, mut feed) = f.started().await;
    assert_eq!(started, id);
    assert_eq!(f.hub.live_streams(), vec![id]);

    publisher.send(Media::VideoConfig(video_config()));
    publisher.send(Media::AudioConfig(audio_config()));
    publisher.send(Media::Frame(video(0, true)));
    publisher.send(Media::Frame(audio(10)));
    publisher.send(Media::Frame(video(33, false)));
    // An identical sequence header again (some encoders repeat it) is not news.
    publisher.send(Media::VideoConfig(video_config()));

    match feed.recv().await {
        Some(StreamEvent::PublishStarted { session, settings }) => {
            assert_eq!(session, 1);
            assert_eq!(*settings, grant(id).settings);
        }
        other => panic!("expected PublishStarted, got {other:?}"),
    }
    // The feed is woken per batch: frames after a keyframe wait for the
    // next keyframe, a control event, or a full batch.
    assert_eq!(drain(&mut feed), ["video config", "audio config", "K0"]);

    let before = Instant::now();
    publisher.finish();
    assert_eq!(f.ended().await, id);
    assert_eq!(
        Instant::now(),
        before,
        "a clean unpublish does not wait for the window"
    );
    assert_eq!(drain(&mut feed), ["A10", "P33", "stop 1", "ended"]);
    assert!(
        feed.recv().await.is_none(),
        "the queue closes after StreamEnded"
    );
    assert!(f.hub.live_streams().is_empty());
    assert!(f.hub.subscribe(id).is_none());
}

#[tokio::test(start_paused = true)]
async fn a_second_publisher_takes_over_without_restarting_the_stream() {
    let mut f = fixture(config());
    let id = StreamId::new_random();
    let first = f.hub.publish(&grant(id)).unwrap();
    let (_, mut feed) = f.started().await;
    first.send(Media::VideoConfig(video_config()));
    first.send(Media::Frame(video(0, true)));

    let second = f.hub.publish(&grant(id)).unwrap();
    assert_eq!(second.session(), 2);
    assert!(
        tokio::time::timeout(Duration::ZERO, first.disconnect_requested())
            .await
            .is_ok(),
        "the old publisher is asked to disconnect"
    );
    assert!(first.taken_over());
    assert!(
        !first.send(Media::Frame(video(33, false))),
        "the old publisher's media is discarded"
    );
    drop(first);
    second.send(Media::VideoConfig(video_config()));
    second.send(Media::Frame(video(5_000, true)));

    assert_eq!(
        drain(&mut feed),
        [
            "start 1",
            "video config",
            "K0",
            "stop 1",
            "start 2",
            "video config",
            "K5000"
        ]
    );
    assert!(f.no_notes(), "no second stream_started, no stream_ended");
    assert_eq!(f.hub.live_streams(), vec![id]);

    second.finish();
    assert_eq!(f.ended().await, id);
    assert_eq!(drain(&mut feed), ["stop 2", "ended"]);
}

#[tokio::test(start_paused = true)]
async fn an_unclean_disconnect_keeps_the_stream_live_for_the_reconnect_window() {
    let mut f = fixture(config());
    let id = StreamId::new_random();
    let publisher = f.hub.publish(&grant(id)).unwrap();
    let (_, mut feed) = f.started().await;
    publisher.send(Media::VideoConfig(video_config()));
    publisher.send(Media::Frame(video(0, true)));
    drop(publisher);

    // Just inside the window the publisher comes back.
    tokio::time::advance(WINDOW - Duration::from_millis(1)).await;
    settle().await;
    assert!(f.no_notes());
    assert_eq!(f.hub.live_streams(), vec![id]);
    let late = f
        .hub
        .subscribe(id)
        .expect("the stream is live in the window");
    let back = f.hub.publish(&grant(id)).unwrap();
    assert_eq!(back.session(), 2);
    back.send(Media::Frame(video(10_000, true)));

    // The first window's timer fires and must not end the continued stream.
    tokio::time::advance(Duration::from_secs(1)).await;
    settle().await;
    assert!(f.no_notes());
    assert_eq!(
        drain(&mut feed),
        [
            "start 1",
            "video config",
            "K0",
            "stop 1",
            "start 2",
            "K10000"
        ]
    );
    let mut late = late;
    assert_eq!(
        drain(&mut late),
        ["start 1", "video config", "stop 1", "start 2", "K10000"],
        "a subscriber joining in the window sees the stopped session first"
    );

    // This time nobody comes back.
    drop(back);
    let dropped = Instant::now();
    assert_eq!(f.ended().await, id);
    assert!(Instant::now() - dropped >= WINDOW);
    assert_eq!(drain(&mut feed), ["stop 2", "ended"]);
    assert!(f.hub.live_streams().is_empty());

    // The next publisher starts a new stream life.
    let again = f.hub.publish(&grant(id)).unwrap();
    assert_eq!(again.session(), 1);
    let (restarted, _) = f.started().await;
    assert_eq!(restarted, id);
}

#[tokio::test(start_paused = true)]
async fn a_slow_subscriber_misses_frames_up_to_a_keyframe_and_never_blocks_the_publisher() {
    let limit = 8;
    let mut f = fixture(HubConfig {
        subscriber_queue_frames: limit,
        ..config()
    });
    let id = StreamId::new_random();
    let publisher = f.hub.publish(&grant(id)).unwrap();
    let (_, feed) = f.started().await;
    drop(feed);
    publisher.send(Media::VideoConfig(video_config()));
    let mut slow = f.hub.subscribe(id).unwrap();

    publisher.send(Media::Frame(video(0, true)));
    for dts in 1..=20 {
        assert!(publisher.send(Media::Frame(video(dts, false))));
        assert!(slow.queued_frames() <= limit);
    }
    let mut events = drain(&mut slow);
    // The consumer caught up; the next keyframe resumes delivery.
    publisher.send(Media::Frame(video(21, true)));
    publisher.send(Media::Frame(video(22, false)));
    events.extend(drain(&mut slow));
    assert_eq!(
        events,
        [
            "start 1",
            "video config",
            "K0",
            "P1",
            "P2",
            "P3",
            "P4",
            "P5",
            "P6",
            "P7",
            "dropped 13",
            "K21",
            "P22"
        ]
    );

    // A consumer that never reads costs the publisher nothing but memory
    // for `limit` frames.
    let mut stalled = f.hub.subscribe(id).unwrap();
    for dts in 100..10_100 {
        assert!(publisher.send(Media::Frame(video(dts, dts % 60 == 0))));
    }
    assert!(stalled.queued_frames() <= limit);
    let replay_and_queue = drain(&mut stalled);
    assert!(replay_and_queue.len() <= limit + 2, "{replay_and_queue:?}");
}

#[tokio::test(start_paused = true)]
async fn an_audio_only_subscriber_resumes_once_its_queue_drained() {
    let limit = 4;
    let mut f = fixture(HubConfig {
        subscriber_queue_frames: limit,
        ..config()
    });
    let id = StreamId::new_random();
    let publisher = f.hub.publish(&grant(id)).unwrap();
    let _ = f.started().await;
    // A per-frame subscriber: the policy is about frames, not wakeups.
    let mut feed = f.hub.subscribe(id).unwrap();
    publisher.send(Media::AudioConfig(audio_config()));
    for dts in 0..10 {
        publisher.send(Media::Frame(audio(dts * 23)));
    }
    let mut events = drain(&mut feed);
    publisher.send(Media::Frame(audio(230)));
    events.extend(drain(&mut feed));
    assert_eq!(
        events,
        [
            "start 1",
            "audio config",
            "A0",
            "A23",
            "A46",
            "A69",
            "dropped 6",
            "A230"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn late_joiners_get_the_configs_and_the_gop_from_its_keyframe() {
    let mut f = fixture(config());
    let id = StreamId::new_random();
    let publisher = f.hub.publish(&grant(id)).unwrap();
    let _feed = f.started().await;
    publisher.send(Media::VideoConfig(video_config()));
    publisher.send(Media::AudioConfig(audio_config()));
    publisher.send(Media::Frame(audio(-20)));
    publisher.send(Media::Frame(video(0, true)));
    publisher.send(Media::Frame(video(33, false)));
    publisher.send(Media::Frame(video(66, true)));
    publisher.send(Media::Frame(audio(70)));
    publisher.send(Media::Frame(video(99, false)));

    let mut late = f.hub.subscribe(id).unwrap();
    publisher.send(Media::Frame(video(132, false)));
    assert_eq!(
        drain(&mut late),
        [
            "start 1",
            "video config",
            "audio config",
            "K66",
            "A70",
            "P99",
            "P132"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn without_a_gop_cache_late_joiners_wait_for_the_next_keyframe() {
    let mut f = fixture(HubConfig {
        gop_cache: false,
        ..config()
    });
    let id = StreamId::new_random();
    let publisher = f.hub.publish(&grant(id)).unwrap();
    let _feed = f.started().await;
    publisher.send(Media::VideoConfig(video_config()));
    publisher.send(Media::Frame(video(0, true)));
    publisher.send(Media::Frame(video(33, false)));

    let mut late = f.hub.subscribe(id).unwrap();
    publisher.send(Media::Frame(audio(40)));
    publisher.send(Media::Frame(video(66, false)));
    publisher.send(Media::Frame(video(99, true)));
    publisher.send(Media::Frame(audio(100)));
    assert_eq!(drain(&mut late), ["start 1", "video config", "K99", "A100"]);
}

#[tokio::test(start_paused = true)]
async fn shutdown_ends_every_stream_and_disconnects_publishers() {
    let mut f = fixture(config());
    let (a, b) = (StreamId::new_random(), StreamId::new_random());
    let publisher_a = f.hub.publish(&grant(a)).unwrap();
    let (_, mut feed_a) = f.started().await;
    let publisher_b = f.hub.publish(&grant(b)).unwrap();
    let (_, mut feed_b) = f.started().await;
    drop(publisher_b); // b is in its reconnect window

    f.hub.shutdown();
    let mut ended = vec![f.ended().await, f.ended().await];
    ended.sort();
    let mut expected = vec![a, b];
    expected.sort();
    assert_eq!(ended, expected);
    assert_eq!(drain(&mut feed_a), ["start 1", "stop 1", "ended"]);
    assert_eq!(drain(&mut feed_b), ["start 1", "stop 1", "ended"]);
    assert!(
        tokio::time::timeout(Duration::ZERO, publisher_a.disconnect_requested())
            .await
            .is_ok()
    );
    assert!(!publisher_a.taken_over());
    assert!(f.hub.live_streams().is_empty());
    assert_eq!(f.hub.publish(&grant(a)).err(), Some(HubClosed));

    // b's window timer fires after the shutdown and finds nothing to do.
    drop(publisher_a);
    tokio::time::advance(WINDOW * 2).await;
    settle().await;
    assert!(f.no_notes());
}

#[tokio::test(start_paused = true)]
async fn the_observer_may_call_back_into_the_hub() {
    let mut f = fixture(config());
    let _ = f.recorder.hub.set(f.hub.clone());
    let id = StreamId::new_random();
    let publisher = f.hub.publish(&grant(id)).unwrap();
    let (_, _feed) = f.started().await;
    let from_observer = f.reentrant.recv().await.unwrap();
    let mut from_observer = from_observer.expect("the stream is live when stream_started runs");
    publisher.send(Media::Frame(audio(0)));
    assert_eq!(drain(&mut from_observer), ["start 1", "A0"]);
}

#[tokio::test(start_paused = true)]
async fn dropped_subscriptions_are_forgotten() {
    let mut f = fixture(config());
    let id = StreamId::new_random();
    let publisher = f.hub.publish(&grant(id)).unwrap();
    let (_, feed) = f.started().await;
    drop(feed);
    let gone = f.hub.subscribe(id).unwrap();
    drop(gone);
    assert!(publisher.send(Media::Frame(audio(0))));
    let stream = lock(&publisher_stream(&f.hub, id)).subscriber_count();
    assert_eq!(stream, 0);
}

fn publisher_stream(hub: &Hub, id: StreamId) -> Arc<Mutex<StreamState>> {
    lock(&hub.inner.registry).streams[&id].clone()
}

/// Lets spawned timer tasks run after a time advance.
async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn the_feed_is_woken_per_batch_and_at_every_keyframe() {
    let mut f = fixture(config());
    let id = StreamId::new_random();
    let publisher = f.hub.publish(&grant(id)).unwrap();
    let (_, mut feed) = f.started().await;
    let mut player = f.hub.subscribe(id).unwrap();
    publisher.send(Media::VideoConfig(video_config()));
    publisher.send(Media::Frame(video(0, true)));
    for dts in 1..BATCH_FRAMES as i64 {
        publisher.send(Media::Frame(video(dts, false)));
    }
    let first = drain(&mut feed);
    assert_eq!(first.len(), 3, "start, config, keyframe: {first:?}");
    // A player sees every frame as it comes.
    assert_eq!(drain(&mut player).len(), 2 + BATCH_FRAMES);

    // The batch fills: everything held back arrives at once.
    publisher.send(Media::Frame(video(BATCH_FRAMES as i64, false)));
    assert_eq!(drain(&mut feed).len(), BATCH_FRAMES);
    // A keyframe is never held back, nor anything before it.
    publisher.send(Media::Frame(video(100, false)));
    publisher.send(Media::Frame(video(101, true)));
    assert_eq!(drain(&mut feed), ["P100", "K101"]);
}

#[tokio::test(start_paused = true)]
async fn a_batch_is_handed_over_once_it_spans_a_tenth_of_a_second() {
    let mut f = fixture(config());
    let id = StreamId::new_random();
    let publisher = f.hub.publish(&grant(id)).unwrap();
    let (_, mut feed) = f.started().await;
    publisher.send(Media::VideoConfig(video_config()));
    publisher.send(Media::Frame(video(0, true)));
    drain(&mut feed);
    // 30 fps: three frames span 66 ms and are held back...
    for dts in [33, 66, 99] {
        publisher.send(Media::Frame(video(dts, false)));
    }
    assert!(drain(&mut feed).is_empty());
    // ...the frame 100 ms after the batch's first hands the batch over,
    // long before BATCH_FRAMES.
    publisher.send(Media::Frame(video(33 + BATCH_SPAN_MS, false)));
    assert_eq!(drain(&mut feed), ["P33", "P66", "P99", "P133"]);
}

#[tokio::test(start_paused = true)]
async fn disconnect_with_end_now_ends_the_stream_at_once() {
    let mut f = fixture(config());
    let id = StreamId::new_random();
    let publisher = f.hub.publish(&grant(id)).unwrap();
    let (_, mut feed) = f.started().await;
    publisher.send(Media::VideoConfig(video_config()));
    publisher.send(Media::Frame(video(0, true)));

    let before = Instant::now();
    assert!(f.hub.disconnect(id, true), "it had a publisher");
    assert_eq!(f.ended().await, id);
    assert_eq!(Instant::now(), before, "no reconnect window");
    assert_eq!(
        drain(&mut feed),
        ["start 1", "video config", "K0", "stop 1", "ended"]
    );
    assert!(
        tokio::time::timeout(Duration::ZERO, publisher.disconnect_requested())
            .await
            .is_ok(),
        "the publisher is asked to disconnect"
    );
    assert!(!publisher.taken_over());
    assert!(!publisher.hub_shut_down());
    assert!(!publisher.send(Media::Frame(video(33, false))));
    assert!(f.hub.live_streams().is_empty());

    // Its connection closing afterwards changes nothing.
    drop(publisher);
    tokio::time::advance(WINDOW * 2).await;
    settle().await;
    assert!(f.no_notes());
    assert!(!f.hub.disconnect(id, true), "nothing left to disconnect");

    // The same key may go live again: a new stream life.
    let again = f.hub.publish(&grant(id)).unwrap();
    assert_eq!(again.session(), 1);
    assert_eq!(f.started().await.0, id);
}

#[tokio::test(start_paused = true)]
async fn disconnect_with_end_now_ends_a_stream_waiting_in_its_reconnect_window() {
    let mut f = fixture(config());
    let id = StreamId::new_random();
    let publisher = f.hub.publish(&grant(id)).unwrap();
    let (_, mut feed) = f.started().await;
    drop(publisher);
    tokio::time::advance(WINDOW / 2).await;
    settle().await;
    assert!(f.no_notes());

    assert!(!f.hub.disconnect(id, true), "no publisher was attached");
    assert_eq!(f.ended().await, id);
    assert_eq!(drain(&mut feed), ["start 1", "stop 1", "ended"]);
    // The window's timer finds the stream already over.
    tokio::time::advance(WINDOW).await;
    settle().await;
    assert!(f.no_notes());
}

#[tokio::test(start_paused = true)]
async fn disconnect_without_end_now_opens_the_reconnect_window() {
    let mut f = fixture(config());
    let id = StreamId::new_random();
    let publisher = f.hub.publish(&grant(id)).unwrap();
    let (_, mut feed) = f.started().await;
    publisher.send(Media::VideoConfig(video_config()));
    publisher.send(Media::Frame(video(0, true)));

    assert!(f.hub.disconnect(id, false));
    assert!(
        tokio::time::timeout(Duration::ZERO, publisher.disconnect_requested())
            .await
            .is_ok()
    );
    assert!(!publisher.taken_over() && !publisher.hub_shut_down());
    assert!(!publisher.send(Media::Frame(video(33, false))));
    assert!(
        !f.hub.disconnect(id, false),
        "the publisher is already gone"
    );
    drop(publisher);
    assert_eq!(f.hub.live_streams(), vec![id], "live within the window");
    assert!(f.no_notes());

    // A publisher that comes back (with a new key, say) continues the stream.
    tokio::time::advance(WINDOW / 2).await;
    let back = f.hub.publish(&grant(id)).unwrap();
    assert_eq!(back.session(), 2);
    back.send(Media::Frame(video(5_000, true)));
    tokio::time::advance(WINDOW).await;
    settle().await;
    assert!(f.no_notes(), "the first window's timer must not end it");
    assert_eq!(
        drain(&mut feed),
        [
            "start 1",
            "video config",
            "K0",
            "stop 1",
            "start 2",
            "K5000"
        ]
    );

    // Disconnected again and nobody comes back: it ends after the window.
    assert!(f.hub.disconnect(id, false));
    drop(back);
    let disconnected = Instant::now();
    assert_eq!(f.ended().await, id);
    assert!(Instant::now() - disconnected >= WINDOW);
    assert_eq!(drain(&mut feed), ["stop 2", "ended"]);
}

#[tokio::test(start_paused = true)]
async fn disconnecting_an_unknown_stream_does_nothing() {
    let mut f = fixture(config());
    assert!(!f.hub.disconnect(StreamId::new_random(), true));
    assert!(!f.hub.disconnect(StreamId::new_random(), false));
    assert!(f.no_notes());
}

#[tokio::test(start_paused = true)]
async fn a_publisher_disconnected_by_shutdown_knows_it() {
    let mut f = fixture(config());
    let id = StreamId::new_random();
    let publisher = f.hub.publish(&grant(id)).unwrap();
    let _ = f.started().await;
    f.hub.shutdown();
    assert!(publisher.hub_shut_down());
    assert!(!f.hub.disconnect(id, true), "shutdown already ended it");
}

/// The hub is the one place timestamps are repaired: every subscriber (and
/// the GOP cache) gets each track's DTS increasing, and the count reaches
/// every subscription.
#[tokio::test(start_paused = true)]
async fn timestamps_that_do_not_increase_are_repaired_once_for_every_subscriber() {
    let mut f = fixture(config());
    let id = StreamId::new_random();
    let first = f.hub.publish(&grant(id)).unwrap();
    let (_, mut feed) = f.started().await;
    let mut player = f.hub.subscribe(id).unwrap();
    first.send(Media::VideoConfig(video_config()));
    first.send(Media::Frame(video(0, true)));
    first.send(Media::Frame(audio(10)));
    first.send(Media::Frame(video(33, false)));
    // The same audio frame again.
    first.send(Media::Frame(audio(10)));
    // The encoder restarted its clock without a new publish.
    first.send(Media::Frame(video(0, true)));
    first.send(Media::Frame(audio(0)));
    first.send(Media::Frame(video(33, false)));
    first.send(Media::Frame(audio(23)));
    let repaired = ["K0", "A10", "P33", "A11", "K34", "A12", "P66", "A33"];
    assert_eq!(drain(&mut player)[2..], repaired);
    assert_eq!(player.timestamp_repairs(), 3);

    // A late joiner's cached GOP is the repaired one.
    let mut late = f.hub.subscribe(id).unwrap();
    assert_eq!(drain(&mut late)[2..], repaired[4..]);

    // A new publisher's clock need not continue the old one's.
    let second = f.hub.publish(&grant(id)).unwrap();
    drop(first);
    second.send(Media::Frame(video(0, true)));
    second.send(Media::Frame(video(33, false)));
    assert_eq!(drain(&mut player), ["stop 1", "start 2", "K0", "P33"]);

    second.finish();
    assert_eq!(f.ended().await, id);
    let feed_frames: Vec<String> = drain(&mut feed)
        .into_iter()
        .filter(|event| event.starts_with(['K', 'P', 'A']))
        .collect();
    assert_eq!(feed_frames[..repaired.len()], repaired);
    for subscription in [&feed, &player, &late] {
        assert_eq!(subscription.timestamp_repairs(), 3, "counted since live");
    }
}

fn sized(mut frame: Frame, bytes: usize) -> Frame {
    frame.data = Bytes::from(vec![0; bytes]);
    frame
}

#[tokio::test(start_paused = true)]
async fn a_slow_subscriber_is_bounded_in_bytes_whatever_its_frame_count() {
    let mut f = fixture(HubConfig {
        subscriber_queue_bytes: 10_000,
        ..config()
    });
    let id = StreamId::new_random();
    let publisher = f.hub.publish(&grant(id)).unwrap();
    let (_, feed) = f.started().await;
    drop(feed);
    publisher.send(Media::VideoConfig(video_config()));
    let mut slow = f.hub.subscribe(id).unwrap();

    // 50 Mb/s of 200 kB frames, far under the frame limit.
    publisher.send(Media::Frame(sized(video(0, true), 3000)));
    for dts in 1..=1000 {
        assert!(publisher.send(Media::Frame(sized(video(dts, false), 3000))));
        assert!(slow.queued_bytes() <= 12_000, "{}", slow.queued_bytes());
    }
    let events = drain(&mut slow);
    assert_eq!(
        events,
        ["start 1", "video config", "K0", "P1", "P2", "P3"],
        "the fourth frame reached the limit"
    );
    assert_eq!(slow.queued_bytes(), 0);
    // Room again, and a keyframe: delivery resumes.
    publisher.send(Media::Frame(sized(video(1001, true), 3000)));
    assert_eq!(drain(&mut slow), ["dropped 997", "K1001"]);
}

#[tokio::test(start_paused = true)]
async fn the_gop_cache_holds_no_more_bytes_than_a_subscriber_may_queue() {
    let mut f = fixture(HubConfig {
        subscriber_queue_bytes: 10_000,
        ..config()
    });
    let id = StreamId::new_random();
    let publisher = f.hub.publish(&grant(id)).unwrap();
    let _feed = f.started().await;
    publisher.send(Media::VideoConfig(video_config()));
    publisher.send(Media::Frame(sized(video(0, true), 4000)));
    publisher.send(Media::Frame(sized(video(1, false), 4000)));
    let mut early = f.hub.subscribe(id).unwrap();
    assert_eq!(drain(&mut early), ["start 1", "video config", "K0", "P1"]);

    publisher.send(Media::Frame(sized(video(2, false), 4000)));
    let mut late = f.hub.subscribe(id).unwrap();
    assert_eq!(
        drain(&mut late),
        ["start 1", "video config"],
        "a 12 kB GOP is not replayed; the late joiner waits for a keyframe"
    );
    publisher.send(Media::Frame(sized(video(3, true), 4000)));
    assert_eq!(drain(&mut late), ["K3"]);
}

#[tokio::test(start_paused = true)]
async fn a_publisher_without_keyframes_is_disconnected_and_told_why() {
    let mut f = fixture(HubConfig {
        media_limits: MediaLimits {
            max_keyframe_interval: Duration::from_secs(4),
            ..MediaLimits::default()
        },
        ..config()
    });
    let id = StreamId::new_random();
    let publisher = f.hub.publish(&grant(id)).unwrap();
    let (_, mut feed) = f.started().await;
    publisher.send(Media::VideoConfig(video_config()));
    assert!(publisher.send(Media::Frame(video(0, true))));
    for dts in (33..=4000).step_by(33) {
        assert!(publisher.send(Media::Frame(video(dts, false))), "{dts}");
    }
    assert!(!publisher.send(Media::Frame(video(4033, false))));
    assert!(
        tokio::time::timeout(Duration::ZERO, publisher.disconnect_requested())
            .await
            .is_ok()
    );
    assert_eq!(
        publisher.limit_exceeded(),
        Some(MediaLimitExceeded::KeyframeInterval {
            waited: Duration::from_millis(4033),
            limit: Duration::from_secs(4)
        })
    );
    assert!(!publisher.taken_over() && !publisher.hub_shut_down());
    let events = drain(&mut feed);
    assert_eq!(events.last().map(String::as_str), Some("stop 1"));
    assert!(!events.iter().any(|e| e == "P4033"), "{events:?}");

    // The stream waits for the encoder to come back, then ends.
    drop(publisher);
    assert_eq!(f.hub.live_streams(), vec![id]);
    let kicked = Instant::now();
    assert_eq!(f.ended().await, id);
    assert!(Instant::now() - kicked >= WINDOW);

    // A publisher that sends keyframes is not held to the last one's limit.
    let next = f.hub.publish(&grant(id)).unwrap();
    let _feed = f.started().await;
    for second in 0..60 {
        assert!(next.send(Media::Frame(video(second * 2000, true))));
    }
    assert_eq!(next.limit_exceeded(), None);
}

#[tokio::test(start_paused = true)]
async fn a_publisher_over_the_bitrate_is_disconnected() {
    let mut f = fixture(HubConfig {
        media_limits: MediaLimits {
            max_bitrate: Some(1_000_000),
            ..MediaLimits::default()
        },
        ..config()
    });
    let id = StreamId::new_random();
    let publisher = f.hub.publish(&grant(id)).unwrap();
    let _feed = f.started().await;
    // 2 Mb/s, paced: the 10 s of credit at 1 Mb/s last about 10 s more.
    let mut sent_ms = 0;
    while publisher.send(Media::Frame(sized(audio(sent_ms), 2500))) {
        tokio::time::advance(Duration::from_millis(10)).await;
        sent_ms += 10;
        assert!(sent_ms < 30_000, "never refused");
    }
    assert!(
        (9_000..=11_000).contains(&sent_ms),
        "refused after {sent_ms} ms"
    );
    assert_eq!(
        publisher.limit_exceeded(),
        Some(MediaLimitExceeded::Bitrate { limit: 1_000_000 })
    );
}

#[tokio::test(start_paused = true)]
async fn a_live_stream_is_measured_until_it_ends_and_across_a_reconnect() {
    let mut f = fixture(config());
    let id = StreamId::new_random();
    let publisher = f.hub.publish(&grant(id)).unwrap();
    let _feed = f.started().await;
    let stats = |hub: &Hub| hub.stream_stats().into_iter().find(|(s, _)| *s == id);
    let (_, fresh) = stats(&f.hub).expect("a live stream is measured");
    assert_eq!(
        (fresh.bytes, fresh.video_frames, fresh.audio_frames),
        (0, 0, 0)
    );
    assert_eq!(fresh.behind_seconds, None, "no media yet");

    publisher.received(1000);
    let sending = std::time::Instant::now();
    publisher.send(Media::VideoConfig(video_config()));
    publisher.send(Media::Frame(video(0, true)));
    publisher.send(Media::Frame(audio(10)));
    publisher.send(Media::Frame(video(33, false)));
    let (_, live) = stats(&f.hub).unwrap();
    assert_eq!(
        (live.bytes, live.video_frames, live.audio_frames),
        (1000, 2, 1)
    );
    // 33 ms of media sent in however little wall time it took (the
    // behind figure runs on the real clock, not tokio's paused one).
    let behind = live.behind_seconds.expect("a publisher with media");
    let wall = sending.elapsed().as_secs_f64();
    assert!(
        (-0.033..=wall - 0.033).contains(&behind),
        "{behind} s behind after {wall} s"
    );

    // An unclean disconnect: still live, counted on, not behind anything.
    drop(publisher);
    let (_, waiting) = stats(&f.hub).unwrap();
    assert_eq!(waiting.behind_seconds, None);
    let publisher = f.hub.publish(&grant(id)).unwrap();
    publisher.received(500);
    publisher.send(Media::Frame(audio(5_000)));
    let (_, resumed) = stats(&f.hub).unwrap();
    assert_eq!((resumed.bytes, resumed.audio_frames), (1500, 2));
    assert!(resumed.behind_seconds.is_some(), "{resumed:?}");

    publisher.finish();
    assert_eq!(f.ended().await, id);
    assert!(stats(&f.hub).is_none(), "an ended stream is not measured");
}
