//! Test harness: a real server on 127.0.0.1:0 driven by the generated tonic
//! clients, on any store ([`Backend`]). Keys are generated per test;
//! nothing secret is committed.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use cartclick::auth::{ApiKey, Role, secret_sha256};
use cartclick::clock::ManualClock;
use cartclick::config::{Config, StoreUrl};
use cartclick::domain::Cartclick;
use cartclick::model::Retention;
use cartclick::proto::admin_service_client::AdminServiceClient;
use cartclick::proto::click_service_client::ClickServiceClient;
use cartclick::proto::counter_service_client::CounterServiceClient;
use cartclick::proto::sale_service_client::SaleServiceClient;
use cartclick::proto::*;
use cartclick::startup::{Application, StartupError};
use cartclick::store::Store;
use cartclick::store::memory::MemoryStore;
use cartclick::store::redis::{RedisOptions, RedisStore};
use cartclick::token::{KeyRing, SigningKey};
use chrono::{DateTime, TimeZone, Utc};
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt;

use crate::redis_harness::{TestCluster, TestRedis};

/// The merchant most tests sell for, on domain `shop.dk`.
pub const MERCHANT: &str = "m-1";
/// A second merchant, on `other.dk`.
pub const OTHER_MERCHANT: &str = "m-2";
/// An approved campaign of MERCHANT, any product, category apparel.
pub const CAMPAIGN: &str = "c-1";

/// A random secret per key and test.
fn secret(role: &str) -> String {
    format!("test-{role}-{}", hex::encode(rand::random::<[u8; 16]>()))
}

/// The secrets of the keys a test app knows.
#[derive(Debug, Clone)]
pub struct Keys {
    pub feed: String,
    pub merchant: String,
    pub other_merchant: String,
    pub dashboard: String,
    pub admin: String,
}

impl Keys {
    pub fn new() -> Self {
        Keys {
            feed: secret("feed"),
            merchant: secret("merchant"),
            other_merchant: secret("merchant2"),
            dashboard: secret("dashboard"),
            admin: secret("admin"),
        }
    }

    pub fn api_keys(&self) -> Vec<ApiKey> {
        let key = |id: &str, role, merchant: Option<&str>, secret: &str| ApiKey {
            id: id.into(),
            role,
            merchant_id: merchant.map(str::to_owned),
            sha256: secret_sha256(secret),
        };
        vec![
            key("feed", Role::Feed, None, &self.feed),
            key("merchant", Role::Merchant, Some(MERCHANT), &self.merchant),
            key(
                "merchant2",
                Role::Merchant,
                Some(OTHER_MERCHANT),
                &self.other_merchant,
            ),
            key("dashboard", Role::Dashboard, None, &self.dashboard),
            key("admin", Role::Admin, None, &self.admin),
        ]
    }
}

/// A fresh signing key ring, as an operator would configure one.
pub fn key_ring() -> KeyRing {
    KeyRing::new(vec![SigningKey {
        kid: "k1".into(),
        secret: rand::random::<[u8; 32]>().to_vec(),
        active: true,
    }])
    .expect("valid key ring")
}

/// A config for tests: memory store, free port, generated keys.
pub fn test_config(keys: &Keys) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        http_listen: Some("127.0.0.1:0".parse().unwrap()),
        store: StoreUrl::Memory,
        api_keys: keys.api_keys(),
        signing_keys: Some(key_ring()),
        viewer_pepper: Some(cartclick::privacy::ViewerPepper::new(&rand::random::<
            [u8; 32],
        >())),
        shutdown_grace: Duration::from_secs(5),
        ..Config::default()
    }
}

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

/// Longest a Redis call of the store under test may take.
pub const REDIS_TIMEOUT: Duration = Duration::from_millis(500);
/// How often the servers under test check every Redis node's
/// `maxmemory-policy` (production: every 5 s), so that tests of a policy
/// changing under the server are quick.
pub const POLICY_CHECK_EVERY: Duration = Duration::from_millis(200);

/// A running server and clients for it.
pub struct TestApp {
    pub channel: Channel,
    /// Where the server listens, for connections of a test's own.
    pub addr: std::net::SocketAddr,
    /// Where its HTTP/JSON API listens (the test config turns it on).
    pub http_addr: Option<std::net::SocketAddr>,
    pub keys: Keys,
    pub clock: Arc<ManualClock>,
    /// The service the server runs, for operations that have no RPC.
    pub domain: Arc<Cartclick>,
    /// The config it runs with, for replicas of it.
    pub config: Config,
    /// Its store on the memory backend, shared with its replicas.
    pub memory: Option<Arc<MemoryStore>>,
    shutdown: Option<oneshot::Sender<()>>,
    pub server: Option<JoinHandle<Result<(), StartupError>>>,
    /// The app's redis-server on the Redis backend: dies with the app
    /// (declared after the shutdown signal, so it outlives it).
    pub redis: Option<TestRedis>,
    /// The app's Redis Cluster on the Cluster backend, likewise.
    pub cluster: Option<TestCluster>,
}

/// A whole hour, so tests that count by the hour do not straddle one.
pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 10, 0, 0).unwrap()
}

/// A server on `backend` with the test config.
pub async fn spawn_app_on(backend: Backend) -> TestApp {
    let keys = Keys::new();
    let config = test_config(&keys);
    spawn_app_on_with(backend, keys, config).await
}

/// A server on `backend` with a given config; on Redis its own
/// redis-server, on Cluster its own Redis Cluster, which `config.store` is
/// pointed at.
pub async fn spawn_app_on_with(backend: Backend, keys: Keys, config: Config) -> TestApp {
    match backend {
        Backend::Memory => {
            let store = Arc::new(MemoryStore::new(config.retention));
            let mut app = spawn_app_with(keys, config, store.clone()).await;
            app.memory = Some(store);
            app
        }
        Backend::Redis => {
            let redis = TestRedis::start().await;
            let mut app = spawn_app_on_redis_url(keys, config, &redis.url()).await;
            app.redis = Some(redis);
            app
        }
        Backend::Cluster => {
            let cluster = TestCluster::start().await;
            let mut app = spawn_app_on_cluster(keys, config, &cluster).await;
            app.cluster = Some(cluster);
            app
        }
    }
}

/// A server on a Redis store at `url` (a TestRedis, or a proxy in front of one).
pub async fn spawn_app_on_redis_url(keys: Keys, mut config: Config, url: &str) -> TestApp {
    config.store = StoreUrl::Redis(url.to_owned());
    let store = open_redis_store_with(url, redis_options(&config)).await;
    spawn_app_with(keys, config, store).await
}

/// A server on a Redis store on `cluster` (which the caller keeps alive).
pub async fn spawn_app_on_cluster(
    keys: Keys,
    mut config: Config,
    cluster: &TestCluster,
) -> TestApp {
    config.store = StoreUrl::RedisCluster(cluster.node_urls());
    let store = open_cluster_store_with(cluster, redis_options(&config)).await;
    spawn_app_with(keys, config, store).await
}

/// The Redis store options the tests run with: a short timeout, a quick
/// policy check, and the config's retention and merchant shards.
pub fn redis_options(config: &Config) -> RedisOptions {
    RedisOptions {
        timeout: REDIS_TIMEOUT,
        retention: config.retention,
        merchant_shards: config.merchant_shards.clone(),
        policy_check_every: POLICY_CHECK_EVERY,
    }
}

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

/// Does the server's overall health (service "") report `status`?
pub async fn health_is(app: &TestApp, status: ServingStatus) -> bool {
    service_health_is(app, "", status).await
}

/// Whether the health of `service` is `status`.
pub async fn service_health_is(app: &TestApp, service: &str, status: ServingStatus) -> bool {
    let mut health = HealthClient::new(app.channel.clone());
    let request = HealthCheckRequest {
        service: service.to_owned(),
    };
    health
        .check(request)
        .await
        .is_ok_and(|response| response.into_inner().status() == status)
}

/// The Redis store at `url`, as the tests configure it.
pub async fn open_redis_store(url: &str) -> Arc<dyn Store> {
    open_redis_store_with(
        url,
        RedisOptions {
            timeout: REDIS_TIMEOUT,
            ..RedisOptions::default()
        },
    )
    .await
}

/// The Redis store at `url` with the given options.
pub async fn open_redis_store_with(url: &str, options: RedisOptions) -> Arc<dyn Store> {
    match RedisStore::open(url, options).await {
        Ok(store) => Arc::new(store),
        Err(error) => panic!("the redis store opens on {url}: {error}"),
    }
}

/// The Redis store on `cluster` with the given options.
pub async fn open_cluster_store_with(
    cluster: &TestCluster,
    options: RedisOptions,
) -> Arc<dyn Store> {
    match RedisStore::open_cluster(&cluster.node_urls(), options).await {
        Ok(store) => Arc::new(store),
        Err(error) => panic!("the redis store opens on {}: {error}", cluster.url()),
    }
}

/// A store under test, and the redis-server or cluster behind it.
pub struct TestStore {
    pub store: Arc<dyn Store>,
    /// Kept alive as long as the store is used.
    _redis: Option<TestRedis>,
    /// Kept alive as long as the store is used.
    _cluster: Option<TestCluster>,
}

impl std::ops::Deref for TestStore {
    type Target = dyn Store;

    fn deref(&self) -> &(dyn Store + 'static) {
        &*self.store
    }
}

/// An empty store on `backend`.
pub async fn store_on(backend: Backend) -> TestStore {
    match backend {
        Backend::Memory => TestStore {
            store: Arc::new(MemoryStore::new(Retention::default())),
            _redis: None,
            _cluster: None,
        },
        Backend::Redis => {
            let redis = TestRedis::start().await;
            TestStore {
                store: open_redis_store(&redis.url()).await,
                _redis: Some(redis),
                _cluster: None,
            }
        }
        Backend::Cluster => {
            let cluster = TestCluster::start().await;
            let options = RedisOptions {
                timeout: REDIS_TIMEOUT,
                ..RedisOptions::default()
            };
            TestStore {
                store: open_cluster_store_with(&cluster, options).await,
                _redis: None,
                _cluster: Some(cluster),
            }
        }
    }
}

/// A server with a given config and store.
pub async fn spawn_app_with(keys: Keys, config: Config, store: Arc<dyn Store>) -> TestApp {
    let clock = Arc::new(ManualClock::new(start_time()));
    spawn_app_with_clock(keys, config, store, clock).await
}

/// A server with a given config, store and clock.
async fn spawn_app_with_clock(
    keys: Keys,
    config: Config,
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
) -> TestApp {
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
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .expect("connects");
    TestApp {
        channel,
        addr,
        http_addr,
        keys,
        clock,
        domain,
        config,
        memory: None,
        shutdown: Some(tx),
        server: Some(server),
        redis: None,
        cluster: None,
    }
}

/// Polls `condition` every 20 ms until it holds; panics naming `what` if
/// it does not within `bound`.
pub async fn wait_for<F, Fut>(what: &str, bound: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        if condition().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "waited {bound:?} for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
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
                    super::$test($crate::helpers::Backend::Memory).await
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test($crate::helpers::Backend::Redis).await
                }
            )*
        }
        mod cluster {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test($crate::helpers::Backend::Cluster).await
                }
            )*
        }
    };
}
pub(crate) use on_all_backends;

/// `message` with `authorization: Bearer <secret>`.
pub fn authed<T>(secret: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {secret}").parse().unwrap());
    request
}

impl TestApp {
    pub fn clicks(&self) -> ClickServiceClient<Channel> {
        ClickServiceClient::new(self.channel.clone())
    }
    pub fn sales(&self) -> SaleServiceClient<Channel> {
        SaleServiceClient::new(self.channel.clone())
    }
    pub fn counters(&self) -> CounterServiceClient<Channel> {
        CounterServiceClient::new(self.channel.clone())
    }
    pub fn admin(&self) -> AdminServiceClient<Channel> {
        AdminServiceClient::new(self.channel.clone())
    }

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
            (None, None, None) => panic!("only apps made by spawn_app_on(_with) have a store url"),
        }
    }

    /// A second server over this one's store (the same memory store,
    /// redis-server or cluster) and clock, with the same keys and config: another
    /// replica of the deployment.
    pub async fn spawn_replica(&self) -> TestApp {
        self.spawn_replica_with(self.config.clone()).await
    }

    /// A replica (see [`TestApp::spawn_replica`]) that runs with `config`,
    /// e.g. this app's config with another policy.
    pub async fn spawn_replica_with(&self, mut config: Config) -> TestApp {
        let store: Arc<dyn Store> = match (&self.memory, &self.redis, &self.cluster) {
            (Some(memory), ..) => {
                config.store = StoreUrl::Memory;
                memory.clone()
            }
            (None, Some(redis), _) => {
                config.store = StoreUrl::Redis(redis.url());
                open_redis_store_with(&redis.url(), redis_options(&config)).await
            }
            (None, None, Some(cluster)) => {
                config.store = StoreUrl::RedisCluster(cluster.node_urls());
                open_cluster_store_with(cluster, redis_options(&config)).await
            }
            (None, None, None) => panic!("only apps made by spawn_app_on(_with) have replicas"),
        };
        let mut replica =
            spawn_app_with_clock(self.keys.clone(), config, store, self.clock.clone()).await;
        replica.memory = self.memory.clone();
        replica
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
                panic!("only apps made by spawn_app_on(_with) expose their store")
            }
        }
    }

    /// Begins graceful shutdown.
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Creates the two merchants and the approved campaign most tests use.
    pub async fn seed(&self) {
        self.put_merchant(MERCHANT, &["shop.dk"], "").await;
        self.put_merchant(OTHER_MERCHANT, &["other.dk"], "").await;
        self.put_campaign(CAMPAIGN, MERCHANT, "apparel", &[]).await;
        self.review(CAMPAIGN, ReviewDecision::Approve).await;
    }

    pub async fn put_merchant(&self, id: &str, domains: &[&str], token_param: &str) -> Merchant {
        let merchant = Merchant {
            merchant_id: id.into(),
            display_name: format!("Shop {id}"),
            allowed_domains: domains.iter().map(|d| d.to_string()).collect(),
            token_param: token_param.into(),
        };
        self.admin()
            .put_merchant(authed(
                &self.keys.admin,
                PutMerchantRequest {
                    merchant: Some(merchant),
                },
            ))
            .await
            .expect("put merchant")
            .into_inner()
            .merchant
            .unwrap()
    }

    pub async fn put_campaign(
        &self,
        id: &str,
        merchant: &str,
        category: &str,
        products: &[&str],
    ) -> Campaign {
        self.try_put_campaign(campaign(id, merchant, category, products))
            .await
            .expect("put campaign")
    }

    pub async fn try_put_campaign(&self, campaign: Campaign) -> Result<Campaign, Status> {
        Ok(self
            .admin()
            .put_campaign(authed(
                &self.keys.admin,
                PutCampaignRequest {
                    campaign: Some(campaign),
                },
            ))
            .await?
            .into_inner()
            .campaign
            .unwrap())
    }

    pub async fn review(&self, id: &str, decision: ReviewDecision) -> Campaign {
        self.try_review(id, decision).await.expect("review")
    }

    pub async fn try_review(&self, id: &str, decision: ReviewDecision) -> Result<Campaign, Status> {
        Ok(self
            .admin()
            .review_campaign(authed(
                &self.keys.admin,
                ReviewCampaignRequest {
                    campaign_id: id.into(),
                    decision: decision.into(),
                    reason: "test".into(),
                },
            ))
            .await?
            .into_inner()
            .campaign
            .unwrap())
    }

    pub async fn issue(&self, tap: IssueTokenRequest) -> Result<IssueTokenResponse, Status> {
        Ok(self
            .clicks()
            .issue_token(authed(&self.keys.feed, tap))
            .await?
            .into_inner())
    }

    pub async fn confirm(
        &self,
        token: &str,
        order_id: &str,
        amount_minor: i64,
        currency: &str,
    ) -> Result<ConfirmSaleResponse, Status> {
        self.confirm_as(&self.keys.merchant, token, order_id, amount_minor, currency)
            .await
    }

    pub async fn confirm_as(
        &self,
        key: &str,
        token: &str,
        order_id: &str,
        amount_minor: i64,
        currency: &str,
    ) -> Result<ConfirmSaleResponse, Status> {
        let request = ConfirmSaleRequest {
            token: token.into(),
            order_id: order_id.into(),
            amount: Some(Money {
                currency_code: currency.into(),
                amount_minor,
            }),
        };
        Ok(self
            .sales()
            .confirm_sale(authed(key, request))
            .await?
            .into_inner())
    }

    /// Counters of one id over the test day, hourly.
    pub async fn counters_of(
        &self,
        dimension: Dimension,
        id: &str,
        granularity: Granularity,
    ) -> GetCountersResponse {
        let start = start_time() - chrono::TimeDelta::hours(10);
        let request = GetCountersRequest {
            dimension: dimension.into(),
            id: id.into(),
            granularity: granularity.into(),
            start_time: Some(ts(start)),
            end_time: Some(ts(start + chrono::TimeDelta::days(1))),
        };
        self.counters()
            .get_counters(authed(&self.keys.dashboard, request))
            .await
            .expect("get counters")
            .into_inner()
    }

    /// Totals of one id over the test day.
    pub async fn total(&self, dimension: Dimension, id: &str) -> CounterBucket {
        self.counters_of(dimension, id, Granularity::Hour)
            .await
            .total
            .unwrap()
    }
}

/// What a store holds: on Redis (every primary of a cluster) every key name
/// and every value, hash field and member, as bytes; on memory the store's `Debug` output, which shows
/// every entry (byte arrays as `[1, 2, …]`).
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

    fn contains_raw(&self, needle: &[u8]) -> bool {
        self.blobs
            .iter()
            .any(|blob| blob.windows(needle.len()).any(|window| window == needle))
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.begin_shutdown();
    }
}

/// A campaign message.
pub fn campaign(id: &str, merchant: &str, category: &str, products: &[&str]) -> Campaign {
    Campaign {
        campaign_id: id.into(),
        merchant_id: merchant.into(),
        category: category.into(),
        attribution_window: None,
        product_ids: products.iter().map(|p| p.to_string()).collect(),
        status: 0,
        review_reason: String::new(),
    }
}

/// A tap on CAMPAIGN by an adult viewer.
pub fn tap(viewer: &str) -> IssueTokenRequest {
    IssueTokenRequest {
        viewer_id: viewer.into(),
        video_id: "vid-1".into(),
        creator_id: "cr-1".into(),
        campaign_id: CAMPAIGN.into(),
        product_id: "sku-1".into(),
        landing_url: "https://www.shop.dk/p/sku-1?color=red#reviews".into(),
        age_bracket: AgeBracket::AgeBracket18Plus.into(),
    }
}

pub fn ts(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: 0,
    }
}

/// Asserts a status has the code and ErrorInfo reason (and field) of the contract.
#[track_caller]
pub fn assert_error(status: &Status, code: Code, reason: &str) {
    assert_eq!(status.code(), code, "{status:?}");
    let info = status
        .get_details_error_info()
        .expect("status carries ErrorInfo");
    assert_eq!(info.domain, "cartclick");
    assert_eq!(info.reason, reason, "{status:?}");
}

/// Asserts an INVALID_FIELD error naming `field`.
#[track_caller]
pub fn assert_invalid_field(status: &Status, field: &str) {
    assert_error(status, Code::InvalidArgument, "INVALID_FIELD");
    let info = status.get_details_error_info().unwrap();
    assert_eq!(
        info.metadata.get("field").map(String::as_str),
        Some(field),
        "{status:?}"
    );
}

/// A memory store whose `confirm_sale` waits at a gate: lets a test hold a
/// call in flight (for shutdown tests). Everything else passes straight through.
pub struct GatedStore {
    pub inner: MemoryStore,
    /// Notified when a confirm_sale call reaches the gate.
    pub entered: Notify,
    /// Opens the gate.
    pub release: Notify,
}

impl GatedStore {
    pub fn new() -> Self {
        GatedStore {
            inner: MemoryStore::new(Retention::default()),
            entered: Notify::new(),
            release: Notify::new(),
        }
    }
}

// Every store trait forwarded to the memory store; `confirm_sale` first
// waits at the gate.
cartclick::forward_store!(GatedStore, inner, |this, operation, call| {
    if operation == "confirm_sale" {
        this.entered.notify_one();
        this.release.notified().await;
    }
    call.await
});

/// Runs `cartclick reconcile` for `merchant` on the test day.
pub async fn reconcile_command(url: &str, merchant: &str) -> std::process::Output {
    let args = [
        "reconcile",
        "--store",
        url,
        "--merchant",
        merchant,
        "--day",
        "2026-11-02",
    ]
    .map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_cartclick"))
            .args(args)
            .env_remove("CARTCLICK_CONFIG")
            .env_remove("CARTCLICK_STORE")
            .output()
            .expect("runs cartclick reconcile")
    })
    .await
    .unwrap()
}

/// Repeats `call` while it answers UNAVAILABLE (safe to retry, says the
/// contract), for up to `bound`, counting the repeats in `retries`; returns
/// the first other answer.
pub async fn retry_unavailable<T, F, Fut>(
    bound: Duration,
    retries: &mut usize,
    mut call: F,
) -> Result<T, Status>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Status>>,
{
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        match call().await {
            Err(status)
                if status.code() == Code::Unavailable && tokio::time::Instant::now() < deadline =>
            {
                *retries += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            answer => return answer,
        }
    }
}
