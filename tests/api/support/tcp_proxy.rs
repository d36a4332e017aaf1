//! A TCP relay in front of a server (a test's redis-server, or a cartclick
//! server) that the test controls: it counts the connections it relays,
//! counts the commands a client sends by name, and, while paused, holds
//! every reply from upstream until resumed. Holding Redis replies keeps a
//! call in flight inside a server for as long as a test needs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A relay on 127.0.0.1:0 to `127.0.0.1:<upstream port>`.
pub struct TcpProxy {
    port: u16,
    /// True while replies are held.
    paused: watch::Sender<bool>,
    /// Connections accepted so far.
    connections: Arc<AtomicUsize>,
    /// Everything clients sent upstream, to count commands in.
    sent: Arc<Mutex<Vec<u8>>>,
    acceptor: JoinHandle<()>,
}

impl TcpProxy {
    /// Starts relaying; replies pass until [`TcpProxy::pause`].
    pub async fn start(upstream_port: u16) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (paused, _) = watch::channel(false);
        let connections = Arc::new(AtomicUsize::new(0));
        let sent = Arc::new(Mutex::new(Vec::new()));
        let acceptor = {
            let paused = paused.clone();
            let connections = connections.clone();
            let sent = sent.clone();
            tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    connections.fetch_add(1, Ordering::SeqCst);
                    tokio::spawn(relay(
                        client,
                        upstream_port,
                        paused.subscribe(),
                        sent.clone(),
                    ));
                }
            })
        };
        TcpProxy {
            port,
            paused,
            connections,
            sent,
            acceptor,
        }
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://` URL of the proxy, when upstream is a redis-server.
    pub fn redis_url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Holds every reply from upstream from now on.
    pub fn pause(&self) {
        self.paused.send_replace(true);
    }

    /// Lets the held replies and all later ones through.
    pub fn resume(&self) {
        self.paused.send_replace(false);
    }

    /// Connections relayed so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// How many times clients have sent `command` (e.g. `EVALSHA`),
    /// counted case-insensitively in everything they sent.
    pub fn sent(&self, command: &str) -> usize {
        let sent = self.sent.lock().unwrap();
        let needle = command.as_bytes();
        sent.windows(needle.len())
            .filter(|window| window.eq_ignore_ascii_case(needle))
            .count()
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

/// Relays one connection both ways, holding upstream's bytes while paused.
async fn relay(
    client: TcpStream,
    upstream_port: u16,
    mut paused: watch::Receiver<bool>,
    sent: Arc<Mutex<Vec<u8>>>,
) {
    let Ok(upstream) = TcpStream::connect(("127.0.0.1", upstream_port)).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut upstream_read, mut upstream_write) = upstream.into_split();
    let to_upstream = async move {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let n = match client_read.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            sent.lock().unwrap().extend_from_slice(&buffer[..n]);
            if upstream_write.write_all(&buffer[..n]).await.is_err() {
                return;
            }
        }
    };
    let to_client = async move {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let n = match upstream_read.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if paused.wait_for(|paused| !*paused).await.is_err() {
                return;
            }
            if client_write.write_all(&buffer[..n]).await.is_err() {
                return;
            }
        }
    };
    // Either side closing ends the relay, and drops both connections.
    tokio::select! {
        () = to_upstream => {}
        () = to_client => {}
    }
}
