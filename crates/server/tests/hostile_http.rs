//! Hostile HTTP clients against the real server with a live ffmpeg stream:
//! a slowloris, an anonymous flood of `/vod` requests, one address taking
//! every event feed or viewer session, and publishers over the live-stream
//! limits. Each attack checks that the server goes on serving the others.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::Child;
use uuid::Uuid;

use support::fixture::{Fixture, LIMIT};
use support::publish;
use support::server::{Server, stream_key_url};
use support::wait_for;

/// The two attacks that load the machine run one at a time: each must show
/// the server holding up under its own attack, not under both at once.
static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The server's resident memory, in MiB.
fn rss_mib(server: &Server) -> u64 {
    let pid = server.child.id().expect("the server is running");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/<pid>/status");
    kib / 1024
}

fn http_address(server: &Server) -> String {
    server.http.trim_start_matches("http://").to_owned()
}

/// Media sequence + segments of the live playlist: grows while it is live.
async fn segments_so_far(fixture: &Fixture, playlist_url: &str) -> Option<u64> {
    let (_, playlist) = fixture.playlist(playlist_url).await?;
    Some(playlist.media_sequence + playlist.segments.len() as u64)
}

/// Publishes the sample, looped, to `stream` until the test drops it.
fn publish_looped(server: &Server, stream: &Value) -> Child {
    publish(
        &stream_key_url(server, stream),
        &["-stream_loop", "-1"],
        300.0,
    )
}

/// How long until the stream's live playlist lists a segment (the
/// publisher was let in and its media is packaged); panics with ffmpeg's
/// words if the publisher is turned away first.
async fn time_to_go_live(
    fixture: &Fixture,
    stream: &Value,
    publisher: &mut Child,
    limit: Duration,
) -> Duration {
    let started = Instant::now();
    let url = fixture.playlist_url(stream);
    loop {
        if let Some(exit) = publisher.try_wait().unwrap() {
            let mut stderr = String::new();
            if let Some(mut pipe) = publisher.stderr.take() {
                let _ = pipe.read_to_string(&mut stderr).await;
            }
            panic!("the new publisher was turned away ({exit}): {stderr}");
        }
        if let Some((_, playlist)) = fixture.playlist(&url).await
            && !playlist.segments.is_empty()
        {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "the new publisher had no segment after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sends a request line and then one header byte a second, as a slowloris
/// does; returns how long the server kept the connection, or `None` if it
/// was still open after `give_up`.
async fn slow_client(address: String, give_up: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut socket = TcpStream::connect(&address).await.ok()?;
    if socket
        .write_all(b"GET /api/v1/clock HTTP/1.1\r\nHost: nova\r\nX-Slow: ")
        .await
        .is_err()
    {
        return Some(started.elapsed());
    }
    let mut answer = [0u8; 256];
    while started.elapsed() < give_up {
        tokio::select! {
            // Closed (0 bytes, or reset) or answered: either way not held.
            _ = socket.read(&mut answer) => return Some(started.elapsed()),
            () = tokio::time::sleep(Duration::from_secs(1)) => {
                if socket.write_all(b"a").await.is_err() {
                    return Some(started.elapsed());
                }
            }
        }
    }
    None
}

/// Hundreds of connections trickling header bytes are closed by the header
/// timeout (10 s by default), while the API answers, the live playlist
/// grows and a new publisher goes live.
#[tokio::test]
async fn a_slowloris_is_closed_by_the_header_timeout_while_the_server_serves_others() {
    const SLOW_CLIENTS: usize = 400;
    let give_up = Duration::from_secs(90);
    let _alone = HEAVY.lock().await;
    let fixture = Fixture::start_logging(&[], Some("info")).await;
    let (server, token) = (&fixture.server, fixture.token.as_str());
    let live = server
        .create_stream(token, json!({ "title": "On air" }))
        .await;
    let mut on_air = publish_looped(server, &live);
    let playlist_url = fixture.playlist_url(&live);
    let before = wait_for("a first live segment", LIMIT, || {
        segments_so_far(&fixture, &playlist_url)
    })
    .await;
    let rss_before = rss_mib(server);

    let slow: Vec<_> = (0..SLOW_CLIENTS)
        .map(|_| tokio::spawn(slow_client(http_address(server), give_up)))
        .collect();
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Under attack: the API answers, the live stream goes on, and a new
    // publisher goes live.
    let id = live["id"].as_str().unwrap();
    assert_eq!(server.get_stream(token, id).await["status"], "live");
    let next = server
        .create_stream(token, json!({ "title": "Next" }))
        .await;
    let mut next_publisher = publish_looped(server, &next);
    let went_live = time_to_go_live(&fixture, &next, &mut next_publisher, LIMIT).await;
    wait_for("the live playlist to keep growing", LIMIT, || async {
        let now = segments_so_far(&fixture, &playlist_url).await?;
        (now >= before + 2).then_some(())
    })
    .await;
    let rss_under_attack = rss_mib(server);

    let mut held = Vec::new();
    for client in slow {
        held.push(client.await.unwrap());
    }
    let still_open = held.iter().filter(|held| held.is_none()).count();
    assert_eq!(
        still_open, 0,
        "{still_open} of {SLOW_CLIENTS} trickling connections were still open after {give_up:?}"
    );
    let longest = held.iter().flatten().max().copied().unwrap_or_default();
    // The 10 s header timeout, with room for a starved test runner.
    assert!(
        longest < Duration::from_secs(40),
        "a trickling connection was held {longest:?}"
    );
    assert!(
        rss_under_attack < rss_before + 100,
        "RSS grew from {rss_before} MiB to {rss_under_attack} MiB under the slowloris"
    );
    assert!(
        on_air.try_wait().unwrap().is_none(),
        "the live publisher was dropped"
    );
    eprintln!(
        "slowloris: {SLOW_CLIENTS} connections closed after at most {longest:?}; \
         RSS {rss_before} -> {rss_under_attack} MiB; a new publisher went live in {went_live:?}"
    );
    drop(next_publisher);
    drop(on_air);
    fixture.finish().await;
}

/// A complete recording of `stream` with one segment row.
async fn seed_recording(db: &mut PgConnection, stream: Uuid) -> Uuid {
    let recording = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO stream_recordings (id, stream_id, state, ended_at) \
         VALUES ($1, $2, 'complete', now())",
    )
    .bind(recording)
    .bind(stream)
    .execute(&mut *db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO stream_segments (stream_id, recording_id, rendition, sequence, \
             media_start_ms, program_date_time, duration_ms, byte_size, object_key) \
         VALUES ($2, $1, 'source', 0, 0, now(), 2000, 100000, 'seeded/' || $1::text)",
    )
    .bind(recording)
    .bind(stream)
    .execute(&mut *db)
    .await
    .unwrap();
    recording
}

/// Hundreds of anonymous clients ask for a recording while the database is
/// slow to answer them (the test holds a lock their query waits on, as a
/// long migration or a struggling disk would): every connection of the
/// shared pool is taken by a waiting `/vod` request. The publish authorizer
/// has connections of its own, so a new broadcaster still goes live; the
/// statement timeout gives the stuck requests their connections back.
#[tokio::test]
async fn an_anonymous_vod_flood_on_a_slow_database_does_not_keep_a_publisher_out() {
    const FLOODERS: usize = 300;
    let _alone = HEAVY.lock().await;
    // Every failed request would be a log line: the server logs errors of
    // the ingest only.
    let fixture = Fixture::start_logging(&[], Some("error,nova_api=off,tower_http=off")).await;
    let (server, token) = (&fixture.server, fixture.token.as_str());
    let archive = server
        .create_stream(token, json!({ "title": "Archive" }))
        .await;
    let archive_id = Uuid::parse_str(archive["id"].as_str().unwrap()).unwrap();
    let mut db = PgConnection::connect(&fixture.database.url).await.unwrap();
    let recording = seed_recording(&mut db, archive_id).await;
    let next = server
        .create_stream(token, json!({ "title": "Next" }))
        .await;

    // Every `/vod/{id}/master.m3u8` sums the recording's segments: it waits.
    let mut slow = db.begin().await.unwrap();
    sqlx::query("LOCK TABLE stream_segments IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *slow)
        .await
        .unwrap();
    let flood_started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let url = format!("{}/vod/{recording}/master.m3u8", server.http);
    let flooders: Vec<_> = (0..FLOODERS)
        .map(|_| {
            let (url, stop) = (url.clone(), stop.clone());
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .unwrap();
            tokio::spawn(async move {
                // (requests, failures, longest)
                let mut tally = (0u64, 0u64, Duration::ZERO);
                while !stop.load(Ordering::Relaxed) {
                    let asked = Instant::now();
                    let ok = client
                        .get(&url)
                        .send()
                        .await
                        .is_ok_and(|response| response.status().is_success());
                    tally.0 += 1;
                    tally.1 += u64::from(!ok);
                    tally.2 = tally.2.max(asked.elapsed());
                }
                tally
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(3)).await;

    let mut publisher = publish_looped(server, &next);
    let went_live = time_to_go_live(&fixture, &next, &mut publisher, LIMIT).await;
    // Long enough for stuck statements to meet the 10 s statement timeout.
    let hold = Duration::from_secs(20);
    tokio::time::sleep(hold.saturating_sub(flood_started.elapsed())).await;
    stop.store(true, Ordering::Relaxed);
    let flood_stopped = Instant::now();
    slow.rollback().await.unwrap();
    let (mut requests, mut failures, mut longest) = (0, 0, Duration::ZERO);
    for flooder in flooders {
        let (asked, failed, slowest) = flooder.await.unwrap();
        requests += asked;
        failures += failed;
        longest = longest.max(slowest);
    }
    assert!(
        publisher.try_wait().unwrap().is_none(),
        "the new publisher was dropped"
    );
    // The 10 s statement timeout plus the 5 s wait for a connection, with
    // room for a starved runner: no request waits for the lock's release.
    assert!(
        longest < Duration::from_secs(30),
        "a /vod request took {longest:?} (the flood stopped {:?} before the lock went)",
        flood_stopped.elapsed()
    );
    eprintln!(
        "vod flood: {FLOODERS} clients, {requests} requests ({failures} answered 503), \
         the longest {longest:?}; a new publisher went live in {went_live:?}"
    );
    drop(publisher);
    fixture.finish().await;
}

/// The problem document of a 429, with its Retry-After; a response that
/// is not a 429 fails the test before its body (an event feed never ends)
/// is read.
async fn problem_429(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), 429, "expected 429 Too Many Requests");
    let headers = response.headers().clone();
    let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after >= 1, "Retry-After: {retry_after}");
    assert_eq!(headers["content-type"], "application/problem+json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], 429, "{body}");
    assert_eq!(body["type"], "about:blank", "{body}");
    body
}

/// One address may hold 32 event feeds and start 30 viewer sessions a
/// minute (the defaults): past that it hears 429 with Retry-After and a
/// problem document, and a freed feed slot can be taken again.
#[tokio::test]
async fn one_address_gets_429_past_its_feeds_and_viewer_sessions() {
    let fixture = Fixture::start(&[]).await;
    let (server, token) = (&fixture.server, fixture.token.as_str());
    let stream = server
        .create_stream(token, json!({ "title": "Busy" }))
        .await;
    let id = stream["id"].as_str().unwrap();
    let feed_url = format!(
        "{}/api/v1/streams/{id}/events?access_token={token}",
        server.http
    );
    let mut feeds = Vec::new();
    for _ in 0..32 {
        let response = server.client.get(&feed_url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        feeds.push(response);
    }
    let body = problem_429(server.client.get(&feed_url).send().await.unwrap()).await;
    assert!(
        body["detail"].as_str().unwrap().contains("event feeds"),
        "{body}"
    );
    // A closed feed gives its slot back.
    drop(feeds.pop());
    let again = wait_for("a freed feed slot", LIMIT, || async {
        let response = server.client.get(&feed_url).send().await.ok()?;
        (response.status() == 200).then_some(response)
    })
    .await;
    feeds.push(again);

    let join_url = format!("{}/api/v1/streams/{id}/viewers", server.http);
    for _ in 0..30 {
        let response = server.client.post(&join_url).send().await.unwrap();
        assert_eq!(response.status(), 201, "{:?}", response.text().await);
    }
    let body = problem_429(server.client.post(&join_url).send().await.unwrap()).await;
    assert!(
        body["detail"].as_str().unwrap().contains("viewer sessions"),
        "{body}"
    );
    drop(feeds);
    fixture.finish().await;
}

/// ffmpeg's words when its publish is refused, after it gave up.
async fn refused_publish(server: &Server, stream: &Value) -> String {
    let publisher = publish(&stream_key_url(server, stream), &[], 5.0);
    let output = tokio::time::timeout(Duration::from_secs(30), publisher.wait_with_output())
        .await
        .expect("ffmpeg gives up when its publish is refused")
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        !output.status.success(),
        "the publish was accepted: {stderr}"
    );
    stderr
}

/// `--max-live-streams 2 --max-live-streams-per-owner 1`: an owner's second
/// stream and the server's third are refused with a status that says why.
#[tokio::test]
async fn publishers_over_the_live_stream_limits_are_told_why() {
    let fixture = Fixture::start(&[
        "--max-live-streams",
        "2",
        "--max-live-streams-per-owner",
        "1",
    ])
    .await;
    let server = &fixture.server;
    let alice = fixture.token.as_str();
    let bob = server.token_for(Uuid::new_v4());
    let carol = server.token_for(Uuid::new_v4());
    let first = server.create_stream(alice, json!({ "title": "A1" })).await;
    let second = server.create_stream(alice, json!({ "title": "A2" })).await;
    let bobs = server.create_stream(&bob, json!({ "title": "B1" })).await;
    let carols = server.create_stream(&carol, json!({ "title": "C1" })).await;

    let mut alice_on_air = publish_looped(server, &first);
    time_to_go_live(&fixture, &first, &mut alice_on_air, LIMIT).await;
    let words = refused_publish(server, &second).await;
    assert!(
        words.contains("this account already has 1 live streams"),
        "{words}"
    );

    let mut bob_on_air = publish_looped(server, &bobs);
    time_to_go_live(&fixture, &bobs, &mut bob_on_air, LIMIT).await;
    let words = refused_publish(server, &carols).await;
    assert!(
        words.contains("this server already has 2 live streams"),
        "{words}"
    );
    for refused in [&second, &carols] {
        let id = refused["id"].as_str().unwrap();
        let stream = if refused == &second {
            server.get_stream(alice, id).await
        } else {
            server.get_stream(&carol, id).await
        };
        assert_ne!(stream["status"], "live", "{stream}");
    }
    assert!(alice_on_air.try_wait().unwrap().is_none());
    assert!(bob_on_air.try_wait().unwrap().is_none());

    // At both limits, a publisher taking over a stream already live adds
    // no stream and is let in: the one it replaces is let go.
    let mut alice_again = publish_looped(server, &first);
    tokio::time::timeout(LIMIT, alice_on_air.wait())
        .await
        .expect("the taken-over publisher is disconnected")
        .unwrap();
    assert!(
        alice_again.try_wait().unwrap().is_none(),
        "the publisher taking over was refused"
    );
    drop((alice_again, bob_on_air));
    fixture.finish().await;
}

/// `--http-max-connections 20`: while 20 silent connections are open, a
/// 21st is closed at once (not left waiting), and once they are gone the
/// server answers again.
#[tokio::test]
async fn connections_over_the_cap_are_closed_at_once() {
    let fixture = Fixture::start(&["--http-max-connections", "20"]).await;
    let server = &fixture.server;
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(TcpStream::connect(http_address(server)).await.unwrap());
    }
    // The server takes them in order; give it a moment to take all 20.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut over = TcpStream::connect(http_address(server)).await.unwrap();
    over.write_all(b"GET /healthz HTTP/1.1\r\nHost: nova\r\n\r\n")
        .await
        .ok();
    let mut answer = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), over.read_to_end(&mut answer)).await;
    assert!(
        matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "a connection over the cap was not closed at once: {closed:?} {:?}",
        String::from_utf8_lossy(&answer)
    );
    drop(held);
    wait_for("the server to answer again", LIMIT, || async {
        let response = server
            .client
            .get(format!("{}/healthz", server.http))
            .send()
            .await
            .ok()?;
        response.status().is_success().then_some(())
    })
    .await;
    fixture.finish().await;
}

/// `--http-request-timeout 2`: a client that sends its headers and then
/// trickles the body is answered 503 with Retry-After once the deadline
/// passes, and its connection is given back.
#[tokio::test]
async fn a_trickled_request_body_is_answered_503_at_the_request_timeout() {
    let fixture = Fixture::start(&["--http-request-timeout", "2"]).await;
    let server = &fixture.server;
    let mut socket = TcpStream::connect(http_address(server)).await.unwrap();
    let head = format!(
        "POST /api/v1/streams HTTP/1.1\r\nHost: nova\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{",
        fixture.token
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut answer = vec![0u8; 4096];
    let read = loop {
        tokio::select! {
            read = socket.read(&mut answer) => break read.unwrap(),
            () = tokio::time::sleep(Duration::from_millis(500)) => {
                assert!(started.elapsed() < Duration::from_secs(30), "no answer to a trickled body");
                socket.write_all(b" ").await.unwrap();
            }
        }
    };
    let text = String::from_utf8_lossy(&answer[..read]).to_lowercase();
    assert!(text.starts_with("http/1.1 503"), "{text}");
    assert!(text.contains("retry-after: 5"), "{text}");
    assert!(text.contains("application/problem+json"), "{text}");
    eprintln!("trickled body answered 503 after {:?}", started.elapsed());
    fixture.finish().await;
}
