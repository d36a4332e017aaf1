//! What only the Redis store has: round trips per RPC, lost replies,
//! forgotten scripts, Redis going away and coming back, startup refusals,
//! key expiry and reconciliation against the raw records.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cartclick::config::StoreUrl;
use cartclick::model::MerchantId;
use cartclick::proto::*;
use cartclick::store::redis::RedisOptions;
use chrono::TimeDelta;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::StreamExt;
use tonic::{Code, Status};
use tonic_health::pb::health_check_response::ServingStatus;

use crate::support::*;

/// The `cartclick` binary, for the reconcile command.
/// Calls made in the measured window of the round-trip test, per RPC.
const CALLS: usize = 20;
/// How long Redis-side conditions (health, reconnects) get to come true.
const BOUND: Duration = Duration::from_secs(20);
/// How long writes keep being refused to show that it is not a reconnect
/// waiting for its policy check (rechecked every second while refused).
const RECHECK_BOUND: Duration = Duration::from_secs(3);

#[tokio::test]
async fn issue_token_and_confirm_sale_cost_one_redis_command_each() {
    let app = TestApp::builder().redis().seeded().spawn().await;
    // Warm up what a long-running server has: cached registry reads, the
    // merchant index entries of this cart, loaded scripts.
    let mut tokens = Vec::new();
    for i in 0..3 {
        let issued = app.issue(tap(&format!("warm-up-{i}"))).await.unwrap();
        app.confirmed(&issued.token, &format!("warm-up-order-{i}"), 100, "DKK")
            .await;
        tokens.push(issued.token);
    }
    let mut marker = app.redis().connection().await;
    let mut monitor = Monitor::attach(app.redis()).await;
    let started = Instant::now();

    for i in 0..CALLS {
        app.issue(tap(&format!("viewer-{i}"))).await.unwrap();
    }
    for i in 0..CALLS {
        app.confirmed(&tokens[0], &format!("order-{i}"), 100, "DKK")
            .await;
    }
    let lines = monitor.until_marker(&mut marker).await;
    let elapsed = started.elapsed();

    let commands: Vec<MonitorLine> = lines
        .iter()
        .map(|line| MonitorLine::parse(line))
        // Commands a script runs are part of its one round trip; PING is
        // the health checker's, once a second, INFO the policy checker's
        // (every node's maxmemory-policy), and a script on an event stream
        // the background fold's (once for the events of many calls), not
        // an RPC's.
        .filter(|command| {
            let folds = command.name == "evalsha" && command.key.starts_with("e:");
            !(command.from_script || folds || ["ping", "info"].contains(&command.name.as_str()))
        })
        .collect();
    // The service re-reads a campaign and its merchant at most once a
    // second (the registry cache): a bounded cost, not one per call.
    let (registry_reads, calls): (Vec<_>, Vec<_>) = commands
        .into_iter()
        .partition(|command| command.name == "hgetall" && command.key.starts_with("r:"));
    assert_eq!(calls.len(), 2 * CALLS, "{calls:#?}");
    let refreshes = elapsed.as_secs() as usize + 1;
    assert!(
        registry_reads.len() <= 2 * refreshes,
        "{} registry reads in {elapsed:?}: {registry_reads:#?}",
        registry_reads.len()
    );
}

#[tokio::test]
async fn concurrent_first_taps_on_one_cart_add_each_index_entry_once() {
    let app = TestApp::builder().redis().spawn().await;
    app.seed().await;
    let mut marker = app.redis().connection().await;
    let mut monitor = Monitor::attach(app.redis()).await;

    // The first taps this process sees on the cart, all at once: each of
    // its index sets (campaign, creator, video, product, day, merchant)
    // is due, and only one of the taps writes it.
    let mut taps = tokio::task::JoinSet::new();
    for i in 0..CALLS {
        let mut clicks = app.clicks();
        let request = authed(&app.keys.feed, tap(&format!("viewer-{i}")));
        taps.spawn(async move { clicks.issue_token(request).await });
    }
    while let Some(tap) = taps.join_next().await {
        tap.unwrap().expect("a tap");
    }
    let lines = monitor.until_marker(&mut marker).await;

    let mut added: Vec<String> = lines
        .iter()
        .map(|line| MonitorLine::parse(line))
        .filter(|command| command.name == "sadd")
        .map(|command| command.key)
        .collect();
    added.sort();
    let day = cartclick::model::Granularity::Day.bucket_start(start_time());
    let mut sets = vec![
        "x:c:c-1".to_owned(),
        "x:r:cr-1".to_owned(),
        "x:v:vid-1".to_owned(),
        "x:p:sku-1".to_owned(),
        format!("x:day:{day}"),
        "x:m:m-1".to_owned(),
    ];
    sets.sort();
    assert_eq!(added, sets);
}

#[tokio::test]
async fn a_sale_whose_reply_was_lost_answers_unavailable_and_counts_once_when_retried() {
    let redis = TestRedis::start().await;
    let proxy = LossyProxy::start(redis.port()).await;
    let app = TestApp::builder().redis_at(&proxy.url()).spawn().await;
    app.seed().await;
    let issued = app.issue(tap("viewer-1")).await.unwrap();

    proxy.arm();
    let lost = app
        .confirm(&issued.token, "order-1", 12_500, "DKK")
        .await
        .unwrap_err();
    proxy.disarm();
    let retried = retry_while_unavailable(|| app.confirm(&issued.token, "order-1", 12_500, "DKK"))
        .await
        .expect("the retried sale succeeds");

    assert_error(&lost, Code::Unavailable, "STORE_UNAVAILABLE");
    assert_eq!(retried.click_id, issued.click_id);
    assert!(
        retried.replayed,
        "redis ran the sale whose reply was lost: the retry is its replay"
    );
    assert_eq!(
        app.total(Dimension::Merchant, MERCHANT).await.conversions,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taps_and_sales_keep_succeeding_while_redis_forgets_its_scripts() {
    const ROUNDS: usize = 120;
    const FLUSHES: usize = 5;
    let app = TestApp::builder().redis().seeded().spawn().await;
    let mut admin = app.redis().connection().await;
    let done = Arc::new(AtomicUsize::new(0));
    let load = {
        let (clicks, sales) = (app.clicks(), app.sales());
        let keys = app.keys.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let mut failures: Vec<Status> = Vec::new();
            for i in 0..ROUNDS {
                let issued = clicks
                    .clone()
                    .issue_token(authed(&keys.feed, tap(&format!("viewer-{i}"))))
                    .await;
                match issued {
                    Ok(issued) => {
                        let sale = ConfirmSaleRequest {
                            token: issued.into_inner().token,
                            order_id: format!("order-{i}"),
                            amount: Some(Money {
                                currency_code: "DKK".into(),
                                amount_minor: 100,
                            }),
                        };
                        if let Err(status) = sales
                            .clone()
                            .confirm_sale(authed(&keys.merchant, sale))
                            .await
                        {
                            failures.push(status);
                        }
                    }
                    Err(status) => failures.push(status),
                }
                done.fetch_add(1, Ordering::SeqCst);
            }
            failures
        })
    };

    for flush in 1..=FLUSHES {
        let due = flush * ROUNDS / (FLUSHES + 1);
        wait_for("the load to make progress", BOUND, || {
            std::future::ready(done.load(Ordering::SeqCst) >= due)
        })
        .await;
        let _: () = redis::cmd("SCRIPT")
            .arg("FLUSH")
            .query_async(&mut admin)
            .await
            .expect("SCRIPT FLUSH");
    }
    let failures = load.await.unwrap();

    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(
        app.total(Dimension::Merchant, MERCHANT).await.conversions,
        ROUNDS as i64
    );
}

#[tokio::test]
async fn a_call_while_redis_is_down_answers_store_unavailable_within_its_deadline() {
    let mut app = TestApp::builder().redis().seeded().spawn().await;
    app.issue(tap("viewer-1")).await.unwrap();
    app.redis_mut().stop().await;
    let mut request = authed(&app.keys.feed, tap("viewer-2"));
    request.set_timeout(Duration::from_secs(2));

    let answer = tokio::time::timeout(Duration::from_secs(3), app.clicks().issue_token(request))
        .await
        .expect("the call answers by its deadline");

    // A deadline that passed first would be DEADLINE_EXCEEDED or CANCELLED.
    assert_error(&answer.unwrap_err(), Code::Unavailable, "STORE_UNAVAILABLE");
}

#[tokio::test]
async fn health_is_not_serving_while_redis_is_down_and_the_service_recovers_by_itself() {
    let mut app = TestApp::builder().redis().seeded().spawn().await;
    app.issue(tap("viewer-1")).await.unwrap();

    app.redis_mut().stop().await;
    wait_for("health to report NOT_SERVING", BOUND, || {
        health_is(&app, ServingStatus::NotServing)
    })
    .await;
    // Liveness is not readiness: a store outage must not restart replicas.
    assert!(service_health_is(&app, cartclick::startup::LIVENESS, ServingStatus::Serving).await);
    app.redis_mut().restart().await;
    wait_for("health to report SERVING again", BOUND, || {
        health_is(&app, ServingStatus::Serving)
    })
    .await;

    let after = app.issue(tap("viewer-2")).await;
    assert!(after.is_ok(), "{after:?}");
}

#[tokio::test]
async fn a_redis_that_may_evict_keys_is_refused_at_startup() {
    let redis = TestRedis::start_with(&["--maxmemory-policy", "allkeys-lru"]).await;

    let message = startup_error_on(StoreUrl::Redis(redis.url())).await;

    assert!(message.contains("maxmemory-policy"), "{message}");
    assert!(message.contains("noeviction"), "{message}");
}

#[tokio::test]
async fn while_redis_may_evict_keys_writes_are_refused_and_health_is_not_serving_until_it_no_longer_may()
 {
    let app = TestApp::builder().redis().seeded().spawn().await;
    let issued = app.issue(tap("viewer-1")).await.unwrap();
    let url = app.redis().url();

    set_maxmemory_policy(&url, "allkeys-lru").await;
    wait_for("health to report NOT_SERVING", BOUND, || {
        health_is(&app, ServingStatus::NotServing)
    })
    .await;
    let refused_tap = app.issue(tap("viewer-2")).await;
    let refused_sale = app.confirm(&issued.token, "order-1", 12_500, "DKK").await;
    let refused_campaign = app
        .try_put_campaign(campaign("c-2", MERCHANT, "apparel", &[]))
        .await;
    let read_while_refused = app
        .counters()
        .get_counters(authed(&app.keys.dashboard, test_day(MERCHANT)))
        .await;
    set_maxmemory_policy(&url, "noeviction").await;
    wait_for("health to report SERVING again", BOUND, || {
        health_is(&app, ServingStatus::Serving)
    })
    .await;
    let tap_after = app.issue(tap("viewer-3")).await;
    let sale_after = app.confirm(&issued.token, "order-1", 12_500, "DKK").await;

    assert_error(
        &refused_tap.unwrap_err(),
        Code::Unavailable,
        "STORE_UNAVAILABLE",
    );
    assert_error(
        &refused_sale.unwrap_err(),
        Code::Unavailable,
        "STORE_UNAVAILABLE",
    );
    assert_error(
        &refused_campaign.unwrap_err(),
        Code::Unavailable,
        "STORE_UNAVAILABLE",
    );
    let read = read_while_refused
        .expect("counters are read while writes are refused")
        .into_inner()
        .total
        .unwrap();
    assert_eq!((read.taps, read.clicks), (1, 1));
    assert!(tap_after.is_ok(), "{tap_after:?}");
    let sale_after = sale_after.expect("the sale succeeds once writes resume");
    assert!(!sale_after.replayed, "the refused sale recorded nothing");
    let total = app.total(Dimension::Merchant, MERCHANT).await;
    assert_eq!(
        (total.taps, total.clicks, total.conversions),
        (2, 2, 1),
        "the refused tap and sale counted nothing"
    );
    assert_eq!(total.revenue[0].amount_minor, 12_500);
}

#[tokio::test]
async fn a_redis_restarted_with_a_policy_that_may_evict_refuses_writes_from_the_reconnect_on() {
    let redis = TestRedis::start().await;
    let keys = Keys::new();
    let config = cartclick::config::Config {
        store: StoreUrl::Redis(redis.url()),
        ..test_config(&keys)
    };
    // The periodic check is an hour away: only the reconnect can notice.
    let options = RedisOptions {
        policy_check_every: Duration::from_secs(3600),
        ..redis_options(&config)
    };
    let store = open_redis_store_with(&redis.url(), options).await;
    let mut app = TestApp::builder()
        .keys(keys)
        .with_config(config)
        .store(store)
        .spawn()
        .await;
    app.redis = Some(redis);
    app.seed().await;
    app.issue(tap("viewer-1")).await.unwrap();

    app.redis_mut().stop().await;
    app.redis_mut()
        .restart_with(&["--maxmemory-policy", "allkeys-lru"])
        .await;
    let read = retry_while_unavailable(|| {
        let mut counters = app.counters();
        let request = authed(&app.keys.dashboard, test_day(MERCHANT));
        async move { counters.get_counters(request).await }
    })
    .await;
    // Writes stay refused: a mere reconnect is checked within a second.
    let mut refusals = 0;
    let tap_on_evicting_redis =
        retry_unavailable(RECHECK_BOUND, &mut refusals, || app.issue(tap("viewer-2"))).await;
    let health_on_evicting_redis = health_is(&app, ServingStatus::NotServing).await;
    set_maxmemory_policy(&app.redis().url(), "noeviction").await;
    wait_for("health to report SERVING again", BOUND, || {
        health_is(&app, ServingStatus::Serving)
    })
    .await;
    let tap_after = app.issue(tap("viewer-2")).await;

    assert!(read.is_ok(), "the service reconnected: {read:?}");
    assert_error(
        &tap_on_evicting_redis.unwrap_err(),
        Code::Unavailable,
        "STORE_UNAVAILABLE",
    );
    assert!(health_on_evicting_redis);
    assert!(tap_after.is_ok(), "{tap_after:?}");
    assert_eq!(app.total(Dimension::Merchant, MERCHANT).await.taps, 2);
}

#[tokio::test]
async fn a_redis_store_without_signing_keys_is_refused_at_startup() {
    let redis = TestRedis::start().await;
    let keys = Keys::new();
    let config = cartclick::config::Config {
        store: StoreUrl::Redis(redis.url()),
        signing_keys: None,
        ..test_config(&keys)
    };

    let message = startup_error(config).await;

    assert!(message.contains("signing_keys"), "{message}");
}

#[tokio::test]
async fn every_key_but_the_registry_expires() {
    let app = TestApp::builder().redis().spawn().await;
    full_flow(&app).await;
    let mut redis = app.redis().connection().await;

    let mut without_ttl = Vec::new();
    let mut registry = Vec::new();
    for key in scan(&mut redis, "*").await {
        let ttl: i64 = redis::cmd("TTL")
            .arg(&key)
            .query_async(&mut redis)
            .await
            .unwrap();
        assert_ne!(ttl, -2, "{key} vanished during the scan");
        if ttl == -1 {
            without_ttl.push(key.clone());
        }
        if key.starts_with("r:") {
            registry.push(key);
        }
    }

    without_ttl.sort();
    registry.sort();
    assert!(
        registry.len() >= 3,
        "two merchants and a campaign: {registry:?}"
    );
    assert_eq!(without_ttl, registry);
}

#[tokio::test]
async fn reconcile_finds_no_drift_after_a_clean_flow_and_finds_a_tampered_counter() {
    let app = TestApp::builder().redis().spawn().await;
    full_flow(&app).await;
    let day = start_time().date_naive();

    let clean = app
        .domain
        .reconcile(&MerchantId::stored(MERCHANT), day)
        .await
        .unwrap();
    tamper_with_a_counter(&app).await;
    let tampered = app
        .domain
        .reconcile(&MerchantId::stored(MERCHANT), day)
        .await
        .unwrap();

    assert_eq!(clean.drift, Vec::<String>::new());
    assert!(!tampered.drift.is_empty(), "{tampered:?}");
}

#[tokio::test]
async fn the_reconcile_command_exits_zero_when_clean_and_one_on_drift() {
    let app = TestApp::builder().redis().spawn().await;
    full_flow(&app).await;
    let url = app.redis().url();

    let clean = reconcile_command(&url, MERCHANT).await;
    tamper_with_a_counter(&app).await;
    let tampered = reconcile_command(&url, MERCHANT).await;

    assert!(clean.status.success(), "{clean:?}");
    assert_eq!(tampered.status.code(), Some(1), "{tampered:?}");
}

#[tokio::test]
async fn the_reconcile_command_exits_two_on_an_unknown_merchant() {
    let app = TestApp::builder().redis().spawn().await;
    full_flow(&app).await;
    let url = app.redis().url();

    let unknown = reconcile_command(&url, "nope").await;

    assert_eq!(unknown.status.code(), Some(2), "{unknown:?}");
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(stderr.contains("merchant not found"), "{stderr}");
    assert!(
        !String::from_utf8_lossy(&unknown.stdout).contains("no drift"),
        "{unknown:?}"
    );
}

#[tokio::test]
async fn the_reconcile_command_shows_its_progress_on_stderr() {
    let app = TestApp::builder().redis().spawn().await;
    full_flow(&app).await;
    let url = app.redis().url();

    let clean = reconcile_command(&url, MERCHANT).await;

    assert!(clean.status.success(), "{clean:?}");
    let stderr = String::from_utf8_lossy(&clean.stderr);
    let steps: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("reconcile: "))
        .collect();
    assert!(steps.len() >= 3, "{stderr}");
    assert!(
        steps.iter().any(|line| line.contains("2 sale and")),
        "names what it read: {stderr}"
    );
    assert!(String::from_utf8_lossy(&clean.stdout).contains("no drift"));
}

#[tokio::test]
async fn reconcile_finds_a_ledger_or_a_commission_counter_tampered_with() {
    let app = TestApp::builder().redis().spawn().await;
    crate::earnings::earnings_day(&app).await;
    let day = start_time().date_naive();
    let merchant = MerchantId::stored(MERCHANT);
    let mut redis = app.redis().connection().await;
    let clean = app.domain.reconcile(&merchant, day).await.unwrap();

    let _: i64 = redis::cmd("HINCRBY")
        .arg(format!("l:{{{MERCHANT}}}:cr-2:DKK"))
        .arg("u")
        .arg(1)
        .query_async(&mut redis)
        .await
        .unwrap();
    let ledger = app.domain.reconcile(&merchant, day).await.unwrap();
    let _: i64 = redis::cmd("HINCRBY")
        .arg(format!("l:{{{MERCHANT}}}:cr-2:DKK"))
        .arg("u")
        .arg(-1)
        .query_async(&mut redis)
        .await
        .unwrap();
    fold(&app).await;
    let counter = scan(&mut redis, "n:*:d:*:m:*").await;
    let _: i64 = redis::cmd("HINCRBY")
        .arg(&counter[0])
        .arg("k:DKK")
        .arg(1)
        .query_async(&mut redis)
        .await
        .unwrap();
    let commission = app.domain.reconcile(&merchant, day).await.unwrap();

    assert_eq!(clean.drift, Vec::<String>::new());
    assert!(
        ledger
            .drift
            .iter()
            .any(|d| d.contains("ledger cr-2 DKK: unpaid")),
        "{ledger:?}"
    );
    assert!(
        commission
            .drift
            .iter()
            .any(|d| d.contains("commission counted")),
        "{commission:?}"
    );
}

#[tokio::test]
async fn only_money_still_owed_and_the_registry_never_expire() {
    let app = TestApp::builder().redis().spawn().await;
    crate::earnings::earnings_day(&app).await;
    let mut redis = app.redis().connection().await;

    let mut without_ttl = Vec::new();
    for key in scan(&mut redis, "*").await {
        let ttl: i64 = redis::cmd("TTL")
            .arg(&key)
            .query_async(&mut redis)
            .await
            .unwrap();
        if ttl == -1 && !key.starts_with("r:") {
            without_ttl.push(key);
        }
    }
    without_ttl.sort();

    // cr-1 was paid: its commission of order-a expires after order
    // retention, and its unpaid set, emptied, is gone. cr-2's commission
    // of order-b is still owed: it, its unpaid set and both ledgers stay,
    // with the listing indexes and the earnings index.
    let tag = format!("{{{MERCHANT}}}");
    let mut owed = vec![
        format!("c:{tag}:order-b"),
        format!("i:{tag}"),
        format!("i:{tag}:cr-1"),
        format!("i:{tag}:cr-2"),
        format!("l:{tag}:cr-1:DKK"),
        format!("l:{tag}:cr-2:DKK"),
        format!("u:{tag}:cr-2:DKK"),
        "x:earn:cr-1".to_owned(),
        "x:earn:cr-2".to_owned(),
        format!("y:{tag}:cr-1"),
        format!("y:{tag}:cr-2"),
    ];
    owed.sort();
    assert_eq!(without_ttl, owed);
}

#[tokio::test]
async fn a_paid_commission_lives_as_long_as_its_order_and_its_reversals() {
    let app = TestApp::builder().redis().spawn().await;
    crate::earnings::earnings_day(&app).await;
    let mut redis = app.redis().connection().await;
    let tag = format!("{{{MERCHANT}}}");
    let mut pttl = async |key: String| -> i64 {
        redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut redis)
            .await
            .unwrap()
    };

    // order-a (cr-1) was paid by p-1: the order lives through the click's
    // window and order retention after it, longer than order retention
    // from the payout, and its commission must live as long (a refund that
    // finds the order must find what it takes back from). order-b (cr-2)
    // is unpaid.
    let order = pttl(format!("o:{tag}:order-a")).await;
    let commission = pttl(format!("c:{tag}:order-a")).await;
    let reversal = pttl(format!("v:{tag}:r-a")).await;
    let unpaid = pttl(format!("c:{tag}:order-b")).await;

    assert!(order > 90 * 86_400_000, "{order}");
    assert!((order - commission).abs() < 60_000, "{order} {commission}");
    assert!((order - reversal).abs() < 60_000, "{order} {reversal}");
    assert_eq!(unpaid, -1, "money owed never expires");
}

#[tokio::test]
async fn a_commission_outliving_its_order_is_still_paid_and_kept() {
    let app = TestApp::builder().redis().seeded().spawn().await;
    crate::earnings::pay_later_sale(&app, "order-old").await;
    let mut redis = app.redis().connection().await;
    let tag = format!("{{{MERCHANT}}}");
    // Order retention after its payable time has passed, unpaid.
    let _: i64 = redis::cmd("DEL")
        .arg(format!("o:{tag}:order-old"))
        .query_async(&mut redis)
        .await
        .unwrap();

    let payout = app.paid("p-1", "cr-1").await;
    let kept: i64 = redis::cmd("PTTL")
        .arg(format!("c:{tag}:order-old"))
        .query_async(&mut redis)
        .await
        .unwrap();

    assert_eq!(
        (payout.commissions, payout.amount.unwrap().amount_minor),
        (1, 1_000)
    );
    assert!(kept > 89 * 86_400_000, "kept order retention: {kept}");
}

#[tokio::test]
async fn the_sale_scripts_commission_equals_the_policy_rule_over_the_whole_range() {
    let redis = TestRedis::start().await;
    let mut conn = redis.connection().await;
    let script = redis::Script::new(concat!(
        include_str!("../../src/store/lua/prelude.lua"),
        "local out = {}\n",
        "for i = 1, #ARGV, 2 do out[#out + 1] = int(commission(ARGV[i], ARGV[i + 1])) end\n",
        "return out\n"
    ));
    let mut rng = rand::rng();
    let mut cases: Vec<(i64, u32)> = vec![
        (0, 0),
        (1_000_000_000_000, 10_000),
        (999_999_999_999, 9_999),
        (9_999, 1),
        (10_000, 1),
        (1, 10_000),
    ];
    cases.extend((0..2_000).map(|_| {
        (
            rand::Rng::random_range(&mut rng, 0..=1_000_000_000_000_i64),
            rand::Rng::random_range(&mut rng, 0..=10_000_u32),
        )
    }));

    let mut invocation = script.prepare_invoke();
    for (amount, rate) in &cases {
        invocation.arg(amount).arg(rate);
    }
    let in_lua: Vec<String> = invocation.invoke_async(&mut conn).await.unwrap();

    for ((amount, rate), lua) in cases.iter().zip(in_lua) {
        let rule = cartclick::policy::commission(*amount, *rate);
        assert_eq!(lua, rule.to_string(), "amount {amount} at {rate} bps");
    }
}

/// Two merchants, a campaign, taps (one a repeat) and two sales, 90
/// minutes after the first tap.
async fn full_flow(app: &TestApp) {
    app.seed().await;
    let first = app.issue(tap("viewer-1")).await.unwrap();
    let repeat = app.issue(tap("viewer-1")).await.unwrap();
    assert!(repeat.deduplicated);
    let second = app.issue(tap("viewer-2")).await.unwrap();
    app.clock.advance(TimeDelta::minutes(90));
    app.confirmed(&first.token, "order-1", 12_500, "DKK").await;
    app.confirmed(&second.token, "order-2", 300, "EUR").await;
}

/// Folds the merchant's events into its counters, as a counter read does
/// before it reads: then its counter keys are there to tamper with.
async fn fold(app: &TestApp) {
    app.counters()
        .get_counters(authed(&app.keys.dashboard, test_day(MERCHANT)))
        .await
        .expect("a counter read");
}

/// Adds a conversion to one of the merchant's counter cells behind the
/// service's back (`v` is the conversions field of a counter hash).
async fn tamper_with_a_counter(app: &TestApp) {
    fold(app).await;
    let mut redis = app.redis().connection().await;
    let counters = scan(&mut redis, "n:*").await;
    let counter = counters
        .iter()
        .find(|key| key.contains(MERCHANT))
        .unwrap_or_else(|| panic!("no counter of {MERCHANT} in {counters:?}"));
    let _: i64 = redis::cmd("HINCRBY")
        .arg(counter)
        .arg("v")
        .arg(1)
        .query_async(&mut redis)
        .await
        .unwrap();
}

/// GetCounters of `merchant` over the test day, by the hour.
fn test_day(merchant: &str) -> GetCountersRequest {
    let start = start_time() - TimeDelta::hours(10);
    GetCountersRequest {
        dimension: Dimension::Merchant.into(),
        id: merchant.into(),
        granularity: Granularity::Hour.into(),
        start_time: Some(ts(start)),
        end_time: Some(ts(start + TimeDelta::days(1))),
    }
}

/// Every key matching `pattern`.
async fn scan(redis: &mut redis::aio::MultiplexedConnection, pattern: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, page): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(redis)
            .await
            .unwrap();
        keys.extend(page);
        if next == 0 {
            return keys;
        }
        cursor = next;
    }
}

/// Repeats `call` while it answers UNAVAILABLE (safe to retry, says the
/// contract), for up to [`BOUND`]; returns the first other answer.
async fn retry_while_unavailable<T, F, Fut>(call: F) -> Result<T, Status>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Status>>,
{
    retry_unavailable(BOUND, &mut 0, call).await
}

/// A MONITOR connection to a test Redis, its lines gathered as they come.
struct Monitor {
    lines: mpsc::UnboundedReceiver<String>,
    _reader: JoinHandle<()>,
}

impl Monitor {
    /// Starts monitoring: every command Redis runs from now on is seen.
    async fn attach(redis: &TestRedis) -> Monitor {
        let monitor = redis::Client::open(redis.url())
            .unwrap()
            .get_async_monitor()
            .await
            .expect("MONITOR");
        let (tx, lines) = mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            let mut stream = monitor.into_on_message::<String>();
            while let Some(line) = stream.next().await {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Monitor {
            lines,
            _reader: reader,
        }
    }

    /// Sends a marker command on `connection` and returns every line seen
    /// before it: Redis runs commands one at a time, so everything that
    /// finished before the marker was sent is in these lines.
    async fn until_marker(
        &mut self,
        connection: &mut redis::aio::MultiplexedConnection,
    ) -> Vec<String> {
        let marker = format!(
            "cartclick-test-marker-{}",
            hex::encode(rand::random::<[u8; 8]>())
        );
        let _: String = redis::cmd("ECHO")
            .arg(&marker)
            .query_async(connection)
            .await
            .unwrap();
        let mut lines = Vec::new();
        let deadline = tokio::time::Instant::now() + BOUND;
        loop {
            let line = tokio::time::timeout_at(deadline, self.lines.recv())
                .await
                .expect("MONITOR shows the marker in time")
                .expect("the MONITOR connection stays open");
            if line.contains(&marker) {
                return lines;
            }
            lines.push(line);
        }
    }
}

/// One MONITOR line: `<time> [<db> <client>] "<command>" "<arg>" ...`, where
/// the client is `lua` for commands a script ran.
#[derive(Debug)]
struct MonitorLine {
    /// Run by a script, not sent by a client.
    from_script: bool,
    /// The command, lower case.
    name: String,
    /// Its first key: its first argument for most commands, the first of
    /// KEYS for EVALSHA; or empty.
    key: String,
}

impl MonitorLine {
    fn parse(line: &str) -> MonitorLine {
        let (client, rest) = line
            .split_once('[')
            .and_then(|(_, rest)| rest.split_once(']'))
            .unwrap_or_else(|| panic!("not a MONITOR line: {line:?}"));
        let words = quoted_words(rest);
        let name = words.first().map(|w| w.to_lowercase()).unwrap_or_default();
        // EVALSHA <sha> <number of keys> <key> ...
        let key = if name == "evalsha" { 3 } else { 1 };
        MonitorLine {
            from_script: client.ends_with(" lua"),
            name,
            key: words.get(key).cloned().unwrap_or_default(),
        }
    }
}

/// The double-quoted words of a MONITOR line, escapes left as they are.
fn quoted_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut word = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    word.push(c);
                    word.extend(chars.next());
                }
                '"' => break,
                _ => word.push(c),
            }
        }
        words.push(word);
    }
    words
}

/// A TCP proxy in front of a test Redis that, when armed, drops the
/// connection that sent the next EVALSHA as soon as Redis answers it: Redis
/// runs the script, its reply never reaches the service. (A NOSCRIPT answer
/// passes: Redis ran nothing, and the store's retry is the one lost.)
struct LossyProxy {
    port: u16,
    armed: Arc<AtomicBool>,
    _acceptor: JoinHandle<()>,
}

impl LossyProxy {
    async fn start(redis_port: u16) -> LossyProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let armed = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let armed = armed.clone();
            tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    tokio::spawn(relay(client, redis_port, armed.clone()));
                }
            })
        };
        LossyProxy {
            port,
            armed,
            _acceptor: acceptor,
        }
    }

    /// `redis://` URL of the proxy.
    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// The next EVALSHA's reply is lost.
    fn arm(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }

    /// Replies pass again (a no-op once an armed proxy dropped one).
    fn disarm(&self) {
        self.armed.store(false, Ordering::SeqCst);
    }
}

/// Relays one client connection to Redis and back.
async fn relay(mut client: TcpStream, redis_port: u16, armed: Arc<AtomicBool>) {
    let Ok(mut upstream) = TcpStream::connect(("127.0.0.1", redis_port)).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.split();
    let (mut upstream_read, mut upstream_write) = upstream.split();
    let mut to_redis = vec![0u8; 64 * 1024];
    let mut to_client = vec![0u8; 64 * 1024];
    let mut losing = false;
    loop {
        tokio::select! {
            read = client_read.read(&mut to_redis) => {
                let n = match read {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                let command = &to_redis[..n];
                if upstream_write.write_all(command).await.is_err() {
                    return;
                }
                if contains_evalsha(command) && armed.swap(false, Ordering::SeqCst) {
                    losing = true;
                }
            }
            read = upstream_read.read(&mut to_client) => {
                let n = match read {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                let reply = &to_client[..n];
                if losing && reply.starts_with(b"-NOSCRIPT") {
                    // Redis did not run it: the store loads the script and
                    // sends EVALSHA again, and that one's reply is lost.
                    losing = false;
                    armed.store(true, Ordering::SeqCst);
                } else if losing {
                    // Redis ran the script (it was sent before this reply
                    // came); its answer goes down with the connection.
                    return;
                }
                if client_write.write_all(reply).await.is_err() {
                    return;
                }
            }
        }
    }
}

fn contains_evalsha(bytes: &[u8]) -> bool {
    bytes
        .windows(7)
        .any(|window| window.eq_ignore_ascii_case(b"evalsha"))
}
