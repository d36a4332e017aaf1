//! The eviction guard: writes only while no Redis node would evict.
//!
//! Exactly-once rests on Redis never evicting a key: an evicted order key
//! lets a retried sale count twice. The store refuses to open on a node
//! whose `maxmemory-policy` is not `noeviction`, and this guard keeps
//! checking while it runs, because the policy can change under it:
//! `CONFIG SET`, a restart, or a failover onto a node configured otherwise.
//!
//! Writes are allowed while the last check found `noeviction` on every node
//! and no connection error came after it. A write reads one atomic; the
//! checking is a background task's, started with the store and stopped when
//! it is dropped: every [`POLICY_CHECK_EVERY`] (or the store's own period),
//! at once after a connection error (a reconnect may reach a restarted
//! node), and every [`RECHECK_EVERY`] while writes are refused, so they
//! resume by themselves. Each change is one log line, never one per call.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::connect::{Conn, redacted};

/// How often every node's policy is checked while writes are allowed.
pub(crate) const POLICY_CHECK_EVERY: Duration = Duration::from_secs(5);
/// How often it is checked while writes are refused (at the longest).
const RECHECK_EVERY: Duration = Duration::from_secs(1);
/// The least time between two checks, however many connection errors
/// ask for one (a Redis outage fails every call).
const CHECK_GAP: Duration = Duration::from_millis(50);

/// What one check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Finding {
    /// Every node runs `noeviction`.
    NoEviction,
    /// A node runs another policy (the first found).
    Evicts {
        /// The node's URL, password redacted.
        node: String,
        /// Its `maxmemory_policy`.
        policy: String,
    },
    /// The check could not finish, and why: a node that did not answer.
    NoAnswer(String),
}

/// Reads every node's `maxmemory_policy` (from INFO, which managed Redis
/// services allow where CONFIG GET is disabled).
pub(super) struct Checker {
    /// The store's connection: INFO goes over it on a single server, and
    /// CLUSTER NODES on a cluster.
    conn: Conn,
    /// The single server's URL, password redacted, for messages.
    server: String,
    /// A cluster's seed nodes: node URLs take the first one's scheme and
    /// credentials. Empty for a single server.
    seeds: Vec<String>,
    /// Longest one node may take to answer.
    timeout: Duration,
    /// Connections to cluster nodes, kept from one check to the next (the
    /// cluster client talks to primaries only, and only about keys).
    nodes: HashMap<String, MultiplexedConnection>,
}

impl Checker {
    /// A checker over the store's connection: `server` names a single
    /// server, `seeds` a cluster's seed nodes.
    pub(super) fn new(conn: Conn, server: &str, seeds: &[String], timeout: Duration) -> Checker {
        Checker {
            conn,
            server: redacted(server),
            seeds: seeds.to_vec(),
            timeout,
            nodes: HashMap::new(),
        }
    }

    /// Every node's policy: on a cluster every node CLUSTER NODES lists,
    /// primaries and replicas (a replica is a primary after a failover).
    /// A node that would evict wins over one that did not answer.
    pub(super) async fn check(&mut self) -> Finding {
        let mut cluster = match &self.conn {
            Conn::Single(conn) => {
                let mut conn = conn.clone();
                return match bounded(self.timeout, info_memory(&mut conn)).await {
                    Some(info) => finding(&self.server, &info),
                    None => Finding::NoAnswer(format!(
                        "redis at {} did not answer INFO memory",
                        self.server
                    )),
                };
            }
            Conn::Cluster(conn) => conn.clone(),
        };
        let listing: Option<String> = bounded(
            self.timeout,
            redis::cmd("CLUSTER").arg("NODES").query_async(&mut cluster),
        )
        .await;
        let Some(listing) = listing else {
            return Finding::NoAnswer("the cluster did not answer CLUSTER NODES".into());
        };
        let urls = match node_urls(&listing, &self.seeds) {
            Ok(urls) => urls,
            Err(why) => return Finding::NoAnswer(why),
        };
        self.nodes.retain(|url, _| urls.contains(url));
        let mut silent = None;
        for url in &urls {
            match self.node_info(url).await {
                Ok(info) => {
                    let found = finding(&redacted(url), &info);
                    if found != Finding::NoEviction {
                        return found;
                    }
                }
                Err(why) => {
                    silent.get_or_insert(why);
                }
            }
        }
        silent.map_or(Finding::NoEviction, Finding::NoAnswer)
    }

    /// INFO memory of one cluster node, over its kept connection or, when
    /// that fails (the node restarted), a new one.
    async fn node_info(&mut self, url: &str) -> Result<String, String> {
        if let Some(conn) = self.nodes.get(url) {
            let mut conn = conn.clone();
            if let Some(info) = bounded(self.timeout, info_memory(&mut conn)).await {
                return Ok(info);
            }
            self.nodes.remove(url);
        }
        let silent = || format!("cluster node {} did not answer", redacted(url));
        let client =
            redis::Client::open(url).map_err(|e| format!("cluster node {}: {e}", redacted(url)))?;
        let mut conn = bounded(self.timeout, client.get_multiplexed_async_connection())
            .await
            .ok_or_else(silent)?;
        let info = bounded(self.timeout, info_memory(&mut conn))
            .await
            .ok_or_else(silent)?;
        self.nodes.insert(url.to_owned(), conn);
        Ok(info)
    }
}

/// `INFO memory` on one connection.
async fn info_memory<C: redis::aio::ConnectionLike>(conn: &mut C) -> redis::RedisResult<String> {
    redis::cmd("INFO").arg("memory").query_async(conn).await
}

/// The answer of `call` within `timeout`, or `None`.
async fn bounded<T>(
    timeout: Duration,
    call: impl Future<Output = redis::RedisResult<T>>,
) -> Option<T> {
    tokio::time::timeout(timeout, call).await.ok()?.ok()
}

/// What one node's INFO memory says.
fn finding(node: &str, info: &str) -> Finding {
    let policy = info
        .lines()
        .find_map(|line| line.strip_prefix("maxmemory_policy:"))
        .map(str::trim)
        .unwrap_or("unknown");
    if policy == "noeviction" {
        Finding::NoEviction
    } else {
        Finding::Evicts {
            node: node.to_owned(),
            policy: policy.to_owned(),
        }
    }
}

/// The URLs of every live node in a CLUSTER NODES listing, with the scheme
/// and credentials of the first seed.
fn node_urls(listing: &str, seeds: &[String]) -> Result<Vec<String>, String> {
    let template = seeds
        .first()
        .and_then(|seed| url::Url::parse(seed).ok())
        .ok_or("no cluster seed node")?;
    let mut urls = Vec::new();
    for line in listing.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(address), Some(flags)) = (fields.get(1), fields.get(2)) else {
            continue;
        };
        if flags.contains("fail") || flags.contains("noaddr") || flags.contains("handshake") {
            continue;
        }
        // ip:port@cport[,hostname]
        let host_port = address.split('@').next().unwrap_or_default();
        let Some((host, port)) = host_port.rsplit_once(':') else {
            continue;
        };
        let mut url = template.clone();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if url.set_host(Some(host)).is_err() {
            continue;
        }
        let _ = url.set_port(port.parse().ok());
        urls.push(url.to_string());
    }
    if urls.is_empty() {
        return Err("CLUSTER NODES listed no nodes".into());
    }
    Ok(urls)
}

/// Whether writes may go on, as far as the store knows.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Policy {
    /// The last check found `noeviction` everywhere, and no connection
    /// error came since.
    Verified,
    /// Not known: a connection error came since the last check, or a node
    /// did not answer one.
    Unverified,
    /// A node would evict.
    Evicts { node: String, policy: String },
}

/// The policy as the checks found it, and the epoch of connection errors.
#[derive(Debug)]
struct Known {
    policy: Policy,
    /// Counts connection errors: a check that began before one cannot
    /// allow writes (its answer may have come from before a restart).
    epoch: u64,
}

/// The state writes consult, shared by the store and its checker task.
#[derive(Debug)]
pub(super) struct Guard {
    /// Writes allowed: `known.policy` is `Verified`. The hot path's one
    /// atomic load; written under the `known` lock.
    allowed: AtomicBool,
    /// What the checks found, for the one log line per change.
    known: Mutex<Known>,
    /// Wakes the checker after a connection error.
    wake: Notify,
}

impl Guard {
    /// Writes allowed: the store opened after its own check.
    fn new() -> Guard {
        Guard {
            allowed: AtomicBool::new(true),
            known: Mutex::new(Known {
                policy: Policy::Verified,
                epoch: 0,
            }),
            wake: Notify::new(),
        }
    }

    /// May a write go on?
    pub(super) fn writes_allowed(&self) -> bool {
        self.allowed.load(Ordering::Acquire)
    }

    /// A call failed in a way that replaces the connection, or the cluster
    /// changed: the server on the other end may not be the one checked.
    /// Writes wait for the next check, which starts at once.
    pub(super) fn connection_error(&self) {
        {
            let mut known = self.lock();
            known.epoch += 1;
            if known.policy == Policy::Verified {
                tracing::warn!(
                    "redis connection error: writes refused until every node's maxmemory-policy is checked again"
                );
                self.set(&mut known, Policy::Unverified);
            }
        }
        self.wake.notify_one();
    }

    fn epoch(&self) -> u64 {
        self.lock().epoch
    }

    /// Takes in what a check that began at `epoch` found, logging a change.
    fn settle(&self, finding: Finding, epoch: u64) {
        let mut known = self.lock();
        let next = match finding {
            // A connection error came during the check: the checker was
            // woken, and the next check decides.
            Finding::NoEviction if known.epoch != epoch => return,
            Finding::NoEviction => Policy::Verified,
            Finding::Evicts { node, policy } => Policy::Evicts { node, policy },
            Finding::NoAnswer(why) => {
                if known.policy == Policy::Verified {
                    tracing::warn!(
                        reason = %why,
                        "redis maxmemory-policy could not be checked: writes refused until every node answers"
                    );
                    self.set(&mut known, Policy::Unverified);
                }
                return;
            }
        };
        if next == known.policy {
            return;
        }
        match &next {
            Policy::Verified => {
                tracing::info!("every redis node runs noeviction again: writes resume");
            }
            Policy::Evicts { node, policy } => tracing::warn!(
                %node,
                %policy,
                "redis node may evict keys: writes refused until it runs maxmemory-policy noeviction"
            ),
            Policy::Unverified => {}
        }
        self.set(&mut known, next);
    }

    fn set(&self, known: &mut Known, policy: Policy) {
        self.allowed
            .store(policy == Policy::Verified, Ordering::Release);
        known.policy = policy;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Known> {
        self.known.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The guard and its checker task, which stops when this is dropped.
#[derive(Debug)]
pub(super) struct Watch {
    /// What writes consult.
    pub(super) guard: Arc<Guard>,
    /// The checker task.
    task: JoinHandle<()>,
}

impl Watch {
    /// Starts checking with `checker` every `every` (the store has just
    /// checked: writes start allowed).
    pub(super) fn start(checker: Checker, every: Duration) -> Watch {
        let guard = Arc::new(Guard::new());
        let task = tokio::spawn(keep_checking(guard.clone(), checker, every));
        Watch { guard, task }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Checks every `every` while writes are allowed, every [`RECHECK_EVERY`]
/// (or `every`, if shorter) while they are not, and at once when woken.
async fn keep_checking(guard: Arc<Guard>, mut checker: Checker, every: Duration) {
    loop {
        let wait = if guard.writes_allowed() {
            every
        } else {
            every.min(RECHECK_EVERY)
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = guard.wake.notified() => {}
        }
        let epoch = guard.epoch();
        let found = checker.check().await;
        guard.settle(found, epoch);
        tokio::time::sleep(CHECK_GAP).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_is_read_as_evicting_unless_info_says_noeviction() {
        let info =
            |policy: &str| format!("# Memory\r\nused_memory:1\r\nmaxmemory_policy:{policy}\r\n");

        assert_eq!(finding("n", &info("noeviction")), Finding::NoEviction);
        assert_eq!(
            finding("n", &info("allkeys-lru")),
            Finding::Evicts {
                node: "n".into(),
                policy: "allkeys-lru".into()
            }
        );
        assert_eq!(
            finding("n", "# Memory\r\n"),
            Finding::Evicts {
                node: "n".into(),
                policy: "unknown".into()
            }
        );
    }

    #[test]
    fn a_check_that_began_before_a_connection_error_does_not_allow_writes() {
        let guard = Guard::new();
        let epoch = guard.epoch();

        guard.connection_error();
        guard.settle(Finding::NoEviction, epoch);
        let after_stale_check = guard.writes_allowed();
        guard.settle(Finding::NoEviction, guard.epoch());

        assert!(!after_stale_check);
        assert!(guard.writes_allowed());
    }

    #[test]
    fn an_evicting_node_refuses_writes_until_a_check_finds_noeviction() {
        let guard = Guard::new();
        let evicts = Finding::Evicts {
            node: "redis://127.0.0.1:6379".into(),
            policy: "allkeys-lru".into(),
        };

        guard.settle(evicts, guard.epoch());
        let while_evicting = guard.writes_allowed();
        guard.settle(Finding::NoAnswer("node down".into()), guard.epoch());
        let while_silent = guard.writes_allowed();
        guard.settle(Finding::NoEviction, guard.epoch());

        assert!(!while_evicting);
        assert!(!while_silent);
        assert!(guard.writes_allowed());
    }
}
