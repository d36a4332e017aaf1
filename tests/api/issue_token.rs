//! ClickService.IssueToken.

use cartclick::proto::*;
use chrono::TimeDelta;
use tonic::Code;
use url::Url;

use crate::helpers::*;

async fn a_tap_on_an_approved_campaign_gets_a_token_and_a_redirect_into_the_shop(backend: Backend) {
    let app = spawn_app_on(backend).await;
    app.seed().await;

    let issued = app.issue(tap("viewer-1")).await.unwrap();

    assert!(!issued.deduplicated);
    assert_eq!(issued.click_id.len(), 32);
    assert!(issued.token.len() <= 100);
    assert!(
        issued
            .token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    );
    assert!(!issued.token.contains("viewer"));
    let redirect = Url::parse(&issued.redirect_url).unwrap();
    assert_eq!(redirect.host_str(), Some("www.shop.dk"));
    assert_eq!(redirect.path(), "/p/sku-1");
    assert_eq!(redirect.fragment(), Some("reviews"));
    let pairs: Vec<(String, String)> = redirect.query_pairs().into_owned().collect();
    assert_eq!(
        pairs,
        vec![
            ("color".into(), "red".into()),
            ("cc".into(), issued.token.clone())
        ]
    );
    let expires = issued.expires_at.unwrap();
    assert_eq!(
        expires.seconds,
        (start_time() + TimeDelta::days(7)).timestamp()
    );
}

async fn the_merchants_token_param_replaces_an_existing_parameter_of_that_name(backend: Backend) {
    let app = spawn_app_on(backend).await;
    app.seed().await;
    app.put_merchant(MERCHANT, &["shop.dk"], "ref").await;
    let mut request = tap("viewer-1");
    request.landing_url = "https://shop.dk/p?ref=old&x=1&ref=older".into();

    let issued = app.issue(request).await.unwrap();

    let redirect = Url::parse(&issued.redirect_url).unwrap();
    let pairs: Vec<(String, String)> = redirect.query_pairs().into_owned().collect();
    assert_eq!(
        pairs,
        vec![("x".into(), "1".into()), ("ref".into(), issued.token)]
    );
}

async fn a_repeat_tap_inside_the_dedup_window_returns_the_same_token_and_counts_a_tap_only(
    backend: Backend,
) {
    let app = spawn_app_on(backend).await;
    app.seed().await;

    let first = app.issue(tap("viewer-1")).await.unwrap();
    app.clock.advance(TimeDelta::minutes(29));
    let repeat = app.issue(tap("viewer-1")).await.unwrap();

    assert!(repeat.deduplicated);
    assert_eq!(repeat.token, first.token);
    assert_eq!(repeat.click_id, first.click_id);
    assert_eq!(repeat.expires_at, first.expires_at);
    let total = app.total(Dimension::Campaign, CAMPAIGN).await;
    assert_eq!((total.taps, total.clicks), (2, 1));
}

async fn a_tap_after_the_dedup_window_is_a_new_click(backend: Backend) {
    let app = spawn_app_on(backend).await;
    app.seed().await;

    let first = app.issue(tap("viewer-1")).await.unwrap();
    app.clock.advance(TimeDelta::minutes(31));
    let later = app.issue(tap("viewer-1")).await.unwrap();

    assert!(!later.deduplicated);
    assert_ne!(later.click_id, first.click_id);
    let total = app.total(Dimension::Campaign, CAMPAIGN).await;
    assert_eq!((total.taps, total.clicks), (2, 2));
}

async fn taps_by_other_viewers_or_on_other_videos_are_not_repeats(backend: Backend) {
    let app = spawn_app_on(backend).await;
    app.seed().await;

    let first = app.issue(tap("viewer-1")).await.unwrap();
    let other_viewer = app.issue(tap("viewer-2")).await.unwrap();
    let mut other_video = tap("viewer-1");
    other_video.video_id = "vid-2".into();
    let other_video = app.issue(other_video).await.unwrap();

    assert!(!other_viewer.deduplicated && !other_video.deduplicated);
    assert_ne!(other_viewer.click_id, first.click_id);
    assert_ne!(other_video.click_id, first.click_id);
}

async fn an_unknown_campaign_is_not_found(backend: Backend) {
    let app = spawn_app_on(backend).await;
    app.seed().await;
    let mut request = tap("viewer-1");
    request.campaign_id = "no-such-campaign".into();

    let status = app.issue(request).await.unwrap_err();

    assert_error(&status, Code::NotFound, "CAMPAIGN_NOT_FOUND");
}

async fn pending_rejected_and_paused_campaigns_issue_no_tokens(backend: Backend) {
    let app = spawn_app_on(backend).await;
    app.seed().await;
    app.put_campaign("c-new", MERCHANT, "apparel", &[]).await;
    let mut request = tap("viewer-1");
    request.campaign_id = "c-new".into();

    let pending = app.issue(request.clone()).await.unwrap_err();
    app.review("c-new", ReviewDecision::Reject).await;
    let rejected = app.issue(request.clone()).await.unwrap_err();
    app.review("c-new", ReviewDecision::Approve).await;
    app.issue(request.clone()).await.expect("approved issues");
    app.review("c-new", ReviewDecision::Pause).await;
    let paused = app.issue(request).await.unwrap_err();

    for status in [pending, rejected, paused] {
        assert_error(&status, Code::FailedPrecondition, "CAMPAIGN_NOT_APPROVED");
    }
}

async fn a_viewer_under_13_is_refused(backend: Backend) {
    let app = spawn_app_on(backend).await;
    app.seed().await;
    let mut request = tap("viewer-1");
    request.age_bracket = AgeBracket::Under13.into();

    let status = app.issue(request).await.unwrap_err();

    assert_error(&status, Code::PermissionDenied, "VIEWER_UNDERAGE");
}

async fn age_restricted_categories_go_to_adults_only(backend: Backend) {
    let keys = Keys::new();
    let mut config = test_config(&keys);
    config.policy.categories =
        cartclick::policy::CategoryRules::new(&["alcohol".into()], &["Energy Drinks".into()]);
    let app = spawn_app_on_with(backend, keys, config).await;
    app.seed().await;
    app.put_campaign("c-energy", MERCHANT, "energy drinks", &[])
        .await;
    app.review("c-energy", ReviewDecision::Approve).await;
    let request = |age: AgeBracket| IssueTokenRequest {
        campaign_id: "c-energy".into(),
        age_bracket: age.into(),
        ..tap("viewer-1")
    };

    let teen = app
        .issue(request(AgeBracket::AgeBracket13To17))
        .await
        .unwrap_err();
    let unknown = app
        .issue(request(AgeBracket::Unspecified))
        .await
        .unwrap_err();
    let adult = app.issue(request(AgeBracket::AgeBracket18Plus)).await;

    assert_error(&teen, Code::PermissionDenied, "AGE_RESTRICTED");
    assert_error(&unknown, Code::PermissionDenied, "AGE_RESTRICTED");
    assert!(adult.is_ok(), "{adult:?}");
}

async fn a_product_outside_the_campaigns_list_is_refused(backend: Backend) {
    let app = spawn_app_on(backend).await;
    app.seed().await;
    app.put_campaign("c-list", MERCHANT, "apparel", &["sku-1", "sku-2"])
        .await;
    app.review("c-list", ReviewDecision::Approve).await;
    let request = |product: &str| IssueTokenRequest {
        campaign_id: "c-list".into(),
        product_id: product.into(),
        ..tap("viewer-1")
    };

    let listed = app.issue(request("sku-2")).await;
    let unlisted = app.issue(request("sku-9")).await.unwrap_err();

    assert!(listed.is_ok(), "{listed:?}");
    assert_error(&unlisted, Code::InvalidArgument, "PRODUCT_NOT_IN_CAMPAIGN");
}

async fn landing_urls_off_the_merchants_domains_are_refused(backend: Backend) {
    let app = spawn_app_on(backend).await;
    app.seed().await;
    for landing_url in [
        "http://shop.dk/p",
        "https://evilshop.dk/p",
        "https://shop.dk.evil.com/p",
        "https://shop.dk@evil.com/p",
        "https://other.dk/p",
        "https://127.0.0.1/p",
    ] {
        let request = IssueTokenRequest {
            landing_url: landing_url.into(),
            ..tap("viewer-1")
        };

        let status = app.issue(request).await.unwrap_err();

        assert_error(&status, Code::InvalidArgument, "LANDING_URL_NOT_ALLOWED");
    }
}

async fn every_missing_or_malformed_field_is_named(backend: Backend) {
    let app = spawn_app_on(backend).await;
    app.seed().await;
    let long = "x".repeat(129);
    let cases: Vec<(&str, IssueTokenRequest)> = vec![
        (
            "viewer_id",
            IssueTokenRequest {
                viewer_id: String::new(),
                ..tap("v")
            },
        ),
        (
            "viewer_id",
            IssueTokenRequest {
                viewer_id: long.clone(),
                ..tap("v")
            },
        ),
        (
            "video_id",
            IssueTokenRequest {
                video_id: String::new(),
                ..tap("v")
            },
        ),
        (
            "creator_id",
            IssueTokenRequest {
                creator_id: "has space".into(),
                ..tap("v")
            },
        ),
        (
            "campaign_id",
            IssueTokenRequest {
                campaign_id: "tab\there".into(),
                ..tap("v")
            },
        ),
        (
            "product_id",
            IssueTokenRequest {
                product_id: "ünïcode".into(),
                ..tap("v")
            },
        ),
        (
            "landing_url",
            IssueTokenRequest {
                landing_url: String::new(),
                ..tap("v")
            },
        ),
        (
            "landing_url",
            IssueTokenRequest {
                landing_url: "not a url".into(),
                ..tap("v")
            },
        ),
        (
            "landing_url",
            IssueTokenRequest {
                landing_url: format!("https://shop.dk/{}", "a".repeat(2048)),
                ..tap("v")
            },
        ),
        (
            "age_bracket",
            IssueTokenRequest {
                age_bracket: 42,
                ..tap("v")
            },
        ),
    ];
    for (field, request) in cases {
        let status = app.issue(request).await.unwrap_err();

        assert_invalid_field(&status, field);
    }
}

async fn a_rejected_tap_counts_nothing(backend: Backend) {
    let app = spawn_app_on(backend).await;
    app.seed().await;

    let _ = app
        .issue(IssueTokenRequest {
            landing_url: "https://evil.com/".into(),
            ..tap("v")
        })
        .await
        .unwrap_err();

    let total = app.total(Dimension::Campaign, CAMPAIGN).await;
    assert_eq!((total.taps, total.clicks), (0, 0));
}

on_both_backends!(
    a_tap_on_an_approved_campaign_gets_a_token_and_a_redirect_into_the_shop,
    the_merchants_token_param_replaces_an_existing_parameter_of_that_name,
    a_repeat_tap_inside_the_dedup_window_returns_the_same_token_and_counts_a_tap_only,
    a_tap_after_the_dedup_window_is_a_new_click,
    taps_by_other_viewers_or_on_other_videos_are_not_repeats,
    an_unknown_campaign_is_not_found,
    pending_rejected_and_paused_campaigns_issue_no_tokens,
    a_viewer_under_13_is_refused,
    age_restricted_categories_go_to_adults_only,
    a_product_outside_the_campaigns_list_is_refused,
    landing_urls_off_the_merchants_domains_are_refused,
    every_missing_or_malformed_field_is_named,
    a_rejected_tap_counts_nothing,
);
