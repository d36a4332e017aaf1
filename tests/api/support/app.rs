//! [`TestApp`]: a real server on 127.0.0.1:0, built in process with the
//! same `Application` the binary runs, on any store ([`Backend`]), driven
//! through its [`Client`]. One builder makes every app a test needs:
//! `TestApp::builder().redis().config(|c| ...).seeded().spawn().await`, and
//! [`TestApp::replica`] another replica of the same deployment.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use cartclick::clock::ManualClock;
use cartclick::config::{Config, StoreUrl};
use cartclick::domain::Cartclick;
use cartclick::privacy::ViewerPepper;
use cartclick::startup::{Application, StartupError};
use cartclick::store::Store;
use cartclick::store::memory::MemoryStore;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::{
    Client, Keys, TestCluster, TestRedis, key_ring, open_cluster_store_with, open_redis_store_with,
    redis_options, start_time,
};

/// Which store a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded store.
    Memory,
    /// A Redis store on a redis-server of the test's own.
    Redis,
    /// A Redis store on a Redis Cluster of the test's own (three primaries,
    /// three replicas).
    Cluster,
}

/// Generates, for each named `async fn name(backend: Backend)` of the
/// calling module, the tests `memory::name`, `redis::name` and
/// `cluster::name`.
macro_rules! on_all_backends {
    ($($test:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test($crate::support::Backend::Memory).await
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test($crate::support::Backend::Redis).await
                }
            )*
        }
        mod cluster {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test($crate::support::Backend::Cluster).await
                }
            )*
        }
    };
}
pub(crate) use on_all_backends;

/// How often a stalled background folder folds: never, within a test.
const STALLED_FOLD_EVERY: Duration = Duration::from_secs(3600);

/// A config for tests: memory store, free ports, generated keys.
pub fn test_config(keys: &Keys) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        http_listen: Some("127.0.0.1:0".parse().unwrap()),
        store: StoreUrl::Memory,
        api_keys: keys.api_keys(),
        signing_keys: Some(key_ring()),
        viewer_pepper: Some(ViewerPepper::new(&rand::random::<[u8; 32]>())),
        shutdown_grace: Duration::from_secs(5),
        ..Config::default()
    }
}

/// A running server and clients for it.
pub struct TestApp {
    /// Clients over one connection, with the app's keys; the app derefs to it.
    pub client: Client,
    /// Where the server listens, for connections of a test's own.
    pub addr: SocketAddr,
    /// Where its HTTP/JSON API listens (the test config turns it on).
    pub http_addr: Option<SocketAddr>,
    /// The clock the server reads, for tests to move time.
    pub clock: Arc<ManualClock>,
    /// The service the server runs, for operations that have no RPC.
    pub domain: Arc<Cartclick>,
    /// The config it runs with, for replicas of it.
    pub config: Config,
    /// Its store on the memory backend, shared with its replicas.
    pub memory: Option<Arc<MemoryStore>>,
    /// Begins graceful shutdown when sent or dropped.
    shutdown: Option<oneshot::Sender<()>>,
    /// The server task, for tests of how it ends.
    pub server: Option<JoinHandle<Result<(), StartupError>>>,
    /// The app's redis-server on the Redis backend: dies with the app
    /// (declared after the shutdown signal, so it outlives it).
    pub redis: Option<TestRedis>,
    /// The app's Redis Cluster on the Cluster backend, likewise.
    pub cluster: Option<TestCluster>,
}

impl std::ops::Deref for TestApp {
    type Target = Client;

    /// The app's client, so a test calls `app.issue(…)` as it would a client.
    fn deref(&self) -> &Client {
        &self.client
    }
}

/// Where a [`TestAppBuilder`] gets its store.
enum StoreSource {
    /// A memory store: a new one, or a replica's shared one.
    Memory(Option<Arc<MemoryStore>>),
    /// A redis-server of the app's own, started at spawn.
    Redis,
    /// A Redis at this URL that the caller keeps alive (a proxy, a server
    /// shared by several apps, another app's).
    RedisUrl(String),
    /// A Redis Cluster the app owns: started at spawn, or handed over.
    Cluster(Option<TestCluster>),
    /// A Redis Cluster with these nodes that another app keeps alive.
    ClusterNodes(Vec<String>),
    /// A store the test made.
    Given(Arc<dyn Store>),
}

/// How to build a [`TestApp`]: its store, keys, config and clock. Every
/// choice has a default (memory store, new keys, [`test_config`], a manual
/// clock at [`start_time`]).
#[must_use]
pub struct TestAppBuilder {
    /// Where the store comes from.
    source: StoreSource,
    /// The secrets of the API keys the config names.
    keys: Keys,
    /// The config the server runs with, but for the store URL, which
    /// follows the store.
    config: Config,
    /// The clock, when another app's (a replica's) must be shared.
    clock: Option<Arc<ManualClock>>,
    /// Whether to seed the registry ([`Client::seed`]) before returning.
    seed: bool,
    /// Whether the Redis store's background folder is stalled.
    stalled_folder: bool,
}

impl TestApp {
    /// A builder of a server on the memory store with the test config.
    pub fn builder() -> TestAppBuilder {
        let keys = Keys::new();
        TestAppBuilder {
            source: StoreSource::Memory(None),
            config: test_config(&keys),
            keys,
            clock: None,
            seed: false,
            stalled_folder: false,
        }
    }

    /// A builder of a second server over this one's store (the same memory
    /// store, redis-server or cluster) and clock, with the same keys and
    /// config: another replica of the deployment.
    pub fn replica(&self) -> TestAppBuilder {
        let source = match (&self.memory, &self.redis, &self.cluster) {
            (Some(memory), ..) => StoreSource::Memory(Some(memory.clone())),
            (None, Some(redis), _) => StoreSource::RedisUrl(redis.url()),
            (None, None, Some(cluster)) => StoreSource::ClusterNodes(cluster.node_urls()),
            (None, None, None) => panic!("only apps on a backend have replicas"),
        };
        TestAppBuilder {
            source,
            keys: self.keys.clone(),
            config: self.config.clone(),
            clock: Some(self.clock.clone()),
            seed: false,
            stalled_folder: false,
        }
    }
}

impl TestAppBuilder {
    /// On the store of `backend`; on Redis and Cluster the app's own,
    /// started at spawn.
    pub fn on(self, backend: Backend) -> Self {
        match backend {
            Backend::Memory => self.memory(),
            Backend::Redis => self.redis(),
            Backend::Cluster => self.cluster(),
        }
    }

    /// On a new memory store.
    pub fn memory(mut self) -> Self {
        self.source = StoreSource::Memory(None);
        self
    }

    /// On a redis-server of the app's own.
    pub fn redis(mut self) -> Self {
        self.source = StoreSource::Redis;
        self
    }

    /// On the Redis at `url` (a TestRedis, or a proxy in front of one),
    /// which the caller keeps alive.
    pub fn redis_at(mut self, url: &str) -> Self {
        self.source = StoreSource::RedisUrl(url.to_owned());
        self
    }

    /// On a Redis Cluster of the app's own.
    pub fn cluster(mut self) -> Self {
        self.source = StoreSource::Cluster(None);
        self
    }

    /// On `cluster`, which the app keeps until it is dropped.
    pub fn on_cluster(mut self, cluster: TestCluster) -> Self {
        self.source = StoreSource::Cluster(Some(cluster));
        self
    }

    /// On `store`, as it is (its config's store URL unchanged).
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.source = StoreSource::Given(store);
        self
    }

    /// With `keys` (and the config's API keys theirs), e.g. those of
    /// another app of the same deployment.
    pub fn keys(mut self, keys: Keys) -> Self {
        self.config.api_keys = keys.api_keys();
        self.keys = keys;
        self
    }

    /// With `app`'s keys and config (signing keys, pepper, policy): another
    /// server of the same deployment, on the store this builder chooses.
    pub fn like(self, app: &TestApp) -> Self {
        self.keys(app.keys.clone()).with_config(app.config.clone())
    }

    /// With `config` in place of the one so far, changes included (the
    /// store URL still follows the store).
    pub fn with_config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// With the config changed by `tweak`, now.
    pub fn config(mut self, tweak: impl FnOnce(&mut Config)) -> Self {
        tweak(&mut self.config);
        self
    }

    /// Seeded with the merchants and campaign most tests use before
    /// [`TestAppBuilder::spawn`] returns.
    pub fn seeded(mut self) -> Self {
        self.seed = true;
        self
    }

    /// With the Redis store's background folder stalled: it folds the
    /// shards the app wrote to after an hour, not every 100 ms or 256
    /// events, so events wait in their stream until a counter read (or
    /// another replica) folds them.
    pub fn stalled_folder(mut self) -> Self {
        self.stalled_folder = true;
        self
    }

    /// Starts the store (if the app owns a new one) and the server, and
    /// connects to it.
    pub async fn spawn(self) -> TestApp {
        let (keys, mut config) = (self.keys, self.config);
        let mut options = redis_options(&config);
        if self.stalled_folder {
            options.fold_every = STALLED_FOLD_EVERY;
            options.fold_soon = u32::MAX;
        }
        let (mut memory, mut redis, mut cluster) = (None, None, None);
        let store: Arc<dyn Store> = match self.source {
            StoreSource::Memory(shared) => {
                config.store = StoreUrl::Memory;
                let store = shared.unwrap_or_else(|| Arc::new(MemoryStore::new(config.retention)));
                memory = Some(store.clone());
                store
            }
            StoreSource::Redis => {
                let server = TestRedis::start().await;
                config.store = StoreUrl::Redis(server.url());
                let store = open_redis_store_with(&server.url(), options).await;
                redis = Some(server);
                store
            }
            StoreSource::RedisUrl(url) => {
                config.store = StoreUrl::Redis(url.clone());
                open_redis_store_with(&url, options).await
            }
            StoreSource::Cluster(given) => {
                let nodes = match given {
                    Some(nodes) => nodes,
                    None => TestCluster::start().await,
                };
                config.store = StoreUrl::RedisCluster(nodes.node_urls());
                let store = open_cluster_store_with(&nodes.node_urls(), options).await;
                cluster = Some(nodes);
                store
            }
            StoreSource::ClusterNodes(node_urls) => {
                config.store = StoreUrl::RedisCluster(node_urls.clone());
                open_cluster_store_with(&node_urls, options).await
            }
            StoreSource::Given(store) => store,
        };
        let clock = self
            .clock
            .unwrap_or_else(|| Arc::new(ManualClock::new(start_time())));
        let app = Application::build_with(config.clone(), store, clock.clone())
            .await
            .expect("server builds");
        let addr = app.local_addr();
        let http_addr = app.http_addr();
        let domain = app.domain();
        let (tx, rx) = oneshot::channel();
        let server = tokio::spawn(app.run_until_stopped(async {
            let _ = rx.await;
        }));
        let app = TestApp {
            client: Client::connect(addr, keys).await,
            addr,
            http_addr,
            clock,
            domain,
            config,
            memory,
            shutdown: Some(tx),
            server: Some(server),
            redis,
            cluster,
        };
        if self.seed {
            app.seed().await;
        }
        app
    }
}

impl TestApp {
    /// The app's redis-server (Redis backend only).
    pub fn redis(&self) -> &TestRedis {
        self.redis
            .as_ref()
            .expect("the app runs on the Redis backend")
    }

    /// The app's redis-server, to stop and restart it.
    pub fn redis_mut(&mut self) -> &mut TestRedis {
        self.redis
            .as_mut()
            .expect("the app runs on the Redis backend")
    }

    /// The app's Redis Cluster (Cluster backend only).
    pub fn cluster(&self) -> &TestCluster {
        self.cluster
            .as_ref()
            .expect("the app runs on the Cluster backend")
    }

    /// The app's Redis Cluster, to kill its nodes.
    pub fn cluster_mut(&mut self) -> &mut TestCluster {
        self.cluster
            .as_mut()
            .expect("the app runs on the Cluster backend")
    }

    /// The `--store` URL of the app's store, for the operator commands.
    pub fn store_url(&self) -> String {
        match (&self.memory, &self.redis, &self.cluster) {
            (Some(_), ..) => "memory://".to_owned(),
            (None, Some(redis), _) => redis.url(),
            (None, None, Some(cluster)) => cluster.url(),
            (None, None, None) => panic!("only apps that own their store have a store url"),
        }
    }

    /// Everything the app's store holds, to look for what must never be stored.
    pub async fn stored_data(&self) -> StoredData {
        match (&self.memory, &self.redis, &self.cluster) {
            (Some(memory), ..) => {
                let text = format!("{memory:?}");
                assert!(!text.contains("<locked>"), "the store is busy: {text}");
                StoredData {
                    blobs: vec![text.into_bytes()],
                    debug_text: true,
                }
            }
            (None, Some(redis), _) => StoredData {
                blobs: redis.everything_stored().await,
                debug_text: false,
            },
            (None, None, Some(cluster)) => StoredData {
                blobs: cluster.everything_stored().await,
                debug_text: false,
            },
            (None, None, None) => {
                panic!("only apps that own their store expose it")
            }
        }
    }

    /// Begins graceful shutdown.
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.begin_shutdown();
    }
}

/// What a store holds: on Redis (every primary of a cluster) every key name
/// and every value, hash field and member, as bytes; on memory the store's
/// `Debug` output, which shows every entry (byte arrays as `[1, 2, …]`).
pub struct StoredData {
    /// The stored byte strings, or the one Debug text.
    blobs: Vec<Vec<u8>>,
    /// Whether `blobs` is Debug text, where bytes are written as arrays.
    debug_text: bool,
}

impl StoredData {
    /// Whether any key or value contains `text`.
    pub fn contains_text(&self, text: &str) -> bool {
        self.contains_raw(text.as_bytes())
    }

    /// Whether any key or value contains the byte string `bytes` (on memory:
    /// an array of exactly these bytes).
    pub fn contains_bytes(&self, bytes: &[u8]) -> bool {
        if self.debug_text {
            self.contains_raw(format!("{bytes:?}").as_bytes())
        } else {
            self.contains_raw(bytes)
        }
    }

    /// Whether any blob holds `needle` as a run of bytes.
    fn contains_raw(&self, needle: &[u8]) -> bool {
        self.blobs
            .iter()
            .any(|blob| blob.windows(needle.len()).any(|window| window == needle))
    }
}

/// The error `Application::build` refuses `config` with: for the tests of a
/// config or a store the server must refuse to start on.
pub async fn startup_error(config: Config) -> String {
    match Application::build(config).await {
        Ok(_) => panic!("the server started"),
        Err(error) => error.to_string(),
    }
}

/// [`startup_error`] for the test config on `store`, otherwise unchanged.
pub async fn startup_error_on(store: StoreUrl) -> String {
    let keys = Keys::new();
    startup_error(Config {
        store,
        ..test_config(&keys)
    })
    .await
}
