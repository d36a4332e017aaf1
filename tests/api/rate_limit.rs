//! The per-viewer tap rate limit: taps a viewer may make a minute at one
//! merchant, counted in the store so every replica shares it.

use cartclick::proto::*;
use chrono::TimeDelta;
use std::num::NonZero;
use tonic::Code;

use crate::support::*;

/// The limit most tests here run with: small, so a test taps a few times.
const LIMIT: u32 = 3;

/// A server whose viewers may tap LIMIT times a minute.
async fn spawn_limited_app(backend: Backend) -> TestApp {
    TestApp::builder()
        .on(backend)
        .config(|config| config.policy.tap_rate_limit_per_minute = NonZero::new(LIMIT).unwrap())
        .seeded()
        .spawn()
        .await
}

/// Taps LIMIT times as `viewer`, each on another video; all must succeed.
async fn tap_up_to_the_limit(app: &TestApp, viewer: &str) {
    for i in 0..LIMIT {
        app.issue(tap_on(viewer, &format!("vid-{i}")))
            .await
            .expect("a tap within the limit");
    }
}

async fn a_tap_over_the_limit_in_one_minute_is_rate_limited(backend: Backend) {
    let app = spawn_limited_app(backend).await;
    tap_up_to_the_limit(&app, "viewer-1").await;

    let status = app.issue(tap_on("viewer-1", "vid-x")).await.unwrap_err();

    assert_error(&status, Code::ResourceExhausted, "RATE_LIMITED");
}

async fn repeat_taps_count_toward_the_limit(backend: Backend) {
    let app = spawn_limited_app(backend).await;
    for _ in 0..LIMIT {
        app.issue(tap("viewer-1"))
            .await
            .expect("a tap within the limit");
    }

    let status = app.issue(tap("viewer-1")).await.unwrap_err();

    assert_error(&status, Code::ResourceExhausted, "RATE_LIMITED");
}

async fn a_rate_limited_tap_counts_nothing(backend: Backend) {
    let app = spawn_limited_app(backend).await;
    tap_up_to_the_limit(&app, "viewer-1").await;

    app.issue(tap_on("viewer-1", "vid-x")).await.unwrap_err();

    let total = app.total(Dimension::Campaign, CAMPAIGN).await;
    assert_eq!((total.taps, total.clicks), (3, 3));
    let refused_video = app.total(Dimension::Video, "vid-x").await;
    assert_eq!((refused_video.taps, refused_video.clicks), (0, 0));
}

async fn another_viewer_is_not_limited_by_the_first(backend: Backend) {
    let app = spawn_limited_app(backend).await;
    tap_up_to_the_limit(&app, "viewer-1").await;

    let other = app.issue(tap_on("viewer-2", "vid-0")).await;

    assert!(other.is_ok(), "{other:?}");
}

async fn the_limit_starts_over_at_the_next_minute(backend: Backend) {
    let app = spawn_limited_app(backend).await;
    tap_up_to_the_limit(&app, "viewer-1").await;

    app.clock.advance(TimeDelta::seconds(59));
    let same_minute = app.issue(tap_on("viewer-1", "vid-x")).await.unwrap_err();
    app.clock.advance(TimeDelta::seconds(1));
    let next_minute = app.issue(tap_on("viewer-1", "vid-y")).await;

    assert_error(&same_minute, Code::ResourceExhausted, "RATE_LIMITED");
    assert!(next_minute.is_ok(), "{next_minute:?}");
}

async fn the_limit_is_counted_per_merchant(backend: Backend) {
    let app = spawn_limited_app(backend).await;
    app.put_campaign("c-other", OTHER_MERCHANT, "apparel", &[])
        .await;
    app.review("c-other", ReviewDecision::Approve).await;
    tap_up_to_the_limit(&app, "viewer-1").await;

    let at_other_merchant = app
        .issue(IssueTokenRequest {
            campaign_id: "c-other".into(),
            landing_url: "https://other.dk/p".into(),
            ..tap("viewer-1")
        })
        .await;

    assert!(at_other_merchant.is_ok(), "{at_other_merchant:?}");
}

async fn the_default_limit_is_60_taps_a_minute(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    // Sent at once, which also shows that concurrent taps are all counted.
    let mut taps = tokio::task::JoinSet::new();
    for i in 0..60 {
        let mut clicks = app.clicks();
        let request = authed(&app.keys.feed, tap_on("viewer-1", &format!("vid-{i}")));
        taps.spawn(async move { clicks.issue_token(request).await });
    }
    while let Some(tap) = taps.join_next().await {
        tap.unwrap().expect("a tap within the limit");
    }

    let status = app.issue(tap_on("viewer-1", "vid-x")).await.unwrap_err();

    assert_error(&status, Code::ResourceExhausted, "RATE_LIMITED");
}

async fn the_limit_is_shared_by_every_replica(backend: Backend) {
    let app = spawn_limited_app(backend).await;
    let replica = app.replica().spawn().await;

    let mut outcomes = Vec::new();
    for (server, video) in [
        (&app, "vid-a"),
        (&app, "vid-b"),
        (&replica, "vid-c"),
        (&replica, "vid-d"),
    ] {
        outcomes.push(server.issue(tap_on("viewer-1", video)).await);
    }

    assert!(outcomes[..3].iter().all(Result::is_ok), "{outcomes:?}");
    let fourth = outcomes[3].as_ref().unwrap_err();
    assert_error(fourth, Code::ResourceExhausted, "RATE_LIMITED");
}

on_all_backends!(
    a_tap_over_the_limit_in_one_minute_is_rate_limited,
    repeat_taps_count_toward_the_limit,
    a_rate_limited_tap_counts_nothing,
    another_viewer_is_not_limited_by_the_first,
    the_limit_starts_over_at_the_next_minute,
    the_limit_is_counted_per_merchant,
    the_default_limit_is_60_taps_a_minute,
    the_limit_is_shared_by_every_replica,
);
