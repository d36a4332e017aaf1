//! Serving connections: one accept loop for both ports (gRPC and
//! HTTP/JSON), with the limits a port open to the internet needs, so the two
//! cannot drift apart:
//!
//! - HTTP/1.1 request headers must arrive within `header_read_timeout`
//!   (a client that trickles them is closed), and so must a new
//!   connection's first byte (a client that connects and says nothing is
//!   closed);
//! - HTTP/2 connections allow `max_concurrent_streams` streams at once, so
//!   one connection cannot open thousands of calls;
//! - idle HTTP/2 connections are pinged, and dead peers closed;
//! - a connection is closed gracefully (GOAWAY, its calls in flight finish)
//!   at `max_connection_age`, so clients reconnect and load spreads over new
//!   replicas;
//! - on shutdown no connection is accepted, every open one is closed
//!   gracefully, and [`serve`] returns once they are all gone (dropping it
//!   before then aborts them: the grace period is over).
//!
//! Request bodies are the callers' concern (`rpc_layer`, `api::http`): they
//! read them under their own timeout before a call takes a permit.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::Service;

/// The limits every connection is served under.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnectionLimits {
    /// Longest an HTTP/1.1 client may take to send a request's headers.
    pub header_read_timeout: Duration,
    /// Streams (calls) one HTTP/2 connection may have open at once.
    pub max_concurrent_streams: u32,
    /// How often an idle HTTP/2 connection is pinged.
    pub keepalive_interval: Duration,
    /// How long a ping may go unanswered before the connection is closed.
    pub keepalive_timeout: Duration,
    /// Connections are closed gracefully after this long; `None` never.
    pub max_connection_age: Option<Duration>,
}

/// How long to wait before accepting again after `accept` failed (out of
/// file descriptors, say), rather than spinning on the error.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves `service` on every connection `listener` accepts until `stopping`
/// turns true, then closes the connections gracefully and returns when the
/// last one has ended (the caller bounds that with its grace period).
pub(crate) async fn serve<S, B>(
    listener: TcpListener,
    service: S,
    limits: ConnectionLimits,
    mut stopping: watch::Receiver<bool>,
) where
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_concurrent_streams)
        .keep_alive_interval(limits.keepalive_interval)
        .keep_alive_timeout(limits.keepalive_timeout);
    // The connections' tasks: reaped as they end, awaited at shutdown, and
    // aborted if this future is dropped (the grace period is over).
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            _ = stopping.wait_for(|stopping| *stopping) => break,
        };
        let tcp = match accepted {
            Ok((tcp, _)) => tcp,
            Err(error) => {
                tracing::warn!(%error, "cannot accept a connection");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        // Without TCP_NODELAY a small reply waits for the client's delayed
        // ACK (~40 ms a call).
        let _ = tcp.set_nodelay(true);
        let heard = Arc::new(AtomicBool::new(false));
        let tcp = Heard {
            tcp,
            heard: heard.clone(),
        };
        let connection = builder
            .serve_connection(TokioIo::new(tcp), TowerToHyperService::new(service.clone()))
            .into_owned();
        let mut stopping = stopping.clone();
        connections.spawn(async move {
            tokio::pin!(connection);
            // A client that sends nothing at all (not even the bytes that
            // tell HTTP/1.1 from HTTP/2, before any header timeout of
            // hyper's applies) is closed at the header read timeout.
            let silence = tokio::time::sleep(limits.header_read_timeout);
            tokio::pin!(silence);
            let mut heard_in_time = false;
            let age = async {
                match limits.max_connection_age {
                    Some(age) => tokio::time::sleep(age).await,
                    None => std::future::pending().await,
                }
            };
            tokio::pin!(age);
            let mut closing = false;
            loop {
                tokio::select! {
                    result = connection.as_mut() => {
                        if let Err(error) = result {
                            tracing::debug!(%error, "connection ended with an error");
                        }
                        return;
                    }
                    () = &mut silence, if !heard_in_time => {
                        if !heard.load(Ordering::Relaxed) {
                            return;
                        }
                        heard_in_time = true;
                    }
                    // GOAWAY (HTTP/2) or close after the current request
                    // (HTTP/1.1): calls in flight finish.
                    () = &mut age, if !closing => {
                        closing = true;
                        connection.as_mut().graceful_shutdown();
                    }
                    _ = stopping.wait_for(|stopping| *stopping), if !closing => {
                        closing = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
        });
    }
    // New connections are refused from now on, not left in the backlog.
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// A client's TCP stream that notes when its first byte arrives.
struct Heard {
    /// The stream.
    tcp: TcpStream,
    /// Turns true with the first byte read.
    heard: Arc<AtomicBool>,
}

impl AsyncRead for Heard {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let read = Pin::new(&mut this.tcp).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.heard.store(true, Ordering::Relaxed);
        }
        read
    }
}

impl AsyncWrite for Heard {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}
