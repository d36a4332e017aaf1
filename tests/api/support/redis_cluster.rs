//! A real Redis Cluster of six per test ([`TestCluster`]): three primaries
//! and three replicas, each a [`TestRedis`] node on free ports, killed on
//! drop. The cluster fails over, loses nodes and moves slots on demand, and
//! reports its topology, so tests can place keys and take nodes away.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::redis_server::{TestRedis, everything_stored_on};

/// How long a cluster gets to form, fail over, recover from a lost node or
/// settle after a slot moved.
const CLUSTER_BOUND: Duration = Duration::from_secs(90);
/// Longest an admin command to one node may take.
const NODE_CALL_BOUND: Duration = Duration::from_secs(2);
/// Keys moved by one MIGRATE.
const MIGRATE_BATCH: usize = 10;
/// Pause between MIGRATEs, so that clients meet the slot half-moved (keys
/// on both nodes: ASK and TRYAGAIN) for a while, not for an instant.
const MIGRATE_PAUSE: Duration = Duration::from_millis(20);

/// A Redis Cluster of three primaries and three replicas owned by one test:
/// six redis-server processes on free loopback ports, joined with
/// `redis-cli --cluster create … --cluster-replicas 1`. Killed on drop.
pub struct TestCluster {
    /// Every node ever started, killed ones included (their process is gone).
    nodes: Vec<TestRedis>,
}

/// One node as `CLUSTER NODES` describes it.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    /// Its node id.
    pub id: String,
    /// The port it serves clients on.
    pub port: u16,
    /// `myself`, `master`, `slave`, `fail?`, `fail`, …
    pub flags: Vec<String>,
    /// The primary's id, for a replica.
    pub primary_id: Option<String>,
    /// The slot ranges it serves (inclusive), for a primary.
    pub slots: Vec<(u16, u16)>,
}

impl NodeInfo {
    /// Whether `CLUSTER NODES` gives it `flag`.
    fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }

    /// A primary, not failed.
    pub fn is_primary(&self) -> bool {
        self.has_flag("master") && !self.has_flag("fail")
    }

    /// A replica, not failed.
    pub fn is_replica(&self) -> bool {
        self.has_flag("slave") && !self.has_flag("fail")
    }

    /// Whether it serves `slot`.
    pub fn serves(&self, slot: u16) -> bool {
        self.slots.iter().any(|(a, b)| (*a..=*b).contains(&slot))
    }
}

impl TestCluster {
    /// Six nodes, three primaries with a replica each, every slot served,
    /// every replica in sync: `cluster_state:ok` on every node.
    pub async fn start() -> TestCluster {
        let mut nodes = Vec::with_capacity(6);
        for _ in 0..6 {
            nodes.push(TestRedis::start_node(&[], true).await);
        }
        let cluster = TestCluster { nodes };
        let mut args = vec!["--cluster".to_owned(), "create".to_owned()];
        args.extend(
            cluster
                .nodes
                .iter()
                .map(|n| format!("127.0.0.1:{}", n.port)),
        );
        args.extend(["--cluster-replicas", "1", "--cluster-yes"].map(str::to_owned));
        let output = tokio::task::spawn_blocking(move || {
            Command::new("redis-cli")
                .args(&args)
                .stdin(Stdio::null())
                .output()
        })
        .await
        .unwrap();
        let output = match output {
            Ok(output) => output,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => panic!(
                "redis-cli is not installed: the cluster tests create their clusters \
                 with it; install it with `apt-get install redis-server redis-tools`"
            ),
            Err(error) => panic!("cannot run redis-cli: {error}"),
        };
        assert!(
            output.status.success(),
            "redis-cli --cluster create failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        cluster
            .settle(
                "the new cluster to be ok with three primaries and three replicas in sync",
                |views| {
                    views.iter().all(|view| {
                        view.iter()
                            .filter(|n| n.is_primary() && !n.slots.is_empty())
                            .count()
                            == 3
                            && view.iter().filter(|n| n.is_replica()).count() == 3
                    })
                },
            )
            .await;
        cluster
    }

    /// `redis+cluster://127.0.0.1:<p1>,…`: every node, as `--store` takes it.
    pub fn url(&self) -> String {
        let nodes: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        format!("redis+cluster://{}", nodes.join(","))
    }

    /// `redis://127.0.0.1:<port>` of every node (the seed nodes of a client).
    pub fn node_urls(&self) -> Vec<String> {
        self.nodes.iter().map(|n| node_url(n.port)).collect()
    }

    /// Ports of the live primaries that serve slots, by first slot.
    pub async fn primaries(&self) -> Vec<u16> {
        let mut primaries: Vec<NodeInfo> = self
            .topology()
            .await
            .into_iter()
            .filter(|n| n.is_primary() && !n.slots.is_empty() && self.is_alive(n.port))
            .collect();
        primaries.sort_by_key(|n| n.slots[0].0);
        primaries.into_iter().map(|n| n.port).collect()
    }

    /// Ports of the live replicas.
    pub async fn replicas(&self) -> Vec<u16> {
        let mut replicas: Vec<u16> = self
            .topology()
            .await
            .into_iter()
            .filter(|n| n.is_replica() && self.is_alive(n.port))
            .map(|n| n.port)
            .collect();
        replicas.sort();
        replicas
    }

    /// The port of the replica of the primary on `primary`.
    pub async fn replica_of(&self, primary: u16) -> u16 {
        let topology = self.topology().await;
        let id = &topology
            .iter()
            .find(|n| n.port == primary)
            .unwrap_or_else(|| panic!("no node on port {primary}: {topology:?}"))
            .id;
        topology
            .iter()
            .find(|n| n.is_replica() && n.primary_id.as_ref() == Some(id) && self.is_alive(n.port))
            .unwrap_or_else(|| panic!("the primary on {primary} has no live replica: {topology:?}"))
            .port
    }

    /// The slot of `key` (`CLUSTER KEYSLOT`), e.g. of `{m-1}`.
    pub async fn keyslot(&self, key: &str) -> u16 {
        self.query_any(redis::cmd("CLUSTER").arg("KEYSLOT").arg(key))
            .await
    }

    /// The port of the live primary that serves `slot`.
    pub async fn primary_of(&self, slot: u16) -> u16 {
        let topology = self.topology().await;
        topology
            .iter()
            .find(|n| n.is_primary() && n.serves(slot) && self.is_alive(n.port))
            .unwrap_or_else(|| panic!("no live primary serves slot {slot}: {topology:?}"))
            .port
    }

    /// Kills the node on `port` (SIGKILL: no goodbye, no last writes), then
    /// waits until the other nodes have failed it and the cluster is ok
    /// again: a killed primary's replica serves its slots.
    pub async fn kill(&mut self, port: u16) {
        self.node_mut(port).kill();
        self.settle(
            &format!("the cluster to fail the node on {port} and recover"),
            |views| {
                views
                    .iter()
                    .all(|view| view.iter().any(|n| n.port == port && n.has_flag("fail")))
            },
        )
        .await;
    }

    /// `CLUSTER FAILOVER` on the replica on `replica` (a coordinated
    /// failover: the primary stops taking writes until the replica has all
    /// of them), then waits until every node sees it as the primary.
    pub async fn failover(&self, replica: u16) {
        let _: String = node_query(replica, redis::cmd("CLUSTER").arg("FAILOVER"))
            .await
            .unwrap_or_else(|error| panic!("CLUSTER FAILOVER on {replica}: {error}"));
        self.settle(&format!("the node on {replica} to be a primary"), |views| {
            views.iter().all(|view| {
                view.iter()
                    .any(|n| n.port == replica && n.is_primary() && !n.slots.is_empty())
            })
        })
        .await;
    }

    /// Moves `slot` and its keys from the primary on `from` to the primary
    /// on `to`, as an operator resharding would: SETSLOT IMPORTING and
    /// MIGRATING, MIGRATE of the keys in batches, SETSLOT NODE on both and
    /// the other primaries. Clients keep working meanwhile (ASK, TRYAGAIN
    /// and MOVED redirections). Returns how many keys moved.
    pub async fn migrate_slot(&self, slot: u16, from: u16, to: u16) -> usize {
        let from_id = self.node_id(from).await;
        let to_id = self.node_id(to).await;
        let setslot = |state: &str, id: &str| {
            let mut cmd = redis::cmd("CLUSTER");
            cmd.arg("SETSLOT").arg(slot).arg(state).arg(id);
            cmd
        };
        let ok = |what: &str, answer: redis::RedisResult<String>| {
            if let Err(error) = answer {
                panic!("{what} for slot {slot}: {error}");
            }
        };
        ok(
            "SETSLOT IMPORTING",
            node_query(to, &setslot("IMPORTING", &from_id)).await,
        );
        ok(
            "SETSLOT MIGRATING",
            node_query(from, &setslot("MIGRATING", &to_id)).await,
        );
        let mut moved = 0;
        loop {
            let keys: Vec<Vec<u8>> = node_query(
                from,
                redis::cmd("CLUSTER")
                    .arg("GETKEYSINSLOT")
                    .arg(slot)
                    .arg(MIGRATE_BATCH),
            )
            .await
            .expect("CLUSTER GETKEYSINSLOT");
            if keys.is_empty() {
                break;
            }
            let mut migrate = redis::cmd("MIGRATE");
            migrate
                .arg("127.0.0.1")
                .arg(to)
                .arg("")
                .arg(0)
                .arg(5000)
                .arg("KEYS");
            for key in &keys {
                migrate.arg(key);
            }
            ok("MIGRATE", node_query(from, &migrate).await);
            moved += keys.len();
            tokio::time::sleep(MIGRATE_PAUSE).await;
        }
        ok(
            "SETSLOT NODE on the target",
            node_query(to, &setslot("NODE", &to_id)).await,
        );
        ok(
            "SETSLOT NODE on the source",
            node_query(from, &setslot("NODE", &to_id)).await,
        );
        for primary in self.primaries().await {
            if primary != from && primary != to {
                // Gossip would tell them too; this is sooner.
                let _ = node_query::<String>(primary, &setslot("NODE", &to_id)).await;
            }
        }
        self.settle(&format!("every node to see slot {slot} on {to}"), |views| {
            views.iter().all(|view| {
                view.iter()
                    .any(|n| n.port == to && n.is_primary() && n.serves(slot))
                    && !view
                        .iter()
                        .any(|n| n.port != to && n.is_primary() && n.serves(slot))
            })
        })
        .await;
        moved
    }

    /// The key names on each live primary, by port (SCAN of every primary).
    pub async fn keys_by_node(&self) -> BTreeMap<u16, Vec<String>> {
        let mut by_node = BTreeMap::new();
        for port in self.primaries().await {
            let mut connection = node_connection(port).await;
            let mut keys = Vec::new();
            let mut cursor: u64 = 0;
            loop {
                let (next, page): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("COUNT")
                    .arg(1000)
                    .query_async(&mut connection)
                    .await
                    .expect("SCAN");
                keys.extend(page.iter().map(|k| String::from_utf8_lossy(k).into_owned()));
                if next == 0 {
                    break;
                }
                cursor = next;
            }
            keys.sort();
            by_node.insert(port, keys);
        }
        by_node
    }

    /// Every key name and stored byte string on every live primary (see
    /// [`TestRedis::everything_stored`]).
    pub async fn everything_stored(&self) -> Vec<Vec<u8>> {
        let mut stored = Vec::new();
        for port in self.primaries().await {
            stored.extend(everything_stored_on(&mut node_connection(port).await).await);
        }
        stored
    }

    /// A cluster client connection, for a test to look at or tamper with
    /// the data.
    pub async fn connection(&self) -> redis::cluster_async::ClusterConnection {
        let live: Vec<String> = self
            .nodes
            .iter()
            .filter(|n| n.child.is_some())
            .map(|n| node_url(n.port))
            .collect();
        redis::cluster::ClusterClient::new(live)
            .expect("valid node urls")
            .get_async_connection()
            .await
            .expect("connects to the test cluster")
    }

    /// Waits until every live node reports `cluster_state:ok`, every live
    /// replica's link to its primary is up, and `condition` holds for every
    /// live node's `CLUSTER NODES` view; panics after [`CLUSTER_BOUND`].
    pub async fn settle(&self, what: &str, condition: impl Fn(&[Vec<NodeInfo>]) -> bool) {
        let deadline = tokio::time::Instant::now() + CLUSTER_BOUND;
        loop {
            let last = match self.survey().await {
                Ok(views) if condition(&views) => return,
                Ok(views) => format!("{views:#?}"),
                Err(error) => error,
            };
            assert!(
                tokio::time::Instant::now() < deadline,
                "waited {CLUSTER_BOUND:?} for {what}; last seen: {last}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every live node's view of the cluster, if every one is ok and every
    /// replica in sync; else what is not.
    async fn survey(&self) -> Result<Vec<Vec<NodeInfo>>, String> {
        let mut views = Vec::new();
        for node in self.nodes.iter().filter(|n| n.child.is_some()) {
            let port = node.port;
            let info: String = node_query(port, redis::cmd("CLUSTER").arg("INFO"))
                .await
                .map_err(|e| format!("CLUSTER INFO on {port}: {e}"))?;
            if !info.lines().any(|l| l.trim() == "cluster_state:ok") {
                return Err(format!("node {port}: {info}"));
            }
            let replication: String = node_query(port, redis::cmd("INFO").arg("replication"))
                .await
                .map_err(|e| format!("INFO replication on {port}: {e}"))?;
            if replication.contains("role:slave")
                && !replication
                    .lines()
                    .any(|l| l.trim() == "master_link_status:up")
            {
                return Err(format!("replica {port} is not in sync: {replication}"));
            }
            let nodes: String = node_query(port, redis::cmd("CLUSTER").arg("NODES"))
                .await
                .map_err(|e| format!("CLUSTER NODES on {port}: {e}"))?;
            views.push(parse_cluster_nodes(&nodes));
        }
        Ok(views)
    }

    /// The cluster as the first live node that answers sees it.
    pub async fn topology(&self) -> Vec<NodeInfo> {
        for node in self.nodes.iter().filter(|n| n.child.is_some()) {
            if let Ok(text) =
                node_query::<String>(node.port, redis::cmd("CLUSTER").arg("NODES")).await
            {
                return parse_cluster_nodes(&text);
            }
        }
        panic!("no node of the test cluster answers CLUSTER NODES");
    }

    /// `CLUSTER MYID` of the node on `port`.
    async fn node_id(&self, port: u16) -> String {
        node_query(port, redis::cmd("CLUSTER").arg("MYID"))
            .await
            .unwrap_or_else(|error| panic!("CLUSTER MYID on {port}: {error}"))
    }

    /// Runs `cmd` on the first live node that answers.
    async fn query_any<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> T {
        for node in self.nodes.iter().filter(|n| n.child.is_some()) {
            if let Ok(answer) = node_query(node.port, cmd).await {
                return answer;
            }
        }
        panic!("no node of the test cluster answers {cmd:?}");
    }

    /// Whether the node on `port` runs (was not killed).
    fn is_alive(&self, port: u16) -> bool {
        self.nodes
            .iter()
            .any(|n| n.port == port && n.child.is_some())
    }

    /// The node on `port`, to kill it.
    fn node_mut(&mut self, port: u16) -> &mut TestRedis {
        self.nodes
            .iter_mut()
            .find(|n| n.port == port)
            .unwrap_or_else(|| panic!("no node of the test cluster on port {port}"))
    }
}

/// `redis://127.0.0.1:<port>`, a node as a client names it.
fn node_url(port: u16) -> String {
    format!("redis://127.0.0.1:{port}")
}

/// A plain connection to one node (not following redirections).
async fn node_connection(port: u16) -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(node_url(port)).expect("a valid redis url");
    tokio::time::timeout(NODE_CALL_BOUND, client.get_multiplexed_async_connection())
        .await
        .unwrap_or_else(|_| panic!("node {port} did not accept a connection in time"))
        .unwrap_or_else(|error| panic!("connects to node {port}: {error}"))
}

/// `cmd` on the node on `port`, bounded by [`NODE_CALL_BOUND`].
async fn node_query<T: redis::FromRedisValue>(
    port: u16,
    cmd: &redis::Cmd,
) -> redis::RedisResult<T> {
    let call = async {
        let mut connection = redis::Client::open(node_url(port))?
            .get_multiplexed_async_connection()
            .await?;
        // The client's own 500 ms answer bound would cut a slow CLUSTER
        // SETSLOT (it saves the cluster config) on a busy box first.
        connection.set_response_timeout(NODE_CALL_BOUND);
        cmd.query_async(&mut connection).await
    };
    match tokio::time::timeout(NODE_CALL_BOUND, call).await {
        Ok(answer) => answer,
        Err(_) => Err(redis::RedisError::from(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("node {port} did not answer in time"),
        ))),
    }
}

/// Parses `CLUSTER NODES`: `<id> <ip:port@bus[,host]> <flags> <primary|-> <ping>
/// <pong> <epoch> <link> <slot ranges…>`; ranges being migrated or imported
/// (`[slot->-id]`) are left out.
fn parse_cluster_nodes(text: &str) -> Vec<NodeInfo> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let address = fields[1];
            let port = address
                .split('@')
                .next()
                .and_then(|host_port| host_port.rsplit(':').next())
                .and_then(|p| p.parse().ok())
                .unwrap_or_else(|| panic!("no port in CLUSTER NODES line {line:?}"));
            let slots = fields[8..]
                .iter()
                .filter(|range| !range.starts_with('['))
                .map(|range| match range.split_once('-') {
                    Some((a, b)) => (a.parse().unwrap(), b.parse().unwrap()),
                    None => {
                        let slot = range.parse().unwrap();
                        (slot, slot)
                    }
                })
                .collect();
            NodeInfo {
                id: fields[0].to_owned(),
                port,
                flags: fields[2].split(',').map(str::to_owned).collect(),
                primary_id: (fields[3] != "-").then(|| fields[3].to_owned()),
                slots,
            }
        })
        .collect()
}
