//! The Redis store: the production store, on one Redis server (7.x).
//!
//! Every write that must happen together happens in one Lua script (files in
//! `lua/`), run with EVALSHA and a NOSCRIPT fallback, so a crash never leaves
//! a sale recorded but not counted; each script checks its own idempotency
//! key first, so running it twice (a retry after a lost reply) counts once.
//! A tap and a sale cost one round trip each.
//!
//! Exactly-once also needs Redis never to evict a key: the store refuses to
//! open on a node whose `maxmemory-policy` is not `noeviction`, and keeps
//! checking every node while it runs (`eviction`): while one would evict,
//! or after a connection error until the next check, writes answer
//! STORE_UNAVAILABLE and `check_connectivity` fails; reads go on.
//!
//! # Keys
//!
//! Every key a tap or a sale touches carries the merchant's hash tag
//! `{merchant}`, so one script's keys share a Redis Cluster slot. A hot
//! merchant configured with `n` shards spreads its taps over the tags
//! `{merchant}`, `{merchant 1}` … `{merchant n-1}` (the viewer picks the
//! shard, and the click id's last byte records it, so the count may change);
//! its sales, orders and reversals stay on `{merchant}`; reads sum over the
//! shards configured and every shard its taps have used (`x:m:<merchant>`).
//! Below, `{m}` is such a tag:
//!
//! | key | type | holds | expires |
//! |---|---|---|---|
//! | `d:{m}:<window>:<n>` | hash | dedup entries of one dedup window: field = 16 bytes of the dedup key, value = first click id, tap time (ms), expiry, key id | two dedup windows |
//! | `k:{m}:<expiry hour>:<n>` | hash | click records: field = click id (16 bytes), value = attribution id (12 bytes), viewer hash (16 bytes, zeros once erased), tap time (ms), expiry (s) | the later of the attribution window and the day after the click, rounded up to the hour |
//! | `a:{m}:<attribution id>` | string | `campaign creator video product`, shared by every click on that cart | as long as its longest-lived click (rounded up to the hour) |
//! | `o:{m}:<order id>` | string | the confirmed sale | the click's window + order retention |
//! | `n:{m}:<h\|d>:<bucket start>:<dimension>:<id>` | hash | counters: `c` clicks, `d` repeat taps (taps are `c` + `d`), `v` conversions, `r:<CUR>` revenue, `f:<CUR>` refunds | bucket end + hourly or daily retention |
//! | `q:{m}:<minute>:<n>` | hash | taps this minute at this merchant: field = viewer hash (16 bytes), value = count (rate limit) | two minutes |
//! | `f:{m}:<order id>` | string | what has been refunded of the sale | with the order |
//! | `v:{m}:<reversal id>` | string | the recorded reversal: order, amount, currency, what remained | with the order |
//! | `e:{m}` | stream | the merchant's events: every click, repeat tap, sale and reversal, written by the same script as its counters | trimmed to `events_max_len` (and `events_max_age_hours`); the key itself after daily retention without writes |
//! | `t:{m}:<day start>:<dimension>:<metric>` | sorted set | the day's top list of campaigns, creators, videos or products by clicks `c`, conversions `v` or revenue `r:<CUR>` | daily retention |
//! | `x:day:<day start>` | set | the merchants that counted anything that day: where global top lists look | daily retention |
//! | `x:<dimension>:<id>` | set | the merchants (their shard tags) that counted for a campaign, creator, video or product; for a merchant id, the shard tags its taps used | daily retention |
//! | `r:m:<id>`, `r:c:<id>`, `r:k:<sha256>`, `r:kid:<id>` | hash, string | the registry: merchants, campaigns, API keys (by the hash of the secret, and id to hash) | never: configuration, not flow data |
//!
//! Click and dedup records are fields of bucket hashes, 1024 buckets per
//! window or expiry hour, so that they stay in Redis's compact listpack
//! encoding (values under 64 bytes, ~100 entries a hash under load) instead
//! of paying a key's overhead each: this is what keeps a click, its dedup
//! entry included, within the memory budget (BENCHMARKS.md).

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use itoa::Buffer as Digits;
use redis::aio::ConnectionManager;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::{AsyncCommands, Script, Value};
use sha2::{Digest, Sha256};

use crate::auth::{ApiKey, Role};
use crate::error::{Error, Result};
use crate::model::{
    Attribution, BucketRange, Campaign, CampaignStatus, ClickOutcome, ClickRecord, CounterCell,
    Counts, Dimension, Event, EventKind, FirstClick, Granularity, Merchant, MerchantRecords, Money,
    NewClick, NewReversal, NewSale, Retention, ReversalOutcome, SaleOutcome, SaleRecord, TopEntry,
    TopMetric, rank,
};
use crate::privacy::ViewerHash;
use crate::store::Store;
use crate::token::ClickId;

mod eviction;

pub use eviction::POLICY_CHECK_EVERY;

/// Buckets per dedup window and per click expiry hour.
const BUCKETS: u16 = 1024;
/// Length of the attribution id (a truncated SHA-256 of the tuple).
const ATTRIBUTION_ID_LEN: usize = 12;
/// How long an index entry ("merchant M counted for creator X") is trusted
/// by this process before it is written again (refreshing its TTL).
const INDEX_REFRESH: Duration = Duration::from_secs(3600);
/// Entries the index cache holds before it starts over.
const INDEX_CACHE_MAX: usize = 100_000;
/// SCAN page size for operator reads (reconcile).
const SCAN_COUNT: usize = 1000;

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
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            timeout: Duration::from_millis(500),
            retention: Retention::default(),
            merchant_shards: HashMap::new(),
            policy_check_every: POLICY_CHECK_EVERY,
        }
    }
}

/// Why a Redis store would not open.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct OpenError(pub String);

/// One connection to Redis: a single server or a cluster. Both reconnect by
/// themselves; the cluster client follows MOVED/ASK and retries on its own,
/// which is why every script checks its idempotency key first.
#[derive(Clone)]
enum Conn {
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

/// A Lua script of `lua/`, with `lua/prelude.lua` (shared helpers) before it.
macro_rules! script {
    ($name:literal) => {
        Script::new(concat!(
            include_str!("lua/prelude.lua"),
            include_str!(concat!("lua/", $name, ".lua"))
        ))
    };
}

/// The scripts, hashed once.
struct Scripts {
    record_click: Script,
    confirm_sale: Script,
    put_campaign: Script,
    unlink_viewer: Script,
    reverse_sale: Script,
    read_click: Script,
}

/// The production store.
pub struct RedisStore {
    /// A connection that reconnects by itself.
    conn: Conn,
    /// Shard counts of hot merchants (absent: one shard).
    merchant_shards: HashMap<String, u16>,
    /// Outer bound on every call, on top of the connection's own timeouts.
    timeout: Duration,
    /// TTLs of records and counters.
    retention: Retention,
    /// The Lua scripts.
    scripts: Scripts,
    /// Index entries (set key, merchant) this process wrote lately, so a tap
    /// adds its index entries once an hour, not every time.
    indexed: Mutex<HashMap<(String, String), Instant>>,
    /// Whether writes may go on: no node would evict (see [`eviction`]),
    /// and the task that keeps checking.
    eviction: eviction::Watch,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
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
        let store = RedisStore {
            conn,
            merchant_shards: options.merchant_shards,
            timeout: options.timeout,
            retention: options.retention,
            scripts: Scripts {
                record_click: script!("record_click"),
                confirm_sale: script!("confirm_sale"),
                put_campaign: script!("put_campaign"),
                unlink_viewer: script!("unlink_viewer"),
                reverse_sale: script!("reverse_sale"),
                read_click: script!("read_click"),
            },
            indexed: Mutex::new(HashMap::new()),
            eviction: eviction::Watch::start(checker, options.policy_check_every),
        };
        store.load_scripts().await?;
        Ok(store)
    }

    /// Refuses a write while a node would evict, or while the policy is
    /// unverified since a connection error: one atomic load.
    fn writable(&self) -> Result<()> {
        if self.eviction.guard.writes_allowed() {
            Ok(())
        } else {
            Err(Error::StoreUnavailable)
        }
    }

    /// How many shards `merchant` is spread over.
    fn shards(&self, merchant: &str) -> u16 {
        self.merchant_shards
            .get(merchant)
            .copied()
            .unwrap_or(1)
            .max(1)
    }

    /// The hash tags of every shard of `merchant` that may hold its data,
    /// shard 0 first: the shards configured now, and those its taps used
    /// under an earlier shard count, which the merchant's index set names
    /// (taps add their tag to it, as to the other dimensions' sets).
    async fn tags(&self, merchant: &str) -> Result<Vec<String>> {
        let mut tags: Vec<String> = (0..self.shards(merchant))
            .map(|shard| shard_tag(merchant, shard))
            .collect();
        let used: Vec<String> = self
            .run(
                self.conn
                    .clone()
                    .smembers(index_key(Dimension::Merchant, merchant)),
            )
            .await?;
        for tag in used {
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        Ok(tags)
    }

    /// Loads every script, so the first call after start runs EVALSHA at
    /// once (a Redis restart or SCRIPT FLUSH later is the NOSCRIPT fallback's).
    async fn load_scripts(&self) -> Result<(), OpenError> {
        for script in [
            &self.scripts.record_click,
            &self.scripts.confirm_sale,
            &self.scripts.put_campaign,
            &self.scripts.unlink_viewer,
            &self.scripts.reverse_sale,
            &self.scripts.read_click,
        ] {
            let mut conn = self.conn.clone();
            let loaded: Result<String> = self.run(script.load_async(&mut conn)).await;
            loaded.map_err(|_| OpenError("store: redis refused to load the lua scripts".into()))?;
        }
        Ok(())
    }

    /// Runs one Redis call under the store timeout; every failure is
    /// STORE_UNAVAILABLE to the caller and a warning in the log.
    async fn run<T>(&self, call: impl Future<Output = redis::RedisResult<T>>) -> Result<T> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => {
                tracing::warn!(%error, "redis call failed");
                if reaches_another_server(&error) {
                    self.eviction.guard.connection_error();
                }
                Err(Error::StoreUnavailable)
            }
            Err(_) => {
                tracing::warn!(
                    timeout_ms = self.timeout.as_millis() as u64,
                    "redis call timed out"
                );
                Err(Error::StoreUnavailable)
            }
        }
    }

    /// Adds `merchant` to each index set in `keys` that this process has not
    /// written lately (refreshing its TTL). The index sets live under other
    /// hash tags than the merchant's, so they cannot be in a script; they are
    /// written ahead of it, so a failure can leave an extra entry but never a
    /// counted click or sale that reads cannot find. A tap or sale costs a
    /// second round trip only the first time in an hour that this process
    /// sees a (set, merchant).
    async fn index(&self, merchant: &str, keys: Vec<String>) -> Result<()> {
        let due: Vec<String> = {
            let mut indexed = self.indexed.lock().unwrap_or_else(|p| p.into_inner());
            if indexed.len() > INDEX_CACHE_MAX {
                indexed.clear();
            }
            let now = Instant::now();
            keys.into_iter()
                .filter(|key| {
                    let entry = (key.clone(), merchant.to_owned());
                    let fresh = indexed
                        .get(&entry)
                        .is_some_and(|at| now.duration_since(*at) < INDEX_REFRESH);
                    if !fresh {
                        indexed.insert(entry, now);
                    }
                    !fresh
                })
                .collect()
        };
        if due.is_empty() {
            return Ok(());
        }
        // One small pipeline per set: each set is its own slot on a cluster.
        let mut written = Ok(());
        for key in &due {
            let mut pipe = redis::pipe();
            pipe.sadd(key, merchant).ignore();
            pipe.expire(key, self.retention.daily.as_secs() as i64)
                .ignore();
            written = self
                .run(pipe.query_async::<()>(&mut self.conn.clone()))
                .await;
            if written.is_err() {
                break;
            }
        }
        if written.is_err() {
            let mut indexed = self.indexed.lock().unwrap_or_else(|p| p.into_inner());
            for key in due {
                indexed.remove(&(key, merchant.to_owned()));
            }
        }
        written
    }

    /// Trimming arguments of the event stream: length to keep, longest age
    /// to keep in ms (or ''; the script measures it on Redis's clock, which
    /// stamps the ids), and the stream's TTL in ms.
    fn event_trim(&self, _now: DateTime<Utc>) -> (u64, String, i64) {
        let min_id = self
            .retention
            .events_max_age
            .map_or_else(String::new, |age| age.as_millis().to_string());
        let ttl = self.retention.daily.as_millis() as i64;
        (self.retention.events_max_len, min_id, ttl)
    }

    /// Every key matching `pattern` in the slot of the hash tag `tag`, by
    /// SCAN (operator reads only). On a cluster the SCAN goes to the primary
    /// that owns the slot; the pattern must name keys of that tag.
    async fn scan(&self, tag: &str, pattern: &str) -> Result<Vec<String>> {
        let route = match &self.conn {
            Conn::Single(_) => None,
            Conn::Cluster(_) => {
                let slot: u16 = self
                    .run(
                        redis::cmd("CLUSTER")
                            .arg("KEYSLOT")
                            .arg(format!("{{{tag}}}"))
                            .query_async(&mut self.conn.clone()),
                    )
                    .await?;
                Some(RoutingInfo::SingleNode(
                    SingleNodeRoutingInfo::SpecificNode(redis::cluster_routing::Route::new(
                        slot,
                        redis::cluster_routing::SlotAddr::Master,
                    )),
                ))
            }
        };
        let mut cursor: u64 = 0;
        let mut keys = Vec::new();
        loop {
            let mut cmd = redis::cmd("SCAN");
            cmd.arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(SCAN_COUNT);
            let (next, page): (u64, Vec<String>) = match (&self.conn, &route) {
                (Conn::Cluster(conn), Some(route)) => {
                    let mut conn = conn.clone();
                    let value = self.run(conn.route_command(cmd, route.clone())).await?;
                    redis::from_redis_value(value).map_err(|_| corrupt("scan reply"))?
                }
                _ => self.run(cmd.query_async(&mut self.conn.clone())).await?,
            };
            keys.extend(page);
            if next == 0 {
                return Ok(keys);
            }
            cursor = next;
        }
    }
}

impl RedisStore {
    /// The counter cells of one shard tag in `range` (operator reads).
    async fn counter_cells(&self, tag: &str, range: BucketRange) -> Result<Vec<CounterCell>> {
        let prefix = counter_prefix(tag);
        let pattern = format!(
            "n:{{{}}}:{}:*",
            glob_escape(tag),
            range.granularity.as_str()
        );
        let prefix_len = prefix.len() + 2;
        let end = range.first + i64::from(range.count) * range.granularity.seconds();
        let mut wanted = Vec::new();
        for key in self.scan(tag, &pattern).await? {
            // <start>:<dimension>:<id>; the id is last and may hold ':'.
            let Some(rest) = key.get(prefix_len..) else {
                continue;
            };
            let mut parts = rest.splitn(3, ':');
            let (Some(start), Some(code), Some(id)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let (Ok(start), Some(dimension)) = (start.parse::<i64>(), dimension_from_code(code))
            else {
                continue;
            };
            if (range.first..end).contains(&start) {
                wanted.push((key.clone(), start, dimension, id.to_owned()));
            }
        }
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for (key, ..) in &wanted {
            pipe.hgetall(key);
        }
        let cells: Vec<HashMap<String, i64>> =
            self.run(pipe.query_async(&mut self.conn.clone())).await?;
        Ok(wanted
            .into_iter()
            .zip(cells)
            .map(|((_, start, dimension, id), fields)| CounterCell {
                start,
                dimension,
                id,
                counts: parse_counts(fields),
            })
            .collect())
    }
}

/// `text` with SCAN glob metacharacters escaped, to match it literally.
fn glob_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
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

/// The dimensions read through the merchant index (merchant counters are
/// found by their own tag).
const INDEXED: [Dimension; 4] = [
    Dimension::Campaign,
    Dimension::Creator,
    Dimension::Video,
    Dimension::Product,
];

/// A url with its password replaced, for messages.
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

fn dimension_code(dimension: Dimension) -> &'static str {
    match dimension {
        Dimension::Merchant => "m",
        Dimension::Campaign => "c",
        Dimension::Creator => "r",
        Dimension::Video => "v",
        Dimension::Product => "p",
    }
}

fn dimension_from_code(code: &str) -> Option<Dimension> {
    Dimension::ALL
        .into_iter()
        .find(|d| dimension_code(*d) == code)
}

/// Which of the [`BUCKETS`] buckets a 16-byte id falls in.
fn bucket_of(id: &[u8]) -> u16 {
    u16::from_be_bytes([id[0], id[1]]) % BUCKETS
}

/// A key (or value) from its parts: one allocation of the exact size and
/// none of `format!`'s machinery. A tap builds about twenty keys; made with
/// `format!` they cost a sixth of the server's instructions per IssueToken
/// (BENCHMARKS.md).
fn joined(parts: &[&str]) -> String {
    parts.concat()
}

/// `<kind>:{merchant}:<period>:<bucket of id>`: the bucket hashes that
/// hold dedup entries and rate-limit counters as fields.
fn bucket_key(kind: &str, merchant: &str, period: i64, id: &[u8]) -> String {
    joined(&[
        kind,
        ":{",
        merchant,
        "}:",
        Digits::new().format(period),
        ":",
        Digits::new().format(bucket_of(id)),
    ])
}

fn dedup_bucket_key(merchant: &str, window: i64, field: &[u8]) -> String {
    bucket_key("d", merchant, window, field)
}

fn click_bucket_key(merchant: &str, expires_at: DateTime<Utc>, click_id: &ClickId) -> String {
    joined(&[
        "k:{",
        merchant,
        "}:",
        Digits::new().format(expires_at.timestamp().div_euclid(3600)),
        ":",
        Digits::new().format(bucket_of(click_id.as_bytes())),
    ])
}

/// When a click bucket (and an attribution) is set to expire when a click
/// needs it to live longer: the click's `click_until`, rounded up to the
/// hour. The clicks of a bucket expire in the same hour, so the script
/// moves the bucket's expiry about once per bucket rather than once per
/// click; a record outlives its own `click_until` by less than an hour.
fn click_bucket_until(click_until: DateTime<Utc>) -> DateTime<Utc> {
    let hour_ms = 3_600_000;
    let up = (millis(click_until) + hour_ms - 1).div_euclid(hour_ms) * hour_ms;
    from_millis(up).unwrap_or(click_until)
}

fn attribution_prefix(merchant: &str) -> String {
    joined(&["a:{", merchant, "}:"])
}

fn order_key(merchant: &str, order_id: &str) -> String {
    format!("o:{{{merchant}}}:{order_id}")
}

fn counter_prefix(merchant: &str) -> String {
    format!("n:{{{merchant}}}:")
}

fn counter_key(
    merchant: &str,
    granularity: Granularity,
    start: i64,
    dimension: Dimension,
    id: &str,
) -> String {
    joined(&[
        "n:{",
        merchant,
        "}:",
        granularity.as_str(),
        ":",
        Digits::new().format(start),
        ":",
        dimension_code(dimension),
        ":",
        id,
    ])
}

fn rate_key(merchant: &str, viewer: &ViewerHash, minute: i64) -> String {
    bucket_key("q", merchant, minute, viewer)
}

/// The hash tag of one shard of a merchant: the merchant id for shard 0,
/// "<merchant> <n>" for the others (ids hold no spaces).
fn shard_tag(merchant: &str, shard: u16) -> String {
    if shard == 0 {
        merchant.to_owned()
    } else {
        format!("{merchant} {shard}")
    }
}

/// The shard a click id was placed in (see `place_click`).
fn click_shard(click_id: &ClickId) -> u16 {
    u16::from(click_id.as_bytes()[15])
}

/// The registry's hash tag: merchants, campaigns and API keys share one slot,
/// so an operator can list them with one SCAN on a cluster too.
const REGISTRY_TAG: &str = "r";

fn api_key_key(sha256: &[u8; 32]) -> String {
    format!("r:{{{REGISTRY_TAG}}}:k:{}", hex::encode(sha256))
}

fn api_key_id_key(key_id: &str) -> String {
    format!("r:{{{REGISTRY_TAG}}}:kid:{key_id}")
}

/// The merchants that counted anything on a day: where global top lists look.
fn day_index_key(day_start: i64) -> String {
    joined(&["x:day:", Digits::new().format(day_start)])
}

fn events_key(merchant: &str) -> String {
    joined(&["e:{", merchant, "}"])
}

/// Prefix of a merchant's top lists of a day: `<prefix><dimension>:<metric>`.
fn top_prefix(merchant: &str, day_start: i64) -> String {
    joined(&["t:{", merchant, "}:", Digits::new().format(day_start), ":"])
}

fn top_metric_code(metric: &TopMetric) -> String {
    match metric {
        TopMetric::Clicks => "c".to_owned(),
        TopMetric::Conversions => "v".to_owned(),
        TopMetric::Revenue(currency) => format!("r:{currency}"),
    }
}

fn index_key(dimension: Dimension, id: &str) -> String {
    joined(&["x:", dimension_code(dimension), ":", id])
}

fn merchant_key(merchant_id: &str) -> String {
    format!("r:{{{REGISTRY_TAG}}}:m:{merchant_id}")
}

fn campaign_key(campaign_id: &str) -> String {
    format!("r:{{{REGISTRY_TAG}}}:c:{campaign_id}")
}

/// The interned attribution of a click: ids joined by spaces (ids never
/// hold one), and its id, a truncated SHA-256 of that text.
fn attribution_text(attribution: &Attribution) -> (String, [u8; ATTRIBUTION_ID_LEN]) {
    let text = joined(&[
        &attribution.campaign_id,
        " ",
        &attribution.creator_id,
        " ",
        &attribution.video_id,
        " ",
        &attribution.product_id,
    ]);
    let digest = Sha256::digest(text.as_bytes());
    let mut id = [0u8; ATTRIBUTION_ID_LEN];
    id.copy_from_slice(&digest[..ATTRIBUTION_ID_LEN]);
    (text, id)
}

/// Milliseconds until `until`, at least 1 (a TTL of 0 would be an error).
fn ttl_ms(now: DateTime<Utc>, until: DateTime<Utc>) -> i64 {
    (until - now).num_milliseconds().max(1)
}

fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn from_millis(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

/// A script answer: a tag and an optional payload.
fn reply(value: Value) -> Result<(String, Option<Vec<u8>>)> {
    let corrupt = || {
        tracing::error!("unexpected script reply");
        Error::StoreUnavailable
    };
    let Value::Array(items) = value else {
        return Err(corrupt());
    };
    let mut items = items.into_iter();
    let tag = match items.next() {
        Some(Value::BulkString(bytes)) => String::from_utf8(bytes).map_err(|_| corrupt())?,
        Some(Value::SimpleString(s)) => s,
        _ => return Err(corrupt()),
    };
    let payload = match items.next() {
        Some(Value::BulkString(bytes)) => Some(bytes),
        None => None,
        _ => return Err(corrupt()),
    };
    Ok((tag, payload))
}

fn corrupt(what: &str) -> Error {
    tracing::error!(what, "unreadable record in redis");
    Error::StoreUnavailable
}

/// Parses a dedup entry: click id, tap time ms, expiry s, kid.
fn parse_first_click(value: &[u8]) -> Result<FirstClick> {
    if value.len() < 17 {
        return Err(corrupt("dedup entry"));
    }
    let click_id = ClickId::from_bytes(value[..16].try_into().map_err(|_| corrupt("dedup entry"))?);
    let rest = std::str::from_utf8(&value[16..]).map_err(|_| corrupt("dedup entry"))?;
    let mut parts = rest.split(' ');
    let clicked_ms = parts
        .next()
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| corrupt("dedup entry"))?;
    let expires_s = parts
        .next()
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| corrupt("dedup entry"))?;
    let kid = parts
        .next()
        .ok_or_else(|| corrupt("dedup entry"))?
        .to_owned();
    Ok(FirstClick {
        click_id,
        clicked_at: from_millis(clickedms_floor_secs(clicked_ms))
            .ok_or_else(|| corrupt("dedup entry"))?,
        expires_at: DateTime::from_timestamp(expires_s, 0).ok_or_else(|| corrupt("dedup entry"))?,
        kid,
    })
}

/// The token's issue time is the tap time in whole seconds.
fn clickedms_floor_secs(ms: i64) -> i64 {
    ms.div_euclid(1000) * 1000
}

/// A click value: attribution id, viewer hash (zeros once erased), tap time ms, expiry s.
fn click_value(attribution_id: &[u8; ATTRIBUTION_ID_LEN], record: &ClickRecord) -> Vec<u8> {
    let mut value = Vec::with_capacity(56);
    value.extend_from_slice(attribution_id);
    match &record.viewer_hash {
        Some(hash) => value.extend_from_slice(hash),
        None => value.extend_from_slice(&[0u8; 16]),
    }
    value.extend_from_slice(Digits::new().format(millis(record.clicked_at)).as_bytes());
    value.push(b' ');
    value.extend_from_slice(
        Digits::new()
            .format(record.expires_at.timestamp())
            .as_bytes(),
    );
    value
}

/// Parses a stored order into the sale it records.
fn parse_order(merchant_id: &str, order: &[u8]) -> Result<SaleRecord> {
    let text = std::str::from_utf8(order).map_err(|_| corrupt("order"))?;
    let parts: Vec<&str> = text.split(' ').collect();
    let [
        click,
        amount,
        currency,
        confirmed,
        clicked,
        campaign,
        creator,
        video,
        product,
    ] = parts.as_slice()
    else {
        return Err(corrupt("order"));
    };
    let ms = |s: &str| s.parse::<i64>().ok().and_then(from_millis);
    Ok(SaleRecord {
        click_id: ClickId::from_hex(click).ok_or_else(|| corrupt("order"))?,
        attribution: Attribution {
            merchant_id: merchant_id.to_owned(),
            campaign_id: (*campaign).to_owned(),
            creator_id: (*creator).to_owned(),
            video_id: (*video).to_owned(),
            product_id: (*product).to_owned(),
        },
        amount: Money {
            currency: (*currency).to_owned(),
            amount_minor: amount.parse().map_err(|_| corrupt("order"))?,
        },
        clicked_at: ms(clicked).ok_or_else(|| corrupt("order"))?,
        confirmed_at: ms(confirmed).ok_or_else(|| corrupt("order"))?,
    })
}

/// A stream entry as an Event.
fn parse_event(
    merchant_id: &str,
    id: String,
    mut fields: HashMap<String, String>,
) -> Result<Event> {
    let mut take = |name: &str| fields.remove(name).unwrap_or_default();
    let kind = EventKind::from_code(&take("k")).ok_or_else(|| corrupt("event"))?;
    let at = take("at")
        .parse()
        .ok()
        .and_then(from_millis)
        .ok_or_else(|| corrupt("event"))?;
    let click_id = ClickId::from_hex(&take("cl")).ok_or_else(|| corrupt("event"))?;
    let attribution = take("a");
    let ids: Vec<&str> = attribution.split(' ').collect();
    let [campaign, creator, video, product] = ids.as_slice() else {
        return Err(corrupt("event"));
    };
    let amount = match take("am") {
        am if am.is_empty() => None,
        am => Some(Money {
            amount_minor: am.parse().map_err(|_| corrupt("event"))?,
            currency: take("cu"),
        }),
    };
    Ok(Event {
        id,
        kind,
        at,
        attribution: Attribution {
            merchant_id: merchant_id.to_owned(),
            campaign_id: (*campaign).to_owned(),
            creator_id: (*creator).to_owned(),
            video_id: (*video).to_owned(),
            product_id: (*product).to_owned(),
        },
        click_id,
        order_id: take("o"),
        reversal_id: take("rv"),
        amount,
    })
}

/// A counter hash as Counts.
fn parse_counts(fields: HashMap<String, i64>) -> Counts {
    let mut counts = Counts::default();
    for (field, value) in fields {
        match field.as_str() {
            "c" => {
                counts.clicks = value;
                counts.taps += value;
            }
            "d" => counts.taps += value,
            "v" => counts.conversions = value,
            _ => {
                if let Some(currency) = field.strip_prefix("r:") {
                    counts.revenue.insert(currency.to_owned(), value);
                } else if let Some(currency) = field.strip_prefix("f:") {
                    counts.refunded.insert(currency.to_owned(), value);
                }
            }
        }
    }
    counts
}

fn status_code(status: CampaignStatus) -> &'static str {
    match status {
        CampaignStatus::Pending => "pending",
        CampaignStatus::Approved => "approved",
        CampaignStatus::Rejected => "rejected",
        CampaignStatus::Paused => "paused",
    }
}

fn parse_campaign(campaign_id: &str, mut fields: HashMap<String, String>) -> Result<Campaign> {
    let mut take = |name: &str| fields.remove(name).ok_or_else(|| corrupt("campaign"));
    let status = match take("s")?.as_str() {
        "pending" => CampaignStatus::Pending,
        "approved" => CampaignStatus::Approved,
        "rejected" => CampaignStatus::Rejected,
        "paused" => CampaignStatus::Paused,
        _ => return Err(corrupt("campaign")),
    };
    let products = take("p")?;
    Ok(Campaign {
        campaign_id: campaign_id.to_owned(),
        merchant_id: take("m")?,
        category: take("cat")?,
        attribution_window: Duration::from_secs(
            take("w")?.parse().map_err(|_| corrupt("campaign"))?,
        ),
        product_ids: products
            .split(' ')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect(),
        status,
        review_reason: take("rr")?,
        revision: take("rev")?.parse().map_err(|_| corrupt("campaign"))?,
    })
}

#[async_trait]
impl Store for RedisStore {
    fn place_click(
        &self,
        merchant_id: &str,
        viewer: Option<&ViewerHash>,
        click_id: ClickId,
    ) -> ClickId {
        let shards = self.shards(merchant_id);
        // The viewer picks the shard (so a viewer's dedup entries and rate
        // counter stay together). The click id's last byte, the shard byte
        // (0 in a fresh id), records it whatever the merchant's shard count
        // (0 when unsharded): so a sale finds its click after the count has
        // changed. The first two bytes, which pick the click's bucket, stay
        // random.
        let shard = viewer.map_or(0, |v| u16::from(v[0]) % shards);
        let mut bytes = *click_id.as_bytes();
        bytes[15] = shard as u8;
        ClickId::from_bytes(bytes)
    }

    async fn check_connectivity(&self) -> Result<()> {
        let _: String = self
            .run(redis::cmd("PING").query_async(&mut self.conn.clone()))
            .await?;
        // Answering is not enough: a store that refuses writes (a node
        // would evict) is not ready either.
        self.writable()
    }

    async fn put_merchant(&self, merchant: &Merchant) -> Result<()> {
        self.writable()?;
        let key = merchant_key(&merchant.merchant_id);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .del(&key)
            .hset_multiple(
                &key,
                &[
                    ("n", merchant.display_name.as_str()),
                    ("d", &merchant.allowed_domains.join(" ")),
                    ("p", merchant.token_param.as_str()),
                ],
            )
            .ignore();
        self.run(pipe.query_async::<()>(&mut self.conn.clone()))
            .await
    }

    async fn get_merchant(&self, merchant_id: &str) -> Result<Option<Merchant>> {
        let mut fields: HashMap<String, String> = self
            .run(self.conn.clone().hgetall(merchant_key(merchant_id)))
            .await?;
        if fields.is_empty() {
            return Ok(None);
        }
        let mut take = |name: &str| fields.remove(name).ok_or_else(|| corrupt("merchant"));
        Ok(Some(Merchant {
            merchant_id: merchant_id.to_owned(),
            display_name: take("n")?,
            allowed_domains: take("d")?
                .split(' ')
                .filter(|d| !d.is_empty())
                .map(str::to_owned)
                .collect(),
            token_param: take("p")?,
        }))
    }

    async fn get_campaign(&self, campaign_id: &str) -> Result<Option<Campaign>> {
        let fields: HashMap<String, String> = self
            .run(self.conn.clone().hgetall(campaign_key(campaign_id)))
            .await?;
        if fields.is_empty() {
            return Ok(None);
        }
        parse_campaign(campaign_id, fields).map(Some)
    }

    async fn put_campaign(
        &self,
        campaign: &Campaign,
        expected_revision: Option<u64>,
    ) -> Result<bool> {
        self.writable()?;
        let mut invocation = self
            .scripts
            .put_campaign
            .key(campaign_key(&campaign.campaign_id));
        invocation.arg(expected_revision.map(|r| r.to_string()).unwrap_or_default());
        for (field, value) in [
            ("m", campaign.merchant_id.clone()),
            ("cat", campaign.category.clone()),
            ("w", campaign.attribution_window.as_secs().to_string()),
            ("p", campaign.product_ids.join(" ")),
            ("s", status_code(campaign.status).to_owned()),
            ("rr", campaign.review_reason.clone()),
            ("rev", campaign.revision.to_string()),
        ] {
            invocation.arg(field).arg(value);
        }
        let written: i64 = self
            .run(invocation.invoke_async(&mut self.conn.clone()))
            .await?;
        Ok(written == 1)
    }

    async fn record_click(&self, click: &NewClick) -> Result<ClickOutcome> {
        self.writable()?;
        let record = &click.record;
        // Every key of the tap carries the tag of the click's shard (shard 0,
        // the merchant's own tag, unless the merchant is sharded); the index
        // sets name that tag, so reads find it.
        let merchant_id = record.attribution.merchant_id.as_str();
        let tag = shard_tag(merchant_id, click_shard(&record.click_id));
        let merchant = tag.as_str();
        let now = record.clicked_at;
        let window_ms = click.dedup_window.as_millis().max(1) as i64;
        let window = millis(now).div_euclid(window_ms);
        let field = &click.dedup_key[..16];
        let (attribution, attribution_id) = attribution_text(&record.attribution);

        let mut invocation = self.scripts.record_click.prepare_invoke();
        invocation
            .key(dedup_bucket_key(merchant, window, field))
            .key(dedup_bucket_key(merchant, window - 1, field))
            .key(click_bucket_key(
                merchant,
                record.expires_at,
                &record.click_id,
            ))
            .key(joined(&[
                &attribution_prefix(merchant),
                &hex::encode(attribution_id),
            ]));
        for granularity in Granularity::ALL {
            let start = granularity.bucket_start(now);
            for dimension in Dimension::ALL {
                invocation.key(counter_key(
                    merchant,
                    granularity,
                    start,
                    dimension,
                    record.attribution.id(dimension),
                ));
            }
        }
        let viewer = record.viewer_hash.unwrap_or_default();
        invocation.key(rate_key(merchant, &viewer, now.timestamp().div_euclid(60)));
        invocation.key(events_key(merchant));
        let day = Granularity::Day.bucket_start(now);
        let top = top_prefix(merchant, day);
        for dimension in INDEXED {
            invocation.key(joined(&[&top, dimension_code(dimension), ":c"]));
        }
        let mut first = record.click_id.as_bytes().to_vec();
        first.extend_from_slice(
            joined(&[
                Digits::new().format(millis(now)),
                " ",
                Digits::new().format(record.expires_at.timestamp()),
                " ",
                &click.kid,
            ])
            .as_bytes(),
        );
        let dedup_ttl = 2 * window_ms;
        let click_until = self.retention.click_until(record);
        let record_ttl = ttl_ms(now, click_until);
        let bucket_ttl = ttl_ms(now, click_bucket_until(click_until));
        let hour_ttl = ttl_ms(
            now,
            self.retention
                .bucket_until(Granularity::Hour, Granularity::Hour.bucket_start(now)),
        );
        let day_ttl = ttl_ms(
            now,
            self.retention
                .bucket_until(Granularity::Day, Granularity::Day.bucket_start(now)),
        );
        invocation
            .arg(field)
            .arg(record.click_id.as_bytes().as_slice())
            .arg(first)
            .arg(click_value(&attribution_id, record))
            .arg(millis(now))
            .arg(window_ms)
            .arg(dedup_ttl)
            .arg(record_ttl)
            .arg(attribution)
            .arg(hour_ttl)
            .arg(day_ttl)
            .arg(click.taps_per_minute)
            .arg(viewer.as_slice());
        let (events_max_len, events_min_id, events_ttl) = self.event_trim(now);
        invocation
            .arg(events_max_len)
            .arg(events_min_id)
            .arg(events_ttl);
        for dimension in INDEXED {
            invocation.arg(record.attribution.id(dimension));
        }
        invocation.arg(record.click_id.to_hex()).arg(bucket_ttl);

        let mut index_keys: Vec<String> = INDEXED
            .iter()
            .map(|d| index_key(*d, record.attribution.id(*d)))
            .collect();
        index_keys.push(day_index_key(day));
        index_keys.push(index_key(Dimension::Merchant, merchant_id));
        self.index(merchant, index_keys).await?;
        let value: Value = self
            .run(invocation.invoke_async(&mut self.conn.clone()))
            .await?;
        match reply(value)? {
            (tag, None) if tag == "new" || tag == "retry" => Ok(ClickOutcome::Recorded),
            (tag, None) if tag == "limited" => Err(Error::RateLimited),
            (tag, Some(first)) if tag == "dup" => {
                Ok(ClickOutcome::Duplicate(parse_first_click(&first)?))
            }
            _ => Err(corrupt("record_click reply")),
        }
    }

    async fn confirm_sale(&self, sale: &NewSale) -> Result<SaleOutcome> {
        self.writable()?;
        let merchant = sale.merchant_id.as_str();
        let expires_at = sale.click_expires_at;
        let hour = Granularity::Hour.bucket_start(sale.now);
        let day = Granularity::Day.bucket_start(sale.now);
        let mut invocation = self.scripts.confirm_sale.prepare_invoke();
        invocation
            .key(order_key(merchant, &sale.order_id))
            .key(click_bucket_key(merchant, expires_at, &sale.click_id))
            .key(events_key(merchant))
            .arg(sale.click_id.as_bytes().as_slice())
            .arg(sale.amount.amount_minor)
            .arg(&sale.amount.currency)
            .arg(millis(sale.now))
            .arg(if sale.token_expired { "1" } else { "0" })
            .arg(counter_prefix(merchant))
            .arg(hour)
            .arg(day)
            .arg(ttl_ms(
                sale.now,
                self.retention.bucket_until(Granularity::Hour, hour),
            ))
            .arg(ttl_ms(
                sale.now,
                self.retention.bucket_until(Granularity::Day, day),
            ))
            .arg(ttl_ms(
                sale.now,
                expires_at.max(sale.now) + self.retention.orders,
            ))
            .arg(attribution_prefix(merchant))
            .arg(merchant)
            .arg(sale.click_id.to_hex())
            .arg(&sale.order_id)
            .arg(top_prefix(merchant, day));
        let (events_max_len, events_min_id, events_ttl) = self.event_trim(sale.now);
        invocation
            .arg(events_max_len)
            .arg(events_min_id)
            .arg(events_ttl);
        // A sharded merchant's click lives in its own shard, its sales on
        // shard 0: read the click there first (a second round trip, for
        // sharded merchants only), and hand its attribution to the script.
        let shard = click_shard(&sale.click_id);
        if shard != 0 {
            let tag = shard_tag(merchant, shard);
            let found: Vec<Vec<u8>> = self
                .run(
                    self.scripts
                        .read_click
                        .key(click_bucket_key(&tag, expires_at, &sale.click_id))
                        .arg(sale.click_id.as_bytes().as_slice())
                        .arg(attribution_prefix(&tag))
                        .invoke_async(&mut self.conn.clone()),
                )
                .await?;
            if let [click, attribution] = found.as_slice() {
                let clicked_ms = click.get(28..).and_then(|rest| {
                    std::str::from_utf8(rest)
                        .ok()?
                        .split(' ')
                        .next()
                        .map(str::to_owned)
                });
                invocation
                    .arg(attribution.as_slice())
                    .arg(clicked_ms.unwrap_or_default());
            }
        }
        self.index(merchant, vec![day_index_key(day)]).await?;
        let value: Value = self
            .run(invocation.invoke_async(&mut self.conn.clone()))
            .await?;
        match reply(value)? {
            (tag, Some(order)) if tag == "new" => Ok(SaleOutcome {
                sale: parse_order(merchant, &order)?,
                replayed: false,
            }),
            (tag, Some(order)) if tag == "replay" => {
                let first = parse_order(merchant, &order)?;
                if first.click_id != sale.click_id || first.amount != sale.amount {
                    return Err(Error::OrderConflict("order_id"));
                }
                Ok(SaleOutcome {
                    sale: first,
                    replayed: true,
                })
            }
            (tag, None) if tag == "expired" => Err(Error::TokenExpired),
            (tag, None) if tag == "no_click" => Err(Error::ClickNotFound),
            _ => Err(corrupt("confirm_sale reply")),
        }
    }

    async fn read_counters(
        &self,
        dimension: Dimension,
        id: &str,
        range: BucketRange,
        merchant: Option<&str>,
    ) -> Result<Vec<Counts>> {
        // The shard tags that counted for the id: index members are tags.
        let tags: Vec<String> = match (dimension, merchant) {
            (_, Some(only)) => self.tags(only).await?,
            (Dimension::Merchant, None) => self.tags(id).await?,
            (_, None) => {
                self.run(self.conn.clone().smembers(index_key(dimension, id)))
                    .await?
            }
        };
        let starts: Vec<i64> = range.starts().collect();
        let mut buckets = vec![Counts::default(); starts.len()];
        // One pipeline per tag: a tag's keys share a slot on a cluster.
        for tag in &tags {
            let mut pipe = redis::pipe();
            for start in &starts {
                pipe.hgetall(counter_key(tag, range.granularity, *start, dimension, id));
            }
            let cells: Vec<HashMap<String, i64>> =
                self.run(pipe.query_async(&mut self.conn.clone())).await?;
            for (bucket, cell) in buckets.iter_mut().zip(cells) {
                bucket.add(&parse_counts(cell));
            }
        }
        Ok(buckets)
    }

    async fn reverse_sale(&self, reversal: &NewReversal) -> Result<ReversalOutcome> {
        self.writable()?;
        let merchant = reversal.merchant_id.as_str();
        let now = reversal.now;
        let hour = Granularity::Hour.bucket_start(now);
        let day = Granularity::Day.bucket_start(now);
        let order = order_key(merchant, &reversal.order_id);
        let mut invocation = self.scripts.reverse_sale.prepare_invoke();
        invocation
            .key(format!("v:{{{merchant}}}:{}", reversal.reversal_id))
            .key(&order)
            .key(format!("f:{{{merchant}}}:{}", reversal.order_id))
            .key(events_key(merchant))
            .arg(&reversal.order_id)
            .arg(reversal.amount.amount_minor)
            .arg(&reversal.amount.currency)
            .arg(millis(now))
            .arg(counter_prefix(merchant))
            .arg(hour)
            .arg(day)
            .arg(ttl_ms(
                now,
                self.retention.bucket_until(Granularity::Hour, hour),
            ))
            .arg(ttl_ms(
                now,
                self.retention.bucket_until(Granularity::Day, day),
            ))
            .arg(merchant)
            .arg(&reversal.reversal_id);
        let (events_max_len, events_min_id, events_ttl) = self.event_trim(now);
        invocation
            .arg(events_max_len)
            .arg(events_min_id)
            .arg(events_ttl);
        let value: Value = self
            .run(invocation.invoke_async(&mut self.conn.clone()))
            .await?;
        let money = |amount: &str| -> Result<Money> {
            Ok(Money {
                currency: reversal.amount.currency.clone(),
                amount_minor: amount.parse().map_err(|_| corrupt("reversal"))?,
            })
        };
        match reply(value)? {
            (tag, Some(remaining)) if tag == "new" => Ok(ReversalOutcome {
                remaining: money(
                    std::str::from_utf8(&remaining).map_err(|_| corrupt("reversal"))?,
                )?,
                replayed: false,
            }),
            (tag, Some(first)) if tag == "replay" => {
                let text = String::from_utf8(first).map_err(|_| corrupt("reversal"))?;
                let parts: Vec<&str> = text.split(' ').collect();
                let [order_id, amount, currency, remaining] = parts.as_slice() else {
                    return Err(corrupt("reversal"));
                };
                let same = *order_id == reversal.order_id
                    && *currency == reversal.amount.currency
                    && amount.parse::<i64>().ok() == Some(reversal.amount.amount_minor);
                if !same {
                    return Err(Error::OrderConflict("reversal_id"));
                }
                Ok(ReversalOutcome {
                    remaining: money(remaining)?,
                    replayed: true,
                })
            }
            (tag, None) if tag == "no_order" => Err(Error::OrderNotFound),
            (tag, Some(currency)) if tag == "currency" => Err(Error::ReversalExceedsSale(format!(
                "the sale is in {}",
                String::from_utf8_lossy(&currency)
            ))),
            (tag, Some(left)) if tag == "exceeds" => Err(Error::ReversalExceedsSale(format!(
                "{} {} is left of the sale",
                String::from_utf8_lossy(&left),
                reversal.amount.currency
            ))),
            _ => Err(corrupt("reverse_sale reply")),
        }
    }

    async fn list_top(
        &self,
        dimension: Dimension,
        day_start: i64,
        metric: &TopMetric,
        limit: usize,
        merchant: Option<&str>,
    ) -> Result<Vec<TopEntry>> {
        // The shard tags that counted that day (members of the day index).
        let tags: Vec<String> = match merchant {
            Some(only) => self.tags(only).await?,
            None => {
                self.run(self.conn.clone().smembers(day_index_key(day_start)))
                    .await?
            }
        };
        // Whole lists, summed: an id's rank is over all merchants and shards
        // together. One read per tag: each is its own slot on a cluster.
        let mut by_id: HashMap<String, i64> = HashMap::new();
        for tag in &tags {
            let key = format!(
                "{}{}:{}",
                top_prefix(tag, day_start),
                dimension_code(dimension),
                top_metric_code(metric)
            );
            let list: Vec<(String, i64)> = self
                .run(self.conn.clone().zrange_withscores(key, 0, -1))
                .await?;
            for (id, value) in list {
                *by_id.entry(id).or_default() += value;
            }
        }
        Ok(rank(by_id, limit))
    }

    async fn read_events(
        &self,
        merchant_id: &str,
        after: Option<&str>,
        count: usize,
    ) -> Result<Vec<Event>> {
        // A sharded merchant has a stream per shard: read each after the
        // cursor and merge by id (ids are Redis milliseconds and a sequence).
        let start = after.map_or_else(|| "-".to_owned(), |id| format!("({id}"));
        let mut events = Vec::new();
        for tag in self.tags(merchant_id).await? {
            let entries: Vec<(String, HashMap<String, String>)> = self
                .run(
                    redis::cmd("XRANGE")
                        .arg(events_key(&tag))
                        .arg(&start)
                        .arg("+")
                        .arg("COUNT")
                        .arg(count)
                        .query_async(&mut self.conn.clone()),
                )
                .await?;
            for (id, fields) in entries {
                events.push(parse_event(merchant_id, id, fields)?);
            }
        }
        let order = |id: &str| -> (u64, u64) {
            let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
            (ms.parse().unwrap_or(0), seq.parse().unwrap_or(0))
        };
        events.sort_by_key(|e| order(&e.id));
        events.truncate(count);
        Ok(events)
    }

    async fn put_api_key(&self, key: &ApiKey, label: &str) -> Result<()> {
        self.writable()?;
        let hash_key = api_key_key(&key.sha256);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .hset_multiple(
                &hash_key,
                &[
                    ("id", key.id.as_str()),
                    ("role", key.role.as_str()),
                    ("merchant", key.merchant_id.as_deref().unwrap_or("")),
                    ("label", label),
                    ("revoked", "0"),
                ],
            )
            .ignore()
            .set(api_key_id_key(&key.id), hex::encode(key.sha256))
            .ignore();
        self.run(pipe.query_async::<()>(&mut self.conn.clone()))
            .await
    }

    async fn find_api_key(&self, sha256: &[u8; 32]) -> Result<Option<ApiKey>> {
        let mut fields: HashMap<String, String> = self
            .run(self.conn.clone().hgetall(api_key_key(sha256)))
            .await?;
        if fields.is_empty() || fields.get("revoked").map(String::as_str) != Some("0") {
            return Ok(None);
        }
        let mut take = |name: &str| fields.remove(name).ok_or_else(|| corrupt("api key"));
        let role: Role = take("role")?.parse().map_err(|_| corrupt("api key"))?;
        let merchant = take("merchant")?;
        Ok(Some(ApiKey {
            id: take("id")?,
            role,
            merchant_id: (!merchant.is_empty()).then_some(merchant),
            sha256: *sha256,
        }))
    }

    async fn revoke_api_key(&self, key_id: &str) -> Result<bool> {
        self.writable()?;
        let mut conn = self.conn.clone();
        let hash: Option<String> = self.run(conn.get(api_key_id_key(key_id))).await?;
        let Some(hash) = hash else {
            return Ok(false);
        };
        let _: () = self
            .run(conn.hset(format!("r:{{{REGISTRY_TAG}}}:k:{hash}"), "revoked", "1"))
            .await?;
        Ok(true)
    }

    async fn erase_viewer(&self, viewer: &ViewerHash) -> Result<u64> {
        self.writable()?;
        // Erasure is rare and offline-ish: it walks every click and dedup
        // bucket rather than keeping a per-viewer index on the hot path.
        // Each step is idempotent, so a failed erasure is simply run again.
        let mut conn = self.conn.clone();
        let mut erased: std::collections::HashSet<Vec<u8>> = std::collections::HashSet::new();
        let registry = format!("r:{{{REGISTRY_TAG}}}:m:");
        let merchants: Vec<String> = self
            .scan(REGISTRY_TAG, &format!("{registry}*"))
            .await?
            .into_iter()
            .filter_map(|key| key.strip_prefix(&registry).map(str::to_owned))
            .collect();
        let mut tags = Vec::new();
        for merchant in &merchants {
            tags.extend(self.tags(merchant).await?);
        }
        for tag in tags {
            let glob = glob_escape(&tag);
            for key in self.scan(&tag, &format!("k:{{{glob}}}:*")).await? {
                let entries: Vec<(Vec<u8>, Vec<u8>)> = self.run(conn.hgetall(&key)).await?;
                for (field, mut value) in entries {
                    if value.len() >= 28 && value[ATTRIBUTION_ID_LEN..28] == viewer[..] {
                        value[ATTRIBUTION_ID_LEN..28].fill(0);
                        let _: i64 = self
                            .run(
                                self.scripts
                                    .unlink_viewer
                                    .key(&key)
                                    .arg(field.as_slice())
                                    .arg(value)
                                    .invoke_async(&mut conn),
                            )
                            .await?;
                        erased.insert(field);
                    }
                }
            }
            for key in self.scan(&tag, &format!("d:{{{glob}}}:*")).await? {
                let entries: Vec<(Vec<u8>, Vec<u8>)> = self.run(conn.hgetall(&key)).await?;
                for (field, value) in entries {
                    if value.len() >= 16 && erased.contains(&value[..16]) {
                        let _: i64 = self.run(conn.hdel(&key, field)).await?;
                    }
                }
            }
            for key in self.scan(&tag, &format!("q:{{{glob}}}:*")).await? {
                let _: i64 = self.run(conn.hdel(&key, viewer.as_slice())).await?;
            }
        }
        Ok(erased.len() as u64)
    }

    async fn merchant_counters(
        &self,
        merchant_id: &str,
        range: BucketRange,
    ) -> Result<Vec<CounterCell>> {
        let mut cells = Vec::new();
        for tag in self.tags(merchant_id).await? {
            cells.extend(self.counter_cells(&tag, range).await?);
        }
        Ok(cells)
    }

    async fn merchant_records(
        &self,
        merchant_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<MerchantRecords> {
        let mut conn = self.conn.clone();
        let mut records = MerchantRecords::default();
        // Attributions are interned per shard: keyed by (tag, attribution id).
        let mut attributions: BTreeMap<(String, String), Option<String>> = BTreeMap::new();
        let mut raw_clicks = Vec::new();
        for tag in self.tags(merchant_id).await? {
            let pattern = format!("k:{{{}}}:*", glob_escape(&tag));
            for key in self.scan(&tag, &pattern).await? {
                let entries: Vec<(Vec<u8>, Vec<u8>)> = self.run(conn.hgetall(&key)).await?;
                for (field, value) in entries {
                    if field.len() != 16 || value.len() < 30 {
                        return Err(corrupt("click record"));
                    }
                    let attribution = (tag.clone(), hex::encode(&value[..ATTRIBUTION_ID_LEN]));
                    attributions.entry(attribution.clone()).or_default();
                    raw_clicks.push((field, value, attribution));
                }
            }
        }
        for ((tag, attribution_id), text) in attributions.iter_mut() {
            *text = self
                .run(conn.get(format!("{}{attribution_id}", attribution_prefix(tag))))
                .await?;
        }
        for (field, value, attribution_id) in raw_clicks {
            let rest = std::str::from_utf8(&value[28..]).map_err(|_| corrupt("click record"))?;
            let (clicked, expires) = rest
                .split_once(' ')
                .ok_or_else(|| corrupt("click record"))?;
            let clicked_at = clicked
                .parse()
                .ok()
                .and_then(from_millis)
                .ok_or_else(|| corrupt("click record"))?;
            if !(from..to).contains(&clicked_at) {
                continue;
            }
            let Some(Some(text)) = attributions.get(&attribution_id) else {
                continue;
            };
            let ids: Vec<&str> = text.split(' ').collect();
            let [campaign, creator, video, product] = ids.as_slice() else {
                return Err(corrupt("attribution"));
            };
            let viewer: [u8; 16] = value[ATTRIBUTION_ID_LEN..28]
                .try_into()
                .map_err(|_| corrupt("click record"))?;
            records.clicks.push(ClickRecord {
                click_id: ClickId::from_bytes(
                    field
                        .as_slice()
                        .try_into()
                        .map_err(|_| corrupt("click record"))?,
                ),
                attribution: Attribution {
                    merchant_id: merchant_id.to_owned(),
                    campaign_id: (*campaign).to_owned(),
                    creator_id: (*creator).to_owned(),
                    video_id: (*video).to_owned(),
                    product_id: (*product).to_owned(),
                },
                viewer_hash: (viewer != [0u8; 16]).then_some(viewer),
                clicked_at,
                expires_at: expires
                    .parse()
                    .ok()
                    .and_then(|s| DateTime::from_timestamp(s, 0))
                    .ok_or_else(|| corrupt("click record"))?,
            });
        }
        let orders = format!("o:{{{}}}:*", glob_escape(merchant_id));
        for key in self.scan(merchant_id, &orders).await? {
            let order: Option<Vec<u8>> = self.run(conn.get(&key)).await?;
            if let Some(order) = order {
                let sale = parse_order(merchant_id, &order)?;
                if (from..to).contains(&sale.confirmed_at) {
                    records.sales.push(sale);
                }
            }
        }
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_click_bucket_expires_on_the_hour_after_its_latest_click() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();

        assert_eq!(
            click_bucket_until(at("2026-11-23T10:00:00.001Z")),
            at("2026-11-23T11:00:00Z")
        );
        assert_eq!(
            click_bucket_until(at("2026-11-23T10:59:59.999Z")),
            at("2026-11-23T11:00:00Z")
        );
        assert_eq!(
            click_bucket_until(at("2026-11-23T10:00:00Z")),
            at("2026-11-23T10:00:00Z")
        );
    }

    #[test]
    fn taps_are_clicks_plus_repeat_taps() {
        let fields = HashMap::from([
            ("c".to_owned(), 3),
            ("d".to_owned(), 2),
            ("v".to_owned(), 1),
            ("r:DKK".to_owned(), 12_500),
            ("f:DKK".to_owned(), 2_500),
        ]);

        let counts = parse_counts(fields);

        assert_eq!((counts.taps, counts.clicks, counts.conversions), (5, 3, 1));
        assert_eq!(counts.revenue, [("DKK".to_owned(), 12_500)].into());
        assert_eq!(counts.refunded, [("DKK".to_owned(), 2_500)].into());
    }
}
