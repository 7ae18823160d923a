//! The first path through the product, end to end with the real parts:
//! the `nova-live` binary, PostgreSQL, ffmpeg publishing RTMP, and ffprobe
//! and an independent HLS parser judging what is served.

mod support;

use std::time::{Duration, Instant, SystemTime};

use m3u8_rs::MediaPlaylist;
use nova_testkit::ll_hls::{lists, preload_hint};
use nova_testkit::probe::probe_image;
use serde_json::{Value, json};
use support::fixture::{Fixture, LIMIT, Tracks};
use support::media_check::{finish_hls_player, start_hls_player};
use support::server::stream_key_url;
use support::{publish, publish_720p, wait_for};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

#[tokio::test]
async fn publish_goes_live_plays_and_ends() {
    // A thumbnail per segment, so it refreshes within the test.
    let fixture = Fixture::start(&["--thumbnail-interval", "1"]).await;
    let server = &fixture.server;
    let stream = server
        .create_stream(&fixture.token, json!({ "title": "End to end" }))
        .await;
    let id = stream["id"].as_str().unwrap();
    assert_eq!(stream["status"], "idle");
    assert_eq!(stream["ingest"]["rtmp_url"], server.rtmp);
    let playlist_url = fixture.playlist_url(&stream);
    assert_eq!(
        playlist_url,
        format!("{}/live/{id}/index.m3u8", server.http)
    );
    assert!(
        fixture.playlist(&playlist_url).await.is_none(),
        "idle streams have no playlist"
    );
    let thumbnail_url = stream["playback"]["thumbnail_url"].as_str().unwrap();
    assert_eq!(
        thumbnail_url,
        format!("{}/live/{id}/thumbnail.jpg", server.http)
    );
    assert!(
        server.fetch(thumbnail_url).await.is_none(),
        "idle streams have no thumbnail"
    );

    let mut publisher = publish(&stream_key_url(server, &stream), &[], 7.0);
    server
        .wait_for_status(&fixture.token, id, "live", LIMIT)
        .await;
    let live = fixture.wait_for_segments(&playlist_url, 1).await;
    assert!(!live.end_list, "a live playlist has no EXT-X-ENDLIST");
    // A real HLS client joins while live and follows the playlist to its end.
    let player = start_hls_player(&playlist_url);

    let response = server.fetch(&playlist_url).await.unwrap();
    let headers = response.headers();
    assert_eq!(headers["content-type"], "application/vnd.apple.mpegurl");
    assert_eq!(headers["access-control-allow-origin"], "*");
    let cache = headers["cache-control"].to_str().unwrap();
    assert!(
        cache.contains("max-age=1"),
        "live playlist Cache-Control: {cache}"
    );

    let first_thumbnail = check_thumbnail(server, thumbnail_url, None).await;

    let exit = publisher.wait().await.unwrap();
    assert!(exit.success(), "ffmpeg failed to publish: {exit}");
    server
        .wait_for_status(&fixture.token, id, "ended", LIMIT)
        .await;
    // Later segments were pictured: a newer capture, other bytes.
    let last_thumbnail = check_thumbnail(server, thumbnail_url, Some(first_thumbnail.0)).await;
    assert_ne!(first_thumbnail.1, last_thumbnail.1);
    let (text, ended) = fixture.playlist(&playlist_url).await.unwrap();
    assert!(
        ended.end_list,
        "ended playlist lacks EXT-X-ENDLIST:\n{text}"
    );
    assert!(
        text.contains("#EXT-X-MAP:URI="),
        "fMP4 playlists map an init segment:\n{text}"
    );
    assert!(text.contains("#EXT-X-PROGRAM-DATE-TIME:"), "{text}");
    assert_eq!(ended.target_duration, 2, "{text}");

    let played = tokio::time::timeout(LIMIT, finish_hls_player(player))
        .await
        .expect("the HLS player stops at EXT-X-ENDLIST");
    assert!(played.success && played.errors.is_empty(), "{played:?}");
    // 7 s at 30 fps, from the first segment on.
    assert!((200..=215).contains(&played.video_frames), "{played:?}");

    fixture.check_every_segment(&playlist_url, &ended).await;
    let total: f64 = ended.segments.iter().map(|s| f64::from(s.duration)).sum();
    assert!(
        (total - 7.0).abs() < 0.5,
        "published 7 s, playlist holds {total} s:\n{text}"
    );
    fixture.finish().await;
}

/// Waits for a thumbnail captured after `newer_than` (any, if `None`),
/// checks it is a clean JPEG of the sample's aspect, and returns its
/// capture time and bytes.
async fn check_thumbnail(
    server: &support::server::Server,
    url: &str,
    newer_than: Option<SystemTime>,
) -> (SystemTime, Vec<u8>) {
    let (modified, response) = wait_for("a newer thumbnail", LIMIT, || async {
        let response = server.fetch(url).await?;
        let modified = response.headers()["last-modified"].to_str().unwrap();
        let modified = httpdate_parse(modified);
        newer_than
            .is_none_or(|older| modified > older)
            .then_some((modified, response))
    })
    .await;
    let headers = response.headers();
    assert_eq!(headers["content-type"], "image/jpeg");
    assert_eq!(headers["cache-control"], "public, max-age=1");
    let jpeg = response.bytes().await.unwrap().to_vec();
    let dir = tempfile::tempdir().unwrap();
    let image = probe_image(dir.path(), "thumbnail.jpg", &jpeg);
    assert_eq!(image.codec, "mjpeg", "{image:?}");
    assert!(image.decode_errors.is_empty(), "{image:?}");
    assert_eq!(image.color_range, "pc", "{image:?}");
    // The sample is 640x360: at most 640 wide, 16:9.
    let (width, height) = (image.width, image.height);
    assert!(width <= 640 && width > 0, "{width}x{height}");
    assert_eq!(height, width * 9 / 16, "{width}x{height}");
    (modified, jpeg)
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) as a time.
fn httpdate_parse(text: &str) -> SystemTime {
    let parsed = chrono::DateTime::parse_from_rfc2822(text)
        .unwrap_or_else(|error| panic!("Last-Modified {text:?}: {error}"));
    SystemTime::from(parsed)
}

/// The master playlist of an ended fMP4 stream, its renditions' playlists
/// with every segment probed, and the MPD's SegmentTimeline checked against
/// them. Returns each rendition's playlist by URI.
async fn check_renditions(fixture: &Fixture, stream: &Value) -> Vec<(String, MediaPlaylist)> {
    let master_url = stream["playback"]["master_url"].as_str().unwrap();
    let base = master_url.rsplit_once('/').unwrap().0;
    let (text, master) = fixture.master(master_url).await;
    assert!(master.independent_segments, "{text}");
    assert_eq!(master.variants.len(), 1, "{text}");
    let variant = &master.variants[0];
    // The sample is H.264 with AAC-LC.
    let codecs = variant.codecs.as_deref().unwrap();
    assert!(
        codecs.starts_with("avc1.") && codecs.ends_with(",mp4a.40.2"),
        "{text}"
    );
    let resolution = variant.resolution.unwrap();
    assert_eq!((resolution.width, resolution.height), (640, 360), "{text}");
    assert!(
        variant.bandwidth >= variant.average_bandwidth.unwrap(),
        "{text}"
    );
    assert_eq!(variant.audio.as_deref(), Some("audio"), "{text}");
    let audio = &master.alternatives[0];
    assert_eq!(audio.group_id, "audio", "{text}");

    let mut renditions = Vec::new();
    for (uri, tracks) in [
        (variant.uri.clone(), Tracks::Video),
        (audio.uri.clone().unwrap(), Tracks::Audio),
    ] {
        let url = format!("{base}/{uri}");
        // "ended" is the ingest's word; the ladder may still be flushing
        // its last frames into the renditions for a moment after it.
        let playlist = wait_for(&format!("#EXT-X-ENDLIST in {url}"), LIMIT, || async {
            let (_, playlist) = fixture.playlist(&url).await?;
            playlist.end_list.then_some(playlist)
        })
        .await;
        fixture.check_segments(&url, &playlist, tracks).await;
        renditions.push((uri, playlist));
    }

    let mpd_url = stream["playback"]["dash_url"].as_str().unwrap();
    let mpd = fixture.mpd(mpd_url).await;
    assert!(mpd["minimumUpdatePeriod"].is_null(), "ended: {mpd}");
    let periods = mpd["periods"].as_array().unwrap();
    for (uri, playlist) in &renditions {
        let rendition = uri.split('/').next().unwrap();
        let representations: Vec<&Value> = periods
            .iter()
            .flat_map(|p| p["adaptationSets"].as_array().unwrap())
            .flat_map(|set| set["representations"].as_array().unwrap())
            .filter(|rep| rep["id"] == rendition)
            .collect();
        // The MPD lists the playlist's segments, in order, with the same
        // durations, and its templates name the files the playlist does.
        let mut listed = Vec::new();
        for rep in &representations {
            let timescale = rep["timescale"].as_f64().unwrap();
            let first = rep["startNumber"].as_u64().unwrap();
            for (index, entry) in rep["segments"].as_array().unwrap().iter().enumerate() {
                let number = first + index as u64;
                let path = rep["media"]
                    .as_str()
                    .unwrap()
                    .replace("$Number$", &number.to_string());
                listed.push((number, path, entry[1].as_f64().unwrap() / timescale));
            }
        }
        assert_eq!(listed.len(), playlist.segments.len(), "{uri}: {mpd}");
        for ((number, path, seconds), (index, segment)) in
            listed.iter().zip(playlist.segments.iter().enumerate())
        {
            assert_eq!(*number, playlist.media_sequence + index as u64, "{mpd}");
            assert_eq!(path, &format!("{rendition}/{}", segment.uri), "{mpd}");
            assert!(
                (seconds - f64::from(segment.duration)).abs() < 0.05,
                "{path}: S@d {seconds} s, EXTINF {}",
                segment.duration
            );
        }
    }
    renditions
}

#[tokio::test]
async fn fmp4_streams_play_as_cmaf_renditions_over_hls_and_dash() {
    let fixture = Fixture::start(&[]).await;
    let server = &fixture.server;
    let stream = server
        .create_stream(&fixture.token, json!({ "title": "Renditions" }))
        .await;
    let id = stream["id"].as_str().unwrap();
    let live_url = |name: &str| format!("{}/live/{id}/{name}", server.http);
    assert_eq!(stream["playback"]["master_url"], live_url("master.m3u8"));
    assert_eq!(stream["playback"]["dash_url"], live_url("manifest.mpd"));

    let mut publisher = publish(&stream_key_url(server, &stream), &[], 7.0);
    fixture
        .wait_for_segments(&fixture.playlist_url(&stream), 2)
        .await;
    let mpd = fixture.mpd(&live_url("manifest.mpd")).await;
    assert_eq!(mpd["type"], "dynamic", "{mpd}");
    assert!(mpd["minimumUpdatePeriod"].as_f64().unwrap() >= 1.0, "{mpd}");
    assert!(
        mpd["profiles"]
            .as_str()
            .unwrap()
            .contains("urn:mpeg:dash:profile:isoff-live:2011"),
        "{mpd}"
    );
    // The MPD's clock is served by nova-live itself, as an xs:dateTime.
    let clock_url = mpd["utcTiming"][0].as_str().unwrap();
    assert_eq!(clock_url, format!("{}/api/v1/clock", server.http));
    let now = server.fetch_text(clock_url).await.unwrap();
    let skew = chrono::Utc::now() - chrono::DateTime::parse_from_rfc3339(&now).unwrap().to_utc();
    assert!(skew.num_seconds().abs() < 60, "clock says {now}");
    let master = server.fetch(&live_url("master.m3u8")).await.unwrap();
    assert_eq!(
        master.headers()["content-type"],
        "application/vnd.apple.mpegurl"
    );

    assert!(publisher.wait().await.unwrap().success());
    server
        .wait_for_status(&fixture.token, id, "ended", LIMIT)
        .await;
    let renditions = check_renditions(&fixture, &stream).await;
    for (uri, playlist) in &renditions {
        let total: f64 = playlist
            .segments
            .iter()
            .map(|s| f64::from(s.duration))
            .sum();
        assert!((total - 7.0).abs() < 0.5, "{uri}: {total} s of 7");
    }
    fixture.finish().await;
}

#[tokio::test]
async fn abr_streams_add_the_ladder_renditions_below_the_source_and_survive_a_reconnect() {
    // ultrafast: the machine running the tests is shared, and a ladder
    // that falls behind real time drops renditions by design.
    let fixture = Fixture::start(&["--abr-preset", "ultrafast"]).await;
    let server = &fixture.server;
    let stream = server
        .create_stream(&fixture.token, json!({ "title": "Ladder" }))
        .await;
    let id = stream["id"].as_str().unwrap();
    let patched = server
        .client
        .patch(format!("{}/api/v1/streams/{id}", server.http))
        .bearer_auth(&fixture.token)
        .json(&json!({ "settings": { "profile": "abr" } }))
        .send()
        .await
        .unwrap();
    assert!(patched.status().is_success(), "{}", patched.status());

    let mut publisher = publish_720p(&stream_key_url(server, &stream), 60.0);
    fixture
        .wait_for_segments(&fixture.playlist_url(&stream), 1)
        .await;
    // While live, the stream's health shows the ladder's renditions.
    let renditions = wait_for("the ladder in the stream's health", LIMIT, || async {
        let live = server.get_stream(&fixture.token, id).await;
        let renditions = live["health"]["renditions"].as_array()?.clone();
        (renditions.len() == 2).then_some(renditions)
    })
    .await;
    assert_eq!(renditions[0]["name"], "480p", "{renditions:?}");
    assert_eq!(renditions[0]["height"], 480, "{renditions:?}");
    assert_eq!(renditions[1]["name"], "360p", "{renditions:?}");
    for rendition in &renditions {
        assert_eq!(rendition["state"], "running", "{renditions:?}");
    }

    fixture
        .wait_for_segments(&fixture.playlist_url(&stream), 3)
        .await;
    // The connection drops (no unpublish, which would end the stream) and
    // the encoder comes back within the reconnect window (10 s): every
    // rendition continues, after a discontinuity, and the stream ends when
    // this encoder stops.
    publisher.kill().await.unwrap();
    let mut publisher = publish_720p(&stream_key_url(server, &stream), 6.0);
    assert!(publisher.wait().await.unwrap().success());
    server
        .wait_for_status(&fixture.token, id, "ended", LIMIT)
        .await;
    let master_url = stream["playback"]["master_url"].as_str().unwrap();
    let base = master_url.rsplit_once('/').unwrap().0;
    let (text, master) = fixture.master(master_url).await;
    let mut variants: Vec<(String, u64)> = master
        .variants
        .iter()
        .map(|v| (v.uri.clone(), v.resolution.unwrap().height))
        .collect();
    variants.sort_by_key(|(_, height)| *height);
    assert_eq!(
        variants,
        [
            ("360p/index.m3u8".to_owned(), 360),
            ("480p/index.m3u8".to_owned(), 480),
            ("source/index.m3u8".to_owned(), 720),
        ],
        "{text}"
    );
    let mut lengths = Vec::new();
    for (uri, _) in &variants {
        let url = format!("{base}/{uri}");
        // "ended" is the ingest's word; the ladder may still be flushing
        // its last frames into the renditions for a moment after it.
        let playlist = wait_for(&format!("#EXT-X-ENDLIST in {url}"), LIMIT, || async {
            let (_, playlist) = fixture.playlist(&url).await?;
            playlist.end_list.then_some(playlist)
        })
        .await;
        // Decodable from a keyframe each, and playback time moving
        // forward across the reconnect.
        fixture.check_segments(&url, &playlist, Tracks::Video).await;
        let discontinuities: Vec<usize> = playlist
            .segments
            .iter()
            .enumerate()
            .filter(|(_, segment)| segment.discontinuity)
            .map(|(index, _)| index)
            .collect();
        assert_eq!(discontinuities.len(), 1, "{url}: {playlist:?}");
        let after: f32 = playlist.segments[discontinuities[0]..]
            .iter()
            .map(|s| s.duration)
            .sum();
        assert!((5.5..=6.5).contains(&after), "{url}: {after} s of 6");
        lengths.push((
            playlist.media_sequence,
            playlist.segments.len(),
            discontinuities,
        ));
    }
    // Segment N is the same stretch of the stream in every rendition, and
    // the reconnect falls between the same two segments in each.
    assert!(lengths.windows(2).all(|w| w[0] == w[1]), "{lengths:?}");
    fixture.finish().await;
}

#[tokio::test]
async fn mpeg_ts_segments_when_the_stream_asks_for_them() {
    let fixture = Fixture::start(&["--segment-duration", "4"]).await;
    let server = &fixture.server;
    let stream = server
        .create_stream(
            &fixture.token,
            json!({ "title": "Legacy", "settings": { "container": "ts" } }),
        )
        .await;
    let id = stream["id"].as_str().unwrap();
    assert!(stream["playback"]["master_url"].is_null(), "{stream}");
    assert!(stream["playback"]["dash_url"].is_null(), "{stream}");
    let mut publisher = publish(&stream_key_url(server, &stream), &[], 9.0);
    assert!(publisher.wait().await.unwrap().success());
    server
        .wait_for_status(&fixture.token, id, "ended", LIMIT)
        .await;
    let playlist_url = fixture.playlist_url(&stream);
    let (text, playlist) = fixture.playlist(&playlist_url).await.unwrap();
    assert!(playlist.end_list);
    assert_eq!(playlist.target_duration, 4, "{text}");
    assert!(!text.contains("EXT-X-MAP"), "{text}");
    assert!(
        playlist.segments.iter().all(|s| s.uri.ends_with(".ts")),
        "{text}"
    );
    let base = playlist_url.rsplit_once('/').unwrap().0;
    let first = server
        .fetch(&format!("{base}/{}", playlist.segments[0].uri))
        .await
        .unwrap();
    assert_eq!(first.headers()["content-type"], "video/mp2t");
    fixture.check_every_segment(&playlist_url, &playlist).await;
    fixture.finish().await;
}

#[tokio::test]
async fn wrong_keys_and_garbage_are_refused_while_other_streams_go_on() {
    let fixture = Fixture::start(&[]).await;
    let server = &fixture.server;
    let stream = server
        .create_stream(&fixture.token, json!({ "title": "Keeps going" }))
        .await;
    let id = stream["id"].as_str().unwrap();
    let mut good = publish(
        &stream_key_url(server, &stream),
        &["-stream_loop", "-1"],
        30.0,
    );
    server
        .wait_for_status(&fixture.token, id, "live", LIMIT)
        .await;

    // A key that was never issued, and a real key with its secret altered.
    let real_key = stream["stream_key"].as_str().unwrap();
    let mut altered = real_key.to_owned();
    let last = altered.pop().unwrap();
    altered.push(if last == 'a' { 'b' } else { 'a' });
    for key in ["not-a-key", altered.as_str()] {
        let mut bad = publish(&format!("{}/{key}", server.rtmp), &[], 5.0);
        let status = tokio::time::timeout(LIMIT, bad.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(
            !status.success(),
            "publishing with key {key:?} was accepted"
        );
    }

    // Bytes that are not RTMP: the server hangs up on this connection only.
    let rtmp_port: u16 = server
        .rtmp
        .rsplit_once(':')
        .unwrap()
        .1
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let mut garbage = tokio::net::TcpStream::connect(("127.0.0.1", rtmp_port))
        .await
        .unwrap();
    garbage.write_all(&[0x07; 4096]).await.unwrap();
    let mut sink = Vec::new();
    let _ = tokio::time::timeout(LIMIT, garbage.read_to_end(&mut sink))
        .await
        .expect("server closes the connection");

    assert_eq!(
        server.get_stream(&fixture.token, id).await["status"],
        "live"
    );
    let playlist_url = fixture.playlist_url(&stream);
    let before = fixture.wait_for_segments(&playlist_url, 1).await;
    let grown = wait_for(
        "the good stream's playlist to keep growing",
        LIMIT,
        || async {
            let (_, now) = fixture.playlist(&playlist_url).await?;
            let last = |p: &MediaPlaylist| p.media_sequence + p.segments.len() as u64;
            (last(&now) > last(&before)).then_some(now)
        },
    )
    .await;
    assert!(!grown.end_list);
    assert!(
        good.try_wait().unwrap().is_none(),
        "the good publisher was disconnected"
    );
    good.kill().await.unwrap();
    fixture.finish().await;
}

#[tokio::test]
async fn a_second_publisher_takes_over_and_the_playlist_continues() {
    let fixture = Fixture::start(&[]).await;
    let server = &fixture.server;
    let stream = server
        .create_stream(&fixture.token, json!({ "title": "Takeover" }))
        .await;
    let id = stream["id"].as_str().unwrap();
    let url = stream_key_url(server, &stream);
    let playlist_url = fixture.playlist_url(&stream);

    let mut first = publish(&url, &["-stream_loop", "-1"], 60.0);
    fixture.wait_for_segments(&playlist_url, 2).await;
    let mut second = publish(&url, &[], 5.0);
    let kicked = tokio::time::timeout(LIMIT, first.wait())
        .await
        .expect("the first publisher is disconnected")
        .unwrap();
    assert!(
        !kicked.success(),
        "the first publisher was not told it lost the stream"
    );
    assert!(second.wait().await.unwrap().success());
    server
        .wait_for_status(&fixture.token, id, "ended", LIMIT)
        .await;

    let (text, playlist) = fixture.playlist(&playlist_url).await.unwrap();
    assert!(playlist.end_list, "{text}");
    let discontinuities = playlist.segments.iter().filter(|s| s.discontinuity).count();
    assert_eq!(
        discontinuities, 1,
        "one takeover, one discontinuity:\n{text}"
    );
    assert_eq!(
        text.matches("#EXT-X-MAP:").count(),
        2,
        "each publisher gets an init segment:\n{text}"
    );
    fixture.check_every_segment(&playlist_url, &playlist).await;
    fixture.finish().await;
}

#[tokio::test]
async fn a_dropped_publisher_that_reconnects_continues_the_playlist() {
    let fixture = Fixture::start(&["--reconnect-window", "30"]).await;
    let server = &fixture.server;
    let stream = server
        .create_stream(&fixture.token, json!({ "title": "Flaky uplink" }))
        .await;
    let id = stream["id"].as_str().unwrap();
    let url = stream_key_url(server, &stream);
    let playlist_url = fixture.playlist_url(&stream);

    let mut first = publish(&url, &["-stream_loop", "-1"], 60.0);
    fixture.wait_for_segments(&playlist_url, 2).await;
    // SIGKILL: the encoder vanishes without unpublishing, like a dropped uplink.
    first.kill().await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        server.get_stream(&fixture.token, id).await["status"],
        "live"
    );

    let mut second = publish(&url, &[], 5.0);
    assert!(second.wait().await.unwrap().success());
    server
        .wait_for_status(&fixture.token, id, "ended", LIMIT)
        .await;
    let (text, playlist) = fixture.playlist(&playlist_url).await.unwrap();
    assert!(playlist.end_list, "{text}");
    assert_eq!(
        playlist.segments.iter().filter(|s| s.discontinuity).count(),
        1,
        "{text}"
    );
    fixture.check_every_segment(&playlist_url, &playlist).await;

    // Every CMAF rendition continues its media sequence across the
    // reconnect with a discontinuity at the same segment, and the MPD
    // starts a new Period there.
    let reconnect = |p: &MediaPlaylist| {
        let index = p.segments.iter().position(|s| s.discontinuity).unwrap();
        p.media_sequence + index as u64
    };
    let renditions = check_renditions(&fixture, &stream).await;
    for (uri, rendition) in &renditions {
        assert_eq!(
            rendition
                .segments
                .iter()
                .filter(|s| s.discontinuity)
                .count(),
            1,
            "{uri}"
        );
        assert_eq!(reconnect(rendition), reconnect(&playlist), "{uri}");
    }
    let mpd = fixture
        .mpd(stream["playback"]["dash_url"].as_str().unwrap())
        .await;
    let periods = mpd["periods"].as_array().unwrap();
    assert_eq!(periods.len(), 2, "{mpd}");
    assert_eq!(periods[1]["id"], reconnect(&playlist).to_string(), "{mpd}");
    assert!(
        periods[1]["start"].as_f64().unwrap() > periods[0]["start"].as_f64().unwrap(),
        "{mpd}"
    );
    fixture.finish().await;
}

#[tokio::test]
async fn shutdown_ends_live_streams() {
    let fixture = Fixture::start(&[]).await;
    let server = &fixture.server;
    let stream = server
        .create_stream(&fixture.token, json!({ "title": "Interrupted" }))
        .await;
    let id: Uuid = stream["id"].as_str().unwrap().parse().unwrap();
    let mut publisher = publish(
        &stream_key_url(server, &stream),
        &["-stream_loop", "-1"],
        60.0,
    );
    fixture
        .wait_for_segments(&fixture.playlist_url(&stream), 1)
        .await;

    let Fixture {
        server, database, ..
    } = fixture;
    let (status, _dir) = server.terminate().await;
    assert!(status.success(), "server exited with {status}");
    let publisher_exit = tokio::time::timeout(LIMIT, publisher.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(
        !publisher_exit.success(),
        "the publisher was not disconnected"
    );

    let pool = sqlx::PgPool::connect(&database.url).await.unwrap();
    let (status,): (String,) = sqlx::query_as("SELECT status FROM live_streams WHERE id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(status, "ended");
    pool.close().await;
    database.drop_database().await;
}

#[tokio::test]
async fn a_blocking_playlist_reload_answers_as_soon_as_the_part_exists() {
    let fixture = Fixture::start(&[]).await;
    let server = &fixture.server;
    let stream = server
        .create_stream(&fixture.token, json!({ "title": "Low latency" }))
        .await;
    let id = stream["id"].as_str().unwrap();
    let mut publisher = publish(
        &stream_key_url(server, &stream),
        &["-stream_loop", "-1"],
        60.0,
    );
    fixture
        .wait_for_segments(&fixture.playlist_url(&stream), 2)
        .await;
    let url = format!("{}/live/{id}/source/index.m3u8", server.http);
    let text = server.fetch_text(&url).await.unwrap();
    assert!(
        text.contains("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES"),
        "{text}"
    );
    // Parts are cut 0.5 s long; PART-TARGET allows a frame's overhang.
    assert!(text.contains("#EXT-X-PART-INF:PART-TARGET=0.550"), "{text}");
    assert!(
        text.contains("#EXT-X-RENDITION-REPORT:URI=\"../audio/index.m3u8\""),
        "{text}"
    );

    // Ask for the part after the one being filled: it does not exist yet.
    let (msn, hinted, run) = preload_hint(&text);
    let part = hinted + 1;
    assert!(!lists(&text, &run, msn, part), "{text}");

    // Meanwhile, note when the part shows up in the playlist.
    let seen = {
        let (client, url, run) = (server.client.clone(), url.clone(), run.clone());
        tokio::spawn(async move {
            loop {
                let text = client.get(&url).send().await.unwrap().text().await.unwrap();
                if lists(&text, &run, msn, part) {
                    return Instant::now();
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let asked = Instant::now();
    let response = server
        .client
        .get(format!("{url}?_HLS_msn={msn}&_HLS_part={part}"))
        .send()
        .await
        .unwrap();
    let answered = Instant::now();
    assert_eq!(response.status(), 200);
    let blocked = response.text().await.unwrap();
    assert!(
        lists(&blocked, &run, msn, part),
        "answered without the part:\n{blocked}"
    );
    let seen = tokio::time::timeout(LIMIT, seen).await.unwrap().unwrap();
    // It answered before the three-target-duration timeout, and about when
    // the part appeared, not a polling interval later. (Loose bounds: this
    // judges the mechanism, not the machine's speed.)
    let waited = answered - asked;
    assert!(waited < Duration::from_secs(6), "waited {waited:?}");
    let after_seen = answered.saturating_duration_since(seen);
    assert!(
        after_seen < Duration::from_millis(400),
        "answered {after_seen:?} after a 20 ms poll saw the part"
    );

    // The hinted part can be asked for before it exists (§4.4.5.3): the
    // request is held until it does, and then the playlist lists it.
    let text = server.fetch_text(&url).await.unwrap();
    let (msn, hinted, run) = preload_hint(&text);
    let part_url = format!("{}/live/{id}/source/{run}-{msn}.{hinted}.m4s", server.http);
    let early = server.client.get(&part_url).send().await.unwrap();
    assert_eq!(early.status(), 200, "{part_url}");
    assert!(!early.bytes().await.unwrap().is_empty());
    let text = server.fetch_text(&url).await.unwrap();
    assert!(lists(&text, &run, msn, hinted), "{text}");

    // A segment far beyond the playlist is refused at once (§6.2.5.2).
    let far = server
        .client
        .get(format!("{url}?_HLS_msn={}", msn + 10))
        .send()
        .await
        .unwrap();
    assert_eq!(far.status(), 400);
    publisher.kill().await.unwrap();
    fixture.finish().await;
}
