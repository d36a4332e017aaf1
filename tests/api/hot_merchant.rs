//! Hot merchants (`[merchant_shards]`): a merchant whose taps are spread
//! over several shards counts exactly what an unsharded merchant does with
//! the same traffic. On a cluster its keys also spread over every primary
//! (tests/api/cluster.rs).

use std::collections::HashMap;

use cartclick::config::Config;
use cartclick::model::MerchantId;
use cartclick::proto::*;
use chrono::TimeDelta;
use tonic::Request;

use crate::support::*;

/// The sharded merchant. Its three shard tags `{m-hot-1}`, `{m-hot-1 1}`
/// and `{m-hot-1 2}` hash to slots 9878, 14847 and 2460: one in each third
/// of the slots, so on three primaries as `redis-cli --cluster create`
/// splits them (tests/api/cluster.rs checks this on the live cluster).
pub const HOT: &str = "m-hot-1";
/// The unsharded merchant with the same traffic.
pub const COLD: &str = "m-cold";
/// Shards of HOT.
pub const SHARDS: u16 = 3;
/// Viewers who tap each merchant's cart.
const VIEWERS: usize = 60;
/// Every this many viewers taps twice (a repeat tap).
const REPEAT_EVERY: usize = 4;
/// Every this many viewers buys.
const BUY_EVERY: usize = 3;
/// What the first order is refunded.
const REFUND: i64 = 500;

/// Spreads HOT over [`SHARDS`] shards.
pub fn sharded(config: &mut Config) {
    config.merchant_shards = HashMap::from([(HOT.to_owned(), SHARDS)]);
}

/// The ids of a merchant's campaign, creator, video and products:
/// `c-hot`, `cr-hot`, `vid-hot`, `sku-hot-a`/`-b` for HOT, `…-cold` for COLD.
fn suffix(merchant: &str) -> &'static str {
    if merchant == HOT { "hot" } else { "cold" }
}

/// A tap by `viewer` on `merchant`'s campaign; the product alternates.
fn tap_at(merchant: &str, viewer: usize) -> IssueTokenRequest {
    let s = suffix(merchant);
    IssueTokenRequest {
        campaign_id: format!("c-{s}"),
        creator_id: format!("cr-{s}"),
        video_id: format!("vid-{s}"),
        product_id: format!(
            "sku-{s}-{}",
            if viewer.is_multiple_of(2) { "a" } else { "b" }
        ),
        landing_url: format!("https://www.{s}.dk/p/{viewer}"),
        ..tap(&format!("viewer-{viewer}"))
    }
}

/// `message` from the admin key acting for `merchant`.
fn as_merchant<T>(app: &TestApp, merchant: &str, message: T) -> Request<T> {
    let mut request = authed(&app.keys.admin, message);
    request.metadata_mut().insert(
        cartclick::auth::ACT_AS_MERCHANT,
        merchant.parse().expect("an ascii merchant id"),
    );
    request
}

fn dkk(amount_minor: i64) -> Option<Money> {
    Some(Money {
        currency_code: "DKK".into(),
        amount_minor,
    })
}

/// The amount of the order of viewer `i`.
fn amount(i: usize) -> i64 {
    1_000 + i as i64
}

/// The same day for HOT and COLD: each merchant with an approved campaign,
/// [`VIEWERS`] viewers tap (every [`REPEAT_EVERY`]th twice), 90 minutes
/// later every [`BUY_EVERY`]th buys, and the first order is partly refunded.
pub async fn busy_day(app: &TestApp) {
    let mut tokens: HashMap<(&str, usize), String> = HashMap::new();
    for merchant in [HOT, COLD] {
        let s = suffix(merchant);
        app.put_merchant(merchant, &[&format!("{s}.dk")], "").await;
        app.put_campaign(&format!("c-{s}"), merchant, "apparel", &[])
            .await;
        app.review(&format!("c-{s}"), ReviewDecision::Approve).await;
        for viewer in 0..VIEWERS {
            let issued = app.issue(tap_at(merchant, viewer)).await.unwrap();
            assert!(!issued.deduplicated, "{merchant} viewer {viewer}");
            if viewer.is_multiple_of(REPEAT_EVERY) {
                let again = app.issue(tap_at(merchant, viewer)).await.unwrap();
                assert!(again.deduplicated, "{merchant} viewer {viewer} again");
                assert_eq!(again.click_id, issued.click_id);
            }
            tokens.insert((merchant, viewer), issued.token);
        }
    }
    app.clock.advance(TimeDelta::minutes(90));
    for merchant in [HOT, COLD] {
        for viewer in (0..VIEWERS).step_by(BUY_EVERY) {
            let sale = ConfirmSaleRequest {
                token: tokens[&(merchant, viewer)].clone(),
                order_id: format!("order-{viewer}"),
                amount: dkk(amount(viewer)),
            };
            app.sales()
                .confirm_sale(as_merchant(app, merchant, sale))
                .await
                .unwrap_or_else(|status| panic!("{merchant} order-{viewer}: {status:?}"));
        }
        let refund = ReverseSaleRequest {
            order_id: "order-0".into(),
            reversal_id: "refund-0".into(),
            amount: dkk(REFUND),
        };
        app.sales()
            .reverse_sale(as_merchant(app, merchant, refund))
            .await
            .unwrap_or_else(|status| panic!("{merchant} refund: {status:?}"));
    }
}

/// Asserts that HOT's figures after [`busy_day`] are what the day adds up
/// to and equal COLD's: counters of every dimension by hour and by day,
/// every top list, the event stream, and a clean reconciliation.
pub async fn assert_hot_counts_as_cold(app: &TestApp) {
    let buyers: Vec<usize> = (0..VIEWERS).step_by(BUY_EVERY).collect();
    let merchant = app.total(Dimension::Merchant, HOT).await;
    assert_eq!(
        (
            merchant.taps,
            merchant.clicks,
            merchant.conversions,
            merchant.revenue.clone(),
            merchant.refunded.clone(),
        ),
        (
            (VIEWERS + VIEWERS.div_ceil(REPEAT_EVERY)) as i64,
            VIEWERS as i64,
            buyers.len() as i64,
            vec![dkk(buyers.iter().map(|i| amount(*i)).sum()).unwrap()],
            vec![dkk(REFUND).unwrap()],
        ),
        "{HOT}: {merchant:?}"
    );

    let pairs = [
        (Dimension::Merchant, HOT.to_owned(), COLD.to_owned()),
        (Dimension::Campaign, "c-hot".into(), "c-cold".into()),
        (Dimension::Creator, "cr-hot".into(), "cr-cold".into()),
        (Dimension::Video, "vid-hot".into(), "vid-cold".into()),
        (Dimension::Product, "sku-hot-a".into(), "sku-cold-a".into()),
        (Dimension::Product, "sku-hot-b".into(), "sku-cold-b".into()),
    ];
    for (dimension, hot, cold) in pairs {
        for granularity in [Granularity::Hour, Granularity::Day] {
            assert_eq!(
                app.counters_of(dimension, &hot, granularity).await,
                app.counters_of(dimension, &cold, granularity).await,
                "{dimension:?} {hot} vs {cold} by {granularity:?}"
            );
        }
    }

    for dimension in RANKED {
        for (metric, currency) in [
            (TopMetric::Clicks, ""),
            (TopMetric::Conversions, ""),
            (TopMetric::Revenue, "DKK"),
        ] {
            let hot = app.top_of_day(dimension, metric, currency, HOT).await;
            let cold = app.top_of_day(dimension, metric, currency, COLD).await;
            let hot_as_cold: Vec<(String, i64)> = hot
                .iter()
                .map(|(id, value)| (id.replace("hot", "cold"), *value))
                .collect();
            assert!(!hot.is_empty(), "{dimension:?} {metric:?}");
            assert_eq!(hot_as_cold, cold, "{dimension:?} {metric:?}");
        }
    }

    let store = app.domain.store();
    let kinds = |events: Vec<cartclick::model::Event>| {
        let mut kinds: Vec<String> = events.iter().map(|e| format!("{:?}", e.kind)).collect();
        kinds.sort();
        kinds
    };
    let hot_events = kinds(store.read_events(HOT, None, 10_000).await.unwrap());
    let cold_events = kinds(store.read_events(COLD, None, 10_000).await.unwrap());
    assert_eq!(hot_events.len(), merchant.taps as usize + buyers.len() + 1);
    assert_eq!(hot_events, cold_events);

    let day = start_time().date_naive();
    let hot = app
        .domain
        .reconcile(&MerchantId::stored(HOT), day)
        .await
        .unwrap();
    let cold = app
        .domain
        .reconcile(&MerchantId::stored(COLD), day)
        .await
        .unwrap();
    assert_eq!(hot.drift, Vec::<String>::new(), "{hot:?}");
    assert_eq!(cold.drift, Vec::<String>::new(), "{cold:?}");
    assert_eq!((hot.clicks, hot.sales), (VIEWERS, buyers.len()));
    assert_eq!((hot.clicks, hot.sales), (cold.clicks, cold.sales));
}

async fn a_sharded_merchant_counts_exactly_what_an_unsharded_one_does(backend: Backend) {
    let app = TestApp::builder().on(backend).config(sharded).spawn().await;

    busy_day(&app).await;

    assert_hot_counts_as_cold(&app).await;
}

on_all_backends!(a_sharded_merchant_counts_exactly_what_an_unsharded_one_does);

/// A merchant's shard count changed between deploys (3, then 1 and 5, all
/// serving from one Redis): every sale finds its click whichever count
/// placed it, and every server's reads sum every shard the merchant has
/// written to.
#[tokio::test]
async fn a_merchants_shard_count_can_change_without_losing_a_click_or_a_count() {
    const BEFORE: usize = 30;
    const AFTER: usize = 10;
    let redis = TestRedis::start().await;
    // One deployment's keys and pepper, three shard counts.
    let shards = |count: u16| {
        move |config: &mut Config| {
            config.merchant_shards = HashMap::from([(MERCHANT.to_owned(), count)]);
        }
    };
    let three = TestApp::builder()
        .redis_at(&redis.url())
        .config(shards(3))
        .seeded()
        .spawn()
        .await;
    let mut tokens = Vec::new();
    for viewer in 0..BEFORE {
        let issued = three.issue(tap(&format!("viewer-{viewer}"))).await.unwrap();
        tokens.push(issued.token);
    }

    let shared = || TestApp::builder().redis_at(&redis.url()).like(&three);
    let one = shared().config(shards(1)).spawn().await;
    let five = shared().config(shards(5)).spawn().await;
    for (i, token) in tokens.iter().enumerate() {
        let app = if i.is_multiple_of(2) { &one } else { &five };
        app.confirm(token, &format!("order-{i}"), 100, "DKK")
            .await
            .unwrap_or_else(|status| panic!("order-{i}: {status:?}"));
    }
    for viewer in BEFORE..BEFORE + AFTER {
        five.issue(tap(&format!("viewer-{viewer}"))).await.unwrap();
    }

    for (name, app) in [("3 shards", &three), ("1 shard", &one), ("5 shards", &five)] {
        let total = app.total(Dimension::Merchant, MERCHANT).await;
        let campaign = app.total(Dimension::Campaign, CAMPAIGN).await;
        let expected = (
            (BEFORE + AFTER) as i64,
            (BEFORE + AFTER) as i64,
            BEFORE as i64,
        );
        assert_eq!(
            (total.taps, total.clicks, total.conversions),
            expected,
            "{name}"
        );
        assert_eq!(
            (campaign.taps, campaign.clicks, campaign.conversions),
            expected,
            "{name}"
        );
    }
}

/// A sale counts on a sharded merchant's shard 0, whatever shard its click
/// was placed in: a creator whose only tap landed on another shard still
/// finds the sale when read across merchants.
#[tokio::test]
async fn a_sale_of_a_click_on_another_shard_counts_for_its_creator() {
    let app = TestApp::builder().redis().config(sharded).spawn().await;
    app.put_merchant(HOT, &["hot.dk"], "").await;
    app.put_campaign("c-hot", HOT, "apparel", &[]).await;
    app.review("c-hot", ReviewDecision::Approve).await;
    let (creator, token) = 'placed: {
        for viewer in 0..VIEWERS {
            let creator = format!("cr-solo-{viewer}");
            let issued = app
                .issue(IssueTokenRequest {
                    creator_id: creator.clone(),
                    ..tap_at(HOT, viewer)
                })
                .await
                .unwrap();
            // The click id's last byte is its shard (see `RedisStore::place`).
            if !issued.click_id.ends_with("00") {
                break 'placed (creator, issued.token);
            }
        }
        panic!("no click of {VIEWERS} viewers left shard 0");
    };
    app.clock.advance(TimeDelta::minutes(90));
    let sale = ConfirmSaleRequest {
        token,
        order_id: "order-solo".into(),
        amount: dkk(amount(0)),
    };
    app.sales()
        .confirm_sale(as_merchant(&app, HOT, sale))
        .await
        .unwrap();

    let total = app.total(Dimension::Creator, &creator).await;

    assert_eq!((total.taps, total.conversions), (1, 1), "{total:?}");
    assert_eq!(total.revenue, vec![dkk(amount(0)).unwrap()]);
}
