//! Connecting: one server or a cluster behind one `Conn`, opening a store
//! (the eviction check first, then the scripts), and running each call
//! under the store timeout.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use redis::Value;
use redis::aio::ConnectionManager;
use redis::cluster_async::ClusterConnection;

use crate::error::{Error, Result};
use crate::model::Retention;

use super::RedisStore;
use super::eviction::{self, Guard, POLICY_CHECK_EVERY};
use super::fold::{FOLD_EVERY, FOLD_SOON, Fold};
use super::scripts::Scripts;
use super::shards;

/// Settings of a Redis store.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// Longest any Redis call may take before the RPC answers STORE_UNAVAILABLE.
    pub timeout: Duration,
    /// Counter and record retention.
    pub retention: Retention,
    /// Hot merchants' shard counts: their taps spread over this many hash
    /// tags (so Cluster slots and nodes); absent means one.
    pub merchant_shards: HashMap<String, u16>,
    /// How often every node's `maxmemory-policy` is checked while writes
    /// are allowed (also at once after a connection error); at most 10 s
    /// in production, shorter in tests.
    pub policy_check_every: Duration,
    /// `max_unfolded_events`: past this many events not yet folded on a
    /// shard, its taps are refused (DESIGN.md, "Storage").
    pub max_unfolded_events: u64,
    /// How often a replica folds the shards it wrote to, at the longest:
    /// [`FOLD_EVERY`] in production; tests stall it.
    pub fold_every: Duration,
    /// Events on one shard after which a replica folds it at once, before
    /// `fold_every` is up: [`FOLD_SOON`] in production. A test or bench
    /// that stalls the fold sets it out of reach too (`u32::MAX`), or the
    /// fold runs after this many taps whatever `fold_every` says.
    pub fold_soon_events: u32,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            timeout: Duration::from_millis(500),
            retention: Retention::default(),
            merchant_shards: HashMap::new(),
            policy_check_every: POLICY_CHECK_EVERY,
            max_unfolded_events: MAX_UNFOLDED_EVENTS,
            fold_every: FOLD_EVERY,
            fold_soon_events: FOLD_SOON,
        }
    }
}

/// `max_unfolded_events` unless configured: a million events (some
/// 150 MB of stream) on one shard.
pub const MAX_UNFOLDED_EVENTS: u64 = 1_000_000;

/// Why a Redis store would not open.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct OpenError(pub(crate) String);

/// One connection to Redis: a single server or a cluster. Both reconnect by
/// themselves; the cluster client follows MOVED/ASK and retries on its own,
/// which is why every script checks its idempotency key first.
#[derive(Clone)]
pub(super) enum Conn {
    /// One server (`redis://`, `rediss://`).
    Single(ConnectionManager),
    /// A Redis Cluster (`redis+cluster://`).
    Cluster(ClusterConnection),
}

impl redis::aio::ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> redis::RedisFuture<'a, Value> {
        match self {
            Conn::Single(conn) => conn.req_packed_command(cmd),
            Conn::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(conn) => conn.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(conn) => conn.get_db(),
            Conn::Cluster(conn) => conn.get_db(),
        }
    }
}

impl RedisStore {
    /// Connects, checks that the server will not evict keys, and loads the
    /// scripts. Fails when Redis cannot be reached within the timeout.
    pub async fn open(url: &str, options: RedisOptions) -> Result<RedisStore, OpenError> {
        // rustls needs one process-wide crypto provider for rediss://; a
        // second install (another store in the same process) is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = redis::Client::open(url)
            .map_err(|e| OpenError(format!("store: not a usable redis url: {e}")))?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.timeout))
            .set_response_timeout(Some(options.timeout))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(2));
        let conn = tokio::time::timeout(
            options.timeout * 4,
            client.get_connection_manager_with_config(config),
        )
        .await
        .map_err(|_| {
            OpenError(format!(
                "store: redis at {} did not answer in time",
                redacted(url)
            ))
        })?
        .map_err(|e| {
            OpenError(format!(
                "store: cannot connect to redis at {}: {e}",
                redacted(url)
            ))
        })?;
        RedisStore::start(Conn::Single(conn), options, url, &[]).await
    }

    /// Connects to a Redis Cluster by its seed nodes (`redis://host:port`),
    /// with explicit connection and response timeouts (the cluster client
    /// has no response timeout by default).
    pub async fn open_cluster(
        nodes: &[String],
        options: RedisOptions,
    ) -> Result<RedisStore, OpenError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = redis::cluster::ClusterClientBuilder::new(nodes.to_vec())
            .connection_timeout(options.timeout)
            .response_timeout(options.timeout)
            .retries(2)
            .build()
            .map_err(|e| OpenError(format!("store: not a usable redis cluster: {e}")))?;
        let conn = tokio::time::timeout(options.timeout * 4, client.get_async_connection())
            .await
            .map_err(|_| OpenError("store: the redis cluster did not answer in time".into()))?
            .map_err(|e| OpenError(format!("store: cannot connect to the redis cluster: {e}")))?;
        RedisStore::start(Conn::Cluster(conn), options, "", nodes).await
    }

    /// Checks that no node would evict, loads the scripts, and starts the
    /// task that keeps checking the policy. `server` is a single server's
    /// URL, `seeds` a cluster's seed nodes.
    async fn start(
        conn: Conn,
        options: RedisOptions,
        server: &str,
        seeds: &[String],
    ) -> Result<RedisStore, OpenError> {
        // Refuses a Redis that may evict keys: an evicted order key means a
        // sale counted twice. On a cluster, every node is asked.
        let mut checker = eviction::Checker::new(conn.clone(), server, seeds, options.timeout);
        match checker.check().await {
            eviction::Finding::NoEviction => {}
            eviction::Finding::Evicts { node, policy } => {
                return Err(OpenError(format!(
                    "store: redis maxmemory-policy is {policy} on {node}; cartclick needs noeviction (an evicted order would be counted twice): run CONFIG SET maxmemory-policy noeviction or set it in redis.conf"
                )));
            }
            eviction::Finding::NoAnswer(why) => return Err(OpenError(format!("store: {why}"))),
        }
        let scripts = Scripts::new();
        let eviction = eviction::Watch::start(checker, options.policy_check_every);
        let fold = Fold::start(
            conn.clone(),
            scripts.fold.clone(),
            Arc::clone(&eviction.guard),
            &options,
        );
        let store = RedisStore {
            conn,
            merchant_shards: options.merchant_shards,
            timeout: options.timeout,
            retention: options.retention,
            scripts,
            indexed: shards::index_cache(),
            eviction,
            fold,
        };
        store.load_scripts().await?;
        store.backfill_indexes().await.map_err(|_| {
            OpenError("store: could not index the registry's records for listings".into())
        })?;
        Ok(store)
    }

    /// Refuses a write while a node would evict, or while the policy is
    /// unverified since a connection error: one atomic load.
    pub(super) fn writable(&self) -> Result<()> {
        if self.eviction.guard.writes_allowed() {
            Ok(())
        } else {
            Err(Error::StoreUnavailable)
        }
    }

    /// Runs one Redis call under the store timeout; every failure is
    /// STORE_UNAVAILABLE to the caller and a warning in the log.
    pub(super) async fn run<T>(
        &self,
        call: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T> {
        run_call(self.timeout, &self.eviction.guard, call).await
    }
}

/// Runs one Redis call within `timeout`; every failure is
/// STORE_UNAVAILABLE to the caller and a warning in the log, and one that
/// may reach another server tells `guard` (writes wait for its check).
pub(super) async fn run_call<T>(
    timeout: Duration,
    guard: &Guard,
    call: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T> {
    match tokio::time::timeout(timeout, call).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => {
            tracing::warn!(%error, "redis call failed");
            if reaches_another_server(&error) {
                guard.connection_error();
            }
            Err(Error::StoreUnavailable)
        }
        Err(_) => {
            tracing::warn!(
                timeout_ms = timeout.as_millis() as u64,
                "redis call timed out"
            );
            Err(Error::StoreUnavailable)
        }
    }
}

/// Whether after `error` the next call may reach another server than the
/// one whose policy was checked: the client replaces the connection (an
/// I/O error, a dropped connection), the server restarted (LOADING), or
/// the cluster moved slots or failed over (MOVED, CLUSTERDOWN, MASTERDOWN,
/// READONLY from a primary turned replica).
fn reaches_another_server(error: &redis::RedisError) -> bool {
    use redis::{ErrorKind, ServerErrorKind};
    error.is_io_error()
        || error.is_unrecoverable_error()
        || matches!(
            error.kind(),
            ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::Moved
                    | ServerErrorKind::ClusterDown
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::ReadOnly
            )
        )
}

/// A url with its password replaced, for messages.
pub(super) fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}
