//! CounterService.GetCounters, and the full flow it reports on.

use cartclick::proto::*;
use chrono::TimeDelta;
use tonic::Code;

use crate::support::*;

async fn the_full_flow_is_counted_in_every_dimension_by_hour_and_day(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;

    // tap -> token -> redirect -> sale -> counters
    let issued = app.issue(tap("viewer-1")).await.unwrap();
    assert!(issued.redirect_url.contains(&issued.token));
    app.issue(tap("viewer-1")).await.unwrap(); // a repeat tap
    app.clock.advance(TimeDelta::minutes(90));
    app.confirmed(&issued.token, "order-1", 12_500, "DKK").await;

    for (dimension, id) in [
        (Dimension::Merchant, MERCHANT),
        (Dimension::Campaign, CAMPAIGN),
        (Dimension::Creator, "cr-1"),
        (Dimension::Video, "vid-1"),
        (Dimension::Product, "sku-1"),
    ] {
        let hourly = app.counters_of(dimension, id, Granularity::Hour).await;
        assert_eq!(hourly.buckets.len(), 24, "{dimension:?}");
        let at = |hour: i64| {
            hourly
                .buckets
                .iter()
                .find(|b| {
                    b.start_time.unwrap().seconds
                        == (start_time() + TimeDelta::hours(hour)).timestamp()
                })
                .unwrap()
        };
        assert_eq!(
            (at(0).taps, at(0).clicks, at(0).conversions),
            (2, 1, 0),
            "{dimension:?}"
        );
        assert_eq!(
            (at(1).taps, at(1).clicks, at(1).conversions),
            (0, 0, 1),
            "{dimension:?}"
        );
        assert_eq!(
            at(1).revenue,
            vec![Money {
                currency_code: "DKK".into(),
                amount_minor: 12_500
            }]
        );
        let total = hourly.total.unwrap();
        assert_eq!((total.taps, total.clicks, total.conversions), (2, 1, 1));

        let daily = app.counters_of(dimension, id, Granularity::Day).await;
        let day = daily
            .buckets
            .iter()
            .find(|b| b.taps > 0)
            .expect("a daily bucket with the taps");
        assert_eq!(day.start_time.unwrap().seconds % 86_400, 0);
        assert_eq!(
            (day.taps, day.clicks, day.conversions),
            (2, 1, 1),
            "{dimension:?}"
        );
        assert_eq!(
            day.revenue,
            vec![Money {
                currency_code: "DKK".into(),
                amount_minor: 12_500
            }]
        );
    }
    let untouched = app.total(Dimension::Creator, "cr-other").await;
    assert_eq!(
        (untouched.taps, untouched.clicks, untouched.conversions),
        (0, 0, 0)
    );
}

async fn buckets_are_oldest_first_whole_and_empty_ones_included(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let request = GetCountersRequest {
        dimension: Dimension::Merchant.into(),
        id: MERCHANT.into(),
        granularity: Granularity::Hour.into(),
        start_time: Some(ts(start_time() + TimeDelta::minutes(30))),
        end_time: Some(ts(start_time() + TimeDelta::minutes(150))),
    };

    let response = app
        .counters()
        .get_counters(authed(&app.keys.dashboard, request))
        .await
        .unwrap()
        .into_inner();

    let starts: Vec<i64> = response
        .buckets
        .iter()
        .map(|b| b.start_time.unwrap().seconds)
        .collect();
    let hour = |h: i64| (start_time() + TimeDelta::hours(h)).timestamp();
    assert_eq!(starts, vec![hour(0), hour(1), hour(2)]);
    assert_eq!(response.total.unwrap().start_time.unwrap().seconds, hour(0));
}

async fn at_most_744_hourly_or_400_daily_buckets_a_call(backend: Backend) {
    let app = TestApp::builder().on(backend).spawn().await;
    // Midnight, so neither range is widened to cover a partial bucket.
    let midnight = start_time() - TimeDelta::hours(10);
    let request = |granularity: Granularity, span: TimeDelta| GetCountersRequest {
        dimension: Dimension::Merchant.into(),
        id: MERCHANT.into(),
        granularity: granularity.into(),
        start_time: Some(ts(midnight)),
        end_time: Some(ts(midnight + span)),
    };
    let mut counters = app.counters();
    let key = &app.keys.dashboard;

    let hours_ok = counters
        .get_counters(authed(
            key,
            request(Granularity::Hour, TimeDelta::hours(744)),
        ))
        .await;
    let hours_over = counters
        .get_counters(authed(
            key,
            request(Granularity::Hour, TimeDelta::hours(745)),
        ))
        .await
        .unwrap_err();
    let days_ok = counters
        .get_counters(authed(key, request(Granularity::Day, TimeDelta::days(400))))
        .await;
    let days_over = counters
        .get_counters(authed(key, request(Granularity::Day, TimeDelta::days(401))))
        .await
        .unwrap_err();

    assert_eq!(hours_ok.unwrap().into_inner().buckets.len(), 744);
    assert_eq!(days_ok.unwrap().into_inner().buckets.len(), 400);
    assert_invalid_field(&hours_over, "end_time");
    assert_invalid_field(&days_over, "end_time");
}

async fn malformed_requests_name_the_field(backend: Backend) {
    let app = TestApp::builder().on(backend).spawn().await;
    let valid = GetCountersRequest {
        dimension: Dimension::Merchant.into(),
        id: MERCHANT.into(),
        granularity: Granularity::Hour.into(),
        start_time: Some(ts(start_time())),
        end_time: Some(ts(start_time() + TimeDelta::hours(1))),
    };
    let cases = [
        (
            "dimension",
            GetCountersRequest {
                dimension: 0,
                ..valid.clone()
            },
        ),
        (
            "dimension",
            GetCountersRequest {
                dimension: 99,
                ..valid.clone()
            },
        ),
        (
            "id",
            GetCountersRequest {
                id: String::new(),
                ..valid.clone()
            },
        ),
        (
            "granularity",
            GetCountersRequest {
                granularity: 0,
                ..valid.clone()
            },
        ),
        (
            "start_time",
            GetCountersRequest {
                start_time: None,
                ..valid.clone()
            },
        ),
        (
            "end_time",
            GetCountersRequest {
                end_time: None,
                ..valid.clone()
            },
        ),
        (
            "start_time",
            GetCountersRequest {
                start_time: Some(prost_types::Timestamp {
                    seconds: 0,
                    nanos: -1,
                }),
                ..valid.clone()
            },
        ),
        (
            "end_time",
            GetCountersRequest {
                end_time: valid.start_time,
                ..valid.clone()
            },
        ),
    ];
    for (field, request) in cases {
        let status = app
            .counters()
            .get_counters(authed(&app.keys.dashboard, request))
            .await
            .unwrap_err();

        assert_invalid_field(&status, field);
    }
}

async fn a_merchant_reads_its_own_counters_and_campaigns_only(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.put_campaign("c-other", OTHER_MERCHANT, "apparel", &[])
        .await;
    let request = |dimension: Dimension, id: &str| GetCountersRequest {
        dimension: dimension.into(),
        id: id.into(),
        granularity: Granularity::Hour.into(),
        start_time: Some(ts(start_time())),
        end_time: Some(ts(start_time() + TimeDelta::hours(1))),
    };
    let mut counters = app.counters();
    let key = &app.keys.merchant;

    let own = counters
        .get_counters(authed(key, request(Dimension::Merchant, MERCHANT)))
        .await;
    let own_campaign = counters
        .get_counters(authed(key, request(Dimension::Campaign, CAMPAIGN)))
        .await;
    let other = counters
        .get_counters(authed(key, request(Dimension::Merchant, OTHER_MERCHANT)))
        .await
        .unwrap_err();
    let other_campaign = counters
        .get_counters(authed(key, request(Dimension::Campaign, "c-other")))
        .await
        .unwrap_err();

    assert!(own.is_ok() && own_campaign.is_ok());
    assert_error(&other, Code::PermissionDenied, "PERMISSION_DENIED");
    assert_error(&other_campaign, Code::PermissionDenied, "PERMISSION_DENIED");
}

/// A read of `id` over the test day, with `key`.
async fn read_as(
    app: &TestApp,
    key: &str,
    dimension: Dimension,
    id: &str,
) -> Result<CounterBucket, tonic::Status> {
    let request = GetCountersRequest {
        dimension: dimension.into(),
        id: id.into(),
        granularity: Granularity::Day.into(),
        start_time: Some(ts(start_time())),
        end_time: Some(ts(start_time() + TimeDelta::hours(1))),
    };
    Ok(app
        .counters()
        .get_counters(authed(key, request))
        .await?
        .into_inner()
        .total
        .unwrap())
}

async fn a_merchant_reads_only_its_own_share_of_a_product(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.put_campaign("c-other", OTHER_MERCHANT, "apparel", &[])
        .await;
    app.review("c-other", ReviewDecision::Approve).await;
    app.issue(tap("viewer-1")).await.unwrap();
    app.issue(tap("viewer-2")).await.unwrap();
    app.issue(IssueTokenRequest {
        campaign_id: "c-other".into(),
        landing_url: "https://other.dk/p/sku-1".into(),
        ..tap("viewer-3")
    })
    .await
    .unwrap();

    let own = read_as(&app, &app.keys.merchant, Dimension::Product, "sku-1").await;
    let other = read_as(&app, &app.keys.other_merchant, Dimension::Product, "sku-1").await;
    let dashboard = read_as(&app, &app.keys.dashboard, Dimension::Product, "sku-1").await;

    assert_eq!(own.unwrap().clicks, 2);
    assert_eq!(other.unwrap().clicks, 1);
    assert_eq!(dashboard.unwrap().clicks, 3);
}

async fn a_merchant_may_not_read_creators_videos_or_unknown_campaigns(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.issue(tap("viewer-1")).await.unwrap(); // cr-1 and vid-1 sell only for MERCHANT
    let key = &app.keys.merchant;

    let refusals = [
        read_as(&app, key, Dimension::Creator, "cr-1").await,
        read_as(&app, key, Dimension::Video, "vid-1").await,
        read_as(&app, key, Dimension::Campaign, "no-such-campaign").await,
    ];

    for refusal in refusals {
        let status = refusal.unwrap_err();
        assert_error(&status, Code::PermissionDenied, "PERMISSION_DENIED");
    }
}

on_all_backends!(
    the_full_flow_is_counted_in_every_dimension_by_hour_and_day,
    buckets_are_oldest_first_whole_and_empty_ones_included,
    at_most_744_hourly_or_400_daily_buckets_a_call,
    malformed_requests_name_the_field,
    a_merchant_reads_its_own_counters_and_campaigns_only,
    a_merchant_reads_only_its_own_share_of_a_product,
    a_merchant_may_not_read_creators_videos_or_unknown_campaigns,
);
