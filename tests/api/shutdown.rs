//! Graceful shutdown of the real binary on SIGTERM, while clients hold idle
//! connections, a health watch and a WatchCounters stream, and a sale is in
//! flight: health reports NOT_SERVING first, streams end, the sale
//! finishes, and the process exits 0 within its grace period.
//!
//! The binary runs on a Redis store behind a [`TcpProxy`] that can hold
//! Redis's replies: that keeps the sale in flight for as long as the test
//! needs (the store timeout is set far beyond the test).

use std::time::{Duration, Instant};

use cartclick::proto::counter_service_client::CounterServiceClient;
use cartclick::proto::*;
use tokio_stream::StreamExt;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::support::*;

/// The binary on a Redis store behind a proxy, with `grace_seconds`.
async fn binary_on_held_redis(grace_seconds: u64) -> (ServerProcess, TcpProxy, TestRedis) {
    binary_on_proxied_redis(
        Launch::default()
            .setting(format!("shutdown_grace_seconds = {grace_seconds}"))
            .setting("store_timeout_ms = 60000"),
    )
    .await
}

/// Holds Redis's replies and starts a sale; returns once the sale's script
/// has reached Redis (its reply is then held in the proxy).
async fn hold_a_sale(
    client: &Client,
    proxy: &TcpProxy,
    token: &str,
) -> tokio::task::JoinHandle<Result<ConfirmSaleResponse, tonic::Status>> {
    proxy.pause();
    let scripts = proxy.sent("EVALSHA");
    let sale = {
        let client = client.clone();
        let token = token.to_owned();
        tokio::spawn(async move { client.confirm(&token, "order-1", 12_500, "DKK").await })
    };
    wait_for("the sale's script to reach redis", BOUND, || {
        std::future::ready(proxy.sent("EVALSHA") > scripts)
    })
    .await;
    sale
}

#[tokio::test]
async fn sigterm_reports_not_serving_ends_streams_finishes_calls_in_flight_and_exits_within_the_grace_period()
 {
    const GRACE: Duration = Duration::from_secs(5);
    let (mut server, proxy, _redis) = binary_on_held_redis(GRACE.as_secs()).await;
    let client = server.client().await;
    client.seed().await;
    let issued = client.issue(tap("viewer-1")).await.unwrap();
    // A health watch and a counters watch on one connection…
    let mut health = HealthClient::new(client.channel.clone())
        .watch(HealthCheckRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        health.next().await.unwrap().unwrap().status(),
        ServingStatus::Serving
    );
    let mut counters = CounterServiceClient::new(client.channel.clone())
        .watch_counters(authed(
            &client.keys.dashboard,
            WatchCountersRequest {
                dimension: Dimension::Merchant.into(),
                id: MERCHANT.into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    counters.next().await.unwrap().unwrap();
    // …and an idle connection, connected and then left alone.
    let idle = server.channel().await;
    HealthClient::new(idle.clone())
        .check(HealthCheckRequest::default())
        .await
        .unwrap();
    let sale = hold_a_sale(&client, &proxy, &issued.token).await;
    // The counters watch reads every second (the merchant's shard tags,
    // then its counters): wait until one of its reads is held too, so its
    // end cannot wait for Redis.
    let watch_reads = || proxy.sent("SMEMBERS") + proxy.sent("HGETALL");
    let reads = watch_reads();
    wait_for("a watch read to reach redis", BOUND, || {
        std::future::ready(watch_reads() > reads)
    })
    .await;

    let signalled = Instant::now();
    server.sigterm();

    let health_now = tokio::time::timeout(BOUND, health.next())
        .await
        .expect("health changes after SIGTERM")
        .unwrap()
        .unwrap()
        .status();
    drop(health);
    let counters_end = tokio::time::timeout(BOUND, counters.next())
        .await
        .expect("the counters watch ends after SIGTERM");
    let sale_still_running = !sale.is_finished();
    proxy.resume();
    let sale = tokio::time::timeout(BOUND, sale)
        .await
        .expect("the sale in flight finishes")
        .unwrap();
    let status = server.wait_for_exit(GRACE + BOUND).await;
    let took = signalled.elapsed();
    let lines = server.all_lines();

    assert_eq!(health_now, ServingStatus::NotServing);
    assert!(
        counters_end.is_none(),
        "the watch ended with {counters_end:?}, not cleanly"
    );
    assert!(sale_still_running, "the sale ended before Redis answered");
    assert_eq!(sale.expect("the sale succeeds").click_id, issued.click_id);
    assert!(status.success(), "{status}: {lines:#?}");
    assert!(
        took < GRACE,
        "exited {took:?} after SIGTERM, not within the {GRACE:?} grace period: \
         something held the drain ({lines:#?})"
    );
    assert!(
        !lines.iter().any(|line| line.contains("grace period over")),
        "{lines:#?}"
    );
    drop(idle);
}

#[tokio::test]
async fn sigterm_exits_at_the_end_of_the_grace_period_when_a_call_never_finishes() {
    const GRACE: Duration = Duration::from_secs(1);
    let (mut server, proxy, _redis) = binary_on_held_redis(GRACE.as_secs()).await;
    let client = server.client().await;
    client.seed().await;
    let issued = client.issue(tap("viewer-1")).await.unwrap();
    let _stuck = hold_a_sale(&client, &proxy, &issued.token).await;

    let signalled = Instant::now();
    server.sigterm();
    let status = server.wait_for_exit(GRACE + BOUND).await;
    let took = signalled.elapsed();
    let lines = server.all_lines();

    assert!(status.success(), "{status}: {lines:#?}");
    assert!(
        took >= GRACE,
        "exited after {took:?}, before the grace period"
    );
    assert!(
        lines.iter().any(|line| line.contains("grace period over")),
        "{lines:#?}"
    );
}
