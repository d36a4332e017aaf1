//! ClickService.IssueToken.

use base64::Engine as _;
use cartclick::proto::*;
use chrono::TimeDelta;
use tonic::Code;
use url::Url;

use crate::support::*;

async fn a_tap_on_an_approved_campaign_gets_a_token_and_a_redirect_into_the_shop(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;

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
    // The token's bytes hold neither the viewer id nor its stored hash.
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&issued.token)
        .unwrap();
    let hash = app
        .config
        .viewer_pepper
        .as_ref()
        .unwrap()
        .viewer_hash("viewer-1");
    assert!(!bytes.windows(hash.len()).any(|w| w == hash));
    assert!(!bytes.windows(8).any(|w| w == b"viewer-1"));
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
    let app = TestApp::builder().on(backend).seeded().spawn().await;
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
    let app = TestApp::builder().on(backend).seeded().spawn().await;

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

async fn the_dedup_window_is_configurable(backend: Backend) {
    let app = TestApp::builder()
        .on(backend)
        .config(|config| config.policy.dedup_window = std::time::Duration::from_secs(60))
        .seeded()
        .spawn()
        .await;
    let first = app.issue(tap("viewer-1")).await.unwrap();

    app.clock.advance(TimeDelta::seconds(59));
    let inside = app.issue(tap("viewer-1")).await.unwrap();
    app.clock.advance(TimeDelta::seconds(2));
    let after = app.issue(tap("viewer-1")).await.unwrap();

    assert!(inside.deduplicated);
    assert_eq!(inside.click_id, first.click_id);
    assert!(!after.deduplicated);
    assert_ne!(after.click_id, first.click_id);
}

async fn a_tap_after_the_dedup_window_is_a_new_click(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;

    let first = app.issue(tap("viewer-1")).await.unwrap();
    app.clock.advance(TimeDelta::minutes(31));
    let later = app.issue(tap("viewer-1")).await.unwrap();

    assert!(!later.deduplicated);
    assert_ne!(later.click_id, first.click_id);
    let total = app.total(Dimension::Campaign, CAMPAIGN).await;
    assert_eq!((total.taps, total.clicks), (2, 2));
}

async fn taps_by_other_viewers_or_on_other_videos_are_not_repeats(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;

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
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let mut request = tap("viewer-1");
    request.campaign_id = "no-such-campaign".into();

    let status = app.issue(request).await.unwrap_err();

    assert_error(&status, Code::NotFound, "CAMPAIGN_NOT_FOUND");
}

async fn pending_rejected_and_paused_campaigns_issue_no_tokens(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
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

async fn a_paused_campaign_approved_again_issues_again(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.review(CAMPAIGN, ReviewDecision::Pause).await;
    let paused = app.issue(tap("viewer-1")).await.unwrap_err();

    app.review(CAMPAIGN, ReviewDecision::Approve).await;
    let resumed = app.issue(tap("viewer-1")).await;

    assert_error(&paused, Code::FailedPrecondition, "CAMPAIGN_NOT_APPROVED");
    assert!(resumed.is_ok(), "{resumed:?}");
}

async fn a_campaign_approved_before_its_category_was_prohibited_issues_no_tokens(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.put_campaign("c-vape", MERCHANT, "Vaping", &[]).await;
    app.review("c-vape", ReviewDecision::Approve).await;
    let mut stricter = app.config.clone();
    stricter.policy.categories = cartclick::policy::CategoryRules::new(
        &["alcohol".into(), "tobacco".into(), "vaping".into()],
        &[],
    );
    let replica = app.replica().with_config(stricter).spawn().await;
    let request = IssueTokenRequest {
        campaign_id: "c-vape".into(),
        ..tap("viewer-1")
    };

    let status = replica.issue(request).await.unwrap_err();

    assert_error(&status, Code::FailedPrecondition, "CATEGORY_PROHIBITED");
}

async fn a_viewer_under_13_is_refused(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let mut request = tap("viewer-1");
    request.age_bracket = AgeBracket::Under13.into();

    let status = app.issue(request).await.unwrap_err();

    assert_error(&status, Code::PermissionDenied, "VIEWER_UNDERAGE");
}

async fn age_restricted_categories_go_to_adults_only(backend: Backend) {
    let app = TestApp::builder()
        .on(backend)
        .config(|config| {
            config.policy.categories = cartclick::policy::CategoryRules::new(
                &["alcohol".into()],
                &["Energy Drinks".into()],
            )
        })
        .seeded()
        .spawn()
        .await;
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

async fn a_viewer_under_13_is_underage_even_on_an_age_restricted_category(backend: Backend) {
    let app = TestApp::builder()
        .on(backend)
        .config(|config| {
            config.policy.categories =
                cartclick::policy::CategoryRules::new(&[], &["energy drinks".into()])
        })
        .seeded()
        .spawn()
        .await;
    app.put_campaign("c-energy", MERCHANT, "energy drinks", &[])
        .await;
    app.review("c-energy", ReviewDecision::Approve).await;

    let status = app
        .issue(IssueTokenRequest {
            campaign_id: "c-energy".into(),
            age_bracket: AgeBracket::Under13.into(),
            ..tap("viewer-1")
        })
        .await
        .unwrap_err();

    assert_error(&status, Code::PermissionDenied, "VIEWER_UNDERAGE");
}

async fn teens_and_viewers_of_unknown_age_get_tokens_for_unrestricted_categories(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;

    let teen = app
        .issue(IssueTokenRequest {
            age_bracket: AgeBracket::AgeBracket13To17.into(),
            ..tap("viewer-1")
        })
        .await;
    let unknown = app
        .issue(IssueTokenRequest {
            age_bracket: AgeBracket::Unspecified.into(),
            ..tap("viewer-2")
        })
        .await;

    assert!(teen.is_ok(), "{teen:?}");
    assert!(unknown.is_ok(), "{unknown:?}");
}

async fn a_product_outside_the_campaigns_list_is_refused(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
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
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    for landing_url in [
        "http://shop.dk/p",
        "https://evilshop.dk/p",
        "https://shop.dk.evil.com/p",
        "https://shop.dk@evil.com/p",
        "https://other.dk/p",
        "https://127.0.0.1/p",
        "https://user@shop.dk/p",
        "https://user:secret@www.shop.dk/p",
        "https://[::1]/p",
        "https://[::ffff:127.0.0.1]/p",
        "https://0x7f000001/p",
        "ftp://shop.dk/p",
        "https://shop.dk%2eevil.com/p",
        "https://evil.com\\@shop.dk/p",
        "https://shop.dk:443@evil.com/p",
    ] {
        let request = tap_landing_on(landing_url);

        let status = app.issue(request).await.unwrap_err();

        assert_error(&status, Code::InvalidArgument, "LANDING_URL_NOT_ALLOWED");
    }
}

async fn landing_urls_on_an_allowed_domain_or_a_subdomain_of_it_are_accepted(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    for landing_url in [
        "https://shop.dk/p",
        "https://www.shop.dk/p",
        "https://a.b.shop.dk/p",
        "https://WWW.Shop.DK/p",
        "https://shop.dk:443/p",
    ] {
        let request = tap_landing_on(landing_url);

        let issued = app.issue(request).await;

        assert!(issued.is_ok(), "{landing_url}: {issued:?}");
    }
}

async fn landing_urls_with_a_port_other_than_443_are_refused(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    for landing_url in [
        "https://shop.dk:8443/p",
        "https://www.shop.dk:8080/p",
        "https://shop.dk:80/p",
    ] {
        let request = tap_landing_on(landing_url);

        let status = app.issue(request).await.unwrap_err();

        assert_error(&status, Code::InvalidArgument, "LANDING_URL_NOT_ALLOWED");
    }
    let total = app.total(Dimension::Campaign, CAMPAIGN).await;
    assert_eq!((total.taps, total.clicks), (0, 0));
}

async fn an_explicit_port_443_is_accepted_and_left_out_of_the_redirect(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let request = tap_landing_on("https://www.shop.dk:443/p?x=1");

    let issued = app.issue(request).await.unwrap();

    let want = format!("https://www.shop.dk/p?x=1&cc={}", issued.token);
    assert_eq!(issued.redirect_url, want);
}

async fn internationalised_domains_are_compared_in_punycode(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.put_merchant(MERCHANT, &["bücher.example"], "").await;
    let request = tap_landing_on;

    let unicode = app.issue(request("https://bücher.example/x")).await;
    let punycode = app
        .issue(request("https://www.xn--bcher-kva.example/x"))
        .await;
    let upper_case = app.issue(request("https://BÜCHER.example/x")).await;
    let suffix = app
        .issue(request("https://xn--bcher-kva.example.evil.com/"))
        .await
        .unwrap_err();
    let look_alike = app
        .issue(request("https://bucher.example/x"))
        .await
        .unwrap_err();

    assert!(unicode.is_ok(), "{unicode:?}");
    assert!(punycode.is_ok(), "{punycode:?}");
    assert!(upper_case.is_ok(), "{upper_case:?}");
    assert_error(&suffix, Code::InvalidArgument, "LANDING_URL_NOT_ALLOWED");
    assert_error(
        &look_alike,
        Code::InvalidArgument,
        "LANDING_URL_NOT_ALLOWED",
    );
}

async fn a_landing_url_of_2048_bytes_is_accepted_and_one_of_2049_is_invalid(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let url_of = |len: usize| {
        let base = "https://shop.dk/";
        format!("{base}{}", "a".repeat(len - base.len()))
    };
    let request = |landing_url: String| IssueTokenRequest {
        landing_url,
        ..tap("viewer-1")
    };

    let longest = app.issue(request(url_of(2048))).await;
    let too_long = app.issue(request(url_of(2049))).await.unwrap_err();

    assert!(longest.is_ok(), "{longest:?}");
    assert_invalid_field(&too_long, "landing_url");
}

async fn every_missing_or_malformed_field_is_named(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
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
    let app = TestApp::builder().on(backend).seeded().spawn().await;

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

on_all_backends!(
    a_tap_on_an_approved_campaign_gets_a_token_and_a_redirect_into_the_shop,
    the_merchants_token_param_replaces_an_existing_parameter_of_that_name,
    a_repeat_tap_inside_the_dedup_window_returns_the_same_token_and_counts_a_tap_only,
    the_dedup_window_is_configurable,
    a_tap_after_the_dedup_window_is_a_new_click,
    taps_by_other_viewers_or_on_other_videos_are_not_repeats,
    an_unknown_campaign_is_not_found,
    pending_rejected_and_paused_campaigns_issue_no_tokens,
    a_paused_campaign_approved_again_issues_again,
    a_campaign_approved_before_its_category_was_prohibited_issues_no_tokens,
    a_viewer_under_13_is_refused,
    a_viewer_under_13_is_underage_even_on_an_age_restricted_category,
    teens_and_viewers_of_unknown_age_get_tokens_for_unrestricted_categories,
    age_restricted_categories_go_to_adults_only,
    a_product_outside_the_campaigns_list_is_refused,
    landing_urls_off_the_merchants_domains_are_refused,
    landing_urls_on_an_allowed_domain_or_a_subdomain_of_it_are_accepted,
    landing_urls_with_a_port_other_than_443_are_refused,
    an_explicit_port_443_is_accepted_and_left_out_of_the_redirect,
    internationalised_domains_are_compared_in_punycode,
    a_landing_url_of_2048_bytes_is_accepted_and_one_of_2049_is_invalid,
    every_missing_or_malformed_field_is_named,
    a_rejected_tap_counts_nothing,
);
