//! The media path's Prometheus series on a real server: ffmpeg publishes
//! over RTMP, and the exposition shows the stream's own series growing
//! while it is live and gone once it ended, the process-wide ingest,
//! packaging and recording series counting, a refused stream key by its
//! reason, and `promtool` accepting all of it.

mod support;

use std::time::Duration;

use serde_json::json;

use support::exposition::{count, exposition as scrape, promtool_check, sample};
use support::fixture::{Fixture, LIMIT};
use support::server::{Server, stream_key_url};
use support::{publish, wait_for};

/// Scrapes until `check` accepts the exposition; returns that exposition.
async fn scrape_until(server: &Server, what: &str, check: impl Fn(&str) -> bool) -> String {
    wait_for(what, LIMIT, || async {
        let text = scrape(server).await;
        check(&text).then_some(text)
    })
    .await
}

#[tokio::test]
async fn a_refused_key_is_counted_and_a_live_stream_is_measured_until_it_ends() {
    // A thumbnail per segment, so one is rendered within the test.
    let fixture = Fixture::start(&["--thumbnail-interval", "1"]).await;
    let server = &fixture.server;
    let stream = server
        .create_stream(&fixture.token, json!({ "title": "measured" }))
        .await;
    let id = stream["id"].as_str().unwrap();
    let of_stream = format!(r#"stream="{id}""#);
    let of_stream = of_stream.as_str();

    // A wrong stream key: refused, and counted under its reason.
    let refused = r#"reason="bad_key""#;
    let before = count(
        &scrape(server).await,
        "nova_publish_refusals_total",
        &[refused],
    );
    let wrong_key = format!("{}/nl_notakey_0000000000000000", server.rtmp);
    let mut intruder = publish(&wrong_key, &[], 5.0);
    let exit = tokio::time::timeout(LIMIT, intruder.wait())
        .await
        .expect("ffmpeg gives up on a refused key")
        .unwrap();
    assert!(!exit.success(), "a wrong key was accepted");
    let text = scrape_until(server, "the refusal to be counted", |text| {
        count(text, "nova_publish_refusals_total", &[refused]) > before
    })
    .await;
    assert_eq!(
        count(&text, "nova_publish_refusals_total", &[refused]),
        before + 1.0,
        "one connection, one refusal:\n{text}"
    );

    let mut publisher = publish(&stream_key_url(server, &stream), &[], 10.0);
    server
        .wait_for_status(&fixture.token, id, "live", LIMIT)
        .await;
    let stream_bytes = |text: &str| count(text, "nova_stream_ingest_bytes_total", &[of_stream]);
    let stream_frames = |text: &str, kind: &str| {
        let kind = format!(r#"kind="{kind}""#);
        count(text, "nova_stream_frames_total", &[of_stream, &kind])
    };
    let first = scrape_until(server, "the stream's first frames", |text| {
        stream_frames(text, "video") > 0.0 && stream_frames(text, "audio") > 0.0
    })
    .await;
    assert!(stream_bytes(&first) > 0.0, "{first}");
    let behind = sample(&first, "nova_stream_behind_seconds", &[of_stream]);
    assert!(
        behind.is_some_and(f64::is_finite),
        "how far the publisher is behind real time:\n{first}"
    );
    assert_eq!(
        count(&first, "nova_rtmp_connections", &[r#"state="publishing""#]),
        1.0,
        "{first}"
    );
    assert_eq!(count(&first, "nova_live_streams", &[]), 1.0, "{first}");
    // Per-stream series and process-wide ones side by side pass promtool.
    promtool_check(&first).await;

    // Later scrapes see the stream's counters grow.
    let later = scrape_until(server, "the stream's counters to grow", |text| {
        count(text, "nova_stream_segments_total", &[of_stream])
            > count(&first, "nova_stream_segments_total", &[of_stream])
            && stream_bytes(text) > stream_bytes(&first)
            && stream_frames(text, "video") > stream_frames(&first, "video")
    })
    .await;
    // What the stream's series count, the process-wide ones count too.
    assert!(
        count(&later, "nova_ingest_bytes_total", &[]) >= stream_bytes(&later),
        "{later}"
    );
    assert!(
        count(&later, "nova_ingest_frames_total", &[r#"kind="video""#])
            >= stream_frames(&later, "video"),
        "{later}"
    );
    assert!(
        count(&later, "nova_segments_total", &[r#"container="cmaf""#])
            >= count(&later, "nova_stream_segments_total", &[of_stream]),
        "{later}"
    );
    assert!(
        count(&later, "nova_segment_duration_seconds_count", &[]) > 0.0,
        "{later}"
    );
    assert!(
        count(&later, "nova_llhls_part_availability_seconds_count", &[]) > 0.0,
        "LL-HLS parts measured:\n{later}"
    );

    let exit = tokio::time::timeout(LIMIT, publisher.wait())
        .await
        .expect("ffmpeg publishes for 10 s")
        .unwrap();
    assert!(exit.success(), "ffmpeg failed to publish: {exit}");
    server
        .wait_for_status(&fixture.token, id, "ended", LIMIT)
        .await;
    // The ended stream's series leave the output; nothing stays live or
    // connected (the gauges come back to 0 once the connections are gone).
    let gone = |text: &str| {
        !text.contains(id)
            && count(text, "nova_live_streams", &[]) == 0.0
            && ["handshaking", "connected", "publishing"]
                .iter()
                .all(|state| {
                    let state = format!(r#"state="{state}""#);
                    count(text, "nova_rtmp_connections", &[&state]) == 0.0
                })
    };
    let ended = scrape_until(server, "the ended stream's series to go", gone).await;
    assert!(
        ended.contains(r#"nova_rtmp_connections{state="publishing"} 0"#),
        "the gauge is there, at 0:\n{ended}"
    );

    // The recording reached the filesystem store, each object timed.
    let recorded = scrape_until(server, "the recording's uploads to finish", |text| {
        count(text, "nova_uploads_total", &[]) > 0.0
            && count(text, "nova_upload_queue_objects", &[]) == 0.0
            && count(text, "nova_upload_latency_seconds_count", &[]) > 0.0
            && count(text, "nova_thumbnails_total", &[r#"outcome="written""#]) > 0.0
    })
    .await;
    assert_eq!(
        count(&recorded, "nova_upload_latency_seconds_count", &[]),
        count(&recorded, "nova_uploads_total", &[]),
        "every object stored in this process is timed:\n{recorded}"
    );
    assert_eq!(sample(&recorded, "nova_spool_bytes", &[]), Some(0.0));
    assert_eq!(sample(&recorded, "nova_upload_queue_bytes", &[]), Some(0.0));
    assert_eq!(
        count(&recorded, "nova_upload_failures_total", &[]),
        0.0,
        "{recorded}"
    );
    promtool_check(&recorded).await;
    // Generous: a bound for a hung server, not a measurement.
    tokio::time::timeout(Duration::from_secs(120), fixture.finish())
        .await
        .expect("the server stops");
}
