//! The nginx edge (`nginx/edge.sh`, Debian's nginx) in front of a real
//! nova-live: hls.js plays a live LL-HLS stream through it over HTTP/2, a
//! crowd blocking on one part costs the origin about one request, what it
//! cached is still served once the origin is gone, and it finds each stream
//! on whichever of two origins has it; a broadcaster may publish through
//! it too (RTMP passed to the origin by nginx's stream module).

mod edge {
    pub mod nginx_edge;
    pub mod player;
}
mod support;

use std::collections::HashMap;
use std::time::Duration;

use m3u8_rs::Playlist;
use nova_testkit::ll_hls::{lists, preload_hint};
use nova_testkit::tls::TestCertificate;
use serde_json::json;

use edge::nginx_edge::NginxEdge;
use edge::player::{assert_played, play_hls};
use support::exposition::{exposition, sum};
use support::fixture::{Fixture, LIMIT};
use support::server::{Server, stream_key_url};
use support::{publish, wait_for};

/// One test at a time: each runs a server, a publisher and nginx, and a
/// browser or a crowd of 200 clients; together they starve two cores.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The origin's route template for live playback (api/src/playback.rs).
const LIVE_ROUTE: &str = r#"route="/live/{stream}/{*path}""#;

#[tokio::test]
async fn hls_js_plays_a_live_ll_hls_stream_through_the_edge_over_http2() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let certificate = TestCertificate::generate();
    let fixture = Fixture::start(&["--storage", "off"]).await;
    let server = &fixture.server;
    let edge = NginxEdge::start(&[&server.http], Some(&certificate)).await;
    let (stream, mut publisher) = fixture.go_live("through the edge", 2).await;
    let master = edge.through(stream["playback"]["master_url"].as_str().unwrap());
    let before = live_requests(server).await;

    let report = play_hls(&master, 15).await;
    assert_played(&master, &report);
    // The player spoke HTTP/2 to the edge (TLS with ALPN); the origin
    // speaks HTTP/1.1 behind it.
    assert_eq!(report["protocols"], json!(["h2"]), "{report}");
    assert!(
        live_requests(server).await > before,
        "the edge asked the origin nothing while the player played"
    );

    publisher.kill().await.unwrap();
    edge.stop().await;
    fixture.finish().await;
}

#[tokio::test]
async fn two_hundred_clients_blocking_on_one_part_cost_the_origin_a_handful_of_requests() {
    let _turn = ONE_AT_A_TIME.lock().await;
    // Each of the crowd's requests is not worth a log line.
    let fixture = Fixture::start_logging(&["--storage", "off"], Some("warn")).await;
    let server = &fixture.server;
    let edge = NginxEdge::start(&[&server.http], None).await;
    let (stream, mut publisher) = fixture.go_live("a crowd at the edge", 2).await;
    let id = stream["id"].as_str().unwrap();
    let origin_playlist = format!("{}/live/{id}/source/index.m3u8", server.http);
    let text = server.fetch_text(&origin_playlist).await.unwrap();
    // The part after the one being filled: the origin holds a reload for
    // it until it exists.
    let (msn, hinted, run) = preload_hint(&text);
    let part = hinted + 1;
    assert!(!lists(&text, &run, msn, part), "{text}");
    let blocking = format!(
        "{}?_HLS_msn={msn}&_HLS_part={part}",
        edge.through(&origin_playlist)
    );

    let before = live_requests(server).await;
    let mut crowd = tokio::task::JoinSet::new();
    for _ in 0..200 {
        let (client, url) = (edge.client.clone(), blocking.clone());
        crowd.spawn(async move {
            let response = client.get(&url).send().await.unwrap();
            let status = response.status();
            (status, response.text().await.unwrap())
        });
    }
    let answers = tokio::time::timeout(LIMIT, crowd.join_all())
        .await
        .expect("the crowd is answered");
    let after = live_requests(server).await;

    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
        assert!(
            lists(body, &run, msn, part),
            "answered without the part:\n{body}"
        );
    }
    let asked = after - before;
    // nginx holds the crowd behind the one request it sends (proxy_cache_lock);
    // a waiter that wakes after the 1 s answer expired may refresh it once more.
    assert!(
        (1.0..=5.0).contains(&asked),
        "200 blocking reloads through the edge cost the origin {asked} requests"
    );

    publisher.kill().await.unwrap();
    edge.stop().await;
    fixture.finish().await;
}

#[tokio::test]
async fn an_ended_playlist_and_a_recordings_segments_are_served_with_the_origin_stopped() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let fixture = Fixture::start(&["--reconnect-window", "1"]).await;
    let (server, token) = (&fixture.server, &fixture.token);
    let edge = NginxEdge::start(&[&server.http], None).await;
    let stream = server
        .create_stream(token, json!({ "title": "then the origin went away" }))
        .await;
    let id = stream["id"].as_str().unwrap();
    let mut publisher = publish(
        &stream_key_url(server, &stream),
        &["-stream_loop", "-1"],
        10.0,
    );
    assert!(publisher.wait().await.unwrap().success());
    let live = fixture.playlist_url(&stream);
    wait_for("the live playlist to end", LIMIT, || async {
        let text = server.fetch_text(&live).await?;
        text.contains("#EXT-X-ENDLIST").then_some(())
    })
    .await;
    let recording = server.complete_recording(token, id, LIMIT).await;
    let vod = recording["playback"]["hls_url"].as_str().unwrap();

    // A viewer's first look, through the edge: everything it fetches.
    let mut served = HashMap::new();
    let live = edge.through(&live);
    for playlist in [live.clone(), edge.through(vod)] {
        crawl(&edge, &playlist, &mut served).await;
    }
    // The ended playlist is fresh for 10 s (max-age=10): past that, the
    // edge would ask the origin again.
    let expired = tokio::time::Instant::now() + Duration::from_secs(11);
    assert!(
        served.keys().filter(|url| url.ends_with(".m4s")).count() >= 4,
        "{:?}",
        served.keys()
    );

    let Fixture {
        server, database, ..
    } = fixture;
    let origin = server.http.clone();
    let (status, _data_dir) = server.terminate().await;
    assert!(status.success(), "server exited with {status}");
    assert!(
        reqwest::get(format!("{origin}/healthz")).await.is_err(),
        "the origin still answers"
    );

    // The same bytes again, from the edge's cache: fresh (HIT), or expired
    // and kept because the origin cannot be reached (STALE), as the ended
    // playlist is by now.
    tokio::time::sleep_until(expired).await;
    for (url, bytes) in &served {
        let response = edge.client.get(url).send().await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
        let cache = response.headers()["x-cache-status"]
            .to_str()
            .unwrap()
            .to_owned();
        if *url == live {
            assert_eq!(cache, "STALE", "{url}");
        }
        assert!(["HIT", "STALE"].contains(&cache.as_str()), "{url}: {cache}");
        assert_eq!(&response.bytes().await.unwrap()[..], &bytes[..], "{url}");
    }
    // What it never fetched, it cannot serve.
    let unseen = edge
        .client
        .get(format!(
            "{}/live/{}/index.m3u8",
            edge.url,
            uuid::Uuid::new_v4()
        ))
        .send()
        .await
        .unwrap();
    assert!(unseen.status().is_server_error(), "{}", unseen.status());

    edge.stop().await;
    database.drop_database().await;
}

#[tokio::test]
async fn streams_live_on_either_of_two_origins_play_through_one_edge() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let origins = [
        Fixture::start(&["--storage", "off"]).await,
        Fixture::start(&["--storage", "off"]).await,
    ];
    let edge = NginxEdge::start(&[&origins[0].server.http, &origins[1].server.http], None).await;
    // Two streams on each: the edge sends a stream to the origin its id
    // hashes to first, so some of the four start at the wrong one and are
    // found by asking the next (a 404 there).
    let mut live = Vec::new();
    for fixture in &origins {
        for n in 0..2 {
            let stream = fixture
                .server
                .create_stream(
                    &fixture.token,
                    json!({ "title": format!("origin stream {n}") }),
                )
                .await;
            let publisher = publish(
                &stream_key_url(&fixture.server, &stream),
                &["-stream_loop", "-1"],
                120.0,
            );
            live.push((fixture, fixture.playlist_url(&stream), publisher));
        }
    }
    for (fixture, url, _) in &live {
        fixture.wait_for_segments(url, 1).await;
        let response = edge.client.get(edge.through(url)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
        let through_edge = response.text().await.unwrap();
        assert!(through_edge.contains("#EXTINF"), "{through_edge}");
    }
    for (_, _, mut publisher) in live {
        publisher.kill().await.unwrap();
    }
    edge.stop().await;
    for fixture in origins {
        fixture.finish().await;
    }
}

#[tokio::test]
async fn a_broadcaster_publishes_over_rtmp_through_the_edge() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let fixture = Fixture::start(&["--storage", "off"]).await;
    let server = &fixture.server;
    let edge = NginxEdge::start_with_rtmp(&[&server.http], &[&server.rtmp]).await;
    let stream = server
        .create_stream(
            &fixture.token,
            json!({ "title": "ingest through the edge" }),
        )
        .await;
    let key = stream["stream_key"].as_str().unwrap();
    let rtmp = edge.rtmp.as_deref().unwrap();
    let mut publisher = publish(&format!("{rtmp}/{key}"), &["-stream_loop", "-1"], 120.0);
    let url = edge.through(&fixture.playlist_url(&stream));
    wait_for("segments played through the edge", LIMIT, || async {
        let response = edge.client.get(&url).send().await.ok()?;
        let text = response.text().await.ok()?;
        (text.matches("#EXTINF").count() >= 2).then_some(())
    })
    .await;
    publisher.kill().await.unwrap();
    edge.stop().await;
    fixture.finish().await;
}

/// Fetches `url` through the edge and, if it is a playlist, everything it
/// lists (variants, renditions, init segments, segments), into `served`.
async fn crawl(edge: &NginxEdge, url: &str, served: &mut HashMap<String, Vec<u8>>) {
    let mut pending = vec![url.to_owned()];
    while let Some(url) = pending.pop() {
        if served.contains_key(&url) {
            continue;
        }
        let response = edge.client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
        let bytes = response.bytes().await.unwrap().to_vec();
        let base = reqwest::Url::parse(&url).unwrap();
        let join = |uri: &str| base.join(uri).unwrap().to_string();
        if url.ends_with(".m3u8") {
            match m3u8_rs::parse_playlist_res(&bytes) {
                Ok(Playlist::MasterPlaylist(master)) => {
                    pending.extend(master.variants.iter().map(|v| join(&v.uri)));
                    pending.extend(
                        master
                            .alternatives
                            .iter()
                            .filter_map(|a| a.uri.as_deref().map(join)),
                    );
                }
                Ok(Playlist::MediaPlaylist(media)) => {
                    assert!(media.end_list, "{url} has not ended");
                    for segment in &media.segments {
                        pending.extend(segment.map.as_ref().map(|map| join(&map.uri)));
                        pending.push(join(&segment.uri));
                    }
                }
                Err(e) => panic!("{url}: {e:?}"),
            }
        }
        served.insert(url, bytes);
    }
}

/// Live playback requests the origin has answered so far, by its own count
/// (`nova_http_requests_total` for the `/live` route, every status).
async fn live_requests(server: &Server) -> f64 {
    sum(
        &exposition(server).await,
        "nova_http_requests_total",
        &[LIVE_ROUTE],
    )
}
