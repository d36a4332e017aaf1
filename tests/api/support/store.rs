//! Stores as the tests open them: the Redis store options every test runs
//! with, the Redis store on a server or a cluster, and [`TestStore`], an
//! empty store on any [`Backend`] for the store conformance suite.

use std::sync::Arc;
use std::time::Duration;

use cartclick::config::Config;
use cartclick::model::Retention;
use cartclick::store::Store;
use cartclick::store::memory::MemoryStore;
use cartclick::store::redis::{RedisOptions, RedisStore};

use super::{Backend, TestCluster, TestRedis};

/// Longest a Redis call of the store under test may take.
pub const REDIS_TIMEOUT: Duration = Duration::from_millis(500);
/// How often the servers under test check every Redis node's
/// `maxmemory-policy` (production: every 5 s), so that tests of a policy
/// changing under the server are quick.
pub const POLICY_CHECK_EVERY: Duration = Duration::from_millis(200);

/// The Redis store options the tests run with: a short timeout, a quick
/// policy check, and the config's retention and merchant shards.
pub fn redis_options(config: &Config) -> RedisOptions {
    RedisOptions {
        timeout: REDIS_TIMEOUT,
        retention: config.retention,
        merchant_shards: config.merchant_shards.clone(),
        policy_check_every: POLICY_CHECK_EVERY,
        max_unfolded_events: config.max_unfolded_events.get(),
        ..RedisOptions::default()
    }
}

/// The Redis store at `url` with the given options.
pub async fn open_redis_store_with(url: &str, options: RedisOptions) -> Arc<dyn Store> {
    match RedisStore::open(url, options).await {
        Ok(store) => Arc::new(store),
        Err(error) => panic!("the redis store opens on {url}: {error}"),
    }
}

/// The Redis store on the cluster whose nodes are `node_urls`, with the
/// given options.
pub async fn open_cluster_store_with(
    node_urls: &[String],
    options: RedisOptions,
) -> Arc<dyn Store> {
    match RedisStore::open_cluster(node_urls, options).await {
        Ok(store) => Arc::new(store),
        Err(error) => panic!("the redis store opens on {node_urls:?}: {error}"),
    }
}

/// A store under test, and the redis-server or cluster behind it.
pub struct TestStore {
    /// The store the conformance suite calls.
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
    let options = RedisOptions {
        timeout: REDIS_TIMEOUT,
        ..RedisOptions::default()
    };
    match backend {
        Backend::Memory => TestStore {
            store: Arc::new(MemoryStore::new(Retention::default())),
            _redis: None,
            _cluster: None,
        },
        Backend::Redis => {
            let redis = TestRedis::start().await;
            TestStore {
                store: open_redis_store_with(&redis.url(), options).await,
                _redis: Some(redis),
                _cluster: None,
            }
        }
        Backend::Cluster => {
            let cluster = TestCluster::start().await;
            TestStore {
                store: open_cluster_store_with(&cluster.node_urls(), options).await,
                _redis: None,
                _cluster: Some(cluster),
            }
        }
    }
}
