//! Hostile RTMP clients against the real server while a real ffmpeg stream
//! is live. Port 1935 is open to anyone before any key is checked, so after
//! each attack the process must still be up, the live stream's playlist
//! must keep growing, a new publisher must still go live, and the server's
//! resident memory must stay within a stated bound.

mod hostile_rtmp {
    pub mod raw_rtmp;
}
mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use hostile_rtmp::raw_rtmp::{
    self, INITIAL_CHUNK_SIZE, Nesting, closed_within, connect_command, connect_from,
    create_stream_command, handshake, message, message_with_length, set_chunk_size,
};
use serde_json::json;
use support::fixture::{Fixture, LIMIT};
use support::memory::{PeakMemory, resident_bytes};
use support::publish;
use support::server::stream_key_url;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Child;
use tokio::sync::Mutex;

/// Each test starts a server, a live ffmpeg stream and an attack: on a
/// loaded 2-core machine they run one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// How much the server's resident memory may grow over its level with one
/// live stream, through an attack and the checks after it (a second
/// publisher included). Without the limits, the memory attacks below hold
/// 256 MiB of half-received messages.
const RSS_GROWTH_BOUND: u64 = 96 << 20;

/// Bound for a new publisher to go live under attack: the publish deadline
/// (10 s) plus generous slack for a loaded machine.
const GO_LIVE_BOUND: Duration = Duration::from_secs(30);

/// The server closes a refused connection at once; this is a bound for a
/// hung test on a loaded machine, not a performance figure.
const CLOSE_BOUND: Duration = Duration::from_secs(8);

/// A server with one live ffmpeg stream, and the watch on its memory.
struct Scene {
    fixture: Fixture,
    live: Child,
    playlist_url: String,
    baseline_rss: u64,
    /// Sampled throughout, so a peak between checks counts too.
    memory: PeakMemory,
    rtmp: SocketAddr,
}

impl Scene {
    async fn start() -> Self {
        // `info`: the trickle attack opens a thousand connections.
        let fixture = Fixture::start_logging(&[], Some("info")).await;
        let server = &fixture.server;
        let stream = server
            .create_stream(&fixture.token, json!({ "title": "Live under attack" }))
            .await;
        let live = publish(
            &stream_key_url(server, &stream),
            &["-stream_loop", "-1"],
            600.0,
        );
        let id = stream["id"].as_str().unwrap();
        server
            .wait_for_status(&fixture.token, id, "live", LIMIT)
            .await;
        let playlist_url = fixture.playlist_url(&stream);
        fixture.wait_for_segments(&playlist_url, 2).await;
        let pid = server.child.id().unwrap();
        let baseline_rss = resident_bytes(pid);
        let memory = PeakMemory::watch(pid);
        let rtmp = raw_rtmp::rtmp_addr(&server.rtmp);
        eprintln!(
            "baseline RSS with one live stream: {} KiB",
            baseline_rss >> 10
        );
        Self {
            fixture,
            live,
            playlist_url,
            baseline_rss,
            memory,
            rtmp,
        }
    }

    /// The process is up, the live stream goes on, a new publisher goes
    /// live, and memory stayed within [`RSS_GROWTH_BOUND`].
    async fn assert_unharmed(&mut self, attack: &str) {
        let before = self.published_segments(attack).await;
        let grew = tokio::time::timeout(LIMIT, async {
            loop {
                if self.published_segments(attack).await > before {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
        .await;
        assert!(grew.is_ok(), "{attack}: the live playlist stopped growing");
        let took = self.new_publisher_goes_live(attack).await;
        let peak = self.report_rss(attack);
        eprintln!("{attack}: a new publisher went live in {took:.1?}");
        assert!(
            peak <= self.baseline_rss + RSS_GROWTH_BOUND,
            "{attack}: RSS peaked at {} KiB, over {} KiB + {} KiB",
            peak >> 10,
            self.baseline_rss >> 10,
            RSS_GROWTH_BOUND >> 10
        );
        self.assert_alive(attack);
    }

    fn assert_alive(&mut self, attack: &str) {
        if let Some(status) = self.fixture.server.child.try_wait().unwrap() {
            panic!("{attack}: the server died: {status}");
        }
    }

    /// Prints the peak RSS so far and returns it.
    fn report_rss(&self, attack: &str) -> u64 {
        let peak = self.memory.peak();
        eprintln!(
            "{attack}: RSS baseline {} KiB, peak {} KiB (+{} KiB)",
            self.baseline_rss >> 10,
            peak >> 10,
            peak.saturating_sub(self.baseline_rss) >> 10
        );
        peak
    }

    /// Segments the live stream has published so far (sequence number of
    /// the first listed plus those listed).
    async fn published_segments(&mut self, attack: &str) -> u64 {
        let url = self.playlist_url.clone();
        let response = self.fixture.server.client.get(&url).send().await;
        let text = match response {
            Ok(response) if response.status().is_success() => response.text().await.ok(),
            _ => None,
        };
        let Some(text) = text else {
            // A server that aborted takes a moment to be reaped.
            tokio::time::sleep(Duration::from_secs(1)).await;
            self.assert_alive(attack);
            panic!("{attack}: the live playlist is not served");
        };
        match m3u8_rs::parse_playlist_res(text.as_bytes()) {
            Ok(m3u8_rs::Playlist::MediaPlaylist(playlist)) => {
                playlist.media_sequence + playlist.segments.len() as u64
            }
            other => panic!("{attack}: not a media playlist: {other:?}"),
        }
    }

    /// Publishes a new stream with ffmpeg, starting ffmpeg again whenever
    /// it gives up (as OBS reconnects), until the stream is live: the time
    /// that took.
    async fn new_publisher_goes_live(&self, attack: &str) -> Duration {
        let server = &self.fixture.server;
        let token = &self.fixture.token;
        let stream = server
            .create_stream(token, json!({ "title": "Newcomer" }))
            .await;
        let id = stream["id"].as_str().unwrap();
        let url = stream_key_url(server, &stream);
        let started = Instant::now();
        let mut publisher = publish(&url, &[], 30.0);
        loop {
            assert!(
                started.elapsed() < GO_LIVE_BOUND,
                "{attack}: a new publisher did not go live within {GO_LIVE_BOUND:?}"
            );
            if server.get_stream(token, id).await["status"] == "live" {
                break;
            }
            if publisher.try_wait().unwrap().is_some() {
                tokio::time::sleep(Duration::from_millis(500)).await;
                publisher = publish(&url, &[], 30.0);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let took = started.elapsed();
        let _ = publisher.kill().await;
        took
    }

    async fn finish(mut self) {
        let _ = self.live.kill().await;
        self.fixture.finish().await;
    }
}

/// The `n`th of many loopback source addresses, none of them 127.0.0.1
/// (the live publisher's): 127.0.x.y.
fn loopback_source(n: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(
        127,
        0,
        1 + (n / 250) as u8,
        1 + (n % 250) as u8,
    ))
}

/// A client that completed the handshake.
async fn handshaken(rtmp: SocketAddr, source: Option<IpAddr>) -> tokio::net::TcpStream {
    let mut stream = connect_from(rtmp, source).await.unwrap();
    handshake(&mut stream).await.unwrap();
    stream
}

/// rml_amf0 decodes AMF0 recursively without a depth limit; a message this
/// deep (under the 64 KiB command limit, so the depth limit is what
/// stops it) overflows the connection thread's stack, which aborts the
/// process. Each container kind goes in another message type rml_rtmp
/// decodes: a command (20), a data message (18) and an "AMF3" command (17)
/// whose AMF0 body follows a zero byte.
#[tokio::test]
async fn nested_amf_of_every_kind_is_refused_without_harm() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut scene = Scene::start().await;
    let attacks = [
        (Nesting::StrictArray, 20_u8, 12_000_usize),
        (Nesting::Object, 18, 15_000),
        (Nesting::EcmaArray, 17, 7_500),
    ];
    for (kind, type_id, depth) in attacks {
        let attack = format!("{depth} nested {kind:?}s in a type {type_id} message");
        let mut payload = Vec::new();
        if type_id == 17 {
            payload.push(0);
        }
        payload.extend(kind.value(depth));
        assert!(payload.len() < 64 * 1024);
        let mut stream = handshaken(scene.rtmp, None).await;
        stream
            .write_all(&message(3, type_id, 0, &payload, INITIAL_CHUNK_SIZE))
            .await
            .unwrap();
        assert!(
            closed_within(&mut stream, CLOSE_BOUND).await,
            "{attack}: the connection stayed open"
        );
        scene.assert_unharmed(&attack).await;
    }
    scene.finish().await;
}

/// Each attacker's bytes sent and whether the server closed it.
async fn outcomes(attackers: Vec<tokio::task::JoinHandle<(usize, bool)>>) -> Vec<(usize, bool)> {
    let mut outcomes = Vec::new();
    for attacker in attackers {
        outcomes.push(attacker.await.unwrap());
    }
    outcomes
}

/// Every attacker was closed before it could send all `declared` bytes.
fn assert_refused(outcomes: Vec<(usize, bool)>, declared: u32, what: &str) {
    for (sent, closed) in outcomes {
        assert!(closed, "{what} was not refused ({sent} bytes sent)");
        assert!(
            sent < declared as usize,
            "the server took all {sent} bytes of {what}"
        );
    }
}

/// Sends `declared` bytes of one message after the header, short of its
/// last byte, in `chunk_size` chunks; stops when the server hangs up.
/// Returns how many payload bytes the server took before it did.
async fn send_unfinished_message(
    stream: &mut tokio::net::TcpStream,
    type_id: u8,
    declared: u32,
    chunk_size: usize,
) -> usize {
    let payload = vec![0x17_u8; declared as usize - 1];
    let bytes = message_with_length(4, type_id, 1, declared, &payload, chunk_size);
    let mut sent = 0;
    for piece in bytes.chunks(64 * 1024) {
        if stream.write_all(piece).await.is_err() {
            break;
        }
        sent += piece.len();
    }
    sent
}

/// Messages may declare up to 16 MiB, and rml_rtmp reserves and keeps
/// what a message declares until its last byte arrives. Sixteen clients
/// that send all but the last byte of a 16 MiB message hold 256 MiB.
#[tokio::test]
async fn a_16_mib_declared_message_is_refused_without_harm() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut scene = Scene::start().await;
    const DECLARED: u32 = 16 * 1024 * 1024 - 1;
    let rtmp = scene.rtmp;
    let mut attackers = Vec::new();
    for n in 0..16 {
        attackers.push(tokio::spawn(async move {
            let mut stream = handshaken(rtmp, Some(loopback_source(n))).await;
            // A chunk size under the limit, so only the message length is
            // at issue; video (9) and command (20) messages alike.
            stream.write_all(&set_chunk_size(64 * 1024)).await.unwrap();
            let type_id = if n % 2 == 0 { 9 } else { 20 };
            let sent = send_unfinished_message(&mut stream, type_id, DECLARED, 64 * 1024).await;
            let closed = closed_within(&mut stream, CLOSE_BOUND).await;
            (sent, closed)
        }));
    }
    let outcomes = outcomes(attackers).await;
    scene.report_rss("16 MiB declared messages");
    assert_refused(outcomes, DECLARED, "a 16 MiB message");
    scene.assert_unharmed("16 MiB declared messages").await;
    scene.finish().await;
}

/// A peer may announce a chunk size up to 2^31-1; rml_rtmp then takes a
/// whole message in one chunk. Sixteen clients announce it and send all
/// but the last byte of a 16 MiB message as one chunk.
#[tokio::test]
async fn a_huge_chunk_size_is_refused_without_harm() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut scene = Scene::start().await;
    const DECLARED: u32 = 16 * 1024 * 1024 - 1;
    let rtmp = scene.rtmp;
    let mut attackers = Vec::new();
    for n in 0..16 {
        attackers.push(tokio::spawn(async move {
            let mut stream = handshaken(rtmp, Some(loopback_source(n))).await;
            if stream
                .write_all(&set_chunk_size(0x7fff_ffff))
                .await
                .is_err()
            {
                return (0, true);
            }
            let sent = send_unfinished_message(&mut stream, 8, DECLARED, usize::MAX).await;
            let closed = closed_within(&mut stream, CLOSE_BOUND).await;
            (sent, closed)
        }));
    }
    let outcomes = outcomes(attackers).await;
    scene.report_rss("a 2^31-1 chunk size");
    assert_refused(outcomes, DECLARED, "a 16 MiB chunk after a huge chunk size");
    scene.assert_unharmed("a 2^31-1 chunk size").await;
    scene.finish().await;
}

/// rml_rtmp answers every `createStream` and keeps each stream; nothing
/// bounds how many one connection creates before it publishes.
#[tokio::test]
async fn a_create_stream_flood_is_refused_without_harm() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut scene = Scene::start().await;
    let stream = handshaken(scene.rtmp, None).await;
    let (mut reader, mut writer) = stream.into_split();
    // Reads the server's answers so it never waits on us, until it hangs up.
    let hung_up = tokio::spawn(async move {
        let mut sink = vec![0_u8; 64 * 1024];
        loop {
            match reader.read(&mut sink).await {
                Ok(0) | Err(_) => return Instant::now(),
                Ok(_) => {}
            }
        }
    });
    writer.write_all(&connect_command("live")).await.unwrap();
    let mut flood = Vec::new();
    for transaction in 0..20_000 {
        flood.extend(create_stream_command(f64::from(transaction) + 2.0));
    }
    let started = Instant::now();
    for piece in flood.chunks(16 * 1024) {
        if writer.write_all(piece).await.is_err() {
            break;
        }
    }
    let hung_up = tokio::time::timeout(CLOSE_BOUND, hung_up).await;
    assert!(
        hung_up.is_ok(),
        "20,000 createStream commands did not close the connection"
    );
    eprintln!(
        "createStream flood: closed {:.1?} after the flood began",
        hung_up.unwrap().unwrap() - started
    );
    scene.assert_unharmed("a createStream flood").await;
    scene.finish().await;
}

/// Sockets that handshake and then trickle a byte every two seconds, from
/// many addresses, as many as the server takes connections: any byte used
/// to reset the idle timer, so they kept every publisher out for good. The
/// legit publisher starts while they are all connected.
#[tokio::test]
async fn a_thousand_trickling_sockets_do_not_lock_publishers_out() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut scene = Scene::start().await;
    const SOCKETS: usize = 1024;
    let rtmp = scene.rtmp;
    let connect = connect_command("live");
    let started = Instant::now();
    let mut tricklers = Vec::new();
    for n in 0..SOCKETS {
        let connect = connect.clone();
        tricklers.push(tokio::spawn(async move {
            let Ok(mut stream) = connect_from(rtmp, Some(loopback_source(n))).await else {
                return None;
            };
            let opened = Instant::now();
            // Over the connection limit, the server hangs up at once.
            handshake(&mut stream).await.ok()?;
            let (mut reader, mut writer) = stream.into_split();
            let trickle = async move {
                for byte in connect.iter().cycle() {
                    if writer.write_all(&[*byte]).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            };
            let hung_up = async move {
                let mut sink = [0_u8; 4096];
                while let Ok(1..) = reader.read(&mut sink).await {}
            };
            tokio::select! {
                () = trickle => {}
                () = hung_up => {}
            }
            Some(opened.elapsed())
        }));
    }
    // Let them all connect and handshake before the legit publisher comes.
    tokio::time::sleep(Duration::from_secs(3)).await;
    scene.assert_unharmed("a thousand trickling sockets").await;
    let mut held = Vec::new();
    for trickler in tricklers {
        let outcome = tokio::time::timeout(Duration::from_secs(30), trickler).await;
        let held_for = outcome
            .expect("the server closed every trickling socket")
            .unwrap();
        held.extend(held_for);
    }
    let longest = held.iter().max().copied().unwrap_or_default();
    eprintln!(
        "{} trickling sockets were handshaken and held; the longest for {longest:.1?} ({:.1?} after the attack began)",
        held.len(),
        started.elapsed()
    );
    assert!(
        longest < Duration::from_secs(25),
        "a trickling socket was held {longest:?}"
    );
    scene.finish().await;
}
