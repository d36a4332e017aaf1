//! A real `redis-server` per test ([`TestRedis`]), also the node of a
//! [`super::TestCluster`]: spawned on a free port, killed on drop. Nothing
//! is kept on disk past the test; `stop` and `restart` let fault tests take
//! Redis away and bring it back on the same port.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a fresh redis-server gets to answer PING.
const START_BOUND: Duration = Duration::from_secs(10);
/// Ports tried before giving up when another process takes the free one first.
const PORT_ATTEMPTS: usize = 5;

/// A redis-server child process owned by one test.
pub struct TestRedis {
    /// The port it listens on, kept across `restart`.
    pub(super) port: u16,
    /// Arguments after the defaults, e.g. `--maxmemory-policy allkeys-lru`.
    extra_args: Vec<String>,
    /// Its working directory: the snapshot `stop` writes and its log.
    dir: PathBuf,
    /// The process, `None` while stopped.
    pub(super) child: Option<Child>,
    /// The cluster bus port of a cluster node (`--cluster-port`); `None` for
    /// a standalone server. Chosen like the port: the default, port +
    /// 10000, may be past 65535 for an ephemeral port.
    cluster_bus: Option<u16>,
}

impl TestRedis {
    /// A redis-server as production needs it (`noeviction`), empty.
    pub async fn start() -> TestRedis {
        TestRedis::start_with(&[]).await
    }

    /// A redis-server with `extra_args` after the defaults (later ones win).
    pub async fn start_with(extra_args: &[&str]) -> TestRedis {
        TestRedis::start_node(extra_args, false).await
    }

    /// A standalone server, or with `cluster` a node of a Redis Cluster
    /// that has not joined one yet.
    pub(super) async fn start_node(extra_args: &[&str], cluster: bool) -> TestRedis {
        let mut last_error = String::new();
        for _ in 0..PORT_ATTEMPTS {
            // Both ports are bound at once, so they differ.
            let (port, bus) = free_port_pair();
            let dir = std::env::temp_dir().join(format!(
                "cartclick-redis-{}-{port}-{}",
                std::process::id(),
                hex::encode(rand::random::<[u8; 4]>())
            ));
            std::fs::create_dir_all(&dir).expect("creates the redis-server directory");
            let mut redis = TestRedis {
                port,
                extra_args: extra_args.iter().map(|a| a.to_string()).collect(),
                dir,
                child: None,
                cluster_bus: cluster.then_some(bus),
            };
            // Another process may take the port between our probe and
            // redis-server's bind: then it exits, and we try another port.
            match redis.spawn().await {
                Ok(()) => return redis,
                Err(error) => last_error = error,
            }
        }
        panic!("redis-server did not start in {PORT_ATTEMPTS} attempts: {last_error}");
    }

    /// `redis://127.0.0.1:<port>/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A client connection for a test to look at or tamper with the data.
    pub async fn connection(&self) -> redis::aio::MultiplexedConnection {
        // The client's default answer limit (500 ms) is the store's, not a
        // test's: a SAVE or a long XRANGE on a busy box may take longer.
        let config =
            redis::AsyncConnectionConfig::new().set_response_timeout(Some(Duration::from_secs(10)));
        redis::Client::open(self.url())
            .expect("a valid redis url")
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .expect("connects to the test redis-server")
    }

    /// Every key name and every stored byte string: string values, hash
    /// fields and values, set, list and sorted-set members. Panics on a key
    /// of any other type, so nothing escapes a search of what is stored.
    pub async fn everything_stored(&self) -> Vec<Vec<u8>> {
        everything_stored_on(&mut self.connection().await).await
    }

    /// Takes Redis away: snapshots the data (as a production Redis with
    /// persistence would keep it), then kills the process.
    pub async fn stop(&mut self) {
        let mut connection = self.connection().await;
        let _: () = redis::cmd("SAVE")
            .query_async(&mut connection)
            .await
            .expect("redis-server saves a snapshot");
        drop(connection);
        self.kill();
    }

    /// Brings Redis back on the same port with the data `stop` kept.
    pub async fn restart(&mut self) {
        self.kill();
        if let Err(error) = self.spawn().await {
            panic!(
                "redis-server did not restart on port {}: {error}",
                self.port
            );
        }
    }

    /// Brings Redis back on the same port with the data `stop` kept and
    /// `extra_args` in place of those it started with (a restart onto
    /// another configuration).
    pub async fn restart_with(&mut self, extra_args: &[&str]) {
        self.extra_args = extra_args.iter().map(|a| a.to_string()).collect();
        self.restart().await;
    }

    /// Starts the process and waits until it answers PING.
    async fn spawn(&mut self) -> Result<(), String> {
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--maxmemory-policy", "noeviction"])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--logfile", "redis.log"])
            .args(&self.extra_args);
        if let Some(bus) = self.cluster_bus {
            command
                .args(["--cluster-enabled", "yes"])
                .args([
                    "--cluster-config-file",
                    &format!("nodes-{}.conf", self.port),
                ])
                .args([
                    "--cluster-node-timeout",
                    &CLUSTER_NODE_TIMEOUT_MS.to_string(),
                ])
                .args(["--cluster-port", &bus.to_string()])
                // Replicas sync at once, not after the default 5 s wait
                // for more replicas to share the transfer.
                .args(["--repl-diskless-sync", "yes"])
                .args(["--repl-diskless-sync-delay", "0"]);
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = match command.spawn() {
            Ok(child) => child,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => panic!(
                "redis-server is not installed: the Redis tests spawn their own; \
                 install it with `apt-get install redis-server`"
            ),
            Err(error) => panic!("cannot run redis-server: {error}"),
        };
        self.child = Some(child);
        let deadline = tokio::time::Instant::now() + START_BOUND;
        loop {
            // A PONG counts only while our process lives: if it exited (its
            // port was taken), another server answered.
            let alive = self
                .child
                .as_mut()
                .is_some_and(|c| matches!(c.try_wait(), Ok(None)));
            if alive && pong(self.port).await {
                return Ok(());
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                return Err(format!(
                    "redis-server on port {} exited with {status}: {}",
                    self.port,
                    self.log_tail()
                ));
            }
            if tokio::time::Instant::now() > deadline {
                self.kill();
                return Err(format!(
                    "redis-server on port {} did not answer PING within {START_BOUND:?}: {}",
                    self.port,
                    self.log_tail()
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Kills the process (SIGKILL) and waits for it, if it runs.
    pub(super) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The last lines of its log, to say why it did not start.
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(5)..].join(" | ")
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Two different ports nothing listens on right now, never handed out
/// before in this process. Probing with bind(:0) alone races: two tests
/// running at once could both be given a port just released, and one
/// redis-server would then answer the other test's PING.
fn free_port_pair() -> (u16, u16) {
    static HANDED_OUT: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let bind = || std::net::TcpListener::bind("127.0.0.1:0").expect("binds 127.0.0.1:0");
    let port = |listener: &std::net::TcpListener| listener.local_addr().unwrap().port();
    loop {
        let (first, second) = (bind(), bind());
        let pair = (port(&first), port(&second));
        let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|p| p.into_inner());
        if !handed_out.contains(&pair.0) && !handed_out.contains(&pair.1) {
            handed_out.insert(pair.0);
            handed_out.insert(pair.1);
            return pair;
        }
    }
}

/// Does a Redis on `port` answer PING with PONG (not LOADING, not an error)?
async fn pong(port: u16) -> bool {
    let attempt = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        stream.write_all(b"PING\r\n").await.ok()?;
        let mut reply = [0u8; 7];
        stream.read_exact(&mut reply).await.ok()?;
        Some(&reply == b"+PONG\r\n")
    };
    tokio::time::timeout(Duration::from_millis(500), attempt)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}

/// Every key name and every stored byte string on one server (see
/// [`TestRedis::everything_stored`]).
pub(super) async fn everything_stored_on(
    connection: &mut redis::aio::MultiplexedConnection,
) -> Vec<Vec<u8>> {
    let mut stored = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(1000)
            .query_async(connection)
            .await
            .expect("SCAN");
        for key in keys {
            let kind: String = redis::cmd("TYPE")
                .arg(&key)
                .query_async(connection)
                .await
                .expect("TYPE");
            let query = |command: &str| {
                let mut cmd = redis::cmd(command);
                cmd.arg(&key);
                cmd
            };
            let values: Vec<Vec<u8>> = match kind.as_str() {
                "string" => vec![query("GET").query_async(connection).await.unwrap()],
                "hash" => {
                    let pairs: Vec<(Vec<u8>, Vec<u8>)> =
                        query("HGETALL").query_async(connection).await.unwrap();
                    pairs.into_iter().flat_map(|(f, v)| [f, v]).collect()
                }
                "set" => query("SMEMBERS").query_async(connection).await.unwrap(),
                "list" => query("LRANGE")
                    .arg(0)
                    .arg(-1)
                    .query_async(connection)
                    .await
                    .unwrap(),
                "zset" => query("ZRANGE")
                    .arg(0)
                    .arg(-1)
                    .query_async(connection)
                    .await
                    .unwrap(),
                "stream" => {
                    let entries: Vec<(Vec<u8>, Vec<Vec<u8>>)> = query("XRANGE")
                        .arg("-")
                        .arg("+")
                        .query_async(connection)
                        .await
                        .unwrap();
                    entries
                        .into_iter()
                        .flat_map(|(id, fields)| std::iter::once(id).chain(fields))
                        .collect()
                }
                "none" => Vec::new(), // expired since the SCAN
                other => panic!(
                    "key {} has type {other}, which the test cannot read",
                    String::from_utf8_lossy(&key)
                ),
            };
            stored.push(key);
            stored.extend(values);
        }
        if next == 0 {
            return stored;
        }
        cursor = next;
    }
}

/// `--cluster-node-timeout` of the test clusters: how long a node may be
/// unreachable before it is failed (and a replica takes over its slots).
const CLUSTER_NODE_TIMEOUT_MS: u64 = 2000;

/// Sets `maxmemory-policy` on the Redis server (or cluster node) at `url`,
/// behind the service's back.
pub async fn set_maxmemory_policy(url: &str, policy: &str) {
    let mut connection = redis::Client::open(url)
        .expect("a valid redis url")
        .get_multiplexed_async_connection()
        .await
        .unwrap_or_else(|error| panic!("connects to {url}: {error}"));
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory-policy")
        .arg(policy)
        .query_async(&mut connection)
        .await
        .unwrap_or_else(|error| panic!("CONFIG SET maxmemory-policy {policy} on {url}: {error}"));
}
