//! Fraud signals (API.md, "Fraud signals"): each signal at its boundary (n
//! taps clean, the next flagged), the UTC minute and hour windows rolling
//! over, concurrent taps around a limit, erasure of a viewer's hopping
//! state, a flagged sale's commission held, the flags counted and
//! reconciled, and nothing flagged or written with signals off. Every test
//! runs on every store.

use std::num::NonZeroU32;
use std::time::Duration;

use cartclick::model::{EventKind, FraudRules, MerchantId};
use cartclick::proto::*;
use chrono::TimeDelta;
use futures_util::future::join_all;

use crate::support::*;

/// A day, for holding periods.
const DAY: i64 = 86_400;

/// An app whose fraud rules flag over `taps` taps of a creator a minute and
/// over `creators` creators of a viewer an hour, and a sale sooner than ten
/// seconds after its tap.
async fn app_with(backend: Backend, taps: u32, creators: u32) -> TestApp {
    TestApp::builder()
        .on(backend)
        .config(|config| {
            config.policy.fraud = Some(FraudRules {
                max_creator_taps_per_minute: NonZeroU32::new(taps).unwrap(),
                max_creators_per_viewer_per_hour: NonZeroU32::new(creators).unwrap(),
                min_click_to_sale: Duration::from_secs(10),
            });
        })
        .seeded()
        .spawn()
        .await
}

/// A tap by `viewer` on `creator`'s video `video` of CAMPAIGN.
fn tap_of(viewer: &str, creator: &str, video: &str) -> IssueTokenRequest {
    IssueTokenRequest {
        creator_id: creator.into(),
        video_id: video.into(),
        ..tap(viewer)
    }
}

/// The signals of an answer, as the enum.
fn signals(signals: &[i32]) -> Vec<FraudSignal> {
    signals
        .iter()
        .map(|s| FraudSignal::try_from(*s).expect("a known signal"))
        .collect()
}

impl TestApp {
    /// The signals of `request`'s answer.
    async fn signals_of(&self, request: IssueTokenRequest) -> Vec<FraudSignal> {
        signals(
            &self
                .issue(request)
                .await
                .expect("a tap is never blocked")
                .signals,
        )
    }

    /// Makes CAMPAIGN pay 10 % after 30 days.
    async fn paying(&self) {
        let campaign = Campaign {
            commission_rate_bps: 1_000,
            holding_period: Some(prost_types::Duration {
                seconds: 30 * DAY,
                nanos: 0,
            }),
            ..campaign(CAMPAIGN, MERCHANT, "apparel", &[])
        };
        self.try_put_campaign(campaign).await.expect("put campaign");
    }

    /// The test day's totals of `id`, from its hourly and its daily buckets.
    async fn hour_and_day(
        &self,
        dimension: Dimension,
        id: &str,
    ) -> [(Granularity, CounterBucket); 2] {
        let mut totals =
            [Granularity::Hour, Granularity::Day].map(|g| (g, CounterBucket::default()));
        for (granularity, total) in &mut totals {
            *total = self
                .counters_of(dimension, id, *granularity)
                .await
                .total
                .unwrap();
        }
        totals
    }

    /// `creator`'s balance at MERCHANT in DKK.
    async fn balance_of(&self, creator: &str) -> EarningsBalance {
        let request = GetEarningsRequest {
            creator_id: creator.into(),
            merchant_id: MERCHANT.into(),
        };
        earnings_service_client::EarningsServiceClient::new(self.channel.clone())
            .get_earnings(authed(&self.keys.admin, request))
            .await
            .expect("get earnings")
            .into_inner()
            .balances
            .into_iter()
            .find(|b| b.currency_code == "DKK")
            .expect("a DKK balance")
    }
}

async fn a_creators_taps_over_the_minute_limit_are_a_tap_flood_until_the_minute_turns(
    backend: Backend,
) {
    let app = app_with(backend, 3, 10).await;
    let flood = vec![FraudSignal::TapFlood];

    // Every tap answered OK counts, a repeat tap too: three taps clean.
    let first = app.issue(tap_of("v-a", "cr-f", "vid-f")).await.unwrap();
    let repeat = app.issue(tap_of("v-a", "cr-f", "vid-f")).await.unwrap();
    let third = app.signals_of(tap_of("v-b", "cr-f", "vid-f")).await;
    // The fourth takes the count over: flagged, and so are the later new
    // clicks of that creator this minute.
    let fourth = app.signals_of(tap_of("v-c", "cr-f", "vid-f")).await;
    // A repeat tap is never flagged itself: it returns its first tap's.
    let late_repeat = app.issue(tap_of("v-a", "cr-f", "vid-f")).await.unwrap();
    let fifth = app.signals_of(tap_of("v-d", "cr-f", "vid-f")).await;
    let other_creator = app.signals_of(tap_of("v-e", "cr-g", "vid-g")).await;
    app.clock.advance(TimeDelta::seconds(60));
    let next_minute = app.signals_of(tap_of("v-f", "cr-f", "vid-f")).await;

    assert!(signals(&first.signals).is_empty());
    assert!(repeat.deduplicated && signals(&repeat.signals).is_empty());
    assert!(third.is_empty(), "{third:?}");
    assert_eq!(fourth, flood);
    assert!(late_repeat.deduplicated && signals(&late_repeat.signals).is_empty());
    assert_eq!(fifth, flood);
    assert!(other_creator.is_empty(), "{other_creator:?}");
    assert!(next_minute.is_empty(), "{next_minute:?}");
    // Flagged clicks are clicks too, in every dimension, hourly and daily.
    for (dimension, id) in [
        (Dimension::Merchant, MERCHANT),
        (Dimension::Campaign, CAMPAIGN),
        (Dimension::Creator, "cr-f"),
        (Dimension::Video, "vid-f"),
        (Dimension::Product, "sku-1"),
    ] {
        for (granularity, total) in app.hour_and_day(dimension, id).await {
            // cr-g's click counts in the merchant, campaign and product.
            let want = match dimension {
                Dimension::Creator | Dimension::Video => (5, 2),
                _ => (6, 2),
            };
            assert_eq!(
                (total.clicks, total.flagged_clicks),
                want,
                "{dimension:?} {granularity:?}"
            );
        }
    }
}

async fn a_viewer_tapping_more_creators_than_the_hour_limit_is_hopping_until_the_hour_turns(
    backend: Backend,
) {
    let app = app_with(backend, 600, 2).await;
    let hopping = vec![FraudSignal::CreatorHopping];

    let first = app.signals_of(tap_of("v-h", "cr-1", "vid-1")).await;
    let second = app.signals_of(tap_of("v-h", "cr-2", "vid-2")).await;
    // A third creator takes the viewer over: flagged, and so are its later
    // new clicks there this hour, on a creator already counted too.
    let third = app.signals_of(tap_of("v-h", "cr-3", "vid-3")).await;
    let back_to_the_first = app.signals_of(tap_of("v-h", "cr-1", "vid-9")).await;
    let repeat = app.issue(tap_of("v-h", "cr-1", "vid-1")).await.unwrap();
    // Another viewer has counts of its own.
    let other_viewer = app.signals_of(tap_of("v-i", "cr-3", "vid-3")).await;
    app.clock.advance(TimeDelta::hours(1));
    let next_hour = app.signals_of(tap_of("v-h", "cr-4", "vid-4")).await;

    assert!(
        first.is_empty() && second.is_empty(),
        "{first:?} {second:?}"
    );
    assert_eq!(third, hopping);
    assert_eq!(back_to_the_first, hopping);
    assert!(repeat.deduplicated && signals(&repeat.signals).is_empty());
    assert!(other_viewer.is_empty(), "{other_viewer:?}");
    assert!(next_hour.is_empty(), "{next_hour:?}");
}

async fn a_repeat_tap_in_a_new_hour_counts_its_creator_in_that_hour(backend: Backend) {
    let app = app_with(backend, 600, 2).await;
    app.clock.advance(TimeDelta::minutes(59));
    app.issue(tap_of("v-r", "cr-1", "vid-1")).await.unwrap();
    app.clock.advance(TimeDelta::minutes(2));

    // Inside the dedup window, in the next hour: a repeat, whose creator
    // counts among the viewer's creators of this hour.
    let repeat = app.issue(tap_of("v-r", "cr-1", "vid-1")).await.unwrap();
    let second = app.signals_of(tap_of("v-r", "cr-2", "vid-2")).await;
    let third = app.signals_of(tap_of("v-r", "cr-3", "vid-3")).await;

    assert!(repeat.deduplicated);
    assert!(second.is_empty(), "{second:?}");
    assert_eq!(third, [FraudSignal::CreatorHopping]);
}

async fn a_viewer_who_is_the_creator_is_a_self_referral_and_its_sale_is_held(backend: Backend) {
    let app = app_with(backend, 600, 10).await;
    app.paying().await;

    let own = app
        .issue(tap_of("cr-self", "cr-self", "vid-s"))
        .await
        .unwrap();
    app.clock.advance(TimeDelta::seconds(60));
    let sale = app
        .confirm(&own.token, "order-self", 10_000, "DKK")
        .await
        .expect("a flagged sale still counts");
    let replay = app
        .confirm(&own.token, "order-self", 10_000, "DKK")
        .await
        .unwrap();
    let balance = app.balance_of("cr-self").await;

    assert_eq!(signals(&own.signals), [FraudSignal::SelfReferral]);
    assert_eq!(signals(&sale.signals), [FraudSignal::SelfReferral]);
    assert!(replay.replayed);
    assert_eq!(signals(&replay.signals), [FraudSignal::SelfReferral]);
    assert_eq!(sale.commission, Some(dkk(1_000)));
    assert_eq!(
        (
            amount_of(&balance.held),
            amount_of(&balance.pending),
            amount_of(&balance.payable)
        ),
        (1_000, 0, 0)
    );
}

/// Reconcile finds MERCHANT's counters of the test day equal to a recount
/// of its records, the flagged counts included.
async fn assert_reconciled(app: &TestApp) {
    let report = app
        .domain
        .reconcile(&MerchantId::stored(MERCHANT), start_time().date_naive())
        .await
        .unwrap();
    assert_eq!(report.drift, Vec::<String>::new());
}

fn amount_of(money: &Option<Money>) -> i64 {
    money.as_ref().map_or(0, |m| m.amount_minor)
}

async fn a_sale_sooner_than_the_minimum_after_its_first_tap_is_too_fast(backend: Backend) {
    let app = app_with(backend, 600, 10).await;
    app.paying().await;
    let fast = app.issue(tap_of("v-1", "cr-1", "vid-1")).await.unwrap();
    let slow = app.issue(tap_of("v-2", "cr-2", "vid-2")).await.unwrap();

    app.clock.advance(TimeDelta::milliseconds(9_999));
    // A repeat tap does not move the click's time.
    let repeat = app.issue(tap_of("v-2", "cr-2", "vid-2")).await.unwrap();
    let too_fast = app
        .confirm(&fast.token, "order-fast", 10_000, "DKK")
        .await
        .unwrap();
    app.clock.advance(TimeDelta::milliseconds(1));
    let in_time = app
        .confirm(&repeat.token, "order-slow", 10_000, "DKK")
        .await
        .unwrap();

    assert_eq!(repeat.token, slow.token);
    assert_eq!(signals(&too_fast.signals), [FraudSignal::SaleTooFast]);
    assert!(signals(&in_time.signals).is_empty(), "{in_time:?}");
    assert_eq!(amount_of(&app.balance_of("cr-1").await.held), 1_000);
    let clean = app.balance_of("cr-2").await;
    assert_eq!(
        (amount_of(&clean.held), amount_of(&clean.pending)),
        (0, 1_000)
    );
    for (dimension, id, flagged) in [
        (Dimension::Merchant, MERCHANT, 1),
        (Dimension::Campaign, CAMPAIGN, 1),
        (Dimension::Creator, "cr-1", 1),
        (Dimension::Creator, "cr-2", 0),
        (Dimension::Video, "vid-1", 1),
        (Dimension::Product, "sku-1", 1),
    ] {
        for (granularity, total) in app.hour_and_day(dimension, id).await {
            assert_eq!(
                total.flagged_conversions, flagged,
                "{dimension:?} {id} {granularity:?}"
            );
            assert_eq!(total.flagged_clicks, 0);
        }
    }
    // Events carry their signals, and reconcile recounts the flags.
    let events = app
        .domain
        .store()
        .read_events(MERCHANT, None, 100)
        .await
        .unwrap();
    let sales: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::Sale)
        .map(|e| (e.order_id.as_str(), e.signals.iter().count()))
        .collect();
    assert_eq!(sales, [("order-fast", 1), ("order-slow", 0)]);
    assert_reconciled(&app).await;
}

async fn concurrent_taps_around_the_limit_flag_exactly_those_over_it(backend: Backend) {
    let app = app_with(backend, 10, 10).await;

    let answers = join_all((0..30).map(|i| {
        let app = &app;
        async move {
            app.signals_of(tap_of(&format!("v-{i}"), "cr-busy", "vid-busy"))
                .await
        }
    }))
    .await;

    let flagged = answers
        .iter()
        .filter(|s| **s == [FraudSignal::TapFlood])
        .count();
    let clean = answers.iter().filter(|s| s.is_empty()).count();
    assert_eq!((clean, flagged), (10, 20), "{answers:?}");
    let creator = app.total(Dimension::Creator, "cr-busy").await;
    assert_eq!((creator.clicks, creator.flagged_clicks), (30, 20));
    assert_reconciled(&app).await;
}

async fn erasing_a_viewer_forgets_the_creators_it_tapped_this_hour(backend: Backend) {
    let app = app_with(backend, 600, 2).await;
    let erase = |viewer: &str| {
        let request = EraseViewerRequest {
            viewer_id: viewer.into(),
        };
        let mut admin = app.admin();
        let key = app.keys.admin.clone();
        async move {
            admin
                .erase_viewer(authed(&key, request))
                .await
                .expect("erase viewer")
        }
    };
    for viewer in ["v-erased", "v-kept"] {
        app.issue(tap_of(viewer, "cr-1", "vid-1")).await.unwrap();
        app.issue(tap_of(viewer, "cr-2", "vid-2")).await.unwrap();
    }

    erase("v-erased").await;
    let erased = app.signals_of(tap_of("v-erased", "cr-3", "vid-3")).await;
    let kept = app.signals_of(tap_of("v-kept", "cr-3", "vid-3")).await;

    assert!(erased.is_empty(), "its count starts again: {erased:?}");
    assert_eq!(kept, [FraudSignal::CreatorHopping]);
}

async fn with_signals_off_nothing_is_flagged_and_nothing_extra_is_written(backend: Backend) {
    let app = TestApp::builder()
        .on(backend)
        .config(|config| config.policy.fraud = None)
        .seeded()
        .spawn()
        .await;
    app.paying().await;

    let own = app
        .issue(tap_of("cr-self", "cr-self", "vid-s"))
        .await
        .unwrap();
    let sale = app
        .confirm(&own.token, "order-1", 10_000, "DKK")
        .await
        .unwrap();

    assert!(signals(&own.signals).is_empty() && signals(&sale.signals).is_empty());
    let balance = app.balance_of("cr-self").await;
    assert_eq!(
        (amount_of(&balance.held), amount_of(&balance.pending)),
        (0, 1_000)
    );
    let total = app.total(Dimension::Merchant, MERCHANT).await;
    assert_eq!((total.flagged_clicks, total.flagged_conversions), (0, 0));
    if backend == Backend::Redis {
        let mut redis = app.redis().connection().await;
        for pattern in ["g:*", "h:*"] {
            let keys: Vec<String> = ::redis::cmd("KEYS")
                .arg(pattern)
                .query_async(&mut redis)
                .await
                .unwrap();
            assert_eq!(keys, Vec::<String>::new(), "{pattern}");
        }
    }
}

on_all_backends!(
    a_creators_taps_over_the_minute_limit_are_a_tap_flood_until_the_minute_turns,
    a_viewer_tapping_more_creators_than_the_hour_limit_is_hopping_until_the_hour_turns,
    a_repeat_tap_in_a_new_hour_counts_its_creator_in_that_hour,
    a_viewer_who_is_the_creator_is_a_self_referral_and_its_sale_is_held,
    a_sale_sooner_than_the_minimum_after_its_first_tap_is_too_fast,
    concurrent_taps_around_the_limit_flag_exactly_those_over_it,
    erasing_a_viewer_forgets_the_creators_it_tapped_this_hour,
    with_signals_off_nothing_is_flagged_and_nothing_extra_is_written,
);

/// Stdout's lines, each with its runs of spaces made one.
fn words(output: &std::process::Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[tokio::test]
async fn the_cli_prints_the_signals_of_a_tap_and_a_sale_and_the_flagged_counts() {
    let app = TestApp::builder().seeded().spawn().await;
    let issued = client_command(
        app.addr,
        &app.keys.feed,
        &[
            "issue",
            "--campaign",
            CAMPAIGN,
            "--product",
            "sku-1",
            "--video",
            "vid-1",
            "--creator",
            "cr-1",
            "--viewer",
            "cr-1",
            "--landing-url",
            "https://www.shop.dk/p/sku-1",
        ],
    )
    .await;
    let issued = words(&issued);
    let token = issued
        .iter()
        .find_map(|line| line.strip_prefix("token "))
        .expect("a token line")
        .to_owned();
    let confirmed = client_command(
        app.addr,
        &app.keys.merchant,
        &[
            "confirm",
            "--token",
            &token,
            "--order",
            "order-1",
            "--amount-minor",
            "100",
            "--currency",
            "DKK",
        ],
    )
    .await;
    let counters = client_command(
        app.addr,
        &app.keys.dashboard,
        &[
            "counters",
            "--dimension",
            "merchant",
            "--id",
            MERCHANT,
            "--granularity",
            "day",
            "--from",
            &start_time().to_rfc3339(),
        ],
    )
    .await;

    assert!(
        issued.contains(&"signals SELF_REFERRAL".to_owned()),
        "{issued:?}"
    );
    // The sale came at once: the click's signal and its own.
    let confirmed = words(&confirmed);
    assert!(
        confirmed.contains(&"signals SELF_REFERRAL,SALE_TOO_FAST".to_owned()),
        "{confirmed:?}"
    );
    let counters = words(&counters);
    let header = &counters[0];
    assert!(
        header.contains(" taps clicks flagged clicks conversions flagged conversions "),
        "{counters:?}"
    );
    // Taps, clicks, flagged clicks, conversions, flagged conversions.
    assert!(
        counters.iter().any(|l| l.starts_with("total 1 1 1 1 1 ")),
        "{counters:?}"
    );
}
