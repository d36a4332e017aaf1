//! The `Store` contract (the doc comments of the traits in src/store/mod.rs),
//! straight on the traits: no gRPC, no domain. A store reports what it found
//! (`SaleWrite::Existing`, ...); where a test also names the contract error
//! that follows, it asks the `policy` rule the domain decides with. Every
//! test runs on every store. Times are near a fixed instant; a store takes
//! "now" from the click or sale it is given, so fixed past or future
//! instants behave as the present would.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use cartclick::error::Error;
use cartclick::model::{
    ApiKey, Attribution, BucketRange, Campaign, CampaignId, CampaignQuery, CampaignStatus,
    ClickRecord, CommissionTerms, CounterCell, Counts, CreatorId, Dimension, FirstClick, Grant,
    Granularity, KeyId, KeyQuery, Merchant, MerchantId, Money, NewClick, NewReversal, NewSale,
    OrderId, Page, ProductId, ReversalId, Role, SaleRecord, Signals, VideoId,
};
use cartclick::policy;
use cartclick::store::{ClickWrite, RefundFacts, ReversalRecord, ReversalWrite, SaleWrite, Store};
use cartclick::token::ClickId;
use chrono::{DateTime, TimeDelta, Utc};

use crate::support::{Backend, on_all_backends, start_time, store_on};

/// The dedup window every tap here is recorded with.
const DEDUP_WINDOW: Duration = Duration::from_secs(30 * 60);

/// `minutes` after the test's start instant (a whole hour).
fn at(minutes: i64) -> DateTime<Utc> {
    start_time() + TimeDelta::minutes(minutes)
}

/// Credit for `merchant` and `campaign`, creator cr-1, video vid-1, product sku-1.
fn attribution(merchant: &str, campaign: &str) -> Attribution {
    Attribution {
        merchant_id: MerchantId::stored(merchant),
        campaign_id: CampaignId::stored(campaign),
        creator_id: CreatorId::stored("cr-1"),
        video_id: VideoId::stored("vid-1"),
        product_id: ProductId::stored("sku-1"),
    }
}

/// A first tap by a new viewer at `clicked_at`, with a seven-day window.
fn tap(attribution: &Attribution, clicked_at: DateTime<Utc>) -> NewClick {
    let click_id = ClickId::random();
    NewClick {
        record: ClickRecord {
            click_id,
            attribution: attribution.clone(),
            terms: CommissionTerms::NONE,
            viewer_hash: Some(rand::random()),
            clicked_at,
            expires_at: clicked_at + TimeDelta::days(7),
            signals: Signals::NONE,
        },
        kid: "k1".into(),
        dedup_key: rand::random(),
        dedup_window: DEDUP_WINDOW,
        tap_limit: 1000,
        tap_window: Duration::from_secs(60),
        // The fraud tests turn signals on; the rest test without them.
        fraud: None,
    }
}

/// The same viewer tapping the same cart again at `clicked_at`: a fresh
/// click id, the same dedup key.
fn again(first: &NewClick, clicked_at: DateTime<Utc>) -> NewClick {
    let mut next = tap(&first.record.attribution, clicked_at);
    next.dedup_key = first.dedup_key;
    next.record.viewer_hash = first.record.viewer_hash;
    next
}

/// A sale of `click`'s merchant confirmed at `now`, inside the token's window.
fn sale(click: &NewClick, order_id: &str, amount: Money, now: DateTime<Utc>) -> NewSale {
    NewSale {
        merchant_id: click.record.attribution.merchant_id.clone(),
        order_id: OrderId::stored(order_id),
        click_id: click.record.click_id,
        click_expires_at: click.record.expires_at,
        amount,
        now,
        token_expired: false,
        fraud: None,
    }
}

/// A refund of `amount` on `order_id` of `merchant` at `now`.
fn refund(
    merchant: &str,
    order_id: &str,
    reversal_id: &str,
    amount: Money,
    now: DateTime<Utc>,
) -> NewReversal {
    NewReversal {
        merchant_id: MerchantId::stored(merchant),
        order_id: OrderId::stored(order_id),
        reversal_id: ReversalId::stored(reversal_id),
        amount,
        now,
        plan: None,
    }
}

/// The sale a write stored; any other outcome fails the test.
#[track_caller]
fn stored(write: SaleWrite) -> SaleRecord {
    match write {
        SaleWrite::New(sale) => sale,
        other => panic!("expected a new sale, got {other:?}"),
    }
}

fn money(currency: &str, amount_minor: i64) -> Money {
    Money {
        currency: currency.into(),
        amount_minor,
    }
}

fn counts(taps: i64, clicks: i64, conversions: i64, revenue: &[(&str, i64)]) -> Counts {
    Counts {
        taps,
        clicks,
        conversions,
        revenue: revenue.iter().map(|(c, a)| (c.to_string(), *a)).collect(),
        ..Counts::default()
    }
}

/// `count` hourly buckets from the one holding `from`.
fn hours(from: DateTime<Utc>, count: u32) -> BucketRange {
    BucketRange {
        granularity: Granularity::Hour,
        first: Granularity::Hour.bucket_start(from),
        count,
    }
}

/// `count` daily buckets from the one holding `from`.
fn days(from: DateTime<Utc>, count: u32) -> BucketRange {
    BucketRange {
        granularity: Granularity::Day,
        first: Granularity::Day.bucket_start(from),
        count,
    }
}

/// The counts of `id` over `range`, summed (checking one bucket came per bucket).
async fn total(store: &dyn Store, dimension: Dimension, id: &str, range: BucketRange) -> Counts {
    let buckets = store
        .read_counters(dimension, id, range, None)
        .await
        .expect("reads counters");
    assert_eq!(buckets.len(), range.count as usize, "one per bucket");
    let mut sum = Counts::default();
    for bucket in &buckets {
        sum.add(bucket);
    }
    sum
}

fn merchant(id: &str, domains: &[&str]) -> Merchant {
    Merchant {
        merchant_id: MerchantId::stored(id),
        display_name: format!("Shop {id}"),
        allowed_domains: domains.iter().map(|d| d.to_string()).collect(),
        token_param: "cc".into(),
    }
}

fn campaign(id: &str, category: &str, revision: u64) -> Campaign {
    Campaign {
        campaign_id: CampaignId::stored(id),
        merchant_id: MerchantId::stored("m-1"),
        category: category.into(),
        attribution_window: Duration::from_secs(7 * 86_400),
        product_ids: vec![ProductId::stored("sku-1")],
        terms: CommissionTerms::NONE,
        status: CampaignStatus::Pending,
        review_reason: String::new(),
        revision,
    }
}

fn sorted_cells(mut cells: Vec<CounterCell>) -> Vec<CounterCell> {
    cells.sort_by(|a, b| (a.start, a.dimension, &a.id).cmp(&(b.start, b.dimension, &b.id)));
    cells
}

async fn a_reachable_store_answers_connectivity_checks(backend: Backend) {
    let store = store_on(backend).await;

    let answer = store.check_connectivity().await;

    assert!(answer.is_ok(), "{answer:?}");
}

async fn a_merchant_reads_back_as_put_and_a_put_replaces_it(backend: Backend) {
    let store = store_on(backend).await;
    let first = merchant("m-1", &["shop.dk"]);
    let replaced = Merchant {
        display_name: "Renamed".into(),
        allowed_domains: vec!["shop.dk".into(), "shop.se".into()],
        token_param: "ref".into(),
        ..first.clone()
    };

    store.put_merchant(&first).await.unwrap();
    let read_first = store.get_merchant("m-1").await.unwrap();
    store.put_merchant(&replaced).await.unwrap();
    let read_replaced = store.get_merchant("m-1").await.unwrap();

    assert_eq!(read_first, Some(first));
    assert_eq!(read_replaced, Some(replaced));
}

async fn unknown_merchants_and_campaigns_read_as_none(backend: Backend) {
    let store = store_on(backend).await;
    store
        .put_merchant(&merchant("m-1", &["shop.dk"]))
        .await
        .unwrap();

    let merchant = store.get_merchant("m-unknown").await.unwrap();
    let campaign = store.get_campaign("c-unknown").await.unwrap();

    assert_eq!(merchant, None);
    assert_eq!(campaign, None);
}

async fn a_new_campaign_is_written_once_when_no_revision_is_expected(backend: Backend) {
    let store = store_on(backend).await;
    let first = campaign("c-1", "apparel", 1);
    let second = campaign("c-1", "shoes", 1);

    let wrote_first = store.put_campaign(&first, None).await.unwrap();
    let wrote_second = store.put_campaign(&second, None).await.unwrap();

    assert!(wrote_first);
    assert!(!wrote_second);
    assert_eq!(store.get_campaign("c-1").await.unwrap(), Some(first));
}

async fn a_write_at_the_stored_revision_succeeds_and_a_stale_one_writes_nothing(backend: Backend) {
    let store = store_on(backend).await;
    store
        .put_campaign(&campaign("c-1", "apparel", 1), None)
        .await
        .unwrap();
    let current = Campaign {
        status: CampaignStatus::Approved,
        review_reason: "looks fine".into(),
        ..campaign("c-1", "apparel", 2)
    };
    let stale = campaign("c-1", "shoes", 2);

    let wrote_current = store.put_campaign(&current, Some(1)).await.unwrap();
    let wrote_stale = store.put_campaign(&stale, Some(1)).await.unwrap();

    assert!(wrote_current);
    assert!(!wrote_stale);
    assert_eq!(store.get_campaign("c-1").await.unwrap(), Some(current));
}

async fn an_expected_revision_for_a_missing_campaign_writes_nothing(backend: Backend) {
    let store = store_on(backend).await;

    let wrote = store
        .put_campaign(&campaign("c-1", "apparel", 2), Some(1))
        .await
        .unwrap();

    assert!(!wrote);
    assert_eq!(store.get_campaign("c-1").await.unwrap(), None);
}

async fn a_new_click_is_recorded_and_counted_as_a_tap_and_a_click_in_every_dimension(
    backend: Backend,
) {
    let store = store_on(backend).await;
    let credit = attribution("m-1", "c-1");
    let first = tap(&credit, at(0));

    let outcome = store.record_click(&first).await.unwrap();

    assert_eq!(
        outcome,
        ClickWrite::New(first.record.click_id, Signals::NONE)
    );
    for dimension in Dimension::ALL {
        for range in [hours(at(0), 1), days(at(0), 1)] {
            assert_eq!(
                total(&*store, dimension, credit.id(dimension), range).await,
                counts(1, 1, 0, &[]),
                "{dimension:?} {:?}",
                range.granularity
            );
        }
    }
}

async fn a_repeat_tap_inside_the_dedup_window_answers_the_first_click_and_counts_a_tap_only(
    backend: Backend,
) {
    let store = store_on(backend).await;
    let credit = attribution("m-1", "c-1");
    let first = tap(&credit, at(0));
    store.record_click(&first).await.unwrap();

    let outcome = store.record_click(&again(&first, at(29))).await.unwrap();

    assert_eq!(
        outcome,
        ClickWrite::Repeat(FirstClick {
            click_id: first.record.click_id,
            clicked_at: first.record.clicked_at,
            expires_at: first.record.expires_at,
            kid: first.kid.clone(),
            signals: Signals::NONE,
        })
    );
    for dimension in Dimension::ALL {
        assert_eq!(
            total(&*store, dimension, credit.id(dimension), hours(at(0), 1)).await,
            counts(2, 1, 0, &[]),
            "{dimension:?}"
        );
    }
}

async fn a_retried_tap_with_the_same_click_id_is_recorded_and_counts_nothing_more(
    backend: Backend,
) {
    let store = store_on(backend).await;
    let credit = attribution("m-1", "c-1");
    let first = tap(&credit, at(0));
    store.record_click(&first).await.unwrap();

    let retried = store.record_click(&first).await.unwrap();

    assert_eq!(
        retried,
        ClickWrite::New(first.record.click_id, Signals::NONE)
    );
    assert_eq!(
        total(&*store, Dimension::Campaign, "c-1", hours(at(0), 1)).await,
        counts(1, 1, 0, &[])
    );
}

async fn a_tap_after_the_dedup_window_is_a_new_click(backend: Backend) {
    let store = store_on(backend).await;
    let credit = attribution("m-1", "c-1");
    let first = tap(&credit, at(0));
    store.record_click(&first).await.unwrap();
    let later = again(&first, at(31));

    let outcome = store.record_click(&later).await.unwrap();

    assert_eq!(
        outcome,
        ClickWrite::New(later.record.click_id, Signals::NONE)
    );
    assert_eq!(
        total(&*store, Dimension::Campaign, "c-1", hours(at(0), 1)).await,
        counts(2, 2, 0, &[])
    );
    let on_the_later_click = store
        .confirm_sale(&sale(&later, "order-1", money("DKK", 100), at(40)))
        .await
        .unwrap();
    assert_eq!(stored(on_the_later_click).click_id, later.record.click_id);
}

async fn a_new_sale_is_attributed_to_its_click_and_counted_in_every_dimension(backend: Backend) {
    let store = store_on(backend).await;
    let credit = attribution("m-1", "c-1");
    let click = tap(&credit, at(0));
    store.record_click(&click).await.unwrap();

    let outcome = store
        .confirm_sale(&sale(&click, "order-1", money("DKK", 12_500), at(90)))
        .await
        .unwrap();

    assert_eq!(
        outcome,
        SaleWrite::New(SaleRecord {
            click_id: click.record.click_id,
            attribution: credit.clone(),
            amount: money("DKK", 12_500),
            clicked_at: at(0),
            confirmed_at: at(90),
            commission: money("DKK", 0),
            signals: Signals::NONE,
        })
    );
    for dimension in Dimension::ALL {
        let id = credit.id(dimension);
        assert_eq!(
            total(&*store, dimension, id, hours(at(90), 1)).await,
            counts(0, 0, 1, &[("DKK", 12_500)]),
            "{dimension:?}"
        );
        assert_eq!(
            total(&*store, dimension, id, days(at(0), 1)).await,
            counts(1, 1, 1, &[("DKK", 12_500)]),
            "{dimension:?}"
        );
    }
}

async fn an_identical_replay_returns_the_first_sale_and_counts_once(backend: Backend) {
    let store = store_on(backend).await;
    let click = tap(&attribution("m-1", "c-1"), at(0));
    store.record_click(&click).await.unwrap();
    let first = stored(
        store
            .confirm_sale(&sale(&click, "order-1", money("DKK", 12_500), at(90)))
            .await
            .unwrap(),
    );
    let again = sale(&click, "order-1", money("DKK", 12_500), at(95));

    let replay = store.confirm_sale(&again).await.unwrap();

    assert_eq!(replay, SaleWrite::Existing(first.clone()));
    assert!(policy::is_same_sale(&first, &again.click_id, &again.amount));
    assert_eq!(
        total(&*store, Dimension::Merchant, "m-1", days(at(0), 1)).await,
        counts(1, 1, 1, &[("DKK", 12_500)])
    );
}

async fn the_same_order_with_another_amount_currency_or_click_reports_the_first_sale_an_order_conflict(
    backend: Backend,
) {
    let store = store_on(backend).await;
    let credit = attribution("m-1", "c-1");
    let first = tap(&credit, at(0));
    let second = tap(&credit, at(1));
    store.record_click(&first).await.unwrap();
    store.record_click(&second).await.unwrap();
    let first_sale = stored(
        store
            .confirm_sale(&sale(&first, "order-1", money("DKK", 12_500), at(10)))
            .await
            .unwrap(),
    );

    let conflicts = [
        sale(&first, "order-1", money("DKK", 99), at(11)),
        sale(&first, "order-1", money("EUR", 12_500), at(11)),
        sale(&second, "order-1", money("DKK", 12_500), at(11)),
    ];
    for conflict in conflicts {
        let result = store.confirm_sale(&conflict).await;

        assert_eq!(
            result,
            Ok(SaleWrite::Existing(first_sale.clone())),
            "{conflict:?}"
        );
        assert!(
            !policy::is_same_sale(&first_sale, &conflict.click_id, &conflict.amount),
            "{conflict:?} is an order conflict"
        );
    }
    assert_eq!(
        total(&*store, Dimension::Merchant, "m-1", days(at(0), 1)).await,
        counts(2, 2, 1, &[("DKK", 12_500)])
    );
}

async fn an_expired_token_without_a_prior_order_reports_expired_and_counts_nothing(
    backend: Backend,
) {
    let store = store_on(backend).await;
    let click = tap(&attribution("m-1", "c-1"), at(0));
    store.record_click(&click).await.unwrap();
    let late = NewSale {
        token_expired: true,
        ..sale(
            &click,
            "order-1",
            money("DKK", 100),
            at(0) + TimeDelta::days(8),
        )
    };

    let result = store.confirm_sale(&late).await;

    assert_eq!(result, Ok(SaleWrite::Expired));
    assert_eq!(
        total(&*store, Dimension::Merchant, "m-1", days(at(0), 10))
            .await
            .conversions,
        0
    );
}

async fn an_expired_token_replaying_an_identical_order_answers_the_first_sale(backend: Backend) {
    let store = store_on(backend).await;
    let click = tap(&attribution("m-1", "c-1"), at(0));
    store.record_click(&click).await.unwrap();
    let first = stored(
        store
            .confirm_sale(&sale(
                &click,
                "order-1",
                money("DKK", 100),
                at(0) + TimeDelta::days(6),
            ))
            .await
            .unwrap(),
    );
    let replay = NewSale {
        token_expired: true,
        ..sale(
            &click,
            "order-1",
            money("DKK", 100),
            at(0) + TimeDelta::days(8),
        )
    };

    let outcome = store.confirm_sale(&replay).await.unwrap();

    assert_eq!(outcome, SaleWrite::Existing(first.clone()));
    assert!(policy::is_same_sale(
        &first,
        &replay.click_id,
        &replay.amount
    ));
    assert_eq!(
        total(&*store, Dimension::Merchant, "m-1", days(at(0), 10))
            .await
            .conversions,
        1
    );
}

async fn an_unknown_click_reports_no_click(backend: Backend) {
    let store = store_on(backend).await;
    let never_recorded = tap(&attribution("m-1", "c-1"), at(0));

    let result = store
        .confirm_sale(&sale(&never_recorded, "order-1", money("DKK", 100), at(10)))
        .await;

    assert_eq!(result, Ok(SaleWrite::NoClick));
}

async fn another_merchants_click_reports_no_click_and_counts_nothing(backend: Backend) {
    let store = store_on(backend).await;
    let click = tap(&attribution("m-1", "c-1"), at(0));
    store.record_click(&click).await.unwrap();
    let by_another_merchant = NewSale {
        merchant_id: MerchantId::stored("m-2"),
        ..sale(&click, "order-1", money("DKK", 100), at(10))
    };

    let result = store.confirm_sale(&by_another_merchant).await;

    assert_eq!(result, Ok(SaleWrite::NoClick));
    for merchant in ["m-1", "m-2"] {
        assert_eq!(
            total(&*store, Dimension::Merchant, merchant, days(at(0), 1))
                .await
                .conversions,
            0,
            "{merchant}"
        );
    }
}

async fn counters_are_kept_by_hour_and_day_oldest_first_with_revenue_per_currency(
    backend: Backend,
) {
    let store = store_on(backend).await;
    let credit = attribution("m-1", "c-1");
    let first = tap(&credit, at(0));
    let second = tap(&credit, at(30));
    store.record_click(&first).await.unwrap();
    store.record_click(&second).await.unwrap();
    for (click, order, amount, now) in [
        (&first, "order-1", money("DKK", 100), at(45)),
        (&second, "order-2", money("DKK", 250), at(70)),
        (&first, "order-3", money("EUR", 300), at(130)),
    ] {
        store
            .confirm_sale(&sale(click, order, amount, now))
            .await
            .unwrap();
    }

    let hourly = store
        .read_counters(Dimension::Campaign, "c-1", hours(at(-60), 4), None)
        .await
        .unwrap();
    let daily = store
        .read_counters(Dimension::Campaign, "c-1", days(at(0), 1), None)
        .await
        .unwrap();

    assert_eq!(
        hourly,
        vec![
            Counts::default(),
            counts(2, 2, 1, &[("DKK", 100)]),
            counts(0, 0, 1, &[("DKK", 250)]),
            counts(0, 0, 1, &[("EUR", 300)]),
        ]
    );
    assert_eq!(daily, vec![counts(2, 2, 3, &[("DKK", 350), ("EUR", 300)])]);
}

async fn a_creators_counters_sum_over_every_merchant_they_sell_for(backend: Backend) {
    let store = store_on(backend).await;
    let for_m1 = tap(&attribution("m-1", "c-1"), at(0));
    let for_m2 = tap(&attribution("m-2", "c-2"), at(5));
    store.record_click(&for_m1).await.unwrap();
    store.record_click(&for_m2).await.unwrap();
    store
        .confirm_sale(&sale(&for_m1, "order-1", money("DKK", 100), at(10)))
        .await
        .unwrap();
    store
        .confirm_sale(&sale(&for_m2, "order-1", money("DKK", 250), at(15)))
        .await
        .unwrap();

    let creator = total(&*store, Dimension::Creator, "cr-1", days(at(0), 1)).await;
    let m1 = total(&*store, Dimension::Merchant, "m-1", days(at(0), 1)).await;
    let m2 = total(&*store, Dimension::Merchant, "m-2", days(at(0), 1)).await;

    assert_eq!(creator, counts(2, 2, 2, &[("DKK", 350)]));
    assert_eq!(m1, counts(1, 1, 1, &[("DKK", 100)]));
    assert_eq!(m2, counts(1, 1, 1, &[("DKK", 250)]));
}

async fn merchant_counters_returns_only_that_merchants_cells_in_the_range(backend: Backend) {
    let store = store_on(backend).await;
    let credit = attribution("m-1", "c-1");
    let other = Attribution {
        video_id: VideoId::stored("vid-2"),
        ..attribution("m-2", "c-2")
    };
    let mine = tap(&credit, at(0));
    let theirs = tap(&other, at(5));
    store.record_click(&mine).await.unwrap();
    store.record_click(&theirs).await.unwrap();
    store
        .confirm_sale(&sale(&mine, "order-1", money("DKK", 100), at(10)))
        .await
        .unwrap();
    store
        .confirm_sale(&sale(&theirs, "order-1", money("DKK", 250), at(15)))
        .await
        .unwrap();
    let expected = |range: BucketRange| {
        Dimension::ALL
            .iter()
            .map(|&dimension| CounterCell {
                start: range.first,
                dimension,
                id: credit.id(dimension).to_owned(),
                counts: counts(1, 1, 1, &[("DKK", 100)]),
            })
            .collect::<Vec<_>>()
    };

    let hourly = store
        .merchant_counters("m-1", hours(at(0), 1))
        .await
        .unwrap();
    let daily = store
        .merchant_counters("m-1", days(at(0), 1))
        .await
        .unwrap();
    let later = store
        .merchant_counters("m-1", hours(at(60), 2))
        .await
        .unwrap();

    assert_eq!(
        sorted_cells(hourly),
        sorted_cells(expected(hours(at(0), 1)))
    );
    assert_eq!(sorted_cells(daily), sorted_cells(expected(days(at(0), 1))));
    assert_eq!(later, Vec::new());
}

async fn merchant_records_returns_that_merchants_clicks_and_sales_made_in_the_half_open_range(
    backend: Backend,
) {
    let store = store_on(backend).await;
    let (from, to) = (at(0), at(60));
    let second = TimeDelta::seconds(1);
    let credit = attribution("m-1", "c-1");
    let before = tap(&credit, from - second);
    let first = tap(&credit, from);
    let last = tap(&credit, to - second);
    let after = tap(&credit, to);
    let theirs = tap(&attribution("m-2", "c-2"), at(10));
    for click in [&before, &first, &last, &after, &theirs] {
        store.record_click(click).await.unwrap();
    }
    let mut sales = Vec::new();
    for (click, order, now) in [
        (&before, "order-before", from - second),
        (&before, "order-first", from),
        (&first, "order-last", to - second),
        (&last, "order-after", to),
        (&theirs, "order-theirs", at(10)),
    ] {
        let outcome = store
            .confirm_sale(&sale(click, order, money("DKK", 100), now))
            .await
            .unwrap();
        sales.push(stored(outcome));
    }

    let mut records = store.merchant_records("m-1", from, to).await.unwrap();

    records.clicks.sort_by_key(|c| c.clicked_at);
    records.sales.sort_by_key(|s| s.confirmed_at);
    assert_eq!(
        records.clicks,
        vec![first.record.clone(), last.record.clone()]
    );
    assert_eq!(records.sales, vec![sales[1].clone(), sales[2].clone()]);
}

async fn a_refund_is_recorded_once_and_a_repeat_of_its_id_reports_the_first(backend: Backend) {
    let store = store_on(backend).await;
    let click = tap(&attribution("m-1", "c-1"), at(0));
    store.record_click(&click).await.unwrap();
    store
        .confirm_sale(&sale(&click, "order-1", money("DKK", 12_500), at(10)))
        .await
        .unwrap();
    let first = refund("m-1", "order-1", "refund-1", money("DKK", 2_500), at(20));
    let other_amount = refund("m-1", "order-1", "refund-1", money("DKK", 100), at(22));

    let recorded = store.reverse_sale(&first).await.unwrap();
    let repeated = store.reverse_sale(&first).await.unwrap();
    let conflicting = store.reverse_sale(&other_amount).await.unwrap();

    let first_record = ReversalRecord {
        order_id: OrderId::stored("order-1"),
        amount: money("DKK", 2_500),
        remaining: money("DKK", 10_000),
        commission_remaining: money("DKK", 0),
        facts: Some(RefundFacts {
            at: at(20),
            attribution: attribution("m-1", "c-1"),
            commission_taken: 0,
        }),
    };
    assert_eq!(
        recorded,
        ReversalWrite::New {
            remaining: money("DKK", 10_000),
            commission_remaining: money("DKK", 0),
        }
    );
    assert_eq!(repeated, ReversalWrite::Existing(first_record.clone()));
    assert_eq!(conflicting, ReversalWrite::Existing(first_record.clone()));
    assert!(policy::is_same_reversal(
        &first_record.order_id,
        &first_record.amount,
        &first.order_id,
        &first.amount
    ));
    assert!(!policy::is_same_reversal(
        &first_record.order_id,
        &first_record.amount,
        &other_amount.order_id,
        &other_amount.amount
    ));
    let day = total(&*store, Dimension::Merchant, "m-1", days(at(0), 1)).await;
    assert_eq!(day.refunded, [("DKK".to_owned(), 2_500)].into());
}

async fn a_refund_of_an_unknown_order_reports_no_order(backend: Backend) {
    let store = store_on(backend).await;

    let result = store
        .reverse_sale(&refund(
            "m-1",
            "order-1",
            "refund-1",
            money("DKK", 100),
            at(0),
        ))
        .await;

    assert_eq!(result, Ok(ReversalWrite::NoOrder));
}

async fn a_refund_in_another_currency_or_above_what_is_left_writes_nothing_and_says_why(
    backend: Backend,
) {
    let store = store_on(backend).await;
    let click = tap(&attribution("m-1", "c-1"), at(0));
    store.record_click(&click).await.unwrap();
    store
        .confirm_sale(&sale(&click, "order-1", money("DKK", 1_000), at(10)))
        .await
        .unwrap();

    let in_euros = store
        .reverse_sale(&refund(
            "m-1",
            "order-1",
            "refund-1",
            money("EUR", 100),
            at(11),
        ))
        .await;
    let most = store
        .reverse_sale(&refund(
            "m-1",
            "order-1",
            "refund-2",
            money("DKK", 600),
            at(12),
        ))
        .await;
    let too_much = store
        .reverse_sale(&refund(
            "m-1",
            "order-1",
            "refund-3",
            money("DKK", 500),
            at(13),
        ))
        .await;
    let the_rest = store
        .reverse_sale(&refund(
            "m-1",
            "order-1",
            "refund-3",
            money("DKK", 400),
            at(14),
        ))
        .await;

    assert_eq!(
        in_euros,
        Ok(ReversalWrite::CurrencyDiffers {
            sale_currency: "DKK".into()
        })
    );
    assert_eq!(
        most,
        Ok(ReversalWrite::New {
            remaining: money("DKK", 400),
            commission_remaining: money("DKK", 0),
        })
    );
    assert_eq!(
        too_much,
        Ok(ReversalWrite::Exceeds {
            left: money("DKK", 400)
        })
    );
    assert_eq!(
        the_rest,
        Ok(ReversalWrite::New {
            remaining: money("DKK", 0),
            commission_remaining: money("DKK", 0),
        }),
        "the refused refunds took nothing, not even their reversal id"
    );
    let day = total(&*store, Dimension::Merchant, "m-1", days(at(0), 1)).await;
    assert_eq!(day.refunded, [("DKK".to_owned(), 1_000)].into());
}

async fn a_viewer_over_the_tap_limit_of_its_window_is_limited_until_the_next_window(
    backend: Backend,
) {
    let store = store_on(backend).await;
    let credit = attribution("m-1", "c-1");
    let viewer = tap(&credit, at(0)).record.viewer_hash;
    // Each tap on another cart (a fresh dedup key), all by one viewer, with
    // a limit of two taps per two minutes.
    let by_viewer = |clicked_at| {
        let mut next = tap(&credit, clicked_at);
        next.record.viewer_hash = viewer;
        next.tap_limit = 2;
        next.tap_window = Duration::from_secs(120);
        next
    };
    let taps = [
        by_viewer(at(0)),
        by_viewer(at(0) + TimeDelta::seconds(10)),
        by_viewer(at(1)),
        by_viewer(at(2)),
    ];

    let mut answers = Vec::new();
    for tap in &taps {
        answers.push(store.record_click(tap).await.unwrap());
    }

    assert_eq!(
        answers,
        vec![
            ClickWrite::New(taps[0].record.click_id, Signals::NONE),
            ClickWrite::New(taps[1].record.click_id, Signals::NONE),
            ClickWrite::Limited,
            ClickWrite::New(taps[3].record.click_id, Signals::NONE),
        ]
    );
    assert_eq!(
        total(&*store, Dimension::Merchant, "m-1", hours(at(0), 1)).await,
        counts(3, 3, 0, &[])
    );
}

/// Runs `call` on `store` for every input, all at once, and returns the
/// answers in the inputs' order.
async fn at_once<I, T, F, Fut>(
    store: &Arc<dyn Store>,
    inputs: &[I],
    call: F,
) -> Vec<Result<T, Error>>
where
    I: Clone,
    T: Send + 'static,
    F: Fn(Arc<dyn Store>, I) -> Fut,
    Fut: Future<Output = Result<T, Error>> + Send + 'static,
{
    let tasks: Vec<_> = inputs
        .iter()
        .map(|input| tokio::spawn(call(Arc::clone(store), input.clone())))
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("the call does not panic"));
    }
    answers
}

async fn calls_made_at_once_are_answered_and_counted_as_if_made_one_by_one(backend: Backend) {
    let store = store_on(backend).await;
    let now = at(5);
    let carts = [attribution("m-1", "c-1"), {
        let mut other = attribution("m-1", "c-1");
        other.video_id = VideoId::stored("vid-2");
        other.creator_id = CreatorId::stored("cr-2");
        other
    }];
    // 60 new viewers over two videos, and one viewer tapping 11 times.
    let mut taps: Vec<NewClick> = (0..60).map(|i| tap(&carts[i % 2], now)).collect();
    let keen = tap(&carts[0], now);
    taps.extend((0..11).map(|_| again(&keen, now)));

    let recorded = at_once(&store.store, &taps, |s, tap| async move {
        s.record_click(&tap).await
    })
    .await;
    // Sales of the first 20 clicks, and one order confirmed 10 times.
    let sales: Vec<NewSale> = (0..20)
        .map(|i| {
            sale(
                &taps[i],
                &format!("order-{i}"),
                money("DKK", 1_000 + i as i64),
                now,
            )
        })
        .chain((0..10).map(|_| sale(&taps[30], "order-x", money("DKK", 500), now)))
        .collect();
    let confirmed = at_once(&store.store, &sales, |s, sale| async move {
        s.confirm_sale(&sale).await
    })
    .await;
    // Refunds of 100 on the first 10 orders, and one refund sent 10 times.
    let refunds: Vec<NewReversal> = (0..10)
        .map(|i| (format!("order-{i}"), format!("refund-{i}")))
        .chain((0..10).map(|_| ("order-x".to_owned(), "refund-x".to_owned())))
        .map(|(order_id, reversal_id)| {
            refund("m-1", &order_id, &reversal_id, money("DKK", 100), now)
        })
        .collect();
    let refunded = at_once(&store.store, &refunds, |s, refund| async move {
        s.reverse_sale(&refund).await
    })
    .await;

    for (answer, tap) in recorded[..60].iter().zip(&taps) {
        assert_eq!(
            answer,
            &Ok(ClickWrite::New(tap.record.click_id, Signals::NONE))
        );
    }
    let keen_answers = &recorded[60..];
    let firsts: Vec<ClickId> = keen_answers
        .iter()
        .filter_map(|a| match a {
            Ok(ClickWrite::Repeat(first)) => Some(first.click_id),
            _ => None,
        })
        .collect();
    assert_eq!(firsts.len(), 10, "{keen_answers:?}");
    let first = keen_answers
        .iter()
        .zip(&taps[60..])
        .find(|(a, t)| **a == Ok(ClickWrite::New(t.record.click_id, Signals::NONE)))
        .map(|(_, t)| t.record.click_id)
        .expect("one of the keen viewer's taps made the click");
    assert!(firsts.iter().all(|f| *f == first), "{firsts:?} {first:?}");
    let replays = confirmed
        .iter()
        .map(|a| a.as_ref().map(|s| matches!(s, SaleWrite::Existing(_))));
    assert_eq!(
        replays.clone().filter(|r| *r == Ok(false)).count(),
        21,
        "{confirmed:?}"
    );
    assert_eq!(replays.filter(|r| *r == Ok(true)).count(), 9);
    let refund_replays: Vec<_> = refunded
        .iter()
        .map(|a| a.as_ref().map(|r| matches!(r, ReversalWrite::Existing(_))))
        .collect();
    assert_eq!(
        refund_replays.iter().filter(|r| **r == Ok(false)).count(),
        11,
        "{refunded:?}"
    );
    assert_eq!(refund_replays.iter().filter(|r| **r == Ok(true)).count(), 9);
    let revenue = (0..20).map(|i| 1_000 + i).sum::<i64>() + 500;
    let expected = Counts {
        refunded: [("DKK".to_owned(), 1_100)].into(),
        ..counts(71, 61, 21, &[("DKK", revenue)])
    };
    assert_eq!(
        total(&*store, Dimension::Merchant, "m-1", hours(now, 1)).await,
        expected
    );
    assert_eq!(
        total(&*store, Dimension::Campaign, "c-1", days(now, 1)).await,
        expected
    );
    let video_2 = total(&*store, Dimension::Video, "vid-2", hours(now, 1)).await;
    assert_eq!((video_2.taps, video_2.clicks), (30, 30));
}

/// Every page of a walk with pages of `limit`, from `page` (one call of a
/// listing after a position), until a page says it is the last.
async fn walk_pages<T, F, Fut>(limit: usize, page: F) -> Vec<Vec<T>>
where
    F: Fn(Option<String>, usize) -> Fut,
    Fut: Future<Output = Page<T, String>>,
{
    let mut pages = Vec::new();
    let mut after = None;
    for _ in 0..100 {
        let next = page(after, limit).await;
        pages.push(next.items);
        match next.next {
            Some(next) => after = Some(next),
            None => return pages,
        }
    }
    panic!("the walk does not end");
}

async fn merchants_list_in_id_order_a_page_at_a_time(backend: Backend) {
    let store = store_on(backend).await;
    for id in ["m-c", "m-a", "m-e", "m-b", "m-d"] {
        store
            .put_merchant(&merchant(id, &["shop.dk"]))
            .await
            .unwrap();
    }

    let pages = walk_pages(2, |after, limit| {
        let store = &store;
        async move { store.list_merchants(after.as_deref(), limit).await.unwrap() }
    })
    .await;
    let whole = store.list_merchants(None, 5).await.unwrap();

    let ids: Vec<Vec<&str>> = pages
        .iter()
        .map(|page| page.iter().map(|m| m.merchant_id.as_str()).collect())
        .collect();
    assert_eq!(ids, [vec!["m-a", "m-b"], vec!["m-c", "m-d"], vec!["m-e"]]);
    assert_eq!(pages[0][0], merchant("m-a", &["shop.dk"]));
    assert_eq!(whole.items.len(), 5);
    assert_eq!(whole.next, None, "nothing follows the last merchant");
}

async fn campaigns_list_by_id_filtered_by_merchant_and_status(backend: Backend) {
    let store = store_on(backend).await;
    for (id, merchant_id, status) in [
        ("c-5", "m-1", CampaignStatus::Approved),
        ("c-1", "m-1", CampaignStatus::Pending),
        ("c-3", "m-2", CampaignStatus::Approved),
        ("c-2", "m-2", CampaignStatus::Paused),
        ("c-4", "m-1", CampaignStatus::Approved),
    ] {
        let campaign = Campaign {
            merchant_id: MerchantId::stored(merchant_id),
            status,
            ..campaign(id, "apparel", 1)
        };
        assert!(store.put_campaign(&campaign, None).await.unwrap());
    }
    let list = |merchant: Option<&str>, status: Option<CampaignStatus>| {
        let query = CampaignQuery {
            merchant_id: merchant.map(MerchantId::stored),
            status,
        };
        let store = &store;
        async move {
            walk_pages(2, |after, limit| {
                let query = query.clone();
                async move {
                    store
                        .list_campaigns(&query, after.as_deref(), limit)
                        .await
                        .unwrap()
                }
            })
            .await
            .into_iter()
            .flatten()
            .map(|c| c.campaign_id.to_string())
            .collect::<Vec<_>>()
        }
    };

    assert_eq!(list(None, None).await, ["c-1", "c-2", "c-3", "c-4", "c-5"]);
    assert_eq!(list(Some("m-1"), None).await, ["c-1", "c-4", "c-5"]);
    assert_eq!(
        list(None, Some(CampaignStatus::Approved)).await,
        ["c-3", "c-4", "c-5"]
    );
    assert_eq!(
        list(Some("m-2"), Some(CampaignStatus::Approved)).await,
        ["c-3"]
    );
    assert!(list(Some("m-3"), None).await.is_empty());
}

async fn a_campaign_moved_to_another_merchant_lists_under_the_new_one_only(backend: Backend) {
    let store = store_on(backend).await;
    let first = campaign("c-1", "apparel", 1);
    assert!(store.put_campaign(&first, None).await.unwrap());
    let moved = Campaign {
        merchant_id: MerchantId::stored("m-2"),
        revision: 2,
        ..first
    };
    assert!(store.put_campaign(&moved, Some(1)).await.unwrap());
    let of = |merchant: &str| CampaignQuery {
        merchant_id: Some(MerchantId::stored(merchant)),
        status: None,
    };

    let old = store.list_campaigns(&of("m-1"), None, 10).await.unwrap();
    let new = store.list_campaigns(&of("m-2"), None, 10).await.unwrap();
    let all = store
        .list_campaigns(&CampaignQuery::default(), None, 10)
        .await
        .unwrap();

    assert!(old.items.is_empty(), "{old:?}");
    assert_eq!(new.items, vec![moved.clone()]);
    assert_eq!(all.items, vec![moved]);
}

async fn stored_keys_list_by_id_with_label_creation_and_revocation(backend: Backend) {
    let store = store_on(backend).await;
    let key = |id: &str, grant: Grant| ApiKey {
        id: KeyId::stored(id),
        grant,
        sha256: rand::random(),
    };
    let merchant_key = Grant::Merchant(MerchantId::stored("m-1"));
    for (id, grant, minutes) in [
        ("key-c", Grant::Dashboard, 3),
        ("key-a", merchant_key.clone(), 1),
        ("key-b", Grant::Feed, 2),
        ("key-d", Grant::Merchant(MerchantId::stored("m-2")), 4),
    ] {
        store
            .put_api_key(&key(id, grant), &format!("label {id}"), at(minutes))
            .await
            .unwrap();
    }
    assert!(store.revoke_api_key("key-b").await.unwrap());

    let all: Vec<_> = walk_pages(3, |after, limit| {
        let store = &store;
        async move {
            store
                .list_api_keys(&KeyQuery::default(), after.as_deref(), limit)
                .await
                .unwrap()
        }
    })
    .await
    .into_iter()
    .flatten()
    .collect();
    let merchants = store
        .list_api_keys(
            &KeyQuery {
                role: Some(Role::Merchant),
                merchant_id: None,
            },
            None,
            10,
        )
        .await
        .unwrap();
    let of_m1 = store
        .list_api_keys(
            &KeyQuery {
                role: None,
                merchant_id: Some(MerchantId::stored("m-1")),
            },
            None,
            10,
        )
        .await
        .unwrap();

    let ids: Vec<&str> = all.iter().map(|k| k.key_id.as_str()).collect();
    assert_eq!(ids, ["key-a", "key-b", "key-c", "key-d"]);
    assert_eq!(all[0].grant, merchant_key);
    assert_eq!(all[0].label, "label key-a");
    assert_eq!(all[0].created_at, Some(at(1)));
    assert!(!all[0].from_config);
    let revoked: Vec<bool> = all.iter().map(|k| k.revoked).collect();
    assert_eq!(revoked, [false, true, false, false]);
    let merchant_ids: Vec<&str> = merchants.items.iter().map(|k| k.key_id.as_str()).collect();
    assert_eq!(merchant_ids, ["key-a", "key-d"]);
    let m1_ids: Vec<&str> = of_m1.items.iter().map(|k| k.key_id.as_str()).collect();
    assert_eq!(m1_ids, ["key-a"]);
}

on_all_backends!(
    merchants_list_in_id_order_a_page_at_a_time,
    campaigns_list_by_id_filtered_by_merchant_and_status,
    a_campaign_moved_to_another_merchant_lists_under_the_new_one_only,
    stored_keys_list_by_id_with_label_creation_and_revocation,
    calls_made_at_once_are_answered_and_counted_as_if_made_one_by_one,
    a_reachable_store_answers_connectivity_checks,
    a_merchant_reads_back_as_put_and_a_put_replaces_it,
    unknown_merchants_and_campaigns_read_as_none,
    a_new_campaign_is_written_once_when_no_revision_is_expected,
    a_write_at_the_stored_revision_succeeds_and_a_stale_one_writes_nothing,
    an_expected_revision_for_a_missing_campaign_writes_nothing,
    a_new_click_is_recorded_and_counted_as_a_tap_and_a_click_in_every_dimension,
    a_repeat_tap_inside_the_dedup_window_answers_the_first_click_and_counts_a_tap_only,
    a_retried_tap_with_the_same_click_id_is_recorded_and_counts_nothing_more,
    a_tap_after_the_dedup_window_is_a_new_click,
    a_new_sale_is_attributed_to_its_click_and_counted_in_every_dimension,
    an_identical_replay_returns_the_first_sale_and_counts_once,
    the_same_order_with_another_amount_currency_or_click_reports_the_first_sale_an_order_conflict,
    an_expired_token_without_a_prior_order_reports_expired_and_counts_nothing,
    an_expired_token_replaying_an_identical_order_answers_the_first_sale,
    an_unknown_click_reports_no_click,
    another_merchants_click_reports_no_click_and_counts_nothing,
    a_refund_is_recorded_once_and_a_repeat_of_its_id_reports_the_first,
    a_refund_of_an_unknown_order_reports_no_order,
    a_refund_in_another_currency_or_above_what_is_left_writes_nothing_and_says_why,
    a_viewer_over_the_tap_limit_of_its_window_is_limited_until_the_next_window,
    counters_are_kept_by_hour_and_day_oldest_first_with_revenue_per_currency,
    a_creators_counters_sum_over_every_merchant_they_sell_for,
    merchant_counters_returns_only_that_merchants_cells_in_the_range,
    merchant_records_returns_that_merchants_clicks_and_sales_made_in_the_half_open_range,
);
