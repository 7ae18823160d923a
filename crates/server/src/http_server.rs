//! The HTTP accept loop, in place of `axum::serve`, which has neither a
//! connection cap nor a header timeout: a few hundred sockets trickling
//! header bytes would otherwise hold a task and a descriptor each, forever.
//!
//! - at most `max_connections` at once; more are closed on accept (counted,
//!   logged at most every 10 s). A connection keeps its slot for as long as
//!   its socket lives, WebSocket upgrades included.
//! - a connection has `header_timeout` to send its first request, and each
//!   HTTP/1 request that long for its headers (hyper's header timeout).
//! - TLS: at most `max_tls_handshakes` in progress, and `tls_handshake_timeout`
//!   for each, waiting for its turn included.
//!
//! Each request carries the peer address as axum's `ConnectInfo`, for the
//! per-address limits of the API.

use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

#[derive(Clone, Copy, Debug)]
pub struct HttpLimits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub max_tls_handshakes: usize,
    pub tls_handshake_timeout: Duration,
}

/// HTTP/2 pings an idle connection this often, and closes it when a ping
/// is not answered within as long: a vanished peer does not keep its slot.
const H2_KEEP_ALIVE: Duration = Duration::from_secs(20);
/// Refused connections are logged at most this often, with their count.
const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` (HTTPS when `tls` is set) until `stop`, then
/// asks every connection to finish and waits for them.
pub fn spawn(
    listener: TcpListener,
    tls: Option<Arc<ServerConfig>>,
    app: Router,
    limits: HttpLimits,
    stop: CancellationToken,
) -> JoinHandle<io::Result<()>> {
    tokio::spawn(accept_loop(listener, tls, app, limits, stop))
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<Arc<ServerConfig>>,
    app: Router,
    limits: HttpLimits,
    stop: CancellationToken,
) -> io::Result<()> {
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let handshakes = Arc::new(Semaphore::new(limits.max_tls_handshakes));
    let acceptor = tls.map(TlsAcceptor::from);
    let mut refusals = Refusals::default();
    loop {
        let (tcp, peer) = tokio::select! {
            biased;
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: pause rather
                    // than spin, as axum's own listener does.
                    tracing::warn!(%error, "accepting an HTTP connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = connections.clone().try_acquire_owned() else {
            refusals.refused(limits.max_connections);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let task = Connection {
            peer,
            app: app.clone(),
            limits,
            stop: stop.clone(),
        };
        match acceptor.clone() {
            None => {
                tokio::spawn(task.serve(Slotted {
                    io: tcp,
                    _slot: slot,
                }));
            }
            Some(acceptor) => {
                tokio::spawn(task.handshake_then_serve(tcp, acceptor, handshakes.clone(), slot));
            }
        }
    }
    drop(listener);
    // Every connection hands its slot back when its socket closes.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = connections.acquire_many(all).await;
    Ok(())
}

struct Connection {
    peer: SocketAddr,
    app: Router,
    limits: HttpLimits,
    stop: CancellationToken,
}

impl Connection {
    async fn handshake_then_serve(
        self,
        tcp: TcpStream,
        acceptor: TlsAcceptor,
        handshakes: Arc<Semaphore>,
        slot: OwnedSemaphorePermit,
    ) {
        // Handshakes cost CPU: a bounded number at once, so a crowd of new
        // clients cannot starve the connections already served.
        let handshake = async {
            let _turn = handshakes
                .acquire()
                .await
                .map_err(|_| io::Error::other("closed"))?;
            acceptor.accept(tcp).await
        };
        let peer = self.peer;
        match tokio::time::timeout(self.limits.tls_handshake_timeout, handshake).await {
            Ok(Ok(tls)) => {
                self.serve(Slotted {
                    io: tls,
                    _slot: slot,
                })
                .await
            }
            Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
            Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
        }
    }

    async fn serve<I>(self, io: Slotted<I>)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Self {
            peer,
            app,
            limits,
            stop,
        } = self;
        let requested = Arc::new(AtomicBool::new(false));
        let seen = requested.clone();
        let service = app.map_request(move |mut request: Request<Incoming>| {
            seen.store(true, Ordering::Relaxed);
            request.extensions_mut().insert(ConnectInfo(peer));
            request
        });
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout);
        builder
            .http2()
            .timer(TokioTimer::new())
            // WebSockets over HTTP/2 (RFC 8441), as axum::serve allows.
            .enable_connect_protocol()
            .keep_alive_interval(H2_KEEP_ALIVE)
            .keep_alive_timeout(H2_KEEP_ALIVE);
        let mut connection =
            pin!(builder.serve_connection_with_upgrades(
                TokioIo::new(io),
                TowerToHyperService::new(service)
            ));
        // hyper's header timeout starts only once it knows the protocol:
        // a client that never finishes its first request (or the HTTP/2
        // preface) is closed here.
        let mut first_request = pin!(tokio::time::sleep(limits.header_timeout));
        let mut awaiting_first = true;
        let mut draining = false;
        loop {
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::trace!(%peer, "HTTP connection ended: {error}");
                    }
                    return;
                }
                () = &mut first_request, if awaiting_first => {
                    if !requested.load(Ordering::Relaxed) {
                        tracing::debug!(%peer, "no request within the header timeout: closing");
                        return;
                    }
                    awaiting_first = false;
                }
                () = stop.cancelled(), if !draining => {
                    draining = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// A socket that holds its connection slot until it is dropped, wherever
/// it goes (a WebSocket takes it over from hyper on upgrade).
struct Slotted<I> {
    io: I,
    _slot: OwnedSemaphorePermit,
}

impl<I: AsyncRead + Unpin> AsyncRead for Slotted<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Slotted<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Connections closed at the cap since the last log line.
#[derive(Default)]
struct Refusals {
    unlogged: u64,
    last_logged: Option<Instant>,
}

impl Refusals {
    fn refused(&mut self, limit: usize) {
        self.unlogged += 1;
        let now = Instant::now();
        if self
            .last_logged
            .is_none_or(|at| now.duration_since(at) >= REFUSAL_LOG_INTERVAL)
        {
            tracing::warn!(
                refused = self.unlogged,
                limit,
                "HTTP connections at --http-max-connections: closing new ones"
            );
            self.unlogged = 0;
            self.last_logged = Some(now);
        }
    }
}
