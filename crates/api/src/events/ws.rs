//! The feed over a WebSocket: each event a JSON text frame (a `LiveEvent`).
//! The socket is one-way; the server pings to find dead peers and closes
//! with a close frame on shutdown.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, close_code};
use bytes::Bytes;
use tokio::time::{Instant, interval_at, timeout};

use super::feed::Feed;

/// Often enough to keep NATs and proxies from dropping a quiet connection.
const PING_EVERY: Duration = Duration::from_secs(20);
/// A client that does not take a frame for this long is stuck or gone; its
/// connection is dropped rather than held open (publishers never wait for
/// it either way: the bus drops events for it and it gets a `resync`).
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the closing handshake may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) async fn run(mut socket: WebSocket, mut feed: Feed) {
    let mut ping = interval_at(Instant::now() + PING_EVERY, PING_EVERY);
    // Anything from the client since the last ping says it is alive.
    let mut heard_since_ping = true;
    loop {
        tokio::select! {
            event = feed.next() => {
                let Some(event) = event else {
                    close(socket, "the server is shutting down: reconnect with your last event id")
                        .await;
                    return;
                };
                let text = serde_json::to_string(&*event).expect("a live event always serializes");
                if !send(&mut socket, Message::Text(text.into())).await {
                    return;
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) => {
                    finish_close(&mut socket).await;
                    return;
                }
                // Text or binary from the client mean nothing to a one-way
                // feed, and axum answers its pings itself.
                Some(Ok(_)) => heard_since_ping = true,
                None | Some(Err(_)) => return,
            },
            _ = ping.tick() => {
                if !heard_since_ping {
                    tracing::debug!("event feed client stopped answering pings; dropping it");
                    return;
                }
                heard_since_ping = false;
                if !send(&mut socket, Message::Ping(Bytes::new())).await {
                    return;
                }
            }
        }
    }
}

/// Whether the client took the frame in time.
async fn send(socket: &mut WebSocket, message: Message) -> bool {
    matches!(
        timeout(SEND_TIMEOUT, socket.send(message)).await,
        Ok(Ok(()))
    )
}

/// The server's side of the closing handshake (RFC 6455 §7): a close frame
/// with 1001 "going away", then the client's close frame in reply.
async fn close(mut socket: WebSocket, reason: &'static str) {
    let frame = CloseFrame {
        code: close_code::AWAY,
        reason: reason.into(),
    };
    if send(&mut socket, Message::Close(Some(frame))).await {
        finish_close(&mut socket).await;
    }
}

/// Reads until the connection ends: this flushes the reply axum queued to
/// the client's close frame, or receives the client's reply to ours.
async fn finish_close(socket: &mut WebSocket) {
    let _ = timeout(CLOSE_TIMEOUT, async {
        while let Some(Ok(_)) = socket.recv().await {}
    })
    .await;
}
