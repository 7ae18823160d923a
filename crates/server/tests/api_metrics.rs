//! The API's and the process's series on a real server: each counts
//! exactly what happened (gauges up and back down as viewers, feeds and
//! held LL-HLS requests come and go, even when a client just disconnects),
//! no id becomes a label value, and `promtool` accepts the output with
//! them all present.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use nova_testkit::ll_hls::preload_hint;
use serde_json::{Value, json};
use uuid::Uuid;

use support::exposition::{exposition, promtool_check, sample, sum};
use support::fixture::{Fixture, LIMIT};
use support::server::Server;
use support::wait_for;

/// Waits until the series `name` (with `labels`) reads `value`.
async fn wait_for_value(server: &Server, name: &str, labels: &[&str], value: f64) -> String {
    wait_for(&format!("{name}{labels:?} = {value}"), LIMIT, || async {
        let text = exposition(server).await;
        (sample(&text, name, labels) == Some(value)).then_some(text)
    })
    .await
}

/// A webhook receiver on a local port that answers 200 and counts calls.
async fn webhook_receiver() -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let app = Router::new().route(
        "/hook",
        post(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            std::future::ready(StatusCode::OK)
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, calls)
}

async fn post_json(server: &Server, token: Option<&str>, path: &str, body: Value) -> Value {
    let mut request = server
        .client
        .post(format!("{}{path}", server.http))
        .header("idempotency-key", Uuid::new_v4().to_string())
        .json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert!(status.is_success(), "POST {path}: {status} {body}");
    body
}

#[tokio::test]
async fn viewers_chat_super_chats_webhooks_and_feeds_are_counted_exactly() {
    // The webhook receiver is on this machine's loopback.
    let fixture = Fixture::start(&["--webhooks-allow-private"]).await;
    let server = &fixture.server;
    let (hook_url, hook_calls) = webhook_receiver().await;
    post_json(
        server,
        Some(&fixture.token),
        "/api/v1/webhooks",
        json!({"url": hook_url, "event_types": ["super_chat.created"]}),
    )
    .await;
    let stream = server
        .create_stream(&fixture.token, json!({"title": "counted"}))
        .await;
    let id = stream["id"].as_str().unwrap();
    let text = exposition(server).await;
    for idle in [
        "nova_viewers",
        "nova_event_feed_subscribers",
        "nova_blocking_reloads_waiting",
        "nova_chat_messages_total",
        "nova_super_chats_total",
    ] {
        assert_eq!(sample(&text, idle, &[]), Some(0.0), "{idle}:\n{text}");
    }

    // A viewer joins, then leaves.
    let session = post_json(
        server,
        None,
        &format!("/api/v1/streams/{id}/viewers"),
        json!({}),
    )
    .await;
    let session_id = session["id"].as_str().unwrap();
    wait_for_value(server, "nova_viewers", &[], 1.0).await;
    let left = server
        .client
        .delete(format!(
            "{}/api/v1/streams/{id}/viewers/{session_id}",
            server.http
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(left.status(), 204);
    wait_for_value(server, "nova_viewers", &[], 0.0).await;

    // An event feed (Server-Sent Events) opens; the client drops it.
    let feed = server
        .client
        .get(format!("{}/api/v1/streams/{id}/events", server.http))
        .bearer_auth(&fixture.token)
        .send()
        .await
        .unwrap();
    assert_eq!(feed.status(), 200);
    wait_for_value(server, "nova_event_feed_subscribers", &[], 1.0).await;

    // Two chat messages and a super chat from another user, while the feed
    // is open: the last scrape before it closes has everything.
    for text in ["first", "second"] {
        post_json(
            server,
            Some(&fixture.token),
            &format!("/api/v1/streams/{id}/chat/messages"),
            json!({"body": text}),
        )
        .await;
    }
    let fan = server.token_for(Uuid::new_v4());
    post_json(
        server,
        Some(&fan),
        &format!("/api/v1/streams/{id}/super-chats"),
        json!({"amount_minor": 500, "currency": "USD", "message": "great show",
               "payment_reference": Uuid::new_v4().to_string()}),
    )
    .await;
    let delivered = [r#"outcome="delivered""#];
    let text = wait_for_value(server, "nova_webhook_deliveries_total", &delivered, 1.0).await;
    assert_eq!(hook_calls.load(Ordering::SeqCst), 1, "the receiver got it");
    assert_eq!(sample(&text, "nova_chat_messages_total", &[]), Some(2.0));
    assert_eq!(sample(&text, "nova_super_chats_total", &[]), Some(1.0));
    for outcome in ["failed", "gave_up"] {
        let labels = [format!("outcome=\"{outcome}\"")];
        let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
        let attempts = sample(&text, "nova_webhook_deliveries_total", &labels);
        assert_eq!(attempts, Some(0.0), "{outcome}:\n{text}");
    }
    assert_eq!(sample(&text, "nova_event_feed_subscribers", &[]), Some(1.0));
    // Read at scrape time: the pools, the disk watch (512 MiB, the
    // default watermark), the process.
    for pool in ["shared", "reserved"] {
        for state in ["in_use", "idle"] {
            let labels = [format!("pool=\"{pool}\""), format!("state=\"{state}\"")];
            let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
            let connections = sample(&text, "nova_db_pool_connections", &labels);
            assert!(connections.is_some(), "{pool} {state}:\n{text}");
        }
    }
    let open = sum(&text, "nova_db_pool_connections", &[r#"pool="shared""#]);
    assert!(open >= 1.0, "the shared pool served the requests:\n{text}");
    let min_free = sample(&text, "nova_disk_min_free_bytes", &[]);
    assert_eq!(min_free, Some(512.0 * 1024.0 * 1024.0), "{text}");
    assert!(sample(&text, "nova_disk_free_bytes", &[]).is_some_and(|free| free > 0.0));
    let resident = sample(&text, "process_resident_memory_bytes", &[]);
    assert!(resident.is_some_and(|bytes| bytes > 1e6), "{text}");
    // Whole seconds: the `metrics` facade's counters are integers.
    assert!(
        sample(&text, "process_cpu_seconds_total", &[]).is_some(),
        "{text}"
    );
    assert!(sample(&text, "process_open_fds", &[]).is_some_and(|fds| fds > 0.0));
    promtool_check(&text).await;
    for secret in [id, session_id, &fixture.token] {
        assert!(
            !text.contains(secret),
            "{secret} in the exposition:\n{text}"
        );
    }

    drop(feed);
    wait_for_value(server, "nova_event_feed_subscribers", &[], 0.0).await;
    fixture.finish().await;
}

/// The live route's requests answered so far, whatever their status.
fn live_requests(text: &str) -> f64 {
    sum(
        text,
        "nova_http_requests_total",
        &[r#"route="/live/{stream}/{*path}""#],
    )
}

#[tokio::test]
async fn a_held_blocking_reload_is_counted_until_its_client_goes_away() {
    // 4 s segments: a held request waits up to three target durations
    // (12 s or more) before it is answered 503.
    let fixture = Fixture::start(&["--segment-duration", "4"]).await;
    let server = &fixture.server;
    let (stream, mut publisher) = fixture.go_live("held", 2).await;
    let id = stream["id"].as_str().unwrap();
    // The publisher freezes (its connection stays open, well within the
    // RTMP idle timeout): no part or segment comes while it is stopped.
    let pid = publisher.id().expect("ffmpeg is running") as i32;
    // SAFETY: signalling our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0);
    // Whatever was in flight reaches the playlist first.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let url = format!("{}/live/{id}/source/index.m3u8", server.http);
    let text = server.fetch_text(&url).await.unwrap();
    let (open_segment, _, _) = preload_hint(&text);

    let before = exposition(server).await;
    assert_eq!(
        sample(&before, "nova_blocking_reloads_waiting", &[]),
        Some(0.0)
    );
    // The segment after the open one: two away, so held, not refused.
    let held = tokio::spawn({
        let (client, url) = (server.client.clone(), url.clone());
        async move {
            client
                .get(format!("{url}?_HLS_msn={}", open_segment + 1))
                .send()
                .await
        }
    });
    let during = wait_for_value(server, "nova_blocking_reloads_waiting", &[], 1.0).await;
    promtool_check(&during).await;
    // Only the per-stream series (of streams live on this node) name it.
    let per_stream = format!("stream=\"{id}\"");
    for line in during.lines().filter(|line| line.contains(id)) {
        assert!(
            line.starts_with("nova_stream_") && line.contains(&per_stream),
            "the stream id in another series: {line}"
        );
    }

    // The client goes away: the held request ends there, unanswered.
    held.abort();
    assert!(held.await.unwrap_err().is_cancelled());
    let after = wait_for_value(server, "nova_blocking_reloads_waiting", &[], 0.0).await;
    assert_eq!(
        live_requests(&after),
        live_requests(&before),
        "the held request was answered (timed out?) rather than dropped:\n{after}"
    );
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(pid, libc::SIGCONT) };
    publisher.kill().await.unwrap();
    fixture.finish().await;
}
