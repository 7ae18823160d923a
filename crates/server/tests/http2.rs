//! HTTP/2 and HTTP/1.1 on one address: HTTPS with ALPN when the server has
//! a certificate, cleartext HTTP/2 with prior knowledge (h2c, for a TLS
//! proxy in front) when it has none. LL-HLS's blocking playlist reload and
//! the part it waits for share one HTTP/2 connection.

mod support;

use nova_testkit::ll_hls::{lists, preload_hint};
use nova_testkit::tls::TestCertificate;
use reqwest::Version;
use serde_json::json;
use support::fixture::Fixture;
use support::publish;
use support::server::stream_key_url;

#[tokio::test]
async fn https_serves_ll_hls_over_http2_and_http1() {
    let certificate = TestCertificate::generate();
    let fixture = Fixture::start_https(&["--storage", "off"], &certificate).await;
    let server = &fixture.server;
    let stream = server
        .create_stream(&fixture.token, json!({ "title": "Over HTTP/2" }))
        .await;
    let id = stream["id"].as_str().unwrap();
    let master = stream["playback"]["master_url"].as_str().unwrap();
    assert!(master.starts_with("https://"), "{master}");
    let mut publisher = publish(
        &stream_key_url(server, &stream),
        &["-stream_loop", "-1"],
        60.0,
    );
    fixture
        .wait_for_segments(&fixture.playlist_url(&stream), 2)
        .await;

    // Browsers and reqwest alike pick HTTP/2 by ALPN.
    let h2 = certificate.client(reqwest::Client::builder());
    let url = format!("{}/live/{id}/source/index.m3u8", server.http);
    let response = h2.get(&url).send().await.unwrap();
    assert_eq!(response.version(), Version::HTTP_2);
    let text = response.text().await.unwrap();

    // A player's two requests at the live edge, on the one connection: the
    // playlist blocked until the part after the hinted one exists, and the
    // hinted part itself, held until it exists.
    let (msn, hinted, run) = preload_hint(&text);
    let next = hinted + 1;
    let blocking = h2
        .get(format!("{url}?_HLS_msn={msn}&_HLS_part={next}"))
        .send();
    let part = h2
        .get(format!(
            "{}/live/{id}/source/{run}-{msn}.{hinted}.m4s",
            server.http
        ))
        .send();
    let (blocking, part) = tokio::join!(blocking, part);
    let (blocking, part) = (blocking.unwrap(), part.unwrap());
    for response in [&blocking, &part] {
        assert_eq!(response.status(), 200, "{}", response.url());
        assert_eq!(response.version(), Version::HTTP_2, "{}", response.url());
    }
    assert_eq!(part.headers()["content-type"], "video/mp4");
    assert!(!part.bytes().await.unwrap().is_empty());
    let blocked = blocking.text().await.unwrap();
    assert!(lists(&blocked, &run, msn, next), "{blocked}");

    // Clients without HTTP/2 get HTTP/1.1 on the same address.
    let h1 = certificate.client(reqwest::Client::builder().http1_only());
    let response = h1.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), Version::HTTP_11);

    publisher.kill().await.unwrap();
    fixture.finish().await;
}

/// Clients that never finish a TLS handshake (silent, or speaking plain
/// HTTP to the HTTPS port) hold up nobody else, and the server stays up.
#[tokio::test]
async fn stalled_and_garbage_handshakes_do_not_block_other_clients() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let certificate = TestCertificate::generate();
    let fixture = Fixture::start_https(&["--storage", "off"], &certificate).await;
    let server = &fixture.server;
    let address = server.http.trim_start_matches("https://").to_owned();
    let mut silent = Vec::new();
    for _ in 0..20 {
        silent.push(tokio::net::TcpStream::connect(&address).await.unwrap());
    }
    let mut plain = tokio::net::TcpStream::connect(&address).await.unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    // The handshake fails and the connection is closed (a TLS alert at
    // most): no HTTP answer leaks out in clear text.
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        plain.read_to_end(&mut answer),
    )
    .await
    .expect("the server closes a connection that is not TLS");
    assert!(!answer.starts_with(b"HTTP/"), "{answer:?}");

    // Handshakes done one after another in `accept` would keep this
    // request waiting out the 10 s handshake limit of every silent client
    // ahead of it (200 s); the bound only tells "not queued" from "queued".
    let response = server
        .client
        .get(format!("{}/healthz", server.http))
        .timeout(std::time::Duration::from_secs(8))
        .send()
        .await
        .expect("answered while 20 handshakes are pending");
    assert_eq!(response.status(), 200);
    drop(silent);
    fixture.finish().await;
}

#[tokio::test]
async fn plain_http_answers_http2_with_prior_knowledge() {
    let fixture = Fixture::start(&["--storage", "off"]).await;
    let h2c = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    for path in ["/healthz", "/api/v1/clock"] {
        let response = h2c
            .get(format!("{}{path}", fixture.server.http))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.version(), Version::HTTP_2, "{path}");
    }
    let h1 = reqwest::Client::builder().http1_only().build().unwrap();
    let response = h1
        .get(format!("{}/healthz", fixture.server.http))
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), Version::HTTP_11);
    fixture.finish().await;
}
