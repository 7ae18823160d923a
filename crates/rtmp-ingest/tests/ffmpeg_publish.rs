//! The ingest end to end: `serve` on loopback, the real ffmpeg CLI
//! publishing, a hub subscriber checking what arrives.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use nova_media::{
    AudioConfig, PublishAuthorizer, PublishGrant, PublishRejection, PublishRequest, StreamEvent,
    StreamId, StreamSettings, Track, VideoConfig,
};
use nova_rtmp_ingest::{Hub, HubConfig, HubObserver, IngestConfig, Refusal, Subscription, serve};
use nova_testkit::ffmpeg;
use rml_rtmp::handshake::{Handshake, PeerType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Only guards against a hung test; no assertion depends on it.
const GUARD: Duration = Duration::from_secs(60);

/// The real trait over a map: the seam the Postgres authorizer plugs into.
struct KeyTable(HashMap<String, PublishGrant>);

#[async_trait]
impl PublishAuthorizer for KeyTable {
    async fn authorize(&self, request: &PublishRequest) -> Result<PublishGrant, PublishRejection> {
        if request.app != "live" {
            return Err(PublishRejection::UnknownApp(request.app.clone()));
        }
        self.0
            .get(&request.stream_key)
            .cloned()
            .ok_or(PublishRejection::InvalidKey)
    }
}

enum Note {
    Started(StreamId, Subscription),
    Ended(StreamId),
}

struct Observer(mpsc::UnboundedSender<Note>);

impl HubObserver for Observer {
    fn stream_started(&self, stream: StreamId, feed: Subscription) {
        let _ = self.0.send(Note::Started(stream, feed));
    }

    fn stream_ended(&self, stream: StreamId) {
        let _ = self.0.send(Note::Ended(stream));
    }
}

struct Server {
    addr: SocketAddr,
    hub: Hub,
    notes: mpsc::UnboundedReceiver<Note>,
    shutdown: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(keys: &[(&str, StreamId)], config: IngestConfig, hub: HubConfig) -> Self {
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("nova_rtmp_ingest=debug")
            .try_init();
        let table = keys
            .iter()
            .map(|(key, stream)| {
                let grant = PublishGrant {
                    stream_id: *stream,
                    settings: StreamSettings::default(),
                };
                ((*key).to_owned(), grant)
            })
            .collect();
        let (notes_tx, notes) = mpsc::unbounded_channel();
        let hub = Hub::new(hub, Arc::new(Observer(notes_tx)));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(serve(
            listener,
            hub.clone(),
            Arc::new(KeyTable(table)),
            config,
            shutdown.clone(),
        ));
        Self {
            addr,
            hub,
            notes,
            shutdown,
            task,
        }
    }

    fn url(&self, key: &str) -> String {
        format!("rtmp://{}/live/{key}", self.addr)
    }

    async fn note(&mut self) -> Note {
        tokio::time::timeout(GUARD, self.notes.recv())
            .await
            .expect("the hub reports within the guard time")
            .expect("the observer is alive")
    }

    async fn started(&mut self) -> (StreamId, Subscription) {
        match self.note().await {
            Note::Started(stream, feed) => (stream, feed),
            Note::Ended(stream) => panic!("expected a start, {stream} ended"),
        }
    }

    async fn ended(&mut self) -> StreamId {
        match self.note().await {
            Note::Ended(stream) => stream,
            Note::Started(stream, _) => panic!("expected an end, {stream} started"),
        }
    }

    async fn stop(self) {
        self.shutdown.cancel();
        let result = tokio::time::timeout(GUARD, self.task)
            .await
            .expect("serve returns after shutdown")
            .expect("serve did not panic");
        result.expect("serve ends cleanly");
    }
}

/// ffmpeg encoding a test pattern and a tone in real time, publishing FLV.
/// `veryfast` keeps B-frames, so composition times are not all zero.
fn ffmpeg_publish(url: &str, seconds: u32) -> tokio::process::Child {
    ffmpeg::publisher_command("ffmpeg", url, |command| {
        command
            .arg("-re")
            .args(["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30"])
            .args(["-f", "lavfi", "-i", "sine"])
            .args(["-t", &seconds.to_string()])
            .args(["-c:v", "libx264", "-preset", "veryfast", "-g", "60"])
            .args(["-c:a", "aac"]);
    })
    .stderr(Stdio::inherit())
    .spawn()
    .expect("ffmpeg is installed at /usr/bin/ffmpeg")
}

async fn exit_status(mut child: tokio::process::Child) -> ExitStatus {
    tokio::time::timeout(GUARD, child.wait())
        .await
        .expect("ffmpeg exits within the guard time")
        .expect("waiting for ffmpeg")
}

/// Reads events up to and including the first frame.
async fn until_first_frame(feed: &mut Subscription) -> Vec<StreamEvent> {
    let mut events = Vec::new();
    loop {
        let event = tokio::time::timeout(GUARD, feed.recv())
            .await
            .expect("events keep coming within the guard time")
            .expect("the stream is live");
        let is_frame = matches!(event, StreamEvent::Frame(_));
        events.push(event);
        if is_frame {
            return events;
        }
    }
}

/// The sessions' starts and stops, in order.
fn sessions(events: &[StreamEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::PublishStarted { session, .. } => Some(format!("start {session}")),
            StreamEvent::PublishStopped { session } => Some(format!("stop {session}")),
            StreamEvent::StreamEnded => Some("ended".to_owned()),
            _ => None,
        })
        .collect()
}

/// Every event of one stream life, through `StreamEnded`.
async fn collect(feed: &mut Subscription) -> Vec<StreamEvent> {
    let mut events = Vec::new();
    loop {
        let event = tokio::time::timeout(GUARD, feed.recv())
            .await
            .expect("events keep coming within the guard time");
        match event {
            Some(StreamEvent::StreamEnded) => {
                events.push(StreamEvent::StreamEnded);
                return events;
            }
            Some(event) => events.push(event),
            None => panic!(
                "the feed closed without StreamEnded after {} events",
                events.len()
            ),
        }
    }
}

/// Checks one clean publish as the packager would see it, and returns its
/// video frames' (count, keyframe count).
fn check_publish(events: &[StreamEvent]) -> (usize, usize) {
    assert!(
        matches!(
            events.first(),
            Some(StreamEvent::PublishStarted { session: 1, .. })
        ),
        "{:?}",
        events.first()
    );
    let n = events.len();
    assert!(matches!(
        events[n - 2],
        StreamEvent::PublishStopped { session: 1 }
    ));
    assert!(matches!(events[n - 1], StreamEvent::StreamEnded));

    let video_config = events.iter().find_map(|e| match e {
        StreamEvent::VideoConfig(config) => Some(config),
        _ => None,
    });
    match video_config {
        Some(VideoConfig::Avc(avc)) => assert_eq!((avc.width, avc.height), (640, 360)),
        other => panic!("expected an AVC config, got {other:?}"),
    }
    let audio_config = events.iter().find_map(|e| match e {
        StreamEvent::AudioConfig(config) => Some(config),
        _ => None,
    });
    match audio_config {
        Some(config @ AudioConfig::Aac(_)) => assert_eq!(config.sample_rate(), 44_100),
        other => panic!("expected an AAC config, got {other:?}"),
    }

    let frames: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::Frame(frame) => Some(frame),
            _ => None,
        })
        .collect();
    let first_frame = events
        .iter()
        .position(|e| matches!(e, StreamEvent::Frame(_)))
        .expect("frames arrived");
    let last_config = events
        .iter()
        .rposition(|e| matches!(e, StreamEvent::VideoConfig(_) | StreamEvent::AudioConfig(_)))
        .unwrap();
    assert!(last_config < first_frame, "configs come before the frames");
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, StreamEvent::FramesDropped { .. })),
        "a consumer that keeps up misses nothing"
    );

    let video: Vec<_> = frames.iter().filter(|f| f.track == Track::Video).collect();
    let audio: Vec<_> = frames.iter().filter(|f| f.track == Track::Audio).collect();
    assert!(video[0].keyframe, "video starts on a keyframe");
    for track in [&video, &audio] {
        assert!(
            track.windows(2).all(|w| w[0].dts <= w[1].dts),
            "DTS is monotonic per track"
        );
        assert!(track.iter().all(|f| f.pts >= f.dts && !f.data.is_empty()));
    }
    assert!(
        video.iter().any(|f| f.pts != f.dts),
        "B-frames carry their composition time"
    );
    assert!(!audio.is_empty());
    let keyframes = video.iter().filter(|f| f.keyframe).count();
    (video.len(), keyframes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_publishes_and_the_subscriber_gets_the_whole_stream() {
    let stream = StreamId::new_random();
    let mut server = Server::start(
        &[("obs-key-1234", stream)],
        IngestConfig::default(),
        HubConfig::default(),
    )
    .await;
    let ffmpeg = ffmpeg_publish(&server.url("obs-key-1234?client=ffmpeg"), 3);

    let (started, mut feed) = server.started().await;
    assert_eq!(started, stream);
    assert_eq!(server.hub.live_streams(), vec![stream]);
    let events = collect(&mut feed).await;
    let (video_frames, keyframes) = check_publish(&events);
    assert!(
        (85..=95).contains(&video_frames),
        "3 s at 30 fps, got {video_frames} video frames"
    );
    // -g 60 at 30 fps: a keyframe at least every two seconds.
    assert!(keyframes >= 2, "{keyframes} keyframes");

    let status = exit_status(ffmpeg).await;
    assert!(status.success(), "ffmpeg: {status}");
    // ffmpeg unpublishes on exit: the stream ends without a reconnect window.
    assert_eq!(server.ended().await, stream);
    assert!(server.hub.live_streams().is_empty());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_key_fails_ffmpeg_and_the_server_keeps_serving() {
    let stream = StreamId::new_random();
    let mut server = Server::start(
        &[("good-key", stream)],
        IngestConfig::default(),
        HubConfig::default(),
    )
    .await;

    let refused = exit_status(ffmpeg_publish(&server.url("bad-key"), 1)).await;
    assert!(!refused.success(), "ffmpeg must fail on a wrong key");
    assert!(server.notes.try_recv().is_err(), "no stream started");

    let ffmpeg = ffmpeg_publish(&server.url("good-key"), 1);
    let (started, mut feed) = server.started().await;
    assert_eq!(started, stream);
    let events = collect(&mut feed).await;
    check_publish(&events);
    let status = exit_status(ffmpeg).await;
    assert!(status.success(), "ffmpeg: {status}");
    assert_eq!(server.ended().await, stream);
    server.stop().await;
}

#[tokio::test]
async fn connections_over_the_limit_are_closed_at_once() {
    let server = Server::start(
        &[],
        IngestConfig {
            max_connections: 1,
            ..IngestConfig::default()
        },
        HubConfig::default(),
    )
    .await;
    // The first connection is served: it gets S0+S1+S2 for its C0+C1.
    let mut first = TcpStream::connect(server.addr).await.unwrap();
    let c0_c1 = Handshake::new(PeerType::Client)
        .generate_outbound_p0_and_p1()
        .unwrap();
    first.write_all(&c0_c1).await.unwrap();
    let mut s0_s1_s2 = vec![0; 1 + 1536 * 2];
    tokio::time::timeout(GUARD, first.read_exact(&mut s0_s1_s2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s0_s1_s2[0], 3, "S0 announces RTMP version 3");

    // The second is over the limit.
    let mut second = TcpStream::connect(server.addr).await.unwrap();
    let mut byte = [0_u8; 1];
    let read = tokio::time::timeout(GUARD, second.read(&mut byte))
        .await
        .unwrap();
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");

    drop(first);
    server.stop().await;
}

#[tokio::test]
async fn a_connection_that_never_handshakes_is_closed() {
    let server = Server::start(
        &[],
        IngestConfig {
            handshake_timeout: Duration::from_millis(100),
            ..IngestConfig::default()
        },
        HubConfig::default(),
    )
    .await;
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let mut byte = [0_u8; 1];
    let read = tokio::time::timeout(GUARD, silent.read(&mut byte))
        .await
        .unwrap();
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_publisher_on_the_same_key_takes_over() {
    let stream = StreamId::new_random();
    let mut server = Server::start(
        &[("key", stream)],
        IngestConfig::default(),
        HubConfig::default(),
    )
    .await;
    let first = ffmpeg_publish(&server.url("key"), 30);
    let (_, mut feed) = server.started().await;
    let mut events = until_first_frame(&mut feed).await;

    // OBS reconnecting while its old connection still looks alive.
    let second = ffmpeg_publish(&server.url("key"), 1);
    let old = exit_status(first).await;
    assert!(
        !old.success(),
        "the taken-over ffmpeg is disconnected: {old}"
    );
    events.extend(collect(&mut feed).await);
    let status = exit_status(second).await;
    assert!(status.success(), "ffmpeg: {status}");

    assert_eq!(
        sessions(&events),
        ["start 1", "stop 1", "start 2", "stop 2", "ended"]
    );
    let second_session = events
        .iter()
        .position(|e| matches!(e, StreamEvent::PublishStarted { session: 2, .. }))
        .unwrap();
    let first_video = events[second_session..].iter().find_map(|e| match e {
        StreamEvent::Frame(f) if f.track == Track::Video => Some(f),
        _ => None,
    });
    assert!(
        first_video.unwrap().keyframe,
        "the new session starts on a keyframe"
    );
    // One stream life: a single start and a single end.
    assert_eq!(server.ended().await, stream);
    assert!(server.notes.try_recv().is_err());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publisher_that_vanishes_can_come_back_within_the_window() {
    let stream = StreamId::new_random();
    let hub = HubConfig {
        reconnect_window: Duration::from_secs(60),
        ..HubConfig::default()
    };
    let mut server = Server::start(&[("key", stream)], IngestConfig::default(), hub).await;
    let mut first = ffmpeg_publish(&server.url("key"), 30);
    let (_, mut feed) = server.started().await;
    let mut events = until_first_frame(&mut feed).await;

    // No deleteStream, no FIN from a clean exit: the process is gone.
    first.start_kill().unwrap();
    exit_status(first).await;
    loop {
        let event = tokio::time::timeout(GUARD, feed.recv())
            .await
            .unwrap()
            .unwrap();
        let stopped = matches!(event, StreamEvent::PublishStopped { .. });
        events.push(event);
        if stopped {
            break;
        }
    }
    assert_eq!(
        server.hub.live_streams(),
        vec![stream],
        "still live in the window"
    );

    let second = ffmpeg_publish(&server.url("key"), 1);
    events.extend(collect(&mut feed).await);
    assert!(exit_status(second).await.success());
    assert_eq!(
        sessions(&events),
        ["start 1", "stop 1", "start 2", "stop 2", "ended"]
    );
    assert_eq!(server.ended().await, stream);
    assert!(server.notes.try_recv().is_err(), "one stream life");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publisher_that_does_not_come_back_ends_the_stream() {
    let stream = StreamId::new_random();
    let hub = HubConfig {
        reconnect_window: Duration::from_millis(200),
        ..HubConfig::default()
    };
    let mut server = Server::start(&[("key", stream)], IngestConfig::default(), hub).await;
    let mut publisher = ffmpeg_publish(&server.url("key"), 30);
    let (_, mut feed) = server.started().await;
    let mut events = until_first_frame(&mut feed).await;
    publisher.start_kill().unwrap();
    exit_status(publisher).await;
    events.extend(collect(&mut feed).await);
    assert_eq!(sessions(&events), ["start 1", "stop 1", "ended"]);
    assert_eq!(server.ended().await, stream);
    assert!(server.hub.live_streams().is_empty());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_disconnects_publishers_and_ends_their_streams() {
    let stream = StreamId::new_random();
    let mut server = Server::start(
        &[("key", stream)],
        IngestConfig::default(),
        HubConfig::default(),
    )
    .await;
    let publisher = ffmpeg_publish(&server.url("key"), 30);
    let (_, mut feed) = server.started().await;
    let mut events = until_first_frame(&mut feed).await;

    // What the binary does on SIGTERM: stop accepting, end the streams.
    server.shutdown.cancel();
    server.hub.shutdown();
    events.extend(collect(&mut feed).await);
    assert_eq!(sessions(&events), ["start 1", "stop 1", "ended"]);
    assert_eq!(server.ended().await, stream);
    let status = exit_status(publisher).await;
    assert!(!status.success(), "ffmpeg loses its server: {status}");
    server.stop().await;
}

/// Completes a client handshake on a new connection from `source`.
async fn handshaken_from(server: SocketAddr, source: &str) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    let mut stream = socket.connect(server).await.unwrap();
    let mut handshake = Handshake::new(PeerType::Client);
    stream
        .write_all(&handshake.generate_outbound_p0_and_p1().unwrap())
        .await
        .unwrap();
    let mut s0_s1_s2 = vec![0; 1 + 1536 * 2];
    tokio::time::timeout(GUARD, stream.read_exact(&mut s0_s1_s2))
        .await
        .unwrap()
        .unwrap();
    match handshake.process_bytes(&s0_s1_s2).unwrap() {
        rml_rtmp::handshake::HandshakeProcessResult::Completed { response_bytes, .. } => {
            stream.write_all(&response_bytes).await.unwrap();
        }
        other => panic!("handshake not completed: {other:?}"),
    }
    stream
}

/// Whether the server closed `stream` within `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut sink = [0_u8; 4096];
    tokio::time::timeout(limit, async {
        while let Ok(1..) = stream.read(&mut sink).await {}
    })
    .await
    .is_ok()
}

#[tokio::test]
async fn trickled_bytes_do_not_extend_the_publish_deadline() {
    let config = IngestConfig {
        publish_timeout: Duration::from_secs(1),
        ..IngestConfig::default()
    };
    let refusals = config.refusals.clone();
    let server = Server::start(&[], config, HubConfig::default()).await;
    let started = tokio::time::Instant::now();
    let stream = handshaken_from(server.addr, "127.0.0.1").await;
    let (mut reader, mut writer) = stream.into_split();
    // A byte every 100 ms of a valid command (AMF0 nulls) would hold the
    // idle timer (30 s) off forever.
    let mut command = vec![0x03, 0, 0, 0, 0, 0, 64, 20, 0, 0, 0, 0];
    command.extend([0x05; 64]);
    let trickle = tokio::spawn(async move {
        for byte in command.into_iter().cycle() {
            if writer.write_all(&[byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut sink = [0_u8; 4096];
    tokio::time::timeout(GUARD, async {
        while let Ok(1..) = reader.read(&mut sink).await {}
    })
    .await
    .expect("closed at the publish deadline");
    assert!(started.elapsed() >= Duration::from_secs(1));
    trickle.abort();
    assert_eq!(refusals.get(Refusal::PublishTimeout), 1);
    server.stop().await;
}

#[tokio::test]
async fn connections_that_have_not_published_are_capped_per_address() {
    let config = IngestConfig {
        max_pending_per_address: 2,
        ..IngestConfig::default()
    };
    let refusals = config.refusals.clone();
    let server = Server::start(&[], config, HubConfig::default()).await;
    let mut held = vec![
        handshaken_from(server.addr, "127.0.0.1").await,
        handshaken_from(server.addr, "127.0.0.1").await,
    ];
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut third = socket.connect(server.addr).await.unwrap();
    assert!(closed_within(&mut third, GUARD).await);
    assert_eq!(refusals.get(Refusal::PendingPerAddress), 1);
    // Another address is served; so is this one once a slot is free.
    held.push(handshaken_from(server.addr, "127.0.0.2").await);
    held.remove(0);
    tokio::time::sleep(Duration::from_millis(200)).await;
    held.push(handshaken_from(server.addr, "127.0.0.1").await);
    assert!(!closed_within(&mut held[2], Duration::from_millis(300)).await);
    assert_eq!(refusals.get(Refusal::PendingPerAddress), 1);
    drop(held);
    server.stop().await;
}
