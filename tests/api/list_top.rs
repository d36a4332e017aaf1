//! CounterService.ListTop.

use cartclick::proto::*;
use tonic::Code;

use crate::support::*;

fn request(dimension: Dimension, metric: TopMetric, currency: &str, limit: i32) -> ListTopRequest {
    ListTopRequest {
        dimension: dimension.into(),
        day: "2026-11-02".into(),
        metric: metric.into(),
        currency_code: currency.into(),
        limit,
        merchant_id: String::new(),
    }
}

impl TestApp {
    async fn top(
        &self,
        key: &str,
        request: ListTopRequest,
    ) -> Result<Vec<(String, i64)>, tonic::Status> {
        let response = self
            .counters()
            .list_top(authed(key, request))
            .await?
            .into_inner();
        Ok(response
            .entries
            .into_iter()
            .map(|e| (e.id, e.value))
            .collect())
    }

    /// A new click by a new viewer on `creator`'s video, and its token.
    async fn click_on(&self, creator: &str, campaign: &str, landing: &str) -> String {
        let viewer = format!("viewer-{}", rand::random::<u64>());
        let request = IssueTokenRequest {
            creator_id: creator.into(),
            video_id: format!("vid-{creator}"),
            campaign_id: campaign.into(),
            landing_url: landing.into(),
            ..tap(&viewer)
        };
        self.issue(request).await.unwrap().token
    }
}

const SHOP: &str = "https://shop.dk/p";

fn pairs(entries: &[(&str, i64)]) -> Vec<(String, i64)> {
    entries.iter().map(|(id, v)| (id.to_string(), *v)).collect()
}

async fn creators_rank_by_clicks_largest_first_within_the_limit(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    for (creator, clicks) in [("cr-a", 3), ("cr-b", 1), ("cr-c", 2)] {
        for _ in 0..clicks {
            app.click_on(creator, CAMPAIGN, SHOP).await;
        }
    }
    let key = app.keys.dashboard.clone();

    let all = app
        .top(&key, request(Dimension::Creator, TopMetric::Clicks, "", 10))
        .await
        .unwrap();
    let two = app
        .top(&key, request(Dimension::Creator, TopMetric::Clicks, "", 2))
        .await
        .unwrap();
    let videos = app
        .top(&key, request(Dimension::Video, TopMetric::Clicks, "", 1))
        .await
        .unwrap();

    assert_eq!(all, pairs(&[("cr-a", 3), ("cr-c", 2), ("cr-b", 1)]));
    assert_eq!(two, pairs(&[("cr-a", 3), ("cr-c", 2)]));
    assert_eq!(videos, pairs(&[("vid-cr-a", 3)]));
}

async fn conversions_and_revenue_rank_in_one_currency(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let a = app.click_on("cr-a", CAMPAIGN, SHOP).await;
    let b = app.click_on("cr-b", CAMPAIGN, SHOP).await;
    app.confirm(&a, "o-1", 1_000, "DKK").await.unwrap();
    app.confirm(&b, "o-2", 5_000, "DKK").await.unwrap();
    app.confirm(&b, "o-3", 9_000, "EUR").await.unwrap();
    app.confirm(&a, "o-4", 2_000, "DKK").await.unwrap();
    let key = app.keys.dashboard.clone();

    let conversions = app
        .top(
            &key,
            request(Dimension::Creator, TopMetric::Conversions, "", 10),
        )
        .await
        .unwrap();
    let dkk = app
        .top(
            &key,
            request(Dimension::Creator, TopMetric::Revenue, "DKK", 10),
        )
        .await
        .unwrap();
    let eur = app
        .top(
            &key,
            request(Dimension::Product, TopMetric::Revenue, "EUR", 10),
        )
        .await
        .unwrap();

    assert_eq!(conversions, pairs(&[("cr-a", 2), ("cr-b", 2)]));
    assert_eq!(dkk, pairs(&[("cr-b", 5_000), ("cr-a", 3_000)]));
    assert_eq!(eur, pairs(&[("sku-1", 9_000)]));
}

async fn a_top_list_sums_over_merchants_or_ranks_within_one(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.put_campaign("c-2", OTHER_MERCHANT, "apparel", &[])
        .await;
    app.review("c-2", ReviewDecision::Approve).await;
    app.click_on("cr-a", CAMPAIGN, SHOP).await;
    app.click_on("cr-b", CAMPAIGN, SHOP).await;
    app.click_on("cr-b", CAMPAIGN, SHOP).await;
    for _ in 0..2 {
        app.click_on("cr-a", "c-2", "https://other.dk/p").await;
    }
    let key = app.keys.dashboard.clone();
    let scoped = |merchant: &str| ListTopRequest {
        merchant_id: merchant.into(),
        ..request(Dimension::Creator, TopMetric::Clicks, "", 10)
    };

    let everywhere = app.top(&key, scoped("")).await.unwrap();
    let theirs = app.top(&key, scoped(OTHER_MERCHANT)).await.unwrap();
    let own = app.top(&app.keys.merchant, scoped("")).await.unwrap();
    let not_own = app
        .top(&app.keys.merchant, scoped(OTHER_MERCHANT))
        .await
        .unwrap_err();

    assert_eq!(everywhere, pairs(&[("cr-a", 3), ("cr-b", 2)]));
    assert_eq!(theirs, pairs(&[("cr-a", 2)]));
    assert_eq!(own, pairs(&[("cr-b", 2), ("cr-a", 1)]));
    assert_error(&not_own, Code::PermissionDenied, "PERMISSION_DENIED");
}

async fn another_day_has_its_own_list(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.click_on("cr-a", CAMPAIGN, SHOP).await;

    let next_day = ListTopRequest {
        day: "2026-11-03".into(),
        ..request(Dimension::Creator, TopMetric::Clicks, "", 10)
    };
    let entries = app.top(&app.keys.dashboard, next_day).await.unwrap();

    assert!(entries.is_empty(), "{entries:?}");
}

async fn malformed_top_requests_name_the_field(backend: Backend) {
    let app = TestApp::builder().on(backend).spawn().await;
    let valid = request(Dimension::Creator, TopMetric::Clicks, "", 10);
    for (field, bad) in [
        (
            "dimension",
            ListTopRequest {
                dimension: 0,
                ..valid.clone()
            },
        ),
        (
            "dimension",
            ListTopRequest {
                dimension: Dimension::Merchant.into(),
                ..valid.clone()
            },
        ),
        (
            "day",
            ListTopRequest {
                day: "2026-13-01".into(),
                ..valid.clone()
            },
        ),
        (
            "day",
            ListTopRequest {
                day: String::new(),
                ..valid.clone()
            },
        ),
        (
            "day",
            ListTopRequest {
                day: "2026-11-2".into(),
                ..valid.clone()
            },
        ),
        (
            "day",
            ListTopRequest {
                day: "+2026-11-02".into(),
                ..valid.clone()
            },
        ),
        (
            "metric",
            ListTopRequest {
                metric: 0,
                ..valid.clone()
            },
        ),
        (
            "currency_code",
            request(Dimension::Creator, TopMetric::Revenue, "", 10),
        ),
        (
            "currency_code",
            request(Dimension::Creator, TopMetric::Revenue, "XYZ", 10),
        ),
        (
            "currency_code",
            request(Dimension::Creator, TopMetric::Clicks, "DKK", 10),
        ),
        (
            "limit",
            request(Dimension::Creator, TopMetric::Clicks, "", 101),
        ),
        (
            "limit",
            request(Dimension::Creator, TopMetric::Clicks, "", -1),
        ),
        (
            "merchant_id",
            ListTopRequest {
                merchant_id: "has space".into(),
                ..valid.clone()
            },
        ),
    ] {
        let status = app.top(&app.keys.dashboard, bad).await.unwrap_err();
        assert_invalid_field(&status, field);
    }
}

on_all_backends!(
    creators_rank_by_clicks_largest_first_within_the_limit,
    conversions_and_revenue_rank_in_one_currency,
    a_top_list_sums_over_merchants_or_ranks_within_one,
    another_day_has_its_own_list,
    malformed_top_requests_name_the_field,
);
