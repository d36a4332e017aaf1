//! What only a Redis Cluster has: every script's keys in one slot (no
//! CROSSSLOT) across merchants on different primaries, sales that survive a
//! failover, a lost primary and a slot moving under load, hot merchants
//! spread over every primary, and the operator commands on a cluster.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cartclick::config::{Config, StoreUrl};
use cartclick::model::MerchantId;
use cartclick::proto::*;
use cartclick::startup::Application;
use cartclick::store::redis::{RedisOptions, RedisStore};
use chrono::TimeDelta;
use tokio::task::JoinHandle;
use tonic::{Code, Status};
use tonic_health::pb::health_check_response::ServingStatus;

use crate::hot_merchant::{self, COLD, HOT, SHARDS};
use crate::support::*;

/// The `cartclick` binary, for the reconcile command.
/// Taps and sales the load issues while the cluster changes under it.
const ROUNDS: usize = 300;
/// Longest one call is retried while it answers UNAVAILABLE: a lost
/// primary is failed after the node timeout (2 s) and replaced soon after.
const RETRY_BOUND: Duration = Duration::from_secs(30);
/// How long the load gets to make progress.
const BOUND: Duration = Duration::from_secs(60);
/// A click or sale acknowledged this shortly before its primary is killed
/// may not have reached the replica (replication is asynchronous).
const LOSS_WINDOW: Duration = Duration::from_millis(200);

#[tokio::test]
async fn the_test_cluster_has_three_primaries_each_with_a_replica() {
    let cluster = TestCluster::start().await;

    let primaries = cluster.primaries().await;
    let replicas = cluster.replicas().await;

    assert_eq!(primaries.len(), 3, "{:#?}", cluster.topology().await);
    assert_eq!(replicas.len(), 3, "{:#?}", cluster.topology().await);
    for primary in primaries {
        assert!(replicas.contains(&cluster.replica_of(primary).await));
    }
    assert_eq!(cluster.url().matches(',').count(), 5);
}

#[tokio::test]
async fn the_full_flow_of_two_merchants_on_different_primaries_runs_without_crossslot() {
    let app = TestApp::builder().cluster().spawn().await;
    let cluster = app.cluster();
    let m1 = cluster.primary_of(cluster.keyslot("{m-1}").await).await;
    let m2 = cluster.primary_of(cluster.keyslot("{m-2}").await).await;
    assert_ne!(m1, m2, "the test wants the merchants on two primaries");
    app.seed().await;
    app.put_campaign("c-2", OTHER_MERCHANT, "apparel", &[])
        .await;
    app.review("c-2", ReviewDecision::Approve).await;
    let other_tap = |viewer: &str| IssueTokenRequest {
        campaign_id: "c-2".into(),
        landing_url: "https://other.dk/p/1".into(),
        ..tap(viewer)
    };

    let first = app.issue(tap("viewer-1")).await.unwrap();
    let repeat = app.issue(tap("viewer-1")).await.unwrap();
    let second = app.issue(tap("viewer-2")).await.unwrap();
    let other = app.issue(other_tap("viewer-1")).await.unwrap();
    let other_repeat = app.issue(other_tap("viewer-1")).await.unwrap();
    app.clock.advance(TimeDelta::minutes(90));
    app.confirmed(&first.token, "order-1", 12_500, "DKK").await;
    let replay = app
        .confirm(&first.token, "order-1", 12_500, "DKK")
        .await
        .unwrap();
    app.confirmed(&second.token, "order-2", 300, "EUR").await;
    app.confirm_as(
        &app.keys.other_merchant,
        &other.token,
        "order-1",
        700,
        "DKK",
    )
    .await
    .unwrap();
    let reversed = app.refund("order-1", "refund-1", 2_500).await.unwrap();
    let key = app
        .admin()
        .create_api_key(authed(
            &app.keys.admin,
            CreateApiKeyRequest {
                role: Role::Dashboard.into(),
                merchant_id: String::new(),
                label: "cluster".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();

    assert!(repeat.deduplicated && other_repeat.deduplicated);
    assert!(replay.replayed);
    assert_eq!(reversed.remaining.unwrap().amount_minor, 10_000);
    let m1_total = app.total(Dimension::Merchant, MERCHANT).await;
    assert_eq!(
        (m1_total.taps, m1_total.clicks, m1_total.conversions),
        (3, 2, 2)
    );
    assert_eq!(m1_total.refunded[0].amount_minor, 2_500);
    let m2_total = app.total(Dimension::Merchant, OTHER_MERCHANT).await;
    assert_eq!(
        (m2_total.taps, m2_total.clicks, m2_total.conversions),
        (2, 1, 1)
    );
    // A creator's and a product's counters and top lists are summed over
    // both merchants, so over two primaries.
    let creator = app.total(Dimension::Creator, "cr-1").await;
    assert_eq!(
        (creator.taps, creator.clicks, creator.conversions),
        (5, 3, 3)
    );
    let top = app
        .counters()
        .list_top(authed(
            &app.keys.dashboard,
            ListTopRequest {
                dimension: Dimension::Creator.into(),
                day: "2026-11-02".into(),
                metric: TopMetric::Clicks.into(),
                currency_code: String::new(),
                limit: 10,
                merchant_id: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert_eq!(
        top.iter()
            .map(|e| (e.id.as_str(), e.value))
            .collect::<Vec<_>>(),
        [("cr-1", 3)]
    );
    let counters_with_new_key = app
        .counters()
        .get_counters(authed(
            &key.secret,
            GetCountersRequest {
                dimension: Dimension::Merchant.into(),
                id: MERCHANT.into(),
                granularity: Granularity::Day.into(),
                start_time: Some(ts(start_time())),
                end_time: Some(ts(start_time() + TimeDelta::days(1))),
            },
        ))
        .await;
    assert!(counters_with_new_key.is_ok(), "{counters_with_new_key:?}");
    let day = start_time().date_naive();
    for merchant in [MERCHANT, OTHER_MERCHANT] {
        let report = app
            .domain
            .reconcile(&MerchantId::stored(merchant), day)
            .await
            .unwrap();
        assert_eq!(report.drift, Vec::<String>::new(), "{report:?}");
    }
}

#[tokio::test]
async fn the_server_builds_on_a_redis_cluster_url() {
    let cluster = TestCluster::start().await;
    let keys = Keys::new();
    let config = Config {
        store: StoreUrl::parse(&cluster.url()).unwrap(),
        ..test_config(&keys)
    };

    let built = Application::build(config).await;

    let app = built.unwrap_or_else(|error| panic!("{error}"));
    assert!(app.domain().store().check_connectivity().await.is_ok());
}

#[tokio::test]
async fn the_store_opens_whichever_nodes_its_seed_list_names() {
    let cluster = TestCluster::start().await;
    let url = |port: &u16| format!("redis://127.0.0.1:{port}");
    let primaries: Vec<String> = cluster.primaries().await.iter().map(url).collect();
    // After failovers, nodes listed as primaries are replicas.
    let replicas: Vec<String> = cluster.replicas().await.iter().map(url).collect();
    let options = || RedisOptions {
        timeout: REDIS_TIMEOUT,
        ..RedisOptions::default()
    };

    let on_primaries = RedisStore::open_cluster(&primaries, options()).await;
    let on_replicas = RedisStore::open_cluster(&replicas, options()).await;
    let on_all = RedisStore::open_cluster(&cluster.node_urls(), options()).await;

    assert!(on_primaries.is_ok(), "{:?}", on_primaries.err());
    assert!(on_replicas.is_ok(), "{:?}", on_replicas.err());
    assert!(on_all.is_ok(), "{:?}", on_all.err());
}

#[tokio::test]
async fn a_cluster_with_a_primary_that_may_evict_keys_is_refused_at_startup() {
    let cluster = TestCluster::start().await;
    let primary = cluster.primaries().await[1];
    set_maxmemory_policy(&format!("redis://127.0.0.1:{primary}"), "allkeys-lru").await;

    let message = startup_error_on(StoreUrl::parse(&cluster.url()).unwrap()).await;

    assert!(message.contains("maxmemory-policy"), "{message}");
    assert!(message.contains("noeviction"), "{message}");
}

#[tokio::test]
async fn while_one_replica_or_one_primary_may_evict_keys_writes_are_refused_and_health_is_not_serving()
 {
    let app = TestApp::builder().cluster().seeded().spawn().await;
    let issued = app.issue(tap("viewer-1")).await.unwrap();
    let replica = app.cluster().replicas().await[0];
    let primary = app.cluster().primaries().await[1];

    let mut refused = Vec::new();
    for port in [replica, primary] {
        let node = format!("redis://127.0.0.1:{port}");
        set_maxmemory_policy(&node, "allkeys-lru").await;
        wait_for(
            &format!("health to report NOT_SERVING while {node} may evict"),
            BOUND,
            || health_is(&app, ServingStatus::NotServing),
        )
        .await;
        let tap = app.issue(tap(&format!("viewer-{port}"))).await;
        let sale = app.confirm(&issued.token, "order-1", 12_500, "DKK").await;
        refused.push((port, tap.map(|_| ()), sale.map(|_| ())));
        set_maxmemory_policy(&node, "noeviction").await;
        wait_for(
            &format!("health to report SERVING again once {node} no longer may evict"),
            BOUND,
            || health_is(&app, ServingStatus::Serving),
        )
        .await;
    }
    let sale_after = app.confirm(&issued.token, "order-1", 12_500, "DKK").await;

    for (port, tap, sale) in refused {
        eprintln!("node {port} may evict");
        assert_error(&tap.unwrap_err(), Code::Unavailable, "STORE_UNAVAILABLE");
        assert_error(&sale.unwrap_err(), Code::Unavailable, "STORE_UNAVAILABLE");
    }
    let sale_after = sale_after.expect("the sale succeeds once writes resume");
    assert!(!sale_after.replayed, "the refused sales recorded nothing");
    let total = app.total(Dimension::Merchant, MERCHANT).await;
    assert_eq!((total.taps, total.clicks, total.conversions), (1, 1, 1));
}

#[tokio::test]
async fn the_reconcile_command_reads_a_cluster_and_exits_one_on_drift() {
    let app = TestApp::builder().cluster().seeded().spawn().await;
    let issued = app.issue(tap("viewer-1")).await.unwrap();
    app.confirmed(&issued.token, "order-1", 12_500, "DKK").await;
    let url = app.cluster().url();

    let clean = reconcile_command(&url, MERCHANT).await;
    // A counter read folds the events: then the counter keys are there.
    app.total(Dimension::Merchant, MERCHANT).await;
    let counter = app
        .cluster()
        .keys_by_node()
        .await
        .into_values()
        .flatten()
        .find(|key| key.starts_with("n:{m-1}:"))
        .expect("a counter of m-1");
    let _: i64 = redis::cmd("HINCRBY")
        .arg(&counter)
        .arg("v")
        .arg(1)
        .query_async(&mut app.cluster().connection().await)
        .await
        .unwrap();
    let tampered = reconcile_command(&url, MERCHANT).await;

    assert!(clean.status.success(), "{clean:?}");
    assert_eq!(tampered.status.code(), Some(1), "{tampered:?}");
}

#[tokio::test]
async fn every_key_on_every_primary_but_the_registry_expires() {
    let app = TestApp::builder().cluster().seeded().spawn().await;
    let first = app.issue(tap("viewer-1")).await.unwrap();
    app.issue(tap("viewer-1")).await.unwrap();
    let second = app.issue(tap("viewer-2")).await.unwrap();
    app.clock.advance(TimeDelta::minutes(90));
    app.confirmed(&first.token, "order-1", 12_500, "DKK").await;
    app.confirmed(&second.token, "order-2", 300, "EUR").await;
    app.refund("order-1", "refund-1", 100).await.unwrap();
    let mut redis = app.cluster().connection().await;

    let by_node = app.cluster().keys_by_node().await;
    let mut without_ttl = Vec::new();
    let mut registry = Vec::new();
    for key in by_node.values().flatten() {
        let ttl: i64 = redis::cmd("TTL")
            .arg(key)
            .query_async(&mut redis)
            .await
            .unwrap();
        assert_ne!(ttl, -2, "{key} vanished during the scan");
        if ttl == -1 {
            without_ttl.push(key.clone());
        }
        if key.starts_with("r:") {
            registry.push(key.clone());
        }
    }

    without_ttl.sort();
    registry.sort();
    assert!(
        by_node.values().filter(|keys| !keys.is_empty()).count() >= 2,
        "the keys are spread over the primaries: {by_node:?}"
    );
    assert!(
        registry.len() >= 3,
        "two merchants and a campaign: {registry:?}"
    );
    assert_eq!(without_ttl, registry);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_sale_survives_a_coordinated_failover_under_load() {
    let app = TestApp::builder().cluster().seeded().spawn().await;
    let cluster = app.cluster();
    let slot = cluster.keyslot("{m-1}").await;
    let primary = cluster.primary_of(slot).await;
    let replica = cluster.replica_of(primary).await;
    let done = Arc::new(AtomicUsize::new(0));
    let load = start_load(&app, done.clone());

    wait_for_progress(&done, ROUNDS / 3).await;
    cluster.failover(replica).await;
    let during = done.load(Ordering::SeqCst);
    let load = load.await.unwrap();

    eprintln!("failover at round {during}: {load}");
    assert!(during < ROUNDS, "the load was over before the failover was");
    assert_eq!(cluster.primary_of(slot).await, replica);
    assert_eq!(load.failures, Vec::<Failure>::new());
    assert_every_acknowledged_sale_is_counted(&app, &load).await;
    assert_every_sale_replays(&app, &load.sales).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sale_acknowledged_before_a_primary_is_killed_under_load_survives() {
    let mut app = TestApp::builder().cluster().seeded().spawn().await;
    let slot = app.cluster().keyslot("{m-1}").await;
    let primary = app.cluster().primary_of(slot).await;
    let replica = app.cluster().replica_of(primary).await;
    let done = Arc::new(AtomicUsize::new(0));
    let load = start_load(&app, done.clone());

    wait_for_progress(&done, ROUNDS / 3).await;
    let killed_at = Instant::now();
    app.cluster_mut().kill(primary).await;
    let during = done.load(Ordering::SeqCst);
    let load = load.await.unwrap();

    eprintln!("primary killed, replaced by round {during}: {load}");
    assert!(
        during < ROUNDS,
        "the load was over before the replica took over"
    );
    assert_eq!(app.cluster().primary_of(slot).await, replica);
    // Replication is asynchronous: what the primary acknowledged in its
    // last instant may not have reached the replica. Only a click or sale
    // acknowledged within LOSS_WINDOW before the kill may be lost; then its
    // sale is CLICK_NOT_FOUND, or not there. Counters and records are
    // written by one script on one node, so whatever survived agrees.
    let at_risk = |at: Instant| at <= killed_at && killed_at - at < LOSS_WINDOW;
    let unexplained: Vec<&Failure> = load
        .failures
        .iter()
        .filter(|f| !f.tapped_at.is_some_and(at_risk))
        .collect();
    assert_eq!(unexplained, Vec::<&Failure>::new());
    let (kept, at_risk_sales): (Vec<Acknowledged>, Vec<Acknowledged>) = load
        .sales
        .iter()
        .cloned()
        .partition(|sale| !at_risk(sale.at));
    let total = app.total(Dimension::Merchant, MERCHANT).await;
    let report = app
        .domain
        .reconcile(&MerchantId::stored(MERCHANT), start_time().date_naive())
        .await
        .unwrap();
    assert_eq!(report.drift, Vec::<String>::new(), "{report:?}");
    assert_eq!(
        total.conversions, report.sales as i64,
        "{total:?} {report:?}"
    );
    assert_every_sale_replays(&app, &kept).await;
    let mut lost = Vec::new();
    for sale in &at_risk_sales {
        if !confirm_again(&app, sale).await.replayed {
            lost.push(sale.order_id.clone());
        }
    }
    eprintln!(
        "{} sales acknowledged within {LOSS_WINDOW:?} before the kill, lost: {lost:?}; \
         clicks lost: {:?}",
        at_risk_sales.len(),
        load.failures
    );
    assert_eq!(
        report.sales,
        load.sales.len() - lost.len(),
        "every acknowledged sale not lost is counted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_sale_survives_its_slot_moving_to_another_primary_under_load() {
    let app = TestApp::builder().cluster().seeded().spawn().await;
    let cluster = app.cluster();
    let slot = cluster.keyslot("{m-1}").await;
    let from = cluster.primary_of(slot).await;
    let to = *cluster
        .primaries()
        .await
        .iter()
        .find(|port| **port != from)
        .unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    let load = start_load(&app, done.clone());

    wait_for_progress(&done, ROUNDS / 3).await;
    let moved = cluster.migrate_slot(slot, from, to).await;
    let during = done.load(Ordering::SeqCst);
    let load = load.await.unwrap();

    eprintln!("{moved} keys moved, done by round {during}: {load}");
    assert!(moved > 0);
    assert!(
        during < ROUNDS,
        "the load was over before the slot had moved"
    );
    assert_eq!(cluster.primary_of(slot).await, to);
    let by_node = cluster.keys_by_node().await;
    let holders: Vec<u16> = by_node
        .iter()
        .filter(|(_, keys)| keys.iter().any(|key| key.contains("{m-1}")))
        .map(|(port, _)| *port)
        .collect();
    assert_eq!(holders, [to]);
    assert_eq!(load.failures, Vec::<Failure>::new());
    assert_every_acknowledged_sale_is_counted(&app, &load).await;
    assert_every_sale_replays(&app, &load.sales).await;
}

#[tokio::test]
async fn a_hot_merchants_keys_spread_over_every_primary_and_its_figures_are_unchanged() {
    let cluster = TestCluster::start().await;
    let tags: Vec<String> = (0..SHARDS)
        .map(|shard| match shard {
            0 => format!("{{{HOT}}}"),
            n => format!("{{{HOT} {n}}}"),
        })
        .collect();
    let mut owner = BTreeMap::new();
    for tag in &tags {
        let slot = cluster.keyslot(tag).await;
        owner.insert(tag.clone(), cluster.primary_of(slot).await);
    }
    let owners: BTreeSet<u16> = owner.values().copied().collect();
    assert_eq!(
        owners.len(),
        3,
        "the shard tags of {HOT} must hash to three primaries: {owner:?}"
    );
    let app = TestApp::builder()
        .on_cluster(cluster)
        .config(hot_merchant::sharded)
        .spawn()
        .await;

    hot_merchant::busy_day(&app).await;

    let by_node = app.cluster().keys_by_node().await;
    for (tag, port) in &owner {
        let placed: BTreeSet<u16> = by_node
            .iter()
            .filter(|(_, keys)| keys.iter().any(|key| key.contains(tag.as_str())))
            .map(|(port, _)| *port)
            .collect();
        assert_eq!(placed, BTreeSet::from([*port]), "keys tagged {tag}");
    }
    let hot_holders = by_node
        .values()
        .filter(|keys| keys.iter().any(|key| tags.iter().any(|t| key.contains(t))))
        .count();
    assert_eq!(hot_holders, 3, "{HOT}'s keys on every primary");
    let cold_holders = by_node
        .values()
        .filter(|keys| keys.iter().any(|key| key.contains(&format!("{{{COLD}"))))
        .count();
    assert_eq!(cold_holders, 1, "{COLD}'s keys on one primary");
    hot_merchant::assert_hot_counts_as_cold(&app).await;
}

/// One sale the service acknowledged.
#[derive(Debug, Clone)]
struct Acknowledged {
    token: String,
    order_id: String,
    amount_minor: i64,
    click_id: String,
    /// When the acknowledgement came.
    at: Instant,
}

/// A round whose tap or sale failed other than UNAVAILABLE, or stayed
/// UNAVAILABLE.
#[derive(Debug, PartialEq)]
struct Failure {
    /// When the round's tap was acknowledged, if it was.
    tapped_at: Option<Instant>,
    /// The call and its answer.
    what: String,
}

/// What the load saw.
#[derive(Debug, Default)]
struct LoadReport {
    /// Every sale acknowledged, once per order.
    sales: Vec<Acknowledged>,
    /// Rounds that failed.
    failures: Vec<Failure>,
    /// Calls repeated after an UNAVAILABLE answer.
    retries: usize,
}

impl std::fmt::Display for LoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} sales acknowledged, {} calls retried after UNAVAILABLE, {} failures",
            self.sales.len(),
            self.retries,
            self.failures.len()
        )
    }
}

/// Issues [`ROUNDS`] taps of MERCHANT by new viewers and confirms a sale
/// of each, retrying every call while it answers UNAVAILABLE (safe to
/// retry, says the contract); counts finished rounds in `done`.
fn start_load(app: &TestApp, done: Arc<AtomicUsize>) -> JoinHandle<LoadReport> {
    let (clicks, sales) = (app.clicks(), app.sales());
    let keys = app.keys.clone();
    tokio::spawn(async move {
        let mut report = LoadReport::default();
        for i in 0..ROUNDS {
            let viewer = format!("viewer-{i}");
            let issued = until_available(&mut report.retries, || {
                let mut clicks = clicks.clone();
                let request = authed(&keys.feed, tap(&viewer));
                async move { clicks.issue_token(request).await }
            })
            .await;
            let tapped_at = Instant::now();
            let issued = match issued {
                Ok(issued) => issued.into_inner(),
                Err(status) => {
                    report.failures.push(Failure {
                        tapped_at: None,
                        what: format!("tap {i}: {status:?}"),
                    });
                    done.fetch_add(1, Ordering::SeqCst);
                    continue;
                }
            };
            let order_id = format!("order-{i}");
            let amount_minor = 100 + i as i64;
            let sale = until_available(&mut report.retries, || {
                let mut sales = sales.clone();
                let request = authed(
                    &keys.merchant,
                    confirm_request(&issued.token, &order_id, amount_minor),
                );
                async move { sales.confirm_sale(request).await }
            })
            .await;
            match sale {
                Ok(sale) => report.sales.push(Acknowledged {
                    token: issued.token,
                    order_id,
                    amount_minor,
                    click_id: sale.into_inner().click_id,
                    at: Instant::now(),
                }),
                Err(status) => report.failures.push(Failure {
                    tapped_at: Some(tapped_at),
                    what: format!("{order_id}: {status:?}"),
                }),
            }
            done.fetch_add(1, Ordering::SeqCst);
        }
        report
    })
}

fn confirm_request(token: &str, order_id: &str, amount_minor: i64) -> ConfirmSaleRequest {
    ConfirmSaleRequest {
        token: token.into(),
        order_id: order_id.into(),
        amount: Some(Money {
            currency_code: "DKK".into(),
            amount_minor,
        }),
    }
}

/// Repeats `call` while it answers UNAVAILABLE, for up to [`RETRY_BOUND`],
/// counting the repeats; returns the first other answer.
async fn until_available<T, F, Fut>(retries: &mut usize, call: F) -> Result<T, Status>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Status>>,
{
    retry_unavailable(RETRY_BOUND, retries, call).await
}

async fn wait_for_progress(done: &AtomicUsize, rounds: usize) {
    wait_for("the load to make progress", BOUND, || {
        std::future::ready(done.load(Ordering::SeqCst) >= rounds)
    })
    .await;
}

/// The merchant's conversions and revenue are exactly the acknowledged
/// sales, and a recount of its records finds no drift.
async fn assert_every_acknowledged_sale_is_counted(app: &TestApp, load: &LoadReport) {
    let orders: BTreeSet<&str> = load.sales.iter().map(|s| s.order_id.as_str()).collect();
    assert_eq!(
        orders.len(),
        load.sales.len(),
        "one acknowledgement per order"
    );
    let total = app.total(Dimension::Merchant, MERCHANT).await;
    assert_eq!(total.conversions, load.sales.len() as i64, "{total:?}");
    assert_eq!(
        total.revenue.iter().map(|m| m.amount_minor).sum::<i64>(),
        load.sales.iter().map(|s| s.amount_minor).sum::<i64>(),
        "{total:?}"
    );
    let report = app
        .domain
        .reconcile(&MerchantId::stored(MERCHANT), start_time().date_naive())
        .await
        .unwrap();
    assert_eq!(report.drift, Vec::<String>::new(), "{report:?}");
    assert_eq!(report.sales, load.sales.len(), "{report:?}");
}

/// Each acknowledged sale, confirmed again, is its first answer replayed.
async fn assert_every_sale_replays(app: &TestApp, sales: &[Acknowledged]) {
    for sale in sales {
        let again = confirm_again(app, sale).await;
        assert!(again.replayed, "{} was not stored", sale.order_id);
        assert_eq!(again.click_id, sale.click_id, "{}", sale.order_id);
    }
}

/// `sale` confirmed once more (retried while UNAVAILABLE).
async fn confirm_again(app: &TestApp, sale: &Acknowledged) -> ConfirmSaleResponse {
    let mut retries = 0;
    until_available(&mut retries, || {
        app.confirm(&sale.token, &sale.order_id, sale.amount_minor, "DKK")
    })
    .await
    .unwrap_or_else(|status| panic!("{}: {status:?}", sale.order_id))
}
